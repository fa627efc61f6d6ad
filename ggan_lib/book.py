"""Helpers shared by the book's chapters: the size switch, Colab set-up and data locations."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: Where the project lives; the Colab set-up cell installs it from here.
REPO_URL = "https://github.com/ggan-book/ggan-book"
#: The public Free Spoken Digit Dataset (CC BY-SA 4.0), used by Colab where shared/ is absent.
FSDD_URL = "https://github.com/Jakobovski/free-spoken-digit-dataset"
FSDD_CREDIT = ("Audio: Free Spoken Digit Dataset (Z. Jackson et al., "
               "github.com/Jakobovski/free-spoken-digit-dataset), CC BY-SA 4.0.")

REPO_ROOT = Path(__file__).resolve().parents[1]


def in_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules


def has_gpu() -> bool:
    """True when a CUDA device is available."""
    import torch

    return torch.cuda.is_available()


def scale() -> str:
    """The chapter size switch: GGAN_SCALE if set ('tiny'|'small'|'paper'), else paper on a GPU, small on CPU."""
    s = os.environ.get("GGAN_SCALE", "").strip().lower()
    if s:
        if s not in {"tiny", "small", "paper"}:
            raise ValueError(f"GGAN_SCALE must be tiny, small or paper, not {s!r}")
        return s
    return "paper" if has_gpu() else "small"


def device() -> str:
    """'cuda' when available, else 'cpu'."""
    return "cuda" if has_gpu() else "cpu"


def fsdd_dir() -> Path:
    """The FSDD recordings folder: GGAN_FSDD_DIR, else the project's shared copy, else Colab's clone."""
    env = os.environ.get("GGAN_FSDD_DIR")
    candidates = [Path(env)] if env else []
    candidates += [REPO_ROOT.parent / "shared" / "data" / "fsdd" / "recordings",
                   Path("/content/free-spoken-digit-dataset/recordings")]
    for c in candidates:
        if c.is_dir():
            return c
    raise FileNotFoundError(
        "FSDD recordings not found; looked in: " + ", ".join(str(c) for c in candidates)
        + f". Set GGAN_FSDD_DIR or clone {FSDD_URL}.")


def colab_setup() -> None:
    """In Colab only: install the project and clone FSDD; elsewhere do nothing."""
    if not in_colab():
        return
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"git+{REPO_URL}"], check=True)
    target = Path("/content/free-spoken-digit-dataset")
    if not target.exists():
        subprocess.run(["git", "clone", "--depth", "1", FSDD_URL, str(target)], check=True)
    os.environ.setdefault("GGAN_FSDD_DIR", str(target / "recordings"))
