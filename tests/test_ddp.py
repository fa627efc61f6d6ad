"""Data-parallel Algorithm 1 on 2 CPU processes (gloo): ranks see different data, yet stay identical."""
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ggan_lib.config import ModelConfig
from ggan_lib.train.ggan import TrainConfig, Trainer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        mcfg = ModelConfig.preset("tiny")
        g = torch.Generator().manual_seed(0)
        X = torch.rand(24, 1, *mcfg.spec_shape, generator=g) * 2 - 1
        tr = Trainer(mcfg, TrainConfig.preset("tiny", progress=False), X, X[:8], torch.arange(8) % 10)
        before = {k: v.clone() for k, v in tr.model.state_dict().items()}
        logs = tr.step()
        nxt = tr.sample_batch()
        torch.save({"before": before, "after": tr.model.state_dict(), "logs": logs, "m": tr.m, "z": nxt.z},
                   f"{out}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed not built")
def test_two_ranks_stay_identical(tmp_path):
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert r0["m"] == r1["m"] == 2                       # global batch 4 split over 2 ranks
    assert not torch.equal(r0["z"], r1["z"])             # each rank draws its own noise and data
    assert r0["logs"]["d1"] == r1["logs"]["d1"]          # logged losses are means over the ranks
    for k in r0["after"]:                                # parameters and buffers (BN stats, SN vectors)
        assert torch.equal(r0["after"][k], r1["after"][k]), k
        assert torch.equal(r0["before"][k], r1["before"][k]), k
    moved = [k for k in r0["after"] if not torch.equal(r0["before"][k], r0["after"][k])]
    assert len(moved) > len(r0["after"]) // 2
