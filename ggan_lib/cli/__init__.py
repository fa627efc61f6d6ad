"""Command-line entry points: ``python -m ggan_lib <command>`` or ``python -m ggan_lib.cli.<command>``."""
