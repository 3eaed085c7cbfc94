"""The shipments page: figure builders, callbacks as plain functions, the browser, and the
empty-store note."""

from __future__ import annotations

import sys
import time
import urllib.parse

import pandas as pd
import pytest
from test_shipments_fixtures import *  # noqa: F403 - the shared fixtures
from test_shipments_fixtures import tiny_brands, tiny_shipments

from analytics import shipments as sh
from analytics.figures import fig_attribution, fig_firm_paths
from analytics.figures.shipments import SHIPMENT_COLORS

QUERY = {"destination": "RUS", "category": "chpl_tier1", "from": "2023-01", "to": "2023-12",
         "coalition": "group_a"}


# ------------------------------------------------------------------ figure builders
def test_fig_attribution_three_panels_by_hand():
    s = sh.select_shipments(tiny_shipments(), destination="RUS")
    a = sh.attribute_shipments(s, tiny_brands(), coalition=["JPN", "DEU"])
    fig = fig_attribution(a, top=2)
    titles = [an.text for an in fig.layout.annotations]
    assert titles == ["Dispatched from", "Country of origin", "Brand headquarters"]
    by_axis: dict[str, list] = {}
    for t in fig.data:
        by_axis.setdefault(t.xaxis, []).append(t)
    # dispatch: Hong Kong 125, China 50, then Germany (10) beyond top=2 is "Others"
    disp = {y: (x, t.marker.color) for t in by_axis["x"] for x, y in zip(t.x, t.y,
                                                                         strict=True)}
    assert disp["Hong Kong"] == (pytest.approx(125 / 185), SHIPMENT_COLORS["third"])
    assert disp["Others"][0] == pytest.approx(10 / 185)
    brand = {y: t.marker.color for t in by_axis["x3"] for y in t.y}
    assert brand["Japan"] == SHIPMENT_COLORS["member"]
    legend = sorted((t.legendrank, t.name) for t in fig.data if t.showlegend)
    assert [n for _, n in legend] == ["coalition member", "third country"]
    ja = fig_attribution(a, lang="ja")
    assert ja.layout.annotations[0].text == "出荷国"
    empty = sh.attribute_shipments(s.iloc[:0], None, coalition=["JPN"])
    assert "no shipments" in fig_attribution(empty).layout.annotations[0].text


def test_fig_firm_paths_by_hand():
    paths = pd.DataFrame({
        "path": [("Aster", "J", "H", "R1"), ("Aster", "J", "R2")], "amount": [8.0, 2.0]})
    fig = fig_firm_paths(paths, highlight={"H"})
    nodes = fig.data[-1]
    pos = {n: (x, y) for n, x, y in zip(nodes.customdata, nodes.x, nodes.y, strict=True)}
    # consignees in the last column, whatever their path length
    assert pos["Aster"][0] == 0 and pos["J"][0] == 1 and pos["H"][0] == 2
    assert pos["R1"][0] == pos["R2"][0] == 3
    colors = dict(zip(nodes.customdata, nodes.marker.color, strict=True))
    assert colors["H"] != colors["J"]
    widths = sorted(t.line.width for t in fig.data[:-1])
    assert widths[-1] == 10.0 and len(widths) == 4  # A-J carries 10 = the widest
    assert "no path" in fig_firm_paths(paths.iloc[:0]).layout.annotations[0].text


# ------------------------------------------------------------------ callbacks
@pytest.fixture(scope="module")
def page(shipments_store):
    from dashboards.app import create_app

    app = create_app(shipments_store, warm=False)
    mod = sys.modules["dashboards.pages.shipments"]
    mod._test_app = app
    return mod


def _text(component) -> str:
    if component is None:
        return ""
    if isinstance(component, str):
        return component
    children = getattr(component, "children", None)
    if isinstance(children, list):
        return " ".join(_text(c) for c in children)
    return _text(children)


