"""Melody extraction from a one-track piano arrangement, measured on POP909, with the skyline beside it.

Each POP909 song's MELODY, BRIDGE and PIANO tracks are merged into one nameless piano track
(:func:`symbolic.analysis.melody.merge_tracks`); the extractor and the skyline baseline call every note
melody or not, and a call is right when it agrees with the note's source track (MELODY = melody).
"Notes right" counts both classes (:func:`symbolic.analysis.melody.melody_note_accuracy`).

Split, by song id (deterministic): id % 5 == 0 is the held-out TEST split (never seen in training or
model choice), id % 5 == 1 validation (early stopping; the stacker's figures and threshold), the rest train.

    python benchmarks/melody_extraction.py                                     # evaluates on TEST

The shipped weights are an ensemble folder (``--ensemble``) of three networks: convolutions + 2 bidirectional GRU
layers, three classes, trained from scratch for 55 minutes and fine-tuned for 12 with excerpts; and the same
with a self-attention block after the GRU, trained for 62 minutes, twice (seeds 11 and 23); their
probabilities are read by a stacker
(``--train-stacker``: gradient-boosted trees over the members' calls, the calls of each note's repeats elsewhere in
the song, of its onset and of the line around it, and its note features), fit on the validation and train
splits with scikit-learn (``--stacker-train-split``; 3-fold cross-validation scored on the validation songs
chooses its threshold) and evaluated in numpy.  The ``--train`` and ``--ensemble`` commands
with their flags are in MODEL_CARD.md (the melody extractor's "Reproduce").  ``--train`` with the defaults trains the older convolution-only first pass
(and ``--train-refiner`` its refiner), which older weight folders hold.

Training needs torch (one thread); evaluation needs only numpy.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from symbolic.analysis.melody import (  # noqa: E402
    FEATURE_NAMES, BoostedTrees, MelodyEnsemble, MelodyEnsembleConfig, MelodyExtractor, MelodyExtractorConfig,
    load_melody_extractor, mask_from_probabilities, melody_mask, melody_note_accuracy, melody_probabilities,
    merge_tracks, note_features, note_order, refiner_inputs, save_boosted_trees, save_melody_ensemble,
    save_melody_extractor, skyline_mask, stack_features, stage_two_features,
)
from symbolic.inputs.midi import read_midi  # noqa: E402
from symbolic.score import Note  # noqa: E402
from symbolic.resources import shared_data_dir  # noqa: E402

POP909 = shared_data_dir() / "pop909"
TRACKS = ("MELODY", "BRIDGE", "PIANO")
DEFAULT_OUT = ROOT / "symbolic" / "assets" / "melody-extractor"
POP909_TICKS_PER_BEAT = 480  # every song of the shared copy


def split_of(song_id: int) -> str:
    """The song's split: ``"test"`` (id % 5 == 0), ``"valid"`` (id % 5 == 1) or ``"train"``."""
    return {0: "test", 1: "valid"}.get(song_id % 5, "train")


def song_ids(data: Path, split: str, limit: int | None = None) -> list[int]:
    ids = sorted(int(p.name) for p in data.iterdir()
                 if p.is_dir() and p.name.isdigit() and split_of(int(p.name)) == split)
    return ids[:limit] if limit else ids


def load_song(data: Path, song_id: int, with_sources: bool = False):
    """``(notes, is_melody, ticks_per_beat)`` of a song merged into one piano track, notes in canonical order;
    with ``with_sources`` also the name of each note's source track (MELODY, BRIDGE or PIANO)."""
    score = read_midi(data / f"{song_id:03d}" / f"{song_id:03d}.mid")
    track, source = merge_tracks(score, TRACKS)
    order = note_order(track.notes)
    notes = [track.notes[i] for i in order]
    names = np.array([score.tracks[i].name for i in source[order]])
    if with_sources:
        return notes, names == "MELODY", score.ticks_per_beat, names
    return notes, names == "MELODY", score.ticks_per_beat


def constant_velocity(notes: list) -> list:
    """The same notes at velocity 100, as notation software writes them."""
    return [n._replace(velocity=100) for n in notes]


def training_examples(data: Path, split: str, cache: Path) -> list[dict]:
    """Notes (int ``(n, 4)``, canonical order), features (with real and with constant velocities), labels and
    source tracks (index into :data:`TRACKS`) of every song of a split, cached."""
    from tqdm import tqdm

    if cache.is_file():
        return pickle.loads(cache.read_bytes())
    examples = []
    for song_id in tqdm(song_ids(data, split), desc=f"features {split}"):
        notes, labels, tpb, sources = load_song(data, song_id, with_sources=True)
        examples.append({"id": song_id, "notes": np.asarray(notes, dtype=np.int64).reshape(-1, 4),
                         "x": note_features(notes, tpb),
                         "x_flat": note_features(constant_velocity(notes), tpb), "y": labels.astype(np.float32),
                         "source": np.array([TRACKS.index(name) for name in sources], dtype=np.int64)})
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(examples))
    tmp.replace(cache)
    return examples


