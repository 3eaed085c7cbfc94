"""The dashboard on a real store: the two BACI critical-mineral files (2022, 2024).

Nothing of the demo world is there: other years, nine *inbound* categories (China's
export controls, supply concentration), real countries. Every page's layout and main
callbacks are called as plain functions, then every page is loaded once in a headless
browser (no console errors; screenshots ``tests/artifacts/real_<page>.png``).
Skipped with a reason when ../shared/data is absent.
"""

from __future__ import annotations

import time

import pytest
from dash_tree import find as _find
from dash_tree import text as _text

pytestmark = pytest.mark.shared_data

MAP = "exporter=i,importer=j,hs6=cmd,value_usd=value"
YEARS = [2022, 2024]
INBOUND = {"gallium_germanium", "rare_earth_magnets", "graphite", "tungsten", "antimony",
           "silicon", "rare_gases", "cobalt", "lithium", "indium"}


@pytest.fixture(scope="module")
def real_store(tmp_path_factory, shared_data):
    from analytics.precompute import precompute_store
    from analytics.sources.csvflows import ingest_flows_file

    folder = shared_data / "baci-critical-minerals-2022-2024"
    path = tmp_path_factory.mktemp("real-store") / "store"
    for year in YEARS:
        ingest_flows_file(folder / f"baci_hs17_critical_{year}.csv", path, year=year,
                          mapping=MAP, hs_version="HS2017",
                          name="CEPII BACI HS17: 30 critical-mineral codes",
                          data_source="CEPII BACI HS17 V202601")
    # two years without a sanctions event: category flows and risk scores, no DiD
    assert precompute_store(path) == ["category_flows", "risk_scores"]
    return path


@pytest.fixture(scope="module")
def pages(real_store):
    from dashboards.app import create_app

    create_app(real_store, warm=False)
    from dashboards import data
    from dashboards.pages import (
        category,
        chokepoints,
        country,
        diversion,
        home,
        methodology,
        scenario,
        shipments,
    )

    return {"data": data, "home": home, "chokepoints": chokepoints, "diversion": diversion,
            "scenario": scenario, "country": country, "category": category,
            "methodology": methodology, "shipments": shipments}


def _values(options) -> list:
    return [o["value"] if isinstance(o, dict) else o for o in options]


# ------------------------------------------------------------------ data layer


def test_store_and_data_layer(pages):
    data = pages["data"]
    ds = data.dataset()
    assert not ds.synthetic and ds.hs_version == "HS2017"
    assert data.years() == YEARS and data.default_year() == 2024
    assert set(_values(data.category_options())) == INBOUND
    summary = data.flows_summary().set_index("year")
    assert summary.loc[2022, "rows"] == 23_167 and summary.loc[2024, "rows"] == 21_723
    assert summary.loc[2022, "value_bn"] == pytest.approx(388.46, abs=0.01)


# ------------------------------------------------------------------ layouts


def test_every_layout_uses_the_store(pages):
    years = {"home": "overview-year", "chokepoints": "chokepoints-year",
             "diversion": "diversion-year", "scenario": "scenario-year"}
    for name, year_id in years.items():
        lay = pages[name].layout()
        year = _find(lay, year_id)
        assert year.value == 2024 and _values(year.options) == YEARS, name
    for name, cat_id in {"chokepoints": "chokepoints-category",
                         "diversion": "diversion-category",
                         "scenario": "scenario-category"}.items():
        cat = _find(pages[name].layout(), cat_id)
        assert cat.value in INBOUND and set(_values(cat.options)) == INBOUND, name
    assert "Shipments" in _text(pages["shipments"].layout())
    meth_layout = pages["methodology"].layout()
    meth = _text(meth_layout)
    assert "HS2017" in meth and "synthetic" not in meth.lower()
    comps = _find(meth_layout, "methodology-components").rowData
    assert [r["component"] for r in comps] == list(pages["home"].COMPONENTS)


def test_country_and_category_layouts(pages):
    rus = pages["country"].layout(iso3="RUS")
    assert "Russia" in _text(_find(rus, "country-name"))
    assert _find(rus, "country-year").value == 2024
    jpn = pages["country"].layout(iso3="JPN", year="2022")
    assert "Japan" in _text(_find(jpn, "country-name"))
    assert _find(jpn, "country-year").value == 2022
    cat = pages["category"].layout(category_id="rare_earth_magnets")
    txt = _text(cat)
    assert "Rare-earth" in txt and "Inbound dependence" in txt and "2025 No. 18" in txt
    hs_rows = _find(cat, "category-hs-table").rowData
    assert "850511" in {r["hs6"] for r in hs_rows}
    events = {r.get("event_id") for r in _find(cat, "category-events-table").rowData}
    assert "cn_rare_earths_2025" in events or any(
        "2025-04-04" in str(r.get("date")) for r in
        _find(cat, "category-events-table").rowData)


