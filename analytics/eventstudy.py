r"""Event study of trade diversion: pre/post screening and difference-in-differences
(DESIGN method 8, after the EBRD "Eurasian roundabout" design of Chupilkin, Javorcik,
Peeva & Plekhanov).

The question: after a sanctions event, did the coalition's exports of *controlled*
categories to *candidate hubs* rise more than (a) its exports of the same categories to
other destinations and (b) its exports of other products to the same hubs?

For one category :math:`c`, coalition exporters :math:`i`, importers :math:`j` (candidate
hubs plus clean control destinations), products :math:`p` (the category's HS6 codes plus
uncontrolled control products) and years :math:`t`:

.. math::

   \log X_{ijpt} = \sum_h \beta_h \, 1[j = h]\,1[p \in c]\,1[t \ge t_0]
                   + \alpha_{ijp} + \gamma_{ipt} + \delta_{jt} + \varepsilon_{ijpt}

with fixed effects for each flow (exporter x importer x product), exporter x product x
year and importer x year (the default ``fe``; ``fe="exporter^hs6 + importer^year"`` gives
the lighter specification of DESIGN.md). :math:`\beta_h` is the hub's post-event
log-change in the category beyond both comparisons; :math:`e^{\beta_h}` the multiplier.
Standard errors are clustered by exporter-importer pair. Estimated with ``pyfixest``.

:func:`prepost_growth` is the quick screen: growth of the coalition's exports to each hub
(post mean / pre mean - 1) and a z-score against the pre-event years.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from analytics.dataset import Dataset
from analytics.errors import AnalysisError
from analytics.network import category_membership
from analytics.reference import concern_destinations, resolve_coalition

__all__ = ["event_year", "prepost_growth", "diff_in_diff", "DEFAULT_FE"]

DEFAULT_FE = "exporter^importer^hs6 + exporter^hs6^year + importer^year"


def event_year(dataset: Dataset, event: str | None = None, *,
               destination: str = "RUS") -> tuple[int, pd.Series]:
    """The first full year after an event of the events table, and the event row.

    Parameters
    ----------
    dataset : Dataset
        Only its ``events`` table is read.
    event : str, optional
        An ``event_id``; by default the earliest sanctions / outbound-control event whose
        destinations include ``destination`` (or are ``"all"``).
    destination : str
        ISO3 used to pick the default event.

    Returns
    -------
    year : int
        First post-event year. Annual data: an event on or before 1 July counts from its
        own year (most of the year is treated), a later event from the next year.
    row : Series
        The event's row of the events table.

    Raises
    ------
    AnalysisError
        Unknown ``event``; no sanctions or control event for ``destination``.

    Examples
    --------
    >>> import pandas as pd
    >>> from analytics.dataset import Dataset
    >>> ev = pd.DataFrame({"event_id": ["ban", "sme"], "kind": ["sanctions", "outbound_control"],
    ...     "date": pd.to_datetime(["2022-03-18", "2023-07-23"]),
    ...     "destinations": ["RUS;BLR", "all"]})
    >>> ds = Dataset(flows=None, countries=None, categories=None, category_hs=None, events=ev)
    >>> event_year(ds)[0], event_year(ds, "sme")[0]
    (2022, 2024)
    """
    ev = dataset.events
    if event is not None:
        hit = ev[ev["event_id"] == event]
        if hit.empty:
            raise AnalysisError(f"unknown event {event!r}; known: {list(ev['event_id'])}")
        row = hit.iloc[0]
    else:
        dest_ok = ev["destinations"].astype(str).apply(
            lambda s: s == "all" or destination in s.split(";"))
        cand = ev[dest_ok & ev["kind"].isin(["sanctions", "outbound_control"])]
        if cand.empty:
            raise AnalysisError(f"no sanctions or control event for {destination!r}")
        row = cand.sort_values("date").iloc[0]
    date = pd.Timestamp(row["date"])
    # (month, day), not day of year: 1 July is day 183 in a leap year
    year = date.year if (date.month, date.day) <= (7, 1) else date.year + 1
    return int(year), row


def prepost_growth(
    cflows: pd.DataFrame,
    *,
    coalition: str | Sequence[str],
    hubs: Sequence[str],
    event_year: int,
    categories: Iterable[str] | None = None,
    countries: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Coalition exports to each hub, per category: pre/post means, growth, z-score.

    ``z_score = (post_mean - pre_mean) / sd(pre years)`` (with a floor of 5 % of the pre
    mean so flat series do not explode). Returns ``hub``, ``category_id``, ``pre_mean``,
    ``post_mean``, ``growth``, ``z_score``, ``pre_years``, ``post_years``.

    >>> import pandas as pd
    >>> cf = pd.DataFrame({"year": [2020, 2021, 2022, 2023], "exporter": "JPN",
    ...     "importer": "KGZ", "category_id": "c", "value_usd": [10.0, 10.0, 40.0, 40.0]})
    >>> prepost_growth(cf, coalition="japan", hubs=["KGZ"], event_year=2022)[
    ...     ["hub", "growth"]].to_dict("records")
    [{'hub': 'KGZ', 'growth': 3.0}]
    """
    members = set(resolve_coalition(coalition, countries))
    sub = cflows[cflows["exporter"].isin(members) & cflows["importer"].isin(list(hubs))]
    if categories is not None:
        sub = sub[sub["category_id"].isin(list(categories))]
    years = sorted(cflows["year"].unique())
    pre = [y for y in years if y < event_year]
    post = [y for y in years if y >= event_year]
    if not pre or not post:
        raise AnalysisError(f"need years before and from {event_year}; data has "
                            f"{[int(y) for y in years]}")
    wide = sub.pivot_table(index=["importer", "category_id"], columns="year",
                           values="value_usd", aggfunc="sum", fill_value=0.0).reindex(
        columns=years, fill_value=0.0)
    out = pd.DataFrame(index=wide.index)
    out["pre_mean"] = wide[pre].mean(axis=1)
    out["post_mean"] = wide[post].mean(axis=1)
    out["growth"] = np.divide(out["post_mean"], out["pre_mean"],
                              out=np.full(len(out), np.inf),
                              where=out["pre_mean"] > 0) - 1.0
    sd = wide[pre].std(axis=1, ddof=1).fillna(0.0)
    out["z_score"] = (out["post_mean"] - out["pre_mean"]) / np.maximum(
        sd, 0.05 * out["pre_mean"] + 1e-9)
    out["pre_years"] = f"{pre[0]}-{pre[-1]}"
    out["post_years"] = f"{post[0]}-{post[-1]}"
    out = out.reset_index().rename(columns={"importer": "hub"})
    return out.sort_values(["category_id", "growth"], ascending=[True, False]).reset_index(
        drop=True)


