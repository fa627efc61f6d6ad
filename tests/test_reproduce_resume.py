"""A Table II GGAN run stopped part-way continues from its checkpoint exactly (reproduce.ggan_trainer_for_run)."""
import pytest
import torch

from ggan_lib.config import ModelConfig
from ggan_lib.experiments import reproduce as rp
from ggan_lib.io.checkpoint import CheckpointMismatchError

MCFG = ModelConfig.preset("tiny")
RUN = {"preset": "tiny", "data": "fsdd:test=george", "fraction": 0.05, "draw": 1, "seed": 0}
QUIET = {"progress": False}


def data(n=24, nl=8):
    g = torch.Generator().manual_seed(0)
    X = torch.rand(n, 1, *MCFG.spec_shape, generator=g) * 2 - 1
    return X, X[:nl], torch.arange(nl) % MCFG.n_classes


def trainer(out, iters, run=RUN, every=2):
    return rp.ggan_trainer_for_run(out, iters, run, *data(), ckpt_every=every, **QUIET)


def test_stopped_run_continues_bit_exact(tmp_path):
    straight = trainer(tmp_path / "straight", 4, every=0)
    straight.train(4)
    first = trainer(tmp_path / "run", 4)
    first.train(3)  # "killed" after iteration 3: the last checkpoint is iteration 2's
    first.close()
    again = trainer(tmp_path / "run", 4)
    assert again.iteration == 2 and again.cfg.seed == straight.cfg.seed
    again.train(4 - again.iteration)
    a, b = straight.model.state_dict(), again.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    ea, eb = straight.ema_G.state_dict(), again.ema_G.state_dict()
    assert all(torch.equal(ea[k], eb[k]) for k in ea)


def test_checkpoint_of_other_labels_is_refused(tmp_path):
    first = trainer(tmp_path, 4)
    first.train(2)
    first.close()
    with pytest.raises(CheckpointMismatchError, match="draw"):
        trainer(tmp_path, 4, run={**RUN, "draw": 2})


def test_checkpoint_of_a_longer_run_starts_over(tmp_path):
    first = trainer(tmp_path, 4)
    first.train(4)
    first.close()
    with pytest.warns(UserWarning, match="starts over"):
        assert trainer(tmp_path, 2).iteration == 0
