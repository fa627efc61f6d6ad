"""Training settings: Algorithm 1 (TrainConfig) and the baselines' loops (BaselineConfig), with presets."""
from __future__ import annotations

from dataclasses import dataclass

from ggan_lib.config.base import NONNEG, POS, POS_INT, UNIT, UNIT_OPEN_HI, PresetConfig, check_ranges

# --------------------------------------------------------------------------- Algorithm 1
# Fields that may differ when resuming (they change how, not what, is computed).
RUNTIME_FIELDS = frozenset({"device", "compile", "channels_last", "log_every", "ckpt_every", "out_dir",
                            "progress", "tensorboard", "sync_bn", "cudnn_benchmark", "tf32", "ema_standing_batches"})
# The valid range of every number of TrainConfig (config.base.check_ranges: finite, within the bounds).
TRAIN_RANGES = {"batch_size": (2, None, False, False), "k_disc": POS_INT, "lr_g": POS, "lr_d": POS,
                "betas": UNIT_OPEN_HI, "adam_eps": POS, "ema_decay": UNIT, "ema_start": NONNEG,
                "ema_warmup": NONNEG, "ema_standing_batches": NONNEG, "clf_ema_decay": UNIT_OPEN_HI,
                "log_every": POS_INT, "ckpt_every": NONNEG, "seed": NONNEG}


# Fields added after checkpoints were shipped, with the value that reproduces those runs exactly
# (ema_standing_batches is a sampling-time field, RUNTIME_FIELDS: it never blocks a load; a run resumed from a
# file without it keeps sampling as it did, without standing statistics, unless it is overridden).
LEGACY_FIELDS = {"ema_warmup": 0, "ema_standing_batches": 0, "clf_ema_decay": 0.0}
# Standing BatchNorm statistics of the EMA G (ggan_lib.train.ema.standing_bn_stats): this many batches of
# STANDING_BATCH_SIZE fresh codes at sample time, for every model (GGAN, both BigGANs, loaded files).
STANDING_BATCHES = 16
STANDING_BATCH_SIZE = 64


@dataclass(frozen=True)
class TrainConfig(PresetConfig):
    """Algorithm 1's training settings; Appendix C and BigGAN defaults."""

    batch_size: int = 64                        # m, global over all ranks (Appendix C: 64 on 2 GPUs)
    k_disc: int = 2                             # discriminator steps per iteration (Algorithm 1: k = 2)
    lr_g: float = 5e-4                          # E, Ce, G, F, Cx (Appendix C)
    lr_d: float = 2e-4                          # D1 (D, D'), D2, Df (Appendix C)
    equal_lrs: bool = False                     # section V's "equal G/D lrs": every network uses lr_d
    betas: tuple[float, float] = (0.0, 0.999)   # Adam betas (BigGAN)
    adam_eps: float = 1e-8                      # Adam eps
    seed: int = 0                               # seeds network init and the data/noise generator
    device: str = "auto"                        # "auto" (cuda if available), "cpu", "cuda", "cuda:1", ...
    amp: str = "auto"                           # "bf16" autocast, "off", or "auto" (bf16 on CUDA, off on CPU)
    channels_last: bool = False                 # NHWC images and conv weights (faster convs on tensor cores)
    compile: bool = False                       # torch.compile every network (nn.Module.compile, keys kept)
    cudnn_benchmark: bool = True                # CUDA: let cuDNN time its conv algorithms per shape (BigGAN does)
    tf32: bool = True                           # CUDA: TF32 tensor cores for fp32 matmuls and convs (amp="off")
    ema: bool = True                            # keep an exponential moving average of G for sampling
    ema_decay: float = 0.999                    # EMA decay per iteration
    ema_start: int = 0                          # iterations before which the EMA just copies G
    # EMA decay at step t (from ema_start): min(ema_decay, (1 + t) / (ema_warmup + t)), so the random init's
    # weight in the average vanishes within a few hundred steps (with a constant 0.999 it is 0.999^t: 37 % at
    # t = 1,000); 0: the constant ema_decay of runs before this field (their checkpoints read back as 0)
    ema_warmup: int = 10
    # sample() re-estimates the EMA G's BatchNorm statistics on this many batches of STANDING_BATCH_SIZE fresh
    # codes, at most once per iteration (BigGAN's standing statistics); 0: G's copied running statistics
    ema_standing_batches: int = STANDING_BATCHES
    # > 0: score Table II's classifier path by an EMA (Polyak average) of D, F and Cx with this decay
    # (ggan_lib.train.ema.PathEMA; warm-up ema_warmup's). 0 (the default): the last iterate. An average of
    # 0.99 / 0.999 was tried for every method on a validation speaker and not adopted (results/diag, issue 13)
    clf_ema_decay: float = 0.0
    df_fresh_features: bool = True              # Df step sees D after the D1 step (Algorithm 1 order); False reuses D1's
    fc_reuse_fakes: bool = False                # FC reuses ECG's (pre-update) fakes instead of a fresh G forward
    sync_bn: bool = False                       # SyncBatchNorm in G across ranks (CUDA + torch.distributed only)
    log_every: int = 1                          # JSONL / TensorBoard record every N iterations
    ckpt_every: int = 0                         # checkpoint every N iterations (0: only on request)
    tensorboard: bool = True                    # mirror the log to TensorBoard when it is installed
    progress: bool = True                       # tqdm progress bar in train()

    @classmethod
    def from_dict(cls, d):
        """Inverse of to_dict; a field a saved config lacks takes the value runs before it had (LEGACY_FIELDS)."""
        return super().from_dict({**LEGACY_FIELDS, **d})

    def __post_init__(self) -> None:
        """Validate choices."""
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))  # Adam rejects (0, 0.999)
        if self.amp not in ("auto", "bf16", "off"):
            raise ValueError(f"amp must be 'auto', 'bf16' or 'off', not {self.amp!r}")
        if self.batch_size < 2 or self.k_disc < 1:
            raise ValueError(f"need batch_size >= 2 and k_disc >= 1, got {self.batch_size}, {self.k_disc}")
        if len(self.betas) != 2:
            raise ValueError(f"betas must be two numbers, got {self.betas}")
        check_ranges(self, TRAIN_RANGES)


