"""Aggregating tens of millions of shipments on Dask (one machine or a cluster).

Transaction-level customs records outgrow pandas; the aggregation to country flows and
firm edges then runs on Dask (DESIGN: "an existing distributed engine, not a home-made
one"). The per-chunk work is the very same as the pandas path of
:mod:`analytics.shipments` (:func:`~analytics.shipments.prepare_shipments`,
:func:`~analytics.shipments.flow_partial`, :func:`~analytics.shipments.edge_partial`);
Dask runs it on each Parquet partition and combines the partial sums in a tree
(``groupby().agg`` with sum/min/max), and :func:`~analytics.shipments.finish_flows` /
:func:`~analytics.shipments.finish_edges` shape the result. The outputs are therefore the
same tables as :func:`analytics.shipments.aggregate_shipments` (up to the order of
floating-point additions).

Schedulers
----------
``scheduler=None`` (the embedded default) uses Dask's local threaded scheduler in this
process. ``scheduler="tcp://host:8786"`` connects a :class:`distributed.Client` to an
existing cluster and runs the same graph there; the Parquet files must then be readable
by the workers at the same paths (a shared file system or object store).
``scheduler="processes"`` or ``"synchronous"`` pick Dask's other local schedulers, and a
``distributed.Client`` can be passed as ``client=``.

>>> import pandas as pd
>>> s = pd.DataFrame({"date": pd.to_datetime(["2023-01-05", "2023-02-01"]),
...     "declaration_id": ["a", "b"], "consignee": ["R1", "R1"],
...     "importer_country": ["RUS", "RUS"], "shipper": ["H1", "H1"],
...     "dispatch_country": ["HKG", "HKG"], "origin_country": ["JPN", "JPN"],
...     "brand": ["Aster", "Aster"], "hs_code": ["85423100", "854231"],
...     "value_usd": [60.0, 30.0], "quantity": [1.0, None]})
>>> agg = aggregate_dask(s, npartitions=2)
>>> agg.flows_dispatch[["exporter", "importer", "hs6", "value_usd", "quantity"]]
  exporter importer     hs6  value_usd  quantity
0      HKG      RUS  854231       90.0       1.0
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.errors import ConfigError, DataError
from analytics.schemas import Shipments
from analytics.shipments import (
    CUBE_KEYS,
    EDGE_KEYS,
    FLOW_KEYS,
    ShipmentAggregates,
    category_masks,
    edge_partial,
    finish_edges,
    finish_flows,
    flow_partial,
    prepare_shipments,
    shipment_cube,
)

__all__ = ["dask_client", "shipments_frame", "aggregate_dask", "cube_dask",
           "LOCAL_SCHEDULERS", "CONNECT_TIMEOUT"]

LOCAL_SCHEDULERS = ("threads", "processes", "synchronous")
#: how long to wait for a Dask scheduler at an address
CONNECT_TIMEOUT = "10s"
_AGG_COLUMNS = ["date", "consignee", "importer_country", "shipper", "dispatch_country",
                "origin_country", "hs_code", "value_usd", "quantity"]


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, client=None) -> Iterator[tuple[object, str]]:
    """``(client, description)`` for a scheduler address (client None: a local scheduler).

    Raises
    ------
    ConfigError
        The address cannot be reached (the message names it).
    """
    if client is not None:
        yield client, "distributed client"
        return
    if scheduler in (None, "", "local"):
        yield None, "local threaded scheduler"
        return
    if scheduler in LOCAL_SCHEDULERS:
        yield None, f"local {scheduler} scheduler"
        return
    from distributed import Client

    try:
        c = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as err:
        raise ConfigError(f"cannot reach the Dask scheduler at {scheduler!r} ({err}); "
                          "start one with `dask scheduler` and `dask worker ADDRESS`, or "
                          "leave --scheduler out to run locally") from err
    try:
        yield c, f"Dask cluster at {scheduler}"
    finally:
        c.close()


def _compute(objs: Sequence, scheduler: str | None, client) -> list:
    import dask

    if client is not None:
        return list(dask.compute(*objs, scheduler=client.get))
    sched = scheduler if scheduler in LOCAL_SCHEDULERS else "threads"
    return list(dask.compute(*objs, scheduler=sched))


def _files(source) -> list[str] | None:
    """Parquet files of a source (a store, a folder, files), or None for frames."""
    from analytics import store

    if isinstance(source, (str, os.PathLike)):
        p = Path(source)
        if store.is_store(p):
            files = store.table_files(p, "shipments")
            if not files:
                raise DataError("the store holds no shipments", source=str(p),
                                remedy="load some with `chokepoint ingest shipments` or "
                                       "`chokepoint demo-shipments`")
            return [str(f) for f in files]
        if p.is_dir():
            files = sorted(str(f) for f in p.rglob("*.parquet"))
            if not files:
                raise DataError("no Parquet files in the folder", source=str(p))
            return files
        if p.is_file():
            return [str(p)]
        raise DataError("no such store, folder or file", source=str(p))
    if isinstance(source, (list, tuple)) and all(isinstance(s, (str, os.PathLike))
                                                 for s in source):
        return [str(s) for s in source]
    return None


def shipments_frame(source, *, columns: Sequence[str] | None = None, npartitions: int = 4,
                    filters: list | None = None):
    """A Dask DataFrame of shipments from a store, a folder or list of Parquet files, a
    pandas frame or a Dask frame (returned as is)."""
    import dask.dataframe as dd

    cols = list(columns) if columns is not None else Shipments.columns()
    if isinstance(source, dd.DataFrame):
        return source[cols]
    if isinstance(source, pd.DataFrame):
        return dd.from_pandas(source[cols], npartitions=max(1, npartitions), sort=False)
    files = _files(source)
    if files is None:
        raise DataError("shipments must be a store, Parquet files or a DataFrame",
                        value=type(source).__name__)
    return dd.read_parquet(files, columns=cols, filters=filters)


def aggregate_dask(
    source,
    codes: pd.DataFrame | None = None,
    *,
    scheduler: str | None = None,
    client=None,
    npartitions: int = 4,
    split_every: int | None = 8,
    edge_split_out: int = 1,
) -> ShipmentAggregates:
    """Country flows by dispatch and by origin, firm edges and category edges, on Dask.

    Parameters
    ----------
    source : store path, folder, Parquet files, pandas or Dask DataFrame
        The shipments (a store's partitioned ``shipments`` table by default).
    codes : DataFrame, optional
        Category definitions (``category_id``, ``code``;
        :func:`analytics.shipments.category_codes`) for the edges' categories.
    scheduler : str, optional
        None (local threads), ``"processes"``, ``"synchronous"`` or the address of a
        Dask scheduler (``tcp://host:8786``).
    client : distributed.Client, optional
        Use this client (e.g. of a ``LocalCluster``).
    npartitions : int
        Partitions of a pandas input.
    split_every : int, optional
        Fan-in of the tree reduction.
    edge_split_out : int, default 1
        Output partitions of the firm-edge reduction (more than one shuffles the edge
        partials by key so several workers reduce them; worth it for many millions of
        edges on a cluster).

    Returns
    -------
    ShipmentAggregates
        Equal to :func:`analytics.shipments.aggregate_shipments` on the same rows.
    """
    masks = category_masks(codes)
    ddf = shipments_frame(source, columns=_AGG_COLUMNS, npartitions=npartitions)
    meta_prep = prepare_shipments(ddf._meta, masks)
    prep = ddf.map_partitions(prepare_shipments, masks, meta=meta_prep)
    sums = {"value_usd": "sum", "quantity": "sum", "quantity_n": "sum"}
    flows = []
    for by in ("dispatch", "origin"):
        part = prep.map_partitions(flow_partial, by, meta=flow_partial(meta_prep, by))
        flows.append(part.groupby(FLOW_KEYS, sort=False).agg(
            sums, split_every=split_every, split_out=1).reset_index())
    ep = prep.map_partitions(edge_partial, meta=edge_partial(meta_prep))
    edges = ep.groupby([*EDGE_KEYS, "catmask"], sort=False).agg(
        {"value_usd": "sum", "shipments": "sum", "first_date": "min", "last_date": "max"},
        split_every=split_every, split_out=edge_split_out).reset_index()
    rows = prep.map_partitions(len, meta=("rows", "int64")).sum()
    with dask_client(scheduler, client) as (c, how):
        fd, fo, ed, n = _compute([flows[0], flows[1], edges, rows], scheduler, c)
    e, ce = finish_edges(_plain(ed), masks, combine=False)
    out = ShipmentAggregates(finish_flows(_plain(fd), combine=False),
                             finish_flows(_plain(fo), combine=False), e, ce, int(n),
                             masks.categories, {"scheduler": how})
    return out


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """A computed Dask result as a plain frame (fresh index, numpy-backed numbers)."""
    out = frame.reset_index(drop=True)
    for col in out.columns:
        if pd.api.types.is_integer_dtype(out[col].dtype) and not isinstance(
                out[col].dtype, np.dtype):
            out[col] = out[col].astype("int64")
    return out


def cube_dask(
    source,
    *,
    destination: str | Iterable[str] | None = None,
    codes: Iterable[str] | None = None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    scheduler: str | None = None,
    client=None,
    npartitions: int = 4,
) -> pd.DataFrame:
    """The :func:`analytics.shipments.shipment_cube` of a selection, computed on Dask.

    Filters (destination, HS code prefixes, ``[start, end)``) are applied per partition
    (and pushed down to the Parquet reader where possible); the cube (value and count by
    dispatch country, origin, brand, shipper and consignee) is small enough for
    :func:`analytics.shipments.attribute_shipments`.
    """
    dests = None if destination is None else (
        [destination] if isinstance(destination, str) else list(destination))
    prefixes = None if codes is None else tuple(codes)
    filters = []
    if dests is not None:
        filters.append(("importer_country", "in", dests))
    if start is not None:
        filters.append(("date", ">=", pd.Timestamp(start)))
    if end is not None:
        filters.append(("date", "<", pd.Timestamp(end)))
    cols = [*CUBE_KEYS, "importer_country", "hs_code", "date", "value_usd"]
    files = _files(source)
    ddf = shipments_frame(source, columns=cols, npartitions=npartitions,
                          filters=(filters or None) if files is not None else None)

    def select(part: pd.DataFrame) -> pd.DataFrame:
        keep = np.ones(len(part), dtype=bool)
        if dests is not None:
            keep &= part["importer_country"].isin(dests).to_numpy(dtype=bool)
        if prefixes is not None:
            keep &= (part["hs_code"].astype(str).str.startswith(prefixes)
                     .to_numpy(dtype=bool) if prefixes else np.zeros(len(part), bool))
        if start is not None:
            keep &= (part["date"] >= start).to_numpy(dtype=bool)
        if end is not None:
            keep &= (part["date"] < end).to_numpy(dtype=bool)
        return shipment_cube(part[keep])

    meta = shipment_cube(ddf._meta)
    parts = ddf.map_partitions(select, meta=meta)
    cube = parts.groupby(CUBE_KEYS, sort=False, dropna=False).agg(
        {"value_usd": "sum", "shipments": "sum"}, split_out=1).reset_index()
    with dask_client(scheduler, client) as (c, _):
        (out,) = _compute([cube], scheduler, c)
    return _finish_cube(_plain(out))


def _finish_cube(cube: pd.DataFrame) -> pd.DataFrame:
    from analytics.schemas import STR

    out = cube.copy()
    for col in CUBE_KEYS:
        out[col] = out[col].astype(STR)
    out["shipments"] = out["shipments"].astype("int64")
    out["value_usd"] = out["value_usd"].astype("float64")
    return out.sort_values(CUBE_KEYS, kind="stable", na_position="last").reset_index(
        drop=True)
