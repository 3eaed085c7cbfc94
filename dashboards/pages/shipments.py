"""Shipments (``/shipments``): who dispatched, who made and whose brand, firm by firm.

For a destination, category, period and coalition (all in the URL:
``?destination=RUS&category=chpl_tier1&from=2023-01&to=2023-12&coalition=group_a``) the
page shows the value of the transaction-level records by dispatch country, by country of
origin and by brand headquarters side by side, the share of coalition-brand goods
dispatched from third countries, the top brands and shippers of each hub, and the
shippers and consignees whose names resemble listed entities (every candidate with its
score, for review). The *route explorer* (``explore=consignee&consignee=...`` or
``explore=brand&brand=...``) lists the largest firm-level paths of coalition-brand goods to
a listed consignee, or of one brand to every listed consignee, with the intermediary firms
on them.

Data come from the store's partitioned ``shipments`` table, read with DuckDB filters
(:func:`analytics.store.read_table`), and its derived firm tables when
``chokepoint aggregate-shipments`` (or ``demo-shipments``) wrote them. A store without
shipments gets a note on how to load them.
"""

from __future__ import annotations

import dash
import numpy as np
import pandas as pd
from dash import Input, Output, callback, html

from analytics import store
from analytics.errors import AnalysisError, NodeNotFound
from analytics.figures import fig_attribution, fig_empty, fig_firm_paths
from analytics.figures.diversion import format_usd
from analytics.i18n import category_name, country_name
from analytics.shipments import (
    CUBE_KEYS,
    attribute_shipments,
    brand_edges,
    brand_paths,
    category_codes,
    firm_graph,
    firm_ids,
    intermediaries,
    screen_parties,
    shipment_cube,
)
from dashboards import data
from dashboards.charts import cached_chart, chart
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

PAGE = "shipments"
ALL = "all"
#: names screened against the entity lists: candidates scoring at least this (0-100)
THRESHOLD = 85
#: paths listed by the route explorer
K_PATHS = 8

BRAND_TYPES = {"hub": str, "rank": int, "brand": str, "hq_country": str, "member": bool,
               "value_usd": float, "shipments": int, "share": float}
SHIPPER_TYPES = {"hub": str, "rank": int, "shipper": str, "value_usd": float,
                 "shipments": int, "share": float, "coalition_brand_share": float}
SCREEN_TYPES = {"role": str, "name": str, "country": str, "value_usd": float,
                "candidate": str, "list_name": str, "score": float, "status": str}
PATH_TYPES = {"rank": int, "route": str, "hops": int, "amount": float, "share": float}
INTER_TYPES = {"firm": str, "country": str, "category_id": str, "in_value": float,
               "out_value": float, "lag_days": int, "in_from_coalition": float,
               "out_to_concern": float, "flag": bool}

CONTROLS = {"destination": "shipments-destination", "category": "shipments-category",
            "from": "shipments-from", "to": "shipments-to",
            "coalition": "shipments-coalition", "explore": "shipments-explore",
            "consignee": "shipments-consignee", "brand": "shipments-brand"}
register_url_state(PAGE, CONTROLS)
for _g in ("shipments-brands", "shipments-shippers", "shipments-screen", "shipments-paths",
           "shipments-inter"):
    register_grid_export(_g)


def _typed(types: dict) -> pd.DataFrame:
    kinds = {str: "object", int: "int64", float: "float64", bool: "bool"}
    return typed_frame({c: kinds[t] for c, t in types.items()})


def _table(id_: str, types: dict, file_name: str, height: int = 320, links=()):
    return grid(id_, _typed(types), columns=list(types), height=height, file_name=file_name,
                wide=("route",), link_columns=dict.fromkeys(links, "link"))


def _hub_links(frame: pd.DataFrame) -> pd.DataFrame:
    """The dispatching hubs as links to their country profiles (the drill-down)."""
    return frame.assign(hub=[country_link(h, with_code=True) for h in frame["hub"]])


