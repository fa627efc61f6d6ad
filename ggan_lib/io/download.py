"""Resumable, checksummed downloads and safe archive extraction for the data scripts.

``download(url, dest, sha256)`` fetches over HTTP(S) (or copies a ``file://`` URL) into
``dest.part``, resumes an interrupted ``.part`` with a Range request, verifies the sha256 and
only then renames the file into place. ``extract(archive, out_dir, keep=...)`` unpacks tar or
zip archives and refuses members that would land outside ``out_dir``.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import Callable, Iterator

from tqdm.auto import tqdm

CHUNK = 1 << 20  # 1 MiB reads: large enough for throughput, small enough for a smooth bar
# IncompleteRead (an HTTPException) is what a connection dropped mid-body raises
_NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, OSError)


class DownloadError(RuntimeError):
    """A download failed (network error, bad server answer); the .part file is kept to resume."""


class ChecksumError(DownloadError):
    """A downloaded file does not have the expected sha256; the bad file has been deleted."""


class UnsafeArchiveError(ValueError):
    """An archive member would be written outside the extraction folder (or is a device/link)."""


def sha256_file(path, chunk: int = CHUNK) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def download(url: str, dest, sha256: str | None = None, *, retries: int = 3,
             timeout: float = 60.0, progress: bool = True) -> Path:
    """Download ``url`` to ``dest`` (resuming ``dest.part``), check its sha256, return ``dest``.

    An existing ``dest`` with the right checksum is kept without any network access. A network
    failure is retried ``retries`` times, each retry resuming where the last one stopped; after
    that DownloadError is raised and the ``.part`` file stays for the next call to resume.
    A checksum mismatch deletes the file and raises ChecksumError.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file() and (sha256 is None or sha256_file(dest) == sha256.lower()):
        return dest
    part = dest.with_name(dest.name + ".part")
    for attempt in range(retries + 1):
        try:
            _fetch(url, part, timeout=timeout, progress=progress)
            break
        except _NETWORK_ERRORS as err:
            if attempt == retries:
                have = part.stat().st_size if part.exists() else 0
                raise DownloadError(
                    f"download of {url} failed after {retries + 1} attempt(s): {err}; "
                    f"{have} bytes kept in {part}, run again to resume") from err
            time.sleep(min(2.0 ** attempt, 30.0) * 0.1)  # short back-off; tests must stay fast
    _verify(part, sha256, url)
    os.replace(part, dest)  # atomic: dest only ever holds a complete, verified file
    return dest


def _verify(part: Path, sha256: str | None, url: str) -> None:
    """Raise ChecksumError (deleting ``part``) unless its sha256 matches."""
    if sha256 is None:
        return
    got = sha256_file(part)
    if got != sha256.lower():
        part.unlink(missing_ok=True)  # a corrupt file must not be resumed from
        raise ChecksumError(f"sha256 mismatch for {url}: expected {sha256.lower()}, got {got}; "
                            f"the file was deleted, run again to download it afresh")


def _fetch(url: str, part: Path, *, timeout: float, progress: bool) -> None:
    """Append the missing bytes of ``url`` to ``part`` (a file:// URL is copied)."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme in ("", "file"):
        return _copy_local(Path(urllib.request.url2pathname(parsed.path)), part, progress)
    if parsed.scheme not in ("http", "https"):
        raise DownloadError(f"unsupported URL scheme {parsed.scheme!r} in {url}")
    start = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"User-Agent": "ggan-book/0.1"})
    if start:
        req.add_header("Range", f"bytes={start}-")
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and start:  # nothing left to fetch: the .part is already complete
            return
        raise DownloadError(f"{url}: HTTP {err.code} {err.reason}") from err
    with resp:
        if start and resp.status != 206:
            start = 0  # server ignored the Range header: start again from byte 0
        length = resp.headers.get("Content-Length")
        total = start + int(length) if length is not None else None
        _stream(resp, part, start, total, progress, url)


def _stream(resp, part: Path, start: int, total: int | None, progress: bool, url: str) -> None:
    """Write the response body to ``part`` from offset ``start``; raise if it ends early."""
    mode = "ab" if start else "wb"
    done = start
    with open(part, mode) as f, tqdm(total=total, initial=start, unit="B", unit_scale=True,
                                     unit_divisor=1024, desc=Path(part).name[:-5],
                                     disable=not progress) as bar:
        for block in iter(lambda: resp.read(CHUNK), b""):
            f.write(block)
            done += len(block)
            bar.update(len(block))
    if total is not None and done < total:
        raise ConnectionError(f"{url}: connection closed after {done} of {total} bytes")


def _copy_local(src: Path, part: Path, progress: bool) -> None:
    """Copy a local file into ``part``, resuming from the bytes already there."""
    if not src.is_file():
        raise DownloadError(f"{src}: no such file")
    start = part.stat().st_size if part.exists() else 0
    total = src.stat().st_size
    if start > total:
        start = 0
    with open(src, "rb") as fin:
        fin.seek(start)
        _stream(fin, part, start, total, progress, src.as_uri())


# --------------------------------------------------------------------------- extraction
def check_member_name(name: str) -> str:
    """``name`` if it is a safe relative member name, else UnsafeArchiveError (absolute, a drive, '..', NUL)."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(f"archive member {name!r} has an absolute path")
    if "\0" in name or ".." in name.replace("\\", "/").split("/"):
        raise UnsafeArchiveError(f"archive member {name!r} has a '..' component or a NUL byte")
    return name


