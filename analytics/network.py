"""Category flows and trade graphs per (year, category).

HS6 flows are aggregated through the category mapping. Category definitions carry their
own HS version (the CHPL is HS2022, BACI HS17 data is HS2017); :func:`category_flows`
expresses them in the flows' version through the concordance first, so an HS2022 code
such as 8807.30 finds its HS2017 counterpart 8803.30. A product may belong to several
categories (CHPL Tier 3.B and "bearings" share 8482.10); it then counts once in each.

>>> cf = category_flows(_example_dataset())  # 3 categories, HS2017 flows
>>> list(cf.columns)
['year', 'exporter', 'importer', 'category_id', 'value_usd']
>>> g = to_graph(layer(cf, 2022, "chip_tools"))
>>> g["NLD"]["KAZ"]["value_usd"]
30.0
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


def _example_dataset() -> Dataset:
    """A three-category dataset for the examples (HS2017 flows, one HS2022 category)."""
    empty = pd.DataFrame()
    flows = pd.DataFrame({
        "year": 2022, "exporter": ["JPN", "JPN", "NLD", "NLD", "JPN"],
        "importer": ["RUS", "RUS", "KAZ", "KAZ", "RUS"],
        "hs6": ["880330", "848210", "848620", "848690", "010121"],
        "value_usd": [5.0, 7.0, 10.0, 20.0, 100.0]})
    category_hs = pd.DataFrame({"category_id": ["uav", "bearings", "chip_tools"],
                                "hs6": ["880730", "848210", "8486"],
                                "hs_version": ["HS2022", "HS2017", "HS2017"]})
    concordance = pd.DataFrame({"from_version": ["HS2022"], "from_hs6": ["880730"],
                                "to_version": ["HS2017"], "to_hs6": ["880330"],
                                "relation": ["1:1"]})
    categories = pd.DataFrame({"category_id": ["uav", "bearings", "chip_tools"]})
    return Dataset(flows=flows, countries=empty, categories=categories,
                   category_hs=category_hs, events=empty, hs_concordance=concordance,
                   hs_version="HS2017")


def category_membership(dataset: Dataset) -> pd.DataFrame:
    """Category -> HS6 codes (and prefixes) in the flows' HS version.

    Parameters
    ----------
    dataset : Dataset
        Its ``category_hs`` is mapped to ``hs_version`` through ``hs_concordance`` (the
        reference concordance when the dataset has none).

    Returns
    -------
    DataFrame
        ``category_id``, ``hs6`` (6 digits or a 2/4-digit prefix), ``hs_version``,
        ``from_hs6`` (the code as defined), ``mapped`` (True when the concordance changed
        it), see :func:`analytics.reference.map_category_hs`.

    Examples
    --------
    >>> ds = _example_dataset()
    >>> category_membership(ds)[["category_id", "hs6", "from_hs6", "mapped"]].to_dict("records")
    [{'category_id': 'bearings', 'hs6': '848210', 'from_hs6': '848210', 'mapped': False}, {'category_id': 'chip_tools', 'hs6': '8486', 'from_hs6': '8486', 'mapped': False}, {'category_id': 'uav', 'hs6': '880330', 'from_hs6': '880730', 'mapped': True}]
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

    Notes
    -----
    A 2/4-digit prefix stands for every HS6 code of the flows that starts with it. A code
    listed by two categories counts once in each, so category totals may add up to more
    than the flows; within a category each code counts once.

    Examples
    --------
    ``uav`` is defined by the HS2022 code 880730, found in HS2017 data as 880330;
    ``chip_tools`` by the prefix 8486:

    >>> ds = _example_dataset()
    >>> category_flows(ds).to_dict("records")
    [{'year': 2022, 'exporter': 'JPN', 'importer': 'RUS', 'category_id': 'bearings', 'value_usd': 7.0}, {'year': 2022, 'exporter': 'NLD', 'importer': 'KAZ', 'category_id': 'chip_tools', 'value_usd': 30.0}, {'year': 2022, 'exporter': 'JPN', 'importer': 'RUS', 'category_id': 'uav', 'value_usd': 5.0}]
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

    Examples
    --------
    >>> import pandas as pd
    >>> cf = pd.DataFrame({"year": [2022, 2023], "exporter": ["JPN", "JPN"],
    ...     "importer": ["KAZ", "RUS"], "category_id": "c", "value_usd": [1.0, 2.0]})
    >>> layer(cf, 2023, "c").to_dict("records")
    [{'exporter': 'JPN', 'importer': 'RUS', 'value_usd': 2.0}]
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
    """Yield ``((year, category_id), graph)`` for every layer, in (year, category) order.

    Each graph is :func:`to_graph` of the layer (edge attributes ``value_usd`` and
    ``distance``; zero flows and self-flows left out).

    Examples
    --------
    >>> import pandas as pd
    >>> cf = pd.DataFrame({"year": [2023, 2022, 2022], "exporter": ["JPN", "JPN", "NLD"],
    ...     "importer": ["RUS", "KAZ", "KAZ"], "category_id": ["c", "d", "c"],
    ...     "value_usd": [2.0, 1.0, 4.0]})
    >>> [(key, sorted(g.edges)) for key, g in graphs(cf)]
    [((2022, 'c'), [('NLD', 'KAZ')]), ((2022, 'd'), [('JPN', 'KAZ')]), ((2023, 'c'), [('JPN', 'RUS')])]
    """
    for (year, cat), sub in cflows.groupby(["year", "category_id"], sort=True):
        yield (int(year), str(cat)), to_graph(sub)


def country_totals(layer_flows: pd.DataFrame) -> pd.DataFrame:
    """Exports, imports and net exports of every node of a layer.

    Returns a frame indexed by ``country`` with ``exports`` (:math:`O_j`), ``imports``
    (:math:`I_j`) and ``net_exports`` (:math:`O_j - I_j`).

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"exporter": ["A", "B"], "importer": ["B", "C"],
    ...                   "value_usd": [10.0, 4.0]})
    >>> country_totals(f).to_dict("index")
    {'A': {'exports': 10.0, 'imports': 0.0, 'net_exports': 10.0}, 'B': {'exports': 4.0, 'imports': 10.0, 'net_exports': -6.0}, 'C': {'exports': 0.0, 'imports': 4.0, 'net_exports': -4.0}}
    """
    exp = layer_flows.groupby("exporter")["value_usd"].sum()
    imp = layer_flows.groupby("importer")["value_usd"].sum()
    out = pd.concat([exp.rename("exports"), imp.rename("imports")], axis=1).fillna(0.0)
    out["net_exports"] = out["exports"] - out["imports"]
    out.index.name = "country"
    return out
