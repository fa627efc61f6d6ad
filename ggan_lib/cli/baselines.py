"""``python -m ggan_lib.cli.baselines --preset small --fractions 0.01 0.05``: the CNN rows of Table II."""
import argparse
import json
import sys
from pathlib import Path

import torch

from ggan_lib.config import BASELINE_PRESETS
from ggan_lib.experiments.protocol import fsdd_cnn_protocol


def main(argv=None) -> int:
    """``python -m ggan_lib.cli.baselines --preset small --fractions 0.01 0.05``: the CNN rows of Table II."""
    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("--preset", default="small", choices=sorted(BASELINE_PRESETS))
    p.add_argument("--fractions", type=float, nargs="+", default=[0.01, 0.05])
    p.add_argument("--draws", type=int, default=5)
    p.add_argument("--iters", type=int, default=None, help="CNN steps (default: the preset's cnn_iters)")
    p.add_argument("--fsdd-dir", default=None)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", default=None, help="also write the rows to this JSON file")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    res = fsdd_cnn_protocol(a.preset, tuple(a.fractions), a.draws, a.iters, a.fsdd_dir)
    for r in res.rows:
        print(json.dumps(r))
    print(res.format_table())
    if a.json:
        Path(a.json).write_text(json.dumps(res.rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
