"""Baseline training loops on the tiny preset: phase ownership, CNN learning, checkpoints, NaN stop, log."""
import json

import pytest
import torch

from ggan_lib import losses
from ggan_lib.config import PRESETS, ModelConfig
from ggan_lib.io.checkpoint import CheckpointMismatchError
from ggan_lib.train import baselines as bt
from ggan_lib.train.engine import PhaseEngine
from ggan_lib.train.ggan import NonFiniteLossError

MCFG = ModelConfig.preset("tiny")


def cfg(**kw):
    return bt.BaselineConfig.preset("tiny", progress=False, **kw)


def data(n=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, *MCFG.spec_shape, generator=g) * 2 - 1, torch.arange(n) % MCFG.n_classes


def trained_g():
    X, _ = data()
    tr = bt.UnsupervisedGANTrainer(MCFG, cfg(), X)
    tr.train(1)
    return tr.nets["G"]


def make(kind, **kw):
    X, y = data()
    if kind == "supervised":
        return bt.SupervisedGANTrainer(MCFG, cfg(**kw), X, y)
    if kind == "unsupervised":
        return bt.UnsupervisedGANTrainer(MCFG, cfg(**kw), X)
    if kind == "ali":
        return bt.ALIEncoderTrainer(MCFG, cfg(**kw), trained_g(), X)
    if kind == "cnn":
        return bt.CNNTrainer(MCFG, cfg(**kw), X[:10], y[:10])
    Zl = torch.randn(10, MCFG.z_dim, generator=torch.Generator().manual_seed(1))
    return bt.LatentClassifierTrainer(MCFG, cfg(**kw), Zl, y[:10])


KINDS = ["supervised", "unsupervised", "ali", "cnn", "latent"]


def snapshot(tr):
    return {f"{n}.{k}": v.detach().clone() for n, net in tr.nets.items() for k, v in net.state_dict().items()}


def changed(before, tr):
    after = snapshot(tr)
    return {k for k, v in before.items() if not torch.equal(v, after[k])}


def owned_nets(tr, phase):
    return {n for n, net in tr.nets.items() if any(net is m for m in tr.phases[phase].modules)}


@pytest.mark.parametrize("kind", KINDS)
def test_each_phase_changes_only_what_it_owns(kind):
    tr = make(kind)
    for phase in tr.phases:
        for net in tr.nets.values():  # gradients left by the previous phase
            net.zero_grad(set_to_none=True)
        before = snapshot(tr)
        tr.run_step(tr.phases[phase])
        mine = owned_nets(tr, phase)
        diff = changed(before, tr)
        assert diff and {k.split(".")[0] for k in diff} <= mine, (phase, sorted(diff)[:5])
        grads = {f"{n}.{k}": p.grad for n, net in tr.nets.items() for k, p in net.named_parameters()}
        moved = {k for k, g in grads.items() if g is not None and g.abs().sum() > 0}
        assert moved and moved <= diff  # every owned parameter with a gradient moved
        assert all(g is None for k, g in grads.items() if k.split(".")[0] not in mine)


@pytest.mark.parametrize("kind", KINDS)
def test_iterations_move_exactly_the_trained_networks(kind):
    tr = make(kind)
    before = snapshot(tr)
    tr.train(3)
    touched = {k.split(".")[0] for k in changed(before, tr)}
    owned = {n for p in tr.phases for n in owned_nets(tr, p)}
    assert touched == owned
    if kind == "ali":
        assert "G" not in touched  # the GAN's generator stays frozen


def test_ali_generator_is_a_copy_of_the_trained_one():
    G = trained_g()
    X, _ = data()
    tr = bt.ALIEncoderTrainer(MCFG, cfg(), G, X)
    for k, v in G.state_dict().items():
        assert torch.equal(tr.nets["G"].state_dict()[k], v)
    assert tr.nets["G"] is not G


