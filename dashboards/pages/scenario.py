"""Scenario (``/scenario``): if coalition K stops exporting category c to destination d.

What the stop removes (goods K ships to d itself), what keeps arriving (K-origin goods
re-exported by third-country hubs), how much could still leak over the remaining routes
(the max-flow from K to d once the direct routes are closed), and the smallest set of
hubs whose closure would stop it (the minimum node cut).
"""

from __future__ import annotations

import dash
import pandas as pd
from dash import Input, Output, callback, html

from analytics import chokepoints as chk
from analytics import diversion
from analytics.errors import AnalysisError, NodeNotFound
from analytics.figures import fig_empty, fig_leak_routes, fig_scenario, format_usd
from analytics.i18n import country_name
from analytics.reference import coalition_label
from dashboards import data
from dashboards.charts import cached_figure, chart
from dashboards.components import (
    SIG3_FORMAT,
    card,
    control,
    country_link,
    download_links,
    dropdown,
    encode_query,
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

PAGE = "scenario"
PRODUCTION = "net_exports"
HUB_COLUMNS = ["hub", "throughput_usd_m", "leak_capacity_usd_m", "k_origin_to_dest_usd_m",
               "share_of_imports", "routes"]

CONTROLS = {"coalition": "scenario-coalition", "category": "scenario-category",
            "destination": "scenario-destination", "year": "scenario-year"}
register_url_state(PAGE, CONTROLS)
register_grid_export("scenario-hubs")


# ------------------------------------------------------------------ analytics
@data.memoize(maxsize=256)
def scenario(year: int, category: str, coalition: str, destination: str) -> dict:
    """Everything the page shows for one (year, category, coalition, destination).

    Returns ``{"error": message}`` when the scenario is undefined, else a dict with
    ``imports``, ``split`` (part, value, share), ``removal`` (the destination's row of
    :func:`analytics.chokepoints.removal_impact`), ``exposure`` (its row of
    :func:`analytics.diversion.diversion_exposure`), ``cut`` (the
    :class:`~analytics.chokepoints.EnforcementCut` after the direct stop), ``hubs``
    (the min-cut hubs with their throughput, leak capacity and current coalition-origin
    value to the destination) and ``members``.
    """
    members = data.coalition_members(coalition)
    cat = data.category_label(category)
    dname = country_name(destination)
    if destination in members:
        return {"error": f"{dname} is a member of the coalition: choose another destination "
                         "or coalition."}
    lay = data.layer_flows(year, category)
    if lay.empty:
        return {"error": f"No flows of {cat} in {year}."}
    model = data.tracing_model(year, category, PRODUCTION)
    present = [m for m in members if m in set(model.nodes)]
    imports = float(lay.loc[lay["importer"] == destination, "value_usd"].sum())
    if imports <= 0:
        return {"error": f"{dname} imports no {cat} in {year}."}
    if not present:
        return {"error": f"No coalition member trades {cat} in {year}."}
    ctry = data.dataset().countries
    try:
        rem = chk.removal_impact(lay, present, model=model, label="K")
        expo = diversion.diversion_exposure(lay, coalition=list(members),
                                            destinations=[destination], model=model,
                                            countries=ctry)
        routes = diversion.diversion_routes(lay, coalition=list(members),
                                            destination=destination, by_origin=False,
                                            model=model, countries=ctry)
        cut = chk.enforcement_cut(lay, list(members), destination, exclude_direct=True,
                                  countries=ctry)
    except (AnalysisError, NodeNotFound) as err:
        return {"error": str(err)}
    rem_row = rem.set_index("destination").loc[destination]
    exp_row = expo.set_index("destination").loc[destination]
    stopped = float(rem_row["direct_lost"])
    leaking = float(exp_row["via_hubs"])
    other = max(imports - stopped - leaking, 0.0)
    split = pd.DataFrame({"part": ["stopped", "leaking", "other"],
                          "value": [stopped, leaking, other]})
    split["share"] = split["value"] / imports

    via = routes[routes["route"] == "via hub"].groupby("hub")["value"].sum()
    inflow: dict[str, float] = {}
    for _, row in cut.flow.items():
        for v, x in row.items():
            inflow[v] = inflow.get(v, 0.0) + float(x)
    hubs = cut.cut_nodes.copy()
    hubs["leak_capacity"] = [inflow.get(h, 0.0) for h in hubs["node"]]
    hubs["k_origin_to_dest"] = [float(via.get(h, 0.0)) for h in hubs["node"]]
    hubs["share_of_imports"] = hubs["k_origin_to_dest"] / imports
    hubs = hubs.sort_values(["leak_capacity", "throughput"], ascending=False,
                            kind="stable").reset_index(drop=True)
    return {"imports": imports, "split": split, "removal": rem_row, "exposure": exp_row,
            "cut": cut, "hubs": hubs, "members": members}


def _default_destination(year: int, category: str | None) -> str | None:
    """"RUS" when it imports, else the highest-risk destination of the default view."""
    importers = data.page_options()["importers"]
    if "RUS" in importers:
        return "RUS"
    scored = data.risk_scores(data.default_year(), DEFAULT_COALITION)
    if category is not None:
        sc = scored[scored["category_id"] == category]
        scored = sc if len(sc) else scored
    if len(scored):
        return str(scored["destination"].iloc[0])
    return sorted(importers)[0] if importers else None


# ------------------------------------------------------------------ charts
def _params(p: dict) -> dict:
    cat = param_category(p)
    year = int(p.get("year") or data.default_year())
    dest = p.get("destination") or _default_destination(year, cat)
    if not dest:
        raise ValueError("no destination")
    return {"category": cat, "year": year, "coalition": p.get("coalition") or DEFAULT_COALITION,
            "destination": dest, "lang": p.get("lang", "en")}


def _short(label_text: str, width: int = 24) -> str:
    """A coalition label short enough for a diagram node ("G7", "Japan's Group A")."""
    head = label_text.split(" (")[0]
    if len(head) <= width:
        return head
    out = ""
    for word in head.split():
        if len(out) + len(word) + 1 > width - 1:
            break
        out = f"{out} {word}".strip()
    return (out.rstrip(" +,&") or head[:width - 1]) + "…"


def _names(p: dict) -> tuple[str, str, str]:
    lang = p["lang"]
    return (data.category_label(p["category"], lang),
            country_name(p["destination"], lang), _short(coalition_label(p["coalition"]), 32))


@chart("scenario_split")
def scenario_split_chart(params: dict):
    p = _params(params)
    cat, dest, coal = _names(p)
    res = scenario(p["year"], p["category"], p["coalition"], p["destination"])
    if "error" in res:
        fig = fig_empty(res["error"], lang=p["lang"])
    else:
        fig = fig_scenario(res["split"], destination=p["destination"], lang=p["lang"])
    return (fig, f"If {coal} stops exporting {cat} to {dest} ({p['year']})",
            f"{dest}'s imports by what the stop does (traced origins, proportional mixing)")


@chart("leak_routes")
def leak_routes_chart(params: dict):
    p = _params(params)
    cat, dest, coal = _names(p)
    res = scenario(p["year"], p["category"], p["coalition"], p["destination"])
    if "error" in res:
        fig = fig_empty(res["error"], lang=p["lang"])
    else:
        fig = fig_leak_routes(res["cut"].flow, members=res["members"],
                              destination=p["destination"], coalition_name=_short(coal, 24),
                              lang=p["lang"])
    return (fig, f"Routes that can still carry {cat} from {coal} to {dest} ({p['year']})",
            "Maximum flow over the observed routes once direct exports stop "
            "(capacity = observed trade value)")


# ------------------------------------------------------------------ layout
def _selection(query: dict) -> dict:
    """Control values from a URL query (validated, defaults for missing keys)."""
    year = select_year(query)
    category = select_category(query)
    return {
        "coalition": select_coalition(query),
        "category": category,
        "destination": query_value(query, "destination", _default_destination(year, category),
                                   options=data.page_options()["countries"]),
        "year": year,
    }


def layout(**query):
    sel = _selection(query)
    return html.Div([url_location(PAGE), url_state_store(PAGE, sel),
                     html.Div(_body(sel), id="scenario-body")])


def _body(sel: dict) -> list:
    year, category = sel["year"], sel["category"]
    coalition, destination = sel["coalition"], sel["destination"]
    dest_opts = data.page_options()["countries"]
    proto = typed_frame({"hub": object, "throughput_usd_m": float,
                         "leak_capacity_usd_m": float, "k_origin_to_dest_usd_m": float,
                         "share_of_imports": float, "routes": object})
    hubs_grid = grid("scenario-hubs", proto, height=360, page_size=10,
                     file_name="min_cut_hubs.csv",
                     link_columns={"hub": "link", "routes": "link"})
    headers = {"hub": "Hub", "throughput_usd_m": "Hub imports (USD m)",
               "leak_capacity_usd_m": "Leak capacity through hub (USD m)",
               "k_origin_to_dest_usd_m": "Coalition-origin goods to destination today (USD m)",
               "share_of_imports": "Share of destination's imports", "routes": "Routes"}
    for d in hubs_grid.columnDefs:
        d["headerName"] = headers.get(d["field"], d["headerName"])
        d["wrapHeaderText"] = True
        d["autoHeaderHeight"] = True
        if d["field"] == "share_of_imports":
            d["valueFormatter"] = {"function": "d3.format('.2%')(params.value)"}
        elif d["field"].endswith("_usd_m"):
            d["valueFormatter"] = {"function": SIG3_FORMAT}
        if d["field"] in ("hub", "routes"):
            d.update(minWidth=190, flex=2)
    hubs_grid.dashGridOptions = {**hubs_grid.dashGridOptions,
                                 "rowSelection": {"mode": "singleRow", "checkboxes": False,
                                                  "enableClickSelection": True}}
    return [
        html.H2("Scenario: a coalition stops exporting"),
        html.P("If the coalition stops exporting the category directly to the destination: "
               "what supply is lost, what still arrives through third-country hubs, how much "
               "could leak over the remaining routes, and which hubs to watch.",
               className="muted"),
        html.Div([
            coalition_control("scenario-coalition", coalition, width=300),
            category_control("scenario-category", category),
            control("Destination", dropdown("scenario-destination", dest_opts, destination),
                    width=240),
            year_control("scenario-year", year, width=100),
        ], className="controls"),
        html.Div(id="scenario-kpis", className="card"),
        html.Div([
            card(html.Div(id="scenario-split-dl"), graph("scenario-split", height=340),
                 html.P("Stopped: everything coalition members ship to the destination. "
                        "Still arriving: goods made in the coalition that hubs re-export "
                        "(traced by proportional mixing). The rest is made elsewhere.",
                        className="muted"),
                 title="What the stop removes, and what keeps arriving"),
            card(html.Div(id="scenario-routes-dl"), graph("scenario-routes", height=460),
                 html.P("Max-flow from the coalition to the destination after the direct "
                        "routes close, each route's capacity being its observed trade "
                        "value: an upper bound of what could leak.", className="muted"),
                 title="Leak routes after the direct stop"),
        ], className="grid-2"),
        card(
            html.P(id="scenario-hubs-note", className="muted"),
            export_bar("scenario-hubs"),
            hubs_grid,
            html.P("Minimum node cut: the hubs whose closure (end-use checks, catch-all "
                   "controls, outreach) would stop every remaining route. Throughput: the "
                   "hub's imports of the category; leak capacity: the part of the max-flow "
                   "passing through it; coalition-origin to destination: what it re-exports "
                   "to the destination today (last hop).", className="muted"),
            title="Hubs to watch (minimum cut)",
        ),
    ]


_figure = cached_figure  # shared between callers: never modify the figure


# ------------------------------------------------------------------ callbacks
def _pct(x: float) -> str:
    return f"{x:.1%}"


@callback(
    Output("scenario-kpis", "children"),
    Output("scenario-split", "figure"),
    Output("scenario-split-dl", "children"),
    Output("scenario-routes", "figure"),
    Output("scenario-routes-dl", "children"),
    Output("scenario-hubs", "rowData"),
    Output("scenario-hubs-note", "children"),
    Input("scenario-coalition", "value"),
    Input("scenario-category", "value"),
    Input("scenario-destination", "value"),
    Input("scenario-year", "value"),
)
def update_scenario(coalition, category, destination, year):
    if not (coalition and category and destination and year is not None):
        empty = fig_empty("select a coalition, a category, a destination and a year")
        return (html.P("Select a coalition, a category, a destination and a year.",
                       className="muted"), empty, None, empty, None, [], "")
    year = int(year)
    params = {"coalition": coalition, "category": category, "destination": destination,
              "year": year}
    fig_s = _figure("scenario_split", params)
    fig_r = _figure("leak_routes", params)
    dl_s, dl_r = download_links("scenario_split", params), download_links("leak_routes", params)
    res = scenario(year, category, coalition, destination)
    if "error" in res:
        msg = html.P(res["error"], className="muted", id="scenario-error")
        return msg, fig_s, dl_s, fig_r, dl_r, [], res["error"]
    rem, expo, cut, imports = res["removal"], res["exposure"], res["cut"], res["imports"]
    dname = country_name(destination)
    kpis = html.Div([
        kpi(format_usd(imports), f"{dname}'s imports, {year}", "scenario-kpi-imports"),
        kpi(_pct(rem["direct_share"]), "supply lost: shipped directly by the coalition",
            "scenario-kpi-direct"),
        kpi(_pct(rem["traced_share"]), "coalition-origin share of supply (traced)",
            "scenario-kpi-traced"),
        kpi(format_usd(expo["via_hubs"]), "coalition-origin goods arriving via hubs today",
            "scenario-kpi-via"),
        kpi(format_usd(cut.value), "leak capacity after the stop (max-flow)",
            "scenario-kpi-capacity"),
        kpi(f"{len(res['hubs'])}", "hubs in the minimum cut", "scenario-kpi-hubs"),
    ])
    hubs = res["hubs"]
    div_q = encode_query({"destination": destination, "category": category,
                          "coalition": coalition, "year": year})
    table = pd.DataFrame({
        "hub": [country_link(h, with_code=True) for h in hubs["node"]],
        "throughput_usd_m": (hubs["throughput"] / 1e6).to_numpy(),
        "leak_capacity_usd_m": (hubs["leak_capacity"] / 1e6).to_numpy(),
        "k_origin_to_dest_usd_m": (hubs["k_origin_to_dest"] / 1e6).to_numpy(),
        "share_of_imports": hubs["share_of_imports"].round(5).to_numpy(),
        "routes": [f"[diversion routes](/diversion{div_q})"] * len(hubs),
    })
    note = (f"Closing these {len(hubs)} hub(s) would stop every remaining route from "
            f"{coalition_label(coalition)} to {dname}. ")
    if expo["via_hubs"] > 0:
        note += (f"The leak capacity ({format_usd(cut.value)}) is "
                 f"{cut.value / expo['via_hubs']:.1f}x the coalition-origin value observed "
                 f"via hubs ({format_usd(expo['via_hubs'])}).")
    else:
        note += ("No coalition-origin value is traced via hubs today (under the net-exports "
                 "assumption a member that imports more than it exports produces none); the "
                 f"leak capacity ({format_usd(cut.value)}) bounds all goods the members ship.")
    return kpis, fig_s, dl_s, fig_r, dl_r, grid_records(table, HUB_COLUMNS), note


def warm() -> None:
    """Compute the default scenario once at start-up."""
    sel = _selection({})
    if sel["category"] and sel["destination"]:
        update_scenario(sel["coalition"], sel["category"], sel["destination"], sel["year"])


dash.register_page(__name__, path="/scenario", name="Scenario", order=3, layout=layout,
                   title="Scenario - chokepoint-analytics")
