"""Issue 16, runs and checkpoints under faults: overwrite refused (1), resume checks the data (5), a restarted
run's log holds each iteration once (6), checkpoints checksummed and a NaN stop names a good one (7)."""
from __future__ import annotations

import json
import math

import pytest
import torch

from ggan_lib.cli.train import main as train_main
from ggan_lib.config import ModelConfig, TrainConfig
from ggan_lib.data.sources import synthetic_data
from ggan_lib.io import checkpoint as ckpt
from ggan_lib.io.logs import MetricLogger, read_log
from ggan_lib.train.engine import NonFiniteLossError
from ggan_lib.train.ggan import Trainer

MCFG = ModelConfig.preset("tiny")
TINY = ["--preset", "tiny", "--data", "synthetic", "--progress", "false", "--tensorboard", "false"]


def run_cli(out, *args) -> int:
    return train_main([*TINY, "--out", str(out), *args])


def make(out=None, data_cfg=None, **kw) -> Trainer:
    cfg = TrainConfig.preset("tiny", progress=False, tensorboard=False, **kw)
    return Trainer(MCFG, cfg, *synthetic_data(MCFG), out_dir=out, data_cfg=data_cfg)


# --------------------------------------------------------------------------- 1: a run is never overwritten
def test_fresh_run_into_a_run_folder_is_refused(tmp_path):
    out = tmp_path / "X"
    assert run_cli(out, "--iters", "4") == 0
    with pytest.raises(SystemExit, match="already holds a run.*--resume auto.*--overwrite"):
        run_cli(out, "--iters", "2")
    assert ckpt.load_checkpoint(out / "checkpoint.pt")["iteration"] == 4  # untouched
    assert read_log(out / "log.jsonl")["iter"] == [1, 2, 3, 4]


def test_overwrite_moves_the_old_run_aside(tmp_path):
    out = tmp_path / "X"
    assert run_cli(out, "--iters", "4") == 0
    assert run_cli(out, "--iters", "2", "--overwrite") == 0
    assert ckpt.load_checkpoint(out / "checkpoint.pt")["iteration"] == 2
    assert read_log(out / "log.jsonl")["iter"] == [1, 2]
    (old,) = tmp_path.glob("X.old-*")
    assert ckpt.load_checkpoint(old / "checkpoint.pt")["iteration"] == 4
    assert read_log(old / "log.jsonl")["iter"] == [1, 2, 3, 4]


# --------------------------------------------------------------------------- 5: resume checks the data
@pytest.mark.parametrize("change", [["--label-fraction", "0.5"], ["--label-seed", "3"], ["--data", "synthetic"]])
def test_resume_refuses_other_data_or_label_settings(tmp_path, fsdd_subset, monkeypatch, change):
    monkeypatch.setenv("GGAN_CACHE_DIR", str(tmp_path / "cache"))
    out, fsdd = tmp_path / "X", ["--fsdd-dir", str(fsdd_subset), "--label-fraction", "0.2", "--label-seed", "1"]
    base = ["--preset", "tiny", "--progress", "false", "--tensorboard", "false", "--out", str(out), "--iters", "1"]
    assert train_main([*base, "--data", "fsdd", *fsdd]) == 0
    saved = json.loads(ckpt.load_checkpoint(out / "checkpoint.pt")["data_cfg"])
    assert saved["label_fraction"] == 0.2 and saved["label_seed"] == 1 and saved["fsdd_dir"] == str(fsdd_subset)
    assert train_main([*base, "--data", "fsdd", *fsdd, "--resume", "auto"]) == 0  # same settings: fine
    with pytest.raises(SystemExit, match="cannot resume.*data / label settings"):
        train_main([*base, "--data", "fsdd", *fsdd, *change, "--resume", "auto"])
    assert ckpt.load_checkpoint(out / "checkpoint.pt")["iteration"] == 2


def test_resume_refuses_another_folder(tmp_path):
    tr = make(data_cfg={"data": "fsdd", "fsdd_dir": "/a"})
    tr.save(tmp_path / "ck.pt")
    with pytest.raises(ckpt.CheckpointMismatchError, match=r"fsdd_dir: checkpoint='/a' current='/b'"):
        Trainer.resume(tmp_path / "ck.pt", *synthetic_data(MCFG), data_cfg={"data": "fsdd", "fsdd_dir": "/b"})


