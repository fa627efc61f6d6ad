"""The label-fraction protocol of Table II: draw labelled subsets, fit each method, score it on the test split.

A *method* turns (training set, labelled indices, seed) into a network x -> logits; the protocol draws the
labelled subsets (data.label_draws: stratified, seeds seed, seed+1, ...), fits, and scores every method on
the test split with the same code:

* GGAN: a GGAN trained with the draw as its guidance xl, scored by Cx(F(D(x_test)));
* unsupervised BigGAN: its (label-free) ALI encoder, plus a latent classifier trained on E(x_labelled);
* CNN: the CNN baseline trained on the labelled fraction only.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from ggan_lib.audio import AudioConfig
from ggan_lib.config import BaselineConfig, ModelConfig
from ggan_lib.data import DigitFolder, label_draws
from ggan_lib.data.splits import draw_seed
from ggan_lib.metrics.accuracy import accuracy, scored_classifier
from ggan_lib.train.baselines import train_cnn, train_latent_classifier
from ggan_lib.train.ggan import Trainer

PAPER_FRACTIONS = (0.01, 0.02, 0.03, 0.04, 0.05)  # Table II
FitFn = Callable[[torch.Tensor, torch.Tensor, np.ndarray, int], nn.Module]


@dataclass(frozen=True)
class Method:
    """A representation method for the protocol: fit(X_train, y_train, labelled_idx, seed) -> x -> logits."""

    name: str   # the table's method column
    fit: FitFn  # trains on a labelled subset and returns a network mapping x to logits


def cnn_method(model_cfg, cfg, n_iters: int | None = None, name: str = "CNN") -> Method:
    """The CNN baseline trained on the labelled subset only (BaselineConfig cfg, seed = the draw's)."""
    def fit(X, y, idx, seed):
        ix = torch.as_tensor(idx)
        return train_cnn(model_cfg, cfg.replace(seed=seed), X[ix], y[ix], n_iters)
    return Method(name, fit)


def ali_method(model_cfg, cfg, encoder: nn.Module, n_iters: int | None = None,
               name: str = "Unsupervised GAN") -> Method:
    """Unsupervised BigGAN: the trained ALI encoder (label-free, shared) + a latent classifier per draw."""
    def fit(X, y, idx, seed):
        ix = torch.as_tensor(idx)
        return train_latent_classifier(model_cfg, cfg.replace(seed=seed), encoder, X[ix], y[ix], n_iters)
    return Method(name, fit)


def ggan_method(train_fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, int], Any],
                name: str = "GGAN") -> Method:
    """GGAN: train_fn(X_train, Xl, yl, seed) trains a GGAN guided by (Xl, yl) and returns it, its Trainer or
    its scored classifier (ggan_lib.metrics.accuracy.scored_classifier)."""
    def fit(X, y, idx, seed):
        ix = torch.as_tensor(idx)
        return scored_classifier(train_fn(X, X[ix], y[ix], seed))
    return Method(name, fit)


def ggan_trainer_fn(model_cfg, train_cfg, n_iters: int) -> Callable[..., nn.Module]:
    """A train_fn for ggan_method: ggan_lib.train.ggan.Trainer on all of X_train, guided by (Xl, yl), n_iters."""
    def train_fn(X, Xl, yl, seed):
        tr = Trainer(model_cfg, train_cfg.replace(seed=seed), X, Xl, yl)
        tr.train(n_iters)
        tr.close()
        return tr.classifier()  # what Table II scores (the last iterate unless clf_ema_decay > 0)
    return train_fn


# ------------------------------------------------------------------------------------------- protocol
@dataclass
class ProtocolResult:
    """The protocol's tidy table (one row per method, fraction, draw) and its mean +- std summary."""

    rows: list[dict] = field(default_factory=list)

    def summary(self) -> list[dict]:
        """Per (method, fraction): mean and sample std (ddof 1; 0 for one draw) of the accuracy, and n."""
        keys = list(dict.fromkeys((r["method"], r["fraction"]) for r in self.rows))
        out = []
        for method, frac in keys:
            acc = np.array([r["accuracy"] for r in self.rows if r["method"] == method and r["fraction"] == frac])
            std = float(acc.std(ddof=1)) if len(acc) > 1 else 0.0
            out.append({"method": method, "fraction": frac, "mean": float(acc.mean()), "std": std, "n": len(acc)})
        return out

    def to_frame(self):
        """The rows as a pandas DataFrame (pandas imported only here)."""
        return pd.DataFrame(self.rows)

    def summary_frame(self):
        """summary() as a pandas DataFrame."""
        return pd.DataFrame(self.summary())

    def format_table(self) -> str:
        """Table II style text: one line per method and fraction, accuracy in % as mean +- std."""
        return "\n".join(f"{s['method']:>18} {s['fraction'] * 100:6.1f} %  {s['mean'] * 100:5.1f} +- "
                         f"{s['std'] * 100:4.2f}  (n={s['n']})" for s in self.summary())

    def __add__(self, other: "ProtocolResult") -> "ProtocolResult":
        """Concatenate the rows of two results (several methods in one table)."""
        return ProtocolResult(self.rows + other.rows)


def accuracy_protocol(method: Method, X_train: torch.Tensor, y_train: torch.Tensor, X_test: torch.Tensor,
                      y_test: torch.Tensor, *, fractions: Sequence[float] = PAPER_FRACTIONS, n_draws: int = 5,
                      seed: int = 0, batch_size: int = 256, device: torch.device | str | None = None,
                      progress: bool = True) -> ProtocolResult:
    """Table II: per fraction and seeded label draw, fit the method on the draw and score it on the test split."""
    y_np = torch.as_tensor(y_train).cpu().numpy()
    jobs = [(f, d, idx) for f in fractions for d, idx in enumerate(label_draws(y_np, f, n_draws, seed))]
    rows = []
    for frac, draw, idx in tqdm(jobs, desc=method.name, disable=not progress):
        t0 = time.perf_counter()
        model = method.fit(X_train, torch.as_tensor(y_train), idx, draw_seed(seed, draw))
        t1 = time.perf_counter()
        acc = accuracy(model, X_test, y_test, batch_size=batch_size, device=device)
        rows.append({"method": method.name, "fraction": float(frac), "draw": draw, "seed": draw_seed(seed, draw),
                     "n_labelled": len(idx), "accuracy": acc, "fit_sec": t1 - t0})
    return ProtocolResult(rows)


def fsdd_cnn_protocol(preset: str = "small", fractions=(0.01, 0.05), n_draws: int = 5, n_iters: int | None = None,
                      root=None, seed: int = 0, progress: bool = True):
    """CNN baseline on FSDD (usual split: takes 0-4 test) at a preset's spectrogram size; a ProtocolResult."""
    mcfg = ModelConfig.preset(preset)
    cfg = BaselineConfig.preset(preset, progress=False)
    acfg = AudioConfig(spec_shape=tuple(mcfg.spec_shape))
    X, y = DigitFolder(root, split="train", cfg=acfg, progress=progress).as_tensors()
    Xt, yt = DigitFolder(root, split="test", cfg=acfg, progress=progress).as_tensors()
    return accuracy_protocol(cnn_method(mcfg, cfg, n_iters), X, y, Xt, yt, fractions=fractions, n_draws=n_draws,
                             seed=seed, progress=progress)
