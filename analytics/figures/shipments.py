"""Figure builders for transaction-level shipments.

* :func:`fig_attribution` - a selection's value by dispatch country, by origin and by
  brand headquarters, three bar charts side by side (coalition members coloured apart).
* :func:`fig_firm_paths` - the k largest firm-level paths of brand goods (brand ->
  first shipper -> ... -> consignee) as a small layered network.

Pure: the frames of :mod:`analytics.shipments` in, a plotly figure out.

>>> import pandas as pd
>>> from analytics.shipments import attribute_shipments
>>> s = pd.DataFrame({"dispatch_country": ["HKG", "JPN"], "origin_country": ["JPN", "JPN"],
...     "brand": ["Aster", "Aster"], "shipper": ["H", "J"], "value_usd": [3.0, 1.0]})
>>> a = attribute_shipments(s, pd.DataFrame({"brand": ["Aster"], "hq_country": ["JPN"]}),
...                         coalition=["JPN"])
>>> fig = fig_attribution(a)
>>> [t.name for t in fig.data][:2], list(fig.data[0].y)
(['coalition member', 'third country'], ['Japan'])
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analytics.figures.core import PALETTE, TEMPLATE, fig_empty, font_family
from analytics.i18n import country_name

__all__ = ["fig_attribution", "fig_firm_paths", "SHIPMENT_COLORS"]

#: bar colours: coalition members, third countries, unknown, others
SHIPMENT_COLORS = {"member": "#4f6d7a", "third": "#bc4b51", "unknown": "#a0a4b8",
                   "others": "#d3d6de"}

_TEXT = {
    "en": {"dispatch": "Dispatched from", "origin": "Country of origin",
           "brand": "Brand headquarters", "member": "coalition member",
           "third": "third country", "unknown": "Unknown", "others": "Others",
           "share": "Share of value", "empty": "no shipments for this selection",
           "no_paths": "no path of these goods reaches the selected consignee(s)",
           "brand_node": "brand", "consignee": "consignee"},
    "ja": {"dispatch": "出荷国", "origin": "原産国", "brand": "ブランド本社所在国",
           "member": "連合国", "third": "第三国", "unknown": "不明", "others": "その他",
           "share": "金額シェア", "empty": "この条件の貨物はありません",
           "no_paths": "選択した荷受人に至る経路はありません", "brand_node": "ブランド",
           "consignee": "荷受人"},
}


def _t(key: str, lang: str) -> str:
    return _TEXT.get(lang, _TEXT["en"])[key]


def _bars(frame: pd.DataFrame, top: int, lang: str) -> pd.DataFrame:
    """Top countries plus Others; columns label, code, share, value_usd, kind."""
    f = frame.sort_values("value_usd", ascending=False)
    head, tail = f.head(top), f.iloc[top:]
    rows = []
    for r in head.itertuples(index=False):
        unknown = r.country == "unknown"
        rows.append({"label": _t("unknown", lang) if unknown else country_name(r.country,
                                                                                  lang),
                     "code": r.country, "share": r.share, "value_usd": r.value_usd,
                     "kind": "unknown" if unknown else ("member" if r.member else "third")})
    if len(tail):
        rows.append({"label": _t("others", lang), "code": "", "share": tail["share"].sum(),
                     "value_usd": tail["value_usd"].sum(), "kind": "others"})
    return pd.DataFrame(rows)


def fig_attribution(att, *, top: int = 8, lang: str = "en", title: str | None = None
                    ) -> go.Figure:
    """Three horizontal bar charts: shares by dispatch country, origin, brand HQ.

    ``att`` is an :class:`analytics.shipments.Attribution`. Bars of coalition members and
    of third countries have their own colours (one legend); missing origins and brands
    without a known headquarters are "Unknown". Each bar carries ``customdata`` =
    (ISO3, value in USD).
    """
    if att.summary.get("total_value", 0) <= 0:
        return fig_empty(_t("empty", lang), lang=lang)
    panels = [("dispatch", att.by_dispatch), ("origin", att.by_origin),
              ("brand", att.by_brand_hq)]
    fig = make_subplots(rows=1, cols=3, subplot_titles=[_t(k, lang) for k, _ in panels],
                        horizontal_spacing=0.12)
    shown: set[str] = set()
    for col, (_, frame) in enumerate(panels, start=1):
        bars = _bars(frame, top, lang)
        if bars.empty:
            continue
        bars = bars.iloc[::-1]  # largest on top
        for kind in ("member", "third", "unknown", "others"):
            sub = bars[bars["kind"] == kind]
            if sub.empty:
                continue
            name = _t(kind, lang)
            fig.add_trace(go.Bar(
                x=sub["share"], y=sub["label"], orientation="h", name=name,
                marker_color=SHIPMENT_COLORS[kind], legendgroup=kind,
                legendrank={"member": 1, "third": 2}.get(kind, 3),
                showlegend=kind in ("member", "third") and kind not in shown,
                customdata=np.stack([sub["code"], sub["value_usd"]], axis=1),
                text=[f"{v:.0%}" for v in sub["share"]], textposition="outside",
                cliponaxis=False,
                hovertemplate="%{y}: %{x:.1%} (USD %{customdata[1]:,.0f})<extra></extra>",
            ), row=1, col=col)
            if kind in ("member", "third"):
                shown.add(kind)
        fig.update_yaxes(categoryorder="array", categoryarray=list(bars["label"]),
                         row=1, col=col)
        fig.update_xaxes(tickformat=".0%", range=[0, min(1.0, bars["share"].max() * 1.3
                                                         + 0.02)], row=1, col=col)
    fig.update_layout(template=TEMPLATE, font_family=font_family(lang), title=title or "",
                      barmode="overlay", height=max(380, 34 * (top + 1) + 140),
                      margin=dict(l=110, r=30, t=100, b=40), bargap=0.25,
                      legend=dict(orientation="h", yanchor="bottom", y=1.1, x=1.0,
                                  xanchor="right"))
    return fig


def fig_firm_paths(paths: pd.DataFrame, *, lang: str = "en", title: str | None = None,
                   highlight: set[str] | frozenset[str] = frozenset(),
                   max_label: int = 28) -> go.Figure:
    """The paths of :func:`analytics.shipments.brand_paths` as a layered network.

    Column ``k`` holds the ``k``-th node of the paths (the brand, first shippers, ...,
    consignees); edge widths follow the amount carried; ``highlight`` firms (e.g. flagged
    intermediaries or listed consignees) are drawn in the accent colour.
    """
    if paths is None or paths.empty:
        return fig_empty(_t("no_paths", lang), lang=lang)
    # node columns: the position of the node from the start, consignees last
    depth = max(len(p) for p in paths["path"])
    col: dict[str, int] = {}
    for p in paths["path"]:
        for i, node in enumerate(p):
            k = depth - 1 if i == len(p) - 1 else i
            col[node] = max(col.get(node, 0), k)
    edges: dict[tuple[str, str], float] = {}
    for p, amount in zip(paths["path"], paths["amount"], strict=True):
        for u, v in zip(p[:-1], p[1:], strict=True):
            edges[(u, v)] = edges.get((u, v), 0.0) + float(amount)
    by_col: dict[int, list[str]] = {}
    for node, k in col.items():
        by_col.setdefault(k, []).append(node)
    pos = {}
    for k, nodes in by_col.items():
        nodes.sort()
        for j, node in enumerate(nodes):
            pos[node] = (k, 1.0 - (j + 1) / (len(nodes) + 1))
    top = max(edges.values())
    fig = go.Figure()
    for (u, v), amount in sorted(edges.items(), key=lambda kv: kv[1]):
        (x0, y0), (x1, y1) = pos[u], pos[v]
        fig.add_trace(go.Scatter(
            x=[x0, x1], y=[y0, y1], mode="lines", showlegend=False, hoverinfo="text",
            text=f"{u} → {v}: USD {amount:,.0f}",
            line=dict(width=1 + 9 * amount / top, color="rgba(79,109,122,0.45)")))
    names = list(pos)
    colors = [PALETTE[1] if n in highlight else (PALETTE[0] if col[n] == 0 else
                                                 ("#95190c" if col[n] == depth - 1
                                                  else "#4f6d7a")) for n in names]
    short = [n if len(n) <= max_label else n[:max_label - 1] + "…" for n in names]
    fig.add_trace(go.Scatter(
        x=[pos[n][0] for n in names], y=[pos[n][1] for n in names], mode="markers+text",
        text=short, textposition="top center", customdata=names,
        marker=dict(size=14, color=colors, line=dict(width=1, color="white")),
        hovertemplate="%{customdata}<extra></extra>", showlegend=False))
    fig.update_layout(template=TEMPLATE, font_family=font_family(lang), title=title or "",
                      xaxis=dict(visible=False, range=[-0.5, depth - 0.5]),
                      yaxis=dict(visible=False, range=[-0.05, 1.05]),
                      height=max(320, 60 * max(len(v) for v in by_col.values()) + 120),
                      margin=dict(l=20, r=20, t=50, b=20))
    return fig
