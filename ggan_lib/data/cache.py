"""Spectrograms of audio files, computed once per file list and AudioConfig and cached on disk (checksummed).

Bad files are reported per file (a reason instead of a spectrogram), never silently cached.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from ggan_lib.audio import AudioConfig, AudioError, audio_to_spectrogram, load_audio
from ggan_lib.data.paths import default_cache_dir
from ggan_lib.io import atomic

_CACHE_VERSION = 2  # bump when the cache layout changes: old files are then rebuilt
_BLOCK = 1 << 16  # content_hash reads this many bytes at each end of a file


# --------------------------------------------------------------------------- computing
def _load_one(path: Path, cfg: AudioConfig):
    """(wave, None) or (None, reason) for one file; the reason names the error class."""
    try:
        wave = load_audio(path, cfg)
    except Exception as err:  # noqa: BLE001 - whatever stops a file from loading makes it bad
        return None, f"{type(err).__name__}: {str(err).replace(str(path) + ': ', '')}"
    if not np.any(wave):
        return None, "SilentClipError: all samples are zero"
    return wave, None


def _spectrograms(waves: list, cfg: AudioConfig) -> list:
    """Spectrograms of equal-length waves, batched; per clip (spec or reason) on failure."""
    try:
        specs = list(audio_to_spectrogram(np.stack(waves), cfg))
    except AudioError:  # find the offending clip(s) one by one
        specs = []
        for w in waves:
            try:
                specs.append(audio_to_spectrogram(w, cfg))
            except AudioError as err:
                specs.append(f"{type(err).__name__}: {err}")
    return [s if isinstance(s, str) or np.all(np.isfinite(s)) else "BadSpectrogramError: NaN/inf"
            for s in specs]


def compute_spectrograms(paths: Sequence, cfg: AudioConfig = AudioConfig(), *, workers: int = 1,
                         batch_size: int = 64, progress: bool = True, desc: str = "spectrograms"):
    """Spectrograms of audio files -> (specs (n_ok, H, W) float32, ok (N,) bool, reasons (N,) str).

    Loading runs on ``workers`` threads; the transform runs batched. A file that cannot be used
    gets ok=False and a reason (error class and message) instead of a spectrogram.
    """
    H, W = cfg.spec_shape
    ok, reasons, out = np.zeros(len(paths), bool), [""] * len(paths), []
    with warnings.catch_warnings(), ThreadPoolExecutor(max(1, workers)) as pool, \
            tqdm(total=len(paths), desc=desc, unit=" clips", disable=not progress) as bar:
        # cutting clips longer than 1 s is the front end's rule (design note 1), not news per file
        warnings.filterwarnings("ignore", message=r".*cut to the first")
        for start in range(0, len(paths), batch_size):
            idx = range(start, min(start + batch_size, len(paths)))
            loaded = list(pool.map(lambda i: _load_one(Path(paths[i]), cfg), idx))
            good = [i for i, (w, _) in zip(idx, loaded) if w is not None]
            for i, (_, why) in zip(idx, loaded):
                reasons[i] = why or ""
            specs = _spectrograms([loaded[i - start][0] for i in good], cfg) if good else []
            for i, s in zip(good, specs):
                if isinstance(s, str):
                    reasons[i] = s
                else:
                    ok[i] = True
                    out.append(s)
            bar.update(len(idx))
    specs = np.stack(out).astype(np.float32) if out else np.zeros((0, H, W), np.float32)
    return specs, ok, np.array(reasons, dtype=object)


# --------------------------------------------------------------------------- the cache
def content_hash(path) -> str:
    """Fast hash of a file's content: its size and its first and last 64 KiB (the whole of a short file).

    'unreadable' for a file that cannot be opened (its failure is then never cached, see cached_spectrograms).
    """
    h = hashlib.sha1()
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            h.update(f"{size}|".encode() + f.read(_BLOCK))
            if size > 2 * _BLOCK:
                f.seek(size - _BLOCK)
                h.update(f.read(_BLOCK))
            elif size > _BLOCK:
                h.update(f.read())
    except OSError:
        return "unreadable"
    return h.hexdigest()[:16]


def listing_key(paths: Sequence, root: Path, cfg: AudioConfig) -> str:
    """Hash of cfg.key() and each file's name (relative to root), size, mtime and content_hash."""
    h = hashlib.sha256(f"v{_CACHE_VERSION}|{cfg.key()}".encode())
    for p in paths:
        try:
            st = os.stat(p)
            stamp = f"{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            stamp = "missing"
        h.update(f"|{Path(p).relative_to(root).as_posix()}:{stamp}:{content_hash(p)}".encode())
    return h.hexdigest()[:16]


