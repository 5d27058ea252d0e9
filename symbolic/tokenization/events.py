"""Multi-track REMI-like event tokenization.

A sequence reads::

    BOS Style_s  (Track_i [Drums] Program_p)*              header: one entry per track slot
    ( Bar [TimeSig_n Denom_d]                              a bar; a meter here starts a new bar of that meter
      (Position_k Tempo_t)* [Position_k TimeSig_n Denom_d] global events; a mid-bar meter ends the bar at k
      ( Track_i (Position_k (Pitch Velocity Duration)+)+ )*   each track's notes in the bar
    )*
    EOS

Positions count ``steps_per_beat`` steps per quarter note from the bar start.
A bar longer than ``max_bar_beats`` (4/1, or an unmetered tune stored as one
huge bar) is split into chunks of at most that length, each opened by ``Bar``;
every MIDI meter whose bar is a whole number of steps can be held.
Tracks are serialized bar by bar in slot order, so the tracks placed first
(``track_order``) are known before the rest of each bar is generated.

:meth:`EventTokenizer.quantize` is the grid projection of a score, written
independently of the encoder: ``decode(encode(s))`` equals ``quantize(s)`` for
every score the tokenization can hold (see :func:`~symbolic.tokenization.verify`).
"""

from __future__ import annotations

import bisect
import math
import os
from itertools import chain
from typing import Iterable, Sequence

import numpy as np

from symbolic.errors import StyleError, TokenizationError
from symbolic.score import Note, Score, TempoChange, TimeSignature, Track, fold_sustain
from symbolic.tokenization.vocab import (
    NO_STYLE,
    EventTokenizerConfig,
    TokenType,
    Vocabulary,
    load_spec,
    save_spec,
)

__all__ = ["EventTokenizer"]

_T = TokenType


