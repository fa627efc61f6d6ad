"""The networks' configuration (ModelConfig, its presets) and the audio front end's (AudioConfig)."""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass

from ggan_lib.config.base import POS, POS_INT, UNIT, PresetConfig, check_ranges

# BigGAN's channel multipliers for a D trunk with six down blocks (Table XIV: 1, 1, 2, 4, 8, 16 x ch).
_D_MULTS = (1, 1, 2, 4, 8, 16)
# Table X: every G level keeps 16 x ch channels; only the last up block goes down to 1 x ch.
_G_MULT, _G_LAST_MULT = 16, 1

# The valid range of every number of ModelConfig and AudioConfig (config.base.check_ranges).
MODEL_RANGES = {"z_dim": POS_INT, "n_classes": POS_INT, "ch": POS_INT, "mlp_hidden": POS_INT, "f_hidden": POS_INT,
                "df_hidden": POS_INT, "mg_alpha": POS, "sn_eps": POS, "sn_iters": POS_INT, "bn_eps": POS,
                "bn_momentum": UNIT, "attn_qk_div": POS_INT, "attn_v_div": POS_INT, "spec_shape": POS_INT,
                "base_shape": POS_INT}
AUDIO_RANGES = {"sample_rate": POS_INT, "clip_samples": POS_INT, "signal_length": POS_INT, "hop": POS_INT,
                "n_channels": POS_INT, "log_floor": (None, 0, False, True), "spec_shape": POS_INT}


