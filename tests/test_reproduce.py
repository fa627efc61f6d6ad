"""The papermill runner end to end on `tiny`: Tables I and II from a synthetic digit folder, resume, failures."""
from __future__ import annotations

import json
import math
import os
import socket

import nbformat
import numpy as np
import pandas as pd
import pytest
import torch
from conftest import write_tone  # tests/ is on sys.path (rootdir conftest)

from ggan_lib.cli import reproduce as cli
from ggan_lib.experiments import reproduce as rp
from ggan_lib.experiments.reproduce import results, runner
from ggan_lib.io.checkpoint import CheckpointMismatchError

pytestmark = pytest.mark.slow  # ~1-2 minutes: every notebook really runs in a kernel

FRACTION = 0.05
COMMON = ["--preset", "tiny", "--fractions", str(FRACTION), "--draws", "2", "--threads", "1", "--no-progress"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A 10-digit x 2-speaker tone folder (takes 0, 1 test; 5, 6 train) and a private spectrogram cache."""
    root = tmp_path_factory.mktemp("reproduce")
    digits = root / "digits"
    for d in range(10):
        for s, speaker in enumerate(("alice", "bob")):
            for take in (0, 1, 5, 6):
                write_tone(digits / f"{d}_{speaker}_{take}.wav", 200 + 60 * d + 7 * s + take)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GGAN_CACHE_DIR", str(root / "cache"))  # kernels inherit it: never the repo's .cache
        yield {"root": root, "digits": digits, "out": root / "out"}


def _argv(env, table: int, *extra: str) -> list[str]:
    return ["--table", str(table), "--data", str(env["digits"]), "--out", str(env["out"]), *COMMON, *extra]


@pytest.fixture(scope="module")
def tables(env):
    """Table II then Table I (which reuses Table II's unsupervised and 5 % draw-0 GGAN runs)."""
    assert cli.main(_argv(env, 2)) == 0
    assert cli.main(_argv(env, 1)) == 0
    return env["out"]


def _counting_execute(monkeypatch) -> list[str]:
    """Replace runner.execute by a wrapper that records which runs really execute."""
    calls, real = [], runner.execute

    def wrapped(run, out, **kw):
        calls.append(run.name)
        return real(run, out, **kw)
    monkeypatch.setattr(runner, "execute", wrapped)
    return calls


def _code(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"]


def test_notebooks_declare_exactly_the_runner_parameters():
    """Every notebook's `parameters` cell holds NOTEBOOK_PARAMS, and the .ipynb matches its jupytext source."""
    import jupytext
    import papermill as pm
    for name, params in rp.NOTEBOOK_PARAMS.items():
        ipynb = rp.NOTEBOOKS_DIR / f"{name}.ipynb"
        assert tuple(pm.inspect_notebook(str(ipynb))) == params, name
        src = jupytext.read(rp.NOTEBOOKS_DIR / f"{name}.py")
        assert _code(src) == _code(nbformat.read(ipynb, 4)), f"{name}.ipynb is stale: rerun jupytext --to ipynb"


def test_plan_and_paper_figures(env):
    """Table II plans CNN / 100 % CNN / unsupervised / GGAN per draw; Table I shares two of them; paper data."""
    o = cli.options(cli.parse_args(_argv(env, 2)))
    t2, t1 = rp.plan(2, o), rp.plan(1, o)
    assert [r.name for r in t2] == ["cnn_f5", "cnn_f100", "unsupervised", "ggan_f5_d0", "ggan_f5_d1"]
    shared = {r.name: r.params for r in t1}
    assert shared["unsupervised"] == t2[2].params and shared["ggan_f5_d0"] == t2[3].params
    assert rp.PAPER_TABLE1["GGAN"] == (7.24, 0.05, 25.75, 0.1)
    assert rp.PAPER_TABLE2[0.05]["GGAN"] == (92, 0.87) and rp.PAPER_TABLE2[1.0]["CNN"][0] == 96.2
    with pytest.raises(ValueError, match="iters"):
        rp.Run("x", "train_ggan", {**t2[3].params, "iters": 1, "typo": 2})


def test_table2_end_to_end(tables):
    """table2.csv / .md: one row per fraction + 100 %, ours beside the paper's, n = draws."""
    df = pd.read_csv(tables / "table2.csv")
    assert df["fraction"].tolist() == [FRACTION, 1.0]
    for meth in rp.TABLE2_METHODS:
        for col in ("mean", "std", "n", "paper mean", "paper std"):
            assert f"{meth} {col}" in df.columns
    first = df.iloc[0]
    assert first["CNN n"] == first["Unsupervised GAN n"] == first["GGAN n"] == 2
    assert 0 <= first["GGAN mean"] <= 100 and first["GGAN paper mean"] == 92
    assert df.iloc[1]["CNN n"] == 1 and df.iloc[1]["CNN paper mean"] == 96.2
    md = (tables / "table2.md").read_text()
    assert "GGAN (paper, SC09)" in md and "92.00 ± 0.87" in md and "100 %" in md
    res = json.loads((tables / "runs" / "ggan_f5_d1" / "result.json").read_text())
    assert res["params"]["draw"] == 1 and (tables / "runs" / "ggan_f5_d1" / "checkpoint.pt").exists()
    assert (tables / "runs" / "ggan_f5_d1" / "train_ggan.ipynb").exists()  # executed copy beside the result


def test_table1_end_to_end(tables):
    """table1.csv / .md: every model of the paper's Table I, ours measured where we train it."""
    df = pd.read_csv(tables / "table1.csv").set_index("model")
    assert list(df.index) == list(rp.PAPER_TABLE1)
    assert {"is_mean", "is_std", "fid", "paper_is_mean", "paper_is_std", "paper_fid_mean"} <= set(df.columns)
    for model in ("Real (Train Data)", "Real (Test Data)", "Supervised BigGAN", "Unsupervised BigGAN", "GGAN"):
        assert math.isfinite(df.loc[model, "is_mean"]), model
    for model in ("Supervised BigGAN", "Unsupervised BigGAN", "GGAN"):
        assert math.isfinite(df.loc[model, "fid"]), model
    assert math.isnan(df.loc["TiFGAN", "is_mean"]) and df.loc["TiFGAN", "paper_is_mean"] == 5.97
    assert "7.24 ± 0.05" in (tables / "table1.md").read_text()
    man = json.loads((tables / "manifest.json").read_text())["tables"]
    assert set(man) == {"1", "2"}
    one = man["1"]
    assert one["git_commit"] and one["machine"] and one["date"] and "--table 1" in one["command"]
    status = {r["name"]: r["status"] for r in one["runs"]}
    assert status["unsupervised"] == status["ggan_f5_d0"] == "skipped"  # shared with Table II
    assert status["eval_ggan_f5_d0"] == "done"
    assert all(r["wall_s"] > 0 for r in one["runs"])  # skipped runs keep the wall time of the run that did it


def test_second_invocation_redoes_nothing(tables, env, monkeypatch):
    """Both tables again: no notebook executes, no result.json changes."""
    stamps = {p: p.stat().st_mtime_ns for p in tables.glob("runs/*/result.json")}
    calls = _counting_execute(monkeypatch)
    assert cli.main(_argv(env, 2)) == 0 and cli.main(_argv(env, 1)) == 0
    assert calls == []
    assert {p: p.stat().st_mtime_ns for p in tables.glob("runs/*/result.json")} == stamps


def test_killed_run_resumes_only_what_is_missing(tables, env, monkeypatch):
    """A run killed before its result.json (or one with other parameters) is redone; the others are not. A GGAN
    run continues from its checkpoint (here the last iteration's), to the same accuracy."""
    before = results.read_result(tables / "runs" / "ggan_f5_d1")
    assert before["resumed_from"] == 0 and before["params"]["ckpt_every"] == 1
    unsup = results.read_result(tables / "runs" / "unsupervised")  # a baseline records it per stage
    assert unsup["resumed_from"] == {"gan": 0, "encoder": 0} and results.resumed_from(unsup) == "gan 0, encoder 0"
    (tables / "runs" / "ggan_f5_d1" / "result.json").unlink()  # as if killed mid-notebook
    calls = _counting_execute(monkeypatch)
    assert cli.main(_argv(env, 2)) == 0
    assert calls == ["ggan_f5_d1"]
    after = results.read_result(tables / "runs" / "ggan_f5_d1")
    assert after["resumed_from"] == after["metrics"]["iteration"] == 2
    assert after["metrics"]["accuracy"] == before["metrics"]["accuracy"]
    calls.clear()
    assert cli.main(_argv(env, 2, "--iters", "cnn=4")) == 0  # only the CNN runs use cnn iterations
    assert calls == ["cnn_f5", "cnn_f100"]


def test_failing_notebook_reports_notebook_and_cell(env, tmp_path, capsys):
    """A missing data folder: exit 1, the notebook path, cell index and source, the error; the batch stops."""
    argv = ["--table", "2", "--data", str(tmp_path / "no_such_folder"), "--out", str(tmp_path / "out"), *COMMON]
    assert cli.main(argv) == 1
    err = capsys.readouterr()
    text = err.out + err.err
    assert "train_baseline.ipynb failed in cell" in text and "DatasetNotFoundError" in text
    assert "rp.load_spectrograms" in text  # the failing cell's source head
    runs = json.loads((tmp_path / "out" / "manifest.json").read_text())["tables"]["2"]["runs"]
    assert [r["status"] for r in runs] == ["failed"]  # stopped without --keep-going
    assert not (tmp_path / "out" / "runs" / "cnn_f5" / "result.json").exists()


def test_keep_going_blocks_dependants(env, tmp_path):
    """With --keep-going a failed run's evaluations are blocked, not run."""
    clf = tmp_path / "missing_classifier.pt"
    o = cli.options(cli.parse_args(["--table", "1", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "o"),
                                  "--metric-classifier", str(clf), *COMMON]))
    runs = [r for r in rp.plan(1, o) if r.name in ("supervised", "eval_supervised")]
    recs = rp.run_all(runs, o.out, keep_going=True, progress=False, log=lambda *_: None)
    assert [r.status for r in recs] == ["failed", "blocked"]


def test_mismatched_checkpoint_names_both(tables, tmp_path):
    """The evaluate notebook with a tiny GGAN checkpoint but preset 'small': a clear error naming both."""
    ckpt = tables / "runs" / "ggan_f5_d0" / "checkpoint.pt"
    with pytest.raises(CheckpointMismatchError) as e:
        rp.load_generator(ckpt, "small", "ggan")
    msg = str(e.value)
    assert str(ckpt) in msg and "preset 'tiny'" in msg and "preset 'small'" in msg and "spec_shape" in msg
    with pytest.raises(CheckpointMismatchError, match="'ggan' checkpoint, but the evaluation expects 'supervised"):
        rp.load_generator(ckpt, "tiny", "supervised_biggan")
    with pytest.raises(FileNotFoundError, match="not found"):
        rp.load_generator(tmp_path / "nope.pt", "tiny")
    ev = rp.resolve_params(json.loads((tables / "runs" / "eval_ggan_f5_d0" / "result.json").read_text())["params"])
    run = rp.Run("eval_mismatch", "evaluate", {**ev, "preset": "small"})
    rec = rp.execute(run, tmp_path, progress=False)
    assert rec.status == "failed"
    assert "evaluate.ipynb failed in cell" in rec.error and "CheckpointMismatchError" in rec.error
    assert "preset 'tiny'" in rec.error and "preset 'small'" in rec.error


def test_nan_spectrograms_are_reported_not_scored():
    """A diverged generator's NaN spectrograms: counted, a note, NaN scores (the classifier is never called)."""
    specs = torch.zeros(12, 1, 16, 8)
    specs[3, 0, 2, 2] = float("nan")
    out = rp.score_generated(specs, None, classifier=None, preset="tiny", feature_kind="spatial_mean")
    assert out["n_nonfinite"] == 1 and "NaN" in out["note"]
    assert all(np.isnan(out[k]) for k in ("is", "is_std", "fid"))
    df = pd.DataFrame([out])  # the note reaches the table's note column
    assert df["note"][0].startswith("1/12")


def test_diverged_generator_end_to_end(tables, tmp_path):
    """evaluate on a GGAN whose G weights are NaN: the run finishes, every clip counted non-finite, no
    scores, and Table I shows the note instead of a number."""
    from ggan_lib.io.checkpoint import load_checkpoint, save_checkpoint
    state = load_checkpoint(tables / "runs" / "ggan_f5_d0" / "checkpoint.pt")
    for sd, prefix in ((state["nets"], "G."), (state["ema_G"], "")):
        for k, v in sd.items():
            if k.startswith(prefix) and v.is_floating_point():
                v.fill_(float("nan"))
    bad = save_checkpoint(tmp_path / "diverged.pt", state)
    ev = rp.resolve_params(json.loads((tables / "runs" / "eval_ggan_f5_d0" / "result.json").read_text())["params"])
    run = rp.Run("eval_ggan_f5_d0", "evaluate", {**ev, "checkpoint": str(bad)})
    assert rp.execute(run, tmp_path, progress=False).status == "done"
    gen = json.loads((tmp_path / "runs" / run.name / "result.json").read_text())["metrics"]["generated"]
    assert gen["n_nonfinite"] == gen["n_generated"] == ev["n_clips"] and math.isnan(gen["is"])
    row = rp.table1(tmp_path, [run]).set_index("model").loc["GGAN"]
    assert math.isnan(row["is_mean"]) and "NaN" in row["note"]


def _fake_execute(done: list):
    """An execute() that appends the run's name to `done` and writes its result (no notebook runs)."""
    def fake_execute(run, out, **_):
        done.append(run.name)
        rp.write_result(out / "runs" / run.name, run.notebook, run.params, {})
        return rp.RunRecord(run.name, run.notebook, "done")
    return fake_execute


def _hold(run_dir, pid: int) -> None:
    """Write run_dir's claim as held by process pid on this host (another runner on the run)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / rp.CLAIM).write_text(json.dumps({"pid": pid, "host": socket.gethostname()}))


def test_claims_share_runs_between_runners(tmp_path, monkeypatch):
    """A run claimed by a live runner is left to it; a stale claim (dead pid) is taken over."""
    import subprocess
    import sys
    o = cli.options(cli.parse_args(["--table", "2", "--out", str(tmp_path / "o"), *COMMON]))
    runs = rp.plan(2, o)[:2]
    done = []

    monkeypatch.setattr(runner, "execute", _fake_execute(done))
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        for run, pid in zip(runs, (live.pid, dead.pid)):
            d = o.out / "runs" / run.name
            d.mkdir(parents=True)
            (d / rp.CLAIM).write_text(json.dumps({"pid": pid, "host": socket.gethostname()}))
        recs = rp.run_all(runs, o.out, progress=False, log=lambda *_: None)
        assert [r.status for r in recs] == ["elsewhere", "done"]
        assert done == [runs[1].name]
        assert not (o.out / "runs" / runs[1].name / rp.CLAIM).exists()  # released after the run
        assert rp.claimed_elsewhere(o.out / "runs" / runs[0].name)
    finally:
        live.kill()
        live.wait()
    assert not rp.claimed_elsewhere(o.out / "runs" / runs[0].name)  # its runner died
    recs = rp.run_all(runs, o.out, progress=False, log=lambda *_: None)
    assert [r.status for r in recs] == ["done", "skipped"]


def test_a_run_left_to_a_runner_that_died_is_taken_up_after_the_pass(tmp_path, monkeypatch):
    """The holder of run 0's claim dies while this runner executes run 1: at the end of its pass this runner
    takes run 0 up, so the batch does not end with it undone."""
    import subprocess
    import sys
    o = cli.options(cli.parse_args(["--table", "2", "--out", str(tmp_path / "o"), *COMMON]))
    runs = rp.plan(2, o)[:2]
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    done = []

    def fake_execute(run, out, **_):
        done.append(run.name)
        if live.poll() is None:  # the other runner dies meanwhile
            live.kill()
            live.wait()
        rp.write_result(out / "runs" / run.name, run.notebook, run.params, {})
        return rp.RunRecord(run.name, run.notebook, "done")

    monkeypatch.setattr(runner, "execute", fake_execute)
    try:
        _hold(o.out / "runs" / runs[0].name, live.pid)
        recs = rp.run_all(runs, o.out, progress=False, log=lambda *_: None)
    finally:
        live.kill()
        live.wait()
    assert done == [runs[1].name, runs[0].name] and [r.status for r in recs] == ["done", "done"]


def test_a_run_blocked_by_a_need_whose_runner_died_runs_after_the_need_is_taken_up(tmp_path, monkeypatch):
    """Run 1 needs run 0, which another runner holds and dies on while this one waits: run 1 is blocked in the
    pass; at its end this runner takes run 0 up and then runs run 1 (whose need is now finished)."""
    import dataclasses
    import subprocess
    import sys
    import threading
    o = cli.options(cli.parse_args(["--table", "2", "--out", str(tmp_path / "o"), *COMMON]))
    first, second = rp.plan(2, o)[:2]
    runs = [first, dataclasses.replace(second, needs=(first.name,))]
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    done, lines = [], []

    monkeypatch.setattr(runner, "execute", _fake_execute(done))
    killer = threading.Timer(0.5, lambda: (live.kill(), live.wait()))  # it dies while run 1 waits for run 0
    try:
        _hold(o.out / "runs" / first.name, live.pid)
        killer.start()
        recs = rp.run_all(runs, o.out, keep_going=True, progress=False, log=lines.append, poll_s=0.05)
    finally:
        killer.cancel()
        live.kill()
        live.wait()
    assert any("blocked" in line for line in lines)  # the pass found run 0 unfinished
    assert done == [first.name, second.name] and [r.status for r in recs] == ["done", "done"]


def test_a_run_whose_need_was_left_unfinished_before_it_came_up_is_not_run_before_its_need(tmp_path, monkeypatch):
    """Run 0 is held by another runner, which dies while this one executes run 1 (independent); run 2 needs
    run 0. Run 2 is blocked in the pass, not executed without its need; after the pass this runner takes run 0
    up and then runs run 2."""
    import dataclasses
    import subprocess
    import sys
    o = cli.options(cli.parse_args(["--table", "2", "--out", str(tmp_path / "o"), *COMMON]))
    first, second, third = rp.plan(2, o)[:3]
    runs = [first, third, dataclasses.replace(second, needs=(first.name,))]
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    done, record = [], _fake_execute([])

    def fake_execute(run, out, **kw):
        done.append(run.name)
        if live.poll() is None:  # the holder of run 0 dies meanwhile
            live.kill()
            live.wait()
        return record(run, out, **kw)

    monkeypatch.setattr(runner, "execute", fake_execute)
    try:
        _hold(o.out / "runs" / first.name, live.pid)
        recs = rp.run_all(runs, o.out, keep_going=True, progress=False, log=lambda *_: None)
    finally:
        live.kill()
        live.wait()
    assert done == [third.name, first.name, second.name]
    assert [r.status for r in recs] == ["done", "done", "done"]


def test_a_run_whose_need_another_runner_holds_waits_behind_the_ready_runs(tmp_path, monkeypatch, capsys):
    """Run 1 needs run 0, which another runner is executing; run 2 needs nothing. This runner defers run 1,
    runs run 2 meanwhile, and runs run 1 once the other runner has finished run 0 (before, it idled on run 1's
    need first). The records stay in plan order."""
    import dataclasses
    import subprocess
    import sys
    import threading
    o = cli.options(cli.parse_args(["--table", "2", "--out", str(tmp_path / "o"), *COMMON]))
    first, second, third = rp.plan(2, o)[:3]
    runs = [first, dataclasses.replace(second, needs=(first.name,)), third]
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    done, lines = [], []

    def other_runner_finishes_first():
        rp.write_result(o.out / "runs" / first.name, first.notebook, first.params, {})
        (o.out / "runs" / first.name / rp.CLAIM).unlink()

    monkeypatch.setattr(runner, "execute", _fake_execute(done))
    finisher = threading.Timer(0.5, other_runner_finishes_first)
    try:
        _hold(o.out / "runs" / first.name, live.pid)
        finisher.start()
        recs = rp.run_all(runs, o.out, progress=False, log=lines.append, poll_s=0.05)
    finally:
        finisher.cancel()
        live.kill()
        live.wait()
    assert done == [third.name, second.name]
    assert [r.name for r in recs] == [first.name, second.name, third.name]
    assert [r.status for r in recs] == ["elsewhere", "done", "done"]
    assert any("deferred" in line for line in lines)
    assert cli._report(recs, runs, o.out) == 0 and "left to other runners" not in capsys.readouterr().out
    (o.out / "runs" / first.name / rp.RESULT).unlink()  # not finished: the report names it
    cli._report(recs, runs, o.out)
    assert f"left to other runners on {o.out} and not finished yet: {first.name};" in capsys.readouterr().out


def test_claim_is_exclusive(tmp_path):
    """Two claims on one folder: the second (another live process's) fails."""
    d = tmp_path / "run"
    assert rp.claim_run(d) and rp.claim_run(d)  # re-claim by the owner is fine
    info = json.loads((d / rp.CLAIM).read_text())
    info["pid"] = os.getppid()  # a live process that is not us
    (d / rp.CLAIM).write_text(json.dumps(info))
    assert not rp.claim_run(d)
    rp.release_run(d)
    assert rp.claim_run(d)


def test_portable_params_round_trip(tmp_path):
    """Paths inside the root become '<repo>/...' (nested too) and resolve back; other values are untouched."""
    root = tmp_path / "repo"
    params = {"checkpoint": str(root / "results" / "x" / "runs" / "g" / "checkpoint.pt"), "data": "fsdd",
              "root": str(root), "nested": {"files": [str(root / "models" / "c.pt"), 3]}, "iters": 2,
              "fractions": [0.01, 0.05], "flag": True, "none": None}
    port = rp.portable_params(params, root)
    assert port["checkpoint"] == "<repo>/results/x/runs/g/checkpoint.pt" and port["root"] == "<repo>"
    assert port["nested"] == {"files": ["<repo>/models/c.pt", 3]}
    assert {k: port[k] for k in ("data", "iters", "fractions", "flag", "none")} == \
        {k: params[k] for k in ("data", "iters", "fractions", "flag", "none")}
    assert rp.resolve_params(port, root) == params
    other = tmp_path / "clone"
    assert rp.resolve_params(port, other)["checkpoint"] == str(other / "results" / "x" / "runs" / "g" / "checkpoint.pt")
    assert rp.portable_params(port, root) == port  # idempotent


def test_portable_params_keeps_paths_outside_the_root(tmp_path):
    """Absolute paths outside the root (a sibling with the root's name as prefix too) and relative strings stay."""
    root = tmp_path / "repo"
    outside = {"a": str(tmp_path / "elsewhere" / "c.pt"), "b": str(tmp_path / "repo-other" / "c.pt"),
               "c": "/", "d": "models/c.pt", "e": str(root / ".." / "escape.pt")}
    assert rp.portable_params(outside, root) == outside
    assert rp.resolve_params(outside, root) == outside


def _fake_clone_plan(root, table: int):
    """Table `table`'s runs with data, --out and metric classifier inside `root` (absolute paths there)."""
    argv = ["--table", str(table), "--data", str(root / "digits"), "--out", str(root / "results" / "digits-tiny"),
            "--metric-classifier", str(root / "models" / "clf.pt"), *COMMON]
    o = cli.options(cli.parse_args(argv))
    return o, rp.plan(table, o)


def test_finished_runs_survive_a_move_of_the_repository(tmp_path, monkeypatch):
    """result.json written in a checkout at one path counts as finished in a copy at another path."""
    import shutil
    root_a, root_b = tmp_path / "main", tmp_path / "clone"
    monkeypatch.setattr(results, "repo_root", lambda: root_a)
    o_a, runs_a = _fake_clone_plan(root_a, 1)
    for run in runs_a:
        rp.write_result(o_a.out / "runs" / run.name, run.notebook, run.params, {},
                        checkpoint=str(o_a.out / "runs" / run.name / "checkpoint.pt"))
    ev = json.loads((o_a.out / "runs" / "eval_ggan_f5_d0" / rp.RESULT).read_text())
    assert ev["params"]["checkpoint"] == "<repo>/results/digits-tiny/runs/ggan_f5_d0/checkpoint.pt"
    assert ev["params"]["metric_classifier"] == "<repo>/models/clf.pt"
    assert ev["params"]["data"] == "<repo>/digits" and ev["checkpoint"].startswith("<repo>/results/")
    assert str(root_a) not in json.dumps(ev)
    shutil.copytree(root_a, root_b)  # the clone
    monkeypatch.setattr(results, "repo_root", lambda: root_b)
    o_b, runs_b = _fake_clone_plan(root_b, 1)
    assert [r.name for r in runs_b] == [r.name for r in runs_a]
    assert runs_b[-1].params["checkpoint"].startswith(str(root_b))  # the notebooks still get absolute paths
    assert all(rp.is_finished(r, o_b.out / "runs" / r.name) for r in runs_b)
    assert all(rp.is_finished(r, o_b.out / "runs" / r.name, root=root_b) for r in runs_b)  # explicit root
    assert not rp.is_finished(runs_b[-1], o_b.out / "runs" / runs_b[-1].name, root=tmp_path / "third")
    back = rp.resolve_params(rp.read_result(o_b.out / "runs" / runs_b[-1].name)["params"])
    assert back == rp.normalise(runs_b[-1].params)
    # a result.json from before portable paths (absolute) still counts where it was written
    legacy = runs_a[-1]
    (o_a.out / "runs" / legacy.name / rp.RESULT).write_text(json.dumps({"params": rp.normalise(legacy.params)}))
    assert rp.is_finished(legacy, o_a.out / "runs" / legacy.name, root=root_a)


def test_generated_clips_match_the_real_reference_below_paper():
    """IS per split depends on the clips per split: Table I scores as many generated clips as real ones."""
    for preset in ("small", "tiny"):
        assert rp.RUN_DEFAULTS[preset]["clips"] == rp.RUN_DEFAULTS[preset]["n_real"], preset


def test_shipped_fsdd_small_runs_are_finished():
    """The committed results/fsdd-small runs count as finished for the command in its README."""
    argv = ["--preset", "small", "--data", "fsdd", "--fractions", "0.01", "0.05", "--draws", "3", "--threads", "1",
            "--keep-going", "--no-progress"]  # the current budgets (RUN_DEFAULTS["small"]), as the README runs them
    o = cli.options(cli.parse_args(["--table", "2", *argv]))
    if not (o.out / "runs").is_dir() or not rp.SHIPPED_CLASSIFIER.is_file():
        pytest.skip("results/fsdd-small or models/metric_classifier_fsdd.pt is not in this checkout")
    for table in (2, 1):
        o = cli.options(cli.parse_args(["--table", str(table), *argv]))
        todo = [r.name for r in rp.plan(table, o) if not rp.is_finished(r, o.out / "runs" / r.name)]
        assert todo == [], f"Table {table}: {todo}"
    for res in (o.out / "runs").glob(f"*/{rp.RESULT}"):
        assert str(results.repo_root()) not in res.read_text(), res  # stored as '<repo>/...'
    assert str(results.repo_root()) not in (o.out / "manifest.json").read_text()


def test_manifest_stores_repository_paths_portably(tmp_path, monkeypatch):
    """write_manifest writes paths inside its folder relative to it (the folder can move), other paths inside the
    repository as '<repo>/...'; a later pass that only skipped finished runs leaves it as it was."""
    monkeypatch.setattr(results, "repo_root", lambda: tmp_path)
    out = tmp_path / "results" / "x"
    rec = rp.RunRecord(name="cnn_f1", notebook="train_baseline", status="done", wall_s=1.0,
                       executed=str(out / "runs" / "cnn_f1" / "train_baseline.ipynb"),
                       extra={"checkpoint": str(tmp_path / "models" / "c.pt"), "elsewhere": "/elsewhere/c.pt"})
    path = rp.write_manifest(out, ["--table", "2"], 2, [rec])
    runs = json.loads(path.read_text())["tables"]["2"]["runs"]
    assert runs[0]["executed"] == "runs/cnn_f1/train_baseline.ipynb"
    assert runs[0]["extra"] == {"checkpoint": "<repo>/models/c.pt", "elsewhere": "/elsewhere/c.pt"}
    assert runs[0]["status"] == "done" and runs[0]["wall_s"] == 1.0
    before = path.read_text()
    skipped = rp.RunRecord(name="cnn_f1", notebook="train_baseline", status="skipped", wall_s=1.0)
    rp.write_manifest(out, ["--table", "2", "--threads", "1"], 2, [skipped])
    assert path.read_text() == before  # nothing ran: same command, date and commit
    other = rp.RunRecord(name="cnn_f5", notebook="train_baseline", status="skipped", wall_s=2.0)
    rp.write_manifest(out, ["--table", "2"], 2, [skipped, other])  # another run list: rewritten
    assert [r["name"] for r in json.loads(path.read_text())["tables"]["2"]["runs"]] == ["cnn_f1", "cnn_f5"]


def test_table_readings_print_small_figures_to_their_digits():
    """readings.table{1,2}_reading: a round-trip FID below 1 (128-d features) is printed as 0.16, not 0, and a
    gap under a point as 0.2; the sentences rank our methods against the paper's."""
    from ggan_lib.book import readings
    t1 = pd.DataFrame([{"model": "Supervised BigGAN", "is_mean": 3.59, "paper_is_mean": 7.33, "fid": 0.157, "paper_fid_mean": 24.4},
                       {"model": "Unsupervised BigGAN", "is_mean": 3.42, "paper_is_mean": 6.17, "fid": 0.123, "paper_fid_mean": 24.72},
                       {"model": "GGAN", "is_mean": 4.89, "paper_is_mean": 7.24, "fid": 0.383, "paper_fid_mean": 25.75}])
    text = readings.table1_reading(t1)
    assert "FID (round trip), ours: Supervised BigGAN 0.16, Unsupervised BigGAN 0.12, GGAN 0.38" in text
    assert "lowest is Unsupervised BigGAN, where the paper's lowest is Supervised BigGAN (not reproduced)" in text
    assert "IS, ours: Supervised BigGAN 3.59, Unsupervised BigGAN 3.42, GGAN 4.89; highest is GGAN" in text
    row = {"fraction": 0.05}
    for m, (ours, std, paper) in {"CNN": (55.2, 5.6, 84.0), "Unsupervised GAN": (39.6, 1.4, 80.0),
                                  "GGAN": (53.9, 4.8, 92.0)}.items():
        row.update({f"{m} mean": ours, f"{m} std": std, f"{m} paper mean": paper})
    full = {"fraction": 1.0, "CNN mean": 96.0, "CNN std": 0.0, "CNN paper mean": 96.2}
    t2 = pd.DataFrame([row, full])
    text = readings.table2_reading(t2)
    assert "The paper's best, GGAN, is not first here: CNN is (within one standard deviation)." in text
    assert "Every accuracy of ours is 0.2 to 40 points below the paper's." in text
