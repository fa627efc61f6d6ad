"""Shipped trained GGANs: ``load_pretrained("ggan-fsdd-small")`` in seconds, or train one from scratch.

A shipped model is two files in ``models/``: ``<file>.pt``, the networks only (no optimiser state,
loaded with ``torch.load(weights_only=True)``), and ``<file>.json``, its card: configs, the command
that trained it, measured accuracy / IS / FID, machine, date, data licence and the .pt's SHA-256.

    from ggan_lib.experiments.pretrained import load_pretrained
    pm = load_pretrained("ggan-fsdd-small")          # pm.model (eval mode, EMA generator), pm.metrics
    x = pm.sample(10)                                 # (10, 1, 64, 32) spectrograms, one per digit

Every chapter that loads it has a one-flag path that trains instead: ``load_or_train(from_scratch=True)``.

Export and measure (how models/ggan_fsdd_small.* were made)::

    python -m ggan_lib.cli.pretrained export runs/ggan_fsdd_small/best.pt models/ggan_fsdd_small.pt --card card.json
    python -m ggan_lib.cli.pretrained measure models/ggan_fsdd_small.pt   # writes the measured figures into the card
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ggan_lib.io import paths
from ggan_lib.io import atomic
from ggan_lib.io import checkpoint as ckpt
from ggan_lib.io.checkpoint import CheckpointMismatchError

FORMAT = "ggan_lib.experiments.pretrained/1"
MODELS_DIR = paths.MODELS_DIR
REGISTRY = {"ggan-fsdd-small": "ggan_fsdd_small.pt"}  # name -> file in models/
LICENCE_NOTE = ("Trained on the Free Spoken Digit Dataset (FSDD; Jakobovski/free-spoken-digit-dataset on GitHub, "
                "commit 26eb9aa; speakers george, jackson, nicolas, theo, yweweler), licensed CC BY-SA 4.0. "
                "Credit: the FSDD contributors. The weights and the audio they generate derive from that data; "
                "share them under CC BY-SA 4.0 with the same credit.")


@dataclass
class Pretrained:
    """A loaded GGAN: the networks (eval mode), its configs, the card's recorded metrics and the whole card."""

    model: nn.Module                     # GGAN with E, Ce, G, D, Dp, D2, F, Cx, Df; G holds the EMA weights by default
    model_cfg: Any                       # ggan_lib.config.ModelConfig
    train_cfg: Any                       # ggan_lib.train.ggan.TrainConfig it was trained with
    metrics: dict[str, Any] = field(default_factory=dict)  # the card's measured figures (accuracy, IS, FID, ...)
    card: dict[str, Any] = field(default_factory=dict)     # the full model card
    path: Path | None = None             # the .pt file

    @property
    def device(self) -> torch.device:
        """Device of the networks."""
        return next(self.model.parameters()).device

    @torch.no_grad()
    def sample(self, n: int, c: torch.Tensor | None = None, seed: int = 0,
               z: torch.Tensor | None = None) -> torch.Tensor:
        """n spectrograms (n, 1, H, W) = G(E(z, c)), c default 0..n-1 mod n_classes, z ~ N(0, I) from ``seed``."""
        if z is None:
            z = torch.randn(n, self.model_cfg.z_dim, generator=torch.Generator().manual_seed(seed))
        c = torch.arange(n) % self.model_cfg.n_classes if c is None else torch.as_tensor(c)
        self.model.eval()
        return self.model.G(self.model.E(z.to(self.device), c.to(self.device))).float()

    @torch.no_grad()
    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Logits Cx(F(D(x))) (B, n_classes) of spectrograms x (B, 1, H, W)."""
        self.model.eval()
        return self.model.Cx(self.model.F(self.model.D(x.to(self.device))))

    @torch.no_grad()
    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The representation f = F(D(x)) (B, z_dim) of Fig. 5."""
        self.model.eval()
        return self.model.F(self.model.D(x.to(self.device)))


# ---------------------------------------------------------------------- files
def sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def resolve(name_or_path: str | os.PathLike) -> Path:
    """A registry name ('ggan-fsdd-small') or a path to a .pt -> the .pt path (clear error when absent)."""
    if str(name_or_path) in REGISTRY:
        path = MODELS_DIR / REGISTRY[str(name_or_path)]
    else:
        path = Path(name_or_path)
        if path.suffix != ".pt" and not path.exists():
            raise KeyError(f"unknown pretrained model {str(name_or_path)!r}; shipped: {sorted(REGISTRY)} "
                           "(or give the path of an exported .pt)")
    if not path.exists():
        raise FileNotFoundError(f"{path}: pretrained weights are missing (git lfs / a partial checkout?); "
                                "train from scratch instead with load_or_train(from_scratch=True)")
    return path


