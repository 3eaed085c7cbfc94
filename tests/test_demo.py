"""The demo world: determinism, size, canonical tables and its planted facts."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from analytics.demo import DEMO_YEARS, EVENT_YEAR, SANCTIONING, make_demo_world
from analytics.schemas import Flows, validate


def test_same_seed_identical_tables(demo_world):
    again = make_demo_world(seed=0)
    for name, frame in demo_world.dataset.tables().items():
        pd.testing.assert_frame_equal(frame, again.dataset.tables()[name], obj=name)
    pd.testing.assert_frame_equal(demo_world.truth.routes, again.truth.routes)


def test_other_seed_differs(demo_world):
    other = make_demo_world(seed=1)
    assert not demo_world.dataset.flows["value_usd"].equals(other.dataset.flows["value_usd"])


def test_default_builds_fast():
    t0 = time.perf_counter()
    make_demo_world(seed=3)
    assert time.perf_counter() - t0 < 5.0 * 3  # target < 5 s; generous for slow CI


def test_flows_are_canonical(demo_world):
    ds = demo_world.dataset
    validate(ds.flows, Flows, source="demo")  # raises on any violation
    assert ds.years == list(DEMO_YEARS)
    assert ds.synthetic and "synthetic" in ds.label
    assert ds.hs_version == "HS2017"
    assert ds.flows["hs6"].str.fullmatch(r"\d{6}").all()
    # real ISO3 countries only
    assert set(ds.flows["exporter"]) | set(ds.flows["importer"]) <= set(ds.countries["iso3"])


def test_scale_grows_rows_about_linearly(demo_world):
    n1 = len(demo_world.dataset.flows)
    n3 = len(make_demo_world(seed=0, scale=3).dataset.flows)
    assert 2.3 < n3 / n1 < 3.7


def test_scale_must_be_positive():
    with pytest.raises(ValueError, match="scale"):
        make_demo_world(scale=0)


def _cat_codes(ds, cat):
    from analytics.network import category_membership

    m = category_membership(ds)
    return set(m.loc[m["category_id"] == cat, "hs6"])


def test_sanctions_collapse_direct_coalition_flows_to_russia(demo_world):
    ds = demo_world.dataset
    f = ds.flows
    ic = _cat_codes(ds, "chpl_tier1")
    k_to_rus = f[f["exporter"].isin(SANCTIONING) & (f["importer"] == "RUS")
                 & f["hs6"].isin(ic)].groupby("year")["value_usd"].sum()
    assert k_to_rus[2023] < 0.2 * k_to_rus[2021]


def test_taiwan_ic_exports_to_russia_follow_customs_figures(demo_world):
    f = demo_world.dataset.flows
    twn = f[(f["exporter"] == "TWN") & (f["importer"] == "RUS")
            & f["hs6"].str.startswith("8542")].groupby("year")["value_usd"].sum()
    # Taiwan customs: 21.6 (2021) -> 3.5 (2023) -> 0.6 (2024) USD m, i.e. -84 %, -97 %
    assert twn[2023] / twn[2021] == pytest.approx(3.5 / 21.6, rel=0.35)
    assert twn[2024] / twn[2021] == pytest.approx(0.6 / 21.6, rel=0.5)


def test_planted_hubs_surge_and_unplanted_hubs_do_not(demo_world):
    ds = demo_world.dataset
    f = ds.flows
    routes = demo_world.truth.routes
    for hub in ("KGZ", "ARM", "TUR", "KAZ"):
        cats = routes.loc[(routes["hub"] == hub) & (routes["planted_share"] == 1.0),
                          "category_id"]
        codes = set().union(*(_cat_codes(ds, c) for c in cats))
        sub = f[(f["exporter"] == hub) & (f["importer"] == "RUS") & f["hs6"].isin(codes)]
        by_year = sub.groupby("year")["value_usd"].sum().reindex(DEMO_YEARS, fill_value=0)
        assert by_year[2023] > 3 * max(by_year[2021], 1.0), hub
    ic = _cat_codes(ds, "chpl_tier1")
    for hub in demo_world.truth.hubs_without_routes:
        sub = f[(f["exporter"] == hub) & (f["importer"] == "RUS") & f["hs6"].isin(ic)]
        by_year = sub.groupby("year")["value_usd"].sum().reindex(DEMO_YEARS, fill_value=0)
        assert by_year[2023] <= 1.1 * by_year[2021] + 1.0, hub


def test_russia_dispatch_shares_follow_public_facts(demo_world):
    ds = demo_world.dataset
    f = ds.flows
    chpl = set().union(*(_cat_codes(ds, c) for c in ds.categories["category_id"]
                         if c.startswith("chpl")))
    r = f[(f["year"] == 2023) & (f["importer"] == "RUS") & f["hs6"].isin(chpl)]
    share = r.groupby("exporter")["value_usd"].sum() / r["value_usd"].sum()
    # KSE Institute 2023: China 56.3 %, Hong Kong 19.3 %, Turkey 5.7 %, UAE 4.2 %
    assert share.idxmax() == "CHN"
    assert 0.35 < share["CHN"] < 0.7
    assert 0.1 < share["HKG"] < 0.3
    assert share["HKG"] > share["TUR"] > 0.01
    assert share["ARE"] > 0.01


def test_truth_routes_are_well_formed(demo_world):
    routes = demo_world.truth.routes
    assert {"hub", "destination", "category_id", "start_year", "magnitude"} <= set(
        routes.columns)
    assert (routes["start_year"] == EVENT_YEAR).all()
    assert (routes["magnitude"] > 1).all()
    assert (routes["planted_share"] >= 0.5).all()
    assert set(routes["destination"]) == {"RUS", "BLR"}
    assert not set(routes["hub"]) & set(demo_world.truth.hubs_without_routes)
    assert set(routes["category_id"]) <= set(demo_world.dataset.categories["category_id"])


def test_planted_chokepoints_follow_public_facts(demo_world):
    cp = demo_world.truth.chokepoints
    country = cp[cp["level"] == "country"].set_index("category_id")["supplier"]
    assert country["chipmaking_equipment"] == "NLD"
    assert country["chpl_tier1"] == "TWN"
    assert country["rare_earth_magnets"] == "CHN"
    firm = cp[cp["level"] == "firm"].set_index("item")
    assert firm.loc["euv", "share"] == pytest.approx(1.0)
    sup = demo_world.dataset.suppliers
    litho = sup[(sup["item_id"] == "litho") & (sup["year"] == 2024)]
    by_country = litho.groupby("provider_country")["share"].sum()
    assert by_country["NLD"] == pytest.approx(0.815, abs=1e-3)  # ETO: 81.5 %
    assert by_country["JPN"] == pytest.approx(0.15, abs=1e-3)  # ETO: 15 %


def test_suppliers_shares_sum_to_one(demo_world):
    sup = demo_world.dataset.suppliers
    tot = sup.groupby(["item_id", "year"])["share"].sum()
    assert np.allclose(tot, 1.0, atol=2e-3)


def test_production_truth_matches_planted_shares(demo_world):
    prod = demo_world.truth.production
    p = prod[(prod["year"] == 2022) & prod["hs6"].str.startswith("8505")]
    share = p.groupby("country")["value_usd"].sum() / p["value_usd"].sum()
    # rare-earth magnets: China 61.5 % of world exports in 2022 (BACI)
    assert share.idxmax() == "CHN" and 0.5 < share["CHN"] < 0.72
