"""Files that must never be half-written: atomic writes, checkpoints, metric logs, downloads."""
