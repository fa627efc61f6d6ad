"""Helpers shared by the book's chapters: the size switch, Colab set-up and data locations."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from ggan_lib.io import paths

#: Where the project lives; the Colab set-up cell installs it from here.
REPO_URL = "https://github.com/ggan-book/ggan-book"
#: The public Free Spoken Digit Dataset (CC BY-SA 4.0), used by Colab where shared/ is absent.
FSDD_URL = "https://github.com/Jakobovski/free-spoken-digit-dataset"
FSDD_CREDIT = ("Audio: Free Spoken Digit Dataset (Z. Jackson et al., "
               "github.com/Jakobovski/free-spoken-digit-dataset), CC BY-SA 4.0.")

REPO_ROOT = paths.REPO_ROOT


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


COLAB_SETUP = f"""# Colab set-up: clones the project and FSDD and installs the library, only when run in Colab.
import sys
if "google.colab" in sys.modules:
    !git clone -q --depth 1 {REPO_URL} /content/ggan-book
    !pip -q install -e /content/ggan-book
    !git clone -q --depth 1 {FSDD_URL} /content/free-spoken-digit-dataset
    sys.path.insert(0, "/content/ggan-book")"""
"""The first code cell of every chapter (checked by tests/test_book.py)."""


# --------------------------------------------------------------------------- Colab notebooks
BOOK_DIR = REPO_ROOT / "book"
COLAB_DIR = BOOK_DIR / "colab"


def chapter_sources(book_dir: Path = BOOK_DIR) -> list[Path]:
    """The chapters that are notebooks: book/NN_*.md files with a jupytext header."""
    return sorted(p for p in book_dir.glob("[0-9][0-9]_*.md") if "jupytext:" in p.read_text()[:400])


def colab_notebook(md_path: Path):
    """The .ipynb (nbformat node, no outputs) that Colab opens for one MyST chapter."""
    import jupytext

    nb = jupytext.read(md_path)
    nb.metadata.pop("jupytext", None)
    nb.metadata["accelerator"] = "GPU"  # Colab: ask for a GPU runtime, so chapters use the paper size
    nb.metadata["colab"] = {"provenance": [], "name": md_path.stem}
    for i, cell in enumerate(nb.cells):  # stable ids, so regenerating changes nothing
        cell["id"] = f"{md_path.stem[:2]}-{i:03d}"
    return nb


def sync_colab_notebooks(check: bool = False, book_dir: Path = BOOK_DIR,
                         out_dir: Path = COLAB_DIR) -> list[str]:
    """Write book/colab/<chapter>.ipynb for every chapter; with check=True only list stale ones."""
    import nbformat

    stale = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for md in chapter_sources(book_dir):
        target = out_dir / f"{md.stem}.ipynb"
        text = nbformat.writes(colab_notebook(md)) + "\n"
        if target.exists() and target.read_text() == text:
            continue
        stale.append(target.name)
        if not check:
            target.write_text(text)
    return stale
