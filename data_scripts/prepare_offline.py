#!/usr/bin/env python
"""Prepare the offline data of the book: check FSDD, cache its spectrograms, make the voice corpus.

1. FSDD (``$GGAN_FSDD_DIR`` or ``<repo>/../shared/data/fsdd/recordings``): every file is checked
   against ``SHA256SUMS`` when that file sits next to ``recordings/``;
2. its spectrograms are computed once per spectrogram shape the presets use and cached
   (``$GGAN_CACHE_DIR`` or ``<repo>/.cache/spectrograms``), so chapters start instantly;
3. the synthetic-voice corpus (``data_scripts/make_synthetic_voices.py``) is written to
   ``$GGAN_VOICES_DIR`` or ``<repo>/data/synthetic_voices`` if espeak-ng is installed and the
   corpus is not there yet (skipped with a notice otherwise).

Idempotent: a second run only re-reads the caches.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install
from ggan_lib import data  # noqa: E402
from ggan_lib.audio import AudioConfig  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fsdd-dir", help="FSDD recordings (default: $GGAN_FSDD_DIR or the shared copy)")
    ap.add_argument("--shapes", default=None,
                    help="spectrogram shapes to cache, e.g. '256x128,64x32' (default: the presets')")
    ap.add_argument("--no-verify", action="store_true", help="skip the SHA256SUMS check")
    ap.add_argument("--no-voices", action="store_true", help="do not make the synthetic voices")
    ap.add_argument("--workers", type=int, default=2, help="threads for loading audio")
    return ap.parse_args(argv)


def verify_fsdd(root: Path) -> int:
    """Check every file listed in ../SHA256SUMS; return how many were checked (0 if no list)."""
    sums = root.parent / "SHA256SUMS"
    if not sums.is_file():
        return 0
    bad = []
    lines = [ln.split(maxsplit=1) for ln in sums.read_text().splitlines() if ln.strip()]
    for digest, name in lines:
        name = name.strip().lstrip("*")  # '*' marks binary mode in sha256sum output
        path = root / name if (root / name).is_file() else root.parent / name
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            bad.append(name)
    if bad:
        raise SystemExit(f"[offline] {len(bad)} FSDD file(s) missing or changed: {bad[:10]}")
    return len(lines)


def preset_shapes() -> list[tuple[int, int]]:
    """The spectrogram shapes of the model presets, full size first."""
    shapes = {(256, 128)}
    try:
        from ggan_lib.config import PRESETS

        shapes |= {tuple(c.spec_shape) for c in PRESETS.values()}
    except ImportError:  # config.py not there: cache the full size only
        pass
    return sorted(shapes, reverse=True)


def make_voices() -> None:
    """Run make_synthetic_voices.py with its defaults unless the corpus exists or espeak-ng is missing."""
    out = data.default_voices_dir()
    if (out / "words" / "labels.csv").is_file() and (out / "digits" / "labels.csv").is_file():
        print(f"[offline] synthetic voices: already in {out}")
        return
    if shutil.which("espeak-ng") is None:
        print("[offline] synthetic voices: skipped, espeak-ng is not installed")
        return
    path = Path(__file__).resolve().parent / "make_synthetic_voices.py"
    spec = importlib.util.spec_from_file_location("make_synthetic_voices", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(["--out", str(out)])


def main(argv=None) -> int:
    """FSDD check, spectrogram caches, voices."""
    args = parse_args(argv)
    root = Path(args.fsdd_dir) if args.fsdd_dir else data.default_fsdd_dir()
    if not root.is_dir():
        raise SystemExit(f"[offline] FSDD not found in {root.resolve()}: {data.FSDD_HOWTO}")
    if not args.no_verify:
        print(f"[offline] FSDD: {verify_fsdd(root)} files match SHA256SUMS")
    shapes = ([tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
              if args.shapes else preset_shapes())
    for shape in shapes:
        ds = data.DigitFolder(root, "all", cfg=AudioConfig(spec_shape=shape),
                              workers=args.workers)
        print(f"[offline] FSDD spectrograms {shape}: {len(ds)} clips cached")
    if not args.no_voices:
        make_voices()
    return 0


if __name__ == "__main__":
    sys.exit(main())
