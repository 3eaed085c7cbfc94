r"""Origin tracing by proportional mixing (DESIGN method 6).

Trade data record who *dispatched* goods, not who *made* them. Proportional mixing traces
each flow back to its origins: every country pools its own production :math:`P_j` with its
imports :math:`I_j`, and each export leaves the pool with the pool's origin mix (Bialek's
electricity tracing; Croft, West & Green 2018 for trade).

For one layer (year, category) with flows :math:`X_{jk}`, exports :math:`O_j` and imports
:math:`I_j`, the supply of :math:`j` is :math:`S_j = P_j + I_j` and
:math:`a_{jk} = X_{jk}/S_j`. The origin content of supplies is

.. math::  Z = \operatorname{diag}(P)\,(I - A)^{-1},

:math:`Z_{oj}` being the amount of origin-:math:`o` goods in :math:`j`'s supply. Dividing by
:math:`S_j` gives the origin mix :math:`C_{oj} = Z_{oj}/S_j` of everything :math:`j` ships;
the flow :math:`j\to k` carries :math:`X_{jk}\,C_{oj}` of origin :math:`o`, and the imports of
:math:`d` carry :math:`\sum_j X_{jd}\,C_{oj}`, which sums over origins to :math:`I_d`.

We solve the equivalent system :math:`C\,(I - B) = W` with :math:`W=\operatorname{diag}(w)`,
:math:`w_j = P_j/S_j` (own share of what :math:`j` ships) and
:math:`B_{ij} = (1-w_j)\,X_{ij}/I_j`, which also covers the limits :math:`P_j = 0` (a pure
re-exporter, :math:`w_j=0`) and "no re-export" (:math:`w_j=1`) without infinities. It is
sparse: one sparse LU factorisation (or an iterative solver on large graphs) and one solve
per origin or origin group; never a dense inverse.

Production strategies (an explicit assumption, reported in every output's ``attrs``):

``"net_exports"`` (default)
    :math:`P_j = \max(O_j - I_j, 0)`: a country exporting more than it imports produced the
    difference; a net importer is a pure re-exporter. Biased against large assemblers that
    also import a lot (their own production is undercounted).
``"exports"``
    Every export is the exporter's own product: no re-export tracing (the naive reading).
a ``pandas.Series`` of production by country
    e.g. from supplier data or national statistics; missing countries produce nothing.
``reexport_share=`` a Series of re-export shares
    For listed countries, the share :math:`r_j` of exports that are re-exports
    (Hong Kong about 0.98); unlisted countries follow ``production``.

>>> import pandas as pd
>>> chain = pd.DataFrame({"exporter": ["A", "B"], "importer": ["B", "C"],
...                       "value_usd": [10.0, 10.0]})
>>> print(trace_imports(chain).sort_values(["destination", "origin"]).to_string(index=False))
origin destination  value
     A           B   10.0
     A           C   10.0
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from analytics.errors import AnalysisError, NodeNotFound

__all__ = [
    "TracingModel",
    "build_model",
    "trace_imports",
    "trace_edges",
    "trace_supply",
    "transit_through",
    "largest_paths",
]

DIRECT_LU_MAX_NODES = 20_000


@dataclass(frozen=True)
class TracingModel:
    """A layer prepared for tracing: node index, flows, own shares and a solver.

    Attributes
    ----------
    nodes : Index
        Country (or firm) labels, positions used in the matrices.
    X : scipy.sparse.csr_matrix
        Flows, ``X[j, k]`` from ``nodes[j]`` to ``nodes[k]``.
    exports, imports, production, supply : ndarray
        :math:`O`, :math:`I`, :math:`P`, :math:`S = P + I`.
    own_share : ndarray
        :math:`w_j = P_j / S_j` (1 where :math:`S_j = 0`).
    strategy : str
        Description of the production assumption.
    """

    nodes: pd.Index
    X: sp.csr_matrix
    exports: np.ndarray
    imports: np.ndarray
    production: np.ndarray
    supply: np.ndarray
    own_share: np.ndarray
    strategy: str
    _solve: object

    def composition(self, origins: Mapping[str, Sequence[str]] | None = None) -> pd.DataFrame:
        """Origin mix :math:`C` of what each node ships: rows origins (or groups), columns nodes.

        ``origins`` maps a label to the member nodes of an origin group; by default every
        node is its own origin (the full matrix: n x n, only for small graphs).

        >>> import pandas as pd
        >>> f = pd.DataFrame({"exporter": ["A", "B", "H"], "importer": ["H", "H", "D"],
        ...                   "value_usd": [6.0, 4.0, 5.0]})
        >>> build_model(f).composition({"AB": ["A", "B"], "A": ["A"]})["H"].to_dict()
        {'AB': 1.0, 'A': 0.6}
        """
        labels, rhs = self._rhs(origins)
        sol = self._solve(rhs)
        return pd.DataFrame(sol.T, index=pd.Index(labels, name="origin"), columns=self.nodes)

    def _rhs(self, origins):
        n = len(self.nodes)
        pos = {v: i for i, v in enumerate(self.nodes)}
        if origins is None:
            labels = list(self.nodes)
            cols = [(i, [i]) for i in range(n)]
        else:
            labels, cols = [], []
            for lab, members in origins.items():
                idx = [pos[m] for m in members if m in pos]
                labels.append(lab)
                cols.append((len(cols), idx))
        rhs = np.zeros((n, len(labels)))
        for c, (_, idx) in enumerate(cols):
            rhs[idx, c] = self.own_share[idx]
        return labels, rhs


def _as_layer(flows: pd.DataFrame, exporter: str, importer: str, value: str) -> pd.DataFrame:
    missing = [c for c in (exporter, importer, value) if c not in flows.columns]
    if missing:
        raise AnalysisError(
            f"flows lack column(s) {missing}; pass exporter=, importer=, value= to name them"
        )
    f = flows[[exporter, importer, value]]
    vals = f[value].to_numpy(dtype=float)
    if (vals < 0).any():
        bad = f[vals < 0].iloc[0]
        raise AnalysisError(f"negative flow value {bad[value]!r} from {bad[exporter]} to "
                            f"{bad[importer]}: flows must be non-negative")
    keep = (vals > 0) & (f[exporter].to_numpy() != f[importer].to_numpy())
    # duplicates (same exporter and importer) are summed when the sparse matrix is built
    return f[keep]


def build_model(
    flows: pd.DataFrame,
    production: str | pd.Series = "net_exports",
    *,
    reexport_share: pd.Series | Mapping[str, float] | None = None,
    exporter: str = "exporter",
    importer: str = "importer",
    value: str = "value_usd",
    nodes: Iterable[str] | None = None,
) -> TracingModel:
    """Prepare one layer for tracing (see the module docstring for the strategies).

    Parameters
    ----------
    flows : DataFrame
        One layer (one year, one category); self-flows and zero flows are ignored,
        repeated (exporter, importer) pairs summed.
    production : {"net_exports", "exports"} or Series
        The production assumption :math:`P` (module docstring).
    reexport_share : Series or mapping, optional
        Re-export shares :math:`r_j` of listed countries; their own share of what they
        ship is :math:`w_j = 1 - r_j` and :math:`P_j = w_j I_j / (1 - w_j)`.
    exporter, importer, value : str
        Column names.
    nodes : iterable of str, optional
        Extra nodes without flows (kept in the index).

    Returns
    -------
    TracingModel
        Node index, sparse flows, :math:`O, I, P, S`, own shares :math:`w` and a
        factorised solver; ``strategy`` describes the assumption.

    Raises
    ------
    AnalysisError
        Unknown strategy, negative values, re-export shares outside [0, 1], missing
        columns.

    Warns
    -----
    UserWarning
        A node ships more than its supply :math:`P_j + I_j`; its excess is counted as own
        production.

    Examples
    --------
    A ships 10 to hub H; H ships 8 to D. Net exports: A produced 10, H nothing.

    >>> import pandas as pd
    >>> f = pd.DataFrame({"exporter": ["A", "H"], "importer": ["H", "D"],
    ...                   "value_usd": [10.0, 8.0]})
    >>> m = build_model(f)
    >>> list(m.nodes), m.production.tolist(), m.supply.tolist(), m.own_share.tolist()
    (['A', 'H', 'D'], [10.0, 0.0, 0.0], [10.0, 10.0, 8.0], [1.0, 0.0, 0.0])
    >>> build_model(f, reexport_share={"H": 0.5}).production.tolist()  # H adds 10 of its own
    [10.0, 10.0, 0.0]
    """
    layer = _as_layer(flows, exporter, importer, value)
    codes, labels = pd.factorize(
        np.concatenate([layer[exporter].to_numpy(dtype=object),
                        layer[importer].to_numpy(dtype=object)]), sort=False)
    labels = pd.Index(labels)
    extra = []
    if nodes is not None:
        extra += [n for n in nodes if n not in set(labels)]
    if isinstance(production, pd.Series):
        extra += [c for c in production.index if c not in set(labels) and c not in extra]
    if extra:
        labels = labels.append(pd.Index(extra))
    n = len(labels)
    pos = pd.Series(np.arange(n), index=labels)
    m = len(layer)
    r, c = codes[:m], codes[m:]
    v = layer[value].to_numpy(dtype=float)
    X = sp.csr_matrix((v, (r, c)), shape=(n, n))  # duplicate pairs are summed
    X.sum_duplicates()
    O = np.asarray(X.sum(axis=1)).ravel()  # noqa: E741 (the notation of the maths)
    I = np.asarray(X.sum(axis=0)).ravel()  # noqa: E741

    if isinstance(production, pd.Series):
        if (production < 0).any():
            raise AnalysisError("production must be non-negative")
        P = production.reindex(labels).fillna(0.0).to_numpy(dtype=float)
        strategy = "production given (Series)"
        w = np.divide(P, P + I, out=np.ones(n), where=(P + I) > 0)
    elif production == "net_exports":
        P = np.maximum(O - I, 0.0)
        strategy = "net_exports: P = max(exports - imports, 0)"
        w = np.divide(P, P + I, out=np.ones(n), where=(P + I) > 0)
    elif production == "exports":
        P = O.copy()
        strategy = "exports: every export is the exporter's own product (no re-export tracing)"
        w = np.ones(n)
    else:
        raise AnalysisError(
            f"unknown production strategy {production!r}: use 'net_exports', 'exports', a "
            f"Series of production by country, or reexport_share="
        )
    if reexport_share is not None:
        rs = pd.Series(reexport_share, dtype=float)
        if ((rs < 0) | (rs > 1)).any():
            raise AnalysisError("re-export shares must lie in [0, 1]")
        rs = rs[rs.index.isin(labels)]
        idx = pos.reindex(rs.index).to_numpy()
        w = w.copy()
        w[idx] = 1.0 - rs.to_numpy()
        # production implied for the listed countries: own share of exports
        P = P.copy()
        P[idx] = np.where(w[idx] >= 1.0, O[idx], np.divide(
            w[idx] * I[idx], 1.0 - w[idx], out=np.zeros(len(idx)), where=w[idx] < 1.0))
        strategy += f"; re-export shares given for {len(idx)} node(s)"
    # nodes that ship but neither produce nor import cannot exist under mixing
    ships = O > 0
    S = P + I
    short = ships & (S + 1e-9 * np.maximum(O, 1.0) < O) & (w < 1.0)
    if short.any():
        warnings.warn(
            f"{int(short.sum())} node(s) export more than their supply (production + "
            f"imports), e.g. {list(labels[short][:3])}; their excess is treated as own "
            f"production", stacklevel=2)
        extra = O - S
        P = np.where(short, P + extra, P)
        S = P + I
        w = np.where(short, np.divide(P, S, out=np.ones(n), where=S > 0), w)

    # B[i, j] = (1 - w_j) X[i, j] / I_j
    scale = np.divide(1.0 - w, I, out=np.zeros(n), where=I > 0)
    B = X @ sp.diags(scale)
    M = (sp.identity(n, format="csc") - B.T.tocsc()).tocsc()  # (I - B)^T
    solve = _make_solver(M)
    return TracingModel(nodes=labels, X=X, exports=O, imports=I, production=P,
                        supply=S, own_share=w, strategy=strategy, _solve=solve)


def _make_solver(M: sp.csc_matrix):
    n = M.shape[0]
    if n == 0:
        return lambda rhs: rhs
    if n <= DIRECT_LU_MAX_NODES:
        lu = spla.splu(M)

        def solve(rhs):
            return lu.solve(np.asarray(rhs, dtype=float))

        return solve

    def solve(rhs):
        rhs = np.asarray(rhs, dtype=float)
        out = np.empty_like(rhs)
        diag = M.diagonal()
        pre = spla.LinearOperator(M.shape, matvec=lambda x: x / diag)
        for k in range(rhs.shape[1]):
            b = rhs[:, k]
            if not b.any():
                out[:, k] = 0.0
                continue
            x, info = spla.gmres(M, b, M=pre, rtol=1e-10, atol=0.0, restart=50,
                                 maxiter=2000)
            if info != 0:
                warnings.warn(f"iterative solve did not converge (info={info}); "
                              "results are approximate", stacklevel=3)
            out[:, k] = x
        return out

    return solve


def _origin_groups(model: TracingModel, origins) -> Mapping[str, Sequence[str]] | None:
    if origins is None:
        return None
    if isinstance(origins, Mapping):
        groups = {str(k): list(v) for k, v in origins.items()}
    else:
        groups = {str(o): [o] for o in origins}
    known = set(model.nodes)
    for lab, members in groups.items():
        if not any(m in known for m in members):
            warnings.warn(f"origin group {lab!r} has no member in the layer", stacklevel=3)
    return groups


def trace_imports(
    flows: pd.DataFrame,
    production: str | pd.Series = "net_exports",
    *,
    reexport_share: pd.Series | Mapping[str, float] | None = None,
    origins: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
    destinations: Sequence[str] | None = None,
    exporter: str = "exporter",
    importer: str = "importer",
    value: str = "value_usd",
    model: TracingModel | None = None,
    min_value: float = 0.0,
) -> pd.DataFrame:
    """Origin content of each destination's imports.

    Parameters
    ----------
    flows : DataFrame
        One layer (one year, one category) with ``exporter``, ``importer``, ``value_usd``.
    production : {"net_exports", "exports"} or Series
        The production assumption (module docstring).
    reexport_share : Series or mapping, optional
        Re-export shares of listed countries (e.g. ``{"HKG": 0.98}``).
    origins : sequence or mapping, optional
        Trace only these origins, or origin *groups* (``{"coalition": [...], ...}``); the
        cost is one sparse solve per origin or group. Default: every node (the full
        origin x destination matrix; for small graphs only).
    destinations : sequence, optional
        Keep only these destinations.
    model : TracingModel, optional
        A prepared model (reuse one factorisation for several calls).
    min_value : float
        Drop result rows at or below this value.

    Returns
    -------
    DataFrame
        Columns ``origin``, ``destination``, ``value``. For each destination the values
        over all origins sum to its imports. ``attrs["strategy"]`` records the assumption.

    Raises
    ------
    AnalysisError
        Bad input (see :func:`build_model`).

    Notes
    -----
    Cost: one sparse LU of an n x n matrix with as many non-zeros as flows, then one
    triangular solve per origin (group). On graphs above ``DIRECT_LU_MAX_NODES`` nodes a
    preconditioned GMRES is used instead of LU.

    References
    ----------
    .. [1] Bialek, J. (1996). Tracing the flow of electricity. IEE Proc. Gener. Transm.
       Distrib. 143(4), 313-320. doi:10.1049/ip-gtd:19960461
    .. [2] Croft, S. A., West, C. D., & Green, J. M. H. (2018). Capturing the heterogeneity
       of sub-national production in global trade flows. J. Cleaner Production 203,
       1106-1118. doi:10.1016/j.jclepro.2018.08.267

    Examples
    --------
    A re-exporting hub: A ships 10 to hub H, H ships 8 to D and keeps 2.

    >>> import pandas as pd
    >>> f = pd.DataFrame({"exporter": ["A", "H"], "importer": ["H", "D"],
    ...                   "value_usd": [10.0, 8.0]})
    >>> print(trace_imports(f).query("destination == 'D'")[["origin", "value"]]
    ...       .to_string(index=False))
    origin  value
         A    8.0
    >>> trace_imports(f, "exports").query("destination == 'D'")["origin"].tolist()
    ['H']
    """
    if model is None:
        model = build_model(flows, production, reexport_share=reexport_share,
                            exporter=exporter, importer=importer, value=value)
    groups = _origin_groups(model, origins)
    labels, rhs = model._rhs(groups)
    C = model._solve(rhs).T  # (origins, nodes): origin mix of what each node ships
    # imports content: Z_imp[o, d] = sum_j C[o, j] X[j, d]
    Zimp = np.asarray(model.X.T.dot(C.T)).T  # (origins, nodes)
    cols = np.arange(len(model.nodes))
    if destinations is not None:
        known = set(model.nodes)
        missing = [d for d in destinations if d not in known]
        if missing and len(missing) == len(destinations):
            raise NodeNotFound(f"destination(s) {missing} not in the layer")
        cols = model.nodes.get_indexer([d for d in destinations if d in known])
    sub = Zimp[:, cols]
    o_idx, d_idx = np.nonzero(sub > min_value)  # long form straight from the arrays
    long = pd.DataFrame({
        "origin": np.asarray(labels, dtype=object)[o_idx],
        "destination": np.asarray(model.nodes, dtype=object)[cols[d_idx]],
        "value": sub[o_idx, d_idx].clip(min=0.0),
    })
    long.attrs["strategy"] = model.strategy
    return long


def trace_edges(
    flows: pd.DataFrame,
    production: str | pd.Series = "net_exports",
    *,
    origins: Sequence[str] | Mapping[str, Sequence[str]],
    reexport_share: pd.Series | Mapping[str, float] | None = None,
    exporter: str = "exporter",
    importer: str = "importer",
    value: str = "value_usd",
    model: TracingModel | None = None,
) -> pd.DataFrame:
    """Origin content of each edge: the flow ``j -> k`` carries ``X[j,k] * C[o,j]`` of origin o.

    Returns columns ``origin``, ``exporter``, ``importer``, ``value`` (the edge's total)
    and ``content`` (the part of origin ``origin``), one row per origin (group) and edge
    with non-zero content.

    >>> import pandas as pd
    >>> f = pd.DataFrame({"exporter": ["A", "B", "H"], "importer": ["H", "H", "D"],
    ...                   "value_usd": [6.0, 4.0, 5.0]})
    >>> e = trace_edges(f, origins=["A"])
    >>> float(e.loc[e["exporter"] == "H", "content"].iloc[0])
    3.0
    """
    if model is None:
        model = build_model(flows, production, reexport_share=reexport_share,
                            exporter=exporter, importer=importer, value=value)
    comp = model.composition(_origin_groups(model, origins))
    X = model.X.tocoo()
    recs = []
    C = comp.to_numpy()
    for k, lab in enumerate(comp.index):
        content = X.data * C[k, X.row]
        nz = content > 0
        recs.append(pd.DataFrame({
            "origin": lab,
            "exporter": model.nodes[X.row[nz]],
            "importer": model.nodes[X.col[nz]],
            "value": X.data[nz],
            "content": content[nz],
        }))
    out = pd.concat(recs, ignore_index=True) if recs else pd.DataFrame(
        columns=["origin", "exporter", "importer", "value", "content"])
    out.attrs["strategy"] = model.strategy
    return out


def trace_supply(model: TracingModel, origins=None) -> pd.DataFrame:
    """Origin content of each node's *supply* :math:`Z = \\operatorname{diag}(P)(I-A)^{-1}`.

    Parameters
    ----------
    model : TracingModel
        A prepared layer (:func:`build_model`).
    origins : sequence or mapping, optional
        Origins or origin groups (as for :func:`trace_imports`); default every node.

    Returns
    -------
    DataFrame
        Rows origins (or groups), columns nodes: :math:`Z_{oj}`, the amount of
        origin-:math:`o` goods in :math:`j`'s supply :math:`S_j = P_j + I_j`. Over all
        origins the columns sum to :math:`S_j`.

    Examples
    --------
    A cycle: A (produces 6) ships 10 to B, B (produces 2) ships 4 back and 8 to C.

    >>> import pandas as pd
    >>> f = pd.DataFrame({"exporter": ["A", "B", "B"], "importer": ["B", "A", "C"],
    ...                   "value_usd": [10.0, 4.0, 8.0]})
    >>> trace_supply(build_model(f), origins=["A", "B"]).round(3).to_dict("index")
    {'A': {'A': 9.0, 'B': 9.0, 'C': 6.0}, 'B': {'A': 1.0, 'B': 3.0, 'C': 2.0}}

    A's supply (6 + 4) is 9 of A and 1 of B; the columns sum to the supplies 10, 12, 8.
    """
    comp = model.composition(_origin_groups(model, origins))
    return comp * model.supply[None, :]


def transit_through(model: TracingModel) -> pd.Series:
    """Transit score: value each node ships that it did not produce (re-exports).

    Under proportional mixing node ``j`` ships :math:`O_j (1 - C_{jj})` of other
    origins' goods: the flow passing through it as an intermediary, which is what analysts
    mean by a hub. (Re-imports of its own goods count as its own.)

    >>> import pandas as pd
    >>> f = pd.DataFrame({"exporter": ["A", "H"], "importer": ["H", "D"],
    ...                   "value_usd": [10.0, 8.0]})
    >>> transit_through(build_model(f)).to_dict()
    {'A': 0.0, 'H': 8.0, 'D': 0.0}
    """
    n = len(model.nodes)
    # C[j, j] needs one solve per node: exact up to 2,000 nodes; above, C_jj is taken as
    # the own share w_j (re-imports of a node's own goods are then counted as transit).
    if n <= 2000:
        comp = model.composition()
        own = np.diag(comp.to_numpy())
    else:
        own = model.own_share
    return pd.Series(model.exports * (1.0 - own), index=model.nodes, name="transit")


def largest_paths(
    sources: Mapping[Hashable, float],
    targets: Iterable[Hashable],
    tails: Sequence[Hashable],
    heads: Sequence[Hashable],
    share: Sequence[float],
    *,
    k: int,
    max_hops: int,
    total: float,
    max_candidates: int = 500,
) -> list[tuple[tuple, float]]:
    r"""The ``k`` largest paths of goods from ``sources`` to ``targets`` under mixing.

    Goods mix proportionally in every node, so the amount carried by a path
    :math:`o \to n_1 \to \dots \to t` is :math:`P_o \prod a_{uv}`, with ``sources``
    giving :math:`P_o` (what each source puts in) and ``share`` the edge shares
    :math:`a_{uv} = X_{uv}/S_u` of the edges ``tails[i] -> heads[i]``. Paths are enumerated
    with :func:`networkx.shortest_simple_paths` (Yen) on lengths :math:`-\log a` from a
    super-source (edge :math:`P_o/\max P`) to a super-sink, in decreasing amount, lazily;
    paths of more than ``max_hops`` edges are passed over, at most ``max_candidates`` are
    looked at.

    Exact pruning: a path's amount is at most :math:`\max P \cdot a` for each of its
    edges, so edges with :math:`\max P \cdot a` below ``floor * total`` only carry paths
    below that floor. The search runs on the pruned graph; if its ``k`` largest paths all
    clear the floor they are the ``k`` largest of the whole graph, otherwise it runs again
    with a lower floor (1e-3, 1e-6, then none). ``total`` is the amount the targets receive
    (the reference of the floors; 0 turns pruning off).

    Returns ``[(nodes, amount), ...]``, ``nodes`` from the source to the target.

    >>> largest_paths({"A": 10.0}, ["D"], ["A", "A", "H"], ["H", "D", "D"], [0.5, 0.5, 1.0],
    ...               k=5, max_hops=3, total=10.0)
    [(('A', 'D'), 5.0), (('A', 'H', 'D'), 5.0)]
    """
    tails = np.asarray(tails, dtype=object)
    heads = np.asarray(heads, dtype=object)
    share = np.asarray(share, dtype=float)
    targets = list(targets)
    weights = {s_: float(p) for s_, p in sources.items() if p > 0}
    if not weights or not targets:
        return []
    pmax = max(weights.values())
    src, sink = "__source__", "__sink__"

    def search(floor: float) -> tuple[list[tuple[tuple, float]], bool]:
        keep = (share > 0) & (share * pmax >= floor * total)
        G = nx.DiGraph()
        G.add_edges_from((u, v, {"length": -math.log(a), "share": a}) for u, v, a in zip(
            tails[keep], heads[keep], share[keep].tolist(), strict=True))
        for node, p in weights.items():
            if node in G:
                G.add_edge(src, node, length=-math.log(p / pmax), share=p / pmax)
        for t in targets:
            if t in G:
                G.add_edge(t, sink, length=0.0, share=1.0)
        pruned = not keep[share > 0].all()
        if src not in G or sink not in G or not nx.has_path(G, src, sink):
            return [], pruned
        # only the nodes on some source -> target route; a copy, because Yen's algorithm
        # on a subgraph view filters at every step
        G = G.subgraph((nx.descendants(G, src) & nx.ancestors(G, sink)) | {src, sink}).copy()
        out = []
        gen = nx.shortest_simple_paths(G, src, sink, weight="length")
        for path in itertools.islice(gen, max_candidates):
            nodes = tuple(path[1:-1])
            if len(nodes) - 1 > max_hops:
                continue
            amount = pmax
            for u, v in zip(path[:-1], path[1:], strict=True):
                amount *= G[u][v]["share"]
            out.append((nodes, amount))
            if len(out) >= k:
                break
        return out, pruned

    found: list[tuple[tuple, float]] = []
    for floor in ((1e-3, 1e-6, 0.0) if total > 0 else (0.0,)):
        found, pruned = search(floor)
        if not pruned or (len(found) >= k and min(a for _, a in found) >= floor * total):
            break
    return found
