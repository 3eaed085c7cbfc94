r"""Composite risk score per (year, technology category, destination) (DESIGN method 9).

Each row keeps every component (all in [0, 1]) and a plain-language explanation, so an
analyst can explain a score line by line:

.. math::  risk = 100 \cdot \frac{\sum_k w_k c_k}{\sum_k w_k}

Components (``risk_config.toml`` documents each, with its thresholds):
``sensitivity`` of the category; ``concern`` of the destination (sanctions, UN arms
embargo, EAEU, regime membership); ``forward_exposure`` (share of its coalition-origin
imports passed on to destinations of concern); ``diversion_exposure`` (coalition-origin
goods arriving via non-coalition hubs / imports); ``surge`` (growth of coalition-origin
goods arriving, against the pre-event years); ``leverage`` (coalition share of its traced
supply); ``listed_entities`` (entities on loaded lists located there).

:func:`sensitivity` samples the weights from a Dirichlet distribution centred on the
configured weights and reports each row's rank interval, so an analyst sees which
rankings are robust to the weighting.
"""

from __future__ import annotations

import copy
import math
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analytics import tracing
from analytics.dataset import Dataset
from analytics.diversion import coalition_arrays
from analytics.entities import UNSPECIFIED, split_concerns
from analytics.errors import AnalysisError, ConfigError
from analytics.network import category_flows
from analytics.reference import coalition_label, concern_destinations, resolve_coalition

__all__ = [
    "COMPONENTS",
    "default_config_path",
    "load_config",
    "destination_concern",
    "entity_weights",
    "risk_components",
    "score_risk",
    "sensitivity",
    "explain",
]

COMPONENTS = ("sensitivity", "concern", "forward_exposure", "diversion_exposure", "surge",
              "leverage", "listed_entities")

_LABELS = {
    "sensitivity": "category sensitivity",
    "concern": "destination concern",
    "forward_exposure": "forward exposure",
    "diversion_exposure": "diversion exposure",
    "surge": "surge",
    "leverage": "coalition leverage",
    "listed_entities": "listed entities",
}


def default_config_path() -> Path:
    """The bundled, documented configuration file."""
    return Path(__file__).with_name("risk_config.toml")


