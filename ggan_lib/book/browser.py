"""The built book as a reader meets it: headless Chromium, no network, every page checked and photographed.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON messages
ending in a NUL byte on file descriptors 3 and 4), so nothing beyond the standard library and the
system's ``chromium`` is needed. Every host name resolves to nothing (``--host-resolver-rules``), so a
page that needs a CDN shows it: as a console error, as raw TeX, as a broken image.

:func:`check_pages` opens each page from disk (``file://``) and returns a :class:`PageReport` per page:
console errors, raw TeX left visible, broken images, audio players that do not decode or are silent,
content wider than the text column, and the page's size (its HTML plus the local images it shows).

    from ggan_lib.book import browser
    reports = browser.check_pages(sorted(Path("_build/html/book").glob("*.html")), shots="_build/screenshots")
    for r in reports:
        print(r.name, r.problems())
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence
from urllib.parse import unquote, urlparse

#: A page (HTML + the local images it shows) larger than this is too large to read offline comfortably.
MAX_PAGE_BYTES = 3 * 1024 * 1024
#: A clip whose peak (of a -1..1 signal) is below this is silent.
SILENCE_PEAK = 1e-3
#: Window widths the screenshots are taken at (the issue's 1280 px window has a 688 px text column).
WIDTHS = (1280, 1600)

_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-extensions", "--disable-quic", "--mute-audio", "--autoplay-policy=no-user-gesture-required",
          "--host-resolver-rules=MAP * ~NOTFOUND", "--allow-file-access-from-files"]


def find_chromium() -> str | None:
    """The system's chromium executable, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


