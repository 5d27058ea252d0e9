"""``CorpusPiece``: one piece of a collection, as the corpus, folder and POP909 listings name it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CorpusPiece"]


@dataclass(frozen=True)
class CorpusPiece:
    """One piece of a collection.

    Attributes:
        id: stable identity, e.g. ``"bach/bwv66.6.mxl"`` or ``"oneills1850/0001-0050.abc#3"``.
        style: style label.
        path: the source file.
        tune: the ABC ``X:`` number of a tune inside a multi-tune file, else ``None``.
    """

    id: str
    style: str
    path: str
    tune: int | None = None
