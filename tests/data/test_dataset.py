"""Training windows: every window of a long multi-track piece can start the piece (issue 16 item 1)."""

from __future__ import annotations

import bisect

import numpy as np

from symbolic.data.dataset import TokenDataset, load_split, piece_restarts
from symbolic.tokenization.events import EventTokenizer
from symbolic.tokenization.grammar import GrammarState
from symbolic.tokenization.vocab import TokenType


def _pieces(data_dir, split="train"):
    arrays = load_split(data_dir, split)
    offsets = arrays["offsets"]
    return [arrays["tokens"][offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


def test_every_window_opens_with_style_and_the_track_header(multitrack_dataset):
    for split in ("train", "valid"):
        ds = TokenDataset(multitrack_dataset, split, context_length=160, overlap=40)
        vocab = ds.tokenizer.vocab
        pieces = _pieces(multitrack_dataset, split)
        assert len(ds) > 3 * len(pieces)  # the pieces are several windows long
        for index in range(len(ds)):
            piece = ds.windows[index][0]
            ids = ds[index]["input_ids"].numpy()
            header = pieces[piece][:piece_restarts(pieces[piece], vocab)[0]]
            assert len(ids) <= 160
            assert np.array_equal(ids[:len(header)], header), ds.tokenizer.token_names(ids[:12])
            assert vocab.types[int(ids[len(header)])] == TokenType.BAR
            GrammarState(vocab).advance_all(ids.tolist())  # grammatical from the first token
        # The drum flag of the pop songs' header is in every pop window.
        pop = vocab.styles.index("pop")
        assert all(vocab.drums_id in ds[i]["input_ids"].tolist() for i in range(len(ds)) if ds[i]["style_id"] == pop)


def test_windows_cover_every_token(multitrack_dataset):
    ds = TokenDataset(multitrack_dataset, "train", context_length=100, overlap=25)
    covered = np.zeros(len(ds.tokens), dtype=bool)
    for _, _, start, end in ds.windows:
        covered[start:end] = True
    assert covered.all()


def test_a_restart_decodes_as_the_piece_does_from_that_bar(multitrack_dataset):
    """Header, bar, meter and tempo in force: the rest of the piece decodes to the same notes, meter and tempo."""
    tokenizer = EventTokenizer.from_spec(multitrack_dataset / "tokenizer.json")
    vocab = tokenizer.vocab
    checked_meter = False
    for ids in _pieces(multitrack_dataset):
        full = tokenizer.decode(ids)
        header_length, restarts = piece_restarts(ids, vocab)
        bar_tokens = np.flatnonzero(ids == vocab.bar_id).tolist()
        starts = tokenizer.bar_starts_steps(full)
        ticks_per_step = tokenizer.config.decode_ticks_per_beat // tokenizer.config.steps_per_beat
        for index, reopen, body, at_bar in restarts[1:]:
            bar = bisect.bisect_right(bar_tokens, index) - 1
            tick, next_tick = starts[bar] * ticks_per_step, starts[bar + 1] * ticks_per_step
            first_slot = 0 if at_bar else vocab.values[int(ids[index])]
            part = tokenizer.decode(np.concatenate([ids[:header_length], reopen, ids[body:]]).tolist())
            assert [(t.program, t.is_drum) for t in part.tracks] == [(t.program, t.is_drum) for t in full.tracks]
            for slot, (a, b) in enumerate(zip(full.tracks, part.tracks)):
                from_tick = tick if slot >= first_slot else next_tick  # a track restart leaves out earlier tracks
                expected = sorted((n.onset_ticks - tick, n.duration_ticks, n.pitch, n.velocity) for n in a.notes
                                  if n.onset_ticks >= from_tick)
                assert sorted(b.notes) == expected
            meter = [ts for ts in full.time_signatures if ts.time_ticks <= tick]
            if meter and (meter[-1].numerator, meter[-1].denominator) != (4, 4):
                assert (part.time_signatures[0].numerator, part.time_signatures[0].denominator) == \
                    (meter[-1].numerator, meter[-1].denominator)
                checked_meter = True
            tempo = [t for t in full.tempos if t.time_ticks <= tick]
            assert part.tempos[0].microseconds_per_beat == tempo[-1].microseconds_per_beat
    assert checked_meter


def test_restarts_skip_continuation_chunks_of_long_bars(tokenizer):
    from symbolic.score import Note, Score, TimeSignature, Track

    tpb = 480
    score = Score(ticks_per_beat=tpb, time_signatures=[TimeSignature(0, 16, 2)],  # 32 beats: 3 chunks a bar
                  tracks=[Track(notes=[Note(b * tpb, tpb, 60, 80) for b in range(64)])])
    ids = np.asarray(tokenizer.encode(score))
    _, restarts = piece_restarts(ids, tokenizer.vocab)
    assert int((ids == tokenizer.vocab.bar_id).sum()) == 6
    assert sum(at_bar for *_, at_bar in restarts) == 2  # two real bars, one track: no track restarts
