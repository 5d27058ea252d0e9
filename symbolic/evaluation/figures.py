"""PNG figures of an evaluation: piano rolls, histograms, mel spectrograms, metric distributions."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from symbolic.evaluation.metrics import METRIC_NAMES, all_metrics
from symbolic.score import Score

__all__ = ["write_figures", "write_piano_rolls", "write_curve", "save_figure", "pyplot", "ROLE_COLOURS", "role_legend"]


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# a note's role in a job (:meth:`symbolic.jobs.arrange.JobResult.note_roles`) -> (colour, legend label);
# colour-blind safe (Okabe & Ito 2008): vermilion, blue, bluish green, light grey
ROLE_COLOURS = {
    "melody": ("#D55E00", "melody (kept)"),
    "kept": ("#0072B2", "other parts kept"),
    "new": ("#009E73", "new parts"),
    "dropped": ("#BBBBBB", "rewritten (not in the result)"),
}


def role_legend(roles: list[list[str]]) -> list[tuple[str, str, str]]:
    """``(role, colour, label)`` of each :data:`ROLE_COLOURS` role found in ``roles`` (a list of roles per
    track), in the table's order: the legend of a piano roll drawn with those roles."""
    present = {role for track_roles in roles for role in track_roles}
    return [(role, colour, label) for role, (colour, label) in ROLE_COLOURS.items() if role in present]


def _piano_roll(ax, score: Score, title: str, roles: list[list[str]] | None = None) -> None:
    """Draw ``score`` on ``ax``: beats across, pitch up; one colour per track (drums grey), or with
    ``roles`` (one role of :data:`ROLE_COLOURS` per note, a list per track) one colour per role, with a legend."""
    tpb = score.ticks_per_beat
    if roles is None:
        for k, track in enumerate(score.tracks):
            for n in track.notes:
                ax.broken_barh([(n.onset_ticks / tpb, n.duration_ticks / tpb)], (n.pitch - 0.4, 0.8),
                               color="tab:gray" if track.is_drum else f"C{k % 10}")
    else:
        for role, (colour, _) in reversed(ROLE_COLOURS.items()):  # a collection per role, the melody on top
            notes = [n for track, track_roles in zip(score.tracks, roles)
                     for n, r in zip(track.notes, track_roles) if r == role]
            if notes:
                ax.barh([n.pitch for n in notes], [n.duration_ticks / tpb for n in notes], height=0.8,
                        left=[n.onset_ticks / tpb for n in notes], color=colour)
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(color=colour, label=label) for _, colour, label in role_legend(roles)],
                  loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    ax.set_title(title, fontsize=9, loc="left")
    ax.set_xlabel("beats")
    ax.set_ylabel("pitch")
    ax.set_xlim(left=0)


def write_piano_rolls(path: Path, named: list[tuple[str, Score]],
                      roles: list[list[list[str]]] | None = None) -> str:
    """One piano roll per ``(title, score)``, stacked, as a PNG at ``path``; returns the path.

    ``roles`` (optional, one per score: a list per track of one :data:`ROLE_COLOURS` key per note, as
    :meth:`~symbolic.jobs.arrange.JobResult.note_roles` gives) colours notes by role, with a legend.
    """
    plt = pyplot()
    fig, axes = plt.subplots(len(named), 1, figsize=(11, 2.2 * len(named)), squeeze=False, sharex=roles is not None)
    for i, (ax, (title, score)) in enumerate(zip(axes[:, 0], named)):
        _piano_roll(ax, score, title, roles[i] if roles is not None else None)
        if roles is not None and i < len(named) - 1:
            ax.set_xlabel("")  # one time axis, shared, under the last roll
    fig.tight_layout()
    return save_figure(fig, path, plt)


def write_curve(path: Path, x, y, xlabel: str, ylabel: str, title: str) -> str:
    """A line plot of ``y`` over ``x`` (a learning curve, say) as a PNG at ``path``; returns the path."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(x, y, marker=".")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path, plt)


def write_figures(out: Path, generated: list[tuple[Path, Score]], reference: list[tuple[Path, Score]],
                  mels: dict[str, list[np.ndarray]], config) -> list[str]:
    """Write the figures into ``out``; returns their paths."""
    plt = pyplot()
    written = []

    n = config.n_figures
    if n:
        fig, axes = plt.subplots(2, n, figsize=(4 * n, 6), squeeze=False)
        for row, (label, pieces) in enumerate((("generated", generated), ("reference", reference))):
            for col in range(n):
                ax = axes[row][col]
                if col < len(pieces):
                    _piano_roll(ax, pieces[col][1], f"{label}: {pieces[col][0].name}")
                else:
                    ax.axis("off")
        fig.tight_layout()
        written.append(save_figure(fig, out / "piano_rolls.png", plt))

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for label, pieces in (("generated", generated), ("reference", reference)):
        pcs = np.bincount([nt.pitch % 12 for _, s in pieces for t in s.tracks if not t.is_drum for nt in t.notes],
                          minlength=12).astype(float)
        axes[0].plot(range(12), pcs / max(1.0, pcs.sum()), marker="o", label=label)
        durations = [nt.duration_ticks / s.ticks_per_beat for _, s in pieces for t in s.tracks for nt in t.notes]
        axes[1].hist(np.clip(durations, 0, 4), bins=32, range=(0, 4), alpha=0.5, density=True, label=label)
    axes[0].set_xticks(range(12), ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"])
    axes[0].set_title("pitch-class histogram")
    axes[1].set_title("note durations (beats, clipped at 4)")
    for ax in axes:
        ax.legend(fontsize=8)
    fig.tight_layout()
    written.append(save_figure(fig, out / "histograms.png", plt))

    if mels.get("generated") and mels.get("reference"):
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
        for ax, label in zip(axes, ("generated", "reference")):
            ax.imshow(mels[label][0], origin="lower", aspect="auto", cmap="magma")
            ax.set_title(f"log-mel, first {label} piece (dB)")
            ax.set_xlabel("frame")
            ax.set_ylabel("mel band")
        fig.tight_layout()
        written.append(save_figure(fig, out / "mel_spectrograms.png", plt))

    metrics = {"generated": [all_metrics(s) for _, s in generated],
               "reference": [all_metrics(s) for _, s in reference]}
    cols = 4
    rows = math.ceil(len(METRIC_NAMES) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.6 * rows), squeeze=False)
    for i, name in enumerate(METRIC_NAMES):
        ax = axes[i // cols][i % cols]
        data = [[m[name] for m in metrics[label] if not math.isnan(m[name])] for label in ("generated", "reference")]
        if all(data):
            ax.boxplot(data, tick_labels=["generated", "reference"])
        ax.set_title(name, fontsize=9)
    for j in range(len(METRIC_NAMES), rows * cols):
        axes[j // cols][j % cols].axis("off")
    fig.tight_layout()
    written.append(save_figure(fig, out / "metric_distributions.png", plt))
    return written


def save_figure(fig, path: Path, plt) -> str:
    """Write ``fig`` as a PNG to ``path`` atomically, close it, and return the path."""
    import io

    from symbolic.utils import atomic_write_bytes

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
    return str(path)