class Browser:
    """One headless Chromium, spoken to over the DevTools pipe (a context manager)."""

    def __init__(self, executable: str | None = None, timeout: float = 60.0):
        self.timeout = timeout
        exe = executable or find_chromium()
        if exe is None:
            raise FileNotFoundError("chromium not found")
        self._profile = tempfile.mkdtemp(prefix="ggan-chromium-")
        cmd_r, self._cmd_w = os.pipe()      # we write commands, chromium reads fd 3
        self._res_r, res_w = os.pipe()      # chromium writes fd 4, we read
        child_fds = (cmd_r, res_w)

        def _wire():  # in the child, before exec: the pipe ends become fd 3 and 4
            os.dup2(child_fds[0], 3)
            os.dup2(child_fds[1], 4)

        self.proc = subprocess.Popen([exe, *_FLAGS, f"--user-data-dir={self._profile}", "--remote-debugging-pipe",
                                      "about:blank"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=_wire, pass_fds=(3, 4))
        os.close(cmd_r)
        os.close(res_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop chromium and remove its profile."""
        try:
            self.send("Browser.close")
        except (OSError, TimeoutError, RuntimeError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._cmd_w, self._res_r):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self._profile, ignore_errors=True)

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._res_r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method: str, session: str | None = None, timeout: float | None = None, **params) -> dict:
        """Send one command and wait for its answer; events that arrive meanwhile are kept in .events."""
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, session: str, timeout: float | None = None) -> dict:
        """Wait for an event of this page (already received ones count)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for ev in self.events:
                if ev.get("method") == method and ev.get("sessionId") == session:
                    return ev
            self.events.append(self._read_message(deadline))

    def new_page(self) -> str:
        """A fresh tab with the domains the checks listen to; returns its session id."""
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session)
        return session

    def evaluate(self, session: str, expression: str, timeout: float | None = None):
        """The value of a JavaScript expression (awaited when it is a promise)."""
        res = self.send("Runtime.evaluate", session, timeout=timeout, expression=expression, awaitPromise=True,
                        returnByValue=True)
        if "exceptionDetails" in res:
            raise RuntimeError(f"script failed: {res['exceptionDetails'].get('text')}: {expression[:80]}")
        return res["result"].get("value")


# ---------------------------------------------------------------------------------------- the checks
_WAIT_MATH = """(async () => {
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) { await mj.startup.promise; }
  if (mj && mj.typesetPromise) { await mj.typesetPromise(); }
  return !!(mj && mj.version);
})()"""

# Text left as TeX (\( \[ $$ $…$ or a TeX command), in visible text outside code, scripts and typeset math.
_RAW_TEX = r"""(() => {
  const skip = new Set(["PRE", "CODE", "SCRIPT", "STYLE", "MJX-CONTAINER", "TEXTAREA", "NOSCRIPT"]);
  const re = /\\\(|\\\[|\$\$|\$[^\s$][^$]{0,120}\$|\\(frac|mathrm|mathbb|operatorname|sum|log|max|tag|lVert|tilde|hat|left|begin)\b/;
  const root = document.querySelector("main") || document.body, found = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    let el = n.parentElement, hidden = false;
    for (let p = el; p; p = p.parentElement) { if (skip.has(p.tagName)) { hidden = true; break; } }
    if (hidden || !el.getClientRects().length) continue;
    if (re.test(n.textContent)) found.push(n.textContent.trim().slice(0, 80));
  }
  return found.slice(0, 10);
})()"""

_BROKEN_IMAGES = """Array.from(document.images)
  .filter(i => !(i.complete && i.naturalWidth > 0))
  .map(i => (i.getAttribute("src") || "").slice(0, 120))"""

# Each <audio>: fetch its bytes (data: or file:), decode them with Web Audio, report duration and peak.
_AUDIO = """(async () => {
  const load = (src) => new Promise((ok, fail) => {
    const x = new XMLHttpRequest(); x.open("GET", src); x.responseType = "arraybuffer";
    x.onload = () => ok(x.response); x.onerror = () => fail(new Error("cannot read " + src.slice(0, 60))); x.send();
  });
  const ctx = new OfflineAudioContext(1, 16000, 16000), out = [];
  for (const a of document.querySelectorAll("audio")) {
    const src = a.getAttribute("src") || (a.querySelector("source") || {src: ""}).src;
    try {
      const clip = await ctx.decodeAudioData(await load(src));
      let peak = 0;
      for (let c = 0; c < clip.numberOfChannels; c++) {
        const d = clip.getChannelData(c);
        for (let k = 0; k < d.length; k++) { const v = Math.abs(d[k]); if (v > peak) peak = v; }
      }
      out.push({duration: clip.duration, peak: peak});
    } catch (e) { out.push({error: String(e)}); }
  }
  return out;
})()"""

# Figures, players and tables that stick out of the text column (cut off or scrolled sideways).
_TOO_WIDE = """(() => {
  const col = document.querySelector("article.bd-article") || document.querySelector("main");
  if (!col) return [];
  const right = col.getBoundingClientRect().right + 1, out = [];
  for (const el of col.querySelectorAll("img, audio, table, .ggan-audio-row")) {
    const r = el.getBoundingClientRect();
    if (r.width && r.right > right) out.push(el.tagName.toLowerCase() + " " + Math.round(r.width) + " px, "
                                              + Math.round(r.right - right) + " px past the column");
  }
  return out;
})()"""

_COLUMN = """(() => { const c = document.querySelector("article.bd-article");
  return c ? Math.round(c.getBoundingClientRect().width) : null; })()"""


@dataclass
class PageReport:
    """What one page showed a reader: its problems, its size and what it holds."""

    path: Path
    html_bytes: int = 0
    image_bytes: int = 0
    math_typeset: bool = False
    column_px: dict = field(default_factory=dict)      # window width -> text-column width
    console_errors: list = field(default_factory=list)
    raw_tex: list = field(default_factory=list)
    broken_images: list = field(default_factory=list)
    audio: list = field(default_factory=list)          # one {duration, peak} or {error} per player
    too_wide: dict = field(default_factory=dict)       # window width -> elements past the column
    screenshots: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def total_bytes(self) -> int:
        return self.html_bytes + self.image_bytes

    def problems(self, max_bytes: int = MAX_PAGE_BYTES) -> list[str]:
        """Every reason a reader would be let down by this page (empty: none)."""
        out = [f"console: {e}" for e in self.console_errors]
        out += [f"raw TeX: {t!r}" for t in self.raw_tex]
        out += [f"broken image: {s}" for s in self.broken_images]
        for i, a in enumerate(self.audio):
            if "error" in a:
                out.append(f"audio {i} does not decode: {a['error']}")
            elif a["peak"] < SILENCE_PEAK:
                out.append(f"audio {i} is silent (peak {a['peak']:.2g})")
        out += [f"{w} px window: {t}" for w, items in self.too_wide.items() for t in items]
        if self.total_bytes > max_bytes:
            out.append(f"page is {self.total_bytes / 2**20:.1f} MiB (HTML {self.html_bytes / 2**20:.1f} MiB), "
                       f"over {max_bytes / 2**20:.0f} MiB")
        return out


def local_images(page: Path) -> list[Path]:
    """The local image files a built page shows (img src relative to the page)."""
    import re

    out = []
    for src in re.findall(r'<img[^>]*\ssrc="([^"]+)"', page.read_text(errors="replace")):
        u = urlparse(src)
        if not u.scheme and u.path:
            out.append((page.parent / unquote(u.path)).resolve())
    return out


def _errors(events: list[dict], session: str) -> list[str]:
    """Console errors, uncaught exceptions and failed loads among one page's events."""
    out = []
    for ev in events:
        if ev.get("sessionId") != session:
            continue
        p, m = ev.get("params", {}), ev.get("method")
        if m == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            out.append((d.get("exception") or {}).get("description") or d.get("text", "exception"))
        elif m == "Runtime.consoleAPICalled" and p.get("type") == "error":
            out.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
            out.append(f"{p['entry'].get('text')} {p['entry'].get('url', '')}".strip())
        elif m == "Network.loadingFailed" and not p.get("canceled"):
            out.append(f"failed to load ({p.get('errorText')}) request {p.get('requestId')}")
    return [e.splitlines()[0][:300] for e in out]


def _open(browser: Browser, session: str, url: str, width: int, height: int = 900) -> None:
    """Load url in a window of this width and wait for its load event and its typeset math."""
    browser.send("Emulation.setDeviceMetricsOverride", session, width=width, height=height, deviceScaleFactor=1,
                 mobile=False)
    browser.events = [e for e in browser.events if e.get("sessionId") != session]
    browser.send("Page.navigate", session, url=url)
    browser.wait_event("Page.loadEventFired", session)
    browser.evaluate(session, _WAIT_MATH)


def screenshot(browser: Browser, session: str, out: Path, width: int) -> Path:
    """A PNG of the whole page at this window width: the window is made as tall as the page, then captured
    (capturing beyond the window instead shifts this theme's layout sideways)."""
    height = int(browser.send("Page.getLayoutMetrics", session)["cssContentSize"]["height"])
    browser.send("Emulation.setDeviceMetricsOverride", session, width=width, height=height, deviceScaleFactor=1,
                 mobile=False)
    browser.evaluate(session, "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    shot = browser.send("Page.captureScreenshot", session, timeout=120, format="png")
    browser.send("Emulation.setDeviceMetricsOverride", session, width=width, height=900, deviceScaleFactor=1,
                 mobile=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(base64.b64decode(shot["data"]))
    return out


def check_page(browser: Browser, page: Path, widths: Sequence[int] = WIDTHS,
               shots: Path | None = None) -> PageReport:
    """Open one built page from disk at each window width and report what a reader meets."""
    page = Path(page).resolve()
    rep = PageReport(page, html_bytes=page.stat().st_size)
    rep.image_bytes = sum(p.stat().st_size for p in set(local_images(page)) if p.is_file())
    session = browser.new_page()
    for i, w in enumerate(widths):
        _open(browser, session, page.as_uri(), w)
        if i == 0:  # content checks once; the layout at every width
            rep.math_typeset = bool(browser.evaluate(session, _WAIT_MATH))
            rep.raw_tex = browser.evaluate(session, _RAW_TEX)
            rep.broken_images = browser.evaluate(session, _BROKEN_IMAGES)
            rep.audio = browser.evaluate(session, _AUDIO, timeout=180)
            rep.console_errors = _errors(browser.events, session)
        rep.column_px[w] = browser.evaluate(session, _COLUMN)
        wide = browser.evaluate(session, _TOO_WIDE)
        if wide:
            rep.too_wide[w] = wide
        if shots is not None:
            rep.screenshots.append(screenshot(browser, session, Path(shots) / f"{page.stem}-{w}.png", w))
    browser.send("Target.closeTarget", targetId=browser.send("Target.getTargetInfo", session)["targetInfo"]["targetId"])
    return rep


def check_pages(pages: Sequence[Path], shots: Path | None = None, widths: Sequence[int] = WIDTHS,
                executable: str | None = None) -> list[PageReport]:
    """:func:`check_page` for every page, in one browser."""
    with Browser(executable) as b:
        return [check_page(b, p, widths, shots) for p in pages]
