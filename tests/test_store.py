"""Tests of analytics.store: layout, round trips, DuckDB reads, atomicity, corruption."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from analytics import store
from analytics.dataset import TABLE_FIELDS, Dataset
from analytics.errors import (
    DataError,
    HSVersionError,
    SchemaViolation,
    StoreCorrupted,
    StoreError,
    StoreNotFound,
    UnknownCountry,
)
from analytics.schemas import (
    Brands,
    Categories,
    CategoryHS,
    Countries,
    Entities,
    Events,
    Flows,
    HSConcordance,
    Shipments,
    Suppliers,
    empty,
    validate,
)

# --------------------------------------------------------------------------- fixtures


def frame(table, rows):
    """A tiny table: the schema's empty frame plus hand-written rows."""
    base = empty(table)
    data = pd.DataFrame(rows, columns=base.columns)
    return data.astype(base.dtypes.to_dict())


def country(iso3, name, region, **flags):
    row = {c: False for c in ("jp_group_a", "un_arms_embargo", "wassenaar", "nsg",
                              "australia_group", "mtcr", "eu", "eaeu", "g7", "hub")}
    row.update(iso3=iso3, iso2=iso3[:2], iso_numeric=None, trade_code=None, name=name,
               name_ja=None, region=region, subregion=None, sanctioned=None,
               source="hand-made", as_of="2025-01-01")
    row.update(flags)
    return row


FLOW_ROWS = [
    # year, exporter, importer, hs6, value_usd, quantity
    (2021, "JPN", "RUS", "848620", 10.0, 1.0),
    (2021, "NLD", "RUS", "848620", 20.0, np.nan),
    (2021, "JPN", "KAZ", "854231", 3.0, 0.5),
    (2022, "JPN", "KAZ", "848620", 30.0, 2.0),
    (2022, "KAZ", "RUS", "848620", 25.0, np.nan),
    (2022, "NLD", "KAZ", "854231", 7.5, 1.5),
    (2023, "JPN", "KAZ", "848620", 40.0, 3.0),
    (2023, "KAZ", "RUS", "854231", 35.0, np.nan),
]


def make_flows(rows=FLOW_ROWS):
    return frame(Flows, [dict(zip(Flows.columns(), r, strict=True)) for r in rows])


def make_dataset(*, optional=True, flows=None) -> Dataset:
    countries = frame(Countries, [
        country("JPN", "Japan", "Asia", jp_group_a=True, wassenaar=True, g7=True),
        country("NLD", "Netherlands", "Europe", jp_group_a=True, eu=True),
        country("KAZ", "Kazakhstan", "Asia", eaeu=True, hub=True),
        country("RUS", "Russia", "Europe", eaeu=True, sanctioned="comprehensive"),
    ])
    categories = frame(Categories, [
        {"category_id": "chip_tools", "name": "Chip-making equipment", "name_ja": None,
         "description": "HS 8486", "control_basis": "JP list 7", "sensitivity": 0.9,
         "direction": "outbound", "source": "hand-made", "as_of": "2025-01-01"},
        {"category_id": "ics", "name": "Integrated circuits", "name_ja": "集積回路",
         "description": None, "control_basis": "CHPL Tier 1", "sensitivity": 1.0,
         "direction": "outbound", "source": "hand-made", "as_of": "2025-01-01"},
    ])
    category_hs = frame(CategoryHS, [
        {"category_id": "chip_tools", "hs6": "8486", "hs_version": "HS2017", "note": None,
         "source": "hand-made", "as_of": "2025-01-01"},
        {"category_id": "ics", "hs6": "854231", "hs_version": "HS2017", "note": "CPUs",
         "source": "hand-made", "as_of": "2025-01-01"},
    ])
    events = frame(Events, [
        {"event_id": "jp-2022-03", "date": pd.Timestamp("2022-03-18"), "jurisdiction": "JPN",
         "measure": "export ban", "categories": "all", "destinations": "RUS;BLR",
         "kind": "sanctions", "source": "hand-made", "as_of": "2025-01-01"},
    ])
    tables = dict(flows=make_flows() if flows is None else flows, countries=countries,
                  categories=categories, category_hs=category_hs, events=events)
    if optional:
        tables.update(
            hs_concordance=frame(HSConcordance, [
                {"from_version": "HS2022", "from_hs6": "854231", "to_version": "HS2017",
                 "to_hs6": "854231", "relation": "1:1", "note": None,
                 "source": "hand-made", "as_of": "2025-01-01"}]),
            suppliers=frame(Suppliers, [
                {"item_id": "euv", "item_name": "EUV scanner", "provider": "ASML",
                 "provider_country": "NLD", "share": 1.0, "year": 2022, "source": "ETO"},
                {"item_id": "resist", "item_name": "Photoresist", "provider": "JSR",
                 "provider_country": "JPN", "share": 0.3, "year": None, "source": None}]),
            entities=frame(Entities, [
                {"name": "Acme Trading", "aliases": "Acme;ACME LLC", "country": "KAZ",
                 "concern": "diversion", "list_name": "End User List", "source": None}]),
            shipments=frame(Shipments, [
                {"date": pd.Timestamp("2023-05-01"), "declaration_id": "D1",
                 "consignee": "Acme Trading", "importer_country": "KAZ", "shipper": "X",
                 "dispatch_country": "JPN", "origin_country": None, "brand": "B",
                 "hs_code": "84862000", "value_usd": 12.5, "quantity": np.nan}]),
            brands=frame(Brands, [{"brand": "B", "hq_country": "JPN", "source": None}]),
        )
    return Dataset(**tables, hs_version="HS2017", name="tiny world", synthetic=True,
                   provenance={"flows": {"source": "hand-made", "version": "1",
                                         "years": [2021, 2022, 2023]},
                               "countries": {"source": "hand-made", "licence": None}})


