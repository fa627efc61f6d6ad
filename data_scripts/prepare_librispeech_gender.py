#!/usr/bin/env python
"""Prepare the gender guidance set: 50 male + 50 female LibriSpeech speakers, 5 min each, 1 s clips.

Downloads train-clean-100 (resumable, sha256-checked), reads SPEAKERS.TXT for each speaker's sex,
picks ``--n-per-gender`` speakers of each sex (seeded), streams their FLAC utterances out of the
tarball (no full extraction) and cuts each utterance into whole 1 s clips (16,000 samples at
16 kHz) until a speaker has ``--seconds`` of audio. Writes ``<out>/wav/{gender}_{speaker}_{k}.wav``
and ``<out>/labels.csv`` (path, gender 0=male 1=female, speaker, sex, source, start); the CSV is
written last and marks a finished run. Read it with
``LabelledFolder(out, "labels.csv", label_column="gender", n_classes=2)``.

    python data_scripts/prepare_librispeech_gender.py --out data/librispeech_gender
"""
from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm.auto import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install
from ggan_lib.data import default_librispeech_dir  # noqa: E402
from ggan_lib.io import atomic  # noqa: E402
from ggan_lib.io.download import fetch_archive_for_script, iter_tar  # noqa: E402

URL = "http://www.openslr.org/resources/12/train-clean-100.tar.gz"
# sha256 of train-clean-100.tar.gz (6.3 GB) as pinned by torchaudio.datasets.LIBRISPEECH
# (_CHECKSUMS in torchaudio/datasets/librispeech.py); OpenSLR itself publishes the md5
# 2a93770f6d5c6c964bc36631d331a522 (resources/12/md5sum.txt). Override with --sha256.
SHA256 = "d4ddd1d5a6ab303066f14971d768ee43278a5f2a0aa43dc716b0e64ecbbbf6e2"
GENDER = {"M": 0, "F": 1}  # label convention of the project: 0 = male, 1 = female
SR = 16000


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(default_librispeech_dir()),
                    help="output folder (default: $GGAN_LIBRISPEECH_DIR or <repo>/data/librispeech_gender)")
    ap.add_argument("--url", default=URL, help="tarball URL (http, https or file://)")
    ap.add_argument("--archive", help="use this local tarball instead of downloading")
    ap.add_argument("--sha256", default=SHA256, help="expected sha256 ('skip' to not check)")
    ap.add_argument("--download-dir", help="where the tarball goes (default: <out>/../downloads)")
    ap.add_argument("--subset", default="train-clean-100", help="LibriSpeech subset in the archive")
    ap.add_argument("--n-per-gender", type=int, default=50, help="speakers per gender (50)")
    ap.add_argument("--seconds", type=int, default=300, help="audio per speaker in s (300 = 5 min)")
    ap.add_argument("--clip-samples", type=int, default=SR, help="samples per clip (16000 = 1 s)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the speaker choice")
    ap.add_argument("--force", action="store_true", help="rebuild even if labels.csv exists")
    ap.add_argument("--no-progress", action="store_true", help="no progress bars")
    return ap.parse_args(argv)


def parse_speakers(text: str, subset: str) -> dict[str, tuple[str, float]]:
    """SPEAKERS.TXT -> {speaker id: (sex 'M'/'F', minutes)} for the speakers of ``subset``."""
    out = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith(";"):
            continue
        fields = [f.strip() for f in line.split("|", 4)]  # names may contain '|'
        if len(fields) >= 4 and fields[2] == subset and fields[1] in GENDER:
            out[fields[0]] = (fields[1], float(fields[3]))
    return out


def choose_speakers(speakers: dict, n: int, seconds: float, seed: int) -> dict[str, str]:
    """{speaker: sex}: n seeded picks per sex among speakers with at least ``seconds`` of audio."""
    rng = np.random.default_rng(seed)
    chosen = {}
    for sex in GENDER:
        pool = sorted((s for s, (x, mins) in speakers.items() if x == sex and mins * 60 >= seconds),
                      key=int)
        if len(pool) < n:
            raise SystemExit(f"only {len(pool)} {sex} speakers with >= {seconds} s; need {n}")
        chosen.update({str(s): sex for s in rng.choice(pool, n, replace=False)})
    return chosen


