"""The reference tables ship inside the wheel (available after a non-editable install)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_contains_reference_tables_and_they_load(tmp_path):
    out = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(out), str(ROOT)], check=True)
    wheel = next(out.glob("chokepoint_analytics-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for table in ("countries", "categories", "category_hs", "hs_concordance", "events",
                  "trade_codes"):
        assert f"analytics/_reference/{table}.csv" in names
    assert "analytics/risk_config.toml" in names
    assert any(n.startswith("dashboards/pages/") for n in names)
    # install into a target folder and load the tables from there, away from the checkout
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True)
    code = ("import analytics.reference as r; p = r.reference_dir(); "
            "assert '_reference' in str(p), p; print(len(r.countries()))")
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True,
                         capture_output=True, text=True,
                         env={"PYTHONPATH": str(target), "PATH": ""})
    assert int(res.stdout.strip()) > 249
