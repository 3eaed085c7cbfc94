"""Theme, palette and the overview figures (risk matrix, risk components, concentration).

>>> import pandas as pd
>>> scored = pd.DataFrame({"category_id": ["a", "a", "b"], "destination": ["RUS", "KGZ", "RUS"],
...                        "risk": [80.0, 60.0, 40.0]})
>>> fig = fig_risk_matrix(scored)
>>> fig.data[0].type, list(fig.data[0].y)
('heatmap', ['b', 'a'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from analytics.i18n import category_name, country_name, label

__all__ = [
    "PALETTE",
    "ROUTE_COLORS",
    "TEMPLATE",
    "font_family",
    "fig_risk_matrix",
    "fig_risk_components",
    "fig_concentration_trend",
    "fig_supplier_shares",
    "fig_empty",
]

PALETTE = ["#0b2545", "#f4a259", "#5b8e7d", "#bc4b51", "#8cb369", "#4f6d7a", "#e3b505",
           "#95190c", "#610345", "#107e7d", "#a0a4b8", "#6c757d"]
ROUTE_COLORS = {"direct": "#4f6d7a", "via coalition": "#8cb369", "via hub": "#bc4b51"}
TEMPLATE = "chokepoint"

_FONT_EN = "Noto Sans, Helvetica Neue, Arial, sans-serif"
# Latin fonts first: Chromium embeds CJK fonts as Type 3 in PDFs, which keeps digits and
# Latin text out of text extraction when they come from the CJK font
_FONT_JA = ("Arial, Liberation Sans, Noto Sans CJK JP, Noto Sans JP, Hiragino Sans, "
            "Yu Gothic, sans-serif")


def font_family(lang: str = "en") -> str:
    """Font stack for a language (CJK fonts first for Japanese)."""
    return _FONT_JA if lang == "ja" else _FONT_EN


def _register_template() -> None:
    base = go.layout.Template(pio.templates["plotly_white"])
    base.layout.colorway = PALETTE
    base.layout.font = dict(family=_FONT_EN, size=13, color="#1f2933")
    base.layout.title = dict(x=0.0, xanchor="left", font=dict(size=16))
    base.layout.margin = dict(l=60, r=20, t=50, b=50)
    base.layout.legend = dict(orientation="h", yanchor="bottom", y=1.02, x=0, title_text="")
    base.layout.hoverlabel = dict(font_size=12)
    pio.templates[TEMPLATE] = base


_register_template()


def fig_empty(message: str, *, lang: str = "en") -> go.Figure:
    """A blank figure carrying a message (no data for the selection)."""
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper",
                       showarrow=False, font=dict(size=14, color="#7b8794"))
    fig.update_layout(template=TEMPLATE, xaxis_visible=False, yaxis_visible=False,
                      font_family=font_family(lang), height=300)
    return fig


def fig_risk_matrix(
    scored: pd.DataFrame,
    *,
    destinations: Sequence[str] | None = None,
    categories: pd.DataFrame | None = None,
    top: int = 25,
    lang: str = "en",
    title: str | None = None,
) -> go.Figure:
    """Heatmap of risk (0-100): categories (rows) x destinations (columns).

    Destinations default to the ``top`` with the highest maximum risk. Each cell carries
    ``customdata = [category_id, destination]`` so a click can drill down.
    """
    if scored.empty:
        return fig_empty("no risk scores for this selection", lang=lang)
    if destinations is None:
        order = scored.groupby("destination")["risk"].max().sort_values(ascending=False)
        destinations = list(order.index[:top])
    sub = scored[scored["destination"].isin(destinations)]
    mat = sub.pivot_table(index="category_id", columns="destination", values="risk",
                          aggfunc="max").reindex(columns=list(destinations))
    mat = mat.loc[mat.max(axis=1).sort_values(ascending=True).index]  # highest on top
    cats = list(mat.index)
    dests = list(mat.columns)
    z = mat.to_numpy()
    custom = np.empty(z.shape + (2,), dtype=object)
    for i, c in enumerate(cats):
        for j, d in enumerate(dests):
            custom[i, j] = (c, d)
    ylabels = [category_name(c, categories, lang) for c in cats]
    xlabels = [country_name(d, lang) for d in dests]
    fig = go.Figure(go.Heatmap(
        z=z, x=dests, y=cats, customdata=custom, zmin=0, zmax=100,
        colorscale=[[0, "#f7f8fa"], [0.35, "#f6d8ae"], [0.65, "#f4a259"], [1, "#95190c"]],
        colorbar=dict(title=dict(text=label("risk_short", lang)), thickness=12),
        hovertemplate="%{customdata[0]} → %{customdata[1]}<br>risk %{z:.0f}<extra></extra>",
        xgap=1, ygap=1,
    ))
    fig.update_layout(
        template=TEMPLATE, font_family=font_family(lang),
        title=title or "",
        xaxis=dict(tickmode="array", tickvals=dests, ticktext=xlabels, tickangle=-45,
                   title=label("destination", lang)),
        yaxis=dict(tickmode="array", tickvals=cats, ticktext=ylabels,
                   title=label("category", lang)),
        height=max(360, 28 * len(cats) + 160),
    )
    return fig


def fig_risk_components(row: Mapping, weights: Mapping[str, float], *, lang: str = "en",
                        title: str | None = None) -> go.Figure:
    """Horizontal bars: each component's contribution (points) to one row's risk."""
    comps = list(weights)
    total = sum(weights.values())
    pts = [100.0 * weights[c] * float(row[c]) / total for c in comps]
    fig = go.Figure(go.Bar(
        x=pts, y=[label(c, lang) for c in comps], orientation="h",
        marker_color=[PALETTE[1] if p == max(pts) else PALETTE[0] for p in pts],
        text=[f"{p:.1f}" for p in pts], textposition="outside",
        customdata=[float(row[c]) for c in comps],
        hovertemplate="%{y}: component %{customdata:.2f} → %{x:.1f} points<extra></extra>",
    ))
    fig.update_layout(template=TEMPLATE, font_family=font_family(lang), title=title or "",
                      xaxis_title=label("contribution", lang), height=320,
                      yaxis=dict(autorange="reversed"))
    return fig


def fig_concentration_trend(conc: pd.DataFrame, *, x: str = "year", y: str = "hhi",
                            color: str | None = None, lang: str = "en",
                            title: str | None = None, thresholds: Sequence[float] = (0.15, 0.25, 0.4)
                            ) -> go.Figure:
    """HHI (or any 0-1 concentration) over time, with reference thresholds."""
    fig = go.Figure()
    groups = [(None, conc)] if color is None else list(conc.groupby(color, sort=False))
    for k, (name, g) in enumerate(groups):
        fig.add_trace(go.Scatter(x=g[x], y=g[y], mode="lines+markers",
                                 name=str(name) if name is not None else label(y, lang),
                                 line=dict(color=PALETTE[k % len(PALETTE)])))
    for t in thresholds:
        fig.add_hline(y=t, line=dict(dash="dot", color="#a0a4b8", width=1),
                      annotation_text=f"{t:g}", annotation_position="right")
    fig.update_layout(template=TEMPLATE, font_family=font_family(lang), title=title or "",
                      xaxis_title=label(x, lang), yaxis_title=label(y, lang),
                      yaxis_range=[0, 1], height=340)
    if x == "year":  # whole years only (a store of two years would get 2022.5 ticks)
        fig.update_xaxes(dtick=1, tickformat="d")
    return fig


def fig_supplier_shares(shares: pd.DataFrame, *, x: str = "year", supplier: str = "supplier",
                        value: str = "share", top: int = 8, lang: str = "en",
                        title: str | None = None, countries: bool = True) -> go.Figure:
    """Stacked area of supplier shares over time; suppliers beyond ``top`` become Others."""
    if shares.empty:
        return fig_empty("no suppliers for this selection", lang=lang)
    keep = shares.groupby(supplier)[value].sum().sort_values(ascending=False).index[:top]
    s = shares.assign(_s=np.where(shares[supplier].isin(keep), shares[supplier],
                                  label("others", lang)))
    s = s.groupby([x, "_s"], as_index=False)[value].sum()
    tot = s.groupby(x)[value].transform("sum")
    s["_share"] = s[value] / tot
    order = [*keep, label("others", lang)]
    fig = go.Figure()
    for k, name in enumerate(order):
        g = s[s["_s"] == name]
        if g.empty:
            continue
        disp = country_name(name, lang) if countries else name
        fig.add_trace(go.Scatter(x=g[x], y=g["_share"], name=disp, stackgroup="one",
                                 mode="lines", line=dict(width=0.5,
                                                         color=PALETTE[k % len(PALETTE)]),
                                 hovertemplate=f"{disp}: %{{y:.1%}}<extra></extra>"))
    fig.update_layout(template=TEMPLATE, font_family=font_family(lang), title=title or "",
                      xaxis_title=label(x, lang), yaxis_title=label("share", lang),
                      yaxis_tickformat=".0%", yaxis_range=[0, 1], height=360)
    if x == "year":  # whole years only
        fig.update_xaxes(dtick=1, tickformat="d")
    return fig
