"""Pre-aggregation of a store for fast interactive use.

The dashboard never scans HS6 flows at request time: :func:`precompute_store` aggregates
them to categories once, in DuckDB over the store's Parquet files (so a full BACI year
of ~11 million rows is not loaded into pandas), and writes the result as the derived
table ``category_flows``. :func:`store_category_flows` reads it back (computing it when
missing).
"""

from __future__ import annotations

import os

import duckdb
import pandas as pd

from analytics import store
from analytics.network import category_membership
from analytics.schemas import STR

__all__ = ["precompute_store", "store_category_flows", "category_flows_sql"]


def category_flows_sql(path: str | os.PathLike) -> pd.DataFrame:
    """Category flows of a store computed in DuckDB (HS-version aware, prefixes expanded)."""
    info = store.store_info(path)
    ds_ref = store.read_dataset(path, years=[])  # reference tables only, no flows
    ds_ref = ds_ref.replace(hs_version=info["hs_version"])
    mem = category_membership(ds_ref)[["category_id", "hs6"]].drop_duplicates()
    mem = mem.assign(hs6=mem["hs6"].astype(str), category_id=mem["category_id"].astype(str))
    files = sorted(str(p) for p in (store.snapshot_dir(path) / "flows").rglob("*.parquet"))
    if not files:
        return pd.DataFrame(columns=["year", "exporter", "importer", "category_id",
                                     "value_usd"])
    con = duckdb.connect()
    try:
        con.register("membership", mem)
        out = con.execute(
            """
            SELECT f.year::BIGINT AS year, f.exporter, f.importer, m.category_id,
                   SUM(f.value_usd) AS value_usd
            FROM read_parquet(?) AS f
            JOIN membership AS m
              ON (length(m.hs6) = 6 AND f.hs6 = m.hs6)
              OR (length(m.hs6) < 6 AND starts_with(f.hs6, m.hs6))
            GROUP BY ALL
            ORDER BY year, category_id, exporter, importer
            """,
            [files],
        ).df()
    finally:
        con.close()
    for col in ("exporter", "importer", "category_id"):
        out[col] = out[col].astype(STR)
    out["year"] = out["year"].astype("int64")
    return out[["year", "exporter", "importer", "category_id", "value_usd"]]


#: coalition whose difference-in-differences estimates are precomputed (the dashboard's
#: default view)
DEFAULT_COALITION = "group_a"


def did_estimates(path: str | os.PathLike, coalition: str = DEFAULT_COALITION
                  ) -> pd.DataFrame | None:
    """Difference-in-differences of every outbound category for ``coalition`` and the
    first sanctions event of the events table (None when not estimable on this store)."""
    from analytics.errors import AnalysisError
    from analytics.eventstudy import diff_in_diff, event_year

    ds = store.read_dataset(path)
    outbound = ds.categories.loc[ds.categories["direction"] == "outbound", "category_id"]
    if outbound.empty:
        return None
    try:
        year0 = event_year(ds)[0]
        did = diff_in_diff(ds, coalition=coalition, categories=list(outbound), year=year0)
    except AnalysisError:
        return None
    did = did.assign(coalition=coalition)
    return did


def risk_table(path: str | os.PathLike, cflows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Risk scores (bundled configuration) of every year x coalition preset, stacked, with a
    ``coalition`` column: what the dashboard shows first for any year or preset."""
    from analytics.errors import AnalysisError
    from analytics.reference import COALITION_PRESETS
    from analytics.risk import load_config, score_risk

    ds = store.read_dataset(path)
    cf = cflows if cflows is not None else store_category_flows(path)
    cfg = load_config()
    frames = []
    for coalition in COALITION_PRESETS:
        cache: dict = {}  # the pre-event years are traced once per coalition
        for year in sorted(int(y) for y in cf["year"].unique())[::-1]:
            try:
                scored = score_risk(ds, year=year, coalition=coalition, cflows=cf,
                                    config=cfg, cache=cache)
            except AnalysisError:
                continue
            frames.append(scored.assign(coalition=coalition))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def precompute_store(path: str | os.PathLike, *, did: bool = True) -> list[str]:
    """Write the derived tables the dashboard reads; returns their names.

    ``category_flows`` (always), ``risk_scores`` (every year x coalition preset with the
    bundled risk configuration) and ``did`` (difference-in-differences estimates of the
    default coalition, when estimable), so the dashboard does not compute them on demand.
    """
    cf = category_flows_sql(path)
    store.write_derived(path, "category_flows", cf)
    names = ["category_flows"]
    risk = risk_table(path, cf)
    if len(risk):
        store.write_derived(path, "risk_scores", risk)
        names.append("risk_scores")
    if did:
        est = did_estimates(path)
        if est is not None and len(est):
            store.write_derived(path, "did", est)
            names.append("did")
    return names


def store_category_flows(path: str | os.PathLike) -> pd.DataFrame:
    """The store's category flows (the derived table, computed when missing)."""
    cf = store.read_derived(path, "category_flows")
    if cf is None:
        cf = category_flows_sql(path)
    return cf
