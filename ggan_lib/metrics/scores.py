"""Inception Score and Frechet distance with the project's digit classifier (paper IV-B, design note 5).

Generated spectrograms are first turned into audio with PGHI; the audio is what is scored, as in
the paper. Scores are comparable within the project only (own classifier, not WaveGAN's); print
real-train and real-test IS beside them (ggan_lib.metrics.reference: the real reference of every score;
ggan_lib.metrics.scoring: compute_is_fid, score_spectrograms).

FID reference. Audio that went through the log-magnitude spectrogram + PGHI round trip differs from
raw recordings in ways that have nothing to do with the generator: PGHI audio is at the normalised
scale (max |DGT| = 1), the e^-10 log floor turns digital silence (exact zeros, common in FSDD) into a
low noise floor, and at a reduced spectrogram shape (the `small` preset's 64 x 32) detail is lost.
A FID of generated audio against raw real audio therefore mostly measures the front end. The
primary reference (``reference="roundtrip"``) sends the real clips through the same round trip
(audio -> spectrogram at the generator's shape -> PGHI -> audio, :func:`roundtrip_audio`) before
taking their statistics; ``reference="raw"`` (FID against untouched recordings, the
paper's literal protocol) is kept beside it as ``fid_raw``.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np
import scipy.linalg
import torch
from scipy.special import rel_entr
from tqdm.auto import tqdm

from ggan_lib.audio import AudioConfig, audio_to_spectrogram
from ggan_lib.audio.pghi import spectrogram_to_audio
from ggan_lib.config import EvalConfig
from ggan_lib.metrics.classifier import FEATURE_KINDS, DigitClassifier, as_audio_tensor


class NonFiniteSpectrogramError(ValueError):
    """Generated spectrograms hold NaN / inf, so they cannot be scored."""


class FeatureStats(NamedTuple):
    """Mean (D,) and covariance (D, D) of classifier features over n clips."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int


DEFAULT_EVAL = EvalConfig()  # defaults of the keyword-style functions here and in reference / scoring (paper preset)
REFERENCES = ("roundtrip", "raw")  # FID reference: real clips through the round trip, or untouched


@dataclass
class ScoreResult:
    """IS (mean, std over splits), FID (NaN without real statistics), clip counts and the scored
    clips' FeatureStats (``stats``: for a FID against another reference, :meth:`fid_against`)."""

    is_mean: float
    is_std: float
    fid: float
    n_scored: int
    n_excluded: int = 0
    stats: FeatureStats | None = field(default=None, repr=False)
    preds: np.ndarray | None = field(default=None, repr=False)  # (n_scored,) the classifier's class per clip
    kept: np.ndarray | None = field(default=None, repr=False)   # indices of the scored clips in the input (None: all)

    def heard_as(self, labels, n_classes: int | None = None) -> tuple[float, list[float]]:
        """How often the classifier hears a clip as its label (labels of every *input* clip, e.g. the
        generated codes c): the overall fraction and one per class (NaN for a class with no clip)."""
        if self.preds is None:
            raise ValueError("this ScoreResult holds no predictions")
        y = np.asarray(labels)
        if len(y) != len(self.preds) + (0 if self.kept is None else self.n_excluded):
            raise ValueError(f"{len(y)} labels for {len(self.preds)} scored and {self.n_excluded} excluded clips")
        y = y if self.kept is None else y[self.kept]
        k = int(n_classes or max(int(y.max()), int(self.preds.max())) + 1)
        hit = self.preds == y
        per = [float(hit[y == i].mean()) if (y == i).any() else float("nan") for i in range(k)]
        return float(hit.mean()), per

    def fid_against(self, reference: FeatureStats | None) -> float:
        """FID of the scored clips against other FeatureStats (NaN for None), e.g. the raw-audio reference."""
        if reference is None or self.stats is None:
            return float("nan")
        return _fid_stats(self.stats, reference)

    def __str__(self) -> str:
        """One-line summary, e.g. 'IS 7.12 +- 0.05, FID 25.3 (n=5000)'."""
        bad = f", {self.n_excluded} excluded" if self.n_excluded else ""
        return f"IS {self.is_mean:.2f} +- {self.is_std:.2f}, FID {self.fid:.2f} (n={self.n_scored}{bad})"


