"""The corpus styles, declared once: one :class:`StyleSpec` per style.

Everything that lists the styles reads :data:`STYLES`: the tokenizer's default
style tokens (:data:`symbolic.tokenization.vocab.DEFAULT_STYLES`), the music21
corpus folders (:data:`symbolic.data.corpus.MUSIC21_STYLES`, the styles whose collection is
``"music21"``), the words that
point to a style (:mod:`symbolic.styles.words`) and the ensembles the jobs
write (:func:`symbolic.styles.texture.texture_of`).  Adding a style is adding
one entry here (and training a model that knows it).

Pure data: no torch, no tokenizer.
"""

from __future__ import annotations

from dataclasses import dataclass

from symbolic.errors import ConfigError, StyleError
from symbolic.styles.texture import FALLBACK_TEXTURE, PartRange, StyleTexture

__all__ = ["NO_STYLE", "COLLECTIONS", "StyleSpec", "STYLES", "STYLE_NAMES", "MUSIC21_STYLE_NAMES", "style_spec",
           "texture_of"]

NO_STYLE = "none"  # the style token of unlabelled music, and the unconditional row of guidance
# Where a style's pieces come from: the corpus inside the music21 wheel (folders and file-name patterns), or
# POP909 (symbolic.data.pop909, read from the folder given to the build).
COLLECTIONS = ("music21", "pop909")


@dataclass(frozen=True)
class StyleSpec:
    """One corpus style.

    Attributes:
        name: the style token's name (no comma, colon or surrounding space; not ``"none"``).
        corpus_sources: ``(folder, file-name regex)`` pairs inside ``music21/corpus`` whose
            pieces carry this label (empty for a style from another collection).
        descriptors: words that point to the style in a description (forms, places,
            composers, instruments); see :func:`symbolic.styles.words.style_from_text`.
        texture: the ensemble a job writes in this style.
        collection: where the pieces come from, one of :data:`COLLECTIONS`: ``"music21"``
            (``corpus_sources``) or ``"pop909"`` (:mod:`symbolic.data.pop909`).
    """

    name: str
    corpus_sources: tuple[tuple[str, str], ...]
    descriptors: tuple[str, ...]
    texture: StyleTexture
    collection: str = "music21"

    def __post_init__(self) -> None:
        if not self.name or self.name != self.name.strip() or "," in self.name or ":" in self.name \
                or self.name == NO_STYLE:
            raise ConfigError(f"style name {self.name!r} must be a non-empty word without ',' or ':' "
                              f"({NO_STYLE!r} is reserved)")
        if self.collection not in COLLECTIONS:
            raise ConfigError(f"style {self.name!r}: collection {self.collection!r} is not one of "
                              f"{', '.join(COLLECTIONS)}")
        if (self.collection == "music21") != bool(self.corpus_sources):
            raise ConfigError(f"style {self.name!r}: corpus_sources are the music21 corpus folders; give them for "
                              f"a music21 style and only for one")


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
# part_onsets_per_beat is the median part's onsets (distinct note starts) a beat over its piece's span in the same
# parts (benchmarks/part_rhythm.py on the pop6 build's training pieces): chorale 1.11 (10th percentile 0.82),
# renaissance 0.30 (the motets' long note values; 0.19), classical 1.13 (0.65).  Kept to a share of it
# (JobConfig.density_floor), new parts do not thin out: the demo's quartet parts played 0.25-0.65 notes a beat
# without it, and were read as pop.  part_longest_beats is the 99.5th percentile of the same parts' note lengths:
# chorale 3 beats, renaissance 16, classical 5; without it, the demo's quartet held drones of 10 to 17 beats.
# Church organ for the chorales, a choir for the a-cappella polyphony, a string quartet,
# fiddle with guitar and bass for the Irish tunes, a voice with accordion and bass for the songs.
_SPECS = (
    StyleSpec(
        "chorale", (("bach", r"^bwv.*\.(mxl|xml)$"),),
        ("chorale", "hymn", "church", "four-part", "four part", "satb", "bach", "lutheran", "organ", "cantata",
         "sacred", "choir", "harmonized", "harmonised", "baroque", "congregation", "psalm"),
        StyleTexture(19, (19, 19, 19), 3, (0,), part_rhythm=(2, 2), part_ranges=_ATB, part_lines=True,
                     part_chords=False, part_legato=True, off_scale_penalty=1.0, part_onsets_per_beat=1.11,
                     part_longest_beats=3.0)),
    StyleSpec(
        "renaissance", (("palestrina", r"\.krn$"), ("josquin", r"\.abc$"), ("monteverdi", r"\.mxl$")),
        ("renaissance", "palestrina", "josquin", "monteverdi", "madrigal", "motet", "mass", "kyrie", "gloria",
         "agnus", "polyphony", "polyphonic", "counterpoint", "modal", "early music", "a cappella", "vocal",
         "medieval", "sixteenth century"),
        StyleTexture(52, (52, 52, 52), 3, (0,), part_rhythm=(1, 1), part_ranges=_ATB, part_lines=True,
                     part_chords=False, off_scale_penalty=0.5, part_onsets_per_beat=0.30,
                     part_longest_beats=16.0)),
    StyleSpec(
        "classical", (("mozart", r"\.mxl$"), ("haydn", r"\.mxl$"), ("beethoven", r"\.mxl$")),
        ("classical", "quartet", "string", "mozart", "haydn", "beethoven", "sonata", "minuet", "viola", "cello",
         "violin", "chamber", "allegro", "adagio", "viennese", "eighteenth century"),
        StyleTexture(40, (40, 41, 42), 3, (40, 40, 41, 42), part_lines=True, off_scale_penalty=0.5,
                     part_onsets_per_beat=1.13, part_longest_beats=5.0)),
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
         "simple", "singalong", "sing-along", "essen", "alpine", "wandering"),
        StyleTexture(53, (21, 32), 0, (0,))),
    # POP909 (symbolic.data.pop909): the sung melody over a piano accompaniment, with an optional bridge line
    # (secondary melody, counter-lines) between them.  A conversion into pop writes the piano only; the bridge
    # is kept when the input has one.  The build gives the tracks programs 53 / 48 / 0 (Pop909Config.programs),
    # which the model is prompted with, in the songs' layout (part_slot=2): the piano is written in slot 2,
    # after the bridge, which is an empty slot when the input has none (prompted in slot 1 as Program_48, the
    # step-2000 pop6 model wrote a bridge-like line in the melody's register, polyphony 1.2 against the real
    # piano's 3.1, on 10 test songs).  The piano's rules come from the POP909 training split
    # (benchmarks/pop_texture.py, docs/results/pop-texture.md): 99% of its notes within MIDI 36..78 (0.5th to
    # 99.5th percentile); 95.8% of its onsets on sixteenths, but only 32.5% of its durations a whole number of
    # sixteenths (performed key releases), so the onset grid holds alone (part_onsets) and part_rhythm, which
    # also puts durations on the grid, does not; 37.8% of its notes start together with another and 48.9% over a
    # sounding one, so it is chords, not lines; 98.6% of its note time lies in the annotated key's scale
    # (annotated key).  Against the key told from the melody (the jobs' rule, benchmarks/key_fit.py --style pop
    # on 16 validation songs, the pop6 model at step 2000): 5.3% of the real piano's notes are outside it;
    # generated, penalty 0: 11.2%, 0.5: 5.9%, 1: 3.0%; so off_scale_penalty 0.5.  The piano starts notes at 2.01
