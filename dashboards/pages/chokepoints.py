"""Chokepoints (``/chokepoints``): who supplies a technology category, and how concentrated.

For one category: supplier shares and concentration over time (as shipped and traced to
origin), the year's network of the largest flows, the coalition's leverage, each
destination's single points of failure, the EC/CEPII dependency flags and, when the
dataset has a supplier table, firm-level chokepoints.
"""

from __future__ import annotations

import re

import dash
import pandas as pd
from dash import Input, Output, callback, dcc, html, no_update

from analytics import chokepoints as chk
from analytics.errors import AnalysisError, NodeNotFound
from analytics.figures import (
    fig_concentration_trend,
    fig_empty,
    fig_supplier_bars,
    fig_supplier_shares,
    fig_trade_network,
    format_usd,
)
from analytics.i18n import country_name
from analytics.reference import coalition_label, concern_destinations
from analytics.suppliers import rank_chokepoints
from dashboards import data
from dashboards.charts import cached_figure, chart
from dashboards.components import (
    card,
    control,
    country_link,
    download_links,
    dropdown,
    export_bar,
    graph,
    grid,
    grid_records,
    kpi,
    query_value,
    register_grid_export,
    register_url_state,
    typed_frame,
    url_location,
    url_state_store,
)
from dashboards.components.selectors import (
    DEFAULT_COALITION,
    category_control,
    coalition_control,
    param_category,
    select_category,
    select_coalition,
    select_year,
    year_control,
)

PAGE = "chokepoints"
PRODUCTIONS = [
    {"label": "Net exports (trace re-exports)", "value": "net_exports"},
    {"label": "Gross exports (no tracing)", "value": "exports"},
]
VIEWS = [
    {"label": "Origins (traced)", "value": "origins"},
    {"label": "Exporters (as shipped)", "value": "exporters"},
]
PRODUCTION_NOTE = (
    "Tracing: with net exports, each country is assumed to produce max(exports - imports, 0) "
    "and to pass on its imports in proportion (proportional mixing), so goods re-exported "
    "by hubs such as Hong Kong are credited to the countries that made them. With gross "
    "exports every exporter counts as the origin of all it ships: origins = exporters."
)
SPOF_COLUMNS = ["rank", "origin", "traced_share", "direct_share", "traced_value_usd_m"]
FLAG_COLUMNS = ["importer", "persistent", "dependent", "hhi", "import_export_ratio",
                "top_supplier", "top_share", "imports_usd_m"]
ITEM_COLUMNS = ["rank", "item_name", "country_top_supplier", "country_top_share",
                "country_hhi", "firm_top_supplier", "firm_top_share", "firm_hhi",
                "firm_n_suppliers"]
_ISO3 = re.compile(r"^[A-Z]{3}$")
_RESIDUAL = re.compile(r"^\s*(various|others?|unattributed|rest of)\b", re.IGNORECASE)

CONTROLS = {
    "category": "chokepoints-category", "year": "chokepoints-year",
    "coalition": "chokepoints-coalition", "production": "chokepoints-production",
    "view": "chokepoints-view", "destination": "chokepoints-destination",
    "edges": "chokepoints-edges", "item": "chokepoints-item",
}
register_url_state(PAGE, CONTROLS)
for _gid in ("chokepoints-spof", "chokepoints-flags", "chokepoints-items"):
    register_grid_export(_gid)


# ------------------------------------------------------------------ memoized analytics
def _countries() -> pd.DataFrame:
    return data.dataset().countries


@data.memoize(maxsize=32)
def _category_flows(category: str) -> pd.DataFrame:
    cf = data.cflows()
    return cf[cf["category_id"] == category].reset_index(drop=True)


_layer = data.layer_flows
_model = data.tracing_model