TRAIN_PRESETS = {
    "paper": TrainConfig(channels_last=True, log_every=50, ckpt_every=5000),
    # channels_last at small too: oneDNN's NHWC convolutions took 0.80-0.87 of the time per iteration on this
    # project's 2-core machine (benchmarks/README.md, Training); same networks, summation order aside
    "small": TrainConfig(batch_size=16, log_every=10, ckpt_every=500, channels_last=True),
    "tiny": TrainConfig(batch_size=4, log_every=1, ckpt_every=0, ema_decay=0.9),
}
TrainConfig._PRESETS = TRAIN_PRESETS


# --------------------------------------------------------------------------- baselines
BASELINE_RANGES = {"batch_size": (2, None, False, False), "k_disc": POS_INT, "lr_g": POS, "lr_d": POS,
                   "betas": UNIT_OPEN_HI, "adam_eps": POS, "lr_enc": POS, "enc_k_disc": POS_INT,
                   "enc_latent_recon": NONNEG, "lr_clf": POS, "clf_betas": UNIT_OPEN_HI,
                   "clf_weight_decay": NONNEG, "gan_iters": NONNEG, "enc_iters": NONNEG, "cnn_iters": NONNEG,
                   "clf_iters": NONNEG, "seed": NONNEG, "log_every": POS_INT, "ckpt_every": NONNEG,
                   "ema_decay": UNIT, "ema_start": NONNEG, "ema_warmup": NONNEG, "ema_standing_batches": NONNEG,
                   "clf_ema_decay": UNIT_OPEN_HI}
# Baseline checkpoints written before the BigGANs kept an EMA of G read back as they ran: without one.
BASELINE_LEGACY_FIELDS = {"ema": False, "clf_ema_decay": 0.0}

