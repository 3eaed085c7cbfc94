"""Diversion (``/diversion``): how a coalition's goods reach a destination, through which
hubs, and what changed after a policy event.

The overview's risk matrix drills down here with
``?destination=RUS&category=chpl_tier1&coalition=group_a&year=2023``; ``event`` selects the
policy event whose year splits the pre/post comparisons. The difference-in-differences
(a fixed-effects regression, ~0.5 s per category) has its own callback so it never
blocks the rest of the page; :func:`warm` computes it for the default coalition at
start-up.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor

import dash
import numpy as np
import pandas as pd
from dash import Input, Output, State, callback, dcc, html, no_update

from analytics import tracing
from analytics.diversion import diversion_routes, hub_ranking, route_paths, yearly_route_values
from analytics.errors import AnalysisError, ChokepointError, NodeNotFound
from analytics.eventstudy import diff_in_diff, event_year, prepost_growth
from analytics.figures import fig_did_forest, fig_empty, fig_route_sankey, fig_route_timeseries
from analytics.figures.diversion import format_usd
from analytics.i18n import category_name, country_name
from analytics.network import layer
from analytics.reference import coalition_label, concern_destinations
from dashboards import data
from dashboards.charts import cached_figure, chart
from dashboards.components import (
    SIG3_FORMAT,
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
    category_control,
    coalition_control,
    default_category,
    param_category,
    select_category,
    select_coalition,
    select_year,
    year_control,
)

PAGE = "diversion"
#: table columns and their types (the column definitions are static; callbacks only
#: send rows)
HUB_TYPES = {"hub": str, "post_value": float, "pre_value": float, "growth": float,
             "z_score": float, "share": float, "categories": int, "eaeu": bool,
             "hub_prior": bool, "listed_entities": int}
PATH_TYPES = {"rank": int, "route": str, "hops": int, "hub": str, "amount": float,
              "share": float}
PREPOST_TYPES = {"hub": str, "pre_mean": float, "post_mean": float, "growth": float,
                 "z_score": float}
HUB_COLUMNS = list(HUB_TYPES)
PATH_COLUMNS = list(PATH_TYPES)
PREPOST_COLUMNS = list(PREPOST_TYPES)
#: paths listed in the multi-hop table
K_PATHS = 10
#: the tracing assumption behind every traced value on the page
PRODUCTION = "net_exports"
#: event-dropdown value meaning "no event: split pre/post at the middle data year"
NO_EVENT = "none"

CONTROLS = {"destination": "diversion-destination", "category": "diversion-category",
            "coalition": "diversion-coalition", "year": "diversion-year",
            "event": "diversion-event"}
register_url_state(PAGE, CONTROLS)
register_grid_export("diversion-hubs")
register_grid_export("diversion-paths")
register_grid_export("diversion-prepost")


# ------------------------------------------------------------------ memoized analytics
_coalition_arg = data.coalition_arg


def _valid_coalition(coalition) -> bool:
    """Whether ``coalition`` (as sent by the browser) is a preset or a list of known ISO3
    codes: nothing is computed or queued for anything else."""
    if not isinstance(coalition, str) or not coalition or len(coalition) > 2000:
        return False
    try:
        data.coalition_members(coalition)
    except ChokepointError:
        return False
    return True


def _invalid(category, coalition) -> str | None:
    """Why a (category, coalition) sent by the browser cannot be estimated, else None."""
    if not _valid_coalition(coalition):
        return _unknown_coalition(coalition)
    if category not in _category_ids():
        return f"Unknown category {str(category)[:40]!r}."
    return None


def _unknown_coalition(coalition) -> str:
    return (f"Unknown coalition {str(coalition)[:40]!r}: choose a preset or a list of ISO3 "
            "codes.")


def _coalition_key(coalition: str) -> str:
    """One spelling per (valid) coalition: a preset's name, else its members, sorted (so
    ``usa,JPN`` and ``JPN,USA`` share their cached results and background job)."""
    from analytics.reference import COALITION_PRESETS

    if coalition in COALITION_PRESETS:
        return coalition
    return ",".join(data.coalition_members(coalition))


@data.memoize(maxsize=64)
def _layer_model(year: int, category: str):
    """One (year, category) layer and its tracing model; (None, None) when empty."""
    try:
        lay = layer(data.cflows(), int(year), category)
    except AnalysisError:
        return None, None
    return lay, tracing.build_model(lay, PRODUCTION)


@data.memoize(maxsize=256)
def _routes(year: int, category: str, coalition: str, destination: str):
    """Coalition-origin content of the destination's imports by (origin, last hop)."""
    lay, model = _layer_model(year, category)
    if model is None:
        return None
    try:
        return diversion_routes(lay, coalition=_coalition_arg(coalition),
                                destination=destination, by_origin=True,
                                countries=data.dataset().countries, model=model)
    except NodeNotFound:
        return None


