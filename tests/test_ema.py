"""The EMA generator: its decay schedule, old checkpoints read back as they were, standing BN statistics."""
import json

import pytest
import torch

from ggan_lib.config import ModelConfig, TrainConfig
from ggan_lib.data import synthetic_data
from ggan_lib.io import checkpoint as ckpt
from ggan_lib.model.networks import GGAN
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
    standing_bn_stats(G, E, mcfg, n_batches=1, batch_size=32, seed=3)
    hook.remove()
    assert torch.allclose(bn.running_mean, seen[0].mean(dim=(0, 2, 3)), atol=1e-6)
    assert not G.training and not bn.training and bn.momentum == 0.1
    after = G.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in sn_before.items())  # weights and SN vectors untouched


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
    import ggan_lib.train.ggan as ggan_mod
    calls = []
    real = ggan_mod.standing_bn_stats
    monkeypatch.setattr(ggan_mod, "standing_bn_stats", lambda *a, **k: (calls.append(1), real(*a, **k)))
    tr = _trainer(ema_standing_batches=2)
    tr.train(1)
    first = tr.sample(4, seed=1)
    assert torch.equal(tr.sample(4, seed=1), first) and len(calls) == 1  # the monitor samples batch by batch
    tr.train(1)
    tr.sample(4)
    assert len(calls) == 2
