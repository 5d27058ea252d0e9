"""music21 streams into scores, and the corpus listing."""

from __future__ import annotations

import pytest
from music21 import chord, corpus, instrument, meter, note, stream, tempo

from symbolic import from_music21
from symbolic.data.corpus import MUSIC21_STYLES, list_music21_pieces, load_piece
from symbolic.errors import DataError, ScoreError, StyleError


def test_chorale_parts_become_tracks_and_pickup_is_aligned():
    score = from_music21(corpus.parse("bach/bwv66.6"))
    assert [t.name for t in score.tracks] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert [(k.sharps, k.minor) for k in score.key_signatures] == [(3, True)]
    assert [(ts.numerator, ts.denominator) for ts in score.time_signatures] == [(4, 4)]
    # The one-beat pickup is padded: the first note starts on beat 4 of bar 0.
    assert min(n.onset_ticks for t in score.tracks for n in t.notes) == 3 * 480


def test_hand_built_stream_with_chord_tie_tempo_and_instrument():
    part = stream.Part()
    part.insert(0, instrument.Violin())
    part.append(meter.TimeSignature("3/4"))
    part.append(tempo.MetronomeMark(number=90))
    first = note.Note("C4", quarterLength=1.0)
    first.tie = __import__("music21").tie.Tie("start")
    second = note.Note("C4", quarterLength=1.0)
    second.tie = __import__("music21").tie.Tie("stop")
    part.append([first, second, chord.Chord(["E4", "G4"], quarterLength=1.0)])
    score = from_music21(part)
    track = score.tracks[0]
    assert track.program == 40
    assert [(n.onset_ticks, n.duration_ticks, n.pitch) for n in track.notes] == [
        (0, 960, 60), (960, 480, 64), (960, 480, 67)]
    assert score.tempos[0].microseconds_per_beat == round(60_000_000 / 90)


def test_a_lead_sheets_chord_symbols_become_chord_spans_not_notes():
    score = from_music21(corpus.parse("leadSheet/berlinAlexandersRagtime"))  # a real lead sheet of the corpus
    chords = score.annotations.chords
    assert len(score.tracks) == 1 and len(chords) == 19
    assert [c.label for c in chords[:4]] == ["F:(1,3,5)", "C:(1,3,5,b7)", "F:(1,3,5)", "Bb:(1,3,5)"]
    assert chords[0].start_ticks == 4 * 480 and chords[-1].end_ticks == score.end_ticks
    assert all(a.end_ticks == b.start_ticks for a, b in zip(chords, chords[1:]))
    # a symbol with a length (as some MusicXML writers give it) is still not played
    part = stream.Part()
    part.append(meter.TimeSignature("4/4"))
    symbol = __import__("music21").harmony.ChordSymbol("Am7")
    symbol.quarterLength = 4.0
    part.insert(0, symbol)
    part.insert(0, note.Note("E4", quarterLength=4.0))
    part.insert(4, __import__("music21").harmony.NoChord())
    part.insert(4, note.Note("C4", quarterLength=4.0))
    hand = from_music21(part)
    assert [n.pitch for n in hand.tracks[0].notes] == [64, 60]
    assert [(c.start_ticks, c.end_ticks, c.label) for c in hand.annotations.chords] == [
        (0, 1920, "A:(1,b3,5,b7)"), (1920, 3840, "N")]
    assert from_music21(corpus.parse("bach/bwv66.6")).annotations.chords == []


def test_opus_and_non_stream_rejected():
    with pytest.raises(ScoreError, match="Opus"):
        from_music21(stream.Opus())
    with pytest.raises(ScoreError, match="music21 Stream"):
        from_music21("not a stream")


def test_corpus_listing_covers_every_style():
    pieces = list_music21_pieces()
    styles = {p.style for p in pieces}
    assert styles == set(MUSIC21_STYLES)
    assert len({p.id for p in pieces}) == len(pieces)
    counts = {s: sum(p.style == s for p in pieces) for s in styles}
    assert counts["chorale"] > 300 and counts["irish"] > 1000 and counts["classical"] >= 40
    with pytest.raises(StyleError, match="chorale"):
        list_music21_pieces(["polka"])