@data.memoize(maxsize=256)
def _paths(year: int, category: str, coalition: str, destination: str):
    lay, model = _layer_model(year, category)
    if model is None:
        return None
    try:
        return route_paths(lay, coalition=_coalition_arg(coalition), destination=destination,
                           k=K_PATHS, countries=data.dataset().countries, model=model)
    except (NodeNotFound, AnalysisError):
        return None


@data.memoize(maxsize=64)
def _yearly_all(coalition: str, category: str) -> pd.DataFrame:
    """Coalition-origin value reaching every importer per year and last hop (one tracing
    model per year serves all destinations, so this costs what one destination costs)."""
    cf = data.cflows()
    return yearly_route_values(
        cf, coalition=_coalition_arg(coalition), destinations=sorted(cf["importer"].unique()),
        categories=[category], production=PRODUCTION, countries=data.dataset().countries)


@data.memoize(maxsize=256)
def _yearly(coalition: str, destination: str, category: str) -> pd.DataFrame:
    """Coalition-origin value reaching the destination per year and last hop."""
    y = _yearly_all(coalition, category)
    return y[y["destination"] == destination].reset_index(drop=True)


@data.memoize(maxsize=128)
def _hubs(coalition: str, destination: str, category: str, year0: int):
    """Hub ranking (DataFrame) or the reason there is none (str)."""
    ds = data.dataset()
    yearly = _yearly(coalition, destination, category)
    if yearly.empty or not (~yearly["member"]).any():
        return "no coalition-origin goods reach this destination through third countries"
    try:
        return hub_ranking(data.cflows(), coalition=_coalition_arg(coalition),
                           destination=destination, event_year=int(year0),
                           categories=[category], countries=ds.countries,
                           entities=ds.entities, production=PRODUCTION, yearly=yearly)
    except AnalysisError as err:
        return str(err)


# The regression takes 0.3-1 s on a cache miss: it runs on a background thread while the
# page shows "estimating" and polls (dcc.Interval), so no callback waits for it. The job
# table is bounded: the last DID_MAX_JOBS selections (LRU; their results stay memoized by
# _did), of which at most DID_MAX_PENDING queued or running at a time per worker process;
# a request beyond that is not queued (the page keeps polling until a slot frees). Only
# validated coalitions, known categories and data years get here.
DID_MAX_JOBS = 8
DID_MAX_PENDING = 2
_DID_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="did")
_DID_JOBS: OrderedDict[tuple, Future] = OrderedDict()
_DID_LOCK = threading.Lock()


def _did_job(coalition: str, category: str, year0: int) -> Future | None:
    """The background job estimating a selection (None while the queue is full)."""
    key = (data.snapshot(), coalition, category, int(year0))
    with _DID_LOCK:
        job = _DID_JOBS.get(key)
        if job is not None:
            _DID_JOBS.move_to_end(key)
            return job
        if sum(not j.done() for j in _DID_JOBS.values()) >= DID_MAX_PENDING:
            return None
        job = _DID_POOL.submit(_did, coalition, category, int(year0))
        _DID_JOBS[key] = job
        for old in [k for k, j in _DID_JOBS.items() if j.done()]:
            if len(_DID_JOBS) <= DID_MAX_JOBS:
                break
            del _DID_JOBS[old]
        return job


def wait_for_background(timeout: float | None = None) -> None:
    """Wait for the queued regressions to finish (for tests and benchmarks)."""
    with _DID_LOCK:
        jobs = list(_DID_JOBS.values())
    for job in jobs:
        job.exception(timeout=timeout)  # waits; a failure is reported by the page


def _precomputed_did(coalition: str, category: str, year0: int) -> pd.DataFrame | None:
    """The store's precomputed estimates (derived table ``did``) for this selection."""
    pre = data.derived("did")
    if pre is None:
        return None
    hit = pre[(pre["coalition"] == coalition) & (pre["category_id"] == category)
              & (pre["event_year"] == int(year0))]
    return hit.drop(columns="coalition").reset_index(drop=True) if len(hit) else None


