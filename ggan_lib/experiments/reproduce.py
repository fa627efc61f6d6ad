"""Reproduce Tables I and II with papermill: ``python -m ggan_lib.cli.reproduce --table 2 --preset tiny --data fsdd``.

The notebooks in ``notebooks/`` (train_ggan, train_baseline, train_metric_classifier, evaluate) hold only
orchestration; what they compute is here, so tests and other notebooks share it. The runner plans the runs
of a table, executes each notebook with papermill in its own run folder (cwd), skips runs whose
``result.json`` already holds the same parameters (a killed batch resumes where it stopped; paths inside the
repository are stored as ``<repo>/...``, see portable_params, so a clone elsewhere resumes too), reports the
notebook and cell that failed, and builds ``table1.{csv,md}`` / ``table2.{csv,md}`` with the paper's SC09
figures in adjacent columns, plus ``manifest.json`` (command, machine, date, git commit, wall times).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ggan_lib.io import atomic
from ggan_lib.data import repo_root

NOTEBOOKS_DIR = repo_root() / "notebooks"
SHIPPED_CLASSIFIER = repo_root() / "models" / "metric_classifier_fsdd.pt"
RESULT = "result.json"

# ------------------------------------------------------------------------------------ the paper's figures
# Table I (SC09): model -> (IS, IS std, FID, FID std); None where the paper gives none.
PAPER_TABLE1: dict[str, tuple[float | None, float | None, float | None, float | None]] = {
    "Real (Train Data)": (9.18, 0.04, None, None),
    "Real (Test Data)": (8.01, 0.24, None, None),
    "TiFGAN": (5.97, None, 26.7, None),
    "WaveGAN": (4.67, 0.01, None, None),
    "SpecGAN": (6.03, 0.04, None, None),
    "Supervised BigGAN": (7.33, 0.01, 24.40, 0.5),
    "Unsupervised BigGAN": (6.17, 0.2, 24.72, 0.05),
    "GGAN": (7.24, 0.05, 25.75, 0.1),
}
# Table II (SC09): labelled fraction -> method -> (accuracy %, std %).
PAPER_TABLE2: dict[float, dict[str, tuple[float, float | None]]] = {
    0.01: {"CNN": (82, 1.2), "Unsupervised GAN": (73, 1.02), "GGAN": (84, 2.24)},
    0.02: {"CNN": (83, 0.34), "Unsupervised GAN": (75, 0.41), "GGAN": (85, 1.24)},
    0.03: {"CNN": (83, 0.23), "Unsupervised GAN": (78, 0.07), "GGAN": (88, 0.1)},
    0.04: {"CNN": (84, 0.34), "Unsupervised GAN": (80, 0.01), "GGAN": (91, 0.5)},
    0.05: {"CNN": (84, 1.02), "Unsupervised GAN": (80, 1.72), "GGAN": (92, 0.87)},
    1.0: {"CNN": (96.2, None)},
}
TABLE2_METHODS = ("CNN", "Unsupervised GAN", "GGAN")

# Every notebook's `parameters` cell, name by name (tests check the notebooks against this).
NOTEBOOK_PARAMS: dict[str, tuple[str, ...]] = {
    "train_ggan": ("preset", "data", "fraction", "draw", "seed", "iters", "device", "threads", "progress"),
    "train_gender": ("preset", "unlabelled", "guidance", "test_voices_per_class", "iters", "eval_every", "n_eval",
                     "metric_classifier", "seed", "device", "threads", "progress"),
    "train_baseline": ("method", "preset", "data", "fractions", "draws", "seed", "gan_iters", "enc_iters",
                       "cnn_iters", "clf_iters", "device", "threads", "progress"),
    "train_metric_classifier": ("data", "epochs", "batch_size", "lr", "channels", "limit", "seed", "device",
                                "threads", "progress"),
    "evaluate": ("checkpoint", "kind", "preset", "data", "metric_classifier", "n_clips", "n_real", "n_splits",
                 "feature_kind", "on_nonfinite", "seed", "device", "threads", "progress"),
}

# Iteration counts and evaluation sizes per preset (--iters NAME=N overrides any of them).
RUN_DEFAULTS: dict[str, dict[str, Any]] = {
    # the paper gives no iteration counts; 50k clips and 10 splits as WaveGAN's IS
    "paper": dict(ggan=100000, gan=20000, enc=5000, cnn=2000, clf=1000, clips=50000, n_real=0,
                  classifier_epochs=10, classifier_channels=128, feature_kind="penultimate"),
    "small": dict(ggan=2000, gan=2000, enc=1000, cnn=2000, clf=1000, clips=500, n_real=1000,
                  classifier_epochs=3, classifier_channels=128, feature_kind="spatial_mean"),
    "tiny": dict(ggan=2, gan=2, enc=2, cnn=3, clf=3, clips=20, n_real=40,
                 classifier_epochs=1, classifier_channels=4, feature_kind="spatial_mean"),
}


# ------------------------------------------------------------------------------------ data (for notebooks)
def data_source(data: str, split: str) -> tuple[Path, str]:
    """(folder, split inside it) of 'fsdd', 'sc09' or a digit folder, for split 'train' or 'test'."""
    from ggan_lib.data import default_fsdd_dir, default_sc09_dir
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if data == "fsdd":
        return default_fsdd_dir(), split
    if data == "sc09":  # prepare_sc09.py writes one folder per official split
        return default_sc09_dir() / split, "all"
    return Path(data), split  # a {digit}_{speaker}_{index}.wav folder with FSDD's split (takes 0-4 test)


def load_spectrograms(data: str, split: str, preset: str, progress: bool = False):
    """X (N, 1, H, W) at the preset's spectrogram shape and labels y (N,) of one split."""
    from ggan_lib.data import DigitFolder
    folder, sub = data_source(data, split)
    return DigitFolder(folder, split=sub, cfg=_audio_cfg(preset), progress=progress).as_tensors()


