"""Country and category profiles: figure builders, callbacks, and a browser walk-through."""

from __future__ import annotations

import time
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import pytest
from dash_tree import find as _find
from dash_tree import text as _text

from analytics.figures import (
    fig_category_trade,
    fig_country_exports,
    fig_country_risk,
    fig_origin_vs_dispatch,
)

# ------------------------------------------------------------------ figure builders


def test_fig_country_exports_stacks_categories_and_groups_others():
    ex = pd.DataFrame({"year": [2022, 2022, 2022, 2023, 2023],
                       "category_id": ["a", "b", "c", "a", "c"],
                       "value_usd": [5e6, 3e6, 1e6, 6e6, 2e6]})
    fig = fig_country_exports(ex, top=2)
    assert [t.type for t in fig.data] == ["bar"] * 3
    assert [t.name for t in fig.data] == ["a", "b", "Others"]
    assert list(fig.data[0].y) == pytest.approx([5.0, 6.0])  # USD m
    assert list(fig.data[1].y) == pytest.approx([3.0, 0.0])
    assert list(fig.data[2].y) == pytest.approx([1.0, 2.0])
    assert fig.layout.barmode == "stack"
    assert fig.layout.yaxis.title.text == "Value (USD m)"
    assert list(fig.data[0].customdata) == ["a", "a"]


def test_fig_country_exports_labels_and_empty():
    cats = pd.DataFrame({"category_id": ["a"], "name": ["Alpha"], "name_ja": ["アルファ"]})
    ex = pd.DataFrame({"year": [2022], "category_id": ["a"], "value_usd": [2e9]})
    fig = fig_country_exports(ex, categories=cats, lang="ja")
    assert fig.data[0].name == "アルファ"
    assert fig.layout.yaxis.title.text == "金額（十億米ドル）"
    assert "CJK" in fig.layout.font.family
    empty = fig_country_exports(ex.iloc[:0])
    assert len(empty.data) == 0 and "no exports" in empty.layout.annotations[0].text


def test_fig_country_risk_components_sum_to_score():
    r = pd.DataFrame({"category_id": ["a", "b"], "risk": [50.0, 75.0],
                      "concern": [1.0, 1.0], "surge": [0.0, 0.5]})
    fig = fig_country_risk(r, weights={"concern": 1.0, "surge": 1.0})
    bars = [t for t in fig.data if t.type == "bar"]
    assert [t.name for t in bars] == ["Destination concern", "Surge"]
    assert list(bars[0].y) == ["a", "b"]  # ascending: highest risk on top
    total = np.array(bars[0].x) + np.array(bars[1].x)
    assert list(total) == pytest.approx([50.0, 75.0])
    text = [t for t in fig.data if t.type == "scatter"][0]
    assert list(text.text) == ["50", "75"]
    plain = fig_country_risk(r)
    assert plain.data[0].name == "Risk" and list(plain.data[0].x) == [50.0, 75.0]
    assert "no risk" in fig_country_risk(r.iloc[:0]).layout.annotations[0].text


def test_fig_origin_vs_dispatch_shares_and_others():
    dispatch = pd.DataFrame({"exporter": ["HKG", "CHN", "JPN"], "value_usd": [6.0, 3.0, 1.0]})
    traced = pd.DataFrame({"origin": ["TWN", "CHN", "JPN", "KOR"],
                           "value": [4.0, 3.0, 2.0, 1.0]})
    fig = fig_origin_vs_dispatch(dispatch, traced, top=3)
    d, o = fig.data
    assert d.name.startswith("As shipped") and o.name.startswith("Traced origin")
    # the top 3 by either share, largest on top, Others (the rest) at the bottom
    assert list(d.y) == ["Others", "CHN", "TWN", "HKG"]
    assert list(d.x) == pytest.approx([0.1, 0.3, 0.0, 0.6])
    assert list(o.x) == pytest.approx([0.3, 0.3, 0.4, 0.0])
    assert fig.layout.barmode == "group"
    assert sum(d.x) == pytest.approx(1.0) and sum(o.x) == pytest.approx(1.0)
    assert list(fig.layout.yaxis.ticktext)[-1] == "Hong Kong"
    empty = fig_origin_vs_dispatch(pd.Series(dtype=float), pd.Series(dtype=float))
    assert "no imports" in empty.layout.annotations[0].text


