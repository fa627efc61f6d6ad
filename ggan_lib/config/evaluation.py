"""How IS / FID are scored (EvalConfig, its presets, the PGHI tolerance) and evaluation during training (MonitorConfig)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ggan_lib.config.base import NONNEG, POS_INT, PresetConfig, check_ranges
from ggan_lib.config.model import AudioConfig

# --------------------------------------------------------------------------- evaluation
PGHI_TOL = 1e-7  # tifresi's PGHI tolerance: the default of ggan_lib.audio.pghi and of EvalConfig.pghi_tol
CRITERIA = {"fid": -1, "is": +1, "acc": +1, "none": 0}  # +1: higher is better
# The valid range of every number of EvalConfig and MonitorConfig (config.base.check_ranges).
EVAL_RANGES = {"pghi_tol": (0, 1, False, True), "n_gla": NONNEG, "n_splits": POS_INT,
               "n_real": (2, None, False, False), "batch_size": POS_INT}
MONITOR_RANGES = {"every": NONNEG, "n_clips": (2, None, False, False), "seed": NONNEG, "n_grid": NONNEG,
                  "n_audio": NONNEG, "min_delta": NONNEG, "patience": NONNEG, "batch_size": POS_INT}


@dataclass(frozen=True)
class EvalConfig(PresetConfig):
    """How generated audio is scored (IS / FID) everywhere: feature layer, reference, PGHI settings, clip counts.

    The one place for these defaults: the monitor, Table I, the pretrained zoo and gender guidance all read
    an EvalConfig (``EvalConfig.preset(name)``) instead of writing their own.
    """

    feature_kind: str = "penultimate"   # FID features of the metric classifier: "penultimate", "spatial_mean", "logits"
    reference: str = "auto"             # FID reference: "raw" recordings, "roundtrip" (through the model's front end
                                        # and PGHI), or "auto": raw at 256 x 128, roundtrip below
    pghi_tol: float = PGHI_TOL          # PGHI: coefficients below tol * max are not integrated (tifresi's value)
    n_gla: int = 0                      # fast Griffin-Lim iterations after PGHI
    n_splits: int = 10                  # IS splits
    n_real: int = 1000                  # real training clips for the reference statistics
    batch_size: int = 64                # classifier batch

    def __post_init__(self) -> None:
        """Validate choices."""
        if self.feature_kind not in ("penultimate", "spatial_mean", "logits"):
            raise ValueError(f"feature_kind must be 'penultimate', 'spatial_mean' or 'logits', not {self.feature_kind!r}")
        if self.reference not in ("auto", "raw", "roundtrip"):
            raise ValueError(f"reference must be 'auto', 'raw' or 'roundtrip', not {self.reference!r}")
        check_ranges(self, EVAL_RANGES)

    def reference_for(self, spec_shape: tuple[int, int]) -> str:
        """The FID reference at a model's spectrogram shape ('auto' resolved)."""
        if self.reference != "auto":
            return self.reference
        return "raw" if tuple(spec_shape) == AudioConfig().spec_shape else "roundtrip"


EVAL_PRESETS = {
    "paper": EvalConfig(),
    # 128-d features keep sqrtm cheap and the covariance defined for a few hundred clips
    "small": EvalConfig(feature_kind="spatial_mean"),
    "tiny": EvalConfig(feature_kind="spatial_mean", n_real=16, n_splits=2),
    # evaluation during training (MonitorConfig, python -m ggan_lib train) at every preset: it scores a
    # few hundred fixed codes, so the 128-d features, against 1,000 real training clips
    "monitor": EvalConfig(feature_kind="spatial_mean"),
}
EvalConfig._PRESETS = EVAL_PRESETS


@dataclass(frozen=True)
class MonitorConfig:
    """What to evaluate during training, how often, and which checkpoint counts as best."""

    every: int = 200                    # evaluate every N iterations (0: never)
    n_clips: int = 200                  # fixed latent codes scored for IS / FID (cheap: a few hundred)
    # how the clips are scored (feature layer, IS splits, PGHI tol / n_gla): the `small` preset's 128-d
    # features keep sqrtm cheap and the covariance defined for 200 clips
    eval_cfg: EvalConfig = EVAL_PRESETS["monitor"]
    seed: int = 1234                    # seed of the fixed latent codes
    use_ema: bool = True                # score the EMA generator (what sample() uses)
    n_grid: int = 20                    # spectrograms in each snapshot grid
    n_audio: int = 10                   # WAV clips per snapshot (the first n_audio codes: one per class)
    best_by: str = "fid"                # "fid" (lower is better), "is", "acc" or "none"
    min_delta: float = 0.0              # an improvement must beat the best by more than this
    patience: int = 0                   # stop after this many evaluations without improvement (0: never)
    batch_size: int = 64                # generation / classification batch

    def __post_init__(self) -> None:
        """Validate choices."""
        if self.best_by not in CRITERIA:
            raise ValueError(f"best_by must be one of {sorted(CRITERIA)}, not {self.best_by!r}")
        check_ranges(self, MONITOR_RANGES)
        n_splits = self.eval_cfg.n_splits
        if self.n_clips < n_splits or self.n_clips < 2:
            raise ValueError(f"n_clips={self.n_clips} must be >= eval_cfg.n_splits={n_splits} and >= 2")
        if self.every < 0 or self.patience < 0:
            raise ValueError("every and patience must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return dataclasses.asdict(self)