def load_waves(data: str, split: str, limit: int = 0, seed: int = 0, progress: bool = False):
    """Waveforms (N, L) and labels of one split, shuffled (IS splits must not be one class each); limit > 0 keeps N."""
    from ggan_lib.metrics.train_classifier import load_digit_folder
    folder, sub = data_source(data, split)
    waves, labels = load_digit_folder(folder, sub, progress=progress)
    order = np.random.default_rng(seed).permutation(len(waves))
    order = order[:limit] if limit else order
    return waves[order], labels[order]


def draw_indices(y, fraction: float, draw: int, seed: int = 0) -> np.ndarray:
    """The labelled indices of draw `draw` (data.label_draws' seeds: seed + draw)."""
    from ggan_lib.data import labelled_subset
    return labelled_subset(y, fraction, seed + draw)


# ------------------------------------------------------------------------------------ results
def _json_default(o: Any) -> Any:
    """numpy / torch / Path values as plain JSON."""
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, (np.ndarray, torch.Tensor)):
        return o.tolist()
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write JSON atomically (never half a file): result.json is what marks a run as finished."""
    return atomic.write_json(path, obj, indent=1, default=_json_default, allow_nan=True)


def normalise(params: dict[str, Any]) -> dict[str, Any]:
    """Params as JSON would return them (tuples -> lists), so a saved and a planned set compare equal."""
    return json.loads(json.dumps(params, default=_json_default))


# Absolute paths inside the repository are stored in result.json as "<repo>/<relative path>" (the repository
# itself as "<repo>"), so a clone at another path (CI, a reader's Colab) sees the shipped runs as finished.
REPO_MARKER = "<repo>"


def portable_params(obj: Any, root: str | os.PathLike | None = None) -> Any:
    """obj with every string that is an absolute path inside `root` (default: repo_root()) written as
    "<repo>/<path relative to root>", in nested dicts and lists too; other values, and absolute paths
    outside the root, are returned unchanged. Purely lexical: the file system is not consulted.

    >>> portable_params({"checkpoint": "/r/results/x.pt", "data": "fsdd", "clf": "/elsewhere/c.pt"}, "/r")
    {'checkpoint': '<repo>/results/x.pt', 'data': 'fsdd', 'clf': '/elsewhere/c.pt'}
    """
    root_s = os.path.normpath(os.fspath(repo_root() if root is None else root))
    return _map_strings(obj, lambda s: _portable_path(s, root_s))


def resolve_params(obj: Any, root: str | os.PathLike | None = None) -> Any:
    """The inverse of portable_params: "<repo>/..." strings as absolute paths under `root` (default:
    repo_root()); everything else unchanged. Use it on params read back from a result.json as paths."""
    root_s = os.path.normpath(os.fspath(repo_root() if root is None else root))
    return _map_strings(obj, lambda s: _resolved_path(s, root_s))


def _portable_path(s: str, root: str) -> str:
    """'<repo>/rel' for an absolute path s inside root, else s."""
    if not os.path.isabs(s):
        return s
    norm = os.path.normpath(s)
    if norm == root:
        return REPO_MARKER
    prefix = root if root.endswith(os.sep) else root + os.sep
    if not norm.startswith(prefix):
        return s
    return REPO_MARKER + "/" + Path(norm[len(prefix):]).as_posix()


def _resolved_path(s: str, root: str) -> str:
    """The absolute path of a '<repo>' or '<repo>/rel' string under root, else s."""
    if s == REPO_MARKER:
        return root
    if s.startswith(REPO_MARKER + "/"):
        return str(Path(root, *s[len(REPO_MARKER) + 1:].split("/")))
    return s


def _map_strings(obj: Any, fn) -> Any:
    """obj with fn applied to every string in it (dict values, list / tuple items, recursively)."""
    if isinstance(obj, str):
        return fn(obj)
    if isinstance(obj, dict):
        return {k: _map_strings(v, fn) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_map_strings(v, fn) for v in obj]
    return obj


def params_from(namespace: dict[str, Any], notebook: str) -> dict[str, Any]:
    """A notebook's parameters, picked from its globals() by NOTEBOOK_PARAMS (what result.json records)."""
    return normalise({k: namespace[k] for k in NOTEBOOK_PARAMS[notebook]})


def write_result(out_dir: str | os.PathLike, notebook: str, params: dict[str, Any], metrics: dict[str, Any],
                 **extra: Any) -> Path:
    """out_dir/result.json: the notebook, its parameters, its metrics (atomically; written last in a notebook).

    Paths inside the repository in params and in the extra fields (checkpoint, encoder, ...) are stored
    in portable_params' "<repo>/..." form; resolve_params turns them back into absolute paths."""
    rec = {"notebook": notebook, "params": portable_params(normalise(params)), "metrics": metrics,
           "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
           **portable_params(normalise(extra))}
    return atomic_write_json(Path(out_dir) / RESULT, rec)


def read_result(run_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The run's result.json, or None when missing or unreadable (a run that never finished)."""
    p = Path(run_dir) / RESULT
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def set_threads(threads: int) -> None:
    """torch CPU threads (0: torch's default); on a shared machine fewer threads can be faster."""
    if threads:
        torch.set_num_threads(int(threads))


# ------------------------------------------------------------------------------------ checkpoints
GENERATOR_KINDS = ("ggan", "supervised_biggan", "unsupervised_biggan")


@dataclass
class LoadedGenerator:
    """A generator from a training checkpoint: kind, ModelConfig, the network(s) in eval mode."""

    kind: str
    model_cfg: Any
    net: torch.nn.Module        # GGAN (EMA G when saved) or the baseline's G
    path: Path

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, batch_size: int = 64, device: str = "cpu") -> torch.Tensor:
        """n spectrograms (n, 1, H, W) on the CPU: z ~ N(0, I) from `seed`, classes 0..n_classes-1 cyclic."""
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(n, self.model_cfg.z_dim, generator=g)
        c = torch.arange(n) % self.model_cfg.n_classes
        net = self.net.to(device).eval()
        out = []
        for zb, cb in zip(z.split(batch_size), c.split(batch_size)):
            zb, cb = zb.to(device), cb.to(device)
            if self.kind == "ggan":
                x = net.G(net.E(zb, cb))
            elif self.kind == "supervised_biggan":
                x = net(zb, cb)
            else:
                x = net(zb)
            out.append(x.float().cpu())
        return torch.cat(out)


