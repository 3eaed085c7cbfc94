r"""Analysis steps of the real-data case studies (notebooks 05 and 06).

Case study A, *critical minerals under China's export controls* (CEPII BACI HS17 flows of
30 critical-mineral HS6 codes, 2022 and 2024, plus the raw two-sided UN Comtrade reports
behind them):

* :func:`hs6_concentration`: exporter and traced-origin concentration per HS6 code and
  year. Category flows (:func:`analytics.network.category_flows`) add up the codes of a
  category, so a code's own chokepoint can hide inside its category: this works on the
  raw flows, one layer per (year, hs6).
* :func:`trade_positions`, :func:`shipped_vs_traced`: every country's exports, imports,
  export share and traced-origin share per code, and where a country's traced share
  departs from its shipped share (and whether it is a net importer of the code).
* :func:`category_coverage`: which codes of each category an extract holds.
* :func:`hs6_dependency_flags`: the EC/CEPII flags (import HHI > 0.4 and imports/exports
  > 1) per importer and code, with persistence counted over calendar years.
* :func:`import_dependence_on`: a country's dependence on one supplier per code, as
  shipped and traced to origin.
* :func:`source_shares`, :func:`source_change`: where an importer's supply comes from and
  how that changed between two years; :func:`dropped_sources`: the sources that (almost)
  stopped shipping between them.
* :func:`controlled_hs6`: the codes whose categories are under an export-control event of
  a jurisdiction (China's, by default).
* :func:`mirror_gap_report`: exporter- against importer-reported values from
  :func:`analytics.sources.comtrade.mirror_statistics`.

Case study B, *Taiwan's integrated circuits* (Taiwan customs, HS 8542, one exporter):

* :func:`star_summary`, :func:`destination_series`: the star network TWN -> destinations
  over time and the yearly values to chosen destinations.
* :func:`world_export_totals`, :func:`export_ranking`: UN Comtrade exports to World per
  reporter, and an exporter's rank among them.
* :func:`policy_events`: the events to mark on the time axis.
* :func:`prepost_destinations`: :func:`analytics.eventstudy.prepost_growth` with the
  single exporter as the "coalition".
* :func:`prepost_regression`: a log-linear pre/post regression with destination and year
  effects; :func:`classify_prepost` reads each coefficient's interval.

The figures are in :mod:`analytics.figures.casestudies` (``fig_hs6_concentration``,
``fig_destination_lines``).

Everything here is pure: flows (canonical columns) in, labelled frames out.

>>> import pandas as pd
>>> f = pd.DataFrame({"year": 2022, "exporter": ["CHN", "JPN", "CHN"],
...     "importer": ["JPN", "USA", "USA"], "hs6": ["850511", "850511", "811292"],
...     "value_usd": [6.0, 2.0, 4.0]})
>>> hs6_concentration(f)[["hs6", "top_exporter", "cr1"]].to_dict("records")
[{'hs6': '811292', 'top_exporter': 'CHN', 'cr1': 1.0}, {'hs6': '850511', 'top_exporter': 'CHN', 'cr1': 0.75}]
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics import chokepoints, tracing
from analytics.errors import AnalysisError

__all__ = [
    "CRITICAL_MINERAL_HS6",
    "hs6_concentration",
    "trade_positions",
    "shipped_vs_traced",
    "category_coverage",
    "hs6_dependency_flags",
    "import_dependence_on",
    "source_shares",
    "source_change",
    "dropped_sources",
    "controlled_hs6",
    "MirrorGapReport",
    "mirror_gap_report",
    "star_summary",
    "destination_series",
    "world_export_totals",
    "export_ranking",
    "policy_events",
    "prepost_destinations",
    "prepost_regression",
    "classify_prepost",
]

#: the 30 HS2017 codes of the BACI critical-minerals extract and the material labels of
#: its source repository (Varcolacus/critical-materials-atlas, see the extract's SOURCE.md)
CRITICAL_MINERAL_HS6: dict[str, str] = {
    "250490": "graphite", "251010": "phosphate", "251110": "baryte", "252800": "boron",
    "252910": "feldspar", "252922": "fluorspar", "260200": "manganese",
    "260600": "bauxite", "270112": "coking coal",
    "280429": "helium (rare gases other than argon)", "280469": "silicon (<99.99 %)",
    "280470": "phosphorus", "280480": "arsenic", "282200": "cobalt oxides",
    "283691": "lithium carbonate", "283692": "strontium carbonate", "711011": "platinum",
    "711021": "palladium", "720292": "ferro-vanadium", "720293": "ferro-niobium",
    "740311": "copper cathodes", "750210": "nickel", "810194": "tungsten",
    "810320": "tantalum", "810411": "magnesium", "810820": "titanium",
    "811010": "antimony", "811212": "beryllium",
    "811292": "gallium/germanium/hafnium/indium/niobium/rhenium/vanadium",
    "850511": "permanent magnets",
}

_KEY = ["year", "hs6"]


def _need(frame: pd.DataFrame, cols: Iterable[str], what: str = "flows") -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise AnalysisError(f"{what} lack column(s) {missing}")


def _layers(flows: pd.DataFrame, keys: Sequence[str]):
    for key, sub in flows.groupby(list(keys), sort=True, observed=True):
        yield key, sub[["exporter", "importer", "value_usd"]].reset_index(drop=True)


@contextlib.contextmanager
def _quiet_tracing():
    """Tracing warns when a node ships more than its supply (common in one-year
    extracts: stocks, unrecorded production); the case studies keep the default
    treatment (the excess is own production) without a warning per layer."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*export more than their supply.*")
        warnings.filterwarnings("ignore", message=r".*has no member in the layer.*")
        yield


# ---------------------------------------------------------------------------------------
# case study A: concentration and dependence per HS6
# ---------------------------------------------------------------------------------------