def inception_score(probs, n_splits: int = DEFAULT_EVAL.n_splits, shuffle_seed: int | None = 0) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) || p(y))) per split of (N, C) class probabilities; (mean, std) over splits.

    Rows are shuffled (fixed seed) before splitting: class-ordered input (real clips sorted by
    digit, or a conditional generator run class by class) would otherwise make each split nearly
    one class and the score nearly 1. shuffle_seed=None splits in the given order.
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or len(p) < n_splits:
        raise ValueError(f"need (N, C) probabilities with N >= n_splits={n_splits}, got {p.shape}")
    if not np.allclose(p.sum(1), 1.0, atol=1e-4) or (p < 0).any():
        raise ValueError("rows of probs must be probability vectors (softmax outputs)")
    if shuffle_seed is not None:
        p = p[np.random.default_rng(shuffle_seed).permutation(len(p))]
    scores = []
    for part in np.array_split(p, n_splits):
        p_y = part.mean(0, keepdims=True)  # marginal p(y) of this split
        kl = rel_entr(part, p_y).sum(1)  # rel_entr(0, q) = 0: one-hot rows are fine
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def feature_statistics(features) -> FeatureStats:
    """Mean and (unbiased) covariance of (N, D) features, in float64."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"need (N, D) features with N >= 2, got {f.shape}")
    return FeatureStats(f.mean(0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1]), len(f))


def _sqrtm(a: np.ndarray) -> np.ndarray:
    """scipy.linalg.sqrtm without the deprecated error estimate."""
    return scipy.linalg.sqrtm(a)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)) (the pytorch-fid / TTUR implementation)."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    s1, s2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(f"shape mismatch: mu {mu1.shape} vs {mu2.shape}, sigma {s1.shape} vs {s2.shape}")
    diff = mu1 - mu2
    covmean = _sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        # singular product (e.g. fewer clips than feature dims): offset both diagonals, as TTUR does
        warnings.warn(f"frechet_distance: singular covariance product; adding {eps} to the diagonals")
        offset = np.eye(s1.shape[0]) * eps
        covmean = _sqrtm((s1 + offset) @ (s2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            imag = np.abs(covmean.imag).max()
            raise ValueError(f"frechet_distance: imaginary component {imag:.3g} in sqrtm")
        covmean = covmean.real
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def _fid_stats(gen: FeatureStats, ref: FeatureStats) -> float:
    """frechet_distance of two FeatureStats, with a clear error when their dimensions differ."""
    if ref.mu.shape != gen.mu.shape:
        raise ValueError(f"real statistics have {ref.mu.shape[0]} dims, the scored features "
                         f"{gen.mu.shape[0]}: computed with another feature_kind?")
    return frechet_distance(gen.mu, gen.sigma, ref.mu, ref.sigma)


class _StatsAccumulator:
    """Running sum and sum of outer products (float64), so 50k x 8,192 features are never stored."""

    def __init__(self):
        self.n, self.s, self.ss = 0, None, None

    def add(self, f: torch.Tensor) -> None:
        """Add a (B, D) batch of features."""
        f = f.double()
        if self.s is None:
            self.s = torch.zeros(f.shape[1], dtype=torch.float64, device=f.device)
            self.ss = torch.zeros(f.shape[1], f.shape[1], dtype=torch.float64, device=f.device)
        self.n += len(f)
        self.s += f.sum(0)
        self.ss += f.T @ f

    def stats(self) -> FeatureStats:
        """Mean and unbiased covariance of everything added."""
        if self.n < 2:
            raise ValueError(f"need >= 2 clips for a covariance, got {self.n}")
        mu = (self.s / self.n).cpu().numpy()
        sigma = (self.ss.cpu().numpy() - self.n * np.outer(mu, mu)) / (self.n - 1)
        return FeatureStats(mu, (sigma + sigma.T) / 2, self.n)


def _audio_batches(audio, batch_size: int):
    """Yield (B, L) slices of an audio array."""
    for i in range(0, len(audio), batch_size):
        yield audio[i:i + batch_size]


def _to_device(x, device, first: int) -> torch.Tensor:
    """float32 batch on `device`, refusing NaN / inf samples."""
    x = as_audio_tensor(x, device)
    if not torch.isfinite(x).all():
        raise ValueError(f"audio clips {first}..{first + len(x) - 1} hold NaN / inf samples")
    return x


def _probs_and_features(classifier: DigitClassifier, x: torch.Tensor, feature_kind: str):
    """Softmax probabilities (B, C) and `feature_kind` features (B, D) from one forward pass."""
    if feature_kind not in FEATURE_KINDS:
        raise ValueError(f"feature_kind {feature_kind!r} not in {FEATURE_KINDS}")
    fmap = classifier.feature_map(x)  # (B, C, H', W')
    logits = classifier.dense(fmap.flatten(1))
    feats = {"penultimate": fmap.flatten(1), "spatial_mean": fmap.mean(dim=(2, 3)), "logits": logits}
    return torch.softmax(logits.double(), 1), feats[feature_kind]


@torch.no_grad()
def classifier_outputs(audio, classifier: DigitClassifier, batch_size: int = DEFAULT_EVAL.batch_size, device="cpu",
                       feature_kind: str = DEFAULT_EVAL.feature_kind,
                       progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Softmax probabilities (N, C) and features (N, D) of audio (N, L), in batches on `device`."""
    classifier.eval().to(device)
    out, n = [], 0
    for x in tqdm(_audio_batches(audio, batch_size), desc="classify", total=-(-len(audio) // batch_size),
                  disable=not progress):
        out.append(_probs_and_features(classifier, _to_device(x, device, n), feature_kind))
        n += len(x)
    return (torch.cat([p for p, _ in out]).cpu().numpy(),
            torch.cat([f for _, f in out]).double().cpu().numpy())


@torch.no_grad()
def _probs_and_stats(batches, n_batches, classifier, device, feature_kind, progress, desc):
    """Probabilities (N, C) and streamed FeatureStats of an iterable of (B, L) audio batches."""
    classifier.eval().to(device)
    probs, acc = [], _StatsAccumulator()
    for x in tqdm(batches, desc=desc, total=n_batches, disable=not progress):
        p, f = _probs_and_features(classifier, _to_device(x, device, acc.n), feature_kind)
        probs.append(p.cpu())
        acc.add(f)
    return torch.cat(probs).numpy(), acc.stats()


def nonfinite_mask(specs) -> np.ndarray:
    """(N,) bool: True where a spectrogram (N, ..., H, W) holds any NaN / inf."""
    x = specs.detach().cpu().numpy() if isinstance(specs, torch.Tensor) else np.asarray(specs)
    return ~np.isfinite(x.reshape(len(x), -1)).all(1)


def _default_to_audio(audio_cfg, n_gla: int, pghi_tol: float = DEFAULT_EVAL.pghi_tol) -> Callable:
    """PGHI inversion (ggan_lib.audio.pghi) at audio_cfg (default AudioConfig()), + n_gla FGLA steps."""
    cfg = audio_cfg or AudioConfig()
    return lambda spec: spectrogram_to_audio(spec, cfg, n_gla=n_gla, tol=pghi_tol)


def _pghi_batches(specs, to_audio: Callable, batch_size: int):
    """Yield (B, L) float32 audio from (N, [1,] H, W) spectrograms; 50k clips never sit in memory."""
    for i in range(0, len(specs), batch_size):
        x = specs[i:i + batch_size]
        x = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
        x = x[:, 0] if x.ndim == 4 and x.shape[1] == 1 else x  # (B, H, W)
        yield np.asarray(to_audio(x), dtype=np.float32)


def _roundtrip_batches(waves, audio_cfg, batch_size: int, n_gla: int = DEFAULT_EVAL.n_gla, to_audio: Callable | None = None, *,
                       pghi_tol: float = DEFAULT_EVAL.pghi_tol):
    """Yield (B, L) float32 round-trip audio of waves (N, L), batch by batch."""
    cfg = audio_cfg or AudioConfig()
    inverse = to_audio or _default_to_audio(cfg, n_gla, pghi_tol)
    for x in _audio_batches(waves, batch_size):
        x = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
        if x.shape[-1] != cfg.signal_length:
            raise ValueError(f"round trip needs clips of {cfg.signal_length} samples, got {x.shape[-1]}")
        # an all-zero clip becomes the all-floor spectrogram, as a silent generated clip would
        spec = audio_to_spectrogram(x.astype(np.float64), cfg, silent="floor")
        yield np.asarray(inverse(spec), dtype=np.float32)


def roundtrip_audio(waves, audio_cfg=None, *, n_gla: int = DEFAULT_EVAL.n_gla, to_audio: Callable | None = None,
                    batch_size: int = DEFAULT_EVAL.batch_size, pghi_tol: float = DEFAULT_EVAL.pghi_tol) -> np.ndarray:
    """Real audio through the generator's front end and back: audio (N, L) -> log-magnitude spectrogram
    at ``audio_cfg.spec_shape`` -> PGHI (+ n_gla FGLA steps) -> audio (N, L) float32.

    This is the footing generated clips stand on (they exist only as spectrograms and reach the
    classifier as PGHI audio), so statistics of round-trip real clips are the fair FID reference:
    digital silence gets the same noise floor, the level the same normalisation (max |DGT| = 1),
    and a reduced spec_shape the same loss of detail. ``to_audio`` replaces the PGHI inversion.
    """
    x = np.asarray(waves.detach().cpu().numpy() if isinstance(waves, torch.Tensor) else waves)
    one = x.ndim == 1
    x = x[None] if one else x
    if not len(x):
        return np.empty((0, x.shape[-1]), np.float32)
    out = np.concatenate(list(_roundtrip_batches(x, audio_cfg, batch_size, n_gla, to_audio, pghi_tol=pghi_tol)))
    return out[0] if one else out


