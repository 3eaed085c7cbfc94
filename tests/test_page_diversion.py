"""The diversion page: figure builders, callbacks as plain functions, and the browser."""

from __future__ import annotations

import time
import urllib.parse

import pandas as pd
import pytest

from analytics.figures.core import PALETTE, ROUTE_COLORS
from analytics.figures.diversion import (
    event_x,
    fig_did_forest,
    fig_route_sankey,
    fig_route_timeseries,
    format_usd,
)

QUERY = {"destination": "RUS", "category": "chpl_tier1", "coalition": "group_a",
         "year": "2023"}


def _rgba(hex_color: str) -> str:
    h = hex_color.lstrip("#")
    return "rgba({},{},{},0.45)".format(*(int(h[i:i + 2], 16) for i in (0, 2, 4)))


# ------------------------------------------------------------------ figure builders
def test_fig_route_sankey_by_hand():
    routes = pd.DataFrame({
        "origin": ["JPN", "JPN", "USA", "USA", "DEU", "JPN"],
        "hub": ["KGZ", "JPN", "KGZ", "DEU", "ARM", "TUR"],
        "destination": "RUS",
        "value": [8.0, 2.0, 4.0, 3.0, 1.0, 0.5],
        "route": ["via hub", "direct", "via hub", "via coalition", "via hub", "via hub"],
    })
    fig = fig_route_sankey(routes, top_origins=2, top_hubs=2)
    s = fig.data[0]
    labels = list(s.node.label)
    # origins JPN (10.5), USA (7), Others (DEU); hubs KGZ (12), Germany (3), Others
    assert labels == ["Japan", "United States", "Others", "Kyrgyzstan", "Germany", "Others",
                      "Russia"]
    assert [c[0] for c in s.node.customdata] == ["JPN", "USA", "", "KGZ", "DEU", "", "RUS"]
    links = pd.DataFrame({"s": list(s.link.source), "t": list(s.link.target),
                          "v": list(s.link.value), "c": list(s.link.color)})
    dest = labels.index("Russia")
    # everything arrives at the destination exactly once
    assert links.loc[links["t"] == dest, "v"].sum() == pytest.approx(18.5)
    # the direct shipment skips the hub column
    direct = links[(links["s"] == 0) & (links["t"] == dest)]
    assert direct["v"].tolist() == [2.0]
    assert direct["c"].tolist() == [_rgba(ROUTE_COLORS["direct"])]
    # the coalition partner link is coloured as such; small hubs (ARM, TUR) are Others
    de = links[(links["s"] == 1) & (links["t"] == 4)]
    assert de["c"].tolist() == [_rgba(ROUTE_COLORS["via coalition"])]
    others_in = links[links["t"] == 5]
    assert others_in["v"].sum() == pytest.approx(1.5)
    assert set(others_in["c"]) == {_rgba(ROUTE_COLORS["via hub"])}
    assert "direct" in fig.layout.annotations[0].text


def test_fig_route_sankey_empty_and_japanese():
    empty = pd.DataFrame(columns=["origin", "hub", "destination", "value", "route"])
    fig = fig_route_sankey(empty)
    assert "no coalition-origin goods" in fig.layout.annotations[0].text
    r = pd.DataFrame({"origin": ["JPN"], "hub": ["KGZ"], "destination": ["RUS"],
                      "value": [5.0], "route": ["via hub"]})
    ja = fig_route_sankey(r, lang="ja")
    assert "第三国経由" in ja.layout.annotations[0].text
    assert "CJK" in ja.layout.font.family


