"""Category profile (``/category/<category_id>``): placeholder until the page lands."""

import dash
from dash import html


def layout(category_id=None, **query):
    return html.Div([html.H2(f"Category profile: {category_id}")])


dash.register_page(__name__, path_template="/category/<category_id>",
                   name="Category profile", nav=False, layout=layout)