def _checkpoint_kind(state: dict[str, Any]) -> str:
    """'ggan' for a Trainer checkpoint, else the baseline trainer's kind."""
    return state.get("kind", "ggan" if "ema_G" in state else "unknown")


def load_generator(path: str | os.PathLike, preset: str, kind: str | None = None) -> LoadedGenerator:
    """Load a GGAN / BigGAN checkpoint for a preset; CheckpointMismatchError naming both sides otherwise."""
    from ggan_lib.io import checkpoint as ckpt
    from ggan_lib.config import PRESETS, ModelConfig
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} not found (train it first, or pass the right path)")
    state = ckpt.load_checkpoint(path)
    got = _checkpoint_kind(state)
    if kind is not None and got != kind:
        raise ckpt.CheckpointMismatchError(f"{path}: a {got!r} checkpoint, but the evaluation expects {kind!r}")
    if got not in GENERATOR_KINDS:
        raise ckpt.CheckpointMismatchError(f"{path}: a {got!r} checkpoint has no generator; "
                                           f"expected one of {GENERATOR_KINDS}")
    saved = ModelConfig.from_json(state["model_cfg"])
    want = ModelConfig.preset(preset)
    if saved != want:
        names = [n for n, p in PRESETS.items() if p == saved]
        who = f"preset {names[0]!r}" if names else "a custom ModelConfig"
        try:
            ckpt.check_config("ModelConfig", saved.to_dict(), want.to_dict(), path)
        except ckpt.CheckpointMismatchError as e:
            raise ckpt.CheckpointMismatchError(f"{e}\n(checkpoint {path}: {who}; requested: preset {preset!r})") \
                from None
    net, weights = _generator_net(got, want, state)
    ckpt.check_shapes(weights, net.state_dict(), path)
    net.load_state_dict(weights)
    if got == "ggan" and state.get("ema_G"):
        net.G.load_state_dict(state["ema_G"])  # sample with the EMA generator, as Trainer.sample does
    return LoadedGenerator(got, want, net.eval(), path)


def _generator_net(kind: str, cfg, state: dict[str, Any]):
    """(network to fill, its weights from the state) for a checkpoint kind."""
    from ggan_lib.model.baselines import ConditionalGenerator, UnconditionalGenerator
    from ggan_lib.model.networks import GGAN
    if kind == "ggan":
        return GGAN(cfg), state["nets"]
    make = ConditionalGenerator if kind == "supervised_biggan" else UnconditionalGenerator
    return make(cfg=cfg), state["nets"]["G"]


# ------------------------------------------------------------------------------------ scores
def _audio_cfg(preset: str):
    """AudioConfig at the preset's spectrogram shape (what its generator's audio went through)."""
    from ggan_lib.audio import AudioConfig
    from ggan_lib.config import ModelConfig
    return AudioConfig(spec_shape=tuple(ModelConfig.preset(preset).spec_shape))


def score_generated(specs: torch.Tensor, real_stats, classifier, *, preset: str, feature_kind: str,
                    n_splits: int = 10, on_nonfinite: str = "report", device: str = "cpu",
                    progress: bool = False, raw_stats=None) -> dict[str, Any]:
    """IS / FID of generated spectrograms through PGHI audio; NaN / inf ones are counted and, by default,
    nothing is scored (a diverged generator gets NaN scores and a note, never a number).

    real_stats: the primary FID reference, real clips sent through the same spectrogram + PGHI round
    trip (``real_reference(...)[1]["roundtrip"]``) -> 'fid'. raw_stats: untouched real clips -> 'fid_raw'
    (NaN when not given); it mostly measures the front end, see ggan_lib.metrics.scores.
    on_nonfinite: 'report' (any non-finite spectrogram: no scores) or 'exclude' (score the finite rest).
    """
    from ggan_lib.metrics import score_spectrograms
    from ggan_lib.metrics.scores import nonfinite_mask
    if on_nonfinite not in ("report", "exclude"):
        raise ValueError(f"on_nonfinite must be 'report' or 'exclude', got {on_nonfinite!r}")
    n_bad = int(nonfinite_mask(specs).sum())
    out: dict[str, Any] = {"n_generated": len(specs), "n_nonfinite": n_bad, "is": math.nan, "is_std": math.nan,
                           "fid": math.nan, "fid_raw": math.nan, "fid_reference": "roundtrip", "note": ""}
    if n_bad:
        out["note"] = f"{n_bad}/{len(specs)} generated spectrograms hold NaN/inf (diverged generator)"
        print(f"WARNING: {out['note']}; " + ("not scored" if on_nonfinite == "report" else "scoring the rest"),
              file=sys.stderr)
        if on_nonfinite == "report" or len(specs) - n_bad < n_splits:
            return out
    res = score_spectrograms(specs, real_stats, classifier, on_nonfinite="exclude", device=device,
                             n_splits=n_splits, feature_kind=feature_kind, audio_cfg=_audio_cfg(preset),
                             progress=progress)
    out.update({"is": res.is_mean, "is_std": res.is_std, "fid": res.fid, "fid_raw": res.fid_against(raw_stats),
                "n_scored": res.n_scored})
    return out


def _real_scores(waves: np.ndarray, classifier, *, feature_kind: str, n_splits: int, device: str,
                 preset: str | None, progress: bool = False):
    """ScoreResults (with FeatureStats) of real audio as it is and, for a preset, through its round trip."""
    from ggan_lib.metrics import compute_is_fid
    kw = dict(device=device, n_splits=n_splits, feature_kind=feature_kind, progress=progress)
    raw = compute_is_fid(waves, None, classifier, **kw)
    rt = None if preset is None else compute_is_fid(waves, None, classifier, roundtrip_cfg=_audio_cfg(preset), **kw)
    return raw, rt