def _crc(specs: np.ndarray) -> int:
    """CRC32 of the spectrogram bytes (detects a damaged cache cheaply)."""
    return zlib.crc32(np.ascontiguousarray(specs).data)


def _read_cache(path: Path, names: list, cfg: AudioConfig):
    """(specs, ok, reasons) from a cache file, or raise ValueError if it is not a valid one."""
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        specs, ok, reasons = z["specs"], z["ok"], z["reasons"].astype(object)
        cached_names = list(z["names"])
    if meta.get("version") != _CACHE_VERSION or meta.get("cfg") != cfg.key():
        raise ValueError("written for another version or AudioConfig")
    if cached_names != names or ok.shape != (len(names),) or reasons.shape != ok.shape:
        raise ValueError("file list does not match")
    if specs.shape != (int(ok.sum()), *cfg.spec_shape) or specs.dtype != np.float32:
        raise ValueError(f"spectrogram array has shape {specs.shape}")
    if _crc(specs) != meta.get("crc"):
        raise ValueError("checksum mismatch")
    return specs, ok, reasons


def _write_cache(path: Path, names: list, cfg: AudioConfig, specs, ok, reasons) -> None:
    """Write the cache atomically: a temporary file in the same folder, then os.replace."""
    meta = json.dumps({"version": _CACHE_VERSION, "cfg": cfg.key(), "crc": _crc(specs)})
    with atomic.atomic_write(path) as f:
        np.savez(f, specs=specs, ok=ok, reasons=reasons.astype(str), names=np.array(names),
                 meta=np.array(meta))


def cached_spectrograms(paths: Sequence, root, cfg: AudioConfig = AudioConfig(), *,
                        cache_dir=None, workers: int = 1, progress: bool = True):
    """:func:`compute_spectrograms` through the on-disk cache (``cache_dir=False`` disables it).

    The cache file is keyed by cfg.key() and the file list (names, sizes, mtimes and a hash of each
    file's first and last blocks), so editing, adding or removing a file builds a new one; a damaged
    cache is detected and rebuilt. Failures are never served from the cache: a file that could not be
    used is tried again on every call (a permission fixed since then is seen at once).
    """
    root = Path(root)
    names = [Path(p).relative_to(root).as_posix() for p in paths]
    desc = f"spectrograms {root.name}"
    if cache_dir is False:
        return compute_spectrograms(paths, cfg, workers=workers, progress=progress, desc=desc)
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    slug = re.sub(r"[^A-Za-z0-9-]+", "-", root.name)[:40] or "root"
    path = cache_dir / f"{slug}-{cfg.key()}-{listing_key(paths, root, cfg)}.npz"
    if path.exists():
        try:
            cached = _read_cache(path, names, cfg)
        except Exception as err:  # noqa: BLE001 - any unreadable cache is rebuilt, never trusted
            warnings.warn(f"spectrogram cache {path} is damaged ({type(err).__name__}: {err}); "
                          "rebuilding it", stacklevel=3)
        else:
            return _retry_failures(path, paths, names, cfg, cached, workers)
    specs, ok, reasons = compute_spectrograms(paths, cfg, workers=workers, progress=progress,
                                              desc=desc)
    _write_cache(path, names, cfg, specs, ok, reasons)
    return specs, ok, reasons


def _retry_failures(path: Path, paths: Sequence, names: list, cfg: AudioConfig, cached, workers: int):
    """A cache's (specs, ok, reasons) with its failed files computed again (the cache rewritten if one now works)."""
    specs, ok, reasons = cached
    failed = np.flatnonzero(~ok)
    if not len(failed):
        return specs, ok, reasons
    new_specs, new_ok, new_reasons = compute_spectrograms([paths[i] for i in failed], cfg, workers=workers,
                                                          progress=False)
    reasons = reasons.copy()
    reasons[failed] = new_reasons
    if not new_ok.any():
        return specs, ok, reasons
    full = np.zeros((len(names), *cfg.spec_shape), np.float32)
    full[ok] = specs
    full[failed[new_ok]] = new_specs
    ok = ok.copy()
    ok[failed[new_ok]] = True
    specs = full[ok]
    _write_cache(path, names, cfg, specs, ok, reasons)
    return specs, ok, reasons


