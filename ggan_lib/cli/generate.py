"""``python -m ggan_lib generate --model NAME --per-class N --out DIR``: write c{class}_{i}.wav per class.

The clips are G(E(z, c)) of the model (its EMA generator when it has one) through PGHI phase
reconstruction, 16 kHz, one second; z from --seed. Judge them with ``python -m ggan_lib judge DIR``.
"""
import argparse
import sys

from ggan_lib.experiments.listen import generate_files
from ggan_lib.experiments.zoo import load_model


def main(argv=None) -> int:
    """Generate per_class clips of every class into --out."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="ggan-fsdd-small",
                   help="a shipped model name, an exported .pt or a training checkpoint.pt")
    p.add_argument("--per-class", type=int, default=10, help="clips per class")
    p.add_argument("--out", required=True, help="output folder (created)")
    p.add_argument("--seed", type=int, default=0, help="seed of the latent codes z")
    p.add_argument("--n-gla", type=int, default=0, help="fast Griffin-Lim iterations after PGHI")
    a = p.parse_args(argv)
    if a.per_class < 1:
        p.error("--per-class must be >= 1")
    paths = generate_files(load_model(a.model), a.per_class, a.out, seed=a.seed, n_gla=a.n_gla)
    print(f"wrote {len(paths)} clips to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
