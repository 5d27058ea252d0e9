"""PyTorch access to a built data set: windows of token ids with their style.

``torch`` is imported here only, so ``import symbolic`` stays light.
"""

from __future__ import annotations

import bisect
import json
import os
from pathlib import Path

import numpy as np

from symbolic.errors import ConfigError, DataError
from symbolic.tokenization.events import EventTokenizer
from symbolic.tokenization.vocab import TokenType

__all__ = ["TokenDataset", "collate_tokens", "load_split", "piece_restarts"]


def load_split(data_dir: str | os.PathLike[str], split: str) -> dict[str, np.ndarray]:
    """The arrays of one split: ``tokens`` (int32), ``offsets`` (int64), ``styles`` (int64), ``ids`` (str)."""
    data_dir = Path(data_dir)
    if split not in ("train", "valid", "test"):
        raise ConfigError(f"split {split!r} is not one of train, valid, test")
    path = data_dir / f"{split}.npz"
    if not path.is_file():
        raise DataError(f"{path} not found; build the data set into {data_dir} first")
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in ("tokens", "offsets", "styles", "ids")}


def piece_restarts(ids: np.ndarray, vocab) -> tuple[int, list[tuple[int, tuple[int, ...], int, bool]]]:
    """Where a piece can be restarted: its header length and, for each restart point, the tokens that
    reopen the piece there.

    A sequence of :meth:`~symbolic.tokenization.events.EventTokenizer.encode` is ``BOS Style header
    Bar ...``.  A window cut at a later ``Bar`` decodes as the piece does from that point when it is
    preceded by ``BOS Style header`` and the bar re-declares the meter and tempo in force there
    (``Bar [TimeSig Denom] [Position_0 Tempo]``).  A bar too long for a window can also be reopened
    at one of its tracks: the bar's reopening and its global events (tempo and meter changes), then
    the piece from that ``Track`` token on (the bar's earlier tracks are left out of such a window).

    Args:
        ids: int array ``(N,)`` of one encoded piece.
        vocab: its :class:`~symbolic.tokenization.vocab.Vocabulary`.

    Returns:
        ``(header_length, restarts)``: ``ids[:header_length]`` is ``BOS Style (Track [Drums] Program)*``
        (the whole piece when it has no bar), and each restart, in piece order, is ``(index,
        reopen_ids, body_start, at_bar)``: the index of the ``Bar`` token that opens a real bar (not
        the continuation chunk of a long bar; ``at_bar`` true) or of a ``Track`` token after the
        first one of such a bar (``at_bar`` false), the ids that reopen the piece there, and the index
        where the piece goes on after them.  The first bar is included.
    """
    T = TokenType
    ids = np.asarray(ids)
    types = np.asarray(vocab.types, dtype=np.int64)[ids]
    bars = np.flatnonzero(types == T.BAR)
    if len(bars) == 0:
        return len(ids), []
    header = int(bars[0])
    bar_len = remaining = chunk = 4 * vocab.config.steps_per_beat  # before any meter, as MIDI assumes
    started, cut_steps, cut_meter, meter, tempo = False, None, None, None, None
    position_0 = vocab.id_of(T.POSITION, 0)
    real_bars = []
    for i in np.flatnonzero((types == T.BAR) | (types == T.TIMESIG) | (types == T.TEMPO)).tolist():
        t = types[i]
        if t == T.BAR:
            if started:
                if cut_steps is not None:
                    bar_len = remaining = cut_steps
                    meter, cut_steps = cut_meter, None
                else:
                    remaining -= chunk
                    if remaining <= 0:
                        remaining = bar_len
            started = True
            chunk = min(vocab.max_bar_steps, remaining)
            own_meter = i + 2 < len(ids) and types[i + 1] == T.TIMESIG
            if remaining != bar_len and not own_meter:
                continue  # the continuation chunk of a long bar
            body = i + 3 if own_meter else i + 1
            reopen = [int(ids[i])] + ([int(x) for x in ids[i + 1:i + 3]] if own_meter else list(meter or ()))
            has_tempo_0 = body + 1 < len(ids) and ids[body] == position_0 and types[body + 1] == T.TEMPO
            if tempo is not None and not has_tempo_0:
                reopen += [position_0, tempo]
            real_bars.append((i, reopen, body))
        elif t == T.TIMESIG and i + 1 < len(ids):
            numerator = vocab.values[int(ids[i])] + 1
            steps = vocab.meter_steps(numerator, vocab.denominators[vocab.values[int(ids[i + 1])]])
            if steps is None:
                continue
            if types[i - 1] == T.BAR:
                bar_len = remaining = steps
                chunk = min(vocab.max_bar_steps, steps)
                meter = (int(ids[i]), int(ids[i + 1]))
            else:  # a mid-bar meter: this bar ends at its position, the next one takes the meter
                cut_steps, cut_meter = steps, (int(ids[i]), int(ids[i + 1]))
                chunk = vocab.values[int(ids[i - 1])]
        elif t == T.TEMPO:
            tempo = int(ids[i])
    tracks = np.flatnonzero(types == T.TRACK)
    tracks = tracks[tracks > header]
    restarts = []
    for i, reopen, body in real_bars:
        restarts.append((i, tuple(reopen), body, True))
        next_bar = bars[np.searchsorted(bars, i, side="right")] if i < bars[-1] else len(ids)
        inside = tracks[np.searchsorted(tracks, i, side="right"):np.searchsorted(tracks, next_bar)].tolist()
        if len(inside) > 1:
            reopen_track = tuple(reopen) + tuple(int(x) for x in ids[body:inside[0]])
            restarts += [(k, reopen_track, k, False) for k in inside[1:]]
    return header, restarts


