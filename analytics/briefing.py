"""Static exports in one briefing template (PNG, SVG, PDF).

:func:`briefing_figure` dresses any ``fig_*`` figure for a briefing: title and subtitle,
a source line with the dataset's provenance, the date, and the "synthetic demo data"
label when it applies, at a fixed 16:9 size and in fonts that cover Japanese.
:func:`export_figure` renders it with kaleido (headless Chromium), reusing one browser
process for the life of the program.
"""

from __future__ import annotations

import datetime as _dt
import threading
from dataclasses import dataclass

import plotly.graph_objects as go

from analytics.errors import ChokepointError
from analytics.figures.core import font_family
from analytics.i18n import label

__all__ = ["BriefingMeta", "briefing_figure", "export_figure", "FORMATS", "MIME",
           "ExportError"]

FORMATS = ("png", "svg", "pdf")
MIME = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}
WIDTH, HEIGHT = 1200, 675


class ExportError(ChokepointError):
    """A static export failed (no Chromium for kaleido, unknown format)."""


@dataclass(frozen=True)
class BriefingMeta:
    """What the briefing template prints around a chart."""

    title: str
    subtitle: str = ""
    source: str = ""
    date: str = ""
    synthetic: bool = False
    lang: str = "en"


def briefing_figure(fig: go.Figure, meta: BriefingMeta, *, width: int = WIDTH,
                    height: int = HEIGHT) -> go.Figure:
    """A copy of ``fig`` in the briefing template (the input is not modified).

    >>> import plotly.graph_objects as go
    >>> f = briefing_figure(go.Figure(go.Bar(x=[1], y=[2])),
    ...                     BriefingMeta("Title", "Sub", "Source: demo", "2026-01-01", True))
    >>> [a.text for a in f.layout.annotations][:2]
    ['Source: demo', '2026-01-01']
    """
    out = go.Figure(fig)  # a copy; keeps typed arrays as arrays
    date = meta.date or _dt.date.today().isoformat()
    head = f"<b>{meta.title}</b>"
    if meta.subtitle:
        head += f"<br><span style='font-size:13px;color:#52606d'>{meta.subtitle}</span>"
    left, bottom, right = _margins(out)
    top = 120
    out.update_layout(
        title=dict(text=head, x=16 / width, xref="container", xanchor="left", y=0.965,
                   yref="container", yanchor="top", font=dict(size=20)),
        width=width, height=height,
        font=dict(family=font_family(meta.lang)),
        margin=dict(l=left, r=right, t=top, b=bottom, autoexpand=False),
        paper_bgcolor="white",
    )
    # annotations in paper coordinates of the figure's edges (margins are fixed above)
    pw, ph = width - left - right, height - top - bottom
    x0, x1 = (16 - left) / pw, 1 + (right - 16) / pw
    y_foot = -(bottom - 14) / ph
    src = meta.source if meta.source.lower().startswith(label("source", meta.lang).lower()) \
        else f"{label('source', meta.lang)}: {meta.source}" if meta.source else ""
    anns = [
        dict(text=src, x=x0, y=y_foot, xref="paper", yref="paper", xanchor="left",
             yanchor="bottom", showarrow=False, align="left",
             font=dict(size=11, color="#52606d")),
        dict(text=date, x=x1, y=y_foot, xref="paper", yref="paper", xanchor="right",
             yanchor="bottom", showarrow=False, font=dict(size=11, color="#52606d")),
    ]
    if meta.synthetic:
        anns.append(dict(text=f"<b>{label('synthetic', meta.lang)}</b>", x=x1,
                         y=1 + (top - 16) / ph, xref="paper", yref="paper", xanchor="right",
                         yanchor="top", showarrow=False, bgcolor="#f4a259",
                         font=dict(size=12, color="#0b2545"), borderpad=4))
    # the template's annotations come first; keep the chart's own ones after them
    existing = list(out.layout.annotations or [])
    out.layout.annotations = []
    for a in anns:
        out.add_annotation(**a)
    for a in existing:
        out.add_annotation(a)
    return out


def _label_len(values) -> int:
    longest = 0
    for v in values or ():
        txt = str(v)
        wide = sum(2 if ord(ch) > 0x2E80 else 1 for ch in txt)  # CJK glyphs are wide
        longest = max(longest, wide)
    return longest


def _margins(fig: go.Figure) -> tuple[int, int, int]:
    """Fixed margins (left, bottom, right) wide enough for the tick labels and scales."""
    lay = fig.layout
    ylabels = list(lay.yaxis.ticktext or [])
    xlabels = list(lay.xaxis.ticktext or [])
    has_scale = False
    for tr in fig.data:
        orient = getattr(tr, "orientation", None)
        ys = getattr(tr, "y", None)
        xs = getattr(tr, "x", None)
        # plotly stores numeric arrays as {"dtype", "bdata"}: only text arrays are labels
        if isinstance(ys, list | tuple) and ys and isinstance(ys[0], str) \
                and not lay.yaxis.ticktext:
            ylabels += list(ys)
        if isinstance(xs, list | tuple) and xs and isinstance(xs[0], str) \
                and not lay.xaxis.ticktext:
            xlabels += list(xs)
        if getattr(tr, "showscale", None) is not False and tr.type in ("heatmap", "choropleth"):
            has_scale = True
        del orient
    char = 7.2
    left = int(min(max(80, char * _label_len(ylabels) + 50), 560))
    angle = abs(lay.xaxis.tickangle or 0)
    xlen = _label_len(xlabels)
    drop = char * xlen * (0.75 if angle else 0) if xlabels else 0
    bottom = int(min(max(90, 95 + drop), 300))
    right = 150 if has_scale else 40
    return left, bottom, right


_LOCK = threading.Lock()
_SERVER = {"started": False}


def _ensure_server() -> None:
    with _LOCK:
        if _SERVER["started"]:
            return
        try:
            import kaleido

            kaleido.start_sync_server(silence_warnings=True)
            _SERVER["started"] = True
        except Exception as err:  # noqa: BLE001 - kaleido raises many kinds
            raise ExportError(
                f"static export needs Chromium for kaleido ({err}); install Debian's "
                f"`chromium` or run `plotly_get_chrome`"
            ) from err


def export_figure(fig: go.Figure, fmt: str, *, width: int | None = None,
                  height: int | None = None, scale: float = 2.0) -> bytes:
    """Render a figure to PNG, SVG or PDF bytes.

    Raises
    ------
    ExportError
        Unknown format or no browser for kaleido.
    """
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; use one of {FORMATS}")
    _ensure_server()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fig.to_image(format=fmt, width=width or fig.layout.width or WIDTH,
                                height=height or fig.layout.height or HEIGHT,
                                scale=scale if fmt == "png" else 1)
        except Exception as err:  # noqa: BLE001
            raise ExportError(f"export to {fmt} failed: {err}") from err
