"""Tests of analytics.suppliers and the ETO Chip Explorer reader (analytics.sources.eto).

Three groups:
* the analytics on tiny supplier tables and item graphs, answers worked out by hand;
* the reader on miniature ETO folders written to tmp_path with the real headers (rows
  invented), one test per quirk and per bad-input path;
* the reader and analytics on the real files in ../shared/data (known facts).
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from analytics.errors import (
    AnalysisError,
    ConfigError,
    DataError,
    SchemaViolation,
    SourceFormatError,
)
from analytics.schemas import Suppliers, validate
from analytics.sources.eto import EtoChipExplorer, read_eto_chip_explorer
from analytics.suppliers import (
    UNATTRIBUTED,
    country_exposure,
    item_concentration,
    rank_chokepoints,
    upstream_exposure,
)

approx = pytest.approx


# ----------------------------------------------------------------------------- helpers
def table(rows, **extra):
    """Suppliers rows (item, provider, country, share[, level[, residual]])."""
    cols = ["item_id", "provider", "provider_country", "share", "provider_level", "residual"]
    width = len(rows[0])
    frame = pd.DataFrame(rows, columns=cols[:width])
    for k, v in extra.items():
        frame[k] = v
    return frame


def one(frame: pd.DataFrame, item: str) -> pd.Series:
    sel = frame[frame["item_id"] == item]
    assert len(sel) == 1, sel
    return sel.iloc[0]


def dag(*edges):
    """DiGraph from (u, v) or (u, v, relation) tuples."""
    g = nx.DiGraph()
    for e in edges:
        u, v, rel = (*e, "goes_into") if len(e) == 2 else e
        g.add_edge(u, v, relation=rel)
    return g


# -------------------------------------------------------------------- item_concentration
def test_concentration_firm_level_hand_worked():
    # P .5, Q .3, R .2: HHI = .25 + .09 + .04 = .38, CR3 = 1, n_eff = 1/.38
    t = table([("a", "P", "NLD", 0.5), ("a", "Q", "JPN", 0.3), ("a", "R", "JPN", 0.2)])
    r = one(item_concentration(t), "a")
    assert r["hhi"] == approx(0.38)
    assert r["cr1"] == approx(0.5) and r["top_share"] == approx(0.5)
    assert r["cr3"] == approx(1.0)
    assert r["n_eff"] == approx(1 / 0.38)
    assert r["n_suppliers"] == 3 and r["top_supplier"] == "P"
    assert r["basis"] == "firm" and r["level"] == "firm"


def test_concentration_country_level_aggregates_firms():
    # NLD .5, JPN .3 + .2 = .5: HHI .5, a tie that goes to the name sorting first (JPN)
    t = table([("a", "P", "NLD", 0.5), ("a", "Q", "JPN", 0.3), ("a", "R", "JPN", 0.2)])
    r = one(item_concentration(t, level="country"), "a")
    assert r["basis"] == "firm_aggregated"
    assert r["hhi"] == approx(0.5) and r["n_eff"] == approx(2.0)
    assert r["top_supplier"] == "JPN" and r["top_share"] == approx(0.5)
    assert r["n_suppliers"] == 2


def test_concentration_prefers_source_country_rows():
    # firm view P .6 (NLD) Q .4 (JPN); the source's own country view NLD .7, JPN .3
    t = table([("e", "P", "NLD", 0.6, "firm"), ("e", "Q", "JPN", 0.4, "firm"),
               ("e", "NLD", "NLD", 0.7, "country"), ("e", "JPN", "JPN", 0.3, "country")])
    firm = one(item_concentration(t, level="firm"), "e")
    country = one(item_concentration(t, level="country"), "e")
    assert firm["hhi"] == approx(0.36 + 0.16) and firm["top_supplier"] == "P"
    assert country["basis"] == "country"
    assert country["hhi"] == approx(0.49 + 0.09)  # never .6+.7: the two views are not summed
    assert country["top_supplier"] == "NLD" and country["top_share"] == approx(0.7)
    assert country["total_reported"] == approx(1.0)


def test_concentration_residual_exclude_and_include():
    # P .6 and a residual .4: excluded = fragmented fringe (HHI .36), included = one
    # supplier (HHI .36 + .16 = .52)
    t = table([("b", "P", "NLD", 0.6, "firm", False),
               ("b", "Various companies", None, 0.4, "firm", True)])
    ex = one(item_concentration(t), "b")
    inc = one(item_concentration(t, residual="include"), "b")
    assert ex["hhi"] == approx(0.36) and ex["n_suppliers"] == 1
    assert ex["top_share"] == approx(0.6) and ex["residual_share"] == approx(0.4)
    assert inc["hhi"] == approx(0.52) and inc["n_suppliers"] == 2
    assert inc["top_supplier"] == "P"


def test_concentration_total_above_one_is_scaled_down():
    # P .8 + Q .4 = 1.2 (rounding up): shares /1.2 -> 2/3, 1/3; HHI = 5/9
    t = table([("c", "P", "NLD", 0.8), ("c", "Q", "JPN", 0.4)])
    r = one(item_concentration(t), "c")
    assert r["top_share"] == approx(2 / 3)
    assert r["hhi"] == approx(5 / 9)
    assert r["top_share_reported"] == approx(0.8)
    assert r["total_reported"] == approx(1.2)


def test_concentration_total_below_one_keeps_fringe():
    # P .3 + Q .2 = .5: the unreported half is a fringe; HHI = .09 + .04
    t = table([("d", "P", "NLD", 0.3), ("d", "Q", "JPN", 0.2)])
    r = one(item_concentration(t), "d")
    assert r["hhi"] == approx(0.13)
    assert r["top_share"] == approx(0.3) and r["cr3"] == approx(0.5)


def test_concentration_unattributed_firms_at_country_level():
    # P .7 (USA), Q .3 without a country -> USA .7 and an 'unattributed' residual .3
    t = table([("f", "P", "USA", 0.7), ("f", "Q", None, 0.3)])
    r = one(item_concentration(t, level="country"), "f")
    assert r["top_supplier"] == "USA" and r["hhi"] == approx(0.49)
    assert r["residual_share"] == approx(0.3)
    inc = one(item_concentration(t, level="country", residual="include"), "f")
    assert inc["hhi"] == approx(0.49 + 0.09)
    assert UNATTRIBUTED == "unattributed"


def test_concentration_only_residual_gives_missing_metrics():
    t = table([("g", "Various companies", None, 1.0, "firm", True)])
    r = one(item_concentration(t), "g")
    assert r["n_suppliers"] == 0 and np.isnan(r["hhi"]) and r["top_supplier"] is None


def test_concentration_does_not_modify_input():
    t = table([("a", "P", "NLD", 0.5), ("a", "Q", "JPN", 0.5)])
    before = t.copy()
    item_concentration(t, level="country")
    pd.testing.assert_frame_equal(t, before)


def test_concentration_rejects_percent_shares():
    t = table([("a", "P", "NLD", 81.5)])
    with pytest.raises(AnalysisError, match="percent"):
        item_concentration(t)


def test_concentration_rejects_repeated_provider():
    t = table([("a", "P", "NLD", 0.5), ("a", "P", "NLD", 0.4)])
    with pytest.raises(AnalysisError, match="repeat"):
        item_concentration(t)


def test_concentration_rejects_missing_column_and_bad_options():
    with pytest.raises(AnalysisError, match="share"):
        item_concentration(pd.DataFrame({"item_id": ["a"], "provider": ["P"]}))
    t = table([("a", "P", "NLD", 0.5)])
    with pytest.raises(AnalysisError, match="level"):
        item_concentration(t, level="region")
    with pytest.raises(AnalysisError, match="residual"):
        item_concentration(t, residual="drop")
    with pytest.raises(AnalysisError, match="provider_level"):
        item_concentration(table([("a", "P", "NLD", 0.5, "company")]))


# ---------------------------------------------------------------------- rank_chokepoints
def _rank_table():
    return table([
        ("a", "P", "NLD", 0.5, "firm", False), ("a", "Q", "JPN", 0.3, "firm", False),
        ("a", "R", "JPN", 0.2, "firm", False),
        ("b", "P", "NLD", 0.6, "firm", False),
        ("b", "Various companies", None, 0.4, "firm", True),
        ("e", "P", "NLD", 0.6, "firm", False), ("e", "Q", "JPN", 0.4, "firm", False),
        ("e", "NLD", "NLD", 0.7, "country", False), ("e", "JPN", "JPN", 0.3, "country", False),
    ])


def test_rank_by_country_level():
    # country top shares: e .7 (NLD rows), b .6 (NLD from firm P), a .5 (JPN tie)
    items = pd.DataFrame({"item_id": ["a", "b", "e"], "item_name": ["A", "B", "E"],
                          "stage": ["S1", "S2", "S2"]})
    r = rank_chokepoints(_rank_table(), items)
    assert r["item_id"].tolist() == ["e", "b", "a"]
    assert r["rank"].tolist() == [1, 2, 3]
    e = r.iloc[0]
    assert (e["item_name"], e["stage"]) == ("E", "S2")
    assert e["country_top_supplier"] == "NLD" and e["country_top_share"] == approx(0.7)
    assert e["firm_top_supplier"] == "P" and e["firm_top_share"] == approx(0.6)
    assert e["country_basis"] == "country"
    assert r.iloc[1]["country_basis"] == "firm_aggregated"


def test_rank_by_firm_level_and_top():
    # firm: e .6 (HHI .52) and b .6 (HHI .36, residual excluded) tie on share; HHI decides
    r = rank_chokepoints(_rank_table(), level="firm", top=2)
    assert r["item_id"].tolist() == ["e", "b"]
    assert r.iloc[0]["firm_hhi"] == approx(0.52) and r.iloc[1]["firm_hhi"] == approx(0.36)


def test_rank_takes_names_and_stages_from_graph():
    g = nx.DiGraph()
    g.add_node("a", name="Alpha", stage="S1")
    g.add_node("e", name="Echo", stage="S3")
    r = rank_chokepoints(_rank_table(), g)
    assert dict(zip(r["item_id"], r["stage"], strict=True))["e"] == "S3"
    assert dict(zip(r["item_id"], r["item_name"], strict=True))["a"] == "Alpha"


def test_rank_rejects_unknown_sort_column():
    with pytest.raises(AnalysisError, match="sort"):
        rank_chokepoints(_rank_table(), by=["nope"])


# --------------------------------------------------------------------- upstream_exposure
def conc(**values):
    return pd.DataFrame({"item_id": list(values), "top_share": list(values.values()),
                         "top_supplier": [f"sup_{k}" for k in values]})


def test_exposure_chain():
    # a -> b -> c with a .9, b .5, c .7: everything downstream of a is exposed at .9
    e = upstream_exposure(dag(("a", "b"), ("b", "c")), conc(a=0.9, b=0.5, c=0.7))
    e = e.set_index("item_id")
    assert e["exposure"].tolist() == approx([0.9, 0.9, 0.9])
    assert e["bottleneck"].tolist() == ["a", "a", "a"]
    assert e["depth"].tolist() == [0, 1, 2]
    assert e.loc["c", "own"] == approx(0.7)
    assert e.loc["c", "bottleneck_supplier"] == "sup_a"


def test_exposure_own_concentration_wins_when_larger():
    e = upstream_exposure(dag(("a", "b"), ("b", "c")), conc(a=0.9, b=0.5, c=0.95))
    c = one(e, "c")
    assert c["exposure"] == approx(0.95) and c["bottleneck"] == "c" and c["depth"] == 0


def test_exposure_tie_goes_to_item_itself():
    e = upstream_exposure(dag(("a", "b")), conc(a=0.8, b=0.8))
    assert one(e, "b")["bottleneck"] == "b"


def test_exposure_diamond():
    # s -> l -> t, s -> r -> t; s .4, l .8, r .6, t .5: t is exposed through l (.8)
    g = dag(("s", "l"), ("s", "r"), ("l", "t"), ("r", "t"))
    e = upstream_exposure(g, conc(s=0.4, l=0.8, r=0.6, t=0.5))
    t = one(e, "t")
    assert t["exposure"] == approx(0.8) and t["bottleneck"] == "l" and t["depth"] == 1
    assert one(e, "r")["exposure"] == approx(0.6)  # r is not downstream of l
    # equal inputs: the tie goes to the smaller item id
    e2 = upstream_exposure(g, conc(s=0.4, l=0.8, r=0.8, t=0.5))
    assert one(e2, "t")["bottleneck"] == "l"


def test_exposure_diamond_prefers_nearest_bottleneck_on_ties():
    # s (.9) is two steps above t, m (.9) one step: the nearer one is the bottleneck
    g = dag(("s", "l"), ("l", "t"), ("m", "t"))
    e = upstream_exposure(g, conc(s=0.9, l=0.1, m=0.9, t=0.1))
    t = one(e, "t")
    assert t["bottleneck"] == "m" and t["depth"] == 1


def test_exposure_subtype_feeds_parent():
    # euv is a type of litho (.8), litho goes into fab (unmeasured)
    g = dag(("euv", "litho", "is_type_of"), ("duv", "litho", "is_type_of"),
            ("litho", "fab", "goes_into"))
    c = conc(euv=1.0, duv=0.9, litho=0.8)
    e = upstream_exposure(g, c)
    assert one(e, "litho")["exposure"] == approx(1.0)
    assert one(e, "litho")["bottleneck"] == "euv"
    fab = one(e, "fab")
    assert np.isnan(fab["own"])
    assert fab["exposure"] == approx(1.0) and fab["depth"] == 2
    only_inputs = upstream_exposure(g, c, relations=("goes_into",))
    assert one(only_inputs, "litho")["exposure"] == approx(0.8)
    assert one(only_inputs, "fab")["bottleneck"] == "litho"


def test_exposure_unmeasured_upstream_is_missing():
    g = dag(("a", "b"))
    g.add_node("z")
    e = upstream_exposure(g, conc(b=0.4))
    a = one(e, "a")
    assert np.isnan(a["exposure"]) and pd.isna(a["bottleneck"]) and pd.isna(a["depth"])
    assert one(e, "z")["exposure"] != one(e, "z")["exposure"]  # NaN


def test_exposure_accepts_series_and_other_metric():
    g = dag(("a", "b"))
    e = upstream_exposure(g, pd.Series({"a": 0.2, "b": 0.1}))
    assert one(e, "b")["exposure"] == approx(0.2)
    assert pd.isna(one(e, "b")["bottleneck_supplier"])
    c = pd.DataFrame({"item_id": ["a", "b"], "hhi": [0.3, 0.6]})
    assert one(upstream_exposure(g, c, metric="hhi"), "b")["bottleneck"] == "b"


def test_exposure_cycle_raises_naming_it():
    g = dag(("a", "b"), ("b", "a"), ("b", "c"))
    with pytest.raises(AnalysisError, match=r"cycle: (a -> b -> a|b -> a -> b)"):
        upstream_exposure(g, conc(a=0.3, b=0.7, c=0.1))


def test_exposure_cycle_condensed():
    g = dag(("a", "b"), ("b", "a"), ("b", "c"))
    e = upstream_exposure(g, conc(a=0.3, b=0.7, c=0.1), on_cycle="condense")
    assert e["exposure"].tolist() == approx([0.7, 0.7, 0.7])
    assert one(e, "a")["bottleneck"] == "b"
    assert one(e, "c")["depth"] == 1


def test_exposure_input_errors():
    g = dag(("a", "b"))
    with pytest.raises(AnalysisError, match="no column 'top_share'"):
        upstream_exposure(g, pd.DataFrame({"item_id": ["a"], "hhi": [0.1]}))
    with pytest.raises(AnalysisError, match="no measured item"):
        upstream_exposure(g, conc(x=0.5))
    with pytest.raises(AnalysisError, match="repeat"):
        upstream_exposure(g, pd.DataFrame({"item_id": ["a", "a"], "top_share": [0.1, 0.2]}))
    with pytest.raises(AnalysisError, match="on_cycle"):
        upstream_exposure(g, conc(a=0.5), on_cycle="ignore")
    with pytest.warns(UserWarning, match="not in the graph"):
        upstream_exposure(g, conc(a=0.5, x=0.9))


# ---------------------------------------------------------------------- country_exposure
def test_country_exposure_hand_worked():
    # a: NLD .8; b: JPN .5 = USA .5 (tie -> JPN); c: JPN 1.0; d: USA .6 and JPN .4
    t = table([("a", "P", "NLD", 0.8), ("a", "Q", "JPN", 0.2),
               ("b", "R", "JPN", 0.5), ("b", "S", "USA", 0.5),
               ("c", "T", "JPN", 1.0),
               ("d", "U", "USA", 0.6), ("d", "V", "JPN", 0.4)], item_name=None)
    t["item_name"] = t["item_id"].str.upper()
    out = country_exposure(t).set_index("country")
    assert out.loc["JPN", "n_top"] == 2 and out.loc["JPN", "n_above"] == 1
    assert out.loc["USA", "n_top"] == 1 and out.loc["USA", "n_above"] == 1
    assert out.loc["NLD", "items_above"] == "A"
    assert out.loc["JPN", "max_share"] == approx(1.0)
    assert out.index.tolist() == ["JPN", "NLD", "USA"]
    strict = country_exposure(t, threshold=0.7).set_index("country")
    assert strict["n_above"].to_dict() == {"JPN": 1, "NLD": 1, "USA": 0}
    with pytest.raises(AnalysisError):
        country_exposure(t, threshold=50)


# ---------------------------------------------------- planted truth (demo world)
@pytest.fixture(scope="module")
def demo_latest(demo_world):
    sup = demo_world.dataset.suppliers
    return sup[sup["year"] == 2024].reset_index(drop=True)  # the truth's year


def test_demo_firm_level_chokepoints_found(demo_world, demo_latest):
    truth = demo_world.truth.chokepoints
    truth = truth[truth["level"] == "firm"].set_index("item")
    assert {"euv", "litho"} <= set(truth.index)
    firm = item_concentration(demo_latest, level="firm").set_index("item_id")
    country = item_concentration(demo_latest, level="country").set_index("item_id")
    for item, planted in truth.iterrows():
        got = firm.loc[item]
        assert got["top_supplier"] == planted["supplier"], item
        assert got["top_share"] == approx(planted["share"], abs=2e-3), item
        # HHI of a top share s: s^2 <= HHI <= s^2 + (1 - s)^2 (the rest in one firm)
        s = got["top_share"]
        assert s**2 - 1e-9 <= got["hhi"] <= s**2 + (1 - s) ** 2 + 1e-9, item
        # the dominant firm's country leads the item at country level
        home = demo_latest.set_index("provider").loc[planted["supplier"], "provider_country"]
        assert country.loc[item, "top_supplier"] == home, item
        assert country.loc[item, "top_share"] >= s - 1e-9, item
    # planted as in ETO: EUV tools 100 % one (Dutch) firm, lithography 81.5 % one firm
    euv = firm.loc["euv"]
    assert (euv["top_share"], euv["hhi"], euv["n_suppliers"]) == (approx(1.0), approx(1.0), 1)
    assert country.loc["euv", "top_supplier"] == "NLD"
    assert firm.loc["litho", "top_share"] == approx(0.815, abs=1e-3)
    # a firm holding half an item or more is found exactly where one was planted
    assert set(firm.index[firm["top_share"] >= 0.5]) == set(truth.index)


def test_demo_firm_ranking_puts_euv_first(demo_latest):
    r = rank_chokepoints(demo_latest, level="firm")
    assert r.iloc[0]["item_id"] == "euv"
    assert r.iloc[0]["firm_top_share"] == approx(1.0)
    assert r.iloc[0]["country_top_supplier"] == "NLD"


# --------------------------------------------------------------- reader: mock ETO folder
# The exact headers of the real files; the rows are invented.
HEADERS = {
    "stages.csv": "stage_id,stage_name,description,market_share_chart_global_market_size_info,"
                  "market_share_chart_caption,market_share_chart_source",
    "inputs.csv": "input_id,input_name,type,stage_name,stage_id,description,year,"
                  "market_share_chart_global_market_size_info,market_share_chart_caption,"
                  "market_share_chart_source",
    "sequence.csv": "input_name,input_id,goes_into_name,goes_into_id,is_type_of_name,"
                    "is_type_of_id",
    "providers.csv": "provider_name,alias,provider_id,provider_type,country",
    "provision.csv": "provider_name,provider_id,provided_name,provided_id,share_provided,"
                     "year,source",
}

ROWS = {
    "stages.csv": [
        "S1,Design,Chip design,$574 billion (2022),,",
        "S2,Fabrication,Wafer fabrication,,,",
    ],
    "inputs.csv": [
        "N1,Finished chip,process,Fabrication,S2,Makes chips,,,,",
        'N2,Litho tools,tool_resource,,,"Tools that print\npatterns, two lines",2025,'
        "$32.6 billion (2025),,",
        "N3,EUV tools,tool_resource,,,EUV,2025,$13 billion (2025),,",
        "N4,Resist,material_resource,,,Photoresist,2019,$3.3 billion,,",
        "N5,Design work,process,Design,S1,Design,2022,,,",
    ],
    "sequence.csv": [
        "Litho tools,N2,Finished chip,N1,,",
        "EUV tools,N3,,,Litho tools,N2",
        "Resist,N4,Finished chip,N1,,",
        "Design work,N5,Finished chip,N1,,",
    ],
    "providers.csv": [
        "Acme,,P1,organization,NLD",
        "Bolt,,P2,organization,JPN",
        "Bolt,Bolt Machinery,P2,organization,JPN",
        "Various companies,,P4,organization,Various countries",
        "NLD,Netherlands,P5,country,",
        "JPN,Japan,P6,country,",
        "Various countries,,P7,country,",
        "EUR,Europe,P8,country,EUR",
        "Cato,,P9,organization,USA",
    ],
    # line numbers: header 1; the source of the first row spans lines 2-3
    "provision.csv": [
        'Acme,P1,Litho tools,N2,80,2025,"Estimate\n(two lines)"',   # lines 2-3
        "Bolt,P2,Litho tools,N2,25,2025,Estimate",                   # 4
        "Various companies,P4,Litho tools,N2,1,2025,Estimate",       # 5
        "NLD,P5,Litho tools,N2,80,2025,Estimate",                    # 6
        "JPN,P6,Litho tools,N2,20,2025,Estimate",                    # 7
        "Various,P7,Litho tools,N2,0.0,2025,Estimate",               # 8
        "Acme,P1,EUV tools,N3,100,2025,Estimate",                    # 9
        "NLD,P5,EUV tools,N3,100.0,2025,Estimate",                   # 10
        "Bolt,P2,Resist,N4,60,2019,Old report",                      # 11
        "Cato,P9,Resist,N4,40,2019,Old report",                      # 12
        "Bolt,P2,Resist,N4,70,2025,Estimate",                        # 13
        "Acme,P1,Resist,N4,30,2025,Estimate",                        # 14
        "EUR,P8,Design work,N5,50,2022,Sales",                       # 15
        "Various countries,P7,Design work,N5,50,2022,Sales",         # 16
        "Cato,P9,Design work,N5,,2019,",                             # 17 (no share)
        "NLD,P5,Design,S1,30,2022,Sales",                            # 18 (stage row)
    ],
}


def write_eto(folder, replace=None, headers=None, drop=()):
    """Write the mock folder; ``replace`` maps file -> {row index: new row text}."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, header in {**HEADERS, **(headers or {})}.items():
        if name in drop:
            continue
        rows = list(ROWS[name])
        for i, text in (replace or {}).get(name, {}).items():
            if i >= len(rows):
                rows.append(text)
            else:
                rows[i] = text
        (folder / name).write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def mock(tmp_path):
    return read_eto_chip_explorer(write_eto(tmp_path / "eto"))