def test_fig_category_trade_bars_and_highlight():
    t = pd.DataFrame({"year": [2021, 2022, 2022], "value_usd": [1e9, 1e9, 2e9]})
    fig = fig_category_trade(t, highlight=2021)
    assert list(fig.data[0].x) == [2021, 2022]
    assert list(fig.data[0].y) == pytest.approx([1.0, 3.0])
    assert fig.data[0].marker.color[0] != fig.data[0].marker.color[1]
    assert fig.layout.yaxis.title.text == "Value (USD bn)"


# ------------------------------------------------------------------ callbacks


@pytest.fixture(scope="module")
def pages(demo_store):
    from dashboards.app import create_app

    create_app(demo_store, warm=False)  # the profiles' own caches fill on first use
    from dashboards import data
    from dashboards.pages import category, country

    return country, category, data


def _strip(md: str) -> str:
    return md[1:md.index("]")] if md.startswith("[") else md


def test_country_layout_header_and_unknown(pages):
    country, _, _ = pages
    lay = country.layout(iso3="kgz", year="2023")
    txt = _text(_find(lay, "country-name")) + _text(_find(lay, "country-name-ja")) + \
        _text(_find(lay, "country-region")) + _text(_find(lay, "country-badges"))
    assert "Kyrgyzstan" in txt and "キルギス" in txt and "Central Asia" in txt
    assert "EAEU" in txt and "Curated hub prior" in txt and "Japan Group A" not in txt
    assert _find(lay, "country-year").value == 2023
    unknown = country.layout(iso3="XXX")
    assert "Unknown country code" in _text(unknown) and "XXX" in _text(unknown)
    assert "Unknown country code" in _text(country.layout(iso3="<script>"))
    usa = _text(_find(country.layout(iso3="USA"), "country-badges"))
    assert "Japan Group A" in usa and "Wassenaar" in usa and "EAEU" not in usa


def test_country_supplier_matches_analytics(pages):
    country, _, data = pages
    from analytics.chokepoints import origin_shares
    from analytics.network import layer

    fig, dl, rows = country.update_supplier(2023, "TWN")
    assert fig.data and dl is not None
    lay = layer(data.cflows(), 2023, "chpl_tier1")
    share = lay.loc[lay["exporter"] == "TWN", "value_usd"].sum() / lay["value_usd"].sum()
    osh = origin_shares(lay).set_index("origin")["share"]["TWN"]
    row = next(r for r in rows if "/category/chpl_tier1?year=2023)" in r["category"])
    assert row["world_share"] == pytest.approx(share)
    assert row["origin_share"] == pytest.approx(osh)
    assert row["origin_share"] > row["world_share"]  # Taiwan makes more than it ships
    defs = {d["field"]: d for d in country.col_defs(country.SUPPLIER_COLS)}
    assert defs["category"]["cellRenderer"] == "markdown"
    assert "%" in defs["world_share"]["valueFormatter"]["function"]


def test_country_hub_matches_tracing(pages):
    country, _, data = pages
    from analytics import tracing
    from analytics.diversion import forward_exposure
    from analytics.network import layer

    hub_rows, concern_rows, note = country.update_hub(2023, "group_a", "KGZ")
    assert note is None
    lay = layer(data.cflows(), 2023, "chpl_tier1")
    model = tracing.build_model(lay)
    transit = tracing.transit_through(model)["KGZ"]
    exports = lay.loc[lay["exporter"] == "KGZ", "value_usd"].sum()
    fe = forward_exposure(lay, coalition="group_a").set_index("country").loc["KGZ"]
    row = next(r for r in hub_rows if "/category/chpl_tier1?" in r["category"])
    assert row["transit_share"] == pytest.approx(transit / exports)
    assert row["forward_exposure"] == pytest.approx(fe["forward_exposure"])
    dests = {_strip(r["destination"]) for r in concern_rows}
    assert "Russia" in dests
    rus = lay.loc[(lay["exporter"] == "KGZ") & (lay["importer"] == "RUS"), "value_usd"].sum()
    r = next(r for r in concern_rows if "(/country/RUS?" in r["destination"]
             and "chpl_tier1" in r["category"])
    assert r["value_usd_m"] == pytest.approx(rus / 1e6, abs=0.01)
    # a destination of concern has no forward exposure of its own
    *_, rus_note = country.update_hub(2023, "group_a", "RUS")
    assert "itself a destination of concern" in _text(rus_note)