def _real_row(raw, rt) -> dict[str, float]:
    """Table I's real-row fields of the raw and round-trip ScoreResults."""
    row = {"is": raw.is_mean, "is_std": raw.is_std, "n": raw.n_scored}
    if rt is not None:  # the IS ceiling the front end allows
        row.update({"is_roundtrip": rt.is_mean, "is_roundtrip_std": rt.is_std})
    return row


def real_reference(waves: np.ndarray, classifier, *, preset: str, feature_kind: str, n_splits: int = 10,
                   device: str = "cpu", progress: bool = False) -> tuple[dict[str, float], dict[str, Any]]:
    """The FID references of real (training) audio and Table I's real-train row, in one pass per reference.

    Returns (row, refs): row = IS of the raw clips and of their round trip at the preset's spectrogram
    shape ('is_roundtrip'), FIDs NaN (the set is the reference); refs = {"roundtrip": FeatureStats,
    "raw": FeatureStats} for score_generated / score_real.
    """
    raw, rt = _real_scores(waves, classifier, feature_kind=feature_kind, n_splits=n_splits, device=device,
                           preset=preset, progress=progress)
    row = {**_real_row(raw, rt), "fid": math.nan, "fid_raw": math.nan}
    return row, {"roundtrip": rt.stats, "raw": raw.stats}


def score_real(waves: np.ndarray, real_stats, classifier, *, feature_kind: str, n_splits: int = 10,
               device: str = "cpu", preset: str | None = None, raw_stats=None) -> dict[str, float]:
    """IS (and FID) of real audio, as Table I's real-test row.

    With a preset, the clips are also sent through the round trip at its spectrogram shape:
    'is_roundtrip', 'fid' = round-trip clips vs real_stats (a round-trip reference, see
    real_reference), 'fid_raw' = raw clips vs raw_stats and 'fid_roundtrip_vs_raw' = round-trip clips vs
    raw_stats (what the front end alone adds to a raw-reference FID). Without one: 'fid' = raw clips vs
    real_stats.
    """
    raw, rt = _real_scores(waves, classifier, feature_kind=feature_kind, n_splits=n_splits, device=device,
                           preset=preset)
    row = _real_row(raw, rt)
    row["fid"] = (raw if rt is None else rt).fid_against(real_stats)
    row["fid_raw"] = raw.fid_against(raw_stats)
    if rt is not None:  # round-trip clips vs the raw reference: the front end's share of any fid_raw
        row["fid_roundtrip_vs_raw"] = rt.fid_against(raw_stats)
    return row


# ------------------------------------------------------------------------------------ planning
@dataclass
class Run:
    """One notebook execution: a name (its folder under runs/), the notebook, its parameters, what it needs."""

    name: str
    notebook: str
    params: dict[str, Any]
    needs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Exactly the notebook's parameters, no more, no fewer (a typo would silently be ignored)."""
        want, got = set(NOTEBOOK_PARAMS[self.notebook]), set(self.params)
        if want != got:
            raise ValueError(f"run {self.name}: parameters {sorted(got ^ want)} do not match "
                             f"notebooks/{self.notebook}.ipynb's {sorted(want)}")


@dataclass
class Options:
    """What the runner needs from the command line."""

    preset: str
    data: str
    out: Path
    fractions: tuple[float, ...]
    draws: int
    iters: dict[str, Any]
    device: str = "cpu"
    seed: int = 0
    threads: int = 0
    table1_fraction: float = 0.05
    metric_classifier: str | None = None
    progress: bool = True

    def data_path(self) -> str:
        """'fsdd', 'sc09' or the folder as an absolute path (notebooks run in their own cwd)."""
        return self.data if self.data in ("fsdd", "sc09") else str(Path(self.data).resolve())


def _fmt(f: float) -> str:
    """0.05 -> '5', 0.005 -> '0.5' (percent, for run names)."""
    return f"{f * 100:g}"


def _common(o: Options) -> dict[str, Any]:
    """Parameters every training notebook shares."""
    return {"preset": o.preset, "data": o.data_path(), "seed": o.seed, "device": o.device,
            "threads": o.threads, "progress": o.progress}


def ggan_run(o: Options, fraction: float, draw: int) -> Run:
    """GGAN guided by draw `draw` of `fraction` labels (Table II cell; Table I uses 5 %, draw 0)."""
    p = {**_common(o), "fraction": fraction, "draw": draw, "iters": o.iters["ggan"]}
    return Run(f"ggan_f{_fmt(fraction)}_d{draw}", "train_ggan", p)


def baseline_run(o: Options, method: str, fractions: Sequence[float] = (), draws: int = 0, name: str = "") -> Run:
    """A train_baseline run: 'supervised', 'unsupervised' (+ ALI and latent classifiers) or 'cnn'."""
    used = {"supervised": ("gan",), "unsupervised": ("gan", "enc", "clf"), "cnn": ("cnn",)}[method]
    # iteration counts a method does not use are 0, so changing them never invalidates its finished run
    iters = {f"{k}_iters": o.iters[k] if k in used else 0 for k in ("gan", "enc", "cnn", "clf")}
    p = {**_common(o), "method": method, "fractions": list(fractions), "draws": draws, **iters}
    return Run(name or method, "train_baseline", p)


def classifier_run(o: Options) -> Run:
    """The IS / FID metric classifier trained on the data's training split."""
    p = {"data": o.data_path(), "epochs": o.iters["classifier_epochs"], "batch_size": 32, "lr": 1e-3,
         "channels": o.iters["classifier_channels"], "limit": 0, "seed": o.seed, "device": o.device,
         "threads": o.threads, "progress": o.progress}
    return Run("metric_classifier", "train_metric_classifier", p)


