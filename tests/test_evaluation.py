"""Evaluation on the tiny preset: Table II accuracy and protocol, t-SNE scores, latent interpolation."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from ggan_lib.book import plots  # noqa: E402
from ggan_lib.config import ModelConfig  # noqa: E402
from ggan_lib.experiments import protocol  # noqa: E402
from ggan_lib.metrics import accuracy as acc  # noqa: E402
from ggan_lib.metrics import interpolation as interp  # noqa: E402
from ggan_lib.metrics import representation as rep  # noqa: E402
from ggan_lib.model.baselines import CNNBaseline  # noqa: E402
from ggan_lib.model.networks import GGAN  # noqa: E402
from ggan_lib.train.baselines import BaselineConfig, train_unsupervised_baseline  # noqa: E402

MCFG = ModelConfig.preset("tiny")
BCFG = BaselineConfig.preset("tiny", progress=False)


def data(n=100, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, *MCFG.spec_shape, generator=g) * 2 - 1, torch.arange(n) % MCFG.n_classes


def ggan(seed=0):
    torch.manual_seed(seed)
    return GGAN(MCFG)


# ------------------------------------------------------------------------------ accuracy
def test_ggan_accuracy_is_cx_f_d_and_batch_invariant():
    model, (X, y) = ggan(), data(30)
    with torch.no_grad():
        model.eval()
        ref = float((model.Cx(model.F(model.D(X))).argmax(1) == y).float().mean())
        model.train()
    assert acc.ggan_accuracy(model, X, y, batch_size=7) == pytest.approx(ref)
    assert acc.ggan_accuracy(model, X, y, batch_size=100) == pytest.approx(ref)
    assert model.training and model.D.training  # modes restored


def test_features_of_each_model_kind():
    X, _ = data(9)
    assert acc.features(ggan(), X, batch_size=4).shape == (9, MCFG.z_dim)
    assert acc.features(CNNBaseline(cfg=MCFG), X).shape == (9, MCFG.z_dim)


def test_protocol_table_shape_and_summary():
    X, y = data()
    res = protocol.accuracy_protocol(protocol.cnn_method(MCFG, BCFG, n_iters=2), X, y, X[:20], y[:20],
                               fractions=(0.1, 0.2), n_draws=2, seed=3, progress=False)
    assert len(res.rows) == 4
    assert [(r["fraction"], r["draw"], r["seed"]) for r in res.rows] == [(0.1, 0, 3), (0.1, 1, 4), (0.2, 0, 3),
                                                                         (0.2, 1, 4)]
    assert [r["n_labelled"] for r in res.rows] == [10, 10, 20, 20]
    assert all(r["method"] == "CNN" and 0 <= r["accuracy"] <= 1 for r in res.rows)
    summ = res.summary()
    assert [(s["fraction"], s["n"]) for s in summ] == [(0.1, 2), (0.2, 2)]
    accs = [r["accuracy"] for r in res.rows[:2]]
    assert summ[0]["mean"] == pytest.approx(np.mean(accs)) and summ[0]["std"] == pytest.approx(np.std(accs, ddof=1))
    assert res.to_frame().shape == (4, 7) and "+-" in res.format_table()


def test_protocol_is_reproducible_for_a_seed():
    X, y = data()
    def run(seed):
        return protocol.accuracy_protocol(protocol.cnn_method(MCFG, BCFG, n_iters=3), X, y, X[:30], y[:30],
                                                fractions=(0.1, 0.2), n_draws=2, seed=seed, progress=False).rows
    def strip(rows):
        return [{k: v for k, v in r.items() if k != "fit_sec"} for r in rows]
    assert strip(run(0)) == strip(run(0))


def test_protocol_draws_differ_and_methods_share_the_draws():
    X, y = data()
    seen = {}

    def fit(name):
        def f(Xt, yt, idx, seed):
            seen.setdefault(name, []).append(tuple(idx))
            return CNNBaseline(cfg=MCFG)
        return protocol.Method(name, f)
    res = (protocol.accuracy_protocol(fit("a"), X, y, X[:5], y[:5], fractions=(0.1,), n_draws=3, progress=False)
           + protocol.accuracy_protocol(fit("b"), X, y, X[:5], y[:5], fractions=(0.1,), n_draws=3, progress=False))
    assert seen["a"] == seen["b"] and len(set(seen["a"])) == 3
    assert [s["method"] for s in res.summary()] == ["a", "b"]


def test_ggan_and_unsupervised_methods_run_through_the_same_protocol():
    from ggan_lib.train.ggan import TrainConfig

    X, y = data(60)
    tcfg = TrainConfig.preset("tiny", progress=False, tensorboard=False)
    m_ggan = protocol.ggan_method(protocol.ggan_trainer_fn(MCFG, tcfg, n_iters=1))
    _, E = train_unsupervised_baseline(MCFG, BCFG, X, gan_iters=1, enc_iters=1)
    m_ali = protocol.ali_method(MCFG, BCFG, E, n_iters=2)
    for m in (m_ggan, m_ali):
        res = protocol.accuracy_protocol(m, X, y, X[:10], y[:10], fractions=(0.2,), n_draws=1, progress=False)
        assert len(res.rows) == 1 and 0 <= res.rows[0]["accuracy"] <= 1


def test_cnn_on_100_percent():
    X, y = data(20)
    res = protocol.accuracy_protocol(protocol.cnn_method(MCFG, BCFG, n_iters=1), X, y, X, y, fractions=(1.0,), n_draws=1,
                               progress=False)
    assert res.rows[0]["n_labelled"] == 20


# ------------------------------------------------------------------------------ t-SNE, k-NN, silhouette
def clusters(n_per=30, k=5, dim=20, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 10, (k, dim))
    y = np.repeat(np.arange(k), n_per)
    return centres[y] + rng.normal(0, 1, (len(y), dim)), y


def test_scores_high_on_separated_clusters():
    X, y = clusters()
    emb, scores, fig = plots.tsne_report(X, y, title="clusters")
    assert emb.shape == (len(X), 2)
    assert scores["knn_acc_features"] > 0.95 and scores["knn_acc_embedding"] > 0.95
    assert scores["silhouette_features"] > 0.5 and scores["silhouette_embedding"] > 0.5
    assert isinstance(fig, matplotlib.figure.Figure)


def test_scores_low_on_random_labels():
    X, _ = clusters()
    y = np.random.default_rng(1).integers(0, 5, len(X))
    s = rep.representation_scores(X, y)
    assert s["knn_acc_features"] < 0.4 and s["silhouette_features"] < 0.1


def test_tsne_takes_tensors_and_few_samples():
    X = torch.randn(12, 64)
    assert rep.tsne_embedding(X, perplexity=30).shape == (12, 2)


# ------------------------------------------------------------------------------ interpolation
def test_interpolate_ze_shapes_endpoints_audio():
    model = ggan()
    out = interp.interpolate_ze(model, 1, 3, n_steps=5, seed=7, z_same=True)
    z = torch.randn(1, MCFG.z_dim, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        ze = model.eval().E(torch.cat([z, z]), torch.tensor([1, 3]))
    assert out.latents.shape == (5, MCFG.z_dim) and out.specs.shape == (5, 1, *MCFG.spec_shape)
    assert torch.equal(out.latents[0], ze[0]) and torch.equal(out.latents[-1], ze[1])
    assert out.audio.shape == (5, 16384) and torch.isfinite(out.audio).all()
    assert out.t[0] == 0 and out.t[-1] == 1
    assert out.spec_smoothness["mean_step"] > 0 and out.audio_smoothness["jump_ratio"] >= 1
    assert isinstance(plots.plot_interpolation(out), matplotlib.figure.Figure)


def test_interpolate_same_class_needs_two_z():
    model = ggan()
    same = interp.interpolate_ze(model, 2, 2, n_steps=3, z_same=True, audio=False)
    assert torch.allclose(same.latents[0], same.latents[-1], atol=1e-6)  # E of one (z, c) twice
    other = interp.interpolate_ze(model, 2, 2, n_steps=3, z_same=False, audio=False)
    assert not torch.equal(other.latents[0], other.latents[-1]) and other.audio is None


def test_gender_model_male_to_female():
    cfg2 = MCFG.replace(n_classes=2)
    torch.manual_seed(0)
    out = interp.interpolate_ze(GGAN(cfg2), 0, 1, n_steps=4, audio=False, class_names=("male", "female"))
    assert out.ends == ("male", "female") and out.specs.shape == (4, 1, *MCFG.spec_shape)


def test_interpolate_z_for_the_unsupervised_gan():
    G, _ = train_unsupervised_baseline(MCFG, BCFG, data(20)[0], gan_iters=1, enc_iters=0)
    out = interp.interpolate_z(G, MCFG, n_steps=3, audio=False)
    assert out.specs.shape == (3, 1, *MCFG.spec_shape)


def test_path_smoothness_numbers():
    a, b = torch.zeros(1, 4, 4), torch.ones(1, 4, 4)
    _, even = interp.lerp_path(a.flatten(), b.flatten(), 5)
    s = interp.path_smoothness(even.view(5, 1, 4, 4))
    assert s["jump_ratio"] == pytest.approx(1.0) and s["straightness"] == pytest.approx(1.0)
    jump = torch.stack([a, a, a, b, b])
    assert interp.path_smoothness(jump)["jump_ratio"] == pytest.approx(4.0)


def test_ggan_accuracy_takes_a_trainer():
    from ggan_lib.train.ggan import TrainConfig, Trainer

    X, y = data(20)
    tr = Trainer(MCFG, TrainConfig.preset("tiny", progress=False, tensorboard=False), X, X[:10], y[:10])
    assert acc.ggan_accuracy(tr, X, y) == acc.ggan_accuracy(tr.model, X, y)
    assert acc.features(tr, X).shape == (20, MCFG.z_dim)
