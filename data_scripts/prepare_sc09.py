#!/usr/bin/env python
"""Prepare SC09: the spoken digits zero..nine of Speech Commands v0.02, split by the official lists.

Downloads the official tarball (resumable, sha256-checked), extracts only the ten digit words and
writes ``<out>/{train,valid,test}/{digit}_{speaker}_{take}.wav`` (16 kHz mono, as in the
archive) so that ``ggan_lib.data.DigitFolder`` / ``ggan_lib.data.sc09`` read them, plus
``<out>/manifest.csv`` (split, path, digit, word, speaker, source). The manifest is written last:
its presence marks a finished run (re-running then does nothing unless --force).

    python data_scripts/prepare_sc09.py --out data/sc09
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install
from ggan_lib.data import default_sc09_dir  # noqa: E402
from ggan_lib.io import atomic  # noqa: E402
from ggan_lib.io.download import fetch_archive_for_script, iter_tar  # noqa: E402

URL = "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz"
# sha256 of the official v0.02 tarball (2.3 GB), as pinned by torchaudio.datasets.SPEECHCOMMANDS
# (_CHECKSUMS in torchaudio/datasets/speechcommands.py); override with --sha256.
SHA256 = "af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58"
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
LISTS = {"validation_list.txt": "valid", "testing_list.txt": "test"}


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(default_sc09_dir()),
                    help="output folder (default: $GGAN_SC09_DIR or <repo>/data/sc09)")
    ap.add_argument("--url", default=URL, help="tarball URL (http, https or file://)")
    ap.add_argument("--archive", help="use this local tarball instead of downloading")
    ap.add_argument("--sha256", default=SHA256,
                    help="expected sha256 of the tarball ('skip' to not check)")
    ap.add_argument("--download-dir", help="where the tarball goes (default: <out>/../downloads)")
    ap.add_argument("--force", action="store_true", help="rebuild even if manifest.csv exists")
    ap.add_argument("--no-progress", action="store_true", help="no progress bars")
    return ap.parse_args(argv)


def stage(archive: Path, staging: Path) -> dict:
    """Extract the digit wavs into staging/{word}/ and return {list name: set of 'word/file'}."""
    lists = {}
    for name, f in iter_tar(archive):
        parts = name.split("/")
        if len(parts) == 1 and name in LISTS:
            lists[name] = {ln.strip() for ln in f.read().decode().splitlines() if ln.strip()}
        elif len(parts) == 1 and name == "LICENSE":
            (staging / "LICENSE").parent.mkdir(parents=True, exist_ok=True)
            (staging / "LICENSE").write_bytes(f.read())
        elif len(parts) == 2 and parts[0] in DIGITS and parts[1].endswith(".wav"):
            target = staging / parts[0] / parts[1]
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target.with_suffix(".tmp"), "wb") as out:
                shutil.copyfileobj(f, out)
            os.replace(target.with_suffix(".tmp"), target)
    missing = set(LISTS) - set(lists)
    if missing:
        raise SystemExit(f"{archive}: no {', '.join(sorted(missing))} at the archive root; "
                         "is this the Speech Commands v0.02 tarball?")
    return lists


def new_name(word: str, filename: str) -> tuple[str, str, int]:
    """'{speaker}_nohash_{take}.wav' of word -> ('{digit}_{speaker}_{take}.wav', speaker, digit)."""
    stem = filename[:-4]
    speaker, _, take = stem.partition("_nohash_")
    if not take.isdigit() or "_" in speaker:
        raise SystemExit(f"unexpected Speech Commands file name {word}/{filename}")
    digit = DIGITS.index(word)
    return f"{digit}_{speaker}_{take}.wav", speaker, digit


def split_staged(staging: Path, out: Path, lists: dict) -> list[dict]:
    """Move staged wavs into out/{train,valid,test}/ under DigitFolder names; manifest rows."""
    rows = []
    for word in DIGITS:
        for src in sorted((staging / word).glob("*.wav")) if (staging / word).is_dir() else []:
            rel = f"{word}/{src.name}"
            split = next((s for n, s in LISTS.items() if rel in lists[n]), "train")
            name, speaker, digit = new_name(word, src.name)
            (out / split).mkdir(parents=True, exist_ok=True)
            os.replace(src, out / split / name)
            rows.append({"split": split, "path": f"{split}/{name}", "digit": digit, "word": word,
                         "speaker": speaker, "source": rel})
    return rows


def write_manifest(out: Path, rows: list[dict]) -> Path:
    """Write manifest.csv atomically (it marks a finished run)."""
    return atomic.write_csv(out / "manifest.csv", rows, ["split", "path", "digit", "word", "speaker", "source"])


def main(argv=None) -> int:
    """Download, extract, split; print a summary."""
    args = parse_args(argv)
    out = Path(args.out)
    if (out / "manifest.csv").exists() and not args.force:
        print(f"[sc09] {out}/manifest.csv exists: already prepared (use --force to redo)")
        return 0
    archive = fetch_archive_for_script("sc09", args, out)
    staging = out / "_staging"
    lists = stage(archive, staging)
    rows = split_staged(staging, out, lists)
    if (staging / "LICENSE").exists():
        os.replace(staging / "LICENSE", out / "LICENSE")
    shutil.rmtree(staging, ignore_errors=True)
    write_manifest(out, rows)
    counts = {s: sum(r["split"] == s for r in rows) for s in ("train", "valid", "test")}
    print(f"[sc09] wrote {len(rows)} clips to {out}: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
