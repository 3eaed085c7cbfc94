"""Diversion page (``/diversion``): placeholder until the page lands."""

import dash
from dash import html


def layout(**query):
    return html.Div([html.H2("Diversion"), html.P("This view is being built.", className="muted")])


dash.register_page(__name__, path="/diversion", name="Diversion", order=2, layout=layout)
