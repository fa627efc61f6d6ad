"""The book: chapter format, Colab notebooks in sync, and the built HTML as a reader sees it.

The build itself (every chapter executed at small scale, warnings are errors) happens once per
session in the ``built_book`` fixture; set GGAN_SKIP_BOOK=1 to skip those tests locally. The
browser test opens every built page from disk in headless Chromium with every host name resolving
to nothing (ggan_lib.book.browser), and saves screenshots at 1280 and 1600 px to _build/screenshots/.
"""
from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import wave
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pytest
import yaml

from ggan_lib import book
from ggan_lib.book import browser

ROOT = book.REPO_ROOT
CHAPTERS = book.chapter_sources()
#: Chapters whose page must carry playable audio (they play clips or reconstructions). Chapter 12 refers to
#: chapter 8 for the shipped run's snapshots instead of playing them again.
AUDIO_CHAPTERS = {"01_task_and_data", "02_audio_front_end", "04_generator", "08_algorithm1", "09_evaluation",
                  "10_exploring", "11_gender_guidance"}
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
    assert book.colab_badge(md.stem) in text.splitlines(), \
        "the badge must be ggan_lib.book.colab_badge(stem): the local image, the chapter's notebook (sync-colab)"
    assert book.colab_url(md.stem).endswith(f"book/colab/{md.stem}.ipynb")
    assert book.COLAB_SETUP in text, "first code cell must be ggan_lib.book.COLAB_SETUP verbatim"
    first_cell = text.split("```{code-cell}", 2)[1]
    assert "Colab set-up" in first_cell, "the Colab set-up cell must be the first code cell"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_colab_notebook_is_what_sync_colab_writes(md):
    """book/colab/NN.ipynb is byte for byte what `python -m ggan_lib.cli.book sync-colab` writes from NN.md."""
    nb = book.COLAB_DIR / f"{md.stem}.ipynb"
    assert nb.is_file(), f"{nb.name} missing: run `python -m ggan_lib.cli.book sync-colab`"
    assert nb.read_text() == book.colab_notebook_text(md), \
        f"{nb.name} differs from its chapter: run `python -m ggan_lib.cli.book sync-colab`"
    assert "colab-badge" not in nb.read_text(), "the notebook Colab opens needs no Open-in-Colab badge"


def test_colab_notebooks_in_sync():
    stale = book.sync_colab_notebooks(check=True)
    assert stale == [], f"run `python -m ggan_lib.cli.book sync-colab`: stale {stale}"
    extra = {p.stem for p in book.COLAB_DIR.glob("*.ipynb")} - {md.stem for md in CHAPTERS}
    assert not extra, f"notebooks in book/colab without a chapter: {sorted(extra)}"


def test_repository_address_is_one_constant():
    """REPO_URL is written once: _config.yml and the chapters' badges and set-up cells derive from it."""
    assert book.REPO_URL not in (ROOT / "_config.yml").read_text()
    for md in CHAPTERS:
        text = md.read_text()
        assert text.count(book.REPO_URL) == text.count(book.COLAB_SETUP) == 1, md.name
    assert book.REPO_URL.removeprefix("https://github.com/") in book.colab_url("01_task_and_data")


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
        html = page.read_text()
        assert "widget-state+json" not in html and "widget-view+json" not in html, f"{page.name}: widget state"


def _wav_data_uri(peak: float) -> str:
    """A 0.2 s, 16 kHz PCM WAV as a data: URI (a tone of this peak; 0: digital silence)."""
    t = np.arange(3200) / 16000
    pcm = (peak * 32767 * np.sin(2 * np.pi * 440 * t)).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm.tobytes())
    return "data:audio/wav;base64," + base64.b64encode(buf.getvalue()).decode()


@pytest.mark.browser
@pytest.mark.timeout(300)
def test_browser_check_catches_what_a_reader_would_meet(tmp_path):
    """The checker itself, on a page made to fail every way: raw TeX, a broken and a remote image, a console
    error, a silent and an undecodable clip, a figure wider than the column, and its size."""
    if browser.find_chromium() is None:
        pytest.skip("chromium not installed (.ci/setup installs it on Debian as root)")
    page = tmp_path / "bad.html"
    page.write_text(f"""<html><body><main><article class="bd-article" style="width:600px">
<p>Inline math left as TeX: \\(z_e = E(z, c)\\) and $x$.</p>
<img src="missing.png"><img src="https://cdn.example.org/badge.svg">
<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==" style="width:900px;height:10px">
<audio controls src="{_wav_data_uri(0.5)}"></audio><audio controls src="{_wav_data_uri(0.0)}"></audio>
<audio controls src="data:audio/wav;base64,AAAA"></audio>
<pre>code may hold \\(this\\) and $this$</pre>
<script>console.error("boom")</script></article></main></body></html>""")
    rep = browser.check_pages([page], widths=(1280,))[0]
    problems = "\n".join(rep.problems(max_bytes=100))
    assert "\\(z_e" in problems and "$x$" in problems and "code may" not in problems, problems
    assert "broken image: missing.png" in problems and "cdn.example.org" in problems, problems
    assert "boom" in problems and "ERR_NAME_NOT_RESOLVED" in problems, problems
    assert "audio 1 is silent" in problems and "audio 2 does not decode" in problems, problems
    assert "audio 0" not in problems, problems
    assert "px past the column" in problems and "over" in problems, problems


def _check_built_pages(html_root: Path) -> list[browser.PageReport]:
    pages = _pages(html_root) + [html_root / "book" / "intro.html"]
    return browser.check_pages(pages, shots=ROOT / "_build" / "screenshots")


@pytest.mark.browser
@pytest.mark.timeout(2400)
def test_browser_reads_every_page_offline(built_book):
    """Every built page, opened from disk in headless Chromium with the network blocked: math typeset, no raw TeX,
    no broken image, no console error, every clip decodes and is not silent, nothing wider than the text column,
    no page over browser.MAX_PAGE_BYTES; screenshots at 1280 and 1600 px in _build/screenshots/."""
    if browser.find_chromium() is None:
        pytest.skip("chromium not installed (.ci/setup installs it on Debian as root)")
    reports = _check_built_pages(built_book)
    failures = {r.name: r.problems() for r in reports if r.problems()}
    assert not failures, "\n".join(f"{n}:\n  " + "\n  ".join(p) for n, p in failures.items())
    for r in reports:
        assert len(r.screenshots) == len(browser.WIDTHS), r.name
        assert all(p.stat().st_size > 20_000 for p in r.screenshots), f"{r.name}: blank screenshot"
        if 'class="math' in r.path.read_text():
            assert r.math_typeset, f"{r.name}: MathJax did not run"
    by_name = {r.name: r for r in reports}
    for stem in AUDIO_CHAPTERS:
        assert by_name[f"{stem}.html"].audio, f"{stem}: no audio player decoded"
