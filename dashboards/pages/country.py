"""Country profile (``/country/<iso3>``): placeholder until the page lands."""

import dash
from dash import html


def layout(iso3=None, **query):
    return html.Div([html.H2(f"Country profile: {iso3}")])


dash.register_page(__name__, path_template="/country/<iso3>", name="Country profile",
                   nav=False, layout=layout)