def test_fig_route_timeseries_stacks_and_events():
    y = pd.DataFrame({
        "year": [2020, 2020, 2020, 2021, 2021, 2021, 2022, 2022, 2022],
        "hub": ["JPN", "KGZ", "ARM"] * 3,
        "value": [10e6, 1e6, 1e6, 9e6, 2e6, 1e6, 2e6, 8e6, 3e6],
        "member": [True, False, False] * 3,
    })
    ev = pd.DataFrame({
        "event_id": ["eu", "jp", "late"],
        "date": ["2022-02-25", "2022-03-18", "2023-07-23"],
        "jurisdiction": ["EU", "JP", "JP"],
        "measure": ["EU ban", "Japan ban", "Japan SME items"],
    })
    fig = fig_route_timeseries(y, top_hubs=1, events=ev, selected_event="late")
    stacked = [t for t in fig.data if t.stackgroup]
    assert [t.name for t in stacked] == ["direct", "Kyrgyzstan", "Others (via hub)"]
    assert list(stacked[0].y) == [10.0, 9.0, 2.0]  # USD m
    assert list(stacked[2].y) == [1.0, 1.0, 3.0]
    assert fig.layout.yaxis.title.text == "Value (USD m)"
    # the two 2022 events share one marker; the selected one is highlighted
    xs = [s.x0 for s in fig.layout.shapes]
    assert xs == pytest.approx([event_x("2022-02-25"), event_x("2023-07-23")])
    assert xs[0] == pytest.approx(2022 + 55 / 365)
    texts = [a.text for a in fig.layout.annotations]
    assert texts == ["EU/JP Feb-Mar 2022", "JP Jul 2023"]
    assert fig.layout.shapes[1].line.color == PALETTE[1]
    assert fig.layout.shapes[0].line.dash == "dot"
    markers = [t for t in fig.data if t.mode == "markers"][0]
    assert "Japan ban" in markers.customdata[0]


def test_fig_route_timeseries_breaks_at_missing_years():
    # a store of 2022 and 2024 only: nothing is drawn across 2023
    y = pd.DataFrame({"year": [2022, 2022, 2024, 2024], "hub": ["JPN", "KGZ"] * 2,
                      "value": [5e6, 1e6, 2e6, 4e6], "member": [True, False, True, False]})
    fig = fig_route_timeseries(y)
    stacked = [t for t in fig.data if t.stackgroup]
    assert all(list(t.x) in ([2022], [2024]) for t in stacked)  # no trace spans the gap
    assert len({t.stackgroup for t in stacked}) == 2  # one stack per run of years
    assert all("markers" in t.mode for t in stacked)  # a single year still shows
    assert [t.name for t in stacked if t.showlegend] == ["direct", "Kyrgyzstan"]
    by = {(t.name, t.x[0]): t.y[0] for t in stacked}
    assert by[("direct", 2024)] == 2.0 and by[("Kyrgyzstan", 2022)] == 1.0
    gap = [sh for sh in fig.layout.shapes if sh.type == "rect"]
    assert [(g.x0, g.x1) for g in gap] == [(2022.5, 2023.5)]
    assert "no data" in [a.text for a in fig.layout.annotations]
    # consecutive years: one stack, lines only, no shading (as before)
    full = fig_route_timeseries(pd.concat([y, y.assign(year=2023)]))
    assert {t.stackgroup for t in full.data if t.stackgroup} == {"one"}
    assert not [sh for sh in full.layout.shapes if sh.type == "rect"]


def test_fig_route_timeseries_empty():
    fig = fig_route_timeseries(pd.DataFrame(columns=["year", "hub", "value", "member"]))
    assert fig.layout.annotations[0].text.startswith("no coalition-origin")


def test_fig_did_forest_colours_and_intervals():
    d = pd.DataFrame({"hub": ["KGZ", "SGP", "TUR"], "category_id": "c",
                      "estimate": [1.0, 0.01, -0.3], "ci_low": [0.9, -0.05, -0.4],
                      "ci_high": [1.1, 0.07, -0.2], "p_value": [0.0, 0.8, 0.001],
                      "multiplier": [2.718, 1.01, 0.741], "n_treated": [96, 96, 90]})
    fig = fig_did_forest(d, highlight=["KGZ"])
    tr = fig.data[0]
    assert list(tr.y) == ["Turkey", "Singapore", "<b>Kyrgyzstan</b>"]
    assert list(tr.x) == [-0.3, 0.01, 1.0]
    assert list(tr.error_x.array) == pytest.approx([0.1, 0.06, 0.1])
    assert list(tr.error_x.arrayminus) == pytest.approx([0.1, 0.06, 0.1])
    assert list(tr.marker.color) == [PALETTE[0], "#a0a4b8", ROUTE_COLORS["via hub"]]
    assert list(tr.text) == ["", "", "×2.72"]
    assert fig.layout.shapes[0].x0 == 0
    assert "95" in fig.layout.xaxis.title.text
    assert "no difference-in-differences" in fig_did_forest(d.iloc[:0]).layout.annotations[0].text


