"""Representation accuracy as in the paper (section IV-C, Table II) and the label-fraction protocol.

A *method* turns (training set, labelled indices, seed) into a network x -> logits; the protocol draws the
labelled subsets (data.label_draws: stratified, seeds seed, seed+1, ...), fits, and scores every method on
the test split with the same code:

* GGAN: a GGAN trained with the draw as its guidance xl, scored by Cx(F(D(x_test)));
* unsupervised BigGAN: its (label-free) ALI encoder, plus a latent classifier trained on E(x_labelled);
* CNN: the CNN baseline trained on the labelled fraction only.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from ggan_lib.data import label_draws

PAPER_FRACTIONS = (0.01, 0.02, 0.03, 0.04, 0.05)  # Table II
FitFn = Callable[[torch.Tensor, torch.Tensor, np.ndarray, int], nn.Module]


@contextlib.contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """Put every submodule in eval mode for the block, then restore each one's own flag."""
    flags = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for m, was in flags:
            m.training = was


def module_device(module: nn.Module, device: torch.device | str | None = None) -> torch.device:
    """device if given, else the device of the module's first parameter (cpu if it has none)."""
    if device is not None:
        return torch.device(device)
    p = next(module.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


@torch.no_grad()
def batched_apply(fn: Callable[[torch.Tensor], torch.Tensor], X: torch.Tensor, *, batch_size: int = 256,
                  device: torch.device | str = "cpu") -> torch.Tensor:
    """fn over X in mini-batches moved to device; the outputs concatenated on the CPU as float32."""
    outs = [fn(X[i:i + batch_size].to(device, torch.float32)).float().cpu() for i in range(0, len(X), batch_size)]
    return torch.cat(outs)


def predict_logits(model: nn.Module, X: torch.Tensor, *, batch_size: int = 256,
                   device: torch.device | str | None = None) -> torch.Tensor:
    """model(X) in eval mode, batched; the model is moved to device when one is given. (N, n_classes) on CPU."""
    dev = module_device(model, device)
    model.to(dev)
    with eval_mode(model):
        return batched_apply(model, X, batch_size=batch_size, device=dev)


def accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, batch_size: int = 256,
             device: torch.device | str | None = None) -> float:
    """Fraction of X whose argmax logit is y."""
    pred = predict_logits(model, X, batch_size=batch_size, device=device).argmax(1)
    return float((pred == torch.as_tensor(y).cpu()).float().mean())


class GGANClassifier(nn.Module):
    """A trained GGAN's classification path as one module: x -> Cx(F(D(x))) (section IV-C)."""

    def __init__(self, model: nn.Module):  # a GGAN (or anything with D, F, Cx), e.g. Trainer.model
        super().__init__()
        self.D, self.F, self.Cx = model.D, model.F, model.Cx

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 1, H, W) -> logits (B, n_classes)."""
        return self.Cx(self.F(self.D(x)))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 1, H, W) -> f = F(D(x)) (B, z_dim), the representation of Fig. 5."""
        return self.F(self.D(x))


def _unwrap(model: Any) -> nn.Module:
    """A GGAN from a GGAN or a ggan_lib.trainer.Trainer (its .model)."""
    return model.model if hasattr(model, "model") and not isinstance(model, nn.Module) else model


def ggan_accuracy(model: Any, X_test: torch.Tensor, y_test: torch.Tensor, *, batch_size: int = 256,
                  device: torch.device | str | None = None) -> float:
    """Accuracy of Cx(F(D(x_test))) for a trained GGAN (or a Trainer), exactly the paper's Table II measure."""
    return accuracy(GGANClassifier(_unwrap(model)), X_test, y_test, batch_size=batch_size, device=device)


def features(model: nn.Module, X: torch.Tensor, *, batch_size: int = 256,
             device: torch.device | str | None = None) -> torch.Tensor:
    """model.features(X) (GGAN: F(D(x)); CNN: F(trunk(x)); ALI: E(x)) in eval mode, batched, on the CPU."""
    m = _unwrap(model)
    m = m if hasattr(m, "features") else GGANClassifier(m)
    dev = module_device(m, device)
    m.to(dev)
    with eval_mode(m):
        return batched_apply(m.features, X, batch_size=batch_size, device=dev)


# ------------------------------------------------------------------------------------------- methods
@dataclass(frozen=True)
class Method:
    """A representation method for the protocol: fit(X_train, y_train, labelled_idx, seed) -> x -> logits."""

    name: str   # the table's method column
    fit: FitFn  # trains on a labelled subset and returns a network mapping x to logits


def cnn_method(model_cfg, cfg, n_iters: int | None = None, name: str = "CNN") -> Method:
    """The CNN baseline trained on the labelled subset only (BaselineConfig cfg, seed = the draw's)."""
    from ggan_lib.baseline_training import train_cnn

    def fit(X, y, idx, seed):
        ix = torch.as_tensor(idx)
        return train_cnn(model_cfg, cfg.replace(seed=seed), X[ix], y[ix], n_iters)
    return Method(name, fit)


def ali_method(model_cfg, cfg, encoder: nn.Module, n_iters: int | None = None,
               name: str = "Unsupervised GAN") -> Method:
    """Unsupervised BigGAN: the trained ALI encoder (label-free, shared) + a latent classifier per draw."""
    from ggan_lib.baseline_training import train_latent_classifier

    def fit(X, y, idx, seed):
        ix = torch.as_tensor(idx)
        return train_latent_classifier(model_cfg, cfg.replace(seed=seed), encoder, X[ix], y[ix], n_iters)
    return Method(name, fit)


def ggan_method(train_fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, int], Any],
                name: str = "GGAN") -> Method:
    """GGAN: train_fn(X_train, Xl, yl, seed) trains a GGAN guided by (Xl, yl) and returns it (or its Trainer)."""
    def fit(X, y, idx, seed):
        ix = torch.as_tensor(idx)
        return GGANClassifier(_unwrap(train_fn(X, X[ix], y[ix], seed)))
    return Method(name, fit)


def ggan_trainer_fn(model_cfg, train_cfg, n_iters: int) -> Callable[..., nn.Module]:
    """A train_fn for ggan_method: ggan_lib.trainer.Trainer on all of X_train, guided by (Xl, yl), n_iters."""
    from ggan_lib.trainer import Trainer

    def train_fn(X, Xl, yl, seed):
        tr = Trainer(model_cfg, train_cfg.replace(seed=seed), X, Xl, yl)
        tr.train(n_iters)
        tr.close()
        return tr.model
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
        import pandas as pd
        return pd.DataFrame(self.rows)

    def summary_frame(self):
        """summary() as a pandas DataFrame."""
        import pandas as pd
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
    from tqdm.auto import tqdm

    y_np = torch.as_tensor(y_train).cpu().numpy()
    jobs = [(f, d, idx) for f in fractions for d, idx in enumerate(label_draws(y_np, f, n_draws, seed))]
    rows = []
    for frac, draw, idx in tqdm(jobs, desc=method.name, disable=not progress):
        t0 = time.perf_counter()
        model = method.fit(X_train, torch.as_tensor(y_train), idx, seed + draw)
        t1 = time.perf_counter()
        acc = accuracy(model, X_test, y_test, batch_size=batch_size, device=device)
        rows.append({"method": method.name, "fraction": float(frac), "draw": draw, "seed": seed + draw,
                     "n_labelled": len(idx), "accuracy": acc, "fit_sec": t1 - t0})
    return ProtocolResult(rows)
