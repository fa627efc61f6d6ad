"""Execute planned runs with papermill, each in its own run folder, resuming finished ones.

A run is finished when its result.json holds the same parameters (runtime ones aside); a killed batch
resumes where it stopped. A failure names the notebook and the cell; runs that need a failed run are
blocked; runs another runner claimed (claims.py) are left to it.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .claims import claim_run, claimed_elsewhere, keep_alive, release_run
from .plan import Run
from .results import NOTEBOOKS_DIR, RESULT, normalise, portable_params, read_result


@dataclass
class RunRecord:
    """What happened to one run in this invocation."""

    name: str
    notebook: str
    status: str                 # 'done', 'skipped' (already finished), 'failed', 'blocked' (a need did not finish),
                                # 'elsewhere' (claimed by another runner working on the same --out)
    wall_s: float = 0.0         # seconds of the notebook run (for a skipped run: when it was done)
    error: str = ""
    executed: str = ""          # the executed notebook's path
    extra: dict[str, Any] = field(default_factory=dict)


RUNTIME_PARAMS = frozenset({"device", "threads", "progress", "ckpt_every"})  # change how, not what, a run computes


def is_finished(run: Run, run_dir: Path, root: str | os.PathLike | None = None) -> bool:
    """True when run_dir/result.json exists and holds this run's parameters (runtime ones aside).

    Both sides are compared in portable_params' form (paths inside the repository `root`, default
    repo_root(), relative to it), so results written in a clone at another path still count."""
    res = read_result(run_dir)
    if res is None or not isinstance(res.get("params"), dict):
        return False
    return _comparable(res["params"], root) == _comparable(normalise(run.params), root)


def _comparable(params: dict[str, Any], root) -> dict[str, Any]:
    """Params in portable form without the runtime ones (what must match for a run to count as finished)."""
    return {k: v for k, v in portable_params(params, root).items() if k not in RUNTIME_PARAMS}


def describe_failure(run: Run, nb_path: Path, executed: Path, err: Exception) -> str:
    """'<run>: notebook X failed in cell N (source head): Error: message' for a papermill failure."""
    from papermill.exceptions import PapermillExecutionError
    if isinstance(err, PapermillExecutionError):
        head = " | ".join(ln for ln in err.source.strip().splitlines()[:3])
        return (f"{run.name}: notebook {nb_path} failed in cell {err.cell_index} (execution count "
                f"{err.exec_count}): `{head}`\n    {err.ename}: {err.evalue}\n    executed copy: {executed}")
    return f"{run.name}: notebook {nb_path} could not run: {type(err).__name__}: {err}"


def execute(run: Run, out: Path, *, progress: bool = True, kernel: str = "python3") -> RunRecord:
    """Run the notebook with papermill in out/runs/<name> (cwd), the executed copy beside result.json."""
    import papermill as pm
    run_dir = out / "runs" / run.name
    run_dir.mkdir(parents=True, exist_ok=True)
    nb_path = NOTEBOOKS_DIR / f"{run.notebook}.ipynb"
    executed = run_dir / f"{run.notebook}.ipynb"
    stale = run_dir / RESULT
    if stale.exists():  # another parameter set finished here before: never mix its result with this run
        stale.unlink()
    t0 = time.perf_counter()
    try:
        pm.execute_notebook(str(nb_path), str(executed), parameters=run.params, kernel_name=kernel,
                            cwd=str(run_dir), progress_bar=progress)
    except Exception as err:  # noqa: BLE001 - any failure is reported with the notebook and cell
        return RunRecord(run.name, run.notebook, "failed", time.perf_counter() - t0,
                         describe_failure(run, nb_path, executed, err), str(executed))
    wall = time.perf_counter() - t0
    if not is_finished(run, run_dir):
        return RunRecord(run.name, run.notebook, "failed", wall,
                         f"{run.name}: notebook {nb_path} finished without writing {RESULT} for these parameters",
                         str(executed))
    return RunRecord(run.name, run.notebook, "done", wall, executed=str(executed))


def _skipped(run: Run, run_dir: Path) -> RunRecord:
    """The record of an already finished run, with the wall time and date of the invocation that did it."""
    res = read_result(run_dir) or {}
    return RunRecord(run.name, run.notebook, "skipped", float(res.get("wall_s", 0.0)),
                     extra={"result": str(run_dir / RESULT), "finished": res.get("finished", "")})


def _wait_for_needs(run: Run, out: Path, by_name: dict[str, Run], tag: str, log, poll_s: float) -> None:
    """Wait for needs another runner is executing, until each finishes or its claim goes (its runner died)."""
    for need in run.needs:
        need_dir = out / "runs" / need
        if need in by_name and claimed_elsewhere(need_dir):
            log(f"{tag}: waiting for {need} (another runner)")
            while claimed_elsewhere(need_dir) and not is_finished(by_name[need], need_dir):
                time.sleep(poll_s)


def _run_claimed(run: Run, out: Path, tag: str, log, progress: bool) -> RunRecord:
    """Claim the run and execute it (skipped when another runner finished it meanwhile; 'elsewhere' if held)."""
    run_dir = out / "runs" / run.name
    if not claim_run(run_dir):
        log(f"{tag}: claimed by another runner, left to it")
        return RunRecord(run.name, run.notebook, "elsewhere", error="claimed by another runner")
    try:
        if is_finished(run, run_dir):  # finished by another runner between the check and the claim
            return RunRecord(run.name, run.notebook, "skipped")
        log(f"{tag}: running")
        with keep_alive(run_dir):  # the claim's heartbeat: other runners see this one is alive
            return execute(run, out, progress=progress)
    finally:
        release_run(run_dir)


def run_all(runs: list[Run], out: Path, *, keep_going: bool = False, progress: bool = True,
            log=print, poll_s: float = 30.0) -> list[RunRecord]:
    """Execute the planned runs in order: skip finished ones, block those whose needs did not finish, stop or go on.

    Runs claimed by another runner on the same `out` are left to it ('elsewhere'). A run that needs one of
    them is deferred: the runs after it whose needs are met go first, and then it waits until the need
    finishes (or its runner dies: then it is blocked), so a runner does not idle while there
    is work it can do. After the pass, a run left to a runner that has since stopped without finishing it
    (its claim released or stale) is taken up here (:func:`_take_up_left`), and then the runs it blocked,
    so a batch never ends with such a run undone. The records are in plan order."""
    by_name = {r.name: r for r in runs}
    records: dict[int, RunRecord] = {}
    deferred: list[tuple[int, Run, str]] = []
    for i, run in enumerate(runs):
        tag = f"[{i + 1}/{len(runs)}] {run.name} ({run.notebook})"
        held = [] if is_finished(run, out / "runs" / run.name) else _held_needs(run, out, by_name, deferred)
        if held:
            deferred.append((i, run, tag))
            log(f"{tag}: needs {', '.join(held)} (another runner or a deferred run): deferred, the ready runs go first")
            continue
        records[i] = _attempt(run, out, by_name, tag, log, progress, poll_s)
        if records[i].status == "failed" and not keep_going:
            return [records[k] for k in sorted(records)]
    for i, run, tag in deferred:
        records[i] = _attempt(run, out, by_name, tag, log, progress, poll_s)
        if records[i].status == "failed" and not keep_going:
            return [records[k] for k in sorted(records)]
    ordered = [records[k] for k in sorted(records)]
    _take_up_left(ordered, by_name, out, log, progress)
    return ordered


def _held_needs(run: Run, out: Path, by_name: dict[str, Run], deferred: list) -> list[str]:
    """The needs of run that another runner holds unfinished, or that this runner has deferred."""
    later = {r.name for _, r, _ in deferred}
    return [n for n in run.needs if n in later or (n in by_name and claimed_elsewhere(out / "runs" / n)
                                                   and not is_finished(by_name[n], out / "runs" / n))]


def _attempt(run: Run, out: Path, by_name: dict[str, Run], tag: str, log, progress: bool, poll_s: float) -> RunRecord:
    """One run of the pass: skipped if finished, else wait for needs held elsewhere, blocked if a need is not
    finished (it failed or was blocked here, or its runner stopped without finishing it), else claimed and executed."""
    if is_finished(run, out / "runs" / run.name):
        log(f"{tag}: already finished, skipped")
        return _skipped(run, out / "runs" / run.name)
    _wait_for_needs(run, out, by_name, tag, log, poll_s)
    # a need left to a runner that stopped without finishing it is blocked for now: _take_up_left runs it
    # after the pass, and then this run
    blocked = [n for n in run.needs if n in by_name and not is_finished(by_name[n], out / "runs" / n)]
    if blocked:
        log(f"{tag}: blocked, needs unfinished run(s) {blocked}")
        return RunRecord(run.name, run.notebook, "blocked", error=f"needs unfinished run(s) {blocked}")
    rec = _run_claimed(run, out, tag, log, progress)
    _log_outcome(rec, tag, log)
    return rec


def _take_up_left(records: list[RunRecord], by_name: dict[str, Run], out: Path, log, progress: bool) -> None:
    """Run (in place of their records, in plan order) the runs left to another runner that is no longer on them
    and did not finish them, and the runs blocked only because such a run was not finished when they came up
    (all their needs are finished now); one still held by a live runner stays 'elsewhere'."""
    for k, rec in enumerate(records):
        run = by_name[rec.name]
        run_dir = out / "runs" / run.name
        if is_finished(run, run_dir) or claimed_elsewhere(run_dir):
            continue
        unblocked = rec.status == "blocked" and all(is_finished(by_name[n], out / "runs" / n)
                                                    for n in run.needs if n in by_name)
        if rec.status != "elsewhere" and not unblocked:
            continue
        tag = f"[left by another runner] {run.name} ({run.notebook})"
        records[k] = _run_claimed(run, out, tag, log, progress)
        _log_outcome(records[k], tag, log)


def _log_outcome(rec: RunRecord, tag: str, log) -> None:
    """One line for a run this runner executed: its time when done, its error when failed."""
    if rec.status == "done":
        log(f"{tag}: done in {rec.wall_s:.1f} s")
    elif rec.status == "failed":
        log(f"FAILED {rec.error}")