def card_path(path: str | os.PathLike) -> Path:
    """The card beside a .pt: same name, .json."""
    return Path(path).with_suffix(".json")


def read_card(path: str | os.PathLike) -> dict[str, Any]:
    """The model card of a .pt ({} when there is none)."""
    p = card_path(path)
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}


def write_card(path: str | os.PathLike, card: dict[str, Any]) -> Path:
    """Atomically write the card beside the .pt."""
    return atomic.write_text(card_path(path), json.dumps(card, indent=1, sort_keys=False) + "\n")


# ---------------------------------------------------------------------- export / load
def export_state(state: dict[str, Any], name: str, use_ema: bool = True) -> dict[str, Any]:
    """The small, weights-only export of a training checkpoint state (Trainer.state_dict / best.pt)."""
    nets = {k: v.detach().cpu().float() if v.is_floating_point() else v.detach().cpu()
            for k, v in state["nets"].items()}
    if use_ema and state.get("ema_G"):
        nets.update({f"G.{k}": v.detach().cpu() for k, v in state["ema_G"].items()})  # sample with the EMA G
    return {"format": FORMAT, "name": name, "model_cfg": state["model_cfg"], "train_cfg": state["train_cfg"],
            "iteration": int(state["iteration"]), "g_is_ema": bool(use_ema and state.get("ema_G")), "nets": nets,
            "eval": json.dumps(state.get("eval", {}))}


def export_checkpoint(checkpoint: str | os.PathLike, out: str | os.PathLike, name: str,
                      card: dict[str, Any] | None = None) -> Path:
    """Training checkpoint -> models/<name>.pt (no optimiser state, G = EMA G) + card with its SHA-256."""
    state = ckpt.load_checkpoint(checkpoint)
    out = atomic.torch_save(export_state(state, name), out)
    card = {**(card or {}), "name": name, "file": out.name, "sha256": sha256(out),
            "size_mb": round(out.stat().st_size / 1e6, 2), "iteration": int(state["iteration"]),
            "model_cfg": json.loads(state["model_cfg"]), "train_cfg": json.loads(state["train_cfg"]),
            "selection": {"monitor": state.get("monitor", {}).get("best_by"), "eval": state.get("eval", {})},
            "licence": LICENCE_NOTE}
    write_card(out, card)
    return out


def _read_export(path: Path) -> dict[str, Any]:
    """torch.load(weights_only=True) of an export, with its format checked."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - a corrupt or foreign file is "not ours", said clearly
        raise CheckpointMismatchError(f"{path}: not a loadable pretrained GGAN ({type(err).__name__}: {err})") from err
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        got = state.get("format") if isinstance(state, dict) else type(state).__name__
        hint = (" (a training checkpoint: export it with ggan_lib.experiments.pretrained.export_checkpoint)"
                if got == ckpt.FORMAT else "")
        raise CheckpointMismatchError(f"{path}: expected a {FORMAT!r} file, got format {got!r}{hint}")
    return state


def _configs(state: dict[str, Any], path: Path, expect_model_cfg=None):
    """ModelConfig and TrainConfig of an export; a clear error when they are unknown or not the expected ones."""
    from ggan_lib.config import ModelConfig
    from ggan_lib.train.ggan import TrainConfig
    saved = json.loads(state["model_cfg"])
    try:
        mcfg = ModelConfig.from_dict(saved)
        tcfg = TrainConfig.from_dict(json.loads(state["train_cfg"]))
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointMismatchError(f"{path}: its configuration does not fit this version of ggan_lib: "
                                      f"{err}") from err
    if expect_model_cfg is not None:
        ckpt.check_config("ModelConfig", saved, expect_model_cfg.to_dict(), path)
    return mcfg, tcfg


def load_pretrained(name: str | os.PathLike = "ggan-fsdd-small", *, device: str | torch.device = "cpu",
                    expect_model_cfg=None, check_hash: bool = True) -> Pretrained:
    """A shipped (or exported) GGAN: networks in eval mode on ``device``, configs and the card's metrics.

    Loads with ``weights_only=True``. Raises CheckpointMismatchError naming every differing config
    field (``expect_model_cfg``) or tensor shape, and when the card's SHA-256 is not the file's.
    """
    from ggan_lib.model.networks import GGAN
    path = resolve(name)
    state = _read_export(path)
    mcfg, tcfg = _configs(state, path, expect_model_cfg)
    model = GGAN(mcfg)
    ckpt.check_shapes(state["nets"], model.state_dict(), path)
    model.load_state_dict(state["nets"])
    card = read_card(path)
    if check_hash and card.get("sha256") and card["sha256"] != sha256(path):
        raise CheckpointMismatchError(f"{path}: the card {card_path(path).name} describes another file "
                                      "(SHA-256 differs); re-export or re-measure the model")
    return Pretrained(model.to(device).eval().requires_grad_(False), mcfg, tcfg, card.get("metrics", {}), card, path)


def load_or_train(name: str = "ggan-fsdd-small", *, from_scratch: bool = False, iters: int = 2000,
                  out_dir: str | os.PathLike | None = None, device: str = "cpu", progress: bool = True,
                  fraction: float = 0.05, label_seed: int = 0) -> Pretrained:
    """The chapters' switch: the shipped model, or (from_scratch=True) the same recipe trained here for ``iters``."""
    if not from_scratch:
        return load_pretrained(name, device=device)
    from ggan_lib.cli.train import fsdd_data
    from ggan_lib.train.ggan import Trainer
    from ggan_lib.config import ModelConfig
    from ggan_lib.train.ggan import TrainConfig
    shipped = read_card(MODELS_DIR / REGISTRY[name]) if name in REGISTRY else {}  # the same recipe as shipped
    mcfg = ModelConfig.from_dict(shipped["model_cfg"]) if shipped else ModelConfig.preset("small")
    tcfg = (TrainConfig.from_dict(shipped["train_cfg"]) if shipped else TrainConfig.preset("small"))
    tcfg = tcfg.replace(device=device, progress=progress, ckpt_every=0)
    X, Xl, yl = fsdd_data(mcfg, fraction, label_seed, None, progress)
    tr = Trainer(mcfg, tcfg, X, Xl, yl, out_dir=out_dir)
    tr.train(iters)
    tr.close()
    state = export_state(tr.state_dict(), name)
    from ggan_lib.model.networks import GGAN
    model = GGAN(mcfg)
    model.load_state_dict(state["nets"])
    return Pretrained(model.to(device).eval().requires_grad_(False), mcfg, tcfg, {}, {"trained_here": iters})