# ------------------------------------------------------------------ memoized data
@data.memoize(maxsize=1)
def overview() -> dict | None:
    """What the store's shipments cover (None when it has none)."""
    path = data.store_path()
    if not store.store_info(path)["rows"].get("shipments", 0):
        return None
    dest = store.query(path, "SELECT importer_country AS c, sum(value_usd) AS v, count(*) "
                             "AS n FROM shipments GROUP BY 1 ORDER BY v DESC")
    months = store.table_partitions(path, "shipments")["partition"].tolist()
    brands = store.query(path, "SELECT brand, sum(value_usd) AS v FROM shipments WHERE "
                               "brand IS NOT NULL GROUP BY 1 ORDER BY v DESC")
    return {"rows": int(dest["n"].sum()), "destinations": dest["c"].tolist(),
            "months": [m for m in months if m], "brands": brands}


_coalition_arg = data.coalition_arg
_members = data.coalition_members


def coalition_options() -> list[dict]:
    from analytics.demo import SANCTIONING
    from analytics.reference import COALITION_PRESETS

    opts = [{"label": lab, "value": key} for key, lab in COALITION_PRESETS.items()]
    if data.dataset().synthetic:
        opts.append({"label": "Sanctioning countries of the demo world (2022 controls)",
                     "value": ",".join(sorted(SANCTIONING))})
    return opts


def category_options() -> list[dict]:
    cats = data.dataset().categories
    return [{"label": "All goods", "value": ALL}] + [
        {"label": category_name(c, cats), "value": c} for c in cats["category_id"]]


@data.memoize(maxsize=32)
def _codes(category: str) -> tuple[str, ...] | None:
    if category in (None, "", ALL):
        return None
    return tuple(sorted(set(category_codes(data.dataset(), [category])["code"])))


def _months_between(start: str, end: str) -> list[str]:
    ov = overview()
    return [m for m in ov["months"] if start <= m <= end]


@data.memoize(maxsize=64)
def _cube(destination: str, category: str, start: str, end: str) -> pd.DataFrame:
    """Shipment cube of a selection (DuckDB-filtered read of the month partitions)."""
    codes = _codes(category)
    frame = store.read_table(
        data.store_path(), "shipments", columns=[*CUBE_KEYS, "value_usd"],
        partitions=_months_between(start, end), isin={"importer_country": [destination]},
        startswith={"hs_code": list(codes)} if codes is not None else None)
    return data.freeze(shipment_cube(frame))


@data.memoize(maxsize=64)
def attribution(destination: str, category: str, start: str, end: str, coalition: str):
    cube = _cube(destination, category, start, end)
    return attribute_shipments(cube, data.dataset().brands, coalition=_members(coalition))


@data.memoize(maxsize=64)
def screening(destination: str, category: str, start: str, end: str) -> pd.DataFrame:
    ents = data.dataset().entities
    cube = _cube(destination, category, start, end)
    if ents is None or cube.empty:
        return _typed(SCREEN_TYPES)
    return screen_parties(cube.assign(importer_country=destination), ents,
                          threshold=THRESHOLD, limit=3)


