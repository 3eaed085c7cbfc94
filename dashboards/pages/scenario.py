"""Scenario page (``/scenario``): placeholder until the page lands."""

import dash
from dash import html


def layout(**query):
    return html.Div([html.H2("Scenario"), html.P("This view is being built.", className="muted")])


dash.register_page(__name__, path="/scenario", name="Scenario", order=3, layout=layout)