def fit_network(config: MelodyExtractorConfig, train_set: list[dict], valid_set: list[dict],
                args: argparse.Namespace) -> tuple[dict[str, np.ndarray], float, int, float]:
    """Train one convolution network (the torch twin of :class:`MelodyExtractor`, same weight names) on examples
    ``{"x", "x_flat", "y"}`` for ``args.minutes``; returns its best weights by validation note accuracy (every
    ``args.valid_every``-th validation song, threshold 0.5), that accuracy, the steps and the seconds taken."""
    import torch
    from torch import nn

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    net = torch_network(config)
    if args.init is not None:  # go on from stored weights of the same shape
        from safetensors.numpy import load_file

        stored = load_file(str(args.init / "model.safetensors"))
        missing, unexpected = net.load_state_dict({k: torch.from_numpy(v) for k, v in stored.items()}, strict=False)
        if unexpected or any(not k.startswith("attn.") for k in missing):
            raise SystemExit(f"melody_extraction: {args.init} does not fit this shape (missing {missing}, "
                             f"unexpected {unexpected}); give the stored weights' --channels, --dilations and GRU")
        if missing:  # new attention blocks start as the identity: the stored network's calls, unchanged
            with torch.no_grad():
                for block in net.attn:
                    for layer in (block.mha.out_proj, block.ff2):
                        layer.weight.zero_()
                        layer.bias.zero_()
        print(f"started from {args.init}; new: {sorted(missing) or 'nothing'}")
    optimizer = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    three_way = len(config.classes) > 1
    bce, cross_entropy = nn.BCEWithLogitsLoss(), nn.CrossEntropyLoss()

    def loss_fn(logits: torch.Tensor, y: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        return cross_entropy(logits.transpose(1, 2), source) if three_way else bce(logits[..., 0], y)

    def melody_probability(logits: torch.Tensor) -> torch.Tensor:
        return torch.softmax(logits, -1)[..., 0] if three_way else torch.sigmoid(logits[..., 0])

    def batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        xs, ys, sources = [], [], []
        excerpts = rng.random() < args.excerpt_share  # all windows of a batch alike: they are cut to one length
        for _ in range(args.batch):
            song = train_set[rng.integers(len(train_set))]
            flat = rng.random() < args.flat_velocity_share
            x = song["x_flat"] if flat else song["x"]
            start = rng.integers(max(1, len(x) - args.window))
            x = x[start:start + args.window].copy()
            if excerpts:  # a short piece: features measured on an excerpt of 8-48 bars
                notes = constant_velocity_array(song["notes"]) if flat else song["notes"]
                begin = notes[rng.integers(len(notes)), 0]
                end = begin + rng.integers(8, 49) * 4 * POP909_TICKS_PER_BEAT
                start = int(np.searchsorted(notes[:, 0], begin))
                stop = min(int(np.searchsorted(notes[:, 0], end)), start + args.window)
                x = note_features([Note(*map(int, row)) for row in notes[start:stop]], POP909_TICKS_PER_BEAT)
            x[:, 0] += rng.integers(-6, 7) / 12.0  # transposition: only the absolute pitch feature moves
            xs.append(x)
            ys.append(song["y"][start:start + len(x)])
            sources.append(song["source"][start:start + len(x)] if three_way else ys[-1])
        n = min(len(x) for x in xs)
        return (torch.from_numpy(np.stack([x[:n] for x in xs])), torch.from_numpy(np.stack([y[:n] for y in ys])),
                torch.from_numpy(np.stack([s[:n] for s in sources])))

    def valid_accuracy() -> float:
        net.eval()
        right = total = 0
        with torch.no_grad():
            for song in valid_set[::args.valid_every]:
                p = melody_probability(net(torch.from_numpy(song["x"])[None]))[0].numpy()
                right += int(((p > 0.5) == (song["y"] > 0.5)).sum())
                total += len(p)
        net.train()
        return right / total

    start, step = time.time(), 0
    best = valid_accuracy() if args.init is not None else -1.0  # the starting point is a candidate too
    best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    print(f"training on {len(train_set)} songs, validating on {len(valid_set)}; {args.minutes} min budget"
          + (f"; valid note accuracy at the start {best:.4f}" if args.init is not None else ""), flush=True)
    while time.time() - start < args.minutes * 60:
        if args.cosine:  # learning rate from lr down to lr / 10 along a half cosine over the budget
            done = min(1.0, (time.time() - start) / (args.minutes * 60))
            for group in optimizer.param_groups:
                group["lr"] = args.lr * (0.1 + 0.45 * (1 + np.cos(np.pi * done)))
        for _ in range(100):
            x, y, source = batch()
            loss = loss_fn(net(x), y, source)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
            step += 1
        accuracy = valid_accuracy()
        if accuracy > best:
            best, best_state = accuracy, {k: v.detach().clone() for k, v in net.state_dict().items()}
        print(f"step {step}: loss {loss.item():.4f}, valid note accuracy {accuracy:.4f} (best {best:.4f}), "
              f"{time.time() - start:.0f} s", flush=True)
    return {k: v.numpy() for k, v in best_state.items()}, best, step, time.time() - start


def torch_network(config: MelodyExtractorConfig):
    """The torch twin of :class:`MelodyExtractor` (same weight names): ``(batch, notes, features)`` in,
    ``(batch, notes, len(config.classes))`` logits out."""
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            k = config.kernel_size
            self.inp = nn.Conv1d(config.n_features, config.channels, k, padding=k // 2)
            self.blocks = nn.ModuleList(nn.Conv1d(config.channels, config.channels, k, padding=(k // 2) * d,
                                                  dilation=d) for d in config.dilations)
            if config.gru_layers:
                self.gru = nn.GRU(config.channels, config.gru_units, num_layers=config.gru_layers,
                                  bidirectional=True, batch_first=True)
            self.attn = nn.ModuleList(AttentionBlock() for _ in range(config.attention_layers))
            self.out = nn.Conv1d(config.width, len(config.classes), 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = torch.relu(self.inp(x.transpose(1, 2)))
            for block in self.blocks:
                h = h + torch.relu(block(h))
            if config.gru_layers:
                h = self.gru(h.transpose(1, 2))[0].transpose(1, 2)
            if config.attention_layers:
                h = h.transpose(1, 2)
                for block in self.attn:
                    h = block(h)
                h = h.transpose(1, 2)
            return self.out(h).transpose(1, 2)

    class AttentionBlock(nn.Module):
        """Pre-norm transformer block, as :meth:`MelodyExtractor._attention_block` computes it."""

        def __init__(self) -> None:
            super().__init__()
            self.norm1, self.norm2 = nn.LayerNorm(config.width), nn.LayerNorm(config.width)
            self.mha = nn.MultiheadAttention(config.width, config.attention_heads, batch_first=True)
            self.ff1 = nn.Linear(config.width, config.attention_ffn)
            self.ff2 = nn.Linear(config.attention_ffn, config.width)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.norm1(x)
            x = x + self.mha(y, y, y, need_weights=False)[0]
            return x + self.ff2(torch.relu(self.ff1(self.norm2(x))))

    return Net()


def training_meta(args: argparse.Namespace, train_set: list, valid_set: list, best: float, steps: int,
                  seconds: float) -> dict:
    return {"data": "POP909 (Wang et al. 2020, MIT licence), songs with id % 5 >= 2 (train); id % 5 == 1 validation",
            "train_songs": len(train_set), "valid_songs": len(valid_set), "steps": steps, "seconds": round(seconds),
            "best_valid_note_accuracy": best, "seed": args.seed, "window_notes": args.window, "batch": args.batch,
            "valid_every": args.valid_every, "flat_velocity_share": args.flat_velocity_share, "lr": args.lr,
            "cosine": args.cosine, "excerpt_share": args.excerpt_share,
            "init": str(args.init) if args.init else None}


def train(args: argparse.Namespace) -> int:
    """Train the first pass (no refiner) and write it to ``args.out``."""
    cache = ROOT / "benchmarks" / "out" / "melody-extraction"
    version = f"{len(FEATURE_NAMES)}-features-sources"
    train_set = training_examples(args.data, "train", cache / f"train-{version}.pkl")
    valid_set = training_examples(args.data, "valid", cache / f"valid-{version}.pkl")
    config = MelodyExtractorConfig(channels=args.channels, dilations=tuple(args.dilations),
                                   gru_layers=args.gru_layers, gru_units=args.gru_units,
                                   classes=TRACKS if args.three_way else ("MELODY",),
                                   attention_layers=args.attention_layers, attention_heads=args.attention_heads,
                                   attention_ffn=args.attention_ffn)
    weights, best, steps, seconds = fit_network(config, train_set, valid_set, args)
    save_melody_extractor(args.out, config, weights, {"first_pass": training_meta(args, train_set, valid_set, best,
                                                                                  steps, seconds)})
    print(f"wrote {args.out} (best validation note accuracy {best:.4f})")
    tune_threshold(args.data, args.out)
    return 0


def refiner_examples(examples: list[dict], extractor) -> list[dict]:
    """The refiner's examples: each song's :func:`refiner_inputs` under the first pass's probabilities, with real
    and with constant velocities."""
    from tqdm import tqdm

    out = []
    for song in tqdm(examples, desc="first pass"):
        item = {"id": song["id"], "y": song["y"]}
        for key, notes in (("x", song["notes"]), ("x_flat", constant_velocity_array(song["notes"]))):
            item[key] = refiner_inputs(song[key], notes, extractor.probabilities(song[key]))
        out.append(item)
    return out


def constant_velocity_array(notes: np.ndarray) -> np.ndarray:
    """Rows ``(onset, duration, pitch, velocity)`` with every velocity set to 100."""
    flat = notes.copy()
    flat[:, 3] = 100
    return flat


def train_refiner(args: argparse.Namespace) -> int:
    """Train the refiner over the first pass stored in ``args.out`` (its own refiner, if any, is replaced) and
    write both into ``args.out``."""
    cache = ROOT / "benchmarks" / "out" / "melody-extraction"
    version = f"{len(FEATURE_NAMES)}-features-sources"
    first = load_melody_extractor(args.out)
    meta = json.loads((args.out / "meta.json").read_text())
    train_set = refiner_examples(training_examples(args.data, "train", cache / f"train-{version}.pkl"), first)
    valid_set = refiner_examples(training_examples(args.data, "valid", cache / f"valid-{version}.pkl"), first)
    config = MelodyExtractorConfig(n_features=train_set[0]["x"].shape[1], channels=args.refiner_channels,
                                   dilations=(1, 2, 4, 8, 16, 32))
    weights, best, steps, seconds = fit_network(config, train_set, valid_set, args)
    keep = {k: v for k, v in meta.items() if k not in ("config", "features", "refiner_config", "line_features",
                                                         "refiner", "threshold_valid_note_accuracy")}
    if "first_pass" not in keep:  # weights written before the refiner: their training figures are the first pass's
        keep = {"first_pass": keep}
    save_melody_extractor(args.out, first.config, first.weights,
                          {**keep, "refiner": training_meta(args, train_set, valid_set, best, steps, seconds)},
                          refiner=(config, weights))
    load_melody_extractor.cache_clear()
    print(f"wrote {args.out} (refiner's best validation note accuracy {best:.4f})")
    tune_threshold(args.data, args.out)
    return 0


def tune_threshold(data: Path, folder: Path) -> float:
    """Pick the melody threshold that gets most validation notes right and store it in ``folder/meta.json``."""
    from tqdm import tqdm

    extractor = load_melody_extractor(folder)
    if getattr(extractor, "stacker", None) is not None:  # fit on the validation songs: scores there are in-sample
        print(f"{folder}: its stacker was fit on the validation split; its threshold comes from --train-stacker's "
              f"cross-validation ({extractor.threshold})")
        return extractor.threshold
    songs = []
    for song_id in tqdm(song_ids(data, "valid"), desc="threshold (valid)"):
        notes, truth, tpb = load_song(data, song_id)
        songs.append((notes, truth, melody_probabilities(notes, tpb, extractor)))
    thresholds = np.round(np.arange(0.2, 0.81, 0.05), 2)
    scores = []
    for threshold in thresholds:
        right = sum(melody_note_accuracy(n, mask_from_probabilities(n, p, threshold), t) * len(n) for n, t, p in songs)
        scores.append(right / sum(len(n) for n, _, _ in songs))
        print(f"threshold {threshold:.2f}: validation note accuracy {scores[-1]:.4f}")
    best = float(thresholds[int(np.argmax(scores))])
    meta_path = folder / "meta.json"
    meta = json.loads(meta_path.read_text())
    key = "ensemble" if "ensemble" in meta else "refiner_config" if "refiner_config" in meta else "config"
    meta[key]["threshold"] = best  # the last pass's, or the ensemble's
    meta["threshold_valid_note_accuracy"] = float(max(scores))
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    load_melody_extractor.cache_clear()
    print(f"threshold {best} written to {meta_path}")
    return best


def build_ensemble(members: list[Path], out: Path, data: Path) -> int:
    """Copy the extractor folders ``members`` into ``out`` (as ``member-1``, ``member-2``, ...), write the ensemble's
    ``meta.json`` and choose its threshold on the validation split."""
    import shutil

    names = tuple(f"member-{i + 1}" for i in range(len(members)))
    for name, folder in zip(names, members):
        if (out / name).resolve() != folder.resolve():
            shutil.rmtree(out / name, ignore_errors=True)
            shutil.copytree(folder, out / name)
    sources = {name: json.loads((out / name / "meta.json").read_text()) for name in names}
    save_melody_ensemble(out, MelodyEnsembleConfig(members=names),
                         {"members_from": {name: str(folder) for name, folder in zip(names, members)},
                          "members_valid_note_accuracy": {name: meta.get("threshold_valid_note_accuracy")
                                                          for name, meta in sources.items()}})
    load_melody_extractor.cache_clear()
    tune_threshold(data, out)
    return 0


def boosted_trees_of(classifier) -> BoostedTrees:
    """The numpy :class:`BoostedTrees` of a fitted binary scikit-learn ``HistGradientBoostingClassifier``."""
    fields = {k: [] for k in ("feature", "threshold", "left", "right", "value", "is_leaf")}
    roots, offset = [], 0
    for (predictor,) in classifier._predictors:  # one tree per iteration for two classes
        nodes = predictor.nodes
        roots.append(offset)
        leaf = nodes["is_leaf"].astype(bool)
        fields["feature"].append(nodes["feature_idx"].astype(np.int64))
        fields["threshold"].append(nodes["num_threshold"].astype(np.float64))
        fields["left"].append(np.where(leaf, 0, nodes["left"].astype(np.int64) + offset))
        fields["right"].append(np.where(leaf, 0, nodes["right"].astype(np.int64) + offset))
        fields["value"].append(nodes["value"].astype(np.float64))
        fields["is_leaf"].append(leaf)
        offset += len(nodes)
    arrays = {k: np.concatenate(v) for k, v in fields.items()}
    arrays.update(roots=np.array(roots, dtype=np.int64),
                  baseline=np.asarray(classifier._baseline_prediction, dtype=np.float64).reshape(-1)[:1])
    return BoostedTrees(arrays)


STACKER_SETTINGS = {"max_iter": 200, "learning_rate": 0.1, "max_leaf_nodes": 63, "l2_regularization": 1.0,
                    "early_stopping": False, "random_state": 0}


def excerpt_of(notes: list, truth: np.ndarray, begin: int, bars: int, ticks_per_beat: int) -> tuple[list, np.ndarray]:
    """The notes (and their labels) starting within ``bars`` 4-beat bars from tick ``begin``."""
    keep = [i for i, n in enumerate(notes) if begin <= n.onset_ticks < begin + bars * 4 * ticks_per_beat]
    return [notes[i] for i in keep], truth[keep]


def bootstrap_gain(after: np.ndarray, before: np.ndarray, sizes: np.ndarray, draws: int = 2000) -> tuple[float, float]:
    """95% interval of the note-accuracy gain ``after`` over ``before`` (notes right per song, paired) from
    ``draws`` resamples of the songs (seed 0); in accuracy units."""
    pick = np.random.default_rng(0).integers(len(sizes), size=(draws, len(sizes)))
    gains = (after[pick].sum(1) - before[pick].sum(1)) / sizes[pick].sum(1)
    low, high = np.percentile(gains, [2.5, 97.5])
    return float(low), float(high)


def train_stacker(args: argparse.Namespace) -> int:
    """Fit the stacker of the ensemble in ``args.out`` on the validation split (songs its members never saw in
    training) and, with ``--stacker-train-split``, on the train split too (the members' calls on songs they
    trained on, more confident than on new songs, but four times the data): every song whole with real and with
    constant velocities, and two excerpts of 8-48 bars (short pieces: everything measured on the excerpt alone).
    Its threshold and figures come from 3-fold cross-validation (fit on the songs of two thirds, scored on the
    validation songs of the third left out: whole songs, whole songs at velocity 100, and 16-bar excerpts from
    the first melody note as ``--excerpt-bars 16`` cuts them; the threshold is the one with most notes right
    over whole songs and excerpts together); then it is fit on every song and written to ``stacker.safetensors``
    and the ensemble's ``meta.json``.

    With ``--stacker-stages 2`` a second stage of trees reads the first stage's P(melody) and the line it calls
    (:func:`stage_two_features`).  It is fit on out-of-fold first-stage P (each third's from trees fit on the
    other two), so it learns from calls as wrong as those it will see; its figures come from the same 3 folds,
    nested: for the third left out, the first stage is fit on the other two thirds, and the second stage on
    those two thirds' out-of-fold P (each half's from a first stage fit on the other half).  It is written to
    ``stacker-2.safetensors``; the first stage's chosen threshold calls its line (``stage_one_threshold``)."""
    from dataclasses import replace

    from sklearn.ensemble import HistGradientBoostingClassifier
    from tqdm import tqdm

    ensemble = load_melody_extractor(args.out)
    if not isinstance(ensemble, MelodyEnsemble):
        print(f"melody_extraction: {args.out} holds no ensemble; --train-stacker stacks an ensemble's members",
              file=sys.stderr)
        return 2
    config = replace(ensemble.config, stacker=True, stacker_stages=1,
                     repeat_window_beats=ensemble.config.repeat_window_beats or 4.0)
    repeat = (config.repeat_window_beats, config.repeat_min_similarity, config.repeat_min_probability)
    rng = np.random.default_rng(args.seed)

    def piece(notes: list, truth: np.ndarray, tpb: int) -> dict:
        features = note_features(notes, tpb)
        each = np.array([member.probabilities(features) for member in ensemble.members])
        arr = np.asarray(notes, dtype=np.int64).reshape(-1, 4)
        return {"notes": notes, "truth": truth, "tpb": tpb, "arr": arr,
                "x": stack_features(arr, each, features, tpb, *repeat)}

    ids = song_ids(args.data, "valid") + (song_ids(args.data, "train") if args.stacker_train_split else [])
    songs = []  # every song the stacker learns from; the validation songs among them are also scored
    for song_id in tqdm(sorted(ids), desc="stacker inputs"):
        notes, truth, tpb = load_song(args.data, song_id)
        song = {"id": song_id, "scored": split_of(song_id) == "valid",
                "whole": piece(notes, truth, tpb), "flat": piece(constant_velocity(notes), truth, tpb)}
        first_melody = min(n.onset_ticks for n, melody in zip(notes, truth) if melody)
        song["excerpt 16"] = piece(*excerpt_of(notes, truth, first_melody, 16, tpb), tpb)
        song["train"] = [song["whole"], song["flat"]]
        for _ in range(2):  # training excerpts: 8-48 bars from a random note
            begin = notes[int(rng.integers(len(notes)))].onset_ticks
            cut = excerpt_of(notes, truth, begin, int(rng.integers(8, 49)), tpb)
            if len(cut[0]):
                song["train"].append(piece(*cut, tpb))
        songs.append(song)

    def fit(rows: list[dict], inputs=lambda p: p["x"]):
        pieces = [p for song in rows for p in song["train"]]
        return HistGradientBoostingClassifier(**STACKER_SETTINGS).fit(np.concatenate([inputs(p) for p in pieces]),
                                                                      np.concatenate([p["truth"] for p in pieces]))

    def second_inputs(p: dict, key: str, call: float) -> np.ndarray:
        return stage_two_features(p["arr"], p[key], p["x"], p["tpb"], call, *repeat)

    def out_of_fold(rows: list[dict], k: int, key: str) -> None:
        """Write to each training piece of ``rows`` (key ``key``) the first stage's P from trees fit without it."""
        split = np.arange(len(rows)) % k
        for part in range(k):
            classifier = fit([song for song, f in zip(rows, split) if f != part])
            for song in (song for song, f in zip(rows, split) if f == part):
                for p in song["train"]:
                    p[key] = classifier.predict_proba(p["x"])[:, 1]

    def scores(notes: list, truth: np.ndarray, p: np.ndarray) -> np.ndarray:
        return np.array([melody_note_accuracy(notes, mask_from_probabilities(notes, p, threshold), truth) * len(notes)
                         for threshold in thresholds])

    folds = np.arange(len(songs)) % 3
    scored = [song for song in songs if song["scored"]]
    thresholds = np.round(np.arange(0.3, 0.71, 0.05), 2)
    kinds = ("whole", "flat", "excerpt 16")
    total = {kind: sum(len(song[kind]["notes"]) for song in scored) for kind in kinds}
    sizes = {kind: np.array([len(song[kind]["notes"]) for song in scored], dtype=float) for kind in kinds}
    for fold in range(3):
        rest = [song for song, f in zip(songs, folds) if f != fold]
        classifier = fit(rest)
        for song in (song for song, f in zip(songs, folds) if f == fold):
            for kind in kinds:
                notes, truth = song[kind]["notes"], song[kind]["truth"]
                song[kind]["p1"] = classifier.predict_proba(song[kind]["x"])[:, 1]
                if not song["scored"]:
                    continue
                song[kind]["right"] = scores(notes, truth, song[kind]["p1"])
                # the ensemble without the stacker: its members' mean (stack_features' first column), its threshold
                song[kind]["before"] = melody_note_accuracy(notes, mask_from_probabilities(
                    notes, song[kind]["x"][:, 0], ensemble.config.threshold), truth) * len(notes)
            for p in song["train"][2:]:  # the whole songs' are set above; the training excerpts' here
                p["p1"] = classifier.predict_proba(p["x"])[:, 1]

    def report(stage: str, key: str, against: str, best_against: int | None, before_name: str) -> int:
        right = {kind: np.sum([song[kind][key] for song in scored], axis=0) for kind in kinds}
        score = {kind: right[kind] / total[kind] for kind in kinds}
        for k, threshold in enumerate(thresholds):
            print(f"{stage} threshold {threshold:.2f}: 3-fold cross-validated note accuracy {score['whole'][k]:.4f} "
                  f"(every velocity 100: {score['flat'][k]:.4f}; 16-bar excerpts: {score['excerpt 16'][k]:.4f})")
        pooled = (right["whole"] + right["excerpt 16"]) / (total["whole"] + total["excerpt 16"])
        best = int(np.argmax(pooled))  # whole songs and short pieces: both are what people bring
        for kind in kinds:  # paired bootstrap over songs of the cross-validated gain
            after = np.array([song[kind][key][best] for song in scored])
            before = np.array([song[kind][against] if best_against is None else song[kind][against][best_against]
                               for song in scored])
            low, high = bootstrap_gain(after, before, sizes[kind])
            print(f"{stage} {kind}: {before_name} {before.sum() / sizes[kind].sum():.4f}, now "
                  f"{after.sum() / sizes[kind].sum():.4f} (threshold {thresholds[best]:.2f}); gain 95% interval "
                  f"{100 * low:+.2f} to {100 * high:+.2f} points (2,000 resamples of the songs); "
                  f"{int((after > before).sum())} songs better, {int((after < before).sum())} worse")
        return best

    best = report("stage 1", "right", "before", None, "members' mean")
    figures = {kind: float(sum(song[kind]["right"][best] for song in scored) / total[kind]) for kind in kinds}
    call = float(thresholds[best])
    second = None
    if args.stacker_stages == 2:
        for fold in range(3):  # nested: the second stage for the third left out never saw it
            rest = [song for song, f in zip(songs, folds) if f != fold]
            out_of_fold(rest, 2, "p1_inner")
            classifier = fit(rest, lambda p: second_inputs(p, "p1_inner", call))
            for song in (song for song, f in zip(songs, folds) if f == fold and song["scored"]):
                for kind in kinds:
                    p = song[kind]
                    p["right2"] = scores(p["notes"], p["truth"],
                                         classifier.predict_proba(second_inputs(p, "p1", call))[:, 1])
        best2 = report("stage 2", "right2", "right", best, "first stage alone")
        figures = {kind: float(sum(song[kind]["right2"][best2] for song in scored) / total[kind]) for kind in kinds}
        second = fit(songs, lambda p: second_inputs(p, "p1", call))  # on the 3-fold out-of-fold P of every song
        best = best2
    classifier = fit(songs)
    trees = boosted_trees_of(classifier)
    check = songs[0]["whole"]["x"]
    assert np.allclose(trees.probabilities(check), classifier.predict_proba(check)[:, 1], atol=1e-9)
    save_boosted_trees(args.out / "stacker.safetensors", trees)
    if second is not None:
        second_trees = boosted_trees_of(second)
        check = second_inputs(songs[0]["whole"], "p1", call)
        assert np.allclose(second_trees.probabilities(check), second.predict_proba(check)[:, 1], atol=1e-9)
        save_boosted_trees(args.out / "stacker-2.safetensors", second_trees)
    meta = json.loads((args.out / "meta.json").read_text())
    keep = {k: v for k, v in meta.items() if k not in ("ensemble", "stacker_features", "second_stage_features")}
    keep["stacker_training"] = {
        "data": ("POP909 validation and train splits (id % 5 >= 1)" if args.stacker_train_split else
                 "POP909 validation split (id % 5 == 1)") + ": every song whole with real and with constant "
                "velocities, and two excerpts of 8-48 bars; figures from the validation songs",
        "songs": len(songs), "scored_songs": len(scored), "seed": args.seed,
        "settings": STACKER_SETTINGS, "trees": len(trees.roots), "nodes": len(trees.value),
        "stages": args.stacker_stages,
        "threshold_cross_validated_note_accuracy": figures}
    if second is not None:
        keep["stacker_training"]["second_stage"] = (
            "fit on 3-fold out-of-fold first-stage P of the same pieces; figures from nested 3-fold cross-validation")
    save_melody_ensemble(args.out, replace(config, threshold=float(thresholds[best]),
                                           stacker_stages=args.stacker_stages, stage_one_threshold=call), keep)
    load_melody_extractor.cache_clear()
    print(f"wrote {args.out / 'stacker.safetensors'} ({len(trees.roots)} trees, {len(trees.value)} nodes)"
          + (f" and stacker-2.safetensors (first stage's line called above {call:.2f})" if second is not None else "")
          + f"; threshold {thresholds[best]:.2f}, 3-fold cross-validated note accuracy {figures['whole']:.4f} "
          f"(16-bar excerpts {figures['excerpt 16']:.4f})")
    return 0


def evaluate(data: Path, split: str = "test", limit: int | None = None, extractor_dir: Path | None = None,
             progress: bool = True, baseline_dir: Path | None = None, excerpt_bars: int | None = None) -> dict:
    """Note accuracy of the extractor and of the skyline on a split, with real and with constant velocities.

    Returns a dict of summary figures (accuracies pooled over all notes, melody precision and recall, seconds
    per song) and per-song rows.  With ``baseline_dir``, the extractor stored there is scored on the same songs
    (``baseline_accuracy``), e.g. the previously shipped one.  With ``excerpt_bars``, each song is cut to that many
    4-beat bars from its first melody note (a short piece: every feature is measured on the excerpt alone).
    """
    from tqdm import tqdm

    extractor = load_melody_extractor(extractor_dir) if extractor_dir else load_melody_extractor()
    rows = []
    first_pass = (MelodyExtractor(extractor.config, extractor.weights)
                  if getattr(extractor, "refiner", None) is not None else None)
    baseline = load_melody_extractor(baseline_dir) if baseline_dir else None
    totals = {k: [0, 0] for k in ("model", "skyline", "skyline_plain", "model_flat", "first_pass", "baseline")}
    pr = {k: [0, 0, 0] for k in ("model", "skyline", "skyline_plain")}  # true positives, predicted, actual
    errors: dict[str, list[int]] = {}
    for song_id in tqdm(song_ids(data, split, limit), desc=f"melody extraction ({split})", disable=not progress):
        notes, truth, tpb, sources = load_song(data, song_id, with_sources=True)
        if excerpt_bars:
            begin = min(n.onset_ticks for n, melody in zip(notes, truth) if melody)
            keep = [i for i, n in enumerate(notes) if begin <= n.onset_ticks < begin + excerpt_bars * 4 * tpb]
            notes, truth, sources = [notes[i] for i in keep], truth[keep], sources[keep]
        t0 = time.process_time()
        predicted = melody_mask(notes, tpb, extractor)
        seconds = time.process_time() - t0
        t0 = time.process_time()
        sky = skyline_mask(notes)
        sky_seconds = time.process_time() - t0
        plain = skyline_mask(notes, respect_held=False)
        flat = melody_mask(constant_velocity(notes), tpb, extractor)
        masks = [("model", predicted), ("skyline", sky), ("skyline_plain", plain), ("model_flat", flat)]
        if first_pass is not None:
            masks.append(("first_pass", melody_mask(notes, tpb, first_pass)))
        if baseline is not None:
            masks.append(("baseline", melody_mask(notes, tpb, baseline)))
        row = {"id": song_id, "notes": len(notes), "seconds": seconds, "skyline_seconds": sky_seconds}
        for key, mask in masks:
            accuracy = melody_note_accuracy(notes, mask, truth)
            row[key] = accuracy
            totals[key][0] += accuracy * len(notes)
            totals[key][1] += len(notes)
        for source in TRACKS:  # where the errors are: by source track and by whether the skyline takes the note
            for on_top in (True, False):
                cell = errors.setdefault(f"{source} {'top' if on_top else 'under'}", [0, 0])
                where = (sources == source) & (sky == on_top)
                cell[0] += int((predicted[where] != truth[where]).sum())
                cell[1] += int(where.sum())
        for key, mask in (("model", predicted), ("skyline", sky), ("skyline_plain", plain)):
            pr[key][0] += int((mask & truth).sum())
            pr[key][1] += int(mask.sum())
            pr[key][2] += int(truth.sum())
        rows.append(row)
    summary = {"split": split, "songs": len(rows), "notes": totals["model"][1], "excerpt_bars": excerpt_bars,
               "has_refiner": first_pass is not None, "baseline": str(baseline_dir) if baseline_dir else None,
               "model_errors": {k: {"wrong": w, "notes": n} for k, (w, n) in errors.items()}}
    for key, (right, n) in totals.items():  # None: not measured (no refiner, no --baseline)
        summary[f"{key}_accuracy"] = right / n if n else None
    for key, (tp, predicted, actual) in pr.items():
        summary[f"{key}_precision"] = tp / max(predicted, 1)
        summary[f"{key}_recall"] = tp / max(actual, 1)
    seconds = np.array([r["seconds"] for r in rows])
    summary["seconds_per_song_mean"] = float(seconds.mean())
    summary["seconds_per_song_max"] = float(seconds.max())
    summary["skyline_seconds_per_song_mean"] = float(np.mean([r["skyline_seconds"] for r in rows]))
    return {"summary": summary, "songs": rows}


def print_summary(s: dict) -> None:
    cut = f", each cut to {s['excerpt_bars']} bars from its first melody note" if s.get("excerpt_bars") else ""
    print(f"POP909 {s['split']} split: {s['songs']} songs{cut}, {s['notes']} notes")
    print(f"  extractor : {s['model_accuracy']:.4f} of notes right (melody precision {s['model_precision']:.3f}, "
          f"recall {s['model_recall']:.3f}); {s['seconds_per_song_mean']:.3f} CPU s per song (max "
          f"{s['seconds_per_song_max']:.3f})")
    print(f"  skyline   : {s['skyline_accuracy']:.4f} of notes right (melody precision {s['skyline_precision']:.3f}, "
          f"recall {s['skyline_recall']:.3f}); {s['skyline_seconds_per_song_mean']:.3f} CPU s per song")
    print(f"  skyline, plain (highest note of every onset, held notes ignored): {s['skyline_plain_accuracy']:.4f} "
          f"of notes right (melody precision {s['skyline_plain_precision']:.3f}, "
          f"recall {s['skyline_plain_recall']:.3f})")
    print(f"  extractor with every velocity set to 100: {s['model_flat_accuracy']:.4f} of notes right")
    if s.get("has_refiner"):
        print(f"  its first pass alone (no refiner): {s['first_pass_accuracy']:.4f} of notes right")
    if s.get("baseline"):
        print(f"  baseline extractor {s['baseline']}: {s['baseline_accuracy']:.4f} of notes right")
    print("  extractor errors by source track (top: the skyline takes the note; under: it does not):")
    for key, cell in s["model_errors"].items():
        print(f"    {key:12s} {cell['wrong']:6d} wrong of {cell['notes']:6d} "
              f"({cell['wrong'] / max(cell['notes'], 1):.1%}; {cell['wrong'] / s['notes']:.2%} of all notes)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=POP909,
                        help="POP909 folder (default: pop909 under the shared data folder)")
    parser.add_argument("--train", action="store_true", help="train the extractor and write its weights")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="weights folder (default: the shipped one)")
    parser.add_argument("--minutes", type=float, default=28.0,
                        help="training budget in wall-clock minutes (default 28; the shipped weights: 55, then 12 to fine-tune)")
    parser.add_argument("--channels", type=int, default=64, help="convolution channels (default 64)")
    parser.add_argument("--dilations", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32, 64],
                        help="dilations of the residual convolutions (default 1 2 4 ... 64)")
    parser.add_argument("--gru-layers", type=int, default=0,
                        help="bidirectional GRU layers over the whole song after the convolutions (default 0)")
    parser.add_argument("--gru-units", type=int, default=64, help="GRU units each way (default 64)")
    parser.add_argument("--attention-layers", type=int, default=0,
                        help="self-attention blocks over the whole song after the GRU (default 0)")
    parser.add_argument("--attention-heads", type=int, default=4, help="attention heads (default 4)")
    parser.add_argument("--attention-ffn", type=int, default=256,
                        help="feed-forward units of each attention block (default 256)")
    parser.add_argument("--three-way", action="store_true",
                        help="train on three classes (MELODY, BRIDGE, PIANO) and read P(melody) from the softmax")
    parser.add_argument("--lr", type=float, default=2e-3, help="AdamW learning rate (default 2e-3)")
    parser.add_argument("--init", type=Path, help="start training from the weights stored in this folder")
    parser.add_argument("--excerpt-share", type=float, default=0.0,
                        help="share of training batches whose features are measured on excerpts of 8-48 bars")
    parser.add_argument("--cosine", action="store_true",
                        help="decay the learning rate to a tenth along a half cosine over the budget")
    parser.add_argument("--train-refiner", action="store_true",
                        help="train the refiner over the first pass in --out and write both there")
    parser.add_argument("--refiner-channels", type=int, default=32, help="the refiner's channels (default 32)")
    parser.add_argument("--window", type=int, default=1024, help="training window in notes (default 1024)")
    parser.add_argument("--valid-every", type=int, default=3,
                        help="validate on every Nth validation song during training (default 3)")
    parser.add_argument("--batch", type=int, default=8, help="windows per step (default 8)")
    parser.add_argument("--flat-velocity-share", type=float, default=0.3,
                        help="share of training windows with every velocity equal (default 0.3)")
    parser.add_argument("--seed", type=int, default=1, help="seed (default 1, as for the shipped weights)")
    parser.add_argument("--tune-threshold", action="store_true",
                        help="choose the melody threshold on the validation split (done after --train too)")
    parser.add_argument("--split", default="test", choices=("test", "valid", "train"), help="evaluation split")
    parser.add_argument("--limit", type=int, help="evaluate the first N songs of the split only")
    parser.add_argument("--json", type=Path, help="write the evaluation as JSON here")
    parser.add_argument("--excerpt-bars", type=int,
                        help="cut each song to this many bars from its first melody note (short pieces)")
    parser.add_argument("--baseline", type=Path, help="also score the extractor stored in this folder, same songs")
    parser.add_argument("--train-stacker", action="store_true",
                        help="fit the stacker of the ensemble in --out on the validation split (needs scikit-learn)")
    parser.add_argument("--stacker-train-split", action="store_true",
                        help="--train-stacker: also fit on the train split's songs (the members' calls on songs they "
                             "trained on); the figures stay those of the validation songs")
    parser.add_argument("--stacker-stages", type=int, default=1, choices=(1, 2),
                        help="--train-stacker: 2 adds a second stage of trees over the first's calls (default 1)")
    parser.add_argument("--ensemble", type=Path, nargs="+", metavar="FOLDER",
                        help="copy these extractor folders into --out as one ensemble (P(melody) averaged) and "
                             "choose its threshold on the validation split")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"melody_extraction: {args.data} is not a folder; point --data at POP909", file=sys.stderr)
        return 2
    if args.ensemble:
        return build_ensemble(args.ensemble, args.out, args.data)
    if args.train:
        return train(args)
    if args.train_refiner:
        return train_refiner(args)
    if args.train_stacker:
        return train_stacker(args)
    if args.tune_threshold:
        tune_threshold(args.data, args.out)
        return 0
    result = evaluate(args.data, args.split, args.limit, args.out if args.out != DEFAULT_OUT else None,
                      baseline_dir=args.baseline, excerpt_bars=args.excerpt_bars)
    print_summary(result["summary"])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
