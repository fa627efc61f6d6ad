"""``python -m ggan_lib.cli.reproduce``: see :mod:`ggan_lib.experiments.reproduce`."""
import sys

from ggan_lib.experiments.reproduce import main

if __name__ == "__main__":
    sys.exit(main())
