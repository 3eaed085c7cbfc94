"""Shipments page (``/shipments``): placeholder until the page lands."""

import dash
from dash import html


def layout(**query):
    return html.Div([html.H2("Shipments"),
                     html.P("Transaction-level records: not built yet.", className="muted")])


dash.register_page(__name__, path="/shipments", name="Shipments", order=4, layout=layout)
