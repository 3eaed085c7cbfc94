"""Tests of analytics.sources.baci: reading, ingest, bad input, lenient mode, resume, atomicity.

Fixtures are tiny BACI releases written here with the real layouts: yearly files
``BACI_HS17_Yyyyy_V202601.csv`` with the header ``t,i,j,k,v,q`` (``k`` without its leading
zero, ``q`` as ``NA`` or padded ``NA`` as CEPII writes it), the country table
``country_codes_V202601.csv`` (``country_code,country_name,country_iso2,country_iso3``,
490 = "Other Asia, nes" with iso3 ``S19``) and ``product_codes_HS17_V202601.csv``.
"""

from __future__ import annotations

import hashlib
import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics import store
from analytics.errors import (
    DataError,
    HSVersionError,
    SchemaViolation,
    SourceFormatError,
    StoreError,
    UnknownCountry,
)
from analytics.sources import baci
from analytics.sources.baci import ingest_baci, read_baci, scan_baci

# The fixture's product table lists 5 codes: ingesting by category rightly warns that the
# other category codes are not in it (tested in test_codes_missing_from_the_product_table*)
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*not in the release's product table:UserWarning")

COUNTRIES = """country_code,country_name,country_iso2,country_iso3
156,China,CN,CHN
251,France,FR,FRA
276,Germany,DE,DEU
280,Fed. Rep. of Germany (...1990),DE,DEU
392,Japan,JP,JPN
490,"Other Asia, nes",,S19
643,Russian Federation,RU,RUS
699,India,IN,IND
842,USA,US,USA
"""

PRODUCTS = """code,description
010121,"Horses: live, pure-bred breeding animals"
100630,"Rice: semi-milled or wholly milled"
848620,"Machines for the manufacture of semiconductor devices"
850511,"Permanent magnets of metal"
854231,"Electronic integrated circuits: processors and controllers"
"""

HEADER = "t,i,j,k,v,q\n"

# sorted by i, j, k as BACI files are; v in thousand USD, q in tonnes
ROWS = {
    2021: [
        "2021,156,643,850511,18,2.5",
        "2021,251,842,854231,2,0.4",
        "2021,392,156,848620,90,NA",
    ],
    2022: [
        "2022,156,643,850511,20.5,3.25",
        "2022,251,490,10121,1.5,NA",
        "2022,251,842,854231,2.25,0.5",
        "2022,392,156,848620,100,",
        "2022,490,643,854231,4.125,           NA",
        "2022,842,251,100630,7,NA",
    ],
}


def year_text(year: int, rows: list[str] | None = None) -> str:
    return HEADER + "\n".join(ROWS[year] if rows is None else rows) + "\n"


def write_folder(folder: Path, years=(2021, 2022), *, hs="HS17", release="V202601",
                 products=True, overrides: dict[int, list[str]] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"country_codes_{release}.csv").write_text(COUNTRIES, encoding="utf-8")
    if products:
        (folder / f"product_codes_{hs}_{release}.csv").write_text(PRODUCTS, encoding="utf-8")
    for y in years:
        rows = (overrides or {}).get(y)
        (folder / f"BACI_{hs}_Y{y}_{release}.csv").write_text(year_text(y, rows),
                                                              encoding="utf-8")
    return folder


def write_zip(path: Path, years=(2021, 2022), *, overrides=None, products=True) -> Path:
    src = write_folder(path.parent / (path.stem + "-src"), years, overrides=overrides,
                       products=products)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(src.iterdir()):
            zf.write(p, p.name)
    return path


@pytest.fixture
def release_zip(tmp_path) -> Path:
    return write_zip(tmp_path / "BACI_HS17_V202601.zip")


def flows_by_key(frame: pd.DataFrame) -> dict:
    return {(r.year, r.exporter, r.importer, r.hs6): (r.value_usd, r.quantity)
            for r in frame.itertuples()}


# --------------------------------------------------------------------------- scanning