def _share(frame, item, provider):
    sel = frame[(frame["item_id"] == item) & (frame["provider"] == provider)]
    assert len(sel) == 1, sel
    return sel.iloc[0]


def test_reader_returns_canonical_tables(mock):
    assert isinstance(mock, EtoChipExplorer)
    assert list(mock.suppliers.columns) == Suppliers.columns()
    validate(mock.suppliers, Suppliers)  # canonical
    assert len(mock.provider_level) == len(mock.suppliers)
    assert len(mock.firm_shares) + len(mock.country_shares) == len(mock.suppliers)
    assert set(mock.firm_shares.columns) == {*Suppliers.columns(), "residual"}
    assert mock.shares["provider_level"].isin(["firm", "country"]).all()


def test_reader_percent_shares_divided_by_100(mock):
    assert _share(mock.firm_shares, "N2", "Acme")["share"] == approx(0.80)
    assert _share(mock.country_shares, "N2", "JPN")["share"] == approx(0.20)
    assert _share(mock.country_shares, "N3", "NLD")["share"] == approx(1.0)


def test_reader_firm_and_country_rows_kept_apart(mock):
    firm = mock.firm_shares[mock.firm_shares["item_id"] == "N2"]
    country = mock.country_shares[mock.country_shares["item_id"] == "N2"]
    assert set(firm["provider"]) == {"Acme", "Bolt", "Various companies"}
    assert set(country["provider"]) == {"NLD", "JPN", "Various countries"}
    lv = mock.provider_level.assign(provider=mock.suppliers["provider"])
    assert set(lv.loc[lv["provider_level"] == "country", "provider"]) >= {"NLD", "JPN", "EUR"}