@dataclass(frozen=True)
class ModelConfig(PresetConfig):
    """Every architectural choice of the GGAN networks and baselines; the paper's values by default."""

    # --- sizes (Appendix C) ---
    z_dim: int = 128                          # latent z and ze = E(z, c) width (Table XII)
    n_classes: int = 10                       # categories n of Cat(c) (10 digits; 2 for gender guidance)
    ch: int = 16                              # BigGAN channel unit; "16.ch" in the tables means 16 * ch
    spec_shape: tuple[int, int] = (256, 128)  # (height = frequency, width = time) of a spectrogram
    base_shape: tuple[int, int] = (4, 2)      # G's dense output / D's last resolution (Tables X, XIV)
    g_channels: tuple[int, ...] | None = None  # G widths: dense, then each up block's output; None = Table X
    d_channels: tuple[int, ...] | None = None  # D widths: each down block's output; None = Table XIV
    g_attn: tuple[int, ...] = (128,)          # heights after whose G up block a non-local block sits (Table X)
    d_attn: tuple[int, ...] = (128,)          # heights after whose D block a non-local block sits (Table XIV)
    mlp_hidden: int = 128                     # hidden width of E, Ce, Cx, D' (Tables XII, XIII, XV)
    f_hidden: int = 256                       # hidden width of F (Table XVI)
    df_hidden: int = 128                      # hidden width of Df's head (Table XVII)

    # --- design-note choices (docs design-notes.md sections 2, 3) ---
    d_second_block_down: bool = True          # Table XIV marks no resampling for the 2nd block but the size halves
    d_last_skip: str = "identity"             # "ResBlock (No Shortcut)": "identity" skip (BigGAN) or "none" at all
    d_prime_in: int | None = None             # D' input; None = D's feature size (Table XV's 128 cannot take 256)
    df_own_trunk: bool = False                # Df on shared D features (text) or its own trunk on x (Table XVII)
    df_detach_features: bool = True          # Df detaches the shared d so its loss never reaches D
    z_dist: str = "normal"                    # z ~ N(0, I) ("normal", BigGAN) or U(-1, 1) ("uniform", the paper's example)
    mg_reduction: str = "ratio_of_sums"       # eq. 5 over a batch: "ratio_of_sums" or "mean_of_ratios"
    mg_alpha: float = 1e-4                    # alpha in eq. 5
    cl_grad_through_f_cx: bool = True         # D1's Cl term (eq. 11) reaches D through frozen F and Cx
    g_sn_io: bool = True                      # SN also on G's input dense and output conv (BigGAN; tables mark blocks only)
    trunk_sn_cnn: bool = True                 # SN in the CNN baseline's trunk (same architecture as GGAN's D)

    # --- layers ---
    sn_eps: float = 1e-6                      # spectral-norm eps (BigGAN's launch scripts)
    sn_iters: int = 1                         # power iterations per training forward
    bn_eps: float = 1e-5                      # BatchNorm eps
    bn_momentum: float = 0.1                  # BatchNorm running-stat momentum
    attn_qk_div: int = 8                      # non-local theta/phi width = C / attn_qk_div (BigGAN)
    attn_v_div: int = 2                       # non-local g width = C / attn_v_div (BigGAN)
    attn_pool: bool = True                    # max-pool phi and g by 2 (BigGAN); False keeps all keys
    init: str = "ortho"                       # weight init: "ortho" (BigGAN), "N02", "xavier" or "default"

    # --- exact performance rewrites (design note section 7; each tested equal to the plain form) ---
    g_sc_before_up: bool = True               # 1x1 shortcut conv before nearest upsampling (4x fewer FLOPs)
    g_upconv_shuffle: bool = True             # nearest x2 + conv3 as four interleaved 2x2 convs (2.25x fewer FLOPs)
    d_sc_pool_first: bool = True              # D shortcut: avg-pool before the 1x1 conv (4x fewer FLOPs)
    d_conv_pool_fused: bool = True            # D: conv3 + avg-pool 2 as one stride-2 4x4 conv (2.25x fewer FLOPs)

    def __post_init__(self) -> None:
        """Validate the choices and that the shapes fit the arch."""
        check_ranges(self, MODEL_RANGES)
        for name in ("g_channels", "d_channels"):
            if getattr(self, name) is not None:
                check_ranges(self, {name: POS_INT})
        if self.z_dist not in ("normal", "uniform"):
            raise ValueError(f"z_dist must be 'normal' or 'uniform', not {self.z_dist!r}")
        if self.mg_reduction not in ("ratio_of_sums", "mean_of_ratios"):
            raise ValueError(f"mg_reduction must be 'ratio_of_sums' or 'mean_of_ratios', not {self.mg_reduction!r}")
        if self.d_last_skip not in ("identity", "none"):
            raise ValueError(f"d_last_skip must be 'identity' or 'none', not {self.d_last_skip!r}")
        if self.init not in ("ortho", "N02", "xavier", "default"):
            raise ValueError(f"unknown init {self.init!r}")
        n = self.n_levels
        if self.g_channels is not None and len(self.g_channels) != n + 1:
            raise ValueError(f"g_channels needs {n + 1} widths (dense + {n} up blocks), got {self.g_channels}")
        if self.d_channels is not None and len(self.d_channels) != n:
            raise ValueError(f"d_channels needs {n} widths (one per down block), got {self.d_channels}")
        if self.d_prime_in is not None and self.d_prime_in != self.feat_dim:
            raise ValueError(f"d_prime_in={self.d_prime_in} must equal D's feature size {self.feat_dim}")
        g_heights = {self.base_shape[0] * 2 ** (i + 1) for i in range(n)}
        for h in self.g_attn:
            if h not in g_heights:
                raise ValueError(f"g_attn height {h} is not a G level output {sorted(g_heights)}")
        for h in self.d_attn:
            if h not in self.d_heights:
                raise ValueError(f"d_attn height {h} is not a D block output {self.d_heights}")

    @property
    def n_levels(self) -> int:
        """Number of x2 resamplings between base_shape and spec_shape (6 for the paper)."""
        (h, w), (bh, bw) = self.spec_shape, self.base_shape
        if h % bh or w % bw or h // bh != w // bw:
            raise ValueError(f"spec_shape {self.spec_shape} is not base_shape {self.base_shape} times one factor")
        n = int(round(math.log2(h // bh)))
        if 2 ** n != h // bh or n < 2:
            raise ValueError(f"spec_shape / base_shape = {h // bh} must be a power of two >= 4")
        return n

    @property
    def g_widths(self) -> tuple[int, ...]:
        """G widths: dense output then each up block's output (Table X by default)."""
        if self.g_channels is not None:
            return tuple(self.g_channels)
        n = self.n_levels
        return tuple([_G_MULT * self.ch] * n + [_G_LAST_MULT * self.ch])

    @property
    def d_widths(self) -> tuple[int, ...]:
        """D widths: each down block's output (Table XIV by default); the last block keeps the last."""
        if self.d_channels is not None:
            return tuple(self.d_channels)
        n = self.n_levels
        mults = (1,) * max(0, n - len(_D_MULTS)) + _D_MULTS[max(0, len(_D_MULTS) - n):]
        return tuple(m * self.ch for m in mults)

    @property
    def d_heights(self) -> tuple[int, ...]:
        """Output height of every D trunk block (the last block does not resample)."""
        h, out = self.spec_shape[0], []
        for i in range(self.n_levels):
            if i != 1 or self.d_second_block_down:
                h //= 2
            out.append(h)
        return tuple(out + [h])

    @property
    def feat_dim(self) -> int:
        """Width of d = D(x): the last D block's channels after global sum pooling (256 in the paper)."""
        return self.d_widths[-1]

    def to_json(self) -> str:
        """JSON string of to_dict()."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, s: str) -> "ModelConfig":
        """Inverse of to_json."""
        return cls.from_dict(json.loads(s))


PRESETS: dict[str, ModelConfig] = {
    # Exactly Appendix C: 256 x 128 spectrograms, ch = 16, attention at 128 x 64 in G and D.
    "paper": ModelConfig(),
    # Same network types at 64 x 32 (G 64 -> 16 channels, D 16 -> 128, non-local blocks at small levels):
    # one Algorithm-1 iteration (k = 2, batch 16) measured 0.47 s of single-thread CPU time, ~0.3 s on 2 cores.
    "small": ModelConfig(spec_shape=(64, 32), g_channels=(64, 64, 32, 32, 16), d_channels=(16, 32, 64, 128),
                         g_attn=(32,), d_attn=(16,)),
    # Seconds-long tests: 16 x 8 spectrograms, a few channels, attention kept so it is exercised.
    "tiny": ModelConfig(spec_shape=(16, 8), ch=2, g_channels=(16, 8, 4), d_channels=(4, 16),
                        g_attn=(8,), d_attn=(8,), z_dim=16, mlp_hidden=16, f_hidden=32, df_hidden=16),
}
ModelConfig._PRESETS = PRESETS


# --------------------------------------------------------------------------- audio front end
@dataclass(frozen=True)
class AudioConfig:
    """Parameters of the audio front end (TiFGAN / tifresi defaults)."""

    sample_rate: int = 16000  # Hz, every clip is resampled to this
    clip_samples: int = 16000  # 1 s: cut / zero-pad to this first ...
    signal_length: int = 16384  # ... then zero-pad to L (a multiple of hop and n_channels)
    hop: int = 128  # a, time step of the Gabor lattice
    n_channels: int = 512  # M, number of frequency channels (FFT length)
    log_floor: float = -10.0  # natural-log floor of |c| / max|c|
    spec_shape: tuple = (256, 128)  # (H freq, W time); smaller = area-downsampled (`small` preset)
    # Inverse only: cells within floor_gate (network units) of the floor, x <= -1 + floor_gate, are silence
    # (magnitude 0) in spectrogram -> audio; None inverts the floor literally as e^-10 (TiFGAN / tifresi).
    # Chosen in results/judge/README.md: the literal floor is a noise bed that cost the metric classifier
    # 37 points on round-trip FSDD clips.
    floor_gate: float | None = 0.1

    @property
    def n_frames(self) -> int:
        """Number of time frames N = L / a."""
        return self.signal_length // self.hop

    @property
    def n_bins(self) -> int:
        """Number of real-DGT frequency rows M/2 + 1 (Nyquist row included)."""
        return self.n_channels // 2 + 1

    @property
    def full_shape(self) -> tuple:
        """Shape (M/2, N) of the full-resolution log-magnitude (Nyquist row dropped)."""
        return (self.n_channels // 2, self.n_frames)

    def key(self) -> str:
        """Short stable hash of every field, for cache file names."""
        fields = asdict(self)
        fields.pop("floor_gate")  # the forward transform (what caches hold) does not depend on it
        text = repr(sorted(fields.items()))
        return hashlib.sha1(text.encode()).hexdigest()[:12]

    def __post_init__(self):
        """Check the ranges, then the lattice: L must be a multiple of a and M, and M of a."""
        check_ranges(self, AUDIO_RANGES)
        L, a, M = self.signal_length, self.hop, self.n_channels
        if L % a or L % M or M % a:
            raise ValueError(f"AudioConfig: need a | M | L, got a={a}, M={M}, L={L}")
        if self.floor_gate is not None and not 0 <= self.floor_gate < 2:
            raise ValueError(f"AudioConfig: floor_gate must be None or in [0, 2), got {self.floor_gate}")
        if self.clip_samples > L:
            raise ValueError("AudioConfig: clip_samples must be <= signal_length")
        H, W = self.spec_shape
        if (M // 2) % H or (L // a) % W:
            raise ValueError(f"AudioConfig: spec_shape {self.spec_shape} must divide {self.full_shape}")
        object.__setattr__(self, "spec_shape", (int(H), int(W)))