def test_scan_zip_finds_years_tables_and_hs_version(release_zip):
    rel = scan_baci(release_zip)
    assert rel.kind == "zip" and rel.release == "V202601" and rel.hs == "HS17"
    assert rel.hs_version == "HS2017"
    assert rel.years == [2021, 2022]
    assert rel.country_file.name == "country_codes_V202601.csv"
    assert rel.product_file.name == "product_codes_HS17_V202601.csv"


@pytest.mark.parametrize("tag,version", [("HS92", "HS1992"), ("HS96", "HS1996"),
                                         ("HS02", "HS2002"), ("HS07", "HS2007"),
                                         ("HS12", "HS2012"), ("HS17", "HS2017"),
                                         ("HS22", "HS2022")])
def test_hs_version_from_file_name(tmp_path, tag, version):
    folder = write_folder(tmp_path / "r", years=(2022,), hs=tag)
    assert scan_baci(folder).hs_version == version


def test_country_table_maps_taiwan_and_historical_codes(release_zip):
    c = baci.read_baci_countries(scan_baci(release_zip)).set_index("code")
    assert c.loc[490, "iso3_file"] == "S19" and c.loc[490, "iso3"] == "TWN"
    assert c.loc[251, "iso3"] == "FRA" and c.loc[842, "iso3"] == "USA"
    assert c.loc[280, "iso3"] == "DEU"  # historical code, its own iso3


# --------------------------------------------------------------------------- reading


def test_read_baci_values_by_hand(release_zip):
    flows = read_baci(release_zip, years=[2022])
    assert list(flows.columns) == ["year", "exporter", "importer", "hs6", "value_usd",
                                   "quantity"]
    got = flows_by_key(flows)
    assert len(got) == 6
    # France 251 -> Taiwan 490 ("S19"), k 10121 -> "010121", v 1.5 kUSD -> 1500 USD, q NA
    v, q = got[(2022, "FRA", "TWN", "010121")]
    assert v == 1500.0 and math.isnan(q)
    assert got[(2022, "FRA", "USA", "854231")] == (2250.0, 0.5)
    assert got[(2022, "CHN", "RUS", "850511")] == (20500.0, 3.25)
    v, q = got[(2022, "TWN", "RUS", "854231")]  # q written as a padded NA
    assert v == pytest.approx(4125.0) and math.isnan(q)
    v, q = got[(2022, "JPN", "CHN", "848620")]  # q blank
    assert v == 100000.0 and math.isnan(q)
    assert flows["year"].dtype == np.int64 and flows["value_usd"].dtype == np.float64
    assert (flows["hs6"].str.len() == 6).all()


def test_read_baci_filters_years_and_codes(release_zip):
    flows = read_baci(release_zip, hs6=["854231"])
    assert sorted(flows["year"].unique()) == [2021, 2022]
    assert set(flows["hs6"]) == {"854231"}
    assert len(flows) == 3
    with pytest.raises(DataError, match="not in the release"):
        read_baci(release_zip, years=[2019])


def test_read_baci_warns_about_hs6_codes_not_in_the_release(release_zip):
    with pytest.warns(UserWarning, match=r"not in the release's product table.*hs6 "
                                         r"filter: 854232"):
        flows = read_baci(release_zip, hs6=["854231", "854232"])
    assert set(flows["hs6"]) == {"854231"}


def test_read_baci_single_csv_with_country_table_beside(tmp_path):
    folder = write_folder(tmp_path / "x", years=(2022,), products=False)
    flows = read_baci(folder / "BACI_HS17_Y2022_V202601.csv")
    assert len(flows) == 6 and "010121" in set(flows["hs6"])


def test_single_csv_without_country_table_is_a_clear_error(tmp_path):
    folder = write_folder(tmp_path / "x", years=(2022,))
    (folder / "country_codes_V202601.csv").unlink()
    with pytest.raises(SourceFormatError, match="country_codes_V202601.csv"):
        read_baci(folder / "BACI_HS17_Y2022_V202601.csv")


