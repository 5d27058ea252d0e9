"""The grammar of event sequences, as a state machine for constrained sampling.

:data:`TYPE_GRAMMAR` says which token types may follow in each phase of a
sequence.  :class:`GrammarState` adds the value rules (header slots count up,
positions rise inside a section and stay inside the bar, tracks rise inside a
bar and were declared, chord pitches do not fall) and gives, at every step, the
boolean mask of allowed next ids.  Every sequence :meth:`EventTokenizer.encode`
writes is accepted, and every accepted sequence decodes with nothing skipped.

Drum tracks have their own path.  The state remembers which header slots were
declared with ``Drums``; inside a drum slot's section of a bar the mask allows
only the keys of the General MIDI percussion map (:data:`DRUM_KEYS`, 27..87 as
GM2 extends GM's 35..81), so a sampled drum note is always a drum sound, and a
note sampled inside a pitched slot's section always lands on that pitched track
(decoding files a note under the slot its section names).

Sampled meters are sane ones.  The vocabulary holds every meter MIDI can store
(numerators up to 255, denominators 1..64), so that any file encodes, but a small
model trained on a few songs can put a little mass on ``TimeSig_59`` and write a
59/4 bar.  The mask allows only :data:`SAMPLED_NUMERATORS` (1..16) over
:data:`SAMPLED_DENOMINATORS` (2, 4, 8, 16), in bars that fit one ``Bar`` token
(``max_bar_beats`` quarter notes, 12 by default: 13/4 to 16/4 are written over 8 or 16).  That set holds 6,333 of the 6,340
meter tokens of the six-style training data (music21 corpus and POP909; the other
seven: 4/1 five times, 3/1 and 116/4 once) and every meter of the real-song folders
(2/4, 3/4, 4/4, 6/4, 6/8, 8/4).

The mask is stricter than acceptance in three places only: a drum slot's keys,
a meter (the sane set above), and a header with no track yet, where the mask
allows only ``Track_0`` (a sampled piece always declares a track, so it can hold
notes).  A given sequence (a prompt encoded from a file) with drum keys outside
the map, an odd meter such as 59/4 or 3/64, or with no track, is still accepted;
after a given odd numerator the mask allows the denominators the vocabulary can
hold with it.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from symbolic.errors import TokenizationError
from symbolic.tokenization.vocab import TokenType, Vocabulary

__all__ = ["Phase", "TYPE_GRAMMAR", "GrammarState", "DRUM_KEYS", "SAMPLED_NUMERATORS", "SAMPLED_DENOMINATORS"]

T = TokenType
DRUM_KEYS = range(27, 88)  # the General MIDI (GM2) percussion map: 27 high Q .. 87 open surdo
SAMPLED_NUMERATORS = range(1, 17)  # meter numerators the mask lets a model sample
SAMPLED_DENOMINATORS = frozenset({2, 4, 8, 16})  # meter denominators the mask lets a model sample


class Phase:
    """Where in a sequence the last token put us."""

    START, AFTER_BOS, HEADER, HEADER_TRACK, HEADER_DRUMS, BAR_START, BAR_NUMERATOR, BAR_TIMESIG, GLOBAL_POSITION, \
        GLOBAL_NUMERATOR, GLOBAL_TEMPO, GLOBAL_CUT, BODY_TRACK, NOTE_POSITION, NOTE_PITCH, NOTE_VELOCITY, \
        NOTE_DURATION, END = range(18)


_BAR_END = {T.TRACK, T.BAR, T.EOS}
TYPE_GRAMMAR: dict[int, frozenset[int]] = {
    Phase.START: frozenset({T.BOS}),
    Phase.AFTER_BOS: frozenset({T.STYLE}),
    Phase.HEADER: frozenset({T.TRACK, T.BAR, T.EOS}),
    Phase.HEADER_TRACK: frozenset({T.PROGRAM, T.DRUMS}),
    Phase.HEADER_DRUMS: frozenset({T.PROGRAM}),
    Phase.BAR_START: frozenset({T.TIMESIG, T.POSITION} | _BAR_END),
    Phase.BAR_NUMERATOR: frozenset({T.DENOM}),
    Phase.BAR_TIMESIG: frozenset({T.POSITION} | _BAR_END),
    Phase.GLOBAL_POSITION: frozenset({T.TEMPO, T.TIMESIG}),
    Phase.GLOBAL_NUMERATOR: frozenset({T.DENOM}),
    Phase.GLOBAL_TEMPO: frozenset({T.POSITION} | _BAR_END),
    Phase.GLOBAL_CUT: frozenset(_BAR_END),
    Phase.BODY_TRACK: frozenset({T.POSITION}),
    Phase.NOTE_POSITION: frozenset({T.PITCH}),
    Phase.NOTE_PITCH: frozenset({T.VELOCITY}),
    Phase.NOTE_VELOCITY: frozenset({T.DURATION}),
    Phase.NOTE_DURATION: frozenset({T.PITCH, T.POSITION} | _BAR_END),
    Phase.END: frozenset({T.PAD}),
}
_GLOBAL_POSITION_PHASES = (Phase.BAR_START, Phase.BAR_TIMESIG, Phase.GLOBAL_TEMPO)


class GrammarState:
    """Incremental grammar check for one sequence.

    ``allowed()`` returns a ``(vocab_size,)`` bool array of ids that may come next;
    ``advance(id)`` consumes one id (raising :class:`TokenizationError` if it is
    not allowed).  ``copy()`` forks the state, for beams or batched sampling.
    """

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        self.phase = Phase.START
        self.n_tracks = 0
        default = 4 * vocab.config.steps_per_beat
        self.bar_len = self.remaining = self.chunk = default  # real bar, steps left of it, this chunk
        self.cut_bar_len: int | None = None  # meter of a mid-bar change, for the next Bar
        self.numerator = 0
        self.started = False  # a Bar token has been seen
        self.global_pos = -1
        self.note_pos = -1
        self.slot = -1
        self.last_pitch = -1
        self.drum_slots: frozenset[int] = frozenset()  # header slots declared with Drums
        self._drums_next = False  # the header entry being read has a Drums token
        self._type_of = vocab.types
        self._value_of = vocab.values
        self._counts = {T.STYLE: len(vocab.styles), T.TRACK: vocab.config.max_tracks, T.PROGRAM: 128,
                        T.TIMESIG: vocab.config.max_numerator, T.DENOM: len(vocab.denominators),
                        T.POSITION: vocab.max_bar_steps, T.TEMPO: len(vocab.tempo_qpm), T.PITCH: 128,
                        T.VELOCITY: len(vocab.velocity_values), T.DURATION: len(vocab.duration_steps)}

    def copy(self) -> "GrammarState":
        """An independent copy of this state."""
        new = GrammarState.__new__(GrammarState)
        new.__dict__.update(self.__dict__)
        return new

    # ------------------------------------------------------------------ ranges
    def _allowed_values(self, token_type: int) -> range | list[int]:
        """Allowed values of ``token_type`` in the current phase."""
        p = self.phase
        count = self._counts.get(token_type, 1)
        if token_type == T.TRACK:
            if p == Phase.HEADER:
                return range(self.n_tracks, min(self.n_tracks + 1, count))
            return range(self.slot + 1, self.n_tracks)
        if token_type == T.POSITION:
            if p in _GLOBAL_POSITION_PHASES:
                return range(self.global_pos + 1, self.chunk)
            return range(self.note_pos + 1, self.chunk)
        if token_type == T.TIMESIG and p == Phase.GLOBAL_POSITION and self.global_pos == 0:
            return range(0)  # a meter at position 0 belongs right after the Bar token
        if token_type == T.DENOM:
            v = self.vocab
            return [i for i, d in enumerate(v.denominators) if v.meter_steps(self.numerator, d)]
        if token_type == T.PITCH and p == Phase.NOTE_DURATION:
            return range(max(self.last_pitch, 0), count)
        return range(count)

    @property
    def in_drum_slot(self) -> bool:
        """Whether the bar section being written belongs to a slot declared with ``Drums``."""
        return self.phase in (Phase.BODY_TRACK, Phase.NOTE_POSITION, Phase.NOTE_PITCH, Phase.NOTE_VELOCITY,
                              Phase.NOTE_DURATION) and self.slot in self.drum_slots

    def allowed(self) -> np.ndarray:
        """Bool mask ``(vocab_size,)`` of the ids that may come next (inside a drum slot, pitches are
        limited to :data:`DRUM_KEYS`; meters to :data:`SAMPLED_NUMERATORS` over
        :data:`SAMPLED_DENOMINATORS`; a header declares at least one track; the pitches of a chord
        rise strictly, where :meth:`accepts` lets a real file's doubled note through)."""
        mask = np.zeros(len(self.vocab), dtype=bool)
        if self.phase == Phase.HEADER and self.n_tracks == 0:
            mask[self.vocab.id_of(T.TRACK, 0)] = True
            return mask
        for token_type in TYPE_GRAMMAR[self.phase]:
            values = self._allowed_values(token_type)
            if token_type == T.PITCH and self.phase == Phase.NOTE_DURATION:
                # a sampled chord's pitches rise: the same pitch twice at one onset is one key struck twice
                values = range(self.last_pitch + 1, values.stop)
            if token_type == T.PITCH and self.in_drum_slot:
                values = range(max(values.start, DRUM_KEYS.start), min(values.stop, DRUM_KEYS.stop))
            elif token_type == T.TIMESIG:  # value v is numerator v + 1
                values = range(values.start, min(values.stop, SAMPLED_NUMERATORS.stop - 1))
            elif token_type == T.DENOM:  # after a given odd numerator, whatever the vocabulary holds
                # a sampled bar fits one Bar token (15/4 would be two chunks, and bars are counted by Bar tokens)
                values = [i for i in values if self.vocab.denominators[i] in SAMPLED_DENOMINATORS
                          and self.vocab.meter_steps(self.numerator, self.vocab.denominators[i])
                          <= self.vocab.max_bar_steps] or values
            offset = self.vocab.offsets[token_type]
            if isinstance(values, range):
                mask[offset + values.start: offset + max(values.start, values.stop)] = True
            else:
                mask[[offset + x for x in values]] = True
        return mask

    def accepts(self, token: int) -> bool:
        """Whether ``token`` may come next."""
        token_type = self._type_of[token]
        if token_type not in TYPE_GRAMMAR[self.phase]:
            return False
        return self._value_of[token] in self._allowed_values(token_type)

    # ----------------------------------------------------------------- advance
    def advance(self, token: int) -> None:
        """Consume ``token``; raises :class:`TokenizationError` if it breaks the grammar."""
        token = int(token)
        if not 0 <= token < len(self.vocab) or not self.accepts(token):
            name = self.vocab.names[token] if 0 <= token < len(self.vocab) else str(token)
            raise TokenizationError(f"token {name} is not allowed after phase {self.phase}")
        t, val, p = self._type_of[token], self._value_of[token], self.phase
        v = self.vocab
        if t == T.BOS:
            self.phase = Phase.AFTER_BOS
        elif t == T.STYLE:
            self.phase = Phase.HEADER
        elif t == T.TRACK and p == Phase.HEADER:
            self.phase = Phase.HEADER_TRACK
        elif t == T.DRUMS:
            self._drums_next = True
            self.phase = Phase.HEADER_DRUMS
        elif t == T.PROGRAM:
            if self._drums_next:
                self.drum_slots = self.drum_slots | {self.n_tracks}
                self._drums_next = False
            self.n_tracks += 1
            self.phase = Phase.HEADER
        elif t == T.BAR:
            if self.started:  # the previous chunk ends here
                if self.cut_bar_len is not None:
                    self.bar_len = self.remaining = self.cut_bar_len
                    self.cut_bar_len = None
                else:
                    self.remaining -= self.chunk
                    if self.remaining <= 0:
                        self.remaining = self.bar_len
            self.started = True
            self.chunk = min(v.max_bar_steps, self.remaining)
            self.global_pos = self.note_pos = self.slot = self.last_pitch = -1
            self.phase = Phase.BAR_START
        elif t == T.TIMESIG:
            self.numerator = val + 1
            self.phase = Phase.BAR_NUMERATOR if p == Phase.BAR_START else Phase.GLOBAL_NUMERATOR
        elif t == T.DENOM:
            steps = v.meter_steps(self.numerator, v.denominators[val])
            if p == Phase.BAR_NUMERATOR:
                self.bar_len = self.remaining = steps
                self.chunk = min(v.max_bar_steps, steps)
                self.phase = Phase.BAR_TIMESIG
            else:  # a cut: this bar ends at the position, the next bar takes the meter
                self.cut_bar_len = steps
                self.chunk = self.global_pos
                self.phase = Phase.GLOBAL_CUT
        elif t == T.POSITION:
            if p in _GLOBAL_POSITION_PHASES:
                self.global_pos = val
                self.phase = Phase.GLOBAL_POSITION
            else:
                self.note_pos = val
                self.last_pitch = -1
                self.phase = Phase.NOTE_POSITION
        elif t == T.TEMPO:
            self.phase = Phase.GLOBAL_TEMPO
        elif t == T.TRACK:
            self.slot = val
            self.note_pos = -1
            self.phase = Phase.BODY_TRACK
        elif t == T.PITCH:
            self.last_pitch = val
            self.phase = Phase.NOTE_PITCH
        elif t == T.VELOCITY:
            self.phase = Phase.NOTE_VELOCITY
        elif t == T.DURATION:
            self.phase = Phase.NOTE_DURATION
        elif t in (T.EOS, T.PAD):
            self.phase = Phase.END

    def advance_all(self, tokens: Iterable[int]) -> "GrammarState":
        """Consume every token of ``tokens``; returns ``self``."""
        for token in tokens:
            self.advance(token)
        return self
