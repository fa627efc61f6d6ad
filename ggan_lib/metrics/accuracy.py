"""Representation accuracy as in the paper (section IV-C): logits and features of a trained network, batched.

The label-fraction protocol that uses these (Table II) is :mod:`ggan_lib.experiments.protocol`.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import torch
from torch import nn

from ggan_lib.model.networks import GGANClassifier  # noqa: F401  (re-exported: its home was here)


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


def unwrap_model(model: Any) -> nn.Module:
    """A GGAN from a GGAN or a ggan_lib.train.ggan.Trainer (its .model)."""
    return model.model if hasattr(model, "model") and not isinstance(model, nn.Module) else model


def scored_classifier(model: Any) -> nn.Module:
    """The x -> Cx(F(D(x))) that Table II scores: a Trainer's ``classifier()`` (the average of D, F and Cx
    when it keeps one, TrainConfig.clf_ema_decay), or the networks of a GGAN (or anything with D, F, Cx)."""
    if hasattr(model, "classifier") and not isinstance(model, nn.Module):
        return model.classifier()
    return GGANClassifier(unwrap_model(model))


def ggan_accuracy(model: Any, X_test: torch.Tensor, y_test: torch.Tensor, *, batch_size: int = 256,
                  device: torch.device | str | None = None) -> float:
    """Accuracy of Cx(F(D(x_test))) for a trained GGAN or a Trainer (:func:`scored_classifier`), exactly the
    paper's Table II measure."""
    return accuracy(scored_classifier(model), X_test, y_test, batch_size=batch_size, device=device)


def features(model: nn.Module, X: torch.Tensor, *, batch_size: int = 256,
             device: torch.device | str | None = None) -> torch.Tensor:
    """model.features(X) (GGAN: F(D(x)); CNN: F(trunk(x)); ALI: E(x)) in eval mode, batched, on the CPU."""
    m = unwrap_model(model)
    m = m if hasattr(m, "features") else GGANClassifier(m)
    dev = module_device(m, device)
    m.to(dev)
    with eval_mode(m):
        return batched_apply(m.features, X, batch_size=batch_size, device=dev)
