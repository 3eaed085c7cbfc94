"""Reusable dashboard pieces: controls, AG Grid tables, download links, URL state.

Pages keep every selection in the URL: :func:`register_url_state` keeps the page's
control values and its query string in sync in both directions (a history entry per
change, so a copied link reopens the same view and the browser's back and forward buttons
restore the controls); ``layout(**query)`` reads the query when the page opens.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

import dash_ag_grid as dag
import pandas as pd
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from analytics.briefing import FORMATS

__all__ = ["control", "dropdown", "grid", "grid_records", "grid_export_button",
           "register_grid_export", "download_links", "register_url_state", "url_location",
           "url_state_store", "parse_search", "query_value", "encode_query", "kpi", "card",
           "graph"]


def control(label_text: str, component, *, width: int | None = None) -> html.Div:
    style = {"minWidth": f"{width}px"} if width else None
    return html.Div([html.Label(label_text), component], className="control", style=style)


def dropdown(id_: str, options: Sequence[Mapping[str, Any]] | Sequence[str], value,
             *, multi: bool = False, clearable: bool = False) -> dcc.Dropdown:
    opts = [o if isinstance(o, Mapping) else {"label": str(o), "value": o} for o in options]
    return dcc.Dropdown(id=id_, options=opts, value=value, multi=multi, clearable=clearable)


def _col_def(name: str, frame: pd.DataFrame) -> dict:
    d: dict[str, Any] = {"field": name, "headerName": name.replace("_", " ")}
    dtype = frame[name].dtype
    if pd.api.types.is_float_dtype(dtype):
        d["type"] = "numericColumn"
        d["valueFormatter"] = {"function": "d3.format(',.3~f')(params.value)"}
        d["filter"] = "agNumberColumnFilter"
    elif pd.api.types.is_integer_dtype(dtype):
        d["type"] = "numericColumn"
        d["filter"] = "agNumberColumnFilter"
    else:
        d["filter"] = "agTextColumnFilter"
    return d


def grid(id_: str, frame: pd.DataFrame | None = None, *, columns: Sequence[str] | None = None,
         height: int = 380, page_size: int = 20, file_name: str = "table.csv",
         wide: Sequence[str] = ("explanation",), link_columns: Mapping[str, str] | None = None
         ) -> dag.AgGrid:
    """An AG Grid table with sorting, filtering, pagination and CSV export."""
    frame = frame if frame is not None else pd.DataFrame()
    cols = list(columns) if columns is not None else list(frame.columns)
    defs = [_col_def(c, frame) for c in cols if c in frame.columns] if len(frame.columns) \
        else [{"field": c} for c in cols]
    for d in defs:
        if d["field"] in wide:
            d.update(minWidth=420, wrapText=True, autoHeight=True, flex=2)
        if link_columns and d["field"] in link_columns:
            d["cellRenderer"] = "markdown"
    return dag.AgGrid(
        id=id_,
        rowData=grid_records(frame, cols),
        columnDefs=defs,
        defaultColDef={"sortable": True, "filter": True, "resizable": True, "flex": 1,
                       "minWidth": 90},
        dashGridOptions={"pagination": True, "paginationPageSize": page_size,
                         "animateRows": False,
                         "rowSelection": {"mode": "singleRow", "enableClickSelection": True,
                                          "checkboxes": False}},
        csvExportParams={"fileName": file_name},
        columnSize="responsiveSizeToFit",
        style={"height": f"{height}px", "width": "100%"},
        className="ag-theme-alpine",
    )


def grid_records(frame: pd.DataFrame, cols: Sequence[str] | None = None) -> list[dict]:
    if frame is None or frame.empty:
        return []
    sub = frame[[c for c in (cols or frame.columns) if c in frame.columns]]
    return sub.astype(object).where(sub.notna(), None).to_dict("records")


def register_grid_export(grid_id: str) -> None:
    """Register (at import time) the callback behind :func:`grid_export_button`."""

    @callback(Output(grid_id, "exportDataAsCsv"), Input(f"{grid_id}-csv", "n_clicks"),
              prevent_initial_call=True)
    def _export(n):  # pragma: no cover - exercised in the browser
        return True


def grid_export_button(grid_id: str, text: str = "Export CSV") -> html.Button:
    """A button exporting the grid (as filtered and sorted) to CSV in the browser."""
    return html.Button(text, id=f"{grid_id}-csv", className="btn-small")


def encode_query(params: Mapping[str, Any]) -> str:
    """``?a=1&b=x`` from a mapping (lists become comma-separated; None dropped)."""
    clean = {}
    for k, v in params.items():
        if v is None or v == "" or v == []:
            continue
        clean[k] = ",".join(map(str, v)) if isinstance(v, list | tuple) else str(v)
    return "?" + urllib.parse.urlencode(clean) if clean else ""


def query_value(query: Mapping[str, Any], key: str, default, *, options=None, cast=None,
                multi: bool = False):
    """A control's value from the URL query, validated against ``options``."""
    raw = query.get(key)
    if raw is None or raw == "":
        return default
    vals = [v for v in str(raw).split(",") if v != ""] if multi else [raw]
    if cast is not None:
        try:
            vals = [cast(v) for v in vals]
        except (TypeError, ValueError):
            return default
    if options is not None:
        allowed = {o["value"] if isinstance(o, Mapping) else o for o in options}
        vals = [v for v in vals if v in allowed]
        if not vals:
            return default
    return vals if multi else vals[0]