def test_country_destination_risk_matches_scores(pages):
    country, _, data = pages
    fig, dl, rows, note = country.update_destination(2023, "group_a", "KGZ")
    scored = data.risk_scores(2023, "group_a")
    mine = scored[scored["destination"] == "KGZ"]
    assert len(rows) == len(mine) > 0
    assert [r["risk"] for r in rows] == pytest.approx(list(mine["risk"].round(1)))
    assert rows[0]["explanation"] == mine["explanation"].iloc[0]
    assert "/diversion?destination=KGZ&category=" in rows[0]["routes"]
    bars = [t for t in fig.data if t.type == "bar"]
    top = mine.iloc[0]["category_id"]
    i = list(bars[0].y).index(top)
    assert sum(t.x[i] for t in bars) == pytest.approx(mine.iloc[0]["risk"])
    assert "Highest risk" in _text(note)
    # a coalition member is not scored as a destination
    _, _, jrows, jnote = country.update_destination(2023, "group_a", "JPN")
    assert jrows == [] and "member of the selected coalition" in _text(jnote)


def test_country_origin_vs_dispatch_and_partners(pages):
    country, _, data = pages
    from analytics import tracing
    from analytics.network import layer

    fig, dl = country.update_origin(2023, "chpl_tier1", "RUS")
    lay = layer(data.cflows(), 2023, "chpl_tier1")
    into = lay[lay["importer"] == "RUS"].groupby("exporter")["value_usd"].sum()
    traced = tracing.trace_imports(lay, destinations=["RUS"]).set_index("origin")["value"]
    d, o = fig.data
    shares_d = dict(zip(d.y, d.x, strict=True))
    shares_o = dict(zip(o.y, o.x, strict=True))
    assert shares_d["CHN"] == pytest.approx(into["CHN"] / into.sum())
    assert shares_o["TWN"] == pytest.approx(traced["TWN"] / traced.sum())
    assert shares_d["HKG"] > shares_o["HKG"]  # Hong Kong dispatches, it does not make
    assert "/download/origin_vs_dispatch.png?iso3=RUS" in str(dl)
    exp_rows, imp_rows = country.update_partners(2023, "KGZ")
    f = data.cflows()
    f = f[(f["year"] == 2023) & (f["exporter"] == "KGZ")]
    top = f.groupby("importer")["value_usd"].sum().sort_values(ascending=False)
    assert exp_rows[0]["partner"] == f"[Russia](/country/{top.index[0]}?year=2023)"
    assert exp_rows[0]["value_usd_m"] == pytest.approx(top.iloc[0] / 1e6, abs=0.01)
    assert imp_rows and all(r["partner"].startswith("[") for r in imp_rows)


def test_country_kpis_navigation_and_entities(pages):
    country, _, data = pages
    txt = _text(country.update_kpis(2023, "group_a", "KGZ"))
    n_ent = int((data.dataset().entities["country"] == "KGZ").sum())
    assert f"{n_ent} listed entities located here" in txt
    assert "highest risk score" in txt
    lay = country.layout(iso3="KGZ")
    ents = _find(lay, "country-entities")
    assert f"{n_ent} listed entities located in Kyrgyzstan" in _text(ents)
    assert country.navigate("RUS", "KGZ", 2023, "group_a") == \
        "/country/RUS?year=2023&coalition=group_a"
    assert country.open_category({"points": [{"customdata": "bearings"}]}, 2023,
                                 "group_a") == "/category/bearings?year=2023&coalition=group_a"
    assert country.pick_category({"points": [{"customdata": "chpl_tier2"}]}) == "chpl_tier2"


def test_country_page_without_entity_list(pages, monkeypatch):
    country, _, data = pages
    ds = data.dataset().replace(entities=None)
    monkeypatch.setattr(data, "dataset", lambda: ds)
    sec = country._entities_section("KGZ")
    assert "No end-user or entity list is loaded" in _text(sec)


def test_category_layout_definition_hs_and_events(pages):
    _, category, data = pages
    lay = category.layout(category_id="cnc_machine_tools")
    txt = _text(lay)
    assert "Numerically controlled machine tools" in txt and "数値制御工作機械" in txt
    assert "Outbound control" in txt and "Sensitivity 0.70" in txt
    codes = category.hs_codes("cnc_machine_tools").set_index("hs6")
    assert codes.loc["846223", "in_data"] == "846221"  # HS2022 -> HS2017
    assert codes.loc["846223", "via_concordance"] == "yes"
    assert codes.loc["845710", "via_concordance"] == ""
    assert codes.loc["846251", "in_data"] == "846221, 846231, 846241"
    assert "mapped through the HS concordance" in txt
    ev = category.category_events("chipmaking_equipment")
    assert "jp_sme_23_items_2023" in set(ev["event_id"])
    assert "russia_invades_ukraine_2022" in set(ev["event_id"])  # categories = all
    assert "cn_rare_earths_2025" not in set(ev["event_id"])
    unknown = _text(category.layout(category_id="nope"))
    assert "Unknown category" in unknown and "nope" in unknown