# ---------------------------------------------------------------------- measurement
def _preset_of(model_cfg) -> str:
    """The preset whose spectrogram shape the model has (the round trip's resolution)."""
    from ggan_lib.config import PRESETS
    shape = tuple(model_cfg.spec_shape)
    for name, cfg in PRESETS.items():
        if tuple(cfg.spec_shape) == shape:
            return name
    raise ValueError(f"no preset has spectrograms of shape {shape}")


def measure(pm: Pretrained, *, n_clips: int = 500, n_real: int = 1000, feature_kind: str = "spatial_mean",
            seed: int = 0, n_splits: int = 10, classifier_path: str | os.PathLike | None = None, fsdd_dir=None,
            progress: bool = False) -> dict[str, Any]:
    """The card's figures, IS / FID scored exactly as Table I scores a GGAN (notebooks/evaluate.ipynb).

    FID references: ``n_real`` FSDD training clips (shuffled with ``seed``) sent through the model's
    spectrogram + PGHI round trip ('fid', the primary figure) and the same clips untouched ('fid_raw',
    mostly the front end), from ``reproduce.real_reference``; the ``n_clips`` generated clips (z from
    ``seed``, c = 0..9 cyclic, EMA generator, PGHI audio) by ``reproduce.score_generated``; the real
    test clips by ``reproduce.score_real`` (Table I's real-test row). Beside them: FSDD test accuracy of
    Cx(F(D(x))), how often the classifier hears a generated clip's intended digit ('class_agree') and
    its accuracy on round-trip test clips (the ceiling this front end allows).
    """
    from ggan_lib.experiments import reproduce as rp
    from ggan_lib.metrics import classifier_outputs, load_classifier, roundtrip_audio
    from ggan_lib.audio.pghi import spectrogram_to_audio
    preset = _preset_of(pm.model_cfg)
    acfg = rp._audio_cfg(preset)
    data = str(fsdd_dir) if fsdd_dir else "fsdd"
    X_test, y_test = rp.load_spectrograms(data, "test", preset, progress=progress)
    pred = torch.cat([pm.classify(xb).argmax(1).cpu() for xb in X_test.split(256)])
    acc = float((pred == y_test).float().mean())
    clf_path = Path(classifier_path) if classifier_path else MODELS_DIR / "metric_classifier_fsdd.pt"
    clf = load_classifier(clf_path)
    score = dict(feature_kind=feature_kind, n_splits=n_splits)
    # Table I's references and real rows (shuffled clips: IS splits must not be one digit each)
    train_waves, _ = rp.load_waves(data, "train", n_real, seed, progress=progress)
    real_train, refs = rp.real_reference(train_waves, clf, preset=preset, progress=progress, **score)
    test_waves, test_labels = rp.load_waves(data, "test", 0, seed, progress=progress)
    real_test = rp.score_real(test_waves, refs["roundtrip"], clf, preset=preset, raw_stats=refs["raw"], **score)
    specs = pm.sample(n_clips, seed=seed).cpu()
    gen = rp.score_generated(specs, refs["roundtrip"], clf, raw_stats=refs["raw"], preset=preset,
                             on_nonfinite="report", progress=progress, **score)
    # which digit the classifier hears: generated clips vs their code, round-trip test clips vs their label
    c = (torch.arange(n_clips) % pm.model_cfg.n_classes).numpy()
    gen_probs, _ = classifier_outputs(spectrogram_to_audio(specs[:, 0].double().numpy(), acfg), clf,
                                      feature_kind=feature_kind, progress=progress)
    rt_probs, _ = classifier_outputs(roundtrip_audio(test_waves, acfg), clf, feature_kind=feature_kind,
                                     progress=progress)
    n_feat = len(refs["raw"].mu)
    h, w = acfg.spec_shape
    return {"test_accuracy": acc, "n_test": len(y_test),
            "is": gen["is"], "is_std": gen["is_std"], "fid": gen["fid"], "fid_raw": gen["fid_raw"],
            "n_generated": n_clips, "n_nonfinite": gen["n_nonfinite"],
            "fid_reference": f"{real_train['n']} FSDD training clips (shuffled, seed {seed}) sent through the "
                             f"{h} x {w} spectrogram + PGHI round trip, as Table I's FID (round trip)",
            "fid_raw_reference": f"the same {real_train['n']} training clips, untouched recordings, as Table I's "
                                 "FID (raw); mostly measures the front end",
            "real_train_is": real_train["is"], "real_train_is_std": real_train["is_std"],
            "real_train_round_trip_is": real_train["is_roundtrip"], "n_real": real_train["n"],
            "real_test_is": real_test["is"], "real_test_is_std": real_test["is_std"],
            "real_test_round_trip_is": real_test["is_roundtrip"],
            "real_test_fid": real_test["fid"],          # round-trip test clips vs the round-trip reference
            "real_test_fid_raw": real_test["fid_raw"],  # raw test clips vs the raw reference
            "real_test_round_trip_fid_raw": real_test["fid_roundtrip_vs_raw"],  # the front end's share of fid_raw
            "class_agree": float((gen_probs.argmax(1) == c).mean()),  # generated clips heard as their code's digit
            "real_test_round_trip_classifier_acc": float((rt_probs.argmax(1) == np.asarray(test_labels)).mean()),
            "fid_features": f"{feature_kind} ({n_feat}-d) of models/{clf_path.name}",
            "is_splits": n_splits,
            "generated_codes": f"z ~ N(0, I) seed {seed}, c = 0..9 cyclic, EMA generator, PGHI (no Griffin-Lim)",
            "protocol": "Table I's (notebooks/evaluate.ipynb): reproduce.real_reference, score_real, score_generated"}


