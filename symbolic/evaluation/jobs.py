"""Measures for the user's jobs: transfer strength, content preservation, accompaniment likelihood.

* :func:`transfer_strength` is Brunner et al. (2018)'s measure for one
  conversion A -> B: ``((P_A(x) - P_A(x_hat)) + (P_A(x_back) - P_A(x_hat))) / 2``
  with ``P_A`` the style classifier's probability of the source style, ``x_hat``
  the converted piece and ``x_back`` the piece converted back to A.
* :func:`chroma_similarity` compares the harmony of two scores beat by beat.
* :func:`accompaniment_nll` is the negative log-likelihood per note of given
  accompanying parts under a decoder, conditioned on the melody before them.
* :func:`score_from_voice_frames` reads the four-voice chorales of
  ``Jsb16thSeparated.npz`` (MIDI pitch per voice per 16th note, NaN = silent).
"""

from __future__ import annotations

import math

import numpy as np

from symbolic.score import Note, Score, TimeSignature, Track

__all__ = ["transfer_strength", "pairwise_probability", "chroma_similarity", "beat_chroma", "same_notes",
           "accompaniment_nll", "score_from_voice_frames", "crop_bars", "first_bar_with_notes"]


def transfer_strength(p_source: float, p_converted: float, p_back: float) -> float:
    """Brunner et al.'s transfer strength of one conversion, in -1..1 (higher is a stronger transfer).

    Args:
        p_source: P_A(x), the classifier's probability of the source style A for the source piece.
        p_converted: P_A(x_hat) for the piece converted to B.
        p_back: P_A(x_back) for the converted piece converted back to A.
    """
    return 0.5 * ((p_source - p_converted) + (p_back - p_converted))


def pairwise_probability(probs, a: int, b: int) -> float:
    """P(A) of a judge that only knows styles A and B, from a many-style classifier's probabilities.

    ``probs`` float ``(n_styles,)``; the result is ``probs[a] / (probs[a] + probs[b])``,
    the classifier's posterior once the other styles are ruled out (Brunner et al.
    trained one binary A-vs-B classifier per pair).  0.5 when both are 0.
    """
    total = float(probs[a]) + float(probs[b])
    return 0.5 if total <= 0 else float(probs[a]) / total


