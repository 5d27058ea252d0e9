"""The pop style: one registry entry whose pieces come from POP909, its words and its piano texture."""

from __future__ import annotations

import pytest
from conftest import tiny_gpt

from symbolic import read_midi, write_midi
from symbolic.cli import main
from symbolic.data.corpus import MUSIC21_STYLES
from symbolic.data.pop909 import Pop909Config, with_pop_style
from symbolic.errors import ConfigError
from symbolic.jobs.style_input import resolve_job_style
from symbolic.models.checkpoint import save_checkpoint
from symbolic.resources import default_event_tokenizer
from symbolic.score import Note, Score, TempoChange, TimeSignature, Track
from symbolic.styles.registry import MUSIC21_STYLE_NAMES, STYLE_NAMES, STYLES, StyleSpec
from symbolic.styles.texture import PartRange, StyleTexture
from symbolic.tokenization.vocab import DEFAULT_STYLES

SHIPPED = ("none", "chorale", "renaissance", "classical", "irish", "german-folk")
WITH_POP = SHIPPED + ("pop",)


def test_pop_is_registered_after_the_corpus_styles_and_read_from_pop909():
    assert STYLE_NAMES == MUSIC21_STYLE_NAMES + ("pop",) and STYLES["pop"].collection == "pop909"
    assert "pop" not in MUSIC21_STYLES and "pop" not in DEFAULT_STYLES  # the five-style specs stay as they are
    # a build with POP909 adds pop after the spec's styles: the registry's order
    assert with_pop_style(default_event_tokenizer()).vocab.styles == ("none",) + STYLE_NAMES
    with pytest.raises(ConfigError, match="collection"):
        StyleSpec("rock", (), (), StyleTexture(0, (0,), 1, (0,)), collection="youtube")
    with pytest.raises(ConfigError, match="corpus_sources"):
        StyleSpec("rock", (("bach", "x"),), (), StyleTexture(0, (0,), 1, (0,)), collection="pop909")


@pytest.mark.parametrize("text", ["a pop ballad", "piano cover", "a C-pop song", "pop", "a Mandopop power ballad"])
def test_pop_words_resolve_to_pop_for_a_model_that_knows_pop(text):
    assert resolve_job_style(WITH_POP, text)[0] == {"pop": 1.0}


def test_pop_words_do_not_take_the_corpus_styles_words():
    # the shipped model has no pop: "a pop ballad" is a ballad, as before
    assert resolve_job_style(SHIPPED, "a pop ballad")[0] == {"german-folk": 1.0}
    for text, style in (("a simple song", "german-folk"), ("four-part church hymn", "chorale"),
                        ("a lively irish jig", "irish"), ("a string quartet minuet", "classical")):
        assert resolve_job_style(WITH_POP, text)[0] == {style: 1.0}


def test_the_pop_texture_is_melody_over_piano_with_the_measured_rules():
    texture = STYLES["pop"].texture
    # the build's programs (Pop909Config.programs): melody, bridge, piano, as the model learned them
    assert texture.corpus_programs == Pop909Config().programs == (53, 48, 0)
    assert texture.lead_program == 53 and texture.convert_parts == 1 and texture.part_program(0) == 0
    # docs/results/pop-texture.md: piano 0.5th-99.5th percentile 36..78; 95.8% of onsets on sixteenths
    assert texture.part_range(0, 0) == PartRange(36, 78)
    assert texture.part_onset_steps(12) == 3 and texture.part_rhythm is None
    assert texture.part_rhythm_steps(12) is None
    assert not texture.part_lines and texture.part_chords and not texture.part_legato
    assert texture.part_slot == 2  # the piano comes after the bridge in every POP909 song
    # another instrument in the part keeps its own range
    assert texture.part_range(0, 42) == PartRange(36, 72)