def machine() -> str:
    """One line describing this machine (CPU, cores, torch version)."""
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared), "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}, torch {torch.__version__}")


def main(argv=None) -> int:
    """export: training checkpoint -> models/*.pt + card; measure: write the measured figures into the card."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("checkpoint")
    e.add_argument("out")
    e.add_argument("--name", default="ggan-fsdd-small")
    e.add_argument("--card", default=None, help="JSON file with card fields to include (command, notes, ...)")
    m = sub.add_parser("measure")
    m.add_argument("path")
    m.add_argument("--n-clips", type=int, default=500)
    m.add_argument("--n-real", type=int, default=1000, help="training clips of the FID references (Table I: 1000)")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--threads", type=int, default=None)
    a = p.parse_args(argv)
    if getattr(a, "threads", None):
        torch.set_num_threads(a.threads)
    if a.cmd == "export":
        extra = json.loads(Path(a.card).read_text()) if a.card else {}
        out = export_checkpoint(a.checkpoint, a.out, a.name, extra)
        print(f"[pretrained] {out} ({out.stat().st_size / 1e6:.2f} MB)", file=sys.stderr)
        return 0
    pm = load_pretrained(a.path, check_hash=False)
    t0 = time.time()
    metrics = measure(pm, n_clips=a.n_clips, n_real=a.n_real, seed=a.seed, progress=True)
    card = read_card(a.path)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    command = "python -m ggan_lib.cli.pretrained " + " ".join(sys.argv[1:] if argv is None else argv)
    card.update(metrics=metrics, measured={"command": command, "machine": machine(), "date": when,
                                           "seconds": round(time.time() - t0, 1)}, sha256=sha256(a.path))
    write_card(a.path, card)
    print(json.dumps(metrics, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
