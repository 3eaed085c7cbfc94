"""Chokepoints page: figure builders, callbacks as functions, and a browser run."""

from __future__ import annotations

import time
import urllib.parse

import pandas as pd
import plotly.graph_objects as go
import pytest

from analytics.figures import fig_supplier_bars, fig_trade_network, format_usd
from analytics.figures.chokepoints import ROLE_COLORS

# ------------------------------------------------------------------ figure builders
LAYER = pd.DataFrame({
    "exporter": ["JPN", "JPN", "CHN", "HKG", "USA", "TUR"],
    "importer": ["HKG", "USA", "RUS", "RUS", "JPN", "RUS"],
    "value_usd": [6.0e9, 2.0e9, 4.0e9, 5.0e9, 1.0e9, 0.5e9],
})
ROLES = {"JPN": "coalition", "USA": "coalition", "HKG": "hub", "TUR": "hub", "RUS": "concern"}


def _node_traces(fig: go.Figure) -> dict[str, go.Scatter]:
    return {t.name: t for t in fig.data if t.mode == "markers+text"}


def test_fig_trade_network_roles_sizes_and_hover():
    fig = fig_trade_network(LAYER, roles=ROLES, top=4)
    nodes = _node_traces(fig)
    assert set(nodes) == {"Coalition member", "Transit hub (curated)",
                          "Destination of concern", "Other"}
    # the 4 largest edges: JPN->HKG, HKG->RUS, CHN->RUS, JPN->USA (TUR->RUS, USA->JPN dropped)
    drawn = {c for t in nodes.values() for c in t.text}
    assert drawn == {"JPN", "HKG", "RUS", "CHN", "USA"}
    assert list(nodes["Coalition member"].text) == ["JPN", "USA"]  # by exports
    assert nodes["Coalition member"].marker.color == ROLE_COLORS["coalition"]
    # node size grows with exports in the whole layer: JPN (8 bn) largest
    sizes = dict(zip(nodes["Coalition member"].text, nodes["Coalition member"].marker.size,
                     strict=True))
    assert sizes["JPN"] > sizes["USA"]
    assert "USD 8 bn" in nodes["Coalition member"].customdata[0]
    edges = [t for t in fig.data if t.mode == "lines+markers"]
    assert sum(list(t.x).count(None) for t in edges) == 4  # one segment per edge
    assert max(t.line.width for t in edges) > min(t.line.width for t in edges)
    hover = next(t for t in fig.data if t.name == "flows")
    assert "Japan → Hong Kong: USD 6 bn" in list(hover.text)
    # deterministic layout
    again = fig_trade_network(LAYER, roles=ROLES, top=4)
    assert list(again.data[0].x) == list(fig.data[0].x)


def test_fig_trade_network_empty_layer():
    fig = fig_trade_network(LAYER.iloc[0:0])
    assert "no flows" in fig.layout.annotations[0].text


def test_fig_supplier_bars_residual_grey_and_others():
    firms = pd.DataFrame({"provider": ["A", "B", "C", "Various companies"],
                          "share": [0.5, 0.2, 0.1, 0.2],
                          "residual": [False, False, False, True]})
    ctry = pd.DataFrame({"provider": ["NLD", "JPN", "unattributed"], "share": [0.7, 0.1, 0.2],
                         "residual": [False, False, True]})
    fig = fig_supplier_bars(firms, ctry, top=2, hhi=(0.3, 0.5))
    left, right = fig.data
    assert list(left.y) == ["A", "B", "Others (1)", "Various / unattributed"]
    assert list(left.x) == pytest.approx([0.5, 0.2, 0.1, 0.2])
    assert list(left.marker.color[2:]) == ["#c9ced6", "#c9ced6"]
    assert left.marker.color[0] != "#c9ced6"
    assert list(right.y) == ["Netherlands", "Japan", "Various / unattributed"]
    assert list(right.text) == ["70.0%", "10.0%", "20.0%"]
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["Firms (HHI 0.30)", "Countries (HHI 0.50)"]


def test_fig_supplier_bars_japanese_labels():
    ctry = pd.DataFrame({"provider": ["JPN"], "share": [1.0]})
    fig = fig_supplier_bars(ctry.iloc[0:0], ctry, lang="ja")
    assert list(fig.data[1].y) == ["日本"]
    assert fig.layout.annotations[0].text == "企業"


def test_format_usd():
    assert format_usd(8.74e11) == "USD 874 bn"
    assert format_usd(float("nan")) == "-"


