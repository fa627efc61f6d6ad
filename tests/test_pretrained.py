"""Shipped and exported GGANs: weights-only loading, clear mismatch errors, the card, the shipped model's accuracy."""
import json
import time
from pathlib import Path

import pytest
import torch

from ggan_lib.config import BaselineConfig, ModelConfig
from ggan_lib.experiments import pretrained as P
from ggan_lib.experiments.zoo import load_generator
from ggan_lib.io.checkpoint import CheckpointMismatchError
from ggan_lib.model.latent import fixed_codes
from ggan_lib.train.baselines import SupervisedGANTrainer, UnsupervisedGANTrainer
from ggan_lib.train.ggan import TrainConfig, Trainer

MCFG = ModelConfig.preset("tiny")
SHIPPED = P.MODELS_DIR / "ggan_fsdd_small.pt"
FSDD_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd" / "recordings"


def data(n=24, nl=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, 1, *MCFG.spec_shape, generator=g) * 2 - 1
    return X, X[:nl], torch.arange(nl) % MCFG.n_classes


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny trainer after 2 iterations, its training checkpoint and its export."""
    d = tmp_path_factory.mktemp("export")
    torch.set_num_threads(1)
    tr = Trainer(MCFG, TrainConfig.preset("tiny", progress=False, tensorboard=False), *data(), out_dir=d)
    tr.train(2)
    ck = tr.save()
    out = P.export_checkpoint(ck, d / "tiny.pt", "tiny-test", {"command": "pytest"})
    return tr, ck, out


def test_export_is_small_weights_only_and_loads_the_ema_generator(exported):
    tr, ck, out = exported
    raw = torch.load(out, weights_only=True)
    assert raw["format"] == P.FORMAT and "opts" not in raw and "rng" not in raw
    assert out.stat().st_size < 0.6 * ck.stat().st_size  # no optimiser state, no RNG
    pm = P.load_pretrained(out)
    assert pm.model_cfg == MCFG and pm.train_cfg == tr.cfg and not pm.model.training
    for k, v in tr.ema_G.state_dict().items():
        assert torch.equal(pm.model.G.state_dict()[k], v)
    for n in ("D", "F", "Cx", "E"):
        for k, v in getattr(tr.model, n).state_dict().items():
            assert torch.equal(getattr(pm.model, n).state_dict()[k], v)
    # same spectrograms as the trainer's EMA sampler, same classifier outputs
    assert torch.allclose(pm.sample(6, seed=3), tr.sample(6, seed=3), atol=1e-6)
    x = data()[0][:5]
    tr.model.eval()
    with torch.no_grad():
        assert torch.allclose(pm.classify(x), tr.model.Cx(tr.model.F(tr.model.D(x))), atol=1e-6)
    card = json.loads(P.card_path(out).read_text())
    assert card["sha256"] == P.sha256(out) and card["command"] == "pytest" and "CC BY-SA 4.0" in card["licence"]


def test_mismatches_give_clear_errors(exported, tmp_path):
    _, ck, out = exported
    with pytest.raises(CheckpointMismatchError, match=r"ch: checkpoint=2 current=16"):
        P.load_pretrained(out, expect_model_cfg=ModelConfig.preset("tiny", ch=16))
    with pytest.raises(CheckpointMismatchError, match="export it with"):
        P.load_pretrained(ck)  # a training checkpoint, not an export
    raw = torch.load(out, weights_only=True)
    key = next(k for k in raw["nets"] if k.startswith("Cx.") and k.endswith("weight"))
    raw["nets"][key] = torch.zeros(3, 3)
    bad = tmp_path / "bad.pt"
    torch.save(raw, bad)
    with pytest.raises(CheckpointMismatchError, match=rf"{key}: checkpoint \(3, 3\) vs current"):
        P.load_pretrained(bad)
    raw["model_cfg"] = json.dumps({**json.loads(raw["model_cfg"]), "new_field": 1})
    torch.save(raw, bad)
    with pytest.raises(CheckpointMismatchError, match="new_field"):
        P.load_pretrained(bad)
    (tmp_path / "card.pt").write_bytes(out.read_bytes())
    P.write_card(tmp_path / "card.pt", {"sha256": "0" * 64})
    with pytest.raises(CheckpointMismatchError, match="SHA-256"):
        P.load_pretrained(tmp_path / "card.pt")
    with pytest.raises(KeyError, match="ggan-fsdd-small"):
        P.load_pretrained("no-such-model")


def test_from_scratch_flag_trains_the_same_recipe(monkeypatch):
    small = ModelConfig.preset("small")
    g = torch.Generator().manual_seed(0)
    X = torch.rand(16, 1, *small.spec_shape, generator=g) * 2 - 1
    monkeypatch.setattr(P, "fsdd_data", lambda cfg, *a: (X, X[:10], torch.arange(10)))
    pm = P.load_or_train(from_scratch=True, iters=1, progress=False)
    assert pm.model_cfg == small and pm.sample(2).shape == (2, 1, *small.spec_shape)


@pytest.mark.skipif(not SHIPPED.exists(), reason="models/ggan_fsdd_small.pt not shipped yet")
def test_shipped_model_loads_fast_and_keeps_its_recorded_accuracy(spec_cache):
    from ggan_lib.audio import AudioConfig
    from ggan_lib.data import DigitFolder
    assert SHIPPED.stat().st_size <= 10e6
    t0 = time.perf_counter()
    pm = P.load_pretrained("ggan-fsdd-small", expect_model_cfg=ModelConfig.preset("small"))
    assert time.perf_counter() - t0 < 10
    card = pm.card
    for k in ("command", "model_cfg", "train_cfg", "metrics", "measured", "licence", "sha256", "iteration"):
        assert k in card, k
    assert "CC BY-SA 4.0" in card["licence"] and "FSDD" in card["licence"]
    for k in ("test_accuracy", "is", "fid", "real_test_is"):
        assert isinstance(pm.metrics[k], float), k
    # IS per split depends on the clips per split: the card's generated IS faces the real one at equal counts
    assert pm.metrics["n_generated"] == pm.metrics["n_real"] == 1000
    ds = DigitFolder(FSDD_DIR, split="test", cfg=AudioConfig(spec_shape=pm.model_cfg.spec_shape),
                     cache_dir=spec_cache, progress=False)
    X, y = ds.as_tensors()
    assert len(y) == pm.metrics["n_test"] == 250
    acc = float((pm.classify(X).argmax(1) == y).float().mean())
    assert acc == pytest.approx(pm.metrics["test_accuracy"], abs=0.02)


# ------------------------------------------------------------------------------------ the one loader
def test_one_loader_takes_every_model(exported):
    """load_model: export, training checkpoint, Trainer, GGAN module; load_generator checks preset and kind."""
    tr, ck, out = exported
    ref = tr.sample(7, seed=4)  # the trainer's EMA sampler
    from_export, from_ckpt = P.load_model(out), P.load_model(ck, name="run")
    assert from_export.kind == from_ckpt.kind == "ggan" and from_ckpt.card == {"name": "run", "iteration": 2}
    for pm in (from_export, from_ckpt, P.load_pretrained(out), load_generator(ck, "tiny", "ggan")):
        assert torch.allclose(pm.sample(7, seed=4), ref, atol=1e-6)
    assert P.load_model(from_export) is from_export
    assert P.load_model(tr).model is tr.model and P.load_model(tr.model).kind == "ggan"
    with pytest.raises(CheckpointMismatchError, match="preset 'tiny'"):
        load_generator(out, "small")
    with pytest.raises(CheckpointMismatchError, match="expects 'supervised_biggan'"):
        P.load_model(tr.model, kind="supervised_biggan")


def test_a_trainer_snapshot_samples_as_the_trainer_and_leaves_its_networks(exported):
    """zoo.from_trainer: EMA G with standing statistics (= Trainer.sample), on a copy of the networks."""
    from ggan_lib.experiments.zoo import from_trainer
    tr, _, _ = exported
    live_G = {k: v.clone() for k, v in tr.model.G.state_dict().items()}
    snap = from_trainer(tr, name="here")
    assert snap.g_is_ema and snap.standing_batches == tr.cfg.ema_standing_batches > 0
    assert snap.card == {"name": "here", "iteration": tr.iteration} and snap.model is not tr.model
    ema_w = tr.ema_G.state_dict()
    assert all(torch.equal(v, ema_w[k]) for k, v in snap.model.G.state_dict().items() if "running" not in k)
    assert any(not torch.equal(live_G[k], ema_w[k]) for k in live_G if "running" not in k)  # EMA is not G
    assert torch.allclose(snap.sample(6, seed=3), tr.sample(6, seed=3), atol=1e-6)
    assert all(torch.equal(v, live_G[k]) for k, v in tr.model.G.state_dict().items())  # trainer's G untouched


def test_sample_draws_z_through_the_latent_sampler(exported):
    """sample(): z = torch.randn(n, z_dim) of the seed for z_dist='normal' (as before), fixed_codes otherwise;
    batches and an explicit z give the same spectrograms."""
    _, _, out = exported
    pm = P.load_pretrained(out).standing_stats()  # G as sample() uses it (standing BN statistics, once)
    z = torch.randn(9, MCFG.z_dim, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        want = pm.model.G(pm.model.E(z, torch.arange(9) % MCFG.n_classes))
    assert torch.equal(pm.sample(9, seed=5), want)
    assert torch.allclose(pm.sample(9, seed=5, batch_size=4), want, atol=1e-6)
    assert torch.equal(pm.sample(9, z=z), want)
    uniform = P.Pretrained(pm.model, MCFG.replace(z_dist="uniform"), standing_batches=0)
    zu, cu = fixed_codes(uniform.model_cfg, 9, 5)
    assert zu.min() >= -1 and zu.max() <= 1
    with torch.no_grad():
        assert torch.equal(uniform.sample(9, seed=5), pm.model.G(pm.model.E(zu, cu)))


def test_baseline_checkpoints_load_and_sample_as_their_trainer(tmp_path):
    """A supervised / unsupervised BigGAN checkpoint: load_model's sample equals the trainer's sampler."""
    X, _, _ = data()
    y = torch.arange(len(X)) % MCFG.n_classes
    cfg = BaselineConfig.preset("tiny", progress=False)
    for tr in (SupervisedGANTrainer(MCFG, cfg, X, y, out_dir=tmp_path / "s"),
               UnsupervisedGANTrainer(MCFG, cfg, X, out_dir=tmp_path / "u")):
        tr.train(1)
        pm = load_generator(tr.save(), "tiny", tr.kind)
        assert pm.kind == tr.kind and isinstance(pm.train_cfg, BaselineConfig) and pm.g_is_ema
        for k, v in tr.ema_G.named_parameters():  # the file's EMA G, not its raw G
            assert torch.equal(dict(pm.model.named_parameters())[k], v)
        assert torch.allclose(pm.sample(6, seed=2, batch_size=4), tr.sample(6, seed=2), atol=1e-6)
        with pytest.raises(TypeError, match="needs a GGAN"):
            pm.classify(X[:2])


def test_a_loaded_model_samples_its_ema_with_standing_stats_once(exported, monkeypatch):
    """Exports and checkpoints: the EMA G, its BN statistics re-estimated once before the first generation
    (ggan_lib.train.ema, as the trainers sample); in-memory models are left as they are."""
    from ggan_lib.experiments import zoo
    tr, ck, out = exported
    calls = []
    real = zoo.standing_bn_stats
    monkeypatch.setattr(zoo, "standing_bn_stats", lambda *a, **k: (calls.append(1), real(*a, **k)))
    for pm in (P.load_model(ck), P.load_pretrained(out)):
        assert pm.g_is_ema and pm.sampling["generator"] == "ema" and pm.standing_batches == 16
        bn = next(m for m in pm.model.G.modules() if isinstance(m, torch.nn.BatchNorm2d))
        stored = bn.running_mean.clone()
        first = pm.sample(5, seed=1)
        assert not torch.equal(bn.running_mean, stored)  # re-estimated for the EMA weights
        assert torch.equal(pm.sample(5, seed=1), first)  # ... once
    assert len(calls) == 2
    live = P.load_model(tr)
    assert live.standing_batches == 0 and not live.g_is_ema
    live.sample(2)
    assert len(calls) == 2  # the trainer's own networks: buffers untouched