def test_format_usd():
    assert format_usd(3.5135e9) == "USD 3.51 bn"
    assert format_usd(float("nan")) == "-"


# ------------------------------------------------------------------ callbacks
@pytest.fixture(scope="module")
def page(demo_store):
    from dashboards.app import create_app

    create_app(demo_store, warm=False)  # warm() is tested on its own
    from dashboards.pages import diversion

    return diversion


@pytest.fixture(scope="module")
def ds(page):
    from dashboards import data

    return data.dataset()


def _find(component, id_):
    """The component with ``id_`` in a layout tree."""
    if getattr(component, "id", None) == id_:
        return component
    children = getattr(component, "children", None)
    if children is None:
        return None
    for child in children if isinstance(children, list | tuple) else [children]:
        hit = _find(child, id_)
        if hit is not None:
            return hit
    return None


def _text(component) -> str:
    if isinstance(component, str | int | float):
        return str(component)
    children = getattr(component, "children", None)
    if children is None:
        return ""
    if isinstance(children, list | tuple):
        return " ".join(_text(c) for c in children)
    return _text(children)


def test_layout_honours_query_and_defaults(page, ds):
    from analytics.eventstudy import event_year

    lay = page.layout(**QUERY)
    assert _find(lay, "diversion-destination").value == "RUS"
    assert _find(lay, "diversion-category").value == "chpl_tier1"
    assert _find(lay, "diversion-year").value == 2023
    ev = _find(lay, "diversion-event")
    assert ev.value == event_year(ds, destination="RUS")[1]["event_id"]
    opts = {o["value"] for o in ev.options}
    relevant = ds.events[ds.events["destinations"].apply(
        lambda s: s == "all" or "RUS" in s.split(";"))
        & ds.events["categories"].apply(lambda s: s == "all" or "chpl_tier1" in s.split(";"))]
    assert opts == set(relevant["event_id"]) | {page.NO_EVENT}
    # no query: defaults derived from the data; junk values fall back to them
    d = page.layout(year="1900", category="nope", destination="XXX", event="nope")
    assert _find(d, "diversion-year").value == max(ds.years)
    assert _find(d, "diversion-category").value == page._category_ids()[0]
    assert _find(d, "diversion-destination").value == "RUS"
    assert _find(d, "diversion-event").value == ev.value


def test_update_routes_matches_analytics(page, ds):
    from analytics.diversion import diversion_exposure, diversion_routes, route_paths
    from analytics.network import layer

    lay = layer(page.data.cflows(), 2023, "chpl_tier1")
    routes = diversion_routes(lay, coalition="group_a", destination="RUS",
                              countries=ds.countries)
    exposure = diversion_exposure(lay, coalition="group_a", destinations=["RUS"],
                                  countries=ds.countries).iloc[0]
    paths = route_paths(lay, coalition="group_a", destination="RUS", k=10,
                        countries=ds.countries)
    kpis, fig, dl, rows, note = page.update_routes("RUS", "chpl_tier1", "group_a", 2023)
    text = _text(kpis)
    assert format_usd(routes.attrs["imports"]) in text
    assert format_usd(routes.attrs["coalition_content"]) in text
    assert f"{exposure['diversion_exposure']:.1%}" in text
    top = routes[routes["route"] == "via hub"].groupby("hub")["value"].sum().idxmax()
    assert page.country_name(top) in _text(_find(kpis, "diversion-kpi-hub"))
    s = fig["data"][0]
    assert s["type"] == "sankey"
    assert s["node"]["label"][-1] == "Russia"
    assert sum(v for v, t in zip(s["link"]["value"], s["link"]["target"], strict=True)
               if t == len(s["node"]["label"]) - 1) == pytest.approx(
        routes["value"].sum(), rel=1e-9)
    assert [r["route"] for r in rows] == list(paths["route"])
    assert rows[0]["amount"] == pytest.approx(paths["amount"].iloc[0] / 1e6)
    assert f"{paths.attrs['coverage']:.0%}" in note
    hrefs = [a.href for a in dl.children[1:]]
    assert hrefs[0].startswith("/download/route_sankey.png?destination=RUS")