def test_category_callbacks_match_analytics(pages):
    _, category, data = pages
    from analytics.chokepoints import dependency_flags, origin_shares
    from analytics.network import layer

    trade, _, conc, _, kpis = category.update_trend(2023, "chpl_tier1")
    cf = data.cflows()
    sub = cf[cf["category_id"] == "chpl_tier1"]
    world = sub.groupby("year")["value_usd"].sum()
    assert list(trade.data[0].y) == pytest.approx(list(world / 1e9))
    assert {t.name for t in conc.data} == {"Exporters (as shipped)", "Origins (traced)"}
    assert f"USD {world[2023] / 1e9:,.2f} bn" in _text(kpis)

    fig, _, rows, title = category.update_suppliers("origins", 2023, "chpl_tier1")
    osh = origin_shares(layer(cf, 2023, "chpl_tier1"))
    assert rows[0]["origin_share"] == pytest.approx(osh["share"].iloc[0])
    assert _strip(rows[0]["supplier"]) == "Taiwan" and title == "Top origins in 2023"
    assert fig.data and fig.data[0].stackgroup == "one"

    rrows, note = category.update_risk(2023, "group_a", "chpl_tier1")
    scored = data.risk_scores(2023, "group_a")
    mine = scored[scored["category_id"] == "chpl_tier1"]
    assert rrows[0]["risk"] == pytest.approx(round(mine["risk"].iloc[0], 1))
    d = mine["destination"].iloc[0]
    assert rrows[0]["destination"].endswith(f"(/country/{d}?year=2023&coalition=group_a)")
    assert rrows[0]["routes"] == (f"[routes](/diversion?category=chpl_tier1&destination={d}"
                                  f"&coalition=group_a&year=2023)")
    inb, inb_note = category.update_risk(2023, "group_a", "rare_earth_magnets")
    assert inb == [] and "inbound" in _text(inb_note)

    drows, dnote, dstyle = category.update_dependency(2023, "rare_earth_magnets")
    flags = dependency_flags(cf[cf["category_id"] == "rare_earth_magnets"])
    dep = flags[(flags["year"] == 2023) & flags["dependent"]]
    assert len(drows) == len(dep) > 0
    assert f"{len(dep)} of" in _text(dnote) and dstyle is None
    assert category.update_dependency(2024, "chpl_tier1")[2] == {"display": "none"}
    assert category.navigate("bearings", "chpl_tier1", 2023, "group_a", "exporters") == \
        "/category/bearings?year=2023&coalition=group_a&basis=exporters"


def test_profile_charts_registered_and_download_errors(pages, demo_store):
    from dashboards.charts import CHARTS, build_chart

    for cid, params in [("country_exports", {"iso3": "KGZ"}),
                        ("country_risk", {"iso3": "KGZ", "year": "2023"}),
                        ("origin_vs_dispatch", {"iso3": "RUS", "year": "2023",
                                                "category": "chpl_tier1"}),
                        ("category_concentration", {"category": "chpl_tier1"}),
                        ("category_suppliers", {"category": "chpl_tier1",
                                                "basis": "origins"}),
                        ("category_trade", {"category": "chpl_tier1"})]:
        assert cid in CHARTS
        fig, title, subtitle = build_chart(cid, params)
        assert fig.data and title and subtitle
    with pytest.raises(ValueError):
        build_chart("country_risk", {"iso3": "XXX"})
    with pytest.raises(ValueError):
        build_chart("category_trade", {"category": "nope"})
    from dashboards.app import create_app

    client = create_app(demo_store, warm=False).server.test_client()
    assert client.get("/download/country_exports.png?iso3=XXX").status_code == 400