def test_multi_tune_abc_piece_loads_one_tune():
    pieces = [p for p in list_music21_pieces(["irish"]) if p.id.startswith("oneills1850/0001-0050.abc#")]
    assert len(pieces) == 50
    score = load_piece(pieces[1])
    assert len(score.tracks) == 1 and 20 < score.n_notes < 400


def test_unparseable_piece_raises_data_error(tmp_path):
    from symbolic.data.piece import CorpusPiece

    bad = tmp_path / "bad.abc"
    bad.write_text("X:1\nT:broken\nK:Q#\n|||::((\n")
    with pytest.raises(DataError):
        load_piece(CorpusPiece("bad.abc#1", "irish", str(bad), 7))


def test_musicxml_bytes_plain_and_compressed_become_a_score():
    import io
    import zipfile
    from pathlib import Path

    from symbolic.inputs.music21 import is_musicxml_bytes, parse_musicxml_bytes

    data = (Path(__file__).parents[1] / "data" / "waltz.musicxml").read_bytes()
    score = parse_musicxml_bytes(data, "waltz.musicxml")
    assert [t.program for t in score.tracks] == [73] and score.tracks[0].name == "Flute"  # MusicXML's 74 is 1-based
    assert [n.pitch for n in score.tracks[0].notes] == [67, 71, 74, 78, 76, 74]
    assert [n.duration_ticks for n in score.tracks[0].notes] == [480, 480, 480, 960, 480, 1440]
    assert [(t.numerator, t.denominator) for t in score.time_signatures] == [(3, 4)]
    assert round(score.tempos[0].qpm) == 90 and score.key_signatures[0].sharps == 1
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("META-INF/container.xml", '<container><rootfiles><rootfile full-path="score/waltz.xml"/>'
                                                   "</rootfiles></container>")
        archive.writestr("score/waltz.xml", data)
    assert parse_musicxml_bytes(buffer.getvalue()).tracks[0].notes == score.tracks[0].notes
    assert is_musicxml_bytes(data) and is_musicxml_bytes(buffer.getvalue())
    assert not is_musicxml_bytes(b"MThd\x00\x00\x00\x06") and not is_musicxml_bytes(b"<html><body>hi</body></html>")


def test_bad_musicxml_gets_one_clear_line():
    from symbolic.inputs.music21 import parse_musicxml_bytes

    with pytest.raises(ScoreError, match="cut.xml: music21 cannot read this MusicXML"):
        parse_musicxml_bytes(b'<?xml version="1.0"?><score-partwise><part id="P1"><measure', "cut.xml")
    with pytest.raises(ScoreError, match="page.html: not a MusicXML file"):
        parse_musicxml_bytes(b"<html>a page</html>", "page.html")
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:  # the container names a score the archive lacks
        archive.writestr("META-INF/container.xml", '<container><rootfile full-path="gone.xml"/></container>')
    with pytest.raises(ScoreError, match="x.mxl: a broken compressed MusicXML"):
        parse_musicxml_bytes(buffer.getvalue(), "x.mxl")


def test_musicxml_over_the_size_bound_is_refused_before_music21_reads_it():
    import io
    import zipfile
    from pathlib import Path

    from symbolic.inputs.music21 import parse_musicxml_bytes

    data = (Path(__file__).parents[1] / "data" / "waltz.musicxml").read_bytes()
    with pytest.raises(ScoreError, match="waltz.musicxml: MusicXML of more than 1000 bytes"):
        parse_musicxml_bytes(data, "waltz.musicxml", max_text_bytes=1000)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("META-INF/container.xml", '<container><rootfile full-path="w.xml"/></container>')
        archive.writestr("w.xml", data + b"<!--" + b" " * 100_000 + b"-->")  # a small archive, a big text
    assert len(buffer.getvalue()) < 5000
    with pytest.raises(ScoreError, match=r"big.mxl: the .mxl archive unpacks to \d+ bytes of MusicXML, over the "
                                         "50000-byte limit"):
        parse_musicxml_bytes(buffer.getvalue(), "big.mxl", max_text_bytes=50_000)
    assert parse_musicxml_bytes(buffer.getvalue(), "big.mxl").n_notes == 6
