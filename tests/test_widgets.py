"""The chapter-10 explorers (ggan_lib.book.widgets), driven headless through their Python callbacks.

Tiny random GGANs and synthetic spectrograms keep each test to a few seconds; one test uses the
shipped small model on 20 real FSDD clips. ipywidgets controls are changed by setting ``.value``
(what a click in Jupyter does) and the explorer's state and outputs are checked.
"""
from __future__ import annotations

import html
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

pytest.importorskip("ipywidgets")

from ggan_lib.book import widgets  # noqa: E402
from ggan_lib.config import ModelConfig  # noqa: E402
from ggan_lib.model.networks import GGAN  # noqa: E402

SHAPE = ModelConfig.preset("tiny").spec_shape  # (16, 8)


def tiny_ggan(seed: int = 0, **overrides) -> GGAN:
    """A randomly initialised tiny GGAN in eval mode."""
    torch.manual_seed(seed)
    return GGAN(ModelConfig.preset("tiny", **overrides)).eval().requires_grad_(False)


@pytest.fixture(scope="module")
def clips():
    """40 synthetic clips: 4 classes x 2 speakers x 5, each class a bright band at its own height."""
    rng = np.random.default_rng(0)
    X, y, spk = [], [], []
    for c in range(4):
        for s, name in enumerate(("ann", "bob")):
            for _ in range(5):
                x = -0.8 + 0.1 * rng.standard_normal(SHAPE)
                x[3 * c:3 * c + 3, :] = 0.6 + 0.2 * s
                X.append(x)
                y.append(c)
                spk.append(name)
    return torch.tensor(np.array(X), dtype=torch.float32)[:, None], np.array(y), spk


@pytest.fixture(scope="module")
def explorer(clips):
    X, y, spk = clips
    reg = {("alpha", 0.01): tiny_ggan(0), ("alpha", 0.05): tiny_ggan(1), ("beta", None): tiny_ggan(2)}
    return widgets.TSNEExplorer(reg, X, y, speakers=spk, class_names=["a", "b", "c", "d"],
                                perplexities=(5, 10), perplexity=10, plotly=False)


def _is_png(b: bytes) -> bool:
    return b[:8] == b"\x89PNG\r\n\x1a\n"


def _is_wav(b: bytes) -> bool:
    return b[:4] == b"RIFF" and b[8:12] == b"WAVE" and len(b) > 1000


# ------------------------------------------------------------------------------------ t-SNE explorer
def test_select_shows_that_points_spectrogram_and_audio(explorer, clips):
    X, y, _ = clips
    w = explorer.widget
    assert w is explorer.widget  # built once
    explorer.select(3)
    png3, wav3 = explorer.spec_img.value, explorer.audio.value
    assert np.array_equal(explorer.shown_spectrogram, X[3, 0].numpy())
    assert _is_png(png3) and _is_wav(wav3)
    explorer.select(27)
    assert explorer.selected == 27 and explorer.point_slider.value == 27  # the slider follows
    assert np.array_equal(explorer.shown_spectrogram, X[27, 0].numpy())
    assert explorer.spec_img.value != png3 and explorer.audio.value != wav3
    info = html.unescape(explorer.info_html.value)
    assert "point 27: class 'c', speaker bob" in info  # 10 clips per class: 27 is class 2, 'c'; 25-29 are bob's
    # no original files: the audio is the PGHI of the point's own spectrogram
    assert explorer.point_audio(27).shape == (widgets.AudioConfig().signal_length,)
    with pytest.raises(IndexError):
        explorer.select(len(X))


def test_slider_and_nearest_button_select_points(explorer):
    explorer.widget
    explorer.point_slider.value = 12                       # the user drags the slider
    assert explorer.selected == 12
    x, y = explorer.embedding[33]
    explorer.x_box.value, explorer.y_box.value = float(x) + 1e-3, float(y)
    explorer.nearest_btn.click()                            # "nearest to (x, y)"
    assert explorer.selected == 33
    assert np.array_equal(explorer.shown_spectrogram, explorer.specs[33, 0].numpy())


def test_colour_by_speaker_changes_colouring_and_plot(explorer):
    explorer.widget
    explorer.color_tb.value = "class"
    by_class, plot_class = explorer.point_colors.copy(), explorer.plot_img.value
    explorer.color_tb.value = "speaker"
    assert explorer.color_by == "speaker"
    assert explorer.group_names == ["ann", "bob"]
    cols = explorer.point_colors
    assert not np.array_equal(cols, by_class)
    spk = np.array(explorer.speakers)
    assert np.allclose(cols[spk == "ann"], cols[spk == "ann"][0])   # one colour per speaker ...
    assert not np.allclose(cols[spk == "ann"][0], cols[spk == "bob"][0])  # ... and they differ
    assert explorer.plot_img.value != plot_class
    with pytest.raises(ValueError):
        explorer.set_color_by("gender")
    explorer.color_tb.value = "class"


