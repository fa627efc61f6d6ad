"""Figures of the evaluation results: t-SNE embeddings (Fig. 5) and latent interpolation strips (Fig. 4)."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from ggan_lib.book.viz import COLUMN_IN, label_panels, plot_spectrogram
from ggan_lib.metrics.interpolation import Interpolation
from ggan_lib.metrics.representation import representation_scores, tsne_embedding


def _np(x) -> np.ndarray:
    """Tensor or array -> numpy array on the CPU."""
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x)


_SHORT = {"knn_acc_features": "kNN feat", "silhouette_features": "sil feat", "knn_acc_embedding": "kNN 2-D",
          "silhouette_embedding": "sil 2-D"}  # plot-title names of representation_scores' keys


def plot_embedding(embedding, labels, *, class_names: Sequence[str] | None = None, ax=None,
                   title: str | None = None, scores: dict[str, float] | None = None):
    """Scatter of a 2-D embedding coloured by class (Fig. 5), scores in the title; returns the figure."""
    E, y = _np(embedding), _np(labels).astype(int)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4.5))
    cmap = plt.get_cmap("tab10" if y.max(initial=0) < 10 else "tab20")
    for c in np.unique(y):
        name = class_names[c] if class_names is not None else str(c)
        ax.scatter(E[y == c, 0], E[y == c, 1], s=8, color=cmap(c % cmap.N), label=name, alpha=0.8)
    ax.set_xticks([])
    ax.set_yticks([])
    text = title or "t-SNE"
    if scores:
        text += "\n" + ", ".join(f"{_SHORT.get(k, k)} {v:.2f}" for k, v in scores.items())
    ax.set_title(text, fontsize=8)
    ax.legend(fontsize=8, markerscale=2, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.figure.tight_layout()
    return ax.figure


def tsne_report(features, labels, *, class_names: Sequence[str] | None = None, title: str | None = None,
                perplexity: float = 30.0, seed: int = 0, k: int = 5, folds: int = 5):
    """Embed, score and plot in one call: returns (embedding (N, 2), scores dict, figure)."""
    emb = tsne_embedding(features, perplexity=perplexity, seed=seed)
    scores = representation_scores(features, labels, embedding=emb, k=k, folds=folds, seed=seed)
    return emb, scores, plot_embedding(emb, labels, class_names=class_names, title=title, scores=scores)


def plot_interpolation(interp: Interpolation, *, size: float = 1.6, title: str | None = None, ncols: int = 4):
    """The spectrograms of a path (first code to second), ``ncols`` to a row, smoothness in the title; a figure.

    Sized for the book's text column (viz.COLUMN_IN): a long path wraps onto more rows."""
    n = len(interp.specs)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    panel = min(size, COLUMN_IN / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel * ncols, panel * 0.75 * nrows + 0.9), squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
            continue
        end = f"{interp.ends[0]}, " if i == 0 else f"{interp.ends[1]}, " if i == n - 1 else ""
        plot_spectrogram(interp.specs[i], ax=ax, title=f"{end}t = {float(interp.t[i]):.2f}")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("")
        ax.set_ylabel("")
    label_panels(fig)
    s = interp.spec_smoothness
    text = f"{interp.ends[0]} → {interp.ends[1]}: mean step {s['mean_step']:.3f}, jump ratio {s['jump_ratio']:.2f}"
    if interp.audio_smoothness is not None:
        text += f" (audio {interp.audio_smoothness['jump_ratio']:.2f})"
    fig.suptitle(f"{title}\n{text}" if title else text, fontsize=9)
    fig.tight_layout()
    return fig