def hs6_concentration(
    flows: pd.DataFrame,
    *,
    production: str | pd.Series = "net_exports",
    membership: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Exporter and traced-origin concentration of every (year, hs6) layer.

    Parameters
    ----------
    flows : DataFrame
        Canonical flows (``year``, ``exporter``, ``importer``, ``hs6``, ``value_usd``).
    production : {"net_exports", "exports"} or Series
        Tracing assumption (:func:`analytics.tracing.build_model`).
    membership : DataFrame, optional
        ``category_id``, ``hs6`` (e.g. :func:`analytics.network.category_membership`):
        adds the ``category_id`` of each code (``;``-joined when several, missing when
        none).

    Returns
    -------
    DataFrame
        One row per (year, hs6): ``world_trade``, ``n_exporters``, ``hhi``, ``cr1``,
        ``cr3``, ``n_eff``, ``top_exporter``, ``top_share``, ``origin_hhi``,
        ``top_origin``, ``top_origin_share`` (and ``category_id``).

    Notes
    -----
    Exporter shares are what customs record (who ships); origin shares trace re-exports
    back to the countries that made the goods (proportional mixing, net-export
    production), so a trading hub's share moves to its suppliers.
    """
    _need(flows, ["year", "exporter", "importer", "hs6", "value_usd"])
    conc = chokepoints.concentration(flows, supplier="exporter", value="value_usd", by=_KEY)
    conc = conc.rename(columns={"total": "world_trade", "top_supplier": "top_exporter",
                                "n_suppliers": "n_exporters"})
    recs = []
    with _quiet_tracing():
        for (year, code), lay in _layers(flows, _KEY):
            model = tracing.build_model(lay, production)
            osh = chokepoints.origin_shares(lay, model=model)
            recs.append({"year": year, "hs6": code,
                         "origin_hhi": float((osh["share"] ** 2).sum()),
                         "top_origin": osh["origin"].iloc[0] if len(osh) else None,
                         "top_origin_share": float(osh["share"].iloc[0]) if len(osh)
                         else np.nan})
    out = conc.merge(pd.DataFrame(recs), on=_KEY, how="left")
    cols = ["year", "hs6", "world_trade", "n_exporters", "hhi", "cr1", "cr3", "n_eff",
            "top_exporter", "top_share", "origin_hhi", "top_origin", "top_origin_share"]
    out = out[cols]
    if membership is not None:
        cats = (membership[membership["hs6"].isin(out["hs6"])]
                .groupby("hs6")["category_id"].agg(lambda s: ";".join(sorted(set(s)))))
        out["category_id"] = out["hs6"].map(cats)
    return out.sort_values(_KEY).reset_index(drop=True)


def trade_positions(
    flows: pd.DataFrame,
    *,
    countries: Iterable[str] | None = None,
    production: str | pd.Series = "net_exports",
) -> pd.DataFrame:
    r"""Every country's trade position in every (year, hs6) layer: shipped and traced.

    Parameters
    ----------
    flows : DataFrame
        Canonical flows (``year``, ``exporter``, ``importer``, ``hs6``, ``value_usd``).
    countries : iterable of str, optional
        Keep only these countries (all countries of each layer by default).
    production : {"net_exports", "exports"} or Series
        Tracing assumption (:func:`analytics.tracing.build_model`).

    Returns
    -------
    DataFrame
        One row per (year, hs6, country) in the layer: ``exports``, ``imports``,
        ``net_exports`` (exports - imports), ``export_share`` (of the layer's exports:
        who *ships*), ``production`` (the tracing model's :math:`P_j`) and
        ``origin_share`` (:math:`P_j / \sum_k P_k` as in
        :func:`analytics.chokepoints.origin_shares`: who *makes*).

    Notes
    -----
    Under the default net-export assumption a net importer of a code produces nothing
    (``production`` 0), so its exports are traced back to its suppliers: its origin share
    is 0 however much it ships.

    >>> import pandas as pd
    >>> f = pd.DataFrame({"year": 2022, "hs6": "850511", "exporter": ["CHN", "JPN"],
    ...                   "importer": ["JPN", "USA"], "value_usd": [6.0, 2.0]})
    >>> trade_positions(f)[["country", "net_exports", "export_share", "origin_share"]
    ...                    ].to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'country': 'CHN', 'net_exports': 6.0, 'export_share': 0.75, 'origin_share': 1.0},
     {'country': 'JPN', 'net_exports': -4.0, 'export_share': 0.25, 'origin_share': 0.0},
     {'country': 'USA', 'net_exports': -2.0, 'export_share': 0.0, 'origin_share': 0.0}]
    """
    _need(flows, ["year", "exporter", "importer", "hs6", "value_usd"])
    keep = None if countries is None else set(countries)
    frames = []
    with _quiet_tracing():
        for (year, code), lay in _layers(flows, _KEY):
            exp = lay.groupby("exporter")["value_usd"].sum()
            imp = lay.groupby("importer")["value_usd"].sum()
            model = tracing.build_model(lay, production)
            prod = pd.Series(np.asarray(model.production, float), index=list(model.nodes))
            nodes = sorted(set(exp.index) | set(imp.index))
            if keep is not None:
                nodes = [n for n in nodes if n in keep]
            if not nodes:
                continue
            e = exp.reindex(nodes, fill_value=0.0).to_numpy(float)
            i = imp.reindex(nodes, fill_value=0.0).to_numpy(float)
            p = prod.reindex(nodes, fill_value=0.0).to_numpy(float)
            total_exp, total_prod = float(exp.sum()), float(prod.sum())
            frames.append(pd.DataFrame({
                "year": year, "hs6": code, "country": nodes, "exports": e, "imports": i,
                "net_exports": e - i,
                "export_share": e / total_exp if total_exp > 0 else np.nan,
                "production": p,
                "origin_share": p / total_prod if total_prod > 0 else np.nan}))
    cols = ["year", "hs6", "country", "exports", "imports", "net_exports", "export_share",
            "production", "origin_share"]
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)[cols]


def shipped_vs_traced(positions: pd.DataFrame, country: str, *,
                      min_pp: float = 1.0) -> pd.DataFrame:
    """Codes where a country's traced-origin share departs from its shipped share.

    ``positions`` is :func:`trade_positions`. Keeps the (year, hs6) rows of ``country``
    whose ``origin_share`` differs from its ``export_share`` by at least ``min_pp``
    percentage points.

    Returns ``year``, ``hs6``, ``export_share``, ``origin_share``, ``difference_pp``
    (origin - export, percentage points), ``net_exports`` and ``position`` (``"net
    exporter"`` or ``"net importer"``), by year and largest difference first.

    Notes
    -----
    Traced above shipped: re-exporters elsewhere ship the country's goods (they are
    credited back to it). Traced below shipped: the country ships goods it did not make;
    under the net-export assumption always so when it is a net importer of the code.

    >>> import pandas as pd
    >>> pos = pd.DataFrame({"year": 2022, "hs6": ["850511", "260600"], "country": "CHN",
    ...     "export_share": [0.6, 0.3], "origin_share": [0.98, 0.0],
    ...     "net_exports": [5.0, -9.0]})
    >>> shipped_vs_traced(pos, "CHN")[["hs6", "difference_pp", "position"]
    ...                               ].to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'hs6': '850511', 'difference_pp': 38.0, 'position': 'net exporter'},
     {'hs6': '260600', 'difference_pp': -30.0, 'position': 'net importer'}]
    """
    _need(positions, ["year", "hs6", "country", "export_share", "origin_share",
                      "net_exports"], "positions")
    sub = positions[positions["country"] == country].copy()
    sub["difference_pp"] = (100.0 * (sub["origin_share"] - sub["export_share"])).round(6)
    sub = sub[sub["difference_pp"].abs() >= min_pp]
    sub["position"] = np.where(sub["net_exports"] < 0, "net importer", "net exporter")
    cols = ["year", "hs6", "export_share", "origin_share", "difference_pp", "net_exports",
            "position"]
    sub = sub.sort_values(["year", "difference_pp"], ascending=[True, False])
    return sub[cols].reset_index(drop=True)


def category_coverage(membership: pd.DataFrame, categories: pd.DataFrame,
                      hs6: Iterable[str]) -> pd.DataFrame:
    """Which six-digit codes of each category a set of codes (an extract) holds.

    Parameters
    ----------
    membership : DataFrame
        ``category_id``, ``hs6`` in the extract's HS version
        (:func:`analytics.network.category_membership`).
    categories : DataFrame
        The categories table (``category_id``, ``direction``, ``control_basis``).
    hs6 : iterable of str
        The codes present (e.g. ``flows["hs6"].unique()``).

    Returns
    -------
    DataFrame
        One row per category with at least one code present: ``category_id``,
        ``direction``, ``codes_present``, ``codes_absent`` (``", "``-joined, sorted),
        ``control_basis``.

    >>> import pandas as pd
    >>> mem = pd.DataFrame({"category_id": ["ga", "ga", "w"],
    ...                     "hs6": ["811292", "282560", "810194"]})
    >>> cats = pd.DataFrame({"category_id": ["ga", "w"], "direction": "inbound",
    ...                      "control_basis": ["No. 23", "No. 10"]})
    >>> category_coverage(mem, cats, ["811292", "250490"])[
    ...     ["category_id", "codes_present", "codes_absent"]].to_dict("records")
    [{'category_id': 'ga', 'codes_present': '811292', 'codes_absent': '282560'}]
    """
    present = set(hs6)
    mem = membership[membership["hs6"].astype(str).str.len() == 6]
    recs = []
    for cat, codes in mem.groupby("category_id", sort=True)["hs6"]:
        have = sorted(set(codes) & present)
        if have:
            recs.append({"category_id": cat, "codes_present": ", ".join(have),
                         "codes_absent": ", ".join(sorted(set(codes) - present))})
    out = pd.DataFrame(recs, columns=["category_id", "codes_present", "codes_absent"])
    info = categories.set_index("category_id")
    out.insert(1, "direction", out["category_id"].map(info["direction"]))
    out["control_basis"] = out["category_id"].map(info["control_basis"])
    return out


def hs6_dependency_flags(
    flows: pd.DataFrame,
    *,
    hhi_threshold: float = 0.4,
    ratio_threshold: float = 1.0,
    window: int = 3,
    min_years: int = 2,
) -> pd.DataFrame:
    """EC/CEPII dependency flags per (year, hs6, importer), persistence over calendar years.

    An importer is *dependent* on a code in a year when its import HHI exceeds
    ``hhi_threshold`` and its imports exceed its exports times ``ratio_threshold``
    (:func:`analytics.chokepoints.dependency_flags`). It is *persistent* when dependent in
    at least ``min_years`` of the ``window`` calendar years ending that year.

    Returns the columns of :func:`~analytics.chokepoints.dependency_flags` (``persistent``
    recomputed by calendar year) plus ``years_observed`` (years with data in the window).

    Notes
    -----
    Years without data count as "not dependent". With an extract of 2022 and 2024 only,
    the window ending in 2024 (2022-2024) holds two observed years: *persistent in 2024*
    means dependent in both 2022 and 2024; nothing can be persistent in 2022 (2020 and
    2021 are not observed).

    >>> import pandas as pd
    >>> f = pd.DataFrame({"year": [2022, 2024], "exporter": "CHN", "importer": "JPN",
    ...                   "hs6": "811292", "value_usd": 5.0})
    >>> hs6_dependency_flags(f)[["year", "dependent", "persistent", "years_observed"]
    ...                         ].to_dict("records")
    [{'year': 2022, 'dependent': True, 'persistent': False, 'years_observed': 1}, {'year': 2024, 'dependent': True, 'persistent': True, 'years_observed': 2}]
    """
    _need(flows, ["year", "exporter", "importer", "hs6", "value_usd"])
    flags = chokepoints.dependency_flags(
        flows[["year", "exporter", "importer", "hs6", "value_usd"]],
        hhi_threshold=hhi_threshold, ratio_threshold=ratio_threshold, window=window,
        min_years=min_years, group="hs6")
    years = sorted(int(y) for y in flows["year"].unique())
    wide = flags.pivot_table(index=["hs6", "importer"], columns="year", values="dependent",
                             aggfunc="any", fill_value=False).reindex(columns=years,
                                                                      fill_value=False)
    counts = {y: wide[[c for c in years if y - window < c <= y]].astype(int).sum(axis=1)
              for y in years}
    cnt = pd.DataFrame(counts)
    cnt.columns.name = "year"
    long = cnt.stack().rename("n_dependent").reset_index()
    flags = flags.drop(columns="persistent").merge(long, on=["hs6", "importer", "year"],
                                                   how="left")
    flags["persistent"] = flags["n_dependent"] >= min_years
    flags["years_observed"] = flags["year"].map(
        {y: sum(1 for c in years if y - window < c <= y) for y in years})
    return flags.drop(columns="n_dependent").sort_values(
        ["year", "hs6", "importer"]).reset_index(drop=True)


def import_dependence_on(
    flows: pd.DataFrame,
    importer: str,
    supplier: str,
    *,
    production: str | pd.Series = "net_exports",
) -> pd.DataFrame:
    """An importer's dependence on one supplier per (year, hs6): as shipped and traced.

    ``share_shipped`` = imports dispatched by ``supplier`` / the importer's imports;
    ``share_traced`` = imports *originating* in ``supplier`` (wherever dispatched from,
    proportional-mixing tracing) / the importer's imports.

    Returns ``year``, ``hs6``, ``imports``, ``from_supplier``, ``share_shipped``,
    ``traced_from_supplier``, ``share_traced``; codes the importer does not import are
    left out.

    >>> import pandas as pd
    >>> f = pd.DataFrame({"year": 2022, "exporter": ["CHN", "KOR", "USA"],
    ...     "importer": ["KOR", "JPN", "JPN"], "hs6": "811292", "value_usd": [4.0, 4.0, 4.0]})
    >>> import_dependence_on(f, "JPN", "CHN")[["share_shipped", "share_traced"]
    ...                                        ].to_dict("records")
    [{'share_shipped': 0.0, 'share_traced': 0.5}]
    """
    _need(flows, ["year", "exporter", "importer", "hs6", "value_usd"])
    recs = []
    with _quiet_tracing():
        for (year, code), lay in _layers(flows, _KEY):
            imports = float(lay.loc[lay["importer"] == importer, "value_usd"].sum())
            if imports <= 0:
                continue
            direct = float(lay.loc[(lay["importer"] == importer)
                                   & (lay["exporter"] == supplier), "value_usd"].sum())
            traced = 0.0
            if supplier in set(lay["exporter"]):
                model = tracing.build_model(lay, production)
                t = tracing.trace_imports(lay, model=model, origins={supplier: [supplier]},
                                          destinations=[importer])
                traced = float(t["value"].sum())
            recs.append({"year": year, "hs6": code, "imports": imports,
                         "from_supplier": direct, "share_shipped": direct / imports,
                         "traced_from_supplier": traced,
                         "share_traced": min(traced / imports, 1.0)})
    cols = ["year", "hs6", "imports", "from_supplier", "share_shipped",
            "traced_from_supplier", "share_traced"]
    return pd.DataFrame(recs, columns=cols)


def source_shares(
    flows: pd.DataFrame,
    importer: str,
    *,
    hs6: Iterable[str] | None = None,
    by_hs6: bool = False,
) -> pd.DataFrame:
    """Where an importer's imports come from: value and share per exporter and year.

    ``hs6`` restricts to some codes; ``by_hs6=True`` gives shares within each code.

    Returns ``year`` (and ``hs6``), ``exporter``, ``value_usd``, ``share``, sorted by
    share within each group.
    """
    _need(flows, ["year", "exporter", "importer", "hs6", "value_usd"])
    sub = flows[flows["importer"] == importer]
    if hs6 is not None:
        sub = sub[sub["hs6"].isin(list(hs6))]
    if sub.empty:
        raise AnalysisError(f"no imports of {importer!r} in the flows")
    by = ["year", "hs6"] if by_hs6 else ["year"]
    return chokepoints.supplier_shares(sub, supplier="exporter", value="value_usd", by=by)


def source_change(shares: pd.DataFrame, first: int, last: int, *,
                  top: int | None = None) -> pd.DataFrame:
    """Two years of :func:`source_shares` side by side, by exporter (and hs6).

    Returns ``exporter`` (and ``hs6``), ``value_<first>``, ``value_<last>``,
    ``share_<first>``, ``share_<last>``, ``change_pp`` (percentage points) and
    ``value_change`` (relative), sorted by the last year's value; ``top`` keeps the
    largest rows (by the larger of the two values).

    >>> import pandas as pd
    >>> s = pd.DataFrame({"year": [2022, 2022, 2024], "exporter": ["CHN", "KAZ", "CHN"],
    ...                   "value_usd": [3.0, 1.0, 2.0], "share": [0.75, 0.25, 1.0]})
    >>> source_change(s, 2022, 2024)[["exporter", "change_pp"]].to_dict("records")
    [{'exporter': 'CHN', 'change_pp': 25.0}, {'exporter': 'KAZ', 'change_pp': -25.0}]
    """
    keys = ["hs6", "exporter"] if "hs6" in shares.columns else ["exporter"]
    sub = shares[shares["year"].isin([first, last])]
    wide = sub.pivot_table(index=keys, columns="year", values=["value_usd", "share"],
                           aggfunc="sum", fill_value=0.0)
    out = pd.DataFrame(index=wide.index)
    for y in (first, last):
        out[f"value_{y}"] = wide["value_usd"][y] if y in wide["value_usd"] else 0.0
        out[f"share_{y}"] = wide["share"][y] if y in wide["share"] else 0.0
    out["change_pp"] = 100.0 * (out[f"share_{last}"] - out[f"share_{first}"])
    out["value_change"] = np.divide(out[f"value_{last}"], out[f"value_{first}"],
                                    out=np.full(len(out), np.inf),
                                    where=out[f"value_{first}"] > 0) - 1.0
    out = out.reset_index()
    if top is not None:
        big = out[[f"value_{first}", f"value_{last}"]].max(axis=1)
        out = out.loc[big.sort_values(ascending=False).index[:top]]
    sort = [*keys[:-1], f"value_{last}"]
    return out.sort_values(sort, ascending=[True] * (len(sort) - 1) + [False]
                           ).reset_index(drop=True)


def dropped_sources(change: pd.DataFrame, first: int, last: int, *,
                    max_retained: float = 0.05) -> pd.DataFrame:
    """Sources that (almost) stopped shipping between two years.

    ``change`` is :func:`source_change` of the two years. Keeps the exporters (per hs6
    when present) whose value in ``last`` is at most ``max_retained`` times their value in
    ``first`` (0.05: they kept 5 % or less), largest ``first``-year value first.

    Returns the rows of ``change`` with ``exporter`` (and ``hs6``), ``value_<first>``,
    ``value_<last>``, ``share_<first>``, ``share_<last>``.

    >>> import pandas as pd
    >>> ch = pd.DataFrame({"exporter": ["CHN", "BEL", "ZAF"], "value_2022": [4.0, 3.0, 1.0],
    ...     "value_2024": [3.0, 0.0, 0.04], "share_2022": [0.5, 0.375, 0.125],
    ...     "share_2024": [0.987, 0.0, 0.013]})
    >>> dropped_sources(ch, 2022, 2024)["exporter"].tolist()
    ['BEL', 'ZAF']
    """
    vf, vl = f"value_{first}", f"value_{last}"
    _need(change, ["exporter", vf, vl, f"share_{first}", f"share_{last}"], "source change")
    keys = ["hs6", "exporter"] if "hs6" in change.columns else ["exporter"]
    out = change[(change[vf] > 0) & (change[vl] <= max_retained * change[vf])]
    out = out.sort_values([vf, *keys], ascending=[False] + [True] * len(keys))
    return out[[*keys, vf, vl, f"share_{first}", f"share_{last}"]].reset_index(drop=True)


def controlled_hs6(
    membership: pd.DataFrame,
    events: pd.DataFrame,
    *,
    jurisdiction: str = "CN",
    kinds: Sequence[str] = ("inbound_control",),
    hs6: Iterable[str] | None = None,
) -> pd.DataFrame:
    """HS6 codes whose categories are under export-control events of a jurisdiction.

    Parameters
    ----------
    membership : DataFrame
        ``category_id``, ``hs6`` in the flows' HS version
        (:func:`analytics.network.category_membership`).
    events : DataFrame
        The events table.
    hs6 : iterable, optional
        Keep only these codes (e.g. those present in the flows).

    Returns
    -------
    DataFrame
        ``hs6``, ``category_id``, ``first_control`` (date of the earliest event),
        ``events`` (``;``-joined event ids, by date), ``destinations`` (of the events).
    """
    ev = events[(events["jurisdiction"] == jurisdiction) & events["kind"].isin(list(kinds))]
    ev = ev.sort_values("date", kind="stable")
    recs = []
    for row in ev.itertuples(index=False):
        cats = list(membership["category_id"].unique()) if row.categories == "all" else \
            str(row.categories).split(";")
        for cat in cats:
            recs.append({"category_id": cat, "date": pd.Timestamp(row.date),
                         "event_id": row.event_id, "destinations": row.destinations})
    if not recs:
        return pd.DataFrame(columns=["hs6", "category_id", "first_control", "events",
                                     "destinations"])
    per_cat = pd.DataFrame(recs).groupby("category_id").agg(
        first_control=("date", "min"), events=("event_id", ";".join),
        destinations=("destinations", lambda s: ";".join(dict.fromkeys(s))))
    mem = membership[membership["hs6"].str.len() == 6][["category_id", "hs6"]]
    out = mem.merge(per_cat.reset_index(), on="category_id", how="inner")
    if hs6 is not None:
        out = out[out["hs6"].isin(list(hs6))]
    return out[["hs6", "category_id", "first_control", "events", "destinations"]
               ].drop_duplicates().sort_values(["first_control", "hs6"]).reset_index(
        drop=True)


@dataclass(frozen=True)
class MirrorGapReport:
    """Mirror statistics condensed (see :func:`mirror_gap_report`)."""

    by_year: pd.DataFrame
    pair_gaps: pd.DataFrame
    largest_gaps: pd.DataFrame
    one_sided: pd.DataFrame
    partner_only: pd.DataFrame


def mirror_gap_report(table: pd.DataFrame, *, top: int = 15) -> MirrorGapReport:
    """Exporter- against importer-reported values, per year, pair and flow.

    Parameters
    ----------
    table : DataFrame
        :attr:`analytics.sources.comtrade.MirrorStatistics.table` (one row per year,
        exporter, importer, hs6 with ``exporter_reported``, ``importer_reported``,
        ``both``, ``gap``).
    top : int
        Rows kept in the ranked tables.

    Returns
    -------
    MirrorGapReport
        ``by_year``: per year and coverage (``both``, ``exporter_only``,
        ``importer_only``) the number of flows and the value each side reports;
        ``pair_gaps``: per (year, exporter, importer), over the flows both report, the
        two sides' sums, ``gap`` (importer - exporter) and ``ratio``, largest absolute
        gaps first; ``largest_gaps``: the same per flow (with hs6); ``one_sided``: the
        largest flows reported by one side only; ``partner_only``: countries that never
        report (they appear only as partners), with the value others report for them.
    """
    _need(table, ["year", "exporter", "importer", "hs6", "exporter_reported",
                  "importer_reported", "both"], "mirror table")
    t = table
    cover = np.where(t["both"], "both", np.where(t["exporter_reported"].notna(),
                                                 "exporter_only", "importer_only"))
    by_year = t.assign(coverage=cover).groupby(["year", "coverage"]).agg(
        flows=("hs6", "size"), exporter_reported=("exporter_reported", "sum"),
        importer_reported=("importer_reported", "sum")).reset_index()
    both = t[t["both"]]
    pairs = both.groupby(["year", "exporter", "importer"], as_index=False).agg(
        flows=("hs6", "size"), exporter_reported=("exporter_reported", "sum"),
        importer_reported=("importer_reported", "sum"))
    pairs["gap"] = pairs["importer_reported"] - pairs["exporter_reported"]
    pairs["ratio"] = pairs["importer_reported"] / pairs["exporter_reported"].where(
        pairs["exporter_reported"] > 0)
    pairs = pairs.reindex(pairs["gap"].abs().sort_values(ascending=False).index)
    flows = both[["year", "exporter", "importer", "hs6", "exporter_reported",
                  "importer_reported"]].assign(gap=both["gap"])
    flows = flows.reindex(flows["gap"].abs().sort_values(ascending=False).index)
    one = t[~t["both"]].assign(
        reported_by=np.where(t.loc[~t["both"], "exporter_reported"].notna(), "exporter",
                             "importer"),
        value=t.loc[~t["both"], "exporter_reported"].fillna(
            t.loc[~t["both"], "importer_reported"]))
    one = one[["year", "exporter", "importer", "hs6", "reported_by", "value"]]
    one = one.sort_values("value", ascending=False)
    # countries that report nothing: never the reporting side of any flow
    exp_rep = set(t.loc[t["exporter_reported"].notna(), "exporter"])
    imp_rep = set(t.loc[t["importer_reported"].notna(), "importer"])
    reporters = exp_rep | imp_rep
    everyone = set(t["exporter"]) | set(t["importer"])
    silent = sorted(everyone - reporters)
    recs = []
    for c in silent:
        as_exp = t[t["exporter"] == c]
        as_imp = t[t["importer"] == c]
        recs.append({"country": c, "flows": len(as_exp) + len(as_imp),
                     "exports_reported_by_partners": float(as_exp["importer_reported"].sum()),
                     "imports_reported_by_partners": float(as_imp["exporter_reported"].sum())})
    partner_only = pd.DataFrame(recs, columns=["country", "flows",
                                               "exports_reported_by_partners",
                                               "imports_reported_by_partners"])
    partner_only = partner_only.sort_values("flows", ascending=False)
    return MirrorGapReport(by_year, pairs.head(top).reset_index(drop=True),
                           flows.head(top).reset_index(drop=True),
                           one.head(top).reset_index(drop=True),
                           partner_only.reset_index(drop=True))


# ---------------------------------------------------------------------------------------
# case study B: one exporter's star network
# ---------------------------------------------------------------------------------------


def star_summary(flows: pd.DataFrame, exporter: str, *, top: int = 3) -> pd.DataFrame:
    """One exporter's destinations per year: count, total, concentration, the largest.

    Returns one row per year: ``destinations`` (with positive flows), ``total_usd``,
    ``hhi`` of destination shares, ``n_eff``, ``top_destinations`` (the ``top`` largest
    with their shares, as text).

    >>> import pandas as pd
    >>> f = pd.DataFrame({"year": 2022, "exporter": "TWN", "importer": ["CHN", "HKG"],
    ...                   "hs6": "854231", "value_usd": [3.0, 1.0]})
    >>> star_summary(f, "TWN")[["destinations", "hhi", "top_destinations"]].to_dict("records")
    [{'destinations': 2, 'hhi': 0.625, 'top_destinations': 'CHN 75.0%, HKG 25.0%'}]
    """
    _need(flows, ["year", "exporter", "importer", "value_usd"])
    sub = flows[(flows["exporter"] == exporter) & (flows["value_usd"] > 0)]
    if sub.empty:
        raise AnalysisError(f"no exports of {exporter!r} in the flows")
    sh = chokepoints.supplier_shares(sub, supplier="importer", value="value_usd", by="year")
    recs = []
    for year, g in sh.groupby("year", sort=True):
        hhi = float((g["share"] ** 2).sum())
        recs.append({"year": int(year), "destinations": int(len(g)),
                     "total_usd": float(g["value_usd"].sum()), "hhi": hhi,
                     "n_eff": 1.0 / hhi,
                     "top_destinations": ", ".join(
                         f"{d} {s:.1%}" for d, s in zip(g["importer"].head(top),
                                                         g["share"].head(top), strict=True))})
    return pd.DataFrame(recs)


def destination_series(flows: pd.DataFrame, exporter: str, destinations: Sequence[str], *,
                       years: Iterable[int] | None = None) -> pd.DataFrame:
    """Yearly exports of ``exporter`` to each destination (USD; 0 when no flow).

    Returns a frame indexed by year with one column per destination (in the given
    order).
    """
    _need(flows, ["year", "exporter", "importer", "value_usd"])
    sub = flows[(flows["exporter"] == exporter) & flows["importer"].isin(list(destinations))]
    ys = sorted(int(y) for y in (years if years is not None else flows["year"].unique()))
    wide = sub.pivot_table(index="year", columns="importer", values="value_usd",
                           aggfunc="sum", fill_value=0.0)
    wide = wide.reindex(index=ys, columns=list(destinations), fill_value=0.0).fillna(0.0)
    wide.columns.name = "destination"
    return wide


def world_export_totals(raw: pd.DataFrame, *,
                        trade_codes: pd.DataFrame | None = None) -> pd.DataFrame:
    """UN Comtrade exports to World per reporter and year, reporters as ISO3.

    Parameters
    ----------
    raw : DataFrame
        UN Comtrade annual records with ``refYear``, ``reporterCode`` (M49), ``flowCode``,
        ``partnerCode`` and ``primaryValue`` (USD), e.g. an export-to-World extract.
    trade_codes : DataFrame, optional
        ``code``, ``iso3``, ``kind`` (:func:`analytics.reference.trade_codes`, the
        default): Comtrade's 490 "Other Asia, nes" is Taiwan; aggregates are dropped.

    Returns
    -------
    DataFrame
        ``year``, ``exporter``, ``value_usd``: rows with ``flowCode`` X and partner 0
        (World), summed per (year, exporter).
    """
    _need(raw, ["refYear", "reporterCode", "flowCode", "partnerCode", "primaryValue"],
          "Comtrade records")
    if trade_codes is None:
        from analytics.reference import trade_codes as _tc

        trade_codes = _tc()
    codes = trade_codes[trade_codes["kind"] != "aggregate"].set_index("code")["iso3"]
    sub = raw[(raw["flowCode"] == "X") & (raw["partnerCode"] == 0)]
    out = pd.DataFrame({"year": sub["refYear"].astype(int),
                        "exporter": sub["reporterCode"].astype(int).map(codes),
                        "value_usd": sub["primaryValue"].astype(float)}).dropna(
        subset=["exporter"])
    return out.groupby(["year", "exporter"], as_index=False)["value_usd"].sum()


def export_ranking(totals: pd.DataFrame, year: int) -> pd.DataFrame:
    """Exporters ranked by value in one year.

    ``totals`` has ``year``, ``exporter``, ``value_usd`` (e.g. :func:`world_export_totals`).
    Returns ``rank`` (1 = largest), ``exporter``, ``value_usd`` and ``share`` (of the sum
    over the exporters listed that year).

    >>> import pandas as pd
    >>> t = pd.DataFrame({"year": 2022, "exporter": ["HKG", "TWN", "CHN"],
    ...                   "value_usd": [214.0, 184.0, 155.0]})
    >>> export_ranking(t, 2022).set_index("exporter")["rank"].to_dict()
    {'HKG': 1, 'TWN': 2, 'CHN': 3}
    """
    _need(totals, ["year", "exporter", "value_usd"], "export totals")
    sub = totals[totals["year"] == year]
    if sub.empty:
        raise AnalysisError(f"no export totals in {year}")
    sub = sub.groupby("exporter", as_index=False)["value_usd"].sum().sort_values(
        ["value_usd", "exporter"], ascending=[False, True]).reset_index(drop=True)
    sub.insert(0, "rank", np.arange(1, len(sub) + 1))
    sub["share"] = sub["value_usd"] / sub["value_usd"].sum()
    return sub


def policy_events(
    events: pd.DataFrame,
    *,
    destinations: Sequence[str] = ("RUS",),
    kinds: Sequence[str] = ("sanctions", "outbound_control"),
    jurisdictions: Sequence[str] | None = None,
    start: str | None = None,
    end: str | None = None,
) -> pd.DataFrame:
    """Events aimed at any of ``destinations`` (or at all), of the given kinds and dates.

    >>> import pandas as pd
    >>> ev = pd.DataFrame({"event_id": ["a", "b"], "date": pd.to_datetime(["2022-02-24",
    ...     "2023-07-23"]), "jurisdiction": ["US", "JP"], "destinations": ["RUS", "all"],
    ...     "kind": ["sanctions", "other"], "measure": ["x", "y"]})
    >>> list(policy_events(ev)["event_id"])
    ['a']
    """
    dest = set(destinations)
    hit = events["destinations"].astype(str).apply(
        lambda s: s == "all" or bool(dest & set(s.split(";"))))
    out = events[hit & events["kind"].isin(list(kinds))]
    if jurisdictions is not None:
        out = out[out["jurisdiction"].isin(list(jurisdictions))]
    if start is not None:
        out = out[pd.to_datetime(out["date"]) >= pd.Timestamp(start)]
    if end is not None:
        out = out[pd.to_datetime(out["date"]) <= pd.Timestamp(end)]
    return out.sort_values("date", kind="stable").reset_index(drop=True)


def _exporter_totals(flows: pd.DataFrame, exporter: str, years) -> pd.DataFrame:
    sub = flows[flows["exporter"] == exporter]
    if years is not None:
        sub = sub[sub["year"].isin(list(years))]
    return sub.groupby(["year", "exporter", "importer"], as_index=False, observed=True)[
        "value_usd"].sum()


def prepost_destinations(
    flows: pd.DataFrame,
    exporter: str,
    destinations: Sequence[str],
    event_year: int,
    *,
    years: Iterable[int] | None = None,
    countries: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Pre/post growth of one exporter's shipments to each destination.

    :func:`analytics.eventstudy.prepost_growth` on the exporter's flows summed over HS6
    codes (one pseudo-category ``"all"``), with the exporter as a one-member coalition.
    ``years`` restricts the window (e.g. leave out a partial last year).
    """
    from analytics.eventstudy import prepost_growth

    cf = _exporter_totals(flows, exporter, years).assign(category_id="all")
    out = prepost_growth(cf, coalition=[exporter], hubs=list(destinations),
                         event_year=event_year, countries=countries)
    return out.rename(columns={"hub": "destination"})


