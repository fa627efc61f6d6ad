"""The t-SNE explorer's state and computation, without any widget (the interpolation's: interp_state.py).

:class:`TSNEState` holds the clips, the model registry, the chosen (model, perplexity, colouring,
point) and caches features, embeddings and scores. Every change goes through a method, which then
calls ``self._changed(all_=..., autoplay=...)``: a no-op here (:class:`ExplorerState`), the view's
refresh in :mod:`ggan_lib.book.widgets`.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ggan_lib.audio import AudioConfig, load_audio
from ggan_lib.audio.pghi import spectrogram_to_audio
from ggan_lib.book.explorer_models import ModelKey, as_registry, load_model
from ggan_lib.data import DigitFolder, default_fsdd_dir
from ggan_lib.experiments.reproduce.tables import fraction_label
from ggan_lib.metrics.representation import representation_scores, tsne_embedding


class ExplorerState:
    """What every explorer state shares: the change hook its view overrides."""

    def _changed(self, all_: bool = False, autoplay: bool = False) -> None:
        """Called after every change of state (all_: more than the selected point changed)."""


def _folder_rows(labels: np.ndarray, n_per_class: int | None, seed: int) -> np.ndarray:
    """Indices of at most n_per_class clips per class (seeded), sorted; all rows when None."""
    if n_per_class is None:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    return np.sort(np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:n_per_class]
                                   for c in np.unique(labels)]))


# ============================================================================ t-SNE
class TSNEState(ExplorerState):
    """t-SNE of F(D(x)) of real clips: model / fraction / perplexity / colouring choices and a selected point.

    models: a {(name, fraction): spec} registry (:func:`~ggan_lib.book.explorer_models.model_registry`),
    {name: spec}, or one model; spec is anything :func:`~ggan_lib.book.explorer_models.load_model` takes.
    specs (N, 1, H, W), labels (N,) and optional speakers (N,) describe the clips; paths (N,) give each
    point's original audio (else the PGHI audio of its spectrogram is played). Every model must take
    spectrograms of the clips' shape.
    """

    COLOR_BY = ("class", "speaker")

    def __init__(self, models: Any, specs, labels, *, speakers: Sequence[str] | None = None,
                 paths: Sequence[str | os.PathLike] | None = None, class_names: Sequence[str] | None = None,
                 perplexities: Sequence[float] = (5, 15, 30, 50), perplexity: float = 30,
                 color_by: str = "class", seed: int = 0, k: int = 5, selected: int = 0,
                 model: ModelKey | None = None):
        self.registry = as_registry(models)
        if not self.registry:
            raise ValueError("no models to explore")
        self._set_clips(specs, labels, speakers, paths, class_names)
        self.perplexities = [float(p) for p in perplexities]
        if float(perplexity) not in self.perplexities:
            self.perplexities = sorted(self.perplexities + [float(perplexity)])
        self.seed, self.k = seed, k
        self.audio_cfg = AudioConfig(spec_shape=tuple(self.specs.shape[-2:]))
        self._loaded: dict[ModelKey, Any] = {}
        self._features: dict[ModelKey, np.ndarray] = {}
        self._embeddings: dict[tuple, np.ndarray] = {}
        self._scores: dict[tuple, dict] = {}
        self._audio: dict[int, np.ndarray] = {}
        self.key: ModelKey = model if model is not None else next(iter(self.registry))
        self.perplexity = float(perplexity)
        if color_by not in self.COLOR_BY:
            raise ValueError(f"color_by must be one of {self.COLOR_BY}")
        self.color_by = color_by
        self.selected = int(selected)
        self._check_index(self.selected)
        self._compute()

    def _set_clips(self, specs, labels, speakers, paths, class_names) -> None:
        """Spectrograms, labels, speakers, paths and names of the clips, checked for one entry each."""
        self.specs = torch.as_tensor(specs).float()
        if self.specs.ndim == 3:
            self.specs = self.specs[:, None]
        self.labels = np.asarray(labels).astype(int)
        n = len(self.specs)
        if len(self.labels) != n:
            raise ValueError(f"{n} spectrograms but {len(self.labels)} labels")
        self.speakers = np.asarray(list(speakers) if speakers is not None else ["?"] * n)
        self.paths = None if paths is None else [Path(p) for p in paths]
        if len(self.speakers) != n or (self.paths is not None and len(self.paths) != n):
            raise ValueError("speakers and paths need one entry per spectrogram")
        k_cls = int(self.labels.max()) + 1
        self.class_names = list(class_names) if class_names is not None else [str(c) for c in range(k_cls)]
        self.speaker_names = sorted(set(self.speakers.tolist()))
        self.speaker_ids = np.array([self.speaker_names.index(s) for s in self.speakers])

    @classmethod
    def from_folder(cls, models: Any, folder=None, *, split: str = "test", n_per_class: int | None = None,
                    seed: int = 0, spec_shape: Sequence[int] | None = None, cache_dir=None, **kw):
        """Explorer over a DigitFolder's clips (FSDD test split by default), at most n_per_class per class.

        spec_shape defaults to that of the registry's first model.
        """
        reg = as_registry(models)
        if spec_shape is None:
            first = kw.get("model") or next(iter(reg))
            pm = load_model(reg[first], first[0])
            spec_shape = tuple(pm.model_cfg.spec_shape)
            reg[first] = pm
        ds = DigitFolder(folder if folder is not None else default_fsdd_dir(), split=split,
                         cfg=AudioConfig(spec_shape=tuple(spec_shape)), cache_dir=cache_dir, progress=False)
        rows = _folder_rows(ds.labels, n_per_class, seed)
        X, y = ds.as_tensors()
        names = kw.pop("class_names", None) or list(ds.classes)
        return cls(reg, X[rows], y[rows].numpy(), speakers=[ds.speakers[i] for i in rows],
                   paths=[ds.paths[i] for i in rows], class_names=names, seed=seed, **kw)

    # ------------------------------------------------------------------ models and cached results
    @property
    def n_points(self) -> int:
        """Number of clips (points)."""
        return len(self.specs)

    def model(self, key: ModelKey | None = None):
        """The loaded Pretrained of a registry key (default: the current one)."""
        key = self.key if key is None else key
        if key not in self._loaded:
            pm = load_model(self.registry[key], key[0])
            shape = tuple(pm.model_cfg.spec_shape)
            if shape != tuple(self.specs.shape[-2:]):
                raise ValueError(f"model {key[0]!r} takes {shape} spectrograms, the clips are "
                                 f"{tuple(self.specs.shape[-2:])}")
            self._loaded[key] = pm
        return self._loaded[key]

    @property
    def names(self) -> list[str]:
        """Distinct model names of the registry, in order."""
        return list(dict.fromkeys(k[0] for k in self.registry))

    def fractions(self, name: str | None = None) -> list[float | None]:
        """Fractions available for a model name (default: the current one)."""
        name = self.key[0] if name is None else name
        return [k[1] for k in self.registry if k[0] == name]

    @property
    def features(self) -> np.ndarray:
        """F(D(x)) (N, d) of the current model."""
        return self._features[self.key]

    @property
    def embedding(self) -> np.ndarray:
        """The current t-SNE embedding (N, 2)."""
        return self._embeddings[(self.key, self.perplexity)]

    @property
    def scores(self) -> dict[str, dict[str, float]]:
        """{'class': {...}, 'speaker': {...}}: k-NN accuracy and silhouette on features and embedding."""
        return self._scores[(self.key, self.perplexity)]

    def group_ids(self, by: str | None = None) -> np.ndarray:
        """The colour group (class or speaker index) of every point, for a colouring (default: the current)."""
        return self.labels if (by or self.color_by) == "class" else self.speaker_ids

    def group_names_of(self, by: str | None = None) -> list[str]:
        """Names of the colour groups of a colouring (default: the current)."""
        return self.class_names if (by or self.color_by) == "class" else self.speaker_names

    @property
    def color_ids(self) -> np.ndarray:
        """The colour group (class or speaker index) of every point, for the current colouring."""
        return self.group_ids()

    @property
    def group_names(self) -> list[str]:
        """Names of the colour groups of the current colouring."""
        return self.group_names_of()

    def _compute(self) -> None:
        """Features, embedding and scores of the current (model, perplexity), cached."""
        if self.key not in self._features:
            pm = self.model()
            with torch.no_grad():
                f = torch.cat([pm.features(xb).float().cpu() for xb in self.specs.split(256)])
            self._features[self.key] = f.numpy()
        ek = (self.key, self.perplexity)
        if ek not in self._embeddings:
            self._embeddings[ek] = tsne_embedding(self.features, perplexity=self.perplexity, seed=self.seed)
        if ek not in self._scores:
            sc = {}
            for what, ids in (("class", self.labels), ("speaker", self.speaker_ids)):
                if len(np.unique(ids)) < 2 or np.bincount(ids).min() < 2:
                    continue
                sc[what] = representation_scores(self.features, ids, embedding=self.embedding, k=self.k,
                                                 seed=self.seed)
            self._scores[ek] = sc

    # ------------------------------------------------------------------ actions
    def _check_index(self, i: int) -> None:
        if not 0 <= int(i) < self.n_points:
            raise IndexError(f"point {i} out of range 0..{self.n_points - 1}")

    def set_model(self, name: str, fraction: float | None | str = "first") -> None:
        """Switch model (and fraction; default the first available for that name); recomputes t-SNE."""
        fracs = self.fractions(name)
        if not fracs:
            raise KeyError(f"unknown model {name!r}; have {self.names}")
        frac = fracs[0] if fraction == "first" else fraction
        if (name, frac) not in self.registry:
            raise KeyError(f"model {name!r} has no fraction {frac!r}; have {fracs}")
        self.key = (name, frac)
        self._compute()
        self._changed(all_=True)

    def set_fraction(self, fraction: float | None) -> None:
        """Switch to the current model name guided with another fraction."""
        self.set_model(self.key[0], fraction)

    def set_perplexity(self, perplexity: float) -> None:
        """Recompute (or fetch) the embedding at another perplexity."""
        self.perplexity = float(perplexity)
        self._compute()
        self._changed(all_=True)

    def set_color_by(self, by: str) -> None:
        """Colour the points by 'class' or 'speaker'."""
        if by not in self.COLOR_BY:
            raise ValueError(f"color_by must be one of {self.COLOR_BY}, got {by!r}")
        self.color_by = by
        self._changed(all_=True)

    def select(self, i: int, autoplay: bool = False) -> None:
        """Show point i: its spectrogram, its audio and its metadata."""
        self._check_index(i)
        self.selected = int(i)
        self._changed(autoplay=autoplay)

    def nearest(self, x: float, y: float) -> int:
        """Index of the point nearest to (x, y) in the current embedding."""
        return int(np.argmin(((self.embedding - np.array([x, y])) ** 2).sum(1)))

    def select_nearest(self, x: float, y: float) -> int:
        """Select the point nearest to (x, y) in the embedding; returns its index."""
        i = self.nearest(x, y)
        self.select(i)
        return i

    # ------------------------------------------------------------------ what a point shows
    def point_spectrogram(self, i: int | None = None) -> np.ndarray:
        """The (H, W) spectrogram of point i (default: the selected point)."""
        return self.specs[self.selected if i is None else i, 0].numpy()

    @property
    def shown_spectrogram(self) -> np.ndarray:
        """The spectrogram currently shown (of the selected point)."""
        return self.point_spectrogram()

    def point_audio(self, i: int | None = None) -> np.ndarray:
        """Audio of point i: the original clip (16 kHz) when paths are known, else the PGHI of its spectrogram."""
        i = self.selected if i is None else int(i)
        if i not in self._audio:
            if self.paths is not None:
                with warnings.catch_warnings():  # a clip over 1 s is cut, as the model saw it
                    warnings.simplefilter("ignore")
                    self._audio[i] = load_audio(self.paths[i], AudioConfig())
            else:
                self._audio[i] = np.asarray(spectrogram_to_audio(self.specs[i:i + 1, 0].double().numpy(),
                                                                 self.audio_cfg))[0]
        return self._audio[i]

    def point_info(self, i: int | None = None) -> str:
        """One line about point i: index, class, speaker, file, t-SNE position."""
        i = self.selected if i is None else int(i)
        x, y = self.embedding[i]
        f = f", {self.paths[i].name}" if self.paths is not None else ""
        return (f"point {i}: class {self.class_names[self.labels[i]]!r}, speaker {self.speakers[i]}{f}; "
                f"t-SNE ({x:.1f}, {y:.1f})")

    def scores_text(self) -> str:
        """The k-NN accuracy / silhouette figures as one line per labelling."""
        parts = []
        for what, s in self.scores.items():
            parts.append(f"{what}: {self.k}-NN acc {s['knn_acc_features']:.2f} (features) / "
                         f"{s['knn_acc_embedding']:.2f} (2-D), silhouette {s['silhouette_features']:.2f} / "
                         f"{s['silhouette_embedding']:.2f}")
        return "; ".join(parts)

    @property
    def title(self) -> str:
        """Model, fraction and perplexity of the current view."""
        return (f"{self.key[0]} (guided by {fraction_label(self.key[1])} of the labels), "
                f"perplexity {self.perplexity:g}")

    def examples(self, per: str = "class") -> list[int]:
        """One representative point per class (or speaker): the one nearest its group's 2-D centroid."""
        ids = self.group_ids(per)
        out = []
        for g in np.unique(ids):
            rows = np.flatnonzero(ids == g)
            c = self.embedding[rows].mean(0)
            out.append(int(rows[np.argmin(((self.embedding[rows] - c) ** 2).sum(1))]))
        return out