def test_part_onsets_are_checked():
    assert StyleTexture(0, (0,), 1, (0,), part_onsets=2).part_onset_steps(12) == 6
    assert StyleTexture(0, (0,), 1, (0,), part_onsets=5).part_onset_steps(12) is None
    assert StyleTexture(0, (0,), 1, (0,)).part_onset_steps(12) is None
    with pytest.raises(ConfigError, match="part_onsets"):
        StyleTexture(0, (0,), 1, (0,), part_onsets=0)
    with pytest.raises(ConfigError, match="part_onsets"):
        StyleTexture(0, (0,), 1, (0,), part_rhythm=(2, 2), part_onsets=4)


def test_accompany_with_a_model_that_knows_pop_reads_a_pop_ballad_as_pop(tmp_path, capsys):
    tokenizer = with_pop_style(default_event_tokenizer())
    run = save_checkpoint(tmp_path / "pop-model", tiny_gpt(tokenizer, context_length=256), tokenizer, {}, step=0,
                          history=[], best_state=None)
    notes = [Note(480 * i, 420, pitch, 80) for i, pitch in enumerate([64, 67, 69, 67, 64, 62, 60, 62])]
    tune = write_midi(Score(ticks_per_beat=480, tracks=[Track(program=0, name="melody", notes=notes)],
                            tempos=[TempoChange(0, 600_000)], time_signatures=[TimeSignature(0, 4, 4)]),
                      tmp_path / "tune.mid")
    out = tmp_path / "out.mid"
    assert main(["accompany", str(tune), "--style", "a pop ballad", "--model", str(run), "--out", str(out)]) == 0
    assert "style from the description 'a pop ballad': pop 100%" in capsys.readouterr().out
    result = read_midi(out)
    assert result.tracks[0].notes == read_midi(tune).tracks[0].notes  # the melody is kept as it is
    assert [t.program for t in result.tracks[1:]] == [0]  # one new part: the piano


class _Stop(Exception):
    pass


@pytest.mark.parametrize("with_bridge", [False, True])
def test_accompany_in_pop_shows_the_model_the_pop909_layout(tmp_path, monkeypatch, with_bridge):
    # Prompted with the piano in slot 1 (the bridge's slot, Program_48), a pop model writes a bridge line;
    # the piano must be written in slot 2 as Program_0, after the given bridge or an empty bridge slot.
    import symbolic.jobs.plan as plan_module
    from symbolic.jobs.arrange import accompany
    from symbolic.tokenization.events import EventTokenizer
    from symbolic.tokenization.vocab import TokenType

    tokenizer = EventTokenizer(with_pop_style(default_event_tokenizer()).config)
    seen = {}

    def capture(model, tokenizer, plan, *args, **kwargs):
        seen["plan"] = plan
        raise _Stop

    monkeypatch.setattr(plan_module, "generate_planned", capture)
    melody = Track(program=0, name="melody", notes=[Note(480 * i, 420, 64 + i, 80) for i in range(8)])
    bridge = Track(program=0, name="bridge", notes=[Note(480 * i + 240, 200, 55, 60) for i in range(8)])
    score = Score(ticks_per_beat=480, tracks=[melody, bridge] if with_bridge else [melody],
                  tempos=[TempoChange(0, 600_000)], time_signatures=[TimeSignature(0, 4, 4)])
    with pytest.raises(_Stop):
        accompany(None, tokenizer, score, {"pop": 1.0}, melody_track=0)
    plan, vocab = seen["plan"], tokenizer.vocab
    programs = [vocab.values[i] for i in plan.header if vocab.types[i] == TokenType.PROGRAM]
    assert programs == [53, 48, 0]  # melody, bridge (given or empty), piano
    free = {slot for bar in plan.bars for slot, ids in bar.parts if ids is None}
    assert free == {2}
    bridge_bars = [ids for bar in plan.bars for slot, ids in bar.parts if slot == 1]
    assert bool(bridge_bars) == with_bridge and all(ids for ids in bridge_bars)