def test_perplexity_dropdown_recomputes_embedding(explorer):
    explorer.widget
    explorer.perplexity_dd.value = 10.0
    e10 = explorer.embedding.copy()
    explorer.perplexity_dd.value = 5.0
    assert explorer.perplexity == 5.0 and explorer.embedding.shape == (40, 2)
    assert not np.allclose(explorer.embedding, e10)
    assert "perplexity 5" in explorer.scores_html.value
    explorer.perplexity_dd.value = 10.0
    assert np.array_equal(explorer.embedding, e10)  # cached, not recomputed


def test_model_and_fraction_dropdowns_switch_model(explorer):
    explorer.widget
    explorer.model_dd.value = "alpha"
    explorer.fraction_dd.value = 0.01
    f1 = explorer.features.copy()
    assert [o[1] for o in explorer.fraction_dd.options] == [0.01, 0.05]
    explorer.fraction_dd.value = 0.05
    assert explorer.key == ("alpha", 0.05)
    assert not np.allclose(explorer.features, f1)             # another network's F(D(x))
    assert "5 %" in explorer.scores_html.value
    explorer.model_dd.value = "beta"                           # fractions follow the model
    assert explorer.key == ("beta", None)
    assert [o[0] for o in explorer.fraction_dd.options] == ["unknown"]
    assert set(explorer.scores) == {"class", "speaker"}
    for s in explorer.scores.values():
        assert 0.0 <= s["knn_acc_features"] <= 1.0 and -1.0 <= s["silhouette_embedding"] <= 1.0
    explorer.set_model("alpha", 0.01)
    assert np.array_equal(explorer.features, f1)
    with pytest.raises(KeyError):
        explorer.set_model("alpha", 0.5)


def test_clustered_features_score_higher_than_shuffled_labels(clips):
    """The scores measure something: features that encode the class beat the same features with shuffled labels."""
    from ggan_lib.metrics.representation import knn_accuracy, silhouette

    X, y, _ = clips
    feats = X.flatten(1).numpy()
    shuffled = np.random.default_rng(0).permutation(y)
    assert knn_accuracy(feats, y) > 0.9 > knn_accuracy(feats, shuffled)
    assert silhouette(feats, y) > silhouette(feats, shuffled) + 0.2


def test_snapshot_has_figure_audio_players_and_note(explorer):
    snap = explorer.snapshot(display=False)
    assert _is_png(snap.png) and len(snap.png) > 10_000
    ex = explorer.examples()
    assert len(ex) == 4 and sorted(explorer.labels[ex]) == [0, 1, 2, 3]  # one example per class
    assert snap.audio_html.count("<audio") == 4 and "data:audio/wav;base64," in snap.audio_html
    assert all(np.abs(w).max() > 0 for w in snap.waves)
    assert "Jupyter" in snap.note and "Colab" in snap.note


def test_plotly_click_and_hover_select(clips):
    pytest.importorskip("plotly")
    pytest.importorskip("anywidget")
    X, y, spk = clips
    ex = widgets.TSNEExplorer(tiny_ggan(0), X, y, speakers=spk, perplexities=(5,), perplexity=5, plotly=True)
    ex.widget
    assert ex.fig_widget is not None
    ex._on_plotly_click(ex.fig_widget.data[0], SimpleNamespace(point_inds=[9]))
    assert ex.selected == 9 and ex.audio.autoplay
    assert list(ex.fig_widget.data[1].x) == [ex.embedding[9, 0]]
    ex._on_plotly_hover(ex.fig_widget.data[0], SimpleNamespace(point_inds=[4]))
    assert ex.selected == 4 and not ex.audio.autoplay


def test_models_of_other_shapes_are_refused(clips):
    X, y, _ = clips
    with pytest.raises(ValueError, match="spectrograms"):
        widgets.TSNEExplorer(tiny_ggan(0), X[:, :, :8], y, plotly=False)