def evaluate_run(o: Options, train: Run, kind: str, checkpoint: str, classifier: str, needs: tuple[str, ...]) -> Run:
    """Score a trained run's checkpoint: IS / FID through PGHI audio, accuracy, real-train / real-test IS."""
    p = {"checkpoint": str(o.out / "runs" / train.name / checkpoint), "kind": kind, "preset": o.preset,
         "data": o.data_path(), "metric_classifier": classifier, "n_clips": o.iters["clips"],
         "n_real": o.iters["n_real"], "n_splits": 10, "feature_kind": o.iters["feature_kind"],
         "on_nonfinite": "report", "seed": o.seed, "device": o.device, "threads": o.threads,
         "progress": o.progress}
    return Run(f"eval_{train.name}", "evaluate", p, needs)


def plan_table2(o: Options) -> list[Run]:
    """Table II: CNN per fraction (all draws), CNN at 100 %, unsupervised GAN + ALI, GGAN per fraction x draw."""
    runs = [baseline_run(o, "cnn", [f], o.draws, f"cnn_f{_fmt(f)}") for f in o.fractions]
    runs.append(baseline_run(o, "cnn", [1.0], 1, "cnn_f100"))
    runs.append(baseline_run(o, "unsupervised", o.fractions, o.draws))
    runs += [ggan_run(o, f, d) for f in o.fractions for d in range(o.draws)]
    return runs


def plan_table1(o: Options) -> list[Run]:
    """Table I: metric classifier (unless given), supervised / unsupervised BigGAN, GGAN, and their evaluations."""
    runs, needs = [], ()
    clf = o.metric_classifier
    if clf == "train":
        clf = None
    elif clf is None and o.data == "fsdd" and o.preset != "tiny" and SHIPPED_CLASSIFIER.is_file():
        clf = str(SHIPPED_CLASSIFIER)  # the shipped FSDD classifier (models/README.md) saves a training run
    if clf is None:
        crun = classifier_run(o)
        runs.append(crun)
        clf, needs = str(o.out / "runs" / crun.name / "classifier.pt"), (crun.name,)
    sup = baseline_run(o, "supervised")
    unsup = baseline_run(o, "unsupervised", o.fractions, o.draws)  # the same run as Table II's
    gg = ggan_run(o, o.table1_fraction, 0)
    runs += [sup, unsup, gg]
    runs += [evaluate_run(o, sup, "supervised_biggan", "gan/supervised_biggan.pt", clf, needs + (sup.name,)),
             evaluate_run(o, unsup, "unsupervised_biggan", "gan/unsupervised_biggan.pt", clf, needs + (unsup.name,)),
             evaluate_run(o, gg, "ggan", "checkpoint.pt", clf, needs + (gg.name,))]
    return runs


def plan(table: int, o: Options) -> list[Run]:
    """The runs of Table I or II."""
    return {1: plan_table1, 2: plan_table2}[table](o)


# ------------------------------------------------------------------------------------ execution
@dataclass
class RunRecord:
    """What happened to one run in this invocation."""

    name: str
    notebook: str
    status: str                 # 'done', 'skipped' (already finished), 'failed', 'blocked' (a need failed),
                                # 'elsewhere' (claimed by another runner working on the same --out)
    wall_s: float = 0.0         # seconds of the notebook run (for a skipped run: when it was done)
    error: str = ""
    executed: str = ""          # the executed notebook's path
    extra: dict[str, Any] = field(default_factory=dict)


RUNTIME_PARAMS = frozenset({"device", "threads", "progress"})  # change how, not what, a run computes


def is_finished(run: Run, run_dir: Path, root: str | os.PathLike | None = None) -> bool:
    """True when run_dir/result.json exists and holds this run's parameters (runtime ones aside).

    Both sides are compared in portable_params' form (paths inside the repository `root`, default
    repo_root(), relative to it), so results written in a clone at another path still count."""
    res = read_result(run_dir)
    if res is None or not isinstance(res.get("params"), dict):
        return False
    strip = lambda p: {k: v for k, v in portable_params(p, root).items() if k not in RUNTIME_PARAMS}
    return strip(res["params"]) == strip(normalise(run.params))


def describe_failure(run: Run, nb_path: Path, executed: Path, err: Exception) -> str:
    """'<run>: notebook X failed in cell N (source head): Error: message' for a papermill failure."""
    from papermill.exceptions import PapermillExecutionError
    if isinstance(err, PapermillExecutionError):
        head = " | ".join(ln for ln in err.source.strip().splitlines()[:3])
        return (f"{run.name}: notebook {nb_path} failed in cell {err.cell_index} (execution count "
                f"{err.exec_count}): `{head}`\n    {err.ename}: {err.evalue}\n    executed copy: {executed}")
    return f"{run.name}: notebook {nb_path} could not run: {type(err).__name__}: {err}"


def execute(run: Run, out: Path, *, progress: bool = True, kernel: str = "python3") -> RunRecord:
    """Run the notebook with papermill in out/runs/<name> (cwd), the executed copy beside result.json."""
    import papermill as pm
    run_dir = out / "runs" / run.name
    run_dir.mkdir(parents=True, exist_ok=True)
    nb_path = NOTEBOOKS_DIR / f"{run.notebook}.ipynb"
    executed = run_dir / f"{run.notebook}.ipynb"
    stale = run_dir / RESULT
    if stale.exists():  # another parameter set finished here before: never mix its result with this run
        stale.unlink()
    t0 = time.perf_counter()
    try:
        pm.execute_notebook(str(nb_path), str(executed), parameters=run.params, kernel_name=kernel,
                            cwd=str(run_dir), progress_bar=progress)
    except Exception as err:  # noqa: BLE001 - any failure is reported with the notebook and cell
        return RunRecord(run.name, run.notebook, "failed", time.perf_counter() - t0,
                         describe_failure(run, nb_path, executed, err), str(executed))
    wall = time.perf_counter() - t0
    if not is_finished(run, run_dir):
        return RunRecord(run.name, run.notebook, "failed", wall,
                         f"{run.name}: notebook {nb_path} finished without writing {RESULT} for these parameters",
                         str(executed))
    return RunRecord(run.name, run.notebook, "done", wall, executed=str(executed))


CLAIM = ".claim"  # in a run folder while a runner executes it: {"pid", "host", "started"}