def read_speakers_txt(archive: Path, subset: str) -> dict:
    """Find LibriSpeech/SPEAKERS.TXT in the tarball (it comes first: the pass stops there)."""
    for name, f in iter_tar(archive, keep=lambda n: n.endswith("SPEAKERS.TXT")):
        return parse_speakers(f.read().decode("utf-8", errors="replace"), subset)
    raise SystemExit(f"{archive}: no SPEAKERS.TXT; is this a LibriSpeech tarball?")


def clips_of(data: np.ndarray, sr: int, clip: int) -> list[tuple[int, np.ndarray]]:
    """(start, clip) for the whole non-silent clips of one utterance (the remainder is dropped)."""
    if data.ndim == 2:
        data = data.mean(axis=1)
    if sr != SR:
        import soxr

        data = soxr.resample(data, sr, SR)
    n = len(data) // clip
    blocks = data[: n * clip].reshape(n, clip)
    return [(k * clip, c) for k, c in enumerate(blocks) if np.any(c)]  # all-zero clips are unusable


def cut_clips(archive: Path, out: Path, chosen: dict, args) -> list[dict]:
    """Stream the chosen speakers' FLACs and write 1 s clips until each has enough; CSV rows."""
    need = args.seconds * SR // args.clip_samples
    have = {s: 0 for s in chosen}
    rows = []
    prefix = f"LibriSpeech/{args.subset}/"

    def wanted(name: str) -> bool:
        parts = name[len(prefix):].split("/")
        return (name.startswith(prefix) and name.endswith(".flac") and len(parts) == 3
                and parts[0] in have and have[parts[0]] < need)

    (out / "wav").mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=need * len(chosen), desc="clips", unit=" clips", disable=args.no_progress)
    for name, f in iter_tar(archive, keep=wanted):
        spk = name[len(prefix):].split("/")[0]
        data, sr = sf.read(io.BytesIO(f.read()), dtype="float32")
        for start, clip in clips_of(data, sr, args.clip_samples):
            if have[spk] >= need:
                break
            g = GENDER[chosen[spk]]
            rel = f"wav/{g}_{spk}_{have[spk]:04d}.wav"
            sf.write(out / rel, clip, SR, subtype="PCM_16")
            rows.append({"path": rel, "gender": g, "speaker": spk, "sex": chosen[spk],
                         "source": Path(name).name, "start": start})
            have[spk] += 1
            bar.update(1)
        if min(have.values()) >= need:
            break  # every speaker is complete: no need to read the rest of a 6 GB archive
    bar.close()
    short = {s: n for s, n in have.items() if n < need}
    if short:
        print(f"[librispeech] warning: {len(short)} speaker(s) have fewer than {need} clips: {short}")
    return rows


def write_labels(out: Path, rows: list[dict]) -> Path:
    """labels.csv, atomically (it marks a finished run)."""
    return atomic.write_csv(out / "labels.csv", rows, ["path", "gender", "speaker", "sex", "source", "start"])


def main(argv=None) -> int:
    """Download, pick speakers, cut clips, write labels.csv."""
    args = parse_args(argv)
    out = Path(args.out)
    if (out / "labels.csv").exists() and not args.force:
        print(f"[librispeech] {out}/labels.csv exists: already prepared (use --force to redo)")
        return 0
    archive = fetch_archive_for_script("librispeech", args, out)
    speakers = read_speakers_txt(archive, args.subset)
    chosen = choose_speakers(speakers, args.n_per_gender, args.seconds, args.seed)
    rows = cut_clips(archive, out, chosen, args)
    write_labels(out, rows)
    n_f = sum(r["gender"] for r in rows)
    print(f"[librispeech] wrote {len(rows)} clips ({len(rows) - n_f} male, {n_f} female) "
          f"of {len(chosen)} speakers to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
