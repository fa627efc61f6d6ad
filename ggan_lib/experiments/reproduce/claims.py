"""File-lock claims: several runners on one results folder share its runs (``runs/<name>/.claim``).

Each runner takes the next unclaimed run (e.g. one per GPU, or one per CPU core with --threads 1); a claim
whose process died on this host is stale and taken over.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import socket
from pathlib import Path
from typing import Any

CLAIM = ".claim"  # in a run folder while a runner executes it: {"pid", "host", "started"}


def _read_claim(path: Path) -> dict[str, Any] | None:
    """The claim's {"pid", "host", ...}; {} while it is being written; None when there is none."""
    try:
        return json.loads(path.read_text() or "{}")
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError):
        return {}


def _claim_owner_alive(info: dict[str, Any]) -> bool:
    """True unless the claim was made on this host by a process that no longer exists."""
    if info.get("host") != socket.gethostname():
        return True  # another machine sharing the folder: trust its claim
    try:
        os.kill(int(info.get("pid", -1)), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, OverflowError):
        return True
    return True


def _take_existing(path: Path, me: dict[str, Any]) -> bool | None:
    """An existing claim: True (ours), False (a live one's), None (gone or stale, removed: try again)."""
    info = _read_claim(path)
    if info is None:  # released in the meantime
        return None
    if not info:
        return False  # being written right now: a live claim
    if info.get("pid") == os.getpid() and info.get("host") == me["host"]:
        return True
    if _claim_owner_alive(info):
        return False
    path.unlink(missing_ok=True)  # stale: its runner was killed; take the run over
    return None


def claim_run(run_dir: Path) -> bool:
    """Claim run_dir for this process (O_EXCL create of .claim); a stale claim (dead process) is taken over.

    Several runners started on the same --out share the work this way: each takes the next
    unclaimed run (e.g. one per GPU, or one per CPU core with --threads 1)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / CLAIM
    me = {"pid": os.getpid(), "host": socket.gethostname(),
          "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            taken = _take_existing(path, me)
            if taken is None:
                continue
            return taken
        with os.fdopen(fd, "w") as f:
            json.dump(me, f)
        return True
    return False


def release_run(run_dir: Path) -> None:
    """Drop this process's claim on run_dir."""
    (run_dir / CLAIM).unlink(missing_ok=True)


def claimed_elsewhere(run_dir: Path) -> bool:
    """True while another live runner holds run_dir's claim."""
    info = _read_claim(run_dir / CLAIM)
    if info is None:
        return False
    return not info or (info.get("pid") != os.getpid() and _claim_owner_alive(info))
