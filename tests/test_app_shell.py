"""The dashboard shell: factory, CLI wiring, and a real headless browser."""

from __future__ import annotations

import pytest

from analytics.dataset import SYNTHETIC_LABEL


def test_create_app_serves_layout(demo_store):
    from dashboards.app import create_app

    app = create_app(demo_store)
    client = app.server.test_client()
    resp = client.get("/")
    assert resp.status_code == 200
    layout = client.get("/_dash-layout")
    assert layout.status_code == 200
    body = layout.get_data(as_text=True)
    assert SYNTHETIC_LABEL.upper() in body
    assert "Demo world" in body


def test_create_app_refuses_missing_store(tmp_path):
    from analytics.errors import StoreNotFound
    from dashboards.app import create_app

    with pytest.raises(StoreNotFound):
        create_app(tmp_path / "nothing")


def test_browser_loads_shell_without_console_errors(dash_duo, demo_store, artifacts_dir):
    from dashboards.app import create_app

    app = create_app(demo_store)
    dash_duo.start_server(app)
    dash_duo.wait_for_contains_text("#synthetic-badge", SYNTHETIC_LABEL.upper(), timeout=20)
    dash_duo.wait_for_element("#dataset-name", timeout=10)
    assert "Demo world" in dash_duo.find_element("#dataset-name").text
    dash_duo.wait_for_element("#overview-matrix .heatmap, #overview-matrix .hm", timeout=30)
    dash_duo.driver.get(dash_duo.server_url + "/methodology")
    dash_duo.wait_for_contains_text("#home-dataset", "HS2017", timeout=20)
    dash_duo.wait_for_element("#home-flows-summary", timeout=10)
    dash_duo.wait_for_element("#methodology-components .ag-row", timeout=10)
    for grid_id in ("home-flows-summary", "methodology-provenance", "methodology-components"):
        dash_duo.wait_for_element(f"#{grid_id}-csv", timeout=5)
    dash_duo.driver.save_screenshot(str(artifacts_dir / "shell.png"))
    assert dash_duo.get_logs() == []


def test_methodology_defines_components_shipments_and_matching(demo_store):
    from analytics.risk import COMPONENTS, default_config_path, load_config
    from dashboards.app import create_app

    app = create_app(demo_store, warm=False)
    from dashboards.pages import methodology

    lay = methodology.layout()
    text = str(lay)
    docs = methodology.component_docs(load_config())
    assert list(docs["component"]) == list(COMPONENTS)
    assert docs["measures"].str.len().min() > 30 and docs["formula"].str.len().min() > 20
    row = docs.set_index("component")
    assert "0.5" in row.loc["diversion_exposure", "formula"]  # the configured saturation
    assert "log(1 + 3.0)" in row.loc["surge", "formula"]
    assert "sanctioned 1.0" in row.loc["concern", "formula"]
    for words in ("Dispatch", "Origin", "Brand headquarters", "token-sort", "normalised",
                  "exact", "review"):
        assert words in text, words
    # every grid has the CSV export button and its callback, as on the other pages
    app.server.test_client().get("/_dash-dependencies")  # Dash registers callbacks here
    exports = {k for k in app.callback_map if k.endswith(".exportDataAsCsv")}
    for grid_id in methodology.GRIDS:
        assert f"'{grid_id}-csv'" in text, grid_id
        assert f"{grid_id}.exportDataAsCsv" in exports, grid_id
    assert str(default_config_path().parent) not in text  # no server path shown
    assert "risk_config.toml" in text