def test_update_hubs_lists_planted_hubs(page, ds, demo_world):
    from analytics.diversion import hub_ranking

    event = page._default_event("RUS")
    rows, note, fig, dl, pp_rows, pp_note = page.update_hubs("RUS", "chpl_tier1", "group_a",
                                                             event)
    ranking = hub_ranking(page.data.cflows(), coalition="group_a", destination="RUS",
                          event_year=2022, categories=["chpl_tier1"],
                          countries=ds.countries, entities=ds.entities)
    assert len(rows) == len(ranking)
    first = rows[0]
    assert first["hub"] == f"[{page.country_name(ranking['hub'].iloc[0])} "\
                           f"({ranking['hub'].iloc[0]})](/country/{ranking['hub'].iloc[0]})"
    assert first["post_value"] == pytest.approx(ranking["post_value"].iloc[0] / 1e6)
    assert first["pre_value"] == 0.0 and first["growth"] is None  # a new route
    defs = _find(page.layout(**QUERY), "diversion-hubs").columnDefs
    assert [d["field"] for d in defs] == page.HUB_COLUMNS
    assert [d for d in defs if d["field"] == "hub"][0]["cellRenderer"] == "markdown"
    assert "'new'" in [d for d in defs if d["field"] == "growth"][0]["valueFormatter"][
        "function"]
    # USD m with three significant digits: a small flow is not shown as 0.0
    post = [d for d in defs if d["field"] == "post_value"][0]["valueFormatter"]["function"]
    assert ".3~r" in post and ",.1f" not in post
    truth = demo_world.truth.routes
    planted = set(truth[(truth["destination"] == "RUS")
                        & (truth["category_id"] == "chpl_tier1")]["hub"])
    top5 = {r["hub"].split("(/country/")[1].rstrip(")") for r in rows[:5]}
    assert len(planted & top5) >= 4
    assert "pre: years before 2022" in note
    # the time series: stacked values and the events that concern Russia and ICs
    stacked = [t for t in fig["data"] if t.get("stackgroup")]
    assert stacked[0]["name"] == "direct"
    assert len(fig["layout"]["shapes"]) >= 3
    assert any("2022" in a["text"] for a in fig["layout"]["annotations"])
    # pre/post growth of the coalition's exports to candidate hubs
    pp_hubs = {r["hub"].split("(/country/")[1].rstrip(")"): r for r in pp_rows}
    assert planted <= set(pp_hubs)
    assert pp_hubs["KGZ"]["growth"] > 1.0
    assert "2018-2021 (pre)" in pp_note


def test_update_did_forest(page, ds):
    from analytics.eventstudy import diff_in_diff

    event = page._default_event("RUS")
    fig, dl, note, poll_off = page.update_did("chpl_tier1", "group_a", event, "RUS")
    assert poll_off  # precomputed at start-up: shown at once
    did = diff_in_diff(ds, coalition="group_a", categories=["chpl_tier1"], year=2022)
    tr = fig["data"][0]
    assert sorted(tr["x"]) == pytest.approx(sorted(did["estimate"]))
    up = did[did["ci_low"] > 0]
    assert len(up) >= 2
    for hub in up["hub"]:
        assert page.country_name(hub) in note
    # inbound categories get a message, not a regression
    fig2, _, note2, _ = page.update_did("gallium_germanium", "group_a", event, "RUS")
    assert "outbound" in note2
    assert fig2["layout"]["annotations"][0]["text"].startswith("the difference-in-diff")


