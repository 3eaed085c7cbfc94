"""Overview page: risk matrix, top-risk table, drill-down, shareable URL, downloads."""

from __future__ import annotations

import urllib.parse

import pytest


@pytest.fixture(scope="module")
def app(demo_store):
    from dashboards.app import create_app

    return create_app(demo_store)


def test_update_overview_callback(app):
    from dashboards import data
    from dashboards.pages import home

    fig, dl, rows, cols, kpis = home.update_overview(2023, "group_a", [], 10)
    assert fig.data[0].type == "heatmap"
    assert len(fig.data[0].x) == 10
    scored = data.risk_scores(2023, "group_a")
    assert rows[0]["risk"] == pytest.approx(round(scored["risk"].iloc[0], 3))
    assert {"explanation", "rank_low", "rank_high"} <= set(rows[0])
    assert "/download/risk_matrix.png?" in str(dl)


def test_drill_down_goes_to_diversion(app):
    from dashboards.pages import home

    href = home.drill_down({"points": [{"customdata": ["chpl_tier1", "KGZ"]}]}, 2023,
                           "group_a")
    q = urllib.parse.parse_qs(urllib.parse.urlparse(href).query)
    assert href.startswith("/diversion?")
    assert q["destination"] == ["KGZ"] and q["category"] == ["chpl_tier1"]


def test_download_route_renders_briefing_exports(app, artifacts_dir):
    from tests.conftest import CHROMIUM, require

    require(CHROMIUM is not None, "no Chromium for static export (kaleido)")
    client = app.server.test_client()
    for fmt, magic in (("png", b"\x89PNG"), ("svg", b"<svg"), ("pdf", b"%PDF")):
        r = client.get(f"/download/risk_matrix.{fmt}?year=2023&coalition=g7&top=12")
        assert r.status_code == 200, r.data[:200]
        assert magic in r.data[:200]
    assert client.get("/download/nope.png").status_code == 404
    assert client.get("/download/risk_matrix.gif").status_code == 404


def test_browser_overview(dash_duo, app, artifacts_dir):
    from dash.testing.wait import until

    dash_duo.start_server(app)
    dash_duo.driver.get(dash_duo.server_url + "/?year=2023&coalition=jp_us_nl&top=15")
    dash_duo.wait_for_element("#overview-matrix .main-svg", timeout=30)
    dash_duo.wait_for_contains_text("#overview-coalition", "Netherlands", timeout=10)
    dash_duo.wait_for_element("#overview-table .ag-row", timeout=20)
    dash_duo.select_dcc_dropdown("#overview-year", value="2024")
    until(lambda: "year=2024" in dash_duo.driver.current_url, timeout=10)
    assert "coalition=jp_us_nl" in dash_duo.driver.current_url
    dash_duo.wait_for_contains_text("#overview-matrix-dl", "PNG", timeout=10)
    dash_duo.driver.save_screenshot(str(artifacts_dir / "overview.png"))
    # browser back restores the previous selection
    dash_duo.driver.back()
    until(lambda: "year=2023" in dash_duo.driver.current_url, timeout=10)
    dash_duo.wait_for_contains_text("#overview-year", "2023", timeout=10)
    dash_duo.wait_for_element("#overview-matrix .main-svg", timeout=20)
    # drill down: clicking a matrix cell opens the diversion view of that pair
    def click_cell():  # retried: the figure may still be redrawing after the restore
        if "/diversion" not in dash_duo.driver.current_url:
            dash_duo.click_at_coord_fractions("#overview-matrix .nsewdrag", 0.03, 0.03)
        return "/diversion" in dash_duo.driver.current_url

    until(click_cell, timeout=20, poll=1)
    q = dash_duo.driver.current_url.split("?", 1)[1]
    assert "destination=" in q and "category=" in q and "coalition=jp_us_nl" in q
    assert dash_duo.get_logs() == []
