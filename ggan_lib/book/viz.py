"""Plots and sound for the book: spectrograms, sample grids, loss curves and audio players."""
from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Sequence

import numpy as np

from ggan_lib.experiments.reproduce.tables import TABLE2_METHODS, label_fraction
from ggan_lib.io.logs import read_log
from ggan_lib.metrics.monitor import list_snapshots, read_evals

SAMPLE_RATE = 16_000
#: Width of a figure that fills the book's text column: 688 px at a 1280 px window, figures drawn at 100 dpi.
COLUMN_IN = 6.8
#: What one spectrogram spans: 16,384 samples at 16 kHz, 0 to the Nyquist frequency (every preset).
SPEC_SECONDS, SPEC_KHZ = 16_384 / SAMPLE_RATE, SAMPLE_RATE / 2000
TIME_LABEL, FREQ_LABEL = "time (s)", "frequency (kHz)"


def _as_numpy(x) -> np.ndarray:
    """Tensor or array -> float numpy array on the CPU."""
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x)


def plot_spectrogram(spec, ax=None, title: str | None = None, colorbar: bool = False):
    """Show one log-magnitude spectrogram (H, W) or (1, H, W), frequency upwards, in seconds and kHz."""
    import matplotlib.pyplot as plt

    s = _as_numpy(spec).squeeze()
    if s.ndim != 2:
        raise ValueError(f"expected a (H, W) spectrogram, got shape {s.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3))
    im = ax.imshow(s, origin="lower", aspect="auto", cmap="magma", vmin=-1, vmax=1,
                   extent=(0, SPEC_SECONDS, 0, SPEC_KHZ))
    ax.set_xlabel(TIME_LABEL)
    ax.set_ylabel(FREQ_LABEL)
    if title:
        ax.set_title(title, fontsize=9)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, label="normalised log-magnitude")
    return ax


def label_panels(fig, x: str = f"time, 0–{SPEC_SECONDS:.2f} s →", y: str = f"frequency, 0–{SPEC_KHZ:.0f} kHz →"):
    """Shared axis labels of a grid of tick-less panels (spectrograms unless told otherwise)."""
    fig.supxlabel(x, fontsize=9)
    fig.supylabel(y, fontsize=9)


def _fill_grid(fig, specs, titles: Sequence[str] | None, ncols: int, suptitle: str | None):
    """Draw spectrograms (N, [1,] H, W) into a fresh grid of axes on ``fig``."""
    specs = _as_numpy(specs)
    n = len(specs)
    axes = fig.subplots(max(1, int(np.ceil(n / ncols))), ncols, squeeze=False)
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
        fig.suptitle(suptitle, fontsize=10)
    label_panels(fig)
    fig.tight_layout()
    return fig


def _grid_size(n: int, ncols: int, size: float) -> tuple:
    """Figure size (inches) of a grid of n spectrograms: panels of ``size`` inches, never wider than the column."""
    panel = min(size, COLUMN_IN / ncols)
    return (panel * ncols, panel * 0.8 * max(1, int(np.ceil(n / ncols))) + 0.5)


def plot_spectrogram_grid(specs, titles: Sequence[str] | None = None, ncols: int = 5,
                          size: float = 2.2, suptitle: str | None = None):
    """Show a grid of spectrograms (N, [1,] H, W) with optional titles; returns the figure."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=_grid_size(len(specs), ncols, size))
    return _fill_grid(fig, specs, titles, ncols, suptitle)


def plot_curves(log: dict, keys: Sequence[str], ax=None, smooth: int = 1, xkey: str = "iter",
                ylabel: str = "loss"):
    """Plot logged scalars (dict of lists, e.g. from a JSONL training log) against iterations."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(COLUMN_IN, 3))
    x = np.asarray(log[xkey])
    for k in keys:
        y = np.asarray(log[k], dtype=float)
        if smooth > 1 and len(y) >= smooth:
            y = np.convolve(y, np.ones(smooth) / smooth, mode="valid")
            ax.plot(x[smooth - 1:], y, label=k)
        else:
            ax.plot(x, y, label=k)
    ax.set_xlabel("iteration" if xkey == "iter" else xkey)
    ax.set_ylabel(ylabel)
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
    """Labelled, embedded <audio> players (one per waveform) in rows that wrap to the width they are given.

    At most ``ncols`` players share a row; a narrower column (the book's is 688 px at a 1280 px window)
    wraps them onto more rows instead of cutting them off."""
    width = 160
    cells = []
    for w, lab in zip(waves, labels):
        b64 = base64.b64encode(wav_bytes(w, sample_rate)).decode("ascii")
        cells.append(
            f'<div style="text-align:center;width:{width}px"><div style="font-size:80%">{html.escape(str(lab))}'
            f'</div><audio controls preload="none" style="width:{width}px;max-width:100%" '
            f'src="data:audio/wav;base64,{b64}"></audio></div>'
        )
    style = f"display:flex;flex-wrap:wrap;gap:4px 12px;max-width:{ncols * (width + 12)}px"
    return f'<div class="ggan-audio-row" style="{style}">' + "".join(cells) + "</div>"


