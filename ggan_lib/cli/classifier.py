"""``python -m ggan_lib.cli.classifier``: see :mod:`ggan_lib.metrics.train_classifier`."""
import sys

from ggan_lib.metrics.train_classifier import main

if __name__ == "__main__":
    sys.exit(main())
