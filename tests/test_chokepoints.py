"""Chokepoint metrics on hand-checkable graphs, and on the demo world's planted truth."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from analytics import chokepoints as cp
from analytics.errors import AnalysisError, ConfigError, NodeNotFound, UnknownCountry
from analytics.network import category_flows, layer


def F(*edges):
    return pd.DataFrame(edges, columns=["exporter", "importer", "value_usd"])


# ------------------------------------------------------------------ concentration
def test_concentration_by_hand():
    t = pd.DataFrame({"g": ["x"] * 4 + ["y"], "s": ["A", "B", "C", "D", "A"],
                      "v": [40.0, 30.0, 20.0, 10.0, 5.0]})
    c = cp.concentration(t, supplier="s", value="v", by="g").set_index("g")
    assert c.loc["x", "hhi"] == pytest.approx(0.16 + 0.09 + 0.04 + 0.01)
    assert c.loc["x", "cr1"] == pytest.approx(0.4)
    assert c.loc["x", "cr3"] == pytest.approx(0.9)
    assert c.loc["x", "n_eff"] == pytest.approx(1 / 0.30)
    assert c.loc["x", "top_supplier"] == "A"
    assert c.loc["y", "hhi"] == pytest.approx(1.0)
    assert c.loc["y", "n_suppliers"] == 1


def test_concentration_aggregates_duplicate_suppliers_and_drops_zeros():
    t = pd.DataFrame({"s": ["A", "A", "B", "C"], "v": [1.0, 1.0, 2.0, 0.0]})
    c = cp.concentration(t, supplier="s", value="v")
    assert c.loc[0, "hhi"] == pytest.approx(0.5)
    assert c.loc[0, "n_suppliers"] == 2


def test_concentration_multiple_by_columns():
    t = pd.DataFrame({"year": [1, 1, 2], "cat": ["c", "c", "c"], "s": ["A", "B", "A"],
                      "v": [1.0, 3.0, 2.0]})
    c = cp.concentration(t, supplier="s", value="v", by=["year", "cat"])
    assert list(c.columns[:2]) == ["year", "cat"]
    assert c.set_index("year").loc[1, "top_supplier"] == "B"


def test_concentration_errors():
    with pytest.raises(AnalysisError, match="lacks column"):
        cp.concentration(pd.DataFrame({"a": [1]}), supplier="s", value="v")
    with pytest.raises(AnalysisError, match="negative"):
        cp.concentration(pd.DataFrame({"s": ["A"], "v": [-1.0]}), supplier="s", value="v")


# ------------------------------------------------------------------ dependency flags
def test_dependency_flags_persistence_and_ratio():
    rows = []
    for y, (a, b) in zip([2019, 2020, 2021, 2022], [(9, 1), (5, 5), (9, 1), (9, 1)],
                         strict=True):
        rows += [(y, "A", "X", "c", float(a)), (y, "B", "X", "c", float(b))]
    # X exports a lot in 2022: ratio < 1 -> not dependent that year
    rows += [(2022, "X", "Z", "c", 100.0)]
    f = pd.DataFrame(rows, columns=["year", "exporter", "importer", "category_id",
                                    "value_usd"])
    d = cp.dependency_flags(f)
    x = d[d["importer"] == "X"].set_index("year")
    # HHI 2019 = .82, 2020 = .5, 2021 = .82, 2022 = .82
    assert x.loc[2020, "hhi"] == pytest.approx(0.5)
    assert list(x["dependent"]) == [True, True, True, False]
    assert list(x["persistent"]) == [False, True, True, True]
    assert x.loc[2022, "import_export_ratio"] == pytest.approx(0.1)


def test_dependency_window_counts_calendar_years():
    # data for 2018, 2022 and 2024 only: 2018 is outside 2024's window (2022-2024)
    rows = [(y, e, "X", "c", v) for y in (2018, 2022, 2024)
            for e, v in (("A", 9.0), ("B", 1.0))]
    f = pd.DataFrame(rows, columns=["year", "exporter", "importer", "category_id",
                                    "value_usd"])
    x = cp.dependency_flags(f).set_index("year")
    assert list(x["dependent"]) == [True, True, True]
    assert list(x["persistent"]) == [False, False, True]


# ------------------------------------------------------------------ centrality
def test_centrality_on_a_star_through_a_hub():
    f = F(("A", "H", 2.0), ("B", "H", 2.0), ("H", "C", 2.0), ("H", "D", 2.0))
    c = cp.centrality(f)
    # the 4 ordered pairs A/B -> C/D all pass H; directed normalisation (n-1)(n-2) = 12
    assert c.loc["H", "betweenness"] == pytest.approx(4 / 12)
    assert c.loc["A", "betweenness"] == 0.0
    assert c.loc["H", "out_strength"] == 4.0 and c.loc["H", "in_strength"] == 4.0
    assert c["pagerank"].sum() == pytest.approx(1.0)
    assert c.loc["H", "transit"] == pytest.approx(4.0)
    assert c.loc["H", "transit_share"] == pytest.approx(1.0)


def test_betweenness_prefers_the_heavier_route():
    # two routes A -> D: via H1 (value 10: short) and via H2 (value 1: long)
    f = F(("A", "H1", 10.0), ("H1", "D", 10.0), ("A", "H2", 1.0), ("H2", "D", 1.0))
    c = cp.centrality(f)
    assert c.loc["H1", "betweenness"] > 0
    assert c.loc["H2", "betweenness"] == 0
    g = nx.DiGraph()
    g.add_weighted_edges_from([("A", "H1", 0.1), ("H1", "D", 0.1), ("A", "H2", 1),
                               ("H2", "D", 1)], weight="d")
    ref = nx.betweenness_centrality(g, weight="d")
    assert c.loc["H1", "betweenness"] == pytest.approx(ref["H1"])


def test_centrality_errors():
    with pytest.raises(AnalysisError, match="empty"):
        cp.centrality(F(("A", "B", 0.0)))
    with pytest.raises(AnalysisError, match="distance"):
        cp.centrality(F(("A", "B", 1.0)), distance="euclid")


# ------------------------------------------------------------------ removal impact
def test_removal_impact_direct_vs_traced():
    f = F(("A", "H", 10.0), ("H", "D", 10.0), ("B", "D", 10.0))
    r = cp.removal_impact(f, "A").set_index("destination")
    assert r.loc["D", "direct_share"] == 0.0
    assert r.loc["D", "traced_share"] == pytest.approx(0.5)
    assert r.loc["H", "traced_share"] == pytest.approx(1.0)
    both = cp.removal_impact(f, ["A", "B"]).set_index("destination")
    assert both.loc["D", "traced_share"] == pytest.approx(1.0)
    assert both["removed"].iloc[0] == "A+B"


def test_removal_impact_unknown_node():
    with pytest.raises(NodeNotFound):
        cp.removal_impact(F(("A", "B", 1.0)), "ZZZ")


def test_single_points_of_failure_ranked_per_destination():
    f = F(("A", "H", 9.0), ("B", "D", 1.0), ("H", "D", 9.0), ("C", "E", 5.0),
          ("A", "E", 5.0))
    s = cp.single_points_of_failure(f)
    d = s[s["destination"] == "D"].set_index("rank")
    assert d.loc[1, "origin"] == "A" and d.loc[1, "traced_share"] == pytest.approx(0.9)
    assert d.loc[1, "direct_share"] == 0.0
    assert d.loc[2, "origin"] == "B"
    e = s[s["destination"] == "E"]
    assert set(e["origin"]) == {"A", "C"}


# ------------------------------------------------------------------ coalition leverage
def test_coalition_leverage_traced_and_direct():
    f = F(("JPN", "HKG", 6.0), ("CHN", "RUS", 4.0), ("HKG", "RUS", 6.0), ("USA", "RUS", 0.0))
    lev = cp.coalition_leverage(f, "jp_us_nl").set_index("destination")
    assert lev.loc["RUS", "coalition_share"] == pytest.approx(0.6)
    assert lev.loc["RUS", "direct_share"] == 0.0
    assert lev.loc["WORLD", "coalition_share"] == pytest.approx(6.0 / 10.0)
    assert lev.attrs["members"] == ("JPN", "NLD", "USA")


def test_coalition_presets_and_custom_lists():
    f = F(("DEU", "RUS", 1.0), ("JPN", "RUS", 1.0), ("CHN", "RUS", 2.0))
    g7 = cp.coalition_leverage(f, "g7").set_index("destination")
    assert g7.loc["RUS", "coalition_share"] == pytest.approx(0.5)
    jp = cp.coalition_leverage(f, "japan").set_index("destination")
    assert jp.loc["RUS", "coalition_share"] == pytest.approx(0.25)
    custom = cp.coalition_leverage(f, ["CHN"]).set_index("destination")
    assert custom.loc["RUS", "coalition_share"] == pytest.approx(0.5)
    ga = cp.coalition_leverage(f, "group_a").set_index("destination")
    assert ga.loc["RUS", "coalition_share"] == pytest.approx(0.5)
    with pytest.raises(ConfigError):
        cp.coalition_leverage(f, "nato_plus")
    with pytest.raises(UnknownCountry):
        cp.coalition_leverage(f, ["XXX"])


# ------------------------------------------------------------------ min cut
def test_enforcement_cut_value_routes_and_hubs():
    f = F(("JPN", "TUR", 5.0), ("JPN", "KAZ", 5.0), ("TUR", "RUS", 3.0),
          ("KAZ", "RUS", 4.0), ("JPN", "RUS", 2.0), ("CHN", "KAZ", 9.0))
    cut = cp.enforcement_cut(f, "japan", "RUS")
    assert cut.value == pytest.approx(9.0)  # 3 via TUR + 4 via KAZ + 2 direct
    assert set(map(tuple, cut.cut_edges[["exporter", "importer"]].to_numpy())) == {
        ("TUR", "RUS"), ("KAZ", "RUS"), ("JPN", "RUS")}
    leak = cp.enforcement_cut(f, "japan", "RUS", exclude_direct=True)
    assert leak.value == pytest.approx(7.0)
    assert set(leak.cut_nodes["node"]) == {"TUR", "KAZ"}
    # flow conservation at each hub
    assert sum(leak.flow["TUR"].values()) == pytest.approx(3.0)


def test_enforcement_cut_single_hub_bottleneck():
    f = F(("JPN", "ARM", 10.0), ("USA", "ARM", 10.0), ("ARM", "KGZ", 6.0),
          ("ARM", "RUS", 2.0), ("KGZ", "RUS", 5.0))
    cut = cp.enforcement_cut(f, "jp_us_nl", "RUS")
    assert cut.value == pytest.approx(7.0)
    assert list(cut.cut_nodes["node"]) == ["ARM"]


def test_enforcement_cut_errors():
    f = F(("JPN", "RUS", 1.0))
    with pytest.raises(NodeNotFound):
        cp.enforcement_cut(f, "japan", "IRN")
    with pytest.raises(AnalysisError, match="member"):
        cp.enforcement_cut(F(("USA", "JPN", 1.0)), "japan", "JPN")


def test_enforcement_cut_no_path_is_zero():
    cut = cp.enforcement_cut(F(("CHN", "RUS", 1.0), ("JPN", "USA", 1.0)), "japan", "RUS")
    assert cut.value == 0.0 and cut.cut_edges.empty


# ------------------------------------------------------------------ demo world truth
@pytest.fixture(scope="module")
def demo_cflows(demo_world):
    return category_flows(demo_world.dataset)


def test_planted_country_chokepoints_are_found(demo_world, demo_cflows):
    truth = demo_world.truth.chokepoints
    truth = truth[truth["level"] == "country"].set_index("category_id")["supplier"]
    ov = cp.category_overview(demo_cflows, 2022).set_index("category_id")
    for cat, supplier in truth.items():
        assert ov.loc[cat, "top_origin"] == supplier, cat


def test_tracing_reveals_origin_behind_hong_kong(demo_world, demo_cflows):
    # Hong Kong is a large IC exporter by dispatch, but it makes none of them
    lay = layer(demo_cflows, 2022, "chpl_tier1")
    osh = cp.origin_shares(lay).set_index("origin")["share"]
    exporters = lay.groupby("exporter")["value_usd"].sum()
    assert exporters["HKG"] / exporters.sum() > 0.05
    assert osh.get("HKG", 0.0) < 0.01
    assert osh.idxmax() == "TWN"


def test_hubs_have_high_transit_in_demo(demo_cflows):
    lay = layer(demo_cflows, 2023, "chpl_tier1")
    c = cp.centrality(lay)
    assert c.loc["HKG", "transit_share"] > 0.9
    assert c["transit"].idxmax() in ("HKG", "CHN")


def test_demo_min_cut_after_direct_stop(demo_cflows):
    lay = layer(demo_cflows, 2023, "chpl_tier1")
    cut = cp.enforcement_cut(lay, "group_a", "RUS", exclude_direct=True)
    assert cut.value > 0
    assert set(cut.cut_nodes["node"]) & {"CHN", "HKG", "KGZ", "ARM", "ARE", "TUR", "KAZ"}


def test_category_overview_columns(demo_cflows):
    ov = cp.category_overview(demo_cflows, 2022, coalition="g7")
    assert {"exporter_hhi", "origin_hhi", "top_origin", "coalition_origin_share",
            "max_import_hhi"} <= set(ov.columns)
    assert np.all((ov["coalition_origin_share"] >= 0) & (ov["coalition_origin_share"] <= 1))
    with pytest.raises(AnalysisError):
        cp.category_overview(demo_cflows, 1999)


# ------------------------------------------------------------------ traced origin shares
def test_origin_shares_count_each_good_once_however_many_hops():
    # JPN's 10 travel JPN -> HKG -> CHN -> RUS (three shipments, one good); KOR ships 10
    f = F(("JPN", "HKG", 10.0), ("HKG", "CHN", 10.0), ("CHN", "RUS", 10.0),
          ("KOR", "RUS", 10.0))
    osh = cp.origin_shares(f).set_index("origin")["share"]
    assert osh.to_dict() == {"JPN": pytest.approx(0.5), "KOR": pytest.approx(0.5)}
    lev = cp.coalition_leverage(f, ["JPN"]).set_index("destination")
    cf = f.assign(year=2024, category_id="c")
    ov = cp.category_overview(cf, 2024, coalition=["JPN"]).iloc[0]
    assert ov["coalition_origin_share"] == pytest.approx(lev.loc["WORLD", "coalition_share"])
    assert ov["coalition_origin_share"] == pytest.approx(0.5)
    assert ov["origin_hhi"] == pytest.approx(0.5)


def test_origin_shares_equal_traced_absorption_on_a_cycle():
    # A produces; B and C re-export to each other and to D: every origin-A good that
    # enters trade ends up kept somewhere, so traced absorption equals production
    from analytics import tracing

    f = F(("A", "B", 10.0), ("B", "C", 6.0), ("C", "B", 2.0), ("C", "D", 5.0),
          ("E", "D", 4.0), ("B", "D", 3.0))
    m = tracing.build_model(f)
    C = m.composition()  # origin mix of what each node ships
    kept = np.maximum(m.supply - m.exports, 0.0)
    absorbed = (C.to_numpy() * kept).sum(axis=1)
    osh = cp.origin_shares(f, model=m).set_index("origin")["value"]
    for o, v in osh.items():
        assert absorbed[list(C.index).index(o)] == pytest.approx(v)
    assert osh.sum() == pytest.approx(m.production.sum())


# ------------------------------------------------------------------ removal of a hub
def test_removal_of_a_pure_re_exporter_reads_via_not_traced():
    f = F(("A", "H", 10.0), ("H", "D", 10.0), ("B", "D", 10.0))
    r = cp.removal_impact(f, "H").set_index("destination")
    assert r.loc["D", "traced_share"] == pytest.approx(0.0)  # H made nothing
    assert r.loc["D", "direct_lost"] == pytest.approx(10.0)
    assert r.loc["D", "via_lost"] == pytest.approx(10.0)
    assert r.loc["D", "via_share"] == pytest.approx(0.5)


def test_removal_via_counts_every_hop_and_mixing():
    # A -> H1 -> H2 -> D (8 of H2's 10 go to D, 2 to E); G -> H2 directly 5
    # H2 supply = 10 from H1 + 5 from G = 15; x_H2 = 10/15 of H2's shipments came via H1
    f = F(("A", "H1", 10.0), ("H1", "H2", 10.0), ("G", "H2", 5.0),
          ("H2", "D", 12.0), ("H2", "E", 3.0))
    r = cp.removal_impact(f, "H1").set_index("destination")
    assert r.loc["D", "via_lost"] == pytest.approx(12.0 * 10 / 15)
    assert r.loc["E", "via_lost"] == pytest.approx(3.0 * 10 / 15)
    assert r.loc["H2", "via_lost"] == pytest.approx(10.0)
    assert r.loc["D", "direct_lost"] == pytest.approx(0.0)


# ------------------------------------------------------------------ complete node cut
def test_node_cut_includes_direct_routes_and_closes_every_path():
    f = F(("JPN", "TUR", 5.0), ("TUR", "RUS", 5.0), ("JPN", "RUS", 1.0),
          ("USA", "KAZ", 4.0), ("KAZ", "RUS", 3.0), ("CHN", "KAZ", 9.0),
          ("USA", "CHN", 2.0), ("CHN", "RUS", 2.0))
    cut = cp.enforcement_cut(f, ["JPN", "USA"], "RUS")
    hubs = set(cut.cut_nodes["node"])
    routes = set(zip(cut.node_cut_routes["exporter"], cut.node_cut_routes["importer"],
                     strict=True))
    assert hubs == {"TUR", "KAZ", "CHN"}
    assert routes == {("JPN", "RUS")}
    assert cut.node_cut_value == pytest.approx(cut.cut_nodes["throughput"].sum()
                                               + cut.node_cut_routes["capacity"].sum())
    # closing those hubs and routes leaves nothing for the coalition to reach RUS by
    rest = f[~f["exporter"].isin(hubs) & ~f["importer"].isin(hubs)]
    rest = rest[~rest.apply(lambda r: (r["exporter"], r["importer"]) in routes, axis=1)]
    rest = pd.concat([rest, F(("USA", "BRA", 1.0), ("MEX", "RUS", 1.0))])
    assert cp.enforcement_cut(rest, ["JPN", "USA"], "RUS").value == pytest.approx(0.0)
    # hubs are weighed by their whole throughput (KAZ 4 + 9), so the node cut costs at
    # least the max-flow: 5 (TUR) + 13 (KAZ) + 2 (CHN) + 1 (JPN -> RUS) against 11
    assert cut.value == pytest.approx(11.0)
    assert cut.node_cut_value == pytest.approx(21.0)


def test_enforcement_cut_matches_an_exact_float_max_flow_on_random_layers():
    # the compiled solver works on capacities quantised to 2**30 units of the layer's
    # total; the reported value is the exact capacity of the cut it finds
    rng = np.random.default_rng(7)
    names = ["JPN", "USA", "TUR", "KAZ", "ARM", "CHN", "HKG", "ARE", "GEO", "RUS", "IND"]
    for _ in range(25):
        m = int(rng.integers(15, 60))
        e, i = rng.choice(names, m), rng.choice(names, m)
        f = pd.DataFrame({"exporter": e, "importer": i,
                          "value_usd": rng.lognormal(10, 3, m)})
        f = f[f["exporter"] != f["importer"]].groupby(
            ["exporter", "importer"], as_index=False)["value_usd"].sum()
        if "RUS" not in set(f["importer"]):
            continue
        cut = cp.enforcement_cut(f, ["JPN", "USA"], "RUS")
        G = nx.DiGraph()
        for a, b, v in f.itertuples(index=False):
            if b not in ("JPN", "USA"):
                G.add_edge(a, b, capacity=v)
        for mbr in ("JPN", "USA"):
            if mbr in G:
                G.add_edge("S", mbr)
        exact = nx.maximum_flow_value(G, "S", "RUS") if "S" in G else 0.0
        assert cut.value == pytest.approx(exact, rel=1e-6, abs=1e-6)
        # the cut edges separate the coalition from RUS
        H = G.copy()
        H.remove_edges_from(zip(cut.cut_edges["exporter"], cut.cut_edges["importer"],
                                strict=True))
        assert "S" not in H or not nx.has_path(H, "S", "RUS")


def test_enforcement_cut_through_protected_nodes_only_has_no_cut():
    f = F(("JPN", "TUR", 5.0), ("TUR", "RUS", 5.0))
    with pytest.raises(AnalysisError, match="no finite cut"):
        cp.enforcement_cut(f, ["JPN"], "RUS", protected=["TUR"])