def test_profile_callbacks_are_fast(pages):
    country, category, data = pages
    country.warm()
    category.warm()
    data.risk_scores(2024, "group_a")  # shared and memoized by the data layer
    calls = [
        (country.update_supplier, (2024, "TUR")),
        (country.update_hub, (2024, "group_a", "TUR")),
        (country.update_destination, (2024, "group_a", "TUR")),
        (country.update_origin, (2024, "chpl_tier3a", "TUR")),
        (country.update_partners, (2024, "TUR")),
        (country.update_kpis, (2024, "group_a", "TUR")),
        (category.update_trend, (2024, "bearings")),
        (category.update_suppliers, ("origins", 2024, "bearings")),
        (category.update_risk, (2024, "group_a", "bearings")),
        (category.update_dependency, (2024, "bearings")),
    ]
    for fn, args in calls:
        fn(*args)  # first call fills the per-year caches
        t = time.perf_counter()
        fn(*args)
        assert time.perf_counter() - t < 0.3, fn.__name__


# ------------------------------------------------------------------ browser


def _wait_url(dash_duo, fragment, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if fragment in dash_duo.driver.current_url:
            return
        time.sleep(0.1)
    raise AssertionError(f"{fragment!r} not in {dash_duo.driver.current_url}")


def _screenshot(dash_duo, path):
    time.sleep(0.5)  # let the charts finish their transitions
    dash_duo.driver.save_screenshot(str(path))


def test_browser_country_and_category_profiles(dash_duo, demo_store, artifacts_dir):
    from analytics.i18n import category_name, country_name
    from dashboards.app import create_app

    app = create_app(demo_store, warm=False)  # risk scores cached by the tests above
    from dashboards.pages import category

    dash_duo.start_server(app)
    dash_duo.driver.set_window_size(1400, 4400)  # the whole profile in the screenshots
    base = dash_duo.server_url
    dash_duo.driver.get(base + "/country/KGZ?year=2023")
    dash_duo.wait_for_contains_text("#country-name", "Kyrgyzstan", timeout=30)
    assert "キルギス" in dash_duo.find_element("#country-name-ja").text
    assert dash_duo.find_element("#country-badge-eaeu").text == "EAEU"
    dash_duo.wait_for_contains_text("#country-risk-table", "/100:", timeout=30)
    dash_duo.wait_for_element("#country-risk .bars", timeout=20)
    dash_duo.wait_for_element("#country-origin .bars", timeout=20)
    dash_duo.wait_for_contains_text("#country-exports-to", "Russia", timeout=20)
    _screenshot(dash_duo, artifacts_dir / "country.png")

    dash_duo.select_dcc_dropdown("#country-year", "2024")
    _wait_url(dash_duo, "year=2024")
    assert "/country/KGZ?" in dash_duo.driver.current_url
    # the risk table refreshes for 2024 (its links carry the year)
    link = dash_duo.wait_for_element(
        "#country-risk-table a[href^='/category/'][href*='year=2024']", timeout=40)
    cat = urlparse(link.get_attribute("href")).path.rsplit("/", 1)[-1]
    link.click()
    dash_duo.wait_for_text_to_equal("#category-name", category_name(cat), timeout=30)
    _wait_url(dash_duo, f"/category/{cat}?year=2024")  # the year travels with the link
    first_code = category.hs_codes(cat)["hs6"].iloc[0]
    dash_duo.wait_for_contains_text("#category-hs-table", first_code, timeout=20)
    dash_duo.wait_for_contains_text("#category-risk-table", "/100:", timeout=30)
    dash_duo.wait_for_element("#category-concentration .scatterlayer .trace", timeout=20)
    _screenshot(dash_duo, artifacts_dir / "category.png")

    dlink = dash_duo.wait_for_element("#category-risk-table a[href^='/country/']")
    dest = urlparse(dlink.get_attribute("href")).path.rsplit("/", 1)[-1]
    dlink.click()
    dash_duo.wait_for_contains_text("#country-name", country_name(dest), timeout=30)

    dash_duo.driver.back()
    dash_duo.wait_for_text_to_equal("#category-name", category_name(cat), timeout=30)
    dash_duo.driver.back()
    dash_duo.wait_for_contains_text("#country-name", "Kyrgyzstan", timeout=30)
    _wait_url(dash_duo, "year=2024")
    dash_duo.wait_for_contains_text("#country-year", "2024", timeout=20)
    dash_duo.driver.back()
    _wait_url(dash_duo, "year=2023")
    dash_duo.wait_for_contains_text("#country-year", "2023", timeout=20)

    dash_duo.driver.get(base + "/country/XXX")
    dash_duo.wait_for_contains_text("#country-unknown", "Unknown country code", timeout=20)
    dash_duo.driver.get(base + "/category/nope")
    dash_duo.wait_for_contains_text("#category-unknown", "Unknown category", timeout=20)
    assert dash_duo.get_logs() == []