def test_code_missing_from_product_table_still_read(tmp_path):
    # 10121 is not in the product table: the fast path maps codes as text instead
    folder = write_folder(tmp_path / "x", years=(2022,))
    (folder / "product_codes_HS17_V202601.csv").write_text(
        "code,description\n854231,ICs\n", encoding="utf-8")
    flows = read_baci(folder)
    assert set(flows["hs6"]) == {"010121", "100630", "848620", "850511", "854231"}


def test_unsorted_file_is_checked_exactly(tmp_path):
    rows = list(reversed(ROWS[2022]))
    folder = write_folder(tmp_path / "x", years=(2022,), overrides={2022: rows})
    assert len(read_baci(folder)) == 6


# --------------------------------------------------------------------------- ingest


def test_ingest_default_keeps_category_codes_and_loads(release_zip, tmp_path):
    dest = tmp_path / "store"
    report = ingest_baci(release_zip, dest)
    assert report.years == [2021, 2022]
    assert report.rows_written == {2021: 3, 2022: 4}
    flows = store.load_flows(dest)
    assert set(flows["hs6"]) == {"850511", "854231", "848620"}  # 010121 and 100630 dropped
    two = store.load_flows(dest, years=[2022], hs6=["854231"], exporters=["TWN"],
                           importers=["RUS"])
    assert two[["exporter", "importer", "value_usd"]].values.tolist() == \
        [["TWN", "RUS", 4125.0]]
    info = store.store_info(dest)
    assert info["hs_version"] == "HS2017" and info["name"] == "BACI HS17 V202601"
    assert info["synthetic"] is False
    prov = info["provenance"]["flows"]
    assert prov["source"] == "CEPII BACI" and prov["release"] == "V202601"
    assert prov["licence"] == "Etalab Open Licence 2.0" and "thousand" in prov["units"]
    entry = prov["files"]["2022"]
    assert entry["file"] == "BACI_HS17_Y2022_V202601.csv"
    assert len(entry["sha256"]) == 64 and entry["archive"] == "BACI_HS17_V202601.zip"
    assert prov["input"]["sha256"] == hashlib.sha256(release_zip.read_bytes()).hexdigest()
    assert prov["country_table"]["remapped"]["490"] == "S19->TWN"
    ds = store.read_dataset(dest)  # reference tables written with the store
    assert len(ds.countries) > 200 and len(ds.categories) > 0
    assert "countries" in info["provenance"]
    store.verify_store(dest)


def test_ingest_restricted_categories_and_all_hs6(release_zip, tmp_path):
    ingest_baci(release_zip, tmp_path / "s1", categories=["chpl_tier1"])
    assert set(store.load_flows(tmp_path / "s1")["hs6"]) == {"854231"}
    ingest_baci(release_zip, tmp_path / "s2", all_hs6=True, years=[2022])
    flows = store.load_flows(tmp_path / "s2")
    assert len(flows) == 6 and "010121" in set(flows["hs6"])
    with pytest.raises(DataError):
        ingest_baci(release_zip, tmp_path / "s3", categories=["chpl_tier1"], all_hs6=True)
    from analytics.errors import UnknownCategory
    with pytest.raises(UnknownCategory):
        ingest_baci(release_zip, tmp_path / "s4", categories=["no_such_category"])


def test_ingest_adds_years_and_keeps_others(release_zip, tmp_path):
    dest = tmp_path / "store"
    ingest_baci(release_zip, dest, years=[2021])
    ingest_baci(release_zip, dest, years=[2022])
    info = store.store_info(dest)
    assert info["years"] == [2021, 2022]
    assert sorted(info["provenance"]["flows"]["files"]) == ["2021", "2022"]


def test_ingest_historical_and_current_code_of_one_country_collide(tmp_path):
    rows = ["2022,276,842,854231,1,1", "2022,280,842,854231,2,1"]  # both DEU
    folder = write_folder(tmp_path / "x", years=(2022,), overrides={2022: rows})
    with pytest.raises(SchemaViolation, match="duplicate key"):
        ingest_baci(folder, tmp_path / "store")


