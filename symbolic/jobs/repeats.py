"""Repeated passages: where the melody repeats an earlier passage, the new parts play what they played there.

A pop arranger plays a chorus's accompaniment again when the chorus comes back.  POP909's pianos do:
over the 668 training songs, 48.7% of the bars with melody repeat an earlier bar's melody (the rule below),
and the real piano of such a bar shares a median 100% (mean 74%) of its ``(onset step, pitch)`` pairs with
the piano of the bar it repeats, against a mean 12% for random pairs of bars (``benchmarks/pop_texture.py``,
``docs/results/pop-texture.md``).  A model sampling every bar afresh does not: over a whole song its piano
drifts away from the pattern it opened with and thins (``docs/results/pop-accompaniment.md``).  So for a
style whose texture says so (:attr:`StyleTexture.repeat_parts
<symbolic.styles.texture.StyleTexture.repeat_parts>`), each bar that repeats an earlier one takes the new
parts' tokens of that bar: fed to the model instead of sampled where the segment decoding it kept the earlier
bar (:func:`symbolic.jobs.plan.generate_planned`), copied after decoding otherwise (:func:`copy_repeats`).

The rule (:func:`repeat_sources`): bar ``b`` repeats bar ``a < b`` when both are whole bars of the same
length (and, when chords are given, the same chords at the same steps), the given pitched parts play in
both, their ``(onset step in the bar, MIDI pitch)`` sets share at least :data:`REPEAT_OVERLAP` of their
union (Jaccard), and so does a neighbouring pair of bars (``a - 1, b - 1`` or ``a + 1, b + 1``): a passage
of two bars or more, not a lone held note.  The earliest such ``a`` is taken, and bars are copied in order,
so a third chorus plays what the first did.
"""

from __future__ import annotations

from typing import Hashable, Sequence

from symbolic.score import Note
from symbolic.tokenization.stream import split_bars
from symbolic.tokenization.vocab import TokenType

__all__ = ["REPEAT_OVERLAP", "bar_overlap", "repeat_sources", "plan_repeat_sources", "copy_repeats",
           "cut_restrikes", "describe_repeats"]

REPEAT_OVERLAP = 0.8  # Jaccard of two bars' (onset, pitch) sets for one to repeat the other