def test_cnn_loss_decreases_on_separable_data():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(40) % 4
    X = torch.full((40, 1, *MCFG.spec_shape), -0.8) + 0.05 * torch.randn(40, 1, *MCFG.spec_shape, generator=g)
    for i, c in enumerate(y):  # class c: a bright band at rows 4c .. 4c + 3
        X[i, 0, 4 * c:4 * c + 4] = 0.8
    tr = bt.CNNTrainer(MCFG, cfg(batch_size=20, lr_clf=3e-3), X, y)
    first = sum(tr.step()["ce"] for _ in range(3)) / 3
    tr.train(40)
    last = sum(tr.step()["ce"] for _ in range(3)) / 3
    assert last < 0.5 * first
    with torch.no_grad():
        assert (tr.model.eval()(X).argmax(1) == y).float().mean() > 0.9


def test_same_seed_same_run_other_seed_other_run():
    a, b, c = make("supervised"), make("supervised"), make("supervised", seed=1)
    for tr in (a, b, c):
        tr.train(2)
    sa, sb, sc = snapshot(a), snapshot(b), snapshot(c)
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


@pytest.mark.parametrize("kind", ["unsupervised", "ali", "cnn"])
def test_resume_is_bit_exact(kind, tmp_path):
    tr = make(kind)
    tr.train(2)
    path = tr.save(tmp_path / "ck.pt")
    ref = tr.train(2)
    other = make(kind)
    other.load(path)
    assert other.iteration == 2
    out = other.train(2)
    assert {k: v for k, v in out.items() if k != "sec"} == {k: v for k, v in ref.items() if k != "sec"}
    sa, sb = snapshot(tr), snapshot(other)
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_checkpoint_of_another_preset_names_both(tmp_path):
    X, y = data()
    path = bt.CNNTrainer(MCFG, cfg(), X, y).save(tmp_path / "tiny.pt")
    small = ModelConfig.preset("small")
    Xs = torch.zeros(4, 1, *small.spec_shape)
    tr = bt.CNNTrainer(small, bt.BaselineConfig.preset("small", progress=False), Xs, y[:4])
    with pytest.raises(CheckpointMismatchError) as e:
        tr.load(path)
    msg = str(e.value)
    assert "ModelConfig" in msg and "spec_shape: checkpoint=(16, 8) current=(64, 32)" in msg
    assert "preset 'tiny'" in msg and "preset 'small'" in msg


def test_checkpoint_of_another_trainer_kind_is_refused(tmp_path):
    path = make("cnn").save(tmp_path / "cnn.pt")
    with pytest.raises(CheckpointMismatchError, match="cnn_baseline.*supervised_biggan"):
        make("supervised").load(path)


def test_nan_loss_stops_before_the_step(monkeypatch):
    tr = make("unsupervised")
    before = snapshot(tr)
    monkeypatch.setattr(losses, "hinge_d_loss", lambda real, fake: real.mean() * float("nan"))
    with pytest.raises(NonFiniteLossError, match="'d'.*phase D"):
        tr.step()
    params = {f"{n}.{k}" for n, net in tr.nets.items() for k, _ in net.named_parameters()}
    assert not changed(before, tr) & params  # (SN power-iteration vectors do move in the forward)


def test_jsonl_log_and_default_checkpoint(tmp_path):
    X, y = data()
    tr = bt.SupervisedGANTrainer(MCFG, cfg(ckpt_every=2), X, y, out_dir=tmp_path)
    tr.train(2)
    tr.close()
    recs = [json.loads(ln) for ln in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["iter"] for r in recs] == [1, 2]
    assert {"d", "d_real", "d_fake", "g", "sec"} <= set(recs[0])
    assert (tmp_path / "supervised_biggan.pt").exists()