def _did_ready(coalition: str, category: str, event: str | None) -> bool:
    """Whether the estimates can be shown without waiting (an invalid selection is
    "ready": it shows a message and queues nothing)."""
    if not (_valid_coalition(coalition) and category in _category_ids()
            and _is_outbound(category)):
        return True
    year0 = _split_year(event)
    if _precomputed_did(coalition, category, year0) is not None:
        return True
    job = _did_job(_coalition_key(coalition), category, year0)
    return job is not None and job.done()


@data.memoize(maxsize=256)
def _did(coalition: str, category: str, year0: int):
    """(estimates, messages) of the difference-in-differences; estimates None on failure.

    The store's precomputed estimates (derived table ``did``) serve the default coalition.
    """
    hit = _precomputed_did(coalition, category, year0)
    if hit is not None:
        return hit, ()
    try:
        out = diff_in_diff(data.dataset(), coalition=_coalition_arg(coalition),
                           categories=[category], year=int(year0))
    except (AnalysisError, ValueError, np.linalg.LinAlgError) as err:
        return None, (str(err),)
    if out.empty:
        return out, ("too few observations (or no candidate hub with post-event trade) for "
                     "the regression",)
    return out, ()


# ------------------------------------------------------------------ events and defaults
def _concerns(spec, value: str) -> bool:
    s = str(spec)
    return s == "all" or value in s.split(";")


@data.memoize(maxsize=256)
def _events_for(destination: str, category: str | None = None) -> pd.DataFrame:
    """Events whose categories are 'all' or include ``category`` (any category when None)
    and whose destinations are 'all' or include ``destination``, by date."""
    ev = data.dataset().events
    if category is not None:
        ev = ev[ev["categories"].apply(lambda s: _concerns(s, category))]
    hit = ev[ev["destinations"].apply(lambda s: _concerns(s, destination))]
    return hit.sort_values("date").reset_index(drop=True)


def _event_options(destination: str, category: str | None = None) -> list[dict]:
    """The events concerning the destination and the category, then "no event"."""
    opts = []
    for r in _events_for(destination, category).itertuples(index=False):
        measure = str(r.measure)
        measure = measure if len(measure) <= 80 else measure[:79].rstrip() + "…"
        opts.append({"label": f"{pd.Timestamp(r.date):%Y-%m-%d} · {r.jurisdiction} · "
                              f"{measure}", "value": r.event_id})
    ys = data.years()
    opts.append({"label": f"No event (split at {ys[len(ys) // 2]})", "value": NO_EVENT})
    return opts


#: the kinds of event that split the pre/post comparison first, by category direction
_EVENT_KINDS = {"outbound": ("sanctions", "outbound_control"),
                "inbound": ("inbound_control",)}


@data.memoize(maxsize=256)
def _default_event(destination: str, category: str | None = None) -> str:
    """The policy event splitting the pre/post comparison of (destination, category).

    Among the events concerning both (:func:`_events_for`), the first of the kinds that
    control the category's direction (sanctions and outbound controls for an outbound
    category, e.g. the 2022 sanctions on Russia; inbound controls for an inbound one,
    e.g. China's graphite control of 2023-12-01), else the first event; :data:`NO_EVENT`
    when none concerns them. An event that leaves no data year before or after it (a
    store of other years than the demo world's) gives way to the next one that splits
    the store's years, in the same order."""
    ev = _events_for(destination, category)
    if ev.empty:
        return NO_EVENT
    kinds = _EVENT_KINDS["outbound" if category is None or _is_outbound(category)
                         else "inbound"]
    preferred = ev["kind"].isin(kinds) if "kind" in ev else pd.Series(False, index=ev.index)
    ordered = [str(e) for e in pd.concat([ev.loc[preferred, "event_id"],
                                          ev.loc[~preferred, "event_id"]])]
    return next((e for e in ordered if _splits(e)), ordered[0])


def _splits(event: str) -> bool:
    """Whether the store has data years both before and from the event's split year."""
    try:
        year0 = event_year(data.dataset(), event)[0]
    except AnalysisError:
        return False
    ys = data.years()
    return any(y < year0 for y in ys) and any(y >= year0 for y in ys)


def _has_event(event: str | None) -> bool:
    return bool(event) and event != NO_EVENT


