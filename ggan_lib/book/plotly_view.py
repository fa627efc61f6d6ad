"""The t-SNE explorer's plotly scatter: a FigureWidget whose click and hover select a point.

Used when plotly and anywidget are installed (``plotly="auto"``) or asked for (``plotly=True``);
otherwise the explorer shows a matplotlib image of the embedding.
"""
from __future__ import annotations

import sys


def _rgb(colors) -> list[str]:
    """'rgb(r,g,b)' strings of RGB(A) colours in 0..1."""
    return [f"rgb({r * 255:.0f},{g * 255:.0f},{b * 255:.0f})" for r, g, b in colors[:, :3]]


def plotly_available(mode: bool | str) -> bool:
    """True when plotly's FigureWidget can be built and is wanted (mode True / "auto"; True raises if it cannot)."""
    if mode is False:
        return False
    try:
        import plotly.graph_objects as go

        go.FigureWidget()
        return True
    except Exception:  # noqa: BLE001 - any failure means: fall back to the matplotlib image
        if mode is True:
            raise
        return False


class PlotlyScatter:
    """The scatter of an explorer's embedding (trace 0: the clips, trace 1: the selection ring)."""

    def __init__(self, explorer):
        import plotly.graph_objects as go

        if "google.colab" in sys.modules:  # Colab renders third-party widgets only with this
            from google.colab import output  # type: ignore

            output.enable_custom_widget_manager()
        E, i = explorer.embedding, explorer.selected
        self.fig = go.FigureWidget(data=[
            go.Scatter(x=E[:, 0], y=E[:, 1], mode="markers", marker={"size": 6}, hoverinfo="text",
                       text=[explorer.point_info(j) for j in range(explorer.n_points)], name="clips"),
            go.Scatter(x=E[[i], 0], y=E[[i], 1], mode="markers", hoverinfo="skip",
                       marker={"size": 16, "color": "rgba(0,0,0,0)", "line": {"width": 2, "color": "black"}},
                       name="selected")],
            layout={"width": 480, "height": 400, "showlegend": False, "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
                    "xaxis": {"showticklabels": False}, "yaxis": {"showticklabels": False}})
        self.fig.data[0].on_click(explorer._on_plotly_click)
        self.fig.data[0].on_hover(explorer._on_plotly_hover)

    @classmethod
    def build(cls, explorer, mode: bool | str) -> "PlotlyScatter | None":
        """The scatter of an explorer, or None when plotly is not wanted or not available."""
        return cls(explorer) if plotly_available(mode) else None

    def refresh(self, explorer, all_: bool) -> None:
        """Update positions, colours and hover text (all_) and the selection ring."""
        fw, E, i = self.fig, explorer.embedding, explorer.selected
        with fw.batch_update():
            if all_:
                fw.data[0].x, fw.data[0].y = E[:, 0], E[:, 1]
                fw.data[0].marker.color = _rgb(explorer.point_colors)
                fw.data[0].text = [explorer.point_info(j) for j in range(explorer.n_points)]
            fw.data[1].x, fw.data[1].y = [E[i, 0]], [E[i, 1]]