@pytest.fixture
def ds() -> Dataset:
    return make_dataset()


@pytest.fixture(scope="module")
def expected() -> Dataset:
    """The tiny dataset, validated once (validation dominates the run time)."""
    return make_dataset().validated()


@pytest.fixture
def st(tmp_path, expected) -> Path:
    return store.write_dataset(expected, tmp_path / "store", validate=False)


def assert_same_dataset(got: Dataset, want: Dataset) -> None:
    for key in TABLE_FIELDS:
        a, b = getattr(got, key), getattr(want, key)
        if b is None:
            assert a is None, key
        else:
            pdt.assert_frame_equal(a, b, check_dtype=True, obj=key)
    assert got.hs_version == want.hs_version
    assert got.name == want.name
    assert got.synthetic == want.synthetic
    assert got.provenance == want.provenance


def snapshot_names(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "snapshots").iterdir())


def flows_file(root: Path, year: int) -> Path:
    return store.snapshot_dir(root) / f"flows/year={year}/part-0.parquet"


# --------------------------------------------------------------------------- round trip


def test_round_trip_is_exact(tmp_path, ds, expected):
    st = store.write_dataset(ds, tmp_path / "s")  # validates
    assert_same_dataset(store.read_dataset(st), expected)
    assert_same_dataset(store.read_dataset(st, verify=True), expected)


def test_round_trip_without_optional_tables(tmp_path):
    ds = make_dataset(optional=False)
    root = store.write_dataset(ds, tmp_path / "s")
    back = store.read_dataset(root)
    assert_same_dataset(back, ds.validated())
    assert {e["table"] for e in store.manifest(root)["files"]} == {
        "flows", "countries", "categories", "category_hs", "events"}


def test_round_trip_empty_flows(tmp_path):
    ds = make_dataset(flows=empty(Flows))
    root = store.write_dataset(ds, tmp_path / "s")
    back = store.read_dataset(root)
    pdt.assert_frame_equal(back.flows, empty(Flows))
    assert store.store_info(root)["years"] == []
    assert store.load_flows(root).empty
    assert store.query(root, "SELECT count(*) AS n FROM flows")["n"].iloc[0] == 0


def test_layout_and_manifest(st, expected):
    snap = store.snapshot_dir(st)
    assert (st / "CURRENT").read_text().strip() == snap.name == store.snapshot_id(st)
    man = json.loads((snap / "manifest.json").read_text())
    assert man["format_version"] == 1
    assert man["name"] == "tiny world" and man["synthetic"] is True
    assert man["hs_version"] == "HS2017"
    assert man["years"] == [2021, 2022, 2023]
    assert man["tables"]["flows"] == 8 and man["tables"]["countries"] == 4
    assert man["provenance"]["flows"]["version"] == "1"
    assert pd.Timestamp(man["created"]).tzinfo is not None
    paths = {e["path"] for e in man["files"]}
    assert {"flows/year=2021/part-0.parquet", "flows/year=2023/part-0.parquet",
            "countries.parquet", "brands.parquet", "hs_concordance.parquet"} <= paths
    for e in man["files"]:
        p = snap / e["path"]
        assert p.stat().st_size == e["bytes"]
        assert store._sha256(p) == e["sha256"]
    rows = {e["path"]: e["rows"] for e in man["files"]}
    assert rows["flows/year=2022/part-0.parquet"] == 3
    assert store.manifest(st) == man


def test_store_info_and_pointers(st, tmp_path):
    info = store.store_info(st)
    assert info["name"] == "tiny world" and info["synthetic"] is True
    assert info["years"] == [2021, 2022, 2023]
    assert info["rows"]["suppliers"] == 2
    assert info["provenance"]["countries"] == {"source": "hand-made", "licence": None}
    assert info["snapshot"] == store.snapshot_id(st)
    assert store.is_store(st) and not store.is_store(tmp_path)
    assert store.snapshot_dir(st).parent == st / "snapshots"