def test_ingest_refuses_synthetic_store(release_zip, tmp_path):
    from analytics.dataset import Dataset
    from analytics.schemas import Categories, CategoryHS, Countries, Events, Flows, empty

    dest = tmp_path / "demo"
    store.write_dataset(Dataset(flows=empty(Flows), countries=empty(Countries),
                                categories=empty(Categories), category_hs=empty(CategoryHS),
                                events=empty(Events), synthetic=True), dest)
    with pytest.raises(StoreError, match="synthetic"):
        ingest_baci(release_zip, dest)


# --------------------------------------------------------------------------- bad input


def bad_folder(tmp_path, rows: list[str], year: int = 2022) -> Path:
    return write_folder(tmp_path / "bad", years=(year,), overrides={year: rows})


def test_truncated_zip(tmp_path, release_zip):
    data = release_zip.read_bytes()
    cut = tmp_path / "cut" / "BACI_HS17_V202601.zip"
    cut.parent.mkdir()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceFormatError) as err:
        ingest_baci(cut, tmp_path / "store")
    assert "truncated" in str(err.value) and "chokepoint fetch baci" in str(err.value)
    assert not (tmp_path / "store").exists()


def test_wrong_header(tmp_path):
    folder = write_folder(tmp_path / "x", years=(2022,))
    f = folder / "BACI_HS17_Y2022_V202601.csv"
    f.write_text(f.read_text().replace("t,i,j,k,v,q", "year,i,j,k,v,q"))
    with pytest.raises(SourceFormatError) as err:
        ingest_baci(folder, tmp_path / "store")
    assert err.value.row == 1 and err.value.value == "year,i,j,k,v,q"
    assert "BACI_HS17_Y2022_V202601.csv" in str(err.value) and "Remedy" in str(err.value)


def test_non_numeric_value(tmp_path):
    rows = list(ROWS[2022])
    rows[2] = "2022,251,842,854231,abc,0.5"  # line 4
    with pytest.raises(DataError) as err:
        ingest_baci(bad_folder(tmp_path, rows), tmp_path / "store")
    e = err.value
    assert (e.row, e.column, e.value) == (4, "v", "abc")
    assert "not a number" in str(e) and "--lenient" in str(e)


def test_unknown_country_code(tmp_path):
    rows = list(ROWS[2022])
    rows[1] = "2022,999,490,10121,1.5,NA"  # line 3
    with pytest.raises(UnknownCountry) as err:
        ingest_baci(bad_folder(tmp_path, rows), tmp_path / "store")
    msg = str(err.value)
    assert "BACI_HS17_Y2022_V202601.csv, row 3, column 'i'" in msg and "999" in msg
    assert "Remedy" in msg and "country_codes" in msg


def test_code_of_the_release_without_a_project_country(tmp_path):
    folder = write_folder(tmp_path / "x", years=(2022,),
                          overrides={2022: ["2022,251,999,854231,1,1"]})
    with open(folder / "country_codes_V202601.csv", "a", encoding="utf-8") as fh:
        fh.write("999,Atlantis,AT,ATL\n")
    with pytest.raises(UnknownCountry, match="iso3 ATL in the release's country table"):
        ingest_baci(folder, tmp_path / "store")


def test_negative_value(tmp_path):
    rows = list(ROWS[2022])
    rows[0] = "2022,156,643,850511,-20.5,3.25"  # line 2, a category code
    with pytest.raises(DataError) as err:
        ingest_baci(bad_folder(tmp_path, rows), tmp_path / "store")
    e = err.value
    assert (e.row, e.column, e.value) == (2, "v", "-20.5")
    assert "negative" in str(e)


def test_bad_rows_outside_the_selection_are_still_errors(tmp_path):
    rows = list(ROWS[2022])
    rows[5] = "2022,842,251,100630,-7,NA"  # rice: not kept by default, still checked
    with pytest.raises(DataError, match="negative"):
        ingest_baci(bad_folder(tmp_path, rows), tmp_path / "store")


