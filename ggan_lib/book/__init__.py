"""Helpers shared by the book's chapters: the size switch, Colab set-up and data locations."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from ggan_lib.io import paths

#: Where the project lives: the one place the address is written. The Colab badges, the Colab set-up
#: cell, the header's Launch → Colab button (ggan_lib.book.sphinx_ext) and sync-colab all derive from it.
REPO_URL = "https://github.com/ggan-book/ggan-book"
#: The branch the Colab links open.
REPO_BRANCH = "main"
#: The badge image, beside the chapters (a local file: the static book works offline).
COLAB_BADGE_IMAGE = "images/colab-badge.svg"
#: The public Free Spoken Digit Dataset (CC BY-SA 4.0), used by Colab where shared/ is absent.
FSDD_URL = "https://github.com/Jakobovski/free-spoken-digit-dataset"
FSDD_CREDIT = ("Audio: Free Spoken Digit Dataset (Z. Jackson et al., "
               "github.com/Jakobovski/free-spoken-digit-dataset), CC BY-SA 4.0.")

REPO_ROOT = paths.REPO_ROOT


def colab_url(stem: str) -> str:
    """The address that opens chapter ``stem``'s notebook (book/colab/<stem>.ipynb) in Colab."""
    repo = REPO_URL.removeprefix("https://github.com/").removesuffix(".git")
    return f"https://colab.research.google.com/github/{repo}/blob/{REPO_BRANCH}/book/colab/{stem}.ipynb"


def colab_badge(stem: str) -> str:
    """The Open-in-Colab badge line of chapter ``stem`` (Markdown)."""
    return f"[![Open in Colab]({COLAB_BADGE_IMAGE})]({colab_url(stem)})"


def prose(text: str):
    """Show text computed from a run as part of the page (Markdown): numbers in prose that cannot drift."""
    from IPython.display import Markdown, display

    display(Markdown(text))


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


_BADGE_LINE = re.compile(r"^\[!\[Open in Colab\]\([^)\n]*\)\]\([^)\n]*\)$", re.M)
_SETUP_CELL = re.compile(r"^# Colab set-up:.*?(?=\n```)", re.S | re.M)


def chapter_text(md_text: str, stem: str) -> str:
    """A chapter's MyST text with its badge and its set-up cell as REPO_URL makes them."""
    text = _BADGE_LINE.sub(lambda _: colab_badge(stem), md_text, count=1)
    return _SETUP_CELL.sub(lambda _: COLAB_SETUP, text, count=1)


def colab_notebook(md_path: Path):
    """The .ipynb (nbformat node, no outputs) that Colab opens for one MyST chapter.

    Its set-up cell is COLAB_SETUP; the badge is left out (in Colab the notebook is already open)."""
    import jupytext

    nb = jupytext.reads(chapter_text(Path(md_path).read_text(), md_path.stem), fmt="md:myst")
    nb.metadata.pop("jupytext", None)
    nb.metadata["accelerator"] = "GPU"  # Colab: ask for a GPU runtime, so chapters use the paper size
    nb.metadata["colab"] = {"provenance": [], "name": md_path.stem}
    for i, cell in enumerate(nb.cells):  # stable ids, so regenerating changes nothing
        cell["id"] = f"{md_path.stem[:2]}-{i:03d}"
        if cell.cell_type == "markdown":
            cell.source = _BADGE_LINE.sub("", cell.source).replace("\n\n\n", "\n\n").strip()
    return nb


def colab_notebook_text(md_path: Path) -> str:
    """The file sync-colab writes for one chapter: book/colab/<stem>.ipynb."""
    import nbformat

    return nbformat.writes(colab_notebook(md_path)) + "\n"


def sync_colab_notebooks(check: bool = False, book_dir: Path = BOOK_DIR,
                         out_dir: Path = COLAB_DIR) -> list[str]:
    """Bring every chapter's badge and set-up cell in line with REPO_URL and write its Colab notebook,
    book/colab/<chapter>.ipynb; with check=True only list the files that are out of date."""
    stale = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for md in chapter_sources(book_dir):
        text = md.read_text()
        if chapter_text(text, md.stem) != text:
            stale.append(md.name)
            if not check:
                md.write_text(chapter_text(text, md.stem))
        target = out_dir / f"{md.stem}.ipynb"
        if not (target.exists() and target.read_text() == colab_notebook_text(md)):
            stale.append(target.name)
            if not check:
                target.write_text(colab_notebook_text(md))
    return stale