@data.memoize(maxsize=64)
def _shares_by_year(category: str, view: str, production: str) -> pd.DataFrame:
    """year, supplier, value, share: exporters as shipped or traced origins."""
    if view == "exporters" or production == "exports":
        sub = _category_flows(category)
        if sub.empty:
            return pd.DataFrame(columns=["year", "supplier", "value", "share"])
        sh = chk.supplier_shares(sub, supplier="exporter", value="value_usd", by="year")
        return sh.rename(columns={"exporter": "supplier", "value_usd": "value"})
    frames = []
    for year in data.page_options()["years"]:
        lay = _layer(year, category)
        if lay.empty:
            continue
        osh = chk.origin_shares(lay, model=_model(year, category, production))
        frames.append(osh.rename(columns={"origin": "supplier"}).assign(year=year))
    if not frames:
        return pd.DataFrame(columns=["year", "supplier", "value", "share"])
    return pd.concat(frames, ignore_index=True)[["year", "supplier", "value", "share"]]


@data.memoize(maxsize=64)
def _trend(category: str, production: str) -> pd.DataFrame:
    """HHI by year of exporters (as shipped) and origins (traced)."""
    frames = []
    for view, name in (("exporters", "Exporters (as shipped)"),
                       ("origins", "Origins (traced)")):
        sh = _shares_by_year(category, view, production)
        if sh.empty:
            continue
        h = (sh["share"] ** 2).groupby(sh["year"]).sum().rename("hhi").reset_index()
        frames.append(h.assign(series=name, n_eff=1.0 / h["hhi"]))
    if not frames:
        return pd.DataFrame(columns=["year", "hhi", "series", "n_eff"])
    return pd.concat(frames, ignore_index=True)


@data.memoize(maxsize=128)
def _leverage(year: int, category: str, coalition: str, production: str) -> pd.DataFrame:
    return chk.coalition_leverage(_layer(year, category), data.coalition_members(coalition),
                                  model=_model(year, category, production))


@data.memoize(maxsize=128)
def _spof(year: int, category: str, production: str) -> pd.DataFrame:
    return chk.single_points_of_failure(_layer(year, category), production=production, top=10)


@data.memoize(maxsize=32)
def _flags(category: str) -> pd.DataFrame:
    return chk.dependency_flags(_category_flows(category))


@data.memoize(maxsize=16)
def _roles(coalition: str) -> dict[str, str]:
    ctry = _countries()
    roles = {c: "hub" for c in ctry.loc[ctry["hub"].fillna(False).astype(bool), "iso3"]}
    roles.update(dict.fromkeys(concern_destinations(ctry), "concern"))
    roles.update(dict.fromkeys(data.coalition_members(coalition), "coalition"))
    return roles


@data.memoize(maxsize=64)
def _auto_destination(year: int, category: str, production: str) -> str | None:
    """Highest-risk destination of the category (default risk view), else the importer
    whose supply depends most on one origin."""
    lay = _layer(year, category)
    importers = set(lay["importer"])
    if not importers:
        return None
    scored = data.risk_scores(data.default_year(), DEFAULT_COALITION)
    cand = scored.loc[scored["category_id"] == category, "destination"]
    for d in cand:
        if d in importers:
            return str(d)
    spof = _spof(year, category, production)
    top = spof[spof["rank"] == 1].sort_values("traced_share", ascending=False)
    if len(top):
        return str(top["destination"].iloc[0])
    return str(lay.groupby("importer")["value_usd"].sum().idxmax())


# ------------------------------------------------------------------ supplier table
def _supplier_table() -> pd.DataFrame | None:
    s = data.dataset().suppliers
    return None if s is None or s.empty else s


@data.memoize(maxsize=64)
def _asof_key(year: int) -> tuple:
    """Which year of each item the view uses as of ``year``: its latest year <= year,
    else its first (``()`` when the table has no years)."""
    s = _supplier_table()
    if s is None or "year" not in s.columns or not s["year"].notna().any():
        return ()
    ys = s[["item_id", "year"]].dropna().drop_duplicates()
    pick = ys.groupby("item_id")["year"].min()
    pick.update(ys[ys["year"] <= year].groupby("item_id")["year"].max())
    return tuple(sorted((str(i), int(y)) for i, y in pick.items()))