# --------------------------------------------------------------------------- 6: one row per iteration
def test_restart_without_checkpoint_starts_a_clean_log(tmp_path):
    """A run killed before its first checkpoint, restarted with --resume auto: only the new rows remain."""
    out = tmp_path / "X"
    out.mkdir()
    with open(out / "log.jsonl", "w") as f:  # the killed attempt's 7 rows and a torn last line
        f.writelines(json.dumps({"iter": i, "d1": 9.0}) + "\n" for i in range(1, 8))
        f.write('{"iter": 8, "d1"')
    assert run_cli(out, "--iters", "5", "--resume", "auto") == 0
    log = read_log(out / "log.jsonl")
    assert log["iter"] == [1, 2, 3, 4, 5] and 9.0 not in log["d1"]
    assert len((out / "log.jsonl").read_text().splitlines()) == 5


def test_resume_cuts_the_log_and_read_log_gives_each_iteration_once(tmp_path):
    tr = make(tmp_path)
    tr.train(3)
    tr.save()
    tr.train(4)  # killed here: the checkpoint holds iteration 3, the log 7 rows
    tr.close()
    back = Trainer.resume(tmp_path / "checkpoint.pt", *synthetic_data(MCFG), out_dir=tmp_path)
    back.train(4)
    back.close()
    assert read_log(tmp_path / "log.jsonl")["iter"] == list(range(1, 8))
    assert len((tmp_path / "log.jsonl").read_text().splitlines()) == 7


def test_read_log_merges_rows_of_one_iteration(tmp_path):
    log = MetricLogger(tmp_path / "log.jsonl", tensorboard=False)
    log.log(1, {"d1": 1.0})
    log.log(2, {"d1": 2.0})
    log.log(2, {"eval/fid": 5.0})
    assert read_log(tmp_path / "log.jsonl") == {"iter": [1, 2], "d1": [1.0, 2.0], "eval/fid": [None, 5.0]}


def test_tensorboard_of_a_fresh_restart_holds_one_event_file(tmp_path):
    pytest.importorskip("torch.utils.tensorboard")
    for _ in range(2):
        log = MetricLogger(tmp_path / "log.jsonl", tensorboard=True)
        if log._want_tb:
            log.log(1, {"d1": 1.0})
            log.close()
    assert len(list((tmp_path / "tb").glob("events.out.tfevents.*"))) == 1


# --------------------------------------------------------------------------- 7: checksummed checkpoints
def _damage(path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "zeroed":  # eight zero bytes inside a tensor's storage (past the zip headers)
        i = data.index(b"data/0") + 200
        data[i:i + 8] = bytes(8)
    elif how == "truncated":
        data = data[: len(data) // 2]
    else:
        data = bytearray()
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["zeroed", "truncated", "empty"])
def test_damaged_checkpoint_names_the_file_and_the_last_good_one(tmp_path, how):
    tr = make(tmp_path)
    tr.train(2)
    tr.save()
    tr.train(1)
    path = tr.save()
    tr.close()
    _damage(path, how)
    with pytest.raises(ckpt.CheckpointCorruptError) as err:
        ckpt.load_checkpoint(path)
    msg = str(err.value)
    assert str(path) in msg and "damaged checkpoint" in msg and "weights_only" not in msg
    assert f"last good checkpoint beside it is {ckpt.previous_path(path)}" in msg
    assert ckpt.load_checkpoint(ckpt.previous_path(path))["iteration"] == 2


def test_checkpoint_without_checksum_still_loads(tmp_path):
    tr = make()
    tr.train(1)
    state = {"format": ckpt.FORMAT, **tr.state_dict()}
    torch.save(state, tmp_path / "old.pt")  # as written before checksums
    back = make()
    back.load(tmp_path / "old.pt")
    assert back.iteration == 1
    assert "checksum" in torch.load(tr.save(tmp_path / "new.pt"), weights_only=True)


def test_nan_stop_keeps_the_checkpoint_before_the_diverging_step(tmp_path):
    tr = make(tmp_path, ckpt_every=2)
    tr.train(4)  # checkpoints at 2 and 4
    with torch.no_grad():  # the step that led to iteration 4 "diverged": its next loss is NaN
        for p in tr.nets["G"].parameters():
            p.fill_(math.nan)
    with pytest.raises(NonFiniteLossError) as err:
        tr.step()
    tr.close()
    msg = str(err.value)
    assert f"last good checkpoint: {tmp_path / 'checkpoint.pt'}" in msg and "checkpoint.diverged.pt" in msg
    assert ckpt.load_checkpoint(tmp_path / "checkpoint.pt")["iteration"] == 2
    assert ckpt.load_checkpoint(tmp_path / "checkpoint.diverged.pt")["iteration"] == 4
