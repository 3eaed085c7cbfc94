"""Bring-your-own flows: ``analytics.sources.csvflows`` and ``chokepoint ingest csv``.

Fixture files are written by the tests (a few hand-checkable rows each); the last tests
ingest the real extracts in ../shared/data (skipped with a reason when absent).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from analytics import store
from analytics.cli import main
from analytics.errors import (
    DataError,
    HSVersionError,
    SchemaViolation,
    SourceFormatError,
    StoreError,
    UnknownCountry,
)
from analytics.sources.csvflows import (
    SharedDataMissing,
    ingest_flows_file,
    parse_mapping,
    read_flows_file,
    require_shared_data,
    shared_data_dir,
)

MAP = "exporter=i,importer=j,hs6=cmd,value_usd=value"


def write(tmp_path: Path, text: str, name: str = "flows.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def triples(frame: pd.DataFrame) -> list[tuple]:
    return sorted(zip(frame["year"], frame["exporter"], frame["importer"], frame["hs6"],
                      frame["value_usd"], strict=True))


# ------------------------------------------------------------------ the mapping


def test_parse_mapping():
    assert parse_mapping(MAP) == {"exporter": "i", "importer": "j", "hs6": "cmd",
                                  "value_usd": "value"}
    assert parse_mapping({"year": "t"}) == {"year": "t"}
    assert parse_mapping(None) == {}


@pytest.mark.parametrize("text, message", [
    ("exporter=i,origin=j", "unknown field 'origin'"),
    ("exporter=i,exporter=j", "mapped twice"),
    ("exporter", "not field=column"),
])
def test_parse_mapping_errors(text, message):
    with pytest.raises(DataError, match=message):
        parse_mapping(text)


def test_mapped_column_missing_names_the_header(tmp_path):
    p = write(tmp_path, "i,j,k,v\nCHN,JPN,850511,1\n")
    with pytest.raises(SourceFormatError) as err:
        read_flows_file(p, mapping=MAP, year=2022)
    msg = str(err.value)
    assert "'cmd' (mapped to hs6) is not in the file" in msg and "i, j, k, v" in msg
    assert "--map" in msg


def test_required_fields_and_year(tmp_path):
    p = write(tmp_path, "exporter,importer,hs6,value\nCHN,JPN,850511,1\n")
    with pytest.raises(SourceFormatError, match="no column for value_usd"):
        read_flows_file(p, year=2022)
    with pytest.raises(SourceFormatError, match="no year column and no year given"):
        read_flows_file(p, mapping="value_usd=value")
    # unmapped fields use columns of their own name
    f = read_flows_file(p, mapping="value_usd=value", year=2022)
    assert triples(f) == [(2022, "CHN", "JPN", "850511", 1.0)]


# ------------------------------------------------------------------ conversion


def test_codes_iso3_numeric_aliases_and_aggregates(tmp_path):
    p = write(tmp_path, "\n".join([
        "i,j,cmd,value",
        "CHN,RUS,850511,2.5",     # ISO3
        "156,392,10121,1",        # M49 numbers; a five-digit HS code lost its zero
        "0156,0643,8505.19,4",    # leading zeros and a dotted code
        "S19,JPN,854231.0,3",     # CEPII's Taiwan; a code written as a float
        "jpn,usa,850511,7",       # lower case ISO3
        "490,KOR,854231,1",       # 490 "Other Asia, nes" is Taiwan
        "0,392,850511,9",         # World
        "CHN,WLD,850511,9",       # World as ISO3
        "97,JPN,850511,9",        # EU aggregate
    ]) + "\n")
    f = read_flows_file(p, mapping=MAP, year=2022, value_unit="kusd")
    assert triples(f) == [(2022, "CHN", "JPN", "010121", 1000.0),
                          (2022, "CHN", "RUS", "850511", 2500.0),
                          (2022, "CHN", "RUS", "850519", 4000.0),
                          (2022, "JPN", "USA", "850511", 7000.0),
                          (2022, "TWN", "JPN", "854231", 3000.0),
                          (2022, "TWN", "KOR", "854231", 1000.0)]
    assert f.attrs["notes"] == {"aggregate_area": 3, "code_alias": 1}
    assert f.attrs["dropped"] == {}
    assert list(f.columns) == ["year", "exporter", "importer", "hs6", "value_usd",
                               "quantity"]


def test_numeric_and_iso_of_one_country_are_one_key(tmp_path):
    # 156 and CHN are the same exporter: the two rows are a duplicated key
    p = write(tmp_path, "i,j,cmd,value\nCHN,RUS,850511,2.5\n156,643,850511,4\n")
    with pytest.raises(DataError, match="duplicate key"):
        read_flows_file(p, mapping=MAP, year=2022)
    f = read_flows_file(p, mapping=MAP, year=2022, sum_duplicates=True)
    assert triples(f) == [(2022, "CHN", "RUS", "850511", 6.5)]
    assert f.attrs["notes"] == {"summed_duplicates": 1}


def test_aggregates_are_a_counted_note(tmp_path):
    p = write(tmp_path, "i,j,cmd,value\n0,392,850511,9\nCHN,W00,850511,9\n"
                        "CHN,EUU,850511,1\nCHN,JPN,850511,2\n")
    f = read_flows_file(p, mapping=MAP, year=2022)
    assert triples(f) == [(2022, "CHN", "JPN", "850511", 2.0)]
    assert f.attrs["notes"] == {"aggregate_area": 3}
    assert f.attrs["dropped"] == {}


def test_year_column_and_year_option(tmp_path):
    p = write(tmp_path, "t,i,j,cmd,value,q\n2021,CHN,JPN,850511,1,0.5\n"
                        "2022,CHN,JPN,850511,2,NA\n,CHN,KOR,850511,3,\n")
    mapping = MAP + ",year=t,quantity=q"
    with pytest.raises(DataError) as err:  # an empty year and no --year to fill it
        read_flows_file(p, mapping=mapping)
    assert "row 4" in str(err.value) and "calendar year" in str(err.value)
    with pytest.raises(DataError) as err:  # --year checks a year column
        read_flows_file(p, mapping=mapping, year=2022)
    assert "row 2" in str(err.value) and "differs from --year" in str(err.value)
    with pytest.warns(UserWarning, match="dropped 1 bad row"):  # --year fills the blank
        f = read_flows_file(p, mapping=mapping, year=2022, lenient=True)
    assert triples(f) == [(2022, "CHN", "JPN", "850511", 2.0),
                          (2022, "CHN", "KOR", "850511", 3.0)]
    assert f.attrs["dropped"] == {"csv_year_mismatch": 1}
    assert f["quantity"].isna().all()
    with pytest.warns(UserWarning, match="csv_bad_year"):
        f = read_flows_file(p, mapping=mapping, lenient=True)
    assert sorted(f["year"]) == [2021, 2022]
    assert f.loc[f["year"] == 2021, "quantity"].tolist() == [0.5]


def test_csv_gz_semicolons_and_parquet(tmp_path):
    gz = tmp_path / "flows.csv.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as fh:
        fh.write("i;j;cmd;value\nCHN;JPN;850511;1.5\n392;410;854231;2\n")
    f = read_flows_file(gz, mapping=MAP, year=2023)
    assert triples(f) == [(2023, "CHN", "JPN", "850511", 1.5),
                          (2023, "JPN", "KOR", "854231", 2.0)]
    pq_path = tmp_path / "flows.parquet"
    pd.DataFrame({"i": [156, 392], "j": [392, 410], "cmd": [10121, 854231],
                  "value": [1.0, 2.0], "t": [2023, 2023]}).to_parquet(pq_path)
    f = read_flows_file(pq_path, mapping=MAP + ",year=t")
    assert triples(f) == [(2023, "CHN", "JPN", "010121", 1.0),
                          (2023, "JPN", "KOR", "854231", 2.0)]


def test_sum_duplicates_adds_lines_and_quantities(tmp_path):
    p = write(tmp_path, "year,i,j,cmd,value,q\n2022,TWN,RUS,854231,1,2\n"
                        "2022,TWN,RUS,854231,2,3\n2022,TWN,RUS,854232,5,1\n"
                        "2022,TWN,RUS,854232,5,\n")
    f = read_flows_file(p, mapping=MAP + ",quantity=q", sum_duplicates=True)
    assert triples(f) == [(2022, "TWN", "RUS", "854231", 3.0),
                          (2022, "TWN", "RUS", "854232", 10.0)]
    q = dict(zip(f["hs6"], f["quantity"], strict=True))
    assert q["854231"] == 5.0 and pd.isna(q["854232"])  # one line without a quantity
    assert f.attrs["notes"] == {"summed_duplicates": 2}


# ------------------------------------------------------------------ bad input


def _error(tmp_path, lines: list[str], **kw):
    p = write(tmp_path, "\n".join(["i,j,cmd,value", *lines]) + "\n")
    with pytest.raises(DataError) as err:
        read_flows_file(p, mapping=MAP, year=2022, **kw)
    return err.value


@pytest.mark.parametrize("row, column, value, text", [
    ("CHN,JPN,850511,-5", "value", "-5", "negative value"),
    ("CHN,JPN,850511,1e3x", "value", "1e3x", "not a number"),
    ("CHN,JPN,850511,", "value", "", "missing or non-finite value"),
    ("CHN,JPN,8505,1", "cmd", "8505", "not a six-digit HS code"),
    ("CHN,JPN,85051100,1", "cmd", "85051100", "not a six-digit HS code"),
    ("CHN,CHN,850511,1", "j", "CHN", "exporter equals importer"),
    ("CHN,,850511,1", "j", "", "missing country code"),
])
def test_each_bad_value_names_file_line_column_value_remedy(tmp_path, row, column,
                                                            value, text):
    err = _error(tmp_path, ["CHN,KOR,850511,1", row])
    msg = str(err)
    assert "flows.csv" in msg and "row 3" in msg and f"'{column}'" in msg
    assert f"'{value}'" in msg and text in msg and "Remedy:" in msg
    assert "--lenient" in msg


def test_unknown_codes_raise_unknown_country(tmp_path):
    p = write(tmp_path, "i,j,cmd,value\nCHN,JPN,850511,1\nXXZ,JPN,850511,1\n"
                        "CHN,999,850511,1\n")
    with pytest.raises(UnknownCountry) as err:
        read_flows_file(p, mapping=MAP, year=2022)
    msg = str(err.value)
    assert "row 3" in msg and "'i'" in msg and "XXZ" in msg and "999" in msg
    assert "2 rows in all" in msg and "trade_codes" in msg


def test_duplicates_are_rejected_with_the_option_named(tmp_path):
    err = _error(tmp_path, ["CHN,JPN,850511,1", "CHN,JPN,850511,2"])
    msg = str(err)
    assert isinstance(err, SchemaViolation)
    assert "duplicate key" in msg and "--sum-duplicates" in msg
    assert "row 2" in msg and "row 3" in msg and "2022,CHN,JPN,850511" in msg


def test_bad_quantity(tmp_path):
    p = write(tmp_path, "i,j,cmd,value,q\nCHN,JPN,850511,1,NA\nCHN,KOR,850511,1,-2\n")
    with pytest.raises(DataError, match="quantity is not a non-negative number"):
        read_flows_file(p, mapping=MAP + ",quantity=q", year=2022)


def test_malformed_line_and_line_numbers_after_it(tmp_path):
    p = write(tmp_path, "i,j,cmd,value\nCHN,JPN,850511,1\nCHN,JPN\nCHN,KOR,850511,-1\n")
    with pytest.raises(DataError) as err:
        read_flows_file(p, mapping=MAP, year=2022)
    msg = str(err.value)
    assert "malformed line" in msg and "row 3" in msg
    assert "row 4" in msg and "negative value" in msg  # counted after the bad line


def test_lenient_drops_and_counts_every_reason(tmp_path):
    p = write(tmp_path, "\n".join([
        "i,j,cmd,value",
        "CHN,JPN,850511,1",       # good
        "CHN,JPN,850511,2",       # duplicate of the line above (both dropped)
        "CHN,KOR,850511,-1",      # negative
        "CHN,USA,850511,abc",     # not a number
        "XXZ,USA,850511,1",       # unknown code
        ",USA,850511,1",          # missing code
        "CHN,DEU,85,1",           # bad HS
        "0,USA,850511,1",         # aggregate (a note)
        "CHN,FRA,850511,4",       # good
    ]) + "\n")
    with pytest.warns(UserWarning, match="dropped 7 bad row"):
        f = read_flows_file(p, mapping=MAP, year=2022, lenient=True)
    assert triples(f) == [(2022, "CHN", "FRA", "850511", 4.0)]
    assert f.attrs["dropped"] == {"csv_duplicate_key": 2, "csv_negative_value": 1,
                                  "csv_not_a_number": 1, "unknown_country": 1,
                                  "missing_country": 1, "csv_bad_hs6": 1}
    assert f.attrs["notes"] == {"aggregate_area": 1}
    ex = {e["reason"]: e for e in f.attrs["examples"]}
    assert ex["csv_negative_value"]["line"] == 4 and ex["csv_negative_value"]["value"] == "-1"
    assert ex["unknown_country"]["column"] == "i"


def test_value_unit_and_year_range_checked(tmp_path):
    p = write(tmp_path, "i,j,cmd,value\nCHN,JPN,850511,1\n")
    with pytest.raises(DataError, match="unknown value unit"):
        read_flows_file(p, mapping=MAP, year=2022, value_unit="eur")
    with pytest.raises(DataError, match="year out of range"):
        read_flows_file(p, mapping=MAP, year=22)
    with pytest.raises(SourceFormatError, match="no such file"):
        read_flows_file(tmp_path / "absent.csv", mapping=MAP, year=2022)
    with pytest.raises(SourceFormatError, match="empty file"):
        read_flows_file(write(tmp_path, "", "empty.csv"), mapping=MAP, year=2022)


# ------------------------------------------------------------------ the store


def test_ingest_two_years_into_one_store_and_replace_one(tmp_path):
    dest = tmp_path / "store"
    a = write(tmp_path, "i,j,cmd,value\nCHN,RUS,850511,2\nKAZ,RUS,250490,1\n", "a_2022.csv")
    b = write(tmp_path, "i,j,cmd,value\nCHN,RUS,850511,5\n", "b_2024.csv")
    r1 = ingest_flows_file(a, dest, mapping=MAP, year=2022, hs_version="HS2017",
                           name="tiny", data_source="hand-made")
    assert r1.years == [2022] and r1.rows_written == {2022: 2}
    info = store.store_info(dest)
    assert info["name"] == "tiny" and info["hs_version"] == "HS2017"
    assert not info["synthetic"]
    r2 = ingest_flows_file(b, dest, mapping=MAP, year=2024)  # HS version from the store
    assert r2.years == [2024]
    info = store.store_info(dest)
    assert info["years"] == [2022, 2024] and info["name"] == "tiny"
    prov = info["provenance"]["flows"]
    assert [(e["file"], e["years"]) for e in prov["files"]] == [("a_2022.csv", [2022]),
                                                                ("b_2024.csv", [2024])]
    assert prov["data_source"] == "hand-made" and prov["mapping"]["hs6"] == "cmd"
    # the reference tables came with the new store
    ds = store.read_dataset(dest)
    assert "rare_earth_magnets" in set(ds.categories["category_id"])
    # a new 2022 file replaces 2022 and keeps 2024
    c = write(tmp_path, "i,j,cmd,value\nTUR,RUS,850511,3\n", "c_2022.csv")
    ingest_flows_file(c, dest, mapping=MAP, year=2022)
    assert triples(store.load_flows(dest)) == [(2022, "TUR", "RUS", "850511", 3.0),
                                               (2024, "CHN", "RUS", "850511", 5.0)]
    files = store.store_info(dest)["provenance"]["flows"]["files"]
    assert sorted(e["file"] for e in files) == ["b_2024.csv", "c_2022.csv"]


def test_failed_ingest_leaves_the_store_as_it_was(tmp_path):
    dest = tmp_path / "store"
    a = write(tmp_path, "i,j,cmd,value\nCHN,RUS,850511,2\n", "a.csv")
    ingest_flows_file(a, dest, mapping=MAP, year=2022, hs_version="HS2017")
    before = store.snapshot_id(dest)
    bad = write(tmp_path, "i,j,cmd,value\nCHN,RUS,850511,2\nCHN,RUS,850511,-1\n", "bad.csv")
    with pytest.raises(DataError):
        ingest_flows_file(bad, dest, mapping=MAP, year=2024)
    assert store.snapshot_id(dest) == before
    assert store.store_info(dest)["years"] == [2022]
    assert not [p for p in dest.iterdir() if p.name.startswith(".ingest-")]
    # a failed first ingest leaves no folder behind
    new = tmp_path / "new-store"
    with pytest.raises(DataError):
        ingest_flows_file(bad, new, mapping=MAP, year=2024, hs_version="HS2017")
    assert not new.exists()


def _synthetic_store(path: Path) -> Path:
    from analytics.dataset import Dataset
    from analytics.schemas import Categories, CategoryHS, Countries, Events, empty

    flows = pd.DataFrame({"year": [2022], "exporter": ["JPN"], "importer": ["KAZ"],
                          "hs6": ["848620"], "value_usd": [1.0]})
    ds = Dataset(flows=flows, countries=empty(Countries), categories=empty(Categories),
                 category_hs=empty(CategoryHS), events=empty(Events), name="demo",
                 synthetic=True)
    return store.write_dataset(ds, path)


def test_store_refusals(tmp_path):
    a = write(tmp_path, "i,j,cmd,value\nCHN,RUS,850511,2\n", "a.csv")
    with pytest.raises(HSVersionError, match="--hs-version"):
        ingest_flows_file(a, tmp_path / "s1", mapping=MAP, year=2022)
    assert not (tmp_path / "s1").exists()
    with pytest.raises(HSVersionError, match="unknown HS version"):
        ingest_flows_file(a, tmp_path / "s1", mapping=MAP, year=2022, hs_version="HS17")
    ingest_flows_file(a, tmp_path / "s2", mapping=MAP, year=2022, hs_version="HS2017")
    with pytest.raises(HSVersionError, match="separate store"):
        ingest_flows_file(a, tmp_path / "s2", mapping=MAP, year=2023, hs_version="HS2022")
    with pytest.raises(StoreError, match="synthetic demo data"):
        ingest_flows_file(a, _synthetic_store(tmp_path / "demo"), mapping=MAP, year=2022)


def test_store_of_another_source_is_refused(tmp_path):
    from analytics.sources.comtrade import ingest_comtrade

    ct = write(tmp_path, "year,reporter,partner,cmd,flow,value,netwgt\n"
                         "2022,156,643,850511,X,10,1\n", "comtrade_2022.csv")
    dest = tmp_path / "store"
    ingest_comtrade(ct, dest, hs_version="HS2017")
    a = write(tmp_path, "i,j,cmd,value\nCHN,RUS,850511,2\n", "a.csv")
    with pytest.raises(StoreError, match="UN Comtrade flows"):
        ingest_flows_file(a, dest, mapping=MAP, year=2024)


# ------------------------------------------------------------------ the command


def test_cli_ingest_csv(tmp_path, capsys):
    dest = tmp_path / "store"
    a = write(tmp_path, "i,j,cmd,value\nCHN,RUS,850511,2.5\n0,RUS,850511,9\n", "a.csv")
    rc = main(["ingest", "csv", str(a), "--store", str(dest), "--map", MAP, "--year", "2022",
               "--value-unit", "kusd", "--hs-version", "HS2017", "--name", "mine"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "2022: 1 flow rows of 2 read" in out and "aggregate partner" in out
    assert "store " in out and "mine (HS2017), years [2022]" in out
    assert store.load_flows(dest)["value_usd"].tolist() == [2500.0]
    bad = write(tmp_path, "i,j,cmd,value\nCHN,RUS,850511,2.5\nCHN,RUS,850511,1\n", "b.csv")
    rc = main(["ingest", "csv", str(bad), "--store", str(dest), "--map", MAP, "--year",
               "2023"])
    err = capsys.readouterr().err
    assert rc == 2 and "error:" in err and "duplicate key" in err
    assert "--sum-duplicates" in err
    rc = main(["ingest", "csv", str(bad), "--store", str(dest), "--map", MAP, "--year",
               "2023", "--sum-duplicates"])
    assert rc == 0 and store.store_info(dest)["years"] == [2022, 2023]
    assert "added up" in capsys.readouterr().out


def test_cli_ingest_csv_help_lists_options(capsys):
    with pytest.raises(SystemExit):
        main(["ingest", "csv", "--help"])
    out = capsys.readouterr().out
    for opt in ("--map", "--year", "--value-unit", "--hs-version", "--sum-duplicates",
                "--lenient"):
        assert opt in out


# ------------------------------------------------------------------ finding shared data


def test_shared_data_dir_and_require(tmp_path, monkeypatch):
    root = tmp_path / "work"
    (root / "shared" / "data" / "sub").mkdir(parents=True)
    (root / "main" / "notebooks").mkdir(parents=True)
    monkeypatch.delenv("CHOKEPOINT_SHARED_DATA", raising=False)
    assert shared_data_dir(root / "main" / "notebooks") == root / "shared" / "data"
    assert shared_data_dir(tmp_path) is None
    monkeypatch.setenv("CHOKEPOINT_SHARED_DATA", str(root / "shared" / "data"))
    assert require_shared_data("sub") == root / "shared" / "data" / "sub"
    with pytest.raises(SharedDataMissing, match="'other' is not available"):
        require_shared_data("other")
    monkeypatch.setenv("CHOKEPOINT_SHARED_DATA", str(tmp_path / "absent"))
    assert shared_data_dir() is None
    with pytest.raises(SharedDataMissing, match="CHOKEPOINT_SHARED_DATA"):
        require_shared_data("sub")
    assert require_shared_data("sub", root / "shared" / "data").name == "sub"


# ------------------------------------------------------------------ the real extracts


@pytest.fixture(scope="module")
def baci_store(tmp_path_factory, shared_data):
    dest = tmp_path_factory.mktemp("csvflows-real") / "store"
    folder = shared_data / "baci-critical-minerals-2022-2024"
    reports = [ingest_flows_file(folder / f"baci_hs17_critical_{y}.csv", dest, year=y,
                                 mapping=MAP, hs_version="HS2017") for y in (2022, 2024)]
    return dest, reports


@pytest.mark.shared_data
def test_real_baci_extract(baci_store):
    dest, (r22, r24) = baci_store
    assert r22.rows_written == {2022: 23_167} and r24.rows_written == {2024: 21_723}
    assert r22.dropped == {} and set(r22.notes) == {"code_alias"}  # S19 -> TWN
    info = store.store_info(dest)
    assert info["years"] == [2022, 2024] and info["rows"]["flows"] == 23_167 + 21_723
    f = store.load_flows(dest)
    tot = f.groupby("year")["value_usd"].sum() / 1e9
    assert tot[2022] == pytest.approx(388.5, abs=0.05)
    assert tot[2024] == pytest.approx(297.6, abs=0.05)
    ex = f.groupby("year").agg(e=("exporter", "nunique"), i=("importer", "nunique"))
    assert ex.loc[2022].tolist() == [188, 207] and ex.loc[2024].tolist() == [182, 215]
    assert f["hs6"].nunique() == 30 and "TWN" in set(f["exporter"])
    rus = f[(f["importer"] == "RUS") & (f["year"] == 2022)]
    assert len(rus) == 192 and rus["value_usd"].sum() / 1e6 == pytest.approx(514.2, abs=0.05)
    by = rus.groupby("exporter")["value_usd"].sum() / 1e6
    assert by["CHN"] == pytest.approx(189.8, abs=0.05)
    assert by["KAZ"] == pytest.approx(89.3, abs=0.05)
    assert by["TUR"] == pytest.approx(50.3, abs=0.05)
    rus24 = f[(f["importer"] == "RUS") & (f["year"] == 2024)]
    assert len(rus24) == 101 and rus24["value_usd"].sum() / 1e6 == pytest.approx(243.4,
                                                                                   abs=0.05)
    files = info["provenance"]["flows"]["files"]
    assert [e["file"] for e in files] == ["baci_hs17_critical_2022.csv",
                                          "baci_hs17_critical_2024.csv"]


@pytest.mark.shared_data
def test_real_baci_named_parquet_matches_the_csv(shared_data, baci_store):
    dest, _ = baci_store
    folder = shared_data / "baci-critical-minerals-2022-2024"
    f = read_flows_file(folder / "baci_hs17_critical_2024_named.parquet",
                        mapping="value_usd=value_kusd,quantity=qty_t", value_unit="kusd")
    assert len(f) == 21_723
    csv = store.load_flows(dest, years=[2024]).set_index(["exporter", "importer", "hs6"])
    par = f.set_index(["exporter", "importer", "hs6"])
    joined = csv[["value_usd"]].merge(par[["value_usd"]], left_index=True, right_index=True,
                                      suffixes=("", "_pq"))
    assert len(joined) == 21_723
    assert (joined["value_usd"] - joined["value_usd_pq"]).abs().max() < 1.0
    assert par.loc[("TJK", "FRA", "811010"), "value_usd"] == pytest.approx(111_108_435.0)


@pytest.mark.shared_data
def test_real_taiwan_file(shared_data, tmp_path):
    path = shared_data / "taiwan-ic-exports-8542" / \
        "taiwan_exports_8542_by_destination_2013_2025.csv"
    mapping = "exporter=reporter_iso3,importer=partner_iso3"
    with pytest.raises(SchemaViolation) as err:  # 11-digit lines are duplicates of HS6 keys
        read_flows_file(path, mapping=mapping)
    assert "duplicate key" in str(err.value) and "missing country code" in str(err.value)
    with pytest.raises(DataError) as err:  # "Others" has no code
        read_flows_file(path, mapping=mapping, sum_duplicates=True)
    assert "x39" in str(err.value) and "'partner_iso3'" in str(err.value)
    dest = tmp_path / "store"
    rep = ingest_flows_file(path, dest, mapping=mapping, sum_duplicates=True, lenient=True,
                            hs_version="HS2017")
    assert rep.dropped == {"missing_country": 39}
    assert rep.notes == {"summed_duplicates": 5_092}
    assert rep.years == list(range(2013, 2026))
    f = store.load_flows(dest)
    assert set(f["exporter"]) == {"TWN"} and set(f["hs6"]) == {
        "854231", "854232", "854233", "854239", "854290"}
    tot = f.groupby("year")["value_usd"].sum() / 1e9
    for year, bn in {2019: 100.3, 2020: 122.4, 2021: 155.5, 2022: 184.1, 2023: 166.6,
                     2024: 165.0}.items():
        assert tot[year] == pytest.approx(bn, abs=0.05), year
    rus = f[f["importer"] == "RUS"].groupby("year")["value_usd"].sum() / 1e6
    assert [round(rus[y], 1) for y in (2019, 2020, 2021, 2022, 2023, 2024)] == \
        [27.4, 25.3, 21.6, 10.6, 3.5, 0.6]
    assert 2025 not in rus.index
    tur = f[f["importer"] == "TUR"].groupby("year")["value_usd"].sum() / 1e6
    assert round(tur[2021]) == 128 and round(tur[2023]) == 156
    prov = store.store_info(dest)["provenance"]["flows"]
    assert prov["dropped"] == {"missing_country": 39}
    assert json.dumps(prov)  # plain JSON