def _read_claim(path: Path) -> dict[str, Any] | None:
    """The claim's {"pid", "host", ...}; {} while it is being written; None when there is none."""
    try:
        return json.loads(path.read_text() or "{}")
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError):
        return {}


def _claim_owner_alive(info: dict[str, Any]) -> bool:
    """True unless the claim was made on this host by a process that no longer exists."""
    if info.get("host") != socket.gethostname():
        return True  # another machine sharing the folder: trust its claim
    try:
        os.kill(int(info.get("pid", -1)), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, OverflowError):
        return True
    return True


def claim_run(run_dir: Path) -> bool:
    """Claim run_dir for this process (O_EXCL create of .claim); a stale claim (dead process) is taken over.

    Several runners started on the same --out share the work this way: each takes the next
    unclaimed run (e.g. one per GPU, or one per CPU core with --threads 1)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / CLAIM
    me = {"pid": os.getpid(), "host": socket.gethostname(),
          "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            info = _read_claim(path)
            if info is None:  # released in the meantime: try again
                continue
            if not info:
                return False  # being written right now: a live claim
            if info.get("pid") == os.getpid() and info.get("host") == me["host"]:
                return True
            if _claim_owner_alive(info):
                return False
            path.unlink(missing_ok=True)  # stale: its runner was killed; take the run over
            continue
        with os.fdopen(fd, "w") as f:
            json.dump(me, f)
        return True
    return False


def release_run(run_dir: Path) -> None:
    """Drop this process's claim on run_dir."""
    (run_dir / CLAIM).unlink(missing_ok=True)


def claimed_elsewhere(run_dir: Path) -> bool:
    """True while another live runner holds run_dir's claim."""
    info = _read_claim(run_dir / CLAIM)
    if info is None:
        return False
    return not info or (info.get("pid") != os.getpid() and _claim_owner_alive(info))


def run_all(runs: list[Run], out: Path, *, keep_going: bool = False, progress: bool = True,
            log=print, poll_s: float = 30.0) -> list[RunRecord]:
    """Execute the planned runs in order: skip finished ones, block those whose needs failed, stop or go on.

    Runs claimed by another runner on the same `out` are left to it ('elsewhere'); a run that
    needs one of them waits until it finishes (or its runner dies: then the need counts as failed)."""
    records: list[RunRecord] = []
    failed: set[str] = set()
    by_name = {r.name: r for r in runs}
    for i, run in enumerate(runs, 1):
        tag = f"[{i}/{len(runs)}] {run.name} ({run.notebook})"
        run_dir = out / "runs" / run.name
        if is_finished(run, run_dir):
            res = read_result(run_dir) or {}
            # the wall time and date of the invocation that did the work, so the manifest keeps them
            records.append(RunRecord(run.name, run.notebook, "skipped", float(res.get("wall_s", 0.0)),
                                     extra={"result": str(run_dir / RESULT),
                                            "finished": res.get("finished", "")}))
            log(f"{tag}: already finished, skipped")
            continue
        for need in run.needs:  # wait for needs another runner is executing
            need_dir = out / "runs" / need
            if need in by_name and claimed_elsewhere(need_dir):
                log(f"{tag}: waiting for {need} (another runner)")
                while claimed_elsewhere(need_dir) and not is_finished(by_name[need], need_dir):
                    time.sleep(poll_s)
                if not is_finished(by_name[need], need_dir):
                    failed.add(need)
        blocked = [n for n in run.needs if n in failed]
        if blocked:
            failed.add(run.name)
            records.append(RunRecord(run.name, run.notebook, "blocked", error=f"needs failed run(s) {blocked}"))
            log(f"{tag}: blocked, needs failed run(s) {blocked}")
            continue
        if not claim_run(run_dir):
            records.append(RunRecord(run.name, run.notebook, "elsewhere", error="claimed by another runner"))
            log(f"{tag}: claimed by another runner, left to it")
            continue
        try:
            if is_finished(run, run_dir):  # finished by another runner between the check and the claim
                records.append(RunRecord(run.name, run.notebook, "skipped"))
                continue
            log(f"{tag}: running")
            rec = execute(run, out, progress=progress)
        finally:
            release_run(run_dir)
        records.append(rec)
        if rec.status != "done":
            failed.add(run.name)
            log(f"FAILED {rec.error}")
            if not keep_going:
                break
        else:
            log(f"{tag}: done in {rec.wall_s:.1f} s")
    return records


# ------------------------------------------------------------------------------------ tables
def _pm(mean: float | None, std: float | None, digits: int = 2) -> str:
    """'7.24 ± 0.05', '7.24' or '' for Markdown cells."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return ""
    if std is None or (isinstance(std, float) and math.isnan(std)):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _metrics(out: Path, name: str) -> dict[str, Any] | None:
    """metrics of runs/<name>/result.json, or None."""
    res = read_result(out / "runs" / name)
    return None if res is None else res.get("metrics")


def table1(out: Path, runs: list[Run]):
    """Table I as a DataFrame: our IS / FID beside the paper's, one row per model (paper-only rows too)."""
    import pandas as pd
    ev = {r.params["kind"]: _metrics(out, r.name) for r in runs if r.notebook == "evaluate"}
    real = next((m for m in ev.values() if m), None) or {}
    ours = {"Real (Train Data)": real.get("real_train"), "Real (Test Data)": real.get("real_test"),
            "Supervised BigGAN": (ev.get("supervised_biggan") or {}).get("generated"),
            "Unsupervised BigGAN": (ev.get("unsupervised_biggan") or {}).get("generated"),
            "GGAN": (ev.get("ggan") or {}).get("generated")}
    rows = []
    for model, (p_is, p_is_std, p_fid, p_fid_std) in PAPER_TABLE1.items():
        m = ours.get(model) or {}
        rows.append({"model": model, "is_mean": m.get("is"), "is_std": m.get("is_std"),
                     "paper_is_mean": p_is, "paper_is_std": p_is_std,
                     "fid": m.get("fid"),  # vs round-trip real train audio; real train: NaN (the reference)
                     "fid_raw": m.get("fid_raw"),  # vs raw real train audio (mostly the front end)
                     "is_roundtrip": m.get("is_roundtrip"),  # real rows: IS after the round trip
                     "paper_fid_mean": p_fid, "paper_fid_std": p_fid_std, "note": m.get("note", "")})
    return pd.DataFrame(rows)


