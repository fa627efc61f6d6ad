"""``python -m ggan_lib.cli.reproduce --table 1|2``: plan, run (resuming), build the table and the manifest.

See :mod:`ggan_lib.experiments.reproduce` for what each step does; this module only parses the command line.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from ggan_lib.book.reports import write_table
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
    out = Path(a.out or rp.default_out(a.data, a.preset)).resolve()
    clf = a.metric_classifier
    clf = str(Path(clf).resolve()) if clf not in (None, "train") else clf
    threads = a.threads if a.threads is not None else (1 if a.preset == "tiny" else 0)
    return rp.Options(a.preset, a.data, out, tuple(a.fractions), a.draws, _iters(a.iters, a.preset), a.device,
                      a.seed, threads, a.table1_fraction, clf, not a.no_progress)


def print_plan(runs: list[rp.Run], out: Path) -> None:
    """One line per run: would run / would skip, and its main parameters."""
    for i, r in enumerate(runs, 1):
        state = "finished" if rp.is_finished(r, out / "runs" / r.name) else "to run"
        keys = {k: v for k, v in r.params.items() if k not in ("device", "threads", "progress", "data")}
        print(f"{i:3d}. {r.name:<24} {r.notebook:<24} {state:<9} {json.dumps(keys)}")


def _report(records: list[rp.RunRecord], n_runs: int, out: Path) -> int:
    """Print what was left to other runners and what failed; the exit code (1 when a run failed)."""
    elsewhere = [r.name for r in records if r.status == "elsewhere"]
    if elsewhere:
        print(f"{len(elsewhere)} run(s) left to other runners on {out}: {', '.join(elsewhere)}; "
              "the last runner to finish writes the complete table")
    bad = [r for r in records if r.status in ("failed", "blocked")]
    for r in bad:
        print(f"{r.status.upper()}: {r.error}", file=sys.stderr)
    return 1 if bad or len(records) < n_runs else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Plan, run (resuming), build the table and the manifest; exit code 1 when a run failed."""
    argv = list(sys.argv[1:] if argv is None else argv)
    a = parse_args(argv)
    o = options(a)
    runs = rp.plan(a.table, o)
    print(f"Table {'I' * a.table}: {len(runs)} runs in {o.out}")
    if a.dry_run:
        print_plan(runs, o.out)
        return 0
    records = rp.run_all(runs, o.out, keep_going=a.keep_going, progress=o.progress)
    _, md_path = write_table(o.out, a.table, runs)
    rp.write_manifest(o.out, argv, a.table, records)
    print(md_path.read_text())
    return _report(records, len(runs), o.out)


if __name__ == "__main__":
    raise SystemExit(main())
