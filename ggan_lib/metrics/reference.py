"""THE real reference of IS / FID: classifier statistics of real clips, raw or through the generator's front end.

Every score in the project (the training monitor, Table I, the pretrained zoo, gender guidance) takes its
real-audio FeatureStats from here, set by one :class:`~ggan_lib.config.EvalConfig`:

* ``eval_cfg.feature_kind``: the classifier layer whose features the FID compares;
* ``eval_cfg.reference_for(spec_shape)``: ``"raw"`` (the recordings as they are) or ``"roundtrip"`` (each clip
  first goes audio -> log-magnitude spectrogram at ``spec_shape`` -> PGHI (``pghi_tol``, ``n_gla``) -> audio,
  the footing generated clips stand on; see :mod:`ggan_lib.metrics.scores`);
* ``eval_cfg.n_real``: how many training clips :func:`folder_reference` takes (shuffled with ``seed``).

:func:`reference_scores` gives the IS of the same clips too (Table I's real rows); :func:`reference_statistics`
caches the statistics as an .npz (mu, sigma, n) when given a path; :func:`folder_reference` picks the clips of a
spoken-digit folder (FSDD by default) and keys its cache under ``.cache/reference/`` by everything that matters.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ggan_lib.audio import AudioConfig
from ggan_lib.config import EvalConfig
from ggan_lib.data import default_fsdd_dir, load_digit_folder
from ggan_lib.io import atomic
from ggan_lib.io import paths as io_paths
from ggan_lib.metrics.classifier import DigitClassifier, load_classifier
from ggan_lib.metrics.scores import (
    DEFAULT_EVAL,
    REFERENCES,
    FeatureStats,
    ScoreResult,
    _audio_batches,
    _probs_and_stats,
    _roundtrip_batches,
    inception_score,
)

REFERENCE_CACHE_DIR = io_paths.CACHE_DIR / "reference"  # folder_reference's cache (git-ignored)
_CACHE_VERSION = 1  # bump when what a cached reference holds changes: old files are then not found


def reference_kind(eval_cfg: EvalConfig, spec_shape, reference: str | None = None) -> str:
    """'raw' or 'roundtrip': ``reference`` when given, else ``eval_cfg.reference_for(spec_shape)``."""
    kind = reference or eval_cfg.reference_for(tuple(spec_shape))
    if kind not in REFERENCES:
        raise ValueError(f"reference must be one of {REFERENCES}, got {kind!r}")
    return kind


def _batches(waves, eval_cfg: EvalConfig, spec_shape, kind: str, audio_cfg=None, to_audio: Callable | None = None):
    """(B, L) batches of the clips, sent through the spectrogram + PGHI round trip for kind='roundtrip'."""
    if kind == "raw":
        return _audio_batches(waves, eval_cfg.batch_size)
    acfg = audio_cfg or AudioConfig(spec_shape=tuple(spec_shape))
    return _roundtrip_batches(waves, acfg, eval_cfg.batch_size, eval_cfg.n_gla, to_audio, pghi_tol=eval_cfg.pghi_tol)


def reference_scores(classifier: DigitClassifier, waves, eval_cfg: EvalConfig, spec_shape, *,
                     reference: str | None = None, device="cpu", progress: bool = False, audio_cfg=None,
                     to_audio: Callable | None = None) -> ScoreResult:
    """IS (eval_cfg.n_splits) and FeatureStats (``.stats``) of real clips (N, L), from one classifier pass.

    The clips are taken as they are or through the round trip at ``spec_shape`` per :func:`reference_kind`;
    the FID of the result is NaN (the set is the reference). ``audio_cfg`` replaces the front end
    ``AudioConfig(spec_shape=spec_shape)``, ``to_audio`` the PGHI inversion (a callable (B, H, W) -> (B, L)).
    """
    kind = reference_kind(eval_cfg, spec_shape, reference)
    n_batches = -(-len(waves) // eval_cfg.batch_size)
    batches = _batches(waves, eval_cfg, spec_shape, kind, audio_cfg, to_audio)
    probs, stats = _probs_and_stats(batches, n_batches, classifier, device, eval_cfg.feature_kind, progress, "real")
    is_mean, is_std = inception_score(probs, eval_cfg.n_splits)
    return ScoreResult(is_mean, is_std, float("nan"), len(probs), stats=stats, preds=np.asarray(probs).argmax(1))


def read_stats(path: str | os.PathLike) -> FeatureStats:
    """FeatureStats from an .npz written by :func:`write_stats`."""
    with np.load(path) as z:
        return FeatureStats(z["mu"], z["sigma"], int(z["n"]))


def write_stats(path: str | os.PathLike, stats: FeatureStats) -> Path:
    """Write FeatureStats as an .npz (mu, sigma, n) atomically; returns the path."""
    with atomic.atomic_write(path) as fh:
        np.savez(fh, mu=stats.mu, sigma=stats.sigma, n=stats.n)
    return Path(path)


@torch.no_grad()
def reference_statistics(classifier: DigitClassifier, waves, eval_cfg: EvalConfig, spec_shape, *,
                         cache: str | os.PathLike | None = None, device="cpu", progress: bool = False,
                         reference: str | None = None) -> FeatureStats:
    """FeatureStats (eval_cfg.feature_kind) of real clips (N, L), the FID reference of a model at ``spec_shape``.

    With ``eval_cfg.reference_for(spec_shape) == "roundtrip"`` (or ``reference="roundtrip"``) the clips first
    go audio -> spectrogram at spec_shape -> PGHI (eval_cfg.pghi_tol, eval_cfg.n_gla) -> audio. ``cache``: an
    .npz path, read when present (``waves`` may then be None), else written atomically after computing.
    """
    if cache is not None and Path(cache).exists():
        return read_stats(cache)
    if waves is None:
        raise ValueError("reference_statistics needs the real clips (no cached statistics to read)")
    stats = reference_scores(classifier, waves, eval_cfg, spec_shape, reference=reference, device=device,
                             progress=progress).stats
    if cache is not None:
        write_stats(cache, stats)
    return stats


def real_statistics(real_audio, classifier: DigitClassifier, batch_size: int = DEFAULT_EVAL.batch_size, device="cpu",
                    feature_kind: str = DEFAULT_EVAL.feature_kind, progress: bool = True, *, reference: str = "raw",
                    audio_cfg=None, n_gla: int = DEFAULT_EVAL.n_gla, to_audio: Callable | None = None,
                    pghi_tol: float = DEFAULT_EVAL.pghi_tol) -> FeatureStats:
    """FeatureStats of real audio from explicit settings (the keyword form of :func:`reference_statistics`).

    reference='raw' (default here): the clips as they are. 'roundtrip': each clip first goes through
    the spectrogram (at ``audio_cfg``'s spec_shape, default AudioConfig()) + PGHI round trip
    (:func:`~ggan_lib.metrics.scores.roundtrip_audio`), the front end generated audio went through.
    """
    ev = DEFAULT_EVAL.replace(feature_kind=feature_kind, batch_size=batch_size, n_gla=n_gla, pghi_tol=pghi_tol)
    acfg = audio_cfg or AudioConfig()
    return reference_scores(classifier, real_audio, ev, acfg.spec_shape, reference=reference, device=device,
                            progress=progress, audio_cfg=acfg, to_audio=to_audio).stats


def as_reference(real, classifier, *, batch_size: int = DEFAULT_EVAL.batch_size, device="cpu",
                 feature_kind: str = DEFAULT_EVAL.feature_kind, progress: bool = True, **reference) -> FeatureStats | None:
    """None, FeatureStats, a (mu, sigma) pair or real audio (N, L) (statistics per ``reference``, see
    :func:`real_statistics`) -> FeatureStats or None."""
    if real is None or isinstance(real, FeatureStats):
        return real
    if isinstance(real, (tuple, list)) and len(real) == 2:
        mu, sigma = (np.asarray(r, dtype=np.float64) for r in real)
        return FeatureStats(mu, sigma, -1)
    return real_statistics(real, classifier, batch_size, device, feature_kind, progress, **reference)


# --------------------------------------------------------------------------- a spoken-digit folder
def _classifier_key(classifier) -> str:
    """What identifies the classifier: its checkpoint's path, size and mtime, else a hash of its weights."""
    path = getattr(classifier, "source_path", None)
    if path is not None and Path(path).exists():
        st = Path(path).stat()
        return f"{Path(path).resolve()}:{st.st_size}:{st.st_mtime_ns}"
    h = hashlib.sha1()
    for name, t in sorted(classifier.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return f"weights:{h.hexdigest()}"


def folder_cache_path(classifier, eval_cfg: EvalConfig, spec_shape, folder: Path, split: str, seed: int,
                      cache_dir=None, reference: str | None = None) -> Path:
    """The .npz of a folder reference, keyed by folder, split, n_real, seed, features, reference and classifier."""
    kind = reference_kind(eval_cfg, spec_shape, reference)
    shape = tuple(int(s) for s in spec_shape)
    parts = [f"v{_CACHE_VERSION}", str(Path(folder).resolve()), split, str(eval_cfg.n_real), str(seed),
             eval_cfg.feature_kind, kind, str(shape)]
    if kind == "roundtrip":  # the raw reference does not depend on the front end
        parts += [repr(float(eval_cfg.pghi_tol)), str(eval_cfg.n_gla)]
    parts.append(_classifier_key(classifier))
    key = hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]
    name = f"{Path(folder).name}_{split}_{eval_cfg.feature_kind}_{kind}_{shape[0]}x{shape[1]}_{key}.npz"
    return (Path(cache_dir) if cache_dir is not None else REFERENCE_CACHE_DIR) / name


def folder_clips(folder, split: str, n_real: int, seed: int = 0, progress: bool = False) -> np.ndarray:
    """n_real clips (N, L) of a digit folder split, shuffled: ``default_rng(seed).permutation(N)[:n_real]``."""
    waves, _ = load_digit_folder(folder, split, progress=progress)
    return waves[np.random.default_rng(seed).permutation(len(waves))[:n_real]]


def folder_reference(classifier, eval_cfg: EvalConfig, spec_shape, *, root=None, split: str = "train",
                     seed: int = 0, cache_dir=None, device="cpu", progress: bool = False,
                     reference: str | None = None) -> FeatureStats:
    """:func:`reference_statistics` of eval_cfg.n_real clips of a spoken-digit folder split (FSDD by default).

    ``classifier``: a DigitClassifier or the path of its checkpoint. The clips are
    :func:`folder_clips` (``np.random.default_rng(seed).permutation(N)[:n_real]``); the statistics are
    cached under ``cache_dir`` (default ``<repo>/.cache/reference/``) and the folder is read only when the
    cache has no entry for this folder, split, n_real, seed, feature kind, reference kind, spec_shape,
    PGHI tol / n_gla and classifier (checkpoint size + mtime).
    """
    if isinstance(classifier, (str, os.PathLike)):
        classifier = load_classifier(classifier, device=device)
    folder = Path(root) if root is not None else default_fsdd_dir()
    cache = folder_cache_path(classifier, eval_cfg, spec_shape, folder, split, seed, cache_dir, reference)
    waves = None if cache.exists() else folder_clips(folder, split, eval_cfg.n_real, seed, progress)
    return reference_statistics(classifier, waves, eval_cfg, spec_shape, cache=cache, device=device,
                                progress=progress, reference=reference)
