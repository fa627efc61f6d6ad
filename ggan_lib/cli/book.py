"""``python -m ggan_lib.cli.book sync-colab [--check]``: keep book/colab/*.ipynb equal to the chapters."""
import argparse
import sys

from ggan_lib.book import sync_colab_notebooks


def main(argv=None) -> int:
    """Write (or with --check, only list) the Colab notebooks that differ from their chapters."""
    ap = argparse.ArgumentParser(description="Book helpers")
    ap.add_argument("command", choices=["sync-colab"])
    ap.add_argument("--check", action="store_true", help="fail if a Colab notebook is out of date")
    args = ap.parse_args(argv)
    changed = sync_colab_notebooks(check=args.check)
    if args.check and changed:
        sys.exit(f"out of date (run python -m ggan_lib.cli.book sync-colab): {', '.join(changed)}")
    print("\n".join(changed) or "Colab notebooks up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
