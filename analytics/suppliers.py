r"""Chokepoints in supplier tables: item concentration, rankings and upstream exposure.

Pure functions on a :class:`~analytics.schemas.Suppliers` table (``item_id``,
``provider``, ``provider_country``, ``share`` in 0-1, ...) and an item graph (nodes =
items, edges input -> the item it goes into, subtype -> parent), such as
:func:`analytics.sources.eto.read_eto_chip_explorer` returns (``eto.shares``,
``eto.graph``). Inputs are never modified.

Two optional columns refine the table:

``provider_level``
    ``"firm"`` or ``"country"``. A source may give both firm shares and country shares of
    one item: they are two views of one market and are never summed together. Without
    the column every row is a firm row.
``residual``
    True for rows holding the rest of the market ("Various companies"). Without the
    column no row is residual.

Shares, residuals and rounding
------------------------------
For an item with reported shares :math:`x_i` (named suppliers), residual :math:`r` and
total :math:`T = \sum_i x_i + r`, the shares used are :math:`s_i = x_i / \max(T, 1)`:
a total above one (shares rounded up) is scaled down to one, a total below one leaves the
unreported part as a fringe of many small suppliers. With ``residual="exclude"``
(default) the residual is such a fringe too: it keeps its weight in the denominator but
adds nothing to HHI or CR\ :sub:`k`, which makes the HHI a lower bound; ``"include"``
counts it as one supplier (an upper bound). Then :math:`HHI = \sum_i s_i^2`,
:math:`CR_1`, :math:`CR_3` and :math:`n_{eff} = 1/HHI`, computed with
:func:`analytics.chokepoints.concentration`.

>>> import pandas as pd
>>> t = pd.DataFrame({"item_id": ["x", "x", "x"],
...     "provider": ["A", "B", "Various companies"], "provider_country": ["JPN", "USA", None],
...     "share": [0.6, 0.3, 0.1], "residual": [False, False, True]})
>>> c = item_concentration(t)
>>> c[["item_id", "hhi", "top_supplier", "top_share", "residual_share"]].round(3).to_dict("records")
[{'item_id': 'x', 'hhi': 0.45, 'top_supplier': 'A', 'top_share': 0.6, 'residual_share': 0.1}]
>>> float(item_concentration(t, residual="include")["hhi"].round(3).iloc[0])
0.46
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import networkx as nx
import numpy as np
import pandas as pd

from analytics.chokepoints import concentration
from analytics.errors import AnalysisError

__all__ = [
    "item_concentration",
    "rank_chokepoints",
    "upstream_exposure",
    "country_exposure",
    "LEVEL",
    "RESIDUAL",
    "UNATTRIBUTED",
]

#: Optional column saying whether a row is a firm or a country share.
LEVEL = "provider_level"
#: Optional column flagging residual rows ("Various companies").
RESIDUAL = "residual"
#: Provider label of firm shares whose country is unknown, when aggregated to countries.
UNATTRIBUTED = "unattributed"

_LEVELS = ("firm", "country")
_RESIDUAL_MODES = ("exclude", "include")
_METRICS = ["hhi", "cr1", "cr3", "n_eff", "n_suppliers", "top_supplier", "top_share",
            "top_share_reported", "total_reported", "residual_share"]


def _prepare(suppliers: pd.DataFrame) -> pd.DataFrame:
    """Checked working copy with ``_level`` and ``_residual`` columns."""
    if not isinstance(suppliers, pd.DataFrame):
        raise AnalysisError(f"suppliers must be a DataFrame, not {type(suppliers).__name__}")
    missing = [c for c in ("item_id", "provider", "share") if c not in suppliers.columns]
    if missing:
        raise AnalysisError(f"suppliers table lacks column(s) {missing}")
    t = suppliers.copy()
    share = pd.to_numeric(t["share"], errors="coerce").astype("float64")
    bad = ~(np.isfinite(share) & (share >= 0) & (share <= 1))
    if bad.any():
        first = t.loc[bad, ["item_id", "provider", "share"]].iloc[0].to_dict()
        hint = "; shares look like percent: divide by 100" if (share > 1).any() else ""
        raise AnalysisError(f"{int(bad.sum())} share(s) not in 0-1, first {first}{hint}")
    t["share"] = share
    if LEVEL in t.columns:
        lvl = t[LEVEL].astype(object)
        odd = ~lvl.isin(_LEVELS)
        if odd.any():
            raise AnalysisError(f"column {LEVEL!r} has value(s) "
                                f"{sorted(map(str, lvl[odd].unique()))}; use 'firm' or 'country'")
        t["_level"] = lvl
    else:
        t["_level"] = "firm"
    t["_residual"] = (t[RESIDUAL].fillna(False).astype(bool) if RESIDUAL in t.columns
                      else False)
    dup = t.duplicated(["item_id", "_level", "provider"], keep=False)
    if dup.any():
        first = t.loc[dup, ["item_id", "_level", "provider"]].iloc[0].tolist()
        raise AnalysisError(
            f"{int(dup.sum())} rows repeat an (item, level, provider), first {first}: one "
            "share per provider and item is needed (select one year, e.g. read the source "
            "with years='latest')")
    return t


def _check_option(name: str, value, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise AnalysisError(f"{name}={value!r}: use one of {list(allowed)}")


def _level_rows(t: pd.DataFrame, level: str) -> pd.DataFrame:
    """Rows of one level; country rows are aggregated from firms where absent."""
    if level == "firm":
        return t[t["_level"] == "firm"].assign(basis="firm")
    crow = t[t["_level"] == "country"].assign(basis="country")
    firms = t[(t["_level"] == "firm") & ~t["item_id"].isin(crow["item_id"])]
    if firms.empty:
        return crow
    if "provider_country" not in firms.columns:
        raise AnalysisError("country level needs a provider_country column to aggregate "
                            "firm shares by country")
    named = firms["provider_country"].notna() & ~firms["_residual"]
    label = firms["provider_country"].astype(object).where(
        named, firms["provider"].astype(object).where(firms["_residual"], UNATTRIBUTED))
    work = firms.assign(provider=label, _residual=~named)
    agg = {"share": ("share", "sum")}
    for col, how in (("item_name", "first"), ("year", "max")):
        if col in work.columns:
            agg[col] = (col, how)
    grouped = work.groupby(["item_id", "provider", "_residual"], sort=False,
                           as_index=False).agg(**agg)
    grouped["provider_country"] = grouped["provider"].where(~grouped["_residual"])
    grouped["_level"] = "country"
    grouped["basis"] = "firm_aggregated"
    return pd.concat([crow, grouped], ignore_index=True)


def item_concentration(suppliers: pd.DataFrame, *, level: str = "firm",
                       residual: str = "exclude") -> pd.DataFrame:
    r"""Concentration of each item's suppliers at firm or country level.

    Parameters
    ----------
    suppliers : DataFrame
        Suppliers table (``item_id``, ``provider``, ``share`` in 0-1; ``provider_country``
        for country level; optional ``provider_level``, ``residual``, ``item_name``,
        ``year``), one row per (item, level, provider).
    level : {"firm", "country"}
        ``"firm"``: the firm rows. ``"country"``: an item's own country rows when it has
        any; otherwise its firm shares summed by ``provider_country`` (firms without a
        country form one residual ``"unattributed"`` row).
    residual : {"exclude", "include"}
        Residual rows as a fragmented fringe (default; HHI lower bound) or as one
        supplier (upper bound).

    Returns
    -------
    DataFrame
        One row per item, in order of first appearance: ``item_id``, ``item_name`` and
        ``year`` (latest) when the input has them, ``level``, ``basis`` ("firm",
        "country" = the source's country rows, "firm_aggregated"), ``hhi``, ``cr1``,
        ``cr3``, ``n_eff`` (1/HHI), ``n_suppliers``, ``top_supplier``, ``top_share``
        (share after the rescaling in the module notes), ``top_share_reported`` (the
        share as in the table), ``total_reported`` (sum of the item's shares at that
        level, residual included) and ``residual_share``. Items without a named supplier
        with a positive share have missing metrics and ``n_suppliers`` 0.

    Raises
    ------
    AnalysisError
        Missing columns, shares outside 0-1, repeated (item, level, provider) rows, an
        unknown option.

    Notes
    -----
    Shares are divided by :math:`\max(T, 1)` where :math:`T` is the item's total at that
    level: totals above one (rounding up) are scaled to one, totals below one leave an
    unreported fringe. Ties for the top supplier go to the provider that sorts first.

    Examples
    --------
    Firm F (Japan) holds 70 %, G (Japan) 20 %, H (no country) 10 % of item ``y``:

    >>> import pandas as pd
    >>> t = pd.DataFrame({"item_id": ["y"] * 3, "provider": ["F", "G", "H"],
    ...     "provider_country": ["JPN", "JPN", None], "share": [0.7, 0.2, 0.1]})
    >>> c = item_concentration(t, level="country")
    >>> c[["basis", "top_supplier", "top_share", "hhi", "residual_share"]].round(2).to_dict("records")
    [{'basis': 'firm_aggregated', 'top_supplier': 'JPN', 'top_share': 0.9, 'hhi': 0.81, 'residual_share': 0.1}]
    """
    _check_option("level", level, _LEVELS)
    _check_option("residual", residual, _RESIDUAL_MODES)
    t = _prepare(suppliers)
    sel = _level_rows(t, level)
    has_name = "item_name" in sel.columns
    has_year = "year" in sel.columns
    items = pd.Index(pd.unique(sel["item_id"]), name="item_id")
    by_item = sel.groupby("item_id", sort=False)
    total = by_item["share"].sum().reindex(items)
    resid = sel["share"].where(sel["_residual"], 0.0).groupby(sel["item_id"], sort=False
                                                              ).sum().reindex(items)
    counted = sel if residual == "include" else sel[~sel["_residual"]]
    counted = counted[counted["share"] > 0]
    out = pd.DataFrame(index=items)
    if has_name:
        out["item_name"] = by_item["item_name"].first().reindex(items)
    out["level"] = level
    out["basis"] = by_item["basis"].first().reindex(items)
    if has_year:
        out["year"] = by_item["year"].max().reindex(items)
    if counted.empty:
        conc = pd.DataFrame(columns=["hhi", "cr1", "cr3", "n_eff", "n_suppliers",
                                     "top_supplier", "top_share", "total"],
                            index=pd.Index([], name="item_id"))
    else:
        # value column renamed: chokepoints.supplier_shares writes its result to "share",
        # which would overwrite a value column of that name (and make ``total`` 1)
        work = pd.DataFrame({"item_id": counted["item_id"].astype(object),
                             "provider": counted["provider"].astype(object),
                             "reported": counted["share"].to_numpy()})
        conc = concentration(work, supplier="provider", value="reported", by="item_id")
        conc = conc.set_index("item_id")
    conc = conc.reindex(items)
    factor = conc["total"].astype("float64") / total.clip(lower=1.0)
    out["hhi"] = conc["hhi"].astype("float64") * factor ** 2
    out["cr1"] = conc["cr1"].astype("float64") * factor
    out["cr3"] = conc["cr3"].astype("float64") * factor
    out["n_eff"] = 1.0 / out["hhi"]
    out["n_suppliers"] = conc["n_suppliers"].fillna(0).astype("int64")
    out["top_supplier"] = conc["top_supplier"].astype(object).where(
        conc["top_supplier"].notna(), None)
    out["top_share"] = conc["top_share"].astype("float64") * factor
    out["top_share_reported"] = (conc["top_share"].astype("float64")
                                 * conc["total"].astype("float64"))
    out["total_reported"] = total
    out["residual_share"] = resid
    return out.reset_index()


def _items_frame(items) -> pd.DataFrame | None:
    """item_id, item_name, stage from an items frame or an item graph."""
    if items is None:
        return None
    if isinstance(items, nx.Graph):
        rows = [{"item_id": n, "item_name": d.get("name"),
                 "stage": d.get("stage", d.get("stage_id"))} for n, d in items.nodes(data=True)]
        return pd.DataFrame(rows, columns=["item_id", "item_name", "stage"])
    if not isinstance(items, pd.DataFrame) or "item_id" not in items.columns:
        raise AnalysisError("items must be a DataFrame with an item_id column or an item "
                            "graph")
    out = pd.DataFrame({"item_id": items["item_id"]})
    if "item_name" in items.columns:
        out["item_name"] = items["item_name"]
    stage = "stage" if "stage" in items.columns else (
        "stage_id" if "stage_id" in items.columns else None)
    if stage:
        out["stage"] = items[stage]
    return out.drop_duplicates("item_id")


def rank_chokepoints(suppliers: pd.DataFrame, items: pd.DataFrame | nx.DiGraph | None = None,
                     *, level: str = "country", residual: str = "exclude",
                     by: Sequence[str] | None = None, top: int | None = None) -> pd.DataFrame:
    """Items ranked as chokepoints, firm and country top suppliers side by side.

    Parameters
    ----------
    suppliers : DataFrame
        Suppliers table as for :func:`item_concentration`.
    items : DataFrame or networkx.DiGraph, optional
        Item names and stages: a frame with ``item_id`` and ``item_name``/``stage`` (or
        ``stage_id``), or the item graph (node attributes ``name``, ``stage``).
    level : {"country", "firm"}
        Level whose concentration orders the ranking (default country: a country's
        share is what an export control can reach).
    residual : {"exclude", "include"}
        Passed to :func:`item_concentration`.
    by : list of str, optional
        Columns to sort by, descending; default ``<level>_top_share``, ``<level>_hhi``,
        then the other level's top share (ties keep the input's item order).
    top : int, optional
        Keep the first ``top`` rows.

    Returns
    -------
    DataFrame
        ``rank`` (1 = strongest chokepoint), ``item_id``, ``item_name``, ``stage`` (when
        known), and for each level ``<level>_top_supplier``, ``<level>_top_share``,
        ``<level>_hhi``, ``<level>_n_suppliers``, plus ``country_basis``. Items without a
        value of the sort columns come last.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"item_id": ["a", "a", "b", "b"], "provider": ["P", "Q", "R", "S"],
    ...     "provider_country": ["NLD", "JPN", "USA", "USA"], "share": [0.9, 0.1, 0.5, 0.5]})
    >>> r = rank_chokepoints(t)
    >>> r[["rank", "item_id", "firm_top_supplier", "country_top_supplier", "country_top_share"]].to_dict("records")
    [{'rank': 1, 'item_id': 'b', 'firm_top_supplier': 'R', 'country_top_supplier': 'USA', 'country_top_share': 1.0}, {'rank': 2, 'item_id': 'a', 'firm_top_supplier': 'P', 'country_top_supplier': 'NLD', 'country_top_share': 0.9}]
    """
    _check_option("level", level, _LEVELS)
    keep = ["top_supplier", "top_share", "hhi", "n_suppliers"]
    parts = {}
    for lv in _LEVELS:
        c = item_concentration(suppliers, level=lv, residual=residual)
        cols = ["item_id", *keep] + (["basis"] if lv == "country" else [])
        part = c[cols].rename(columns={k: f"{lv}_{k}" for k in cols if k != "item_id"})
        parts[lv] = (part, c["item_name"] if "item_name" in c.columns else None)
    merged = parts["firm"][0].merge(parts["country"][0], on="item_id", how="outer", sort=False)
    meta = _items_frame(items)
    sources = [pd.DataFrame({"item_id": parts[lv][0]["item_id"], "item_name": nm})
               for lv in _LEVELS if (nm := parts[lv][1]) is not None]
    if meta is not None and "item_name" in meta.columns:
        sources.insert(0, meta[["item_id", "item_name"]])  # the item table's names first
    front = ["item_id"]
    if sources:
        names = pd.concat(sources).dropna(subset=["item_name"]).drop_duplicates("item_id")
        merged = merged.merge(names, on="item_id", how="left")
        front.append("item_name")
    if meta is not None and "stage" in meta.columns:
        merged = merged.merge(meta[["item_id", "stage"]], on="item_id", how="left")
        front.append("stage")
    other = "firm" if level == "country" else "country"
    sort_by = list(by) if by is not None else [f"{level}_top_share", f"{level}_hhi",
                                               f"{other}_top_share"]
    unknown = [c for c in sort_by if c not in merged.columns]
    if unknown:
        raise AnalysisError(f"cannot sort by {unknown}: columns are {list(merged.columns)}")
    merged = merged.sort_values(sort_by, ascending=False, na_position="last",
                                kind="stable").reset_index(drop=True)
    merged.insert(0, "rank", np.arange(1, len(merged) + 1))
    rest = [c for c in merged.columns if c not in ("rank", *front)]
    merged = merged[["rank", *front, *rest]]
    for lv in _LEVELS:
        col = f"{lv}_n_suppliers"
        merged[col] = merged[col].astype("Int64")
    return merged.head(top) if top is not None else merged


def upstream_exposure(graph: nx.DiGraph, concentration_by_item: pd.DataFrame | pd.Series, *,
                      metric: str = "top_share",
                      relations: Sequence[str] = ("goes_into", "is_type_of"),
                      on_cycle: str = "raise") -> pd.DataFrame:
    r"""Exposure of each item to its most concentrated upstream input.

    .. math:: e(v) = \max\bigl(c(v),\ \max_{u \to v} e(u)\bigr)

    where :math:`c(v)` is the item's own concentration (``metric``) and :math:`u \to v`
    runs over the edges whose ``relation`` is in ``relations``: an input feeding the item
    it goes into, and a subtype feeding its parent (EUV lithography tools feed
    lithography tools). An item is thus as exposed as the weakest link anywhere upstream;
    the item where that value originates is its *bottleneck*.

    Parameters
    ----------
    graph : networkx.DiGraph
        Item graph; edges without a ``relation`` attribute count as ``"goes_into"``.
    concentration_by_item : DataFrame or Series
        A frame with ``item_id`` (column or index), ``metric`` and optionally
        ``top_supplier`` (e.g. :func:`item_concentration`), or a Series of the metric
        indexed by item. Items without a value have no own concentration.
    metric : str
        Column to propagate (default ``"top_share"``; ``"hhi"`` or ``"cr3"`` also work).
    relations : sequence of str
        Edge relations that carry exposure.
    on_cycle : {"raise", "condense"}
        A cycle raises :class:`~analytics.errors.AnalysisError` naming it (default);
        ``"condense"`` treats each strongly connected component as one node (all members
        share its exposure; ``depth`` then counts steps between components).

    Returns
    -------
    DataFrame
        One row per graph node, in graph order: ``item_id``, ``item_name`` (node
        attribute ``name``), ``own`` (the item's metric), ``exposure``, ``bottleneck``
        (item id), ``bottleneck_name``, ``bottleneck_supplier`` (its ``top_supplier``) and
        ``depth`` (edges from the bottleneck; 0 = the item itself). Items with nothing
        measured upstream have missing values.

    Raises
    ------
    AnalysisError
        Missing ``metric`` column, repeated item ids, no measured item in the graph, a
        cycle (with ``on_cycle="raise"``), an unknown option.

    Notes
    -----
    Ties go to the item itself, then to the nearest bottleneck, then to the smallest item
    id. One pass in topological order: :math:`O(V + E)`. Measured items absent from the
    graph are ignored with a warning.

    Examples
    --------
    A chain a -> b -> c and a subtype s of b:

    >>> import networkx as nx
    >>> import pandas as pd
    >>> g = nx.DiGraph([("a", "b", {"relation": "goes_into"}),
    ...                 ("b", "c", {"relation": "goes_into"}),
    ...                 ("s", "b", {"relation": "is_type_of"})])
    >>> conc = pd.DataFrame({"item_id": ["a", "b", "c", "s"], "top_share": [0.6, 0.5, 0.7, 0.9],
    ...                      "top_supplier": ["JPN", "USA", "TWN", "NLD"]})
    >>> e = upstream_exposure(g, conc)
    >>> e[["item_id", "exposure", "bottleneck", "bottleneck_supplier", "depth"]].to_dict("records")
    [{'item_id': 'a', 'exposure': 0.6, 'bottleneck': 'a', 'bottleneck_supplier': 'JPN', 'depth': 0}, {'item_id': 'b', 'exposure': 0.9, 'bottleneck': 's', 'bottleneck_supplier': 'NLD', 'depth': 1}, {'item_id': 'c', 'exposure': 0.9, 'bottleneck': 's', 'bottleneck_supplier': 'NLD', 'depth': 2}, {'item_id': 's', 'exposure': 0.9, 'bottleneck': 's', 'bottleneck_supplier': 'NLD', 'depth': 0}]
    """
    _check_option("on_cycle", on_cycle, ("raise", "condense"))
    if not isinstance(graph, nx.DiGraph):
        raise AnalysisError("graph must be a networkx.DiGraph")
    if isinstance(concentration_by_item, pd.Series):
        values = concentration_by_item.astype("float64")
        supplier = pd.Series(None, index=values.index, dtype=object)
    elif isinstance(concentration_by_item, pd.DataFrame):
        frame = concentration_by_item
        if "item_id" in frame.columns:
            frame = frame.set_index("item_id")
        if metric not in frame.columns:
            raise AnalysisError(f"concentration_by_item has no column {metric!r}; columns "
                                f"are {list(frame.columns)}")
        values = pd.to_numeric(frame[metric], errors="coerce").astype("float64")
        supplier = (frame["top_supplier"].astype(object) if "top_supplier" in frame.columns
                    else pd.Series(None, index=frame.index, dtype=object))
    else:
        raise AnalysisError("concentration_by_item must be a DataFrame or a Series")
    if values.index.duplicated().any():
        dups = sorted(map(str, values.index[values.index.duplicated()].unique()))[:5]
        raise AnalysisError(f"items repeat in concentration_by_item: {dups}; pass one level")
    values = values.dropna()
    in_graph = values.index.isin(list(graph.nodes))
    if len(values) and not in_graph.any():
        raise AnalysisError("no measured item is a node of the graph (first ids: "
                            f"{list(map(str, values.index[:3]))}); check the item ids")
    if not in_graph.all():
        warnings.warn(f"{int((~in_graph).sum())} measured item(s) are not in the graph and "
                      f"are ignored (first {values.index[~in_graph][0]!r})", stacklevel=2)
    own = values[in_graph].to_dict()
    sup = supplier.to_dict()

    h = nx.DiGraph()
    h.add_nodes_from(graph.nodes)
    h.add_edges_from((u, v) for u, v, d in graph.edges(data=True)
                     if d.get("relation", "goes_into") in relations)
    if on_cycle == "raise" and not nx.is_directed_acyclic_graph(h):
        cycle = [u for u, _ in nx.find_cycle(h)]
        raise AnalysisError(
            "the item graph has a cycle: " + " -> ".join(map(str, [*cycle, cycle[0]]))
            + "; exposure needs a DAG (fix the edges or pass on_cycle='condense')")
    cond = nx.condensation(h)
    best: dict[int, tuple[float, int, object] | None] = {}
    for comp in nx.topological_sort(cond):
        cands = [(own[m], 0, m) for m in cond.nodes[comp]["members"] if m in own]
        for pre in cond.predecessors(comp):
            if best[pre] is not None:
                val, hops, src = best[pre]
                cands.append((val, hops + 1, src))
        best[comp] = min(cands, key=lambda c: (-c[0], c[1], str(c[2]))) if cands else None
    mapping = cond.graph["mapping"]
    names = nx.get_node_attributes(graph, "name")
    rows = []
    for node in graph.nodes:
        b = best[mapping[node]]
        rows.append({
            "item_id": node, "item_name": names.get(node), "own": own.get(node, np.nan),
            "exposure": np.nan if b is None else b[0],
            "bottleneck": None if b is None else b[2],
            "bottleneck_name": None if b is None else names.get(b[2]),
            "bottleneck_supplier": None if b is None else sup.get(b[2]),
            "depth": pd.NA if b is None else b[1],
        })
    out = pd.DataFrame(rows, columns=["item_id", "item_name", "own", "exposure", "bottleneck",
                                      "bottleneck_name", "bottleneck_supplier", "depth"])
    out["own"] = out["own"].astype("float64")
    out["exposure"] = out["exposure"].astype("float64")
    out["depth"] = out["depth"].astype("Int64")
    return out


def country_exposure(suppliers: pd.DataFrame, *, threshold: float = 0.5,
                     residual: str = "exclude") -> pd.DataFrame:
    """Per country, the items it leads and the items it holds a majority of.

    Parameters
    ----------
    suppliers : DataFrame
        Suppliers table as for :func:`item_concentration` (country level is used: the
        source's country rows, or firm shares summed by country).
    threshold : float
        Share above which a country "holds" an item (default 0.5, a majority).
    residual : {"exclude", "include"}
        Passed to :func:`item_concentration`.

    Returns
    -------
    DataFrame
        ``country``, ``n_top`` (items where it is the top supplier), ``n_above``
        (items where its share exceeds ``threshold``), ``max_share`` and ``items_above``
        (names, or ids, of those items, largest share first, "; "-joined); sorted by
        ``n_above`` then ``n_top``, descending.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"item_id": ["a", "a", "b", "b", "c"],
    ...     "provider": ["P", "Q", "R", "S", "T"],
    ...     "provider_country": ["NLD", "JPN", "JPN", "USA", "JPN"],
    ...     "share": [0.8, 0.2, 0.5, 0.5, 1.0]})
    >>> country_exposure(t).to_dict("records")
    [{'country': 'JPN', 'n_top': 2, 'n_above': 1, 'max_share': 1.0, 'items_above': 'c'}, {'country': 'NLD', 'n_top': 1, 'n_above': 1, 'max_share': 0.8, 'items_above': 'a'}]
    """
    if not 0 <= threshold < 1:
        raise AnalysisError(f"threshold={threshold!r}: use a share in [0, 1)")
    c = item_concentration(suppliers, level="country", residual=residual)
    c = c[c["top_supplier"].notna()]
    label = c["item_name"].fillna(c["item_id"]) if "item_name" in c.columns else c["item_id"]
    c = c.assign(_label=label.astype(str)).sort_values("top_share", ascending=False,
                                                      kind="stable")
    rows = []
    for country, grp in c.groupby("top_supplier", sort=True):
        above = grp[grp["top_share"] > threshold]
        rows.append({"country": country, "n_top": len(grp), "n_above": len(above),
                     "max_share": float(grp["top_share"].max()),
                     "items_above": "; ".join(above["_label"])})
    out = pd.DataFrame(rows, columns=["country", "n_top", "n_above", "max_share",
                                      "items_above"])
    return out.sort_values(["n_above", "n_top", "country"], ascending=[False, False, True],
                           kind="stable").reset_index(drop=True)