def test_presets_match_model_presets_and_paper_lrs():
    assert set(bt.BASELINE_PRESETS) == set(PRESETS)
    p = bt.BaselineConfig.preset("paper")
    assert (p.lr_g, p.lr_d, p.betas, p.batch_size) == (5e-5, 2e-4, (0.0, 0.999), 64)
    with pytest.raises(KeyError, match="tiny"):
        bt.BaselineConfig.preset("huge")


def test_wrong_data_shape_is_a_clear_error():
    with pytest.raises(ValueError, match=r"\(N, 1, 16, 8\)"):
        bt.UnsupervisedGANTrainer(MCFG, cfg(), torch.zeros(4, 1, 8, 8))


def test_train_unsupervised_baseline_and_classifier(tmp_path):
    X, y = data()
    G, E = bt.train_unsupervised_baseline(MCFG, cfg(), X, gan_iters=1, enc_iters=1, out_dir=tmp_path)
    assert (tmp_path / "gan" / "unsupervised_biggan.pt").exists() and (tmp_path / "encoder" / "ali_encoder.pt").exists()
    clf = bt.train_latent_classifier(MCFG, cfg(), E, X[:10], y[:10], n_iters=2)
    assert clf(X[:3]).shape == (3, MCFG.n_classes) and clf.features(X[:3]).shape == (3, MCFG.z_dim)


def test_unsupervised_stages_resume_and_reuse_the_gan(tmp_path):
    """A rerun with only the encoder's settings changed reuses the finished GAN and retrains the encoder;
    a request for more iterations continues the checkpoint, one for fewer starts afresh."""
    X, _ = data()
    G1, E1 = bt.train_unsupervised_baseline(MCFG, cfg(), X, gan_iters=2, enc_iters=2, out_dir=tmp_path)
    msgs = []
    gan = bt.train_stage(bt.UnsupervisedGANTrainer(MCFG, cfg(enc_latent_recon=0.5), X, out_dir=tmp_path / "gan"),
                         2, log=msgs.append)
    assert gan.iteration == 2 and "resumed" in msgs[0]
    assert all(torch.equal(a, b) for a, b in zip(G1.state_dict().values(), gan.nets["G"].state_dict().values()))
    ali = bt.train_stage(bt.ALIEncoderTrainer(MCFG, cfg(enc_latent_recon=0.5), gan.nets["G"], X,
                                              out_dir=tmp_path / "encoder"), 2, log=msgs.append)
    assert "not resuming" in msgs[1] and "enc_latent_recon" in msgs[1]  # the encoder's config changed
    assert ali.iteration == 2
    more = bt.train_stage(bt.UnsupervisedGANTrainer(MCFG, cfg(), X, out_dir=tmp_path / "gan"), 3, log=msgs.append)
    assert more.iteration == 3 and more.resumed_from == 2
    fresh = bt.train_stage(bt.UnsupervisedGANTrainer(MCFG, cfg(), X, out_dir=tmp_path / "gan"), 1, log=msgs.append)
    assert fresh.iteration == 1  # the 3-iteration checkpoint was not loaded for a 1-iteration request


def test_periodic_checkpoints_need_a_run_folder_only():
    make("cnn", ckpt_every=1).train(2)  # no out_dir (protocol fits): no periodic checkpoint, no error


@pytest.mark.parametrize("kind", KINDS)
def test_two_trainers_stepped_identically_are_identical(kind):
    """Same seed, same steps: bit-identical networks, optimiser states, data generator and losses."""
    a, b = make(kind), make(kind)
    drop = lambda o: {k: v for k, v in o.items() if k != "sec"}  # noqa: E731
    assert [drop(a.step()) for _ in range(2)] == [drop(b.step()) for _ in range(2)]
    sa, sb = snapshot(a), snapshot(b)
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    for pa, pb in zip(a.phases.values(), b.phases.values()):
        for ta, tb in zip(pa.opt.state_dict()["state"].values(), pb.opt.state_dict()["state"].values()):
            assert all(torch.equal(ta[k], tb[k]) for k in ta)
    assert torch.equal(a.gen.get_state(), b.gen.get_state())


