"""Scenario page: figure builders, callbacks as functions, and a browser run."""

from __future__ import annotations

import time
import urllib.parse

import pandas as pd
import plotly.graph_objects as go
import pytest

from analytics.figures import fig_leak_routes, fig_scenario
from analytics.figures.chokepoints import SCENARIO_COLORS

# ------------------------------------------------------------------ figure builders


def test_fig_scenario_parts_values_and_shares():
    split = pd.DataFrame({"part": ["other", "stopped", "leaking"], "value": [6e9, 1e9, 3e9]})
    fig = fig_scenario(split, destination="RUS")
    bar = fig.data[0]
    assert list(bar.x) == [1e9, 3e9, 6e9]  # stopped, leaking, other
    assert [c[1] for c in bar.customdata] == pytest.approx([0.1, 0.3, 0.6])
    assert list(bar.text) == ["USD 1 bn (10.0%)", "USD 3 bn (30.0%)", "USD 6 bn (60.0%)"]
    assert list(bar.marker.color) == [SCENARIO_COLORS[p] for p in ("stopped", "leaking",
                                                                   "other")]
    assert bar.y[0].startswith("Shipped directly by the coalition")
    assert "Russia imports: USD 10 bn" in fig.layout.annotations[0].text


def test_fig_scenario_missing_part_and_empty():
    fig = fig_scenario(pd.DataFrame({"part": ["other"], "value": [5.0]}))
    assert list(fig.data[0].x) == [0.0, 0.0, 5.0]
    empty = fig_scenario(pd.DataFrame({"part": ["other"], "value": [0.0]}))
    assert "no imports" in empty.layout.annotations[0].text


def test_fig_scenario_japanese():
    fig = fig_scenario(pd.DataFrame({"part": ["stopped"], "value": [1.0]}), lang="ja",
                       destination="RUS")
    assert fig.data[0].y[0] == "連合からの直接輸出（停止）"
    assert "ロシア" in fig.layout.annotations[0].text or "RUS" in fig.layout.annotations[0].text


def test_fig_leak_routes_merges_members_and_nets_cycles():
    flow = {
        "JPN": {"TUR": 3.0, "KAZ": 4.0},
        "USA": {"KAZ": 1.0},
        "TUR": {"RUS": 2.0, "KAZ": 2.0},
        "KAZ": {"RUS": 8.0, "TUR": 1.0},  # TUR <-> KAZ nets to TUR -> KAZ 1.0
        "RUS": {"ARM": 1.0},  # out of the destination: ignored
    }
    fig = fig_leak_routes(flow, members=["JPN", "USA"], destination="RUS",
                          coalition_name="K")
    s = fig.data[0]
    labels = list(s.node.label)
    assert labels[0] == "K" and labels[-1] == "Russia"
    assert "Armenia" not in labels
    links = {(labels[a], labels[b]): v for a, b, v in zip(s.link.source, s.link.target,
                                                          s.link.value, strict=True)}
    kaz, tur = _name("KAZ"), _name("TUR")
    assert links == {("K", kaz): 5.0, ("K", tur): 3.0, (kaz, "Russia"): 8.0,
                     (tur, "Russia"): 2.0, (tur, kaz): 1.0}
    assert list(s.node.customdata)[-1] == "USD 10"


def test_fig_leak_routes_top_prunes_dead_ends():
    flow = {"JPN": {"A": 10.0, "B": 9.0, "C": 1.0}, "A": {"RUS": 10.0}, "B": {"RUS": 0.5},
            "C": {"B": 1.0}}
    fig = fig_leak_routes(flow, members=["JPN"], destination="RUS", top=3)
    # top 3: K->A, A->RUS, K->B; B's way on (0.5) is cut, so K->B is dropped too
    assert list(fig.data[0].link.value) == [10.0, 10.0]


def test_fig_leak_routes_empty():
    fig = fig_leak_routes({}, members=["JPN"], destination="RUS")
    assert "no route left" in fig.layout.annotations[0].text


def _name(code):
    from analytics.i18n import country_name

    return country_name(code)


# ------------------------------------------------------------------ callbacks
@pytest.fixture(scope="module")
def page(demo_store):
    from dashboards.app import create_app

    create_app(demo_store)
    from dashboards.pages import scenario

    return scenario


@pytest.fixture(scope="module")
def layer():
    from analytics import network
    from dashboards import data

    return network.layer(data.cflows(), 2023, "chpl_tier1")


ARGS = ("group_a", "chpl_tier1", "RUS", 2023)


def _kpis(div) -> dict[str, str]:
    return {k.children[0].id: k.children[0].children for k in div.children}


