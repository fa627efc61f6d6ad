"""Interactive explorers of a trained GGAN for the book (chapter 10, reused by chapter 11).

Two explorers, both plain Python objects whose state changes only through methods; the ipywidgets
controls only call those methods, so everything is testable without Jupyter (tests/test_widgets.py):

* :class:`TSNEExplorer`: t-SNE of the representation f = F(D(x)) of real clips. Pick the model and
  the labelled fraction it was guided with, the perplexity, colour by class or by speaker, and
  select a point (slider, "nearest to (x, y)", or click / hover when plotly's FigureWidget is
  available) to see its spectrogram and play its audio. k-NN accuracy and silhouette are shown.
* :class:`InterpolationExplorer`: linear interpolation between ze_a = E(z, c_a) and ze_b = E(z, c_b)
  (two digits, or male / female for a gender-guided model: any ``class_names``); slide along the
  path to see G(ze) and hear its PGHI audio.

Each has ``.widget`` (built on first use; ``display(explorer)`` shows it) and ``.snapshot()``, which
displays a static figure, embedded audio players and a note, so a static HTML page still shows
something meaningful; the live version needs a running Jupyter / JupyterLab / Colab kernel.

    from ggan_lib.book import widgets
    ex = widgets.TSNEExplorer.from_folder(widgets.model_registry())   # FSDD test clips, shipped model
    ex.select(12); ex.set_color_by("speaker"); ex           # or interact with ex.widget
    ip = widgets.InterpolationExplorer(load_pretrained(), class_names=DigitFolder.classes)
"""
from __future__ import annotations

import html
import io
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from ggan_lib.audio import AudioConfig

#: Shown beside every static snapshot.
LIVE_NOTE = ("<i>Static snapshot. The live, interactive explorer runs when this page is opened as a "
             "notebook in Jupyter, JupyterLab or Colab (the <b>Open in Colab</b> badge at the top).</i>")

ModelKey = tuple[str, "float | None"]  # (model name, labelled fraction it was guided with)


# ============================================================================ models
def load_model(spec: Any, name: str = "model") -> Any:
    """A Pretrained-like model from: a Pretrained (returned as is), a GGAN module, a Trainer,
    a shipped registry name ('ggan-fsdd-small'), an exported .pt, or a training checkpoint.pt."""
    from ggan_lib.experiments.pretrained import Pretrained, load_pretrained

    if hasattr(spec, "model") and hasattr(spec, "model_cfg"):     # Pretrained
        return spec
    if hasattr(spec, "model") and hasattr(spec, "mcfg"):          # Trainer
        return Pretrained(spec.model.eval(), spec.mcfg, spec.cfg, {}, {"name": name})
    if isinstance(spec, nn.Module):                               # GGAN
        return Pretrained(spec.eval(), spec.cfg, None, {}, {"name": name})
    from ggan_lib.io import checkpoint as ckpt
    from ggan_lib.experiments.pretrained import FORMAT, export_state, resolve

    path = resolve(spec)
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and state.get("format") == ckpt.FORMAT:   # a training checkpoint: export in memory
        from ggan_lib.config import ModelConfig
        from ggan_lib.model.networks import GGAN
        from ggan_lib.train.ggan import TrainConfig
        import json

        exp = export_state(state, name)
        mcfg = ModelConfig.from_dict(json.loads(exp["model_cfg"]))
        model = GGAN(mcfg)
        model.load_state_dict(exp["nets"])
        return Pretrained(model.eval().requires_grad_(False), mcfg,
                          TrainConfig.from_dict(json.loads(exp["train_cfg"])), {},
                          {"name": name, "iteration": exp["iteration"]}, Path(path))
    if isinstance(state, dict) and state.get("format") == FORMAT:
        return load_pretrained(path)
    return load_pretrained(spec)  # raises the library's clear error


def guided_fraction(pm: Any) -> float | None:
    """The labelled fraction a Pretrained (or a card dict) was guided with: the card's ``fraction`` or
    the ``--label-fraction`` of its training command; None when unknown."""
    card = pm if isinstance(pm, Mapping) else (getattr(pm, "card", None) or {})
    if isinstance(card.get("fraction"), (int, float)):
        return float(card["fraction"])
    m = re.search(r"--label-fraction[ =]([0-9.eE+-]+)", str(card.get("command", "")))
    return float(m.group(1)) if m else None


