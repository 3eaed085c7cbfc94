"""Read-only, cached data access for the dashboard.

Each worker process reads the store once (keyed by the store's snapshot id, so a new
ingest is picked up) and keeps the frames read-only. Heavy analytics results are memoized
here; callbacks never modify what they get.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from analytics import store
from analytics.dataset import Dataset

__all__ = ["configure", "store_path", "dataset", "snapshot", "flows_summary", "memoize",
           "cflows", "years", "default_year", "category_options", "coalition_options",
           "country_options", "risk_config", "risk_scores", "risk_sensitivity", "warm", "freeze",
           "derived", "page_options", "category_ids", "category_label", "coalition_arg",
           "coalition_members", "layer_flows", "tracing_model", "layer_origin_shares"]

_STATE: dict[str, Path | None] = {"store": None}


def configure(path: str | Path) -> None:
    """Point the dashboard at a store (called by ``create_app``)."""
    p = Path(path).resolve()
    if not store.is_store(p):
        from analytics.errors import StoreNotFound

        raise StoreNotFound(
            f"no store at {p}: build one with `chokepoint demo` or `chokepoint ingest ...`"
        )
    _STATE["store"] = p


def store_path() -> Path:
    p = _STATE["store"]
    if p is None:
        raise RuntimeError("dashboard data not configured: call dashboards.data.configure()")
    return p


def snapshot() -> str:
    """Id of the store's current snapshot (part of every cache key)."""
    return store.snapshot_id(store_path())


def freeze(frame: pd.DataFrame) -> pd.DataFrame:
    for col in frame.columns:
        arr = frame[col].to_numpy()
        if hasattr(arr, "flags"):
            try:
                arr.flags.writeable = False
            except ValueError:
                pass
    return frame


@functools.lru_cache(maxsize=2)
def _dataset(path: str, snap: str) -> Dataset:
    ds = store.read_dataset(path)
    for frame in ds.tables().values():
        freeze(frame)
    return ds


def dataset() -> Dataset:
    """The served dataset (read once per worker and snapshot)."""
    return _dataset(str(store_path()), snapshot())


def memoize(maxsize: int = 256):
    """Memoize a function of hashable arguments per store snapshot."""

    def deco(fn):
        cached = functools.lru_cache(maxsize=maxsize)(
            lambda snap, *args, **kwargs: fn(*args, **kwargs))

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return cached(snapshot(), *args, **kwargs)

        wrapper.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        return wrapper

    return deco


@memoize(maxsize=8)
def derived(name: str) -> pd.DataFrame | None:
    """A derived table of the store (precomputed results), or None."""
    frame = store.read_derived(store_path(), name)
    return None if frame is None else freeze(frame)


@memoize(maxsize=4)
def flows_summary() -> pd.DataFrame:
    """Flows per year: rows, value (USD bn), exporters, importers, HS6 codes."""
    f = dataset().flows
    out = f.groupby("year").agg(
        rows=("value_usd", "size"),
        value_bn=("value_usd", lambda v: v.sum() / 1e9),
        exporters=("exporter", "nunique"),
        importers=("importer", "nunique"),
        products=("hs6", "nunique"),
    ).reset_index()
    out["value_bn"] = out["value_bn"].round(2)
    return out


# ------------------------------------------------------------------ shared analytics
@memoize(maxsize=1)
def cflows() -> pd.DataFrame:
    """Category flows (the store's pre-aggregated derived table)."""
    from analytics.precompute import store_category_flows

    return freeze(store_category_flows(store_path()))


def years() -> list[int]:
    return sorted(int(y) for y in cflows()["year"].unique())


def default_year() -> int:
    return years()[-1]


def category_options(lang: str = "en") -> list[dict]:
    from analytics.i18n import category_name

    cats = dataset().categories
    present = set(cflows()["category_id"].unique())
    return [{"label": category_name(c, cats, lang), "value": c}
            for c in cats["category_id"] if c in present]


def coalition_options() -> list[dict]:
    from analytics.reference import COALITION_PRESETS

    return [{"label": lab, "value": key} for key, lab in COALITION_PRESETS.items()]


def coalition_arg(coalition: str) -> str | tuple[str, ...]:
    """A coalition value of the dashboard as the library takes it: a preset name, or a
    tuple of ISO3 codes for a comma-separated custom coalition (``"JPN,usa"``)."""
    if "," in coalition:
        return tuple(c.strip().upper() for c in coalition.split(",") if c.strip())
    return coalition


