"""Figure builders for the country and category profiles.

* :func:`fig_country_exports`: a country's exports of each technology category over time.
* :func:`fig_country_risk`: a destination's risk score per category, split into the
  weighted contribution of each component.
* :func:`fig_origin_vs_dispatch`: a destination's imports by dispatching country (as the
  customs data show them) next to their traced origin (where the goods were made).
* :func:`fig_category_trade`: world trade of one category over time.

All take the frames the analytics return and give back a ``plotly`` figure in the project
template; labels are English or Japanese (``lang="ja"``).

>>> import pandas as pd
>>> ex = pd.DataFrame({"year": [2022, 2023], "category_id": ["a", "a"],
...                    "value_usd": [1e6, 2e6]})
>>> fig_country_exports(ex).data[0].type
'bar'
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.figures.core import PALETTE, TEMPLATE, fig_empty, font_family
from analytics.i18n import category_name, country_name, label

__all__ = [
    "fig_country_exports",
    "fig_country_risk",
    "fig_origin_vs_dispatch",
    "fig_category_trade",
    "value_scale",
]

_TEXT: dict[str, tuple[str, str]] = {
    "no_exports": ("no exports of the technology categories", "対象技術カテゴリーの輸出なし"),
    "no_risk": ("no risk scores for this destination", "この仕向地のリスクスコアなし"),
    "no_imports": ("no imports of this category in this year", "この年、このカテゴリーの輸入なし"),
    "no_trade": ("no trade in this category", "このカテゴリーの貿易なし"),
    "dispatch": ("As shipped (dispatching country)", "出荷国ベース"),
    "traced": ("Traced origin (where it was made)", "原産地ベース（追跡）"),
    "share_imports": ("Share of imports", "輸入に占めるシェア"),
    "world_trade": ("World trade", "世界貿易額"),
    "partner": ("Partner", "相手国"),
}


def _t(key: str, lang: str) -> str:
    en, ja = _TEXT[key]
    return ja if lang == "ja" else en


def value_scale(max_value: float, lang: str = "en") -> tuple[float, str]:
    """Divisor and axis label for USD values (billions from 1e9, otherwise millions).

    >>> value_scale(3.2e9)
    (1000000000.0, 'Value (USD bn)')
    >>> value_scale(5e6)[1]
    'Value (USD m)'
    """
    if max_value >= 1e9:
        return 1e9, label("value_usd_bn", lang)
    return 1e6, label("value_usd_m", lang)


def fig_country_exports(
    exports: pd.DataFrame,
    *,
    categories: pd.DataFrame | None = None,
    top: int = 8,
    lang: str = "en",
    title: str | None = None,
) -> go.Figure:
    """Stacked bars of a country's exports per technology category and year.

    Parameters
    ----------
    exports : DataFrame
        ``year``, ``category_id``, ``value_usd`` (one country's category exports; rows of
        the same year and category are summed).
    categories : DataFrame, optional
        The categories table (for display names).
    top : int
        Categories beyond the ``top`` largest (over all years) are grouped as Others.

    Returns
    -------
    plotly.graph_objects.Figure
        One bar trace per category (``customdata`` = category id), values in USD m or bn.

    Examples
    --------
    >>> import pandas as pd
    >>> ex = pd.DataFrame({"year": [2022, 2022, 2023], "category_id": ["a", "b", "a"],
    ...                    "value_usd": [2e9, 1e9, 3e9]})
    >>> fig = fig_country_exports(ex)
    >>> [t.name for t in fig.data], list(fig.data[0].y)
    (['a', 'b'], [2.0, 3.0])
    """
    if exports.empty or float(exports["value_usd"].sum()) <= 0:
        return fig_empty(_t("no_exports", lang), lang=lang)
    totals = exports.groupby("category_id")["value_usd"].sum().sort_values(ascending=False)
    keep = list(totals.index[:top])
    others = label("others", lang)
    e = exports.assign(_c=np.where(exports["category_id"].isin(keep),
                                   exports["category_id"], others))
    e = e.groupby(["year", "_c"], as_index=False)["value_usd"].sum()
    per_year = e.groupby("year")["value_usd"].sum()
    div, ylab = value_scale(float(per_year.max()), lang)
    years = sorted(e["year"].unique())
    fig = go.Figure()
    for k, cat in enumerate([*keep, others]):
        g = e[e["_c"] == cat].set_index("year")["value_usd"].reindex(years, fill_value=0.0)
        if cat == others and not g.any():
            continue
        name = others if cat == others else category_name(cat, categories, lang)
        fig.add_trace(go.Bar(
            x=years, y=list(g.to_numpy() / div), name=name,
            marker_color=PALETTE[k % len(PALETTE)] if cat != others else "#a0a4b8",
            customdata=[cat] * len(years),
            hovertemplate=f"{name}<br>%{{x}}: %{{y:,.2f}}<extra></extra>"))
    fig.update_layout(template=TEMPLATE, font_family=font_family(lang), title=title or "",
                      barmode="stack", xaxis_title=label("year", lang), yaxis_title=ylab,
                      xaxis=dict(tickmode="array", tickvals=years), height=360,
                      legend=dict(font_size=11))
    return fig


def fig_country_risk(
    risk: pd.DataFrame,
    *,
    weights: Mapping[str, float] | None = None,
    categories: pd.DataFrame | None = None,
    lang: str = "en",
    title: str | None = None,
) -> go.Figure:
    """Horizontal bars of a destination's risk score (0-100) per category.

    Parameters
    ----------
    risk : DataFrame
        Rows of :func:`analytics.risk.score_risk` for one destination: ``category_id``,
        ``risk`` and the component columns.
    weights : mapping, optional
        Component -> weight (the risk configuration). When given, each bar is split into
        the contribution (points) of every component, ``100 * w_k c_k / sum(w)``, which
        adds up to the risk score; otherwise one bar per category.

    Returns
    -------
    plotly.graph_objects.Figure
        Highest risk on top; ``customdata`` of the bars is the category id.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"category_id": ["a", "b"], "risk": [60.0, 30.0],
    ...                   "concern": [1.0, 0.5], "surge": [0.2, 0.1]})
    >>> fig = fig_country_risk(r, weights={"concern": 1.0, "surge": 1.0})
    >>> [t.name for t in fig.data[:2]], list(fig.data[0].x)
    (['Destination concern', 'Surge'], [25.0, 50.0])
    """
    if risk.empty:
        return fig_empty(_t("no_risk", lang), lang=lang)
    r = risk.sort_values("risk", ascending=True)
    cats = list(r["category_id"])
    names = [category_name(c, categories, lang) for c in cats]
    fig = go.Figure()
    if weights:
        total_w = float(sum(weights.values())) or 1.0
        comps = [c for c in weights if c in r.columns]
        for k, comp in enumerate(comps):
            pts = 100.0 * float(weights[comp]) * r[comp].to_numpy(dtype=float) / total_w
            fig.add_trace(go.Bar(
                x=list(pts), y=cats, orientation="h", name=label(comp, lang),
                marker_color=PALETTE[k % len(PALETTE)], customdata=cats,
                hovertemplate=f"{label(comp, lang)}: %{{x:.1f}}<extra></extra>"))
    else:
        fig.add_trace(go.Bar(x=list(r["risk"]), y=cats, orientation="h",
                             name=label("risk_short", lang), marker_color=PALETTE[0],
                             customdata=cats,
                             hovertemplate="%{x:.0f}<extra></extra>"))
    fig.add_trace(go.Scatter(
        x=list(r["risk"]), y=cats, mode="text", text=[f"{v:.0f}" for v in r["risk"]],
        textposition="middle right", showlegend=False, hoverinfo="skip",
        textfont=dict(size=12, color="#1f2933")))
    fig.update_layout(
        template=TEMPLATE, font_family=font_family(lang), title=title or "",
        barmode="stack", xaxis=dict(title=label("risk", lang), range=[0, 105]),
        yaxis=dict(tickmode="array", tickvals=cats, ticktext=names, automargin=True),
        height=max(300, 30 * len(cats) + 140),
        legend=dict(font_size=11, traceorder="normal"),
        margin=dict(l=20, r=20, t=60, b=50))
    return fig


def _as_shares(values: pd.Series | pd.DataFrame, key: str) -> pd.Series:
    if isinstance(values, pd.DataFrame):
        val = "value" if "value" in values.columns else "value_usd"
        values = values.groupby(key)[val].sum()
    values = values[values > 0].astype(float)
    tot = float(values.sum())
    return values / tot if tot > 0 else values


def fig_origin_vs_dispatch(
    dispatch: pd.Series | pd.DataFrame,
    traced: pd.Series | pd.DataFrame,
    *,
    top: int = 10,
    lang: str = "en",
    title: str | None = None,
) -> go.Figure:
    """Side-by-side bars: a destination's imports by dispatching country and by traced origin.

    Parameters
    ----------
    dispatch : Series or DataFrame
        Imports by the country that shipped them: a Series of values indexed by ISO3, or
        category flows into the destination (``exporter``, ``value_usd``).
    traced : Series or DataFrame
        The same imports by origin: a Series indexed by ISO3, or the output of
        :func:`analytics.tracing.trace_imports` for the destination (``origin``,
        ``value``).
    top : int
        Countries shown (largest by either share); the rest are summed as Others.

    Returns
    -------
    plotly.graph_objects.Figure
        Two horizontal bar traces (shares of the destination's imports); a hub such as
        Hong Kong shows a large dispatch share and a small origin share.

    Examples
    --------
    >>> import pandas as pd
    >>> fig = fig_origin_vs_dispatch(pd.Series({"HKG": 8.0, "JPN": 2.0}),
    ...                              pd.Series({"JPN": 6.0, "HKG": 1.0, "TWN": 3.0}))
    >>> [t.name for t in fig.data], list(fig.data[0].y)
    (['As shipped (dispatching country)', 'Traced origin (where it was made)'], ['TWN', 'JPN', 'HKG'])
    >>> [round(v, 2) for v in fig.data[0].x], [round(v, 2) for v in fig.data[1].x]
    ([0.0, 0.2, 0.8], [0.3, 0.6, 0.1])
    """
    d = _as_shares(dispatch, "exporter")
    o = _as_shares(traced, "origin")
    if d.empty and o.empty:
        return fig_empty(_t("no_imports", lang), lang=lang)
    both = pd.concat([d.rename("dispatch"), o.rename("traced")], axis=1).fillna(0.0)
    both = both.loc[both.max(axis=1).sort_values(ascending=False, kind="stable").index]
    shown = both.iloc[:top]
    rest = both.iloc[top:].sum()
    shown = shown.iloc[::-1]  # largest on top in a horizontal bar chart
    codes = list(shown.index)
    names = [country_name(c, lang) for c in codes]
    if len(both) > top and rest.max() > 0:
        others = label("others", lang)
        shown = pd.concat([pd.DataFrame([rest], index=[others]), shown])
        codes = [others, *codes]
        names = [others, *names]
    fig = go.Figure()
    for col, key, color in (("dispatch", "dispatch", PALETTE[0]),
                            ("traced", "traced", PALETTE[1])):
        fig.add_trace(go.Bar(
            x=list(shown[col]), y=codes, orientation="h", name=_t(key, lang),
            marker_color=color, customdata=names,
            hovertemplate="%{customdata}: %{x:.1%}<extra>" + _t(key, lang) + "</extra>"))
    fig.update_layout(
        template=TEMPLATE, font_family=font_family(lang), title=title or "",
        barmode="group", xaxis=dict(title=_t("share_imports", lang), tickformat=".0%"),
        yaxis=dict(tickmode="array", tickvals=codes, ticktext=names, automargin=True),
        height=max(320, 44 * len(codes) + 120), bargap=0.25,
        margin=dict(l=20, r=20, t=60, b=50))
    return fig


def fig_category_trade(
    trade: pd.DataFrame,
    *,
    highlight: int | None = None,
    lang: str = "en",
    title: str | None = None,
) -> go.Figure:
    """Bars of a category's world trade per year (``year``, ``value_usd``).

    ``highlight`` (a year) is drawn in the accent colour.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"year": [2022, 2023], "value_usd": [2e9, 3e9]})
    >>> fig = fig_category_trade(t, highlight=2023)
    >>> list(fig.data[0].y), fig.data[0].marker.color[1] == PALETTE[1]
    ([2.0, 3.0], True)
    """
    if trade.empty or float(trade["value_usd"].sum()) <= 0:
        return fig_empty(_t("no_trade", lang), lang=lang)
    t = trade.groupby("year", as_index=False)["value_usd"].sum().sort_values("year")
    div, ylab = value_scale(float(t["value_usd"].max()), lang)
    years = [int(y) for y in t["year"]]
    colors = [PALETTE[1] if y == highlight else PALETTE[0] for y in years]
    fig = go.Figure(go.Bar(
        x=years, y=list(t["value_usd"].to_numpy() / div), marker_color=colors,
        name=_t("world_trade", lang),
        hovertemplate="%{x}: %{y:,.2f}<extra></extra>"))
    fig.update_layout(template=TEMPLATE, font_family=font_family(lang), title=title or "",
                      xaxis=dict(title=label("year", lang), tickmode="array",
                                 tickvals=years),
                      yaxis_title=ylab, height=340, showlegend=False)
    return fig