def find_run_checkpoints(runs_dir: str | os.PathLike, file: str = "checkpoint.pt") -> dict[ModelKey, Path]:
    """GGAN runs of the reproduction (``<runs_dir>/ggan_f<percent>_d<draw>/checkpoint.pt``) that exist now:
    {("ggan draw <draw>", fraction): path}. Missing folder -> {}."""
    out: dict[ModelKey, Path] = {}
    root = Path(runs_dir)
    if not root.is_dir():
        return out
    for d in sorted(root.glob("ggan_f*_d*")):
        m = re.fullmatch(r"ggan_f([0-9.]+)_d([0-9]+)", d.name)
        if m and (d / file).is_file():
            out[(f"ggan draw {int(m.group(2))}", round(float(m.group(1)) / 100, 6))] = d / file
    return out


def model_registry(extra: Mapping[Any, Any] | None = None, *, shipped: bool = True) -> dict[ModelKey, Any]:
    """{(name, fraction): Pretrained | name | path}: the shipped model (fraction from its card) plus ``extra``.

    ``extra`` keys may be (name, fraction) tuples or plain names (fraction read from a Pretrained's
    card, else None). Values are loaded lazily by :func:`load_model` when the explorer first needs them.
    """
    reg: dict[ModelKey, Any] = {}
    if shipped:
        from ggan_lib.experiments.pretrained import MODELS_DIR, REGISTRY, read_card

        for name, file in REGISTRY.items():
            if (MODELS_DIR / file).exists():
                reg[(name, guided_fraction(read_card(MODELS_DIR / file)))] = name
    for key, spec in (extra or {}).items():
        if isinstance(key, tuple):
            reg[(str(key[0]), None if key[1] is None else float(key[1]))] = spec
        else:
            frac = guided_fraction(spec) if hasattr(spec, "card") else None
            reg[(str(key), frac)] = spec
    return reg


def _as_registry(models: Any) -> dict[ModelKey, Any]:
    """One model or a mapping -> {(name, fraction): spec} (no shipped model added)."""
    if isinstance(models, Mapping):
        return model_registry(models, shipped=False)
    name = "ggan-fsdd-small" if isinstance(models, str) else "model"
    return model_registry({name: models}, shipped=False)


def fraction_label(fraction: float | None) -> str:
    """0.05 -> '5 %' (None -> 'unknown')."""
    return "unknown" if fraction is None else f"{fraction * 100:g} %"


# ============================================================================ rendering helpers
def figure_png(fig, dpi: int = 80) -> bytes:
    """PNG bytes of a matplotlib Figure (no pyplot state touched)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _new_figure(figsize):
    """A pyplot-free Figure (nothing is displayed twice in a notebook)."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def _palette(n: int) -> np.ndarray:
    """n RGBA colours: tab10 up to 10, tab20 up to 20, then a sampled rainbow."""
    import matplotlib

    if n <= 10:
        return np.asarray(matplotlib.colormaps["tab10"].colors)[:n]
    if n <= 20:
        return np.asarray(matplotlib.colormaps["tab20"].colors)[:n]
    return matplotlib.colormaps["hsv"](np.linspace(0, 1, n, endpoint=False))[:, :3]


