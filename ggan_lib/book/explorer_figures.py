"""The explorers' matplotlib figures, drawn from a state (:mod:`ggan_lib.book.explorer_state`) as PNG bytes.

Figures are pyplot-free (``matplotlib.figure.Figure``), so nothing is shown twice in a notebook and
nothing is left open; the widgets put the PNGs into ``ipywidgets.Image`` and the static snapshots.
"""
from __future__ import annotations

import io
from typing import Sequence

import numpy as np

from ggan_lib.book.plots import plot_interpolation
from ggan_lib.book.viz import COLUMN_IN, plot_spectrogram


# ============================================================================ shared helpers
def figure_png(fig, dpi: int = 100) -> bytes:
    """PNG bytes of a matplotlib Figure (no pyplot state touched)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def new_figure(figsize):
    """A pyplot-free Figure (nothing is displayed twice in a notebook)."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def palette(n: int) -> np.ndarray:
    """n RGB(A) colours: tab10 up to 10, tab20 up to 20, then a sampled rainbow."""
    import matplotlib

    if n <= 10:
        return np.asarray(matplotlib.colormaps["tab10"].colors)[:n]
    if n <= 20:
        return np.asarray(matplotlib.colormaps["tab20"].colors)[:n]
    return matplotlib.colormaps["hsv"](np.linspace(0, 1, n, endpoint=False))[:, :3]


def spec_ax(ax, spec, title: str | None = None):
    """One spectrogram into ax, without ticks."""
    plot_spectrogram(spec, ax=ax, title=title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("time")
    ax.set_ylabel("frequency")


def point_colors(state) -> np.ndarray:
    """RGB colour (N, 3) of every point of a t-SNE state under its current colouring."""
    return palette(len(state.group_names))[state.color_ids]


# ============================================================================ t-SNE figures
def draw_embedding(state, ax, color_by: str | None = None, highlight: Sequence[int] | None = None,
                   legend: bool | str = True) -> None:
    """Scatter of the state's embedding into ax, coloured by class or speaker, highlighted points ringed."""
    by = color_by or state.color_by
    ids, names = state.group_ids(by), state.group_names_of(by)
    pal, E = palette(len(names)), state.embedding
    for g, name in enumerate(names):
        sel = ids == g
        if sel.any():
            ax.scatter(E[sel, 0], E[sel, 1], s=9, color=pal[g], label=name, alpha=0.8)
    hl = [state.selected] if highlight is None else list(highlight)
    ax.scatter(E[hl, 0], E[hl, 1], s=110, facecolors="none", edgecolors="k", linewidths=1.5)
    for i in hl:
        ax.annotate(str(i), E[i], xytext=(4, 4), textcoords="offset points", fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"coloured by {by}", fontsize=9)
    if legend == "below":   # under the axes, in rows: two maps side by side keep the column's width
        ax.legend(fontsize=7, markerscale=1.5, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=5,
                  frameon=False, handletextpad=0.1, columnspacing=0.8)
    elif legend:
        ax.legend(fontsize=7, markerscale=1.5, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)


def embedding_png(state) -> bytes:
    """PNG of the current embedding with the selected point ringed."""
    fig = new_figure((4.6, 3.6))
    draw_embedding(state, fig.subplots())
    fig.tight_layout()
    return figure_png(fig)


def point_spectrogram_png(state, i: int | None = None) -> bytes:
    """PNG of point i's spectrogram (default: the selected point)."""
    i = state.selected if i is None else i
    fig = new_figure((3.0, 2.4))
    spec_ax(fig.subplots(), state.point_spectrogram(i),
            f"#{i}: {state.class_names[state.labels[i]]}, {state.speakers[i]}")
    fig.tight_layout()
    return figure_png(fig)


def tsne_snapshot_figure(state, examples: Sequence[int], per_row: int = 5):
    """Static figure, as wide as the book's column: the embedding by class and by speaker (examples ringed),
    over the examples' spectrograms, ``per_row`` to a row."""
    ex = list(examples)
    rows = max(1, int(np.ceil(len(ex) / per_row)))
    fig = new_figure((COLUMN_IN, 3.6 + 1.25 * rows))
    fig.set_layout_engine("constrained")     # legends under the maps: tight_layout cannot place them
    gs = fig.add_gridspec(1 + rows, 2 * per_row, height_ratios=[3.6] + [1.25] * rows)
    for j, by in enumerate(state.COLOR_BY):
        draw_embedding(state, fig.add_subplot(gs[0, j * per_row:(j + 1) * per_row]), by, highlight=ex,
                       legend="below")
    for j, i in enumerate(ex):
        ax = fig.add_subplot(gs[1 + j // per_row, 2 * (j % per_row):2 * (j % per_row) + 2])
        spec_ax(ax, state.point_spectrogram(i), f"#{i} {state.class_names[state.labels[i]]}")
        ax.set_xlabel("")
        ax.set_ylabel("0–8 kHz" if j % per_row == 0 else "", fontsize=7)
    fig.supxlabel("spectrograms: time, 0–1.02 s →", fontsize=8)
    fig.suptitle(f"{state.title}\n{state.scores_text().replace('; ', chr(10))}", fontsize=8)
    return fig


# ============================================================================ interpolation figures
def strip_png(state) -> bytes:
    """PNG of an interpolation state's whole path with the current step framed."""
    n = state.n_steps
    fig = new_figure((1.25 * n, 1.55))
    axes = fig.subplots(1, n, squeeze=False)[0]
    for i, ax in enumerate(axes):
        spec_ax(ax, state.path.specs[i], f"t={float(state.path.t[i]):.2f}")
        ax.set_xlabel("")
        ax.set_ylabel("")
        if i == state.step:
            for sp in ax.spines.values():
                sp.set_edgecolor("deepskyblue")
                sp.set_linewidth(3)
    axes[0].set_ylabel(state.ends[0], fontsize=8)
    axes[-1].set_ylabel(state.ends[1], fontsize=8)
    axes[-1].yaxis.set_label_position("right")
    fig.tight_layout()
    return figure_png(fig)


def step_spectrogram_png(state) -> bytes:
    """PNG of the current step's spectrogram."""
    fig = new_figure((3.0, 2.4))
    spec_ax(fig.subplots(), state.shown_spectrogram, f"{state.ends[0]} → {state.ends[1]}, t = {state.t:.2f}")
    fig.tight_layout()
    return figure_png(fig)


def interpolation_png(state, size: float = 1.7) -> bytes:
    """PNG of the path's spectrograms with their smoothness (metrics.interpolation's figure)."""
    import matplotlib.pyplot as plt

    fig = plot_interpolation(state.path, size=size)
    png = figure_png(fig)
    plt.close(fig)
    return png