# ------------------------------------------------------------------ callbacks
@pytest.fixture(scope="module")
def page(demo_store):
    from dashboards.app import create_app

    create_app(demo_store)
    from dashboards.pages import chokepoints

    return chokepoints


@pytest.fixture(scope="module")
def view():
    """A (category, year) of the demo world and its layer."""
    from analytics import network
    from dashboards import data

    cat, year = "chpl_tier1", 2023
    return cat, year, network.layer(data.cflows(), year, cat)


def _kpis(children) -> dict[str, str]:
    out = {}
    for k in children.children:
        value, lab = k.children
        out[value.id] = value.children
    return out


def test_layout_reads_query(page):
    lay = page.layout(category="bearings", year="2021", coalition="japan", view="exporters",
                      production="exports", edges="20", destination="RUS")
    flat = str(lay)
    assert "chokepoints-category" in flat
    ids = {}

    def walk(c):
        if hasattr(c, "id") and getattr(c, "id", None) and hasattr(c, "value"):
            ids[c.id] = c.value
        for ch in (c.children if isinstance(getattr(c, "children", None), list)
                   else [getattr(c, "children", None)]):
            if ch is not None and hasattr(ch, "to_plotly_json"):
                walk(ch)

    walk(lay)
    assert ids["chokepoints-category"] == "bearings"
    assert ids["chokepoints-year"] == 2021
    assert ids["chokepoints-coalition"] == "japan"
    assert ids["chokepoints-view"] == "exporters"
    assert ids["chokepoints-production"] == "exports"
    assert ids["chokepoints-edges"] == 20
    assert ids["chokepoints-destination"] == "RUS"
    # a bad value falls back to the default
    bad = page.layout(category="nope", year="1900")
    walk(bad)
    assert ids["chokepoints-category"] == "chpl_tier1"


def test_kpis_match_analytics(page, view):
    from analytics import chokepoints as chk
    from analytics.i18n import country_name
    from analytics.reference import resolve_coalition
    from dashboards import data

    cat, year, lay = view
    k = _kpis(page.update_kpis(cat, year, "group_a", "net_exports"))
    osh = chk.origin_shares(lay)
    assert k["chokepoints-kpi-top"] == (f"{country_name(osh['origin'].iloc[0])} "
                                        f"{osh['share'].iloc[0]:.0%}")
    assert k["chokepoints-kpi-neff"] == f"{1 / (osh['share'] ** 2).sum():.1f}"
    members = resolve_coalition("group_a", data.dataset().countries)
    world = chk.coalition_leverage(lay, members).iloc[0]
    assert world["destination"] == "WORLD"
    assert k["chokepoints-kpi-exports"] == f"{world['direct_share']:.1%}"
    assert k["chokepoints-kpi-production"] == f"{world['coalition_share']:.1%}"
    # another category gives other KPIs; gross exports: origins = exporters
    other = _kpis(page.update_kpis("rare_earth_magnets", year, "group_a", "net_exports"))
    assert other["chokepoints-kpi-top"] != k["chokepoints-kpi-top"]
    gross = _kpis(page.update_kpis(cat, year, "group_a", "exports"))
    top_exp = lay.groupby("exporter")["value_usd"].sum().sort_values(ascending=False)
    assert gross["chokepoints-kpi-top"].startswith(country_name(top_exp.index[0]))


def test_kpis_empty_selection(page):
    out = page.update_kpis(None, 2023, "group_a", "net_exports")
    assert "Select" in out.children


def test_trends_show_both_series(page, view):
    cat, _, _ = view
    shares, dl, trend, dl2 = page.update_trends(cat, "net_exports", "origins")
    shares, trend = go.Figure(shares), go.Figure(trend)
    assert {t.name for t in trend.data} == {"Exporters (as shipped)", "Origins (traced)"}
    assert len(trend.data[0].x) == 8
    assert all(t.stackgroup == "one" for t in shares.data)
    hrefs = [a.href for a in dl.children[1:]]
    assert hrefs[0].startswith("/download/supplier_shares.png?")
    assert "category=chpl_tier1" in hrefs[0]
    exporters = go.Figure(page.update_trends(cat, "net_exports", "exporters")[0])
    assert [t.name for t in exporters.data] != [t.name for t in shares.data]


