"""``python -m ggan_lib.cli.reproduce --table 1|2``: plan, run (resuming), build the table and the manifest.

See :mod:`ggan_lib.experiments.reproduce` for what each step does; this module only parses the command line.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from ggan_lib.book.reports import write_markdown, write_table
from ggan_lib.data import folder_speakers
from ggan_lib.data.splits import data_spec
from ggan_lib.experiments import reproduce as rp


def _iters(pairs: Sequence[str], preset: str) -> dict[str, Any]:
    """The preset's RUN_DEFAULTS with NAME=VALUE overrides (ints where the default is an int)."""
    out = dict(rp.RUN_DEFAULTS[preset])
    for pair in pairs:
        key, sep, val = pair.partition("=")
        if not sep or key not in out:
            raise SystemExit(f"--iters takes NAME=VALUE with NAME in {sorted(out)}, got {pair!r}")
        out[key] = type(out[key])(val)
    return out


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line arguments."""
    p = argparse.ArgumentParser(description=rp.__doc__.split("\n")[0],
                                epilog="--iters names: " + ", ".join(rp.RUN_DEFAULTS["tiny"]))
    p.add_argument("--table", type=int, choices=[1, 2], required=True)
    p.add_argument("--preset", default="small", choices=sorted(rp.RUN_DEFAULTS))
    p.add_argument("--data", default="fsdd", help="fsdd, sc09 or a folder of {digit}_{speaker}_{index}.wav")
    p.add_argument("--test-speaker", default=None, metavar="NAME|all",
                   help="speaker-disjoint split (the paper's protocol; Table II): every clip of NAME is the test "
                        "set, the other speakers train; 'all' rotates over every speaker of the folder, one "
                        "results folder each under --out, and pools them into --out/table2.csv")
    p.add_argument("--fractions", type=float, nargs="+", default=[0.01, 0.02, 0.03, 0.04, 0.05])
    p.add_argument("--draws", type=int, default=5, help="label draws per fraction (paper: 5)")
    p.add_argument("--table1-fraction", type=float, default=0.05, help="labels guiding Table I's GGAN (paper: 5 %%)")
    p.add_argument("--iters", nargs="*", default=[], metavar="NAME=N", help="override iteration counts / sizes")
    p.add_argument("--metric-classifier", default=None,
                   help="IS / FID classifier .pt, or 'train' (default: models/metric_classifier_fsdd.pt for "
                        "fsdd small / paper, else train one in the run)")
    p.add_argument("--out", default=None, help="results folder (default results/<data>-<preset>)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads in each notebook (0: torch's default; default 1 for tiny, where "
                        "oversubscribed threads make tiny networks ~100x slower)")
    p.add_argument("--keep-going", action="store_true", help="go on after a failed run (its dependants are blocked)")
    # several runners may share one --out: each claims the next free run (runs/<name>/.claim)
    p.add_argument("--dry-run", action="store_true", help="print the plan and exit")
    p.add_argument("--no-progress", action="store_true")
    return p.parse_args(argv)


def options(a: argparse.Namespace) -> rp.Options:
    """Options from parsed arguments."""
    data = data_spec(a.data, getattr(a, "test_speaker", None))
    out = Path(a.out or rp.default_out(data, a.preset)).resolve()
    clf = a.metric_classifier
    clf = str(Path(clf).resolve()) if clf not in (None, "train") else clf
    threads = a.threads if a.threads is not None else (1 if a.preset == "tiny" else 0)
    return rp.Options(a.preset, data, out, tuple(a.fractions), a.draws, _iters(a.iters, a.preset), a.device,
                      a.seed, threads, a.table1_fraction, clf, not a.no_progress)


def print_plan(runs: list[rp.Run], out: Path) -> None:
    """One line per run: would run / would skip, and its main parameters."""
    for i, r in enumerate(runs, 1):
        state = "finished" if rp.is_finished(r, out / "runs" / r.name) else "to run"
        keys = {k: v for k, v in r.params.items() if k not in ("device", "threads", "progress", "data")}
        print(f"{i:3d}. {r.name:<24} {r.notebook:<24} {state:<9} {json.dumps(keys)}")


def _report(records: list[rp.RunRecord], runs: list[rp.Run], out: Path) -> int:
    """Print what was left to other runners and is still unfinished, and what failed; the exit code (1 when
    a run failed)."""
    by_name = {r.name: r for r in runs}
    elsewhere = [r.name for r in records if r.status == "elsewhere"
                 and not rp.is_finished(by_name[r.name], out / "runs" / r.name)]
    if elsewhere:
        print(f"{len(elsewhere)} run(s) left to other runners on {out} and not finished yet: {', '.join(elsewhere)}; "
              "the last runner to finish writes the complete table")
    bad = [r for r in records if r.status in ("failed", "blocked")]
    for r in bad:
        print(f"{r.status.upper()}: {r.error}", file=sys.stderr)
    return 1 if bad or len(records) < len(runs) else 0


def _run_table(a: argparse.Namespace, o: rp.Options, argv: list[str]) -> tuple[list[rp.Run], int]:
    """Plan, run (resuming) and write one results folder's table and manifest; (runs, exit code)."""
    runs = rp.plan(a.table, o)
    print(f"Table {'I' * a.table}: {len(runs)} runs in {o.out}")
    if a.dry_run:
        print_plan(runs, o.out)
        return runs, 0
    records = rp.run_all(runs, o.out, keep_going=a.keep_going, progress=o.progress)
    _, md_path = write_table(o.out, a.table, runs)
    rp.write_manifest(o.out, argv, a.table, records)
    print(md_path.read_text())
    return runs, _report(records, runs, o.out)


