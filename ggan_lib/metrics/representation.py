"""t-SNE of a representation coloured by class (paper Fig. 5), with numbers beside the picture.

Works on any feature matrix: F(D(x_test)) of a GGAN, the CNN's F(trunk(x)), the unsupervised BigGAN's
ALI encoding E(x). "Clustered together and easily separable" is stated with k-NN accuracy
(cross-validated, on the raw features and on the 2-D embedding) and the silhouette score.
"""
from __future__ import annotations

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
