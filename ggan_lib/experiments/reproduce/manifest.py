"""manifest.json of a results folder: per table, the command, machine, date, git commit and every run's record."""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Sequence

import torch

from ggan_lib.data import repo_root

from .results import atomic_write_json, map_strings, normalise, portable_params
from .runner import RunRecord


def git_commit() -> str:
    """HEAD of the repository (+ '-dirty' with uncommitted changes), or 'unknown'."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo_root(), capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo_root(),
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine() -> str:
    """One line: CPU, cores, OS, Python, torch, CUDA device if any."""
    gpu = f", {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}, torch {torch.__version__}{gpu}")


def read_manifest(out: Path) -> dict:
    """out/manifest.json as written by :func:`write_manifest` ({} when there is none)."""
    path = Path(out) / "manifest.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def write_manifest(out: Path, argv: Sequence[str], table: int, records: list[RunRecord]) -> Path:
    """out/manifest.json: command, machine, date, git commit and per-run status / wall time (merged by table).

    Paths inside ``out`` (executed notebooks, result files) are written relative to it, so the folder can move;
    other paths inside the repository in portable_params' "<repo>/..." form. A pass that found every run already
    finished, over a table whose record says each was done, leaves the file as it is (its command, date and
    commit stay those of the passes that ran something)."""
    path = out / "manifest.json"
    tables = read_manifest(out).get("tables", {})
    # a run another runner executed ('elsewhere' here) keeps the record that runner wrote
    before = {r.get("name"): r for r in tables.get(str(table), {}).get("runs", [])}
    if path.is_file() and _nothing_new(before, records):
        return path
    runs = [before.get(r.name, r.__dict__) if r.status == "elsewhere" else r.__dict__ for r in records]
    runs = portable_params(_relative_to(normalise(runs), out))  # the rest: "<repo>/..." as in result.json
    tables[str(table)] = {"command": "python -m ggan_lib.cli.reproduce " + " ".join(argv),
                          "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                          "machine": machine(), "git_commit": git_commit(), "runs": runs}
    return atomic_write_json(path, {"tables": tables})


def _nothing_new(before: dict[str, dict], records: list[RunRecord]) -> bool:
    """True when every record is 'skipped' and the manifest already lists exactly these runs, each done or skipped."""
    return (all(r.status == "skipped" for r in records) and set(before) == {r.name for r in records}
            and all(b.get("status") in ("done", "skipped") for b in before.values()))


def _relative_to(obj, out: Path):
    """obj with every absolute path string inside ``out`` made relative to it (nested dicts and lists too)."""
    base = os.path.normpath(os.path.abspath(out))

    def rel(s: str) -> str:
        if os.path.isabs(s) and os.path.normpath(s).startswith(base + os.sep):
            return os.path.relpath(os.path.normpath(s), base)
        return s
    return map_strings(obj, rel)