def _spec_ax(ax, spec, title: str | None = None):
    """One spectrogram into ax, without ticks."""
    from ggan_lib.book.viz import plot_spectrogram

    plot_spectrogram(spec, ax=ax, title=title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("time")
    ax.set_ylabel("frequency")


def _display(*objs) -> None:
    """IPython display of each object (no-op outside IPython is fine: display prints a repr)."""
    from IPython.display import display

    for o in objs:
        display(o)


@dataclass
class Snapshot:
    """What a snapshot shows: a PNG figure, an HTML block of audio players and a note."""

    png: bytes
    audio_html: str
    note: str = LIVE_NOTE
    waves: list = field(default_factory=list)

    def display(self) -> None:
        """Show the figure, the players and the note in the notebook."""
        from IPython.display import HTML, Image

        _display(Image(data=self.png, format="png"), HTML(self.audio_html), HTML(self.note))

    def _ipython_display_(self):
        self.display()


# ============================================================================ shared by the explorers
class _Explorer:
    """The ipywidgets UI, built on first use by the subclass's _build_widget(), shown by Jupyter."""

    _widget = None

    @property
    def widget(self):
        """The ipywidgets UI (built on first use)."""
        if self._widget is None:
            self._widget = self._build_widget()
            self._refresh(all_=True)
        return self._widget

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


# ============================================================================ t-SNE explorer
class TSNEExplorer(_Explorer):
    """t-SNE of F(D(x)) of real clips, with model / fraction / perplexity / colouring choices and a point view.

    models: a {(name, fraction): spec} registry (:func:`model_registry`), {name: spec}, or one model;
    spec is anything :func:`load_model` takes. specs (N, 1, H, W), labels (N,) and optional speakers
    (N,) describe the clips; paths (N,) give each point's original audio (else the PGHI audio of its
    spectrogram is played). Every model must take spectrograms of the clips' shape.
    """

    COLOR_BY = ("class", "speaker")

    def __init__(self, models: Any, specs, labels, *, speakers: Sequence[str] | None = None,
                 paths: Sequence[str | os.PathLike] | None = None, class_names: Sequence[str] | None = None,
                 perplexities: Sequence[float] = (5, 15, 30, 50), perplexity: float = 30,
                 color_by: str = "class", seed: int = 0, k: int = 5, selected: int = 0,
                 model: ModelKey | None = None, plotly: bool | str = "auto"):
        self.registry = _as_registry(models)
        if not self.registry:
            raise ValueError("no models to explore")
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
        self._widget = None
        self._plotly_mode = plotly
        self.fig_widget = None            # the plotly FigureWidget when used
        self.key: ModelKey = model if model is not None else next(iter(self.registry))
        self.perplexity = float(perplexity)
        if color_by not in self.COLOR_BY:
            raise ValueError(f"color_by must be one of {self.COLOR_BY}")
        self.color_by = color_by
        self.selected = int(selected)
        self._check_index(self.selected)
        self._compute()

    # ------------------------------------------------------------------ construction from a folder
    @classmethod
    def from_folder(cls, models: Any, folder=None, *, split: str = "test", n_per_class: int | None = None,
                    seed: int = 0, spec_shape: Sequence[int] | None = None, cache_dir=None, **kw) -> "TSNEExplorer":
        """Explorer over a DigitFolder's clips (FSDD test split by default), at most n_per_class per class.

        spec_shape defaults to that of the registry's first model.
        """
        from ggan_lib.data import DigitFolder, default_fsdd_dir

        reg = _as_registry(models)
        if spec_shape is None:
            first = kw.get("model") or next(iter(reg))
            pm = load_model(reg[first], first[0])
            spec_shape = tuple(pm.model_cfg.spec_shape)
            reg[first] = pm
        ds = DigitFolder(folder if folder is not None else default_fsdd_dir(), split=split,
                         cfg=AudioConfig(spec_shape=tuple(spec_shape)), cache_dir=cache_dir, progress=False)
        rows = np.arange(len(ds))
        if n_per_class is not None:
            rng = np.random.default_rng(seed)
            rows = np.sort(np.concatenate([rng.permutation(np.flatnonzero(ds.labels == c))[:n_per_class]
                                           for c in np.unique(ds.labels)]))
        X, y = ds.as_tensors()
        names = kw.pop("class_names", None) or list(ds.classes)
        return cls(reg, X[rows], y[rows].numpy(), speakers=[ds.speakers[i] for i in rows],
                   paths=[ds.paths[i] for i in rows], class_names=names, seed=seed, **kw)

    # ------------------------------------------------------------------ state
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

    @property
    def color_ids(self) -> np.ndarray:
        """The colour group (class or speaker index) of every point, for the current colouring."""
        return self.labels if self.color_by == "class" else self.speaker_ids

    @property
    def group_names(self) -> list[str]:
        """Names of the colour groups of the current colouring."""
        return self.class_names if self.color_by == "class" else self.speaker_names

    @property
    def point_colors(self) -> np.ndarray:
        """RGB colour (N, 3) of every point under the current colouring."""
        return _palette(len(self.group_names))[self.color_ids]

    def _compute(self) -> None:
        """Features, embedding and scores of the current (model, perplexity), cached."""
        from ggan_lib.metrics.representation import representation_scores, tsne_embedding

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

    # ------------------------------------------------------------------ actions (the widget calls these)
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
        self._refresh(all_=True)

    def set_fraction(self, fraction: float | None) -> None:
        """Switch to the current model name guided with another fraction."""
        self.set_model(self.key[0], fraction)

    def set_perplexity(self, perplexity: float) -> None:
        """Recompute (or fetch) the embedding at another perplexity."""
        self.perplexity = float(perplexity)
        self._compute()
        self._refresh(all_=True)

    def set_color_by(self, by: str) -> None:
        """Colour the points by 'class' or 'speaker'."""
        if by not in self.COLOR_BY:
            raise ValueError(f"color_by must be one of {self.COLOR_BY}, got {by!r}")
        self.color_by = by
        self._refresh(all_=True)

    def select(self, i: int, autoplay: bool = False) -> None:
        """Show point i: its spectrogram, its audio and its metadata."""
        self._check_index(i)
        self.selected = int(i)
        self._refresh(autoplay=autoplay)

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
                from ggan_lib.audio import load_audio

                with warnings.catch_warnings():  # a clip over 1 s is cut, as the model saw it
                    warnings.simplefilter("ignore")
                    self._audio[i] = load_audio(self.paths[i], AudioConfig())
            else:
                from ggan_lib.audio.pghi import spectrogram_to_audio

                self._audio[i] = np.asarray(spectrogram_to_audio(self.specs[i:i + 1, 0].double().numpy(),
                                                                 self.audio_cfg))[0]
        return self._audio[i]

    def point_wav(self, i: int | None = None) -> bytes:
        """WAV bytes of point i's audio."""
        from ggan_lib.book.viz import wav_bytes

        return wav_bytes(self.point_audio(i))

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

    # ------------------------------------------------------------------ figures
    def draw_embedding(self, ax, color_by: str | None = None, highlight: Sequence[int] | None = None,
                       legend: bool = True) -> None:
        """Scatter of the embedding into ax, coloured by class or speaker, highlighted points ringed."""
        by = color_by or self.color_by
        ids = self.labels if by == "class" else self.speaker_ids
        names = self.class_names if by == "class" else self.speaker_names
        pal, E = _palette(len(names)), self.embedding
        for g, name in enumerate(names):
            sel = ids == g
            if sel.any():
                ax.scatter(E[sel, 0], E[sel, 1], s=9, color=pal[g], label=name, alpha=0.8)
        hl = [self.selected] if highlight is None else list(highlight)
        ax.scatter(E[hl, 0], E[hl, 1], s=110, facecolors="none", edgecolors="k", linewidths=1.5)
        for i in hl:
            ax.annotate(str(i), E[i], xytext=(4, 4), textcoords="offset points", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"coloured by {by}", fontsize=9)
        if legend:
            ax.legend(fontsize=6, markerscale=1.5, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)

    def embedding_png(self) -> bytes:
        """PNG of the current embedding with the selected point ringed."""
        fig = _new_figure((4.6, 3.6))
        ax = fig.subplots()
        self.draw_embedding(ax)
        fig.tight_layout()
        return figure_png(fig)

    def spectrogram_png(self, i: int | None = None) -> bytes:
        """PNG of point i's spectrogram (default: the selected point)."""
        i = self.selected if i is None else i
        fig = _new_figure((3.0, 2.4))
        _spec_ax(fig.subplots(), self.point_spectrogram(i),
                 f"#{i}: {self.class_names[self.labels[i]]}, {self.speakers[i]}")
        fig.tight_layout()
        return figure_png(fig)

    def examples(self, per: str = "class") -> list[int]:
        """One representative point per class (or speaker): the one nearest its group's 2-D centroid."""
        ids = self.labels if per == "class" else self.speaker_ids
        out = []
        for g in np.unique(ids):
            rows = np.flatnonzero(ids == g)
            c = self.embedding[rows].mean(0)
            out.append(int(rows[np.argmin(((self.embedding[rows] - c) ** 2).sum(1))]))
        return out

    def snapshot_figure(self, examples: Sequence[int] | None = None):
        """Static figure: the embedding by class and by speaker (examples ringed) over their spectrograms."""
        ex = self.examples() if examples is None else list(examples)
        ncols = max(len(ex), 2)
        fig = _new_figure((1.45 * ncols, 3.3 + 1.5))
        gs = fig.add_gridspec(2, ncols, height_ratios=[3.3, 1.5])
        half = ncols // 2
        for j, by in enumerate(self.COLOR_BY):
            ax = fig.add_subplot(gs[0, j * half:(j + 1) * half] if j == 0 else gs[0, half:])
            self.draw_embedding(ax, by, highlight=ex)
        for j, i in enumerate(ex):
            ax = fig.add_subplot(gs[1, j])
            _spec_ax(ax, self.point_spectrogram(i), f"#{i} {self.class_names[self.labels[i]]}")
            ax.set_xlabel("")
            ax.set_ylabel("")
        fig.suptitle(f"{self.title}\n{self.scores_text()}", fontsize=7)
        fig.tight_layout()
        return fig

    def snapshot(self, examples: Sequence[int] | None = None, display: bool = True) -> Snapshot:
        """The static view for HTML: figure (both colourings, example spectrograms) + audio players + note."""
        from ggan_lib.book.viz import audio_table_html

        ex = self.examples() if examples is None else list(examples)
        waves = [self.point_audio(i) for i in ex]
        labels = [f"#{i} {self.class_names[self.labels[i]]} ({self.speakers[i]})" for i in ex]
        snap = Snapshot(figure_png(self.snapshot_figure(ex)), audio_table_html(waves, labels, ncols=5),
                        waves=waves)
        if display:
            snap.display()
        return snap

    # ------------------------------------------------------------------ the widget
    def _use_plotly(self) -> bool:
        """True when plotly's FigureWidget can be built (plotly + anywidget installed) and wanted."""
        if self._plotly_mode is False:
            return False
        try:
            import plotly.graph_objects as go

            go.FigureWidget()
            return True
        except Exception:  # noqa: BLE001 - any failure means: fall back to the matplotlib image
            if self._plotly_mode is True:
                raise
            return False

    def _build_plotly(self):
        """A plotly FigureWidget scatter whose click / hover select a point."""
        import plotly.graph_objects as go

        if "google.colab" in __import__("sys").modules:  # Colab renders third-party widgets only with this
            from google.colab import output  # type: ignore

            output.enable_custom_widget_manager()
        E = self.embedding
        fw = go.FigureWidget(data=[
            go.Scatter(x=E[:, 0], y=E[:, 1], mode="markers", marker={"size": 6}, hoverinfo="text",
                       text=[self.point_info(i) for i in range(self.n_points)], name="clips"),
            go.Scatter(x=E[[self.selected], 0], y=E[[self.selected], 1], mode="markers", hoverinfo="skip",
                       marker={"size": 16, "color": "rgba(0,0,0,0)", "line": {"width": 2, "color": "black"}},
                       name="selected")],
            layout={"width": 480, "height": 400, "showlegend": False, "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
                    "xaxis": {"showticklabels": False}, "yaxis": {"showticklabels": False}})
        fw.data[0].on_click(self._on_plotly_click)
        fw.data[0].on_hover(self._on_plotly_hover)
        return fw

    def _on_plotly_click(self, trace, points, state=None) -> None:
        """plotly click callback: select (and play) the clicked point."""
        if points.point_inds:
            self.select(points.point_inds[0], autoplay=True)

    def _on_plotly_hover(self, trace, points, state=None) -> None:
        """plotly hover callback: show the hovered point (no autoplay)."""
        if points.point_inds:
            self.select(points.point_inds[0])


    def _build_widget(self):
        import ipywidgets as W

        self.model_dd = W.Dropdown(options=self.names, value=self.key[0], description="model")
        self.fraction_dd = W.Dropdown(options=[(fraction_label(f), f) for f in self.fractions()],
                                      value=self.key[1], description="fraction")
        self.perplexity_dd = W.Dropdown(options=[(f"{p:g}", p) for p in self.perplexities], value=self.perplexity,
                                        description="perplexity")
        self.color_tb = W.ToggleButtons(options=list(self.COLOR_BY), value=self.color_by, description="colour by")
        self.point_slider = W.IntSlider(value=self.selected, min=0, max=self.n_points - 1, description="point",
                                        continuous_update=False)
        self.x_box = W.FloatText(value=0.0, description="x", layout=W.Layout(width="140px"))
        self.y_box = W.FloatText(value=0.0, description="y", layout=W.Layout(width="140px"))
        self.nearest_btn = W.Button(description="nearest to (x, y)")
        self.scores_html = W.HTML()
        self.info_html = W.HTML()
        self.plot_img = W.Image(format="png")
        self.spec_img = W.Image(format="png")
        self.audio = W.Audio(format="wav", autoplay=False, controls=True)
        self.fig_widget = self._build_plotly() if self._use_plotly() else None
        self._syncing = False

        def on_model(ch):
            if not self._syncing:
                self.set_model(ch["new"])

        def on_fraction(ch):
            if not self._syncing and ch["new"] != self.key[1]:
                self.set_fraction(ch["new"])

        self.model_dd.observe(on_model, "value")
        self.fraction_dd.observe(on_fraction, "value")
        self.perplexity_dd.observe(lambda ch: self._syncing or self.set_perplexity(ch["new"]), "value")
        self.color_tb.observe(lambda ch: self._syncing or self.set_color_by(ch["new"]), "value")
        self.point_slider.observe(lambda ch: self._syncing or self.select(ch["new"]), "value")
        self.nearest_btn.on_click(lambda _b: self.select_nearest(self.x_box.value, self.y_box.value))
        plot = self.fig_widget if self.fig_widget is not None else self.plot_img
        return W.VBox([
            W.HBox([self.model_dd, self.fraction_dd, self.perplexity_dd]),
            self.color_tb, self.scores_html,
            W.HBox([plot, W.VBox([self.spec_img, self.audio, self.info_html])]),
            W.HBox([self.point_slider, self.x_box, self.y_box, self.nearest_btn]),
        ])

    def _refresh(self, all_: bool = False, autoplay: bool = False) -> None:
        """Bring the widget (if built) in line with the state."""
        if self._widget is None:
            return
        self._syncing = True
        try:
            self.model_dd.value = self.key[0]
            opts = [(fraction_label(f), f) for f in self.fractions()]
            if list(self.fraction_dd.options) != opts:
                self.fraction_dd.options = opts
            self.fraction_dd.value = self.key[1]
            self.perplexity_dd.value = self.perplexity
            self.color_tb.value = self.color_by
            self.point_slider.value = self.selected
            x, y = self.embedding[self.selected]
            self.x_box.value, self.y_box.value = round(float(x), 2), round(float(y), 2)
        finally:
            self._syncing = False
        if all_:
            self.scores_html.value = (f"<small><b>{html.escape(self.title)}</b><br>"
                                      f"{html.escape(self.scores_text())}</small>")
        if self.fig_widget is not None:
            self._refresh_plotly(all_)
        else:
            self.plot_img.value = self.embedding_png()
        self.spec_img.value = self.spectrogram_png()
        self.audio.autoplay = autoplay
        self.audio.value = self.point_wav()
        self.info_html.value = f"<small>{html.escape(self.point_info())}</small>"

    def _refresh_plotly(self, all_: bool) -> None:
        """Update the plotly scatter: positions and colours (all_) and the selection ring."""
        fw, E, i = self.fig_widget, self.embedding, self.selected
        with fw.batch_update():
            if all_:
                fw.data[0].x, fw.data[0].y = E[:, 0], E[:, 1]
                fw.data[0].marker.color = [f"rgb({r * 255:.0f},{g * 255:.0f},{b * 255:.0f})"
                                           for r, g, b in self.point_colors[:, :3]]
                fw.data[0].text = [self.point_info(j) for j in range(self.n_points)]
            fw.data[1].x, fw.data[1].y = [E[i, 0]], [E[i, 1]]



# ============================================================================ interpolation explorer
class InterpolationExplorer(_Explorer):
    """Walk from ze_a = E(z, c_a) to ze_b = E(z, c_b): spectrogram and PGHI audio of G(ze) at each step.

    model: a Pretrained (or GGAN / Trainer / anything :func:`load_model` takes). class_names: one name
    per class of the model (default: its card's ``class_names`` or '0', '1', ...), e.g. the ten
    digits or ["male", "female"] for a gender-guided model. z_same=True keeps z fixed so that only
    the condition changes along the path; seed draws z.
    """

    def __init__(self, model: Any, class_names: Sequence[str] | None = None, *, class_a: int | str = 0,
                 class_b: int | str = 1, n_steps: int = 8, seed: int = 0, z_same: bool = True, n_gla: int = 0,
                 step: int = 0):
        self.pm = load_model(model)
        n = int(self.pm.model_cfg.n_classes)
        names = class_names if class_names is not None else (getattr(self.pm, "card", {}) or {}).get("class_names")
        self.class_names = [str(c) for c in names] if names is not None else [str(c) for c in range(n)]
        if len(self.class_names) != n:
            raise ValueError(f"the model has {n} classes but {len(self.class_names)} class names were given")
        if n_steps < 2:
            raise ValueError("n_steps must be >= 2")
        self.n_steps, self.seed, self.z_same, self.n_gla = int(n_steps), int(seed), bool(z_same), n_gla
        self.class_a, self.class_b = self._index(class_a), self._index(class_b)
        self.step = int(step)
        self._paths: dict[tuple, Any] = {}
        self._widget = None
        self._compute()
        self._check_step(self.step)

    def _index(self, c: int | str) -> int:
        """Class index of a name or an index."""
        if isinstance(c, str):
            if c not in self.class_names:
                raise KeyError(f"unknown class {c!r}; classes: {self.class_names}")
            return self.class_names.index(c)
        if not 0 <= int(c) < len(self.class_names):
            raise IndexError(f"class {c} out of range 0..{len(self.class_names) - 1}")
        return int(c)

    def _check_step(self, i: int) -> None:
        if not 0 <= int(i) < self.n_steps:
            raise IndexError(f"step {i} out of range 0..{self.n_steps - 1}")

    def _compute(self) -> None:
        """The current path (cached per classes, seed and z_same)."""
        from ggan_lib.metrics.interpolation import interpolate_ze

        key = (self.class_a, self.class_b, self.seed, self.z_same)
        if key not in self._paths:
            self._paths[key] = interpolate_ze(self.pm, self.class_a, self.class_b, self.n_steps, self.seed,
                                              self.z_same, n_gla=self.n_gla, class_names=self.class_names)
        self.path = self._paths[key]

    # ------------------------------------------------------------------ actions
    def set_classes(self, a: int | str | None = None, b: int | str | None = None) -> None:
        """Change one or both end classes (index or name); recomputes the path."""
        if a is not None:
            self.class_a = self._index(a)
        if b is not None:
            self.class_b = self._index(b)
        self._compute()
        self._refresh(all_=True)

    def set_seed(self, seed: int) -> None:
        """Draw another z."""
        self.seed = int(seed)
        self._compute()
        self._refresh(all_=True)

    def set_z_same(self, same: bool) -> None:
        """Same z at both ends (only the class changes) or two different z."""
        self.z_same = bool(same)
        self._compute()
        self._refresh(all_=True)

    def set_step(self, i: int, autoplay: bool = False) -> None:
        """Move to step i of the path (0 = class a, n_steps - 1 = class b)."""
        self._check_step(i)
        self.step = int(i)
        self._refresh(autoplay=autoplay)

    # ------------------------------------------------------------------ what a step shows
    @property
    def t(self) -> float:
        """Interpolation weight of the current step (0 .. 1)."""
        return float(self.path.t[self.step])

    @property
    def ends(self) -> tuple[str, str]:
        """Names of the two end classes."""
        return self.class_names[self.class_a], self.class_names[self.class_b]

    @property
    def shown_spectrogram(self) -> np.ndarray:
        """The generated (H, W) spectrogram of the current step."""
        return self.path.specs[self.step, 0].numpy()

    def step_audio(self, i: int | None = None) -> np.ndarray:
        """PGHI audio of step i (default: the current step)."""
        return self.path.audio[self.step if i is None else i].numpy()

    def step_wav(self, i: int | None = None) -> bytes:
        """WAV bytes of step i's audio."""
        from ggan_lib.book.viz import wav_bytes

        return wav_bytes(self.step_audio(i))

    def path_wav(self, gap_s: float = 0.15) -> bytes:
        """The whole path as one WAV: every step's clip, short silences between."""
        from ggan_lib.book.viz import SAMPLE_RATE, wav_bytes

        gap = np.zeros(int(gap_s * SAMPLE_RATE), np.float32)
        clips = [x / max(1e-8, float(np.abs(x).max())) for x in self.path.audio.numpy()]
        return wav_bytes(np.concatenate([np.concatenate([c, gap]) for c in clips]))

    def info(self) -> str:
        """One line: ends, step, t and smoothness."""
        s = self.path.spec_smoothness
        a = self.path.audio_smoothness
        text = (f"{self.ends[0]} → {self.ends[1]} (seed {self.seed}, {'same' if self.z_same else 'different'} z): "
                f"step {self.step}/{self.n_steps - 1}, t = {self.t:.2f}; spectrogram jump ratio "
                f"{s['jump_ratio']:.2f}")
        return text + (f", audio jump ratio {a['jump_ratio']:.2f}" if a else "")

    # ------------------------------------------------------------------ figures
    def strip_png(self) -> bytes:
        """PNG of the whole path with the current step framed."""
        n = self.n_steps
        fig = _new_figure((1.25 * n, 1.55))
        axes = fig.subplots(1, n, squeeze=False)[0]
        for i, ax in enumerate(axes):
            _spec_ax(ax, self.path.specs[i], f"t={float(self.path.t[i]):.2f}")
            ax.set_xlabel("")
            ax.set_ylabel("")
            if i == self.step:
                for sp in ax.spines.values():
                    sp.set_edgecolor("deepskyblue")
                    sp.set_linewidth(3)
        axes[0].set_ylabel(self.ends[0], fontsize=8)
        axes[-1].set_ylabel(self.ends[1], fontsize=8)
        axes[-1].yaxis.set_label_position("right")
        fig.tight_layout()
        return figure_png(fig)

    def spectrogram_png(self) -> bytes:
        """PNG of the current step's spectrogram."""
        fig = _new_figure((3.0, 2.4))
        _spec_ax(fig.subplots(), self.shown_spectrogram,
                 f"{self.ends[0]} → {self.ends[1]}, t = {self.t:.2f}")
        fig.tight_layout()
        return figure_png(fig)

    def snapshot(self, display: bool = True) -> Snapshot:
        """The static view: the path's spectrograms (with smoothness) + one audio player per step + note."""
        import matplotlib.pyplot as plt

        from ggan_lib.metrics.interpolation import plot_interpolation
        from ggan_lib.book.viz import audio_table_html

        fig = plot_interpolation(self.path, size=1.3)
        png = figure_png(fig)
        plt.close(fig)
        waves = [self.step_audio(i) for i in range(self.n_steps)]
        labels = [f"t={float(t):.2f}" + (f" ({self.ends[0]})" if i == 0 else f" ({self.ends[1]})"
                                         if i == self.n_steps - 1 else "") for i, t in enumerate(self.path.t)]
        snap = Snapshot(png, audio_table_html(waves, labels, ncols=min(self.n_steps, 8)), waves=waves)
        if display:
            snap.display()
        return snap

    # ------------------------------------------------------------------ the widget

    def _build_widget(self):
        import ipywidgets as W

        opts = [(name, i) for i, name in enumerate(self.class_names)]
        self.a_dd = W.Dropdown(options=opts, value=self.class_a, description="from")
        self.b_dd = W.Dropdown(options=opts, value=self.class_b, description="to")
        self.seed_slider = W.IntSlider(value=self.seed, min=0, max=max(99, self.seed), description="seed z",
                                       continuous_update=False)
        self.same_cb = W.Checkbox(value=self.z_same, description="same z at both ends")
        self.step_slider = W.IntSlider(value=self.step, min=0, max=self.n_steps - 1, description="step",
                                       continuous_update=True)
        self.strip_img = W.Image(format="png")
        self.spec_img = W.Image(format="png")
        self.audio = W.Audio(format="wav", autoplay=False, controls=True)
        self.path_audio = W.Audio(format="wav", autoplay=False, controls=True)
        self.info_html = W.HTML()
        self._syncing = False
        self.a_dd.observe(lambda ch: self._syncing or self.set_classes(a=ch["new"]), "value")
        self.b_dd.observe(lambda ch: self._syncing or self.set_classes(b=ch["new"]), "value")
        self.seed_slider.observe(lambda ch: self._syncing or self.set_seed(ch["new"]), "value")
        self.same_cb.observe(lambda ch: self._syncing or self.set_z_same(ch["new"]), "value")
        self.step_slider.observe(lambda ch: self._syncing or self.set_step(ch["new"], autoplay=True), "value")
        return W.VBox([
            W.HBox([self.a_dd, self.b_dd, self.seed_slider, self.same_cb]),
            self.strip_img,
            W.HBox([self.spec_img, W.VBox([self.step_slider, W.HTML("<small>this step:</small>"), self.audio,
                                          W.HTML("<small>the whole path, step by step:</small>"),
                                          self.path_audio, self.info_html])]),
        ])

    def _refresh(self, all_: bool = False, autoplay: bool = False) -> None:
        """Bring the widget (if built) in line with the state."""
        if self._widget is None:
            return
        self._syncing = True
        try:
            self.a_dd.value, self.b_dd.value = self.class_a, self.class_b
            self.seed_slider.value, self.same_cb.value = self.seed, self.z_same
            self.step_slider.value = self.step
        finally:
            self._syncing = False
        if all_:
            self.path_audio.value = self.path_wav()
        self.strip_img.value = self.strip_png()
        self.spec_img.value = self.spectrogram_png()
        self.audio.autoplay = autoplay
        self.audio.value = self.step_wav()
        self.info_html.value = f"<small>{html.escape(self.info())}</small>"

