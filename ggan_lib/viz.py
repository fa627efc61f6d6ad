"""Plots and sound for the book: spectrograms, sample grids, loss curves and audio players."""
from __future__ import annotations

import base64
import html
import io
from typing import Sequence

import numpy as np

SAMPLE_RATE = 16_000


def _as_numpy(x) -> np.ndarray:
    """Tensor or array -> float numpy array on the CPU."""
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x)


def plot_spectrogram(spec, ax=None, title: str | None = None, colorbar: bool = False):
    """Show one log-magnitude spectrogram (H, W) or (1, H, W), frequency upwards."""
    import matplotlib.pyplot as plt

    s = _as_numpy(spec).squeeze()
    if s.ndim != 2:
        raise ValueError(f"expected a (H, W) spectrogram, got shape {s.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3))
    im = ax.imshow(s, origin="lower", aspect="auto", cmap="magma", vmin=-1, vmax=1)
    ax.set_xlabel("time frame")
    ax.set_ylabel("frequency bin")
    if title:
        ax.set_title(title, fontsize=9)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046)
    return ax


def plot_spectrogram_grid(specs, titles: Sequence[str] | None = None, ncols: int = 5,
                          size: float = 2.2, suptitle: str | None = None):
    """Show a grid of spectrograms (N, [1,] H, W) with optional titles; returns the figure."""
    import matplotlib.pyplot as plt

    specs = _as_numpy(specs)
    n = len(specs)
    nrows = max(1, int(np.ceil(n / ncols)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * 0.8 * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i < n:
            plot_spectrogram(specs[i], ax=ax, title=titles[i] if titles else None)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel("")
            ax.set_ylabel("")
        else:
            ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def plot_curves(log: dict, keys: Sequence[str], ax=None, smooth: int = 1, xkey: str = "iter"):
    """Plot logged scalars (dict of lists, e.g. from a JSONL training log) against iterations."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3))
    x = np.asarray(log[xkey])
    for k in keys:
        y = np.asarray(log[k], dtype=float)
        if smooth > 1 and len(y) >= smooth:
            y = np.convolve(y, np.ones(smooth) / smooth, mode="valid")
            ax.plot(x[smooth - 1:], y, label=k)
        else:
            ax.plot(x, y, label=k)
    ax.set_xlabel(xkey)
    ax.legend(fontsize=8)
    return ax


def wav_bytes(wave, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Encode a mono waveform as 16-bit PCM WAV bytes, peak-normalised to avoid clipping."""
    import soundfile as sf

    w = _as_numpy(wave).astype(np.float32).reshape(-1)
    peak = float(np.max(np.abs(w))) if w.size else 0.0
    if peak > 0:
        w = 0.95 * w / peak
    buf = io.BytesIO()
    sf.write(buf, w, sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def audio_player(wave, sample_rate: int = SAMPLE_RATE):
    """An IPython audio player for one waveform (embedded, so it plays in static HTML too)."""
    from IPython.display import Audio

    return Audio(data=wav_bytes(wave, sample_rate), rate=sample_rate)


def audio_table_html(waves, labels: Sequence[str], sample_rate: int = SAMPLE_RATE,
                     ncols: int = 5) -> str:
    """HTML table of labelled, embedded <audio> players (one per waveform)."""
    cells = []
    for w, lab in zip(waves, labels):
        b64 = base64.b64encode(wav_bytes(w, sample_rate)).decode("ascii")
        cells.append(
            f'<td style="text-align:center;padding:4px"><div style="font-size:80%">{html.escape(str(lab))}</div>'
            f'<audio controls preload="none" style="width:150px" src="data:audio/wav;base64,{b64}"></audio></td>'
        )
    rows = ["<tr>" + "".join(cells[i:i + ncols]) + "</tr>" for i in range(0, len(cells), ncols)]
    return '<table class="ggan-audio-table">' + "".join(rows) + "</table>"


def audio_table(waves, labels: Sequence[str], sample_rate: int = SAMPLE_RATE, ncols: int = 5):
    """Display object for :func:`audio_table_html`."""
    from IPython.display import HTML

    return HTML(audio_table_html(waves, labels, sample_rate, ncols))