def bar_overlap(a: frozenset, b: frozenset) -> float:
    """Jaccard index of two bars' note sets: ``|a & b| / |a | b|``, 0.0 when both are empty."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def repeat_sources(bars: Sequence[frozenset], kinds: Sequence[Hashable | None],
                   min_overlap: float = REPEAT_OVERLAP) -> dict[int, int]:
    """For each bar that repeats an earlier one, the earliest bar it repeats (the module's rule).

    Args:
        bars: per bar, the melody's notes (all given pitched parts) as ``(onset step in the bar, MIDI pitch)``
            pairs; an empty set never repeats nor is repeated.
        kinds: per bar, what must be equal for two bars to repeat each other (the bar's length, its chords);
            ``None``: the bar takes no part (a later chunk of a long bar, a bar cut by a meter change).
        min_overlap: the least Jaccard index of two repeating bars' sets, in (0, 1].

    Returns:
        ``{bar: earlier bar}``, bars counted from 0; empty for no bars.

    Raises:
        ValueError: ``bars`` and ``kinds`` differ in length, or ``min_overlap`` outside (0, 1].
    """
    if len(bars) != len(kinds):
        raise ValueError(f"{len(bars)} bars but {len(kinds)} kinds")
    if not 0 < min_overlap <= 1:
        raise ValueError(f"min_overlap={min_overlap} must be in (0, 1]")
    n = len(bars)

    def match(a: int, b: int) -> bool:
        return (0 <= a < n and 0 <= b < n and a != b and kinds[a] is not None and kinds[a] == kinds[b]
                and bool(bars[a]) and bool(bars[b]) and bar_overlap(bars[a], bars[b]) >= min_overlap)

    sources: dict[int, int] = {}
    for b in range(n):
        for a in range(b):
            if match(a, b) and (match(a - 1, b - 1) or match(a + 1, b + 1)):
                sources[b] = a
                break
    return sources


def plan_repeat_sources(vocab, plan, chords=None, min_overlap: float = REPEAT_OVERLAP) -> dict[int, int]:
    """:func:`repeat_sources` of a :class:`~symbolic.jobs.plan.Plan`'s bars, read from its given parts.

    Args:
        vocab: the tokenizer's vocabulary.
        plan: the plan; its given parts that are not drum parts are the melody compared.
        chords: given chords as ``(start_step, end_step, pitch classes, bass)`` spans on the plan's time line
            (:func:`symbolic.jobs.arrange.given_chord_steps`): two repeating bars must then also have the same
            chords at the same steps; ``None``: no chords given.
        min_overlap: as in :func:`repeat_sources`.

    Returns:
        ``{plan bar: earlier plan bar}``.
    """
    from bisect import bisect_right

    from symbolic.jobs.plan import _bar_states, _drum_slots, _starts_a_bar
    from symbolic.jobs.rules import GivenTimeline

    timeline = GivenTimeline.of_plan(vocab, plan)
    drums = _drum_slots(vocab, plan.header)
    starts = list(timeline.bar_starts) + [timeline.end]
    notes: list[set] = [set() for _ in plan.bars]
    for slot, spans in timeline.notes.items():
        if slot not in drums:
            for n in spans:
                b = bisect_right(timeline.bar_starts, n.start) - 1
                if b >= 0:
                    notes[b].add((n.start - starts[b], n.pitch))
    bars = [frozenset(found) for found in notes]
    whole = [_starts_a_bar(vocab, state, bar.opening) for state, bar in zip(_bar_states(vocab, plan), plan.bars)]
    kinds = []
    for b in range(len(plan.bars)):
        lo, hi = starts[b], starts[b + 1]
        if not whole[b] or (b + 1 < len(plan.bars) and not whole[b + 1]):
            kinds.append(None)  # a long bar's chunks, a mid-bar meter change: not compared
            continue
        heard = tuple((max(s, lo) - lo, min(e, hi) - lo, pcs and tuple(sorted(pcs)), bass)
                      for s, e, pcs, bass in (chords or ()) if s < hi and e > lo)
        kinds.append((hi - lo, heard))
    return repeat_sources(bars, kinds, min_overlap)


def copy_repeats(vocab, ids: Sequence[int], sources: dict[int, int], slots: Sequence[int]) -> list[int]:
    """``ids`` with the parts of ``slots`` in each bar ``b`` of ``sources`` replaced by those of bar
    ``sources[b]`` (bars in order, so a copy of a copy is the first bar's).  A part a bar did not play is
    left out in the copy too.  Positions count from each bar line, so the notes land at the same place in
    the bar.

    Args:
        vocab: the vocabulary.
        ids: an encoded sequence (header, bars, optional EOS).
        sources: ``{bar: earlier bar}`` (:func:`plan_repeat_sources`).
        slots: the track slots copied (the new parts).

    Returns:
        The new ids (a copy; ``ids`` is unchanged).
    """
    if not sources:
        return list(ids)
    header, bars = split_bars(vocab, ids)
    copied = set(slots)
    for b in sorted(sources):
        source = bars[sources[b]][1]
        parts = {s: tokens for s, tokens in bars[b][1].items() if s not in copied}
        parts.update({s: list(tokens) for s, tokens in source.items() if s in copied})
        bars[b] = (bars[b][0], dict(sorted(parts.items())))
    out = list(header)
    for opening, parts in bars:
        out += opening
        for tokens in parts.values():
            out += tokens
    if ids and vocab.types[ids[-1]] == TokenType.EOS:
        out.append(ids[-1])
    return out


def cut_restrikes(notes: Sequence[Note]) -> list[Note]:
    """``notes`` (one part) with each note cut where the part strikes its pitch again while it sounds.

    A copied bar can strike a pitch the bar before it still holds, or hold one into a sampled bar that
    strikes it (the sampling rule :class:`~symbolic.jobs.rules.NoRestrike` saw neither): one key struck
    twice on one channel, which MIDI readers pair differently.  Notes in onset order; a note struck twice
    at one onset keeps the longer.  Empty in, empty out.
    """
    out: list[Note] = []
    last: dict[int, int] = {}  # pitch -> index in out of its latest note
    for note in sorted(notes, key=lambda n: (n.onset_ticks, n.pitch, -n.duration_ticks)):
        k = last.get(note.pitch)
        if k is not None:
            held = out[k]
            if held.onset_ticks == note.onset_ticks:
                continue  # the same key at the same time: one note, the longer (sorted first)
            if held.onset_ticks + held.duration_ticks > note.onset_ticks:
                out[k] = held._replace(duration_ticks=note.onset_ticks - held.onset_ticks)
        last[note.pitch] = len(out)
        out.append(note)
    return out


DESCRIBED_RUNS = 8  # a decision line names this many runs of copied bars, then counts the others


def describe_repeats(sources: dict[int, int], first_bar: int = 1, max_runs: int = DESCRIBED_RUNS) -> str:
    """The copied bars as runs, e.g. ``"bars 17-24 from 1-8, 33-40 from 1-8"`` (bars counted from ``first_bar``);
    past ``max_runs`` runs, ``"... and 12 more runs"`` (a song with short repeats scattered over it made a
    1,435-character line)."""
    runs: list[list[int]] = []
    for b in sorted(sources):
        if runs and b == runs[-1][1] + 1 and sources[b] == sources[runs[-1][1]] + 1:
            runs[-1][1] = b
        else:
            runs.append([b, b])
    def span(lo: int, hi: int) -> str:
        return f"{lo + first_bar}" if lo == hi else f"{lo + first_bar}-{hi + first_bar}"
    text = ", ".join(f"{span(lo, hi)} from {span(sources[lo], sources[hi])}" for lo, hi in runs[:max_runs])
    more = len(runs) - max_runs
    return text + (f" and {more} more run{'s' if more > 1 else ''}" if more > 0 else "")