class TokenDataset:
    """Windows of at most ``context_length`` tokens over the pieces of a split, each one able to start a piece.

    A piece's first window is its first ``context_length`` tokens.  Every later
    window restarts the piece at a bar (see :func:`piece_restarts`): ``BOS Style``,
    the piece's track header (slots, programs, drum flags), the bar with the meter
    and tempo in force re-declared, then the piece's tokens from there.  So a
    window from the middle of a long song shows the model how the song's tracks
    are declared as its first window does, and every such window follows the
    token grammar from its first token.  Consecutive windows overlap by about
    ``overlap`` tokens of the piece (the restart is the last bar start that keeps
    at least that overlap).  A bar longer than a window is reopened at one of its
    tracks instead; when even that leaves no room (one track's bar longer than a
    window, or a header that fills it), the next window is a plain slice of the
    piece ``overlap`` tokens before the previous end, so every token is still a
    target.

    Item ``i`` is a dict with ``input_ids`` (int64 tensor ``(L,)``, ``L <=
    context_length``) and ``style_id`` (int, index into ``tokenizer.vocab.styles``).

    Args:
        data_dir: a folder written by :func:`symbolic.data.build.build_dataset`.
        split: ``"train"``, ``"valid"`` or ``"test"``.
        context_length: window length in tokens (>= 2).
        overlap: tokens of the piece shared by consecutive windows.
    """

    def __init__(self, data_dir: str | os.PathLike[str], split: str, context_length: int, overlap: int = 0) -> None:
        if context_length < 2 or not 0 <= overlap < context_length:
            raise ConfigError(f"context_length={context_length} must be >= 2 and overlap={overlap} in "
                              "0..context_length-1")
        self.data_dir = Path(data_dir)
        self.tokenizer = EventTokenizer.from_spec(self.data_dir / "tokenizer.json")
        arrays = load_split(self.data_dir, split)
        self.tokens, self.styles, self.ids = arrays["tokens"], arrays["styles"], arrays["ids"]
        offsets = arrays["offsets"]
        self.context_length = context_length
        self.overlap = overlap
        self.windows: list[tuple[int, np.ndarray | None, int, int]] = []  # (piece, prefix, start, end)
        for piece in range(len(offsets) - 1):
            self._cut(piece, int(offsets[piece]), int(offsets[piece + 1]))

    def _cut(self, piece: int, start: int, end: int) -> None:
        """Append the windows of one piece (token indices ``start:end`` of the split)."""
        length, overlap = self.context_length, self.overlap
        header_length, restarts = piece_restarts(self.tokens[start:end], self.tokenizer.vocab)
        header = self.tokens[start:start + header_length].astype(np.int64)
        points = {kind: [r for r in restarts if r[3] == kind] for kind in (True, False)}
        where = {kind: [start + r[0] for r in points[kind]] for kind in (True, False)}
        self.windows.append((piece, None, start, min(start + length, end)))
        last_start, covered = start, min(start + length, end)
        while covered < end:
            window = None
            for kind in (True, False):  # bar starts first, then the tracks of a bar too long for a window
                k = bisect.bisect_right(where[kind], covered - overlap)
                for j in (k - 1, k):  # the last point that keeps the overlap, else the next one
                    if window is not None or not 0 <= j < len(where[kind]) \
                            or not last_start < where[kind][j] <= covered:
                        continue
                    _, reopen, body, _ = points[kind][j]
                    prefix = np.concatenate([header, np.asarray(reopen, dtype=np.int64)])
                    stop = min(start + body + length - len(prefix), end)
                    if stop > covered:
                        window, last_start = (piece, prefix, start + body, stop), where[kind][j]
            if window is None:  # no point to reopen here: a plain slice
                position = max(covered - overlap, last_start + 1)
                window = (piece, None, position, min(position + length, end))
                last_start = position
            self.windows.append(window)
            covered = window[3]

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict:
        import torch

        piece, prefix, start, end = self.windows[index]
        body = self.tokens[start:end].astype(np.int64)
        ids = body if prefix is None else np.concatenate([prefix, body])
        return {"input_ids": torch.from_numpy(ids), "style_id": int(self.styles[piece])}

    @property
    def manifest(self) -> dict:
        """The build manifest (settings, counts, pieces, failures)."""
        return json.loads((self.data_dir / "manifest.json").read_text(encoding="utf-8"))


def collate_tokens(items: list[dict], pad_id: int = 0) -> dict:
    """Pad a list of dataset items into a batch.

    Returns:
        ``input_ids`` int64 ``(B, L)`` padded with ``pad_id``; ``style_ids`` int64
        ``(B,)``; ``attention_mask`` bool ``(B, L)``, true on real tokens.
    """
    import torch

    if not items:
        return {"input_ids": torch.zeros((0, 0), dtype=torch.long), "style_ids": torch.zeros(0, dtype=torch.long),
                "attention_mask": torch.zeros((0, 0), dtype=torch.bool)}
    length = max(len(item["input_ids"]) for item in items)
    input_ids = torch.full((len(items), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(items), length), dtype=torch.bool)
    for row, item in enumerate(items):
        n = len(item["input_ids"])
        input_ids[row, :n] = item["input_ids"]
        mask[row, :n] = True
    styles = torch.tensor([item["style_id"] for item in items], dtype=torch.long)
    return {"input_ids": input_ids, "style_ids": styles, "attention_mask": mask}