def test_duplicate_keys(tmp_path):
    rows = list(ROWS[2022])
    rows.insert(3, "2022,251,842,854231,9,1")  # lines 4 and 5: the same t,i,j,k
    with pytest.raises(SchemaViolation) as err:
        ingest_baci(bad_folder(tmp_path, rows), tmp_path / "store")
    f = err.value.failures
    assert sorted(f["row"]) == [4, 5]
    assert set(f["value"]) == {"2022,251,842,854231"}
    assert "duplicate key" in str(err.value)


def test_malformed_line_and_year_mismatch_with_exact_lines(tmp_path):
    rows = list(ROWS[2022])
    rows[1] = "2022,251,490,10121"  # line 3: two fields missing
    rows[4] = "2021,490,643,854231,4.125,NA"  # line 6: year of another file
    with pytest.raises(SchemaViolation) as err:
        ingest_baci(bad_folder(tmp_path, rows), tmp_path / "store")
    f = err.value.failures.set_index("row")
    assert f.loc[3, "check"].startswith("malformed line")
    assert f.loc[6, "column"] == "t" and f.loc[6, "value"] == "2021"


def test_other_row_checks(tmp_path):
    rows = ["2022,251,251,854231,1,1",  # line 2: exporter = importer
            "2022,251,842,12,1,1",  # line 3: not an HS6 code
            "2022,251,842,854232,1,-3",  # line 4: negative quantity
            "2022,251,842,854233,inf,1"]  # line 5: non-finite value
    with pytest.raises(SchemaViolation) as err:
        ingest_baci(bad_folder(tmp_path, rows), tmp_path / "store")
    checks = err.value.failures.set_index("row")["check"].to_dict()
    assert checks[2] == "exporter equals importer"
    assert checks[3] == "not a six-digit HS code"
    assert checks[4].startswith("quantity")
    assert checks[5].startswith("missing or non-finite")


def test_mixed_hs_versions_store_and_file(tmp_path, release_zip):
    dest = tmp_path / "store"
    ingest_baci(release_zip, dest)
    before = store.snapshot_id(dest)
    hs22 = write_folder(tmp_path / "hs22", years=(2022,), hs="HS22")
    with pytest.raises(HSVersionError) as err:
        ingest_baci(hs22, dest)
    assert "HS2017" in str(err.value) and "HS2022" in str(err.value)
    assert store.snapshot_id(dest) == before


def test_mixed_hs_versions_in_one_folder(tmp_path):
    folder = write_folder(tmp_path / "mixed", years=(2021,), hs="HS17")
    write_folder(folder, years=(2022,), hs="HS22")
    with pytest.raises(HSVersionError) as err:
        scan_baci(folder)
    msg = str(err.value)
    assert "BACI_HS17_Y2021_V202601.csv" in msg and "BACI_HS22_Y2022_V202601.csv" in msg


def test_not_a_baci_file_name(tmp_path):
    p = tmp_path / "trade.csv"
    p.write_text(year_text(2022))
    with pytest.raises(SourceFormatError, match="BACI_HSxx_Yyyyy"):
        scan_baci(p)


# --------------------------------------------------------------------------- lenient


def test_lenient_drops_and_counts_per_reason(tmp_path):
    rows = ["2022,156,643,850511,20.5,3.25",
            "2022,251,842,854231,abc,0.5",  # line 3: not a number
            "2022,392,156,848620,-1,",  # line 4: negative
            "2022,490,643,854231,4.125,NA",
            "2022,490,643,854231,4.5,NA",  # lines 5-6: duplicate key (both dropped)
            "2022,999,156,848620,3,1",  # line 7: unknown exporter
            "2022,842,156,848620,3,1"]
    folder = bad_folder(tmp_path, rows)
    dest = tmp_path / "store"
    report = ingest_baci(folder, dest, lenient=True)
    assert report.dropped == {"not_a_number": 1, "negative_value": 1, "duplicate_key": 2,
                              "unknown_exporter": 1}
    flows = store.load_flows(dest)
    assert sorted(flows["exporter"]) == ["CHN", "USA"]
    lines = {(e["reason"], e["line"]) for e in report.examples}
    assert {("not_a_number", 3), ("negative_value", 4), ("duplicate_key", 5),
            ("duplicate_key", 6), ("unknown_exporter", 7)} <= lines
    prov = store.store_info(dest)["provenance"]["flows"]
    assert prov["lenient"] is True and prov["dropped"]["duplicate_key"] == 2
    assert prov["files"]["2022"]["dropped"]["not_a_number"] == 1
    text = "\n".join(report.lines())
    assert "dropped (--lenient)" in text and "row 3" in text


