"""The processed dataset on disk: Parquet snapshots, a JSON manifest, DuckDB queries.

A store is a directory ``DIR``::

    DIR/CURRENT                          name of the current snapshot (one line)
    DIR/snapshots/<id>/manifest.json     what the snapshot holds (files, rows, sha256)
    DIR/snapshots/<id>/flows/year=YYYY/part-0.parquet
    DIR/snapshots/<id>/<table>.parquet   countries, categories, category_hs, events, ...
    DIR/snapshots/<id>/derived/<name>.parquet   pre-aggregated results (optional)

Every write builds a complete new snapshot in ``DIR/snapshots/.tmp-<id>``, fsyncs it,
renames it to ``DIR/snapshots/<id>`` and then atomically replaces ``CURRENT``. Files that
did not change are hard-linked from the previous snapshot, so adding one year of flows
costs one year of writing. A write that is interrupted at any point (exception, kill,
power loss) leaves the previous ``CURRENT`` and its snapshot untouched; its leftovers are
ignored by readers and removed by the next write. Readers never lock: they read
``CURRENT`` once and then only that snapshot, which is immutable (a reader whose
snapshot is removed by a writer meanwhile retries on the new one). Writers take an
advisory lock on ``DIR/.lock``: one writer at a time, the others fail fast.

Ingesters stage their work in ``DIR/.ingest-*`` folders (:func:`staging_dir`). A live
ingest holds an advisory lock on ``.ingest-*/.owner.lock``; a folder whose lock is free
belongs to an ingest that was killed, and the next write removes it (a folder without
that file, made by an ingester that does not use :func:`staging_dir`, is removed once
nothing in it has changed for :data:`STALE_STAGING_SECONDS`).

Flows are hive-partitioned by year (each file also keeps its ``year`` column, so it is
self-contained); :func:`load_flows` and :func:`query` read them with DuckDB, pushing the
filters down to the Parquet scan.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> import pandas as pd
>>> from analytics.dataset import Dataset
>>> from analytics.schemas import Categories, CategoryHS, Countries, Events, empty
>>> flows = pd.DataFrame({"year": [2021, 2022, 2022], "exporter": ["JPN", "JPN", "NLD"],
...     "importer": ["USA", "KAZ", "KAZ"], "hs6": ["848620", "848620", "848620"],
...     "value_usd": [5.0, 1.0, 2.0]})
>>> ds = Dataset(flows=flows, countries=empty(Countries), categories=empty(Categories),
...     category_hs=empty(CategoryHS), events=empty(Events), name="tiny")
>>> with tempfile.TemporaryDirectory() as tmp:
...     store = write_dataset(ds, Path(tmp) / "store")
...     print(store_info(store)["years"])
...     print(load_flows(store, years=[2022], exporters=["NLD"]).to_string(index=False))
...     print(query(store, "SELECT year, sum(value_usd) AS v FROM flows "
...                        "GROUP BY year ORDER BY year").to_string(index=False))
...     read_dataset(store).flows.equals(ds.validated().flows)
[2021, 2022]
 year exporter importer    hs6  value_usd  quantity
 2022      NLD      KAZ 848620        2.0       NaN
 year   v
 2021 5.0
 2022 3.0
True
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analytics.dataset import REQUIRED_TABLES, TABLE_FIELDS, Dataset
from analytics.errors import (
    DataError,
    HSVersionError,
    StoreCorrupted,
    StoreError,
    StoreNotFound,
    UnknownCountry,
)
from analytics.schemas import HS6_PATTERN, HS_VERSIONS, ISO3_PATTERN, Flows, Table, empty, validate

__all__ = [
    "FORMAT_VERSION",
    "write_dataset",
    "read_dataset",
    "update_flows",
    "update_flow_files",
    "write_derived",
    "read_derived",
    "derived_names",
    "update_table_files",
    "table_files",
    "table_partitions",
    "read_table",
    "load_flows",
    "query",
    "manifest",
    "store_info",
    "verify_store",
    "is_store",
    "snapshot_dir",
    "snapshot_id",
    "staging_dir",
    "STALE_STAGING_SECONDS",
]

#: version of the on-disk layout and manifest written by this module
FORMAT_VERSION = 1

MANIFEST = "manifest.json"
CURRENT = "CURRENT"
SNAPSHOTS = "snapshots"
DERIVED = "derived"
_CURRENT_TMP = "CURRENT.tmp"
_LOCK = ".lock"
_TMP_PREFIX = ".tmp-"
_STAGING_PREFIX = ".ingest-"
_STAGING_OWNER = ".owner.lock"
#: a ``.ingest-*`` folder without an owner lock file (made by an ingester that does not
#: use :func:`staging_dir`) is abandoned once nothing in it changed for this long
STALE_STAGING_SECONDS = 24 * 3600
_ID_RE = re.compile(r"^\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{6}$")
_DERIVED_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_REMEDY = (
    "rebuild the store (`chokepoint demo` or re-run `chokepoint ingest ...`, or "
    "write_dataset(..., overwrite=True))"
)
_BUILD = "build one with `chokepoint demo` or `chokepoint ingest ...` (or write_dataset())"
_RETRIES = 3
_FLOW_COLUMNS = Flows.columns()


# ---------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------


def _corrupted(where: Any, problem: str) -> StoreCorrupted:
    return StoreCorrupted(f"{where}: {problem}. Remedy: {_REMEDY}")


def _root(path: str | os.PathLike) -> Path:
    return Path(path).expanduser()


def _new_id() -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return f"{stamp}-{secrets.token_hex(3)}"


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    """Make a directory's entries durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_durable(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _write_parquet(frame: pd.DataFrame, dest: Path, *, index: bool = False) -> None:
    """Write one frame to one Parquet file (zstd). The single place that writes tables."""
    table = pa.Table.from_pandas(frame, preserve_index=None if index else False)
    pq.write_table(table, dest, compression="zstd")


def _link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link ``src`` to ``dst``; copy when the filesystem refuses links."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _discard(paths: Iterable[Path]) -> None:
    """Remove leftover snapshot directories and files (best effort)."""
    for p in paths:
        try:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink(missing_ok=True)
        except OSError as err:
            warnings.warn(f"could not remove {p}: {err}; the next write retries",
                          stacklevel=3)


def _norm_years(years: int | Iterable[int] | None) -> list[int] | None:
    if years is None:
        return None
    if isinstance(years, (int, np.integer, str)):
        years = [years]
    out = set()
    for y in years:
        if isinstance(y, (bool, np.bool_)) or not isinstance(y, (int, np.integer)):
            raise DataError("years must be integers", value=y,
                            remedy="pass e.g. years=[2021, 2022]")
        out.add(int(y))
    return sorted(out)


def _norm_values(values: str | Iterable[Any] | None, what: str) -> list[str] | None:
    if values is None:
        return None
    if isinstance(values, (str, int, np.integer)):
        values = [values]
    out = []
    for v in values:
        if what == "hs6" and isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            v = f"{int(v):06d}"
        if not isinstance(v, str):
            raise DataError(f"{what} filter values must be text", value=v,
                            remedy=f"pass {what} as a list of strings")
        out.append(v)
    return list(dict.fromkeys(out))


_HS6_RE = re.compile(r"^\d{6}$")


def _check_hs6_filter(values: list[str] | None) -> list[str] | None:
    """Six-digit codes only: a shorter code would silently match nothing."""
    if values is None:
        return None
    out = []
    for v in values:
        code = v.strip()
        if not _HS6_RE.match(code):
            if code.isdigit() and len(code) in (2, 4):
                remedy = (f"load_flows matches whole six-digit codes; for chapter/heading "
                          f"{code} select the codes of a category (analytics.reference."
                          "category_hs, analytics.network.category_flows) or run "
                          f"query(DIR, \"SELECT * FROM flows WHERE hs6 LIKE '{code}%'\")")
            elif code.isdigit() and len(code) == 5:
                remedy = f"write the leading zero: '0{code}'"
            else:
                remedy = "pass six-digit HS codes as text, e.g. hs6=['854231', '850511']"
            raise DataError("hs6 filter values are six-digit HS codes", source="load_flows",
                            column="hs6", value=v, remedy=remedy)
        out.append(code)
    return list(dict.fromkeys(out))


def _check_country_filter(values: list[str] | None, what: str,
                          known: Callable[[], set[str]]) -> list[str] | None:
    """Upper-case ISO3 codes; an unknown code raises :class:`UnknownCountry`."""
    if values is None:
        return None
    from analytics import reference

    out = list(dict.fromkeys(v.strip().upper() for v in values))
    unknown = [c for c in out if c not in reference.known_iso3()]
    if unknown:
        unknown = [c for c in unknown if c not in known()]
    if unknown:
        raise UnknownCountry(
            f"load_flows({what}=...): unknown country code(s) {unknown}: use ISO3 codes "
            "of the countries reference table (data/reference/countries.csv), e.g. "
            "'JPN', 'TWN'")
    return out


def _plain_provenance(provenance: Mapping[str, Mapping[str, Any]] | None) -> dict:
    """Provenance as plain JSON data; an error names the table whose entry is not JSON."""
    out: dict[str, dict] = {}
    for table, entry in (provenance or {}).items():
        if not isinstance(entry, Mapping):
            raise DataError("provenance must map a table name to a mapping",
                            source="provenance", column=str(table), value=entry,
                            remedy='pass e.g. {"flows": {"source": "BACI", "version": "V202601"}}')
        try:
            out[str(table)] = json.loads(json.dumps(dict(entry), allow_nan=False))
        except (TypeError, ValueError) as err:
            raise DataError(f"provenance is not JSON-serialisable ({err})",
                            source="provenance", column=str(table),
                            remedy="use strings, numbers, booleans, lists and dicts") from err
    return out