def test_reader_provider_country(mock):
    assert _share(mock.firm_shares, "N2", "Acme")["provider_country"] == "NLD"
    assert _share(mock.country_shares, "N2", "JPN")["provider_country"] == "JPN"
    assert pd.isna(_share(mock.country_shares, "N5", "EUR")["provider_country"])
    assert pd.isna(_share(mock.firm_shares, "N2", "Various companies")["provider_country"])
    assert pd.isna(_share(mock.country_shares, "N5", "Various countries")["provider_country"])


def test_reader_residual_rows_flagged(mock):
    assert bool(_share(mock.firm_shares, "N2", "Various companies")["residual"])
    # provision spells it "Various"; the name comes from providers.csv
    assert bool(_share(mock.country_shares, "N2", "Various countries")["residual"])
    assert not _share(mock.country_shares, "N5", "EUR")["residual"]
    assert mock.firm_shares["residual"].sum() == 1


def test_reader_totals_above_100_percent(mock):
    t = mock.totals.set_index(["item_id", "provider_level"])
    assert t.loc[("N2", "firm"), "total_share"] == approx(1.06)
    assert bool(t.loc[("N2", "firm"), "exceeds_one"])
    assert t.loc[("N2", "firm"), "residual_share"] == approx(0.01)
    assert not t.loc[("N2", "country"), "exceeds_one"]
    assert t.loc[("N2", "firm"), "n_providers"] == 3
    # default keeps ETO's numbers
    assert mock.firm_shares.loc[mock.firm_shares["item_id"] == "N2", "share"].sum() == \
        approx(1.06)


