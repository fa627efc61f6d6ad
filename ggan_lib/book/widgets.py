"""Interactive explorers of a trained GGAN for the book (chapter 10, reused by chapter 11).

Two explorers; their state and computation live in :mod:`ggan_lib.book.explorer_state` and
:mod:`ggan_lib.book.interp_state` (testable without ipywidgets), their figures in
:mod:`ggan_lib.book.explorer_figures`, the models they offer in :mod:`ggan_lib.book.explorer_models`
and the plotly scatter in :mod:`ggan_lib.book.plotly_view`. This module adds the views: the ipywidgets controls only call
the state's methods, and every change of state refreshes the controls (tests/test_widgets.py):

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
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ggan_lib.audio import AudioConfig  # noqa: F401  (re-exported: the clips' audio settings)
from ggan_lib.book import explorer_figures as figs
from ggan_lib.book.explorer_figures import figure_png  # noqa: F401  (re-exported)
from ggan_lib.book.explorer_models import (  # noqa: F401
    ModelKey,
    find_run_checkpoints,
    guided_fraction,
    load_model,
    model_registry,
)
from ggan_lib.book.explorer_state import TSNEState
from ggan_lib.book.interp_state import InterpolationState
from ggan_lib.book.plotly_view import PlotlyScatter
from ggan_lib.book.viz import SAMPLE_RATE, audio_table_html, wav_bytes
from ggan_lib.experiments.reproduce.tables import fraction_label

#: Shown beside every static snapshot.
LIVE_NOTE = ("<i>Static snapshot. The live, interactive explorer runs when this page is opened as a "
             "notebook in Jupyter, JupyterLab or Colab (the <b>Open in Colab</b> badge at the top).</i>")
#: What an explorer shows where it cannot run (the static book): its text/html stand-in beside the widget view.
STATIC_NOTE = ("<p><small><b>Live explorer:</b> needs a running kernel (Jupyter, JupyterLab or Colab: the "
               "<b>Open in Colab</b> badge at the top). This static page shows its view as a snapshot: "
               "figures and players.</small></p>")


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


class _Explorer:
    """The ipywidgets UI, built on first use by the subclass's _build_widget(), shown by Jupyter.

    Listed before the state class in an explorer's bases, so that its ``_changed`` (refresh the widget)
    replaces the state's no-op."""

    _widget = None
    _syncing = False

    @property
    def widget(self):
        """The ipywidgets UI (built on first use)."""
        if self._widget is None:
            self._widget = self._build_widget()
            self._refresh(all_=True)
        return self._widget

    def _ipython_display_(self):
        """The widget's view, with STATIC_NOTE as the text/html that a page without a kernel shows instead."""
        from IPython.display import display

        bundle = dict(self.widget._repr_mimebundle_() or {})
        bundle["text/html"] = STATIC_NOTE
        display(bundle, raw=True)

    def _changed(self, all_: bool = False, autoplay: bool = False) -> None:
        """The state changed: bring the widget (if built) in line."""
        if self._widget is not None:
            self._refresh(all_=all_, autoplay=autoplay)

    def _unless_syncing(self, action):
        """An observe() callback calling action(new value), except while the view itself sets the controls."""
        return lambda ch: None if self._syncing else action(ch["new"])