def test_read_years_filter(st, expected):
    back = store.read_dataset(st, years=[2022, 2030])
    want = expected.flows[expected.flows["year"] == 2022].reset_index(drop=True)
    pdt.assert_frame_equal(back.flows, want)
    pdt.assert_frame_equal(back.countries, expected.countries)
    assert store.read_dataset(st, years=2021).years == [2021]
    assert store.read_dataset(st, years=[]).flows.empty


def test_provenance_must_be_json(tmp_path):
    bad = make_dataset().replace(provenance={"flows": {"when": pd.Timestamp("2024-01-01")}})
    with pytest.raises(DataError, match="flows"):
        store.write_dataset(bad, tmp_path / "s")
    assert not store.is_store(tmp_path / "s")


def test_validation_runs_before_writing(tmp_path, ds):
    bad = ds.flows.copy()
    bad.loc[0, "value_usd"] = -1.0
    with pytest.raises(SchemaViolation):
        store.write_dataset(ds.replace(flows=bad), tmp_path / "s")
    assert not store.is_store(tmp_path / "s")


# --------------------------------------------------------------------------- DuckDB reads


@pytest.mark.parametrize("filters", [
    {},
    {"years": [2022]},
    {"years": 2021, "hs6": "848620"},
    {"hs6": ["854231"]},
    {"exporters": ["JPN", "NLD"]},
    {"importers": "RUS", "years": [2021, 2023]},
    {"exporters": ["KAZ"], "importers": ["RUS"], "hs6": ["848620", "854231"]},
    {"exporters": ["CHN"]},
])
def test_load_flows_filters_match_pandas(st, expected, filters):
    f = expected.flows
    mask = pd.Series(True, index=f.index)
    as_list = lambda v: [v] if isinstance(v, (str, int)) else list(v)  # noqa: E731
    for arg, col in (("years", "year"), ("hs6", "hs6"), ("exporters", "exporter"),
                     ("importers", "importer")):
        if arg in filters:
            mask &= f[col].isin(as_list(filters[arg]))
    want = f[mask].reset_index(drop=True)
    got = store.load_flows(st, **filters)
    pdt.assert_frame_equal(got, want)


def test_load_flows_columns_and_edge_cases(st, expected):
    got = store.load_flows(st, years=[2022], columns=["value_usd", "exporter"])
    assert list(got.columns) == ["exporter", "value_usd"]  # schema order
    pdt.assert_frame_equal(
        got, expected.flows.loc[expected.flows.year == 2022, ["exporter", "value_usd"]]
        .reset_index(drop=True))
    empty_result = store.load_flows(st, hs6=[])
    pdt.assert_frame_equal(empty_result, empty(Flows))
    pdt.assert_frame_equal(store.load_flows(st, years=[1999]), empty(Flows))
    pdt.assert_frame_equal(store.load_flows(st), store.read_dataset(st).flows)
    # integers are zero-padded HS codes; values are bound, not formatted into SQL
    assert store.load_flows(st, hs6=848620)["hs6"].eq("848620").all()
    with pytest.raises(UnknownCountry):  # never reaches the SQL, which binds values anyway
        store.load_flows(st, exporters=["JPN' OR '1'='1"])
    with pytest.raises(DataError, match="unknown flows column"):
        store.load_flows(st, columns=["value"])


def test_load_flows_refuses_hs6_values_that_can_never_match(st):
    for value, hint in (("8542", "LIKE '8542%'"), ("85", "category"),
                        ("10121", "'010121'"), ("8542.31", "six-digit"),
                        ("84862O", "six-digit")):
        with pytest.raises(DataError, match="six-digit") as err:
            store.load_flows(st, hs6=["848620", value])
        assert err.value.value == value and hint in str(err.value)
    # surrounding blanks are not a different code
    assert len(store.load_flows(st, hs6=[" 848620 "])) == 5


def test_load_flows_country_codes_are_normalised_and_checked(st, expected):
    want = store.load_flows(st, exporters=["JPN"], importers=["KAZ"])
    assert len(want) == 3
    pdt.assert_frame_equal(store.load_flows(st, exporters="jpn", importers=[" kaz"]), want)
    for kwargs, bad in (({"exporters": ["XXX"]}, "XXX"),
                        ({"importers": ["KAZ", "ZZZ"]}, "ZZZ"),
                        ({"exporters": ["Japan"]}, "JAPAN")):
        with pytest.raises(UnknownCountry) as err:
            store.load_flows(st, **kwargs)
        msg = str(err.value)
        assert bad in msg and "countries.csv" in msg
        assert ("exporters" if "exporters" in kwargs else "importers") in msg
    # a known code without flows is an empty result, not an error
    assert store.load_flows(st, exporters=["CHN"]).empty


