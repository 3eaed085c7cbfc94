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

__all__ = ["configure", "store_path", "dataset", "snapshot", "flows_summary", "memoize"]

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


def _freeze(frame: pd.DataFrame) -> pd.DataFrame:
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
        _freeze(frame)
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
