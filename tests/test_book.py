"""The book: chapter format, Colab notebooks in sync, and the built HTML as a reader sees it.

The build itself (every chapter executed at small scale, warnings are errors) happens once per
session in the ``built_book`` fixture; set GGAN_SKIP_BOOK=1 to skip those tests locally.
"""
from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import yaml

from ggan_lib import book

ROOT = book.REPO_ROOT
CHAPTERS = book.chapter_sources()
#: Chapters whose page must carry playable audio (they play clips or reconstructions).
AUDIO_CHAPTERS = {"01_task_and_data", "02_audio_front_end", "04_generator", "08_algorithm1", "09_evaluation",
                  "10_exploring", "11_gender_guidance", "12_reproduction"}
WIDGET_CHAPTERS = {"10_exploring", "11_gender_guidance"}


def _toc_files() -> list[str]:
    """Every file named in _toc.yml (root + chapters), without suffix."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]):
        files += [c["file"] for c in part["chapters"]]
    return files


def test_toc_lists_every_chapter_and_nothing_missing():
    files = _toc_files()
    for f in files:
        assert any((ROOT / f).with_suffix(s).exists() for s in (".md", ".ipynb")), f"{f} in _toc.yml missing"
    for md in CHAPTERS:
        assert f"book/{md.stem}" in files, f"{md.name} is not in _toc.yml"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_has_colab_badge_and_setup_cell(md):
    text = md.read_text()
    assert f"book/colab/{md.stem}.ipynb" in text, "Open-in-Colab badge must point at the chapter's notebook"
    assert book.COLAB_SETUP in text, "first code cell must be ggan_lib.book.COLAB_SETUP verbatim"
    first_cell = text.split("```{code-cell}", 2)[1]
    assert "Colab set-up" in first_cell, "the Colab set-up cell must be the first code cell"


def test_colab_notebooks_in_sync():
    stale = book.sync_colab_notebooks(check=True)
    assert stale == [], f"run `python -m ggan_lib.cli.book sync-colab`: stale {stale}"


# --------------------------------------------------------------------------- the built book
@pytest.fixture(scope="session")
def built_book() -> Path:
    """Build the whole book once (small scale, executed, warnings are errors)."""
    if os.environ.get("GGAN_SKIP_BOOK"):
        pytest.skip("GGAN_SKIP_BOOK is set")
    log = ROOT / "_build" / "book-build.log"
    log.parent.mkdir(exist_ok=True)
    env = dict(os.environ, GGAN_SCALE=os.environ.get("GGAN_SCALE", "small"))
    jb = Path(sys.executable).with_name("jupyter-book")
    prep = subprocess.run([sys.executable, str(ROOT / "data_scripts" / "prepare_offline.py")],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    assert prep.returncode == 0, f"offline data preparation failed:\n{(prep.stdout + prep.stderr)[-4000:]}"
    proc = subprocess.run([str(jb), "build", str(ROOT), "--all", "--warningiserror", "--keep-going"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    log.write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, f"book build failed (log: {log}):\n{(proc.stdout + proc.stderr)[-6000:]}"
    return ROOT / "_build" / "html"


def _pages(html_root: Path) -> list[Path]:
    """The chapter pages of the built book."""
    return [html_root / "book" / f"{md.stem}.html" for md in CHAPTERS]


def _local_target(page: Path, ref: str) -> Path | None:
    """File a relative href/src points at, or None for external / in-page / data refs."""
    u = urlparse(ref)
    if u.scheme or ref.startswith(("#", "data:", "mailto:")) or not u.path:
        return None
    return (page.parent / unquote(u.path)).resolve()


@pytest.mark.timeout(2400)
def test_book_pages_have_no_broken_links_or_images(built_book):
    from bs4 import BeautifulSoup

    for page in _pages(built_book) + [built_book / "book" / "intro.html"]:
        assert page.exists(), f"{page.name} was not built"
        soup = BeautifulSoup(page.read_text(), "html.parser")
        refs = [a.get("href") for a in soup.find_all("a")] + [i.get("src") for i in soup.find_all("img")]
        for ref in filter(None, refs):
            target = _local_target(page, ref)
            assert target is None or target.exists(), f"{page.name}: broken link/image {ref}"


@pytest.mark.timeout(2400)
@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_pages_show_figures_audio_and_no_errors(built_book, md):
    from bs4 import BeautifulSoup

    page = built_book / "book" / f"{md.stem}.html"
    soup = BeautifulSoup(page.read_text(), "html.parser")
    text = soup.get_text()
    assert "Traceback (most recent call last)" not in text, f"{page.name} shows a traceback"
    figures = [i for i in soup.find_all("img") if "colab-badge" not in (i.get("src") or "")]
    assert figures, f"{page.name} has no figure"
    if md.stem in AUDIO_CHAPTERS:
        assert soup.find_all("audio"), f"{page.name} has no audio player"
    if md.stem in WIDGET_CHAPTERS:  # the static page carries each widget's snapshot and says where it runs live
        assert "needs a running kernel" in text, f"{page.name}: no note on the live widgets"
        assert len(soup.find_all("audio")) >= 5, f"{page.name}: widget snapshots without their audio"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.mark.timeout(2400)
def test_browser_renders_every_chapter(built_book):
    """Headless Chromium opens each chapter from a localhost server; a screenshot is saved."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not installed (.ci/setup installs it on Debian as root)")
    handler = functools.partial(_QuietHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    shots = ROOT / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    try:
        for md in CHAPTERS:
            out = shots / f"{md.stem}.png"
            out.unlink(missing_ok=True)
            url = f"http://127.0.0.1:{server.server_port}/book/{md.stem}.html"
            profile = ROOT / "_build" / ".chromium-profile"
            subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                            "--no-first-run", "--disable-background-networking",
                            "--disable-component-update", "--disable-sync",
                            f"--user-data-dir={profile}", "--window-size=1200,2400",
                            f"--screenshot={out}", url],
                           capture_output=True, timeout=120)
            assert out.exists() and out.stat().st_size > 20_000, f"no real screenshot of {url}"
    finally:
        server.shutdown()