# ------------------------------------------------------------------ callbacks


def test_overview_scores_inbound_categories(pages):
    home = pages["home"]
    fig, dl, rows, cols, kpis = home.update_overview(2024, "group_a", [], 25)
    assert fig.data and rows and "pairs scored" in _text(kpis)
    assert {r["category_id"] for r in rows} <= INBOUND
    members = set(pages["data"].dataset().countries.query("jp_group_a")["iso3"]) | {"JPN"}
    dests = {r["destination"][1:4] for r in rows}
    assert not dests & members  # risk is scored for destinations outside the coalition
    # the scores are of inbound (dependence) categories: the overview says what they mean
    note = _find(kpis, "overview-inbound-note")
    assert note is not None
    assert "Inbound categories" in _text(note) and "not as the coalition's dependence" in \
        _text(note) and "Japan's Group A" in _text(note)
    comp_fig, comp_dl = home.show_components(None, rows, 2024, "group_a")
    assert comp_fig.data and comp_dl is not None
    cat, dest = home.parse_pair(rows[1]["pair"])
    _, comp_dl = home.show_components(rows[1]["pair"], rows, 2024, "group_a")
    href = comp_dl.children[1].href
    assert f"category={cat}" in href and f"destination={dest}" in href
    fig22, *_ = home.update_overview(2022, "jp_us_nl", ["graphite", "tungsten"], 10)
    assert fig22.data


def test_chokepoints_rare_earth_magnets(pages):
    chk = pages["chokepoints"]
    cat = "rare_earth_magnets"
    shares, _, trend, _ = chk.update_trends(cat, "net_exports", "exporters")
    assert shares.data and trend.data
    kpis = _text(chk.update_kpis(cat, 2024, "group_a", "net_exports"))
    assert "China" in kpis and "world trade" in kpis
    net, _ = chk.update_network(cat, 2022, "group_a", 40)
    assert net.data
    spof = chk.update_spof(cat, 2024, "net_exports", "JPN")
    assert spof[0]  # JPN's single points of failure
    flags = chk.update_flags(cat, 2024)
    assert flags[0] and "persistent" in _text(flags[1]).lower()
    chk.update_firms(None, 2024)  # no supplier table: no error


def test_diversion_russia(pages):
    div = pages["diversion"]
    opts, event = div.update_events("RUS", None, None)  # no category: every event
    assert "us_bis_russia_rule_2022" in _values(opts)
    # the first sanctions event (2022-02-24) leaves no year before it in a 2022/2024
    # store: the default is the first event concerning Russia that splits the years
    assert event != "us_bis_russia_rule_2022" and div._splits(event)
    # graphite: the events concerning graphite and Russia, China's graphite control first
    # (2023-12-01, not another jurisdiction's list of other goods)
    opts, event = div.update_events("RUS", "graphite", "us_bis_russia_rule_2022")
    assert event == "cn_graphite_2023" == div._default_event("RUS", "graphite")
    assert "us_bis_russia_rule_2022" not in _values(opts)
    lay = div.layout(destination="RUS", category="graphite")
    assert _find(lay, "diversion-event").value == "cn_graphite_2023"
    kpis, sankey, _, paths, note = div.update_routes("RUS", "graphite", "group_a", 2024)
    assert "Russia's imports" in _text(kpis)
    rows, note, ts, _, pp_rows, pp_note = div.update_hubs("RUS", "graphite", "group_a", event)
    assert rows and "pre: years before 2024" in _text(note)
    assert ts["data"] and pp_rows and "2022-2022 (pre)" in _text(pp_note)
    # the route time series does not bridge 2023 (no data): one stack per year, shaded gap
    stacked = [t for t in ts["data"] if t.get("stackgroup")]
    assert stacked and all(len(t["x"]) == 1 for t in stacked)
    assert any(sh.get("type") == "rect" and sh["x0"] == 2022.5 for sh in ts["layout"]["shapes"])
    # the hub table's USD m values are shown with three significant digits
    hub_defs = {d["field"]: d for d in _find(lay, "diversion-hubs").columnDefs}
    assert ".3~r" in hub_defs["post_value"]["valueFormatter"]["function"]
    _, early_note, *_ = div.update_hubs("RUS", "graphite", "group_a",
                                        "us_bis_russia_rule_2022")
    assert "data has [2022, 2024]" in _text(early_note)  # plain years, said plainly
    did = div.update_did("graphite", "group_a", event, "RUS")
    assert "inbound" in _text(did[2])  # DiD is for outbound-controlled categories


