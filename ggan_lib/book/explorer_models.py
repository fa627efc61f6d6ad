"""Which trained GGANs the explorers offer: a registry {(name, labelled fraction): model spec}.

A spec is anything :func:`load_model` takes (the project's one loader,
:func:`ggan_lib.experiments.zoo.load_model`: a Pretrained, a GGAN, a Trainer, a shipped name, an
exported .pt or a training checkpoint); specs are loaded lazily, when an explorer first needs the model. The
fraction a model was guided with comes from its card's ``fraction`` field; the reproduction's run folders
(``ggan_f<percent>_d<draw>``) are read with the label protocol's :func:`~ggan_lib.data.splits.parse_run_name`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from ggan_lib.data.splits import parse_run_name
from ggan_lib.experiments.pretrained import MODELS_DIR, REGISTRY, read_card
from ggan_lib.experiments.zoo import Pretrained
from ggan_lib.experiments.zoo import load_model as _zoo_load_model

ModelKey = tuple[str, "float | None"]  # (model name, labelled fraction it was guided with)


def load_model(spec: Any, name: str = "model") -> Pretrained:
    """A Pretrained from: a Pretrained (returned as is), a GGAN module, a Trainer, a shipped registry name
    ('ggan-fsdd-small'), an exported .pt, or a training checkpoint.pt (ggan_lib.experiments.zoo.load_model)."""
    return _zoo_load_model(spec, name=name)


def guided_fraction(pm: Any) -> float | None:
    """The labelled fraction a Pretrained (or a card dict) was guided with: the card's ``fraction``; None when unknown."""
    card = pm if isinstance(pm, Mapping) else (getattr(pm, "card", None) or {})
    frac = card.get("fraction")
    return float(frac) if isinstance(frac, (int, float)) and not isinstance(frac, bool) else None


def find_run_checkpoints(runs_dir: str | os.PathLike, file: str = "checkpoint.pt") -> dict[ModelKey, Path]:
    """GGAN runs of the reproduction (``<runs_dir>/ggan_f<percent>_d<draw>/checkpoint.pt``) that exist now:
    {("ggan draw <draw>", fraction): path}. Missing folder -> {}."""
    out: dict[ModelKey, Path] = {}
    root = Path(runs_dir)
    if not root.is_dir():
        return out
    for d in sorted(root.iterdir()):
        run = parse_run_name(d.name)
        if run is not None and run[0] == "ggan" and (d / file).is_file():
            out[(f"ggan draw {run[2]}", run[1])] = d / file
    return out


def model_registry(extra: Mapping[Any, Any] | None = None, *, shipped: bool = True) -> dict[ModelKey, Any]:
    """{(name, fraction): Pretrained | name | path}: the shipped model (fraction from its card) plus ``extra``.

    ``extra`` keys may be (name, fraction) tuples or plain names (fraction read from a Pretrained's
    card, else None). Values are loaded lazily by :func:`load_model` when the explorer first needs them.
    """
    reg: dict[ModelKey, Any] = {}
    if shipped:
        for name, file in REGISTRY.items():
            if (MODELS_DIR / file).exists():
                reg[(name, guided_fraction(read_card(MODELS_DIR / file)))] = name
    for key, spec in (extra or {}).items():
        if isinstance(key, tuple):
            reg[(str(key[0]), None if key[1] is None else float(key[1]))] = spec
        else:
            frac = guided_fraction(spec) if hasattr(spec, "card") else None
            reg[(str(key), frac)] = spec
    return reg


def as_registry(models: Any) -> dict[ModelKey, Any]:
    """One model or a mapping -> {(name, fraction): spec} (no shipped model added)."""
    if isinstance(models, Mapping):
        return model_registry(models, shipped=False)
    name = "ggan-fsdd-small" if isinstance(models, str) else "model"
    return model_registry({name: models}, shipped=False)