@data.memoize(maxsize=16)
def _suppliers_for(key: tuple) -> pd.DataFrame | None:
    s = _supplier_table()
    if s is None:
        return None
    if key:
        pick = dict(key)
        s = s[s["year"] == s["item_id"].astype(str).map(pick)]
    if "residual" not in s.columns:
        s = s.assign(residual=s["provider"].astype(str).str.match(_RESIDUAL))
    return s.reset_index(drop=True)


@data.memoize(maxsize=16)
def _ranking_for(key: tuple) -> pd.DataFrame | None:
    s = _suppliers_for(key)
    return None if s is None else rank_chokepoints(s, level="country")


def _suppliers_asof(year: int) -> pd.DataFrame | None:
    """The supplier table as of ``year`` (one year per item), with a ``residual`` column
    ("Various companies" rows) when it has none."""
    return _suppliers_for(_asof_key(year))


def _item_ranking(year: int) -> pd.DataFrame | None:
    """Items ranked as chokepoints (:func:`analytics.suppliers.rank_chokepoints`)."""
    return _ranking_for(_asof_key(year))


@data.memoize(maxsize=2)
def _item_options() -> list[dict]:
    s = _supplier_table()
    if s is None:
        return []
    names = s.drop_duplicates("item_id")
    lab = names["item_name"] if "item_name" in names.columns else names["item_id"]
    return [{"label": str(n), "value": str(i)} for i, n in zip(names["item_id"], lab,
                                                              strict=True)]