def test_reader_normalize_option(tmp_path):
    eto = read_eto_chip_explorer(write_eto(tmp_path / "eto"), normalize=True)
    firm = eto.firm_shares[eto.firm_shares["item_id"] == "N2"]
    assert firm["share"].sum() == approx(1.0)
    assert _share(firm, "N2", "Acme")["share"] == approx(0.80 / 1.06)
    assert eto.totals.set_index(["item_id", "provider_level"]).loc[
        ("N2", "firm"), "total_share"] == approx(1.06)  # totals stay as reported
    assert eto.provenance["options"]["normalize"] is True


def test_reader_mixed_years_latest_by_default(mock):
    resist = mock.firm_shares[mock.firm_shares["item_id"] == "N4"]
    assert dict(zip(resist["provider"], resist["share"], strict=True)) == approx(
        {"Bolt": 0.7, "Acme": 0.3})
    assert set(resist["year"]) == {2025}
    assert set(resist["source"]) == {"Estimate"}


def test_reader_mixed_years_other_options(tmp_path):
    folder = write_eto(tmp_path / "eto")
    per_provider = read_eto_chip_explorer(folder, years="latest_per_provider")
    r = per_provider.firm_shares[per_provider.firm_shares["item_id"] == "N4"]
    assert dict(zip(r["provider"], r["year"], strict=True)) == {
        "Bolt": 2025, "Acme": 2025, "Cato": 2019}
    everything = read_eto_chip_explorer(folder, years="all")
    r = everything.firm_shares[everything.firm_shares["item_id"] == "N4"]
    assert len(r) == 4
    t = everything.totals.set_index(["item_id", "provider_level", "year"])
    assert t.loc[("N4", "firm", 2019), "total_share"] == approx(1.0)
    with pytest.raises(AnalysisError, match="repeat"):
        item_concentration(everything.shares)
    with pytest.raises(ConfigError, match="years"):
        read_eto_chip_explorer(folder, years="newest")