def test_update_events_follows_destination(page, ds):
    opts, value = page.update_events("KGZ", "chpl_tier1", "us_bis_russia_rule_2022")
    assert "us_bis_russia_rule_2022" not in {o["value"] for o in opts}
    assert value == page._default_event("KGZ", "chpl_tier1")
    opts, value = page.update_events("BLR", "chpl_tier1", "jp_russia_belarus_export_ban_2022")
    assert value is page.no_update
    assert page.update_events(None, "chpl_tier1", "x") == ([], None)


def test_events_follow_the_category(page, ds):
    # an inbound category: the events that concern it, its own control first
    opts, value = page.update_events("RUS", "gallium_germanium", "us_bis_russia_rule_2022")
    ids = {o["value"] for o in opts}
    assert "cn_gallium_germanium_2023" in ids and "us_bis_russia_rule_2022" not in ids
    assert "cn_graphite_2023" not in ids  # another category's control
    assert value == "cn_gallium_germanium_2023" == page._default_event("RUS",
                                                                       "gallium_germanium")
    # an outbound category keeps the first sanctions event concerning it
    assert page._default_event("RUS", "chpl_tier1") == "us_bis_russia_rule_2022"
    assert page._default_event("RUS", "cnc_machine_tools") == "us_bis_russia_rule_2022"
    # the layout and the chart parameters use the category too
    lay = page.layout(destination="RUS", category="gallium_germanium")
    assert _find(lay, "diversion-event").value == "cn_gallium_germanium_2023"
    assert page._params({"destination": "RUS", "category": "gallium_germanium"})[4] == \
        "cn_gallium_germanium_2023"
    # the time series marks the category's events only
    rows = page._event_rows("RUS", "gallium_germanium", "cn_gallium_germanium_2023")
    assert "us_bis_russia_rule_2022" not in set(rows["event_id"])
    # a category change keeps an event that still applies
    _, kept = page.update_events("RUS", "bearings", "us_bis_russia_rule_2022")
    assert kept is page.no_update


def test_empty_selections_do_not_raise(page):
    kpis, fig, *_ = page.update_routes(None, "chpl_tier1", "group_a", 2023)
    assert "Select" in _text(kpis)
    # a country that imports nothing of the category that year
    cf = page.data.cflows()
    lay = cf[(cf["year"] == 2023) & (cf["category_id"] == "chpl_tier1")]
    nothing = sorted(set(cf["importer"]) - set(lay["importer"]))
    if nothing:
        kpis, fig, *_ = page.update_routes(nothing[0], "chpl_tier1", "group_a", 2023)
        assert "has no imports" in _text(kpis)
    for none in (None, page.NO_EVENT):
        rows, note, fig, *_ = page.update_hubs("RUS", "chpl_tier1", "group_a", none)
        assert "no policy event selected: pre/post split at 2022" in note
        assert rows
    out = page.update_did("chpl_tier1", "group_a", page.NO_EVENT, "RUS")
    for _ in range(20):  # estimating in the background: the poll brings the result
        if out[3] is True:
            break
        page.wait_for_background(timeout=120)
        out = page.poll_did(1, "chpl_tier1", "group_a", page.NO_EVENT, "RUS")
    assert out[3] is True
    assert "event=none" in out[1].children[1].href
    fig, _, note, _ = page.update_did(None, "group_a", None, "RUS")
    assert "Select" in note


def test_did_runs_in_the_background_and_is_polled(page):
    args = ("bearings", "g7", page._default_event("RUS", "bearings"), "RUS")
    first = page.update_did(*args)
    if first[3] is False:  # not computed yet: placeholder, poll enabled
        assert "Estimating" in first[2]
        page.wait_for_background(timeout=120)
    done = page.poll_did(1, *args)
    assert done[3] is True and done[0]["data"]