@memoize(maxsize=64)
def coalition_members(coalition: str) -> tuple[str, ...]:
    """ISO3 codes of a coalition (a preset or comma-separated codes).

    Raises :class:`~analytics.errors.ConfigError` (unknown preset) or
    :class:`~analytics.errors.UnknownCountry` (an unknown code); failures are not cached.
    """
    from analytics.reference import resolve_coalition

    return tuple(resolve_coalition(coalition_arg(coalition), dataset().countries))


@memoize(maxsize=512)
def layer_flows(year: int, category: str) -> pd.DataFrame:
    """One (year, category) layer of the category flows (``exporter``, ``importer``,
    ``value_usd``); may be empty."""
    cf = cflows()
    sub = cf[(cf["year"] == int(year)) & (cf["category_id"] == category)]
    return freeze(sub[["exporter", "importer", "value_usd"]].reset_index(drop=True))


@memoize(maxsize=512)
def tracing_model(year: int, category: str, production: str = "net_exports"):
    """The proportional-mixing tracing model of a layer (see :func:`layer_flows`)."""
    from analytics import tracing

    return tracing.build_model(layer_flows(year, category), production)


@memoize(maxsize=512)
def layer_origin_shares(year: int, category: str) -> pd.DataFrame:
    """Traced origin shares of world trade in a layer (``origin``, ``value``, ``share``;
    production = net exports); empty for an empty layer."""
    from analytics.chokepoints import origin_shares

    lay = layer_flows(year, category)
    if lay.empty or float(lay["value_usd"].sum()) <= 0:
        return pd.DataFrame(columns=["origin", "value", "share"])
    return origin_shares(lay, model=tracing_model(year, category, "net_exports"))


@memoize(maxsize=1)
def _flow_countries() -> tuple[str, ...]:
    f = cflows()
    return tuple(sorted(pd.unique(pd.concat([f["exporter"], f["importer"]]))))


def country_options(codes=None, lang: str = "en") -> list[dict]:
    from analytics.i18n import country_name

    if codes is None:
        codes = _flow_countries()
    return [{"label": f"{country_name(c, lang)} ({c})", "value": c} for c in codes]


@memoize(maxsize=1)
def risk_config() -> dict:
    from analytics.config import Settings
    from analytics.risk import load_config

    return load_config(Settings.from_env().risk_config)


_LAYER_CACHE: dict[str, dict] = {}


@memoize(maxsize=64)
def risk_scores(year: int, coalition: str) -> pd.DataFrame:
    """Risk scores of every category x destination (memoized per year and coalition; the
    per-layer exposures are cached too, so another year reuses the pre-event years)."""
    from analytics.risk import default_config_path, score_risk

    pre = derived("risk_scores")
    if pre is not None and risk_config().get("_path") == str(default_config_path()):
        hit = pre[(pre["coalition"] == coalition) & (pre["year"] == int(year))]
        if len(hit):  # precomputed with the same (bundled) configuration
            return freeze(hit.drop(columns="coalition").reset_index(drop=True))
    members = coalition.split(",") if "," in coalition else coalition
    cache = _LAYER_CACHE.setdefault(snapshot(), {})
    return freeze(score_risk(dataset(), year=int(year), coalition=members, cflows=cflows(),
                              config=risk_config(), cache=cache))


@memoize(maxsize=64)
def risk_sensitivity(year: int, coalition: str) -> pd.DataFrame:
    from analytics.risk import sensitivity

    return freeze(sensitivity(risk_scores(year, coalition), config=risk_config()))


def warm(coalition: str = "group_a") -> None:
    """Compute the default views once (before gunicorn forks its workers): the risk scores
    of every coalition preset in the latest year (which also caches the pre-event years,
    so other years are quick)."""
    y = default_year()
    risk_scores(y, coalition)
    risk_sensitivity(y, coalition)
    for opt in coalition_options():
        risk_scores(y, opt["value"])


@memoize(maxsize=2)
def page_options() -> dict:
    """Dropdown options shared by the pages, and the importers, once per snapshot."""
    cf = cflows()
    importers = sorted(pd.unique(cf["importer"]))
    codes = sorted(set(pd.unique(cf["exporter"])) | set(importers))
    return {"years": years(), "categories": category_options(),
            "coalitions": coalition_options(), "countries": country_options(codes),
            "importers": frozenset(importers)}


@memoize(maxsize=4)
def category_ids() -> tuple[str, ...]:
    """Ids of the categories present in the category flows."""
    return tuple(o["value"] for o in page_options()["categories"])


@memoize(maxsize=256)
def category_label(cat: str, lang: str = "en") -> str:
    """Display name of a category of the served dataset."""
    from analytics.i18n import category_name

    return category_name(cat, dataset().categories, lang)
