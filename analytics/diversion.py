r"""Diversion routes: how a coalition's goods reach a destination through third-country hubs
(DESIGN method 7), and the screening evidence for each hub.

Everything builds on proportional-mixing tracing (:mod:`analytics.tracing`): the origin
mix :math:`C_{oj}` of what country :math:`j` ships. For coalition :math:`K` and destination
:math:`d`:

* **Routes by last hop.** The flow :math:`h \to d` carries :math:`X_{hd}\,C_{oh}` of origin
  :math:`o`. ``hub == origin`` is a direct shipment; a hub inside the coalition is a
  coalition partner; a hub outside it is a diversion route.
* **Paths.** Origin-:math:`o` goods travel the path :math:`o \to h_1 \to \dots \to d` in the
  amount :math:`P_o \prod_{(u,v)} X_{uv}/S_u` (each node passes on the share
  :math:`X_{uv}/S_u` of its pool). The amounts of all walks sum to the :math:`o` content of
  :math:`d`'s imports; :func:`route_paths` lists the largest simple paths (k shortest
  paths with edge length :math:`-\log(X_{uv}/S_u)`, Yen's algorithm).
* **Diversion exposure** of :math:`d`: coalition-origin content arriving via non-coalition
  hubs, over :math:`d`'s imports.
* **Forward exposure** of a country :math:`h`: the share of its coalition-origin imports
  that it passes on to destinations of concern, :math:`\sum_{d\in D} X_{hd} / S_h` under
  proportional mixing (why a non-sanctioned hub can itself be a high-risk destination).

>>> import pandas as pd
>>> f = pd.DataFrame({"exporter": ["JPN", "JPN", "KGZ", "CHN"],
...                   "importer": ["KGZ", "RUS", "RUS", "RUS"],
...                   "value_usd": [10.0, 2.0, 8.0, 5.0]})
>>> r = diversion_routes(f, coalition="japan", destination="RUS")
>>> r[["origin", "hub", "value", "route"]].to_dict("records")
[{'origin': 'JPN', 'hub': 'KGZ', 'value': 8.0, 'route': 'via hub'}, {'origin': 'JPN', 'hub': 'JPN', 'value': 2.0, 'route': 'direct'}]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from analytics import tracing
from analytics.errors import AnalysisError, NodeNotFound
from analytics.reference import concern_destinations, resolve_coalition

__all__ = [
    "diversion_routes",
    "route_paths",
    "diversion_exposure",
    "forward_exposure",
    "coalition_arrays",
    "hub_ranking",
    "screen_routes",
    "yearly_route_values",
]


def _model(flows, production, reexport_share, model):
    if model is not None:
        return model
    return tracing.build_model(flows, production, reexport_share=reexport_share)


def diversion_routes(
    flows: pd.DataFrame,
    *,
    coalition: str | Sequence[str],
    destination: str,
    production: str | pd.Series = "net_exports",
    reexport_share: pd.Series | Mapping[str, float] | None = None,
    by_origin: bool = True,
    countries: pd.DataFrame | None = None,
    model: tracing.TracingModel | None = None,
) -> pd.DataFrame:
    """Coalition-origin content of a destination's imports, split by last-hop partner.

    Parameters
    ----------
    flows : DataFrame
        One layer (``exporter``, ``importer``, ``value_usd``).
    coalition : str or list of str
        Preset name or ISO3 codes.
    destination : str
        ISO3 of the destination.
    by_origin : bool
        One row per (member origin, hub); False sums the coalition as one origin
        (``origin == "coalition"``).

    Returns
    -------
    DataFrame
        ``origin``, ``hub``, ``destination``, ``value`` (USD of coalition-origin goods
        arriving from ``hub``), ``route`` (``direct``, ``via coalition``, ``via hub``),
        ``share`` (of the destination's imports), sorted by value. ``attrs`` hold
        ``imports``, ``coalition_content``, ``members``, ``strategy``.

    Raises
    ------
    NodeNotFound
        The destination has no imports in the layer.
    """
    members = resolve_coalition(coalition, countries)
    model = _model(flows, production, reexport_share, model)
    pos = {n: i for i, n in enumerate(model.nodes)}
    if destination not in pos or model.imports[pos[destination]] <= 0:
        raise NodeNotFound(f"destination {destination!r} has no imports in this layer")
    present = [m for m in members if m in pos]
    d = pos[destination]
    imports_d = float(model.imports[d])
    col = model.X[:, d].toarray().ravel()
    hubs = np.nonzero(col)[0]
    if not present:
        empty = pd.DataFrame(columns=["origin", "hub", "destination", "value", "route",
                                      "share"])
        empty.attrs.update(imports=imports_d, coalition_content=0.0, members=members,
                           strategy=model.strategy)
        return empty
    groups = {m: [m] for m in present} if by_origin else {"coalition": present}
    comp = model.composition(groups).to_numpy()  # (origins, nodes)
    recs = []
    for k, origin in enumerate(groups):
        vals = col[hubs] * comp[k, hubs]
        for h, v in zip(hubs, vals, strict=True):
            if v <= 0:
                continue
            hub = model.nodes[h]
            if hub == origin or (origin == "coalition" and hub in members):
                route = "direct"
            elif hub in members:
                route = "via coalition"
            else:
                route = "via hub"
            recs.append((origin, hub, destination, float(v), route))
    out = pd.DataFrame(recs, columns=["origin", "hub", "destination", "value", "route"])
    out["share"] = out["value"] / imports_d
    out = out.sort_values("value", ascending=False).reset_index(drop=True)
    out.attrs.update(imports=imports_d, coalition_content=float(out["value"].sum()),
                     members=members, strategy=model.strategy)
    return out


def route_paths(
    flows: pd.DataFrame,
    *,
    coalition: str | Sequence[str],
    destination: str,
    k: int = 10,
    max_hops: int = 4,
    production: str | pd.Series = "net_exports",
    reexport_share: pd.Series | Mapping[str, float] | None = None,
    countries: pd.DataFrame | None = None,
    model: tracing.TracingModel | None = None,
    max_candidates: int = 500,
) -> pd.DataFrame:
    """The ``k`` largest simple paths carrying coalition-origin goods to ``destination``.

    Returns ``rank``, ``origin``, ``path`` (tuple of nodes), ``route`` (text
    "JPN > TUR > RUS"), ``hops``, ``hub`` (last hop), ``amount`` (USD, exact under
    proportional mixing) and ``share`` (of the coalition-origin content of the
    destination's imports). ``attrs["coverage"]`` is the share of that content the listed
    paths explain (cycles and longer paths carry the rest).

    Notes
    -----
    Paths are enumerated by :func:`analytics.tracing.largest_paths` (Yen's algorithm on
    edge lengths :math:`-\\log(X_{uv}/S_u)` from a super-source attached to every member,
    with exact pruning of edges too small to carry one of the ``k`` largest paths).

    >>> import pandas as pd
    >>> f = pd.DataFrame({"exporter": ["JPN", "JPN", "TUR", "ARM"],
    ...                   "importer": ["TUR", "ARM", "ARM", "RUS"],
    ...                   "value_usd": [10.0, 10.0, 5.0, 10.0]})
    >>> p = route_paths(f, coalition="japan", destination="RUS", k=2)
    >>> p[["route", "amount"]].round(3).to_dict("records")
    [{'route': 'JPN > ARM > RUS', 'amount': 6.667}, {'route': 'JPN > TUR > ARM > RUS', 'amount': 3.333}]
    """
    members = resolve_coalition(coalition, countries)
    model = _model(flows, production, reexport_share, model)
    pos = {n: i for i, n in enumerate(model.nodes)}
    if destination not in pos:
        raise NodeNotFound(f"destination {destination!r} not in the layer")
    if k < 1:
        raise AnalysisError("k must be at least 1")
    cols = ["rank", "origin", "path", "route", "hops", "hub", "amount", "share"]
    P = model.production
    S = np.asarray(model.supply, dtype=float)
    X = model.X.tocoo()
    ok = (X.data > 0) & (S[X.row] > 0)
    rows, dst = X.row[ok], X.col[ok]
    share = np.minimum(X.data[ok] / S[rows], 1.0)
    present = [m for m in members if m in pos and P[pos[m]] > 0]
    total = (tracing.trace_imports(flows, model=model, origins={"K": present},
                                   destinations=[destination])["value"].sum()
             if present else 0.0)
    if not present or total <= 0:
        out = pd.DataFrame(columns=cols)
        out.attrs.update(coverage=np.nan, coalition_content=float(total), members=members,
                         strategy=model.strategy)
        return out
    names = np.asarray(model.nodes, dtype=object)
    # coalition partners re-export too, so a path may pass another member
    found = tracing.largest_paths({m: P[pos[m]] for m in present}, [destination],
                                  names[rows], names[dst], share, k=k, max_hops=max_hops,
                                  total=total, max_candidates=max_candidates)
    recs = [(nodes[0], nodes, " > ".join(nodes), len(nodes) - 1,
             nodes[-2] if len(nodes) > 1 else nodes[0], amount) for nodes, amount in found]
    out = pd.DataFrame(recs, columns=cols[1:-1])
    out["share"] = out["amount"] / total
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out.attrs.update(coverage=float(out["amount"].sum() / total),
                     coalition_content=float(total), members=members,
                     strategy=model.strategy)
    return out


def coalition_arrays(model: tracing.TracingModel, members, concern=()) -> dict[str, np.ndarray]:
    """Per-node coalition quantities of one layer, as arrays aligned with ``model.nodes``.

    ``mix`` (:math:`C_{K,j}`, coalition share of what j ships), ``direct`` and ``via_hubs``
    (coalition content of j's imports shipped by members / by others), ``content``
    (their sum), ``to_concern`` (coalition content j passes on to ``concern``, its own
    production excluded) and ``exports_to_concern``. The numpy core behind
    :func:`diversion_exposure`, :func:`forward_exposure` and the risk score.

    Parameters
    ----------
    model : TracingModel
        One layer prepared by :func:`analytics.tracing.build_model`.
    members : iterable of str
        Coalition members (ISO3).
    concern : iterable of str
        Destinations of concern for ``to_concern`` and ``exports_to_concern``.

    Returns
    -------
    dict of str to ndarray
        The arrays above and ``member`` (bool), each of length ``len(model.nodes)``.

    Raises
    ------
    AnalysisError
        No coalition member is a node of the layer.

    Examples
    --------
    JPN ships 6 to hub KGZ (which also gets 2 from CHN) and 1 straight to RUS; KGZ
    passes 4 on to RUS. KGZ's mix is 6/8 Japanese, so RUS gets 1 direct and 3 via KGZ
    (its own pool is then 4/5 Japanese):

    >>> import pandas as pd
    >>> from analytics.tracing import build_model
    >>> f = pd.DataFrame({"exporter": ["JPN", "CHN", "KGZ", "JPN"],
    ...                   "importer": ["KGZ", "KGZ", "RUS", "RUS"],
    ...                   "value_usd": [6.0, 2.0, 4.0, 1.0]})
    >>> m = build_model(f)
    >>> a = coalition_arrays(m, {"JPN"}, concern=["RUS"])
    >>> {k: dict(zip(m.nodes, a[k].round(3).tolist())) for k in ("mix", "direct", "via_hubs")}
    {'mix': {'JPN': 1.0, 'CHN': 0.0, 'KGZ': 0.75, 'RUS': 0.8}, 'direct': {'JPN': 0.0, 'CHN': 0.0, 'KGZ': 6.0, 'RUS': 1.0}, 'via_hubs': {'JPN': 0.0, 'CHN': 0.0, 'KGZ': 0.0, 'RUS': 3.0}}
    >>> float(a["to_concern"][list(m.nodes).index("KGZ")])
    3.0
    """
    nodes = np.asarray(model.nodes, dtype=object)
    member = np.isin(nodes, list(members))
    n = len(nodes)
    if not member.any():
        raise AnalysisError(f"no coalition member exports in this layer ({sorted(members)})")
    mix = model.composition({"K": list(nodes[member])}).to_numpy()[0]
    X = model.X.tocoo()
    content = X.data * mix[X.row]
    shipped_by_member = member[X.row]
    direct = np.bincount(X.col, weights=np.where(shipped_by_member, content, 0.0),
                         minlength=n)
    via = np.bincount(X.col, weights=np.where(shipped_by_member, 0.0, content), minlength=n)
    reexp_mix = np.where(member, mix - model.own_share, mix).clip(min=0.0)
    to_concern_val = model.X.dot(np.isin(nodes, list(concern)).astype(float))
    return {"member": member, "mix": mix, "direct": direct, "via_hubs": via,
            "content": direct + via, "to_concern": to_concern_val * reexp_mix,
            "exports_to_concern": to_concern_val}


def diversion_exposure(
    flows: pd.DataFrame,
    *,
    coalition: str | Sequence[str],
    destinations: Sequence[str] | None = None,
    production: str | pd.Series = "net_exports",
    reexport_share: pd.Series | Mapping[str, float] | None = None,
    countries: pd.DataFrame | None = None,
    model: tracing.TracingModel | None = None,
) -> pd.DataFrame:
    """Diversion exposure of each destination.

    Returns one row per destination: ``imports``, ``coalition_content`` (traced
    coalition-origin value in its imports), ``direct`` (arriving straight from members),
    ``via_hubs`` (arriving from non-members), ``coalition_share`` (content / imports),
    ``diversion_exposure`` (via_hubs / imports) and ``diverted_share`` (via_hubs /
    content).

    >>> import pandas as pd
    >>> f = pd.DataFrame({"exporter": ["JPN", "KGZ", "JPN"], "importer": ["KGZ", "RUS", "RUS"],
    ...                   "value_usd": [6.0, 6.0, 2.0]})
    >>> e = diversion_exposure(f, coalition="japan").set_index("destination")
    >>> float(e.loc["RUS", "diversion_exposure"]), float(e.loc["RUS", "diverted_share"])
    (0.75, 0.75)
    """
    members = set(resolve_coalition(coalition, countries))
    model = _model(flows, production, reexport_share, model)
    arr = coalition_arrays(model, members)
    imports = pd.Series(model.imports, index=model.nodes)
    dests = imports[imports > 0].index
    if destinations is not None:
        dests = pd.Index([d for d in destinations if d in set(dests)])
    idx = model.nodes.get_indexer(dests)
    out = pd.DataFrame({"destination": dests, "imports": model.imports[idx]})
    out["direct"] = arr["direct"][idx]
    out["via_hubs"] = arr["via_hubs"][idx]
    out["coalition_content"] = out["direct"] + out["via_hubs"]
    out["coalition_share"] = (out["coalition_content"] / out["imports"]).clip(upper=1.0)
    out["diversion_exposure"] = (out["via_hubs"] / out["imports"]).clip(upper=1.0)
    out["diverted_share"] = np.divide(out["via_hubs"], out["coalition_content"],
                                      out=np.zeros(len(out)),
                                      where=out["coalition_content"] > 0)
    out.attrs.update(members=tuple(sorted(members)), strategy=model.strategy)
    return out.sort_values("diversion_exposure", ascending=False).reset_index(drop=True)


def forward_exposure(
    flows: pd.DataFrame,
    *,
    coalition: str | Sequence[str],
    concern: Sequence[str] | None = None,
    production: str | pd.Series = "net_exports",
    reexport_share: pd.Series | Mapping[str, float] | None = None,
    countries: pd.DataFrame | None = None,
    model: tracing.TracingModel | None = None,
) -> pd.DataFrame:
    """Forward exposure of every country: the share of its coalition-origin imports that
    it passes on to destinations of concern.

    ``concern`` defaults to the countries under sanctions or a UN arms embargo in the
    countries reference table. Returns ``country``, ``coalition_imports`` (traced
    coalition-origin content of its imports), ``to_concern`` (coalition-origin content
    of its exports to concern destinations, excluding its own production),
    ``forward_exposure`` (the ratio, 0-1) and ``exports_to_concern`` (total value).

    >>> import pandas as pd
    >>> f = pd.DataFrame({"exporter": ["JPN", "ARM", "ARM"], "importer": ["ARM", "RUS", "GEO"],
    ...                   "value_usd": [10.0, 6.0, 2.0]})
    >>> fe = forward_exposure(f, coalition="japan", concern=["RUS"]).set_index("country")
    >>> float(fe.loc["ARM", "forward_exposure"])
    0.6
    """
    members = set(resolve_coalition(coalition, countries))
    conc = set(concern if concern is not None else concern_destinations(countries))
    model = _model(flows, production, reexport_share, model)
    arr = coalition_arrays(model, members, conc)
    out = pd.DataFrame({
        "country": model.nodes,
        "coalition_imports": arr["content"],
        "to_concern": arr["to_concern"],
        "exports_to_concern": arr["exports_to_concern"],
    })
    out["forward_exposure"] = np.divide(out["to_concern"], out["coalition_imports"],
                                        out=np.zeros(len(out)),
                                        where=out["coalition_imports"] > 0).clip(0.0, 1.0)
    out = out[~out["country"].isin(conc)]
    out.attrs.update(members=tuple(sorted(members)), concern=tuple(sorted(conc)),
                     strategy=model.strategy)
    return out.sort_values("forward_exposure", ascending=False).reset_index(drop=True)


def yearly_route_values(
    cflows: pd.DataFrame,
    *,
    coalition: str | Sequence[str],
    destinations: Sequence[str],
    categories: Iterable[str] | None = None,
    years: Iterable[int] | None = None,
    production: str | pd.Series = "net_exports",
    countries: pd.DataFrame | None = None,
) -> pd.DataFrame:
    r"""Coalition-origin value arriving at each destination via each last hop, every year.

    For every (year, category) layer the flow :math:`h \to d` carries
    :math:`X_{hd}\,C_{Kh}` of coalition-origin goods (proportional mixing, see
    :mod:`analytics.tracing`). One tracing model per layer serves all destinations.

    Parameters
    ----------
    cflows : DataFrame
        Category flows (``year``, ``exporter``, ``importer``, ``category_id``,
        ``value_usd``), as :func:`analytics.network.category_flows` returns.
    coalition : str or list of str
        Preset name or ISO3 codes.
    destinations : list of str
        Destinations (ISO3) whose incoming flows are reported.
    categories, years : iterable, optional
        Restrict to these categories / years.
    production : {"net_exports", "exports"} or Series
        Production assumption of the tracing.
    countries : DataFrame, optional
        Countries table for coalition presets (default: the reference table).

    Returns
    -------
    DataFrame
        One row per flow into a destination: ``year``, ``category_id``, ``hub`` (the
        exporter; a member for direct shipments), ``destination``, ``value``
        (coalition-origin content of the flow), ``flow`` (the flow's total value) and
        ``member`` (hub in the coalition). Layers without a coalition member are skipped.

    Examples
    --------
    In 2021 KGZ re-exports only Japanese goods; in 2022 half of its pool is Chinese:

    >>> import pandas as pd
    >>> cf = pd.DataFrame({"year": [2021, 2021, 2022, 2022, 2022],
    ...     "exporter": ["JPN", "KGZ", "JPN", "CHN", "KGZ"],
    ...     "importer": ["KGZ", "RUS", "KGZ", "KGZ", "RUS"],
    ...     "category_id": "c", "value_usd": [4.0, 4.0, 10.0, 10.0, 8.0]})
    >>> y = yearly_route_values(cf, coalition="japan", destinations=["RUS"])
    >>> y[["year", "hub", "value", "flow", "member"]].to_dict("records")
    [{'year': 2021, 'hub': 'KGZ', 'value': 4.0, 'flow': 4.0, 'member': False}, {'year': 2022, 'hub': 'KGZ', 'value': 4.0, 'flow': 8.0, 'member': False}]
    """
    members = set(resolve_coalition(coalition, countries))
    sub = cflows
    if categories is not None:
        sub = sub[sub["category_id"].isin(list(categories))]
    if years is not None:
        sub = sub[sub["year"].isin(list(years))]
    dests = list(destinations)
    frames = []
    for (year, cat), lay in sub.groupby(["year", "category_id"], sort=True):
        model = tracing.build_model(lay, production)
        present = [m for m in members if m in set(model.nodes)]
        if not present:
            continue
        edges = tracing.trace_edges(lay, model=model, origins={"K": present})
        edges = edges[edges["importer"].isin(dests)]
        allf = lay[lay["importer"].isin(dests)]
        m = allf.merge(edges[["exporter", "importer", "content"]],
                       on=["exporter", "importer"], how="left")
        frames.append(pd.DataFrame({
            "year": int(year), "category_id": cat, "hub": m["exporter"].to_numpy(),
            "destination": m["importer"].to_numpy(),
            "value": m["content"].fillna(0.0).to_numpy(),
            "flow": m["value_usd"].to_numpy(),
        }))
    if not frames:
        return pd.DataFrame(columns=["year", "category_id", "hub", "destination", "value",
                                     "flow", "member"])
    out = pd.concat(frames, ignore_index=True)
    out["member"] = out["hub"].isin(members)
    return out


def screen_routes(
    cflows: pd.DataFrame,
    *,
    coalition: str | Sequence[str],
    destinations: Sequence[str],
    event_year: int,
    categories: Iterable[str] | None = None,
    post_years: Iterable[int] | None = None,
    production: str | pd.Series = "net_exports",
    countries: pd.DataFrame | None = None,
    min_growth: float = 0.75,
    min_share: float = 0.0005,
    yearly: pd.DataFrame | None = None,
) -> pd.DataFrame:
    r"""Screen every (hub, destination, category) for a post-event surge of coalition goods.

    For each non-member hub: the coalition-origin value it delivers to the destination
    before the event (mean of the years before ``event_year``) and after (mean of
    ``post_years``, default every year from ``event_year``), the growth, a z-score of the
    post mean against the pre years' spread, and its share of the destination's imports of
    the category after the event. ``score = log1p(max(growth, 0)) * post_share`` ranks
    routes; ``flagged`` marks growth >= ``min_growth`` (default +75 %) with a post share
    of at least ``min_share`` (0.05 % of the destination's imports of the category).

    With :math:`\bar v_{pre}`, :math:`\bar v_{post}` the means and :math:`s_{pre}` the
    sample standard deviation (ddof 1) of the pre years (0 with one pre year):

    .. math::

       growth = \frac{\bar v_{post} + 1}{\bar v_{pre} + 1} - 1, \qquad
       z = \frac{\bar v_{post} - \bar v_{pre}}
                {\max(s_{pre},\ 0.1\,\bar v_{pre} + 1)}

    (values in USD; the +1 keeps routes that start from nothing finite, the floor keeps a
    flat pre-event series from giving an infinite z). Years without a flow count as 0.

    Parameters
    ----------
    cflows : DataFrame
        Category flows (as for :func:`yearly_route_values`); its years define the pre
        and post periods.
    coalition : str or list of str
        Preset name or ISO3 codes.
    destinations : list of str
        Destinations (ISO3) to screen.
    event_year : int
        First post-event year.
    categories : iterable, optional
        Restrict to these categories.
    post_years : iterable of int, optional
        Post-event years averaged (default: every year from ``event_year``).
    production : {"net_exports", "exports"} or Series
        Production assumption of the tracing.
    countries : DataFrame, optional
        Countries table for coalition presets.
    min_growth, min_share : float
        Thresholds of ``flagged``.
    yearly : DataFrame, optional
        A precomputed :func:`yearly_route_values` result (reused, not recomputed).

    Returns
    -------
    DataFrame
        One row per candidate route (non-member hub): ``category_id``, ``hub``,
        ``destination``, ``pre_value``, ``post_value``, ``growth``, ``z_score``,
        ``post_share``, ``score``, ``flagged``; sorted by score (top-ranked first).
        ``attrs`` hold ``event_year``, ``pre_years``, ``post_years`` and ``members``.

    Raises
    ------
    AnalysisError
        No year before ``event_year`` or none from it.

    Examples
    --------
    KGZ passes on 2 and 4 before the event, 10 and 14 after; Japan ships 20 a year
    straight to Russia:

    >>> import pandas as pd
    >>> years = [2020, 2021, 2022, 2023]
    >>> via = [2.0, 4.0, 10.0, 14.0]
    >>> cf = pd.DataFrame({"year": years * 3, "exporter": ["JPN"] * 4 + ["KGZ"] * 4 + ["JPN"] * 4,
    ...     "importer": ["KGZ"] * 4 + ["RUS"] * 8, "category_id": "c",
    ...     "value_usd": via + via + [20.0] * 4})
    >>> r = screen_routes(cf, coalition="japan", destinations=["RUS"], event_year=2022)
    >>> r[["hub", "pre_value", "post_value", "growth", "z_score", "post_share", "flagged"]
    ...   ].round(3).to_dict("records")
    [{'hub': 'KGZ', 'pre_value': 3.0, 'post_value': 12.0, 'growth': 2.25, 'z_score': 6.364, 'post_share': 0.375, 'flagged': True}]

    Growth 2.25 = 13/4 - 1; z = (12 - 3) / sd(2, 4) = 9 / 1.414; post share = 12 / (20 + 12).
    """
    members = set(resolve_coalition(coalition, countries))
    if yearly is None:
        yearly = yearly_route_values(cflows, coalition=coalition, destinations=destinations,
                                     categories=categories, production=production,
                                     countries=countries)
    y = yearly[~yearly["member"]]
    years = sorted(cflows["year"].unique())
    pre_years = [t for t in years if t < event_year]
    post = list(post_years) if post_years is not None else [t for t in years
                                                            if t >= event_year]
    if not pre_years or not post:
        raise AnalysisError(f"need years before and from {event_year}; data has "
                            f"{[int(t) for t in years]}")
    keys = ["category_id", "hub", "destination"]
    wide = y.pivot_table(index=keys, columns="year", values="value", aggfunc="sum",
                         fill_value=0.0).reindex(columns=years, fill_value=0.0)
    pre = wide[pre_years]
    postv = wide[post]
    imports = cflows[cflows["importer"].isin(list(destinations))].groupby(
        ["category_id", "importer", "year"])["value_usd"].sum()
    # a year without imports is a zero (as in ``wide``), not a missing value skipped by mean
    imp_post = imports.unstack("year", fill_value=0.0).reindex(
        columns=post, fill_value=0.0).mean(axis=1)
    out = pd.DataFrame(index=wide.index)
    out["pre_value"] = pre.mean(axis=1)
    out["post_value"] = postv.mean(axis=1)
    eps = 1.0
    out["growth"] = (out["post_value"] + eps) / (out["pre_value"] + eps) - 1.0
    sd = pre.std(axis=1, ddof=1).fillna(0.0)
    floor = 0.1 * out["pre_value"] + eps
    out["z_score"] = (out["post_value"] - out["pre_value"]) / np.maximum(sd, floor)
    idx = pd.MultiIndex.from_arrays([out.index.get_level_values("category_id"),
                                     out.index.get_level_values("destination")])
    out["post_share"] = out["post_value"].to_numpy() / np.maximum(
        imp_post.reindex(idx).fillna(0.0).to_numpy(), 1e-300)
    out["score"] = np.log1p(out["growth"].clip(lower=0.0)) * out["post_share"]
    out["flagged"] = (out["growth"] >= min_growth) & (out["post_share"] >= min_share)
    out = out.reset_index()
    out.attrs.update(event_year=event_year, pre_years=pre_years, post_years=post,
                     members=tuple(sorted(members)))
    return out.sort_values("score", ascending=False).reset_index(drop=True)


def hub_ranking(
    cflows: pd.DataFrame,
    *,
    coalition: str | Sequence[str],
    destination: str,
    event_year: int,
    categories: Iterable[str] | None = None,
    countries: pd.DataFrame | None = None,
    entities: pd.DataFrame | None = None,
    production: str | pd.Series = "net_exports",
    yearly: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Rank hubs carrying coalition goods to ``destination``, with their evidence.

    The routes of :func:`screen_routes` (one per hub and category, default thresholds)
    summed per hub. ``growth`` is recomputed from the summed values (same +1 USD
    smoothing), ``z_score`` is the mean of the routes' z-scores weighted by their
    post-event value, ``score = log1p(max(growth, 0)) * share``.

    Parameters
    ----------
    cflows : DataFrame
        Category flows (as for :func:`yearly_route_values`).
    coalition : str or list of str
        Preset name or ISO3 codes.
    destination : str
        ISO3 of the destination.
    event_year : int
        First post-event year.
    categories : iterable, optional
        Restrict to these categories.
    countries : DataFrame, optional
        Countries table (presets, ``eaeu`` and ``hub`` flags; default the reference table).
    entities : DataFrame, optional
        Listed entities (``country`` column) counted per hub.
    production : {"net_exports", "exports"} or Series
        Production assumption of the tracing.
    yearly : DataFrame, optional
        A precomputed :func:`yearly_route_values` result.

    Returns
    -------
    DataFrame
        One row per non-member hub, sorted by score: ``hub``, ``destination``,
        ``pre_value``, ``post_value`` (coalition-origin value delivered per year after the
        event, summed over categories), ``categories`` (how many of its category routes
        :func:`screen_routes` flags: growth >= 75 % and at least 0.05 % of the
        destination's imports of the category after the event), ``growth``, ``z_score``,
        ``share`` (of the coalition content arriving via hubs after the event), ``score``,
        ``eaeu`` (customs union with Russia), ``hub_prior`` (curated) and
        ``listed_entities`` (entities on the loaded lists located in the hub; NA when no
        list is loaded).

    Raises
    ------
    AnalysisError
        No year before ``event_year`` or none from it.

    Examples
    --------
    The data of :func:`screen_routes`' example: KGZ is the only hub.

    >>> import pandas as pd
    >>> years = [2020, 2021, 2022, 2023]
    >>> via = [2.0, 4.0, 10.0, 14.0]
    >>> cf = pd.DataFrame({"year": years * 3, "exporter": ["JPN"] * 4 + ["KGZ"] * 4 + ["JPN"] * 4,
    ...     "importer": ["KGZ"] * 4 + ["RUS"] * 8, "category_id": "c",
    ...     "value_usd": via + via + [20.0] * 4})
    >>> h = hub_ranking(cf, coalition="japan", destination="RUS", event_year=2022)
    >>> h[["hub", "post_value", "growth", "share", "categories", "eaeu"]].to_dict("records")
    [{'hub': 'KGZ', 'post_value': 12.0, 'growth': 2.25, 'share': 1.0, 'categories': 1, 'eaeu': True}]
    """
    routes = screen_routes(cflows, coalition=coalition, destinations=[destination],
                           event_year=event_year, categories=categories,
                           production=production, countries=countries, yearly=yearly)
    g = routes.groupby("hub")
    out = pd.DataFrame({
        "pre_value": g["pre_value"].sum(),
        "post_value": g["post_value"].sum(),
        "categories": g["flagged"].sum().astype(int),
    })
    out["growth"] = (out["post_value"] + 1.0) / (out["pre_value"] + 1.0) - 1.0
    z = routes.assign(w=routes["post_value"]).groupby("hub").apply(
        lambda d: np.average(d["z_score"], weights=d["w"]) if d["w"].sum() > 0 else 0.0,
        include_groups=False)
    out["z_score"] = z
    out["share"] = out["post_value"] / max(out["post_value"].sum(), 1e-300)
    out["score"] = np.log1p(out["growth"].clip(lower=0.0)) * out["share"]
    ctry = countries
    if ctry is None:
        from analytics.reference import countries as _countries

        ctry = _countries()
    flags = ctry.set_index("iso3")
    out["eaeu"] = flags["eaeu"].reindex(out.index).fillna(False).astype(bool)
    out["hub_prior"] = flags["hub"].reindex(out.index).fillna(False).astype(bool)
    if entities is not None and len(entities):
        counts = entities.groupby("country").size()
        out["listed_entities"] = counts.reindex(out.index).fillna(0).astype("Int64")
    else:
        out["listed_entities"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out.index.name = "hub"
    out = out.reset_index()
    out.insert(1, "destination", destination)
    out.attrs.update(routes.attrs)
    return out.sort_values("score", ascending=False).reset_index(drop=True)
