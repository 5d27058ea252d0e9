"""The user's jobs end to end with the shipped default model, on tunes written here (not from any corpus)."""

from __future__ import annotations

import pytest

from symbolic import read_midi, write_midi
from symbolic.cli import main
from symbolic.score import Note, Score, TempoChange, TimeSignature, Track

# A tune written for these tests, in 3/4: (pitch, beats) pairs.
WALTZ = [(67, 1), (72, 2), (71, 1), (69, 1), (67, 1), (65, 2), (64, 1), (62, 2), (64, 1), (65, 1), (67, 1),
         (69, 2), (67, 1), (65, 1), (64, 1), (62, 1), (60, 2), (67, 1), (72, 2), (74, 1), (76, 2), (74, 1),
         (72, 1), (71, 1), (69, 2), (67, 1), (65, 1), (64, 1), (62, 1), (60, 3)]


def waltz(repeats: int = 1, tpb: int = 240) -> Score:
    notes, tick = [], tpb  # one beat of pickup rest
    for _ in range(repeats):
        for pitch, beats in WALTZ:
            notes.append(Note(tick, beats * tpb - tpb // 8, pitch, 76))
            tick += beats * tpb
    return Score(ticks_per_beat=tpb, tracks=[Track(program=73, name="flute", notes=notes)],
                 tempos=[TempoChange(0, 500_000)], time_signatures=[TimeSignature(0, 3, 4)])


@pytest.fixture(scope="module")
def tune(tmp_path_factory):
    return write_midi(waltz(), tmp_path_factory.mktemp("jobs") / "waltz.mid")


def test_accompany_from_words_keeps_the_melody(tune, tmp_path, capsys):
    out = tmp_path / "hymn.mid"
    assert main(["accompany", str(tune), "--style", "four-part church hymn", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "style from the description 'four-part church hymn': chorale" in printed
    result, source = read_midi(out), read_midi(tune)
    assert result.tracks[0].notes == source.tracks[0].notes and result.tracks[0].program == 73
    assert len(result.tracks) == 4 and all(t.notes for t in result.tracks[1:])
    # the new parts sit under the melody, as a chorale's lower voices do
    melody = result.tracks[0].notes
    below = [n.pitch <= m.pitch for t in result.tracks[1:] for n in t.notes for m in melody
             if m.onset_ticks <= n.onset_ticks < m.onset_ticks + m.duration_ticks]
    assert len(below) > 20 and sum(below) / len(below) > 0.8


def test_a_mix_is_said_with_whose_instruments_the_parts_take(tune, tmp_path, capsys):
    out = tmp_path / "mix.mid"
    assert main(["accompany", str(tune), "--style", "chorale:0.5,irish", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "style irish 67%, chorale 33%; the new parts' instruments are irish's (the largest share)" in printed
    assert "new: 2 parts on programs 24, 32" in printed


def test_accompany_with_named_tracks_and_hear_it(tune, tmp_path, capsys):
    pytest.importorskip("fluidsynth")
    from symbolic.audio.wav import read_wav

    out, wav = tmp_path / "folk.mid", tmp_path / "folk.wav"
    assert main(["accompany", str(tune), "--style", "german-folk", "--tracks", "bass,accordion",
                 "--out", str(out), "--wav", str(wav)]) == 0
    assert "new parts, high to low: accordion, bass" in capsys.readouterr().out
    result = read_midi(out)
    assert [t.program for t in result.tracks] == [73, 21, 32]
    assert result.tracks[0].notes == read_midi(tune).tracks[0].notes
    audio, sample_rate = read_wav(wav)
    assert sample_rate == 44100 and len(audio) >= result.duration_seconds * sample_rate
    assert float(abs(audio).max()) > 0.1


def test_convert_to_a_quartet_and_back_to_a_solo(tune, tmp_path):
    quartet = tmp_path / "quartet.mid"
    assert main(["convert", str(tune), "--to", "classical", "--out", str(quartet), "--seed", "1"]) == 0
    result = read_midi(quartet)
    assert [t.program for t in result.tracks] == [40, 40, 41, 42]
    assert result.tracks[0].notes == read_midi(tune).tracks[0].notes
    assert result.time_signatures == read_midi(tune).time_signatures
    solo = tmp_path / "solo.mid"
    assert main(["convert", str(quartet), "--to", "irish", "--melody-track", "0", "--out", str(solo)]) == 0
    back = read_midi(solo)
    assert len(back.tracks) == 1 and back.tracks[0].program == 110
    assert back.tracks[0].notes == read_midi(tune).tracks[0].notes


def test_continue_adds_bars(tune, tmp_path, capsys):
    out = tmp_path / "longer.mid"
    assert main(["continue", str(tune), "--style", "german-folk", "--bars", "4", "--out", str(out)]) == 0
    source, result = read_midi(tune), read_midi(out)
    assert set(source.tracks[0].notes) <= set(result.tracks[0].notes)
    new = [n for n in result.tracks[0].notes if n not in set(source.tracks[0].notes)]
    bar = 3 * source.ticks_per_beat
    start = -(-source.end_ticks // bar) * bar  # the bar after the one where the last note stops
    assert new and all(start <= n.onset_ticks < start + 4 * bar for n in new)


def test_style_from_an_example(tune, tmp_path, capsys):
    from music21 import corpus

    from symbolic import from_music21

    reference = write_midi(from_music21(corpus.parse("bach/bwv66.6")), tmp_path / "ref.mid")
    out = tmp_path / "like-bach.mid"
    assert main(["accompany", str(tune), "--style-from", str(reference), "--voices", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "style from ref.mid: chorale" in printed
    assert len(read_midi(out).tracks) == 3


def test_a_melody_longer_than_the_context_is_done_by_windows(tmp_path):
    long_tune = write_midi(waltz(repeats=6), tmp_path / "long.mid")
    out = tmp_path / "long-acc.mid"
    assert main(["accompany", str(long_tune), "--style", "chorale", "--voices", "1", "--out", str(out)]) == 0
    result = read_midi(out)
    last_melody = max(n.onset_ticks for n in result.tracks[0].notes)
    assert max(n.onset_ticks for n in result.tracks[1].notes) >= last_melody - 3 * result.ticks_per_beat


@pytest.mark.parametrize("args, message", [
    (["--style", "jazz"], "nothing in 'jazz' points to a style"),
    (["--style", ""], "empty"),
    (["--style", "irish", "--tracks", "kazoo"], "unknown instrument 'kazoo'"),
    (["--style", "irish", "--melody-track", "3"], "melody track 3 does not exist"),
    ([], "name a style"),
])
def test_bad_arguments_get_clear_messages(tune, tmp_path, capsys, args, message):
    assert main(["accompany", str(tune), *args, "--out", str(tmp_path / "x.mid")]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("name, message", [("no_notes.mid", "has no notes"), ("drums only", "has only drum notes")])
def test_files_without_a_melody_get_clear_messages(data_dir, tmp_path, capsys, name, message):
    if name == "drums only":
        drums = Score(tracks=[Track(is_drum=True, notes=[Note(k * 240, 120, 36 + k % 3, 100) for k in range(16)])])
        path = write_midi(drums, tmp_path / "drums.mid")
    else:
        path = data_dir / name
    for command, style in (("convert", "--to"), ("accompany", "--style"), ("continue", "--style")):
        assert main([command, str(path), style, "irish", "--out", str(tmp_path / "x.mid")]) == 2
        assert f"{path} {message}" in capsys.readouterr().err  # the message names the file


def test_generate_uses_the_shipped_model_by_default(tmp_path):
    out = tmp_path / "jig.mid"
    assert main(["generate", "--style", "irish", "--bars", "2", "--out", str(out)]) == 0
    assert read_midi(out).n_notes > 0


def test_convert_a_played_band_song_keeping_bass_and_drums(tmp_path, capsys):
    """A band song played off the grid: the warning comes first, then the job's decisions."""
    import random

    from five_track_song import five_track_song

    song = five_track_song(("Drums", "", "", "Bass", "")).sort()
    rng = random.Random(1)
    end = 4 * 4 * song.ticks_per_beat  # four bars
    for track in song.tracks:
        track.notes = [n._replace(onset_ticks=n.onset_ticks + rng.randint(7, 33)) for n in track.notes
                       if n.onset_ticks < end]
    path = write_midi(song, tmp_path / "played.mid")
    out = tmp_path / "chorale.mid"
    assert main(["convert", str(path), "--to", "chorale", "--keep", "bass,drums", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("warning: ") and "recorded performance" in printed and "symbolic quantize" in printed
    assert "melody: track 4" in printed and "kept as they are: track 3 'Bass', track 0 'Drums'" in printed
    result, source = read_midi(out), read_midi(path)
    assert result.tracks[0].notes == source.tracks[4].notes
    assert result.tracks[-1].is_drum and result.tracks[-1].notes == source.tracks[0].notes
    assert main(["convert", str(path), "--to", "chorale", "--keep", "guitar", "--out", str(out)]) == 2
    assert "cannot keep 'guitar'" in capsys.readouterr().err


def test_accompany_replaces_a_bands_accompaniment_when_asked(tmp_path, capsys):
    from five_track_song import five_track_song

    song = five_track_song(("Drums", "Guitar", "Guitar 2", "Bass", "Vocal")).sort()
    end = 4 * 4 * song.ticks_per_beat  # four bars
    for track in song.tracks:
        track.notes = [n for n in track.notes if n.onset_ticks < end]
    path = write_midi(song, tmp_path / "band.mid")
    out = tmp_path / "replaced.mid"
    assert main(["accompany", str(path), "--style", "chorale", "--replace-accompaniment", "--keep", "bass,drums",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "rewritten: track 1 'Guitar', track 2 'Guitar 2' (the new parts replace the accompaniment)" in printed
    assert "kept as they are: track 0 'Drums', track 3 'Bass'" in printed and "feel: " in printed
    result, source = read_midi(out), read_midi(path)
    kept = [t.notes for t in result.tracks[:3]]
    assert kept == [source.tracks[0].notes, source.tracks[3].notes, source.tracks[4].notes]
    assert all(t.notes != source.tracks[1].notes and t.notes != source.tracks[2].notes for t in result.tracks)
    assert len(result.tracks) == 3 + 3  # the drums, bass and vocal, and chorale's three new parts
    assert main(["accompany", str(path), "--style", "chorale", "--keep", "bass", "--out", str(out)]) == 2
    assert "applies only when the accompaniment is replaced" in capsys.readouterr().err


class _Captured(Exception):
    pass


@pytest.mark.parametrize("flags, expected", [([], "int8"), (["--weights-dtype", "float32"], "float32"),
                                             (["--weights-dtype", "bfloat16"], "bfloat16")])
def test_the_weights_dtype_reaches_the_job(tune, tmp_path, monkeypatch, flags, expected):
    config = _convert_config(tune, tmp_path, monkeypatch, flags)
    assert config.weights_dtype == expected and config.generation().weights_dtype == expected


def _convert_config(tune, tmp_path, monkeypatch, flags):
    """The JobConfig ``symbolic convert`` hands the library with ``flags``."""
    import symbolic.jobs.arrange as arrange

    seen = []

    def capture(model, tokenizer, score, weights, config, **settings):
        seen.append(config)
        raise _Captured

    monkeypatch.setattr(arrange, "convert", capture)
    with pytest.raises(_Captured):
        main(["convert", str(tune), "--to", "chorale", *flags, "--out", str(tmp_path / "x.mid")])
    return seen[0]


@pytest.mark.parametrize("flags, expected", [([], "float32"), (["--int8"], "int8"), (["--bf16"], "bfloat16"),
                                             (["--weights-dtype", "int8"], "int8")])
def test_generate_takes_the_weights_dtype_and_its_short_flags(tmp_path, monkeypatch, flags, expected):
    import symbolic.jobs.generate as generate

    seen = []

    def capture(model, tokenizer, config, **settings):
        seen.append(config)
        raise _Captured

    monkeypatch.setattr(generate, "generate_scores", capture)
    with pytest.raises(_Captured):
        main(["generate", "--style", "irish", *flags, "--out", str(tmp_path / "x.mid")])
    assert seen[0].weights_dtype == expected


def test_a_weights_dtype_that_does_not_exist_is_refused(tune, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["convert", str(tune), "--to", "chorale", "--weights-dtype", "int4", "--out", str(tmp_path / "x.mid")])
    assert exit_info.value.code == 2 and "int4" in capsys.readouterr().err


@pytest.mark.parametrize("flags, expected", [([], 32), (["--segment-bars", "0"], 0), (["--segment-bars", "48"], 48)])
def test_the_segment_rule_reaches_the_job(tune, tmp_path, monkeypatch, flags, expected):
    from symbolic.jobs.config import JobConfig

    config = _convert_config(tune, tmp_path, monkeypatch, flags)
    assert config.segment_bars == expected == (JobConfig().segment_bars if not flags else expected)


def test_a_segment_rule_shorter_than_the_warm_up_is_refused(tune, tmp_path, capsys):
    assert main(["accompany", str(tune), "--style", "chorale", "--segment-bars", "3",
                 "--out", str(tmp_path / "x.mid")]) == 2
    err = capsys.readouterr().err
    assert "segment_bars=3 must be 0 (never cut) or at least 9" in err and "Traceback" not in err


@pytest.mark.parametrize("flags, expected", [([], None), (["--chord-penalty", "0"], 0.0), (["--chord-penalty", "3.5"], 3.5)])
def test_the_chord_penalty_reaches_the_job(tune, tmp_path, monkeypatch, flags, expected):
    assert _convert_config(tune, tmp_path, monkeypatch, flags).chord_penalty == expected


def test_a_chord_penalty_that_is_not_finite_is_refused_in_one_line(tune, tmp_path, capsys):
    assert main(["accompany", str(tune), "--style", "pop", "--chord-penalty", "inf",
                 "--out", str(tmp_path / "x.mid")]) == 2
    err = capsys.readouterr().err
    assert "chord_penalty=inf must be a finite number of nats" in err and "Traceback" not in err


def test_accompany_follows_a_chord_chart(tune, tmp_path, capsys):
    from symbolic.analysis.chords import chord_tone_ratio, parse_chord_chart

    chart = "C | C | F | G | C | Am | Dm | G7 | C | C | F | G7 | C"  # the waltz's 13 bars
    out = tmp_path / "charted.mid"
    assert main(["accompany", str(tune), "--style", "pop", "--chords", chart, "--out", str(out)]) == 0
    assert "chords: the 13 chords given with the input" in capsys.readouterr().out
    result = read_midi(out)
    result.annotations.chords = parse_chord_chart(chart, read_midi(tune))  # bar 1: the tune enters on its beat 2
    assert result.annotations.chords[0].start_ticks == 0
    assert chord_tone_ratio(result, 1) > 0.85  # the piano on the chart's chords


def test_a_bad_chord_chart_is_refused_in_one_line_before_the_model_loads(tune, tmp_path, capsys, monkeypatch):
    import symbolic.models.pretrained as pretrained

    monkeypatch.setattr(pretrained, "load_decoder", lambda *a, **k: pytest.fail("the model loaded"))
    assert main(["accompany", str(tune), "--style", "pop", "--chords", "C | Gsus7x",
                 "--out", str(tmp_path / "x.mid")]) == 2
    err = capsys.readouterr().err
    assert "chord chart, bar 2: 'Gsus7x' is not a chord symbol" in err and "Traceback" not in err


def test_a_lead_sheet_in_musicxml_is_accompanied_on_its_own_chords(tmp_path, capsys):
    import shutil

    from music21 import corpus

    from symbolic import read_score
    from symbolic.analysis.chords import chord_tone_ratio

    sheet = tmp_path / "ragtime.mxl"  # a real lead sheet of the music21 corpus: melody and chord symbols
    shutil.copy(corpus.getWork("leadSheet/berlinAlexandersRagtime"), sheet)
    out = tmp_path / "ragtime.mid"
    assert main(["accompany", str(sheet), "--style", "pop", "--out", str(out)]) == 0
    assert "chords: the 19 chords given with the input" in capsys.readouterr().out
    result = read_midi(out)
    result.annotations = read_score(sheet).annotations
    assert result.tracks[0].notes == read_score(sheet).tracks[0].notes
    assert chord_tone_ratio(result, 1) > 0.85


def test_the_chart_start_bar_reaches_the_job_and_is_checked(tune, tmp_path, capsys):
    out = tmp_path / "late.mid"
    assert main(["accompany", str(tune), "--style", "chorale", "--chords", "C | G7 | C", "--chords-start-bar", "3",
                 "--out", str(out)]) == 0
    assert "chords: the 3 chords given with the input, from bar 3, to bar 5 of " in capsys.readouterr().out
    assert main(["accompany", str(tune), "--style", "chorale", "--chords", "C", "--chords-start-bar", "0",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "start bar 0: bars are numbered from 1" in err and "Traceback" not in err


def test_a_pop_piano_plays_a_repeated_tune_again_unless_told_not_to(tmp_path, capsys):
    # the waltz twice, each time through 14 bars (40 beats and two of rest): bar k + 14 repeats bar k
    tpb, bar = 240, 3 * 240
    notes, tick = [], tpb
    for _ in range(2):
        for pitch, beats in WALTZ:
            notes.append(Note(tick, beats * tpb - tpb // 8, pitch, 76))
            tick += beats * tpb
        tick += 2 * tpb
    song = Score(ticks_per_beat=tpb, tracks=[Track(program=73, notes=notes)], tempos=[TempoChange(0, 500_000)],
                 time_signatures=[TimeSignature(0, 3, 4)])
    path, out = write_midi(song, tmp_path / "twice.mid"), tmp_path / "pop.mid"
    assert main(["accompany", str(path), "--style", "pop", "--out", str(out)]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("repeats: "))
    assert int(line.split()[1]) >= 12 and "from 1-" in line, line  # the second time takes the first's piano
    piano = read_midi(out).tracks[-1]

    def played(first_bar: int) -> set:
        return {(n.onset_ticks - first_bar * bar, n.pitch) for n in piano.notes
                if first_bar * bar <= n.onset_ticks < (first_bar + 4) * bar}

    assert played(1) and played(15) == played(1)  # bars 2-5 again as bars 16-19
    assert main(["accompany", str(path), "--style", "pop", "--no-repeat-parts", "--out", str(out)]) == 0
    assert not any(line.startswith("repeats: ") for line in capsys.readouterr().out.splitlines())