def test_layout_defaults_and_query(page):
    ids = {}

    def walk(c):
        if getattr(c, "id", None) and hasattr(c, "value"):
            ids[c.id] = c.value
        kids = getattr(c, "children", None)
        for ch in kids if isinstance(kids, list) else [kids]:
            if ch is not None and hasattr(ch, "to_plotly_json"):
                walk(ch)

    walk(page.layout())
    assert ids["scenario-destination"] == "RUS"  # the demo world has Russia
    assert ids["scenario-coalition"] == "group_a"
    walk(page.layout(destination="KGZ", category="bearings", coalition="japan", year="2020"))
    assert (ids["scenario-destination"], ids["scenario-category"], ids["scenario-coalition"],
            ids["scenario-year"]) == ("KGZ", "bearings", "japan", 2020)


def test_scenario_values_match_analytics(page, layer):
    from analytics import chokepoints as chk
    from analytics import diversion
    from analytics.reference import resolve_coalition
    from dashboards import data

    members = resolve_coalition("group_a", data.dataset().countries)
    kpis, fig_s, dl_s, fig_r, dl_r, rows, note = page.update_scenario(*ARGS)
    fig_s, fig_r = go.Figure(fig_s), go.Figure(fig_r)
    k = _kpis(kpis)
    rem = chk.removal_impact(layer, [m for m in members if m in set(layer["exporter"])
                                     | set(layer["importer"])]).set_index("destination")
    assert k["scenario-kpi-direct"] == f"{rem.loc['RUS', 'direct_share']:.1%}"
    assert k["scenario-kpi-traced"] == f"{rem.loc['RUS', 'traced_share']:.1%}"
    expo = diversion.diversion_exposure(layer, coalition=list(members),
                                        destinations=["RUS"]).iloc[0]
    cut = chk.enforcement_cut(layer, list(members), "RUS", exclude_direct=True)
    from analytics.figures import format_usd

    assert k["scenario-kpi-via"] == format_usd(expo["via_hubs"])
    assert k["scenario-kpi-capacity"] == format_usd(cut.value)
    assert k["scenario-kpi-hubs"] == str(len(cut.cut_nodes))
    # the split: stopped + leaking + other = imports
    bar = fig_s.data[0]
    imports = layer.loc[layer["importer"] == "RUS", "value_usd"].sum()
    assert sum(bar.x) == pytest.approx(imports)
    assert bar.x[0] == pytest.approx(rem.loc["RUS", "direct_lost"])
    assert bar.x[1] == pytest.approx(expo["via_hubs"])
    # hubs table: the min-cut nodes, each with a country link and a diversion link
    assert {r["hub"].split("(/country/")[1].rstrip(")") for r in rows} == set(
        cut.cut_nodes["node"])
    q = "?destination=RUS&category=chpl_tier1&coalition=group_a&year=2023"
    assert all(r["routes"] == f"[diversion routes](/diversion{q})" for r in rows)
    top = rows[0]
    assert top["leak_capacity_usd_m"] >= rows[-1]["leak_capacity_usd_m"]
    assert fig_r.data[0].type == "sankey"
    assert "/download/leak_routes.png?coalition=group_a" in dl_r.children[1].href
    assert "Closing these" in note


def test_scenario_changes_with_coalition(page):
    a = page.update_scenario(*ARGS)
    b = page.update_scenario("japan", *ARGS[1:])
    assert _kpis(a[0])["scenario-kpi-direct"] != _kpis(b[0])["scenario-kpi-direct"]
    assert [r["hub"] for r in a[5]] != [r["hub"] for r in b[5]]
    assert all("coalition=japan" in r["routes"] for r in b[5])


def test_scenario_undefined_cases(page):
    kpis, fig_s, _, fig_r, _, rows, note = page.update_scenario("group_a", "chpl_tier1",
                                                                "JPN", 2023)
    fig_s = go.Figure(fig_s)
    assert "member of the coalition" in kpis.children and rows == []
    assert "member of the coalition" in fig_s.layout.annotations[0].text
    out = page.update_scenario(None, "chpl_tier1", "RUS", 2023)
    assert "Select" in out[0].children


def test_short_coalition_names(page):
    assert page._short("Japan's Group A (white-list) countries plus Japan") == "Japan's Group A"
    assert page._short("G7 (Canada, France)") == "G7"
    assert page._short("Wassenaar Arrangement participating states") == "Wassenaar Arrangement…"
    assert page._short("Japan + United States + Netherlands", 32) == "Japan + United States…"