def _speaker_folds(a: argparse.Namespace, argv: list[str]) -> int:
    """--test-speaker all: one results folder per held-out speaker under --out, then the pooled Table II."""
    if a.table != 2:
        raise SystemExit("--test-speaker all is for Table II (Table I scores generation, not a test split)")
    default = rp.default_out(a.data, a.preset)
    base = Path(a.out or default.with_name(default.name + "-speakers")).resolve()
    folder, _, _ = rp.data_source(a.data, "train")
    parts, code, speakers = [], 0, folder_speakers(folder)
    for speaker in speakers:
        fold = argparse.Namespace(**{**vars(a), "test_speaker": speaker, "out": str(base / f"test-{speaker}")})
        o = options(fold)
        runs, rc = _run_table(fold, o, argv)
        parts.append((o.out, runs))
        code = max(code, rc)
    if not a.dry_run:
        _write_pool(base, speakers, parts)
    return code


def _write_pool(base: Path, speakers: list[str], parts: list[tuple[Path, list]]) -> None:
    """base/table2_runs.csv (every planned run of every fold) and, only once every fold's runs have all
    finished, the pooled Table II (base/table2.csv, .md); before that, no pooled table (a stale one is removed):
    a pool of some folds' draws would weigh the methods unequally."""
    import pandas as pd
    rp.write_runs_csv(base, 2, pd.concat([rp.runs_table(out, runs, test_speaker=spk)
                                          for spk, (out, runs) in zip(speakers, parts)], ignore_index=True))
    left = sum(not rp.is_finished(r, out / "runs" / r.name) for out, runs in parts for r in runs)
    if left:
        for stale in (base / "table2.csv", base / "table2.md"):
            stale.unlink(missing_ok=True)
        total = sum(len(runs) for _, runs in parts)
        print(f"pooled Table II not written: {left} of {total} runs of the {len(parts)} folds are not finished")
        return
    df = rp.pooled_table2(parts)
    rp.write_csv(base, 2, df)
    print(f"pooled over {len(parts)} held-out speakers:\n" + write_markdown(base, 2, df).read_text())


def main(argv: Sequence[str] | None = None) -> int:
    """Plan, run (resuming), build the table and the manifest; exit code 1 when a run failed."""
    argv = list(sys.argv[1:] if argv is None else argv)
    a = parse_args(argv)
    if a.test_speaker == "all":
        return _speaker_folds(a, argv)
    return _run_table(a, options(a), argv)[1]


if __name__ == "__main__":
    raise SystemExit(main())
