"""ggan_lib.book.explain: tables, hooks, parameter diffs, phase ownership, exact rewrites, the chapter demos."""
import numpy as np
import pytest
import torch

from ggan_lib.book import explain, viz
from ggan_lib.config import ModelConfig
from ggan_lib.model.networks import GGAN
from ggan_lib.train.ggan import TrainConfig, Trainer

MCFG = ModelConfig.preset("tiny")


def model():
    torch.manual_seed(0)
    return GGAN(MCFG)


def trainer():
    g = torch.Generator().manual_seed(0)
    X = torch.rand(24, 1, *MCFG.spec_shape, generator=g) * 2 - 1
    return Trainer(MCFG, TrainConfig.preset("tiny", progress=False, tensorboard=False), X, X[:8],
                   torch.arange(8) % MCFG.n_classes)


def test_format_count():
    assert explain.format_count(999) == "999"
    assert explain.format_count(1234) == "1.23 k"
    assert explain.format_count(6.63e6) == "6.63 M"
    assert explain.format_count(2.74e10) == "27.4 G"


def test_param_table_counts_frozen_parameters_too():
    m = model()
    m.requires_grad_(False)                      # as the Trainer leaves borrowed networks
    rows = explain.param_table(m)
    by = {r["network"]: r["parameters"] for r in rows}
    assert by["E"] == sum(p.numel() for p in m.E.parameters()) > 0
    assert by["total"] == sum(p.numel() for p in m.parameters())
    assert "D′" in by


def test_mlp_table_encoder_and_sn():
    m = model()
    rows = explain.mlp_table(m.E, "Input z, c")
    assert rows[0] == {"layer": "Input z, c", "output": str(MCFG.z_dim + MCFG.n_classes), "SN": "-"}
    assert [r["layer"] for r in rows[1:]] == ["Dense", "ReLU", "Dense", "ReLU", "Dense"]
    assert rows[-1]["output"] == str(MCFG.z_dim)
    dp = explain.mlp_table(m.Dp)
    assert dp[0]["output"] == str(MCFG.feat_dim) and dp[-1]["output"] == "1"
    assert all(r["SN"] == "SN" for r in dp if r["layer"] == "Dense")
    with pytest.raises(ValueError):
        explain.mlp_table(torch.nn.ReLU())


def test_capture_activations_and_generator_stages():
    m = model()
    ze = torch.randn(3, MCFG.z_dim)
    acts = explain.capture_activations(m.G, (ze,), ["blocks.0", "out_conv"])
    assert list(acts) == ["blocks.0", "out_conv"]
    assert not m.G.blocks[0]._forward_hooks            # hooks removed
    stages = explain.generator_activations(m.G, ze)
    shapes = [tuple(a.shape) for a in stages.values()]
    assert shapes[0] == (3, *m.G.base)
    assert shapes[-1] == (3, 1, *MCFG.spec_shape)
    assert "non-local" in stages
    rows = explain.activation_stats(stages)
    assert len(rows) == len(stages) and rows[-1]["|max|"] <= 1.0
    with pytest.raises(KeyError):
        explain.capture_activations(m.G, (ze,), ["nope"])


def test_generator_activations_match_the_forward():
    m = model().eval()
    ze = torch.randn(2, MCFG.z_dim)
    stages = explain.generator_activations(m.G, ze)
    with torch.no_grad():
        assert torch.equal(stages["tanh = x̂"], m.G(ze))


def test_snapshot_and_diff():
    m = model()
    nets = {"E": m.E, "G": m.G}
    before = explain.snapshot(nets)
    with torch.no_grad():
        next(m.E.parameters()).add_(0.5)
    m.G.train()
    m.G(torch.randn(4, MCFG.z_dim))                    # updates BN running stats and SN vectors only
    d = explain.diff(before, nets)
    assert d["E"]["params_changed"] == 1 and d["E"]["max_abs_change"] == pytest.approx(0.5)
    assert d["G"]["params_changed"] == 0 and d["G"]["buffers_changed"] > 0