def test_load_flows_accepts_codes_of_the_store_own_countries_table(tmp_path, expected):
    countries = pd.concat([expected.countries, frame(Countries, [
        country("QQQ", "Testland", "Nowhere")])], ignore_index=True)
    flows = make_flows([*FLOW_ROWS, (2023, "QQQ", "JPN", "848620", 1.0, np.nan)])
    ds = Dataset(**{**{k: getattr(expected, k) for k in TABLE_FIELDS},
                    "countries": countries, "flows": flows}, hs_version="HS2017")
    st = store.write_dataset(ds, tmp_path / "s")
    assert store.load_flows(st, exporters=["qqq"])["value_usd"].tolist() == [1.0]


@pytest.mark.parametrize("change", ["truncate", "append"])
def test_query_checks_file_sizes_against_the_manifest(st, change):
    p = flows_file(st, 2022)
    data = p.read_bytes()
    p.write_bytes(data[:-10] if change == "truncate" else data + b"\0" * 7)
    with pytest.raises(StoreCorrupted, match=r"year=2022.*bytes.*manifest") as err:
        store.query(st, "SELECT count(*) FROM flows")
    assert "rebuild the store" in str(err.value)
    # a table file as well, even when the query does not use it
    p.write_bytes(data)
    events = store.snapshot_dir(st) / "events.parquet"
    events.write_bytes(events.read_bytes()[:-3])
    with pytest.raises(StoreCorrupted, match="events.parquet"):
        store.query(st, "SELECT count(*) FROM flows")


def test_query_views(st, expected):
    got = store.query(st, "SELECT exporter, sum(value_usd) AS v FROM flows WHERE year = ? "
                          "GROUP BY exporter ORDER BY exporter", [2022])
    want = (expected.flows[expected.flows.year == 2022].groupby("exporter")["value_usd"]
            .sum())
    assert got["exporter"].tolist() == want.index.tolist()
    assert got["v"].tolist() == pytest.approx(want.tolist())
    years = store.query(st, "SELECT DISTINCT year FROM flows ORDER BY year")["year"]
    assert years.tolist() == [2021, 2022, 2023]
    joined = store.query(st, "SELECT c.name, count(*) AS n FROM flows f JOIN countries c "
                             "ON f.importer = c.iso3 WHERE c.eaeu AND f.value_usd > $v "
                             "GROUP BY c.name ORDER BY c.name", {"v": 5.0})
    assert joined.to_dict("list") == {"name": ["Kazakhstan", "Russia"], "n": [3, 4]}
    assert store.query(st, "SELECT count(*) AS n FROM suppliers")["n"].iloc[0] == 2


def test_query_is_read_only(st, tmp_path):
    with pytest.raises(DataError, match="read-only"):
        store.query(st, f"COPY flows TO '{tmp_path / 'x.csv'}'")
    with pytest.raises(DataError, match="one statement"):
        store.query(st, "SELECT 1; SELECT 2")
    outside = tmp_path / "outside.csv"
    outside.write_text("a\n1\n")
    with pytest.raises(duckdb.Error):
        store.query(st, "SELECT * FROM read_csv(?)", [str(outside)])
    assert not (tmp_path / "x.csv").exists()


# --------------------------------------------------------------------------- updates


def test_update_flows_replaces_one_year_and_links_the_rest(st, expected):
    old_snap = store.snapshot_dir(st)
    old_2021 = old_snap / "flows/year=2021/part-0.parquet"
    ino_2021 = old_2021.stat().st_ino
    new_2022 = make_flows([(2022, "JPN", "KAZ", "848620", 99.0, np.nan),
                           (2022, "NLD", "RUS", "854231", 1.0, 1.0)])
    store.update_flows(st, new_2022, provenance={"flows": {"source": "v2"}},
                       hs_version="HS2017", keep_previous=True)
    new_snap = store.snapshot_dir(st)
    assert new_snap != old_snap and old_snap.is_dir()  # previous kept on request
    back = store.read_dataset(st, verify=True)
    f = expected.flows
    want = pd.concat([f[f.year == 2021], validate_flows(new_2022), f[f.year == 2023]],
                     ignore_index=True)
    pdt.assert_frame_equal(back.flows, want)
    pdt.assert_frame_equal(back.countries, expected.countries)
    assert back.provenance["flows"] == {"source": "v2"}
    assert back.provenance["countries"] == expected.provenance["countries"]
    # unchanged files are hard links of the previous snapshot's files
    for rel in ("flows/year=2021/part-0.parquet", "flows/year=2023/part-0.parquet",
                "countries.parquet", "events.parquet"):
        a, b = old_snap / rel, new_snap / rel
        if a.stat().st_nlink < 2:
            pytest.skip("filesystem does not support hard links")
        assert os.path.samefile(a, b), rel
    assert not os.path.samefile(old_snap / "flows/year=2022/part-0.parquet",
                                new_snap / "flows/year=2022/part-0.parquet")
    # the old previous goes away on the next write without keep_previous
    store.update_flows(st, make_flows([(2024, "JPN", "KAZ", "848620", 1.0, 1.0)]))
    assert snapshot_names(st) == [store.snapshot_id(st)]
    assert (store.snapshot_dir(st) / "flows/year=2021/part-0.parquet").stat().st_ino \
        == ino_2021
    assert store.store_info(st)["years"] == [2021, 2022, 2023, 2024]