@dataclass(frozen=True)
class BaselineConfig(PresetConfig):
    """Training settings of every baseline; Appendix A/B where the paper gives them, else stated choices."""

    batch_size: int = 64                        # m for every loop (BigGAN, Appendix C: 64)
    k_disc: int = 2                             # D steps per G step for both BigGANs (as Algorithm 1's k)
    lr_g: float = 5e-5                          # G of the supervised / unsupervised BigGAN (Appendix A, B)
    lr_d: float = 2e-4                          # D of the supervised / unsupervised BigGAN (Appendix A, B)
    betas: tuple[float, float] = (0.0, 0.999)   # Adam betas of the adversarial loops (BigGAN)
    adam_eps: float = 1e-8                      # Adam eps
    lr_enc: float = 2e-4                        # ALI encoder and joint D (the paper gives none: lr_d)
    enc_k_disc: int = 1                         # joint-D steps per encoder step (ALI / BiGAN: 1)
    # weight of ||E(G(z)) - z||^2 in the encoder loss (0: pure ALI). Pure ALI diverged on FSDD at `small`
    # (|E(x)| ~ 2.6e7 after 1,000 steps, the latent classifier at chance for every draw); with 1.0 the
    # encoder stays on the prior's scale (5 % draw 0: 30 % test accuracy after 300 steps). See
    # results/fsdd-small/README.md.
    enc_latent_recon: float = 1.0
    lr_clf: float = 1e-3                        # CNN baseline and latent classifier (the paper gives none)
    clf_betas: tuple[float, float] = (0.9, 0.999)  # Adam betas of the classifiers (not adversarial: Adam's)
    clf_weight_decay: float = 0.0               # L2 weight decay of the classifiers
    gan_iters: int = 20000                      # BigGAN G steps used by the protocol helpers (paper: unstated)
    enc_iters: int = 5000                       # ALI encoder steps used by the protocol helpers
    cnn_iters: int = 2000                       # CNN baseline steps used by the protocol helpers
    clf_iters: int = 1000                       # latent-classifier steps used by the protocol helpers
    # the BigGANs' EMA of G, exactly as TrainConfig's (the same decay, warm-up and start, per G step); sample()
    # uses it with standing BatchNorm statistics, so Table I samples every GAN the same way
    ema: bool = True
    ema_decay: float = 0.999
    ema_start: int = 0
    ema_warmup: int = 10
    ema_standing_batches: int = STANDING_BATCHES
    # the EMA of the scored networks, as TrainConfig's (the CNN; the ALI encoder and the latent classifier on
    # E(x)); 0 (the default): the last iterate, as TrainConfig's
    clf_ema_decay: float = 0.0
    seed: int = 0                               # seeds network init and the data/noise generator
    device: str = "auto"                        # "auto" (cuda if available), "cpu", "cuda", "cuda:1", ...
    cudnn_benchmark: bool = True                # CUDA: cuDNN autotuning per shape (as the GGAN trainer)
    tf32: bool = True                           # CUDA: TF32 tensor cores for the fp32 matmuls and convs
    log_every: int = 1                          # JSONL record every N iterations
    ckpt_every: int = 0                         # checkpoint every N iterations to out_dir (0: only on request)
    tensorboard: bool = False                   # mirror the log to TensorBoard when it is installed
    progress: bool = True                       # tqdm progress bar in train()

    @classmethod
    def from_dict(cls, d):
        """Inverse of to_dict; a field a saved config lacks takes the value runs before it had (BASELINE_LEGACY_FIELDS)."""
        return super().from_dict({**BASELINE_LEGACY_FIELDS, **d})

    def __post_init__(self) -> None:
        """Validate choices; betas as float tuples (Adam rejects ints, JSON gives lists)."""
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))
        object.__setattr__(self, "clf_betas", tuple(float(b) for b in self.clf_betas))
        if self.batch_size < 2 or self.k_disc < 1 or self.enc_k_disc < 1:
            raise ValueError(f"need batch_size >= 2, k_disc >= 1, enc_k_disc >= 1, got "
                             f"{self.batch_size}, {self.k_disc}, {self.enc_k_disc}")
        if len(self.betas) != 2 or len(self.clf_betas) != 2:
            raise ValueError(f"betas and clf_betas must be two numbers each, got {self.betas}, {self.clf_betas}")
        check_ranges(self, BASELINE_RANGES)


BASELINE_PRESETS = {
    "paper": BaselineConfig(log_every=50, ckpt_every=5000),
    "small": BaselineConfig(batch_size=16, gan_iters=2000, enc_iters=1000, cnn_iters=2000, clf_iters=1000,
                            log_every=10, ckpt_every=500),
    "tiny": BaselineConfig(batch_size=4, gan_iters=3, enc_iters=3, cnn_iters=5, clf_iters=5, ema_decay=0.9),  # as GGAN's
}
BaselineConfig._PRESETS = BASELINE_PRESETS
