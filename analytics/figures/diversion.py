"""Figure builders for diversion routes: the route Sankey, the yearly route values with
policy events, and the difference-in-differences forest plot.

Every builder takes the frames that :mod:`analytics.diversion` and
:mod:`analytics.eventstudy` return and gives back a plotly figure in the project theme.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.figures.core import PALETTE, ROUTE_COLORS, TEMPLATE, fig_empty, font_family
from analytics.i18n import country_name, label

__all__ = ["fig_route_sankey", "fig_route_timeseries", "fig_did_forest"]

_OTHERS = "__others__"
_GREY = "#a0a4b8"
_ROUTES = ("direct", "via coalition", "via hub")


def format_usd(value: float) -> str:
    """Compact USD text: ``USD 1.35 bn``, ``USD 12.3 m``, ``USD 950``.

    >>> format_usd(1.349e9), format_usd(12.34e6), format_usd(950.0)
    ('USD 1.35 bn', 'USD 12.3 m', 'USD 950')
    """
    v = float(value)
    if not np.isfinite(v):
        return "-"
    a = abs(v)
    if a >= 1e9:
        return f"USD {v / 1e9:,.3g} bn"
    if a >= 1e6:
        return f"USD {v / 1e6:,.3g} m"
    if a >= 1e3:
        return f"USD {v / 1e3:,.3g} k"
    return f"USD {v:,.0f}"


def event_x(date) -> float:
    """Position of a date on a year axis (``2022-03-18`` -> 2022.21).

    >>> round(event_x("2022-03-18"), 2), event_x("2024-01-01")
    (2022.21, 2024.0)
    """
    ts = pd.Timestamp(date)
    days = 366 if ts.is_leap_year else 365
    return ts.year + (ts.day_of_year - 1) / days


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _legend_text(lang: str) -> str:
    parts = [f"<span style='color:{ROUTE_COLORS[r]}'>&#9632;</span> {label(r, lang)}"
             for r in _ROUTES]
    return "&nbsp;&nbsp;&nbsp;".join(parts)


def fig_route_sankey(
    routes: pd.DataFrame,
    *,
    top_origins: int = 8,
    top_hubs: int = 10,
    lang: str = "en",
    title: str | None = None,
) -> go.Figure:
    """Sankey of coalition-origin goods: origin -> last-hop hub -> destination.

    ``routes`` is :func:`analytics.diversion.diversion_routes` with ``by_origin=True``
    (``origin``, ``hub``, ``destination``, ``value``, ``route``). Direct shipments
    (``route == "direct"``) go straight from the origin to the destination; other goods
    pass through their last-hop hub (a coalition partner or a third country). Links are
    coloured by route type (:data:`~analytics.figures.core.ROUTE_COLORS`); origins beyond
    the ``top_origins`` largest and hubs beyond the ``top_hubs`` largest are grouped into
    "Others". Node ``customdata`` holds ``[iso3, hover text]`` (iso3 "" for Others).

    >>> import pandas as pd
    >>> r = pd.DataFrame({"origin": ["JPN", "JPN", "USA"], "hub": ["KGZ", "JPN", "KGZ"],
    ...                   "destination": "RUS", "value": [8.0, 2.0, 1.0],
    ...                   "route": ["via hub", "direct", "via hub"]})
    >>> fig = fig_route_sankey(r)
    >>> s = fig.data[0]
    >>> list(s.node.label)
    ['Japan', 'United States', 'Kyrgyzstan', 'Russia']
    >>> [(int(a), int(b), float(v)) for a, b, v in zip(s.link.source, s.link.target, s.link.value)]
    [(0, 3, 2.0), (0, 2, 8.0), (1, 2, 1.0), (2, 3, 9.0)]
    """
    if routes is None or routes.empty or float(routes["value"].sum()) <= 0:
        return fig_empty("no coalition-origin goods reach this destination", lang=lang)
    r = routes[routes["value"] > 0]
    dest = str(r["destination"].iloc[0])
    total = float(r["value"].sum())
    others = label("others", lang)

    o_tot = r.groupby("origin")["value"].sum().sort_values(ascending=False)
    keep_o = list(o_tot.index[:top_origins])
    indirect = r[r["route"] != "direct"]
    h_tot = indirect.groupby("hub")["value"].sum().sort_values(ascending=False)
    keep_h = list(h_tot.index[:top_hubs])

    r = r.assign(
        _o=np.where(r["origin"].isin(keep_o), r["origin"], _OTHERS),
        _h=np.where(r["hub"].isin(keep_h) | (r["route"] == "direct"), r["hub"], _OTHERS),
    )
    origins = keep_o + ([_OTHERS] if (r["_o"] == _OTHERS).any() else [])
    hubs = keep_h + ([_OTHERS] if ((r["_h"] == _OTHERS) & (r["route"] != "direct")).any()
                     else [])
    o_idx = {o: i for i, o in enumerate(origins)}
    h_idx = {h: len(origins) + i for i, h in enumerate(hubs)}
    d_idx = len(origins) + len(hubs)

    def name(code: str) -> str:
        return others if code == _OTHERS else country_name(code, lang)

    # hub colour: its dominant route type
    hub_route = (indirect.assign(_h=np.where(indirect["hub"].isin(keep_h), indirect["hub"],
                                             _OTHERS))
                 .groupby(["_h", "route"])["value"].sum().reset_index()
                 .sort_values("value", ascending=False).drop_duplicates("_h")
                 .set_index("_h")["route"])
    node_labels = [name(o) for o in origins] + [name(h) for h in hubs] + [name(dest)]
    node_codes = ([("" if o == _OTHERS else o) for o in origins]
                  + [("" if h == _OTHERS else h) for h in hubs] + [dest])
    node_colors = ([PALETTE[0] if o != _OTHERS else _GREY for o in origins]
                   + [_GREY if h == _OTHERS else ROUTE_COLORS[hub_route.get(h, "via hub")]
                      for h in hubs] + [PALETTE[7]])
    node_vals = ([float(o_tot.reindex(keep_o).get(o, 0.0)) if o != _OTHERS
                  else float(r.loc[r["_o"] == _OTHERS, "value"].sum()) for o in origins]
                 + [float(r.loc[(r["_h"] == h) & (r["route"] != "direct"), "value"].sum())
                    for h in hubs] + [total])
    node_text = [f"{format_usd(v)} ({v / total:.1%} of coalition-origin content)"
                 for v in node_vals]

    src, tgt, val, col, hover = [], [], [], [], []

    def add(s, t, v, route, text):
        src.append(s)
        tgt.append(t)
        val.append(float(v))
        col.append(_rgba(ROUTE_COLORS[route], 0.45))
        hover.append(f"{text}<br>{format_usd(v)} · {label(route, lang)}")

    direct = r[r["route"] == "direct"].groupby("_o", sort=False)["value"].sum()
    for o in origins:
        if o in direct.index:
            add(o_idx[o], d_idx, direct[o], "direct", f"{name(o)} → {name(dest)}")
    indirect_r = r[r["route"] != "direct"].rename(columns={"_o": "src", "_h": "mid"})
    oh = indirect_r.groupby(["src", "mid", "route"], sort=False)["value"].sum().reset_index()
    oh = oh.assign(si=oh["src"].map(o_idx), hi=oh["mid"].map(h_idx)).sort_values(["si", "hi"])
    for row in oh.itertuples(index=False):
        add(row.si, row.hi, row.value, row.route, f"{name(row.src)} → {name(row.mid)}")
    hd = indirect_r.groupby(["mid", "route"], sort=False)["value"].sum().reset_index()
    hd = hd.assign(hi=hd["mid"].map(h_idx)).sort_values("hi")
    for row in hd.itertuples(index=False):
        add(row.hi, d_idx, row.value, row.route, f"{name(row.mid)} → {name(dest)}")

    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node=dict(label=node_labels, color=node_colors, pad=14, thickness=16,
                  line=dict(color="#ffffff", width=0.5),
                  customdata=[[c, t] for c, t in zip(node_codes, node_text, strict=True)],
                  hovertemplate="%{label}<br>%{customdata[1]}<extra></extra>"),
        link=dict(source=src, target=tgt, value=val, color=col, customdata=hover,
                  hovertemplate="%{customdata}<extra></extra>"),
        valueformat=",.0f",
    ))
    n = max(len(origins), len(hubs))
    fig.update_layout(
        template=TEMPLATE, font_family=font_family(lang), title=title or "",
        height=max(420, 30 * n + 140), margin=dict(l=20, r=20, t=60 if title else 40, b=20),
        annotations=[dict(text=_legend_text(lang), x=0, y=1.0, xref="paper",
                          yref="paper", xanchor="left", yanchor="bottom", showarrow=False,
                          font=dict(size=12))],
    )
    return fig


def _scale(max_value: float) -> tuple[float, str]:
    if max_value >= 1e9:
        return 1e9, "value_usd_bn"
    if max_value >= 1e6:
        return 1e6, "value_usd_m"
    return 1.0, "value_usd"


def _event_clusters(events: pd.DataFrame, gap: float) -> list[dict]:
    ev = events.assign(xpos=[event_x(d) for d in events["date"]]).sort_values("xpos")
    clusters: list[dict] = []
    for rec in ev.to_dict("records"):
        if clusters and rec["xpos"] - clusters[-1]["x_last"] <= gap:
            c = clusters[-1]
            c["rows"].append(rec)
            c["x_last"] = rec["xpos"]
        else:
            clusters.append({"x": rec["xpos"], "x_last": rec["xpos"], "rows": [rec]})
    for c in clusters:
        rows = c["rows"]
        juris = list(dict.fromkeys(str(r.get("jurisdiction", "")) for r in rows))
        first, last = pd.Timestamp(rows[0]["date"]), pd.Timestamp(rows[-1]["date"])
        when = first.strftime("%b %Y") if (first.year, first.month) == (last.year, last.month) \
            else f"{first:%b}-{last:%b %Y}" if first.year == last.year \
            else f"{first:%b %Y}-{last:%b %Y}"
        c["label"] = f"{'/'.join(j for j in juris if j)} {when}".strip()
        c["hover"] = "<br>".join(
            f"{pd.Timestamp(r['date']):%Y-%m-%d} {r.get('jurisdiction', '')}: "
            f"{_short(str(r.get('measure', '')), 90)}" for r in rows)
        c["ids"] = [r.get("event_id") for r in rows]
    return clusters


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def _runs(years: Sequence[int]) -> list[list[int]]:
    """Runs of consecutive years: ``[2018, 2019, 2022]`` -> ``[[2018, 2019], [2022]]``.

    >>> _runs([2018, 2019, 2022, 2024, 2025])
    [[2018, 2019], [2022], [2024, 2025]]
    """
    runs: list[list[int]] = []
    for y in years:
        if runs and y == runs[-1][-1] + 1:
            runs[-1].append(y)
        else:
            runs.append([y])
    return runs


_NO_DATA = {"en": "no data", "ja": "データなし"}


def fig_route_timeseries(
    yearly: pd.DataFrame,
    *,
    top_hubs: int = 5,
    events: pd.DataFrame | None = None,
    selected_event: str | None = None,
    lang: str = "en",
    title: str | None = None,
    event_gap: float = 0.25,
) -> go.Figure:
    """Coalition-origin value arriving at a destination per year: direct vs via hubs.

    ``yearly`` is :func:`analytics.diversion.yearly_route_values` for one destination
    (``year``, ``hub``, ``value``, ``member``; several categories are summed). Stacked
    areas: shipments from coalition members ("direct") at the bottom, then the
    ``top_hubs`` largest non-member hubs, then the other hubs. ``events`` (rows of the
    events table: ``event_id``, ``date``, ``jurisdiction``, ``measure``) within a year of
    the data become vertical markers at their date in years (2022-03-18 -> 2022.21), with
    rotated labels; events closer than ``event_gap`` years share one label;
    ``selected_event`` is always shown, in a stronger colour.

    Years missing inside the data's range (a store of 2022 and 2024) are not bridged: each
    run of consecutive years is a stack of its own (with markers, so a single year shows),
    and the missing years are shaded and labelled "no data".

    >>> import pandas as pd
    >>> y = pd.DataFrame({"year": [2021, 2021, 2022, 2022], "hub": ["JPN", "KGZ", "JPN", "KGZ"],
    ...                   "value": [10.0, 1.0, 2.0, 8.0], "member": [True, False, True, False]})
    >>> ev = pd.DataFrame({"event_id": ["ban"], "date": ["2022-03-18"], "jurisdiction": ["JP"],
    ...                    "measure": ["export ban"]})
    >>> fig = fig_route_timeseries(y, events=ev, selected_event="ban")
    >>> [(t.name, list(t.y)) for t in fig.data if t.stackgroup]
    [('direct', [10.0, 2.0]), ('Kyrgyzstan', [1.0, 8.0])]
    >>> fig.layout.shapes[0].x0 == fig.layout.shapes[0].x1, fig.layout.annotations[0].text
    (True, 'JP Mar 2022')
    """
    if yearly is None or yearly.empty or float(yearly["value"].sum()) <= 0:
        return fig_empty("no coalition-origin goods reach this destination", lang=lang)
    y = yearly
    years = sorted(int(t) for t in y["year"].unique())
    direct = y[y["member"]].groupby("year")["value"].sum().reindex(years, fill_value=0.0)
    hubs = y[~y["member"]]
    h_tot = hubs.groupby("hub")["value"].sum().sort_values(ascending=False)
    h_tot = h_tot[h_tot > 0]
    keep = list(h_tot.index[:top_hubs])
    wide = hubs.pivot_table(index="year", columns="hub", values="value", aggfunc="sum",
                            fill_value=0.0).reindex(index=years, fill_value=0.0)
    rest = wide.drop(columns=keep, errors="ignore").sum(axis=1)
    series = [(label("direct", lang), direct, ROUTE_COLORS["direct"])]
    hub_colors = [c for c in PALETTE if c not in (PALETTE[0], _GREY, *ROUTE_COLORS.values())]
    for k, h in enumerate(keep):
        series.append((country_name(h, lang), wide[h], hub_colors[k % len(hub_colors)]))
    if float(rest.sum()) > 0:
        series.append((f"{label('others', lang)} ({label('via hub', lang)})", rest, _GREY))
    peak = float(sum(s.to_numpy() for _, s, _c in series).max())
    factor, ykey = _scale(peak)
    fig = go.Figure()
    runs = _runs(years)
    gaps = len(runs) > 1
    for k, run in enumerate(runs):
        for name, s, color in series:
            v = s.reindex(run)
            fig.add_trace(go.Scatter(
                x=run, y=(v / factor).round(6).tolist() if factor != 1 else v.tolist(),
                name=name, legendgroup=name, showlegend=k == 0,
                mode="lines+markers" if gaps else "lines",
                marker=dict(size=6, color=color),
                stackgroup=f"run{k}" if gaps else "one", line=dict(width=0.6, color=color),
                fillcolor=_rgba(color, 0.7),
                hovertemplate=f"{name}: %{{y:,.3~f}}<extra>%{{x}}</extra>"))
    for prev, nxt in zip(runs, runs[1:], strict=False):
        fig.add_vrect(x0=prev[-1] + 0.5, x1=nxt[0] - 0.5, fillcolor="#e4e7eb", opacity=0.6,
                      layer="below", line_width=0,
                      annotation=dict(text=_NO_DATA.get(lang, _NO_DATA["en"]),
                                      textangle=0, font=dict(size=10, color="#7b8794")),
                      annotation_position="top")
    x_lo, x_hi = years[0] - 0.3, years[-1] + 0.3
    if events is not None and len(events):
        clusters = [c for c in _event_clusters(events, event_gap)
                    if years[0] - 1 < c["x"] < years[-1] + 1 or selected_event in c["ids"]]
        xs, hovers = [], []
        for c in clusters:
            sel = selected_event is not None and selected_event in c["ids"]
            color = PALETTE[1] if sel else "#7b8794"
            fig.add_shape(type="line", x0=c["x"], x1=c["x"], y0=0, y1=1, yref="paper",
                          xref="x", line=dict(color=color, width=2 if sel else 1,
                                              dash="solid" if sel else "dot"))
            fig.add_annotation(x=c["x"], y=1.0, xref="x", yref="paper", text=c["label"],
                               showarrow=False, textangle=-90, xanchor="right",
                               yanchor="top", xshift=-1,
                               font=dict(size=10, color="#1f2933" if sel else "#52606d"),
                               bgcolor="rgba(255,255,255,0.7)")
            xs.append(c["x"])
            hovers.append(c["hover"])
            x_lo, x_hi = min(x_lo, c["x"] - 0.2), max(x_hi, c["x"] + 0.2)
        fig.add_trace(go.Scatter(
            x=xs, y=[0] * len(xs), mode="markers", name=label("event", lang),
            marker=dict(symbol="triangle-up", size=10, color=PALETTE[1]),
            customdata=hovers, hovertemplate="%{customdata}<extra></extra>",
            showlegend=False))
    fig.update_layout(
        template=TEMPLATE, font_family=font_family(lang), title=title or "",
        xaxis=dict(title=label("year", lang), dtick=1, tickformat="d", range=[x_lo, x_hi]),
        yaxis=dict(title=label(ykey, lang), rangemode="tozero"),
        height=450, hovermode="closest",
        margin=dict(l=60, r=20, t=50 if not title else 80, b=50),
    )
    return fig


def fig_did_forest(
    did: pd.DataFrame,
    *,
    lang: str = "en",
    title: str | None = None,
    highlight: Sequence[str] | None = None,
) -> go.Figure:
    """Forest plot of difference-in-differences estimates, one row per hub.

    ``did`` is :func:`analytics.eventstudy.diff_in_diff` (``hub``, ``estimate``,
    ``ci_low``, ``ci_high``, ``p_value``, ``multiplier``, ``n_treated``; with several
    categories the rows are labelled "hub · category"). Points whose interval lies above
    zero (a significant post-event rise of the coalition's exports of the category to the
    hub) are drawn in the hub-route colour and labelled with the multiplier, those below
    zero in navy, the rest grey. ``highlight`` hubs (e.g. the planted or flagged ones) get
    a bold label.

    >>> import pandas as pd
    >>> d = pd.DataFrame({"hub": ["KGZ", "SGP"], "category_id": "c", "estimate": [1.08, 0.01],
    ...                   "ci_low": [1.02, -0.05], "ci_high": [1.14, 0.06],
    ...                   "p_value": [0.0, 0.8], "multiplier": [2.94, 1.01],
    ...                   "n_treated": [96, 96]})
    >>> fig = fig_did_forest(d)
    >>> list(fig.data[0].y), list(fig.data[0].x), list(fig.data[0].text)
    (['Singapore', 'Kyrgyzstan'], [0.01, 1.08], ['', '×2.94'])
    """
    if did is None or did.empty:
        return fig_empty("no difference-in-differences estimates for this selection",
                         lang=lang)
    d = did.sort_values("estimate", ascending=True).reset_index(drop=True)
    multi = "category_id" in d and d["category_id"].nunique() > 1
    hi = set(highlight or ())
    names = []
    for row in d.itertuples(index=False):
        n = country_name(row.hub, lang)
        if multi:
            n = f"{n} · {row.category_id}"
        names.append(f"<b>{n}</b>" if row.hub in hi else n)
    up = d["ci_low"] > 0
    down = d["ci_high"] < 0
    colors = np.where(up, ROUTE_COLORS["via hub"], np.where(down, PALETTE[0], _GREY))
    text = [f"×{m:.2f}" if u else "" for m, u in zip(d["multiplier"], up, strict=True)]
    custom = np.column_stack([d["ci_low"], d["ci_high"], d["p_value"], d["multiplier"],
                              d.get("n_treated", pd.Series(np.nan, index=d.index))])
    fig = go.Figure(go.Scatter(
        x=d["estimate"].tolist(), y=names, mode="markers+text",
        marker=dict(color=colors.tolist(), size=10, line=dict(color="#ffffff", width=1)),
        error_x=dict(type="data", symmetric=False,
                     array=(d["ci_high"] - d["estimate"]).tolist(),
                     arrayminus=(d["estimate"] - d["ci_low"]).tolist(),
                     color="#52606d", thickness=1.5, width=4),
        text=text, textposition="top center", textfont=dict(size=11),
        customdata=custom,
        hovertemplate=("%{y}: %{x:.3f} [%{customdata[0]:.3f}, %{customdata[1]:.3f}]"
                       "<br>multiplier ×%{customdata[3]:.2f}, p = %{customdata[2]:.3g}"
                       "<br>treated observations: %{customdata[4]}<extra></extra>"),
        showlegend=False,
    ))
    fig.add_vline(x=0, line=dict(color="#1f2933", width=1))
    fig.update_layout(
        template=TEMPLATE, font_family=font_family(lang), title=title or "",
        xaxis=dict(title=label("estimate", lang), zeroline=False),
        yaxis=dict(title="", automargin=True),
        height=max(300, 30 * len(d) + 120),
        margin=dict(l=20, r=20, t=40 if not title else 60, b=50),
    )
    return fig
