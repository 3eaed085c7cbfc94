"""Download of CEPII BACI releases: resumable, verified, with a progress bar.

``fetch_baci("V202601", "HS17")`` downloads
``https://www.cepii.fr/DATA_DOWNLOAD/baci/data/BACI_HS17_V202601.zip`` (the CEPII naming:
``BACI_<HSxx>_<release>.zip``; ``url_base`` overrides the folder) into ``dest``:

* the bytes go to ``BACI_HS17_V202601.zip.part``; an interrupted download (network error,
  Ctrl+C) is resumed from where it stopped with an HTTP ``Range`` request, by the retry
  loop or by running the same command again (a server that ignores ``Range`` makes it
  start over);
* the size is checked against the server's ``Content-Length`` / ``Content-Range``; the zip
  is checked (central directory, and every member's CRC with ``testzip``); its sha256 is
  computed, compared with ``sha256=`` when given, and always written to the sidecar
  ``BACI_HS17_V202601.zip.sha256`` (``sha256sum`` format);
* only then is the ``.part`` file renamed to the final name, so a file with the final name
  is always complete.

The network is used only when this function is called; tests serve a fixture from a local
server on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path

from analytics.errors import DownloadError
from analytics.ingest import progress_bar

__all__ = ["DEFAULT_URL_BASE", "baci_url", "baci_archive_name", "fetch_baci", "download",
           "verify_zip"]

DEFAULT_URL_BASE = "https://www.cepii.fr/DATA_DOWNLOAD/baci/data"
_USER_AGENT = "chokepoint-analytics (BACI fetch)"
_CHUNK = 1 << 20


def _norm_release(release: str) -> str:
    r = str(release).strip()
    r = r if r[:1] in "vV" else f"V{r}"
    if not re.fullmatch(r"[vV]\d{6}[A-Za-z]?", r):
        raise DownloadError(f"release {release!r} is not a BACI release name. Remedy: give "
                            "it as on the CEPII page, e.g. V202601 (or V202401b)")
    return "V" + r[1:]


def _norm_hs(hs: str) -> str:
    h = str(hs).strip().upper()
    h = h[2:] if h.startswith("HS") else h
    if len(h) == 4 and h.isdigit():
        h = h[2:]  # HS2017 -> 17
    if h not in {"92", "96", "02", "07", "12", "17", "22"}:
        raise DownloadError(f"nomenclature {hs!r} is not one BACI is released in. Remedy: "
                            "use HS92, HS96, HS02, HS07, HS12, HS17 or HS22")
    return f"HS{h}"


def baci_archive_name(release: str, hs: str) -> str:
    """CEPII's archive name.

    >>> baci_archive_name("202601", "HS2017")
    'BACI_HS17_V202601.zip'
    """
    return f"BACI_{_norm_hs(hs)}_{_norm_release(release)}.zip"


def baci_url(release: str, hs: str, url_base: str | None = None) -> str:
    """Download address of a BACI release.

    >>> baci_url("V202601", "HS17")
    'https://www.cepii.fr/DATA_DOWNLOAD/baci/data/BACI_HS17_V202601.zip'
    """
    base = (url_base or DEFAULT_URL_BASE).rstrip("/")
    return f"{base}/{baci_archive_name(release, hs)}"


def verify_zip(path: str | os.PathLike, *, test_members: bool = True) -> None:
    """Check a zip's central directory and (``test_members``) every member's CRC.

    Raises
    ------
    DownloadError
        Truncated or damaged archive, naming the remedy.
    """
    p = Path(path)
    try:
        with zipfile.ZipFile(p) as zf:
            if test_members:
                bad = zf.testzip()
                if bad is not None:
                    raise DownloadError(
                        f"{p}: member {bad} of the archive is damaged (CRC mismatch). "
                        "Remedy: delete the file and download it again")
    except (zipfile.BadZipFile, zlib.error, EOFError) as err:
        raise DownloadError(
            f"{p}: not a complete zip archive ({err}): the download is truncated or "
            "damaged. Remedy: delete it and download again") from err


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _total_from(resp, offset: int) -> int | None:
    rng = resp.headers.get("Content-Range")
    if rng:  # "bytes 100-199/200", or "bytes */200" with a 416
        m = re.match(r"bytes\s+(?:\d+-\d+|\*)/(\d+|\*)", rng)
        if m and m.group(1) != "*":
            return int(m.group(1))
    length = resp.headers.get("Content-Length")
    if length is not None and length.isdigit():
        return int(length) + offset
    return None


def download(url: str, part: str | os.PathLike, *, progress: bool = False,
             timeout: float = 60.0, retries: int = 3, retry_wait: float = 2.0) -> Path:
    """Download ``url`` into the file ``part``, resuming what it already holds.

    Returns ``part`` once it holds the whole resource (its size checked against the
    server's). No content check (see :func:`fetch_baci`).

    Raises
    ------
    DownloadError
        HTTP error, size mismatch, or the connection failed ``retries + 1`` times (the
        partial file is kept: run again to resume).
    """
    part = Path(part)
    part.parent.mkdir(parents=True, exist_ok=True)
    attempt = 0
    while True:
        try:
            _download_once(url, part, progress=progress, timeout=timeout)
            break
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError,
                TimeoutError) as err:
            if isinstance(err, urllib.error.HTTPError) and err.code not in (408, 429, 500,
                                                                           502, 503, 504):
                raise DownloadError(f"{url}: HTTP {err.code} {err.reason}. Remedy: check "
                                    "the release and nomenclature on the CEPII BACI page "
                                    "(or --url-base)") from err
            attempt += 1
            if attempt > retries:
                have = part.stat().st_size if part.exists() else 0
                raise DownloadError(
                    f"{url}: download interrupted ({err}) after {have:,} bytes. Remedy: run "
                    f"the same command again: it resumes from {part.name}") from err
            time.sleep(retry_wait * attempt)
    return part


def _download_once(url: str, part: Path, *, progress: bool, timeout: float) -> None:
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": _USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    req = urllib.request.Request(url, headers=headers)
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 - user-given URL
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:  # asked beyond the end: the .part may be complete
            total = _total_from(err, 0)
            if total is not None and total == offset:
                return
            part.unlink()  # inconsistent partial file: start over
            raise ConnectionError("416 Range Not Satisfiable; restarting") from err
        raise
    with resp:
        status = getattr(resp, "status", 200)
        if offset and status != 206:
            offset = 0  # the server ignored the Range header: start over
        total = _total_from(resp, offset)
        mode = "ab" if offset else "wb"
        bar = progress_bar(total=total, desc=part.name[:-5], unit="B", unit_scale=True,
                           enabled=progress, initial=offset)
        written = offset
        try:
            with open(part, mode) as fh:
                while chunk := resp.read(_CHUNK):
                    fh.write(chunk)
                    written += len(chunk)
                    bar.update(len(chunk))
                fh.flush()
                os.fsync(fh.fileno())
        finally:
            bar.close()
    if total is not None and written != total:
        if written > total:
            part.unlink()
            raise DownloadError(f"{url}: received {written:,} bytes but the server announced "
                                f"{total:,} (size mismatch). Remedy: run the command again "
                                "to download from scratch")
        raise ConnectionError(f"connection closed after {written:,} of {total:,} bytes")


def fetch_baci(
    release: str,
    hs: str,
    *,
    dest: str | os.PathLike = ".",
    url_base: str | None = None,
    sha256: str | None = None,
    progress: bool = False,
    test_members: bool = True,
    timeout: float = 60.0,
    retries: int = 3,
    retry_wait: float = 2.0,
    force: bool = False,
) -> Path:
    """Download a CEPII BACI release zip, resumably, and verify it.

    Parameters
    ----------
    release : str
        Release, e.g. ``"V202601"``.
    hs : str
        Nomenclature, e.g. ``"HS17"`` (``"HS2017"`` and ``"17"`` are accepted).
    dest : path-like, default "."
        Folder for the zip (and its ``.part`` and ``.sha256`` files).
    url_base : str, optional
        Folder URL (default :data:`DEFAULT_URL_BASE`).
    sha256 : str, optional
        Expected sha256 (hex); a mismatch is an error and the file is not kept.
    progress : bool, default False
        A progress bar (tqdm) on stderr.
    test_members : bool, default True
        Check every member's CRC (reads the whole archive once).
    force : bool, default False
        Download again even when the zip is already there.

    Returns
    -------
    Path
        The verified zip.

    Raises
    ------
    DownloadError
        HTTP error, interrupted transfer (run again to resume), size or checksum mismatch,
        truncated or damaged zip; each message says what to do.
    """
    name = baci_archive_name(release, hs)
    url = baci_url(release, hs, url_base)
    folder = Path(dest).expanduser()
    target = folder / name
    sidecar = folder / f"{name}.sha256"
    expected = sha256.strip().lower() if sha256 else None
    if expected is not None and not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise DownloadError(f"--sha256 {sha256!r} is not a sha256 digest (64 hex digits)")
    if target.exists() and not force:
        verify_zip(target, test_members=test_members)
        digest = _sha256(target)
        if expected is not None and digest != expected:
            raise DownloadError(f"{target}: sha256 {digest} differs from the expected "
                                f"{expected}. Remedy: delete the file (or pass --force) and "
                                "download again")
        sidecar.write_text(f"{digest}  {name}\n", encoding="utf-8")
        return target
    if force:
        target.unlink(missing_ok=True)
        (folder / f"{name}.part").unlink(missing_ok=True)
    part = download(url, folder / f"{name}.part", progress=progress, timeout=timeout,
                    retries=retries, retry_wait=retry_wait)
    try:
        verify_zip(part, test_members=test_members)
    except DownloadError as err:
        part.unlink(missing_ok=True)  # complete but damaged: resuming cannot repair it
        raise DownloadError(f"{err} (the damaged download {part.name} was removed; run the "
                            "command again to download from scratch)") from err
    digest = _sha256(part)
    if expected is not None and digest != expected:
        part.unlink(missing_ok=True)
        raise DownloadError(f"{url}: sha256 {digest} differs from the expected {expected}; "
                            "the download was removed. Remedy: check the checksum, then run "
                            "the command again")
    os.replace(part, target)
    sidecar.write_text(f"{digest}  {name}\n", encoding="utf-8")
    return target