def _split_year(event: str | None) -> int:
    """First post-event year of ``event`` (the middle data year when there is none)."""
    if _has_event(event):
        try:
            return event_year(data.dataset(), event)[0]
        except AnalysisError:
            pass
    ys = data.years()
    return ys[len(ys) // 2]


@data.memoize(maxsize=1)
def _destination_options() -> list[dict]:
    """Every importer in the category flows (a destination needs imports)."""
    return data.country_options(sorted(data.cflows()["importer"].unique()))


_category_ids = data.category_ids
_default_category = default_category


def _default_destination(year: int, coalition: str) -> str | None:
    importers = set(data.cflows()["importer"])
    if "RUS" in importers:
        return "RUS"
    scored = data.risk_scores(int(year), coalition)
    if scored.empty:
        return sorted(importers)[0] if importers else None
    concern = set(concern_destinations(data.dataset().countries))
    sub = scored[scored["destination"].isin(concern)]
    sub = sub if len(sub) else scored
    return str(sub.sort_values("risk", ascending=False)["destination"].iloc[0])


@data.memoize(maxsize=64)
def _is_outbound(category: str) -> bool:
    cats = data.dataset().categories
    if "direction" not in cats:
        return True
    row = cats[cats["category_id"] == category]
    return row.empty or row["direction"].iloc[0] != "inbound"


def _params(p: dict) -> tuple[str, str, str, int, str | None]:
    """(destination, category, coalition, year, event) from chart params / the URL."""
    year = int(p.get("year") or data.default_year())
    coalition = p.get("coalition") or "group_a"
    category = param_category(p)
    destination = p.get("destination") or _default_destination(year, coalition)
    event = p.get("event") or _default_event(destination, category)  # NO_EVENT stays
    if year not in data.years():
        raise ValueError(f"no data for {year}; years: {data.years()}")
    return destination, category, coalition, year, event


def _names(destination: str, category: str, lang: str = "en") -> tuple[str, str]:
    return (country_name(destination, lang),
            category_name(category, data.dataset().categories, lang))


# ------------------------------------------------------------------ charts
@chart("route_sankey")
def route_sankey_chart(params: dict):
    dest, cat, coalition, year, _ = _params(params)
    lang = params.get("lang", "en")
    dname, cname = _names(dest, cat, lang)
    routes = _routes(year, cat, coalition, dest)
    fig = (fig_route_sankey(routes, lang=lang) if routes is not None
           else fig_empty(f"{dname} has no imports of {cname} in {year}", lang=lang))
    return (fig, f"How coalition-origin {cname} reaches {dname}, {year}",
            f"Traced origin content of {dname}'s imports by origin and last-hop partner "
            f"(proportional mixing); coalition: {coalition_label(_coalition_arg(coalition))}")


def _event_rows(destination: str, category: str, event: str | None) -> pd.DataFrame:
    """The events drawn on the time series: those concerning the destination and the
    category, and the selected event."""
    ev = _events_for(destination, category)
    if _has_event(event) and event not in set(ev["event_id"]):
        every = data.dataset().events
        ev = pd.concat([ev, every[every["event_id"] == event]], ignore_index=True)
    return ev


@chart("route_timeseries")
def route_timeseries_chart(params: dict):
    dest, cat, coalition, _, event = _params(params)
    lang = params.get("lang", "en")
    dname, cname = _names(dest, cat, lang)
    fig = fig_route_timeseries(_yearly(coalition, dest, cat),
                               events=_event_rows(dest, cat, event), selected_event=event,
                               lang=lang)
    return (fig, f"Coalition-origin {cname} reaching {dname}: direct vs via hubs",
            "Traced coalition-origin value by last-hop partner per year; vertical lines: "
            "policy events concerning the destination and category")


def _did_result(coalition: str, cat: str, event: str | None):
    if not _valid_coalition(coalition):
        return None, (f"unknown coalition {str(coalition)[:40]!r}",)
    if cat not in _category_ids():
        return None, (f"unknown category {str(cat)[:40]!r}",)
    if not _is_outbound(cat):
        return None, ("the difference-in-differences tests outbound-controlled categories; "
                      "this category is an inbound dependency",)
    return _did(_coalition_key(coalition), cat, _split_year(event))


@chart("did_forest")
def did_forest_chart(params: dict):
    _, cat, coalition, _, event = _params(params)
    lang = params.get("lang", "en")
    cname = category_name(cat, data.dataset().categories, lang)
    est, msgs = _did_result(coalition, cat, event)
    year0 = _split_year(event)
    fig = (fig_did_forest(est, lang=lang) if est is not None and len(est)
           else fig_empty("; ".join(msgs) or "no estimates for this selection", lang=lang))
    return (fig, f"Change in coalition exports of {cname} to hubs from {year0}",
            f"Difference-in-differences: effect on log exports relative to control "
            f"destinations and products, 95 % CI; first post-event year {year0}; coalition: "
            f"{coalition_label(_coalition_arg(coalition))}")


def _figure(chart_id: str, params: dict) -> dict:
    """A registered chart as a plotly dict, memoized per parameters (callbacks only read
    it; building the figure object costs more than the analytics once they are cached)."""
    return cached_figure(chart_id, params, as_json=True)


# ------------------------------------------------------------------ layout
def layout(**query):
    body, sel = _body(query)
    return html.Div([url_location(PAGE), url_state_store(PAGE, sel),
                     html.Div(body, id=f"{PAGE}-body")])


def _body(query: dict):
    year, coalition = select_year(query), select_coalition(query)
    category = select_category(query)
    dest_opts = _destination_options()
    destination = query_value(query, "destination", None, options=dest_opts)
    if destination is None:
        destination = _default_destination(year, coalition)
    ev_opts = _event_options(destination, category) if destination else []
    event = query_value(query, "event", None, options=ev_opts)
    if event is None and destination:
        event = _default_event(destination, category)
    sel = {"destination": destination, "category": category, "coalition": coalition,
           "year": year, "event": event}
    body = html.Div([
        html.H2("Diversion routes"),
        html.P("How the coalition's goods of a technology category reach a destination: "
               "directly, through coalition partners, or through third-country hubs; which "
               "hubs grew after a policy event, and by how much beyond comparable trade.",
               className="muted"),
        html.Div([
            control("Destination", dropdown("diversion-destination", dest_opts, destination),
                    width=220),
            category_control("diversion-category", category, width=330),
            coalition_control("diversion-coalition", coalition, width=300),
            year_control("diversion-year", year, width=100),
            control("Policy event (splits pre/post)",
                    dropdown("diversion-event", ev_opts, event), width=460),
        ], className="controls"),
        html.Div(id="diversion-kpis", style={"marginBottom": "12px"}),
        card(html.Div(id="diversion-sankey-dl"), graph("diversion-sankey"),
             html.P("Left: coalition origins; middle: the last country that shipped the "
                    "goods to the destination; direct shipments go straight to the "
                    "destination. Values are the traced coalition-origin content of the "
                    "destination's imports (proportional mixing: each country re-exports "
                    "its pooled supply in proportion). Small origins and hubs are grouped "
                    "as Others.", className="muted"),
             title="How coalition-origin goods reach the destination"),
        card(export_bar("diversion-hubs"),
             _table("diversion-hubs", _hub_defs(), height=380,
                    file_name="diversion_hubs.csv"),
             html.P(id="diversion-hubs-note", className="muted"),
             title="Hubs carrying coalition goods to the destination"),
        card(html.Div(id="diversion-timeseries-dl"), graph("diversion-timeseries"),
             html.P("Vertical lines: policy events concerning the destination and the "
                    "category (hover the triangles for details); the selected event is "
                    "drawn in orange.", className="muted"),
             title="Coalition-origin value arriving per year, by last hop"),
        card(export_bar("diversion-paths"),
             _table("diversion-paths", _path_defs(), height=300,
                    file_name="diversion_paths.csv"),
             html.P(id="diversion-paths-note", className="muted"),
             title=f"The {K_PATHS} largest multi-hop paths"),
        card(html.Div([
            html.Div([html.Div(id="diversion-did-dl"), graph("diversion-did"),
                      html.P(id="diversion-did-note", className="muted"),
                      dcc.Interval(id="diversion-did-poll", interval=400, disabled=True)]),
            html.Div([export_bar("diversion-prepost"),
                      _table("diversion-prepost", _prepost_defs(), height=420,
                             file_name="diversion_prepost.csv"),
                      html.P(id="diversion-prepost-note", className="muted")]),
        ], className="grid-2"), title="Did exports to hubs surge after the event?"),
    ])
    return body, sel


# ------------------------------------------------------------------ callbacks
@callback(
    Output("diversion-event", "options"),
    Output("diversion-event", "value"),
    Input("diversion-destination", "value"),
    Input("diversion-category", "value"),
    State("diversion-event", "value"),
    prevent_initial_call=True,
)
def update_events(destination, category, current):
    """Events concerning the destination and the category; keep the selected one when it
    still applies."""
    if not destination:
        return [], None
    if category not in _category_ids():
        category = None
    opts = _event_options(destination, category)
    if current in {o["value"] for o in opts}:
        return opts, no_update
    return opts, _default_event(destination, category)


_PCT = "params.value == null ? '' : d3.format('.1%')(params.value)"
_GROWTH = "params.value == null ? 'new' : d3.format('+,.0%')(params.value)"
_NUM1 = "params.value == null ? '' : d3.format(',.1f')(params.value)"
#: USD m values: three significant digits, so a small flow is not shown as 0.0
_USD_M = SIG3_FORMAT


def _col_defs(types: dict, headers: dict[str, str], formats: dict[str, str],
              links: tuple[str, ...] = (), widths: dict[str, int] | None = None) -> list[dict]:
    """Column definitions of a typed table (number formats, headers, markdown links)."""
    defs = grid("x", typed_frame(types), columns=list(types)).columnDefs
    for d in defs:
        f = d["field"]
        d.update(wrapHeaderText=True, autoHeaderHeight=True)
        if f in headers:
            d["headerName"] = headers[f]
        if f in formats:
            d["valueFormatter"] = {"function": formats[f]}
        if f in links:
            d["cellRenderer"] = "markdown"
        if widths and f in widths:
            d["minWidth"] = widths[f]
    return defs


@functools.cache
def _hub_defs() -> list[dict]:
    return _col_defs(HUB_TYPES,
                     {"post_value": "post (USD m/yr)", "pre_value": "pre (USD m/yr)",
                      "z_score": "z-score", "share": "share of via-hub flow",
                      "categories": "surging categories", "eaeu": "EAEU",
                      "hub_prior": "known hub", "listed_entities": "listed entities"},
                     {"post_value": _USD_M, "pre_value": _USD_M, "growth": _GROWTH,
                      "z_score": _NUM1, "share": _PCT},
                     links=("hub",), widths={"hub": 200, "share": 150, "categories": 140,
                                             "listed_entities": 120})


@functools.cache
def _path_defs() -> list[dict]:
    return _col_defs(PATH_TYPES, {"amount": "amount (USD m)",
                                  "share": "share of coalition-origin content"},
                     {"amount": _USD_M, "share": _PCT},
                     widths={"route": 320, "share": 200, "rank": 70, "hops": 70})


@functools.cache
def _prepost_defs() -> list[dict]:
    return _col_defs(PREPOST_TYPES, {"pre_mean": "pre (USD m/yr)",
                                     "post_mean": "post (USD m/yr)", "z_score": "z-score"},
                     {"pre_mean": _USD_M, "post_mean": _USD_M, "growth": _GROWTH,
                      "z_score": _NUM1}, links=("hub",), widths={"hub": 170})


def _table(id_: str, defs: list[dict], *, height: int, file_name: str):
    g = grid(id_, columns=[d["field"] for d in defs], height=height, file_name=file_name)
    g.columnDefs = defs
    return g


def _link(iso3: str) -> str:
    return country_link(iso3, with_code=True)


def _kpis(routes, dest: str, cat: str, year: int) -> html.Div:
    dname, cname = _names(dest, cat)
    if routes is None:
        return html.Div([kpi("-", f"{dname}'s imports of {cname}, {year}",
                             "diversion-kpi-imports"),
                         html.P(f"{dname} has no imports of {cname} in {year}.",
                                className="muted")])
    imports = float(routes.attrs["imports"])
    content = float(routes.attrs["coalition_content"])
    via = float(routes.loc[routes["route"] == "via hub", "value"].sum())
    hubs = routes[routes["route"] == "via hub"].groupby("hub")["value"].sum()
    top = (f"{country_name(hubs.idxmax())} ({hubs.max() / content:.0%})"
           if len(hubs) and content > 0 else "-")
    return html.Div([
        kpi(format_usd(imports), f"{dname}'s imports of {cname}, {year}",
            "diversion-kpi-imports"),
        kpi(f"{format_usd(content)} ({content / imports:.1%})" if imports else "-",
            "coalition-origin content (traced) and its share of imports",
            "diversion-kpi-content"),
        kpi(f"{via / imports:.1%}" if imports else "-",
            "diversion exposure: coalition goods via non-coalition hubs / imports",
            "diversion-kpi-exposure"),
        kpi(top, "top hub (share of coalition-origin content)", "diversion-kpi-hub"),
    ])


@callback(
    Output("diversion-kpis", "children"),
    Output("diversion-sankey", "figure"),
    Output("diversion-sankey-dl", "children"),
    Output("diversion-paths", "rowData"),
    Output("diversion-paths-note", "children"),
    Input("diversion-destination", "value"),
    Input("diversion-category", "value"),
    Input("diversion-coalition", "value"),
    Input("diversion-year", "value"),
)
def update_routes(destination, category, coalition, year):
    """KPIs, the route Sankey and the top multi-hop paths for the selected year."""
    if not (destination and category and coalition and year):
        msg = "Select a destination, a category, a coalition and a year."
        return html.P(msg, className="muted"), fig_empty(msg), None, [], ""
    if not _valid_coalition(coalition):
        msg = _unknown_coalition(coalition)
        return html.P(msg, className="muted"), fig_empty(msg), None, [], ""
    params = {"destination": destination, "category": category, "coalition": coalition,
              "year": year}
    fig = _figure("route_sankey", params)
    routes = _routes(int(year), category, coalition, destination)
    paths = _paths(int(year), category, coalition, destination)
    if paths is None or paths.empty:
        rows, note = [], "No coalition-origin paths reach the destination."
    else:
        rows = grid_records(paths.assign(amount=paths["amount"] / 1e6), PATH_COLUMNS)
        cov = paths.attrs.get("coverage", float("nan"))
        note = (f"The {len(paths)} paths carry {cov:.0%} of the coalition-origin content of "
                f"{country_name(destination)}'s imports "
                f"({format_usd(paths.attrs.get('coalition_content', 0.0))}); longer paths "
                "and cycles carry the rest. Amounts are exact under proportional mixing.")
    return (_kpis(routes, destination, category, int(year)), fig,
            download_links("route_sankey", params), rows, note)


def _prepost_hubs(coalition: str, hubs) -> list[str]:
    """Candidate hubs for the quick screen: the curated hub prior plus the hubs that
    carry coalition goods to the destination (largest first), less coalition members."""
    c = data.dataset().countries
    prior = set(c.loc[c["hub"].astype(bool), "iso3"]) if "hub" in c else set()
    seen = list(hubs["hub"].head(10)) if isinstance(hubs, pd.DataFrame) else []
    return sorted((prior | set(seen)) - set(data.coalition_members(coalition)))


@callback(
    Output("diversion-hubs", "rowData"),
    Output("diversion-hubs-note", "children"),
    Output("diversion-timeseries", "figure"),
    Output("diversion-timeseries-dl", "children"),
    Output("diversion-prepost", "rowData"),
    Output("diversion-prepost-note", "children"),
    Input("diversion-destination", "value"),
    Input("diversion-category", "value"),
    Input("diversion-coalition", "value"),
    Input("diversion-event", "value"),
)
def update_hubs(destination, category, coalition, event):
    """Hub ranking, yearly route values with the policy events, pre/post growth."""
    if not (destination and category and coalition):
        msg = "Select a destination, a category and a coalition."
        return [], msg, fig_empty(msg), None, [], ""
    if not _valid_coalition(coalition):
        msg = _unknown_coalition(coalition)
        return [], msg, fig_empty(msg), None, [], ""
    year0 = _split_year(event)
    params = {"destination": destination, "category": category, "coalition": coalition,
              "event": event}
    fig = _figure("route_timeseries", params)
    hubs = _hubs(coalition, destination, category, year0)
    split = (f"pre: years before {year0}; post: {year0} on" if _has_event(event)
             else f"no policy event selected: pre/post split at {year0}")
    if isinstance(hubs, str):
        rows, note = [], f"{hubs} ({split})."
    else:
        table = hubs.assign(post_value=hubs["post_value"] / 1e6,
                            pre_value=hubs["pre_value"] / 1e6)
        new = hubs["pre_value"] < 1.0  # no pre-event flow: growth is not defined
        table["growth"] = table["growth"].mask(new)
        table["z_score"] = table["z_score"].mask(new)
        table["hub"] = [_link(h) for h in table["hub"]]
        rows = grid_records(table, HUB_COLUMNS)
        note = (f"Coalition-origin value each non-coalition hub delivers to "
                f"{country_name(destination)} per year ({split}); 'new' = no delivery "
                "before the event. Ranked by growth x share. Click a hub for its profile.")
    pp = _prepost(coalition, hubs, category, year0)
    if pp is None or pp.empty:
        pp_rows, pp_note = [], f"No pre/post comparison for this selection ({split})."
    else:
        pp_rows = grid_records(pp.assign(hub=[_link(h) for h in pp["hub"]]),
                               PREPOST_COLUMNS)
        pp_note = (f"Quick screen: the coalition's exports of the category to each candidate "
                   f"hub (the known hubs and those delivering to {country_name(destination)}),"
                   f" mean per year in {pp['pre_years'].iloc[0]} (pre) and "
                   f"{pp['post_years'].iloc[0]} (post); z-score against the spread of the "
                   "pre-event years; 'new' = no exports before.")
    return (rows, note, fig, download_links("route_timeseries", params), pp_rows, pp_note)


def _prepost(coalition: str, hubs, category: str, year0: int) -> pd.DataFrame | None:
    cand = _prepost_hubs(coalition, hubs)
    if not cand:
        return None
    try:
        pp = prepost_growth(data.cflows(), coalition=_coalition_arg(coalition), hubs=cand,
                            event_year=year0, categories=[category],
                            countries=data.dataset().countries)
    except AnalysisError:
        return None
    pp = pp.assign(pre_mean=pp["pre_mean"] / 1e6, post_mean=pp["post_mean"] / 1e6)
    pp["growth"] = pp["growth"].where(np.isfinite(pp["growth"]))
    pp["z_score"] = pp["z_score"].where(pp["pre_mean"] > 0)
    return pp.sort_values("growth", ascending=False, na_position="first")


@callback(
    Output("diversion-did", "figure"),
    Output("diversion-did-dl", "children"),
    Output("diversion-did-note", "children"),
    Output("diversion-did-poll", "disabled"),
    Input("diversion-category", "value"),
    Input("diversion-coalition", "value"),
    Input("diversion-event", "value"),
    Input("diversion-destination", "value"),
)
def update_did(category, coalition, event, destination):
    """The difference-in-differences forest plot; while a regression is still running in
    the background, a placeholder and the poll that will fetch it."""
    if not (category and coalition):
        msg = "Select a category and a coalition."
        return fig_empty(msg), None, msg, True
    msg = _invalid(category, coalition)
    if msg:
        return fig_empty(msg), None, msg, True
    if not _did_ready(coalition, category, event):
        msg = "Estimating the difference-in-differences regression..."
        return fig_empty(msg), None, msg, False
    return (*_did_outputs(category, coalition, event, destination), True)


@callback(
    Output("diversion-did", "figure", allow_duplicate=True),
    Output("diversion-did-dl", "children", allow_duplicate=True),
    Output("diversion-did-note", "children", allow_duplicate=True),
    Output("diversion-did-poll", "disabled", allow_duplicate=True),
    Input("diversion-did-poll", "n_intervals"),
    State("diversion-category", "value"),
    State("diversion-coalition", "value"),
    State("diversion-event", "value"),
    State("diversion-destination", "value"),
    prevent_initial_call=True,
)
def poll_did(_n, category, coalition, event, destination):
    """Show the estimates once the background regression has finished."""
    if not (category and coalition) or not _did_ready(coalition, category, event):
        return no_update, no_update, no_update, no_update
    msg = _invalid(category, coalition)
    if msg:
        return fig_empty(msg), None, msg, True
    return (*_did_outputs(category, coalition, event, destination), True)


def _did_outputs(category, coalition, event, destination):
    params = {"destination": destination, "category": category, "coalition": coalition,
              "event": event}
    fig = _figure("did_forest", params)
    est, msgs = _did_result(coalition, category, event)
    year0 = _split_year(event)
    if est is None or est.empty:
        note = "; ".join(msgs) or "No estimates for this selection."
    else:
        up = est[est["ci_low"] > 0]
        names = ", ".join(f"{country_name(h)} (×{m:.2f})"
                          for h, m in zip(up["hub"], up["multiplier"], strict=True))
        note = (f"Effect of the event ({year0} on) on the log of the coalition's exports of "
                f"the category to each candidate hub, beyond its exports to control "
                f"destinations and of uncontrolled products (fixed effects: "
                f"{est['fe'].iloc[0]}; clustered by exporter-importer-product). "
                + (f"Significant rises: {names}." if names else "No significant rise."))
    return fig, download_links("did_forest", params), note


def warm(coalition: str = "group_a") -> None:
    """Compute the default view, the yearly route values of every category and the
    difference-in-differences of every outbound category for ``coalition`` (about 0.5 s
    each), so visitors never wait for them."""
    year = data.default_year()
    dest = _default_destination(year, coalition)
    cat = _default_category()
    if dest is None or cat is None:
        return
    _routes(year, cat, coalition, dest)
    _paths(year, cat, coalition, dest)
    _hubs(coalition, dest, cat, _split_year(_default_event(dest, cat)))
    for c in _category_ids():
        _yearly_all(coalition, c)
        if _is_outbound(c):
            _did(coalition, c, _split_year(_default_event(dest, c)))


dash.register_page(__name__, path="/diversion", name="Diversion", order=2, layout=layout,
                   title="Diversion routes - chokepoint-analytics")