def test_reader_blank_share_is_unquantified(mock):
    u = mock.unquantified
    assert len(u) == 1
    assert (u.iloc[0]["item_id"], u.iloc[0]["provider"], u.iloc[0]["line"]) == ("N5", "Cato", 17)
    assert not ((mock.suppliers["item_id"] == "N5") & (mock.suppliers["provider"] == "Cato")).any()


def test_reader_stage_rows_separate(mock):
    assert not mock.suppliers["item_id"].isin(["S1", "S2"]).any()
    s = mock.stage_shares
    assert s[["item_id", "item_name", "provider"]].values.tolist() == [["S1", "Design", "NLD"]]
    assert s.iloc[0]["share"] == approx(0.3)


def test_reader_duplicate_provider_ids_merged(mock):
    p = mock.providers.set_index("provider_id")
    assert len(p) == 8
    assert p.loc["P2", "aliases"] == "Bolt Machinery"
    assert p.loc["P2", "provider_level"] == "firm"


def test_reader_items_graph_stages(mock):
    assert len(mock.items) == 5 and len(mock.stages) == 2
    g = mock.graph
    assert g.number_of_nodes() == 5 and g.number_of_edges() == 4
    assert g.edges["N3", "N2"]["relation"] == "is_type_of"
    assert g.edges["N2", "N1"]["relation"] == "goes_into"
    assert g.nodes["N3"]["name"] == "EUV tools" and g.nodes["N3"]["type"] == "tool_resource"
    assert g.nodes["N3"]["stage_id"] is None and g.nodes["N3"]["stage"] == "S2"
    items = mock.items.set_index("item_id")
    assert items.loc["N2", "market_size"] == "$32.6 billion (2025)"
    assert items.loc["N5", "stage"] == "S1" and pd.isna(items.loc["N1", "year"])


