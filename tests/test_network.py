"""Category flows and per-layer graphs (analytics.network) on a hand-made dataset.

Flows are HS2017. Categories (as defined):

* ``uav``: HS2022 880730, which the concordance maps to HS2017 880330;
* ``ics``: HS2022 854231, absent from the concordance (unchanged between versions);
* ``bearings``: the prefix 8482 *and* the code 848210 (covered twice, counted once);
* ``tier3b``: 848210, shared with ``bearings`` (counted once in each);
* ``chip_tools``: the prefix 8486.
"""

from __future__ import annotations

import networkx as nx
import pandas as pd
import pytest

from analytics.dataset import Dataset
from analytics.errors import AnalysisError, UnknownCategory
from analytics.network import (
    category_flows,
    category_membership,
    country_totals,
    graphs,
    layer,
    to_graph,
)
from analytics.schemas import Categories, CategoryHS, Flows, HSConcordance, empty


def frame(table, rows):
    """The schema's empty frame plus rows given as dicts (missing columns left empty)."""
    base = empty(table)
    data = pd.DataFrame(rows).reindex(columns=base.columns)
    return data.astype(base.dtypes.to_dict())


FLOW_ROWS = [
    # year, exporter, importer, hs6, value_usd
    (2022, "JPN", "RUS", "880330", 5.0),    # uav (HS2017 code of HS2022 880730)
    (2022, "JPN", "RUS", "854231", 3.0),    # ics
    (2022, "JPN", "RUS", "848210", 7.0),    # bearings and tier3b
    (2022, "JPN", "RUS", "848220", 11.0),   # bearings (prefix 8482)
    (2022, "NLD", "RUS", "848620", 13.0),   # chip_tools (prefix 8486)
    (2022, "NLD", "RUS", "848690", 17.0),   # chip_tools
    (2022, "NLD", "KAZ", "848620", 19.0),   # chip_tools
    (2022, "JPN", "RUS", "010121", 100.0),  # in no category
    (2023, "JPN", "KAZ", "848210", 3.0),
    (2023, "KAZ", "RUS", "848210", 2.0),
    (2023, "KAZ", "RUS", "848620", 0.0),    # a zero flow: a row, but no graph edge
]

CATEGORY_HS = [
    ("uav", "880730", "HS2022"), ("ics", "854231", "HS2022"),
    ("bearings", "8482", "HS2017"), ("bearings", "848210", "HS2017"),
    ("tier3b", "848210", "HS2017"), ("chip_tools", "8486", "HS2017"),
]


def make_dataset(flow_rows=FLOW_ROWS, hs_version="HS2017") -> Dataset:
    cols = ["year", "exporter", "importer", "hs6", "value_usd"]
    flows = frame(Flows, [dict(zip(cols, r, strict=True)) for r in flow_rows])
    ids = sorted({c for c, _, _ in CATEGORY_HS})
    categories = frame(Categories, [
        {"category_id": c, "name": c, "control_basis": "hand-made", "sensitivity": 1.0,
         "direction": "outbound", "source": "hand-made", "as_of": "2025-01-01"}
        for c in ids])
    category_hs = frame(CategoryHS, [
        {"category_id": c, "hs6": h, "hs_version": v, "source": "hand-made",
         "as_of": "2025-01-01"} for c, h, v in CATEGORY_HS])
    concordance = frame(HSConcordance, [
        {"from_version": "HS2022", "from_hs6": "880730", "to_version": "HS2017",
         "to_hs6": "880330", "relation": "1:1", "source": "hand-made",
         "as_of": "2025-01-01"}])
    return Dataset(flows=flows, countries=pd.DataFrame(), categories=categories,
                   category_hs=category_hs, events=pd.DataFrame(),
                   hs_concordance=concordance, hs_version=hs_version)


def records(cf):
    return [(int(y), e, i, c, float(v)) for y, e, i, c, v in cf[
        ["year", "exporter", "importer", "category_id", "value_usd"]].itertuples(index=False)]


def value(cf, year, category, exporter, importer):
    hit = cf[(cf["year"] == year) & (cf["category_id"] == category)
             & (cf["exporter"] == exporter) & (cf["importer"] == importer)]
    assert len(hit) == 1, hit
    return float(hit["value_usd"].iloc[0])


@pytest.fixture(scope="module")
def ds():
    return make_dataset()


@pytest.fixture(scope="module")
def cf(ds):
    return category_flows(ds)


# ------------------------------------------------------------------- category_flows
def test_membership_maps_hs2022_codes_through_the_concordance(ds):
    m = category_membership(ds)
    got = {(c, h): (f, bool(mp)) for c, h, f, mp in m[
        ["category_id", "hs6", "from_hs6", "mapped"]].itertuples(index=False)}
    assert got[("uav", "880330")] == ("880730", True)
    assert ("uav", "880730") not in got  # replaced by its HS2017 counterpart
    assert got[("ics", "854231")] == ("854231", False)  # not in the concordance: unchanged
    assert got[("chip_tools", "8486")] == ("8486", False)  # prefixes kept as prefixes
    assert (m["hs_version"] == "HS2017").all()
    assert len(m) == len(CATEGORY_HS)