@contextlib.contextmanager
def _quiet_root_logger():
    """Keep the root logger's level and handlers as they were (a library must not change
    the application's logging)."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        yield
    finally:
        root.setLevel(level)
        for h in list(root.handlers):
            if h not in handlers:
                root.removeHandler(h)


def _controls(dataset: Dataset, hubs, members) -> list[str]:
    c = dataset.countries
    concern = set(concern_destinations(c))
    importers = set(dataset.flows["importer"].unique())
    prior_hubs = set(c.loc[c["hub"], "iso3"])
    return sorted(importers - set(hubs) - concern - prior_hubs - {"CHN", "HKG"}
                  - set(members))


def _drop_singletons(sample: pd.DataFrame, fe: str) -> pd.DataFrame:
    """Drop, until none is left, observations alone in a group of any fixed effect of
    ``fe`` (``"a^b + c"``: groups by (a, b) and by c).

    >>> d = pd.DataFrame({"a": ["x", "x", "y"], "c": [1, 2, 2], "v": [1.0, 2.0, 3.0]})
    >>> _drop_singletons(d, "a")["a"].tolist()
    ['x', 'x']
    >>> len(_drop_singletons(d, "a + c"))  # x/1 alone in c = 1, then x/2 alone in a
    0
    """
    terms = [[c.strip() for c in t.split("^")] for t in fe.split("+") if t.strip()]
    cur = sample
    while len(cur):
        keep = np.ones(len(cur), dtype=bool)
        for cols in terms:
            keep &= cur.groupby(cols, sort=False, observed=True)[cols[0]].transform(
                "size").to_numpy() > 1
        if keep.all():
            break
        cur = cur[keep]
    return cur


def diff_in_diff(
    dataset: Dataset,
    *,
    coalition: str | Sequence[str],
    hubs: Sequence[str] | None = None,
    categories: Iterable[str] | None = None,
    event: str | None = None,
    year: int | None = None,
    destination: str = "RUS",
    controls: Sequence[str] | None = None,
    control_products: Sequence[str] | None = None,
    fe: str = DEFAULT_FE,
    alpha: float = 0.05,
    min_obs: int = 50,
) -> pd.DataFrame:
    """Difference-in-differences of the coalition's exports to candidate hubs, per category.

    Parameters
    ----------
    dataset : Dataset
        HS6 flows and the category mapping.
    coalition : str or list
        Exporters (preset or ISO3 list).
    hubs : list, optional
        Candidate hubs (treated importers); default the curated hub prior plus China and
        Hong Kong, less coalition members.
    categories : iterable, optional
        Controlled categories to test (default: every outbound category).
    event, year : optional
        ``event`` (an ``event_id``) or ``year`` (first post year); default the first
        sanctions event for ``destination`` in the events table.
    controls : list, optional
        Control importers (default: every importer that is not a hub, a destination of
        concern, China, Hong Kong or a member).
    control_products : list, optional
        HS6 codes outside every controlled category (default: all such codes in the
        data).
    fe : str
        Fixed effects in pyfixest syntax (see the module docstring).
    alpha : float
        1 - confidence level of the intervals.

    Returns
    -------
    DataFrame
        One row per (hub, category): ``estimate`` (:math:`\\beta_h`), ``std_error``,
        ``ci_low``, ``ci_high``, ``p_value``, ``multiplier`` (:math:`e^\\beta`),
        ``n_obs``, ``n_treated`` (treated observations), ``event_year``, ``fe``.

    Raises
    ------
    AnalysisError
        No years on one side of the event. A category with fewer than ``min_obs``
        observations is skipped with a warning.

    Notes
    -----
    The sample of a category is the coalition's positive flows of its HS6 codes and of
    the control products to the hubs and the controls, in logs (zeros drop out). Each
    treatment dummy is 1 for a hub x the category's codes x years from the first post
    year. With the default fixed effects the control products and control importers
    identify the exporter-product-year and importer-year terms, so :math:`\beta_h` is a
    triple difference.

    No doctest: the first ``pyfixest`` fit in a process compiles its demeaning code
    (over a second), beyond the budget of a doctest. ``tests/test_eventstudy.py`` checks
    the estimator on tiny hand-built panels with a known effect of 0.5 and of 0; see
    :func:`event_year` for the choice of the first post year.
    """
    with _quiet_root_logger():  # pyfixest configures the root logger at import
        import pyfixest as pf

    members = set(resolve_coalition(coalition, dataset.countries))
    t0 = year if year is not None else event_year(dataset, event, destination=destination)[0]
    c = dataset.countries
    if hubs is None:
        hubs = sorted((set(c.loc[c["hub"], "iso3"]) | {"CHN", "HKG"}) - members)
    hubs = list(hubs)
    ctrl = list(controls) if controls is not None else _controls(dataset, hubs, members)
    mem = category_membership(dataset)
    mem = mem[mem["hs6"].str.len() == 6]
    outbound = set(dataset.categories.loc[dataset.categories["direction"] == "outbound",
                                          "category_id"])
    cats = sorted(set(categories) if categories is not None else outbound)
    controlled_codes = set(mem.loc[mem["category_id"].isin(outbound), "hs6"])
    f = dataset.flows
    f = f[f["exporter"].isin(members) & f["importer"].isin(hubs + ctrl)
          & (f["value_usd"] > 0)]
    years = sorted(f["year"].unique())
    if not any(y < t0 for y in years) or not any(y >= t0 for y in years):
        raise AnalysisError(f"need years before and from {t0}; data has "
                            f"{[int(y) for y in years]}")
    if control_products is None:
        control_products = sorted(set(f["hs6"]) - controlled_codes)
    recs = []
    for cat in cats:
        codes = set(mem.loc[mem["category_id"] == cat, "hs6"])
        sample = f[f["hs6"].isin(codes | set(control_products))].copy()
        if len(sample) < min_obs:
            warnings.warn(f"{cat}: only {len(sample)} observations; skipped", stacklevel=2)
            continue
        sample["log_value"] = np.log(sample["value_usd"])
        treated_prod = sample["hs6"].isin(codes)
        post = sample["year"] >= t0
        names = []
        for h in hubs:
            col = f"treat_{h}"
            sample[col] = ((sample["importer"] == h) & treated_prod & post).astype(float)
            if sample[col].sum() > 0:
                names.append(col)
        if not names:
            continue
        sample["pair"] = sample["exporter"] + "_" + sample["importer"] + "_" + sample["hs6"]
        for col in ("exporter", "importer", "hs6"):
            sample[col] = sample[col].astype(str)
        # observations alone in a fixed-effect group carry no information; drop them here
        # (as the estimator would) so an all-singleton sample is skipped with a warning
        # instead of reaching the estimator's demeaning step empty
        sample = _drop_singletons(sample, fe)
        names = [n for n in names if len(sample) and sample[n].sum() > 0]
        if len(sample) < min_obs or not names:
            warnings.warn(f"{cat}: {len(sample)} observations outside singleton fixed-effect "
                          f"groups{'' if names else ', none of them treated'}; skipped",
                          stacklevel=2)
            continue
        fml = f"log_value ~ {' + '.join(names)} | {fe}"
        try:
            with warnings.catch_warnings(), _quiet_root_logger():
                warnings.simplefilter("ignore")
                model = pf.feols(fml, data=sample, vcov={"CRV1": "pair"})
        except ValueError as err:  # e.g. every regressor collinear with the fixed effects
            warnings.warn(f"{cat}: not estimable ({str(err).strip().splitlines()[0]}); "
                          "skipped", stacklevel=2)
            continue
        tidy = model.tidy(alpha=alpha)
        lo_col = [c_ for c_ in tidy.columns if c_.endswith("%")][0]
        hi_col = [c_ for c_ in tidy.columns if c_.endswith("%")][1]
        for name in names:
            if name not in tidy.index:
                continue  # dropped as collinear
            r = tidy.loc[name]
            recs.append({
                "hub": name[len("treat_"):],
                "category_id": cat,
                "estimate": float(r["Estimate"]),
                "std_error": float(r["Std. Error"]),
                "ci_low": float(r[lo_col]),
                "ci_high": float(r[hi_col]),
                "p_value": float(r["Pr(>|t|)"]),
                "n_obs": int(model._N),
                "n_treated": int(sample[name].sum()),
            })
    out = pd.DataFrame(recs, columns=["hub", "category_id", "estimate", "std_error",
                                      "ci_low", "ci_high", "p_value", "n_obs", "n_treated"])
    out["multiplier"] = np.exp(out["estimate"])
    out["event_year"] = t0
    out["fe"] = fe
    out.attrs.update(members=tuple(sorted(members)), controls=tuple(ctrl), hubs=tuple(hubs),
                     confidence=1 - alpha)
    return out.sort_values(["category_id", "estimate"], ascending=[True, False]).reset_index(
        drop=True)