@data.memoize(maxsize=1)
def firm_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(firm edges, firm ids, category graph) of all shipments (derived tables when
    stored, else computed month by month)."""
    from analytics.shipments import aggregate_shipments

    path = data.store_path()
    edges = store.read_derived(path, "shipments_firm_edges")
    cedges = store.read_derived(path, "shipments_category_edges")
    if edges is None or cedges is None:
        codes = category_codes(data.dataset())
        parts = store.table_partitions(path, "shipments")["partition"].tolist()
        agg = aggregate_shipments((store.read_table(path, "shipments", partitions=[p])
                                   for p in parts), codes)
        edges, cedges = agg.edges, agg.category_edges
    ids = firm_ids(edges)
    cgraph = firm_graph(cedges, ids=ids)
    return data.freeze(edges), data.freeze(ids), data.freeze(cgraph)


@data.memoize(maxsize=16)
def inter_table(coalition: str) -> pd.DataFrame:
    _, _, cgraph = firm_tables()
    return data.freeze(intermediaries(cgraph, coalition=_members(coalition)))


@data.memoize(maxsize=1)
def listed_consignees() -> pd.DataFrame:
    """Consignees in destinations of concern resembling listed entities, with firm ids."""
    from analytics.reference import concern_destinations

    ents = data.dataset().entities
    edges, ids, _ = firm_tables()
    sub = edges[edges["importer_country"].isin(concern_destinations())]
    if ents is None or sub.empty:
        return pd.DataFrame(columns=[*SCREEN_TYPES, "firm"])
    scr = screen_parties(sub, ents, roles=("consignee",), threshold=THRESHOLD, limit=1)
    firm = ids.set_index(["name", "country"])["firm"]
    scr["firm"] = firm.reindex(pd.MultiIndex.from_arrays(
        [scr["name"], scr["country"]])).to_numpy()
    return data.freeze(scr.sort_values("value_usd", ascending=False).reset_index(drop=True))


def _hq_map() -> dict[str, str]:
    b = data.dataset().brands
    if b is None:
        return {}
    return {str(k).strip().casefold(): v for k, v in zip(b["brand"], b["hq_country"],
                                                          strict=True)}


@data.memoize(maxsize=16)
def coalition_brands(coalition: str) -> list[str]:
    """Brands (as written in the shipments) with headquarters in the coalition, largest
    first."""
    ov = overview()
    members = set(_members(coalition))
    hq = _hq_map()
    return [b for b in ov["brands"]["brand"] if hq.get(str(b).strip().casefold()) in members]


@data.memoize(maxsize=32)
def _brand_edges(brands: tuple[str, ...]) -> pd.DataFrame:
    frame = store.read_table(data.store_path(), "shipments",
                             columns=["date", "shipper", "dispatch_country", "consignee",
                                      "importer_country", "brand", "value_usd"],
                             isin={"brand": list(brands)})
    return data.freeze(brand_edges(frame, data.dataset().brands))


@data.memoize(maxsize=32)
def _brand_graph(brands: tuple[str, ...]) -> pd.DataFrame:
    """The firm graph of some brands' goods (whatever the target, so built once)."""
    _, ids, _ = firm_tables()
    edges = _brand_edges(brands)
    return edges if edges.empty else data.freeze(firm_graph(edges, ids=ids))


@data.memoize(maxsize=64)
def routes(explore: str, consignee: str | None, brand: str | None, coalition: str):
    """(paths, intermediaries on them, note) of the route explorer."""
    _, ids, _ = firm_tables()
    listed = listed_consignees()
    if explore == "brand":
        if not brand:
            return None, None, "Pick a brand."
        targets = [f for f in listed["firm"].dropna().unique()]
        if not targets:
            return None, None, "No consignee resembles a listed entity."
        edges = _brand_graph((brand,))
        hq = _hq_map().get(brand.strip().casefold(), "unknown")
        source = f"{brand} [{hq}]"
        what = f"{brand} goods to listed consignees"
    else:
        if not consignee:
            return None, None, "Pick a consignee."
        cb = coalition_brands(coalition)
        if not cb:
            return None, None, "No brand of this coalition in the shipments."
        edges = _brand_graph(tuple(cb))
        targets = [consignee]
        source = "coalition brands"
        what = f"coalition-brand goods to {consignee}"
    if edges.empty:
        return None, None, f"No shipments of {what}."
    try:
        paths = brand_paths(edges, targets, k=K_PATHS, source_label=source, ids=ids)
    except (NodeNotFound, AnalysisError):
        return None, None, f"No path of {what}."
    on_path = {f for p in paths["path"] for f in p[1:]}
    inter = inter_table(coalition)
    sub = inter[inter["firm"].isin(on_path)]
    cov = paths.attrs.get("coverage", np.nan)
    note = (f"{len(paths)} largest paths of {what}: {cov:.0%} of "
            f"{format_usd(paths.attrs.get('received', 0))} received"
            if len(paths) else f"No path of {what}.")
    return paths, sub, note


# ------------------------------------------------------------------ charts
def _sel_from_params(p: dict) -> tuple[str, str, str, str, str]:
    ov = overview()
    if ov is None:
        raise ValueError("the store holds no shipments")
    months = ov["months"]
    dest = p.get("destination") or ov["destinations"][0]
    return (dest, p.get("category") or ALL, p.get("from") or months[0],
            p.get("to") or months[-1], p.get("coalition") or "group_a")


@chart("shipments_attribution")
def attribution_chart(params: dict):
    dest, cat, start, end, coal = _sel_from_params(params)
    lang = params.get("lang", "en")
    att = attribution(dest, cat, start, end, coal)
    cats = data.dataset().categories
    what = "all goods" if cat == ALL else category_name(cat, cats, lang)
    from analytics.reference import coalition_label

    return (fig_attribution(att, lang=lang),
            f"{country_name(dest, lang)}'s imports of {what}, {start} to {end}: dispatch, "
            "origin and brand",
            f"Share of the value of customs records; coalition: "
            f"{coalition_label(_coalition_arg(coal))}")


