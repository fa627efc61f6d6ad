"""t-SNE of a representation coloured by class (paper Fig. 5), with numbers beside the picture.

Works on any feature matrix: F(D(x_test)) of a GGAN, the CNN's F(trunk(x)), the unsupervised BigGAN's
ALI encoding E(x). "Clustered together and easily separable" is stated with k-NN accuracy
(cross-validated, on the raw features and on the 2-D embedding) and the silhouette score.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def _np(x) -> np.ndarray:
    """Tensor or array -> numpy on the CPU."""
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x)


def tsne_embedding(features, *, perplexity: float = 30.0, seed: int = 0, pca_dim: int | None = 50) -> np.ndarray:
    """(N, d) features -> (N, 2) t-SNE embedding (PCA to pca_dim first when d is larger; perplexity clamped to N)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    X = _np(features).astype(np.float64).reshape(len(features), -1)
    if pca_dim is not None and X.shape[1] > pca_dim and len(X) > pca_dim:
        X = PCA(n_components=pca_dim, random_state=seed).fit_transform(X)
    # sklearn requires perplexity < n_samples; (N - 1) / 3 keeps ~3 perplexities of neighbours available
    perp = float(min(perplexity, max(1.0, (len(X) - 1) / 3)))
    return TSNE(n_components=2, perplexity=perp, init="pca", random_state=seed).fit_transform(X)


def knn_accuracy(features, labels, *, k: int = 5, folds: int = 5, seed: int = 0) -> float:
    """Stratified k-fold cross-validated accuracy of a k-NN classifier on the features (folds <= smallest class)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    X, y = _np(features).reshape(len(features), -1), _np(labels).astype(int)
    counts = np.bincount(y)
    folds = int(min(folds, counts[counts > 0].min()))
    if folds < 2:
        raise ValueError("k-NN cross-validation needs at least 2 samples of every class")
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    k = int(min(k, len(X) - len(X) // folds - 1))  # no more neighbours than the smallest training fold holds
    return float(cross_val_score(KNeighborsClassifier(n_neighbors=max(1, k)), X, y, cv=cv).mean())


def silhouette(features, labels) -> float:
    """Silhouette score of the labels as clusters in the feature space (-1 .. 1; ~0 for random labels)."""
    from sklearn.metrics import silhouette_score

    return float(silhouette_score(_np(features).reshape(len(features), -1), _np(labels).astype(int)))


def representation_scores(features, labels, *, embedding=None, k: int = 5, folds: int = 5,
                          seed: int = 0) -> dict[str, float]:
    """k-NN accuracy and silhouette on the raw features and (if given) on the 2-D embedding."""
    out = {"knn_acc_features": knn_accuracy(features, labels, k=k, folds=folds, seed=seed),
           "silhouette_features": silhouette(features, labels)}
    if embedding is not None:
        out["knn_acc_embedding"] = knn_accuracy(embedding, labels, k=k, folds=folds, seed=seed)
        out["silhouette_embedding"] = silhouette(embedding, labels)
    return out


_SHORT = {"knn_acc_features": "kNN feat", "silhouette_features": "sil feat", "knn_acc_embedding": "kNN 2-D",
          "silhouette_embedding": "sil 2-D"}  # plot-title names of representation_scores' keys


def plot_embedding(embedding, labels, *, class_names: Sequence[str] | None = None, ax=None,
                   title: str | None = None, scores: dict[str, float] | None = None):
    """Scatter of a 2-D embedding coloured by class (Fig. 5), scores in the title; returns the figure."""
    import matplotlib.pyplot as plt

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