def test_update_attribution_callback(page):
    fig, dl, kpis, brands, shippers = page.update_attribution(
        "RUS", "chpl_tier1", "2023-01", "2023-12", "group_a")
    assert len(fig["data"]) >= 3 and "Russia" in fig["layout"]["title"]["text"]
    assert "dispatched from third countries" in _text(kpis)
    hrefs = [c.href for c in dl.children[1:]]
    assert hrefs[0].startswith("/download/shipments_attribution.png?destination=RUS")
    assert brands and {"hub", "brand", "hq_country", "share"} <= set(brands[0])
    assert shippers and shippers[0]["rank"] == 1
    # the dispatching hubs link to their country profiles (the drill-down)
    assert brands[0]["hub"].startswith("[") and "](/country/" in brands[0]["hub"]
    # swapped period ends are put in order; missing controls give a message
    fig2, *_ = page.update_attribution("RUS", "chpl_tier1", "2023-12", "2023-01", "group_a")
    assert fig2["layout"]["title"]["text"] == fig["layout"]["title"]["text"]
    # the memoized figure is shared: the callback's title did not leak into it
    shared, _, _ = page.cached_chart("shipments_attribution", {
        "destination": "RUS", "category": "chpl_tier1", "from": "2023-01", "to": "2023-12",
        "coalition": "group_a"}, as_json=True)
    assert "title" not in shared["layout"] or not shared["layout"]["title"].get("text")
    empty, *_ = page.update_attribution(None, "all", "2023-01", "2023-12", "group_a")
    assert "choose" in empty["layout"]["annotations"][0]["text"]


def test_update_screening_callback(page):
    screen = page.update_screening("RUS", "chpl_tier1", "2023-01", "2023-12")
    assert any(r["status"] == "exact" for r in screen)
    assert all(r["score"] >= page.THRESHOLD for r in screen)
    assert page.update_screening("RUS", "chpl_tier1", "2023-12", "2023-01") == screen
    assert page.update_screening(None, "all", "2023-01", "2023-12") == []


def test_route_explorer_callbacks(page):
    sel = page._selection({})
    assert sel["consignee"] and sel["brand"]
    fig, dl, note, rows, inter = page.update_routes("consignee", sel["consignee"], None,
                                                    "group_a")
    assert "largest paths of coalition-brand goods" in note
    assert rows and rows[0]["rank"] == 1 and rows[0]["route"].endswith(sel["consignee"])
    assert inter and any(r["flag"] for r in inter)
    assert len(fig["data"]) > 2
    fig, _, note, rows, _ = page.update_routes("brand", None, sel["brand"], "group_a")
    assert rows and rows[0]["route"].startswith(sel["brand"])
    _, _, note, rows, _ = page.update_routes("brand", None, None, "group_a")
    assert note == "Pick a brand." and rows == []


def test_download_route(page):
    c = page._test_app.server.test_client()
    q = urllib.parse.urlencode(QUERY)
    resp = c.get(f"/download/shipments_attribution.svg?{q}")
    assert resp.status_code in (200, 503)  # 503: no Chromium for the static export
    if resp.status_code == 200:
        assert b"<svg" in resp.data[:2000]


def test_layout_reads_the_url(page):
    months = page.overview()["months"]
    body = page.layout(**{"destination": "RUS", "category": "chpl_tier1",
                          "coalition": "nope", "from": "1999-01"})
    initial = body.children[1].data
    assert initial["coalition"] == "group_a"  # an unknown value falls back
    assert initial["from"] == page._default_start(months) == "2024-01"
    assert initial["to"] == months[-1] == "2024-12"
    assert initial["category"] == "chpl_tier1" and initial["destination"] == "RUS"
    # reversed ends are put in order
    initial = page.layout(**{**QUERY, "from": "2023-12", "to": "2023-01"}).children[1].data
    assert (initial["from"], initial["to"]) == ("2023-01", "2023-12")


