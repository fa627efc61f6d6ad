"""The EMA generator: its decay schedule, old checkpoints read back as they were, standing BN statistics."""
import copy
import json

import pytest
import torch

from ggan_lib.config import BaselineConfig, ModelConfig, TrainConfig
from ggan_lib.config.training import STANDING_BATCHES
from ggan_lib.data import synthetic_data
from ggan_lib.experiments.zoo import Pretrained
from ggan_lib.io import checkpoint as ckpt
from ggan_lib.model.baselines import ConditionalGenerator, UnconditionalGenerator
from ggan_lib.model.latent import fixed_codes
from ggan_lib.model.networks import GGAN
from ggan_lib.train import ema as ema_mod
from ggan_lib.train.ema import ema_decay_at, standing_bn_stats, update_ema
from ggan_lib.train.ggan import Trainer


def test_decay_schedule():
    assert ema_decay_at(5, 0.999, warmup=0) == 0.999                    # constant (runs before the warm-up)
    assert ema_decay_at(3, 0.999, warmup=0, start=10) == 0.0            # before ema_start: copy G
    assert ema_decay_at(0, 0.999, warmup=10) == pytest.approx(0.1)      # (1 + 0) / (10 + 0)
    assert ema_decay_at(990, 0.999, warmup=10) == pytest.approx(991 / 1000)
    assert ema_decay_at(10**6, 0.999, warmup=10) == 0.999
    assert ema_decay_at(12, 0.999, warmup=10, start=10) == pytest.approx(3 / 12)  # counted from ema_start


def test_the_random_start_leaves_the_average():
    """A weight that is 0 at init and 1 from step 0 on: what the EMA holds after 1,000 steps."""
    def run(warmup):
        ema, net = torch.nn.Linear(1, 1, bias=False), torch.nn.Linear(1, 1, bias=False)
        ema.weight.data.zero_()
        net.weight.data.fill_(1.0)
        for t in range(1000):
            update_ema(ema, net, ema_decay_at(t, 0.999, warmup))
        return float(ema.weight.detach())
    assert run(0) == pytest.approx(1 - 0.999 ** 1000, rel=1e-4)  # 0.632: 37 % of the random init left
    assert run(10) > 0.999


def _trainer(**over):
    mcfg = ModelConfig.preset("tiny")
    X, Xl, yl = synthetic_data(mcfg)
    return Trainer(mcfg, TrainConfig.preset("tiny", progress=False, tensorboard=False, **over), X, Xl, yl)


def test_a_checkpoint_without_the_field_reads_back_as_the_old_constant_decay(tmp_path):
    tr = _trainer(ema_warmup=0)
    tr.train(2)
    state = tr.state_dict()
    cfg = json.loads(state["train_cfg"])
    del cfg["ema_warmup"]                        # what files written before the field hold
    state["train_cfg"] = json.dumps(cfg)
    path = ckpt.save_checkpoint(tmp_path / "old.pt", state)
    assert TrainConfig.from_dict(cfg).ema_warmup == 0
    again = _trainer(ema_warmup=0)
    again.load(path)                             # same run: accepted
    assert again.iteration == 2
    with pytest.raises(ckpt.CheckpointMismatchError, match="ema_warmup"):
        _trainer().load(path)                    # the new default is another run


def test_ema_follows_g_early_with_the_warmup():
    def gap(warmup):
        tr = _trainer(ema_decay=0.999, ema_warmup=warmup)
        tr.train(5)
        g = torch.cat([p.flatten() for p in tr.nets["G"].parameters()])
        return float((torch.cat([p.flatten() for p in tr.ema_G.parameters()]) - g).norm())
    # constant 0.999: after 5 steps the EMA is still 99.5 % the random init; with the warm-up it tracks G
    assert gap(10) < 0.5 * gap(0)


def test_standing_stats_are_the_batch_statistics_of_the_ema_itself():
    torch.manual_seed(0)
    mcfg = ModelConfig.preset("tiny")
    model = GGAN(mcfg)
    G, E = model.G, model.E
    bn = next(m for m in G.modules() if isinstance(m, torch.nn.BatchNorm2d))
    bn.running_mean.fill_(5.0)
    seen = []
    hook = bn.register_forward_pre_hook(lambda mod, inp: seen.append(inp[0].detach().clone()))
    sn_before = {k: v.clone() for k, v in G.state_dict().items() if "running" not in k and "num_batches" not in k}
    standing_bn_stats(G, lambda z, c: G(E(z, c)), mcfg, n_batches=2, batch_size=32, seed=3)
    hook.remove()
    assert len(seen) == 2  # the plain average of the batches' statistics (momentum None while it runs)
    means = torch.stack([s.mean(dim=(0, 2, 3)) for s in seen]).mean(0)
    assert torch.allclose(bn.running_mean, means, atol=1e-6)
    assert not G.training and not bn.training and bn.momentum == 0.1
    after = G.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in sn_before.items())  # weights and SN vectors untouched


