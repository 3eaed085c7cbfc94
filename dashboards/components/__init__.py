"""Reusable dashboard pieces: controls, AG Grid tables, download links, URL state.

Pages keep every selection in the URL: :func:`register_url_state` keeps the page's
control values and its query string in sync in both directions (a history entry per
change, so a copied link reopens the same view and the browser's back and forward buttons
restore the controls; a cleared control is written ``key=`` so that it stays cleared);
``layout(**query)`` reads the query when the page opens.

Submodules: :mod:`~dashboards.components.selectors` (the year, coalition and category
selectors the pages share) and :mod:`~dashboards.components.profile` (the profile tables
of the country and category pages, and the risk tables).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

import dash_ag_grid as dag
import pandas as pd
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from analytics.briefing import FORMATS
from analytics.i18n import country_name

__all__ = ["control", "dropdown", "grid", "grid_records", "grid_export_button",
           "register_grid_export", "download_links", "register_url_state", "url_location",
           "url_state_store", "parse_search", "query_value", "encode_query", "kpi", "card",
           "graph", "export_bar", "typed_frame", "SIG3_FORMAT", "md_escape", "country_link"]

#: AG Grid value formatter: three significant digits (``0.00412``, ``3.51``, ``1,230``), so
#: small values do not show as ``0.0``; blank for missing values
SIG3_FORMAT = ("params.value == null ? '' : Math.abs(params.value) >= 1000 ? "
               "d3.format(',.0f')(params.value) : d3.format(',.3~r')(params.value)")


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


def export_bar(grid_id: str, *before, style: Mapping[str, Any] | None = None) -> html.Div:
    """The bar above a grid: optional items (e.g. a title) and its CSV export button."""
    kw = {"style": dict(style)} if style else {}
    return html.Div([*before, grid_export_button(grid_id)], className="download-bar", **kw)


def typed_frame(types: Mapping[str, Any]) -> pd.DataFrame:
    """An empty frame with typed columns (column -> dtype), to derive a grid's column
    definitions before any row exists."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in types.items()})


def md_escape(text: str) -> str:
    """Escape the characters that would break a markdown link text."""
    return re.sub(r"([\[\]\\*_`])", r"\\\1", str(text))


def country_link(code: str, query: Mapping | None = None, *, with_code: bool = False) -> str:
    """Markdown link to a country profile (``query``, e.g. year and coalition, carried
    along; ``with_code`` adds the ISO3 code to the text: ``Kyrgyzstan (KGZ)``)."""
    text = md_escape(country_name(code)) + (f" ({code})" if with_code else "")
    return f"[{text}](/country/{code}{encode_query(query or {})})"


def _empty(v) -> bool:
    return v is None or v == "" or (isinstance(v, list | tuple) and len(v) == 0)


def encode_query(params: Mapping[str, Any], *, keep_empty: Sequence[str] = ()) -> str:
    """``?a=1&b=x`` from a mapping (lists become comma-separated).

    Empty values (None, "", []) are dropped, except for the keys in ``keep_empty``, which
    are written as ``key=`` so that an explicitly emptied control (a cleared multi-select)
    survives a round trip through the URL (see :func:`parse_search`).

    >>> encode_query({"year": 2023, "categories": []})
    '?year=2023'
    >>> encode_query({"year": 2023, "categories": []}, keep_empty=["categories"])
    '?year=2023&categories='
    """
    clean = {}
    for k, v in params.items():
        if _empty(v):
            if k in keep_empty:
                clean[k] = ""
            continue
        clean[k] = ",".join(map(str, v)) if isinstance(v, list | tuple) else str(v)
    return "?" + urllib.parse.urlencode(clean) if clean else ""


def query_value(query: Mapping[str, Any], key: str, default, *, options=None, cast=None,
                multi: bool = False, clearable: bool = False):
    """A control's value from the URL query, validated against ``options``.

    A key absent from the query gives ``default``. A key present but empty (``key=``)
    gives ``default`` too, unless the control is ``clearable``: then it was emptied on
    purpose and gives ``[]`` (``multi``) or None.
    """
    raw = query.get(key)
    if raw is None:
        return default
    if raw == "":
        if clearable:
            return [] if multi else None
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
    """A control value from a query-string value, typed like the control's initial value.

    ``raw`` None (the key is absent from the query): the initial value; ``""`` (the key is
    present and empty, i.e. the control was cleared): ``[]`` for a list control, else None.
    """
    if raw is None:
        return initial
    if raw == "":
        return [] if isinstance(initial, list) else None
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


def register_url_state(page: str, controls: Mapping[str, str | tuple[str, str]]) -> str:
    """Register (at import time) the two-way sync of a page's controls and its URL query.

    A control change writes the query (``refresh=False``: a history entry, so a copied
    link reopens the view); when the browser's back/forward buttons change the query, the
    controls are set from it (keys missing from the query take the value the control had
    when the page was opened, kept by :func:`url_state_store`; a key written empty, as a
    cleared control is, restores the empty value). One callback does both directions, so
    there is no circular dependency. ``controls`` maps query keys to component ids (their
    ``value``) or to ``(id, property)`` pairs (e.g. a ``dcc.Store``'s ``data``). Put
    :func:`url_location` and :func:`url_state_store` in the layout.
    """
    loc_id = f"{page}-url"
    keys = list(controls)
    props = [(c, "value") if isinstance(c, str) else tuple(c) for c in controls.values()]

    @callback(Output(loc_id, "search"), *[Output(c, p) for c, p in props],
              Input(loc_id, "search"), *[Input(c, p) for c, p in props],
              State(f"{page}-url-initial", "data"), prevent_initial_call=True)
    def _sync(search, *args):
        values, initial = list(args[:-1]), args[-1] or {}
        if ctx.triggered_id == loc_id:
            query = parse_search(search)
            restored = [_typed_like(query.get(k), initial.get(k), v)
                        for k, v in zip(keys, values, strict=True)]
            return (no_update, *[r if r != v else no_update
                                 for r, v in zip(restored, values, strict=True)])
        return (encode_query(dict(zip(keys, values, strict=True)), keep_empty=keys),
                *[no_update] * len(props))

    return loc_id


def url_state_store(page: str, initial: Mapping[str, Any]) -> dcc.Store:
    """The values a page's controls had when it was opened (see :func:`register_url_state`)."""
    return dcc.Store(id=f"{page}-url-initial", data=dict(initial))


def parse_search(search: str | None) -> dict[str, str]:
    """The query string of a URL as a dict (single values as strings; ``key=`` gives
    ``""``, an explicitly emptied control)."""
    if not search:
        return {}
    parsed = urllib.parse.parse_qs(search.lstrip("?"), keep_blank_values=True)
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