def audio_table(waves, labels: Sequence[str], sample_rate: int = SAMPLE_RATE, ncols: int = 5):
    """Display object for :func:`audio_table_html`."""
    from IPython.display import HTML

    return HTML(audio_table_html(waves, labels, sample_rate, ncols))


def plot_activation_maps(acts, ncols: int = 4, size: float = 2.6, suptitle: str | None = None):
    """One panel per stage of a dict {label: (B, C, H, W) activation}: the channel mean of sample 0.

    Each panel has its own colour scale (the stages differ in range); the title gives C × H × W.
    """
    import matplotlib.pyplot as plt

    n = len(acts)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    size = min(size, COLUMN_IN / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * 0.85 * nrows + 0.5), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax, (name, a) in zip(axes.flat, acts.items()):
        a0 = _as_numpy(a)[0]
        ax.imshow(a0.mean(0), origin="lower", aspect="auto", cmap="viridis")
        ax.set_title(f"{name}\n{' × '.join(map(str, a0.shape))}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    label_panels(fig, "width (time) →", "height (frequency) →")
    fig.tight_layout()
    return fig


def plot_hinge(ax=None, lim: float = 3.0):
    """The hinge losses of eq. 11-13 against a discriminator score s: relu(1 - s) on real, relu(1 + s) on fake,
    and the generator's -s (eq. 2, 3)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    s = np.linspace(-lim, lim, 301)
    ax.plot(s, np.maximum(0, 1 - s), label="D on a real sample: relu(1 − s)")
    ax.plot(s, np.maximum(0, 1 + s), label="D on a generated sample: relu(1 + s)")
    ax.plot(s, -s, "--", label="G on its sample: −s (eq. 2, 3)")
    ax.axvspan(-1, 1, color="0.93")
    ax.set_xlabel("discriminator score s")
    ax.set_ylabel("loss")
    ax.legend(fontsize=8)
    return ax


def scatter_classes(points, labels, ax=None, title: str | None = None, n_classes: int | None = None,
                    xlabel: str = "PC 1", ylabel: str = "PC 2", legend: bool = True):
    """2-D points (N, 2) coloured by class label (tab10), axes labelled (principal axes by default)."""
    import matplotlib.pyplot as plt

    p, y = _as_numpy(points), _as_numpy(labels).astype(int)
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    k = n_classes or int(y.max()) + 1
    cmap = plt.get_cmap("tab10" if k <= 10 else "tab20")
    for c in range(k):
        sel = y == c
        ax.scatter(p[sel, 0], p[sel, 1], s=5, color=cmap(c % cmap.N), label=str(c), alpha=0.7)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.tick_params(labelsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    if legend:
        ax.legend(fontsize=8, markerscale=2.5, title="class", title_fontsize=8, loc="upper left",
                  bbox_to_anchor=(1.0, 1.0), frameon=False)
    return ax


def save_spectrogram_grid(specs, path, titles: Sequence[str] | None = None, ncols: int = 5, size: float = 2.2,
                          suptitle: str | None = None):
    """Write a grid of spectrograms (N, [1,] H, W) to an image file without pyplot (safe in training loops)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=_grid_size(len(specs), ncols, size))
    _fill_grid(fig, specs, titles, ncols, suptitle)
    fig.savefig(path, dpi=72)
    return path


_EVAL_UNITS = {"eval/is": "IS", "eval/fid": "FID", "eval/acc": "accuracy", "eval/class_agree": "fraction"}


