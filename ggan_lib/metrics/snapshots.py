"""What a training snapshot holds on disk: a spectrogram grid (grid.png), one WAV per code, specs.npy.

The grid is drawn with matplotlib's object API (no pyplot, safe in a training loop); it is the same picture
as ``ggan_lib.book.viz.save_spectrogram_grid``. ggan_lib.book.viz.show_snapshots reads these files back.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

SNAPSHOT_SAMPLE_RATE = 16000  # WAVs are written at the front end's rate unless told otherwise


def _as_numpy(x) -> np.ndarray:
    """Tensor or array -> float numpy array on the CPU."""
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x)


def _draw(fig, specs: np.ndarray, titles: Sequence[str] | None, ncols: int, suptitle: str | None) -> None:
    """Spectrograms (N, [1,] H, W) in a grid of axes on ``fig``, frequency upwards, colour range [-1, 1]."""
    n = len(specs)
    axes = fig.subplots(max(1, int(np.ceil(n / ncols))), ncols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
            continue
        s = specs[i].squeeze()
        if s.ndim != 2:
            raise ValueError(f"expected a (H, W) spectrogram, got shape {s.shape}")
        ax.imshow(s, origin="lower", aspect="auto", cmap="magma", vmin=-1, vmax=1)
        if titles and titles[i]:
            ax.set_title(titles[i], fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("")
        ax.set_ylabel("")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()


def write_spectrogram_grid(specs, path: str | os.PathLike, titles: Sequence[str] | None = None, ncols: int = 5,
                           size: float = 2.2, suptitle: str | None = None) -> Path:
    """Write a grid of spectrograms (N, [1,] H, W) to an image file (72 dpi); returns the path."""
    from matplotlib.figure import Figure  # heavy: only when a snapshot is written

    specs = _as_numpy(specs)
    rows = max(1, int(np.ceil(len(specs) / ncols)))
    fig = Figure(figsize=(size * ncols, size * 0.8 * rows))
    _draw(fig, specs, titles, ncols, suptitle)
    fig.savefig(path, dpi=72)
    return Path(path)


def write_wav(path: str | os.PathLike, wave: np.ndarray, sample_rate: int = SNAPSHOT_SAMPLE_RATE) -> Path:
    """A clip peak-normalised to 0.95 (silence as it is) as 16-bit PCM WAV."""
    import soundfile as sf

    peak = float(np.abs(wave).max())
    sf.write(path, (0.95 * wave / peak if peak > 0 else wave).astype(np.float32), sample_rate, subtype="PCM_16")
    return Path(path)


def read_snapshot_media(d: Path) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], int]:
    """({"snapshot/grid": (H, W, C) image}, {"snapshot/<wav name>": (L,) audio}, sample rate) of a snapshot folder."""
    if not d.exists():
        return {}, {}, SNAPSHOT_SAMPLE_RATE
    import matplotlib.image
    import soundfile as sf

    images = {"snapshot/grid": matplotlib.image.imread(d / "grid.png")} if (d / "grid.png").exists() else {}
    clips, sr = {}, SNAPSHOT_SAMPLE_RATE
    for w in sorted(d.glob("*.wav")):
        clips[f"snapshot/{w.stem}"], sr = sf.read(w, dtype="float32")
    return images, clips, sr