def test_lenient_with_malformed_lines_only(tmp_path):
    rows = list(ROWS[2022])
    rows[2] = "2022,251,842,854231,2.25"  # line 4: a field missing
    report = ingest_baci(bad_folder(tmp_path, rows), tmp_path / "store", lenient=True,
                         all_hs6=True)
    assert report.dropped == {"malformed_line": 1}
    assert report.examples[0]["line"] == 4
    assert report.rows_written == {2022: 5} and report.rows_read == {2022: 6}


def test_read_baci_lenient_warns(tmp_path):
    rows = list(ROWS[2022])
    rows[0] = "2022,156,643,850511,-1,3.25"
    with pytest.warns(UserWarning, match="dropped 1 bad row"):
        flows = read_baci(bad_folder(tmp_path, rows), lenient=True)
    assert len(flows) == 5


# --------------------------------------------------------------------------- resume, atomicity


def test_resume_skips_unchanged_years(tmp_path):
    folder = write_folder(tmp_path / "rel")
    dest = tmp_path / "store"
    ingest_baci(folder, dest)
    again = ingest_baci(folder, dest, resume=True)
    assert again.skipped_years == [2021, 2022] and again.years == []
    # a changed file is ingested again, the other year is skipped
    f = folder / "BACI_HS17_Y2022_V202601.csv"
    f.write_text(f.read_text().replace("2022,251,842,854231,2.25,0.5",
                                       "2022,251,842,854231,2.75,0.5"))
    third = ingest_baci(folder, dest, resume=True)
    assert third.skipped_years == [2021] and third.years == [2022]
    v = store.load_flows(dest, years=[2022], exporters=["FRA"])["value_usd"].tolist()
    assert v == [2750.0]
    # another HS6 selection is not "the same": nothing is skipped
    fourth = ingest_baci(folder, dest, resume=True, all_hs6=True)
    assert fourth.skipped_years == []


def test_resume_from_zip_uses_member_crc(release_zip, tmp_path):
    dest = tmp_path / "store"
    ingest_baci(release_zip, dest, years=[2021])
    report = ingest_baci(release_zip, dest, resume=True)
    assert report.skipped_years == [2021] and report.years == [2022]


def test_failure_keeps_committed_years_and_not_the_failed_one(release_zip, tmp_path,
                                                             monkeypatch):
    dest = tmp_path / "store"
    ingest_baci(release_zip, dest, years=[2021])
    before = store.load_flows(dest)
    real = baci._year_to_parquet
    calls = []

    def flaky(*args, **kwargs):
        calls.append(args[2])
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(baci, "_year_to_parquet", flaky)
    with pytest.raises(RuntimeError, match="disk on fire"):
        ingest_baci(release_zip, dest)
    assert calls == [2021, 2022]
    # 2021 was converted again and committed (same data); 2022 never reached the store
    assert store.store_info(dest)["years"] == [2021]
    pd.testing.assert_frame_equal(store.load_flows(dest), before)
    assert not list(dest.glob(".ingest-*"))
    store.verify_store(dest)