def _is_root(name: str) -> bool:
    """True for the archive's own top folder ('.', './', ''), which extracts to nothing."""
    return name.replace("\\", "/").strip("/") in ("", ".")


def _safe_target(out_dir: Path, name: str) -> Path:
    """The path ``name`` extracts to, or UnsafeArchiveError if it escapes ``out_dir``."""
    check_member_name(name)
    target = (out_dir / name).resolve()
    if target != out_dir and out_dir not in target.parents:
        raise UnsafeArchiveError(f"archive member {name!r} would be written outside {out_dir}")
    return target


def iter_tar(archive, keep: Callable[[str], bool] | None = None) -> Iterator[tuple]:
    """Stream (normalised name, file object) for the regular files of a tar archive.

    A member with an absolute name or a '..' component raises UnsafeArchiveError (as in extract);
    the archive's root entry ('.', './') is skipped.
    """
    with tarfile.open(archive, "r|*") as tar:  # stream mode: one pass, never seeks back
        for member in tar:
            name = normalise_member(member.name)
            if _is_root(name):
                continue
            check_member_name(name)
            if not member.isfile() or (keep is not None and not keep(name)):
                continue
            yield name, tar.extractfile(member)


def normalise_member(name: str) -> str:
    """Member name without a leading './' (tarballs made with `tar -C dir .` carry one)."""
    while name.startswith("./"):
        name = name[2:]
    return name


def extract(archive, out_dir, keep: Callable[[str], bool] | None = None,
            progress: bool = True) -> list[Path]:
    """Extract the regular files of a tar/zip archive for which ``keep(name)`` is true.

    Members with absolute paths or '..' that would escape ``out_dir``, links and devices raise
    UnsafeArchiveError before anything of that member is written. Returns the written paths.
    """
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    archive = Path(archive)
    if zipfile.is_zipfile(archive):
        return _extract_zip(archive, out_dir, keep, progress)
    written = []
    with tarfile.open(archive, "r:*") as tar:
        for member in tqdm(tar, desc=f"extract {archive.name}", unit=" files", disable=not progress):
            name = normalise_member(member.name)
            if _is_root(name) and member.isdir():
                continue  # `tar -C dir .` archives start with the folder itself
            target = _safe_target(out_dir, name)
            if target == out_dir:
                raise UnsafeArchiveError(f"archive member {member.name!r} would replace {out_dir} itself")
            if member.issym() or member.islnk() or member.isdev() or member.isfifo():
                raise UnsafeArchiveError(f"archive member {member.name!r} is a link or device")
            if not member.isfile() or (keep is not None and not keep(name)):
                continue
            _write(tar.extractfile(member), target)
            written.append(target)
    return written


def _extract_zip(archive: Path, out_dir: Path, keep, progress: bool) -> list[Path]:
    """Zip branch of :func:`extract`."""
    written = []
    with zipfile.ZipFile(archive) as zf:
        for info in tqdm(zf.infolist(), desc=f"extract {archive.name}", disable=not progress):
            if _is_root(info.filename) and info.is_dir():
                continue
            target = _safe_target(out_dir, info.filename)
            if target == out_dir:
                raise UnsafeArchiveError(f"archive member {info.filename!r} would replace {out_dir} itself")
            is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
            if is_link:
                raise UnsafeArchiveError(f"archive member {info.filename!r} is a symlink")
            if info.is_dir() or (keep is not None and not keep(info.filename)):
                continue
            with zf.open(info) as src:
                _write(src, target)
            written.append(target)
    return written


def _write(src, target: Path) -> None:
    """Copy a file object to ``target`` via a temporary name (no half-written files)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "wb") as f:
        shutil.copyfileobj(src, f, CHUNK)
    os.replace(tmp, target)


def fetch_archive(url: str | None, archive=None, sha256: str | None = None, *,
                  download_dir=".", progress: bool = True) -> Path:
    """A verified local archive: ``archive`` if given (checked against sha256), else downloaded.

    ``sha256=None`` skips verification (for archives the caller made itself).
    """
    if archive is not None:
        archive = Path(archive)
        if not archive.is_file():
            raise DownloadError(f"archive {archive} not found")
        if sha256 is not None and (got := sha256_file(archive)) != sha256.lower():
            raise ChecksumError(f"sha256 mismatch for {archive}: expected {sha256.lower()}, "
                                f"got {got} (pass --sha256 to accept another archive)")
        return archive
    if not url:
        raise DownloadError("neither a URL nor a local archive was given")
    name = Path(urllib.parse.urlparse(url).path).name or "download"
    return download(url, Path(download_dir) / name, sha256, progress=progress)


def fetch_archive_for_script(tag: str, args, out: Path) -> Path:
    """``fetch_archive`` for the data_scripts CLIs: their --url/--archive/--sha256/--download-dir
    options, downloads beside ``out`` by default, and a message instead of a traceback on failure."""
    sha = None if args.sha256.lower() == "skip" else args.sha256
    dl_dir = Path(args.download_dir) if args.download_dir else out.resolve().parent / "downloads"
    try:
        return fetch_archive(args.url, args.archive, sha, download_dir=dl_dir,
                             progress=not args.no_progress)
    except DownloadError as err:  # network or checksum trouble: a message, not a traceback
        raise SystemExit(f"[{tag}] {err}\n[{tag}] (a re-published archive needs --sha256 "
                         "<its sha256>; an interrupted download resumes when run again)")
