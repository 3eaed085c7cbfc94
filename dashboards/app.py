"""Dash app factory.

``create_app(store)`` points the read-only data layer at a store and builds a Dash Pages
app; ``server = create_app(...).server`` is the WSGI app for gunicorn (see
:mod:`dashboards.wsgi`). The app binds nowhere by itself: ``chokepoint serve`` runs it on
127.0.0.1 with debug off unless asked.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import dash
from dash import Dash, dcc, html

from analytics.dataset import SYNTHETIC_LABEL
from dashboards import data
from dashboards.charts import register_download_route

__all__ = ["create_app", "PAGE_MODULES"]

#: page modules, in navigation order
PAGE_MODULES = (
    "dashboards.pages.home",
    "dashboards.pages.chokepoints",
    "dashboards.pages.diversion",
    "dashboards.pages.scenario",
    "dashboards.pages.shipments",
    "dashboards.pages.country",
    "dashboards.pages.category",
    "dashboards.pages.methodology",
)


def _load_pages() -> None:
    # Page modules register their layout and callbacks at import. Dash moves global
    # callbacks into the first app that starts, so a second app in the same process
    # (tests) needs the modules executed again.
    for name in PAGE_MODULES:
        if name in sys.modules:
            importlib.reload(sys.modules[name])
        else:
            importlib.import_module(name)


def _navbar() -> html.Nav:
    links = [
        dcc.Link(page["name"], href=page["relative_path"], className="nav-link",
                 id=f"nav-{page['module'].rsplit('.', 1)[-1]}")
        for page in dash.page_registry.values()
        if page.get("nav", True)
    ]
    return html.Nav(links, className="navbar")


def _header() -> html.Header:
    ds = data.dataset()
    badge = (html.Span(SYNTHETIC_LABEL.upper(), className="badge-synthetic", id="synthetic-badge")
             if ds.synthetic else None)
    return html.Header([
        html.Div([
            html.Span("chokepoint-analytics", className="brand"),
            html.Span(ds.name, className="dataset-name", id="dataset-name"),
            badge,
        ], className="header-row"),
        _navbar(),
    ], className="app-header")


def create_app(store: str | Path, *, title: str = "chokepoint-analytics",
               warm: bool = True) -> Dash:
    """Create the dashboard for the store at ``store``.

    Parameters
    ----------
    store : path
        A store written by :mod:`analytics.store` (``chokepoint demo`` builds one).
    warm : bool
        Compute the default views at start-up (shared by gunicorn workers with
        ``--preload``), so the first visitor does not wait.

    Returns
    -------
    dash.Dash
        ``app.server`` is the Flask/WSGI app.
    """
    data.configure(store)
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder="",
        title=title,
        suppress_callback_exceptions=True,
        assets_folder=str(Path(__file__).with_name("assets")),
    )
    _load_pages()
    register_download_route(app.server)
    if warm:
        data.warm()
        for name in PAGE_MODULES:  # pages with slow first views compute them now
            fn = getattr(sys.modules[name], "warm", None)
            if fn is not None:
                fn()
    app.layout = lambda: html.Div([
        _header(),
        html.Main(dash.page_container, className="page"),
        html.Footer(
            f"Data: {data.dataset().label}. Built with chokepoint-analytics.",
            className="footer"),
    ])
    return app
