"""analytics.shipments by hand: flows, firm edges, attribution, screening, intermediaries,
supplier concentration, tracing on firm graphs, brand paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_shipments_fixtures import tiny_brands, tiny_codes, tiny_shipments

from analytics import shipments as sh
from analytics.errors import AnalysisError, ConfigError, NodeNotFound


# ------------------------------------------------------------------ periods and codes
def test_parse_period():
    ts = pd.Timestamp
    assert sh.parse_period("2023-01:2023-12") == (ts("2023-01-01"), ts("2024-01-01"))
    assert sh.parse_period("2023-02") == (ts("2023-02-01"), ts("2023-03-01"))
    assert sh.parse_period("2022:") == (ts("2022-01-01"), None)
    assert sh.parse_period(None) == (None, None)
    for bad in ("2023-13", "23", "2023-05:2023-01", "2023/01"):
        with pytest.raises(ConfigError):
            sh.parse_period(bad)
    assert sh.period_months(*sh.parse_period("2023-02:2023-03"),
                            ["2023-01", "2023-02", "2023-03", "2023-04"]) == [
        "2023-02", "2023-03"]


def test_category_masks_expand_prefixes():
    masks = sh.category_masks(tiny_codes())
    assert masks.categories == ("bearings", "ic")
    m = masks.mask(pd.Series(["854231", "848210", "854239", "940360"]))
    assert m.tolist() == [2, 1, 2, 0]
    assert masks.label(3) == "bearings;ic"
    assert sh.category_masks(None).mask(pd.Series(["854231"])).tolist() == [0]


def test_select_shipments():
    s = tiny_shipments()
    sel = sh.select_shipments(s, destination="RUS", codes=["8542"],
                              start=pd.Timestamp("2023-01-01"), end=pd.Timestamp("2024-01-01"))
    assert sel["declaration_id"].tolist() == ["d2", "d5", "d6"]
    assert sh.select_shipments(s, codes=[]).empty


# ------------------------------------------------------------------ aggregates
def test_country_flows_by_dispatch_and_origin_by_hand():
    s = tiny_shipments()
    d = sh.country_flows(s, by="dispatch")
    assert d[["year", "exporter", "importer", "hs6", "value_usd"]].values.tolist() == [
        [2022, "DEU", "RUS", "848210", 10.0],
        [2023, "CHN", "RUS", "854231", 30.0],
        [2023, "CHN", "RUS", "854239", 20.0],
        [2023, "HKG", "RUS", "848210", 40.0],
        [2023, "HKG", "RUS", "854231", 80.0],
        [2023, "HKG", "RUS", "940360", 5.0],
        [2023, "JPN", "HKG", "848210", 50.0],
        [2023, "JPN", "HKG", "854231", 100.0],
    ]
    # quantities: summed, missing when no shipment of the flow has one
    np.testing.assert_array_equal(d["quantity"].to_numpy()[:4], [1.0, np.nan, np.nan, 2.0])
    o = sh.country_flows(s, by="origin")
    assert o[["year", "exporter", "importer", "hs6", "value_usd"]].values.tolist() == [
        [2022, "DEU", "RUS", "848210", 10.0],
        [2023, "CHN", "RUS", "854231", 30.0],
        [2023, "CHN", "RUS", "854239", 20.0],
        [2023, "JPN", "HKG", "848210", 50.0],
        [2023, "JPN", "HKG", "854231", 100.0],
        [2023, "JPN", "RUS", "848210", 40.0],
        [2023, "JPN", "RUS", "854231", 80.0],
    ]
    # canonical flows, ready for the existing analytics
    from analytics.schemas import Flows, validate

    validate(d, Flows)
    validate(o, Flows)
    with pytest.raises(ConfigError):
        sh.country_flows(s, by="brand")


def test_firm_edges_by_hand():
    e = sh.firm_edges(tiny_shipments(), tiny_codes())
    got = e[["shipper", "consignee", "value_usd", "shipments", "categories"]].values.tolist()
    assert got == [["C", "R1", 30.0, 1, "ic"], ["C", "R2", 20.0, 1, "ic"],
                   ["D", "R2", 10.0, 1, "bearings"], ["H", "R1", 120.0, 2, "bearings;ic"],
                   ["H", "R2", 5.0, 1, ""], ["J", "H", 150.0, 2, "bearings;ic"]]
    h = e[(e["shipper"] == "H") & (e["consignee"] == "R1")].iloc[0]
    assert (h["first_date"], h["last_date"]) == (pd.Timestamp("2023-01-20"),
                                                 pd.Timestamp("2023-02-10"))
    ce = sh.firm_category_edges(tiny_shipments(), tiny_codes())
    jh = ce[ce["shipper"] == "J"].set_index("category_id")
    assert jh["value_usd"].to_dict() == {"bearings": 50.0, "ic": 100.0}


def test_chunked_aggregation_equals_whole_frame():
    s = tiny_shipments()
    whole = sh.aggregate_shipments(s, tiny_codes())
    chunks = sh.aggregate_shipments([s.iloc[:3], s.iloc[3:6], s.iloc[6:]], tiny_codes())
    for a, b in ((whole.flows_dispatch, chunks.flows_dispatch),
                 (whole.flows_origin, chunks.flows_origin), (whole.edges, chunks.edges),
                 (whole.category_edges, chunks.category_edges)):
        pd.testing.assert_frame_equal(a, b)
    assert chunks.rows == 8


# ------------------------------------------------------------------ attribution
def test_attribution_by_hand():
    s = tiny_shipments()
    sel = sh.select_shipments(s, destination="RUS", start=pd.Timestamp("2023-01-01"),
                              end=pd.Timestamp("2024-01-01"))
    a = sh.attribute_shipments(sel, tiny_brands(), coalition=["JPN"])
    # 80 + 40 (Aster via HKG) + 30 + 20 (Lotus from CHN) + 5 (no brand via HKG) = 175
    assert a.summary["total_value"] == 175.0 and a.summary["shipments"] == 5
    assert a.by_dispatch[["country", "value_usd"]].values.tolist() == [["HKG", 125.0],
                                                                       ["CHN", 50.0]]
    assert a.by_origin[["country", "value_usd"]].values.tolist() == [
        ["JPN", 120.0], ["CHN", 50.0], ["unknown", 5.0]]
    assert a.by_brand_hq[["country", "value_usd", "member"]].values.tolist() == [
        ["JPN", 120.0, True], ["CHN", 50.0, False], ["unknown", 5.0, False]]
    assert a.by_dispatch["share"].sum() == pytest.approx(1.0)
    assert a.summary["third_country_dispatch_share"] == pytest.approx(1.0)
    assert a.summary["coalition_brand_share"] == pytest.approx(120 / 175)
    assert a.summary["coalition_brand_via_third_share"] == pytest.approx(1.0)
    assert a.summary["coalition_origin_share"] == pytest.approx(120 / 175)
    assert a.summary["unknown_brand_share"] == pytest.approx(5 / 175)
    tb = a.top_brands
    assert tb[["hub", "rank", "brand", "share"]].values.tolist() == [
        ["HKG", 1, "Aster", 0.96], ["HKG", 2, "(no brand)", 0.04], ["CHN", 1, "Lotus", 1.0]]
    ts = a.top_shippers
    assert ts[["hub", "shipper", "value_usd", "coalition_brand_share"]].values.tolist() == [
        ["HKG", "H", 125.0, 0.96], ["CHN", "C", 50.0, 0.0]]
    # a coalition dispatcher: DEU goods of 2022 dispatched from a member
    b = sh.attribute_shipments(s[s["importer_country"] == "RUS"], tiny_brands(),
                               coalition=["JPN", "DEU"])
    assert b.summary["coalition_brand_via_third_share"] == pytest.approx(120 / 130)
    # the cube gives the same answer
    c = sh.attribute_shipments(sh.shipment_cube(sel), tiny_brands(), coalition=["JPN"])
    assert c.summary == a.summary
    table = a.table()
    assert set(table["section"]) == {"by_dispatch", "by_origin", "by_brand_hq", "top_brands",
                                     "top_shippers", "summary"}


def test_attribution_errors():
    s = tiny_shipments()
    with pytest.raises(AnalysisError, match="lack column"):
        sh.attribute_shipments(s.drop(columns="brand"), None, coalition=["JPN"])
    with pytest.raises(ConfigError):
        sh.attribute_shipments(s, None, coalition="nope")
    with pytest.raises(AnalysisError, match="negative"):
        sh.attribute_shipments(s.assign(value_usd=-1.0), None, coalition=["JPN"])
    # without a brand table every brand is unknown
    a = sh.attribute_shipments(s, None, coalition=["JPN"])
    assert a.by_brand_hq["country"].tolist() == ["unknown"]


# ------------------------------------------------------------------ screening
def test_screening_shows_every_candidate_with_its_score():
    from rapidfuzz import fuzz

    from analytics.entities import normalize_name

    ents = pd.DataFrame({
        "name": ["Sky Tech LLC", "Blue Ocean Trading FZE", "Sky Tech Trading LLC"],
        "aliases": [None, "Blue Ocean General Trading", None],
        "country": ["RUS", "ARE", "KAZ"], "concern": ["x", "y", "z"],
        "list_name": ["L1", "L2", "L1"], "source": [None] * 3})
    s = pd.DataFrame({
        "shipper": ["Blue Ocean General Trading", "Acme Ltd", "Acme Ltd"],
        "dispatch_country": ["ARE", "JPN", "JPN"],
        "consignee": ["OOO Sky Tech", "Sky-Tec Ltd", "Sky Tech"],
        "importer_country": ["RUS", "RUS", "KGZ"], "value_usd": [10.0, 20.0, 5.0]})
    out = sh.screen_parties(s, ents, threshold=80)
    rows = {(r.role, r.name): r for r in out.itertuples()}
    sky = rows[("consignee", "OOO Sky Tech")]
    assert (sky.candidate, sky.score, sky.status) == ("Sky Tech LLC", 100.0, "exact")
    tek = rows[("consignee", "Sky-Tec Ltd")]
    expected = round(fuzz.token_sort_ratio(normalize_name("Sky-Tec Ltd"),
                                           normalize_name("Sky Tech LLC")), 1)
    assert 80 <= expected < 100
    assert (tek.candidate, tek.score, tek.status) == ("Sky Tech LLC", expected, "review")
    blue = rows[("shipper", "Blue Ocean General Trading")]
    assert (blue.candidate, blue.matched_on, blue.status) == (
        "Blue Ocean Trading FZE", "Blue Ocean General Trading", "exact")
    assert blue.value_usd == 10.0
    # blocked by country: the KGZ consignee is not compared with RUS or KAZ entities
    assert ("consignee", "Sky Tech") not in rows
    assert out.attrs["screened"] == 5
    full = sh.screen_parties(s, ents, threshold=80, include_unmatched=True)
    none = full[full["status"] == "none"]
    assert set(none["name"]) == {"Acme Ltd", "Sky Tech"}
    assert none["score"].isna().all()


# ------------------------------------------------------------------ firms
def _graph():
    s = tiny_shipments()
    codes = tiny_codes()
    edges = sh.firm_edges(s, codes)
    ids = sh.firm_ids(edges)
    return edges, ids, sh.firm_graph(edges, ids=ids), sh.firm_graph(
        sh.firm_category_edges(s, codes), ids=ids)


def test_firm_ids_merge_name_variants():
    e = pd.DataFrame({"shipper": ["Sky Tech LLC", "SKY-TECH", "Sky Tech LLC"],
                      "dispatch_country": ["HKG", "HKG", "TUR"],
                      "consignee": ["R", "R", "R"], "importer_country": "RUS",
                      "value_usd": [5.0, 7.0, 1.0], "shipments": 1,
                      "first_date": pd.Timestamp("2023-01-01"),
                      "last_date": pd.Timestamp("2023-01-01")})
    ids = sh.firm_ids(e).set_index(["name", "country"])["firm"]
    assert ids[("Sky Tech LLC", "HKG")] == ids[("SKY-TECH", "HKG")] == "SKY-TECH (HKG)"
    assert ids[("Sky Tech LLC", "TUR")] == "Sky Tech LLC (TUR)"
    g = sh.firm_graph(e)
    assert g[["source", "value_usd"]].values.tolist() == [["SKY-TECH (HKG)", 12.0],
                                                          ["Sky Tech LLC (TUR)", 1.0]]


def test_intermediaries_by_hand():
    _, _, _, cg = _graph()
    r = sh.intermediaries(cg, coalition=["JPN"], concern=["RUS"])
    assert r["firm"].tolist() == ["H (HKG)", "H (HKG)"]
    ic, br = r.iloc[0], r.iloc[1]
    assert (ic["category_id"], ic["in_value"], ic["out_value"], ic["throughput"]) == (
        "ic", 100.0, 80.0, 80.0)
    assert (ic["lag_days"], ic["in_from_coalition"], ic["out_to_concern"], ic["flag"]) == (
        15, 100.0, 80.0, True)
    assert (br["category_id"], br["in_value"], br["out_value"], br["lag_days"]) == (
        "bearings", 50.0, 40.0, 9)
    assert ic["n_suppliers"] == 1 and ic["n_customers"] == 1
    # without coalition or concern it is still an intermediary, not flagged
    r2 = sh.intermediaries(cg, concern=[])
    assert not r2["flag"].any() and len(r2) == 2
    assert sh.intermediaries(cg, min_value=50.0)["category_id"].tolist() == ["ic"]
    with pytest.raises(AnalysisError, match="lacks column"):
        sh.intermediaries(cg.drop(columns="category_id"))


def test_supplier_concentration_by_hand():
    _, _, g, _ = _graph()
    c = sh.supplier_concentration(g).set_index("target")
    assert c.loc["R1 (RUS)", "hhi"] == pytest.approx(0.8 ** 2 + 0.2 ** 2)
    assert c.loc["R1 (RUS)", "top_supplier"] == "H (HKG)"
    assert c.loc["R2 (RUS)", "hhi"] == pytest.approx((20 / 35) ** 2 + (10 / 35) ** 2
                                                     + (5 / 35) ** 2)
    assert c.loc["R2 (RUS)", "n_suppliers"] == 3
    assert c.loc["H (HKG)", "hhi"] == 1.0 and c.loc["H (HKG)", "target_country"] == "HKG"


def test_brand_paths_by_hand():
    s = tiny_shipments()
    be = sh.brand_edges(s, tiny_brands(), hq=["JPN"])
    assert be[["brand", "shipper", "consignee", "value_usd"]].values.tolist() == [
        ["Aster", "H", "R1", 120.0], ["Aster", "J", "H", 150.0]]
    p = sh.brand_paths(be, "R1 (RUS)", source_label="Aster [JPN]")
    # J introduces 150; H keeps 30 and forwards 120 = 150 * (150/150) * (120/150)
    assert p[["route", "hops", "amount", "share"]].values.tolist() == [
        ["Aster [JPN] > J (JPN) > H (HKG) > R1 (RUS)", 2, 120.0, 1.0]]
    assert p.loc[0, "intermediaries"] == ("H (HKG)",) and p.loc[0, "first_shipper"] == \
        "J (JPN)"
    assert p.attrs["coverage"] == pytest.approx(1.0)
    with pytest.raises(NodeNotFound):
        sh.brand_paths(be, "R2 (RUS)")
    by_name = sh.brand_edges(s, tiny_brands(), brand="lotus")
    assert set(by_name["consignee"]) == {"R1", "R2"}


def test_tracing_on_a_small_firm_graph_is_exact():
    _, ids, g, _ = _graph()
    t = sh.trace_firms(g)
    # R1 received 120 from H (all J's goods: H produced nothing) and 30 from C
    r1 = t[t["destination"] == "R1 (RUS)"].set_index("origin")["value"]
    assert r1.to_dict() == pytest.approx({"J (JPN)": 120.0, "C (CHN)": 30.0})


def test_tracing_conserves_value_on_a_large_firm_graph():
    """A 25,000-firm graph (above the direct-LU limit: the iterative solver): for every
    firm, the traced origins over a partition of all firms into country groups add up to
    what it received."""
    from analytics import tracing

    rng = np.random.default_rng(3)
    n, m = 25_000, 90_000
    country = np.array([f"C{i:02d}" for i in rng.integers(0, 8, n)])
    u = rng.integers(0, n, m)
    v = (u + rng.integers(1, n, m)) % n
    g = pd.DataFrame({"source": [f"f{i}" for i in u], "target": [f"f{i}" for i in v],
                      "source_country": country[u], "target_country": country[v],
                      "value_usd": rng.lognormal(0, 1.5, m)})
    assert n > tracing.DIRECT_LU_MAX_NODES
    groups = sh.country_origin_groups(g)
    assert sum(len(f) for f in groups.values()) == len(set(g["source"]) | set(g["target"]))
    t = sh.trace_firms(g, origins=groups)
    got = t.groupby("destination")["value"].sum()
    received = g.groupby("target")["value_usd"].sum()
    np.testing.assert_allclose(got.reindex(received.index).to_numpy(), received.to_numpy(),
                               rtol=1e-6)