# ------------------------------------------------------------------------------------ registry / loading
def test_registry_finds_runs_and_loads_training_checkpoints(tmp_path):
    from ggan_lib.io import checkpoint as ckpt
    from ggan_lib.train.ggan import TrainConfig

    net = tiny_ggan(5)
    state = {"iteration": 7, "model_cfg": net.cfg.to_json(),
             "train_cfg": json.dumps(TrainConfig.preset("tiny").to_dict()),
             "nets": {k: v.clone() for k, v in net.state_dict().items()}, "ema_G": {}}
    runs = tmp_path / "runs"
    for name in ("ggan_f1_d0", "ggan_f5_d2"):
        ckpt.save_checkpoint(runs / name / "checkpoint.pt", state)
    (runs / "ggan_f3_d0").mkdir()                      # a run that has not written its checkpoint yet
    (runs / "cnn_f1").mkdir()
    found = widgets.find_run_checkpoints(runs)
    assert set(found) == {("ggan draw 0", 0.01), ("ggan draw 2", 0.05)}
    assert widgets.find_run_checkpoints(tmp_path / "missing") == {}
    reg = widgets.model_registry(found)
    assert ("ggan-fsdd-small", 0.05) in reg                 # the shipped model, fraction from its card
    pm = widgets.load_model(found[("ggan draw 0", 0.01)], "ggan draw 0")
    assert pm.card["iteration"] == 7
    x = torch.randn(3, 1, *SHAPE)
    assert torch.allclose(pm.features(x), net.F(net.D(x)))


# ------------------------------------------------------------------------------------ interpolation explorer
@pytest.fixture(scope="module")
def interp():
    return widgets.InterpolationExplorer(tiny_ggan(3), class_names=[f"digit{i}" for i in range(10)],
                                         class_a=2, class_b=7, n_steps=5)


def test_step_slider_shows_that_steps_spectrogram_and_audio(interp):
    interp.widget
    interp.step_slider.value = 0
    spec0, wav0 = interp.shown_spectrogram.copy(), interp.audio.value
    interp.step_slider.value = 4
    assert interp.step == 4 and interp.t == pytest.approx(1.0)
    assert np.array_equal(interp.shown_spectrogram, interp.path.specs[4, 0].numpy())
    assert not np.array_equal(interp.shown_spectrogram, spec0)
    assert _is_wav(interp.audio.value) and interp.audio.value != wav0
    assert interp.audio.autoplay                                     # moving the slider plays the step
    assert "t = 1.00" in interp.info_html.value and "digit2 → digit7" in interp.info_html.value
    with pytest.raises(IndexError):
        interp.set_step(5)


def test_class_dropdowns_change_the_path_ends(interp):
    from ggan_lib.metrics.interpolation import interpolate_ze

    interp.widget
    before = interp.path.specs.clone()
    interp.b_dd.value = 1
    assert interp.ends == ("digit2", "digit1")
    ref = interpolate_ze(interp.pm, 2, 1, 5, seed=interp.seed, audio=False)
    assert torch.allclose(interp.path.specs, ref.specs, atol=1e-5)  # the path really is digit2 -> digit1
    assert not torch.allclose(interp.path.specs, before)
    interp.set_classes("digit5")                                    # by name
    assert interp.a_dd.value == 5 and "digit5" in interp.info_html.value
    strip = interp.strip_img.value
    interp.seed_slider.value = 11
    assert interp.seed == 11 and interp.strip_img.value != strip
    assert _is_wav(interp.path_audio.value) and len(interp.path_audio.value) > 5 * 16000 * 2
    with pytest.raises(KeyError):
        interp.set_classes("digit10")


def test_gender_model_with_two_class_names():
    """Chapter 11's use: a two-class model, classes named male / female."""
    gm = tiny_ggan(4, n_classes=2)
    ip = widgets.InterpolationExplorer(gm, class_names=["male", "female"], n_steps=3)
    ip.widget
    assert [o[0] for o in ip.a_dd.options] == ["male", "female"]
    assert ip.ends == ("male", "female")
    snap = ip.snapshot(display=False)
    assert _is_png(snap.png)
    assert snap.audio_html.count("<audio") == 3 and "(male)" in snap.audio_html and "(female)" in snap.audio_html
    assert all(w.shape == (widgets.AudioConfig().signal_length,) and np.abs(w).max() > 0 for w in snap.waves)
    with pytest.raises(ValueError, match="2 classes"):
        widgets.InterpolationExplorer(gm, class_names=["a", "b", "c"])


# ------------------------------------------------------------------------------------ the shipped model, real clips
def test_shipped_model_on_real_fsdd_clips(fsdd_subset, spec_cache):
    ex = widgets.TSNEExplorer.from_folder(widgets.model_registry(), fsdd_subset, cache_dir=spec_cache,
                                          perplexities=(5,), perplexity=5, plotly=False)
    assert ex.key == ("ggan-fsdd-small", 0.05) and ex.n_points == 20      # takes 0, 1 of 10 digits
    assert ex.features.shape == (20, ex.model().model_cfg.z_dim)
    ex.widget
    ex.select(13)
    from ggan_lib.audio import AudioConfig, load_audio

    assert np.allclose(ex.point_audio(), load_audio(ex.paths[13], AudioConfig()))  # the original clip
    assert ex.paths[13].stem.startswith(str(ex.labels[13]))
    assert ex.class_names[ex.labels[13]] in ex.info_html.value
    assert _is_wav(ex.audio.value)
