#!/usr/bin/env python
"""Offline synthetic-voice corpus with espeak-ng: male and female voices saying digits and words.

Each voice is an espeak-ng English variant (en+m1..m4 male, en+f1..f4 female) with a seeded pitch
(-p) and speed (-s). Writes 16 kHz mono wavs:

* ``<out>/digits/{digit}_{voice}_{take}.wav``: zero..nine, ``--takes`` takes per voice (small
  seeded pitch/speed jitter per take) -> ``DigitFolder(out / "digits")`` (split by speaker, or
  takes 0-4 test when --takes > 5);
* ``<out>/words/{gender}_{voice}_{k}.wav``: non-digit words, so that gender is the only thing
  the labels carry -> ``LabelledFolder(out / "words", "labels.csv", label_column="gender")``.

Each folder has a ``labels.csv`` (path, gender 0=male 1=female, voice, variant, pitch, speed,
word, digit). Same seed, same corpus.

    python data_scripts/make_synthetic_voices.py --out data/synthetic_voices
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm.auto import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install
from ggan_lib.data import default_voices_dir  # noqa: E402

SR = 16000
VARIANTS = {0: ("m1", "m2", "m3", "m4"), 1: ("f1", "f2", "f3", "f4")}  # gender 0 male, 1 female
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# Short non-digit words (no digit homophones such as 'to', 'for', 'ate', 'won'), each well under 1 s
WORDS = ("hello", "water", "morning", "yellow", "house", "garden", "river", "apple", "window",
         "paper", "music", "table", "happy", "orange", "purple", "coffee", "summer", "winter",
         "little", "people", "yes", "no", "stop", "go", "left", "right", "up", "down", "bird",
         "cat", "dog", "lamp", "bed", "wow", "sheila", "marvin", "follow", "learn", "visual",
         "silver")  # not "tree" (three) or "forward" (four): no digit-like sounds


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(default_voices_dir()),
                    help="output folder (default: $GGAN_VOICES_DIR or <repo>/data/synthetic_voices)")
    ap.add_argument("--voices-per-gender", type=int, default=8, help="voices per gender (8)")
    ap.add_argument("--takes", type=int, default=6, help="takes per digit and voice (6)")
    ap.add_argument("--n-digits", type=int, default=10, help="first N digits (10 = all)")
    ap.add_argument("--n-words", type=int, default=len(WORDS), help="first N words (all)")
    ap.add_argument("--seed", type=int, default=0, help="seed of pitches, speeds and jitter")
    ap.add_argument("--workers", type=int, default=2, help="parallel espeak-ng processes")
    ap.add_argument("--espeak", default="espeak-ng", help="espeak-ng executable")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    return ap.parse_args(argv)


def make_voices(n_per_gender: int, seed: int) -> list[dict]:
    """Voices: variant cycled per gender, seeded pitch 30-70 and speed 140-190 words/min."""
    rng = np.random.default_rng(seed)
    voices = []
    for gender, variants in VARIANTS.items():
        for v in range(n_per_gender):
            var = variants[v % len(variants)]
            pitch, speed = int(rng.integers(30, 71)), int(rng.integers(140, 191))
            voices.append({"gender": gender, "variant": var, "pitch": pitch, "speed": speed,
                           "voice": f"{var}p{pitch}s{speed}"})  # no '_': it separates name fields
    return voices


def plan(args) -> list[dict]:
    """Every clip to synthesise: folder, file name, text, voice settings and labels."""
    voices = make_voices(args.voices_per_gender, args.seed)
    rng = np.random.default_rng(args.seed + 1)
    jobs = []
    for v in voices:
        for d, word in enumerate(DIGITS[: args.n_digits]):
            for t in range(args.takes):
                # takes differ by a little jitter; take 0 is the voice's own setting
                dp, ds = (0, 0) if t == 0 else (int(rng.integers(-5, 6)), int(rng.integers(-10, 11)))
                jobs.append({**v, "set": "digits", "name": f"{d}_{v['voice']}_{t}.wav",
                             "text": word, "word": word, "digit": d,
                             "pitch": v["pitch"] + dp, "speed": v["speed"] + ds})
        for k, word in enumerate(WORDS[: args.n_words]):
            jobs.append({**v, "set": "words", "name": f"{v['gender']}_{v['voice']}_{k}.wav",
                         "text": word, "word": word, "digit": -1})
    return jobs


def synth(job: dict, out: Path, espeak: str) -> None:
    """Run espeak-ng for one clip, resample to 16 kHz mono, write it as 16-bit PCM."""
    import soxr

    target = out / job["set"] / job["name"]
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        raw = Path(tmp) / "raw.wav"
        cmd = [espeak, "-v", f"en+{job['variant']}", "-p", str(job["pitch"]), "-s",
               str(job["speed"]), "-w", str(raw), job["text"]]
        subprocess.run(cmd, check=True, capture_output=True)
        data, sr = sf.read(raw, dtype="float32", always_2d=True)
    wave = soxr.resample(data.mean(axis=1), sr, SR) if sr != SR else data.mean(axis=1)
    wave = trim(wave)
    peak = float(np.max(np.abs(wave))) or 1.0
    tmp_target = target.with_suffix(".tmp.wav")
    sf.write(tmp_target, 0.9 * wave / peak, SR, subtype="PCM_16")  # same loudness for every voice
    os.replace(tmp_target, target)


def trim(wave: np.ndarray, rel: float = 0.01, margin: int = 320) -> np.ndarray:
    """Cut espeak's leading / trailing silence (below rel x peak), keeping a 20 ms margin."""
    loud = np.flatnonzero(np.abs(wave) > rel * np.max(np.abs(wave)))
    if loud.size == 0:
        return wave
    return wave[max(0, loud[0] - margin): loud[-1] + 1 + margin]


def write_labels(folder: Path, jobs: list[dict]) -> None:
    """labels.csv of one folder (paths relative to it), atomically."""
    cols = ["path", "gender", "voice", "variant", "pitch", "speed", "word", "digit"]
    tmp = folder / "labels.csv.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        w.writerows({**j, "path": j["name"]} for j in jobs)
    os.replace(tmp, folder / "labels.csv")


def main(argv=None) -> int:
    """Synthesise every planned clip (in parallel) and write the label files."""
    args = parse_args(argv)
    if shutil.which(args.espeak) is None:
        raise SystemExit(f"{args.espeak} not found: install it (apt-get install espeak-ng) "
                         "or pass --espeak PATH")
    out = Path(args.out)
    jobs = plan(args)
    for s in ("digits", "words"):
        (out / s).mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max(1, args.workers)) as pool:
        list(tqdm(pool.map(lambda j: synth(j, out, args.espeak), jobs), total=len(jobs),
                  desc="espeak-ng", unit=" clips", disable=args.no_progress))
    for s in ("digits", "words"):
        write_labels(out / s, [j for j in jobs if j["set"] == s])
    print(f"[voices] wrote {len(jobs)} clips of {2 * args.voices_per_gender} voices to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
