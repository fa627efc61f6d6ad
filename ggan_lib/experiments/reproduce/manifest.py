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

from .results import atomic_write_json, normalise, portable_params
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

    Paths inside the repository are written in portable_params' "<repo>/..." form."""
    path = out / "manifest.json"
    tables = read_manifest(out).get("tables", {})
    # a run another runner executed ('elsewhere' here) keeps the record that runner wrote
    before = {r.get("name"): r for r in tables.get(str(table), {}).get("runs", [])}
    runs = [before.get(r.name, r.__dict__) if r.status == "elsewhere" else r.__dict__ for r in records]
    runs = portable_params(normalise(runs))  # executed notebooks, result files: "<repo>/..." as in result.json
    tables[str(table)] = {"command": "python -m ggan_lib.cli.reproduce " + " ".join(argv),
                          "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                          "machine": machine(), "git_commit": git_commit(), "runs": runs}
    return atomic_write_json(path, {"tables": tables})
