"""Shipped trained GGANs: ``load_pretrained("ggan-fsdd-small")`` in seconds, or train one from scratch.

A shipped model is two files in ``models/``: ``<file>.pt``, the networks only (no optimiser state,
loaded with ``torch.load(weights_only=True)``), and ``<file>.json``, its card: configs, the command
that trained it, measured accuracy / IS / FID, machine, date, data licence and the .pt's SHA-256.

    from ggan_lib.experiments.pretrained import load_pretrained
    pm = load_pretrained("ggan-fsdd-small")          # pm.model (eval mode, EMA generator), pm.metrics
    x = pm.sample(10)                                 # (10, 1, 64, 32) spectrograms, one per digit

Loading is ggan_lib.experiments.zoo (``load_model`` takes exports, checkpoints, Trainers and networks
alike); this module makes the shipped files: export, measure, and the chapters' one-flag path that trains
instead, ``load_or_train(from_scratch=True)``.

Export and measure (how models/ggan_fsdd_small.* were made)::

    python -m ggan_lib.cli.pretrained export runs/ggan_fsdd_small/best.pt models/ggan_fsdd_small.pt --card card.json
    python -m ggan_lib.cli.pretrained measure models/ggan_fsdd_small.pt   # writes the measured figures into the card
"""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import torch

from ggan_lib.config import PRESETS, ModelConfig, TrainConfig
from ggan_lib.config.training import STANDING_BATCH_SIZE
from ggan_lib.data import fsdd_data
from ggan_lib.experiments.reproduce.data import audio_cfg, load_spectrograms, load_waves
from ggan_lib.experiments.reproduce.scoring import (
    eval_config,
    generated_codes,
    real_reference,
    score_generated,
    score_real,
)
from ggan_lib.experiments.zoo import (
    FORMAT,
    MODELS_DIR,
    REGISTRY,
    Pretrained,
    card_path,
    ggan_from_weights,
    load_model,
    load_pretrained,
    read_card,
    resolve,
    sha256,
    write_card,
)
from ggan_lib.io import atomic
from ggan_lib.io import checkpoint as ckpt
from ggan_lib.metrics import load_classifier
from ggan_lib.metrics.train_classifier import heldout_summary
from ggan_lib.train.ggan import Trainer

__all__ = ["FORMAT", "MODELS_DIR", "REGISTRY", "LICENCE_NOTE", "Pretrained", "card_path", "export_checkpoint",
           "export_state", "load_model", "load_or_train", "load_pretrained", "machine", "measure", "measure_card",
           "read_card", "resolve", "sha256", "write_card"]

LICENCE_NOTE = ("Trained on the Free Spoken Digit Dataset (FSDD; Jakobovski/free-spoken-digit-dataset on GitHub, "
                "commit 26eb9aa; speakers george, jackson, nicolas, theo, yweweler), licensed CC BY-SA 4.0. "
                "Credit: the FSDD contributors. The weights and the audio they generate derive from that data; "
                "share them under CC BY-SA 4.0 with the same credit.")