def _gens(mcfg):
    """Every generator kind with the forward of its codes (GGAN G(E(z, c)), supervised G(z, c), unsupervised G(z))."""
    model = GGAN(mcfg)
    sup, unsup = ConditionalGenerator(cfg=mcfg), UnconditionalGenerator(cfg=mcfg)
    return [("ggan", model.G, lambda z, c: model.G(model.E(z, c)), model),
            ("supervised", sup, sup, sup), ("unsupervised", unsup, lambda z, c: unsup(z), unsup)]


@pytest.mark.parametrize("which", [0, 1, 2])
def test_standing_stats_change_bn_running_stats_and_nothing_else(which):
    """One function for the three generators: only BN running statistics move; weights, SN vectors, the
    other networks, the modes of other modules and the global random stream stay as they were."""
    torch.manual_seed(0)
    name, G, forward, whole = _gens(ModelConfig.preset("tiny"))[which]
    whole.eval()
    before = {k: v.clone() for k, v in whole.state_dict().items()}
    rng = torch.get_rng_state()
    standing_bn_stats(G, forward, ModelConfig.preset("tiny"), n_batches=2, batch_size=16)
    after = whole.state_dict()
    moved = {k for k, v in before.items() if not torch.equal(v, after[k])}
    bn_keys = {k for k in before if k.endswith(("running_mean", "running_var", "num_batches_tracked"))}
    assert moved and moved <= bn_keys, (name, sorted(moved - bn_keys)[:5])
    assert {k for k in moved if k.endswith("running_mean")}  # the statistics themselves, not only the counter
    assert torch.equal(torch.get_rng_state(), rng)
    assert not any(m.training for m in whole.modules())


def test_standing_stats_draw_the_same_codes_on_every_call():
    mcfg = ModelConfig.preset("tiny")
    _, G, forward, _ = _gens(mcfg)[1]
    standing_bn_stats(G, forward, mcfg, n_batches=2, batch_size=8, seed=4)
    first = {k: v.clone() for k, v in G.state_dict().items()}
    torch.manual_seed(123)  # another global stream: the codes come from their own generator
    standing_bn_stats(G, forward, mcfg, n_batches=2, batch_size=8, seed=4)
    assert all(torch.equal(v, G.state_dict()[k]) for k, v in first.items())


def test_standing_stats_are_on_by_default_for_every_model():
    assert TrainConfig().ema_standing_batches == BaselineConfig().ema_standing_batches == STANDING_BATCHES == 16
    assert Pretrained(torch.nn.Linear(1, 1), ModelConfig.preset("tiny")).standing_batches == STANDING_BATCHES


def test_sample_uses_the_ema_with_its_standing_stats():
    tr = _trainer()
    tr.train(2)
    G_state = {k: v.clone() for k, v in tr.model.state_dict().items()}
    ema = copy.deepcopy(tr.ema_G)
    E = tr.nets["E"]
    standing_bn_stats(ema, lambda z, c: ema(E(z, c)), tr.mcfg, tr.cfg.ema_standing_batches)
    z, c = fixed_codes(tr.mcfg, 6, 2)
    with torch.no_grad():
        want = ema(E(z, c))
    got = tr.sample(6, seed=2)
    assert torch.allclose(got, want, atol=1e-6)
    assert not torch.allclose(got, tr.sample(6, seed=2, use_ema=False), atol=1e-4)
    assert all(torch.equal(v, tr.model.state_dict()[k]) for k, v in G_state.items())  # the networks untouched


def test_existing_ggan_checkpoints_still_load(tmp_path):
    """Files written with ema_standing_batches=0 (the old default) or without the field load into today's
    default trainer (a sampling-time field never blocks a load) and resume sampling as they ran."""
    tr = _trainer(ema_standing_batches=0)
    tr.train(2)
    state = tr.state_dict()
    with_zero = ckpt.save_checkpoint(tmp_path / "zero.pt", state)
    cfg = json.loads(state["train_cfg"])
    del cfg["ema_standing_batches"]
    state["train_cfg"] = json.dumps(cfg)
    without = ckpt.save_checkpoint(tmp_path / "none.pt", state)
    for path in (with_zero, without):
        again = _trainer()
        assert again.cfg.ema_standing_batches == 16
        again.load(path)
        assert again.iteration == 2
        X, Xl, yl = synthetic_data(ModelConfig.preset("tiny"))
        assert Trainer.resume(path, X, Xl, yl).cfg.ema_standing_batches == 0  # as the run sampled


def test_sample_with_standing_stats_leaves_training_bit_identical():
    a, b = _trainer(ema_standing_batches=2), _trainer(ema_standing_batches=2)
    a.train(2)
    b.train(2)
    a.sample(4)                                  # re-estimates a's EMA BN statistics
    a.train(2)
    b.train(2)
    for (k, va), vb in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(va, vb), k


def test_standing_stats_once_per_iteration(monkeypatch):
    calls = []
    real = ema_mod.standing_bn_stats
    monkeypatch.setattr(ema_mod, "standing_bn_stats", lambda *a, **k: (calls.append(1), real(*a, **k)))
    tr = _trainer(ema_standing_batches=2)
    tr.train(1)
    first = tr.sample(4, seed=1)
    assert torch.equal(tr.sample(4, seed=1), first) and len(calls) == 1  # the monitor samples batch by batch
    tr.train(1)
    tr.sample(4)
    assert len(calls) == 2
