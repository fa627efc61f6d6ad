"""The label protocol in one place: stratified labelled subsets, the draws of Table II, their seeds and run names.

Table II draws ``n_draws`` labelled subsets per fraction; draw d of a protocol seeded ``seed`` uses
:func:`draw_seed` (seed + d). A training run's held-out monitoring set is drawn from the clips outside
its labelled subset with :func:`validation_seed`. Run folders of the reproduction are named by
:func:`run_name` and read back by :func:`parse_run_name`.

Test splits: FSDD's usual split tests on takes 0-4 of the *training* speakers; the paper's SC09 split keeps
its test speakers out of training. A data spec ``"<data>:test=<speaker>"`` (:func:`data_spec`) asks for the
speaker-disjoint split instead: every clip of that speaker is the test set, the other speakers train, and
Table II rotates the held-out speaker over all of them.
"""
from __future__ import annotations

import re

import numpy as np
import torch

SPEAKER_SPLIT = ":test="      # "fsdd:test=george": FSDD with speaker george as the test set (speaker-disjoint)
VALIDATION_SEED_OFFSET = 1000  # the monitoring set's seed: label_seed + this (never a label draw's seed)
_RUN_NAME = re.compile(r"(?P<method>[a-z0-9]+)_f(?P<percent>[0-9.]+)_d(?P<draw>[0-9]+)")


def _stratified_counts(counts: np.ndarray, total: int) -> np.ndarray:
    """Per-class sample sizes summing to ``total``, proportional to counts, at least 1 each."""
    present = counts > 0
    quota = counts / counts.sum() * total
    k = np.where(present, np.maximum(np.floor(quota).astype(int), 1), 0)
    k = np.minimum(k, counts)
    # largest remainders get the leftover samples (deterministic: ties go to the lower class)
    for c in np.argsort(-(quota - np.floor(quota)), kind="stable"):
        if k.sum() >= total:
            break
        if k[c] < counts[c]:
            k[c] += 1
    return k


def labelled_subset(labels, fraction: float, seed: int = 0, *, rest: bool = False):
    """Stratified random indices of ``fraction`` of the items (at least one per class).

    Reproducible for a seed, different across seeds; sorted. With ``rest=True`` returns
    (labelled, unlabelled): disjoint index arrays that together cover every item.
    """
    y = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels).astype(np.int64)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D sequence, got shape {y.shape}")
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    classes, y_idx = np.unique(y, return_inverse=True)
    counts = np.bincount(y_idx, minlength=len(classes))
    total = max(len(classes), int(round(fraction * y.size)))
    k = _stratified_counts(counts, total)
    rng = np.random.default_rng(seed)
    chosen = [rng.permutation(np.flatnonzero(y_idx == c))[:k[c]] for c in range(len(classes))]
    picked = np.sort(np.concatenate(chosen))
    if not rest:
        return picked
    return picked, np.setdiff1d(np.arange(y.size), picked)


def label_draws(labels, fraction: float, n_draws: int = 5, seed: int = 0) -> list[np.ndarray]:
    """``n_draws`` independent labelled subsets (seeds seed, seed+1, ...), as in Table II."""
    return [labelled_subset(labels, fraction, seed + i) for i in range(n_draws)]


def draw_seed(seed: int, draw: int) -> int:
    """The label seed of draw ``draw`` of a protocol seeded ``seed`` (label_draws' convention)."""
    return seed + draw


def draw_indices(labels, fraction: float, draw: int, seed: int = 0) -> np.ndarray:
    """The labelled indices of draw ``draw``: equal to ``label_draws(labels, fraction, draw + 1, seed)[draw]``."""
    return labelled_subset(labels, fraction, draw_seed(seed, draw))


def validation_seed(label_seed: int) -> int:
    """Seed of the held-out monitoring subset of a run whose labels were drawn with ``label_seed``."""
    return label_seed + VALIDATION_SEED_OFFSET


def validation_indices(labels, fraction: float, label_seed: int, n_val: int) -> np.ndarray:
    """n_val stratified indices outside the labelled subset of (fraction, label_seed): the monitoring set."""
    y = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels)
    _, rest = labelled_subset(y, fraction, label_seed, rest=True)
    return rest[labelled_subset(y[rest], min(1.0, n_val / len(rest)), validation_seed(label_seed))]


def percent(fraction: float) -> str:
    """0.05 -> '5', 0.005 -> '0.5' (percent, for run names and labels)."""
    return f"{fraction * 100:g}"


def run_name(method: str, fraction: float, draw: int) -> str:
    """The run folder of (method, fraction, draw), e.g. ``ggan_f5_d0``."""
    return f"{method}_f{percent(fraction)}_d{draw}"


def parse_run_name(name: str) -> tuple[str, float, int] | None:
    """(method, fraction, draw) of a :func:`run_name`, or None for another name."""
    m = _RUN_NAME.fullmatch(name)
    if m is None:
        return None
    return m["method"], round(float(m["percent"]) / 100, 6), int(m["draw"])


def data_spec(data: str, test_speaker: str | None = None) -> str:
    """'fsdd' (the usual split) or 'fsdd:test=george' (speaker george held out)."""
    return data if not test_speaker else f"{data}{SPEAKER_SPLIT}{test_speaker}"


def parse_data_spec(spec: str) -> tuple[str, str | None]:
    """(data, held-out test speaker or None) of a data spec; a clear error for an empty speaker."""
    data, sep, speaker = spec.partition(SPEAKER_SPLIT)
    if sep and not speaker:
        raise ValueError(f"data spec {spec!r}: no speaker after {SPEAKER_SPLIT!r}")
    return data, (speaker or None)
