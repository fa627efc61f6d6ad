"""``python -m ggan_lib.cli.gender``: see :mod:`ggan_lib.experiments.gender`."""
import sys

from ggan_lib.experiments.gender import main

if __name__ == "__main__":
    sys.exit(main())