def test_reader_provenance(mock):
    p = mock.provenance
    assert p["source"] == "ETO Chip Explorer (Georgetown CSET)"
    assert p["licence"] == "CC BY-NC 4.0"
    assert p["folder"] == "eto"
    assert set(p["files"]) == set(HEADERS)
    assert all(len(h) == 64 for h in p["files"].values())


def test_mock_end_to_end(mock):
    r = rank_chokepoints(mock.shares, mock.graph)
    top = r.iloc[0]
    assert (top["item_id"], top["country_top_share"], top["firm_top_supplier"]) == (
        "N3", approx(1.0), "Acme")
    e = upstream_exposure(mock.graph, item_concentration(mock.shares, level="country"))
    chip = one(e, "N1")
    assert chip["bottleneck"] == "N3" and chip["depth"] == 2
    assert chip["bottleneck_supplier"] == "NLD"
    # resist has no country rows: its country view is Bolt (JPN) .7 and Acme (NLD) .3
    resist = one(item_concentration(mock.shares, level="country"), "N4")
    assert resist["basis"] == "firm_aggregated" and resist["top_supplier"] == "JPN"


# ------------------------------------------------------------------ reader: bad input
def test_error_missing_folder(tmp_path):
    with pytest.raises(SourceFormatError, match="folder not found"):
        read_eto_chip_explorer(tmp_path / "nowhere")


