"""The command line: demo store building, info, errors as messages not tracebacks."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from analytics import store
from analytics.cli import main


def test_demo_builds_store_without_serving(tmp_path, capsys):
    path = tmp_path / "demo"
    assert main(["demo", "--store", str(path), "--no-serve"]) == 0
    assert store.is_store(path)
    assert "category_flows" in store.derived_names(path)
    assert capsys.readouterr().out.strip() == str(path)
    # a second call reuses it
    sid = store.snapshot_id(path)
    assert main(["demo", "--store", str(path), "--no-serve"]) == 0
    assert store.snapshot_id(path) == sid


def test_info_prints_json(demo_store, capsys):
    assert main(["info", "--store", str(demo_store)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["synthetic"] is True and info["hs_version"] == "HS2017"


def test_serve_missing_store_is_a_clear_error(tmp_path, capsys):
    assert main(["serve", "--store", str(tmp_path / "none"), "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "no store" in err and "chokepoint demo" in err


def test_default_host_is_loopback():
    from analytics.cli import build_parser

    args = build_parser().parse_args(["serve", "--store", "x"])
    assert args.host == "127.0.0.1" and args.debug is False and args.port == 8050


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_serve_with_gunicorn_workers(demo_store):
    port = _free_port()
    exe = Path(sys.executable).with_name("chokepoint")
    proc = subprocess.Popen([str(exe), "serve", "--store", str(demo_store), "--port",
                             str(port), "--workers", "2"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        status = None
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_dash-layout",
                                            timeout=5) as r:
                    status = r.status
                    body = r.read().decode()
                break
            except OSError:
                time.sleep(0.5)
        assert status == 200, proc.stdout.read1().decode() if proc.poll() is not None else ""
        assert "Demo world" in body
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