def test_category_flows_by_hand(cf):
    assert list(cf.columns) == ["year", "exporter", "importer", "category_id", "value_usd"]
    assert records(cf) == [
        (2022, "JPN", "RUS", "bearings", 18.0),     # 7 + 11
        (2022, "NLD", "KAZ", "chip_tools", 19.0),
        (2022, "NLD", "RUS", "chip_tools", 30.0),   # 13 + 17
        (2022, "JPN", "RUS", "ics", 3.0),
        (2022, "JPN", "RUS", "tier3b", 7.0),
        (2022, "JPN", "RUS", "uav", 5.0),
        (2023, "JPN", "KAZ", "bearings", 3.0),
        (2023, "KAZ", "RUS", "bearings", 2.0),
        (2023, "KAZ", "RUS", "chip_tools", 0.0),
        (2023, "JPN", "KAZ", "tier3b", 3.0),
        (2023, "KAZ", "RUS", "tier3b", 2.0),
    ]


def test_hs2022_category_found_in_hs2017_data(cf):
    assert value(cf, 2022, "uav", "JPN", "RUS") == 5.0


def test_prefix_expands_to_its_hs6_codes(cf):
    # 8486 -> 848620 and 848690 (both in the data); 8482 -> 848210 and 848220
    assert value(cf, 2022, "chip_tools", "NLD", "RUS") == pytest.approx(13.0 + 17.0)
    assert value(cf, 2022, "bearings", "JPN", "RUS") == pytest.approx(7.0 + 11.0)


def test_code_shared_by_two_categories_counts_once_in_each(cf):
    assert value(cf, 2022, "tier3b", "JPN", "RUS") == 7.0
    # bearings lists 848210 twice (prefix and code): still 7 + 11, not 7 + 7 + 11
    assert value(cf, 2022, "bearings", "JPN", "RUS") == 18.0
    # over categories, 2022 adds up to the categorised flows plus the shared 7 once more
    categorised = 5 + 3 + 7 + 11 + 13 + 17 + 19
    assert cf.loc[cf["year"] == 2022, "value_usd"].sum() == pytest.approx(categorised + 7)


def test_flows_already_in_the_category_version_are_not_mapped():
    rows = [(2022, "JPN", "RUS", "880730", 5.0), (2022, "JPN", "RUS", "880330", 99.0)]
    cf = category_flows(make_dataset(rows, hs_version="HS2022"), categories=["uav"])
    assert records(cf) == [(2022, "JPN", "RUS", "uav", 5.0)]


def test_category_and_year_filters(ds):
    cf = category_flows(ds, categories=["tier3b", "uav"], years=[2023])
    assert records(cf) == [(2023, "JPN", "KAZ", "tier3b", 3.0),
                           (2023, "KAZ", "RUS", "tier3b", 2.0)]
    assert category_flows(ds, categories=["uav"], years=[2023]).empty


def test_unknown_category_names_it(ds):
    with pytest.raises(UnknownCategory, match=r"unknown category id\(s\) \['nope'\]"):
        category_flows(ds, categories=["uav", "nope"])


# ------------------------------------------------------------------ layers and graphs
def test_layer_selects_one_year_and_category(cf):
    lay = layer(cf, 2023, "bearings")
    assert list(lay.columns) == ["exporter", "importer", "value_usd"]
    assert lay.to_dict("records") == [
        {"exporter": "JPN", "importer": "KAZ", "value_usd": 3.0},
        {"exporter": "KAZ", "importer": "RUS", "value_usd": 2.0}]


def test_layer_empty_raises(cf):
    with pytest.raises(AnalysisError, match="no flows for category 'uav' in 2023"):
        layer(cf, 2023, "uav")


def test_to_graph_weights_distances_and_skips():
    f = pd.DataFrame({"exporter": ["A", "A", "B", "C"], "importer": ["B", "A", "C", "A"],
                      "value_usd": [4.0, 9.0, 0.0, 0.5]})
    g = to_graph(f)
    assert sorted(g.edges) == [("A", "B"), ("C", "A")]  # self-flow and zero flow left out
    assert g["A"]["B"] == {"value_usd": 4.0, "distance": 0.25}
    assert g["C"]["A"]["distance"] == 2.0
    w = to_graph(f.rename(columns={"value_usd": "tonnes"}), weight="tonnes")
    assert w["A"]["B"] == {"tonnes": 4.0, "distance": 0.25}


def test_graphs_one_per_layer_in_order(cf):
    got = dict(graphs(cf))
    assert list(got) == [(2022, "bearings"), (2022, "chip_tools"), (2022, "ics"),
                         (2022, "tier3b"), (2022, "uav"), (2023, "bearings"),
                         (2023, "chip_tools"), (2023, "tier3b")]
    chips = got[(2022, "chip_tools")]
    assert isinstance(chips, nx.DiGraph)
    assert sorted(chips.edges(data="value_usd")) == [("NLD", "KAZ", 19.0),
                                                     ("NLD", "RUS", 30.0)]
    assert got[(2023, "chip_tools")].number_of_edges() == 0  # its only flow is zero
    assert sorted(got[(2023, "tier3b")].edges(data="value_usd")) == [
        ("JPN", "KAZ", 3.0), ("KAZ", "RUS", 2.0)]


def test_country_totals_by_hand(cf):
    t = country_totals(layer(cf, 2023, "bearings"))
    assert t.index.name == "country"
    assert t.to_dict("index") == {
        "JPN": {"exports": 3.0, "imports": 0.0, "net_exports": 3.0},
        "KAZ": {"exports": 2.0, "imports": 3.0, "net_exports": -1.0},
        "RUS": {"exports": 0.0, "imports": 2.0, "net_exports": -2.0}}