def test_scenario(pages):
    sc = pages["scenario"]
    out = sc.update_scenario("group_a", "rare_earth_magnets", "RUS", 2024)
    assert "Russia's imports, 2024" in _text(out[0]) and "minimum cut" in _text(out[0])
    assert out[1].data and out[3].data and out[5]  # split, leak routes, hubs to watch
    member = sc.update_scenario("group_a", "rare_earth_magnets", "JPN", 2024)
    assert "member of the coalition" in _text(member[0])


@pytest.mark.parametrize("iso3", ["RUS", "JPN", "CHN", "KAZ"])
def test_country_callbacks(pages, iso3):
    co = pages["country"]
    fig, _, rows = co.update_supplier(2024, iso3)
    assert fig is not None
    co.update_hub(2024, "group_a", iso3)
    co.update_destination(2024, "group_a", iso3)
    ofig, _ = co.update_origin(2024, "rare_earth_magnets", iso3)
    assert ofig is not None
    co.update_partners(2022, iso3)
    kpis = _text(co.update_kpis(2024, "group_a", iso3))
    assert kpis
    if iso3 == "CHN":
        assert any("rare_earth_magnets" in r["category"] for r in rows)


def test_country_russia_as_destination(pages):
    co = pages["country"]
    fig, _, rows, note = co.update_destination(2024, "group_a", "RUS")
    assert rows and "Highest risk" in _text(note)
    _, _, hub_note = co.update_hub(2024, "group_a", "RUS")
    assert "itself a destination of concern" in _text(hub_note)


def test_category_rare_earth_magnets(pages):
    ca = pages["category"]
    cat = "rare_earth_magnets"
    trade, _, conc, _, kpis = ca.update_trend(2022, cat)
    assert "China" in _text(kpis) and "61%" in _text(kpis)  # 61.5 % of world exports
    sup, _, rows, title = ca.update_suppliers("exporters", 2022, cat)
    assert sup is not None and rows and "CHN" in str(rows[0])  # China first
    risk_rows, _ = ca.update_risk(2024, "group_a", cat)
    assert risk_rows
    dep_rows, dep_note, _ = ca.update_dependency(2024, cat)
    assert dep_rows and "dependent in 2024" in _text(dep_note)


# ------------------------------------------------------------------ in a browser

PAGES = {
    "overview": ("/", "#overview-kpis", "pairs scored"),
    "chokepoints": ("/chokepoints?category=rare_earth_magnets", "#chokepoints-kpis",
                    "China"),
    "diversion": ("/diversion?destination=RUS&category=graphite", "#diversion-kpis",
                  "Russia's imports"),
    "scenario": ("/scenario?category=rare_earth_magnets&destination=RUS",
                 "#scenario-kpis", "Russia"),
    "country_RUS": ("/country/RUS", "#country-name", "Russia"),
    "country_JPN": ("/country/JPN", "#country-name", "Japan"),
    "category": ("/category/rare_earth_magnets", "#category-kpis", "China"),
    "methodology": ("/methodology", "#home-dataset", "HS2017"),
    "shipments": ("/shipments", "h2", "Shipments"),
}


def test_every_page_in_a_browser(dash_duo, real_store, artifacts_dir):
    from dashboards.app import create_app

    app = create_app(real_store, warm=False)
    dash_duo.start_server(app)
    dash_duo.driver.set_window_size(1400, 2400)
    for name, (path, selector, text) in PAGES.items():
        dash_duo.driver.get(dash_duo.server_url + path)
        dash_duo.wait_for_contains_text(selector, text, timeout=30)
        dash_duo.wait_for_element("#dataset-name", timeout=10)
        time.sleep(0.5)  # let the remaining callbacks of the page settle
        _wait_idle(dash_duo)
        assert dash_duo.get_logs() == [], name
        assert dash_duo.find_elements("#synthetic-badge") == []
        dash_duo.driver.save_screenshot(str(artifacts_dir / f"real_{name}.png"))


def _wait_idle(dash_duo, timeout: float = 30) -> None:
    """Until Dash has no callback in flight (the loading state leaves the page)."""
    end = time.time() + timeout
    while time.time() < end:
        busy = dash_duo.driver.execute_script(
            "return document.querySelectorAll('[data-dash-is-loading=\"true\"]').length")
        if not busy:
            return
        time.sleep(0.2)
