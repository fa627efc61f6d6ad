"""Figures of the evaluation results: t-SNE embeddings (Fig. 5) and latent interpolation strips (Fig. 4)."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

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
    ax.legend(fontsize=7, markerscale=2, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.figure.tight_layout()
    return ax.figure


def tsne_report(features, labels, *, class_names: Sequence[str] | None = None, title: str | None = None,
                perplexity: float = 30.0, seed: int = 0, k: int = 5, folds: int = 5):
    """Embed, score and plot in one call: returns (embedding (N, 2), scores dict, figure)."""
    emb = tsne_embedding(features, perplexity=perplexity, seed=seed)
    scores = representation_scores(features, labels, embedding=emb, k=k, folds=folds, seed=seed)
    return emb, scores, plot_embedding(emb, labels, class_names=class_names, title=title, scores=scores)


def plot_interpolation(interp: Interpolation, *, size: float = 1.6, title: str | None = None):
    """The spectrogram strip of a path (left: first code, right: second), smoothness in the title; a figure."""
    n = len(interp.specs)
    fig, axes = plt.subplots(1, n, figsize=(size * n, size * 1.1), squeeze=False)
    for i, ax in enumerate(axes[0]):
        spec = interp.specs[i].detach().float().cpu().numpy().squeeze()
        ax.imshow(spec, origin="lower", aspect="auto", cmap="magma", vmin=-1, vmax=1)  # as book.viz.plot_spectrogram
        ax.set_title(f"t={float(interp.t[i]):.2f}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("")
        ax.set_ylabel("")
    axes[0][0].set_ylabel(interp.ends[0])
    axes[0][-1].set_ylabel(interp.ends[1])
    axes[0][-1].yaxis.set_label_position("right")
    s = interp.spec_smoothness
    text = f"{interp.ends[0]} -> {interp.ends[1]}: spec step {s['mean_step']:.3f}, jump {s['jump_ratio']:.2f}"
    if interp.audio_smoothness is not None:
        text += f"; audio jump {interp.audio_smoothness['jump_ratio']:.2f}"
    fig.suptitle(f"{title}\n{text}" if title else text, fontsize=9)
    fig.tight_layout()
    return fig
