"""Chokepoints page (``/chokepoints``): placeholder until the page lands."""

import dash
from dash import html


def layout(**query):
    return html.Div([html.H2("Chokepoints"), html.P("This view is being built.", className="muted")])


dash.register_page(__name__, path="/chokepoints", name="Chokepoints", order=1, layout=layout)