@pytest.mark.parametrize("kind", KINDS)
def test_every_trainer_runs_on_the_one_engine(kind):
    """Each baseline trainer is a PhaseEngine whose phases' optimisers hold exactly their owned parameters."""
    tr = make(kind)
    assert isinstance(tr, PhaseEngine) and type(tr).run_step is PhaseEngine.run_step
    for phase in tr.phases.values():
        params = [p for m in phase.modules for p in m.parameters()]
        assert [id(p) for p in phase.opt.param_groups[0]["params"]] == [id(p) for p in params]


def test_one_hinge_loss_definition():
    assert bt.hinge_d_loss is losses.hinge_d_loss and bt.hinge_g_loss is losses.hinge_g_loss


def test_ali_generator_stays_in_eval_mode_during_phases():
    tr = make("ali")
    for phase in tr.phases.values():
        tr.set_modes(phase.modules)
        assert all(bn.track_running_stats and not bn.training for bn in tr._bns["G"])
        assert not any(p.requires_grad for p in tr.nets["G"].parameters())


@pytest.mark.parametrize("z_dist", ["normal", "uniform"])
def test_baseline_latents_follow_the_prior(z_dist):
    """The GAN trainers draw z through ggan_lib.model.latent: N(0, I) or U(-1, 1) as ModelConfig.z_dist says."""
    X, y = data()
    mcfg = MCFG.replace(z_dist=z_dist)
    tr = bt.SupervisedGANTrainer(mcfg, cfg(), X, y)
    seen = []
    for G in (tr.nets["G"], tr.ema_G):  # training draws through G, sampling through the EMA G
        G.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach().clone()))
    tr.step()
    tr.sample(200)
    ref = torch.Generator().manual_seed(0)
    want = torch.randn(200, mcfg.z_dim, generator=ref) if z_dist == "normal" else \
        torch.rand(200, mcfg.z_dim, generator=ref) * 2 - 1
    assert torch.equal(seen[-1], want)
    z = torch.cat(seen)
    assert (z.abs().max() <= 1) == (z_dist == "uniform")


# ------------------------------------------------------------------------------------ the BigGANs' EMA of G
GANS = ["supervised", "unsupervised"]
EMA_FIELDS = ("ema", "ema_decay", "ema_start", "ema_warmup", "ema_standing_batches")


def params(net):
    return [p.detach().clone() for p in net.parameters()]


def ema_snapshot(tr):
    return {k: v.detach().clone() for k, v in tr.ema_G.state_dict().items()}


def test_baseline_config_has_ggan_s_ema_fields_and_defaults():
    from ggan_lib.config import TRAIN_PRESETS, TrainConfig
    assert all(getattr(bt.BaselineConfig(), f) == getattr(TrainConfig(), f) for f in EMA_FIELDS)
    for name in bt.BASELINE_PRESETS:  # the presets too (tiny: decay 0.9 for both)
        assert all(getattr(bt.BASELINE_PRESETS[name], f) == getattr(TRAIN_PRESETS[name], f) for f in EMA_FIELDS)
    assert bt.BaselineConfig().ema_standing_batches == 16
    with pytest.raises(ValueError, match="ema_decay"):
        bt.BaselineConfig(ema_decay=1.5)