def test_empty_store_explains_how_to_load(empty_store):
    from dashboards.app import create_app

    create_app(empty_store, warm=False)
    mod = sys.modules["dashboards.pages.shipments"]
    text = str(mod.layout())
    assert "No shipments in this store" in text
    assert "chokepoint ingest shipments" in text and "chokepoint demo-shipments" in text
    mod.warm()  # nothing to compute, no error


# ------------------------------------------------------------------ browser
def _wait(pred, timeout=20.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def _query(url: str) -> dict:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlparse(url).query))


def test_browser_shipments_page(dash_duo, shipments_store, artifacts_dir):
    from dashboards.app import create_app

    app = create_app(shipments_store, warm=False)
    dash_duo.start_server(app)
    driver = dash_duo.driver
    driver.get(dash_duo.server_url + "/shipments?" + urllib.parse.urlencode(QUERY))
    dash_duo.wait_for_element("#shipments-attribution .barlayer", timeout=30)
    dash_duo.wait_for_contains_text("#shipments-kpis", "dispatched from third countries",
                                    timeout=20)
    dash_duo.wait_for_element("#shipments-brands .ag-row", timeout=20)
    dash_duo.wait_for_element("#shipments-screen .ag-row", timeout=20)
    dash_duo.wait_for_element("#shipments-paths .ag-row", timeout=30)
    dash_duo.wait_for_contains_text("#shipments-routes-note", "largest paths", timeout=20)
    driver.save_screenshot(str(artifacts_dir / "shipments.png"))
    el = driver.find_element("css selector", "#shipments-explorer")
    driver.execute_script("arguments[0].scrollIntoView()", el)
    time.sleep(0.4)
    driver.save_screenshot(str(artifacts_dir / "shipments_2.png"))
    # a control change is written into the URL (a shareable link)
    dash_duo.find_element("#shipments-explore input[value='brand']").click()
    _wait(lambda: _query(driver.current_url).get("explore") == "brand")
    q = _query(driver.current_url)
    assert q["destination"] == "RUS" and q["category"] == "chpl_tier1"
    assert q["from"] == "2023-01" and q["coalition"] == "group_a"
    dash_duo.wait_for_contains_text("#shipments-routes-note", "goods to listed consignees",
                                    timeout=20)

    # drill down: a dispatching hub of the top-brands table opens its country profile
    link = dash_duo.wait_for_element("#shipments-brands a[href^='/country/']", timeout=20)
    href = link.get_attribute("href")
    code = href.rstrip("/").rsplit("/", 1)[-1]
    link.click()
    _wait(lambda: f"/country/{code}" in driver.current_url)
    dash_duo.wait_for_element("#country-name", timeout=20)
    # back: the shipments view as it was (query and controls)
    driver.back()
    _wait(lambda: "/shipments" in driver.current_url)
    dash_duo.wait_for_element("#shipments-attribution .barlayer", timeout=30)
    assert _query(driver.current_url) == q
    _wait(lambda: dash_duo.find_element(
        "#shipments-explore input[value='brand']").is_selected())
    dash_duo.wait_for_contains_text("#shipments-routes-note", "goods to listed consignees",
                                    timeout=20)
    # back again: the control change is undone
    driver.back()
    _wait(lambda: _query(driver.current_url).get("explore", "consignee") == "consignee")
    _wait(lambda: dash_duo.find_element(
        "#shipments-explore input[value='consignee']").is_selected())
    dash_duo.wait_for_contains_text("#shipments-routes-note", "coalition-brand goods",
                                    timeout=20)
    assert dash_duo.get_logs() == []


def test_browser_empty_store_note(dash_duo, empty_store):
    from dashboards.app import create_app

    app = create_app(empty_store, warm=False)
    dash_duo.start_server(app)
    dash_duo.driver.get(dash_duo.server_url + "/shipments")
    dash_duo.wait_for_contains_text("#shipments-empty-note", "chokepoint demo-shipments",
                                    timeout=20)
    assert dash_duo.get_logs() == []