def table1_frame(df):
    """Table I for reading: 'mean ± std' text cells, ours beside the paper's (display() shows it as a table)."""
    import pandas as pd
    return pd.DataFrame({"Model": df["model"],
                         "IS (ours)": [_pm(a, b) for a, b in zip(df["is_mean"], df["is_std"])],
                         "IS (paper, SC09)": [_pm(a, b) for a, b in zip(df["paper_is_mean"], df["paper_is_std"])],
                         "FID (ours, round trip)": [_pm(a, None) for a in df["fid"]],
                         "FID (ours, raw)": [_pm(a, None) for a in df["fid_raw"]],
                         "FID (paper, SC09)": [_pm(a, b) for a, b in zip(df["paper_fid_mean"], df["paper_fid_std"])],
                         "note": df["note"]})


def table1_markdown(df) -> str:
    """Table I as Markdown with 'mean ± std' cells (table1_frame's text)."""
    return table1_frame(df).to_markdown(index=False, disable_numparse=True)  # keep '0.00', not tabulate's '0'


TABLE1_NOTE = ("FID (round trip): against real training clips sent through the same spectrogram + PGHI round "
               "trip as the generated ones (the primary figure); FID (raw): against the untouched recordings, "
               "which mostly measures the front end (digital silence, level, resolution).")


def table2_rows(out: Path, runs: list[Run]) -> list[dict[str, Any]]:
    """Every (method, fraction, draw, accuracy) row of the Table II runs' results."""
    rows = []
    for r in runs:
        m = _metrics(out, r.name)
        if m:
            rows += m.get("rows", [])
    return rows


def table2(out: Path, runs: list[Run]):
    """Table II as a DataFrame: per fraction, mean / std / n accuracy (%) per method beside the paper's."""
    import pandas as pd
    from ggan_lib.experiments.protocol import ProtocolResult
    summ = {(s["method"], s["fraction"]): s for s in ProtocolResult(table2_rows(out, runs)).summary()}
    planned = {r.params["fraction"] for r in runs if "fraction" in r.params}
    planned |= {f for r in runs for f in r.params.get("fractions", [])}
    fractions = sorted(planned | {f for _, f in summ})  # a planned row stays (empty) until its runs finish
    rows = []
    for f in fractions:
        row: dict[str, Any] = {"fraction": f}
        for meth in TABLE2_METHODS:
            s = summ.get((meth, f))
            paper = PAPER_TABLE2.get(round(f, 4), {}).get(meth, (None, None))
            row.update({f"{meth} mean": None if s is None else 100 * s["mean"],
                        f"{meth} std": None if s is None else 100 * s["std"],
                        f"{meth} n": 0 if s is None else s["n"],
                        f"{meth} paper mean": paper[0], f"{meth} paper std": paper[1]})
        rows.append(row)
    return pd.DataFrame(rows)


def table2_frame(df):
    """Table II for reading: 'Training data size' then, per method, ours and the paper's (SC09) side by side,
    as text cells (display() shows it as a table)."""
    import pandas as pd
    cols = {"Training data size": [f"{f * 100:g} %" for f in df["fraction"]]}
    for meth in TABLE2_METHODS:
        cols[f"{meth} (ours, n)"] = [f"{_pm(a, b, 1)} (n={n})" if n else "" for a, b, n in
                                     zip(df[f"{meth} mean"], df[f"{meth} std"], df[f"{meth} n"])]
        cols[f"{meth} (paper, SC09)"] = [_pm(a, b, 2) for a, b in zip(df[f"{meth} paper mean"],
                                                                      df[f"{meth} paper std"])]
    return pd.DataFrame(cols)


def table2_markdown(df) -> str:
    """Table II as Markdown (table2_frame's text)."""
    return table2_frame(df).to_markdown(index=False, disable_numparse=True)


def write_table(out: Path, table: int, runs: list[Run]) -> tuple[Path, Path]:
    """out/table{1,2}.csv and .md (atomically)."""
    df = table1(out, runs) if table == 1 else table2(out, runs)
    md = table1_markdown(df) if table == 1 else table2_markdown(df)
    title = {1: "Table I: IS / FID of generated audio (PGHI), project classifier",
             2: "Table II: test accuracy (%) by labelled fraction, mean ± std over draws"}[table]
    note = f"\n{TABLE1_NOTE}\n" if table == 1 else ""
    csv_path, md_path = out / f"table{table}.csv", out / f"table{table}.md"
    for path, text in ((csv_path, df.to_csv(index=False)), (md_path, f"# {title}\n\n{md}\n{note}")):
        atomic.write_text(path, text)
    return csv_path, md_path


def load_table(out: str | os.PathLike, table: int, *, missing: str = "none"):
    """out/table{1,2}.csv as a DataFrame (what the runner wrote), e.g. load_table("results/fsdd-small", 2).

    When the file is absent (the batch has not finished, or never ran): missing='none' prints a note
    saying which file and how to make it and returns None; missing='raise' raises FileNotFoundError.
    """
    import pandas as pd
    if table not in (1, 2):
        raise ValueError(f"table must be 1 or 2, got {table!r}")
    if missing not in ("none", "raise"):
        raise ValueError(f"missing must be 'none' or 'raise', got {missing!r}")
    path = Path(out) / f"table{table}.csv"
    if not path.is_file():
        msg = (f"{path} does not exist yet: the runner writes it when a batch finishes "
               f"(python -m ggan_lib.cli.reproduce --table {table} --out {Path(out)} ...)")
        if missing == "raise":
            raise FileNotFoundError(msg)
        print(f"Note: {msg}")
        return None
    df = pd.read_csv(path)
    if "note" in df.columns:  # an empty note reads back as NaN
        df["note"] = df["note"].astype(object).fillna("")
    return df


