"""The accompaniment measures: key consistency, the melody kept, one track's metrics."""

from __future__ import annotations

import math

from symbolic.data.pop909 import load_pop909_song
from symbolic.evaluation.accompaniment import kept_note_share, key_consistency, semitone_clash_share, track_metrics
from symbolic.evaluation.metrics import note_density, pitch_range
from symbolic.resources import shared_data_dir
from symbolic.score import Annotations, KeySpan, Note, Score, TimeSignature, Track


def two_tracks() -> Score:
    melody = Track(53, name="MELODY", notes=[Note(0, 480, 72, 80), Note(480, 480, 74, 80)])
    # C (in C major), C# (outside), then a note after the key span ends
    piano = Track(0, name="PIANO", notes=[Note(0, 960, 48, 70), Note(960, 480, 49, 70), Note(4000, 480, 50, 70)])
    return Score(ticks_per_beat=480, tracks=[melody, piano], time_signatures=[TimeSignature(0, 4, 4)],
                 annotations=Annotations(keys=[KeySpan(0, 1920, 0, False)]))


def test_key_consistency_weights_by_note_time_inside_the_annotated_key():
    score = two_tracks()
    assert key_consistency(score, 1) == 960 / 1440  # the note after the span does not count
    assert key_consistency(score, 0) == 1.0
    # A minor's scale includes G#: the C# stays outside, C is inside
    minor = Annotations(keys=[KeySpan(0, 1920, 9, True)])
    assert key_consistency(score, 1, minor) == 960 / 1440
    assert key_consistency(score, 1, Annotations(keys=[KeySpan(0, 1920, 2, False)])) == 480 / 1440  # D major


def test_key_consistency_is_none_without_notes_or_keys():
    score = two_tracks()
    assert key_consistency(score, 1, Annotations()) is None
    score.tracks[1].notes = []
    assert key_consistency(score, 1) is None


def test_kept_note_share_counts_the_given_notes_found_unchanged():
    score = two_tracks()
    melody = score.tracks[0]
    assert kept_note_share(melody, melody, 480, 480) == 1.0
    moved = Track(53, notes=[melody.notes[0], melody.notes[1]._replace(pitch=75)])
    assert kept_note_share(melody, moved, 480, 480) == 0.5
    # on another grid: the same notes at 960 ticks a beat
    doubled = Track(53, notes=[n._replace(onset_ticks=2 * n.onset_ticks, duration_ticks=2 * n.duration_ticks)
                               for n in melody.notes] + [Note(5000, 10, 60, 1)])
    assert kept_note_share(melody, doubled, 480, 960) == 1.0
    # a repeated note must be found as often as it is given
    twice = Track(53, notes=[melody.notes[0], melody.notes[0]])
    assert kept_note_share(twice, melody, 480, 480) == 0.5
    assert math.isnan(kept_note_share(Track(53), melody, 480, 480))


def test_track_metrics_measure_one_track_alone():
    score = two_tracks()
    one = Score(ticks_per_beat=480, tracks=[score.tracks[1]], time_signatures=score.time_signatures)
    metrics = track_metrics(score, 1)
    assert metrics["pitch_range"] == pitch_range(one) == 2
    assert metrics["note_density"] == note_density(one) == 3 * 480 / 4480
    assert track_metrics(score, 0)["pitch_range"] == 2
    score.tracks[1].notes = []
    empty = track_metrics(score, 1)
    assert math.isnan(empty["pitch_range"]) and empty["note_density"] == 0.0


def test_the_real_pop909_piano_sits_in_its_annotated_key():
    # docs/results/pop-texture.md: 98.6% of the piano's note time in the key over the training split
    score, _ = load_pop909_song(shared_data_dir() / "pop909" / "001")
    assert key_consistency(score, 2) > 0.9
    assert kept_note_share(score.tracks[0], score.tracks[0], score.ticks_per_beat, score.ticks_per_beat) == 1.0


def test_semitone_clash_share_counts_the_time_two_own_notes_lie_a_semitone_apart():
    # C E G held 4 beats; a B an octave below clashes with the C for its 1 beat (a major seventh)
    chord = [Note(0, 1920, p, 80) for p in (60, 64, 67)]
    assert semitone_clash_share(Track(0, notes=chord)) == 0.0
    assert semitone_clash_share(Track(0, notes=chord + [Note(480, 480, 47, 80)])) == 0.25
    # a minor ninth and a rest: counted over the sounding time only
    apart = [Note(0, 480, 60, 80), Note(0, 480, 73, 80), Note(960, 480, 62, 80)]
    assert semitone_clash_share(Track(0, notes=apart)) == 0.5
    assert semitone_clash_share(Track(0, notes=[])) is None


def test_the_real_pop909_pianos_seldom_clash_with_themselves():
    shares = [semitone_clash_share(load_pop909_song(shared_data_dir() / "pop909" / song)[0].tracks[2])
              for song in ("001", "002", "003", "004")]
    assert max(shares) < 0.1 and 0 < sum(shares)  # a passing note against a held chord now and then
