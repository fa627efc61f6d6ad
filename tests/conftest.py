"""Shared fixtures: one torch thread per test, tiny audio folders, the FSDD subset, a local server."""
from __future__ import annotations

import http.server
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op torch thread per test: bit-exact comparisons, no oversubscription on 2 cores."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


FSDD_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd" / "recordings"


def write_tone(path, freq: float = 440.0, sr: int = 8000, seconds: float = 0.25,
               subtype: str = "PCM_16") -> Path:
    """Write a short decaying sine (a stand-in for a spoken digit) and return its path."""
    t = np.arange(int(sr * seconds)) / sr
    wave = 0.5 * np.sin(2 * np.pi * freq * t) * np.exp(-4 * t)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, wave.astype(np.float32), sr, subtype=subtype)
    return path


@pytest.fixture
def make_tone():
    """The write_tone helper, for tests that build their own folders."""
    return write_tone


@pytest.fixture(scope="session")
def spec_cache(tmp_path_factory) -> Path:
    """A spectrogram cache folder shared by the tests of one session (never the repo's .cache)."""
    return tmp_path_factory.mktemp("spec_cache")


@pytest.fixture
def digit_dir(tmp_path) -> Path:
    """A folder of 10 digits x 2 speakers x takes {0, 1, 5, 6}: 80 tones named like FSDD."""
    root = tmp_path / "digits"
    for d in range(10):
        for s, speaker in enumerate(("alice", "bob")):
            for take in (0, 1, 5, 6):
                write_tone(root / f"{d}_{speaker}_{take}.wav", 200 + 60 * d + 7 * s + take)
    return root


@pytest.fixture(scope="session")
def fsdd_subset(tmp_path_factory) -> Path:
    """50 real FSDD files (one speaker per digit pair; takes 0, 1 test and 5, 6, 7 train)."""
    if not FSDD_DIR.is_dir():
        pytest.skip(f"FSDD not found at {FSDD_DIR}")
    root = tmp_path_factory.mktemp("fsdd") / "recordings"
    root.mkdir()
    speakers = ("george", "jackson", "nicolas", "theo", "yweweler")
    for d in range(10):
        for take in (0, 1, 5, 6, 7):
            name = f"{d}_{speakers[d % 5]}_{take}.wav"
            shutil.copy2(FSDD_DIR / name, root / name)
    return root


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves server.files {path: bytes} with Range support; can drop a connection mid-body."""

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        srv = self.server
        srv.requests.append({"path": self.path, "range": self.headers.get("Range")})
        body = srv.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start = 0
        rng = self.headers.get("Range")
        if rng and srv.ranges:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(body):
                self.send_error(416)
                return
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(body) - start))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        cut = srv.drop_after.pop(self.path, None)  # drop only the first request for this path
        self.wfile.write(body[start:cut if cut is None else start + cut])
        if cut is not None:
            self.wfile.flush()
            self.close_connection = True


@pytest.fixture
def http_server():
    """A local HTTP server on 127.0.0.1: set .files, .drop_after, .ranges; read .requests; .url(path)."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.files, srv.drop_after, srv.requests, srv.ranges = {}, {}, [], True
    srv.url = lambda path: f"http://127.0.0.1:{srv.server_address[1]}{path}"
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
