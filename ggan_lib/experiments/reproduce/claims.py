"""File-lock claims: several runners on one results folder share its runs (``runs/<name>/.claim``).

Each runner takes the next unclaimed run (e.g. one per GPU, or one per CPU core with --threads 1). A claim
holds ``{"pid", "host", "started", "heartbeat"}`` and appears complete or not at all (written to a temporary
file, then hard-linked into place). It is taken over when it is stale: empty or unreadable (no runner ever
writes such a claim), made on this host by a process that no longer exists, or with a heartbeat older than
:data:`STALE_S` (a runner refreshes it every :data:`HEARTBEAT_S` while it works, see :func:`keep_alive`).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

CLAIM = ".claim"  # in a run folder while a runner executes it: {"pid", "host", "started", "heartbeat"}
HEARTBEAT_S = 60.0  # a working runner rewrites its claim's heartbeat this often
STALE_S = 15 * 60.0  # a claim whose heartbeat is older than this is stale (its runner hangs or died elsewhere)


def _read_claim(path: Path) -> dict[str, Any] | None:
    """The claim's {"pid", "host", ...}; {} when it is empty or corrupt; None when there is none."""
    try:
        info = json.loads(path.read_text() or "{}")
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _claim_owner_alive(info: dict[str, Any], now: float | None = None) -> bool:
    """False for a stale claim: empty / corrupt, an old heartbeat, or a dead process on this host."""
    if not info or "pid" not in info:
        return False  # claims are written whole (_create): an empty or corrupt one is a runner's leftover
    beat = info.get("heartbeat")
    if isinstance(beat, (int, float)) and (now or time.time()) - beat > STALE_S:
        return False
    if info.get("host") != socket.gethostname():
        return True  # another machine sharing the folder: trust its (fresh) claim
    try:
        os.kill(int(info.get("pid", -1)), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, OverflowError, TypeError):
        return True
    return True


def _mine(info: dict[str, Any]) -> bool:
    return info.get("pid") == os.getpid() and info.get("host") == socket.gethostname()


def _take_existing(path: Path) -> bool | None:
    """An existing claim: True (ours), False (a live one's), None (gone or stale, removed: try again)."""
    info = _read_claim(path)
    if info is None:  # released in the meantime
        return None
    if _mine(info):
        return True
    if _claim_owner_alive(info):
        return False
    path.unlink(missing_ok=True)  # stale: its runner was killed; take the run over
    return None


def _record() -> dict[str, Any]:
    now = time.time()
    return {"pid": os.getpid(), "host": socket.gethostname(), "heartbeat": now,
            "started": dt.datetime.fromtimestamp(now, dt.timezone.utc).isoformat(timespec="seconds")}


def _create(path: Path, me: dict[str, Any]) -> bool:
    """Create the claim whole and exclusively (a temporary file hard-linked into place); False if one exists."""
    tmp = path.with_name(f"{CLAIM}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(me))
    try:
        os.link(tmp, path)  # atomic and exclusive: FileExistsError when a claim is there
        return True
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: exclusive create, then write
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as f:
            json.dump(me, f)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def claim_run(run_dir: Path) -> bool:
    """Claim run_dir for this process; a stale claim (see the module docstring) is taken over.

    Several runners started on the same --out share the work this way: each takes the next
    unclaimed run (e.g. one per GPU, or one per CPU core with --threads 1)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / CLAIM
    for _ in range(3):
        if _create(path, _record()):
            return True
        taken = _take_existing(path)
        if taken is not None:
            return taken
    return False


def heartbeat(run_dir: Path) -> None:
    """Refresh this process's claim on run_dir (its heartbeat time), atomically; nothing if it is not ours."""
    path = run_dir / CLAIM
    info = _read_claim(path)
    if not info or not _mine(info):
        return
    tmp = path.with_name(f"{CLAIM}.{os.getpid()}.beat.tmp")
    tmp.write_text(json.dumps({**info, "heartbeat": time.time()}))
    os.replace(tmp, path)


@contextmanager
def keep_alive(run_dir: Path, every_s: float = HEARTBEAT_S) -> Iterator[None]:
    """Refresh run_dir's claim every ``every_s`` seconds (a daemon thread) while the block runs."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every_s):
            try:
                heartbeat(run_dir)
            except OSError:
                pass  # a missed beat only makes the claim look older

    t = threading.Thread(target=beat, name=f"claim-heartbeat {run_dir.name}", daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join()


def release_run(run_dir: Path) -> None:
    """Drop this process's claim on run_dir."""
    (run_dir / CLAIM).unlink(missing_ok=True)


def claimed_elsewhere(run_dir: Path) -> bool:
    """True while another live runner holds run_dir's claim."""
    info = _read_claim(run_dir / CLAIM)
    if info is None:
        return False
    return not _mine(info) and _claim_owner_alive(info)