def prepost_regression(
    flows: pd.DataFrame,
    exporter: str,
    treated: Sequence[str],
    event_year: int,
    *,
    years: Iterable[int] | None = None,
) -> pd.DataFrame:
    r"""Log-linear pre/post regression of one exporter's shipments by destination.

    .. math::

       \log X_{dt} = \sum_h \beta_h \, 1[d = h] \, 1[t \ge t_0] + \alpha_d + \gamma_t
                     + \varepsilon_{dt}

    over destinations :math:`d` and years :math:`t` (values summed over HS6 codes).
    Destination effects absorb each market's level, year effects the exporter's cycle
    (with one exporter they are its total exports' ups and downs), so
    :math:`\beta_h` is the post-event change of shipments to ``h`` relative to the other
    destinations; :math:`e^{\beta_h} - 1` the relative change.

    Control destinations are those with positive shipments in every year of the window
    (a balanced control group); treated destinations keep their positive years. Zero
    flows are left out (log), so a destination that disappears contributes only its
    positive years: the estimate is on the intensive margin.

    Returns
    -------
    DataFrame
        One row per treated destination: ``beta``, ``se`` (heteroskedasticity-robust),
        ``ci_low``, ``ci_high`` (95 %), ``change`` (:math:`e^\beta - 1`), ``pre_years``,
        ``post_years`` (positive years of the destination), ``n_obs``, ``n_controls``.
        Treated destinations without a coefficient are left out and listed in
        ``attrs["not_estimated"]`` (destination -> reason, e.g. ``"no shipments from
        2022"``: a destination that stops entirely has no positive post-event year).

    Notes
    -----
    One exporter and one treated destination per coefficient: the standard error treats
    years as independent draws and cannot account for destination-level shocks (a
    cluster-robust error needs many treated destinations); read the interval as a rough
    guide, and the point estimate as a summary of the pre/post gap relative to other
    destinations.
    """
    import pyfixest as pf

    from analytics.eventstudy import _quiet_root_logger

    tot = _exporter_totals(flows, exporter, years)
    ys = sorted(int(y) for y in tot["year"].unique())
    if not any(y < event_year for y in ys) or not any(y >= event_year for y in ys):
        raise AnalysisError(f"need years before and from {event_year}; data has {ys}")
    pos = tot[tot["value_usd"] > 0]
    n_years = pos.groupby("importer")["year"].nunique()
    controls = sorted(set(n_years[n_years == len(ys)].index) - set(treated))
    present = [h for h in treated if h in set(pos["importer"])]
    if not present:
        raise AnalysisError(f"no treated destination {list(treated)} in the flows")
    data = pos[pos["importer"].isin([*controls, *present])].copy()
    data["log_value"] = np.log(data["value_usd"])
    names = {}
    for h in present:
        col = f"post_{h}"
        names[col] = h
        data[col] = ((data["importer"] == h) & (data["year"] >= event_year)).astype(float)
    fml = f"log_value ~ {' + '.join(names)} | importer + year"
    with _quiet_root_logger(), warnings.catch_warnings(), \
            contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        fit = pf.feols(fml, data=data.reset_index(drop=True), vcov="hetero")
    tidy = fit.tidy()
    recs = []
    missing = {h: "no shipments in the window" for h in treated if h not in present}
    for col, h in names.items():
        own = data[data["importer"] == h]
        if col not in tidy.index:
            if not (own["year"] >= event_year).any():
                missing[h] = f"no shipments from {event_year}"
            elif not (own["year"] < event_year).any():
                missing[h] = f"no shipments before {event_year}"
            else:
                missing[h] = "not identified"
            continue
        b, se = float(tidy.loc[col, "Estimate"]), float(tidy.loc[col, "Std. Error"])
        recs.append({"destination": h, "beta": b, "se": se,
                     "ci_low": float(tidy.loc[col, "2.5%"]),
                     "ci_high": float(tidy.loc[col, "97.5%"]), "change": np.expm1(b),
                     "pre_years": int((own["year"] < event_year).sum()),
                     "post_years": int((own["year"] >= event_year).sum()),
                     "n_obs": int(fit._N), "n_controls": len(controls)})
    out = pd.DataFrame(recs)
    out.attrs["not_estimated"] = missing
    return out


def classify_prepost(reg: pd.DataFrame) -> pd.DataFrame:
    """Read each :func:`prepost_regression` coefficient by its 95 % interval.

    Adds ``reading``: ``"lower"`` (the interval lies below zero: shipments fell relative
    to the other destinations), ``"higher"`` (above zero) or ``"no clear change"`` (the
    interval includes zero).

    >>> import pandas as pd
    >>> reg = pd.DataFrame({"destination": ["RUS", "HKG"], "ci_low": [-4.1, -0.3],
    ...                     "ci_high": [-1.3, 0.05]})
    >>> classify_prepost(reg)["reading"].tolist()
    ['lower', 'no clear change']
    """
    _need(reg, ["destination", "ci_low", "ci_high"], "regression table")
    out = reg.copy()
    out["reading"] = np.select([out["ci_high"] < 0, out["ci_low"] > 0],
                               ["lower", "higher"], default="no clear change")
    out.attrs = dict(reg.attrs)
    return out