def test_error_missing_file(tmp_path):
    folder = write_eto(tmp_path / "eto", drop=("providers.csv",))
    with pytest.raises(SourceFormatError, match=r"providers\.csv: file not found") as err:
        read_eto_chip_explorer(folder)
    assert "eto-chip-explorer" in str(err.value)  # the remedy says where to get it


def test_error_missing_column(tmp_path):
    header = HEADERS["provision.csv"].replace("share_provided", "share")
    folder = write_eto(tmp_path / "eto", headers={"provision.csv": header})
    with pytest.raises(SourceFormatError) as err:
        read_eto_chip_explorer(folder)
    e = err.value
    assert e.source.endswith("provision.csv") and e.row == 1 and e.column == "share_provided"
    assert "Remedy" in str(e)


@pytest.mark.parametrize("value", ["150", "-1", "abc", "nan"])
def test_error_share_outside_0_100(tmp_path, value):
    row = f"Bolt,P2,Litho tools,N2,{value},2025,Estimate"
    folder = write_eto(tmp_path / "eto", replace={"provision.csv": {1: row}})
    with pytest.raises(DataError) as err:
        read_eto_chip_explorer(folder)
    e = err.value
    assert not isinstance(e, SchemaViolation)
    # the record is the second; the first spans two lines, so it is on line 4
    assert (e.row, e.column, e.value) == (4, "share_provided", value)
    assert e.source.endswith("provision.csv")
    msg = str(e)
    assert "provision.csv, row 4, column 'share_provided'" in msg and "Remedy" in msg


def test_error_unknown_provider(tmp_path):
    row = "Nobody,P99,Litho tools,N2,5,2025,Estimate"
    folder = write_eto(tmp_path / "eto", replace={"provision.csv": {16: row}})
    with pytest.raises(DataError, match="not in providers.csv") as err:
        read_eto_chip_explorer(folder)
    assert (err.value.row, err.value.column, err.value.value) == (19, "provider_id", "P99")
    assert "add the provider" in str(err.value)


def test_error_unknown_item(tmp_path):
    row = "Acme,P1,Ghost,N77,5,2025,Estimate"
    folder = write_eto(tmp_path / "eto", replace={"provision.csv": {16: row}})
    with pytest.raises(DataError, match="item id not in") as err:
        read_eto_chip_explorer(folder)
    assert (err.value.column, err.value.value) == ("provided_id", "N77")


def test_error_several_bad_cells_reported_together(tmp_path):
    folder = write_eto(tmp_path / "eto", replace={"provision.csv": {
        1: "Bolt,P2,Litho tools,N2,150,2025,Estimate",
        2: "Nobody,P99,Litho tools,N2,1,2025,Estimate"}})
    with pytest.raises(SchemaViolation) as err:
        read_eto_chip_explorer(folder)
    f = err.value.failures
    assert f[["row", "column"]].values.tolist() == [[4, "share_provided"], [5, "provider_id"]]


def test_error_bad_year(tmp_path):
    folder = write_eto(tmp_path / "eto", replace={"provision.csv": {
        1: "Bolt,P2,Litho tools,N2,25,20x5,Estimate"}})
    with pytest.raises(DataError, match="year") as err:
        read_eto_chip_explorer(folder)
    assert (err.value.row, err.value.value) == (4, "20x5")


def test_error_duplicate_share(tmp_path):
    folder = write_eto(tmp_path / "eto", replace={"provision.csv": {
        16: "Acme,P1,Litho tools,N2,79,2025,Estimate"}})
    with pytest.raises(SchemaViolation, match="several shares") as err:
        read_eto_chip_explorer(folder)
    assert sorted(err.value.failures["row"]) == [2, 19]


def test_error_provider_id_with_conflicting_rows(tmp_path):
    folder = write_eto(tmp_path / "eto", replace={"providers.csv": {
        2: "Bolt,Bolt Machinery,P2,organization,KOR"}})
    with pytest.raises(DataError, match="different country") as err:
        read_eto_chip_explorer(folder)
    assert (err.value.row, err.value.value) == (4, "KOR")


