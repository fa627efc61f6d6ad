"""The project's spoken-digit classifier for IS / FID (WaveGAN recipe, design note section 5).

The paper scores generated audio with WaveGAN's pretrained SC09 classifier, which is not available
offline, so the project trains its own with the same recipe:

    16,384-sample 16 kHz audio -> |STFT| (n_fft 1024, hop 128, Hann) -> 128 mel bands 40-7,800 Hz
    -> log(x + 1e-6) -> BN -> 4 x [conv 5x5, 128 ch, ReLU, max-pool 2] -> BN -> dense -> n classes.

Checkpoints are plain dicts (tensors, numbers, strings, lists) so they load with
``torch.load(weights_only=True)``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ggan_lib.io import atomic

CHECKPOINT_FORMAT = "ggan_lib.metric_classifier/1"
FEATURE_KINDS = ("penultimate", "spatial_mean", "logits")


class CheckpointError(ValueError):
    """A classifier checkpoint is missing, of another format, or does not match the model."""


@dataclass(frozen=True)
class ClassifierConfig:
    """Settings of the metric classifier; defaults are the WaveGAN SC09 recipe."""

    n_classes: int = 10  # digits 0-9
    sample_rate: int = 16000  # Hz of the input audio
    signal_length: int = 16384  # samples per clip (TiFGAN / WaveGAN length)
    n_fft: int = 1024  # STFT frame length
    hop: int = 128  # STFT hop -> ceil(16384 / 128) = 128 frames
    n_mels: int = 128  # mel bands
    fmin: float = 40.0  # Hz, lowest mel edge
    fmax: float = 7800.0  # Hz, highest mel edge
    log_eps: float = 1e-6  # log(mel + eps)
    channels: int = 128  # conv width of every layer
    n_layers: int = 4  # conv 5x5 / ReLU / max-pool 2 blocks
    kernel: int = 5  # conv kernel size

    @property
    def n_frames(self) -> int:
        """STFT frames with TF's pad_end convention: ceil(L / hop)."""
        return -(-self.signal_length // self.hop)

    @property
    def feature_shape(self) -> tuple:
        """(C, H, W) of the penultimate map that the dense layer reads."""
        s = 2 ** self.n_layers
        return (self.channels, self.n_mels // s, self.n_frames // s)

    @property
    def feat_dim(self) -> int:
        """Width of the flattened penultimate features (8,192 for the recipe)."""
        c, h, w = self.feature_shape
        return c * h * w

    def to_dict(self) -> dict:
        """Plain-dict form stored in checkpoints."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ClassifierConfig":
        """Inverse of to_dict; unknown keys are an error (a checkpoint of another version)."""
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise CheckpointError(f"unknown classifier settings {sorted(unknown)}")
        return cls(**d)


class MelFrontEnd(nn.Module):
    """Log-mel spectrogram of (B, L) audio -> (B, 1, n_mels, n_frames); window and mel basis are buffers."""

    def __init__(self, cfg: ClassifierConfig):
        super().__init__()
        import librosa

        self.n_fft, self.hop, self.eps = cfg.n_fft, cfg.hop, cfg.log_eps
        self.n_frames = cfg.n_frames
        mel = librosa.filters.mel(sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels,
                                  fmin=cfg.fmin, fmax=cfg.fmax)  # (n_mels, n_fft/2+1)
        # persistent=False: both are functions of cfg, so they are rebuilt, not stored
        self.register_buffer("mel_basis", torch.from_numpy(mel).float(), persistent=False)
        self.register_buffer("window", torch.hann_window(cfg.n_fft), persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, L) float audio -> (B, 1, n_mels, n_frames) log-mel magnitudes."""
        # WaveGAN uses tf.signal.stft(pad_end=True): frames start at 0, hop, ..., zero-padded at the end
        pad = (self.n_frames - 1) * self.hop + self.n_fft - audio.shape[-1]
        x = nn.functional.pad(audio, (0, max(pad, 0)))
        spec = torch.stft(x, self.n_fft, self.hop, window=self.window, center=False,
                          return_complex=True).abs()  # (B, n_fft/2+1, n_frames)
        mel = torch.matmul(self.mel_basis, spec)  # (B, n_mels, n_frames)
        return torch.log(mel + self.eps).unsqueeze(1)


def _conv_block(c_in: int, c_out: int, k: int) -> nn.Sequential:
    """conv k x k ('same') -> ReLU -> max-pool 2."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=k // 2), nn.ReLU(), nn.MaxPool2d(2))


class DigitClassifier(nn.Module):
    """Spoken-digit CNN on log-mel audio; `logits` for IS, `features` for FID."""

    def __init__(self, cfg: ClassifierConfig = ClassifierConfig(), class_names=None):
        super().__init__()
        self.cfg = cfg
        self.class_names = list(class_names) if class_names is not None else \
            [str(i) for i in range(cfg.n_classes)]
        if len(self.class_names) != cfg.n_classes:
            raise ValueError(f"{len(self.class_names)} class names for n_classes={cfg.n_classes}")
        self.test_accuracy = None  # set by training / loading; float in [0, 1]
        self.extra = {}  # training record stored in / loaded from the checkpoint
        self.front = MelFrontEnd(cfg)
        self.bn_in = nn.BatchNorm2d(1)
        chans = [1] + [cfg.channels] * cfg.n_layers
        self.convs = nn.Sequential(*[_conv_block(a, b, cfg.kernel) for a, b in zip(chans, chans[1:])])
        self.bn_out = nn.BatchNorm2d(cfg.channels)
        self.dense = nn.Linear(cfg.feat_dim, cfg.n_classes)

    def _check(self, audio: torch.Tensor) -> torch.Tensor:
        """Accept (B, L) or (B, 1, L) audio of the configured length; return (B, L)."""
        if audio.dim() == 3 and audio.shape[1] == 1:
            audio = audio[:, 0]
        if audio.dim() != 2 or audio.shape[-1] != self.cfg.signal_length:
            raise ValueError(f"expected audio (B, {self.cfg.signal_length}) or (B, 1, "
                             f"{self.cfg.signal_length}), got {tuple(audio.shape)}")
        return audio.to(self.dense.weight.dtype)

    def feature_map(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, L) audio -> (B, C, H', W') penultimate map (after the last BN, before the dense layer)."""
        x = self.bn_in(self.front(self._check(audio)))  # (B, 1, 128, 128)
        return self.bn_out(self.convs(x))  # (B, 128, 8, 8)

    def features(self, audio: torch.Tensor, kind: str = "penultimate") -> torch.Tensor:
        """FID features: 'penultimate' (B, feat_dim) pre-dense map, 'spatial_mean' (B, C) or 'logits'."""
        if kind not in FEATURE_KINDS:
            raise ValueError(f"feature kind {kind!r} not in {FEATURE_KINDS}")
        fmap = self.feature_map(audio)
        if kind == "spatial_mean":
            return fmap.mean(dim=(2, 3))
        flat = fmap.flatten(1)
        return self.dense(flat) if kind == "logits" else flat

    def logits(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, L) audio -> (B, n_classes) logits."""
        return self.dense(self.feature_map(audio).flatten(1))

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """Same as logits."""
        return self.logits(audio)


def save_classifier(model: DigitClassifier, path, test_accuracy: float | None = None,
                    extra: dict | None = None) -> Path:
    """Save state_dict, settings, class names and test accuracy atomically; return the path."""
    acc = model.test_accuracy if test_accuracy is None else float(test_accuracy)
    extra = model.extra if extra is None else extra
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    ckpt = {"format": CHECKPOINT_FORMAT, "config": model.cfg.to_dict(), "state_dict": state,
            "class_names": list(model.class_names), "test_accuracy": acc, "extra": dict(extra or {})}
    path = Path(path)
    atomic.torch_save(ckpt, path)
    return path


def _read_checkpoint(path: Path) -> dict:
    """torch.load(weights_only=True) with the format checked."""
    if not path.is_file():
        raise CheckpointError(f"{path}: no such classifier checkpoint (train one with "
                              f"`python -m ggan_lib.cli.classifier --data <folder> --out {path}`)")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - corrupt or foreign pickles all mean "not ours"
        raise CheckpointError(f"{path}: not a loadable classifier checkpoint ({err})") from err
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        got = ckpt.get("format") if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"{path}: expected a {CHECKPOINT_FORMAT!r} checkpoint, got {got!r}")
    return ckpt


def load_classifier(path, device="cpu", expect: ClassifierConfig | None = None) -> DigitClassifier:
    """Load a saved classifier in eval mode on `device`; `expect` checks its settings match."""
    path = Path(path)
    ckpt = _read_checkpoint(path)
    cfg = ClassifierConfig.from_dict(ckpt["config"])
    if expect is not None and expect != cfg:
        diff = {k: (v, getattr(cfg, k)) for k, v in expect.to_dict().items() if getattr(cfg, k) != v}
        raise CheckpointError(f"{path}: classifier settings differ from the expected ones "
                              f"(field: (expected, in checkpoint)) {diff}")
    model = DigitClassifier(cfg, ckpt["class_names"])
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as err:
        raise CheckpointError(f"{path}: state_dict does not match its settings: {err}") from err
    model.test_accuracy = ckpt.get("test_accuracy")
    model.extra = dict(ckpt.get("extra") or {})
    model.source_path = path  # the checkpoint it came from (keys cached reference statistics)
    return model.to(device).eval()


def as_audio_tensor(audio, device) -> torch.Tensor:
    """numpy or torch (B, L) audio -> float32 tensor on `device`."""
    if isinstance(audio, np.ndarray):
        audio = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))
    return audio.to(device=device, dtype=torch.float32)