@pytest.mark.parametrize("kind", GANS)
def test_baseline_ema_follows_the_warmup_rule(kind):
    """decay min(d, (1 + t) / (warmup + t)): 1/10 after the first G step, 2/11 after the second (d = 0.999)."""
    tr = make(kind, ema_decay=0.999, ema_warmup=10)
    g0 = params(tr.nets["G"])
    assert all(torch.equal(a, b) for a, b in zip(params(tr.ema_G), g0))  # starts as a copy of G
    tr.step()
    g1 = params(tr.nets["G"])
    want1 = [0.1 * a + 0.9 * b for a, b in zip(g0, g1)]
    assert all(torch.allclose(e, w, atol=1e-6) for e, w in zip(params(tr.ema_G), want1))
    tr.step()
    g2 = params(tr.nets["G"])
    want2 = [2 / 11 * a + 9 / 11 * b for a, b in zip(want1, g2)]
    assert all(torch.allclose(e, w, atol=1e-6) for e, w in zip(params(tr.ema_G), want2))
    assert not all(torch.allclose(e, b, atol=1e-6) for e, b in zip(params(tr.ema_G), g2))  # an average, not G
    for be, bg in zip(tr.ema_G.buffers(), tr.nets["G"].buffers()):  # BN / SN buffers: G's, copied
        assert torch.equal(be, bg)


@pytest.mark.parametrize("kind", GANS)
def test_baseline_ema_start_copies_g_until_then(kind):
    tr = make(kind, ema_start=2, ema_warmup=10)
    tr.train(2)  # updates at t = 0, 1 < ema_start: plain copies
    assert all(torch.equal(e, g) for e, g in zip(params(tr.ema_G), params(tr.nets["G"])))
    tr.step()   # t = 2: counted from ema_start, decay 1 / 10
    assert not all(torch.equal(e, g) for e, g in zip(params(tr.ema_G), params(tr.nets["G"])))


@pytest.mark.parametrize("kind", GANS)
def test_no_phase_touches_the_ema(kind):
    """The EMA is in no optimiser, and no phase step changes it; only the iteration's update does."""
    tr = make(kind)
    ema_ids = {id(p) for p in tr.ema_G.parameters()}
    assert not ema_ids & {id(p) for ph in tr.phases.values() for g in ph.opt.param_groups for p in g["params"]}
    assert all(net is not tr.ema_G for net in tr.nets.values())
    for phase in tr.phases:
        before = ema_snapshot(tr)
        tr.run_step(tr.phases[phase])
        after = ema_snapshot(tr)
        assert all(torch.equal(v, after[k]) for k, v in before.items()), phase
    before = ema_snapshot(tr)
    tr.step()
    assert any(not torch.equal(v, tr.ema_G.state_dict()[k]) for k, v in before.items())


@pytest.mark.parametrize("kind", GANS)
def test_ema_round_trips_through_a_checkpoint(kind, tmp_path):
    tr = make(kind)
    tr.train(2)
    tr.sample(3)  # standing statistics in the EMA's buffers: a checkpoint may hold them
    path = tr.save(tmp_path / "ck.pt")
    saved = ema_snapshot(tr)
    other = make(kind)
    other.load(path)
    assert all(torch.equal(v, other.ema_G.state_dict()[k]) for k, v in saved.items())
    tr.train(2)
    other.train(2)  # and the run continues bit-exactly, EMA included
    assert all(torch.equal(v, other.ema_G.state_dict()[k]) for k, v in ema_snapshot(tr).items())
    assert torch.equal(other.sample(4, seed=1), tr.sample(4, seed=1))


@pytest.mark.parametrize("kind", GANS)
def test_a_baseline_checkpoint_from_before_the_ema_loads(kind, tmp_path):
    """Files without ema_G and without the EMA fields read back as a run without an EMA (ema=False):
    they load into such a trainer and into the zoo (raw G); the new default (ema=True) is another run."""
    from ggan_lib.experiments.zoo import load_generator
    from ggan_lib.io import checkpoint as ckpt
    tr = make(kind, ema=False)
    tr.train(2)
    state = tr.state_dict()
    state.pop("ema_G")
    tcfg = json.loads(state["train_cfg"])
    for f in EMA_FIELDS:
        del tcfg[f]
    state["train_cfg"] = json.dumps(tcfg)
    path = ckpt.save_checkpoint(tmp_path / f"{tr.kind}.pt", state)
    assert bt.BaselineConfig.from_dict(tcfg).ema is False
    again = make(kind, ema=False)
    again.load(path)
    assert again.iteration == 2 and again.ema_G is None
    assert all(torch.equal(a, b) for a, b in zip(params(again.nets["G"]), params(tr.nets["G"])))
    with pytest.raises(CheckpointMismatchError, match="ema: checkpoint=False current=True"):
        make(kind).load(path)
    pm = load_generator(path, "tiny", tr.kind)
    assert not pm.g_is_ema and all(torch.equal(a, b) for a, b in zip(params(pm.model), params(tr.nets["G"])))
    assert torch.isfinite(pm.sample(4)).all()