@chart("shipments_routes")
def routes_chart(params: dict):
    lang = params.get("lang", "en")
    coalition = params.get("coalition") or "group_a"
    paths, _, note = routes(params.get("explore") or "consignee", params.get("consignee"),
                            params.get("brand"), coalition)
    inter = inter_table(coalition)
    flagged = set(inter.loc[inter["flag"], "firm"])
    listed = set(listed_consignees()["firm"].dropna())
    fig = fig_firm_paths(paths, lang=lang, highlight=frozenset(flagged | listed))
    return fig, "Firm-level routes", note


# ------------------------------------------------------------------ layout
def _selection(query: dict) -> dict:
    ov = overview()
    months = ov["months"]
    dests = ov["destinations"]
    dest = query_value(query, "destination", "RUS" if "RUS" in dests else dests[0],
                       options=dests)
    cat_opts = category_options()
    cat = query_value(query, "category", ALL, options=cat_opts)
    start = query_value(query, "from", _default_start(months), options=months)
    end = query_value(query, "to", months[-1], options=months)
    if end < start:
        start, end = end, start
    coal = query_value(query, "coalition", "group_a", options=coalition_options())
    explore = query_value(query, "explore", "consignee", options=["consignee", "brand"])
    cons_opts = _consignee_options()
    consignee = query_value(query, "consignee", cons_opts[0]["value"] if cons_opts else None,
                            options=cons_opts, clearable=True)
    brand_opts = _brand_options(coal)
    brand = query_value(query, "brand", brand_opts[0]["value"] if brand_opts else None,
                        options=brand_opts, clearable=True)
    return {"destination": dest, "category": cat, "from": start, "to": end,
            "coalition": coal, "explore": explore, "consignee": consignee, "brand": brand}


def _default_start(months: list[str]) -> str:
    """The last full year's January when there is one, else the first month."""
    if months and months[-1].endswith("-12"):
        jan = months[-1][:4] + "-01"
        if jan in months:
            return jan
    return months[0]


def _consignee_options() -> list[dict]:
    lc = listed_consignees()
    lc = lc[lc["firm"].notna()].drop_duplicates("firm")
    return [{"label": f"{r.firm} ~ {r.candidate} (score {r.score:.0f}, {r.status})",
             "value": r.firm} for r in lc.itertuples()]


def _brand_options(coalition: str) -> list[dict]:
    hq = _hq_map()
    return [{"label": f"{b} [{hq.get(str(b).strip().casefold(), '?')}]", "value": b}
            for b in coalition_brands(coalition)[:300]]


def layout(**query):
    try:
        ov = overview()
    except Exception as err:  # noqa: BLE001 - the page explains instead of failing
        return html.Div([html.H2("Shipments"), _empty_note(f"The store cannot be read "
                                                           f"({err}).")])
    if ov is None:
        return html.Div([html.H2("Shipments"), _empty_note()], id="shipments-empty")
    sel = _selection(query)
    return html.Div([url_location(PAGE), url_state_store(PAGE, sel), _body(sel)])


def _empty_note(reason: str = "This store holds no transaction-level records yet."):
    return card(
        html.P(reason),
        html.P("Load customs records (CSV or Parquet; one row per declaration line) with:"),
        html.Pre("chokepoint ingest shipments records.csv --store STORE \\\n"
                 "  --map date=Date,declaration_id=DeclNo,consignee=Consignee,"
                 "importer_country=Importer,shipper=Shipper,\\\n"
                 "        dispatch_country=DispatchCountry,origin_country=Origin,brand=Brand,"
                 "hs_code=HSCode,value_usd=ValueUSD,quantity=Qty \\\n"
                 "  --brands brands.csv", className="code"),
        html.P("or add synthetic demo shipments to a demo store:"),
        html.Pre("chokepoint demo-shipments --store STORE "
                 "--rows 200000", className="code"),
        html.P("then reload this page. `chokepoint aggregate-shipments --store STORE` "
               "pre-computes the firm network (on Dask; --scheduler ADDRESS for a "
               "cluster).", className="muted"),
        title="No shipments in this store", id_="shipments-empty-note")