def validate_flows(frame):
    return validate(frame, Flows)


def test_update_flows_can_remove_a_year(st):
    store.update_flows(st, empty(Flows), years=[2023])
    assert store.store_info(st)["years"] == [2021, 2022]
    assert store.load_flows(st, years=[2023]).empty


def test_update_flows_rejects_rows_outside_years(st):
    with pytest.raises(DataError, match=r"years \[2021\]"):
        store.update_flows(st, make_flows(FLOW_ROWS[:4]), years=[2022])


def test_update_flows_hs_version_mismatch(st):
    before = store.snapshot_id(st)
    with pytest.raises(HSVersionError) as err:
        store.update_flows(st, make_flows(FLOW_ROWS[:1]), hs_version="HS2022")
    msg = str(err.value)
    assert "HS2017" in msg and "HS2022" in msg
    assert "separate store" in msg and "concordance" in msg
    assert store.snapshot_id(st) == before


def test_update_flows_needs_a_store(tmp_path):
    with pytest.raises(StoreNotFound):
        store.update_flows(tmp_path / "none", make_flows())


def test_write_refused_without_overwrite(st, tmp_path):
    other = make_dataset(optional=False).replace(name="other")
    with pytest.raises(StoreError, match="overwrite=True") as err:
        store.write_dataset(other, st)
    assert "update_flows" in str(err.value)
    assert store.read_dataset(st).name == "tiny world"
    store.write_dataset(other, st, overwrite=True)
    back = store.read_dataset(st)
    assert back.name == "other" and back.suppliers is None
    assert len(snapshot_names(st)) == 1


