"""The corpus styles, declared once: one :class:`StyleSpec` per style.

Everything that lists the styles reads :data:`STYLES`: the tokenizer's default
style tokens (:data:`symbolic.tokenization.vocab.DEFAULT_STYLES`), the music21
corpus folders (:data:`symbolic.data.corpus.MUSIC21_STYLES`), the words that
point to a style (:mod:`symbolic.styles.words`) and the ensembles the jobs
write (:func:`symbolic.styles.texture.texture_of`).  Adding a style is adding
one entry here (and training a model that knows it).

Pure data: no torch, no tokenizer.
"""

from __future__ import annotations

from dataclasses import dataclass

from symbolic.errors import ConfigError, StyleError
from symbolic.styles.texture import FALLBACK_TEXTURE, PartRange, StyleTexture

__all__ = ["NO_STYLE", "StyleSpec", "STYLES", "STYLE_NAMES", "style_spec", "texture_of"]

NO_STYLE = "none"  # the style token of unlabelled music, and the unconditional row of guidance


@dataclass(frozen=True)
class StyleSpec:
    """One corpus style.

    Attributes:
        name: the style token's name (no comma, colon or surrounding space; not ``"none"``).
        corpus_sources: ``(folder, file-name regex)`` pairs inside ``music21/corpus`` whose
            pieces carry this label.
        descriptors: words that point to the style in a description (forms, places,
            composers, instruments); see :func:`symbolic.styles.words.style_from_text`.
        texture: the ensemble a job writes in this style.
    """

    name: str
    corpus_sources: tuple[tuple[str, str], ...]
    descriptors: tuple[str, ...]
    texture: StyleTexture

    def __post_init__(self) -> None:
        if not self.name or self.name != self.name.strip() or "," in self.name or ":" in self.name \
                or self.name == NO_STYLE:
            raise ConfigError(f"style name {self.name!r} must be a non-empty word without ',' or ':' "
                              f"({NO_STYLE!r} is reserved)")


# Alto, tenor and bass ranges of four-part vocal writing (for the parts under a chorale or motet melody).  They
# hold 99% of the notes of each voice in the JSB training chorales (0.5th to 99.5th percentile: alto 57..72,
# tenor 51..67, bass 38..62).
_ATB = (PartRange(53, 74), PartRange(48, 69), PartRange(36, 62))

# part_rhythm follows the parts under the melody in the training pieces (benchmarks/part_rhythm.py): in the
# chorales 97.8% of their notes start on an eighth, 96.0% last at least one and 95.7% a whole number of them; in
# the motets and masses 98.7% start on a beat, 97.5% last at least a quarter and 97.4% a whole number of quarters.
# The quartets' parts keep no such grid.
# part_lines follows the same parts: a note starting while the part's previous note still sounds is 0.14% of
# the chorales' notes and none of the motets' and masses'; in the quartets 4.0% of the notes start together with
# another of their part (double stops, so part_chords) and 0.08% start over one otherwise.  The Irish and German
# pieces are single tunes, which say nothing about accompanying parts, so theirs are left free.  part_legato holds
# where at least 95% of the notes start right where the part's previous note ends: 98.5% in the chorales (their
# voices rest only at some fermatas), 94.0% in the motets and masses, 88.3% in the quartets.
# off_scale_penalty makes the new parts leave the key of the melody as often as the real parts under it do
# (benchmarks/key_fit.py on the validation pieces, the key told from the melody two bars either side): chorale 6.7%
# of the alto, tenor and bass notes (penalty 1: 6.7%; none: 16.4%), renaissance 8.5% (0.5: 8.3%; none: 10.7%),
# classical 10.3% (0.5: 9.7%; none: 17.0%).  Without it, guidance pushes the new parts out of the key.
# Church organ for the chorales, a choir for the a-cappella polyphony, a string quartet,
# fiddle with guitar and bass for the Irish tunes, a voice with accordion and bass for the songs.
_SPECS = (
    StyleSpec(
        "chorale", (("bach", r"^bwv.*\.(mxl|xml)$"),),
        ("chorale", "hymn", "church", "four-part", "four part", "satb", "bach", "lutheran", "organ", "cantata",
         "sacred", "choir", "harmonized", "harmonised", "baroque", "congregation", "psalm"),
        StyleTexture(19, (19, 19, 19), 3, (0,), part_rhythm=(2, 2), part_ranges=_ATB, part_lines=True,
                     part_chords=False, part_legato=True, off_scale_penalty=1.0)),
    StyleSpec(
        "renaissance", (("palestrina", r"\.krn$"), ("josquin", r"\.abc$"), ("monteverdi", r"\.mxl$")),
        ("renaissance", "palestrina", "josquin", "monteverdi", "madrigal", "motet", "mass", "kyrie", "gloria",
         "agnus", "polyphony", "polyphonic", "counterpoint", "modal", "early music", "a cappella", "vocal",
         "medieval", "sixteenth century"),
        StyleTexture(52, (52, 52, 52), 3, (0,), part_rhythm=(1, 1), part_ranges=_ATB, part_lines=True,
                     part_chords=False, off_scale_penalty=0.5)),
    StyleSpec(
        "classical", (("mozart", r"\.mxl$"), ("haydn", r"\.mxl$"), ("beethoven", r"\.mxl$")),
        ("classical", "quartet", "string", "mozart", "haydn", "beethoven", "sonata", "minuet", "viola", "cello",
         "violin", "chamber", "allegro", "adagio", "viennese", "eighteenth century"),
        StyleTexture(40, (40, 41, 42), 3, (40, 40, 41, 42), part_lines=True, off_scale_penalty=0.5)),
    StyleSpec(
        "irish", (("ryansMammoth", r"\.abc$"), ("oneills1850", r"\.abc$"), ("airdsAirs", r"\.abc$")),
        ("irish", "ireland", "celtic", "jig", "reel", "hornpipe", "fiddle", "session", "trad", "lively", "dance",
         "scottish", "strathspey", "slide", "polka", "tin whistle", "o'neill"),
        StyleTexture(110, (24, 32), 0, (0,))),
    # Essen collections of German-language songs (altdeu, ballad, boehme, dva, erk, fink, kinder,
    # lot = Lorraine, zuccal); the Chinese (han), Irish (irl) and test files are left out.
    StyleSpec(
        "german-folk", (("essenFolksong", r"^(altdeu|ballad|boehme|dva|erk|fink|kinder|lot|zuccal).*\.abc$"),),
        ("german", "germany", "folk song", "folksong", "volkslied", "lied", "ballad", "children", "nursery",
         "simple", "singalong", "sing-along", "essen", "alpine", "wandering", "song"),
        StyleTexture(53, (21, 32), 0, (0,))),
)

STYLES: dict[str, StyleSpec] = {spec.name: spec for spec in _SPECS}
STYLE_NAMES: tuple[str, ...] = tuple(STYLES)


def style_spec(name: str) -> StyleSpec:
    """The :class:`StyleSpec` of a corpus style.

    Raises:
        StyleError: ``name`` is not a corpus style (the message lists them).
    """
    try:
        return STYLES[name]
    except KeyError:
        raise StyleError(f"unknown corpus style {name!r}; the corpus styles are {', '.join(STYLE_NAMES)}") from None


def texture_of(style: str) -> StyleTexture:
    """The texture of ``style``; a style not in :data:`STYLES` (a user's own) gets
    :data:`~symbolic.styles.texture.FALLBACK_TEXTURE`, piano parts over a bass."""
    spec = STYLES.get(style)
    return spec.texture if spec is not None else FALLBACK_TEXTURE
