"""Shared, session-wide shipments fixtures (imported by the other test_shipments* modules).

The synthetic shipments and the store holding them are built once per session (a cache
keyed by name, so every importing module gets the same objects).
"""

from __future__ import annotations

import pandas as pd
import pytest

__all__ = ["N_ROWS", "demo_ship", "shipments_store", "empty_store", "tiny_shipments",
           "tiny_brands", "tiny_codes"]

#: rows of the synthetic shipments used by the tests (planted truth is detectable at
#: this size; generation takes a few seconds)
N_ROWS = 100_000
_CACHE: dict[str, object] = {}


@pytest.fixture(scope="session")
def demo_ship(demo_world):
    """Synthetic shipments of the default demo world (seed 0)."""
    if "demo" not in _CACHE:
        from analytics.demo_shipments import make_demo_shipments

        _CACHE["demo"] = make_demo_shipments(demo_world, n_rows=N_ROWS, seed=0)
    return _CACHE["demo"]


@pytest.fixture(scope="session")
def shipments_store(tmp_path_factory):
    """A demo store with the same synthetic shipments, built by the CLI
    (``chokepoint demo-shipments``: demo store, shipments, brands, derived tables)."""
    if "store" not in _CACHE:
        from analytics.cli import main

        path = tmp_path_factory.mktemp("shipments-store") / "store"
        assert main(["demo-shipments", "--store", str(path), "--rows", str(N_ROWS)]) == 0
        _CACHE["store"] = path
    return _CACHE["store"]


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory, demo_world):
    """A demo store without shipments."""
    if "empty" not in _CACHE:
        from analytics import store

        path = tmp_path_factory.mktemp("no-shipments") / "store"
        store.write_dataset(demo_world.dataset, path)
        _CACHE["empty"] = path
    return _CACHE["empty"]


def tiny_shipments() -> pd.DataFrame:
    """Eight shipments small enough to check every aggregate by hand.

    JPN maker J ships brand Aster (JPN) to hub H in HKG; H forwards to R1 in RUS; CHN
    maker C ships its own brand Lotus to R1 and R2; DEU maker D ships Kraft (DEU) to R2.
    """
    return pd.DataFrame({
        "date": pd.to_datetime(["2023-01-05", "2023-01-20", "2023-02-01", "2023-02-10",
                                "2023-03-01", "2023-03-05", "2022-12-30", "2023-03-07"]),
        "declaration_id": [f"d{i}" for i in range(1, 9)],
        "consignee": ["H", "R1", "H", "R1", "R1", "R2", "R2", "R2"],
        "importer_country": ["HKG", "RUS", "HKG", "RUS", "RUS", "RUS", "RUS", "RUS"],
        "shipper": ["J", "H", "J", "H", "C", "C", "D", "H"],
        "dispatch_country": ["JPN", "HKG", "JPN", "HKG", "CHN", "CHN", "DEU", "HKG"],
        "origin_country": ["JPN", "JPN", "JPN", "JPN", "CHN", "CHN", "DEU", None],
        "brand": ["Aster", "Aster", "Aster", "Aster", "Lotus", "Lotus", "Kraft", None],
        "hs_code": ["85423100", "85423100", "848210", "8482100000", "854231", "85423990",
                    "848210", "940360"],
        "value_usd": [100.0, 80.0, 50.0, 40.0, 30.0, 20.0, 10.0, 5.0],
        "quantity": [1.0, 1.0, None, 2.0, None, None, 1.0, None],
    })


def tiny_brands() -> pd.DataFrame:
    return pd.DataFrame({"brand": ["Aster", "Lotus", "Kraft"],
                         "hq_country": ["JPN", "CHN", "DEU"], "source": ["t"] * 3})


def tiny_codes() -> pd.DataFrame:
    return pd.DataFrame({"category_id": ["ic", "bearings", "ic"],
                         "code": ["8542", "848210", "854231"]})