def test_network_and_click_through(page, view):
    cat, year, _ = view
    fig, dl = page.update_network(cat, year, "group_a", 20)
    fig = go.Figure(fig)
    assert sum(list(t.x).count(None) for t in fig.data if t.mode == "lines+markers") == 20
    assert "edges=20" in dl.children[1].href
    assert page.open_country({"points": [{"text": "TWN"}]}) == "/country/TWN"
    assert page.open_country({"points": [{"text": "Japan → Hong Kong: USD 1 bn"}]}) \
        is dash_no_update()


def dash_no_update():
    from dash import no_update

    return no_update


def test_single_points_of_failure_table(page, view):
    from analytics import chokepoints as chk

    cat, year, lay = view
    rows, note, placeholder = page.update_spof(cat, year, "net_exports", "RUS")
    expected = chk.single_points_of_failure(lay, destinations=["RUS"], top=10)
    assert len(rows) == len(expected)
    assert rows[0]["origin"] == (f"[{_name(expected['origin'].iloc[0])} "
                                 f"({expected['origin'].iloc[0]})](/country/"
                                 f"{expected['origin'].iloc[0]})")
    assert rows[0]["traced_share"] == pytest.approx(expected["traced_share"].iloc[0], abs=1e-4)
    assert "Russia (selected)" in note
    # auto: the highest-risk destination for the category in the default risk view
    rows_auto, note_auto, placeholder = page.update_spof(cat, year, "net_exports", None)
    auto = page._auto_destination(year, cat, "net_exports")
    assert placeholder.startswith(_name(auto))
    assert "auto" in note_auto and rows_auto


def _name(code):
    from analytics.i18n import country_name

    return country_name(code)


def test_dependency_flags_persistent_first(page):
    from analytics import chokepoints as chk
    from dashboards import data

    cat, year = "rare_earth_magnets", data.default_year()
    rows, note = page.update_flags(cat, year)
    fl = chk.dependency_flags(data.cflows()[data.cflows()["category_id"] == cat])
    fl = fl[fl["year"] == year]
    assert len(rows) == len(fl)
    n_per = int(fl["persistent"].sum())
    assert n_per > 0
    assert [r["persistent"] for r in rows[:n_per]] == ["yes"] * n_per
    assert all(r["persistent"] == "no" for r in rows[n_per:])
    assert f"{n_per} persistently" in note
    assert all(r["import_export_ratio"] is None or r["import_export_ratio"] < float("inf")
               for r in rows)


def test_firm_level_view(page):
    from analytics.suppliers import rank_chokepoints

    fig, style, dl, rows = page.update_firms("depo", 2024)
    fig = go.Figure(fig)
    assert style == {"height": f"{fig.layout.height}px"}
    assert len(fig.data) == 2
    assert "Various / unattributed" in list(fig.data[0].y)
    assert "supplier_bars.png?item=depo" in dl.children[1].href
    table = page._suppliers_asof(2024)
    assert table["year"].eq(2024).all()
    ranked = rank_chokepoints(table, level="country")
    assert [r["rank"] for r in rows] == list(ranked["rank"])
    assert rows[0]["item_name"] == ranked["item_name"].iloc[0]
    # before the first supplier year, each item's first year is used
    early = page._suppliers_asof(2018)
    assert set(early["year"]) == {int(page._supplier_table()["year"].min())}


def test_firm_card_hidden_without_suppliers(page, monkeypatch):
    monkeypatch.setattr(page, "_supplier_table", lambda: None)
    monkeypatch.setattr(page, "_item_ranking", lambda year: None)
    monkeypatch.setattr(page, "_item_options", lambda: [])
    lay = page.layout()
    assert "chokepoints-no-suppliers" in str(lay)
    fig, _, dl, rows = page.update_firms(None, 2023)
    assert rows == [] and dl is None


def test_auto_destination_without_risk_scores(page):
    """Inbound categories are not risk-scored: the auto destination is then the importer
    whose supply depends most on one origin."""
    from dashboards import data

    scored = data.risk_scores(data.default_year(), "group_a")
    assert "rare_earth_magnets" not in set(scored["category_id"])
    year = data.default_year()
    auto = page._auto_destination(year, "rare_earth_magnets", "net_exports")
    spof = page._spof(year, "rare_earth_magnets", "net_exports")
    firsts = spof[spof["rank"] == 1]
    assert auto == firsts.loc[firsts["traced_share"].idxmax(), "destination"]


