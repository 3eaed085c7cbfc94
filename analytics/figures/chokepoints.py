"""Figure builders for the chokepoint and scenario views.

* :func:`fig_trade_network` - one (year, category) layer as a network: the largest flows,
  nodes sized by exports and coloured by role (coalition member, curated hub,
  destination of concern, other).
* :func:`fig_supplier_bars` - firm and country shares of one item side by side.
* :func:`fig_scenario` - a destination's imports split into what a coalition's direct
  stop removes, what still arrives via hubs, and the rest.
* :func:`fig_leak_routes` - the max-flow of an enforcement cut as a Sankey diagram.

All are pure: frames in, :class:`plotly.graph_objects.Figure` out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analytics.figures.core import PALETTE, TEMPLATE, fig_empty, font_family
from analytics.i18n import country_name, label

__all__ = [
    "ROLE_COLORS",
    "SCENARIO_COLORS",
    "fig_trade_network",
    "fig_supplier_bars",
    "fig_scenario",
    "fig_leak_routes",
    "format_usd",
]

#: node roles of :func:`fig_trade_network`, in drawing (and legend) order
ROLE_COLORS = {"coalition": "#4f6d7a", "hub": "#f4a259", "concern": "#95190c",
               "other": "#a0a4b8"}
#: parts of :func:`fig_scenario`
SCENARIO_COLORS = {"stopped": "#4f6d7a", "leaking": "#bc4b51", "other": "#c9ced6"}
_GREY = "#c9ced6"

_TEXT: dict[str, tuple[str, str]] = {
    "coalition": ("Coalition member", "連合加盟国"),
    "hub": ("Transit hub (curated)", "経由拠点（既知）"),
    "concern": ("Destination of concern", "懸念仕向地"),
    "other": ("Other", "その他"),
    "stopped": ("Shipped directly by the coalition (stopped)", "連合からの直接輸出（停止）"),
    "leaking": ("Coalition-origin goods via hubs (still arriving)",
                "第三国経由の連合原産品（流入継続）"),
    "non_coalition": ("Non-coalition origin", "連合以外の原産"),
    "firms": ("Firms", "企業"),
    "countries": ("Countries", "国"),
    "exports": ("exports", "輸出"),
    "imports": ("imports", "輸入"),
    "max_flow": ("Max-flow (USD)", "最大フロー（米ドル）"),
    "various": ("Various / unattributed", "その他・不明"),
}


def _t(key: str, lang: str = "en") -> str:
    pair = _TEXT.get(key)
    if pair is None:
        return label(key, lang)
    return pair[1] if lang == "ja" else pair[0]


def format_usd(value: float) -> str:
    """Compact USD text: ``USD 1.23 bn``, ``USD 45.6 m``, ``USD 789 k``.

    >>> format_usd(1.234e9), format_usd(4.56e7), format_usd(789.0e3), format_usd(0)
    ('USD 1.23 bn', 'USD 45.6 m', 'USD 789 k', 'USD 0')
    """
    v = float(value)
    if not math.isfinite(v):
        return "-"
    a = abs(v)
    if a >= 1e12:
        return f"USD {v / 1e12:.3g} tn"
    if a >= 1e9:
        return f"USD {v / 1e9:.3g} bn"
    if a >= 1e6:
        return f"USD {v / 1e6:.3g} m"
    if a >= 1e3:
        return f"USD {v / 1e3:.3g} k"
    return f"USD {v:.3g}"


# ------------------------------------------------------------------ trade network
def _role_layout(nodes_by_role: Sequence[tuple[str, list[str]]]) -> dict[str, tuple[float, float]]:
    """Circular positions, one arc per role, a gap between arcs."""
    n = sum(len(ns) for _, ns in nodes_by_role)
    groups = [ns for _, ns in nodes_by_role if ns]
    gap = 1.0  # in node slots
    slots = n + gap * len(groups)
    pos = {}
    k = 0.0
    for ns in groups:
        for node in ns:
            ang = math.pi / 2 - 2 * math.pi * k / slots  # clockwise from the top
            pos[node] = (math.cos(ang), math.sin(ang))
            k += 1
        k += gap
    return pos


def fig_trade_network(
    layer_flows: pd.DataFrame,
    *,
    roles: Mapping[str, str] | None = None,
    top: int = 40,
    lang: str = "en",
    title: str | None = None,
) -> go.Figure:
    """The ``top`` largest flows of one layer drawn as a directed network.

    Nodes sit on a circle grouped by role (coalition members, curated hubs, destinations
    of concern, others; within a role by exports), so the picture is deterministic and
    comparable between years. Node area grows with the country's exports in the whole
    layer; each edge bends to its right (A->B and B->A do not overlap), its width grows
    with the value (four width classes) and an arrowhead marks the importer. Hovering a node gives its exports
    and imports, hovering an edge midpoint the flow.

    Parameters
    ----------
    layer_flows : DataFrame
        ``exporter``, ``importer``, ``value_usd`` of one (year, category).
    roles : mapping, optional
        ISO3 -> ``"coalition"``, ``"hub"``, ``"concern"`` or ``"other"`` (default).
    top : int
        Number of edges drawn (largest first).

    >>> import pandas as pd
    >>> f = pd.DataFrame({"exporter": ["JPN", "CHN", "HKG"], "importer": ["HKG", "RUS", "RUS"],
    ...                   "value_usd": [6.0, 4.0, 5.0]})
    >>> fig = fig_trade_network(f, roles={"JPN": "coalition", "HKG": "hub", "RUS": "concern"})
    >>> sorted(t.name for t in fig.data if t.name and t.showlegend is not False)
    ['Coalition member', 'Destination of concern', 'Other', 'Transit hub (curated)']
    """
    roles = dict(roles or {})
    f = layer_flows[(layer_flows["value_usd"] > 0)
                    & (layer_flows["exporter"] != layer_flows["importer"])]
    if f.empty:
        return fig_empty("no flows for this selection", lang=lang)
    exports = f.groupby("exporter")["value_usd"].sum()
    imports = f.groupby("importer")["value_usd"].sum()
    edges = f.nlargest(max(int(top), 1), "value_usd")[["exporter", "importer", "value_usd"]]
    nodes = pd.unique(pd.concat([edges["exporter"], edges["importer"]]))
    order = list(ROLE_COLORS)
    by_role = []
    for r in order:
        ns = [n for n in nodes if roles.get(n, "other") == r]
        ns.sort(key=lambda n: (-float(exports.get(n, 0.0)), n))
        by_role.append((r, ns))
    pos = _role_layout(by_role)

    traces: list[go.Scatter] = []
    vmax = float(edges["value_usd"].max())
    widths = (1.0, 2.5, 4.5, 7.0)  # edges drawn in four width classes (one trace each)
    buckets: dict[tuple[str, int], tuple[list, list, list]] = {}
    mids_x, mids_y, mids_text = [], [], []
    t = np.linspace(0.0, 0.93, 16)
    for e, i, v in edges.itertuples(index=False):
        (x0, y0), (x1, y1) = pos[e], pos[i]
        dx, dy = x1 - x0, y1 - y0
        # control point: pulled towards the centre and bent to the right of e -> i
        cx, cy = (x0 + x1) / 2 * 0.55 + dy * 0.18, (y0 + y1) / 2 * 0.55 - dx * 0.18
        bx = (1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t ** 2 * x1
        by = (1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t ** 2 * y1
        k = min(int(math.sqrt(v / vmax) * len(widths)), len(widths) - 1)
        xs, ys, sizes = buckets.setdefault((roles.get(e, "other"), k), ([], [], []))
        xs.extend([*bx, None])
        ys.extend([*by, None])
        sizes.extend([0] * (len(t) - 1) + [7 + 1.6 * widths[k], 0])
        m = len(t) // 2
        mids_x.append(bx[m])
        mids_y.append(by[m])
        mids_text.append(f"{country_name(e, lang)} → {country_name(i, lang)}: "
                         f"{format_usd(v)}")
    for (role, k), (xs, ys, sizes) in sorted(buckets.items(), key=lambda kv: kv[0][1]):
        color = ROLE_COLORS.get(role, ROLE_COLORS["other"])
        traces.append(go.Scatter(
            x=xs, y=ys, mode="lines+markers", hoverinfo="skip", showlegend=False,
            line=dict(width=widths[k], color=color), opacity=0.55,
            marker=dict(symbol="arrow", angleref="previous", size=sizes, color=color),
            connectgaps=False))
    fig = go.Figure(traces)
    fig.add_trace(go.Scatter(x=mids_x, y=mids_y, mode="markers", showlegend=False,
                             marker=dict(size=10, color="rgba(0,0,0,0)"),
                             text=mids_text, hovertemplate="%{text}<extra></extra>",
                             name="flows"))
    emax = float(exports.max()) if len(exports) else 1.0
    for r, ns in by_role:
        xs = [pos[n][0] for n in ns]
        ys = [pos[n][1] for n in ns]
        sizes = [10 + 34 * math.sqrt(float(exports.get(n, 0.0)) / emax) for n in ns]
        text = [f"{country_name(n, lang)} ({n})<br>{_t('exports', lang)} "
                f"{format_usd(exports.get(n, 0.0))}<br>{_t('imports', lang)} "
                f"{format_usd(imports.get(n, 0.0))}" for n in ns]
        tpos = ["top center" if y >= 0 else "bottom center" for y in ys]
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="markers+text", name=_t(r, lang), text=ns,
            textposition=tpos, textfont=dict(size=11), customdata=text,
            hovertemplate="%{customdata}<extra></extra>",
            marker=dict(size=sizes, color=ROLE_COLORS[r], line=dict(width=1, color="#fff")),
        ))
    fig.update_layout(
        template=TEMPLATE, font_family=font_family(lang), title=title or "",
        xaxis=dict(visible=False, range=[-1.3, 1.3]),
        yaxis=dict(visible=False, range=[-1.3, 1.3], scaleanchor="x", scaleratio=1),
        height=560, hovermode="closest", margin=dict(l=10, r=10, t=50, b=10),
    )
    return fig


# ------------------------------------------------------------------ supplier bars
def _bars_frame(shares: pd.DataFrame, top: int, lang: str, names: bool) -> pd.DataFrame:
    s = shares.copy()
    if "residual" not in s.columns:
        s["residual"] = False
    s["residual"] = s["residual"].fillna(False).astype(bool)
    named = s[~s["residual"]].sort_values("share", ascending=False, kind="stable")
    head, tail = named.head(top), named.iloc[top:]
    rows = [(country_name(p, lang) if names else str(p), float(v), False)
            for p, v in zip(head["provider"], head["share"], strict=True)]
    if len(tail):
        rows.append((f"{label('others', lang)} ({len(tail)})", float(tail["share"].sum()), True))
    resid = float(s.loc[s["residual"], "share"].sum())
    if resid > 0:
        rows.append((_t("various", lang), resid, True))
    return pd.DataFrame(rows, columns=["name", "share", "grey"])


def fig_supplier_bars(
    firms: pd.DataFrame,
    countries: pd.DataFrame,
    *,
    top: int = 10,
    hhi: tuple[float | None, float | None] = (None, None),
    lang: str = "en",
    title: str | None = None,
) -> go.Figure:
    """Provider shares of one item: firms (left) and countries (right), side by side.

    Parameters
    ----------
    firms, countries : DataFrame
        ``provider`` (firm name, or ISO3 code for countries), ``share`` (0-1) and
        optionally ``residual`` (True for "Various companies" / unattributed rows, drawn
        in grey after the named providers).
    top : int
        Named providers shown per panel; the rest are summed into one grey "Others" bar.
    hhi : (float, float)
        Firm and country HHI, shown in the panel titles when given.

    >>> import pandas as pd
    >>> firms = pd.DataFrame({"provider": ["F", "G", "Various companies"],
    ...                       "share": [0.6, 0.3, 0.1], "residual": [False, False, True]})
    >>> ctry = pd.DataFrame({"provider": ["NLD"], "share": [0.9]})
    >>> fig = fig_supplier_bars(firms, ctry, hhi=(0.45, 0.81))
    >>> list(fig.data[0].y), fig.data[0].marker.color[-1]
    (['F', 'G', 'Various / unattributed'], '#c9ced6')
    >>> list(fig.data[1].y)
    ['Netherlands']
    """
    if firms.empty and countries.empty:
        return fig_empty("no supplier shares for this item", lang=lang)

    def head(key, h):
        return _t(key, lang) + (f" (HHI {h:.2f})" if h is not None and np.isfinite(h) else "")

    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.22,
                        subplot_titles=(head("firms", hhi[0]), head("countries", hhi[1])))
    n = 1
    for col, (frame, names, color) in enumerate(
            ((firms, False, PALETTE[0]), (countries, True, PALETTE[5])), start=1):
        b = _bars_frame(frame, top, lang, names)
        n = max(n, len(b))
        fig.add_trace(go.Bar(
            x=[float(v) for v in b["share"]], y=list(b["name"]), orientation="h",
            showlegend=False,
            marker_color=[_GREY if g else color for g in b["grey"]],
            text=[f"{v:.1%}" for v in b["share"]], cliponaxis=False,
            textposition=["inside" if v >= 0.6 else "outside" for v in b["share"]],
            insidetextanchor="end", insidetextfont=dict(color="#fff"),
            hovertemplate="%{y}: %{x:.1%}<extra></extra>",
            name=_t("firms" if col == 1 else "countries", lang)), row=1, col=col)
        fig.update_yaxes(autorange="reversed", row=1, col=col, automargin=True)
        fig.update_xaxes(tickformat=".0%", range=[0, min(1.0, max(b["share"].max(), 0.05) * 1.25)]
                         if len(b) else [0, 1], row=1, col=col)
    fig.update_layout(template=TEMPLATE, font_family=font_family(lang), title=title or "",
                      height=max(220, 28 * n + 110), bargap=0.3)
    return fig


# ------------------------------------------------------------------ scenario
def fig_scenario(
    split: pd.DataFrame,
    *,
    destination: str | None = None,
    lang: str = "en",
    title: str | None = None,
) -> go.Figure:
    """A destination's imports of one category split by what a coalition's stop does.

    ``split`` has one row per ``part``: ``"stopped"`` (shipped directly by coalition
    members: ends with the stop), ``"leaking"`` (coalition-origin goods arriving from
    non-members: still arrives), ``"other"`` (goods of non-coalition origin), and a
    ``value`` column (USD). Bars show each part's value and share of the imports.

    >>> import pandas as pd
    >>> s = pd.DataFrame({"part": ["stopped", "leaking", "other"], "value": [2.0, 3.0, 5.0]})
    >>> fig = fig_scenario(s, destination="RUS")
    >>> list(fig.data[0].x), [round(c[1], 2) for c in fig.data[0].customdata]
    ([2.0, 3.0, 5.0], [0.2, 0.3, 0.5])
    """
    parts = ["stopped", "leaking", "other"]
    s = split.set_index("part")["value"].reindex(parts).fillna(0.0).astype(float)
    total = float(s.sum())
    if total <= 0:
        return fig_empty("no imports for this selection", lang=lang)
    shares = s / total
    names = [_t("stopped", lang), _t("leaking", lang), _t("non_coalition", lang)]
    text = [f"{format_usd(v)} ({sh:.1%})" for v, sh in zip(s, shares, strict=True)]
    fig = go.Figure(go.Bar(
        x=[float(v) for v in s], y=names, orientation="h",
        marker_color=[SCENARIO_COLORS[p] for p in parts],
        text=text, textposition="outside", cliponaxis=False,
        customdata=[[tx, float(sh)] for tx, sh in zip(text, shares, strict=True)],
        hovertemplate="%{y}<br>%{customdata[0]}<extra></extra>",
    ))
    dest = country_name(destination, lang) if destination else ""
    fig.update_layout(
        template=TEMPLATE, font_family=font_family(lang), title=title or "",
        xaxis=dict(title=label("value_usd", lang), range=[0, float(s.max()) * 1.45]),
        yaxis=dict(autorange="reversed", automargin=True),
        height=340, margin=dict(l=20, r=30, t=50, b=50), bargap=0.35,
    )
    fig.add_annotation(text=f"{dest} {_t('imports', lang)}: {format_usd(total)}".strip(),
                       x=1, y=1.12, xref="paper", yref="paper", showarrow=False,
                       xanchor="right", font=dict(size=12, color="#52606d"))
    return fig


def fig_leak_routes(
    flow: Mapping[str, Mapping[str, float]],
    *,
    members: Sequence[str],
    destination: str,
    coalition_name: str = "Coalition",
    top: int = 40,
    lang: str = "en",
    title: str | None = None,
) -> go.Figure:
    """Sankey of the max-flow from a coalition to a destination (the leak routes).

    ``flow`` is :attr:`analytics.chokepoints.EnforcementCut.flow` (``flow[u][v]`` = flow on
    the route u -> v). Members merge into one source node; opposite flows between two
    hubs are netted; the ``top`` largest links are drawn (minus the dead ends this
    truncation leaves). Links into the destination are
    red, links out of the coalition dark blue, hub-to-hub links grey.

    >>> flow = {"JPN": {"TUR": 3.0, "KAZ": 4.0}, "TUR": {"RUS": 3.0}, "KAZ": {"RUS": 4.0}}
    >>> fig = fig_leak_routes(flow, members=["JPN"], destination="RUS", coalition_name="Japan")
    >>> fig.data[0].type, sorted(fig.data[0].link.value)
    ('sankey', [3.0, 3.0, 4.0, 4.0])
    >>> fig.data[0].node.label[0]
    'Japan'
    """
    mem = set(members)
    src = "__K__"
    agg: dict[tuple[str, str], float] = {}
    for u, row in flow.items():
        for v, x in row.items():
            if x <= 0 or u == destination or v in mem:
                continue
            a = src if u in mem else u
            agg[(a, v)] = agg.get((a, v), 0.0) + float(x)
    net: dict[tuple[str, str], float] = {}
    for (u, v), x in agg.items():
        back = agg.get((v, u), 0.0)
        if x > back:
            net[(u, v)] = x - back
    if not net:
        return fig_empty("no route left: nothing can leak after the direct stop", lang=lang)
    links = sorted(net.items(), key=lambda kv: -kv[1])[:max(int(top), 1)]
    while True:  # drop dead ends left by the truncation (no way in, or no way on)
        has_in = {v for (_, v), _ in links}
        has_out = {u for (u, _), _ in links}
        kept = [(e, x) for e, x in links
                if (e[0] == src or e[0] in has_in) and (e[1] == destination or e[1] in has_out)]
        if len(kept) == len(links):
            break
        links = kept
    if not links:
        return fig_empty("no route left: nothing can leak after the direct stop", lang=lang)
    nodes = [src]
    for (u, v), _ in links:
        for n in (u, v):
            if n not in nodes and n != destination:
                nodes.append(n)
    nodes.append(destination)
    idx = {n: k for k, n in enumerate(nodes)}
    names = [coalition_name if n == src else country_name(n, lang) for n in nodes]
    inflow: dict[str, float] = {}
    outflow: dict[str, float] = {}
    for (u, v), x in links:
        outflow[u] = outflow.get(u, 0.0) + x
        inflow[v] = inflow.get(v, 0.0) + x
    through = [format_usd(max(inflow.get(n, 0.0), outflow.get(n, 0.0))) for n in nodes]
    colors = [ROLE_COLORS["coalition"] if n == src else
              ROLE_COLORS["concern"] if n == destination else ROLE_COLORS["hub"]
              for n in nodes]

    def link_color(u, v):
        if v == destination:
            return "rgba(188,75,81,0.45)"
        if u == src:
            return "rgba(79,109,122,0.40)"
        return "rgba(160,164,184,0.40)"

    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node=dict(label=names, color=colors, pad=14, thickness=16,
                  line=dict(color="#fff", width=0.5),
                  customdata=through,
                  hovertemplate="%{label}: %{customdata}<extra></extra>"),
        link=dict(source=[idx[u] for (u, _), _ in links],
                  target=[idx[v] for (_, v), _ in links],
                  value=[x for _, x in links],
                  color=[link_color(u, v) for (u, v), _ in links],
                  customdata=[format_usd(x) for _, x in links],
                  hovertemplate="%{source.label} → %{target.label}: %{customdata}"
                                "<extra></extra>"),
    ))
    fig.update_layout(template=TEMPLATE, font_family=font_family(lang), title=title or "",
                      height=460, margin=dict(l=10, r=10, t=50, b=10))
    return fig
