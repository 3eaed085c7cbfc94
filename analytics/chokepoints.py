r"""Chokepoint metrics: concentration, dependency flags, centrality, removal impact,
coalition leverage and the enforcement min-cut (DESIGN methods 1-5).

All functions are pure: data in, labelled frames out; inputs are never modified.

Concentration of suppliers :math:`i` with shares :math:`s_i` in a group:
:math:`HHI = \sum_i s_i^2` (0-1), :math:`CR_1`, :math:`CR_3`, effective number of suppliers
:math:`n_{eff} = 1/HHI`.

>>> import pandas as pd
>>> t = pd.DataFrame({"cat": ["x", "x", "x"], "exporter": ["A", "B", "C"],
...                   "value_usd": [50.0, 30.0, 20.0]})
>>> concentration(t, supplier="exporter", value="value_usd", by="cat").round(3).to_dict("records")
[{'cat': 'x', 'hhi': 0.38, 'cr1': 0.5, 'cr3': 1.0, 'n_eff': 2.632, 'n_suppliers': 3, 'top_supplier': 'A', 'top_share': 0.5, 'total': 100.0}]
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.sparse.csgraph import breadth_first_order, maximum_flow

from analytics import tracing
from analytics.errors import AnalysisError, NodeNotFound
from analytics.network import to_graph
from analytics.reference import resolve_coalition

__all__ = [
    "concentration",
    "supplier_shares",
    "import_dependence",
    "dependency_flags",
    "centrality",
    "removal_impact",
    "single_points_of_failure",
    "coalition_leverage",
    "enforcement_cut",
    "EnforcementCut",
    "origin_shares",
    "category_overview",
]


def _by_list(by) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def supplier_shares(table: pd.DataFrame, *, supplier: str, value: str,
                    by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Share of each supplier within each ``by`` group, sorted by share (descending).

    Returns the ``by`` columns, ``supplier``, ``value`` and ``share`` (when ``value`` is
    itself called ``share``, its summed input is returned as ``share_reported``).
    """
    keys = _by_list(by)
    missing = [c for c in [*keys, supplier, value] if c not in table.columns]
    if missing:
        raise AnalysisError(f"table lacks column(s) {missing}")
    if (table[value] < 0).any():
        raise AnalysisError(f"negative values in column {value!r}")
    agg = table.groupby([*keys, supplier], as_index=False, observed=True, dropna=False)[
        value].sum()
    agg = agg[agg[value] > 0]
    if value == "share":  # a supplier table's own share column: keep it as reported
        agg = agg.rename(columns={"share": "share_reported"})
        value = "share_reported"
    tot = agg.groupby(keys, observed=True)[value].transform("sum") if keys else agg[value].sum()
    agg["share"] = agg[value] / tot
    return agg.sort_values([*keys, "share"], ascending=[True] * len(keys) + [False],
                           kind="stable").reset_index(drop=True)


