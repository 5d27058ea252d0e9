"""The 78-pitch note roll and the benchmark loader."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import random_score
from symbolic import Note, Score, Track
from symbolic.polyphonic.data import load_polyphonic
from symbolic.errors import ConfigError, DataError, TokenizationError
from symbolic.resources import shared_data_dir
from symbolic.tokenization import NoteRoll, NoteRollConfig, from_note_roll, quantize_for_roll, to_note_roll
from symbolic.tokenization.verify import roll_merge_count, verify_roll


def test_shape_and_planes():
    score = Score(ticks_per_beat=480, tracks=[Track(notes=[Note(0, 480, 60, 80), Note(480, 480, 60, 80),
                                                           Note(0, 960, 24, 80), Note(0, 240, 101, 80)])])
    roll = to_note_roll(score, NoteRollConfig(frames_per_beat=4))
    assert roll.play.shape == (8, 78) and roll.play.dtype == bool
    assert roll.play[:, 60 - 24].tolist() == [True] * 8
    assert roll.articulate[:, 60 - 24].tolist() == [True, False, False, False, True, False, False, False]
    assert roll.play[0, 0] and roll.play[1, 77] and not roll.play[2, 77]
    decoded = from_note_roll(roll, NoteRollConfig(frames_per_beat=4))
    assert sorted((n.onset_ticks, n.duration_ticks, n.pitch) for n in decoded.tracks[0].notes) == [
        (0, 240, 101), (0, 480, 60), (0, 960, 24), (480, 480, 60)]
    assert roll.stacked().shape == (8, 78, 2)


def test_out_of_range_and_drums_are_reported():
    score = Score(tracks=[Track(notes=[Note(0, 480, 23, 80), Note(0, 480, 102, 80), Note(0, 480, 60, 80)]),
                         Track(is_drum=True, notes=[Note(0, 120, 36, 90)])])
    with pytest.warns(UserWarning, match="2 pitched notes outside"):
        roll = to_note_roll(score)
    assert (roll.n_out_of_range, roll.n_drum_notes) == (2, 1)
    problems = verify_roll(score)
    assert any("outside MIDI 24..101" in p for p in problems) and any("drum" in p for p in problems)


def test_empty_score_gives_empty_roll():
    roll = to_note_roll(Score())
    assert roll.play.shape == (0, 78) and roll.articulate.shape == (0, 78)
    assert from_note_roll(roll).is_empty()


def test_unisons_merge_like_a_keyboard():
    # Alto holds E4 for 4 frames while the tenor strikes E4 in frame 2.
    score = Score(ticks_per_beat=4, tracks=[Track(notes=[Note(0, 4, 64, 80)]), Track(notes=[Note(2, 1, 64, 80)])])
    notes, _, _ = quantize_for_roll(score, NoteRollConfig(frames_per_beat=4))
    assert notes == [(0, 2, 64), (2, 2, 64)]
    assert verify_roll(score, NoteRollConfig(frames_per_beat=4)) == []
    assert roll_merge_count(score, NoteRollConfig(frames_per_beat=4)) == 2


@pytest.mark.parametrize("seed", range(6))
def test_round_trip_matches_projection(seed):
    score = random_score(seed, n_tracks=3, meters=False)
    for fpb in (1, 4, 12):
        assert [p for p in verify_roll(score, NoteRollConfig(frames_per_beat=fpb)) if "drum" not in p
                and "outside" not in p] == []


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 200), st.integers(1, 50), st.integers(24, 101)), max_size=40))
def test_projection_and_arrays_agree(notes):
    score = Score(ticks_per_beat=4, tracks=[Track(notes=[Note(a, b, p, 80) for a, b, p in notes])])
    assert verify_roll(score, NoteRollConfig(frames_per_beat=4)) == []


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 40).flatmap(lambda t: st.tuples(
    st.lists(st.booleans(), min_size=t * 78, max_size=t * 78), st.lists(st.booleans(), min_size=t * 78,
                                                                          max_size=t * 78), st.just(t))))
def test_any_roll_decodes_and_re_encodes_to_itself(planes):
    play, art, t = planes
    play = np.array(play, dtype=bool).reshape(t, 78)
    art = np.array(art, dtype=bool).reshape(t, 78) & play
    previous = np.zeros_like(play)
    previous[1:] = play[:-1]
    art |= play & ~previous  # a note starting after silence is an articulation
    roll = NoteRoll(play, art, 4)
    again = to_note_roll(from_note_roll(roll))
    n = again.n_frames
    assert (again.play == play[:n]).all() and (again.articulate == art[:n]).all()
    assert not play[n:].any()


def test_config_and_shape_errors():
    with pytest.raises(ConfigError):
        NoteRollConfig(frames_per_beat=0)
    with pytest.raises(ConfigError):
        NoteRollConfig(frames_per_beat=7)  # 480 ticks do not split into 7 frames
    with pytest.raises(TokenizationError, match=r"\(T, 78\)"):
        NoteRoll(np.zeros((4, 88), bool), np.zeros((4, 88), bool), 4)
    with pytest.raises(TokenizationError, match="max_frames"):
        to_note_roll(Score(tracks=[Track(notes=[Note(10**8, 480, 60, 80)])]))


BENCH = shared_data_dir() / "polyphonic"


@pytest.mark.skipif(not (BENCH / "JSB_Chorales.mat").is_file(), reason="shared benchmark data not present")
def test_loader_on_real_files():
    jsb = load_polyphonic(BENCH / "JSB_Chorales.mat")
    assert [len(jsb[s]) for s in ("traindata", "validdata", "testdata")] == [229, 76, 77]
    assert sum(r.n_frames for r in jsb["traindata"]) == 13807
    assert sum(r.n_out_of_range for split in jsb.values() for r in split) == 0
    first = jsb["traindata"][0]
    assert first.play.shape[1] == 78 and first.frames_per_beat == 1
    # The roll holds exactly the 88-column data, shifted by 3 columns.
    from scipy.io import loadmat

    raw = loadmat(str(BENCH / "JSB_Chorales.mat"))["traindata"][0, 0]
    assert (first.play == (raw[:, 3:81] > 0)).all() and raw[:, :3].sum() == 0 and raw[:, 81:].sum() == 0
    nott = load_polyphonic(BENCH / "Nottingham.mat", frames_per_beat=2)
    assert [len(nott[s]) for s in ("traindata", "validdata", "testdata")] == [694, 173, 170]
    assert sum(r.n_frames for r in nott["traindata"]) == 176561


def test_loader_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_polyphonic(tmp_path / "none.mat")
    (tmp_path / "bad.mat").write_bytes(b"not matlab")
    with pytest.raises(DataError, match="MATLAB"):
        load_polyphonic(tmp_path / "bad.mat")
