"""``python -m ggan_lib.cli.pretrained export|measure``: make the shipped models (see
:mod:`ggan_lib.experiments.pretrained`).

    python -m ggan_lib.cli.pretrained export runs/ggan_fsdd_small/best.pt models/ggan_fsdd_small.pt --card card.json
    python -m ggan_lib.cli.pretrained measure models/ggan_fsdd_small.pt   # writes the measured figures into the card
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from ggan_lib.experiments.pretrained import export_checkpoint, measure_card


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments: the export and measure subcommands."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("checkpoint")
    e.add_argument("out")
    e.add_argument("--name", default="ggan-fsdd-small")
    e.add_argument("--card", default=None, help="JSON file with card fields to include (command, notes, ...)")
    m = sub.add_parser("measure")
    m.add_argument("path")
    m.add_argument("--n-clips", type=int, default=None,
                   help="generated clips scored (default: as many as the real reference, so that IS compares "
                        "equal clip counts per split)")
    m.add_argument("--n-real", type=int, default=None,
                   help="training clips of the FID references (default: the model preset's EvalConfig.n_real; "
                        "Table I: 1000)")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--threads", type=int, default=None)
    return p.parse_args(argv)


def main(argv=None) -> int:
    """export: training checkpoint -> models/*.pt + card; measure: write the measured figures into the card."""
    a = parse_args(argv)
    if getattr(a, "threads", None):
        torch.set_num_threads(a.threads)
    if a.cmd == "export":
        extra = json.loads(Path(a.card).read_text()) if a.card else {}
        out = export_checkpoint(a.checkpoint, a.out, a.name, extra)
        print(f"[pretrained] {out} ({out.stat().st_size / 1e6:.2f} MB)", file=sys.stderr)
        return 0
    command = "python -m ggan_lib.cli.pretrained " + " ".join(sys.argv[1:] if argv is None else argv)
    metrics = measure_card(a.path, command, n_clips=a.n_clips, n_real=a.n_real, seed=a.seed, progress=True)
    print(json.dumps(metrics, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