def _body(sel: dict):
    ov = overview()
    months = ov["months"]
    dest_opts = [{"label": f"{country_name(c)} ({c})", "value": c}
                 for c in ov["destinations"]]
    return html.Div([
        html.H2("Shipments: dispatch, origin and brand"),
        html.P(f"{ov['rows']:,} transaction-level customs records, {months[0]} to "
               f"{months[-1]}. Goods reaching a destination are attributed three ways: "
               "the country they were dispatched from, their country of origin, and the "
               "headquarters of their brand. Coalition-brand goods dispatched from third "
               "countries are the circumvention signal.", className="muted"),
        html.Div([
            control("Destination", dropdown("shipments-destination", dest_opts,
                                            sel["destination"]), width=220),
            control("Category", dropdown("shipments-category", category_options(),
                                         sel["category"]), width=300),
            control("From", dropdown("shipments-from", months, sel["from"]), width=120),
            control("To", dropdown("shipments-to", months, sel["to"]), width=120),
            control("Coalition", dropdown("shipments-coalition", coalition_options(),
                                          sel["coalition"]), width=330),
        ], className="controls"),
        html.Div(id="shipments-kpis"),
        card(html.Div(id="shipments-attribution-dl"), graph("shipments-attribution"),
             title="Dispatch, origin and brand headquarters"),
        html.Div([
            card(export_bar("shipments-brands"),
                 _table("shipments-brands", BRAND_TYPES, "top_brands.csv", links=("hub",)),
                 title="Top brands per dispatching hub"),
            card(export_bar("shipments-shippers"),
                 _table("shipments-shippers", SHIPPER_TYPES, "top_shippers.csv",
                        links=("hub",)),
                 title="Top shippers per dispatching hub"),
        ], className="grid-2"),
        card(export_bar("shipments-screen"),
             _table("shipments-screen", SCREEN_TYPES, "screening.csv", height=300),
             html.P(f"Shippers and consignees of the selection compared with the entity "
                    f"lists (rapidfuzz token-sort score >= {THRESHOLD}, blocked by country). "
                    "exact: the normalised names are identical; review: similar names. "
                    "Every candidate is shown; none is merged automatically.",
                    className="muted"),
             title="Counterparties resembling listed entities"),
        _explorer(sel),
    ])


def _explorer(sel: dict):
    return card(
        html.Div([
            control("Explore", dcc_radio(sel["explore"]), width=260),
            control("Listed consignee", dropdown("shipments-consignee",
                                                 _consignee_options(), sel["consignee"],
                                                 clearable=True), width=520),
            control("Brand", dropdown("shipments-brand", _brand_options(sel["coalition"]),
                                      sel["brand"], clearable=True), width=300),
        ], className="controls"),
        html.Div(id="shipments-routes-note", className="muted"),
        html.Div(id="shipments-routes-dl"),
        graph("shipments-routes"),
        html.Div([
            html.Div([export_bar("shipments-paths"),
                      _table("shipments-paths", PATH_TYPES, "firm_paths.csv")]),
            html.Div([export_bar("shipments-inter"),
                      _table("shipments-inter", INTER_TYPES, "intermediaries.csv")]),
        ], className="grid-2"),
        html.P("Paths carry brand goods from their first shippers (firms shipping more of "
               "them than they received) through intermediaries to the consignee; amounts "
               "assume proportional mixing inside each firm. Intermediaries receive and "
               "forward goods of the same category; flag: from the coalition to a "
               "destination of concern.", className="muted"),
        title="Firm-level route explorer", id_="shipments-explorer")


def dcc_radio(value: str):
    from dash import dcc

    return dcc.RadioItems(id="shipments-explore", value=value, inline=True,
                          options=[{"label": " coalition brands to a consignee ",
                                    "value": "consignee"},
                                   {"label": " one brand to listed consignees ",
                                    "value": "brand"}])


# ------------------------------------------------------------------ callbacks
def _pct(x: float) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{x:.0%}"