# ------------------------------------------------------------------------------------ manifest
def git_commit() -> str:
    """HEAD of the repository (+ '-dirty' with uncommitted changes), or 'unknown'."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo_root(), capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo_root(),
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine() -> str:
    """One line: CPU, cores, OS, Python, torch, CUDA device if any."""
    gpu = f", {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}, torch {torch.__version__}{gpu}")


def write_manifest(out: Path, argv: Sequence[str], table: int, records: list[RunRecord]) -> Path:
    """out/manifest.json: command, machine, date, git commit and per-run status / wall time (merged by table).

    Paths inside the repository are written in portable_params' "<repo>/..." form."""
    path = out / "manifest.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    tables = old.get("tables", {})
    # a run another runner executed ('elsewhere' here) keeps the record that runner wrote
    before = {r.get("name"): r for r in tables.get(str(table), {}).get("runs", [])}
    runs = [before.get(r.name, r.__dict__) if r.status == "elsewhere" else r.__dict__ for r in records]
    runs = portable_params(normalise(runs))  # executed notebooks, result files: "<repo>/..." as in result.json
    tables[str(table)] = {"command": "python -m ggan_lib.cli.reproduce " + " ".join(argv),
                          "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                          "machine": machine(), "git_commit": git_commit(), "runs": runs}
    return atomic_write_json(path, {"tables": tables})


# ------------------------------------------------------------------------------------ command line
def _iters(pairs: Sequence[str], preset: str) -> dict[str, Any]:
    """The preset's RUN_DEFAULTS with NAME=VALUE overrides (ints where the default is an int)."""
    out = dict(RUN_DEFAULTS[preset])
    for pair in pairs:
        key, sep, val = pair.partition("=")
        if not sep or key not in out:
            raise SystemExit(f"--iters takes NAME=VALUE with NAME in {sorted(out)}, got {pair!r}")
        out[key] = type(out[key])(val)
    return out


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line arguments."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                epilog="--iters names: " + ", ".join(RUN_DEFAULTS["tiny"]))
    p.add_argument("--table", type=int, choices=[1, 2], required=True)
    p.add_argument("--preset", default="small", choices=sorted(RUN_DEFAULTS))
    p.add_argument("--data", default="fsdd", help="fsdd, sc09 or a folder of {digit}_{speaker}_{index}.wav")
    p.add_argument("--fractions", type=float, nargs="+", default=[0.01, 0.02, 0.03, 0.04, 0.05])
    p.add_argument("--draws", type=int, default=5, help="label draws per fraction (paper: 5)")
    p.add_argument("--table1-fraction", type=float, default=0.05, help="labels guiding Table I's GGAN (paper: 5 %%)")
    p.add_argument("--iters", nargs="*", default=[], metavar="NAME=N", help="override iteration counts / sizes")
    p.add_argument("--metric-classifier", default=None,
                   help="IS / FID classifier .pt, or 'train' (default: models/metric_classifier_fsdd.pt for "
                        "fsdd small / paper, else train one in the run)")
    p.add_argument("--out", default=None, help="results folder (default results/<data>-<preset>)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads in each notebook (0: torch's default; default 1 for tiny, where "
                        "oversubscribed threads make tiny networks ~100x slower)")
    p.add_argument("--keep-going", action="store_true", help="go on after a failed run (its dependants are blocked)")
    # several runners may share one --out: each claims the next free run (runs/<name>/.claim)
    p.add_argument("--dry-run", action="store_true", help="print the plan and exit")
    p.add_argument("--no-progress", action="store_true")
    return p.parse_args(argv)


def options(a: argparse.Namespace) -> Options:
    """Options from parsed arguments."""
    name = a.data if a.data in ("fsdd", "sc09") else Path(a.data).name
    out = Path(a.out or repo_root() / "results" / f"{name}-{a.preset}").resolve()
    clf = a.metric_classifier
    clf = str(Path(clf).resolve()) if clf not in (None, "train") else clf
    threads = a.threads if a.threads is not None else (1 if a.preset == "tiny" else 0)
    return Options(a.preset, a.data, out, tuple(a.fractions), a.draws, _iters(a.iters, a.preset), a.device,
                   a.seed, threads, a.table1_fraction, clf, not a.no_progress)


def print_plan(runs: list[Run], out: Path) -> None:
    """One line per run: would run / would skip, and its main parameters."""
    for i, r in enumerate(runs, 1):
        state = "finished" if is_finished(r, out / "runs" / r.name) else "to run"
        keys = {k: v for k, v in r.params.items() if k not in ("device", "threads", "progress", "data")}
        print(f"{i:3d}. {r.name:<24} {r.notebook:<24} {state:<9} {json.dumps(keys)}")


def main(argv: Sequence[str] | None = None) -> int:
    """Plan, run (resuming), build the table and the manifest; exit code 1 when a run failed."""
    argv = list(sys.argv[1:] if argv is None else argv)
    a = parse_args(argv)
    o = options(a)
    runs = plan(a.table, o)
    print(f"Table {'I' * a.table}: {len(runs)} runs in {o.out}")
    if a.dry_run:
        print_plan(runs, o.out)
        return 0
    records = run_all(runs, o.out, keep_going=a.keep_going, progress=o.progress)
    csv_path, md_path = write_table(o.out, a.table, runs)
    write_manifest(o.out, argv, a.table, records)
    print(md_path.read_text())
    elsewhere = [r.name for r in records if r.status == "elsewhere"]
    if elsewhere:
        print(f"{len(elsewhere)} run(s) left to other runners on {o.out}: {', '.join(elsewhere)}; "
              "the last runner to finish writes the complete table")
    bad = [r for r in records if r.status in ("failed", "blocked")]
    for r in bad:
        print(f"{r.status.upper()}: {r.error}", file=sys.stderr)
    return 1 if bad or len(records) < len(runs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