def test_chart_registry_downloads(page):
    from dashboards.charts import build_chart

    for cid in ("supplier_shares", "concentration_trend", "trade_network", "supplier_bars"):
        fig, title, subtitle = build_chart(cid, {"category": "chpl_tier1", "year": "2023"})
        assert isinstance(fig, go.Figure) and title
    with pytest.raises(ValueError):
        build_chart("supplier_shares", {"category": "nope"})


def test_callback_timings(page):
    """Every callback well under 300 ms once the app has started (warm caches after the
    first call of each input)."""
    calls = [
        (page.update_trends, ("chpl_tier2", "net_exports", "origins")),
        (page.update_kpis, ("chpl_tier2", 2022, "japan", "net_exports")),
        (page.update_network, ("chpl_tier2", 2022, "japan", 40)),
        (page.update_spof, ("chpl_tier2", 2022, "net_exports", None)),
        (page.update_flags, ("chpl_tier2", 2022)),
        (page.update_firms, ("litho", 2022)),
    ]
    for fn, args in calls:
        t0 = time.perf_counter()
        fn(*args)
        assert time.perf_counter() - t0 < 1.0, fn.__name__  # first (cold) call
        t0 = time.perf_counter()
        fn(*args)
        assert time.perf_counter() - t0 < 0.3, fn.__name__


# ------------------------------------------------------------------ browser
def test_chokepoints_in_browser(dash_duo, demo_store, artifacts_dir):
    from dashboards import data
    from dashboards.app import create_app

    app = create_app(demo_store)
    labels = {o["value"]: o["label"] for o in data.category_options()}
    dash_duo.start_server(app)
    dash_duo.driver.set_window_size(1400, 3000)
    dash_duo.driver.get(dash_duo.server_url + "/chokepoints?category=chpl_tier1&year=2023")
    dash_duo.wait_for_contains_text("#chokepoints-kpi-top", "%", timeout=20)
    first = dash_duo.find_element("#chokepoints-kpi-top").text
    dash_duo.wait_for_element("#chokepoints-spof a", timeout=20)

    dash_duo.select_dcc_dropdown("#chokepoints-category", value=labels["rare_earth_magnets"])
    second = _wait_change(dash_duo, "#chokepoints-kpi-top", first)
    query = urllib.parse.parse_qs(urllib.parse.urlparse(dash_duo.driver.current_url).query)
    assert query["category"] == ["rare_earth_magnets"] and query["year"] == ["2023"]

    dash_duo.wait_for_element("#chokepoints-spof a", timeout=20)
    time.sleep(0.5)  # let the grid settle on the new category's rows
    link = dash_duo.find_element("#chokepoints-spof a")
    href = link.get_attribute("href")
    link.click()
    _wait_url(dash_duo, lambda u: urllib.parse.urlparse(u).path.startswith("/country/"))
    path = urllib.parse.urlparse(dash_duo.driver.current_url).path
    assert path == urllib.parse.urlparse(href).path
    assert len(path.rsplit("/", 1)[-1]) == 3

    dash_duo.driver.back()
    _wait_url(dash_duo, lambda u: "/chokepoints" in u)
    dash_duo.wait_for_text_to_equal("#chokepoints-kpi-top", second, timeout=20)
    assert "category=rare_earth_magnets" in dash_duo.driver.current_url
    dash_duo.driver.back()
    _wait_url(dash_duo, lambda u: "category=chpl_tier1" in u)
    dash_duo.wait_for_text_to_equal("#chokepoints-kpi-top", first, timeout=20)

    dash_duo.wait_for_element("#chokepoints-network .scatterlayer", timeout=20)
    dash_duo.wait_for_element("#chokepoints-bars .barlayer", timeout=20)
    assert dash_duo.get_logs() == []
    time.sleep(1.0)
    dash_duo.driver.save_screenshot(str(artifacts_dir / "chokepoints.png"))


def _text(dash_duo, selector: str) -> str | None:
    return dash_duo.driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.innerText : null;",
        selector)


def _wait_change(dash_duo, selector: str, old: str, timeout: float = 20) -> str:
    """The element's text once it differs from ``old`` (robust to re-rendering)."""
    end = time.time() + timeout
    while time.time() < end:
        txt = _text(dash_duo, selector)
        if txt and txt != old:
            return txt
        time.sleep(0.1)
    raise AssertionError(f"{selector} stayed at {old!r}")


def _wait_url(dash_duo, cond, timeout: float = 20) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if cond(dash_duo.driver.current_url):
            return
        time.sleep(0.1)
    raise AssertionError(f"URL {dash_duo.driver.current_url} did not match")
