"""Listed entities into a store: the red flags the risk score and the hub ranking count.

:func:`ingest_lists` reads the user's own copies of the METI End User List (the official
xlsx, or its flattened CSV) and the MOFA/METI specified-entity lists (Russia, Belarus,
third countries), merges entries of the same entity across lists
(:func:`analytics.entities.combine_lists`), and writes them as the store's ``entities``
table in one atomic snapshot: flows and the other tables are carried over untouched.
The risk scores precomputed for the dashboard depend on the entities, so they are
recomputed in the same run (a store without them is left without them).

By default the lists replace the entities already in the store *from the same lists*
(``list_name``), and keep entities of other lists; ``replace=True`` drops every stored
entity first. Loading the same file twice therefore gives the same store.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from analytics import store
from analytics.entities import combine_lists, split_aliases
from analytics.errors import DataError, StoreNotFound
from analytics.ingest import IngestReport
from analytics.schemas import Entities
from analytics.sources.meti import read_meti_end_user_list, read_specified_entities

__all__ = ["ingest_lists"]


def _list_names(frame: pd.DataFrame) -> set[str]:
    names: set[str] = set()
    for v in frame["list_name"].dropna():
        names.update(split_aliases(v))
    return names


def _drop_lists(stored: pd.DataFrame, names: set[str]) -> pd.DataFrame:
    """Stored entities minus the lists in ``names`` (an entity merged from several lists
    keeps its other lists; an entity only on dropped lists goes)."""
    keep_rows = []
    for rec in stored.to_dict("records"):
        lists = [n for n in split_aliases(rec["list_name"]) if n not in names]
        if lists:
            keep_rows.append({**rec, "list_name": "; ".join(lists)})
    return pd.DataFrame.from_records(keep_rows, columns=Entities.columns())


def ingest_lists(
    store_path: str | os.PathLike,
    *,
    end_user_list: str | os.PathLike | None = None,
    specified: Iterable[str | os.PathLike] = (),
    replace: bool = False,
    lenient: bool = False,
    rescore: bool = True,
) -> IngestReport:
    """Write listed entities into an existing store (one atomic snapshot).

    Parameters
    ----------
    store_path : path-like
        An existing store (created by ``chokepoint demo`` or an ingest of flows).
    end_user_list : path-like, optional
        The METI End User List: ``.xlsx`` as published, or its flattened ``.csv``.
    specified : iterable of path-like
        MOFA/METI specified-entity CSVs (Russia, Belarus, third countries).
    replace : bool, default False
        Drop every stored entity first. By default only the stored entities of the lists
        being loaded are replaced.
    lenient : bool, default False
        Drop rows whose country is unknown (counted, with a warning) instead of stopping.
    rescore : bool, default True
        Recompute the store's precomputed ``risk_scores`` (when it has them), which count
        listed entities.

    Returns
    -------
    IngestReport
        ``details``: ``files`` (rows per file), ``entities`` (rows stored),
        ``by_list`` (entities per list), ``countries`` (the ten countries with most).

    Raises
    ------
    StoreNotFound
        No store at ``store_path``.
    DataError
        No list given.
    SourceFormatError, UnknownCountry, SchemaViolation
        From the readers, naming file, row and value; the store is then unchanged.
    """
    t0 = time.perf_counter()
    root = Path(store_path)
    specified = [Path(p) for p in specified]
    if end_user_list is None and not specified:
        raise DataError("no list to load", source="ingest lists",
                        remedy="give --end-user-list PATH and/or --specified PATH ...")
    if not store.is_store(root):
        raise StoreNotFound(f"no store at {root}: create one first (chokepoint demo, or "
                            "chokepoint ingest baci|comtrade|csv ... --store DIR)")
    frames, files = [], {}
    if end_user_list is not None:
        f = read_meti_end_user_list(end_user_list, lenient=lenient)
        frames.append(f)
        files[Path(end_user_list).name] = {"rows_read": len(f), "rows_written": len(f)}
    for p in specified:
        f = read_specified_entities(p, lenient=lenient)
        frames.append(f)
        files[p.name] = {"rows_read": len(f), "rows_written": len(f)}
    new = combine_lists(*frames)
    stored = store.read_dataset(root, years=[]).entities
    if stored is not None and len(stored) and not replace:
        kept = _drop_lists(stored, _list_names(new))
        ents = combine_lists(kept, new) if len(kept) else new
    else:
        ents = new
    per_list = Counter(n for v in ents["list_name"] for n in split_aliases(v))
    provenance = {"entities": {"source": "; ".join(sorted(per_list)),
                               "files": sorted(files),
                               "loaded": time.strftime("%Y-%m-%d")}}
    store.update_flow_files(root, {}, reference_tables={"entities": ents},
                            provenance=provenance, keep_derived=True)
    rescored = False
    if rescore and "risk_scores" in store.derived_names(root):
        from analytics.precompute import risk_table

        risk = risk_table(root)
        if len(risk):
            store.write_derived(root, "risk_scores", risk)
            rescored = True
    # most listed countries first, ties by code
    top = ents["country"].value_counts().sort_index().sort_values(
        ascending=False, kind="stable").head(10)
    report = IngestReport(source="listed entities", store=str(root), unit="entities")
    report.seconds = time.perf_counter() - t0
    report.details.update(files=files, entities=len(ents),
                          by_list={k: int(v) for k, v in per_list.items()},
                          countries={str(c): int(n) for c, n in top.items()},
                          rescored=rescored)
    return report