def plot_training(run_dir, loss_keys: Sequence[str] = ("d1", "d2", "df", "ecg", "fc"), smooth: int = 10):
    """Curves of a training run folder: losses, then IS / FID / accuracy of the periodic evaluations.

    Reads ``run_dir/log.jsonl`` (ggan_lib.metrics.monitor); a vertical line marks the best checkpoint
    (best.json). Returns the figure.
    """
    import matplotlib.pyplot as plt

    run = Path(run_dir)
    log = read_log(run / "log.jsonl")
    keep = [i for i, v in enumerate(log.get("d1", [])) if v is not None]  # loss lines, not eval lines
    train = {k: [vals[i] for i in keep] for k, vals in log.items()}
    ev = read_evals(run / "log.jsonl")
    panels = [(k, lab) for k, lab in (("eval/is", "IS (higher is better)"), ("eval/fid", "FID (lower is better)"),
                                      ("eval/acc", "held-out accuracy Cx(F(D(x)))"),
                                      ("eval/class_agree", "generated clips heard as their class c"))
              if k in ev and any(v is not None for v in ev[k])]
    ncols = 2 if panels else 1
    nrows = int(np.ceil((1 + len(panels)) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(COLUMN_IN, 2.4 * nrows), squeeze=False)
    plot_curves(train, [k for k in loss_keys if k in train], ax=axes.flat[0], smooth=smooth)
    axes.flat[0].set_title(f"losses ({smooth}-point running mean)", fontsize=9)
    best = json.loads((run / "best.json").read_text()) if (run / "best.json").exists() else None
    for ax, (k, lab) in zip(axes.flat[1:], panels):
        pts = [(i, v) for i, v in zip(ev["iter"], ev[k]) if v is not None]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", ms=3)
        ax.set_title(lab, fontsize=9)
        ax.set_xlabel("iteration")
        ax.set_ylabel(_EVAL_UNITS.get(k, k.removeprefix("eval/")))
        if best is not None:
            ax.axvline(best["iteration"], color="0.6", ls="--", lw=1, label="kept checkpoint")
    for ax in axes.flat[1 + len(panels):]:
        fig.delaxes(ax)  # an odd panel count leaves one cell of the grid empty
    fig.tight_layout()
    return fig


def show_snapshots(run_dir, which: Sequence[int] | None = None, n_audio: int = 5):
    """Display the spectrogram grids and audio players of a run's snapshots (default: first, middle, last)."""
    import soundfile as sf
    from IPython.display import HTML, Image, display

    snaps = list_snapshots(run_dir)
    if not snaps:
        raise FileNotFoundError(f"{Path(run_dir) / 'snapshots'}: no snapshots (train with monitoring on)")
    if which is None:
        pick = sorted({0, len(snaps) // 2, len(snaps) - 1})
        snaps = [snaps[i] for i in pick]
    else:
        wanted = {f"it{int(i):06d}" for i in which}
        snaps = [s for s in snaps if s.name in wanted]
    for d in snaps:
        display(HTML(f"<b>iteration {int(d.name[2:])}</b>"))
        if (d / "grid.png").exists():
            display(Image(filename=str(d / "grid.png")))
        wavs = sorted(d.glob("*.wav"))[:n_audio]
        waves = [sf.read(w, dtype="float32")[0] for w in wavs]
        display(audio_table(waves, [w.stem for w in wavs], ncols=n_audio))
    return [d.name for d in snaps]


def plot_validation_curves(curves, window: tuple[int, int] | None = (1500, 2000)):
    """Validation accuracy against iteration, one panel per labelled fraction, a line per method and variant
    (reports.validation_curves' ``curves``); ``window`` shaded (the iterations a decision averages)."""
    import matplotlib.pyplot as plt

    fracs = sorted(curves["labels"].unique(), key=label_fraction, reverse=True)
    colors = {m: f"C{i}" for i, m in enumerate(sorted(curves["method"].unique()))}
    fig, axes = plt.subplots(1, len(fracs), figsize=(5.2 * len(fracs), 3.4), sharey=True, squeeze=False)
    for ax, frac in zip(axes[0], fracs):
        for (method, variant), g in curves[curves["labels"] == frac].groupby(["method", "variant"]):
            ls = "-" if variant == "last iterate" else ("--" if variant.endswith("0.99") else ":")
            ax.plot(g["iteration"], g["val"], ls=ls, lw=1.4, color=colors[method], label=f"{method}, {variant}")
        if window:
            ax.axvspan(*window, color="0.9", zorder=0)
        ax.axhline(10, color="0.5", lw=0.8, ls=":")
        ax.set(title=f"{frac} labels", xlabel="iteration / step", ylabel="validation accuracy, %")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def plot_fold_draws(draws):
    """Test accuracy of every label draw by held-out speaker (reports.fold_draws), one panel per labelled
    fraction: a dot per draw, a bar at each method's mean, chance (10 %) dotted."""
    import matplotlib.pyplot as plt

    fracs = sorted(draws["labels"].unique(), key=label_fraction)
    speakers = sorted(draws["held-out speaker"].unique())
    methods = [m for m in TABLE2_METHODS if m in set(draws["method"])]
    fig, axes = plt.subplots(1, len(fracs), figsize=(COLUMN_IN, 3.2), sharey=True, squeeze=False)
    for ax, frac in zip(axes[0], fracs):
        d = draws[draws["labels"] == frac]
        for j, m in enumerate(methods):
            for i, spk in enumerate(speakers):
                acc = d[(d["method"] == m) & (d["held-out speaker"] == spk)]["accuracy"]
                x = i + (j - (len(methods) - 1) / 2) * 0.25
                ax.scatter(np.full(len(acc), x), acc, s=12, color=f"C{j}", label=m if i == 0 else None)
                if len(acc):
                    ax.plot([x - 0.1, x + 0.1], [acc.mean()] * 2, color=f"C{j}", lw=2)
        ax.axhline(10, color="0.5", lw=0.8, ls=":")
        ax.set_xticks(range(len(speakers)), speakers, fontsize=8)
        ax.set(title=f"{frac} labels", xlabel="held-out speaker")
    axes[0][0].set_ylabel("test accuracy, %")
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, fontsize=8, loc="lower center", ncol=len(methods), frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig
