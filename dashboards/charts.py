"""The chart registry and the download route.

Every chart on every page is built by a function registered here under an id:
``build(params) -> (figure, title, subtitle)``. A page's callback calls it to show the
chart; ``/download/<id>.<fmt>?<params>`` calls the same function and renders the figure in
the briefing template (:mod:`analytics.briefing`) as PNG, SVG or PDF. A download link is
therefore a shareable URL of the chart as selected.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass

from flask import Response, abort, request

from analytics.briefing import MIME, BriefingMeta, ExportError, briefing_figure, export_figure
from dashboards import data

__all__ = ["chart", "build_chart", "cached_chart", "cached_figure", "CHARTS", "register_download_route",
           "source_line"]


@dataclass(frozen=True)
class ChartSpec:
    id: str
    build: Callable[[dict], tuple]


CHARTS: dict[str, ChartSpec] = {}


def chart(chart_id: str):
    """Decorator registering ``fn(params: dict) -> (figure, title, subtitle)``."""

    def deco(fn):
        CHARTS[chart_id] = ChartSpec(chart_id, fn)
        return fn

    return deco


def build_chart(chart_id: str, params: dict):
    spec = CHARTS.get(chart_id)
    if spec is None:
        raise KeyError(chart_id)
    return spec.build(dict(params))


@data.memoize(maxsize=512)
def _cached(chart_id: str, items: tuple, as_json: bool):
    fig, title, subtitle = build_chart(chart_id, dict(items))
    return (fig.to_plotly_json() if as_json else fig), title, subtitle


def cached_chart(chart_id: str, params: dict, *, as_json: bool = False) -> tuple:
    """``(figure, title, subtitle)`` of a registered chart, memoized per parameters (None
    values dropped) and store snapshot: a view seen before (after the back button, by
    another visitor) costs nothing. Shared between callers: never modify the figure.
    ``as_json``: the figure as a plotly dict (cheaper to send than to rebuild)."""
    items = tuple(sorted((k, v) for k, v in params.items() if v is not None))
    return _cached(chart_id, items, as_json)


def cached_figure(chart_id: str, params: dict, *, as_json: bool = False):
    """The figure of :func:`cached_chart` (shared: never modify it)."""
    return cached_chart(chart_id, params, as_json=as_json)[0]


def source_line() -> str:
    """Source line of the served dataset: its name and the provenance of the flows."""
    ds = data.dataset()
    prov = ds.provenance.get("flows", {})
    parts = [ds.label]
    src = prov.get("source")
    if src:
        ver = prov.get("version") or prov.get("release")
        parts.append(f"flows: {src}" + (f" ({ver})" if ver else ""))
    parts.append("analysis: chokepoint-analytics")
    return "; ".join(parts)


def register_download_route(server) -> None:
    """Add ``/download/<chart_id>.<fmt>`` to the Flask server."""

    @server.route("/download/<chart_id>.<fmt>")
    def _download(chart_id: str, fmt: str):
        if fmt not in MIME or chart_id not in CHARTS:
            abort(404)
        params = {k: v for k, v in request.args.items()}
        lang = params.pop("lang", "en")
        try:
            fig, title, subtitle = build_chart(chart_id, {**params, "lang": lang})
        except (KeyError, ValueError) as err:
            abort(400, description=str(err))
        ds = data.dataset()
        meta = BriefingMeta(title=title, subtitle=subtitle, source=source_line(),
                            date=_dt.date.today().isoformat(), synthetic=ds.synthetic,
                            lang=lang)
        try:
            body = export_figure(briefing_figure(fig, meta), fmt)
        except ExportError as err:
            return Response(str(err), status=503, mimetype="text/plain")
        name = f"{chart_id}_{_dt.date.today().isoformat()}.{fmt}"
        return Response(body, mimetype=MIME[fmt],
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
