"""Category flows and trade graphs per (year, category).

HS6 flows are aggregated through the category mapping. Category definitions carry their
own HS version (the CHPL is HS2022, BACI HS17 data is HS2017); :func:`category_flows`
expresses them in the flows' version through the concordance first, so an HS2022 code
such as 8807.30 finds its HS2017 counterpart 8803.30. A product may belong to several
categories (CHPL Tier 3.B and "bearings" share 8482.10); it then counts once in each.

>>> from analytics.demo import make_demo_world
>>> cf = category_flows(make_demo_world(seed=0).dataset)
>>> list(cf.columns)
['year', 'exporter', 'importer', 'category_id', 'value_usd']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import networkx as nx
import pandas as pd

from analytics.dataset import Dataset
from analytics.errors import AnalysisError, UnknownCategory
from analytics.reference import map_category_hs
from analytics.schemas import STR

__all__ = ["category_membership", "category_flows", "layer", "to_graph", "graphs",
           "country_totals"]


def category_membership(dataset: Dataset) -> pd.DataFrame:
    """Category -> HS6 codes (and prefixes) in the flows' HS version.

    Columns ``category_id``, ``hs6`` (6 digits or a 2/4-digit prefix), ``hs_version``,
    ``from_hs6``, ``mapped``.
    """
    return map_category_hs(dataset.category_hs, dataset.hs_version, dataset.hs_concordance)


def _expand_prefixes(membership: pd.DataFrame, codes: Iterable[str]) -> pd.DataFrame:
    full = membership[membership["hs6"].str.len() == 6][["category_id", "hs6"]]
    prefixes = membership[membership["hs6"].str.len() < 6]
    if prefixes.empty:
        return full.drop_duplicates()
    codes = pd.Series(sorted(set(codes)), dtype=STR)
    parts = [full]
    for row in prefixes.itertuples(index=False):
        hit = codes[codes.str.startswith(row.hs6)]
        parts.append(pd.DataFrame({"category_id": row.category_id, "hs6": hit}))
    return pd.concat(parts, ignore_index=True).drop_duplicates()


def category_flows(
    dataset: Dataset,
    *,
    categories: Iterable[str] | None = None,
    years: Iterable[int] | None = None,
) -> pd.DataFrame:
    """Aggregate HS6 flows to categories.

    Parameters
    ----------
    dataset : Dataset
    categories, years : optional
        Restrict to these category ids / years.

    Returns
    -------
    DataFrame
        ``year``, ``exporter``, ``importer``, ``category_id``, ``value_usd`` (sum over the
        category's HS6 codes), sorted.

    Raises
    ------
    UnknownCategory
        A requested category id is not defined in the dataset.
    """
    membership = category_membership(dataset)
    if categories is not None:
        wanted = list(categories)
        unknown = sorted(set(wanted) - set(dataset.categories["category_id"]))
        if unknown:
            raise UnknownCategory(
                f"unknown category id(s) {unknown}; defined: "
                f"{sorted(dataset.categories['category_id'])}")
        membership = membership[membership["category_id"].isin(wanted)]
    flows = dataset.flows
    if years is not None:
        flows = flows[flows["year"].isin(list(years))]
    mem = _expand_prefixes(membership, flows["hs6"].unique())
    merged = flows[["year", "exporter", "importer", "hs6", "value_usd"]].merge(
        mem, on="hs6", how="inner")
    out = (merged.groupby(["year", "exporter", "importer", "category_id"], as_index=False,
                          observed=True)["value_usd"].sum()
           .sort_values(["year", "category_id", "exporter", "importer"])
           .reset_index(drop=True))
    for col in ("exporter", "importer", "category_id"):
        out[col] = out[col].astype(STR)
    return out[["year", "exporter", "importer", "category_id", "value_usd"]]


def layer(cflows: pd.DataFrame, year: int, category_id: str) -> pd.DataFrame:
    """One (year, category) layer of category flows: ``exporter``, ``importer``, ``value_usd``.

    Raises
    ------
    AnalysisError
        The layer is empty.
    """
    sub = cflows[(cflows["year"] == year) & (cflows["category_id"] == category_id)]
    if sub.empty:
        raise AnalysisError(f"no flows for category {category_id!r} in {year}")
    return sub[["exporter", "importer", "value_usd"]].reset_index(drop=True)


def to_graph(layer_flows: pd.DataFrame, *, weight: str = "value_usd") -> nx.DiGraph:
    """Directed weighted graph of one layer; edge attribute ``weight`` (default value_usd)
    and ``distance = 1 / value`` for shortest-path based measures.

    >>> import pandas as pd
    >>> g = to_graph(pd.DataFrame({"exporter": ["A"], "importer": ["B"], "value_usd": [4.0]}))
    >>> g["A"]["B"]
    {'value_usd': 4.0, 'distance': 0.25}
    """
    g = nx.DiGraph()
    for e, i, v in layer_flows[["exporter", "importer", weight]].itertuples(index=False):
        if v > 0 and e != i:
            g.add_edge(e, i, **{weight: float(v), "distance": 1.0 / float(v)})
    return g


def graphs(cflows: pd.DataFrame) -> Iterator[tuple[tuple[int, str], nx.DiGraph]]:
    """Yield ``((year, category_id), graph)`` for every layer."""
    for (year, cat), sub in cflows.groupby(["year", "category_id"], sort=True):
        yield (int(year), str(cat)), to_graph(sub)


def country_totals(layer_flows: pd.DataFrame) -> pd.DataFrame:
    """Exports, imports and net exports of every node of a layer."""
    exp = layer_flows.groupby("exporter")["value_usd"].sum()
    imp = layer_flows.groupby("importer")["value_usd"].sum()
    out = pd.concat([exp.rename("exports"), imp.rename("imports")], axis=1).fillna(0.0)
    out["net_exports"] = out["exports"] - out["imports"]
    out.index.name = "country"
    return out