def _three_years(tmp_path) -> Path:
    rows21 = [*ROWS[2021], "2021,842,392,854231,-1,NA"]  # line 5: dropped (lenient)
    rows23 = ["2023,156,643,850511,21,3", "2023,251,842,854231,2.5,0.5",
              "2023,392,156,848620,110,NA"]
    src = write_folder(tmp_path / "three-src", years=(2021, 2022, 2023),
                       overrides={2021: rows21, 2023: rows23})
    archive = tmp_path / "BACI_HS17_V202601.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(src.iterdir()):
            zf.write(p, p.name)
    return archive


def _without_times(prov: dict) -> dict:
    files = {y: {k: v for k, v in e.items() if k != "ingested"}
             for y, e in prov["files"].items()}
    return {**prov, "files": files}


def test_resume_after_a_failure_in_the_third_year_converts_only_that_year(tmp_path,
                                                                         monkeypatch):
    archive = _three_years(tmp_path)
    clean = tmp_path / "clean"
    ingest_baci(archive, clean, lenient=True)

    dest = tmp_path / "store"
    real = baci._year_to_parquet
    converted = []

    def dies_in_2023(*args, **kwargs):
        converted.append(args[2])
        if args[2] == 2023:
            raise KeyboardInterrupt  # e.g. Ctrl-C, or a kill after two years
        return real(*args, **kwargs)

    monkeypatch.setattr(baci, "_year_to_parquet", dies_in_2023)
    with pytest.raises(KeyboardInterrupt) as err:
        ingest_baci(archive, dest, lenient=True)
    assert "--resume" in " ".join(err.value.__notes__)
    assert converted == [2021, 2022, 2023]
    assert store.store_info(dest)["years"] == [2021, 2022]  # finished years survived
    assert sorted(store.store_info(dest)["provenance"]["flows"]["files"]) == ["2021", "2022"]
    assert not list(dest.glob(".ingest-*"))

    converted.clear()
    monkeypatch.setattr(baci, "_year_to_parquet",
                        lambda *a, **k: converted.append(a[2]) or real(*a, **k))
    report = ingest_baci(archive, dest, resume=True, lenient=True)
    assert converted == [2023]
    assert report.skipped_years == [2021, 2022] and report.years == [2023]
    pd.testing.assert_frame_equal(store.load_flows(dest), store.load_flows(clean))
    a, b = store.store_info(dest), store.store_info(clean)
    assert a["years"] == b["years"] == [2021, 2022, 2023]
    assert a["provenance"]["flows"]["dropped"] == {"negative_value": 1}
    assert [e["line"] for e in a["provenance"]["flows"]["examples"]] == [5]
    assert a["rows"] == b["rows"]
    assert _without_times(a["provenance"]["flows"]) == _without_times(b["provenance"]["flows"])
    store.verify_store(dest)


