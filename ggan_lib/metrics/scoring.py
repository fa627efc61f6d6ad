"""Scoring generated audio and spectrograms: IS and FID against a real reference (ggan_lib.metrics.reference).

:func:`compute_is_fid` scores audio (N, L); :func:`score_spectrograms` scores generated log-magnitude
spectrograms through PGHI audio, streamed in batches, refusing (or excluding) NaN / inf ones. The building
blocks (IS, Frechet distance, streamed statistics, the round trip) are in :mod:`ggan_lib.metrics.scores`.
Defaults not given are those of ``EvalConfig()`` (the paper preset's settings).
"""
from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
import torch

from ggan_lib.metrics.classifier import DigitClassifier
from ggan_lib.metrics.reference import DEFAULT_EVAL, as_reference
from ggan_lib.metrics.scores import (
    REFERENCES,
    NonFiniteSpectrogramError,
    ScoreResult,
    _audio_batches,
    _default_to_audio,
    _fid_stats,
    _pghi_batches,
    _probs_and_stats,
    _roundtrip_batches,
    inception_score,
    nonfinite_mask,
)


def _score(batches, n_batches, real, classifier, batch_size, device, n_splits, feature_kind,
           progress, **reference) -> ScoreResult:
    """IS and FID of a stream of generated audio batches."""
    probs, gen = _probs_and_stats(batches, n_batches, classifier, device, feature_kind, progress, "score")
    is_mean, is_std = inception_score(probs, n_splits)
    stats = as_reference(real, classifier, batch_size=batch_size, device=device, feature_kind=feature_kind,
                         progress=progress, **reference)
    fid = float("nan") if stats is None else _fid_stats(gen, stats)
    return ScoreResult(is_mean, is_std, fid, len(probs), stats=gen, preds=np.asarray(probs).argmax(1))


def compute_is_fid(generated_audio, real_audio_or_stats, classifier: DigitClassifier,
                   batch_size: int = DEFAULT_EVAL.batch_size, device="cpu", n_splits: int = DEFAULT_EVAL.n_splits,
                   feature_kind: str = DEFAULT_EVAL.feature_kind, progress: bool = True, *,
                   roundtrip_cfg=None, n_gla: int = DEFAULT_EVAL.n_gla) -> ScoreResult:
    """IS of audio (N, L) and its FID against real audio / FeatureStats / (mu, sigma), or NaN for None.

    Real audio given here is used raw. roundtrip_cfg (an AudioConfig): the scored audio itself is
    first sent through the spectrogram + PGHI round trip at that config, batch by batch (how real
    clips are put on the footing of generated ones; ``stats`` of the result is then a round-trip
    reference for :func:`score_spectrograms`).
    """
    n_batches = -(-len(generated_audio) // batch_size)
    batches = (_audio_batches(generated_audio, batch_size) if roundtrip_cfg is None else
               _roundtrip_batches(generated_audio, roundtrip_cfg, batch_size, n_gla, None))
    return _score(batches, n_batches, real_audio_or_stats, classifier,
                  batch_size, device, n_splits, feature_kind, progress)


def _finite_specs(specs, on_nonfinite: str, n_splits: int):
    """(the finite spectrograms, how many were not, the finite ones' indices): raise or warn per on_nonfinite."""
    if on_nonfinite not in ("raise", "exclude"):
        raise ValueError(f"on_nonfinite must be 'raise' or 'exclude', got {on_nonfinite!r}")
    bad = nonfinite_mask(specs)
    n_bad = int(bad.sum())
    if n_bad and on_nonfinite == "raise":
        raise NonFiniteSpectrogramError(f"{n_bad} of {len(bad)} spectrograms hold NaN / inf "
                                        f"(first at index {int(np.argmax(bad))}); pass "
                                        "on_nonfinite='exclude' to score the rest")
    if n_bad:
        warnings.warn(f"score_spectrograms: excluding {n_bad} of {len(bad)} spectrograms with NaN / inf",
                      stacklevel=3)
    keep = np.flatnonzero(~bad)
    if len(keep) < n_splits:
        raise NonFiniteSpectrogramError(f"only {len(keep)} finite spectrograms left, need >= {n_splits}")
    good = specs[torch.as_tensor(keep)] if isinstance(specs, torch.Tensor) else np.asarray(specs)[keep]
    return good, n_bad, keep


def score_spectrograms(specs, real_audio_or_stats, classifier: DigitClassifier, *,
                       reference: str = "roundtrip", on_nonfinite: str = "raise",
                       batch_size: int = DEFAULT_EVAL.batch_size, device="cpu", n_splits: int = DEFAULT_EVAL.n_splits,
                       feature_kind: str = DEFAULT_EVAL.feature_kind, audio_cfg=None,
                       n_gla: int = DEFAULT_EVAL.n_gla, to_audio: Callable | None = None,
                       progress: bool = True) -> ScoreResult:
    """Score generated log-magnitude spectrograms: PGHI -> audio -> IS / FID, streamed in batches.

    NaN / inf spectrograms are never scored: on_nonfinite='raise' raises NonFiniteSpectrogramError
    naming how many, 'exclude' drops them with a warning (counted in ScoreResult.n_excluded).
    `to_audio` replaces the PGHI inversion (a callable (B, H, W) -> (B, L)).

    Real audio given as the FID reference is taken per ``reference``: 'roundtrip' (default) sends it
    through the same spectrogram (audio_cfg) + inversion first, 'raw' uses it as it is (see
    ggan_lib.metrics.scores). Precomputed FeatureStats are used as given: take them with
    :func:`ggan_lib.metrics.reference.reference_statistics`.
    """
    if reference not in REFERENCES:
        raise ValueError(f"reference must be one of {REFERENCES}, got {reference!r}")
    good, n_bad, keep = _finite_specs(specs, on_nonfinite, n_splits)
    batches = _pghi_batches(good, to_audio or _default_to_audio(audio_cfg, n_gla), batch_size)
    result = _score(batches, -(-len(good) // batch_size), real_audio_or_stats, classifier, batch_size,
                    device, n_splits, feature_kind, progress, reference=reference, audio_cfg=audio_cfg,
                    n_gla=n_gla, to_audio=to_audio)
    result.n_excluded, result.kept = n_bad, (keep if n_bad else None)
    return result