def test_did_validates_the_coalition_before_queueing(page):
    page.wait_for_background(timeout=120)
    before = dict(page._DID_JOBS)
    for junk in ("nope", "XXX,YYY", "JPN,ZZZ", "", "x" * 5000, "group_a;drop"):
        fig, dl, note, poll_off = page.update_did("bearings", junk, None, "RUS")
        assert poll_off is True and dl is None, junk
        assert ("Unknown coalition" in note) or ("Select" in note), junk
        if junk:  # the poll ends, with the message
            polled = page.poll_did(1, "bearings", junk, None, "RUS")
            assert polled[3] is True and "Unknown coalition" in polled[2]
    assert dict(page._DID_JOBS) == before  # nothing queued
    # unknown categories are not queued either
    assert "Unknown category" in page.update_did("nope", "group_a", None, "RUS")[2]
    assert dict(page._DID_JOBS) == before
    # a custom coalition of known codes is one job whatever its spelling
    assert page._coalition_key("usa,jpn") == page._coalition_key("JPN, USA") == "JPN,USA"
    assert page._coalition_key("g7") == "g7"
    # the other callbacks refuse it too, with a message
    kpis, *_ = page.update_routes("RUS", "chpl_tier1", "XXX,YYY", 2023)
    assert "Unknown coalition" in _text(kpis)
    rows, note, *_ = page.update_hubs("RUS", "chpl_tier1", "nope", None)
    assert rows == [] and "Unknown coalition" in note


def test_did_job_table_is_bounded(page, monkeypatch):
    import threading

    page.wait_for_background(timeout=120)
    release = threading.Event()
    monkeypatch.setattr(page, "_did", lambda *a: release.wait(30) and (None, ()))
    jobs = [page._did_job("group_a", f"cat{i}", 2022) for i in range(6)]
    # at most DID_MAX_PENDING queued or running; the rest are refused (the page polls)
    queued = [j for j in jobs if j is not None]
    assert len(queued) == page.DID_MAX_PENDING and jobs[page.DID_MAX_PENDING:] == [None] * (
        6 - page.DID_MAX_PENDING)
    assert page._did_job("group_a", "cat0", 2022) is jobs[0]  # the same job, not a new one
    release.set()
    page.wait_for_background(timeout=30)
    for i in range(3 * page.DID_MAX_JOBS):  # finished jobs are evicted, oldest first
        job = page._did_job("group_a", f"more{i}", 2022)
        job.result(timeout=30)
        assert len(page._DID_JOBS) <= page.DID_MAX_JOBS
    assert ("group_a", "more0") not in {k[1:3] for k in page._DID_JOBS}


def test_download_route_rejects_unknown_category(page):
    import dash

    from dashboards.charts import CHARTS

    assert {"route_sankey", "route_timeseries", "did_forest"} <= set(CHARTS)
    app = dash.get_app()
    resp = app.server.test_client().get("/download/route_sankey.svg?category=nope")
    assert resp.status_code == 400


def test_warm_covers_every_outbound_category(page, monkeypatch):
    called, yearly = [], []
    monkeypatch.setattr(page, "_did", lambda c, cat, y: called.append((c, cat, y)))
    real = page._yearly_all
    monkeypatch.setattr(page, "_yearly_all", lambda c, cat: yearly.append(cat) or real(c, cat))
    page.warm()
    assert set(yearly) >= set(page._category_ids())
    outbound = [c for c in page._category_ids() if page._is_outbound(c)]
    assert [c for _, c, _ in called] == outbound
    assert "gallium_germanium" not in outbound
    assert {y for *_, y in called} == {2022}


# ------------------------------------------------------------------ browser
def _query(url: str) -> dict:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlparse(url).query))