def test_chart_registry(page):
    from dashboards.charts import build_chart

    fig, title, sub = build_chart("scenario_split", {"coalition": "g7", "category": "bearings",
                                                     "destination": "RUS", "year": "2024"})
    assert title.startswith("If G7") and "Russia" in title
    fig, title, sub = build_chart("leak_routes", {"category": "bearings"})
    assert fig.data


def test_callback_timings(page):
    for args in [("jp_us_nl", "chpl_tier2", "RUS", 2022), ("g7", "bearings", "KGZ", 2024),
                 ("wassenaar", "chipmaking_equipment", "CHN", 2025)]:
        t0 = time.perf_counter()
        page.update_scenario(*args)
        assert time.perf_counter() - t0 < 1.0
        t0 = time.perf_counter()
        page.update_scenario(*args)
        assert time.perf_counter() - t0 < 0.3


# ------------------------------------------------------------------ browser
def _wait_url(dash_duo, cond, timeout: float = 20) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if cond(dash_duo.driver.current_url):
            return
        time.sleep(0.1)
    raise AssertionError(f"URL {dash_duo.driver.current_url} did not match")


def _text(dash_duo, selector: str) -> str:
    return dash_duo.driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';",
        selector) or ""


def _wait_text(dash_duo, selector: str, cond, timeout: float = 20) -> str:
    end = time.time() + timeout
    while time.time() < end:
        txt = _text(dash_duo, selector)
        if cond(txt):
            return txt
        time.sleep(0.1)
    raise AssertionError(f"{selector}: {_text(dash_duo, selector)!r}")


def test_scenario_in_browser(dash_duo, demo_store, artifacts_dir):
    from analytics.i18n import country_name
    from dashboards import data
    from dashboards.app import create_app

    app = create_app(demo_store)
    from dashboards.pages import scenario

    japan_hubs = scenario.scenario(2023, "chpl_tier1", "japan", "RUS")["hubs"]["node"]
    group_a_hubs = scenario.scenario(2023, "chpl_tier1", "group_a", "RUS")["hubs"]["node"]
    only_japan = [h for h in japan_hubs if h not in set(group_a_hubs)]
    labels = {o["value"]: o["label"] for o in data.coalition_options()}

    dash_duo.start_server(app)
    dash_duo.driver.set_window_size(1400, 1900)
    q = "?destination=RUS&category=chpl_tier1&coalition=group_a&year=2023"
    dash_duo.driver.get(dash_duo.server_url + "/scenario" + q)
    dash_duo.wait_for_element("#scenario-routes .sankey", timeout=20)
    direct_a = _wait_text(dash_duo, "#scenario-kpi-direct", lambda t: "%" in t)
    _wait_text(dash_duo, "#scenario-hubs", lambda t: country_name(group_a_hubs[0]) in t)

    dash_duo.select_dcc_dropdown("#scenario-coalition", value=labels["japan"])
    _wait_url(dash_duo, lambda u: "coalition=japan" in u)
    _wait_text(dash_duo, "#scenario-kpi-direct", lambda t: t and t != direct_a)
    if only_japan:
        grid_text = _wait_text(dash_duo, "#scenario-hubs",
                               lambda t: country_name(only_japan[0]) in t)
    else:
        grid_text = _text(dash_duo, "#scenario-hubs")
    assert country_name(japan_hubs[0]) in grid_text
    assert "diversion routes" in grid_text
    link = dash_duo.find_element("#scenario-hubs a[href^='/diversion']")
    link.click()
    _wait_url(dash_duo, lambda u: "/diversion" in u)
    url = urllib.parse.urlparse(dash_duo.driver.current_url)
    assert url.path == "/diversion"
    assert urllib.parse.parse_qs(url.query) == {
        "destination": ["RUS"], "category": ["chpl_tier1"], "coalition": ["japan"],
        "year": ["2023"]}

    dash_duo.driver.back()
    _wait_url(dash_duo, lambda u: "/scenario" in u and "coalition=japan" in u)
    _wait_text(dash_duo, "#scenario-coalition", lambda t: labels["japan"] in t)
    dash_duo.driver.back()
    _wait_url(dash_duo, lambda u: "coalition=group_a" in u)
    _wait_text(dash_duo, "#scenario-kpi-direct", lambda t: t == direct_a)
    assert labels["group_a"] in _text(dash_duo, "#scenario-coalition")
    _wait_text(dash_duo, "#scenario-hubs", lambda t: country_name(group_a_hubs[0]) in t)
    dash_duo.wait_for_element("#scenario-routes .sankey", timeout=20)
    assert dash_duo.get_logs() == []
    time.sleep(0.5)
    dash_duo.driver.save_screenshot(str(artifacts_dir / "scenario.png"))