def test_one_writer_at_a_time(st):
    fcntl = pytest.importorskip("fcntl")
    with open(st / ".lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        with pytest.raises(StoreError, match="another process"):
            store.update_flows(st, make_flows(FLOW_ROWS[:1]))
    store.update_flows(st, make_flows(FLOW_ROWS[:1]))


# --------------------------------------------------------------------------- atomicity


def _fail_after(n, real):
    calls = {"n": 0}

    def fn(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > n:
            raise OSError("simulated crash (disk full)")
        return real(*args, **kwargs)
    return fn


def _fail_on_current(real):
    def replace(src, dst, *args, **kwargs):
        if Path(dst).name == "CURRENT":
            raise OSError("simulated crash before the switch")
        return real(src, dst, *args, **kwargs)
    return replace


@pytest.mark.parametrize("operation", ["write", "update", "derived"])
def test_crash_while_writing_files_leaves_previous_store(st, expected, monkeypatch,
                                                         operation):
    before = snapshot_names(st)
    monkeypatch.setattr(store, "_write_parquet", _fail_after(1, store._write_parquet))
    with pytest.raises(OSError, match="simulated"):
        if operation == "write":
            store.write_dataset(expected, st, overwrite=True, validate=False)
        elif operation == "update":
            store.update_flows(st, make_flows([r for r in FLOW_ROWS if r[0] != 2022]))
        else:
            store.write_derived(st, "a", pd.DataFrame({"x": [1]}))
            store.write_derived(st, "b", pd.DataFrame({"x": [2]}))
    monkeypatch.undo()
    if operation == "derived":  # the first write_derived succeeded
        before = snapshot_names(st)
        assert store.derived_names(st) == ["a"]
    assert snapshot_names(st) == before  # no partial snapshot, no tmp dir
    assert not (st / "CURRENT.tmp").exists()
    assert_same_dataset(store.read_dataset(st, verify=True), expected)


def test_crash_at_pointer_switch_leaves_previous_store(st, expected, monkeypatch):
    before = snapshot_names(st)
    sid = store.snapshot_id(st)
    monkeypatch.setattr(store.os, "replace", _fail_on_current(os.replace))
    with pytest.raises(OSError, match="simulated"):
        store.update_flows(st, make_flows(FLOW_ROWS[:2]))
    monkeypatch.undo()
    assert store.snapshot_id(st) == sid
    assert snapshot_names(st) == before
    assert not (st / "CURRENT.tmp").exists()
    assert_same_dataset(store.read_dataset(st, verify=True), expected)


def test_killed_writes_leave_leftovers_that_readers_ignore_and_writers_clean(
        st, expected, monkeypatch):
    sid = store.snapshot_id(st)
    real_write = store._write_parquet
    # a kill cannot clean up: keep every leftover by disabling the clean-up
    monkeypatch.setattr(store, "_discard", lambda paths: None)
    monkeypatch.setattr(store, "_write_parquet", _fail_after(1, real_write))
    with pytest.raises(OSError):
        store.write_dataset(expected, st, overwrite=True, validate=False)
    monkeypatch.setattr(store, "_write_parquet", real_write)
    monkeypatch.setattr(store.os, "replace", _fail_on_current(os.replace))
    with pytest.raises(OSError):
        store.update_flows(st, make_flows(FLOW_ROWS[:2]))
    monkeypatch.undo()
    names = snapshot_names(st)
    assert any(n.startswith(".tmp-") for n in names)  # killed while writing files
    assert len([n for n in names if not n.startswith(".")]) == 2  # killed before switch
    assert (st / "CURRENT.tmp").exists()
    # readers see the previous store, untouched
    assert store.snapshot_id(st) == sid
    assert_same_dataset(store.read_dataset(st, verify=True), expected)
    assert len(store.load_flows(st)) == len(expected.flows)
    # the next write removes every leftover
    store.update_flows(st, make_flows(FLOW_ROWS[-1:]))
    assert snapshot_names(st) == [store.snapshot_id(st)]
    assert not (st / "CURRENT.tmp").exists()


def test_reader_follows_a_writer_that_switches_snapshots(st, expected, monkeypatch):
    """A writer removes the old snapshot under a reader: the reader retries, not fails."""
    real_read = store._read_table
    calls = {"n": 0}

    def read_while_a_writer_switches(snap, entry, table, verify):
        calls["n"] += 1
        if calls["n"] == 1:  # the reader holds the old snapshot; a writer replaces it
            store.update_flows(st, make_flows(FLOW_ROWS[:1]))
            assert not snap.dir.exists()
        return real_read(snap, entry, table, verify)

    monkeypatch.setattr(store, "_read_table", read_while_a_writer_switches)
    back = store.read_dataset(st)
    assert back.flows["year"].tolist() == [2021, 2022, 2022, 2022, 2023, 2023]
    assert back.flows["value_usd"].iloc[0] == 10.0


def test_first_write_crash_leaves_no_store(tmp_path, expected, monkeypatch):
    monkeypatch.setattr(store, "_write_parquet", _fail_after(2, store._write_parquet))
    with pytest.raises(OSError):
        store.write_dataset(expected, tmp_path / "s", validate=False)
    assert not store.is_store(tmp_path / "s")
    with pytest.raises(StoreNotFound):
        store.read_dataset(tmp_path / "s")


# --------------------------------------------------------------------------- corruption


def test_missing_store(tmp_path):
    for fn in (store.read_dataset, store.load_flows, store.store_info, store.snapshot_dir):
        with pytest.raises(StoreNotFound, match="chokepoint demo") as err:
            fn(tmp_path / "nowhere")
        assert "nowhere" in str(err.value)
        assert isinstance(err.value, FileNotFoundError)


def test_missing_file(st):
    (store.snapshot_dir(st) / "countries.parquet").unlink()
    with pytest.raises(StoreCorrupted, match="countries.parquet") as err:
        store.read_dataset(st)
    assert "rebuild the store" in str(err.value)
    flows_file(st, 2022).unlink()
    with pytest.raises(StoreCorrupted, match=r"year=2022"):
        store.load_flows(st)
    with pytest.raises(StoreCorrupted, match=r"year=2022"):
        store.query(st, "SELECT count(*) FROM flows")


def test_flipped_bytes_caught_by_verify(st):
    p = flows_file(st, 2021)
    data = bytearray(p.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 4] = bytes(b ^ 0xFF for b in data[mid:mid + 4])
    p.write_bytes(bytes(data))
    with pytest.raises(StoreCorrupted, match=r"year=2021.*sha256"):
        store.read_dataset(st, verify=True)
    with pytest.raises(StoreCorrupted, match=r"year=2021"):
        store.verify_store(st)


def test_truncated_file(st):
    p = store.snapshot_dir(st) / "events.parquet"
    p.write_bytes(p.read_bytes()[:-10])
    with pytest.raises(StoreCorrupted, match=r"events.parquet.*bytes"):
        store.read_dataset(st)


def test_bad_json_manifest(st):
    (store.snapshot_dir(st) / "manifest.json").write_text("{not json")
    with pytest.raises(StoreCorrupted, match="manifest.json.*not valid JSON"):
        store.read_dataset(st)
    with pytest.raises(StoreCorrupted, match="manifest.json"):
        store.store_info(st)


def test_unknown_format_version(st):
    p = store.snapshot_dir(st) / "manifest.json"
    man = json.loads(p.read_text())
    man["format_version"] = 99
    p.write_text(json.dumps(man))
    with pytest.raises(StoreCorrupted, match="manifest.json.*format version 99"):
        store.read_dataset(st)


def test_current_points_nowhere(st, expected):
    (st / "CURRENT").write_text("20990101T000000.000000Z-abcdef\n")
    with pytest.raises(StoreCorrupted, match="CURRENT.*20990101T000000.000000Z-abcdef"):
        store.read_dataset(st)
    (st / "CURRENT").write_text("../../etc\n")
    with pytest.raises(StoreCorrupted, match="CURRENT.*not a snapshot id"):
        store.snapshot_id(st)
    # a corrupted store can be rebuilt
    store.write_dataset(expected, st, overwrite=True, validate=False)
    assert store.read_dataset(st).name == "tiny world"


def test_columns_do_not_match_schema(st):
    snap = store.snapshot_dir(st)
    p = snap / "categories.parquet"
    p.unlink()  # a new inode: do not touch hard-linked siblings
    store._write_parquet(pd.DataFrame({"category_id": ["x"], "colour": ["red"]}), p)
    man_path = snap / "manifest.json"
    man = json.loads(man_path.read_text())
    for e in man["files"]:
        if e["path"] == "categories.parquet":
            e.update(bytes=p.stat().st_size, sha256=store._sha256(p), rows=1)
    man_path.write_text(json.dumps(man))
    with pytest.raises(StoreCorrupted, match=r"categories.parquet.*colour") as err:
        store.read_dataset(st, verify=True)
    assert "missing columns" in str(err.value)
    with pytest.raises(StoreCorrupted, match="categories.parquet"):
        store.query(st, "SELECT 1")


def test_update_refuses_to_propagate_a_broken_file(st):
    p = store.snapshot_dir(st) / "countries.parquet"
    p.write_bytes(p.read_bytes()[:-1])
    before = store.snapshot_id(st)
    with pytest.raises(StoreCorrupted, match="countries.parquet"):
        store.update_flows(st, make_flows(FLOW_ROWS[:1]))
    assert store.snapshot_id(st) == before


# --------------------------------------------------------------------------- derived


def test_derived_round_trip(st, expected):
    assert store.read_derived(st, "category_flows") is None
    agg = pd.DataFrame({
        "year": [2021, 2022], "category_id": ["ics", "ics"],
        "exporter": pd.array(["JPN", None], dtype="string"),
        "value_usd": [3.0, 7.5], "n": pd.array([1, None], dtype="Int64"),
    }).set_index(["year", "category_id"])
    before = store.snapshot_id(st)
    store.write_derived(st, "category_flows", agg)
    assert store.snapshot_id(st) != before
    pdt.assert_frame_equal(store.read_derived(st, "category_flows"), agg)
    store.write_derived(st, "top", pd.DataFrame({"x": [1, 2]}))
    assert store.derived_names(st) == ["category_flows", "top"]
    assert store.store_info(st)["derived"] == ["category_flows", "top"]
    n = store.query(st, "SELECT count(*) AS n FROM derived_category_flows")["n"].iloc[0]
    assert n == 2
    # replacing one derived table keeps (links) the other
    store.write_derived(st, "top", pd.DataFrame({"x": [3]}))
    assert store.read_derived(st, "top")["x"].tolist() == [3]
    pdt.assert_frame_equal(store.read_derived(st, "category_flows", verify=True), agg)
    # derived data are not part of the Dataset
    assert_same_dataset(store.read_dataset(st), expected)


def test_derived_dropped_when_flows_change_unless_kept(st):
    store.write_derived(st, "agg", pd.DataFrame({"x": [1]}))
    store.update_flows(st, make_flows(FLOW_ROWS[:1]), keep_derived=True)
    assert store.derived_names(st) == ["agg"]
    store.update_flows(st, make_flows(FLOW_ROWS[:1]))
    assert store.derived_names(st) == []


def test_derived_name_checked(st):
    with pytest.raises(DataError, match="lower-case"):
        store.write_derived(st, "../escape", pd.DataFrame({"x": [1]}))


# --------------------------------------------------------------------------- ready files


def _duckdb_flows_file(path: Path, rows, *, with_year=True) -> Path:
    con = duckdb.connect()
    df = make_flows(rows)
    if not with_year:
        df = df.drop(columns="year")
    con.from_df(df).write_parquet(str(path))
    con.close()
    return path


def test_update_flow_files_creates_a_store(tmp_path):
    ds = make_dataset(optional=False)
    staging = tmp_path / "staging"
    staging.mkdir()
    y21 = _duckdb_flows_file(staging / "2021.parquet", FLOW_ROWS[:3])
    y22 = _duckdb_flows_file(staging / "2022.parquet", FLOW_ROWS[3:6], with_year=False)
    root = store.update_flow_files(
        tmp_path / "s", {2021: y21, 2022: y22}, hs_version="HS2017",
        dataset_name="BACI test", provenance={"flows": {"source": "BACI"}},
        reference_tables={k: getattr(ds, k) for k in
                          ("countries", "categories", "category_hs", "events")},
        move=True)
    assert not y21.exists() and not y22.exists()  # moved into the store
    back = store.read_dataset(root, verify=True)
    want = ds.validated().flows
    pdt.assert_frame_equal(back.flows, want[want.year <= 2022].reset_index(drop=True))
    pdt.assert_frame_equal(back.countries, ds.validated().countries)
    assert back.name == "BACI test" and back.provenance == {"flows": {"source": "BACI"}}
    assert store.store_info(root)["years"] == [2021, 2022]
    # add a year to the existing store: the others are linked, the source is copied
    y23 = _duckdb_flows_file(staging / "2023.parquet", FLOW_ROWS[6:])
    store.update_flow_files(root, {2023: y23}, hs_version="HS2017")
    assert y23.exists()
    pdt.assert_frame_equal(store.load_flows(root), want)
    assert store.read_dataset(root).name == "BACI test"


def test_update_flow_files_checks(tmp_path, st):
    staging = tmp_path / "staging"
    staging.mkdir()
    f = _duckdb_flows_file(staging / "2021.parquet", FLOW_ROWS[:3])
    before = store.snapshot_id(st)
    with pytest.raises(DataError, match=r"year = 2022"):
        store.update_flow_files(st, {2022: f})
    with pytest.raises(HSVersionError, match="HS2022"):
        store.update_flow_files(st, {2021: f}, hs_version="HS2022")
    with pytest.raises(DataError, match="not found"):
        store.update_flow_files(st, {2021: staging / "missing.parquet"})
    bad = staging / "bad.parquet"
    store._write_parquet(pd.DataFrame({"year": [2021], "hs6": [848620]}), bad)
    with pytest.raises(DataError, match="bad.parquet"):
        store.update_flow_files(st, {2021: bad})
    assert store.snapshot_id(st) == before
    with pytest.raises(HSVersionError, match="required"):
        store.update_flow_files(tmp_path / "new", {2021: f})
    with pytest.raises(DataError, match="reference tables"):
        store.update_flow_files(tmp_path / "new", {2021: f}, hs_version="HS2017")
    assert not store.is_store(tmp_path / "new")


# --------------------------------------------------------------------------- staging folders

_HOLDER = """
import sys
from analytics import store
with store.staging_dir(sys.argv[1]) as work:
    (work / "year.parquet").write_bytes(b"half-written")
    print(work, flush=True)
    sys.stdin.read()  # hold the folder until the parent closes stdin (or kills us)
"""


def _hold_staging(root: Path):
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(root)], text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            cwd=Path(__file__).resolve().parents[1])
    line = proc.stdout.readline().strip()
    assert line, "the child process did not start"
    return proc, Path(line)