def _wait(pred, timeout=20.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def _pick(dash_duo, selector: str, text: str) -> None:
    """Choose a dropdown option by typing into its search box (long option lists scroll,
    so clicking the option directly can miss)."""
    dash_duo.find_element(selector).click()
    dash_duo.wait_for_element(".dash-dropdown-search", timeout=5).send_keys(text)
    _wait(lambda: any(o.text == text for o in dash_duo.find_elements(".dash-dropdown-option")))
    [o for o in dash_duo.find_elements(".dash-dropdown-option") if o.text == text][0].click()


def _screenshots(driver, directory, name: str, anchors: tuple[str, ...]) -> None:
    """Viewport screenshots: the top of the page, then each anchor scrolled into view."""
    driver.save_screenshot(str(directory / f"{name}.png"))
    for k, css in enumerate(anchors, start=2):
        el = driver.find_element("css selector", css)
        driver.execute_script("arguments[0].scrollIntoView()", el)
        time.sleep(0.4)
        driver.save_screenshot(str(directory / f"{name}_{k}.png"))
    driver.execute_script("window.scrollTo(0, 0)")


def test_browser_diversion_page(dash_duo, demo_store, demo_world, artifacts_dir):
    from dashboards.app import create_app

    app = create_app(demo_store, warm=False)
    dash_duo.start_server(app)
    driver = dash_duo.driver
    driver.get(dash_duo.server_url + "/diversion?" + urllib.parse.urlencode(QUERY))
    dash_duo.wait_for_element("#diversion-sankey .sankey", timeout=30)
    truth = demo_world.truth.routes
    planted = sorted(set(truth[(truth["destination"] == "RUS")
                               & (truth["category_id"] == "chpl_tier1")]["hub"]))
    dash_duo.wait_for_contains_text("#diversion-hubs", f"({planted[0]})", timeout=20)
    dash_duo.wait_for_contains_text("#diversion-kpis", "Russia's imports", timeout=10)
    dash_duo.wait_for_element("#diversion-did .scatterlayer .point", timeout=30)
    dash_duo.wait_for_element("#diversion-prepost .ag-row", timeout=10)
    _screenshots(driver, artifacts_dir, "diversion",
                 ("#diversion-hubs", "#diversion-timeseries", "#diversion-did"))

    # change the category: the URL query follows
    _pick(dash_duo, "#diversion-category", "Bearings")
    _wait(lambda: _query(driver.current_url).get("category") == "bearings")
    q = _query(driver.current_url)
    assert q["destination"] == "RUS" and q["year"] == "2023"
    assert q["event"] == "us_bis_russia_rule_2022"
    bearings = sorted(set(truth[(truth["destination"] == "RUS")
                                & (truth["category_id"] == "bearings")]["hub"]))
    dash_duo.wait_for_contains_text("#diversion-hubs", f"({bearings[-1]})", timeout=20)

    # drill down to a hub's country profile, then back
    link = dash_duo.wait_for_element(f"#diversion-hubs a[href='/country/{bearings[-1]}']",
                                     timeout=10)
    link.click()
    _wait(lambda: f"/country/{bearings[-1]}" in driver.current_url)
    driver.back()
    _wait(lambda: "/diversion" in driver.current_url)
    dash_duo.wait_for_contains_text("#diversion-category", "Bearings", timeout=20)
    dash_duo.wait_for_element("#diversion-sankey .sankey", timeout=20)
    assert _query(driver.current_url)["category"] == "bearings"

    # no query: sensible defaults
    driver.get(dash_duo.server_url + "/diversion")
    dash_duo.wait_for_element("#diversion-sankey .sankey", timeout=30)
    dash_duo.wait_for_contains_text("#diversion-destination", "Russia", timeout=10)
    dash_duo.wait_for_contains_text("#diversion-kpis", "imports of", timeout=10)
    dash_duo.wait_for_element("#diversion-hubs .ag-row", timeout=20)
    driver.save_screenshot(str(artifacts_dir / "diversion_defaults.png"))
    assert dash_duo.get_logs() == []
