"""Partitioned tables in the store: update_table_files, table_files, read_table, and the
way read_dataset and query treat them."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analytics import store
from analytics.dataset import Dataset
from analytics.errors import DataError, HSVersionError, StoreCorrupted
from analytics.schemas import Categories, CategoryHS, Countries, Events, empty

COLS = ["date", "declaration_id", "consignee", "importer_country", "shipper",
        "dispatch_country", "origin_country", "brand", "hs_code", "value_usd", "quantity"]


def _rows(month: str, ids: list[str], *, importer="RUS", hs="85423100", value=10.0):
    n = len(ids)
    return pd.DataFrame({
        "date": pd.to_datetime([f"{month}-0{1 + i % 9}" for i in range(n)]).astype(
            "datetime64[us]"),
        "declaration_id": ids, "consignee": ["OOO Alfa"] * n, "importer_country": importer,
        "shipper": ["HK Trade"] * n, "dispatch_country": "HKG", "origin_country": "JPN",
        "brand": ["Aster"] * n, "hs_code": hs, "value_usd": value, "quantity": [None] * n,
    })[COLS]


def _write(frame: pd.DataFrame, path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return str(path)


@pytest.fixture
def st(tmp_path):
    flows = pd.DataFrame({"year": [2022], "exporter": ["JPN"], "importer": ["KAZ"],
                          "hs6": ["848620"], "value_usd": [1.0]})
    ds = Dataset(flows=flows, countries=empty(Countries), categories=empty(Categories),
                 category_hs=empty(CategoryHS), events=empty(Events), name="tiny")
    path = tmp_path / "store"
    store.write_dataset(ds, path)
    store.write_derived(path, "category_flows", pd.DataFrame({"a": [1]}))
    store.write_derived(path, "shipments_old", pd.DataFrame({"a": [1]}))
    return path


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "staged"
    _write(_rows("2023-01", ["a1", "a2"]), d / "month=2023-01" / "x.parquet")
    _write(_rows("2023-01", ["a3"]), d / "month=2023-01" / "y.parquet")
    _write(_rows("2023-02", ["b1"], importer="BLR", hs="848210"),
           d / "month=2023-02" / "x.parquet")
    return d


def test_folder_becomes_partitions_atomically(st, folder):
    before = store.read_dataset(st)
    store.update_table_files(st, "shipments", folder, drop_derived=["shipments_*"])
    info = store.store_info(st)
    assert info["rows"]["shipments"] == 4 and info["rows"]["flows"] == 1
    parts = store.table_partitions(st, "shipments")
    assert parts.to_dict("list") == {"partition": ["2023-01", "2023-02"], "files": [2, 1],
                                     "rows": [3, 1], "bytes": parts["bytes"].tolist()}
    files = store.table_files(st, "shipments")
    assert [f.parent.name for f in files] == ["month=2023-01", "month=2023-01",
                                              "month=2023-02"]
    assert all(f.is_relative_to(store.snapshot_dir(st)) for f in files)
    # derived tables computed from shipments are dropped, the others kept
    assert store.derived_names(st) == ["category_flows"]
    # read_dataset leaves the partitioned table out unless asked
    ds = store.read_dataset(st)
    assert ds.shipments is None
    pd.testing.assert_frame_equal(ds.flows, before.flows)
    full = store.read_dataset(st, partitioned=True).shipments
    assert sorted(full["declaration_id"]) == ["a1", "a2", "a3", "b1"]
    assert list(full.columns) == COLS
    store.verify_store(st)


def test_query_sees_every_partition(st, folder):
    store.update_table_files(st, "shipments", folder)
    q = store.query(st, "SELECT importer_country, count(*) AS n FROM shipments GROUP BY 1 "
                        "ORDER BY 1")
    assert q.to_dict("list") == {"importer_country": ["BLR", "RUS"], "n": [1, 3]}


def test_read_table_filters(st, folder):
    store.update_table_files(st, "shipments", folder)
    r = store.read_table(st, "shipments", columns=["declaration_id", "hs_code"],
                         isin={"importer_country": ["RUS"]})
    assert sorted(r["declaration_id"]) == ["a1", "a2", "a3"]
    assert list(r.columns) == ["declaration_id", "hs_code"]
    r = store.read_table(st, "shipments", startswith={"hs_code": ["8482"]})
    assert r["declaration_id"].tolist() == ["b1"]
    r = store.read_table(st, "shipments", between={"date": ("2023-01-02", "2023-02-01")})
    assert r["declaration_id"].tolist() == ["a2"]  # a1 and a3 are dated 2023-01-01
    r = store.read_table(st, "shipments", partitions=["2023-02"])
    assert r["declaration_id"].tolist() == ["b1"]
    assert store.read_table(st, "shipments", isin={"importer_country": []}).empty
    with pytest.raises(DataError, match="unknown shipments column"):
        store.read_table(st, "shipments", isin={"nope": ["x"]})
    with pytest.raises(DataError, match="unknown table"):
        store.read_table(st, "nope")


def test_append_replaces_given_months_only(st, folder, tmp_path):
    store.update_table_files(st, "shipments", folder)
    new = tmp_path / "new"
    _write(_rows("2023-02", ["c1", "c2"]), new / "month=2023-02" / "z.parquet")
    _write(_rows("2023-03", ["c3"]), new / "month=2023-03" / "z.parquet")
    store.update_table_files(st, "shipments", new, append=True)
    got = store.read_table(st, "shipments", columns=["declaration_id"])
    assert sorted(got["declaration_id"]) == ["a1", "a2", "a3", "c1", "c2", "c3"]
    # without append the table is replaced as a whole
    store.update_table_files(st, "shipments", {"2024-01": [folder / "month=2023-01" /
                                                           "y.parquet"]})
    assert store.read_table(st, "shipments")["declaration_id"].tolist() == ["a3"]


def test_checks_fail_before_anything_changes(st, folder, tmp_path):
    sid = store.snapshot_id(st)
    bad = tmp_path / "bad"
    _write(_rows("2023-01", ["z1"], importer="ru"), bad / "month=2023-01" / "a.parquet")
    with pytest.raises(DataError, match=r"importer_country pattern"):
        store.update_table_files(st, "shipments", bad)
    dup = tmp_path / "dup"
    _write(_rows("2023-01", ["d1"]), dup / "month=2023-01" / "a.parquet")
    _write(_rows("2023-02", ["d1"]), dup / "month=2023-02" / "a.parquet")
    with pytest.raises(DataError, match="repeat the unique key") as err:
        store.update_table_files(st, "shipments", dup)
    assert err.value.value == "d1"
    neg = tmp_path / "neg"
    _write(_rows("2023-01", ["n1"], value=-1.0), neg / "month=2023-01" / "a.parquet")
    with pytest.raises(DataError, match="value_usd >= 0"):
        store.update_table_files(st, "shipments", neg)
    wrong = tmp_path / "wrong"
    _write(_rows("2023-01", ["w1"]).drop(columns="brand"), wrong / "month=2023-01" /
           "a.parquet")
    with pytest.raises(DataError, match="missing columns"):
        store.update_table_files(st, "shipments", wrong)
    with pytest.raises(DataError, match="partition values"):
        store.update_table_files(st, "shipments", {"2023/01": folder / "month=2023-01" /
                                                   "x.parquet"})
    with pytest.raises(DataError, match="cannot be stored as a partitioned table"):
        store.update_table_files(st, "flows", folder)
    with pytest.raises(DataError, match="outside a month="):
        loose = tmp_path / "loose"
        _write(_rows("2023-01", ["l1"]), loose / "a.parquet")
        store.update_table_files(st, "shipments", loose)
    assert store.snapshot_id(st) == sid
    assert store.read_dataset(st).shipments is None


def test_creates_a_store_with_reference_tables(tmp_path, folder):
    from analytics.ingest import reference_tables

    path = tmp_path / "new-store"
    with pytest.raises(HSVersionError, match="hs_version is required"):
        store.update_table_files(path, "shipments", folder)
    refs, prov = reference_tables()
    brands = pd.DataFrame({"brand": ["Aster"], "hq_country": ["JPN"], "source": ["t"]})
    store.update_table_files(path, "shipments", folder, hs_version="HS2017",
                             reference_tables={**refs, "brands": brands}, provenance=prov,
                             dataset_name="customs", trusted=True)
    info = store.store_info(path)
    assert info["rows"]["flows"] == 0 and info["rows"]["shipments"] == 4
    ds = store.read_dataset(path)
    assert ds.flows.empty and ds.brands["brand"].tolist() == ["Aster"]
    assert ds.name == "customs"


def test_move_unlinks_sources_after_the_switch(st, folder):
    store.update_table_files(st, "shipments", folder, move=True)
    assert not list(folder.rglob("*.parquet"))
    assert len(store.table_files(st, "shipments")) == 3


def test_a_missing_partition_file_is_reported(st, folder):
    store.update_table_files(st, "shipments", folder)
    store.table_files(st, "shipments")[0].unlink()
    with pytest.raises(StoreCorrupted, match="missing"):
        store.table_files(st, "shipments")
    # the other tables still read
    assert len(store.read_dataset(st).flows) == 1