def test_staging_dir_lives_for_the_block(st):
    with store.staging_dir(st) as work:
        assert work.parent == st and work.name.startswith(".ingest-")
        (work / "part.parquet").write_bytes(b"x")
        store.update_flows(st, make_flows(FLOW_ROWS[:1]))  # a write meanwhile
        assert (work / "part.parquet").exists()  # held by us: not removed
    assert not work.exists()
    with pytest.raises(ValueError, match=".ingest-"):
        with store.staging_dir(st, prefix="tmp"):
            pass


@pytest.mark.skipif(sys.platform == "win32", reason="advisory locks (fcntl) only")
def test_killed_ingest_staging_is_removed_by_the_next_write_live_one_is_kept(st):
    proc, work = _hold_staging(st)
    try:
        assert (work / "year.parquet").exists()
        store.update_flows(st, make_flows(FLOW_ROWS[:2]))  # another process is live
        assert (work / "year.parquet").exists()
        proc.kill()  # killed: no clean-up of its own
        proc.wait(timeout=30)
        assert work.exists()
        assert store.load_flows(st, years=[2021]).shape[0] == 2  # readers ignore it
        store.update_flows(st, make_flows(FLOW_ROWS[:1]))
        assert not work.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    # a child that finishes normally removes its own folder
    proc, work = _hold_staging(st)
    proc.communicate("", timeout=60)
    assert proc.returncode == 0 and not work.exists()


def test_staging_folders_without_an_owner_lock_are_removed_only_when_stale(st):
    young = st / ".ingest-young"
    (young / "duckdb").mkdir(parents=True)
    (young / "duckdb" / "spill.tmp").write_bytes(b"x")
    old = st / ".ingest-shipments-old"
    (old / "duckdb").mkdir(parents=True)
    (old / "flows-2021.parquet").write_bytes(b"x")
    other = st / ".demo-shipments-keep"  # not a staging name: never touched
    other.mkdir()
    long_ago = time.time() - store.STALE_STAGING_SECONDS - 60
    for p in (old / "duckdb", old / "flows-2021.parquet", old, other):
        os.utime(p, (long_ago, long_ago))
    store.update_flows(st, make_flows(FLOW_ROWS[:1]))
    assert young.exists() and other.exists()
    assert not old.exists()