def _item_levels(table: pd.DataFrame, item: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Firm rows and country rows (the table's own, or firm shares summed by country) of
    one item, each with ``provider``, ``share``, ``residual``."""
    t = table[table["item_id"] == item]
    level = (t["provider_level"] if "provider_level" in t.columns
             else pd.Series("firm", index=t.index))
    firm_rows = t[level == "firm"]
    firms = firm_rows[["provider", "share", "residual"]]
    own = t[level == "country"]
    if len(own):
        ctry = own[["provider", "share", "residual"]]
    else:
        country = (firm_rows["provider_country"] if "provider_country" in t.columns
                   else pd.Series(None, index=firm_rows.index, dtype=object))
        named = country.notna() & ~firm_rows["residual"].astype(bool)
        ctry = pd.DataFrame({"provider": country.astype(object).where(named, "unattributed"),
                             "share": firm_rows["share"], "residual": ~named})
        ctry = ctry.groupby(["provider", "residual"], as_index=False)["share"].sum()
    return firms.reset_index(drop=True), ctry.reset_index(drop=True)


# ------------------------------------------------------------------ params and charts
def _params(p: dict) -> dict:
    cat = param_category(p)
    production = p.get("production") or "net_exports"
    if production not in ("net_exports", "exports"):
        raise ValueError(f"unknown production strategy {production!r}")
    view = p.get("view") or "origins"
    if view not in ("origins", "exporters"):
        raise ValueError(f"unknown view {view!r}")
    return {
        "category": cat,
        "year": int(p.get("year") or data.default_year()),
        "coalition": p.get("coalition") or DEFAULT_COALITION,
        "production": production,
        "view": view,
        "edges": int(p.get("edges") or 40),
        "item": p.get("item") or None,
        "lang": p.get("lang", "en"),
    }


@chart("supplier_shares")
def supplier_shares_chart(params: dict):
    p = _params(params)
    sh = _shares_by_year(p["category"], p["view"], p["production"])
    fig = fig_supplier_shares(sh, supplier="supplier", value="value", lang=p["lang"])
    kind = ("exporters (as shipped)" if p["view"] == "exporters"
            else "origins (traced, " + ("net exports" if p["production"] == "net_exports"
                                        else "gross exports") + ")")
    return (fig, f"Who supplies {data.category_label(p['category'], p['lang'])}",
            f"Share of world exports by {kind}")


@chart("concentration_trend")
def concentration_trend_chart(params: dict):
    p = _params(params)
    tr = _trend(p["category"], p["production"])
    if tr.empty:
        fig = fig_empty("no flows for this category", lang=p["lang"])
    else:
        fig = fig_concentration_trend(tr, color="series", lang=p["lang"])
    return (fig, f"Supplier concentration of {data.category_label(p['category'], p['lang'])}",
            "Herfindahl-Hirschman index of world export shares (0.25 = highly concentrated)")


@chart("trade_network")
def trade_network_chart(params: dict):
    p = _params(params)
    lay = _layer(p["year"], p["category"])
    fig = fig_trade_network(lay, roles=_roles(p["coalition"]), top=p["edges"],
                            lang=p["lang"])
    return (fig, f"Largest flows of {data.category_label(p['category'], p['lang'])}, {p['year']}",
            f"Top {p['edges']} flows; node size = exports; coalition: "
            f"{coalition_label(p['coalition'])}")


@chart("supplier_bars")
def supplier_bars_chart(params: dict):
    p = _params(params)
    table = _suppliers_asof(p["year"])
    if table is None:
        return fig_empty("no supplier data loaded", lang=p["lang"]), "Suppliers", ""
    item = p["item"] or _default_item(p["year"])
    if item not in set(table["item_id"]):
        raise ValueError(f"unknown item {item!r}")
    firms, ctry = _item_levels(table, item)
    sub = table[table["item_id"] == item]
    rank = _item_ranking(p["year"]).set_index("item_id").loc[item]
    hhi = tuple(float(rank[f"{lv}_hhi"]) if pd.notna(rank[f"{lv}_hhi"]) else None
                for lv in ("firm", "country"))
    fig = fig_supplier_bars(firms, ctry, hhi=hhi, lang=p["lang"])
    name = sub["item_name"].iloc[0] if "item_name" in sub.columns else item
    yr = (f", {int(sub['year'].max())}" if "year" in sub.columns and sub["year"].notna().any()
          else "")
    return (fig, f"Who supplies {name}{yr}",
            "Market shares of firms and of their countries (grey: residual, unattributed)")


def _default_item(year: int) -> str | None:
    r = _item_ranking(year)
    return None if r is None or r.empty else str(r["item_id"].iloc[0])


# ------------------------------------------------------------------ layout
HEADERS = {
    "rank": "#", "origin": "Origin", "traced_share": "Traced share",
    "direct_share": "Direct share", "traced_value_usd_m": "Traced value (USD m)",
    "importer": "Importer", "persistent": "Persistent (2 of 3 y)", "dependent": "Dependent",
    "hhi": "Import HHI", "import_export_ratio": "Imports / exports",
    "top_supplier": "Top supplier", "top_share": "Top share", "imports_usd_m": "Imports (USD m)",
    "item_name": "Item", "country_top_supplier": "Top country", "country_top_share":
    "Top country share", "country_hhi": "Country HHI", "firm_top_supplier": "Top firm",
    "firm_top_share": "Top firm share", "firm_hhi": "Firm HHI",
    "firm_n_suppliers": "Firms",
}


def _grid(id_: str, proto: pd.DataFrame, *, pct=(), links=(), height=360, file_name="t.csv"):
    """A page grid: readable headers, percentages, country links, no checkbox column."""
    g = grid(id_, proto, height=height, page_size=10, file_name=file_name,
             link_columns=dict.fromkeys(links, "link"))
    for d in g.columnDefs:
        d["headerName"] = HEADERS.get(d["field"], d["headerName"])
        if d["field"] in pct:
            d["valueFormatter"] = {"function": "d3.format('.1%')(params.value)"}
        if d["field"] in links or d["field"] in ("item_name", "firm_top_supplier"):
            d.update(minWidth=200, flex=2)
        if d["field"] == "rank":
            d.update(maxWidth=70, minWidth=60)
    g.dashGridOptions = {**g.dashGridOptions,
                         "rowSelection": {"mode": "singleRow", "checkboxes": False,
                                          "enableClickSelection": True}}
    return g


def _selection(query: dict) -> dict:
    """Control values from a URL query (validated, defaults for missing keys)."""
    year = select_year(query)
    item_opts = _item_options()
    return {
        "category": select_category(query),
        "year": year,
        "coalition": select_coalition(query),
        "production": query_value(query, "production", "net_exports", options=PRODUCTIONS),
        "view": query_value(query, "view", "origins", options=VIEWS),
        "destination": query_value(query, "destination", None,
                                   options=data.page_options()["countries"], clearable=True),
        "edges": query_value(query, "edges", 40, cast=int),
        "item": query_value(query, "item", _default_item(year) if item_opts else None,
                            options=item_opts or None),
    }


def layout(**query):
    sel = _selection(query)
    return html.Div([
        url_location(PAGE),
        dcc.Location(id="chokepoints-nav", refresh="callback-nav"),
        url_state_store(PAGE, sel),
        html.Div(_body(sel), id="chokepoints-body"),
    ])


def _body(sel: dict) -> list:
    year, category, coalition = sel["year"], sel["category"], sel["coalition"]
    production, view, destination = sel["production"], sel["view"], sel["destination"]
    edges, item = sel["edges"], sel["item"]
    dest_opts = data.page_options()["countries"]
    item_opts = _item_options()
    has_suppliers = bool(item_opts)

    spof_proto = typed_frame({"rank": "int64", "origin": object, "traced_share": float,
                         "direct_share": float, "traced_value_usd_m": float})
    flag_proto = typed_frame({"importer": object, "persistent": object, "dependent": object,
                         "hhi": float, "import_export_ratio": float, "top_supplier": object,
                         "top_share": float, "imports_usd_m": float})
    item_proto = typed_frame({c: (float if ("share" in c or "hhi" in c) else
                             "int64" if c in ("rank", "firm_n_suppliers") else object)
                         for c in ITEM_COLUMNS})
    firm_body = html.Div([
        html.Div([control("Item", dropdown("chokepoints-item", item_opts, item), width=360)],
                 className="controls"),
        html.Div(id="chokepoints-bars-dl"),
        graph("chokepoints-bars", height=300),
        export_bar("chokepoints-items"),
        _grid("chokepoints-items", item_proto,
              pct=("country_top_share", "firm_top_share"), height=340,
              file_name="item_chokepoints.csv"),
        html.P("Items ranked by the top country's share (what an export control can "
               "reach), then by country HHI. Residual rows (\"Various companies\") count as "
               "a fragmented fringe: the HHI is a lower bound.", className="muted"),
    ], style=None if has_suppliers else {"display": "none"})
    firm_note = None if has_suppliers else html.P(
        "No supplier (firm-level) table is loaded in this dataset: only country-level trade "
        "is shown above.", className="muted", id="chokepoints-no-suppliers")

    return [
        html.H2("Chokepoints"),
        html.P("Who supplies a technology category, how concentrated supply is, and where a "
               "coalition holds leverage. Origins are traced through re-exporting hubs.",
               className="muted"),
        html.Div([
            category_control("chokepoints-category", category),
            year_control("chokepoints-year", year, width=100),
            coalition_control("chokepoints-coalition", coalition, width=300),
            control("Production strategy",
                    html.Div(dcc.RadioItems(id="chokepoints-production", options=PRODUCTIONS,
                                            value=production, inline=True,
                                            labelStyle={"marginRight": "10px"}),
                             title=PRODUCTION_NOTE)),
            control("Shares by",
                    dcc.RadioItems(id="chokepoints-view", options=VIEWS, value=view,
                                   inline=True, labelStyle={"marginRight": "10px"})),
        ], className="controls"),
        html.P(PRODUCTION_NOTE, className="muted", id="chokepoints-production-note"),
        dcc.Loading(html.Div(id="chokepoints-kpis", className="card"), type="dot"),
        html.Div([
            card(html.Div(id="chokepoints-shares-dl"), graph("chokepoints-shares", height=360),
                 html.P("Shares of world exports of the category; \"Shares by\" switches "
                        "between traced origins and exporters as shipped.", className="muted"),
                 title="Supplier shares over time"),
            card(html.Div(id="chokepoints-trend-dl"), graph("chokepoints-trend", height=340),
                 html.P("Exporters: shares of world exports as shipped. Origins: shares "
                        "traced to the producing country. A gap means hubs re-export "
                        "others' goods.", className="muted"),
                 title="Concentration over time"),
        ], className="grid-2"),
        html.Div([
            card(
                html.Div([
                    control("Flows shown", dcc.Slider(id="chokepoints-edges", min=10, max=100,
                                                      step=10, value=edges,
                                                      marks={10: "10", 40: "40", 100: "100"}),
                            width=260),
                ], className="controls"),
                html.Div(id="chokepoints-network-dl"), graph("chokepoints-network", height=560),
                html.P("Click a country to open its profile. Edges bend to their right; "
                       "arrowheads point to the importer.", className="muted"),
                title="Trade network of the year",
            ),
            card(
                html.Div([control("Destination", dcc.Dropdown(
                    id="chokepoints-destination", options=dest_opts, value=destination,
                    clearable=True, placeholder="highest-risk destination"), width=320)],
                    className="controls"),
                html.P(id="chokepoints-spof-note", className="muted"),
                export_bar("chokepoints-spof"),
                _grid("chokepoints-spof", spof_proto, pct=("traced_share", "direct_share"),
                      links=("origin",), height=470, file_name="single_points_of_failure.csv"),
                html.P("traced share: the share of the destination's imports made in that "
                       "country, wherever shipped from; direct share: shipped by it.",
                       className="muted"),
                title="Single points of failure",
            ),
        ], className="grid-2"),
        card(
            html.P(id="chokepoints-flags-note", className="muted"),
            export_bar("chokepoints-flags"),
            _grid("chokepoints-flags", flag_proto, pct=("top_share",),
                  links=("importer",), height=400, file_name="dependency_flags.csv"),
            title="Strategic dependency flags (EC / CEPII)",
        ),
        card(firm_note, firm_body, title="Firm-level chokepoints", id_="chokepoints-firm"),
    ]


_figure = cached_figure  # shared between callers: never modify the figure


# ------------------------------------------------------------------ callbacks
def _p(category, year, coalition=None, production=None, view=None, edges=None, item=None):
    return {k: v for k, v in {"category": category, "year": year, "coalition": coalition,
                              "production": production, "view": view, "edges": edges,
                              "item": item}.items() if v is not None}


@callback(
    Output("chokepoints-shares", "figure"),
    Output("chokepoints-shares-dl", "children"),
    Output("chokepoints-trend", "figure"),
    Output("chokepoints-trend-dl", "children"),
    Input("chokepoints-category", "value"),
    Input("chokepoints-production", "value"),
    Input("chokepoints-view", "value"),
)
def update_trends(category, production, view):
    if not category:
        empty = fig_empty("select a category")
        return empty, None, empty, None
    sp = {"category": category, "view": view, "production": production}
    tp = {"category": category, "production": production}
    fig_s = _figure("supplier_shares", sp)
    fig_t = _figure("concentration_trend", tp)
    return (fig_s, download_links("supplier_shares", sp), fig_t,
            download_links("concentration_trend", tp))


@callback(
    Output("chokepoints-kpis", "children"),
    Input("chokepoints-category", "value"),
    Input("chokepoints-year", "value"),
    Input("chokepoints-coalition", "value"),
    Input("chokepoints-production", "value"),
)
def update_kpis(category, year, coalition, production):
    if not category or year is None or not coalition:
        return html.P("Select a category, a year and a coalition.", className="muted")
    year = int(year)
    lay = _layer(year, category)
    if lay.empty:
        return html.P(f"No flows of {data.category_label(category)} in {year}.", className="muted")
    osh = _shares_by_year(category, "origins", production)
    osh = osh[osh["year"] == year]
    tr = _trend(category, production).set_index(["series", "year"])
    n_orig = tr["n_eff"].get(("Origins (traced)", year), float("nan"))
    n_exp = tr["n_eff"].get(("Exporters (as shipped)", year), float("nan"))
    lev = _leverage(year, category, coalition, production)
    world = lev[lev["destination"] == "WORLD"].iloc[0]
    top = osh.iloc[0] if len(osh) else None
    return html.Div([
        kpi(f"{country_name(top['supplier'])} {top['share']:.0%}" if top is not None else "-",
            f"top origin (traced), {year}", "chokepoints-kpi-top"),
        kpi(f"{n_orig:.1f}", f"effective number of origins (exporters: {n_exp:.1f})",
            "chokepoints-kpi-neff"),
        kpi(f"{world['direct_share']:.1%}", "coalition share of world exports",
            "chokepoints-kpi-exports"),
        kpi(f"{world['coalition_share']:.1%}", "coalition share of traced production",
            "chokepoints-kpi-production"),
        kpi(format_usd(lay["value_usd"].sum()), "world trade", "chokepoints-kpi-trade"),
    ])


@callback(
    Output("chokepoints-network", "figure"),
    Output("chokepoints-network-dl", "children"),
    Input("chokepoints-category", "value"),
    Input("chokepoints-year", "value"),
    Input("chokepoints-coalition", "value"),
    Input("chokepoints-edges", "value"),
)
def update_network(category, year, coalition, edges):
    if not category or year is None or not coalition:
        return fig_empty("select a category, a year and a coalition"), None
    params = _p(category, year, coalition, edges=edges)
    fig = _figure("trade_network", params)
    return fig, download_links("trade_network", params)


@callback(
    Output("chokepoints-nav", "href"),
    Input("chokepoints-network", "clickData"),
    prevent_initial_call=True,
)
def open_country(click):
    if not click or not click.get("points"):
        return no_update
    code = click["points"][0].get("text")
    if not isinstance(code, str) or not _ISO3.match(code):
        return no_update
    return f"/country/{code}"


def _link(code: str) -> str:
    return country_link(code, with_code=True)


@callback(
    Output("chokepoints-spof", "rowData"),
    Output("chokepoints-spof-note", "children"),
    Output("chokepoints-destination", "placeholder"),
    Input("chokepoints-category", "value"),
    Input("chokepoints-year", "value"),
    Input("chokepoints-production", "value"),
    Input("chokepoints-destination", "value"),
)
def update_spof(category, year, production, destination):
    if not category or year is None:
        return [], "Select a category and a year.", "destination"
    year = int(year)
    auto = _auto_destination(year, category, production)
    placeholder = (f"{country_name(auto)} (highest risk)" if auto else "no destination")
    dest = destination or auto
    if dest is None:
        return [], f"No flows of {data.category_label(category)} in {year}.", placeholder
    try:
        spof = _spof(year, category, production)
    except (AnalysisError, NodeNotFound) as err:
        return [], str(err), placeholder
    rows = spof[spof["destination"] == dest]
    if rows.empty:
        return [], (f"{country_name(dest)} imports no {data.category_label(category)} in {year}."),\
            placeholder
    table = pd.DataFrame({
        "rank": rows["rank"].to_numpy(),
        "origin": [_link(o) for o in rows["origin"]],
        "traced_share": rows["traced_share"].round(4).to_numpy(),
        "direct_share": rows["direct_share"].round(4).to_numpy(),
        "traced_value_usd_m": (rows["traced_value"] / 1e6).round(1).to_numpy(),
    })
    how = "auto: highest-risk destination" if destination is None else "selected"
    note = (f"{country_name(dest)} ({how}): imports {format_usd(rows['imports'].iloc[0])} "
            f"of {data.category_label(category)} in {year}. The origins whose loss would cut most of "
            f"its supply:")
    return grid_records(table, SPOF_COLUMNS), note, placeholder


@callback(
    Output("chokepoints-flags", "rowData"),
    Output("chokepoints-flags-note", "children"),
    Input("chokepoints-category", "value"),
    Input("chokepoints-year", "value"),
)
def update_flags(category, year):
    if not category or year is None:
        return [], "Select a category and a year."
    year = int(year)
    fl = _flags(category)
    fl = fl[fl["year"] == year]
    if fl.empty:
        return [], f"No flows of {data.category_label(category)} in {year}."
    fl = fl.sort_values(["persistent", "dependent", "hhi"], ascending=False, kind="stable")
    ratio = fl["import_export_ratio"].where(fl["import_export_ratio"] != float("inf"))
    table = pd.DataFrame({
        "importer": [_link(c) for c in fl["importer"]],
        "persistent": ["yes" if v else "no" for v in fl["persistent"]],
        "dependent": ["yes" if v else "no" for v in fl["dependent"]],
        "hhi": fl["hhi"].round(3).to_numpy(),
        "import_export_ratio": ratio.round(2).to_numpy(),
        "top_supplier": fl["top_supplier"].to_numpy(),
        "top_share": fl["top_share"].round(4).to_numpy(),
        "imports_usd_m": (fl["imports"] / 1e6).round(1).to_numpy(),
    })
    n_dep, n_per = int(fl["dependent"].sum()), int(fl["persistent"].sum())
    note = (f"{year}: {n_dep} importer(s) dependent (import HHI > 0.4 and imports/exports "
            f"> 1), {n_per} persistently (2 of 3 years). Empty ratio: no exports.")
    return grid_records(table, FLAG_COLUMNS), note


@callback(
    Output("chokepoints-bars", "figure"),
    Output("chokepoints-bars", "style"),
    Output("chokepoints-bars-dl", "children"),
    Output("chokepoints-items", "rowData"),
    Input("chokepoints-item", "value"),
    Input("chokepoints-year", "value"),
)
def update_firms(item, year):
    year = int(year) if year is not None else data.default_year()
    ranking = _item_ranking(year)
    empty_style = {"height": "300px"}
    if ranking is None:
        return fig_empty("no supplier data loaded"), empty_style, None, []
    params = {"item": item, "year": year} if item else {"year": year}
    try:
        fig = _figure("supplier_bars", params)
    except (ValueError, AnalysisError) as err:
        return fig_empty(str(err)), empty_style, None, grid_records(ranking, ITEM_COLUMNS)
    table = ranking.copy()
    if "item_name" not in table.columns:
        table["item_name"] = table["item_id"]
    table["country_top_supplier"] = [country_name(c) if isinstance(c, str) else c
                                     for c in table["country_top_supplier"]]
    return (fig, {"height": f"{fig.layout.height or 300}px"},
            download_links("supplier_bars", params), grid_records(table.round(4), ITEM_COLUMNS))


def warm() -> None:
    """Compute the default view, and every category's supplier-share history under the
    default tracing (the costliest first call: one tracing model per year), once at
    start-up."""
    for cat in data.category_ids():
        _trend(cat, "net_exports")
    sel = _selection({})
    if sel["category"] is None:
        return
    cat, year, coal = sel["category"], sel["year"], sel["coalition"]
    update_trends(cat, sel["production"], sel["view"])
    update_kpis(cat, year, coal, sel["production"])
    update_network(cat, year, coal, sel["edges"])
    update_spof(cat, year, sel["production"], sel["destination"])
    update_flags(cat, year)
    update_firms(sel["item"], year)
    for y in data.page_options()["years"]:  # the supplier rankings (one per distinct as-of table)
        _item_ranking(y)


dash.register_page(__name__, path="/chokepoints", name="Chokepoints", order=1, layout=layout,
                   title="Chokepoints - chokepoint-analytics")
