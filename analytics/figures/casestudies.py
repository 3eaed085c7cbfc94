"""Figure builders of the real-data case studies (notebooks 05 and 06).

:func:`fig_hs6_concentration` draws the exporter HHI of every HS6 code in two years
(:func:`analytics.casestudies.hs6_concentration`); :func:`fig_destination_lines` one
exporter's yearly shipments to chosen destinations with the policy events marked
(:func:`analytics.casestudies.destination_series`, :func:`~analytics.casestudies.policy_events`).

>>> import pandas as pd
>>> conc = pd.DataFrame({"year": [2022, 2024], "hs6": "850511", "hhi": [0.40, 0.41],
...                      "top_exporter": "CHN", "top_share": [0.615, 0.627]})
>>> [t.name for t in fig_hs6_concentration(conc).data if t.mode == "markers"]
['2022', '2024']
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from analytics.figures.core import PALETTE, TEMPLATE, fig_empty, font_family
from analytics.figures.diversion import _event_clusters
from analytics.i18n import country_name, label

__all__ = ["fig_hs6_concentration", "fig_destination_lines"]


def fig_hs6_concentration(conc: pd.DataFrame, *, labels: Mapping[str, str] | None = None,
                          first: int | None = None, last: int | None = None,
                          title: str | None = None, lang: str = "en") -> go.Figure:
    """Exporter HHI of each HS6 code in two years (dumbbell), with the top exporter.

    ``conc`` is :func:`analytics.casestudies.hs6_concentration` (at least ``year``,
    ``hs6``, ``hhi``, ``top_exporter``, ``top_share``); codes are sorted by the last
    year's HHI and labelled ``code label``; markers are coloured by year and hover gives
    the top exporter and its share (country names in ``lang``). The dotted line is the
    EC/CEPII threshold 0.4.
    """
    if conc.empty:
        return fig_empty("no HS6 layers", lang=lang)
    years = sorted(int(y) for y in conc["year"].unique())
    first = years[0] if first is None else first
    last = years[-1] if last is None else last
    wide = conc[conc["year"].isin([first, last])].pivot_table(
        index="hs6", columns="year", values="hhi")
    wide = wide.sort_values(last if last in wide else first)
    names = {c: f"{c} {labels.get(c, '')}".strip() if labels else c for c in wide.index}
    ylab = [names[c] for c in wide.index]
    fig = go.Figure()
    for c, lab in zip(wide.index, ylab, strict=True):
        xs = [wide.loc[c, y] for y in (first, last) if y in wide and pd.notna(wide.loc[c, y])]
        fig.add_trace(go.Scatter(x=xs, y=[lab] * len(xs), mode="lines",
                                 line=dict(color="#c0c4d0", width=2), showlegend=False,
                                 hoverinfo="skip"))
    for k, y in enumerate((first, last)):
        sub = conc[conc["year"] == y].set_index("hs6").reindex(wide.index)
        hover = [f"{names[c]}<br>{y}: HHI {h:.2f}; top exporter "
                 f"{country_name(t, lang) if isinstance(t, str) else '-'} {s:.0%}"
                 for c, h, t, s in zip(sub.index, sub["hhi"], sub["top_exporter"],
                                       sub["top_share"], strict=True)]
        fig.add_trace(go.Scatter(x=sub["hhi"], y=ylab, mode="markers", name=str(y),
                                 marker=dict(size=9, color=PALETTE[0 if k == 0 else 1]),
                                 customdata=hover,
                                 hovertemplate="%{customdata}<extra></extra>"))
    fig.add_vline(x=0.4, line=dict(dash="dot", color="#7b8794", width=1),
                  annotation_text="0.4", annotation_position="top")
    fig.update_layout(template=TEMPLATE, font_family=font_family(lang), title=title or "",
                      xaxis=dict(title="Exporter HHI (0-1)", range=[0, 1.02]),
                      yaxis=dict(title=""), height=max(360, 22 * len(wide) + 120),
                      margin=dict(l=280, r=20, t=60, b=50))
    return fig


def fig_destination_lines(series: pd.DataFrame, *, events: pd.DataFrame | None = None,
                          log: bool = True, unit: float = 1e6, unit_label: str = "USD m",
                          title: str | None = None, event_gap: float = 0.35,
                          lang: str = "en") -> go.Figure:
    """Yearly values to several destinations as lines, with policy events marked.

    ``series`` is :func:`analytics.casestudies.destination_series` (index year, one
    column per destination); ``events`` rows (``date``, ``jurisdiction``, ``measure``)
    become dotted vertical lines at their date in years (2022-04-06 -> 2022.26); events
    closer than ``event_gap`` years share one line and label (hover the triangle at its
    foot for the measures). A log axis (default) keeps Russia's millions and Hong Kong's
    billions on one chart; zeros are gaps. Destination names are in ``lang``.
    """
    fig = go.Figure()
    for k, d in enumerate(series.columns):
        v = series[d] / unit
        v = v.where(v > 0) if log else v
        fig.add_trace(go.Scatter(x=list(series.index), y=v.tolist(), mode="lines+markers",
                                 name=country_name(d, lang), line=dict(color=PALETTE[
                                     k % len(PALETTE)], width=2),
                                 hovertemplate=f"{country_name(d, lang)} %{{x}}: %{{y:,.3~f}} "
                                               f"{unit_label}<extra></extra>"))
    if events is not None and len(events):
        lo, hi = min(series.index) - 0.5, max(series.index) + 1
        xs, hovers = [], []
        for c in _event_clusters(events, event_gap):
            if not lo <= c["x"] <= hi:
                continue
            fig.add_vline(x=c["x"], line=dict(dash="dot", color="#7b8794", width=1))
            fig.add_annotation(x=c["x"], y=1.0, yref="paper", text=c["label"],
                               showarrow=False, textangle=-90, xanchor="right",
                               yanchor="top", font=dict(size=10, color="#52606d"),
                               bgcolor="rgba(255,255,255,0.7)")
            xs.append(c["x"])
            hovers.append(c["hover"])
        if xs:  # hover targets at the foot of the event lines
            fig.add_trace(go.Scatter(
                x=xs, y=[0.0] * len(xs), yaxis="y2", mode="markers", name="event",
                marker=dict(symbol="triangle-up", size=10, color=PALETTE[1]),
                customdata=hovers, hovertemplate="%{customdata}<extra></extra>",
                showlegend=False))
            fig.update_layout(yaxis2=dict(overlaying="y", range=[0, 1], visible=False))
    fig.update_layout(template=TEMPLATE, font_family=font_family(lang), title=title or "",
                      xaxis=dict(title=label("year", lang), dtick=1, tickformat="d"),
                      yaxis=dict(title=unit_label, type="log" if log else "linear"),
                      height=460, hovermode="closest")
    return fig