# ============================================================================ t-SNE explorer
class TSNEExplorer(_Explorer, TSNEState):
    """The t-SNE explorer: :class:`~ggan_lib.book.explorer_state.TSNEState` with its widget and snapshot.

    Takes TSNEState's arguments and ``plotly``: True (use plotly's FigureWidget, click / hover select),
    False (a matplotlib image) or "auto" (plotly when it and anywidget are installed).
    """

    def __init__(self, models: Any, specs, labels, *, plotly: bool | str = "auto", **kw):
        self._plotly_mode = plotly
        self.fig_widget = None            # the plotly FigureWidget when used
        self._plotly: PlotlyScatter | None = None
        super().__init__(models, specs, labels, **kw)

    @property
    def point_colors(self) -> np.ndarray:
        """RGB colour (N, 3) of every point under the current colouring."""
        return figs.point_colors(self)

    def point_wav(self, i: int | None = None) -> bytes:
        """WAV bytes of point i's audio."""
        return wav_bytes(self.point_audio(i))

    # ------------------------------------------------------------------ figures
    def draw_embedding(self, ax, color_by: str | None = None, highlight: Sequence[int] | None = None,
                       legend: bool = True) -> None:
        """Scatter of the embedding into ax, coloured by class or speaker, highlighted points ringed."""
        figs.draw_embedding(self, ax, color_by, highlight, legend)

    def embedding_png(self) -> bytes:
        """PNG of the current embedding with the selected point ringed."""
        return figs.embedding_png(self)

    def spectrogram_png(self, i: int | None = None) -> bytes:
        """PNG of point i's spectrogram (default: the selected point)."""
        return figs.point_spectrogram_png(self, i)

    def snapshot_figure(self, examples: Sequence[int] | None = None):
        """Static figure: the embedding by class and by speaker (examples ringed) over their spectrograms."""
        return figs.tsne_snapshot_figure(self, self.examples() if examples is None else examples)

    def snapshot(self, examples: Sequence[int] | None = None, display: bool = True) -> Snapshot:
        """The static view for HTML: figure (both colourings, example spectrograms) + audio players + note."""
        ex = self.examples() if examples is None else list(examples)
        waves = [self.point_audio(i) for i in ex]
        labels = [f"#{i} {self.class_names[self.labels[i]]} ({self.speakers[i]})" for i in ex]
        snap = Snapshot(figure_png(self.snapshot_figure(ex)), audio_table_html(waves, labels, ncols=5),
                        waves=waves)
        if display:
            snap.display()
        return snap

    # ------------------------------------------------------------------ plotly (click / hover)
    def _on_plotly_click(self, trace, points, state=None) -> None:
        """plotly click callback: select (and play) the clicked point."""
        if points.point_inds:
            self.select(points.point_inds[0], autoplay=True)

    def _on_plotly_hover(self, trace, points, state=None) -> None:
        """plotly hover callback: show the hovered point (no autoplay)."""
        if points.point_inds:
            self.select(points.point_inds[0])

    # ------------------------------------------------------------------ the widget
    def _controls(self, W) -> None:
        """The ipywidgets controls, as attributes (tests and chapters set their .value)."""
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

    def _observe(self) -> None:
        """Wire the controls to the state's methods."""
        on = self._unless_syncing
        self.model_dd.observe(on(self.set_model), "value")
        self.fraction_dd.observe(on(lambda f: f != self.key[1] and self.set_fraction(f)), "value")
        self.perplexity_dd.observe(on(self.set_perplexity), "value")
        self.color_tb.observe(on(self.set_color_by), "value")
        self.point_slider.observe(on(self.select), "value")
        self.nearest_btn.on_click(lambda _b: self.select_nearest(self.x_box.value, self.y_box.value))

    def _build_widget(self):
        import ipywidgets as W

        self._controls(W)
        self._plotly = PlotlyScatter.build(self, self._plotly_mode)
        self.fig_widget = self._plotly.fig if self._plotly is not None else None
        self._observe()
        plot = self.fig_widget if self.fig_widget is not None else self.plot_img
        return W.VBox([
            W.HBox([self.model_dd, self.fraction_dd, self.perplexity_dd]),
            self.color_tb, self.scores_html,
            W.HBox([plot, W.VBox([self.spec_img, self.audio, self.info_html])]),
            W.HBox([self.point_slider, self.x_box, self.y_box, self.nearest_btn]),
        ])

    def _sync_controls(self) -> None:
        """Set the controls' values to the state (their callbacks stay quiet meanwhile)."""
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

    def _refresh(self, all_: bool = False, autoplay: bool = False) -> None:
        """Bring the widget in line with the state."""
        self._sync_controls()
        if all_:
            self.scores_html.value = (f"<small><b>{html.escape(self.title)}</b><br>"
                                      f"{html.escape(self.scores_text())}</small>")
        if self._plotly is not None:
            self._plotly.refresh(self, all_)
        else:
            self.plot_img.value = self.embedding_png()
        self.spec_img.value = self.spectrogram_png()
        self.audio.autoplay = autoplay
        self.audio.value = self.point_wav()
        self.info_html.value = f"<small>{html.escape(self.point_info())}</small>"


# ============================================================================ interpolation explorer
class InterpolationExplorer(_Explorer, InterpolationState):
    """The interpolation explorer: :class:`~ggan_lib.book.explorer_state.InterpolationState` with its
    widget and snapshot (same arguments)."""

    def step_wav(self, i: int | None = None) -> bytes:
        """WAV bytes of step i's audio."""
        return wav_bytes(self.step_audio(i))

    def path_wav(self, gap_s: float = 0.15) -> bytes:
        """The whole path as one WAV: every step's clip, short silences between."""
        gap = np.zeros(int(gap_s * SAMPLE_RATE), np.float32)
        clips = [x / max(1e-8, float(np.abs(x).max())) for x in self.path.audio.numpy()]
        return wav_bytes(np.concatenate([np.concatenate([c, gap]) for c in clips]))

    def strip_png(self) -> bytes:
        """PNG of the whole path with the current step framed."""
        return figs.strip_png(self)

    def spectrogram_png(self) -> bytes:
        """PNG of the current step's spectrogram."""
        return figs.step_spectrogram_png(self)

    def snapshot(self, display: bool = True) -> Snapshot:
        """The static view: the path's spectrograms (with smoothness) + one audio player per step + note."""
        waves = [self.step_audio(i) for i in range(self.n_steps)]
        snap = Snapshot(figs.interpolation_png(self), audio_table_html(waves, self.step_labels(),
                                                                       ncols=min(self.n_steps, 8)), waves=waves)
        if display:
            snap.display()
        return snap

    # ------------------------------------------------------------------ the widget
    def _controls(self, W) -> None:
        """The ipywidgets controls, as attributes."""
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

    def _build_widget(self):
        import ipywidgets as W

        self._controls(W)
        on = self._unless_syncing
        self.a_dd.observe(on(lambda a: self.set_classes(a=a)), "value")
        self.b_dd.observe(on(lambda b: self.set_classes(b=b)), "value")
        self.seed_slider.observe(on(self.set_seed), "value")
        self.same_cb.observe(on(self.set_z_same), "value")
        self.step_slider.observe(on(lambda i: self.set_step(i, autoplay=True)), "value")
        return W.VBox([
            W.HBox([self.a_dd, self.b_dd, self.seed_slider, self.same_cb]),
            self.strip_img,
            W.HBox([self.spec_img, W.VBox([self.step_slider, W.HTML("<small>this step:</small>"), self.audio,
                                          W.HTML("<small>the whole path, step by step:</small>"),
                                          self.path_audio, self.info_html])]),
        ])

    def _refresh(self, all_: bool = False, autoplay: bool = False) -> None:
        """Bring the widget in line with the state."""
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
