"""Overview page (``/``): what the loaded dataset is, its provenance and a flows summary."""

from __future__ import annotations

import dash
from dash import dash_table, html

from dashboards import data


def _provenance_table():
    ds = data.dataset()
    summary = ds.summary()
    cols = [c for c in ("table", "rows", "source", "version", "licence") if c in summary]
    return dash_table.DataTable(
        id="home-provenance",
        data=summary[cols].astype(str).to_dict("records"),
        columns=[{"name": c, "id": c} for c in cols],
        style_cell={"textAlign": "left", "fontSize": 13},
    )


def layout(**query):
    ds = data.dataset()
    summary = data.flows_summary()
    return html.Div([
        html.H2("Loaded dataset"),
        html.P([html.B(ds.label), f" - flows in {ds.hs_version}, years "
                f"{min(ds.years)}-{max(ds.years)}, {len(ds.flows):,} rows."],
               id="home-dataset"),
        html.H3("Flows by year"),
        dash_table.DataTable(
            id="home-flows-summary",
            data=summary.to_dict("records"),
            columns=[{"name": c, "id": c} for c in summary.columns],
            style_cell={"textAlign": "right", "fontSize": 13},
        ),
        html.H3("Provenance"),
        _provenance_table(),
    ])


dash.register_page(__name__, path="/", name="Overview", order=0, layout=layout)
