r"""Analysis steps of the real-data case studies (notebooks 05 and 06).

Case study A, *critical minerals under China's export controls* (CEPII BACI HS17 flows of
30 critical-mineral HS6 codes, 2022 and 2024, plus the raw two-sided UN Comtrade reports
behind them):

* :func:`hs6_concentration`: exporter and traced-origin concentration per HS6 code and
  year. Category flows (:func:`analytics.network.category_flows`) add up the codes of a
  category, so a code's own chokepoint can hide inside its category: this works on the
  raw flows, one layer per (year, hs6).
* :func:`hs6_dependency_flags`: the EC/CEPII flags (import HHI > 0.4 and imports/exports
  > 1) per importer and code, with persistence counted over calendar years.
* :func:`import_dependence_on`: a country's dependence on one supplier per code, as
  shipped and traced to origin.
* :func:`source_shares`, :func:`source_change`: where an importer's supply comes from and
  how that changed between two years.
* :func:`controlled_hs6`: the codes whose categories are under an export-control event of
  a jurisdiction (China's, by default).
* :func:`mirror_gap_report`: exporter- against importer-reported values from
  :func:`analytics.sources.comtrade.mirror_statistics`.

Case study B, *Taiwan's integrated circuits* (Taiwan customs, HS 8542, one exporter):

* :func:`star_summary`, :func:`destination_series`: the star network TWN -> destinations
  over time and the yearly values to chosen destinations.
* :func:`policy_events`: the events to mark on the time axis.
* :func:`prepost_destinations`: :func:`analytics.eventstudy.prepost_growth` with the
  single exporter as the "coalition".
* :func:`prepost_regression`: a log-linear pre/post regression with destination and year
  effects.

Figures: :func:`fig_hs6_concentration` and :func:`fig_destination_lines`.

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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics import chokepoints, tracing
from analytics.errors import AnalysisError

__all__ = [
    "CRITICAL_MINERAL_HS6",
    "hs6_concentration",
    "hs6_dependency_flags",
    "import_dependence_on",
    "source_shares",
    "source_change",
    "controlled_hs6",
    "MirrorGapReport",
    "mirror_gap_report",
    "star_summary",
    "destination_series",
    "policy_events",
    "prepost_destinations",
    "prepost_regression",
    "fig_hs6_concentration",
    "fig_destination_lines",
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
    for col, h in names.items():
        own = data[data["importer"] == h]
        if col not in tidy.index:
            continue
        b, se = float(tidy.loc[col, "Estimate"]), float(tidy.loc[col, "Std. Error"])
        recs.append({"destination": h, "beta": b, "se": se,
                     "ci_low": float(tidy.loc[col, "2.5%"]),
                     "ci_high": float(tidy.loc[col, "97.5%"]), "change": np.expm1(b),
                     "pre_years": int((own["year"] < event_year).sum()),
                     "post_years": int((own["year"] >= event_year).sum()),
                     "n_obs": int(fit._N), "n_controls": len(controls)})
    return pd.DataFrame(recs)


# ---------------------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------------------


def fig_hs6_concentration(conc: pd.DataFrame, *, labels: Mapping[str, str] | None = None,
                          first: int | None = None, last: int | None = None,
                          title: str | None = None) -> go.Figure:
    """Exporter HHI of each HS6 code in two years (dumbbell), with the top exporter.

    ``conc`` is :func:`hs6_concentration`; codes are sorted by the last year's HHI and
    labelled ``code label``; markers are coloured by year and hover gives the top
    exporter and its share. The dotted line is the EC/CEPII threshold 0.4.
    """
    from analytics.figures.core import PALETTE, TEMPLATE, font_family
    from analytics.i18n import country_name

    years = sorted(int(y) for y in conc["year"].unique())
    first = years[0] if first is None else first
    last = years[-1] if last is None else last
    wide = conc[conc["year"].isin([first, last])].pivot_table(
        index="hs6", columns="year", values="hhi")
    wide = wide.sort_values(last if last in wide else first)
    names = {c: f"{c} {labels.get(c, '')}".strip() if labels else c for c in wide.index}
    ylab = [names[c] for c in wide.index]
    fig = go.Figure()
    for c, lab in zip(wide.index, ylab, strict=True):
        xs = [wide.loc[c, y] for y in (first, last) if y in wide and pd.notna(wide.loc[c, y])]
        fig.add_trace(go.Scatter(x=xs, y=[lab] * len(xs), mode="lines",
                                 line=dict(color="#c0c4d0", width=2), showlegend=False,
                                 hoverinfo="skip"))
    for k, y in enumerate((first, last)):
        sub = conc[conc["year"] == y].set_index("hs6").reindex(wide.index)
        hover = [f"{names[c]}<br>{y}: HHI {h:.2f}; top exporter "
                 f"{country_name(t) if isinstance(t, str) else '-'} {s:.0%}"
                 for c, h, t, s in zip(sub.index, sub["hhi"], sub["top_exporter"],
                                       sub["top_share"], strict=True)]
        fig.add_trace(go.Scatter(x=sub["hhi"], y=ylab, mode="markers", name=str(y),
                                 marker=dict(size=9, color=PALETTE[0 if k == 0 else 1]),
                                 customdata=hover,
                                 hovertemplate="%{customdata}<extra></extra>"))
    fig.add_vline(x=0.4, line=dict(dash="dot", color="#7b8794", width=1),
                  annotation_text="0.4", annotation_position="top")
    fig.update_layout(template=TEMPLATE, font_family=font_family("en"), title=title or "",
                      xaxis=dict(title="Exporter HHI (0-1)", range=[0, 1.02]),
                      yaxis=dict(title=""), height=max(360, 22 * len(wide) + 120),
                      margin=dict(l=280, r=20, t=60, b=50))
    return fig


def fig_destination_lines(series: pd.DataFrame, *, events: pd.DataFrame | None = None,
                          log: bool = True, unit: float = 1e6, unit_label: str = "USD m",
                          title: str | None = None, event_gap: float = 0.35) -> go.Figure:
    """Yearly values to several destinations as lines, with policy events marked.

    ``series`` is :func:`destination_series` (index year, one column per destination);
    ``events`` rows (``date``, ``jurisdiction``, ``measure``) become dotted vertical
    lines at their date in years (2022-04-06 -> 2022.26); events closer than
    ``event_gap`` years share one line and label (hover the triangle at its foot for the
    measures). A log axis (default) keeps
    Russia's millions and Hong Kong's billions on one chart; zeros are gaps.
    """
    from analytics.figures.core import PALETTE, TEMPLATE, font_family
    from analytics.figures.diversion import _event_clusters
    from analytics.i18n import country_name

    fig = go.Figure()
    for k, d in enumerate(series.columns):
        v = series[d] / unit
        v = v.where(v > 0) if log else v
        fig.add_trace(go.Scatter(x=list(series.index), y=v.tolist(), mode="lines+markers",
                                 name=country_name(d), line=dict(color=PALETTE[
                                     k % len(PALETTE)], width=2),
                                 hovertemplate=f"{country_name(d)} %{{x}}: %{{y:,.3~f}} "
                                               f"{unit_label}<extra></extra>"))
    if events is not None and len(events):
        lo, hi = min(series.index) - 0.5, max(series.index) + 1
        xs, hovers = [], []
        for c in _event_clusters(events, event_gap):
            if not lo <= c["x"] <= hi:
                continue
            fig.add_vline(x=c["x"], line=dict(dash="dot", color="#7b8794", width=1))
            fig.add_annotation(x=c["x"], y=1.0, yref="paper", text=c["label"],
                               showarrow=False, textangle=-90, xanchor="right",
                               yanchor="top", font=dict(size=10, color="#52606d"),
                               bgcolor="rgba(255,255,255,0.7)")
            xs.append(c["x"])
            hovers.append(c["hover"])
        if xs:  # hover targets at the foot of the event lines
            fig.add_trace(go.Scatter(
                x=xs, y=[0.0] * len(xs), yaxis="y2", mode="markers", name="event",
                marker=dict(symbol="triangle-up", size=10, color=PALETTE[1]),
                customdata=hovers, hovertemplate="%{customdata}<extra></extra>",
                showlegend=False))
            fig.update_layout(yaxis2=dict(overlaying="y", range=[0, 1], visible=False))
    fig.update_layout(template=TEMPLATE, font_family=font_family("en"), title=title or "",
                      xaxis=dict(title="Year", dtick=1, tickformat="d"),
                      yaxis=dict(title=unit_label, type="log" if log else "linear"),
                      height=460, hovermode="closest")
    return fig