def _typed_like(raw, initial, current):
    """A control value from a query-string value, typed like the control's initial value."""
    if raw is None:
        return initial
    try:
        if isinstance(initial, bool):
            return raw.lower() in ("1", "true", "yes")
        if isinstance(initial, int):
            return int(raw)
        if isinstance(initial, float):
            return float(raw)
        if isinstance(initial, list):
            return [v for v in raw.split(",") if v]
    except ValueError:
        return current
    return raw


def register_url_state(page: str, controls: Mapping[str, str]) -> str:
    """Register (at import time) the two-way sync of a page's controls and its URL query.

    A control change writes the query (``refresh=False``: a history entry, so a copied
    link reopens the view); when the browser's back/forward buttons change the query, the
    controls are set from it (keys missing from the query take the value the control had
    when the page was opened, kept by :func:`url_state_store`). One callback does both
    directions, so there is no circular dependency. ``controls`` maps query keys to
    component ids (their ``value``). Put :func:`url_location` and :func:`url_state_store`
    in the layout.
    """
    loc_id = f"{page}-url"
    keys = list(controls)
    ids = list(controls.values())

    @callback(Output(loc_id, "search"), *[Output(c, "value") for c in ids],
              Input(loc_id, "search"), *[Input(c, "value") for c in ids],
              State(f"{page}-url-initial", "data"), prevent_initial_call=True)
    def _sync(search, *args):
        values, initial = list(args[:-1]), args[-1] or {}
        if ctx.triggered_id == loc_id:
            query = parse_search(search)
            restored = [_typed_like(query.get(k), initial.get(k), v)
                        for k, v in zip(keys, values, strict=True)]
            return (no_update, *[r if r != v else no_update
                                 for r, v in zip(restored, values, strict=True)])
        return (encode_query(dict(zip(keys, values, strict=True))), *[no_update] * len(ids))

    return loc_id


def url_state_store(page: str, initial: Mapping[str, Any]) -> dcc.Store:
    """The values a page's controls had when it was opened (see :func:`register_url_state`)."""
    return dcc.Store(id=f"{page}-url-initial", data=dict(initial))


def parse_search(search: str | None) -> dict[str, str]:
    """The query string of a URL as a dict (single values as strings)."""
    if not search:
        return {}
    parsed = urllib.parse.parse_qs(search.lstrip("?"), keep_blank_values=False)
    return {k: v[-1] for k, v in parsed.items()}


def url_location(page: str) -> dcc.Location:
    """The page's Location (``refresh=False``: updating it pushes a history entry)."""
    return dcc.Location(id=f"{page}-url", refresh=False)


def download_links(chart_id: str, params: Mapping[str, Any], *, lang: str = "en") -> html.Div:
    """Links to the briefing-template exports of a chart (PNG, SVG, PDF)."""
    q = encode_query({**params, "lang": lang} if lang != "en" else params)
    return html.Div(
        [html.Span("Download:", className="muted")]
        + [html.A(fmt.upper(), href=f"/download/{chart_id}.{fmt}{q}", target="_blank",
                  className="dl-link", id=f"{chart_id}-dl-{fmt}") for fmt in FORMATS],
        className="download-bar")


def kpi(value: str, label_text: str, id_: str | None = None) -> html.Div:
    return html.Div([html.Div(value, className="value", id=id_ or ""),
                     html.Div(label_text, className="label")], className="kpi")


def card(*children, title: str | None = None, id_: str | None = None) -> html.Div:
    head = [html.H3(title)] if title else []
    kw = {"id": id_} if id_ else {}
    return html.Div(head + list(children), className="card", **kw)


def graph(id_: str, figure=None, height: int | None = None) -> dcc.Loading:
    kw = {"style": {"height": f"{height}px"}} if height else {}
    return dcc.Loading(dcc.Graph(id=id_, figure=figure if figure is not None else {},
                                 config={"displaylogo": False, "responsive": True}, **kw),
                       type="dot")
