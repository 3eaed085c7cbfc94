"""End-to-end tests of ``chokepoint ingest baci|comtrade`` through analytics.cli.main."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from analytics import store
from analytics.cli import main

COUNTRIES = """country_code,country_name,country_iso2,country_iso3
156,China,CN,CHN
251,France,FR,FRA
392,Japan,JP,JPN
490,"Other Asia, nes",,S19
643,Russian Federation,RU,RUS
842,USA,US,USA
"""


def baci_zip(tmp_path: Path, rows: dict[int, list[str]]) -> Path:
    path = tmp_path / "BACI_HS17_V202601.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("country_codes_V202601.csv", COUNTRIES)
        zf.writestr("product_codes_HS17_V202601.csv",
                    "code,description\n010121,Horses\n850511,Magnets\n854231,Processors\n")
        for year, lines in rows.items():
            zf.writestr(f"BACI_HS17_Y{year}_V202601.csv",
                        "t,i,j,k,v,q\n" + "\n".join(lines) + "\n")
    return path


GOOD = {
    2021: ["2021,156,643,850511,18,2.5", "2021,251,842,854231,2,0.4"],
    2022: ["2022,156,643,850511,20.5,3.25", "2022,251,490,10121,1.5,NA",
           "2022,490,643,854231,4.125,NA"],
}


def test_ingest_baci_end_to_end(tmp_path, capsys):
    dest = tmp_path / "store"
    rc = main(["ingest", "baci", str(baci_zip(tmp_path, GOOD)), "--store", str(dest),
               "--quiet"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "2021: 2 flow rows" in out and "2022: 2 flow rows" in out
    assert "BACI HS17 V202601 (HS2017)" in out
    flows = store.load_flows(dest, years=[2022])
    assert sorted(zip(flows["exporter"], flows["importer"], flows["value_usd"], strict=True)) == \
        [("CHN", "RUS", 20500.0), ("TWN", "RUS", 4125.0)]


def test_ingest_baci_options(tmp_path, capsys):
    z = baci_zip(tmp_path, GOOD)
    dest = tmp_path / "store"
    assert main(["ingest", "baci", str(z), "--store", str(dest), "--years", "2022",
                 "--all-hs6", "--quiet"]) == 0
    assert store.store_info(dest)["years"] == [2022]
    assert "010121" in set(store.load_flows(dest)["hs6"])
    assert main(["ingest", "baci", str(z), "--store", str(dest), "--all-hs6", "--resume",
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "2022: skipped" in out and "2021: 2 flow rows" in out
    dest2 = tmp_path / "store2"
    assert main(["ingest", "baci", str(z), "--store", str(dest2), "--categories",
                 "rare_earth_magnets", "--quiet"]) == 0
    assert set(store.load_flows(dest2)["hs6"]) == {"850511"}


def test_ingest_baci_bad_input_exits_2_and_leaves_store(tmp_path, capsys):
    dest = tmp_path / "store"
    assert main(["ingest", "baci", str(baci_zip(tmp_path, GOOD)), "--store", str(dest),
                 "--quiet"]) == 0
    before = store.snapshot_id(dest)
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    bad = baci_zip(bad_dir, {2022: ["2022,156,643,850511,-20.5,3.25"]})
    capsys.readouterr()
    assert main(["ingest", "baci", str(bad), "--store", str(dest), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "row 2" in err and "negative" in err
    assert "--lenient" in err
    assert store.snapshot_id(dest) == before
    assert main(["ingest", "baci", str(bad), "--store", str(dest), "--quiet",
                 "--lenient"]) == 0
    out = capsys.readouterr().out
    assert "dropped (--lenient)" in out and "negative value" in out


def test_ingest_baci_mutually_exclusive_selection(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["ingest", "baci", "x.zip", "--store", str(tmp_path), "--all-hs6",
              "--categories", "chpl_tier1"])


def test_ingest_baci_missing_path(tmp_path, capsys):
    assert main(["ingest", "baci", str(tmp_path / "nope.zip"), "--store",
                 str(tmp_path / "s"), "--quiet"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_ingest_comtrade_end_to_end(tmp_path, capsys):
    raw = tmp_path / "comtrade_raw_2022.csv"
    raw.write_text("year,reporter,partner,cmd,flow,value,netwgt,qty,qtyunit\n"
                   "2022,392,410,848620,X,100.0,2000.0,2000.0,8\n"
                   "2022,392,410,848620,X,100.0,2000.0,2000.0,8\n"
                   "2022,410,392,848620,M,110.0,2100.0,2100.0,8\n"
                   "2022,392,0,848620,X,150.0,3000.0,3000.0,8\n"
                   "2022,392,842,848620,X,50.0,,0.0,-1\n", encoding="utf-8")
    dest = tmp_path / "store"
    rc = main(["ingest", "comtrade", str(raw), "--store", str(dest), "--hs-version",
               "HS2017", "--prefer", "mean"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "exact duplicate line" in out and "mirror statistics" in out
    assert "both" in out and "mirror_gaps" in out
    flows = store.load_flows(dest).set_index(["exporter", "importer"])
    assert flows.loc[("JPN", "KOR"), "value_usd"] == 105.0
    assert store.read_derived(dest, "mirror_gaps")["gap"].tolist() == [10.0]
    assert store.store_info(dest)["provenance"]["flows"]["rule"]["prefer"] == "mean"


def test_ingest_comtrade_needs_hs_version_without_classification(tmp_path, capsys):
    raw = tmp_path / "comtrade_raw_2022.csv"
    raw.write_text("year,reporter,partner,cmd,flow,value,netwgt\n"
                   "2022,392,410,848620,X,100.0,2000.0\n", encoding="utf-8")
    assert main(["ingest", "comtrade", str(raw), "--store", str(tmp_path / "s")]) == 2
    assert "--hs-version" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