def beat_chroma(score: Score) -> np.ndarray:
    """Float64 ``(n_beats, 12)``: per quarter-note beat, how long each pitch class sounds (in beats).

    Drum tracks are left out; a score with no pitched note gives ``(0, 12)``.
    """
    tpb = score.ticks_per_beat
    notes = [n for t in score.tracks if not t.is_drum for n in t.notes]
    if not notes:
        return np.zeros((0, 12))
    n_beats = max(n.onset_ticks + n.duration_ticks for n in notes) // tpb + 1
    chroma = np.zeros((n_beats, 12))
    for n in notes:
        start, end = n.onset_ticks, n.onset_ticks + n.duration_ticks
        for beat in range(start // tpb, (end - 1) // tpb + 1 if end > start else start // tpb + 1):
            overlap = min(end, (beat + 1) * tpb) - max(start, beat * tpb)
            if overlap > 0 and beat < n_beats:
                chroma[beat, n.pitch % 12] += overlap / tpb
    return chroma


def chroma_similarity(a: Score, b: Score) -> float:
    """Mean cosine similarity (0..1) of the two scores' beat chromas, over beats where either sounds.

    A beat that sounds in one score and is silent in the other counts 0.  NaN when
    neither score has a pitched note.  The scores are compared on their own beat
    grids (quarter notes), so they need not share ticks per beat.
    """
    ca, cb = beat_chroma(a), beat_chroma(b)
    n = max(len(ca), len(cb))
    if n == 0:
        return math.nan
    ca = np.vstack([ca, np.zeros((n - len(ca), 12))])
    cb = np.vstack([cb, np.zeros((n - len(cb), 12))])
    na, nb = np.linalg.norm(ca, axis=1), np.linalg.norm(cb, axis=1)
    either = (na > 0) | (nb > 0)
    both = (na > 0) & (nb > 0)
    cos = np.zeros(n)
    cos[both] = (ca[both] * cb[both]).sum(axis=1) / (na[both] * nb[both])
    return float(cos[either].mean())


def same_notes(a: Track, b: Track, tpb_a: int, tpb_b: int) -> bool:
    """True when two tracks hold the same notes (onset, duration, pitch, velocity), on a common tick grid."""
    if tpb_a == tpb_b:
        return sorted(a.notes) == sorted(b.notes)
    scale = tpb_b / tpb_a
    return sorted(Note(round(n.onset_ticks * scale), round(n.duration_ticks * scale), n.pitch, n.velocity)
                  for n in a.notes) == sorted(b.notes)


def accompaniment_nll(model, tokenizer, score: Score, style: str | None, melody_slots: int = 1) -> tuple[float, int]:
    """Negative log-likelihood (nats) of the accompanying parts of ``score`` and their note count.

    The score is encoded with its tracks in order (the melody first); the tokens of
    every part from slot ``melody_slots`` on (their ``Track`` token and their notes)
    are scored given everything before them, with the style's embedding.  Divide
    the first value by the second for nats per note.  ``(0.0, 0)`` when the parts
    have no notes.
    """
    from symbolic.models.scoring import sequence_nll
    from symbolic.sampling.session import style_weights
    from symbolic.tokenization.stream import iter_parts
    from symbolic.tokenization.vocab import NO_STYLE, TokenType

    vocab = tokenizer.vocab
    ids = tokenizer.encode(score, style=style)
    nll = sequence_nll(model, ids, style_weights(vocab.styles, {style or NO_STYLE: 1.0}))
    total, notes = 0.0, 0
    for part in iter_parts(vocab, ids):
        if part.slot < melody_slots:
            continue
        for k, token in enumerate(part.tokens, start=part.start):
            total += float(nll[k - 1])
            notes += vocab.types[token] == TokenType.DURATION
    return total, notes


def score_from_voice_frames(frames: np.ndarray, steps_per_beat: int = 4, ticks_per_beat: int = 480,
                            velocity: int = 80) -> Score:
    """A four-track score (one per voice, highest first) from ``(T, n_voices)`` MIDI pitches per frame.

    NaN is silence; consecutive frames of the same pitch in a voice make one note
    (the format has no repeated-note marks).  4/4 is assumed.
    """
    frames = np.asarray(frames, dtype=float)
    step = ticks_per_beat // steps_per_beat
    score = Score(ticks_per_beat=ticks_per_beat, time_signatures=[TimeSignature(0, 4, 4)])
    for voice in range(frames.shape[1] if frames.ndim == 2 else 0):
        notes, start, current = [], 0, math.nan
        column = list(frames[:, voice]) + [math.nan]
        for t, value in enumerate(column):
            if value == current:
                continue
            if not math.isnan(current):
                notes.append(Note(start * step, (t - start) * step, int(current), velocity))
            start, current = t, value
        score.tracks.append(Track(program=0, name=f"voice {voice + 1}", notes=notes))
    return score


def crop_bars(score: Score, n_bars: int, tokenizer, first_bar: int = 0) -> Score:
    """Bars ``first_bar`` .. ``first_bar + n_bars - 1`` of ``score`` (as the tokenizer counts bars), moved to
    start at tick 0; notes are cut at the end.

    Notes that start before the first bar are left out; the tempo, meter and key holding at the first
    bar line start the crop; annotations (chords, keys) are moved with the notes.  ``score`` itself is
    returned when it has no bar past the crop and ``first_bar`` is 0; a ``first_bar`` past the last bar
    gives an empty score.
    """
    starts = tokenizer.bar_starts_steps(score)
    steps = tokenizer.config.steps_per_beat
    if first_bar == 0 and len(starts) - 1 <= n_bars:
        return score
    begin = starts[min(first_bar, len(starts) - 1)] * score.ticks_per_beat // steps
    end = starts[first_bar + n_bars] * score.ticks_per_beat // steps if first_bar + n_bars < len(starts) \
        else max(score.end_ticks, begin)

    def window(changes):
        held = [c for c in changes if c.time_ticks <= begin][-1:]
        return [c._replace(time_ticks=max(0, c.time_ticks - begin)) for c in held + [
            c for c in changes if begin < c.time_ticks < end]]

    tracks = [Track(t.program, t.is_drum, t.name,
                    [n._replace(onset_ticks=n.onset_ticks - begin,
                                duration_ticks=min(n.duration_ticks, end - n.onset_ticks))
                     for n in t.notes if begin <= n.onset_ticks < end]) for t in score.tracks]
    out = Score(score.ticks_per_beat, tracks, window(score.tempos), window(score.time_signatures),
                window(score.key_signatures))
    out.annotations = score.annotations.mapped(lambda ticks: [min(max(t - begin, 0), end - begin) for t in ticks])
    out.annotations.chords[:] = [c for c in out.annotations.chords if c.end_ticks > c.start_ticks]
    out.annotations.keys[:] = [k for k in out.annotations.keys if k.end_ticks > k.start_ticks]
    return out


def first_bar_with_notes(score: Score, tokenizer, track_index: int = 0) -> int:
    """Index of the bar (as the tokenizer counts bars) holding the first note of track ``track_index``:
    where a song's melody enters after an intro.  0 when the track has no notes."""
    import bisect

    notes = score.tracks[track_index].notes
    if not notes:
        return 0
    first = min(n.onset_ticks for n in notes)
    steps = tokenizer.config.steps_per_beat
    starts = [s * score.ticks_per_beat // steps for s in tokenizer.bar_starts_steps(score)]
    return max(0, bisect.bisect_right(starts, first) - 1)