class EventTokenizer:
    """Encode scores to token ids and decode ids back to scores.

    Args:
        config: the tokenization settings; the default matches ``tokenizers/events-v1.json``.
    """

    def __init__(self, config: EventTokenizerConfig | None = None) -> None:
        self.config = config or EventTokenizerConfig()
        self.vocab = Vocabulary(self.config)
        v = self.vocab
        spb = self.config.steps_per_beat
        self._default_bar_steps = 4 * spb  # before the first meter, as MIDI assumes (4/4)
        # Lookup tables: value -> bin index (nearest; ties go to the smaller bin).
        max_duration = v.duration_steps[-1]
        self._duration_bin = [_nearest(v.duration_steps, d) for d in range(max_duration + 1)]
        self._velocity_bin = [_nearest(v.velocity_values, x) for x in range(128)]
        self._duration_bin_array = np.asarray(self._duration_bin, dtype=np.int64)
        self._velocity_bin_array = np.asarray(self._velocity_bin, dtype=np.int64)
        self._log_tempo = [math.log(q) for q in v.tempo_qpm]
        self._ticks_per_step = self.config.decode_ticks_per_beat // spb

    # ------------------------------------------------------------------ files
    @classmethod
    def from_spec(cls, path_or_dict: str | os.PathLike[str] | dict) -> "EventTokenizer":
        """Load a tokenizer from a JSON spec file (or its parsed dict)."""
        return cls(load_spec(path_or_dict))

    def save_spec(self, path: str | os.PathLike[str]) -> None:
        """Write this tokenizer's JSON spec to ``path``."""
        save_spec(self.config, path)

    def __len__(self) -> int:
        return len(self.vocab)

    @property
    def vocab_size(self) -> int:
        """Number of token ids."""
        return len(self.vocab)

    # ------------------------------------------------------------- quantizers
    def grid_step(self, ticks: int, tpb: int) -> int:
        """Grid step (``steps_per_beat`` to a quarter note) of a time in ticks at ``tpb`` ticks per beat, rounding
        half up: where :meth:`encode` puts an event at that tick."""
        spb = self.config.steps_per_beat
        return (2 * ticks * spb + tpb) // (2 * tpb)

    def _duration_index(self, duration_ticks: int, tpb: int) -> int:
        steps = max(1, self.grid_step(duration_ticks, tpb))
        table = self._duration_bin
        return table[steps] if steps < len(table) else len(self.vocab.duration_steps) - 1

    def _tempo_index(self, microseconds_per_beat: int) -> int:
        qpm = 60_000_000.0 / microseconds_per_beat
        if self.config.tempo_scheme == "integer":
            low = int(self.config.min_qpm)
            return min(max(math.floor(qpm + 0.5), low), int(self.config.max_qpm)) - low
        x = math.log(qpm)
        return min(range(len(self._log_tempo)), key=lambda i: (abs(self._log_tempo[i] - x), i))

    def _meter(self, numerator: int, denominator: int) -> tuple[int, int]:
        """A meter the tokenization can hold: itself, or 4/4 for one it cannot (verification reports it)."""
        return (numerator, denominator) if self.vocab.meter_steps(numerator, denominator) else (4, 4)

    def _meter_ids(self, meter: tuple[int, int]) -> tuple[int, int]:
        v = self.vocab
        return (v.id_of(_T.TIMESIG, meter[0] - 1), v.id_of(_T.DENOM, v.denominators.index(meter[1])))

    def _tempo_microseconds(self, index: int) -> int:
        return int(round(60_000_000.0 / self.vocab.tempo_qpm[index]))

    # ----------------------------------------------------------------- encode
    def encode(self, score: Score, style: str | None = None, track_order: Sequence[int] | None = None) -> list[int]:
        """Token ids of ``score``.

        Args:
            score: the piece.
            style: style name for the leading style token (``None``: no style).
            track_order: indices of ``score.tracks`` to serialize first, in this
                order; the other tracks follow in score order.

        Returns:
            A list of ints in ``range(vocab_size)``, starting with BOS and ending with EOS.

        Raises:
            StyleError: unknown style.  TokenizationError: too many tracks or bars.
        """
        if self.config.fold_sustain:
            score = fold_sustain(score)
        v = self.vocab
        tpb = score.ticks_per_beat
        order = self._track_order(score, track_order)
        ids = [v.bos_id, v.style_id(style)]
        for slot, index in enumerate(order):
            track = score.tracks[index]
            ids.append(v.id_of(_T.TRACK, slot))
            if track.is_drum:
                ids.append(v.drums_id)
            ids.append(v.id_of(_T.PROGRAM, track.program))

        ts_changes = _last_per_step((self.grid_step(ts.time_ticks, tpb), self._meter(ts.numerator, ts.denominator))
                                    for ts in score.time_signatures)
        tempo_changes = _last_per_step((self.grid_step(t.time_ticks, tpb), self._tempo_index(t.microseconds_per_beat))
                                       for t in score.tempos)
        # Every note as one row of int64 arrays (onset step, slot, pitch, duration bin, velocity bin).
        counts = [len(score.tracks[index].notes) for index in order]
        n_notes = sum(counts)
        flat = np.fromiter(chain.from_iterable(chain.from_iterable(score.tracks[index].notes for index in order)),
                           dtype=np.int64, count=4 * n_notes).reshape(n_notes, 4)
        two_spb = 2 * self.config.steps_per_beat
        onset = (flat[:, 0] * two_spb + tpb) // (2 * tpb)  # _step, vectorized
        steps = np.clip((flat[:, 1] * two_spb + tpb) // (2 * tpb), 1, len(self._duration_bin) - 1)
        duration = self._duration_bin_array[steps]
        velocity = self._velocity_bin_array[flat[:, 3]]
        pitch = flat[:, 2]
        slot = np.repeat(np.arange(len(order), dtype=np.int64), counts)
        change_steps = [s for s, _ in ts_changes] + [s for s, _ in tempo_changes]
        last = max(change_steps + [self.grid_step(score.end_of_track_ticks, tpb) - 1, int(onset.max()) if n_notes else -1])
        if last < 0:  # nothing in time: no bars
            ids.append(v.eos_id)
            return ids

        bars = self._bars(ts_changes, last)
        starts = [b[0] for b in bars]
        per_bar_tempo: dict[int, list[tuple[int, int]]] = {}
        for s, t in tempo_changes:
            b = bisect.bisect_right(starts, s) - 1
            per_bar_tempo.setdefault(b, []).append((s - starts[b], t))
        # One sort puts notes in stream order: bar, track slot, position, pitch, duration, velocity.
        starts_a = np.asarray(starts, dtype=np.int64)
        bar = np.searchsorted(starts_a, onset, side="right") - 1
        o = np.lexsort((velocity, duration, pitch, onset, slot, bar))
        bar, slot, onset, pitch, duration, velocity = bar[o], slot[o], onset[o], pitch[o], duration[o], velocity[o]
        # Each note writes [Track] [Position] Pitch Velocity Duration: Track when the bar or slot changes,
        # Position when the onset changes too.
        new_slot = np.ones(n_notes, dtype=bool)
        new_slot[1:] = (bar[1:] != bar[:-1]) | (slot[1:] != slot[:-1])
        new_pos = new_slot.copy()
        new_pos[1:] |= onset[1:] != onset[:-1]
        table = np.stack([v.offsets[_T.TRACK] + slot, v.offsets[_T.POSITION] + onset - starts_a[bar],
                          v.offsets[_T.PITCH] + pitch, v.offsets[_T.VELOCITY] + velocity,
                          v.offsets[_T.DURATION] + duration], axis=1)
        keep = np.ones((n_notes, 5), dtype=bool)
        keep[:, 0], keep[:, 1] = new_slot, new_pos
        note_ids = table[keep].tolist()
        # Where each bar's notes start in note_ids.
        tokens_before = np.concatenate([[0], np.cumsum(3 + new_slot + new_pos)])
        bounds = tokens_before[np.searchsorted(bar, np.arange(len(bars) + 1), side="left")].tolist()

        pos_off, tempo_off, bar_id = v.offsets[_T.POSITION], v.offsets[_T.TEMPO], v.bar_id
        for b, (start, length, ts_at_start, cut_ts) in enumerate(bars):
            ids.append(bar_id)
            if ts_at_start is not None:
                ids += self._meter_ids(ts_at_start)
            for position, t in per_bar_tempo.get(b, ()):
                ids += (pos_off + position, tempo_off + t)
            if cut_ts is not None:
                ids += (pos_off + length, *self._meter_ids(cut_ts))
            ids += note_ids[bounds[b]:bounds[b + 1]]
        ids.append(v.eos_id)
        return ids

    def bar_starts_steps(self, score: Score, cover_sounding: bool = False) -> list[int]:
        """Grid step at which each ``Bar`` of ``encode(score)`` starts, plus one entry for the bar after the last.

        Long bars count once per chunk, as they are encoded.  ``[0]`` for a score with nothing in time.
        With ``cover_sounding``, bars go on until the last note has stopped sounding
        (``encode`` stops at the bar of the last onset).
        """
        tpb = score.ticks_per_beat
        ts_changes = _last_per_step((self.grid_step(ts.time_ticks, tpb), self._meter(ts.numerator, ts.denominator))
                                    for ts in score.time_signatures)
        steps = [self.grid_step(n.onset_ticks, tpb) for t in score.tracks for n in t.notes]
        steps += [s for s, _ in ts_changes] + [self.grid_step(t.time_ticks, tpb) for t in score.tempos]
        steps.append(self.grid_step(score.end_of_track_ticks, tpb) - 1)  # trailing empty bars are part of the piece
        last = max(steps, default=-1)
        if last < 0:
            return [0]
        if cover_sounding:
            last = max(last, self.grid_step(score.end_ticks, tpb) - 1)
        bars = self._bars(ts_changes, last)
        return [b[0] for b in bars] + [bars[-1][0] + bars[-1][1]]

    def _track_order(self, score: Score, track_order: Sequence[int] | None) -> list[int]:
        n = len(score.tracks)
        first = list(track_order or [])
        for index in first:
            if not 0 <= index < n:
                raise TokenizationError(f"track_order names track {index}, but the score has {n} tracks")
        if len(set(first)) != len(first):
            raise TokenizationError(f"track_order {first} names a track twice")
        order = first + [i for i in range(n) if i not in set(first)]
        if n > self.config.max_tracks:
            raise TokenizationError(
                f"the score has {n} tracks, over this tokenizer's max_tracks={self.config.max_tracks}; "
                "merge tracks or use a tokenizer config with more track slots"
            )
        return order

    def _bars(self, ts_changes: list[tuple[int, tuple[int, int]]], last_step: int) -> list[tuple]:
        """Bar segmentation into chunks: (start step, length in steps, meter starting here or None,
        meter of a mid-chunk change that ends the chunk, or None)."""
        chunks = []
        limit = self.vocab.max_bar_steps
        bar_len = self._default_bar_steps
        remaining = bar_len  # steps left in the current bar
        k, start, declared = 0, 0, False
        while start <= last_step:
            at_start = None
            while k < len(ts_changes) and ts_changes[k][0] <= start:
                meter = ts_changes[k][1]
                bar_len = remaining = self.vocab.meter_steps(*meter)
                at_start = None if declared else meter
                k += 1
            declared = False
            length = min(limit, remaining)
            cut = None
            if k < len(ts_changes) and ts_changes[k][0] < start + length:
                length = ts_changes[k][0] - start
                cut = ts_changes[k][1]
                declared = True
            chunks.append((start, length, at_start, cut))
            if len(chunks) > self.config.max_bars:
                raise TokenizationError(
                    f"the score spans more than max_bars={self.config.max_bars} bars (last event at beat "
                    f"{last_step / self.config.steps_per_beat:.0f}); it is probably a corrupt file with huge "
                    "delta times, or raise max_bars in the tokenizer config"
                )
            start += length
            remaining -= length
            if remaining <= 0:
                remaining = bar_len
        return chunks

    # ----------------------------------------------------------------- decode
    def decode(self, ids: Iterable[int]) -> Score:
        """Decode token ids into a score at ``decode_ticks_per_beat``.

        Total: every sequence of valid ids decodes; tokens that do not fit where
        they stand (a pitch without a position, a note missing its duration...)
        are skipped.  Decoding stops at the first EOS.

        Raises:
            TokenizationError: an id outside ``range(vocab_size)``.
        """
        v = self.vocab
        types, values, size = v.types, v.values, len(v)
        tps = self._ticks_per_step
        score = Score(ticks_per_beat=self.config.decode_ticks_per_beat)
        tracks: dict[int, Track] = {}
        ts_map: dict[int, tuple[int, int]] = {}
        tempo_map: dict[int, int] = {}
        in_header, header_slot, drums = True, None, False
        limit = v.max_bar_steps
        bar_len = remaining = chunk = self._default_bar_steps  # real bar, left of it, this chunk
        bar_start, cut_len, cut_meter, numerator = -1, None, None, None
        section, pos, pitch, vel, at_bar_start = None, None, None, None, False
        for k, token in enumerate(ids):
            token = int(token)
            if not 0 <= token < size:
                raise TokenizationError(f"token id {token} at index {k} is outside the vocabulary (0..{size - 1})")
            t, val = types[token], values[token]
            if t == _T.EOS:
                break
            if t == _T.BAR:
                in_header = False
                if bar_start < 0:
                    bar_start = 0
                elif cut_meter is not None:
                    bar_start += cut_len
                    bar_len = remaining = v.meter_steps(*cut_meter)
                    ts_map[bar_start] = cut_meter
                else:
                    bar_start += chunk
                    remaining -= chunk
                    if remaining <= 0:
                        remaining = bar_len
                chunk = min(limit, remaining)
                cut_len = cut_meter = numerator = None
                section, pos, pitch, vel, at_bar_start = "global", None, None, None, True
            elif t == _T.TIMESIG:
                numerator = val + 1 if section == "global" and (at_bar_start or pos) else None
            elif t == _T.DENOM:
                if numerator is None:
                    continue
                meter, numerator = (numerator, v.denominators[val]), None
                steps = v.meter_steps(*meter)
                if steps is None:
                    continue
                if at_bar_start:
                    bar_len = remaining = steps
                    chunk = min(limit, remaining)
                    ts_map[bar_start] = meter
                    at_bar_start = False
                else:
                    cut_len, cut_meter = pos, meter
            elif t == _T.POSITION:
                if section is not None:
                    pos, pitch, vel, at_bar_start, numerator = val, None, None, False, None
            elif t == _T.TEMPO:
                if section == "global" and pos is not None:
                    tempo_map[bar_start + pos] = self._tempo_microseconds(val)
            elif t == _T.TRACK:
                if in_header:
                    header_slot, drums = val, False
                elif bar_start >= 0:
                    section, pos, pitch, vel, at_bar_start = val, None, None, None, False
            elif t == _T.DRUMS:
                drums = in_header and header_slot is not None
            elif t == _T.PROGRAM:
                if in_header and header_slot is not None:
                    tracks[header_slot] = Track(program=val, is_drum=drums)
                    header_slot, drums = None, False
            elif t == _T.PITCH:
                if isinstance(section, int) and pos is not None:
                    pitch, vel = val, None
            elif t == _T.VELOCITY:
                if pitch is not None:
                    vel = val
            elif t == _T.DURATION:
                if pitch is not None and vel is not None:
                    track = tracks.get(section)
                    if track is None:
                        track = tracks[section] = Track()
                    track.notes.append(Note((bar_start + pos) * tps, v.duration_steps[val] * tps, pitch,
                                            v.velocity_values[vel]))
                    pitch = vel = None
        score.tracks = [tracks[slot] for slot in sorted(tracks)]
        score.time_signatures = [TimeSignature(s * tps, n, d) for s, (n, d) in sorted(ts_map.items())]
        score.tempos = [TempoChange(s * tps, us) for s, us in sorted(tempo_map.items())]
        # The piece lasts to the end of its last bar when that comes after its last event (a trailing rest).
        return score.sort().set_end((bar_start + chunk) * tps if bar_start >= 0 else 0)

    def decode_style(self, ids: Iterable[int]) -> str | None:
        """The style named by the first style token of ``ids`` (``None`` for none or no token)."""
        offset, count = self.vocab.offsets[_T.STYLE], len(self.vocab.styles)
        for token in ids:
            if offset <= int(token) < offset + count:
                name = self.vocab.styles[int(token) - offset]
                return None if name == NO_STYLE else name
        return None

    def check_style(self, style: str | None) -> None:
        """Raise :class:`StyleError` unless ``style`` is known (``None`` always is)."""
        if style is not None and style not in self.config.styles:
            raise StyleError(f"unknown style {style!r}; known styles: {', '.join(self.config.styles)}")

    # --------------------------------------------------------------- projection
    def quantize(self, score: Score, track_order: Sequence[int] | None = None) -> Score:
        """The grid projection of ``score``: what an exact round trip must return.

        Onsets go to the nearest step, durations and velocities to their nearest
        bins, tempos to the nearest tempo bin (in log space; v2: the nearest integer
        qpm), simultaneous map changes keep the last one; key signatures, track names,
        control changes and pitch bends are not part of the tokenization and are
        dropped (with ``fold_sustain``, the pedal first lengthens the notes it holds).
        The piece lasts to the end of its last bar when that comes after its last
        event.  Tracks follow ``track_order``.
        """
        if self.config.fold_sustain:
            score = fold_sustain(score)
        v = self.vocab
        tpb, tps = score.ticks_per_beat, self._ticks_per_step
        order = self._track_order(score, track_order) if len(score.tracks) <= self.config.max_tracks else \
            list(range(len(score.tracks)))
        out = Score(ticks_per_beat=self.config.decode_ticks_per_beat)
        for index in order:
            track = score.tracks[index]
            notes = [
                Note(self.grid_step(n.onset_ticks, tpb) * tps,
                     v.duration_steps[self._duration_index(n.duration_ticks, tpb)] * tps,
                     n.pitch, v.velocity_values[self._velocity_bin[n.velocity]])
                for n in track.notes
            ]
            out.tracks.append(Track(program=track.program, is_drum=track.is_drum, notes=notes))
        tempos = {self.grid_step(t.time_ticks, tpb): self._tempo_microseconds(self._tempo_index(t.microseconds_per_beat))
                  for t in score.tempos}
        out.tempos = [TempoChange(s * tps, us) for s, us in sorted(tempos.items())]
        meters = {self.grid_step(ts.time_ticks, tpb): (ts.numerator, ts.denominator) for ts in score.time_signatures}
        out.time_signatures = [TimeSignature(s * tps, n, d) for s, (n, d) in sorted(meters.items())]
        out.sort()
        if len(score.tracks) > self.config.max_tracks:
            return out
        try:
            starts = self.bar_starts_steps(score)
        except TokenizationError:  # too long to encode: no bars to end on
            return out
        return out.set_end(starts[-1] * tps if len(starts) > 1 else 0)

    # ----------------------------------------------------------------- helpers
    def token_names(self, ids: Iterable[int]) -> list[str]:
        """Readable names of ``ids`` (for debugging and display)."""
        names = self.vocab.names
        return [names[int(i)] for i in ids]


def _nearest(values: list[int], x: float) -> int:
    return min(range(len(values)), key=lambda i: (abs(values[i] - x), i))


def _last_per_step(changes: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort (step, value) pairs by step; of simultaneous changes keep the last in input order."""
    merged: dict[int, int] = {}
    for step, value in changes:
        merged[step] = value
    return sorted(merged.items())