def load_config(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Read and check a risk configuration (default: the bundled file).

    Raises
    ------
    ConfigError
        Unreadable TOML, unknown or missing weights, negative weights, all-zero weights.
    """
    p = Path(path) if path is not None else default_config_path()
    try:
        cfg = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"risk config {p} not found") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"risk config {p}: invalid TOML ({err})") from None
    if p != default_config_path():
        base = tomllib.loads(default_config_path().read_text(encoding="utf-8"))
        for section, vals in base.items():
            merged = dict(vals)
            merged.update(cfg.get(section, {}))
            cfg[section] = merged
    weights = cfg.get("weights", {})
    unknown = sorted(set(weights) - set(COMPONENTS))
    if unknown:
        raise ConfigError(f"risk config {p}: unknown weight(s) {unknown}; "
                          f"components are {list(COMPONENTS)}")
    for k in COMPONENTS:
        w = weights.get(k)
        if not isinstance(w, int | float) or w < 0 or not math.isfinite(w):
            raise ConfigError(f"risk config {p}: weight {k!r} = {w!r} must be a "
                              f"non-negative number")
    if sum(weights[k] for k in COMPONENTS) <= 0:
        raise ConfigError(f"risk config {p}: all weights are zero")
    cw = cfg.get("listed_entities", {}).get("concern_weights", {})
    if not isinstance(cw, dict):
        raise ConfigError(f"risk config {p}: [listed_entities.concern_weights] must be a "
                          "table of concern = weight")
    for k, w in cw.items():
        if not isinstance(w, int | float) or w < 0 or not math.isfinite(w):
            raise ConfigError(f"risk config {p}: concern weight {k!r} = {w!r} must be a "
                              "non-negative number")
    cfg["_path"] = str(p)
    return cfg


def destination_concern(countries: pd.DataFrame, config: Mapping[str, Any] | None = None
                        ) -> pd.Series:
    """Concern score in [0, 1] of every country (index ISO3), with the rule that set it.

    The maximum of: sanctioned; UN arms embargo; EAEU member; otherwise
    ``per_missing_regime`` for each export-control regime it is not part of (``no_regime``
    when in none); Group A countries score ``group_a`` (0).
    """
    cfg = (config or load_config())["concern"]
    c = countries.set_index("iso3")
    regimes = c[["wassenaar", "nsg", "australia_group", "mtcr"]].astype(int).sum(axis=1)
    base = np.where(regimes == 0, cfg["no_regime"], (4 - regimes) * cfg["per_missing_regime"])
    score = pd.Series(base, index=c.index, dtype=float)
    score = score.where(~c["eaeu"].astype(bool), np.maximum(score, cfg["eaeu_member"]))
    score = score.where(~c["un_arms_embargo"].astype(bool),
                        np.maximum(score, cfg["un_arms_embargo"]))
    sanctioned = c["sanctioned"].fillna("").astype(str).str.len() > 0
    score = score.where(~sanctioned, np.maximum(score, cfg["sanctioned"]))
    score = score.where(~c["jp_group_a"].astype(bool), cfg["group_a"])
    return score.clip(0.0, 1.0).rename("concern")


def entity_weights(entities: pd.DataFrame | None,
                   config: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Listed entities per country, counted and weighted by their type of concern.

    Each entity weighs the largest weight among its concerns (a concern text such as
    ``"nuclear, missile"`` has two), from ``[listed_entities.concern_weights]`` of the
    risk configuration; a concern not listed there weighs its ``default``, an entity
    without a concern weighs ``unspecified``. Matching is case-insensitive and on whole
    concern words, so ``"missile"`` also weighs ``"Missile"``.

    Returns one row per country (index ``country``): ``n_entities`` (count),
    ``entity_weight`` (sum of the weights, the input of the ``listed_entities``
    component) and ``entity_concerns`` (e.g. ``"2 missile, 1 conventional weapons"``,
    most frequent first).

    >>> ents = pd.DataFrame({"name": ["A", "B", "C"], "country": ["IRN", "IRN", "ARE"],
    ...                      "concern": ["nuclear, missile", "conventional weapons", None]})
    >>> cfg = {"listed_entities": {"concern_weights": {"nuclear": 1.0, "missile": 1.0,
    ...        "conventional weapons": 0.5, "unspecified": 0.8, "default": 1.0}}}
    >>> entity_weights(ents, cfg).to_dict("index")  # doctest: +NORMALIZE_WHITESPACE
    {'ARE': {'n_entities': 1, 'entity_weight': 0.8, 'entity_concerns': '1 unspecified'},
     'IRN': {'n_entities': 2, 'entity_weight': 1.5,
             'entity_concerns': '1 conventional weapons, 1 missile, 1 nuclear'}}
    """
    cols = ["n_entities", "entity_weight", "entity_concerns"]
    if entities is None or not len(entities):
        return pd.DataFrame({"n_entities": pd.Series(dtype="int64"),
                             "entity_weight": pd.Series(dtype=float),
                             "entity_concerns": pd.Series(dtype=object)},
                            index=pd.Index([], name="country"))
    cw = (config or load_config())["listed_entities"].get("concern_weights", {})
    table = {str(k).strip().casefold(): float(v) for k, v in cw.items()}
    default = table.get("default", 1.0)
    unspecified = table.get("unspecified", default)
    ents = entities[entities["country"].notna()]
    lists = [[c.casefold() for c in split_concerns(t)] or [UNSPECIFIED]
             for t in ents["concern"]]
    weights = [max((unspecified if c == UNSPECIFIED else table.get(c, default))
                   for c in cs) for cs in lists]
    frame = pd.DataFrame({"country": ents["country"].to_numpy(), "w": weights,
                          "concerns": lists})
    counts = frame.explode("concerns").groupby(["country", "concerns"]).size()
    text = {
        country: ", ".join(f"{n} {c}" for c, n in sorted(
            grp.droplevel(0).items(), key=lambda kv: (-kv[1], kv[0])))
        for country, grp in counts.groupby(level=0)
    }
    out = frame.groupby("country").agg(n_entities=("w", "size"), entity_weight=("w", "sum"))
    out["entity_concerns"] = pd.Series(text).reindex(out.index)
    out["n_entities"] = out["n_entities"].astype(int)
    return out[cols]


def _saturate(x, sat):
    return np.clip(np.asarray(x, dtype=float) / sat, 0.0, 1.0)


def risk_components(
    dataset: Dataset,
    *,
    year: int,
    coalition: str | Sequence[str] = "group_a",
    event_year: int | None = None,
    categories: Iterable[str] | None = None,
    production: str | pd.Series = "net_exports",
    concern: Sequence[str] | None = None,
    config: Mapping[str, Any] | None = None,
    cflows: pd.DataFrame | None = None,
    cache: dict | None = None,
) -> pd.DataFrame:
    """All risk components (and their raw inputs) for every category x destination.

    ``cache``: a dict kept by the caller across calls (e.g. the dashboard) that stores the
    exposures of each (category, year, coalition) layer, so scoring another year reuses
    the pre-event years already traced. The caller owns it and must not share it between
    datasets.

    Returns one row per (year, category_id, destination) with the components of
    :data:`COMPONENTS` and raw columns ``imports``, ``coalition_content``,
    ``coalition_share``, ``via_hubs``, ``to_concern``, ``pre_coalition_content``,
    ``growth``, ``n_entities``.
    """
    cfg = config or load_config()
    members = set(resolve_coalition(coalition, dataset.countries))
    conc_set = list(concern if concern is not None else concern_destinations(dataset.countries))
    if cflows is None:
        cflows = category_flows(dataset, categories=categories)
    elif categories is not None:
        cflows = cflows[cflows["category_id"].isin(list(categories))]
    years = sorted(cflows["year"].unique())
    if year not in years:
        raise AnalysisError(f"no category flows in {year}; years available: {years}")
    if event_year is None:
        from analytics.eventstudy import event_year as _event_year

        try:
            event_year = _event_year(dataset)[0]
        except AnalysisError:
            event_year = years[0]
    pre_years = [y for y in years if y < min(event_year, year)]
    sens = dataset.categories.set_index("category_id")["sensitivity"]
    concern_score = destination_concern(dataset.countries, cfg)
    ent = entity_weights(dataset.entities, cfg)

    key_members = tuple(sorted(members))
    key_prod = production if isinstance(production, str) else id(production)

    def layer_frame(cat: str, yr: int, lay: pd.DataFrame) -> pd.DataFrame | None:
        """Exposures of every destination in one (category, year) layer (cached)."""
        key = (cat, int(yr), key_members, key_prod, tuple(conc_set))
        if cache is not None and key in cache:
            return cache[key]
        model = tracing.build_model(lay, production)
        try:
            arr = coalition_arrays(model, members, conc_set)
        except AnalysisError:  # no member exports in this layer
            res = None
        else:
            imports = model.imports
            keep = imports > 0
            imp, content = imports[keep], arr["content"][keep]
            res = pd.DataFrame({
                "imports": imp,
                "coalition_content": content,
                "coalition_share": np.minimum(content / imp, 1.0),
                "via_hubs": arr["via_hubs"][keep],
                "diversion_share": np.minimum(arr["via_hubs"][keep] / imp, 1.0),
                "forward_share": np.clip(np.divide(
                    arr["to_concern"][keep], content, out=np.zeros(keep.sum()),
                    where=content > 0), 0.0, 1.0),
                "to_concern": arr["to_concern"][keep],
            }, index=pd.Index(model.nodes[keep], name="destination"))
            # destinations of concern are targets, not conduits (as in forward_exposure)
            res.loc[res.index.isin(conc_set), ["forward_share", "to_concern"]] = 0.0
        if cache is not None:
            cache[key] = res
        return res

    frames = []
    for cat, sub in cflows.groupby("category_id", sort=True):
        by_year = dict(tuple(sub.groupby("year", sort=False)))
        lay = by_year.get(year)
        if lay is None or lay.empty:
            continue
        row = layer_frame(cat, year, lay)
        if row is None:
            continue
        pre_vals = []
        for py in pre_years:
            pl = by_year.get(py)
            if pl is None or pl.empty:
                continue
            pre_row = layer_frame(cat, py, pl)
            if pre_row is not None:
                pre_vals.append(pre_row["coalition_content"].rename(py))
        pre = (pd.concat(pre_vals, axis=1).fillna(0.0).mean(axis=1) if pre_vals
               else pd.Series(dtype=float))
        out = row.reset_index()
        out.insert(0, "category_id", cat)
        out.insert(0, "year", year)
        out["pre_coalition_content"] = pre.reindex(row.index).fillna(0.0).to_numpy()
        frames.append(out)
    if not frames:
        raise AnalysisError(f"no category has coalition-member exports in {year}")
    df = pd.concat(frames, ignore_index=True)
    if not cfg["output"].get("include_coalition_members", False):
        df = df[~df["destination"].isin(members)]
    df = df[df["imports"] > float(cfg["output"].get("min_imports", 0.0))]
    sc = cfg["surge"]
    base = np.maximum(df["pre_coalition_content"], float(sc["min_pre_value"]))
    df["growth"] = df["coalition_content"] / base - 1.0
    if not pre_years or year < event_year:
        df["growth"] = 0.0
    df["n_entities"] = ent["n_entities"].reindex(df["destination"]).fillna(0).to_numpy(
        ).astype(int)
    df["entity_weight"] = ent["entity_weight"].reindex(df["destination"]).fillna(
        0.0).to_numpy(dtype=float)
    df["entity_concerns"] = ent["entity_concerns"].reindex(df["destination"]).fillna(
        "").to_numpy()
    df["sensitivity"] = sens.reindex(df["category_id"]).to_numpy().astype(float)
    df["concern"] = concern_score.reindex(df["destination"]).fillna(
        cfg["concern"]["no_regime"]).to_numpy()
    # a conduit is either a large share of its coalition imports passed on (the rate), or a
    # large share of all coalition goods reaching destinations of concern via hubs
    tot_conduit = df.groupby("category_id")["to_concern"].transform("sum")
    df["conduit_share"] = np.divide(df["to_concern"], tot_conduit,
                                    out=np.zeros(len(df)), where=tot_conduit > 0)
    fcfg = cfg["forward_exposure"]
    df["forward_exposure"] = np.maximum(
        _saturate(df["forward_share"], fcfg["saturation"]),
        _saturate(df["conduit_share"], fcfg["conduit_saturation"]))
    df["diversion_exposure"] = _saturate(df["diversion_share"],
                                         cfg["diversion_exposure"]["saturation"])
    g = np.maximum(df["growth"].to_numpy(), 0.0)
    df["surge"] = np.clip(np.log1p(g) / np.log1p(sc["saturation_growth"]), 0.0, 1.0)
    df["leverage"] = df["coalition_share"].clip(0.0, 1.0)
    df["listed_entities"] = np.clip(
        np.log1p(df["entity_weight"]) / np.log1p(cfg["listed_entities"]["saturation"]), 0, 1)
    df.attrs.update(members=tuple(sorted(members)), event_year=event_year,
                    pre_years=pre_years, concern=tuple(conc_set),
                    config=cfg.get("_path", "bundled"))
    return df.reset_index(drop=True)


def _weights(cfg) -> np.ndarray:
    return np.array([float(cfg["weights"][k]) for k in COMPONENTS])


def _score(df: pd.DataFrame, w: np.ndarray) -> np.ndarray:
    comps = df[list(COMPONENTS)].to_numpy(dtype=float)
    return 100.0 * comps @ w / w.sum()


def explain(row: Mapping[str, Any] | pd.Series, weights: Mapping[str, float],
            names: Mapping[str, str] | None = None) -> str:
    """A short plain-language explanation of one scored row (its main drivers)."""
    names = names or {}
    dest = names.get(row["destination"], row["destination"])
    total_w = sum(weights[k] for k in COMPONENTS)
    contrib = sorted(((weights[k] * float(row[k]) / total_w * 100, k) for k in COMPONENTS),
                     reverse=True)
    parts = []
    for pts, k in contrib[:3]:
        if pts < 1:
            continue
        if k == "concern":
            txt = f"{dest} is a destination of concern ({row[k]:.2f})"
        elif k == "forward_exposure":
            txt = (f"passes {row['forward_share']:.0%} of its coalition-origin imports on to "
                   f"destinations of concern ({row['conduit_share']:.0%} of all such "
                   f"goods reaching them via hubs)")
        elif k == "diversion_exposure":
            txt = f"{row['diversion_share']:.0%} of its imports are coalition goods via hubs"
        elif k == "surge":
            txt = f"coalition-origin goods arriving {row['growth']:+.0%} since before the event"
        elif k == "leverage":
            txt = f"coalition makes {row['coalition_share']:.0%} of its supply"
        elif k == "listed_entities":
            kinds = row.get("entity_concerns") or ""
            txt = f"{int(row['n_entities'])} listed entities there" + (
                f" ({kinds})" if kinds else "")
        else:
            txt = f"category sensitivity {row[k]:.2f}"
        parts.append(f"{txt} (+{pts:.0f})")
    head = f"Risk {row['risk']:.0f}/100"
    return head + (": " + "; ".join(parts) if parts else ": no component stands out") + "."


def score_risk(
    dataset: Dataset,
    *,
    year: int | None = None,
    coalition: str | Sequence[str] = "group_a",
    event_year: int | None = None,
    categories: Iterable[str] | None = None,
    production: str | pd.Series = "net_exports",
    concern: Sequence[str] | None = None,
    config: Mapping[str, Any] | str | os.PathLike | None = None,
    cflows: pd.DataFrame | None = None,
    lang: str = "en",
    cache: dict | None = None,
) -> pd.DataFrame:
    """Risk score 0-100 for every (year, category, destination), with components.

    Parameters
    ----------
    dataset : Dataset
    year : int, optional
        Default: the latest year of the flows.
    coalition : str or list
        The controlling coalition (preset or ISO3 list).
    event_year : int, optional
        First post-event year for the surge component (default: from the events table).
    categories : iterable, optional
        Restrict to these categories (default: the outbound, i.e. controlled, categories;
        every category when the dataset has no outbound one).
    production : str or Series
        Tracing assumption (see :mod:`analytics.tracing`).
    concern : list, optional
        Destinations of concern for forward exposure (default: sanctioned or embargoed).
    config : mapping or path, optional
        Risk configuration (default: the bundled ``risk_config.toml``).
    cache : dict, optional
        Caller-kept cache of per-layer exposures (see :func:`risk_components`).

    Returns
    -------
    DataFrame
        ``year``, ``category_id``, ``destination``, ``risk`` (0-100), ``rank`` (1 = highest
        risk), the seven components, the raw inputs and ``explanation``; sorted by risk.
        ``attrs`` record coalition members, the event year and the config used.

    Examples
    --------
    >>> from analytics.demo import make_demo_world
    >>> r = score_risk(make_demo_world(seed=0).dataset, year=2023)
    >>> r.loc[0, "destination"] in {"RUS", "BLR", "KGZ", "ARM", "KAZ", "TUR", "UZB"}
    True
    """
    cfg = config if isinstance(config, Mapping) else load_config(config)
    if categories is None:
        # the score is about outbound controls: inbound (dependence) categories are left out
        # unless asked for, or unless the dataset has no outbound category at all
        cats = dataset.categories
        outbound = list(cats.loc[cats["direction"] == "outbound", "category_id"])
        if cflows is not None:
            present = set(cflows["category_id"].unique())
            outbound = [c for c in outbound if c in present]
        categories = outbound or None
    if cflows is None:
        cflows = category_flows(dataset, categories=categories)
    if year is None:
        year = int(cflows["year"].max())
    df = risk_components(dataset, year=year, coalition=coalition, event_year=event_year,
                         categories=categories, production=production, concern=concern,
                         config=cfg, cflows=cflows, cache=cache)
    w = _weights(cfg)
    df["risk"] = _score(df, w)
    df = df.sort_values(["risk", "category_id", "destination"],
                        ascending=[False, True, True]).reset_index(drop=True)
    df["rank"] = np.arange(1, len(df) + 1)
    from analytics.reference import country_names

    names = country_names(lang)
    weights = {k: float(cfg["weights"][k]) for k in COMPONENTS}
    df["explanation"] = [explain(r, weights, names) for r in df.to_dict("records")]
    front = ["year", "category_id", "destination", "risk", "rank", *COMPONENTS]
    rest = [c for c in df.columns if c not in front]
    df = df[front + rest]
    df.attrs["coalition"] = coalition_label(coalition)
    return df


def sensitivity(
    scored: pd.DataFrame,
    *,
    config: Mapping[str, Any] | None = None,
    samples: int | None = None,
    concentration: float | None = None,
    seed: int | None = None,
) -> pd.DataFrame:
    """Rank intervals of scored rows under Dirichlet-sampled weights.

    For each of ``samples`` weight vectors drawn from
    :math:`\\mathrm{Dir}(\\kappa\\, w / \\sum w)` (``concentration`` = :math:`\\kappa`), the
    rows are re-scored and ranked. Returns ``scored``'s key columns with ``rank``,
    ``rank_low`` / ``rank_high`` (the configured quantiles, 5 %-95 % by default),
    ``rank_median``, ``risk_low`` / ``risk_high`` and ``robust`` (the interval spans at
    most 5 % of the rows or 5 places).

    >>> import pandas as pd
    >>> from analytics.risk import COMPONENTS, sensitivity
    >>> df = pd.DataFrame({k: [1.0, 0.0] for k in COMPONENTS})
    >>> df["risk"], df["rank"] = [100.0, 0.0], [1, 2]
    >>> sensitivity(df, samples=20)[["rank_low", "rank_high"]].values.tolist()
    [[1.0, 1.0], [2.0, 2.0]]
    """
    cfg = config or load_config()
    sa = cfg["sensitivity_analysis"]
    n = int(samples if samples is not None else sa["samples"])
    kappa = float(concentration if concentration is not None else sa["concentration"])
    rng = np.random.default_rng(sa["seed"] if seed is None else seed)
    w = _weights(cfg)
    alpha = np.maximum(kappa * w / w.sum(), 1e-3)
    W = rng.dirichlet(alpha, size=n)  # (n, k)
    comps = scored[list(COMPONENTS)].to_numpy(dtype=float)
    S = 100.0 * comps @ W.T  # (rows, n), weights sum to 1
    order = (-S).argsort(axis=0, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(len(scored))
    for j in range(n):
        ranks[order[:, j], j] = rows + 1
    lo_q, hi_q = sa["interval"]
    out = scored[[c for c in ("year", "category_id", "destination", "risk", "rank")
                  if c in scored.columns]].copy()
    out["rank_low"] = np.quantile(ranks, lo_q, axis=1, method="nearest").astype(float)
    out["rank_high"] = np.quantile(ranks, hi_q, axis=1, method="nearest").astype(float)
    out["rank_median"] = np.median(ranks, axis=1)
    out["risk_low"] = np.quantile(S, lo_q, axis=1)
    out["risk_high"] = np.quantile(S, hi_q, axis=1)
    width = out["rank_high"] - out["rank_low"]
    out["robust"] = width <= max(5, 0.05 * len(out))
    out.attrs.update(samples=n, concentration=kappa, interval=(lo_q, hi_q))
    return out


def with_config_override(cfg: Mapping[str, Any], **weights: float) -> dict[str, Any]:
    """A copy of ``cfg`` with some weights replaced (for what-if views)."""
    new = copy.deepcopy(dict(cfg))
    new["weights"].update(weights)
    return new