@callback(
    Output("shipments-attribution", "figure"),
    Output("shipments-attribution-dl", "children"),
    Output("shipments-kpis", "children"),
    Output("shipments-brands", "rowData"),
    Output("shipments-shippers", "rowData"),
    Input("shipments-destination", "value"),
    Input("shipments-category", "value"),
    Input("shipments-from", "value"),
    Input("shipments-to", "value"),
    Input("shipments-coalition", "value"),
)
def update_attribution(destination, category, start, end, coalition):
    """Attribution by dispatch, origin and brand HQ, its KPIs, top brands and shippers."""
    if not all((destination, start, end, coalition)):
        return (fig_empty("choose a destination, period and coalition").to_plotly_json(),
                None, None, [], [])
    if end < start:
        start, end = end, start
    params = {"destination": destination, "category": category or ALL, "from": start,
              "to": end, "coalition": coalition}
    shared, title, _ = cached_chart("shipments_attribution", params, as_json=True)
    fig = {**shared, "layout": {**shared["layout"], "title": {"text": title}}}
    att = attribution(destination, category or ALL, start, end, coalition)
    s = att.summary
    kpis = html.Div([
        kpi(format_usd(s["total_value"]), f"{int(s['shipments']):,} shipments",
            "shipments-kpi-total"),
        kpi(_pct(s["third_country_dispatch_share"]), "dispatched from third countries",
            "shipments-kpi-third"),
        kpi(_pct(s["coalition_brand_share"]), "coalition brands",
            "shipments-kpi-brand"),
        kpi(_pct(s["coalition_brand_via_third_share"]),
            "of coalition-brand goods came via third countries", "shipments-kpi-via"),
    ])
    return (fig, download_links("shipments_attribution", params), kpis,
            grid_records(_hub_links(att.top_brands[list(BRAND_TYPES)].round(4))),
            grid_records(_hub_links(att.top_shippers[list(SHIPPER_TYPES)].round(4))))


@callback(
    Output("shipments-screen", "rowData"),
    Input("shipments-destination", "value"),
    Input("shipments-category", "value"),
    Input("shipments-from", "value"),
    Input("shipments-to", "value"),
)
def update_screening(destination, category, start, end):
    """Counterparties of the selection resembling listed entities (a callback of its own:
    fuzzy matching must not hold up the attribution)."""
    if not all((destination, start, end)):
        return []
    if end < start:
        start, end = end, start
    scr = screening(destination, category or ALL, start, end)
    return grid_records(scr.head(300), list(SCREEN_TYPES))


@callback(
    Output("shipments-brand", "options"),
    Input("shipments-coalition", "value"),
)
def update_brand_options(coalition):
    return _brand_options(coalition or "group_a")


@callback(
    Output("shipments-routes", "figure"),
    Output("shipments-routes-dl", "children"),
    Output("shipments-routes-note", "children"),
    Output("shipments-paths", "rowData"),
    Output("shipments-inter", "rowData"),
    Input("shipments-explore", "value"),
    Input("shipments-consignee", "value"),
    Input("shipments-brand", "value"),
    Input("shipments-coalition", "value"),
)
def update_routes(explore, consignee, brand, coalition):
    params = {"explore": explore or "consignee", "consignee": consignee, "brand": brand,
              "coalition": coalition or "group_a"}
    fig, _, note = cached_chart("shipments_routes", params, as_json=True)
    paths, sub, _ = routes(params["explore"], consignee, brand, params["coalition"])
    rows = grid_records(paths[list(PATH_TYPES)].round(4)) if paths is not None else []
    inter = grid_records(sub[list(INTER_TYPES)].round(2)) if sub is not None else []
    return fig, download_links("shipments_routes", params), note, rows, inter


def warm() -> None:
    """Compute the default view, the firm network and its intermediaries for every
    coalition option when the store has shipments."""
    if overview() is None:
        return
    sel = _selection({})
    update_attribution(sel["destination"], sel["category"], sel["from"], sel["to"],
                       sel["coalition"])
    update_screening(sel["destination"], sel["category"], sel["from"], sel["to"])
    update_routes(sel["explore"], sel["consignee"], sel["brand"], sel["coalition"])
    for opt in coalition_options():  # intermediaries and brand graphs of every coalition
        inter_table(opt["value"])
        _brand_graph(tuple(coalition_brands(opt["value"])))


dash.register_page(__name__, path="/shipments", name="Shipments", order=4, layout=layout,
                   title="Shipments - chokepoint-analytics")