def test_error_bad_provider_type(tmp_path):
    folder = write_eto(tmp_path / "eto", replace={"providers.csv": {
        0: "Acme,,P1,company,NLD"}})
    with pytest.raises(DataError, match="provider_type") as err:
        read_eto_chip_explorer(folder)
    assert (err.value.row, err.value.value) == (2, "company")


def test_error_edge_to_unknown_item(tmp_path):
    folder = write_eto(tmp_path / "eto", replace={"sequence.csv": {
        3: "Design work,N5,Nowhere,N42,,"}})
    with pytest.raises(DataError, match="not in inputs.csv") as err:
        read_eto_chip_explorer(folder)
    assert (err.value.row, err.value.column, err.value.value) == (5, "goes_into_id", "N42")


def test_error_ragged_record(tmp_path):
    folder = write_eto(tmp_path / "eto", replace={"providers.csv": {0: "Acme,,P1"}})
    with pytest.raises(SourceFormatError, match="fields") as err:
        read_eto_chip_explorer(folder)
    assert err.value.row == 2


def test_error_empty_file(tmp_path):
    folder = write_eto(tmp_path / "eto")
    (folder / "stages.csv").write_text("")
    with pytest.raises(SourceFormatError, match="empty"):
        read_eto_chip_explorer(folder)


# ------------------------------------------------------------------- real ETO files
@pytest.fixture(scope="module")
def eto(shared_data):
    return read_eto_chip_explorer(shared_data / "eto-chip-explorer")


def _named(frame, item_name, provider):
    sel = frame[(frame["item_name"] == item_name) & (frame["provider"] == provider)]
    assert len(sel) == 1, sel
    return sel.iloc[0]


def test_real_euv_asml_and_netherlands(eto):
    asml = _named(eto.firm_shares, "EUV lithography tools", "ASML")
    assert asml["share"] == approx(1.0) and asml["provider_country"] == "NLD"
    assert asml["year"] == 2025
    nld = _named(eto.country_shares, "EUV lithography tools", "NLD")
    assert nld["share"] == approx(1.0)
    conc = item_concentration(eto.shares, level="country")
    euv = conc[conc["item_name"] == "EUV lithography tools"].iloc[0]
    assert (euv["top_supplier"], euv["top_share"], euv["hhi"]) == ("NLD", approx(1.0),
                                                                    approx(1.0))


def test_real_lithography_country_shares(eto):
    assert _named(eto.country_shares, "Lithography tools", "NLD")["share"] == approx(0.815)
    assert _named(eto.country_shares, "Lithography tools", "JPN")["share"] == approx(0.150)
    conc = item_concentration(eto.shares, level="country")
    litho = conc[conc["item_name"] == "Lithography tools"].iloc[0]
    assert litho["basis"] == "country" and litho["top_supplier"] == "NLD"
    assert litho["top_share_reported"] == approx(0.815)


def test_real_counts(eto):
    assert len(eto.items) == 126
    assert eto.graph.number_of_nodes() == 126
    assert eto.graph.number_of_edges() == 139
    assert nx.is_directed_acyclic_graph(eto.graph)
    assert len(eto.stages) == 3
    assert len(eto.unquantified) == 246  # the 2019 rows without a share
    validate(eto.suppliers, Suppliers)


def test_real_quirks_present(eto):
    assert eto.firm_shares["residual"].any() and eto.country_shares["residual"].any()
    assert eto.totals["exceeds_one"].any()
    assert eto.providers["provider_id"].is_unique
    canon = eto.providers.set_index("provider_id").loc["P159"]
    assert canon["provider"] == "Canon" and "Canon ANELVA" in canon["aliases"]
    assert set(eto.stage_shares["item_id"]) <= {"S1", "S2", "S3"}
    assert eto.provenance["licence"] == "CC BY-NC 4.0"


def test_real_ranking_has_euv_on_top(eto):
    r = rank_chokepoints(eto.shares, eto.graph, top=10)
    euv = r[r["item_name"] == "EUV lithography tools"]
    assert len(euv) == 1
    row = euv.iloc[0]
    assert row["country_top_share"] == approx(1.0) and row["firm_top_share"] == approx(1.0)
    assert (row["firm_top_supplier"], row["country_top_supplier"], row["stage"]) == (
        "ASML", "NLD", "S2")


def test_real_lithography_exposed_through_euv(eto):
    conc = item_concentration(eto.shares, level="country")
    e = upstream_exposure(eto.graph, conc).set_index("item_id")
    litho = e.loc["N19"]
    assert litho["own"] == approx(0.815 / 1.001)
    assert litho["exposure"] == approx(1.0)
    assert (litho["bottleneck_name"], litho["bottleneck_supplier"], litho["depth"]) == (
        "EUV lithography tools", "NLD", 1)
    assert e.loc["N99", "exposure"] == approx(1.0)  # the finished chip


def test_real_country_exposure(eto):
    out = country_exposure(eto.shares).set_index("country")
    assert "EUV lithography tools" in out.loc["NLD", "items_above"]
    assert out["n_above"].sum() <= out["n_top"].sum()
