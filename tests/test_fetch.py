"""Tests of analytics.sources.fetch against a local HTTP server on 127.0.0.1 (no network).

The server serves fixture bytes with HTTP Range support, can cut a transfer after N bytes
(an interrupted download), can ignore Range, and records every request.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import zipfile
from pathlib import Path

import pytest

from analytics.cli import main
from analytics.errors import DownloadError
from analytics.sources.fetch import baci_archive_name, baci_url, fetch_baci

NAME = "BACI_HS17_V202601.zip"


def fixture_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("country_codes_V202601.csv",
                    "country_code,country_name,country_iso2,country_iso3\n251,France,FR,FRA\n"
                    "842,USA,US,USA\n")
        # incompressible-ish content so the archive is big enough to cut in the middle
        rows = "".join(f"2022,251,842,{100000 + i},{(i * 7919) % 10007}.125,NA\n"
                       for i in range(20_000))
        zf.writestr("BACI_HS17_Y2022_V202601.csv", "t,i,j,k,v,q\n" + rows)
    return buf.getvalue()


class Server:
    """A tiny file server: ``files`` maps a path to bytes."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[dict] = []
        self.cut_after: int | None = None  # close the next transfer after this many bytes
        self.ignore_range = False
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):  # noqa: N802 - http.server API
                outer.requests.append({"path": self.path, "range": self.headers.get("Range")})
                data = outer.files.get(self.path)
                if data is None:
                    self.send_error(404, "Not Found")
                    return
                start, status = 0, 200
                rng = self.headers.get("Range")
                if rng and not outer.ignore_range:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status = 206
                body = data[start:]
                self.send_response(status)
                if status == 206:
                    self.send_header("Content-Range",
                                     f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                if outer.cut_after is not None:
                    self.wfile.write(body[: outer.cut_after])
                    self.wfile.flush()
                    outer.cut_after = None
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/baci"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = Server()
    yield srv
    srv.close()


@pytest.fixture
def payload(server) -> bytes:
    data = fixture_zip()
    server.files[f"/baci/{NAME}"] = data
    return data


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_names_and_default_url():
    assert baci_archive_name("V202601", "HS17") == NAME
    assert baci_archive_name("202601", "hs2017") == NAME
    assert baci_url("V202601", "HS22") == \
        "https://www.cepii.fr/DATA_DOWNLOAD/baci/data/BACI_HS22_V202601.zip"
    with pytest.raises(DownloadError, match="HS92"):
        baci_archive_name("V202601", "HS15")
    with pytest.raises(DownloadError, match="V202601"):
        baci_archive_name("latest", "HS17")


def test_download_verifies_and_writes_sidecar(server, payload, tmp_path):
    path = fetch_baci("V202601", "HS17", dest=tmp_path, url_base=server.base,
                      sha256=sha(payload), progress=False)
    assert path == tmp_path / NAME and path.read_bytes() == payload
    sidecar = tmp_path / f"{NAME}.sha256"
    assert sidecar.read_text() == f"{sha(payload)}  {NAME}\n"
    assert not (tmp_path / f"{NAME}.part").exists()
    # already there and valid: no second download
    n = len(server.requests)
    fetch_baci("V202601", "HS17", dest=tmp_path, url_base=server.base, progress=False)
    assert len(server.requests) == n


def test_interrupted_download_resumes_with_range(server, payload, tmp_path):
    server.cut_after = len(payload) // 3
    with pytest.raises(DownloadError) as err:
        fetch_baci("V202601", "HS17", dest=tmp_path, url_base=server.base, progress=False,
                   retries=0)
    assert "run the same command again" in str(err.value)
    part = tmp_path / f"{NAME}.part"
    assert part.stat().st_size == len(payload) // 3
    assert not (tmp_path / NAME).exists()
    path = fetch_baci("V202601", "HS17", dest=tmp_path, url_base=server.base,
                      sha256=sha(payload), progress=False)
    assert path.read_bytes() == payload
    assert server.requests[-1]["range"] == f"bytes={len(payload) // 3}-"


def test_retry_loop_resumes_within_one_call(server, payload, tmp_path):
    server.cut_after = 1000
    path = fetch_baci("V202601", "HS17", dest=tmp_path, url_base=server.base,
                      progress=False, retries=2, retry_wait=0)
    assert path.read_bytes() == payload
    assert [r["range"] for r in server.requests] == [None, "bytes=1000-"]


def test_server_ignoring_range_restarts_cleanly(server, payload, tmp_path):
    (tmp_path / f"{NAME}.part").write_bytes(payload[:500])
    server.ignore_range = True
    path = fetch_baci("V202601", "HS17", dest=tmp_path, url_base=server.base,
                      progress=False)
    assert path.read_bytes() == payload


def test_complete_part_file_is_finished(server, payload, tmp_path):
    (tmp_path / f"{NAME}.part").write_bytes(payload)  # server answers 416 to bytes=N-
    path = fetch_baci("V202601", "HS17", dest=tmp_path, url_base=server.base,
                      progress=False, retries=0)
    assert path.read_bytes() == payload
    assert len(server.requests) == 1


def test_checksum_mismatch_is_an_error(server, payload, tmp_path):
    with pytest.raises(DownloadError, match="differs from the expected"):
        fetch_baci("V202601", "HS17", dest=tmp_path, url_base=server.base,
                   sha256="0" * 64, progress=False)
    assert not (tmp_path / NAME).exists() and not (tmp_path / f"{NAME}.part").exists()
    with pytest.raises(DownloadError, match="64 hex"):
        fetch_baci("V202601", "HS17", dest=tmp_path, url_base=server.base, sha256="abc",
                   progress=False)


def test_truncated_zip_is_an_error(server, payload, tmp_path):
    server.files[f"/baci/{NAME}"] = payload[: len(payload) - 200]  # complete transfer
    with pytest.raises(DownloadError) as err:
        fetch_baci("V202601", "HS17", dest=tmp_path, url_base=server.base, progress=False)
    assert "truncated or damaged" in str(err.value) and "download" in str(err.value)
    assert not (tmp_path / NAME).exists()


def test_damaged_member_is_found_by_testzip(server, payload, tmp_path):
    data = bytearray(payload)
    data[200] ^= 0xFF  # inside the first member's compressed data
    server.files[f"/baci/{NAME}"] = bytes(data)
    with pytest.raises(DownloadError):
        fetch_baci("V202601", "HS17", dest=tmp_path, url_base=server.base, progress=False)


def test_http_404(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch_baci("V209901", "HS17", dest=tmp_path, url_base=server.base, progress=False)


def test_cli_fetch_then_ingest(server, payload, tmp_path, capsys):
    rc = main(["fetch", "baci", "--release", "V202601", "--hs", "HS17", "--dest",
               str(tmp_path), "--url-base", server.base, "--sha256", sha(payload),
               "--quiet"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "verified" in out and sha(payload) in out
    rc = main(["ingest", "baci", str(tmp_path / NAME), "--store", str(tmp_path / "store"),
               "--all-hs6", "--quiet"])
    assert rc == 0
    from analytics import store

    assert len(store.load_flows(tmp_path / "store")) == 20_000
    rc = main(["fetch", "baci", "--release", "V202601", "--hs", "HS17", "--dest",
               str(tmp_path / "other"), "--url-base", server.base, "--sha256", "f" * 64,
               "--quiet"])
    assert rc == 2
    assert "error:" in capsys.readouterr().err


def test_fetched_path_is_a_path(server, payload, tmp_path):
    assert isinstance(fetch_baci("V202601", "HS17", dest=tmp_path, url_base=server.base,
                                 progress=False), Path)