def test_phase_ownership_matches_phase_modules():
    tr = trainer()
    res = explain.phase_ownership(tr)
    owners = explain.phase_owners(tr.model)
    assert owners == {"D1": ["D", "Dp"], "D2": ["D2"], "Df": ["Df"], "ECG": ["E", "Ce", "G"], "FC": ["F", "Cx"]}
    for ph, per_net in res.items():
        for n in explain.NETS:
            changed = per_net[n]["params_changed"] + per_net[n]["buffers_changed"]
            assert (changed > 0) == (n in owners[ph]), (ph, n)
    assert res["ECG"]["_g_forwards"] == 1 and res["D1"]["_g_forwards"] == 1
    rows = explain.ownership_table(res, owners)
    assert rows[0]["network"] == "E" and rows[0]["ECG"] == "moved *" and rows[0]["D1"] == "–"


@pytest.mark.parametrize("kind", ["G", "D"])
def test_rewrite_check_is_exact_and_cheaper(kind):
    r = explain.rewrite_check(kind, in_ch=4, out_ch=6, size=(4, 4))
    assert r["max_abs_diff"] < 1e-12
    assert r["flops_rewritten"] < r["flops_plain"]
    with pytest.raises(ValueError):
        explain.rewrite_check("X")


def test_fit_encoder_classifier_learns_eq1():
    m = model()
    before, c = explain.latent_codes(m.E, MCFG, n=400)
    hist = explain.fit_encoder_classifier(m.E, m.Ce, MCFG, steps=150, batch=64, lr=3e-3)
    after, c2 = explain.latent_codes(m.E, MCFG, n=400)
    assert hist[-1]["loss"] < 0.5 * hist[0]["loss"]
    assert explain.centroid_accuracy(after, c2) > explain.centroid_accuracy(before, c) + 0.2


def test_class_vs_noise_grows_with_eq1_training():
    m = model()
    d_c, d_z = explain.class_vs_noise(m.E, MCFG)
    assert 0 < d_c and 0 < d_z
    explain.fit_encoder_classifier(m.E, m.Ce, MCFG, steps=150, batch=64, lr=3e-3)
    d_c2, _ = explain.class_vs_noise(m.E, MCFG)
    assert d_c2 > d_c


def test_pca_and_centroid_accuracy():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 50)
    x = rng.normal(size=(150, 5)) * 0.1 + np.eye(5)[y] * 3
    p, basis = explain.pca_2d(x)
    assert p.shape == (150, 2) and basis.shape == (5, 2)
    q, _ = explain.pca_2d(x, basis)
    assert np.allclose(p, q)
    assert explain.centroid_accuracy(x, y) == 1.0


def test_mg_terms_collapsed_vs_diverse():
    m = model()
    z1, c = m.sample_latent(6)
    z2, _ = m.sample_latent(6)
    x1, x2 = torch.rand(2, 6, 1, *MCFG.spec_shape) * 2 - 1
    with torch.no_grad():
        _, col = explain.mg_terms(m, x1, x2, z1, z1, c)
        _, div = explain.mg_terms(m, x1, x2, z1, z2, c)
    assert col["fake_dist"] == 0 and col["diversity"] == 0
    assert col["mg"] == pytest.approx(col["real_dist"] / 1e-4, rel=1e-4)
    assert div["mg"] < col["mg"]


def test_mg_descent_undoes_a_collapse():
    m = model()
    explain.collapse_encoder(m.E, 0.01, MCFG.z_dim)
    hist = explain.mg_descent(m, torch.rand(32, 1, *MCFG.spec_shape) * 2 - 1, steps=40, batch=8, lr=2e-3)
    assert hist[-1]["mg"] < hist[0]["mg"]
    assert hist[-1]["diversity"] > hist[0]["diversity"]


def test_cpu_threads(monkeypatch):
    monkeypatch.setenv("GGAN_THREADS", "1")
    assert explain.cpu_threads() == 1 or torch.cuda.is_available()


def test_viz_helpers_draw():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    m = model()
    acts = explain.generator_activations(m.G, torch.randn(2, MCFG.z_dim))
    fig = viz.plot_activation_maps(acts, suptitle="x")
    assert len([a for a in fig.axes if a.axison]) == len(acts)
    ax = viz.plot_hinge()
    assert len(ax.lines) == 3
    ax = viz.scatter_classes(np.random.default_rng(0).normal(size=(30, 2)), np.arange(30) % 3, title="t")
    assert len(ax.collections) == 3
    plt.close("all")