def test_failure_creating_a_store_leaves_nothing(release_zip, tmp_path, monkeypatch):
    monkeypatch.setattr(baci, "_year_to_parquet",
                        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        ingest_baci(release_zip, tmp_path / "new-store")
    assert not (tmp_path / "new-store").exists()


def test_provenance_is_json(release_zip, tmp_path):
    ingest_baci(release_zip, tmp_path / "s")
    man = store.manifest(tmp_path / "s")
    json.dumps(man["provenance"])
    assert man["provenance"]["flows"]["selection"]["mode"] == "categories"


# --------------------------------------------------------------------------- older HS versions

HS12_PRODUCTS = """code,description
010121,"Horses: live, pure-bred breeding animals"
846221,"Bending, folding, straightening or flattening machines, numerically controlled"
880330,"Parts of aeroplanes or helicopters, n.e.c."
854140,"Photosensitive semiconductor devices, incl. photovoltaic cells; light-emitting diodes"
854231,"Electronic integrated circuits: processors and controllers"
"""


def write_hs12_zip(tmp_path) -> Path:
    """An HS12-format release: BACI_HS12_Y2015_V202601.csv and its product table."""
    src = tmp_path / "hs12-src"
    src.mkdir()
    (src / "country_codes_V202601.csv").write_text(COUNTRIES, encoding="utf-8")
    (src / "product_codes_HS12_V202601.csv").write_text(HS12_PRODUCTS, encoding="utf-8")
    (src / "BACI_HS12_Y2015_V202601.csv").write_text(year_text(2015, [
        "2015,251,643,846221,5,1",  # NC bending machines (HS2022 8462.23-.26)
        "2015,251,643,854140,3,NA",  # photosensitive devices (HS2022 8541.41-.49)
        "2015,392,156,880330,7,NA",  # aircraft parts (HS2022 8807.30)
        "2015,490,643,854231,4,NA",  # processors: the same code in every version
        "2015,842,251,10121,1,NA",  # horses: no category
    ]), encoding="utf-8")
    archive = tmp_path / "BACI_HS12_V202601.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(src.iterdir()):
            zf.write(p, p.name)
    return archive


HS12_CATEGORIES = ["chpl_tier1", "chpl_tier3a", "chpl_tier3b", "cnc_machine_tools"]


def test_hs12_release_keeps_codes_mapped_through_the_concordance_chain(tmp_path):
    dest = tmp_path / "store"
    with pytest.warns(UserWarning) as caught:
        report = ingest_baci(write_hs12_zip(tmp_path), dest, categories=HS12_CATEGORIES)
    flows = store.load_flows(dest)
    # HS2022 codes reach HS2012 through HS2017: nothing of the four is lost
    assert set(flows["hs6"]) == {"846221", "854140", "880330", "854231"}
    assert report.rows_written == {2015: 4}
    messages = [str(w.message) for w in caught]
    # no HS2017 <-> HS2012 rows: the step is named, with categories and codes
    gap = next(m for m in messages if "no HS concordance from HS2017 to HS2012" in m)
    assert "cnc_machine_tools" in gap and "845941" in gap
    gaps = report.details["concordance_gaps"]
    assert [(g["from_version"], g["to_version"]) for g in gaps] == [("HS2017", "HS2012")]
    prov = store.store_info(dest)["provenance"]["flows"]
    assert prov["concordance_gaps"] == gaps


@pytest.mark.filterwarnings("ignore:.*no HS concordance from HS2017 to HS2012")
def test_codes_missing_from_the_product_table_warn_and_are_recorded(tmp_path):
    dest = tmp_path / "store"
    with pytest.warns(UserWarning, match="not in the release's product table") as caught:
        report = ingest_baci(write_hs12_zip(tmp_path), dest, categories=HS12_CATEGORIES)
    msg = next(str(w.message) for w in caught if "product table" in str(w.message))
    assert "product_codes_HS12_V202601.csv" in msg and "HS2012" in msg
    assert "cnc_machine_tools" in msg and "Remedy" in msg
    unmapped = report.details["unmapped_codes"]
    # NC boring machines 8459.41 and flat-surface grinders 8460.12 are HS2017 codes
    assert {"845941", "846012"} <= set(unmapped["cnc_machine_tools"])
    assert "854232" in unmapped["chpl_tier1"]  # memories: absent from this tiny table
    assert "854231" not in unmapped.get("chpl_tier1", [])
    assert set(unmapped) <= set(HS12_CATEGORIES)
    prov = store.store_info(dest)["provenance"]["flows"]
    assert prov["unmapped_codes"] == unmapped
    text = "\n".join(report.lines())
    assert "unmapped" in text and "cnc_machine_tools" in text


def test_complete_product_table_gives_no_unmapped_codes(tmp_path):
    folder = write_folder(tmp_path / "x", years=(2022,))
    (folder / "product_codes_HS17_V202601.csv").write_text(
        PRODUCTS + "854232,Memories\n854233,Amplifiers\n854239,Other ICs\n",
        encoding="utf-8")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # chpl_tier1 is complete: not a word
        report = ingest_baci(folder, tmp_path / "store", categories=["chpl_tier1"])
    assert "unmapped_codes" not in report.details
    assert store.store_info(tmp_path / "store")["provenance"]["flows"]["unmapped_codes"] == {}
