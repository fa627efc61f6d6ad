"""``python -m ggan_lib.cli.pretrained``: see :mod:`ggan_lib.experiments.pretrained`."""
import sys

from ggan_lib.experiments.pretrained import main

if __name__ == "__main__":
    sys.exit(main())
