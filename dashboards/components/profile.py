"""Pieces shared by the profile pages (country and category) and the risk tables.

Profile tables are described by a spec ``field -> (header, kind)``; kinds: text, label
(wider text), link / shortlink (markdown), num (USD m and other decimals), pct (a share
shown as a percentage), int, wide (long text, wrapped). :func:`profile_grid` builds the
grid from the spec (the column definitions live in the layout; callbacks send rows only).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pandas as pd
from dash import html

from analytics.i18n import category_name
from analytics.risk import COMPONENTS
from dashboards import data
from dashboards.components import (
    encode_query,
    export_bar,
    grid,
    grid_records,
    md_escape,
)

__all__ = ["NUM_FORMAT", "PCT_FORMAT", "col_defs", "table", "profile_grid", "titled_grid",
           "split_row", "usd", "badge", "category_link", "risk_cols", "risk_frame"]

NUM_FORMAT = "params.value == null ? '' : d3.format(',.2~f')(params.value)"
PCT_FORMAT = "params.value == null ? '' : d3.format('.2~%')(params.value)"

_BADGE = {
    "member": ("#e6f2ee", "#2f6b57"),
    "concern": ("#f9e3e4", "#95190c"),
    "hub": ("#fdeedd", "#8a4b0f"),
    "info": ("#e8eef5", "#0b2545"),
    "muted": ("#f1f3f5", "#7b8794"),
}


def category_link(cat: str, query: Mapping | None = None) -> str:
    """Markdown link to a category profile."""
    name = md_escape(category_name(cat, data.dataset().categories))
    return f"[{name}](/category/{cat}{encode_query(query or {})})"


def col_defs(spec: Mapping[str, tuple[str, str]]) -> list[dict]:
    """AG Grid column definitions of a table spec (field -> (header, kind))."""
    defs = []
    for field, (header, kind) in spec.items():
        d: dict = {"field": field, "headerName": header}
        if kind in ("num", "pct", "int"):
            d.update(type="numericColumn", filter="agNumberColumnFilter")
            if kind != "int":
                d["valueFormatter"] = {"function": NUM_FORMAT if kind == "num"
                                       else PCT_FORMAT}
        else:
            d["filter"] = "agTextColumnFilter"
        if kind == "link":
            d.update(cellRenderer="markdown", minWidth=200, flex=2)
        elif kind == "label":
            d.update(minWidth=220, flex=2)
        elif kind == "shortlink":
            d.update(cellRenderer="markdown", minWidth=90, maxWidth=110)
        elif kind == "wide":
            d.update(minWidth=460, flex=4, wrapText=True, autoHeight=True,
                     cellStyle={"lineHeight": "20px", "paddingTop": "8px",
                                "paddingBottom": "8px", "wordBreak": "normal"})
        elif kind in ("num", "pct"):
            d["minWidth"] = 100
        defs.append(d)
    return defs


def table(frame: pd.DataFrame, spec: Mapping[str, tuple[str, str]]) -> list[dict]:
    """Row data of a profile table (the spec's columns, JSON-safe)."""
    return grid_records(frame, list(spec))


def profile_grid(id_: str, spec: Mapping[str, tuple[str, str]], *,
                 rows: list[dict] | None = None, height: int = 320,
                 file_name: str = "table.csv", auto_height: bool = False):
    """An AG Grid (see :func:`dashboards.components.grid`) for a profile table: column
    definitions fixed in the layout (callbacks send rows only), wrapped headers, no row
    selection (the tables link instead). ``auto_height`` sizes the grid to its rows (for
    the short static tables)."""
    g = grid(id_, columns=list(spec), height=height, file_name=file_name)
    g.columnDefs = col_defs(spec)
    if rows is not None:
        g.rowData = rows
    g.defaultColDef = {**g.defaultColDef, "wrapHeaderText": True, "autoHeaderHeight": True}
    opts = {k: v for k, v in g.dashGridOptions.items() if k != "rowSelection"}
    if auto_height:
        opts["domLayout"] = "autoHeight"
        g.style = {"width": "100%"}
        if rows is not None and len(rows) <= 25:
            opts["pagination"] = False
    g.dashGridOptions = opts
    return g


def titled_grid(id_: str, spec: Mapping[str, tuple[str, str]], *, title: str | None = None,
                height: int = 340, file_name: str = "table.csv") -> html.Div:
    """A profile grid under a bar holding its title and CSV export button."""
    bar = [html.B(title, style={"fontSize": "13px"})] if title else []
    return html.Div([export_bar(id_, *bar, style={"alignItems": "center", "gap": "12px"}),
                     profile_grid(id_, spec, height=height, file_name=file_name)])


def split_row(left, right, ratio: str = "1fr 1fr") -> html.Div:
    return html.Div([left, right], className="grid-2",
                    style={"gridTemplateColumns": ratio, "alignItems": "start"})


def usd(value: float) -> str:
    """``USD 1.23 bn`` / ``USD 45.6 m``."""
    if value >= 1e9:
        return f"USD {value / 1e9:,.2f} bn"
    return f"USD {value / 1e6:,.1f} m"


def badge(text: str, kind: str, id_: str | None = None, title: str | None = None):
    bg, fg = _BADGE[kind]
    style = {"background": bg, "color": fg, "border": f"1px solid {fg}33",
             "borderRadius": "10px", "padding": "2px 10px", "fontSize": "12px",
             "fontWeight": 600, "marginRight": "6px", "display": "inline-block",
             "marginBottom": "4px"}
    kw = {"id": id_} if id_ else {}
    if title:
        kw["title"] = title
    return html.Span(text, style=style, **kw)


# ------------------------------------------------------------------ risk tables
def risk_cols(first: str) -> dict[str, tuple[str, str]]:
    """Spec of a risk table whose rows are keyed by ``first`` (a linked category or
    destination): risk, explanation, a link to the diversion view, rank, components."""
    return {
        first: (first, "link"),
        "risk": ("risk", "num"),
        "explanation": ("explanation", "wide"),
        "routes": ("routes", "shortlink"),
        "rank": ("rank", "int"),
        **{c: (c.replace("_", " "), "num") for c in COMPONENTS},
    }


def risk_frame(rows: pd.DataFrame, first: str, links: Sequence[str],
               routes_query: Callable[[str, str], Mapping]) -> pd.DataFrame:
    """The frame of a risk table (:func:`risk_cols`) from rows of the risk scores:
    ``links`` label the rows; ``routes_query(category_id, destination)`` is the query of
    a row's diversion view."""
    return pd.DataFrame({
        first: list(links),
        "risk": rows["risk"].round(1).to_numpy(),
        "rank": rows["rank"].to_numpy(),
        **{c: rows[c].round(3).to_numpy() for c in COMPONENTS},
        "explanation": rows["explanation"].to_numpy(),
        "routes": ["[routes](/diversion" + encode_query(routes_query(c, d)) + ")"
                   for c, d in zip(rows["category_id"], rows["destination"], strict=True)],
    })