# onsets a beat (median song, pop-texture.md): part_onsets_per_beat.  95% of its notes (200 training songs,
# aligned) last at most 2.49 beats (99.5%: 4.45): part_longest_beats is 2.5, the 95th percentile, not the 99.5th
# as for the other styles: with 4.5 the model often settled into sustained chords on whole songs (median note
# 2.5 beats against the real 0.4-0.9; P(pop) 0.51-0.84 on test songs 214, 110, 027), with 2.5 two of the three
# left that mode (P(pop) 0.93 and 0.87, median note 0.5 beats; 214 stayed at 0.45).  The piano follows the
# chords the melody implies (chord_penalty, symbolic.analysis.harmony; docs/results/chords.md): on 12 test songs,
# 16 bars, penalty 0 / 2 / 4 nats: chord-tone ratio 0.48 / 0.58 / 0.59 (real 0.99), semitone clashes within the
# piano 7.3% / 1.8% / 0.8% of its time (real 2.1%), polyphony 3.20 / 2.76 / 2.65 (real 3.15), P(pop) 0.90 /
# 0.95 / 0.90: 2 (the chord model's first version).  On the 98 test songs with 2, as shipped (the second chord
# model): clashes 1.9% (real 1.6%), chord-tone ratio 0.62 (0.47 without), density 1.03 of the real (1.20
# without), P(pop) 0.900 (0.914 without; docs/results/pop-accompaniment.md).  Where the melody repeats an
# earlier passage (48.7% of the training songs' bars with melody) the real piano repeats what it played there
# (a median 100% of its notes the same, mean 74%, random pairs of bars 12%; pop-texture.md), so repeat_parts
# (symbolic.jobs.repeats).
    StyleSpec(
        "pop", (),
        ("pop", "ballad", "cover", "piano cover", "pop ballad", "pop song", "c-pop", "cpop", "mandopop",
         "cantopop", "k-pop", "j-pop", "chinese", "mandarin", "karaoke", "chart", "radio", "love song",
         "singer", "songwriter", "power ballad", "top 40", "soundtrack"),
        StyleTexture(53, (0,), 1, (53, 48, 0), part_ranges=(PartRange(36, 78),), part_onsets=4,
                     part_chords=True, off_scale_penalty=0.5, part_slot=2, part_onsets_per_beat=2.01,
                     part_longest_beats=2.5, chord_penalty=2.0, repeat_parts=True),
        collection="pop909"),
)

STYLES: dict[str, StyleSpec] = {spec.name: spec for spec in _SPECS}
STYLE_NAMES: tuple[str, ...] = tuple(STYLES)
# The styles of the music21 corpus, which the shipped five-style model and the events-v1 / events-v2 specs know.
MUSIC21_STYLE_NAMES: tuple[str, ...] = tuple(name for name, spec in STYLES.items() if spec.collection == "music21")


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