def concentration(table: pd.DataFrame, *, supplier: str, value: str,
                  by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Concentration of ``supplier`` within each ``by`` group, weighted by ``value``.

    Parameters
    ----------
    table : DataFrame
        Any table: flows (``supplier="exporter"``, ``by=["year", "category_id"]``), an
        importer's sources (``by=[..., "importer"]``), a supplier table
        (``supplier="provider"``, ``value="share"``, ``by="item_id"``).
    supplier, value : str
        Column names.
    by : str or list of str, optional
        Group columns; None = one group.

    Returns
    -------
    DataFrame
        Per group: ``hhi`` (0-1), ``cr1``, ``cr3``, ``n_eff`` (1/HHI), ``n_suppliers``,
        ``top_supplier``, ``top_share``, ``total`` (sum of ``value``).

    Raises
    ------
    AnalysisError
        Missing columns or negative values.

    Notes
    -----
    Shares are normalised within each group, so supplier tables whose shares do not sum
    to one (rounding, residual rows) are rescaled; handle residual rows such as
    "Various companies" before calling if they should not count as one supplier.
    """
    keys = _by_list(by)
    sh = supplier_shares(table, supplier=supplier, value=value, by=keys)
    if not keys:
        sh["_grp"] = 0
        gkeys = ["_grp"]
    else:
        gkeys = keys
    sh["_sq"] = sh["share"] ** 2
    # shares are sorted descending within each group: the first three make CR3
    sh["_top3"] = sh["share"].where(sh.groupby(gkeys, observed=True).cumcount() < 3, 0.0)
    g = sh.groupby(gkeys, observed=True, sort=True)
    out = pd.DataFrame({
        "hhi": g["_sq"].sum(),
        "cr1": g["share"].first(),
        "cr3": g["_top3"].sum(),
        "n_suppliers": g["share"].size(),
        "top_supplier": g[supplier].first(),
        "top_share": g["share"].first(),
        "total": g["share_reported" if value == "share" else value].sum(),
    })
    out.insert(3, "n_eff", 1.0 / out["hhi"])
    return out.reset_index(drop=not keys) if keys else out.reset_index(drop=True)


def import_dependence(cflows: pd.DataFrame, *, by: Sequence[str] = ("year", "category_id")
                      ) -> pd.DataFrame:
    """Each importer's source concentration and its import/export ratio per group.

    Returns ``by`` columns, ``importer``, ``hhi``, ``cr1``, ``top_supplier``,
    ``top_share``, ``imports``, ``exports``, ``import_export_ratio`` (inf when it exports
    nothing).
    """
    keys = list(by)
    conc = concentration(cflows, supplier="exporter", value="value_usd",
                         by=[*keys, "importer"])
    conc = conc.rename(columns={"total": "imports"})
    exp = cflows.groupby([*keys, "exporter"], as_index=False)["value_usd"].sum().rename(
        columns={"exporter": "importer", "value_usd": "exports"})
    out = conc.merge(exp, on=[*keys, "importer"], how="left")
    out["exports"] = out["exports"].fillna(0.0)
    out["import_export_ratio"] = np.divide(
        out["imports"], out["exports"], out=np.full(len(out), np.inf),
        where=out["exports"].to_numpy() > 0)
    return out


def dependency_flags(
    cflows: pd.DataFrame,
    *,
    hhi_threshold: float = 0.4,
    ratio_threshold: float = 1.0,
    window: int = 3,
    min_years: int = 2,
    group: str = "category_id",
) -> pd.DataFrame:
    """EC / CEPII-style strategic dependency flags.

    An importer is *dependent* on a product group in a year when its import HHI exceeds
    ``hhi_threshold`` (0.4) **and** its imports exceed its exports (ratio above
    ``ratio_threshold``, 1). The flag is *persistent* when the condition holds in at least
    ``min_years`` (2) of the ``window`` (3) years ending in that year.

    Returns one row per (year, group, importer) with ``hhi``, ``import_export_ratio``,
    ``top_supplier``, ``top_share``, ``imports``, ``dependent`` (that year) and
    ``persistent`` (2 of 3).

    References
    ----------
    .. [1] European Commission (2021). Strategic dependencies and capacities, SWD(2021)
       352. (Import concentration HHI > 0.4 and imports/exports > 1.)
    .. [2] Jaravel, X. & Méjean, I. (2021). A data-driven resilience strategy in a
       globalized world. Conseil d'analyse économique, Focus 64.

    >>> import pandas as pd
    >>> f = pd.DataFrame({"year": [2020, 2021, 2022] * 2,
    ...     "exporter": ["A"] * 3 + ["B"] * 3, "importer": ["X"] * 6,
    ...     "category_id": ["c"] * 6, "value_usd": [9, 9, 5, 1, 1, 5.0]})
    >>> dependency_flags(f)[["year", "dependent", "persistent"]].to_dict("records")
    [{'year': 2020, 'dependent': True, 'persistent': False}, {'year': 2021, 'dependent': True, 'persistent': True}, {'year': 2022, 'dependent': True, 'persistent': True}]
    """
    dep = import_dependence(cflows, by=("year", group))
    dep["dependent"] = (dep["hhi"] > hhi_threshold) & (
        dep["import_export_ratio"] > ratio_threshold)
    dep = dep.sort_values([group, "importer", "year"]).reset_index(drop=True)
    years = sorted(int(y) for y in dep["year"].unique())
    # count dependent years in the calendar window ending at each year (years without data
    # count as not dependent)
    calendar = list(range(years[0], years[-1] + 1)) if years else []
    full = dep.pivot_table(index=[group, "importer"], columns="year", values="dependent",
                           aggfunc="any", fill_value=False).reindex(columns=calendar,
                                                                    fill_value=False)
    counts = full.astype(int).T.rolling(window, min_periods=1).sum().T[years]
    persistent = (counts >= min_years).stack().rename("persistent").reset_index()
    out = dep.merge(persistent, on=[group, "importer", "year"], how="left")
    cols = ["year", group, "importer", "hhi", "import_export_ratio", "top_supplier",
            "top_share", "imports", "exports", "dependent", "persistent"]
    return out[cols].sort_values(["year", group, "importer"]).reset_index(drop=True)


def centrality(
    layer_flows: pd.DataFrame,
    *,
    production: str | pd.Series = "net_exports",
    weight: str = "value_usd",
    distance: str = "inverse",
    alpha: float = 0.85,
    model: tracing.TracingModel | None = None,
) -> pd.DataFrame:
    """Weighted centralities of one layer, plus the traced transit score.

    Columns: ``out_strength`` (exports), ``in_strength`` (imports), ``betweenness``
    (weighted, shortest paths with distance 1/value or -log share, normalised),
    ``pagerank`` (weighted by value), ``transit`` (value a node ships that it did not
    produce, from proportional-mixing tracing) and ``transit_share`` (transit / exports).

    Parameters
    ----------
    distance : {"inverse", "neglog"}
        Edge length for betweenness: ``1/value`` or ``-log(value / exporter's exports)``.

    >>> import pandas as pd
    >>> star = pd.DataFrame({"exporter": ["A", "B", "H", "H"], "importer": ["H", "H", "C", "D"],
    ...                      "value_usd": [2.0, 2.0, 2.0, 2.0]})
    >>> c = centrality(star)
    >>> bool(c.loc["H", "betweenness"] > 0), float(c.loc["H", "transit"])
    (True, 4.0)
    """
    g = to_graph(layer_flows, weight=weight)
    if g.number_of_nodes() == 0:
        raise AnalysisError("empty layer: no positive flows")
    if distance == "neglog":
        out_tot = dict(g.out_degree(weight=weight))
        for u, _v, d in g.edges(data=True):
            d["distance"] = -np.log(d[weight] / out_tot[u]) + 1e-12
    elif distance != "inverse":
        raise AnalysisError(f"unknown distance {distance!r}: 'inverse' or 'neglog'")
    bc = nx.betweenness_centrality(g, weight="distance", normalized=True)
    try:
        pr = nx.pagerank(g, alpha=alpha, weight=weight)
    except nx.PowerIterationFailedConvergence:  # pragma: no cover - pathological graphs
        warnings.warn("PageRank did not converge; returned NaN", stacklevel=2)
        pr = dict.fromkeys(g, np.nan)
    if model is None:
        model = tracing.build_model(layer_flows, production, value=weight)
    transit = tracing.transit_through(model)
    out = pd.DataFrame({
        "out_strength": pd.Series(dict(g.out_degree(weight=weight))),
        "in_strength": pd.Series(dict(g.in_degree(weight=weight))),
        "betweenness": pd.Series(bc),
        "pagerank": pd.Series(pr),
    })
    out["transit"] = transit.reindex(out.index).fillna(0.0)
    out["transit_share"] = np.divide(out["transit"], out["out_strength"],
                                     out=np.zeros(len(out)), where=out["out_strength"] > 0)
    out.index.name = "country"
    return out.sort_values("out_strength", ascending=False)


def removal_impact(
    layer_flows: pd.DataFrame,
    remove: str | Sequence[str],
    *,
    production: str | pd.Series = "net_exports",
    model: tracing.TracingModel | None = None,
    label: str | None = None,
) -> pd.DataFrame:
    r"""Share of every destination's supply lost if node(s) ``remove`` stop supplying.

    Two readings:

    ``direct_lost``
        Imports shipped by the removed node(s) themselves (what the destination's own
        customs data would show disappearing).
    ``traced_lost``
        Imports *originating* in the removed node(s), wherever they were dispatched from
        (proportional-mixing tracing): the exposure that survives re-routing through hubs.
        A pure re-exporter (Hong Kong) originates nothing, so its ``traced_lost`` is 0.
    ``via_lost``
        Imports that passed *through* the removed node(s) at any hop, whoever made them:
        what the destination loses if the removed nodes stop shipping and nothing is
        re-routed. This is the reading for a hub. With :math:`x_j` the share of
        :math:`j`'s shipments that passed through the removed set :math:`R`
        (:math:`x_r = 1` for :math:`r \in R`; :math:`x_j = \sum_i X_{ij} x_i / S_j`
        otherwise, own production being unmarked), ``via_lost`` of :math:`d` is
        :math:`\sum_i X_{id}\, x_i` (one sparse solve).

    All as values and as shares of the destination's imports (``direct_share``,
    ``traced_share``, ``via_share``). Destinations are every node with imports except the
    removed ones.

    Raises
    ------
    NodeNotFound
        None of the removed nodes appears in the layer.

    >>> import pandas as pd
    >>> f = pd.DataFrame({"exporter": ["A", "H", "B"], "importer": ["H", "D", "D"],
    ...                   "value_usd": [10.0, 10.0, 10.0]})
    >>> r = removal_impact(f, "A").set_index("destination")
    >>> float(r.loc["D", "direct_share"]), float(r.loc["D", "traced_share"])
    (0.0, 0.5)

    Removing the hub ``H`` instead: it made nothing, but half of D's supply passed it.

    >>> h = removal_impact(f, "H").set_index("destination")
    >>> float(h.loc["D", "traced_share"]), float(h.loc["D", "via_share"])
    (0.0, 0.5)
    """
    removed = (remove,) if isinstance(remove, str) else tuple(remove)
    if model is None:
        model = tracing.build_model(layer_flows, production)
    present = [r for r in removed if r in set(model.nodes)]
    if not present:
        raise NodeNotFound(f"node(s) {list(removed)} not in the layer")
    lab = label or "+".join(removed)
    traced = tracing.trace_imports(layer_flows, model=model, origins={lab: present})
    traced = traced.set_index("destination")["value"]
    imports = pd.Series(model.imports, index=model.nodes)
    direct = layer_flows[layer_flows["exporter"].isin(present)].groupby("importer")[
        "value_usd"].sum()
    dests = imports[(imports > 0) & ~imports.index.isin(present)].index
    out = pd.DataFrame({
        "destination": dests,
        "imports": imports.reindex(dests).to_numpy(),
        "direct_lost": direct.reindex(dests).fillna(0.0).to_numpy(),
        "traced_lost": traced.reindex(dests).fillna(0.0).to_numpy(),
        "via_lost": _passed_through(model, present).reindex(dests).fillna(0.0).to_numpy(),
    })
    out["direct_share"] = out["direct_lost"] / out["imports"]
    out["traced_share"] = (out["traced_lost"] / out["imports"]).clip(upper=1.0)
    out["via_share"] = (out["via_lost"] / out["imports"]).clip(upper=1.0)
    out.insert(0, "removed", lab)
    out.attrs["strategy"] = model.strategy
    return out.sort_values("traced_share", ascending=False).reset_index(drop=True)


def _passed_through(model: tracing.TracingModel, removed: Sequence[str]) -> pd.Series:
    """Value of each node's imports that passed through ``removed`` at any hop."""
    nodes = model.nodes
    n = len(nodes)
    pos = {v: i for i, v in enumerate(nodes)}
    in_r = np.zeros(n, dtype=bool)
    in_r[[pos[r] for r in removed]] = True
    X = model.X.tocsc()
    supply = np.asarray(model.supply, dtype=float)
    inv_s = np.divide(1.0, supply, out=np.zeros(n), where=supply > 0)
    # x_j = sum_i X_ij x_i / S_j for j outside R, x_r = 1 on R: solve (I - M) x_F = b
    free = np.flatnonzero(~in_r)
    A = (X @ sp.diags(inv_s)).T.tocsr()  # A[j, i] = X_ij / S_j
    M = A[free][:, free]
    b = np.asarray(A[free][:, np.flatnonzero(in_r)].sum(axis=1)).ravel()
    x = np.ones(n)
    if len(free):
        x[free] = spla.spsolve((sp.identity(len(free), format="csc") - M.tocsc()), b)
    via = np.asarray(X.T @ x).ravel()  # sum_i X_id x_i
    return pd.Series(via, index=nodes)


def single_points_of_failure(
    layer_flows: pd.DataFrame,
    *,
    destinations: Sequence[str] | None = None,
    candidates: Sequence[str] | None = None,
    production: str | pd.Series = "net_exports",
    top: int = 5,
    model: tracing.TracingModel | None = None,
) -> pd.DataFrame:
    """Rank, for each destination, the single suppliers whose loss hurts it most.

    For every candidate origin (default: every node that produces, P > 0), the traced
    share of each destination's imports that originates there. Returns the ``top``
    origins per destination with ``traced_share``, ``direct_share`` and ``rank``.

    >>> import pandas as pd
    >>> f = pd.DataFrame({"exporter": ["A", "B", "H"], "importer": ["H", "D", "D"],
    ...                   "value_usd": [9.0, 1.0, 9.0]})
    >>> spof = single_points_of_failure(f, destinations=["D"])
    >>> spof[["origin", "rank"]].to_dict("records")[0]
    {'origin': 'A', 'rank': 1}
    """
    if model is None:
        model = tracing.build_model(layer_flows, production)
    nodes = list(model.nodes)
    if candidates is None:
        candidates = [n for n, p in zip(nodes, model.production, strict=True) if p > 0]
    traced = tracing.trace_imports(layer_flows, model=model, origins=list(candidates),
                                   destinations=destinations)
    imports = pd.Series(model.imports, index=model.nodes)
    traced = traced[traced["origin"] != traced["destination"]].copy()
    traced["imports"] = imports.reindex(traced["destination"]).to_numpy()
    traced["traced_share"] = traced["value"] / traced["imports"]
    direct = layer_flows.groupby(["exporter", "importer"])["value_usd"].sum()
    key = pd.MultiIndex.from_arrays([traced["origin"], traced["destination"]])
    traced["direct_share"] = direct.reindex(key).fillna(0.0).to_numpy() / traced["imports"]
    traced = traced.sort_values(["destination", "traced_share"], ascending=[True, False])
    traced["rank"] = traced.groupby("destination").cumcount() + 1
    out = traced[traced["rank"] <= top].rename(columns={"value": "traced_value"})
    return out[["destination", "rank", "origin", "traced_value", "traced_share",
                "direct_share", "imports"]].reset_index(drop=True)


def coalition_leverage(
    layer_flows: pd.DataFrame,
    coalition: str | Sequence[str],
    *,
    production: str | pd.Series = "net_exports",
    destinations: Sequence[str] | None = None,
    countries: pd.DataFrame | None = None,
    model: tracing.TracingModel | None = None,
) -> pd.DataFrame:
    """Share of world supply, and of each destination's traced supply, from a coalition.

    Returns one row per destination (``destination``, ``imports``, ``coalition_value``,
    ``coalition_share`` (traced), ``direct_share`` (shipped by members themselves)), plus a
    first row ``destination == "WORLD"`` with the coalition's share of world exports
    (direct) and of world production (traced). ``attrs["members"]`` lists the members.

    >>> import pandas as pd
    >>> f = pd.DataFrame({"exporter": ["JPN", "CHN", "HKG"], "importer": ["HKG", "RUS", "RUS"],
    ...                   "value_usd": [6.0, 4.0, 6.0]})
    >>> lev = coalition_leverage(f, ["JPN"]).set_index("destination")
    >>> float(lev.loc["RUS", "coalition_share"]), float(lev.loc["RUS", "direct_share"])
    (0.6, 0.0)
    """
    members = resolve_coalition(coalition, countries)
    if model is None:
        model = tracing.build_model(layer_flows, production)
    present = [m for m in members if m in set(model.nodes)]
    imports = pd.Series(model.imports, index=model.nodes)
    if present:
        traced = tracing.trace_imports(layer_flows, model=model,
                                       origins={"coalition": present})
        traced = traced.set_index("destination")["value"]
    else:
        traced = pd.Series(dtype=float)
    direct = layer_flows[layer_flows["exporter"].isin(members)].groupby("importer")[
        "value_usd"].sum()
    dests = imports[imports > 0].index
    if destinations is not None:
        dests = pd.Index([d for d in destinations if d in set(dests)])
    out = pd.DataFrame({
        "destination": dests,
        "imports": imports.reindex(dests).to_numpy(),
        "coalition_value": traced.reindex(dests).fillna(0.0).to_numpy(),
        "direct_value": direct.reindex(dests).fillna(0.0).to_numpy(),
    })
    out["coalition_share"] = (out["coalition_value"] / out["imports"]).clip(upper=1.0)
    out["direct_share"] = out["direct_value"] / out["imports"]
    world_exports = float(model.exports.sum())
    prod = pd.Series(model.production, index=model.nodes)
    world = pd.DataFrame([{
        "destination": "WORLD",
        "imports": world_exports,
        "coalition_value": float(prod.reindex(present).sum()),
        "direct_value": float(layer_flows.loc[layer_flows["exporter"].isin(members),
                                              "value_usd"].sum()),
    }])
    world["coalition_share"] = world["coalition_value"] / max(float(prod.sum()), 1e-300)
    world["direct_share"] = world["direct_value"] / max(world_exports, 1e-300)
    out = pd.concat([world, out.sort_values("coalition_share", ascending=False)],
                    ignore_index=True)
    out.attrs["members"] = members
    out.attrs["strategy"] = model.strategy
    return out


#: integer units the finite capacities are quantised to (sum of capacities = 2**30 units)
_FLOW_UNITS = 2 ** 30
_INT32_MAX = 2 ** 31 - 1


def _max_flow(G: nx.DiGraph, s, t) -> tuple[float, set, dict]:
    """Max-flow value, the source side of a minimum cut, and the flow on each edge.

    ``G``'s edges carry ``capacity`` (no attribute = unbounded). Solved by SciPy's
    compiled max-flow (Dinic) on integer capacities: the finite capacities are scaled
    so that they sum to 2**30 units and rounded *up* (an edge never vanishes, so the cut
    found separates ``s`` from ``t`` in ``G`` itself); unbounded edges get the largest
    int32, more than all finite capacities together. The source side is what ``s``
    reaches in the residual network. The returned value is the exact capacity of that
    cut in ``G``'s units, which exceeds the true minimum by less than one unit per cut
    edge (1e-9 of the layer's total each); flows are the solver's, scaled back.
    """
    nodes = list(G.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    n = len(nodes)
    edges = list(G.edges(data="capacity"))
    u = np.fromiter((index[a] for a, _, _ in edges), dtype=np.int32, count=len(edges))
    v = np.fromiter((index[b] for _, b, _ in edges), dtype=np.int32, count=len(edges))
    cap = np.array([np.inf if c is None else float(c) for _, _, c in edges], dtype=float)
    finite = np.isfinite(cap)
    total = float(cap[finite].sum())
    scale = _FLOW_UNITS / total if total > 0 else 1.0
    q = np.full(len(cap), _INT32_MAX, dtype=np.int64)
    q[finite] = np.maximum(np.ceil(cap[finite] * scale), 1.0 * (cap[finite] > 0))
    C = sp.csr_matrix((q.astype(np.int32), (u, v)), shape=(n, n), dtype=np.int32)
    res = maximum_flow(C, index[s], index[t], method="dinic")
    F = res.flow.tocsr()
    # residual network: forward spare capacity and reverse flow
    R = (C.astype(np.int64) - F.astype(np.int64)).tocsr()
    R.data[R.data < 0] = 0
    R.eliminate_zeros()
    order = breadth_first_order(R, index[s], directed=True, return_predecessors=False)
    reach = {nodes[i] for i in order}
    in_s = np.zeros(n, dtype=bool)
    in_s[order] = True
    crossing = in_s[u] & ~in_s[v]
    value = float(cap[crossing].sum())
    if not np.isfinite(value):
        raise AnalysisError(f"a route from {s!r} to {t!r} has no cuttable edge or node (it "
                            "runs only through protected nodes): no finite cut exists")
    Fc = F.tocoo()
    pos = Fc.data > 0
    flow: dict = {a: {} for a in nodes}
    for i, j, x in zip(Fc.row[pos], Fc.col[pos], Fc.data[pos], strict=True):
        a, b = nodes[i], nodes[j]
        if G.has_edge(a, b):
            flow[a][b] = float(x) / scale
    return value, reach, flow


class EnforcementCut:
    """Result of :func:`enforcement_cut` (max-flow value, cut routes and hubs)."""

    def __init__(self, value, cut_edges, cut_nodes, node_cut_value, graph_flow,
                 node_cut_routes=None):
        self.value = value
        self.cut_edges = cut_edges
        self.cut_nodes = cut_nodes
        self.node_cut_value = node_cut_value
        self.flow = graph_flow
        self.node_cut_routes = (node_cut_routes if node_cut_routes is not None else
                                pd.DataFrame(columns=["exporter", "importer", "capacity"]))

    def __repr__(self) -> str:
        direct = (list(zip(self.node_cut_routes["exporter"], self.node_cut_routes["importer"],
                           strict=True)) if len(self.node_cut_routes) else [])
        return (f"EnforcementCut(value={self.value:.4g}, routes={len(self.cut_edges)}, "
                f"hubs={list(self.cut_nodes['node']) if len(self.cut_nodes) else []}, "
                f"direct={direct})")


def enforcement_cut(
    layer_flows: pd.DataFrame,
    coalition: str | Sequence[str],
    destination: str,
    *,
    exclude_direct: bool = False,
    protected: Iterable[str] = (),
    countries: pd.DataFrame | None = None,
) -> EnforcementCut:
    """Max-flow / min-cut between a coalition and a destination.

    The layer becomes a capacity graph (capacity = flow value); a super-source feeds every
    member (unbounded), the destination is the sink. The **max-flow value** bounds the
    value of goods that could move from the coalition to the destination over the observed
    routes. The **minimum edge cut** is the smallest-capacity set of routes whose closure
    stops it; the **minimum node cut** (each intermediary split into in/out with capacity
    equal to its throughput) is the set of hubs to watch, together with the direct
    coalition -> destination routes, which no hub closure can stop: hubs plus direct
    routes (``cut_nodes`` and ``node_cut_routes``, whose capacities sum to
    ``node_cut_value``) are one complete cut.

    "Smallest" means smallest in value (capacity), not in the number of routes or hubs:
    the cut is the cheapest set to watch measured by the trade it carries.

    Parameters
    ----------
    exclude_direct : bool
        Remove direct coalition -> destination edges first ("if the coalition stops
        exporting directly, what can still leak through hubs").
    protected : iterable
        Nodes that cannot be cut (besides members and the destination).

    Returns
    -------
    EnforcementCut
        ``value``; ``cut_edges`` (DataFrame ``exporter``, ``importer``, ``capacity``);
        ``cut_nodes`` (DataFrame ``node``, ``throughput``); ``node_cut_routes`` (the
        direct coalition -> destination routes in the node cut: ``exporter``,
        ``importer``, ``capacity``); ``node_cut_value`` (sum of the hubs' throughput and
        those routes' capacity); ``flow`` (dict of dicts, the max-flow on each edge).

    >>> import pandas as pd
    >>> f = pd.DataFrame({"exporter": ["JPN", "JPN", "TUR", "KAZ", "CHN"],
    ...                   "importer": ["TUR", "KAZ", "RUS", "RUS", "KAZ"],
    ...                   "value_usd": [5.0, 5.0, 3.0, 4.0, 9.0]})
    >>> cut = enforcement_cut(f, "japan", "RUS")
    >>> cut.value, sorted(cut.cut_nodes["node"])
    (7.0, ['KAZ', 'TUR'])

    A direct route is part of the node cut, beside the hub:

    >>> g = pd.DataFrame({"exporter": ["JPN", "TUR", "JPN"], "importer": ["TUR", "RUS", "RUS"],
    ...                   "value_usd": [5.0, 5.0, 1.0]})
    >>> c = enforcement_cut(g, "japan", "RUS")
    >>> list(c.cut_nodes["node"]), c.node_cut_routes.to_dict("records"), c.node_cut_value
    (['TUR'], [{'exporter': 'JPN', 'importer': 'RUS', 'capacity': 1.0}], 6.0)
    """
    members = resolve_coalition(coalition, countries)
    f = layer_flows[(layer_flows["value_usd"] > 0)
                    & (layer_flows["exporter"] != layer_flows["importer"])]
    nodes = set(f["exporter"]) | set(f["importer"])
    if destination not in nodes:
        raise NodeNotFound(f"destination {destination!r} not in the layer")
    if destination in members:
        raise AnalysisError(f"destination {destination!r} is a coalition member")
    if exclude_direct:
        f = f[~(f["exporter"].isin(members) & (f["importer"] == destination))]
    src, snk = "__source__", "__sink__"
    G = nx.DiGraph()
    for e, i, v in f[["exporter", "importer", "value_usd"]].itertuples(index=False):
        if i in members:  # flows into the coalition do not leave it
            continue
        G.add_edge(e, i, capacity=float(v))
    for m in members:
        if m in G:
            G.add_edge(src, m)  # no capacity attribute = infinite
    if destination not in G or src not in G:
        empty_e = pd.DataFrame(columns=["exporter", "importer", "capacity"])
        empty_n = pd.DataFrame(columns=["node", "throughput"])
        return EnforcementCut(0.0, empty_e, empty_n, 0.0, {})
    G.add_edge(destination, snk)
    value, reach, flow = _max_flow(G, src, snk)
    cut_edges = [(u, v, G[u][v]["capacity"]) for u in reach for v in G[u]
                 if v not in reach and "capacity" in G[u][v] and v != snk]
    edges = pd.DataFrame(cut_edges, columns=["exporter", "importer", "capacity"])
    edges = edges.sort_values("capacity", ascending=False).reset_index(drop=True)

    # node cut: split intermediaries
    keep = set(members) | {destination} | set(protected)
    H = nx.DiGraph()
    through = {}
    for n in G.nodes:
        if n in (src, snk):
            continue
        if n in keep:
            continue
        cap = sum(d["capacity"] for _, _, d in G.in_edges(n, data=True) if "capacity" in d)
        through[n] = cap
        H.add_edge((n, "in"), (n, "out"), capacity=cap)

    def node_in(n):
        return (n, "in") if n in through else n

    def node_out(n):
        return (n, "out") if n in through else n

    for u, v, d in G.edges(data=True):
        if u in members and v == destination:
            # a direct route has no hub to close: it stays cuttable as a route
            H.add_edge(node_out(u), node_in(v), capacity=d["capacity"])
        else:
            H.add_edge(node_out(u), node_in(v))  # routes are not cut in the node problem
    node_value, reach_n, _ = _max_flow(H, src, snk)
    hubs = sorted({n for n in through if (n, "in") in reach_n and (n, "out") not in reach_n})
    nodes_df = pd.DataFrame({"node": hubs, "throughput": [through[h] for h in hubs]})
    nodes_df = nodes_df.sort_values("throughput", ascending=False).reset_index(drop=True)
    direct = [(u, v, float(d["capacity"])) for u, v, d in G.edges(data=True)
              if u in members and v == destination and u in reach_n and v not in reach_n]
    routes_df = pd.DataFrame(direct, columns=["exporter", "importer", "capacity"])
    routes_df = routes_df.sort_values("capacity", ascending=False).reset_index(drop=True)
    flow = {u: {v: x for v, x in d.items() if v != snk and x > 0}
            for u, d in flow.items() if u not in (src, snk)}
    return EnforcementCut(float(value), edges, nodes_df, float(node_value), flow,
                          node_cut_routes=routes_df)


def origin_shares(layer_flows: pd.DataFrame, *, production: str | pd.Series = "net_exports",
                  model: tracing.TracingModel | None = None) -> pd.DataFrame:
    r"""Traced origin shares of world supply in one layer: who *made* what is traded.

    Every good entering trade is counted once, at its origin, however many hubs it passes
    through: Hong Kong's re-exports are credited to the countries whose goods it
    re-exports, and a good shipped A -> HKG -> CHN is not counted twice. Under
    proportional mixing, all origin-:math:`o` goods that enter trade (:math:`P_o`) are
    absorbed somewhere, so the traced content of what each country finally keeps,
    :math:`\sum_j C_{oj}\,(S_j - O_j)`, equals :math:`P_o`; the share is
    :math:`P_o / \sum_k P_k` (the same quantity as the ``WORLD`` row of
    :func:`coalition_leverage`). With ``production="exports"`` it reduces to export
    shares.

    Returns columns ``origin``, ``value``, ``share``, sorted by share (origins with no
    production are left out).

    >>> import pandas as pd
    >>> f = pd.DataFrame({"exporter": ["TWN", "HKG", "KOR"], "importer": ["HKG", "CHN", "CHN"],
    ...                   "value_usd": [10.0, 10.0, 30.0]})
    >>> origin_shares(f).to_dict("records")
    [{'origin': 'KOR', 'value': 30.0, 'share': 0.75}, {'origin': 'TWN', 'value': 10.0, 'share': 0.25}]
    """
    if model is None:
        model = tracing.build_model(layer_flows, production)
    out = pd.DataFrame({"origin": model.nodes, "value": np.asarray(model.production, float)})
    out = out[out["value"] > 0].copy()
    total = float(out["value"].sum())
    out["share"] = out["value"] / total if total > 0 else np.nan
    return out.sort_values(["share", "origin"], ascending=[False, True]).reset_index(drop=True)


def category_overview(
    cflows: pd.DataFrame,
    year: int,
    *,
    coalition: str | Sequence[str] = "group_a",
    production: str | pd.Series = "net_exports",
    categories: Iterable[str] | None = None,
    countries: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Chokepoint metrics of every category in one year (one row per category).

    Columns: ``category_id``, ``world_trade``, ``n_exporters``; exporter concentration
    (``exporter_hhi``, ``exporter_cr1``, ``top_exporter``, ``top_exporter_share``); traced
    origin concentration (``origin_hhi``, ``origin_n_eff``, ``top_origin``,
    ``top_origin_share``); coalition shares of world exports (``coalition_export_share``)
    and of traced world production (``coalition_origin_share``); and the most
    concentrated importer (``max_import_hhi``, ``most_dependent_importer``).
    """
    members = resolve_coalition(coalition, countries)
    sub = cflows[cflows["year"] == year]
    if categories is not None:
        sub = sub[sub["category_id"].isin(list(categories))]
    if sub.empty:
        raise AnalysisError(f"no category flows in {year}")
    exp = concentration(sub, supplier="exporter", value="value_usd", by="category_id")
    imp = concentration(sub, supplier="exporter", value="value_usd",
                        by=["category_id", "importer"])
    imp = imp.sort_values("hhi", ascending=False).groupby("category_id").head(1)
    recs = []
    for cat, lay in sub.groupby("category_id", sort=True):
        model = tracing.build_model(lay, production)
        osh = origin_shares(lay, model=model)
        hhi = float((osh["share"] ** 2).sum())
        recs.append({
            "category_id": cat,
            "origin_hhi": hhi,
            "origin_n_eff": 1.0 / hhi if hhi > 0 else np.nan,
            "top_origin": osh["origin"].iloc[0] if len(osh) else None,
            "top_origin_share": float(osh["share"].iloc[0]) if len(osh) else np.nan,
            "coalition_origin_share": float(osh.loc[osh["origin"].isin(members),
                                                    "share"].sum()),
            "coalition_export_share": float(
                lay.loc[lay["exporter"].isin(members), "value_usd"].sum()
                / lay["value_usd"].sum()),
        })
    traced = pd.DataFrame(recs)
    out = exp.rename(columns={"hhi": "exporter_hhi", "cr1": "exporter_cr1",
                              "top_supplier": "top_exporter",
                              "top_share": "top_exporter_share", "total": "world_trade",
                              "n_suppliers": "n_exporters"})
    out = out[["category_id", "world_trade", "n_exporters", "exporter_hhi", "exporter_cr1",
               "top_exporter", "top_exporter_share"]].merge(traced, on="category_id")
    out = out.merge(imp[["category_id", "importer", "hhi"]].rename(
        columns={"importer": "most_dependent_importer", "hhi": "max_import_hhi"}),
        on="category_id", how="left")
    out.insert(1, "year", year)
    out.attrs["members"] = members
    return out.sort_values("origin_hhi", ascending=False).reset_index(drop=True)