def test_encoder_and_classifier_checkpoints_ignore_the_ema_fields(tmp_path):
    from ggan_lib.io import checkpoint as ckpt
    tr = make("cnn")
    tr.train(1)
    state = tr.state_dict()
    tcfg = json.loads(state["train_cfg"])
    for f in EMA_FIELDS:
        del tcfg[f]  # a CNN checkpoint written before the BigGANs' EMA
    state["train_cfg"] = json.dumps(tcfg)
    other = make("cnn")
    other.load(ckpt.save_checkpoint(tmp_path / "cnn.pt", state))
    assert other.iteration == 1


@pytest.mark.parametrize("kind", GANS)
def test_sample_uses_the_ema_with_standing_stats_by_default(kind):
    import copy

    from ggan_lib.model.latent import fixed_codes
    from ggan_lib.train.ema import standing_bn_stats
    tr = make(kind, ema_standing_batches=3)
    tr.train(2)
    G_before = snapshot(tr)
    z, c = fixed_codes(MCFG, 5, 7)
    ema = copy.deepcopy(tr.ema_G)
    fwd = (lambda z_, c_: ema(z_, c_)) if kind == "supervised" else (lambda z_, c_: ema(z_))
    standing_bn_stats(ema, fwd, MCFG, 3)
    with torch.no_grad():
        want = fwd(z, c)
    got = tr.sample(5, seed=7)
    assert torch.allclose(got, want, atol=1e-6)
    tr.eval_mode()
    with torch.no_grad():
        raw = tr.nets["G"](z, c) if kind == "supervised" else tr.nets["G"](z)
    assert torch.allclose(tr.sample(5, seed=7, use_ema=False), raw, atol=1e-6)
    assert not torch.allclose(got, raw, atol=1e-4)
    assert not changed(G_before, tr)  # sampling changed neither G nor D (buffers included)


def test_the_pipeline_records_where_each_stage_began_and_retrains_a_stale_encoder(tmp_path):
    """train_unsupervised_baseline(resumed=...) receives each stage's starting iteration (what result.json
    records); after the GAN has trained on, the encoder of the old G is not resumed but trained afresh."""
    X, _ = data()
    first = {}
    bt.train_unsupervised_baseline(MCFG, cfg(), X, gan_iters=2, enc_iters=2, out_dir=tmp_path, resumed=first)
    assert first == {"gan": 0, "encoder": 0}
    again = {}
    bt.train_unsupervised_baseline(MCFG, cfg(), X, gan_iters=2, enc_iters=3, out_dir=tmp_path, resumed=again)
    assert again == {"gan": 2, "encoder": 2}  # both finished stages continued, not redone
    longer = {}
    G, _ = bt.train_unsupervised_baseline(MCFG, cfg(), X, gan_iters=3, enc_iters=3, out_dir=tmp_path, resumed=longer)
    assert longer == {"gan": 2, "encoder": 0}  # the 3-iteration encoder was trained against the 2-iteration G
    enc = torch.load(tmp_path / "encoder" / "ali_encoder.pt", weights_only=False)["nets"]["G"]
    assert all(torch.equal(enc[k], v) for k, v in G.state_dict().items())  # its frozen G is the GAN's latest