def _check_hs_version(hs_version: str, where: str) -> None:
    if hs_version not in HS_VERSIONS:
        raise HSVersionError(f"unknown HS version {hs_version!r}", source=where,
                             remedy=f"use one of {', '.join(HS_VERSIONS)}")


# ---------------------------------------------------------------------------------------
# reading the pointer, the manifest and the files
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Snapshot:
    root: Path
    id: str
    dir: Path
    manifest: dict

    def entries(self, table: str, years: list[int] | None = None) -> list[dict]:
        out = [e for e in self.manifest["files"] if e["table"] == table]
        if table == "flows":
            if years is not None:
                wanted = set(years)
                out = [e for e in out if e["year"] in wanted]
            out.sort(key=lambda e: e["year"])
        return out

    def derived(self) -> dict[str, dict]:
        return {e["name"]: e for e in self.manifest["files"] if e["table"] == DERIVED}


def _read_current(root: Path) -> str:
    cur = root / CURRENT
    try:
        text = cur.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StoreNotFound(f"no store at {root} (no {CURRENT} file); {_BUILD}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise _corrupted(cur, f"cannot be read ({err})") from err
    sid = text.strip()
    if not _ID_RE.match(sid):
        raise _corrupted(cur, f"names {sid[:80]!r}, which is not a snapshot id")
    if not (root / SNAPSHOTS / sid).is_dir():
        raise _corrupted(cur, f"names snapshot {sid!r} but {root / SNAPSHOTS / sid} "
                              "does not exist")
    return sid


def _peek_current(root: Path) -> str | None:
    try:
        return (root / CURRENT).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _check_manifest(man: Any, mpath: Path) -> dict:
    if not isinstance(man, dict):
        raise _corrupted(mpath, "is not a JSON object")
    version = man.get("format_version")
    if version != FORMAT_VERSION:
        raise _corrupted(mpath, f"has format version {version!r}; this code reads "
                                f"version {FORMAT_VERSION} only (a newer chokepoint-"
                                "analytics may read it)")
    for key, kind in (("files", list), ("hs_version", str), ("name", str),
                      ("synthetic", bool), ("provenance", dict), ("created", str),
                      ("tables", dict), ("years", list)):
        if not isinstance(man.get(key), kind):
            raise _corrupted(mpath, f"key {key!r} is missing or not a {kind.__name__}")
    for i, e in enumerate(man["files"]):
        ok = (isinstance(e, dict) and isinstance(e.get("path"), str)
              and isinstance(e.get("rows"), int) and isinstance(e.get("bytes"), int)
              and isinstance(e.get("sha256"), str) and _SHA_RE.match(e["sha256"])
              and (e.get("table") in TABLE_FIELDS or e.get("table") == DERIVED))
        if ok:
            parts = Path(e["path"]).parts
            ok = not Path(e["path"]).is_absolute() and ".." not in parts and len(parts) > 0
        if ok and e["table"] == "flows":
            ok = isinstance(e.get("year"), int)
        if ok and e["table"] == DERIVED:
            ok = isinstance(e.get("name"), str)
        if not ok:
            raise _corrupted(mpath, f"files[{i}] is not a valid file entry: {e!r}")
    return man


def _load_snapshot(root: Path, sid: str) -> _Snapshot:
    snap = root / SNAPSHOTS / sid
    mpath = snap / MANIFEST
    try:
        raw = mpath.read_bytes()
    except FileNotFoundError:
        raise _corrupted(mpath, "is missing") from None
    except OSError as err:
        raise _corrupted(mpath, f"cannot be read ({err})") from err
    try:
        man = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise _corrupted(mpath, f"is not valid JSON ({err})") from err
    return _Snapshot(root, sid, snap, _check_manifest(man, mpath))


def _open(path: str | os.PathLike) -> _Snapshot:
    root = _root(path)
    return _load_snapshot(root, _read_current(root))


def _reading(path: str | os.PathLike, fn: Callable[[_Snapshot], Any]) -> Any:
    """Run ``fn`` on the current snapshot; retry if a writer switched it meanwhile.

    A writer removes the old snapshot after switching ``CURRENT``; a reader that was
    still on it sees missing files. That is not corruption: read the new snapshot.
    """
    root = _root(path)
    for attempt in range(_RETRIES):
        sid = _read_current(root)
        try:
            return fn(_load_snapshot(root, sid))
        except StoreCorrupted:
            if attempt + 1 < _RETRIES and _peek_current(root) not in (sid, None):
                continue
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def _file(snap: _Snapshot, entry: dict, *, verify: bool = False) -> Path:
    """Path of a listed file, after checking it exists (and its size, and sha256)."""
    p = snap.dir / entry["path"]
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        raise _corrupted(p, "is listed in the manifest but missing") from None
    if size != entry["bytes"]:
        raise _corrupted(p, f"has {size} bytes but the manifest says {entry['bytes']} "
                            "(truncated or modified)")
    if verify:
        digest = _sha256(p)
        if digest != entry["sha256"]:
            raise _corrupted(p, f"sha256 {digest} does not match the manifest "
                                f"({entry['sha256']}); the file was modified or damaged")
    return p


def _string_type(t: pa.DataType) -> bool:
    is_view = getattr(pa.types, "is_string_view", lambda _t: False)
    return pa.types.is_string(t) or pa.types.is_large_string(t) or is_view(t)


def _kind_ok(t: pa.DataType, kind: str) -> bool:
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_null(t):
        return True
    if kind == "str":
        return _string_type(t)
    if kind == "int":
        return pa.types.is_integer(t)
    if kind == "float":
        return pa.types.is_floating(t) or pa.types.is_integer(t)
    if kind == "bool":
        return pa.types.is_boolean(t)
    if kind == "date":
        return pa.types.is_timestamp(t) or pa.types.is_date(t)
    return False


def _schema_problem(schema: pa.Schema, table: type[Table],
                    optional: Iterable[str] = ()) -> str | None:
    """Why a Parquet schema does not fit ``table`` (None when it fits)."""
    specs = table.__columns__
    names = [n for n in schema.names if n != "__index_level_0__"]
    extra = [n for n in names if n not in specs]
    missing = [c for c, s in specs.items()
               if s.required and c not in names and c not in optional]
    wrong = [f"{n} ({schema.field(n).type})" for n in names
             if n in specs and not _kind_ok(schema.field(n).type, specs[n].dtype)]
    if not (extra or missing or wrong):
        return None
    parts = []
    if missing:
        parts.append(f"missing columns {missing}")
    if extra:
        parts.append(f"unexpected columns {extra}")
    if wrong:
        parts.append(f"columns of the wrong type {wrong}")
    return (f"columns do not match table {table.__name__} ({'; '.join(parts)}; "
            f"expected {table.columns()})")


def _check_schema(p: Path, table: type[Table]) -> None:
    try:
        schema = pq.read_schema(p)
    except (pa.ArrowException, OSError) as err:
        raise _corrupted(p, f"is not a readable Parquet file ({err})") from err
    problem = _schema_problem(schema, table)
    if problem:
        raise _corrupted(p, problem)


def _canonical(frame: pd.DataFrame, table: type[Table], where: Any,
               columns: list[str] | None = None) -> pd.DataFrame:
    """Restore the canonical dtypes (those of :func:`schemas.empty`) and column order.

    The data were validated when they were written, so this is a cast, not a
    validation: fast enough for millions of rows. Date columns keep their unit.
    """
    target = empty(table).dtypes
    specs = table.__columns__
    out = {}
    for col in columns if columns is not None else table.columns():
        spec = specs[col]
        if col not in frame.columns:
            if spec.required:
                raise _corrupted(where, f"column {col!r} is missing")
            na = np.nan if spec.dtype == "float" else pd.NA
            out[col] = pd.Series(na, index=frame.index).astype(target[col])
            continue
        s = frame[col]
        try:
            if spec.dtype == "date":
                if not pd.api.types.is_datetime64_dtype(s.dtype):
                    s = pd.to_datetime(s)
            elif s.dtype != target[col]:
                s = s.astype(target[col])
        except (TypeError, ValueError) as err:
            raise _corrupted(where, f"column {col!r} cannot be read as "
                                    f"{spec.dtype} ({err})") from err
        out[col] = s
    result = pd.DataFrame(out, index=frame.index)
    return result.reset_index(drop=True)


def _read_parquet_file(p: Path) -> pa.Table:
    try:
        return pq.ParquetFile(p).read()
    except (pa.ArrowException, OSError) as err:
        raise _corrupted(p, f"is not a readable Parquet file ({err})") from err


def _read_table(snap: _Snapshot, entry: dict, table: type[Table], verify: bool) -> pd.DataFrame:
    p = _file(snap, entry, verify=verify)
    _check_schema(p, table)
    data = _read_parquet_file(p)
    if data.num_rows != entry["rows"]:
        raise _corrupted(p, f"has {data.num_rows} rows but the manifest says {entry['rows']}")
    return _canonical(data.to_pandas(), table, p)


# ---------------------------------------------------------------------------------------
# writing: build a new snapshot, then switch CURRENT
# ---------------------------------------------------------------------------------------


class _Builder:
    """Collects the files of a snapshot being built in a temporary directory."""

    def __init__(self, tmp: Path, prev: _Snapshot | None) -> None:
        self.tmp = tmp
        self.prev = prev
        self.files: list[dict] = []
        self.moved: list[Path] = []  # sources to unlink once the snapshot is current

    def _dest(self, rel: str) -> Path:
        dest = self.tmp / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        return dest

    def _entry(self, rel: str, table: str, rows: int, **extra) -> None:
        p = self.tmp / rel
        self.files.append({"path": rel, "table": table, **extra, "rows": int(rows),
                           "sha256": _sha256(p), "bytes": p.stat().st_size})

    def write_frame(self, rel: str, table: str, frame: pd.DataFrame, *,
                    index: bool = False, **extra) -> None:
        dest = self._dest(rel)
        _write_parquet(frame, dest, index=index)
        _fsync_file(dest)
        self._entry(rel, table, len(frame), **extra)

    def add_file(self, rel: str, table: str, src: Path, rows: int, *, move: bool,
                 **extra) -> None:
        dest = self._dest(rel)
        if move:
            _link_or_copy(src, dest)  # src is unlinked only after the switch
            self.moved.append(src)
        else:
            shutil.copyfile(src, dest)
        _fsync_file(dest)
        self._entry(rel, table, rows, **extra)

    def link(self, entry: dict) -> None:
        """Reuse an unchanged file of the previous snapshot (hard link, else copy)."""
        assert self.prev is not None
        src = _file(self.prev, entry)
        _link_or_copy(src, self._dest(entry["path"]))
        self.files.append(dict(entry))

    def link_all(self, keep: Callable[[dict], bool]) -> None:
        if self.prev is not None:
            for e in self.prev.manifest["files"]:
                if keep(e):
                    self.link(e)

    def manifest(self, sid: str, *, name: str, synthetic: bool, hs_version: str,
                 provenance: dict) -> dict:
        order = {t: i for i, t in enumerate([*TABLE_FIELDS, DERIVED])}
        files = sorted(self.files, key=lambda e: (order[e["table"]], e.get("year", 0),
                                                  e.get("name", ""), e["path"]))
        tables: dict[str, int] = {}
        for e in files:
            if e["table"] != DERIVED:
                tables[e["table"]] = tables.get(e["table"], 0) + e["rows"]
        tables.setdefault("flows", 0)
        return {
            "format_version": FORMAT_VERSION,
            "snapshot": sid,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "name": name,
            "synthetic": bool(synthetic),
            "hs_version": hs_version,
            "provenance": provenance,
            "tables": {t: tables[t] for t in TABLE_FIELDS if t in tables},
            "years": sorted(e["year"] for e in files if e["table"] == "flows"),
            "derived": {e["name"]: e["rows"] for e in files if e["table"] == DERIVED},
            "files": files,
        }


@contextlib.contextmanager
def _write_lock(root: Path) -> Iterator[None]:
    """One writer at a time (advisory lock on DIR/.lock; readers never lock)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory lock
        yield
        return
    with open(root / _LOCK, "a+b") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreError(f"another process is writing to the store at {root}; wait "
                             "for it to finish and try again") from None
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


#: staging folders of this process that are in use
_LIVE_STAGING: set[Path] = set()


def _fcntl():
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks
        return None
    return fcntl


def _claim(folder: Path):
    """Create and lock ``folder/.owner.lock``; the open file keeps the lock until closed.

    The lock file is locked under a temporary name and then renamed, so a writer never
    sees an owner file whose lock is not yet taken.
    """
    fcntl = _fcntl()
    if fcntl is None:  # pragma: no cover - Windows: the folder's age decides
        return open(folder / _STAGING_OWNER, "a+b")
    pending = folder / f"{_STAGING_OWNER}.new"
    fh = open(pending, "a+b")
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.replace(pending, folder / _STAGING_OWNER)
    except BaseException:
        fh.close()
        raise
    return fh


@contextlib.contextmanager
def staging_dir(path: str | os.PathLike, *, prefix: str = _STAGING_PREFIX) -> Iterator[Path]:
    """A private working folder inside the store directory for an ingest in progress.

    The folder (``DIR/.ingest-XXXX``, on the store's filesystem so finished files can be
    hard-linked or renamed into a snapshot) is removed when the block ends. While the
    block runs, the process holds an advisory lock on its ``.owner.lock`` file; if the
    process is killed the lock is released, and the next write to the store (any
    :func:`write_dataset`, :func:`update_flow_files`, ...) removes the folder. Writers
    never remove a folder whose lock is held, so concurrent ingests are safe.

    Parameters
    ----------
    path : path-like
        Store directory (created when absent).
    prefix : str, default ".ingest-"
        Folder name prefix; must start with ``.ingest-``.

    Yields
    ------
    Path
        The folder.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with staging_dir(tmp) as work:
    ...         print(work.name.startswith(".ingest-"), (work / ".owner.lock").is_file())
    ...     print(work.exists())
    True True
    False
    """
    if not prefix.startswith(_STAGING_PREFIX):
        raise ValueError(f"staging folder prefixes start with {_STAGING_PREFIX!r}, "
                         f"got {prefix!r}")
    root = _root(path)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StoreError(f"cannot create the store directory {root}: {err}") from err
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
    _LIVE_STAGING.add(folder.resolve())
    owner = None
    try:
        owner = _claim(folder)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # while the lock is still held
        if owner is not None:
            owner.close()
        if folder.exists():  # pragma: no cover - Windows cannot remove open files
            shutil.rmtree(folder, ignore_errors=True)
        _LIVE_STAGING.discard(folder.resolve())


def _quiet_seconds(folder: Path) -> float:
    """Seconds since anything in ``folder`` last changed (0 when it cannot be read)."""
    try:
        newest = folder.stat().st_mtime
        for base, dirs, files in os.walk(folder):
            for name in (*dirs, *files):
                with contextlib.suppress(FileNotFoundError):
                    newest = max(newest, os.stat(os.path.join(base, name),
                                                 follow_symlinks=False).st_mtime)
    except OSError:
        return 0.0
    return time.time() - newest


def _abandoned(folder: Path) -> bool:
    """Whether a ``.ingest-*`` folder belongs to no live ingest (see :func:`staging_dir`)."""
    if folder.resolve() in _LIVE_STAGING:  # ours (where locks are per process, e.g. NFS)
        return False
    owner = folder / _STAGING_OWNER
    fcntl = _fcntl()
    if fcntl is not None and owner.is_file():
        try:
            fh = open(owner, "rb")
        except OSError:
            return False
        with fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # held by a live ingest (or not lockable): keep it
                return False
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            return True
    # no owner lock (another ingester, or an owner still being set up): by age only
    return _quiet_seconds(folder) >= STALE_STAGING_SECONDS


def _leftovers(root: Path, keep: set[str]) -> list[Path]:
    """Temporary and superseded snapshot directories (only names this module makes), and
    the staging folders of killed ingests (call it under the write lock)."""
    out = []
    snaps = root / SNAPSHOTS
    if snaps.is_dir():
        for p in snaps.iterdir():
            if p.name in keep:
                continue
            if p.name.startswith(_TMP_PREFIX) or _ID_RE.match(p.name):
                out.append(p)
    if (root / _CURRENT_TMP).exists():
        out.append(root / _CURRENT_TMP)
    with contextlib.suppress(OSError):
        for p in root.iterdir():
            if (p.name.startswith(_STAGING_PREFIX) and p.is_dir() and not p.is_symlink()
                    and _abandoned(p)):
                out.append(p)
    return out


def _commit(
    path: str | os.PathLike,
    populate: Callable[[_Builder, _Snapshot | None], dict],
    *,
    previous: str,
    keep_previous: bool,
) -> Path:
    """Build a snapshot with ``populate`` and make it current, atomically.

    ``previous``: "required" (the store must exist and be readable), "optional" (None
    when there is no store) or "ignore" (never read it: a full overwrite).
    ``populate(builder, prev)`` writes/links the files and returns the manifest's
    name, synthetic, hs_version and provenance.
    """
    root = _root(path)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StoreError(f"cannot create the store directory {root}: {err}") from err
    if not root.is_dir():
        raise StoreError(f"{root} is not a directory")
    with _write_lock(root):
        prev: _Snapshot | None = None
        if previous == "required":
            prev = _open(root)
        elif previous == "optional" and is_store(root):
            prev = _open(root)
        old_id = prev.id if prev is not None else _peek_current(root)
        # leftovers of interrupted writes: nobody else writes (we hold the lock)
        _discard(p for p in _leftovers(root, keep={old_id or ""})
                 if p.name.startswith((_TMP_PREFIX, _STAGING_PREFIX))
                 or p.name == _CURRENT_TMP)
        snaps = root / SNAPSHOTS
        snaps.mkdir(exist_ok=True)
        sid = _new_id()
        tmp = snaps / f"{_TMP_PREFIX}{sid}"
        final = snaps / sid
        tmp.mkdir()
        switched = False
        try:
            builder = _Builder(tmp, prev)
            meta = populate(builder, prev)
            man = builder.manifest(sid, **meta)
            _write_durable(tmp / MANIFEST, json.dumps(man, indent=1).encode("utf-8"))
            for d in sorted({p.parent for p in tmp.rglob("*")}, key=lambda d: -len(d.parts)):
                _fsync_dir(d)
            os.rename(tmp, final)
            _fsync_dir(snaps)
            _write_durable(root / _CURRENT_TMP, f"{sid}\n".encode())
            os.replace(root / _CURRENT_TMP, root / CURRENT)
            switched = True
            _fsync_dir(root)
        except BaseException:
            if not switched:
                _discard([tmp, final, root / _CURRENT_TMP])
            raise
        keep = {sid} | ({old_id} if keep_previous and old_id else set())
        _discard(_leftovers(root, keep=keep))
        _discard(builder.moved)
    return root


# ---------------------------------------------------------------------------------------
# public API: whole datasets
# ---------------------------------------------------------------------------------------


def _split_years(flows: pd.DataFrame) -> Iterator[tuple[int, pd.DataFrame]]:
    """Flow partitions by year, each keeping the rows' relative order."""
    if len(flows) == 0:
        return
    for year, part in flows.groupby("year", sort=True):
        yield int(year), part.reset_index(drop=True)


def _flows_rel(year: int) -> str:
    return f"flows/year={year}/part-0.parquet"


def write_dataset(
    dataset: Dataset,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    validate: bool = True,
    keep_previous: bool = False,
) -> Path:
    """Write a whole :class:`~analytics.dataset.Dataset` as a new snapshot of a store.

    Parameters
    ----------
    dataset : Dataset
        The tables to write; optional tables that are None are simply absent.
    path : path-like
        Store directory; created if needed.
    overwrite : bool, default False
        Replace an existing store. Without it an existing store is an error.
    validate : bool, default True
        Run :meth:`Dataset.validated` first (turn off only for data just validated).
    keep_previous : bool, default False
        Keep the snapshot that was current before this write (otherwise it is removed
        once the new one is current).

    Returns
    -------
    Path
        The store directory (pass it to :func:`read_dataset`, :func:`load_flows`, ...).

    Raises
    ------
    StoreError
        ``path`` already holds a store and ``overwrite`` is False.
    SchemaViolation
        A table fails validation (every failing cell is listed).
    HSVersionError
        ``dataset.hs_version`` is not a known HS version.
    DataError
        The provenance is not JSON data.

    Notes
    -----
    Flows are written one Parquet file per year, each keeping the rows' relative order;
    they are read back in ascending year order, so a dataset whose flows are sorted by
    year (as produced by the sources and the demo) reads back identical. Derived tables
    of the previous snapshot are not carried over (they were computed from other data).
    """
    root = _root(path)
    if is_store(root) and not overwrite:
        raise _refuse(root)
    for key in REQUIRED_TABLES:
        if getattr(dataset, key) is None:
            raise DataError(f"dataset {dataset.name!r} has no {key} table",
                            remedy=f"{key} is required; pass an empty table "
                                   "(schemas.empty) if there is nothing to store")
    _check_hs_version(dataset.hs_version, f"dataset {dataset.name!r}")
    provenance = _plain_provenance(dataset.provenance)
    ds = dataset.validated() if validate else dataset

    def populate(b: _Builder, prev: _Snapshot | None) -> dict:
        if not overwrite and is_store(root):  # re-checked under the lock
            raise _refuse(root)
        for key, frame in ds.tables().items():
            if key == "flows":
                for year, part in _split_years(frame):
                    b.write_frame(_flows_rel(year), "flows", part, year=year)
            else:
                b.write_frame(f"{key}.parquet", key, frame)
        return {"name": str(ds.name), "synthetic": bool(ds.synthetic),
                "hs_version": ds.hs_version, "provenance": provenance}

    return _commit(root, populate, previous="ignore", keep_previous=keep_previous)


def _refuse(root: Path) -> StoreError:
    return StoreError(f"{root} already holds a store (snapshot {_peek_current(root)}); "
                      "pass overwrite=True to replace it, or use update_flows to add or "
                      "replace years")


def read_dataset(
    path: str | os.PathLike,
    *,
    verify: bool = False,
    years: int | Iterable[int] | None = None,
    partitioned: bool = False,
) -> Dataset:
    """Read the current snapshot of a store back into a :class:`~analytics.dataset.Dataset`.

    Parameters
    ----------
    path : path-like
        Store directory.
    verify : bool, default False
        Check the sha256 of every file read against the manifest (sizes and schemas are
        always checked).
    years : int or iterable of int, optional
        Read only these flows years (years absent from the store are ignored).
    partitioned : bool, default False
        Also read the *partitioned* tables (written by :func:`update_table_files`, e.g.
        transaction-level ``shipments``: possibly tens of millions of rows). By default
        they are skipped (the dataset's field is None); read them in parts with
        :func:`read_table`, or list their files with :func:`table_files` (for Dask).

    Returns
    -------
    Dataset
        Tables with canonical dtypes and columns; hs_version, name, synthetic and
        provenance as written. Flows come in ascending year order.

    Raises
    ------
    StoreNotFound
        No store at ``path``.
    StoreCorrupted
        Missing snapshot or file, unreadable manifest, unknown format version, size or
        checksum mismatch, or a file whose columns do not match its table. The message
        names the file.
    """
    wanted = _norm_years(years)

    def read(snap: _Snapshot) -> Dataset:
        man = snap.manifest
        tables: dict[str, pd.DataFrame] = {}
        for key, table in TABLE_FIELDS.items():
            entries = snap.entries(key, wanted)
            if key == "flows":
                parts = [_read_table(snap, e, table, verify) for e in entries]
                tables[key] = (pd.concat(parts, ignore_index=True) if parts
                               else empty(table))
            elif any(_PARTITION in e for e in entries):
                if partitioned:
                    parts = [_read_table(snap, e, table, verify)
                             for e in sorted(entries, key=_partition_order)]
                    tables[key] = pd.concat(parts, ignore_index=True)
            elif entries:
                if len(entries) > 1:
                    raise _corrupted(snap.dir / MANIFEST, f"lists {len(entries)} files "
                                                          f"for table {key!r}")
                tables[key] = _read_table(snap, entries[0], table, verify)
            elif key in REQUIRED_TABLES:
                raise _corrupted(snap.dir / MANIFEST, f"lists no file for the required "
                                                      f"table {key!r}")
        return Dataset(**tables, hs_version=man["hs_version"], name=man["name"],
                       synthetic=man["synthetic"], provenance=copy.deepcopy(man["provenance"]))

    return _reading(path, read)


# ---------------------------------------------------------------------------------------
# public API: replacing flows years
# ---------------------------------------------------------------------------------------


def _hs_mismatch(store_hs: str, given: str, root: Path) -> HSVersionError:
    return HSVersionError(
        f"the store holds {store_hs} flows but these flows are {given}",
        source=str(root),
        remedy=f"ingest {given} data into a separate store, or convert it to {store_hs} "
               "with the HS concordance (hs_concordance table) first",
    )


def _keep_unless(replaced_years: set[int], replaced_tables: set[str],
                 keep_derived: bool) -> Callable[[dict], bool]:
    def keep(e: dict) -> bool:
        if e["table"] == "flows":
            return e["year"] not in replaced_years
        if e["table"] == DERIVED:
            return keep_derived
        return e["table"] not in replaced_tables
    return keep


def update_flows(
    path: str | os.PathLike,
    flows: pd.DataFrame,
    *,
    years: int | Iterable[int] | None = None,
    provenance: Mapping[str, Mapping[str, Any]] | None = None,
    hs_version: str | None = None,
    keep_previous: bool = False,
    keep_derived: bool = False,
) -> Path:
    """Replace some years of flows in a new snapshot; every other file is hard-linked.

    Parameters
    ----------
    path : path-like
        An existing store.
    flows : DataFrame
        Canonical flows (validated here with :class:`~analytics.schemas.Flows`).
    years : int or iterable of int, optional
        Years to replace; default: every year present in ``flows``. A listed year with no
        rows in ``flows`` is removed from the store.
    provenance : mapping, optional
        table name -> provenance entry; each given entry replaces the stored one
        (e.g. ``{"flows": {"source": "BACI", "version": "V202601"}}``).
    hs_version : str, optional
        HS version of ``flows``; must equal the store's (default: assume it does).
    keep_previous : bool, default False
        Keep the snapshot that was current before this write.
    keep_derived : bool, default False
        Carry derived tables over. By default they are dropped, because they were
        computed from the flows being replaced; recompute them with :func:`write_derived`.

    Returns
    -------
    Path
        The store directory.

    Raises
    ------
    StoreNotFound, StoreCorrupted
        No readable store at ``path``.
    HSVersionError
        ``hs_version`` differs from the store's.
    SchemaViolation
        ``flows`` fails validation.
    DataError
        ``flows`` has rows outside ``years``.
    """
    root = _root(path)
    wanted = _norm_years(years)
    prov = _plain_provenance(provenance)
    if hs_version is not None:
        _check_hs_version(hs_version, "update_flows(hs_version=...)")
        store_hs = _reading(root, lambda s: s.manifest["hs_version"])
        if store_hs != hs_version:  # fail before validating millions of rows
            raise _hs_mismatch(store_hs, hs_version, root)
    else:
        _reading(root, lambda s: None)  # StoreNotFound / StoreCorrupted early
    data = validate(flows, Flows, source="update_flows(flows)")
    present = sorted(int(y) for y in data["year"].unique())
    if wanted is None:
        wanted = present
    else:
        outside = sorted(set(present) - set(wanted))
        if outside:
            raise DataError(f"flows has rows for years {outside} not in years={wanted}",
                            source="update_flows(flows)", column="year", value=outside[0],
                            remedy="pass every year to replace in years=, or drop those rows")

    def populate(b: _Builder, prev: _Snapshot | None) -> dict:
        assert prev is not None
        man = prev.manifest
        if hs_version is not None and man["hs_version"] != hs_version:
            raise _hs_mismatch(man["hs_version"], hs_version, root)
        b.link_all(_keep_unless(set(wanted), set(), keep_derived))
        for year, part in _split_years(data):
            b.write_frame(_flows_rel(year), "flows", part, year=year)
        return {"name": man["name"], "synthetic": man["synthetic"],
                "hs_version": man["hs_version"],
                "provenance": {**man["provenance"], **prov}}

    return _commit(root, populate, previous="required", keep_previous=keep_previous)


def _canonical_flows_schema(schema: pa.Schema) -> bool:
    if schema.names != _FLOW_COLUMNS:
        return False
    types = dict(zip(schema.names, schema.types, strict=True))
    return (pa.types.is_int64(types["year"])
            and all(_string_type(types[c]) for c in ("exporter", "importer", "hs6"))
            and pa.types.is_float64(types["value_usd"])
            and pa.types.is_float64(types["quantity"]))


def _duck() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection without DuckDB's own progress bar on stdout."""
    con = duckdb.connect(":memory:")
    with contextlib.suppress(duckdb.Error):  # Jupyter without ipywidgets refuses the setting
        con.execute("SET enable_progress_bar = false")
    return con


def _prepare_flow_file(src: Path, year: int, staging: Path,
                       trusted: bool = False) -> tuple[Path, int, bool]:
    """Check a ready flows file; rewrite it with DuckDB when its layout is not canonical.

    ``trusted``: the producer already enforced every row check in the query that wrote the
    file (the BACI ingester does), so a canonical file is only checked by its schema and
    row count (Parquet metadata) instead of a second scan.

    Returns (file to place, rows, whether it is a rewritten copy).
    """
    try:
        schema = pq.read_schema(src)
    except FileNotFoundError:
        raise DataError("flows file not found", source=str(src),
                        remedy="check the path produced by the ingest step") from None
    except (pa.ArrowException, OSError) as err:
        raise DataError(f"not a readable Parquet file ({err})", source=str(src),
                        remedy="re-run the ingest step that produced it") from err
    problem = _schema_problem(schema, Flows, optional=("year",))
    if problem:
        raise DataError(problem, source=str(src),
                        remedy="write the canonical flows columns "
                               f"{_FLOW_COLUMNS} (year may come from the partition)")
    names = set(schema.names)
    if trusted and _canonical_flows_schema(schema):
        return src, int(pq.ParquetFile(src).metadata.num_rows), False
    con = _duck()
    try:
        year_bad = "count(*) FILTER (WHERE year IS DISTINCT FROM $year)" \
            if "year" in names else "0"
        stats = con.execute(
            f"""SELECT count(*),
                {year_bad},
                count(*) FILTER (WHERE exporter IS NULL OR NOT regexp_matches(exporter, $iso)
                                 OR importer IS NULL OR NOT regexp_matches(importer, $iso)),
                count(*) FILTER (WHERE exporter = importer),
                count(*) FILTER (WHERE hs6 IS NULL OR NOT regexp_matches(hs6, $hs6)),
                count(*) FILTER (WHERE value_usd IS NULL OR NOT isfinite(value_usd)
                                 OR value_usd < 0)
            FROM read_parquet($src, hive_partitioning = false)""",
            {"iso": ISO3_PATTERN, "hs6": HS6_PATTERN, "src": str(src),
             **({"year": year} if "year" in names else {})},
        ).fetchall()
        rows, *bad = stats[0]
        checks = (f"year = {year}", "exporter/importer ISO3", "exporter != importer",
                  "hs6 six digits", "value_usd >= 0 and finite")
        failed = [f"{n} row(s) fail {c}" for n, c in zip(bad, checks, strict=True) if n]
        if failed:
            raise DataError("flows file fails checks: " + "; ".join(failed),
                            source=str(src),
                            remedy="fix the ingest query so it writes canonical flows")
        if _canonical_flows_schema(schema):
            return src, int(rows), False
        cols = []
        for c, spec in Flows.__columns__.items():
            sql_type = {"int": "BIGINT", "float": "DOUBLE", "str": "VARCHAR"}[spec.dtype]
            expr = f'"{c}"' if c in names else ("$year" if c == "year" else "NULL")
            cols.append(f'CAST({expr} AS {sql_type}) AS "{c}"')
        out = staging / f"rewrite-{year}.parquet"
        con.sql(f"SELECT {', '.join(cols)} FROM read_parquet($src, hive_partitioning = false)",
                params={"year": year, "src": str(src)} if "year" not in names
                else {"src": str(src)}).write_parquet(str(out), compression="zstd")
        return out, int(rows), True
    finally:
        con.close()


def update_flow_files(
    path: str | os.PathLike,
    files_by_year: Mapping[int, str | os.PathLike],
    *,
    provenance: Mapping[str, Mapping[str, Any]] | None = None,
    hs_version: str | None = None,
    dataset_name: str | None = None,
    reference_tables: Mapping[str, pd.DataFrame] | None = None,
    synthetic: bool = False,
    move: bool = False,
    keep_previous: bool = False,
    keep_derived: bool = False,
    trusted: bool = False,
) -> Path:
    """Place ready flows Parquet files (one per year) into a new snapshot.

    ``trusted=True`` is for producers that enforce every flows check in the query that
    writes the file: canonical files are then not scanned again.

    For ingesters that stream with DuckDB (``COPY (...) TO 'year.parquet'``): the files
    are never loaded into pandas. Each is checked with one DuckDB scan (year, ISO3
    codes, exporter != importer, six-digit hs6, non-negative finite values; uniqueness
    is the ingester's job) and rewritten by DuckDB only when its columns are not in the
    canonical order and types (e.g. no ``year`` column because the year is implied).

    Parameters
    ----------
    path : path-like
        Store directory; the store is created if it does not exist yet.
    files_by_year : mapping of int to path
        Flows year -> Parquet file holding exactly that year's flows.
    provenance : mapping, optional
        table name -> provenance entry, replacing the stored entries.
    hs_version : str, optional
        HS version of the flows; required when creating the store, otherwise it must
        equal the store's.
    dataset_name : str, optional
        Name of the dataset (default: the store's, or "dataset" when creating).
    reference_tables : mapping of str to DataFrame, optional
        Other tables (countries, categories, category_hs, hs_concordance, events, ...) to
        validate and write beside the flows, replacing stored ones. Creating a store
        needs the required ones (countries, categories, category_hs, events).
    synthetic : bool, default False
        Mark a newly created store as synthetic data.
    move : bool, default False
        Move the files into the store (they are unlinked once the new snapshot is
        current; on failure they stay where they were). Otherwise copy them.
    keep_previous, keep_derived : bool, default False
        As in :func:`update_flows`.

    Returns
    -------
    Path
        The store directory.

    Raises
    ------
    HSVersionError
        ``hs_version`` missing when creating, unknown, or different from the store's.
    DataError
        A file is missing, unreadable, has wrong columns or fails a check; a reference
        table name is unknown; a required table is missing when creating.
    SchemaViolation
        A reference table fails validation.
    StoreCorrupted
        The existing store cannot be read.
    """
    root = _root(path)
    prov = _plain_provenance(provenance)
    if hs_version is not None:
        _check_hs_version(hs_version, "update_flow_files(hs_version=...)")
    refs: dict[str, pd.DataFrame] = {}
    for key, frame in (reference_tables or {}).items():
        if key not in TABLE_FIELDS or key == "flows":
            raise DataError(f"unknown reference table {key!r}", source="reference_tables",
                            remedy=f"use names from {[t for t in TABLE_FIELDS if t != 'flows']}")
        if frame is not None:
            src = prov.get(key, {}).get("source", key)
            refs[key] = validate(frame, TABLE_FIELDS[key], source=f"{key} ({src})")
    sources = {}
    for year, f in files_by_year.items():
        (y,) = _norm_years(year)
        sources[y] = Path(f)

    def populate(b: _Builder, prev: _Snapshot | None) -> dict:
        if prev is None:
            if hs_version is None:
                raise HSVersionError("hs_version is required when creating a store",
                                     source=str(root), remedy="pass e.g. hs_version='HS2017'")
            missing = [t for t in REQUIRED_TABLES if t != "flows" and t not in refs]
            if missing:
                raise DataError(f"creating a store needs the reference tables {missing}",
                                source=str(root),
                                remedy="pass them in reference_tables=")
            man = {"name": dataset_name or "dataset", "synthetic": bool(synthetic),
                   "hs_version": hs_version, "provenance": {}}
        else:
            man = prev.manifest
            if hs_version is not None and man["hs_version"] != hs_version:
                raise _hs_mismatch(man["hs_version"], hs_version, root)
        staging = b.tmp / ".staging"
        staging.mkdir()
        prepared = {y: _prepare_flow_file(src, y, staging, trusted)
                    for y, src in sources.items()}
        b.link_all(_keep_unless(set(prepared), set(refs), keep_derived))
        for year, (f, rows, rewritten) in sorted(prepared.items()):
            b.add_file(_flows_rel(year), "flows", f, rows, move=rewritten or move,
                       year=year)
            if rewritten and move:
                b.moved.append(sources[year])
        for key, frame in refs.items():
            b.write_frame(f"{key}.parquet", key, frame)
        b.moved[:] = [p for p in b.moved if not p.is_relative_to(b.tmp)]
        shutil.rmtree(staging)
        return {"name": dataset_name or man["name"], "synthetic": man["synthetic"],
                "hs_version": man["hs_version"],
                "provenance": {**man["provenance"], **prov}}

    return _commit(root, populate, previous="optional", keep_previous=keep_previous)


# ---------------------------------------------------------------------------------------
# public API: derived tables
# ---------------------------------------------------------------------------------------


def _check_derived_name(name: str) -> None:
    if not isinstance(name, str) or not _DERIVED_RE.match(name):
        raise DataError("derived table names are lower-case identifiers",
                        source="derived", value=name,
                        remedy="use letters, digits and '_', starting with a letter "
                               "(e.g. 'category_flows')")


def write_derived(
    path: str | os.PathLike,
    name: str,
    frame: pd.DataFrame,
    *,
    keep_previous: bool = False,
) -> Path:
    """Store a pre-aggregated result as ``derived/<name>.parquet`` in a new snapshot.

    Parameters
    ----------
    path : path-like
        An existing store.
    name : str
        Lower-case identifier (also the DuckDB view ``derived_<name>`` in :func:`query`).
    frame : DataFrame
        Any frame Arrow can store; a non-default index is kept.
    keep_previous : bool, default False
        Keep the snapshot that was current before this write.

    Returns
    -------
    Path
        The store directory.
    """
    _check_derived_name(name)
    if not isinstance(frame, pd.DataFrame):
        raise DataError("derived data must be a DataFrame", source=f"derived {name!r}",
                        value=type(frame).__name__)
    rel = f"{DERIVED}/{name}.parquet"

    def populate(b: _Builder, prev: _Snapshot | None) -> dict:
        assert prev is not None
        b.link_all(lambda e: e["path"] != rel)
        b.write_frame(rel, DERIVED, frame, index=True, name=name)
        man = prev.manifest
        return {"name": man["name"], "synthetic": man["synthetic"],
                "hs_version": man["hs_version"], "provenance": man["provenance"]}

    return _commit(path, populate, previous="required", keep_previous=keep_previous)


def read_derived(
    path: str | os.PathLike, name: str, *, verify: bool = False
) -> pd.DataFrame | None:
    """The derived table ``name`` of the current snapshot, or None when absent."""
    _check_derived_name(name)

    def read(snap: _Snapshot) -> pd.DataFrame | None:
        entry = snap.derived().get(name)
        if entry is None:
            return None
        p = _file(snap, entry, verify=verify)
        return _read_parquet_file(p).to_pandas()

    return _reading(path, read)


def derived_names(path: str | os.PathLike) -> list[str]:
    """Names of the derived tables in the current snapshot."""
    return _reading(path, lambda snap: sorted(snap.derived()))


# ---------------------------------------------------------------------------------------
# public API: DuckDB reads
# ---------------------------------------------------------------------------------------


def load_flows(
    path: str | os.PathLike,
    years: int | Iterable[int] | None = None,
    hs6: str | Iterable[str] | None = None,
    exporters: str | Iterable[str] | None = None,
    importers: str | Iterable[str] | None = None,
    columns: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Canonical flows of the current snapshot, filtered in DuckDB.

    Filters are pushed down to the Parquet scan (whole year files are skipped, row
    groups are pruned by their statistics). Values are bound as query parameters.

    Parameters
    ----------
    path : path-like
        Store directory.
    years : int or iterable of int, optional
    hs6 : str or iterable of str, optional
        Six-digit codes (integers are zero-padded). Shorter codes are refused: select a
        category's codes, or use :func:`query` with ``hs6 LIKE '8542%'``.
    exporters, importers : str or iterable of str, optional
        ISO3 codes (case-insensitive) of the countries reference table (or of the
        store's own countries table).
    columns : iterable of str, optional
        Subset of :class:`~analytics.schemas.Flows` columns (kept in schema order).

    Returns
    -------
    DataFrame
        Canonical dtypes, Flows column order, ascending years, a fresh RangeIndex. An
        empty filter list matches nothing.

    Raises
    ------
    DataError
        Unknown column, a non-text filter value or an hs6 value that is not six digits.
    UnknownCountry
        An exporter or importer code that is not a known ISO3 code.
    StoreNotFound, StoreCorrupted
        As in :func:`read_dataset`.
    """
    wanted_years = _norm_years(years)
    filters = {"hs6": _check_hs6_filter(_norm_values(hs6, "hs6")),
               "exporter": _norm_values(exporters, "exporters"),
               "importer": _norm_values(importers, "importers")}
    if columns is None:
        cols = list(_FLOW_COLUMNS)
    else:
        if isinstance(columns, str):
            columns = [columns]
        asked = list(columns)
        unknown = [c for c in asked if c not in _FLOW_COLUMNS]
        if unknown:
            raise DataError(f"unknown flows column(s) {unknown}", source="load_flows",
                            remedy=f"choose from {_FLOW_COLUMNS}")
        cols = [c for c in _FLOW_COLUMNS if c in asked]

    def load(snap: _Snapshot) -> pd.DataFrame:
        store_codes: set[str] | None = None

        def known() -> set[str]:  # the store's own countries (read only when needed)
            nonlocal store_codes
            if store_codes is None:
                store_codes = set()
                for e in snap.entries("countries"):
                    p = _file(snap, e)
                    try:
                        col = pq.read_table(p, columns=["iso3"]).column("iso3")
                    except (pa.ArrowException, OSError, KeyError) as err:
                        raise _corrupted(p, f"is not a readable countries table ({err})"
                                         ) from err
                    store_codes.update(str(c) for c in col.to_pylist() if c is not None)
            return store_codes

        for col, what in (("exporter", "exporters"), ("importer", "importers")):
            filters[col] = _check_country_filter(filters[col], what, known)
        entries = snap.entries("flows", wanted_years)
        if not entries or any(v is not None and not v for v in filters.values()):
            return empty(Flows)[cols]
        files = []
        for e in entries:
            p = _file(snap, e)
            _check_schema(p, Flows)
            files.append(str(p))
        where, params = [], [files]
        if wanted_years is not None:
            where.append(f"year IN ({', '.join('?' * len(wanted_years))})")
            params.extend(wanted_years)
        for col, values in filters.items():
            if values is not None:
                where.append(f'"{col}" IN ({", ".join("?" * len(values))})')
                params.extend(values)
        select = ", ".join(f'"{c}"' for c in cols)
        sql = f"SELECT {select} FROM read_parquet(?, hive_partitioning = true)"
        if where:
            sql += " WHERE " + " AND ".join(where)
        con = _duck()
        try:  # via Arrow: several times faster than .df() for text columns
            frame = con.sql(sql, params=params).to_arrow_table().to_pandas()
        except duckdb.Error as err:
            raise _corrupted(snap.dir / "flows", f"DuckDB cannot read the flows files "
                                                 f"({err})") from err
        finally:
            con.close()
        return _canonical(frame, Flows, snap.dir / "flows", columns=cols)

    return _reading(path, load)


def _read_only(sql: str) -> None:
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as err:
        raise DataError(f"the SQL does not parse ({err})", source="query") from err
    if len(statements) != 1:
        raise DataError(f"query() runs one statement, got {len(statements)}",
                        source="query", remedy="send statements one at a time")
    kind = statements[0].type
    if kind not in (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN):
        raise DataError(f"query() runs read-only SELECT statements, got {kind.name}",
                        source="query",
                        remedy="use write_dataset/update_flows/write_derived to change a store")


def query(
    path: str | os.PathLike,
    sql: str,
    params: list | tuple | Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Run one read-only SQL query on the current snapshot with DuckDB.

    Views: ``flows`` (all years, hive-partitioned by year), one view per other present
    table (``countries``, ``categories``, ...; a partitioned table such as ``shipments``
    is one view over all its files) and ``derived_<name>`` per derived table.
    The in-memory connection can read only the snapshot's directory.

    Every file is checked cheaply when the views are opened: it must exist, have the
    size the manifest records (a truncated or appended file raises
    :class:`~analytics.errors.StoreCorrupted`) and the expected columns. Contents are
    not hashed on each query; full sha256 verification is :func:`verify_store` (or
    ``read_dataset(..., verify=True)``).

    Parameters
    ----------
    path : path-like
        Store directory.
    sql : str
        One SELECT (or EXPLAIN) statement; use ``?`` or ``$name`` placeholders.
    params : sequence or mapping, optional
        Values bound to the placeholders (never format values into ``sql``).

    Returns
    -------
    DataFrame

    Raises
    ------
    DataError
        ``sql`` is not a single read-only statement.
    duckdb.Error
        The query itself fails (syntax, unknown column, ...).
    StoreNotFound
        No store at ``path``.
    StoreCorrupted
        A listed file is missing, has another size than the manifest says, or wrong
        columns.
    """
    _read_only(sql)

    def run(snap: _Snapshot) -> pd.DataFrame:
        con = _duck()
        try:
            con.execute("SET allowed_directories = ?", [[str(snap.dir.resolve()) + os.sep]])
            flows = []
            for e in snap.entries("flows"):
                p = _file(snap, e)
                _check_schema(p, Flows)
                flows.append(str(p.resolve()))
            if flows:
                con.read_parquet(flows, hive_partitioning=True).create_view("flows")
            else:
                con.from_df(empty(Flows)).create_view("flows")
            for key, table in TABLE_FIELDS.items():
                if key == "flows":
                    continue
                files = []
                for e in sorted(snap.entries(key), key=_partition_order):
                    p = _file(snap, e)
                    _check_schema(p, table)
                    files.append(str(p.resolve()))
                if files:  # one file, or the files of a partitioned table
                    con.read_parquet(files[0] if len(files) == 1 else files).create_view(key)
            for name, e in snap.derived().items():
                con.read_parquet(str(_file(snap, e).resolve())).create_view(f"derived_{name}")
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
            return con.execute(sql, params if params is not None else []).df()
        finally:
            con.close()

    return _reading(path, run)


# ---------------------------------------------------------------------------------------
# public API: metadata
# ---------------------------------------------------------------------------------------


def is_store(path: str | os.PathLike) -> bool:
    """Whether ``path`` holds a store (a ``CURRENT`` pointer; it may still be corrupted)."""
    return (_root(path) / CURRENT).is_file()


def snapshot_id(path: str | os.PathLike) -> str:
    """Id of the current snapshot (changes on every write; a good cache key)."""
    return _read_current(_root(path))


def snapshot_dir(path: str | os.PathLike) -> Path:
    """Directory of the current snapshot (immutable: safe to cache by its path)."""
    root = _root(path)
    return root / SNAPSHOTS / _read_current(root)


def manifest(path: str | os.PathLike) -> dict:
    """The current snapshot's manifest (a copy)."""
    return _reading(path, lambda snap: copy.deepcopy(snap.manifest))


def _info(snap: _Snapshot) -> dict:
    man = snap.manifest
    return {
        "path": str(snap.root),
        "snapshot": snap.id,
        "name": man["name"],
        "synthetic": man["synthetic"],
        "hs_version": man["hs_version"],
        "years": list(man["years"]),
        "rows": dict(man["tables"]),
        "derived": sorted(man.get("derived", {})),
        "created": man["created"],
        "provenance": copy.deepcopy(man["provenance"]),
    }


def store_info(path: str | os.PathLike) -> dict:
    """Summary of the current snapshot.

    Returns
    -------
    dict
        path, snapshot, name, synthetic, hs_version, years, rows (per table), derived
        (names), created (UTC ISO time) and provenance.
    """
    return _reading(path, _info)


def verify_store(path: str | os.PathLike) -> dict:
    """Check every file of the current snapshot (existence, size, sha256, schema).

    Returns
    -------
    dict
        :func:`store_info` of the verified snapshot.

    Raises
    ------
    StoreNotFound, StoreCorrupted
        The first problem found, naming the file.
    """

    def check(snap: _Snapshot) -> dict:
        for e in snap.manifest["files"]:
            p = _file(snap, e, verify=True)
            if e["table"] != DERIVED:
                _check_schema(p, TABLE_FIELDS[e["table"]])
            else:
                try:
                    pq.read_metadata(p)
                except (pa.ArrowException, OSError) as err:
                    raise _corrupted(p, f"is not a readable Parquet file ({err})") from err
        return _info(snap)

    return _reading(path, check)


# ---------------------------------------------------------------------------------------
# public API: partitioned tables (transaction-level shipments)
# ---------------------------------------------------------------------------------------
#
# A partitioned table is a folder of Parquet files in the snapshot,
# ``<table>/<key>=<value>/part-<k>.parquet`` (e.g. ``shipments/month=2023-01/part-0.parquet``),
# each file holding exactly the table's columns. Its manifest entries carry ``partition``
# (the value) and ``partition_key``. :func:`read_dataset` skips such tables unless
# ``partitioned=True``; :func:`read_table` reads them with DuckDB filters and
# :func:`table_files` lists them for engines such as Dask.

_PARTITION = "partition"
_PARTITION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def _partition_order(e: dict) -> tuple:
    return (str(e.get(_PARTITION, "")), e["path"])


def _partitioned_schema(table: str) -> type[Table]:
    if table == "flows" or table not in TABLE_FIELDS:
        raise DataError(f"{table!r} cannot be stored as a partitioned table",
                        source="update_table_files",
                        remedy=f"use one of {[t for t in TABLE_FIELDS if t != 'flows']} "
                               "(flows have update_flow_files)")
    return TABLE_FIELDS[table]


def _collect_table_files(files: Any, key: str) -> dict[str, list[Path]]:
    """Partition value -> files, from a mapping or a hive-style folder ``key=value/*.parquet``."""
    out: dict[str, list[Path]] = {}
    if isinstance(files, (str, os.PathLike)):
        folder = Path(files)
        if not folder.is_dir():
            raise DataError("not a folder of Parquet files", source=str(folder),
                            remedy=f"give a folder holding {key}=<value>/*.parquet")
        for sub in sorted(folder.iterdir()):
            if sub.is_dir() and sub.name.startswith(f"{key}="):
                found = sorted(sub.glob("*.parquet"))
                if found:
                    out[sub.name[len(key) + 1:]] = found
            elif sub.suffix == ".parquet":
                raise DataError(f"Parquet file outside a {key}=<value> folder",
                                source=str(sub),
                                remedy=f"write the files as {key}=<value>/*.parquet")
    elif isinstance(files, Mapping):
        for part, fs in files.items():
            fs = [fs] if isinstance(fs, (str, os.PathLike)) else list(fs)
            out[str(part)] = [Path(f) for f in fs]
    else:
        raise DataError("files must be a folder or a mapping partition -> file(s)",
                        source="update_table_files", value=type(files).__name__)
    for part in out:
        if not _PARTITION_RE.match(part):
            raise DataError("partition values are short names of letters, digits, '.', "
                            "'_' and '-'", source="update_table_files", column=key,
                            value=part, remedy="use e.g. 2023-01 for a month")
    return out


def _sql_checks(table: type[Table]) -> list[tuple[str, str, str]]:
    """(column, check text, SQL condition that is TRUE for a failing row) per check."""
    checks = []
    for col, spec in table.__columns__.items():
        q = f'"{col}"'
        if not spec.nullable:
            null = f"{q} IS NULL" + (f" OR trim({q}) = ''" if spec.dtype == "str" else "")
            checks.append((col, "not null", null))
        if spec.dtype == "str" and spec.pattern:
            pat = spec.pattern.replace("'", "''")
            checks.append((col, f"pattern {spec.pattern}",
                           f"{q} IS NOT NULL AND NOT regexp_full_match({q}, '{pat}')"))
        if spec.isin is not None:
            vals = ", ".join("'" + str(v).replace("'", "''") + "'" for v in spec.isin)
            checks.append((col, f"one of {list(spec.isin)}",
                           f"{q} IS NOT NULL AND {q} NOT IN ({vals})"))
        if spec.dtype in ("int", "float"):
            for op, bound, text in (("<", spec.ge, ">="), ("<=", spec.gt, ">"),
                                    (">", spec.le, "<=")):
                if bound is not None:
                    checks.append((col, f"{text} {bound:g}", f"{q} {op} {float(bound)!r}"))
            if spec.dtype == "float":
                checks.append((col, "finite", f"{q} IS NOT NULL AND NOT isfinite({q})"))
    return checks


def _check_table_content(paths: list[Path], table: type[Table], *, unique_over: list[Path]
                         ) -> None:
    """One DuckDB scan of ``paths`` with every column check of ``table``; the table's
    unique key over ``unique_over``. Raises DataError naming the file and the counts."""
    checks = _sql_checks(table)
    con = _duck()
    try:
        if checks and paths:
            cols = ", ".join(f"count(*) FILTER (WHERE {cond}) AS c{i}"
                             for i, (_, _, cond) in enumerate(checks))
            rows = con.execute(
                f"SELECT filename, {cols} FROM read_parquet(?, filename = true, "
                "hive_partitioning = false) GROUP BY filename ORDER BY filename",
                [[str(p) for p in paths]]).fetchall()
            for rec in rows:
                failed = [f"{n:,} row(s) fail {checks[i][0]} {checks[i][1]}"
                          for i, n in enumerate(rec[1:]) if n]
                if failed:
                    raise DataError("file fails the table's checks: " + "; ".join(failed),
                                    source=str(rec[0]),
                                    remedy=f"write canonical {table.__name__} rows (see "
                                           "analytics.schemas) and load the files again")
        if table.unique and unique_over:
            key = ", ".join(f'"{c}"' for c in table.unique)
            dup = con.execute(
                f"SELECT count(*) - count(DISTINCT ({key})) FROM read_parquet(?, "
                "hive_partitioning = false)", [[str(p) for p in unique_over]]).fetchall()[0][0]
            if dup:
                ex = con.execute(
                    f"SELECT {key} FROM read_parquet(?, hive_partitioning = false) "
                    f"GROUP BY ALL HAVING count(*) > 1 LIMIT 1",
                    [[str(p) for p in unique_over]]).fetchall()[0]
                raise DataError(f"{dup:,} row(s) repeat the unique key "
                                f"({', '.join(table.unique)})", source=table.__name__,
                                column="+".join(table.unique), value="|".join(map(str, ex)),
                                remedy="each key must occur once across all partitions: "
                                       "remove the duplicates and load again")
    finally:
        con.close()


def update_table_files(
    path: str | os.PathLike,
    table: str,
    files: str | os.PathLike | Mapping[str, str | os.PathLike | Iterable[str | os.PathLike]],
    *,
    partition_key: str = "month",
    append: bool = False,
    provenance: Mapping[str, Mapping[str, Any]] | None = None,
    hs_version: str | None = None,
    dataset_name: str | None = None,
    reference_tables: Mapping[str, pd.DataFrame] | None = None,
    synthetic: bool = False,
    move: bool = False,
    trusted: bool = False,
    keep_previous: bool = False,
    drop_derived: Iterable[str] = (),
) -> Path:
    """Place a folder of ready Parquet files of a (large) table into a new snapshot.

    For transaction-level tables that never fit in pandas (``shipments``: tens of
    millions of rows): the files, written outside pandas (e.g. DuckDB's ``COPY ... TO dir
    (PARTITION_BY (month))``), become ``<table>/<key>=<value>/part-<k>.parquet`` in the new
    snapshot, which is switched to atomically like every other write.

    Parameters
    ----------
    path : path-like
        Store directory; created when absent (then ``hs_version`` and the required
        reference tables are needed, as in :func:`update_flow_files`; the store has no
        flows until some are added).
    table : str
        A table of :data:`analytics.dataset.TABLE_FIELDS` other than ``flows``.
    files : path-like or mapping
        A folder holding ``<partition_key>=<value>/*.parquet`` (DuckDB's hive layout), or
        a mapping partition value -> file or list of files. Each file holds exactly the
        table's columns (:mod:`analytics.schemas`).
    partition_key : str, default "month"
        Name of the partitioning (a lower-case identifier).
    append : bool, default False
        Keep the stored partitions that ``files`` does not replace (a partition given in
        ``files`` replaces the stored one). By default the table is replaced as a whole.
    provenance : mapping, optional
        table name -> provenance entry, replacing the stored entries.
    hs_version, dataset_name, reference_tables, synthetic
        As in :func:`update_flow_files` (reference tables are validated and written
        beside, replacing stored ones; e.g. ``{"brands": frame}``).
    move : bool, default False
        Move the files into the store (unlinked once the snapshot is current).
    trusted : bool, default False
        The producer enforced every check of the table in the query that wrote the files:
        only the schema (Parquet metadata) is checked. Otherwise one DuckDB scan checks
        every column (not null, patterns, bounds, finiteness) and the table's unique key
        across all its partitions.
    keep_previous : bool, default False
        Keep the snapshot that was current before this write.
    drop_derived : iterable of str, default ()
        Derived tables computed from this table, dropped in the new snapshot: names, or
        prefixes ending with ``*`` (``"shipments_*"``). Other derived tables are kept.

    Returns
    -------
    Path
        The store directory.

    Raises
    ------
    DataError
        Unknown table, bad partition value, missing or unreadable file, wrong columns, a
        failing check or a repeated unique key (the message names the file).
    HSVersionError
        ``hs_version`` missing when creating, unknown, or different from the store's.
    StoreCorrupted
        The existing store cannot be read.

    Notes
    -----
    Readers are unaffected by the write until the switch. :func:`read_dataset` leaves
    partitioned tables out unless ``partitioned=True``; :func:`query` shows one view per
    partitioned table.
    """
    root = _root(path)
    schema_table = _partitioned_schema(table)
    if not _KEY_RE.match(partition_key):
        raise DataError("partition_key is a lower-case identifier", value=partition_key,
                        source="update_table_files", remedy="e.g. partition_key='month'")
    prov = _plain_provenance(provenance)
    if hs_version is not None:
        _check_hs_version(hs_version, "update_table_files(hs_version=...)")
    refs: dict[str, pd.DataFrame] = {}
    for key, frame in (reference_tables or {}).items():
        if key not in TABLE_FIELDS or key in ("flows", table):
            raise DataError(f"unknown reference table {key!r}", source="reference_tables",
                            remedy="use names from "
                                   f"{[t for t in TABLE_FIELDS if t not in ('flows', table)]}")
        if frame is not None:
            src = prov.get(key, {}).get("source", key)
            refs[key] = validate(frame, TABLE_FIELDS[key], source=f"{key} ({src})")
    parts = _collect_table_files(files, partition_key)
    rows_of: dict[Path, int] = {}
    for fs in parts.values():
        for f in fs:
            try:
                meta = pq.read_metadata(f)
                schema = pq.read_schema(f)
            except FileNotFoundError:
                raise DataError(f"{table} file not found", source=str(f),
                                remedy="check the path produced by the ingest step") from None
            except (pa.ArrowException, OSError) as err:
                raise DataError(f"not a readable Parquet file ({err})", source=str(f),
                                remedy="re-run the step that produced it") from err
            problem = _schema_problem(schema, schema_table)
            if problem:
                raise DataError(problem, source=str(f),
                                remedy=f"write exactly the columns {schema_table.columns()}")
            rows_of[f] = int(meta.num_rows)
    drop_names = {d for d in drop_derived if not d.endswith("*")}
    drop_prefixes = tuple(d[:-1] for d in drop_derived if d.endswith("*"))

    def keep(e: dict) -> bool:
        if e["table"] == table:
            return append and _PARTITION in e and e[_PARTITION] not in parts
        if e["table"] == DERIVED:
            return not (e["name"] in drop_names or e["name"].startswith(drop_prefixes))
        return e["table"] not in refs

    def populate(b: _Builder, prev: _Snapshot | None) -> dict:
        if prev is None:
            if hs_version is None:
                raise HSVersionError("hs_version is required when creating a store",
                                     source=str(root), remedy="pass e.g. hs_version='HS2017'")
            missing = [t for t in REQUIRED_TABLES if t != "flows" and t not in refs]
            if missing:
                raise DataError(f"creating a store needs the reference tables {missing}",
                                source=str(root), remedy="pass them in reference_tables=")
            man = {"name": dataset_name or "dataset", "synthetic": bool(synthetic),
                   "hs_version": hs_version, "provenance": {}}
        else:
            man = prev.manifest
            if hs_version is not None and man["hs_version"] != hs_version:
                raise _hs_mismatch(man["hs_version"], hs_version, root)
            if append and any(_PARTITION not in e for e in prev.entries(table)):
                raise DataError(f"the store holds {table} as one file, not partitions",
                                source=str(root), remedy="load with append=False")
        kept = [e for e in (prev.manifest["files"] if prev else []) if keep(e)]
        if not trusted:
            new = [f for fs in parts.values() for f in fs]
            old = [_file(prev, e) for e in kept if e["table"] == table] if prev else []
            _check_table_content(new, schema_table, unique_over=new + old)
        b.link_all(keep)
        for part, fs in sorted(parts.items()):
            for k, f in enumerate(fs):
                b.add_file(f"{table}/{partition_key}={part}/part-{k}.parquet", table, f,
                           rows_of[f], move=move, partition=part,
                           partition_key=partition_key)
        for key, frame in refs.items():
            b.write_frame(f"{key}.parquet", key, frame)
        return {"name": dataset_name or man["name"], "synthetic": man["synthetic"],
                "hs_version": man["hs_version"],
                "provenance": {**man["provenance"], **prov}}

    return _commit(root, populate, previous="optional", keep_previous=keep_previous)


def _table_entries(snap: _Snapshot, table: str, partitions) -> list[dict]:
    if table not in TABLE_FIELDS:
        raise DataError(f"unknown table {table!r}", source=str(snap.root),
                        remedy=f"use one of {list(TABLE_FIELDS)}")
    entries = sorted(snap.entries(table), key=_partition_order)
    if partitions is not None:
        wanted = {str(p) for p in ([partitions] if isinstance(partitions, str)
                                   else partitions)}
        entries = [e for e in entries if e.get(_PARTITION) in wanted]
    return entries


def table_files(
    path: str | os.PathLike, table: str, *, partitions: str | Iterable[str] | None = None
) -> list[Path]:
    """Files of a table in the current snapshot (every partition, or the given ones).

    For engines that read Parquet themselves (Dask, DuckDB, Arrow datasets). The files
    are immutable; they stay valid while the snapshot is current (a later write removes
    the superseded snapshot: a computation running across a write fails and can simply
    be run again). An absent table gives an empty list.

    Raises
    ------
    StoreNotFound, StoreCorrupted
        No readable store, or a listed file is missing or has the wrong size.
    DataError
        Unknown table.
    """
    def files(snap: _Snapshot) -> list[Path]:
        return [_file(snap, e) for e in _table_entries(snap, table, partitions)]

    return _reading(path, files)


def table_partitions(path: str | os.PathLike, table: str) -> pd.DataFrame:
    """Partitions of a table: ``partition``, ``files``, ``rows``, ``bytes`` (sorted).

    A table stored as one file has one row with partition ``""``.
    """
    def parts(snap: _Snapshot) -> pd.DataFrame:
        recs: dict[str, list[int]] = {}
        for e in _table_entries(snap, table, None):
            r = recs.setdefault(str(e.get(_PARTITION, "")), [0, 0, 0])
            r[0] += 1
            r[1] += int(e["rows"])
            r[2] += int(e["bytes"])
        return pd.DataFrame([(k, *v) for k, v in sorted(recs.items())],
                            columns=["partition", "files", "rows", "bytes"])

    return _reading(path, parts)


def read_table(
    path: str | os.PathLike,
    table: str,
    *,
    columns: Iterable[str] | None = None,
    partitions: str | Iterable[str] | None = None,
    isin: Mapping[str, Iterable[Any]] | None = None,
    between: Mapping[str, tuple[Any, Any]] | None = None,
    startswith: Mapping[str, Iterable[str]] | None = None,
) -> pd.DataFrame:
    """Rows of a (partitioned) table, filtered in DuckDB; canonical dtypes.

    Parameters
    ----------
    path : path-like
        Store directory.
    table : str
        e.g. ``"shipments"``.
    columns : iterable of str, optional
        Subset of the table's columns (kept in schema order).
    partitions : str or iterable of str, optional
        Read only these partitions (e.g. months ``["2023-01", "2023-02"]``).
    isin : mapping column -> values, optional
        ``column IN (values)``; an empty list matches nothing.
    between : mapping column -> (low, high), optional
        ``low <= column < high`` (half-open; either end may be None).
    startswith : mapping column -> prefixes, optional
        The text column starts with one of the prefixes (e.g. HS codes of a category).

    Returns
    -------
    DataFrame
        A fresh RangeIndex; rows in file order.

    Raises
    ------
    DataError
        Unknown table or column.
    StoreNotFound, StoreCorrupted
        As in :func:`read_dataset`.
    """
    schema_table = TABLE_FIELDS.get(table)
    if schema_table is None:
        raise DataError(f"unknown table {table!r}", source="read_table",
                        remedy=f"use one of {list(TABLE_FIELDS)}")
    known = schema_table.columns()
    asked = known if columns is None else ([columns] if isinstance(columns, str)
                                           else list(columns))
    named = [*asked, *(isin or {}), *(between or {}), *(startswith or {})]
    unknown = [c for c in named if c not in known]
    if unknown:
        raise DataError(f"unknown {table} column(s) {unknown}", source="read_table",
                        remedy=f"choose from {known}")
    cols = [c for c in known if c in set(asked)]
    where, params = [], []
    empty_filter = False
    for col, values in (isin or {}).items():
        vals = [values] if isinstance(values, str) else list(values)
        if not vals:
            empty_filter = True
        where.append(f'"{col}" IN ({", ".join("?" * len(vals)) or "NULL"})')
        params.extend(vals)
    for col, (lo, hi) in (between or {}).items():
        if lo is not None:
            where.append(f'"{col}" >= ?')
            params.append(lo)
        if hi is not None:
            where.append(f'"{col}" < ?')
            params.append(hi)
    for col, prefixes in (startswith or {}).items():
        pre = [prefixes] if isinstance(prefixes, str) else list(prefixes)
        if not pre:
            empty_filter = True
        where.append("(" + (" OR ".join(f'starts_with("{col}", ?)' for _ in pre) or "false")
                     + ")")
        params.extend(pre)

    def load(snap: _Snapshot) -> pd.DataFrame:
        entries = _table_entries(snap, table, partitions)
        if not entries or empty_filter:
            return empty(schema_table)[cols]
        files = []
        for e in entries:
            p = _file(snap, e)
            _check_schema(p, schema_table)
            files.append(str(p))
        sql = (f"SELECT {', '.join(chr(34) + c + chr(34) for c in cols)} FROM "
               "read_parquet(?, hive_partitioning = false)")
        if where:
            sql += " WHERE " + " AND ".join(where)
        con = _duck()
        try:
            frame = con.sql(sql, params=[files, *params]).to_arrow_table().to_pandas()
        except duckdb.Error as err:
            raise _corrupted(snap.dir / table, f"DuckDB cannot read the {table} files "
                                               f"({err})") from err
        finally:
            con.close()
        return _canonical(frame, schema_table, snap.dir / table, columns=cols)

    return _reading(path, load)