# ---------------------------------------------------------------------- export
def export_state(state: dict[str, Any], name: str, use_ema: bool = True) -> dict[str, Any]:
    """The small, weights-only export of a training checkpoint state (Trainer.state_dict / best.pt)."""
    def weights(sd: dict[str, torch.Tensor], prefix: str = "") -> dict[str, torch.Tensor]:
        return {prefix + k: v.detach().cpu().float() if v.is_floating_point() else v.detach().cpu()
                for k, v in sd.items()}

    nets = weights(state["nets"])
    if use_ema and state.get("ema_G"):
        nets.update({f"G.{k}": v.detach().cpu() for k, v in state["ema_G"].items()})  # sample with the EMA G
    for net, sd in (state.get("ema_clf") or {}).items():  # classify with the scored path (Trainer.classifier)
        nets.update(weights(sd, f"{net}."))
    return {"format": FORMAT, "name": name, "model_cfg": state["model_cfg"], "train_cfg": state["train_cfg"],
            "iteration": int(state["iteration"]), "g_is_ema": bool(use_ema and state.get("ema_G")),
            "classifier_is_ema": bool(state.get("ema_clf")), "nets": nets,
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


def load_or_train(name: str = "ggan-fsdd-small", *, from_scratch: bool = False, iters: int = 2000,
                  out_dir: str | os.PathLike | None = None, device: str = "cpu", progress: bool = True,
                  fraction: float = 0.05, label_seed: int = 0) -> Pretrained:
    """The chapters' switch: the shipped model, or (from_scratch=True) the same recipe trained here for ``iters``."""
    if not from_scratch:
        return load_pretrained(name, device=device)
    shipped = read_card(MODELS_DIR / REGISTRY[name]) if name in REGISTRY else {}  # the same recipe as shipped
    mcfg = ModelConfig.from_dict(shipped["model_cfg"]) if shipped else ModelConfig.preset("small")
    tcfg = (TrainConfig.from_dict(shipped["train_cfg"]) if shipped else TrainConfig.preset("small"))
    tcfg = tcfg.replace(device=device, progress=progress, ckpt_every=0)
    X, Xl, yl = fsdd_data(mcfg, fraction, label_seed, None, progress)
    tr = Trainer(mcfg, tcfg, X, Xl, yl, out_dir=out_dir)
    tr.train(iters)
    tr.close()
    export = export_state(tr.state_dict(), name)
    model = ggan_from_weights(mcfg, export["nets"])
    return Pretrained(model.to(device), mcfg, tcfg, {}, {"trained_here": iters}, g_is_ema=export["g_is_ema"])


# ---------------------------------------------------------------------- measurement
def _preset_of(model_cfg) -> str:
    """The preset whose spectrogram shape the model has (the round trip's resolution)."""
    shape = tuple(model_cfg.spec_shape)
    for name, cfg in PRESETS.items():
        if tuple(cfg.spec_shape) == shape:
            return name
    raise ValueError(f"no preset has spectrograms of shape {shape}")


def _real_rows(data: str, clf, preset: str, n_real: int, seed: int, score: dict, progress: bool):
    """Table I's references and real rows (shuffled clips: IS splits must not be one digit each)."""
    train_waves, _ = load_waves(data, "train", n_real, seed, progress=progress)
    real_train, refs = real_reference(train_waves, clf, preset=preset, progress=progress, **score)
    test_waves, test_labels = load_waves(data, "test", 0, seed, progress=progress)
    real_test = score_real(test_waves, refs["roundtrip"], clf, preset=preset, raw_stats=refs["raw"],
                           labels=test_labels, **score)
    return real_train, refs, real_test


def _card_figures(gen, real_train, real_test, seed: int, shape, n_clips: int) -> dict[str, Any]:
    """The measured figures of generated and real audio, as the card names them."""
    h, w = shape
    return {"is": gen["is"], "is_std": gen["is_std"], "fid": gen["fid"], "fid_raw": gen["fid_raw"],
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
            "real_test_round_trip_fid_raw": real_test["fid_roundtrip_vs_raw"]}  # the front end's share of fid_raw


def measure(pm: Pretrained, *, n_clips: int | None = None, n_real: int | None = None, feature_kind: str | None = None,
            seed: int = 0, n_splits: int | None = None, classifier_path: str | os.PathLike | None = None,
            fsdd_dir=None, progress: bool = False) -> dict[str, Any]:
    """The card's figures, IS / FID scored exactly as Table I scores a GGAN (notebooks/evaluate.ipynb).

    FID references: ``n_real`` FSDD training clips (shuffled with ``seed``) sent through the model's
    spectrogram + PGHI round trip ('fid', the primary figure) and the same clips untouched ('fid_raw',
    mostly the front end), from ``reproduce.real_reference``; the ``n_clips`` generated clips (z from
    ``seed``, c = 0..9 cyclic, EMA generator, PGHI audio) by ``reproduce.score_generated``; the real
    test clips by ``reproduce.score_real`` (Table I's real-test row). Beside them: FSDD test accuracy of
    Cx(F(D(x))), how often the classifier hears a generated clip's intended digit ('class_agree') and
    its accuracy on round-trip test clips (the ceiling this front end allows). n_real, feature_kind,
    n_splits: default the EvalConfig of the model's preset; n_clips: as many as the real reference holds
    (IS per split depends on the clips per split: a generated IS is compared with a real one at equal
    counts and splits, see :func:`ggan_lib.metrics.inception_score`).
    """
    preset = _preset_of(pm.model_cfg)
    ev = eval_config(preset, feature_kind, n_splits)
    acfg, data = audio_cfg(preset), str(fsdd_dir) if fsdd_dir else "fsdd"
    X_test, y_test = load_spectrograms(data, "test", preset, progress=progress)
    pred = torch.cat([pm.classify(xb).argmax(1).cpu() for xb in X_test.split(256)])
    clf_path = Path(classifier_path) if classifier_path else MODELS_DIR / "metric_classifier_fsdd.pt"
    clf = load_classifier(clf_path)
    score = dict(feature_kind=ev.feature_kind, n_splits=ev.n_splits)
    real_train, refs, real_test = _real_rows(
        data, clf, preset, ev.n_real if n_real is None else n_real, seed, score, progress)
    n_clips = real_train["n"] if n_clips is None else n_clips
    specs = pm.sample(n_clips, seed=seed).cpu()
    gen = score_generated(specs, refs["roundtrip"], clf, raw_stats=refs["raw"], preset=preset,
                          on_nonfinite="report", progress=progress, codes=generated_codes(pm.kind, n_clips, pm.model_cfg.n_classes), **score)
    return {"test_accuracy": float((pred == y_test).float().mean()), "n_test": len(y_test),
            **_card_figures(gen, real_train, real_test, seed, acfg.spec_shape, n_clips),
            "class_agree": gen["heard_as_code"],  # generated clips heard as their code's digit
            "class_agree_per_code": gen.get("heard_per_code"),
            "real_test_round_trip_classifier_acc": real_test["heard_as_label_roundtrip"],
            "judge": heldout_summary(clf, acfg.spec_shape, clf_path),  # on a speaker it never heard (own or recipe)
            "fid_features": f"{ev.feature_kind} ({len(refs['raw'].mu)}-d) of models/{clf_path.name}",
            "is_splits": ev.n_splits,
            "generated_codes": (f"z ~ N(0, I) seed {seed}, c = 0..9 cyclic, {pm.sampling['generator']} G, standing BN "
                                f"statistics of {pm.standing_batches} x {STANDING_BATCH_SIZE} codes, PGHI (no Griffin-Lim)"),
            "sampling": pm.sampling,
            "protocol": "Table I's (notebooks/evaluate.ipynb): reproduce.real_reference, score_real, score_generated"}


def machine() -> str:
    """One line describing this machine (CPU, cores, torch version)."""
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared), "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}, torch {torch.__version__}")


def measure_card(path: str | os.PathLike, command: str, *, n_clips: int | None = None, n_real: int | None = None,
                 seed: int = 0, progress: bool = True) -> dict[str, Any]:
    """Measure an exported model and write the figures into its card (with command, machine, date, time)."""
    pm = load_pretrained(path, check_hash=False)
    t0 = time.time()
    metrics = measure(pm, n_clips=n_clips, n_real=n_real, seed=seed, progress=progress)
    card = read_card(path)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    card.update(metrics=metrics, measured={"command": command, "machine": machine(), "date": when,
                                           "seconds": round(time.time() - t0, 1)}, sha256=sha256(path))
    write_card(path, card)
    return metrics
