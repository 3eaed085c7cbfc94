"""The Dask aggregation equals the plain pandas computation (threads and a 2-worker
LocalCluster)."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest
from test_shipments_fixtures import tiny_codes, tiny_shipments

from analytics import shipments as sh
from analytics.errors import ConfigError
from analytics.shipments_dask import aggregate_dask, cube_dask

pytestmark = pytest.mark.filterwarnings(
    "ignore:The inplace keyword in DataFrame.reset_index")

KEYS = {"flows_dispatch": sh.FLOW_KEYS, "flows_origin": sh.FLOW_KEYS,
        "edges": sh.EDGE_KEYS, "category_edges": [*sh.EDGE_KEYS, "category_id"]}


def _same(a, b, keys):
    a = a.sort_values(keys, kind="stable").reset_index(drop=True)
    b = b.sort_values(keys, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def _assert_equal(ref: sh.ShipmentAggregates, got: sh.ShipmentAggregates):
    for name, keys in KEYS.items():
        _same(getattr(ref, name), getattr(got, name), keys)
    assert got.rows == ref.rows


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Synthetic shipments written as month files (the store's layout), and the codes."""
    from analytics.demo import make_demo_world
    from analytics.demo_shipments import write_demo_shipments

    world = make_demo_world(seed=0)
    dest = tmp_path_factory.mktemp("dask-shipments")
    write_demo_shipments(world, dest, n_rows=30_000, seed=5, years=(2022, 2023))
    return sorted(str(p) for p in dest.rglob("*.parquet")), sh.category_codes(world.dataset)


@pytest.fixture(scope="module")
def reference(files):
    paths, codes = files
    frame = pd.concat([pq.read_table(p).to_pandas() for p in paths], ignore_index=True)
    return frame, sh.aggregate_shipments(frame, codes)


def test_tiny_table_threads():
    s = tiny_shipments()
    _assert_equal(sh.aggregate_shipments(s, tiny_codes()),
                  aggregate_dask(s, tiny_codes(), npartitions=3))


def test_local_threaded_scheduler_equals_pandas(files, reference):
    paths, codes = files
    frame, ref = reference
    got = aggregate_dask(paths, codes)
    _assert_equal(ref, got)
    assert got.attrs["scheduler"] == "local threaded scheduler"
    assert len(ref.edges) > 1000 and ref.rows == len(frame) == 30_000
    # the partials of the pandas chunks give the same again
    _assert_equal(ref, sh.aggregate_shipments((pq.read_table(p).to_pandas() for p in paths),
                                              codes))


def test_local_cluster_with_two_workers_equals_pandas(files, reference):
    from distributed import Client, LocalCluster

    paths, codes = files
    _, ref = reference
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        got = aggregate_dask(paths, codes, client=client)
        # the same code through a scheduler address
        by_address = aggregate_dask(paths, codes, scheduler=cluster.scheduler_address)
        cube = cube_dask(paths, destination="RUS", codes=["8542"],
                         start=pd.Timestamp("2023-01-01"), end=pd.Timestamp("2023-07-01"),
                         scheduler=cluster.scheduler_address)
    _assert_equal(ref, got)
    _assert_equal(ref, by_address)
    frame, _ = reference
    sel = sh.select_shipments(frame, destination="RUS", codes=["8542"],
                              start=pd.Timestamp("2023-01-01"), end=pd.Timestamp("2023-07-01"))
    _same(sh.shipment_cube(sel), cube, sh.CUBE_KEYS)
    assert len(cube) > 10


def test_cube_on_threads_equals_pandas(files, reference):
    paths, _ = files
    frame, _ = reference
    got = cube_dask(paths, destination=["RUS", "BLR"], start=pd.Timestamp("2022-06-01"))
    sel = sh.select_shipments(frame, destination=["RUS", "BLR"],
                              start=pd.Timestamp("2022-06-01"))
    _same(sh.shipment_cube(sel), got, sh.CUBE_KEYS)
    # missing origins and brands stay missing in the cube
    assert got["origin_country"].isna().any()


def test_unreachable_scheduler_is_a_clear_error(files, monkeypatch):
    from analytics import shipments_dask

    monkeypatch.setattr(shipments_dask, "CONNECT_TIMEOUT", "1s")
    paths, codes = files
    with pytest.raises(ConfigError, match="cannot reach the Dask scheduler"):
        aggregate_dask(paths[:1], codes, scheduler="tcp://127.0.0.1:9")
