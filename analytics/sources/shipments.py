"""Reader and streaming ingester for transaction-level customs records (shipments).

Customs declarations and bills of lading come from many providers, each with its own
column names. :func:`ingest_shipments` takes CSV (``.csv``, ``.csv.gz``, any delimiter
DuckDB detects) or Parquet files, a *column mapping* from the canonical
:class:`~analytics.schemas.Shipments` columns to the file's columns, and streams every
file with DuckDB into Parquet files partitioned by month (``shipments/month=YYYY-MM/``):
the records are never loaded into pandas, so a file of tens of millions of rows needs a
bounded amount of memory (DuckDB spills beyond ``memory_limit``).

Conversion
----------
* ``date``: ISO dates or timestamps (``2023-01-05``, ``2023-01-05 10:00``); another
  layout with ``date_format`` (strptime codes, e.g. ``%d.%m.%Y``).
* ``importer_country``, ``dispatch_country``, ``origin_country``: ISO3 codes or UN M49 /
  Comtrade numeric codes (``643`` Russia, ``490`` Taiwan, leading zeros allowed), mapped
  through :func:`analytics.reference.trade_codes`; aggregates (``0`` World) are unknown.
  An empty origin is allowed (counted).
* ``hs_code``: 6 to 10 digits, dots and spaces removed (``8542.31.00`` -> ``85423100``);
  the full national code is kept, the HS6 is its first six digits. Integer columns of a
  Parquet file lose leading zeros: an odd number of digits (5, 7, 9) gets one back.
* ``value_usd``, ``quantity``: numbers; the quantity may be empty.
* text columns are trimmed; an empty brand is missing.

Bad input
---------
The same checks and reports as the BACI ingester (:mod:`analytics.ingest`): a fast pass
writes the Parquet files and stops at the first bad row; a diagnostic pass then collects
every offending row with its file, CSV line (header = line 1; Parquet: row number),
column, value and reason. Strict mode (the default) raises one error naming them and the
remedy; ``lenient=True`` drops the rows and counts them per reason. A declaration id
occurring twice with the same content is kept once (a note); with different contents it
is a problem (lenient mode drops every row of that id). Documented handling is counted
as notes: a dispatch country equal to the importer country (kept; such rows are not
country flows), a missing origin, a brand absent from the brand table.

The store switches to the new shipments (and brand table) in one atomic step
(:func:`analytics.store.update_table_files`); a failed ingest leaves it as it was.

>>> import tempfile
>>> from pathlib import Path
>>> tmp = tempfile.TemporaryDirectory()
>>> p = Path(tmp.name) / "decl.csv"
>>> _ = p.write_text("Date,No,Buyer,Imp,Seller,From,Origin,Brand,HS,USD\\n"
...                  "2023-01-05,A1,OOO Alfa,643,HK Trade Ltd,HKG,JPN,Aster,8542.31.00,100\\n")
>>> mapping = parse_mapping("date=Date,declaration_id=No,consignee=Buyer,"
...     "importer_country=Imp,shipper=Seller,dispatch_country=From,origin_country=Origin,"
...     "brand=Brand,hs_code=HS,value_usd=USD")
>>> read_shipments([p], mapping=mapping)[["importer_country", "hs_code", "value_usd"]]
  importer_country   hs_code  value_usd
0              RUS  85423100      100.0
>>> tmp.cleanup()
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import os
import shutil
import tempfile
import time
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from analytics.errors import (
    ChokepointError,
    ConfigError,
    DataError,
    HSVersionError,
    SourceFormatError,
    StoreError,
    UnknownCountry,
)
from analytics.ingest import (
    REASONS,
    IngestReport,
    Problems,
    Reason,
    connect,
    reference_tables,
    register_reason,
    run_with_progress,
)
from analytics.schemas import Brands, Shipments, validate

__all__ = ["CANONICAL", "REQUIRED", "OPTIONAL", "parse_mapping", "read_brands",
           "read_shipments", "ingest_shipments", "SOURCE", "report_lines"]

SOURCE = "customs records (chokepoint ingest shipments)"
CANONICAL = tuple(Shipments.columns())
OPTIONAL = ("origin_country", "brand", "quantity")
REQUIRED = tuple(c for c in CANONICAL if c not in OPTIONAL)
_COUNTRY_COLS = ("importer_country", "dispatch_country", "origin_country")
_TEXT_COLS = ("declaration_id", "consignee", "shipper")

_LENIENT = "or pass --lenient to drop such rows (they are counted in the summary)"
_MAP_HINT = ("check the --map option (canonical=file column, e.g. "
             "date=DeclDate,value_usd=ValueUSD)")

# reasons of the shipments ingest (registered beside the BACI/Comtrade ones)
_REASONS = (
    Reason("shp_malformed_line", "problem", "malformed line (wrong number of fields, bad "
           "quoting or encoding)", f"the file may be truncated or damaged: export it again, "
           f"{_LENIENT}", SourceFormatError),
    Reason("shp_missing_field", "problem", "missing required field",
           f"every record needs a date, declaration id, consignee, importer country, "
           f"shipper, dispatch country, HS code and value: fix the file, {_LENIENT}"),
    Reason("shp_bad_date", "problem", "not a date",
           "dates are ISO (2023-01-05) unless --date-format gives the layout (e.g. "
           f"%d.%m.%Y); years 1950-2100: fix the file or the option, {_LENIENT}"),
    Reason("shp_unknown_country", "problem", "unknown country code",
           "country columns hold ISO3 codes or UN M49 numeric codes (see "
           "data/reference/trade_codes.csv and countries.csv); aggregates such as 0 "
           f"(World) are not countries: fix the file or --map, {_LENIENT}", UnknownCountry),
    Reason("shp_bad_hs_code", "problem", "not an HS code of 6 to 10 digits",
           f"hs_code is the declared national code (8542.31.00 or 85423100): {_LENIENT}"),
    Reason("shp_bad_value", "problem", "value is not a finite number",
           f"value_usd is the customs value in US dollars: fix the file, {_LENIENT}"),
    Reason("shp_negative_value", "problem", "negative value",
           f"customs values are non-negative: fix the file, {_LENIENT}"),
    Reason("shp_bad_quantity", "problem", "quantity is not a non-negative number",
           f"quantity is a number or empty: fix the file, {_LENIENT}"),
    Reason("shp_duplicate_id", "problem", "declaration id repeated with different contents",
           "declaration_id identifies one record (a declaration line): map a line-level "
           "id, or pass --lenient to drop every record of a repeated id"),
    Reason("shp_domestic", "note", "dispatch country equals importer country (kept; not "
           "part of country flows)"),
    Reason("shp_no_origin", "note", "origin country missing (kept; not part of flows by "
           "origin)"),
    Reason("shp_unknown_brand", "note", "brand not in the brand table (headquarters "
           "unknown)"),
)
register_reason(*_REASONS)

_COLUMN_REASON = {"shp_bad_date": "date", "shp_bad_hs_code": "hs_code",
                  "shp_bad_value": "value_usd", "shp_negative_value": "value_usd",
                  "shp_bad_quantity": "quantity"}


# ---------------------------------------------------------------------------------------
# mapping and inputs
# ---------------------------------------------------------------------------------------


def parse_mapping(mapping: str | Mapping[str, str] | None) -> dict[str, str]:
    """Canonical column -> file column, from ``"date=Date,value_usd=USD"`` or a mapping.

    >>> parse_mapping("date=DeclDate, value_usd = ValueUSD")
    {'date': 'DeclDate', 'value_usd': 'ValueUSD'}

    Raises
    ------
    ConfigError
        An item without ``=``, an unknown canonical column, a column named twice.
    """
    if mapping is None:
        return {}
    if isinstance(mapping, str):
        items = []
        for part in mapping.split(","):
            if not part.strip():
                continue
            key, sep, val = part.partition("=")
            if not sep or not key.strip() or not val.strip():
                raise ConfigError(f"--map item {part.strip()!r} is not canonical=column; "
                                  "write e.g. date=DeclDate,value_usd=ValueUSD")
            items.append((key.strip(), val.strip()))
    else:
        items = [(str(k).strip(), str(v).strip()) for k, v in mapping.items()]
    out: dict[str, str] = {}
    for key, val in items:
        if key not in CANONICAL:
            raise ConfigError(f"--map names {key!r}, which is not a shipments column; "
                              f"use {', '.join(CANONICAL)}")
        if key in out:
            raise ConfigError(f"--map names {key!r} twice")
        out[key] = val
    return out


@dataclass(frozen=True)
class _Input:
    path: Path
    kind: str  # "csv" or "parquet"

    @property
    def label(self) -> str:
        return str(self.path)


def _inputs(paths: Iterable[str | os.PathLike]) -> list[_Input]:
    out = []
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    for raw in paths:
        p = Path(raw).expanduser()
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.is_file() and _kind(q))
            if not found:
                raise SourceFormatError("the folder holds no .csv, .csv.gz or .parquet file",
                                        source=str(p), remedy="give the files to load")
            out.extend(_Input(q, _kind(q)) for q in found)
            continue
        if not p.is_file():
            raise SourceFormatError("no such file", source=str(p),
                                    remedy="check the path (CSV or Parquet files)")
        kind = _kind(p)
        if kind is None:
            raise SourceFormatError("not a CSV or Parquet file name", source=str(p),
                                    value=p.name,
                                    remedy="name files .csv, .csv.gz, .tsv or .parquet")
        out.append(_Input(p, kind))
    if not out:
        raise SourceFormatError("no input files", remedy="give one or more CSV/Parquet files")
    return out


def _kind(p: Path) -> str | None:
    name = p.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt", ".txt.gz")):
        return "csv"
    return None


def _lit(text: str | Path) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _csv_header(inp: _Input) -> tuple[str, list[str]]:
    """(delimiter, column names) of a CSV file, from its first line."""
    import csv
    import gzip

    opener = gzip.open if inp.path.name.lower().endswith(".gz") else open
    try:
        with opener(inp.path, "rt", encoding="utf-8-sig", errors="replace", newline="") as fh:
            first = fh.readline(1 << 20)
    except OSError as err:
        raise SourceFormatError(f"cannot be read ({err})", source=inp.label) from err
    line = first.rstrip("\r\n")
    counts = {d: line.count(d) for d in (",", ";", "\t", "|")}
    delim = max(counts, key=counts.get)
    if not line or counts[delim] == 0:
        raise SourceFormatError("no header line with column names", source=inp.label, row=1,
                                value=line[:200],
                                remedy="the first line names the columns, separated by "
                                       "commas, semicolons, tabs or |")
    names = [c.strip() for c in next(csv.reader([line], delimiter=delim))]
    if len(set(names)) != len(names) or any(not n for n in names):
        raise SourceFormatError("empty or repeated column names in the header",
                                source=inp.label, row=1, value=line[:200],
                                remedy="give every column a distinct name")
    return delim, names


def _scan_sql(inp: _Input, rejects: tuple[str, str] | None = None, *,
              ignore_errors: bool = False) -> str:
    if inp.kind == "parquet":
        return f"read_parquet({_lit(inp.path)})"
    delim, names = _csv_header(inp)
    cols = "{" + ", ".join(f"{_lit(n)}: 'VARCHAR'" for n in names) + "}"
    rej = (f", store_rejects = true, rejects_table = {_lit(rejects[0])}, "
           f"rejects_scan = {_lit(rejects[1])}") if rejects else (
        ", ignore_errors = true" if ignore_errors else "")
    return (f"read_csv({_lit(inp.path)}, header = true, auto_detect = false, "
            f"delim = {_lit(delim)}, quote = '\"', escape = '\"', columns = {cols}{rej})")


def _columns(con, inp: _Input) -> dict[str, str]:
    """File column name -> DuckDB type."""
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM {_scan_sql(inp)}").fetchall()
    except Exception as err:  # noqa: BLE001 - any reader error means an unreadable file
        raise SourceFormatError(f"cannot be read ({str(err).splitlines()[0]})",
                                source=inp.label,
                                remedy="check that this is a CSV file with a header line "
                                       "or a Parquet file") from err
    return {r[0]: str(r[1]) for r in rows}


def _resolve(mapping: dict[str, str], cols: dict[str, str], inp: _Input) -> dict[str, str]:
    """Canonical column -> file column present in this file (optional ones may be absent)."""
    lower = {c.lower(): c for c in cols}
    out = {}
    for canon in CANONICAL:
        want = mapping.get(canon, canon)
        col = want if want in cols else lower.get(want.lower())
        if col is None and canon in mapping:
            raise SourceFormatError(
                f"column {want!r} (mapped to {canon}) is not in the file", source=inp.label,
                row=1, value=", ".join(cols)[:300], remedy=_MAP_HINT)
        if col is None and canon in REQUIRED:
            raise SourceFormatError(
                f"no column for {canon}", source=inp.label, row=1,
                value=", ".join(cols)[:300],
                remedy=f"map it with --map {canon}=<file column> ({_MAP_HINT})")
        if col is not None:
            out[canon] = col
    return out


# ---------------------------------------------------------------------------------------
# the conversion query
# ---------------------------------------------------------------------------------------


def _country_table(con) -> None:
    from analytics import reference

    known = set(reference.countries()["iso3"])
    tc = reference.trade_codes()
    tc = tc[tc["kind"].isin(["country", "historical", "nes"]) & tc["iso3"].isin(known)]
    recs = [(c, c) for c in sorted(known)]
    recs += [(str(int(code)), iso) for code, iso in zip(tc["code"], tc["iso3"], strict=True)]
    frame = pd.DataFrame(recs, columns=["code", "iso3"]).drop_duplicates("code")
    con.register("_cc_in", frame)
    con.execute("CREATE OR REPLACE TABLE cc AS SELECT code, iso3 FROM _cc_in")
    con.unregister("_cc_in")


def _raw_select(res: dict[str, str], cols: dict[str, str], *, rn: bool) -> str:
    """Raw text of the canonical columns (r_<name>) from the file's columns."""
    parts = []
    for canon in CANONICAL:
        if canon not in res:
            parts.append(f"CAST(NULL AS VARCHAR) AS r_{canon}")
            continue
        col = _ident(res[canon])
        typ = cols[res[canon]].upper()
        expr = f"CAST({col} AS VARCHAR)"
        if canon == "hs_code" and any(t in typ for t in ("INT", "DECIMAL", "DOUBLE", "FLOAT")):
            # integer HS codes lose a leading zero: an odd number of digits gets one back
            txt = f"CAST(CAST({col} AS BIGINT) AS VARCHAR)"
            expr = f"CASE WHEN length({txt}) % 2 = 1 THEN '0' || {txt} ELSE {txt} END"
        parts.append(f"{expr} AS r_{canon}")
    if rn:
        parts.insert(0, "row_number() OVER () AS rn")
    return ", ".join(parts)


def _norm_country(col: str) -> str:
    t = f"upper(trim({col}))"
    return (f"CASE WHEN regexp_full_match({t}, '\\d{{1,4}}') "
            f"THEN CAST(CAST({t} AS INTEGER) AS VARCHAR) ELSE {t} END")


def _conv_sql(source: str, date_format: str | None) -> tuple[str, str, str]:
    """(FROM clause with joins, typed select list, failing reason CASE) over raw rows r."""
    date_expr = (f"try_strptime(trim(r.r_date), {_lit(date_format)})" if date_format
                 else "TRY_CAST(trim(r.r_date) AS TIMESTAMP)")
    hs = "regexp_replace(trim(r.r_hs_code), '[.\\s]', '', 'g')"
    frm = (f"(SELECT *, {date_expr} AS d_date, {hs} AS d_hs, "
           "TRY_CAST(trim(r.r_value_usd) AS DOUBLE) AS d_value, "
           "TRY_CAST(trim(r.r_quantity) AS DOUBLE) AS d_qty "
           f"FROM {source} r) r "
           f"LEFT JOIN cc ci ON ci.code = {_norm_country('r.r_importer_country')} "
           f"LEFT JOIN cc cd ON cd.code = {_norm_country('r.r_dispatch_country')} "
           f"LEFT JOIN cc co ON co.code = {_norm_country('r.r_origin_country')}")

    def empty(c: str) -> str:
        return f"(r.r_{c} IS NULL OR trim(r.r_{c}) = '')"

    required = " OR ".join(empty(c) for c in REQUIRED)
    reason = f"""CASE
        WHEN {required} THEN 'shp_missing_field'
        WHEN r.d_date IS NULL OR year(r.d_date) < 1950 OR year(r.d_date) > 2100
             THEN 'shp_bad_date'
        WHEN ci.iso3 IS NULL OR cd.iso3 IS NULL OR (NOT {empty('origin_country')}
             AND co.iso3 IS NULL) THEN 'shp_unknown_country'
        WHEN NOT regexp_full_match(r.d_hs, '\\d{{6,10}}') THEN 'shp_bad_hs_code'
        WHEN r.d_value IS NULL OR NOT isfinite(r.d_value) THEN 'shp_bad_value'
        WHEN r.d_value < 0 THEN 'shp_negative_value'
        WHEN NOT {empty('quantity')} AND (r.d_qty IS NULL OR NOT isfinite(r.d_qty)
             OR r.d_qty < 0) THEN 'shp_bad_quantity'
        END"""
    select = ("r.d_date AS date, trim(r.r_declaration_id) AS declaration_id, "
              "trim(r.r_consignee) AS consignee, ci.iso3 AS importer_country, "
              "trim(r.r_shipper) AS shipper, cd.iso3 AS dispatch_country, "
              "co.iso3 AS origin_country, NULLIF(trim(r.r_brand), '') AS brand, "
              "r.d_hs AS hs_code, r.d_value AS value_usd, r.d_qty AS quantity, "
              "strftime(r.d_date, '%Y-%m') AS month")
    return frm, select, reason


def _missing_column() -> str:
    """SQL picking the first empty required column of a row (for examples)."""
    whens = " ".join(f"WHEN r.r_{c} IS NULL OR trim(r.r_{c}) = '' THEN '{c}'"
                     for c in REQUIRED)
    return f"CASE {whens} END"


def _country_column() -> str:
    return ("CASE WHEN ci.iso3 IS NULL THEN 'importer_country' WHEN cd.iso3 IS NULL THEN "
            "'dispatch_country' ELSE 'origin_country' END")


_PARQUET = "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1"


class _Signal(Exception):
    pass


def _run(con, sql: str, *, label: str, progress: bool, params=None):
    import duckdb

    try:
        return run_with_progress(con, sql, params, desc=label, enabled=progress)
    except duckdb.OutOfMemoryException as err:
        raise ChokepointError(
            f"{label}: DuckDB ran out of memory ({str(err).splitlines()[0]}). Remedy: "
            "raise --memory-limit or use fewer --threads") from err
    except duckdb.Error as err:
        msg = str(err)
        if "chokepoint:bad-row" in msg:
            raise _Signal() from None
        raise SourceFormatError(f"DuckDB cannot read the file ({msg.splitlines()[0]})",
                                source=label, remedy=_MAP_HINT) from err


@dataclass
class _FileResult:
    inp: _Input
    out_dir: Path
    rows_read: int
    rows_written: int
    problems: Problems
    rejected: list[int] = field(default_factory=list)
    idcol: str = "declaration_id"


def _copy(select: str, frm: str, where: str, out_dir: Path, k: int) -> str:
    return (f"COPY (SELECT {select} FROM {frm} WHERE {where}) TO {_lit(out_dir)} "
            f"({_PARQUET}, PARTITION_BY (month), OVERWRITE_OR_IGNORE true, "
            f"FILENAME_PATTERN 'f{k}_{{i}}')")


def _convert(con, inp: _Input, k: int, mapping: dict[str, str], out_dir: Path, *,
             date_format: str | None, lenient: bool, progress: bool) -> _FileResult:
    """Convert one input file to month-partitioned Parquet (see the module notes)."""
    cols = _columns(con, inp)
    res = _resolve(mapping, cols, inp)
    rej = (f"rej_{k}", f"rejscan_{k}") if inp.kind == "csv" else None
    raw = f"(SELECT {_raw_select(res, cols, rn=False)} FROM {_scan_sql(inp, rej)})"
    frm, select, reason = _conv_sql(raw, date_format)
    label = inp.label
    where = f"CASE WHEN ({reason}) IS NOT NULL THEN error('chokepoint:bad-row') ELSE true END"
    probs = Problems(label)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    try:
        _run(con, _copy(select, frm, where, out_dir, k), label=label, progress=progress)
        fast_ok = True
    except _Signal:
        fast_ok = False
        if out_dir.exists():
            shutil.rmtree(out_dir)
    rejected: list[int] = []
    if fast_ok:
        if rej is not None:
            rprobs, rejected = _rejects(con, rej[0], label)
            probs.extend(rprobs)
        if probs and not lenient:
            raise probs.error("shipments")
        written = _count_written(con, out_dir)
        return _FileResult(inp, out_dir, written + len(rejected), written, probs, rejected,
                           res["declaration_id"])
    # diagnostic pass: every bad row with its line
    rej2 = (f"rej_{k}_d", f"rejscan_{k}_d") if inp.kind == "csv" else None
    con.execute(f"CREATE OR REPLACE TEMP TABLE raw AS SELECT "
                f"{_raw_select(res, cols, rn=True)} FROM {_scan_sql(inp, rej2)}")
    frm_d, select_d, reason_d = _conv_sql("raw", date_format)
    con.execute(f"CREATE OR REPLACE TEMP TABLE bad AS SELECT r.rn, {reason_d} AS reason, "
                f"{_missing_column()} AS miss, {_country_column()} AS ccol, "
                f"r.r_date, r.r_importer_country, r.r_dispatch_country, "
                f"r.r_origin_country, r.r_hs_code, r.r_value_usd, r.r_quantity, "
                f"r.r_declaration_id FROM {frm_d} WHERE ({reason_d}) IS NOT NULL")
    probs = Problems(label)
    if rej2 is not None:
        rprobs, rejected = _rejects(con, rej2[0], label)
        probs.extend(rprobs)
    adj = [ln - m for m, ln in enumerate(rejected, start=1)]

    def line_of(rn: int) -> int:  # file line (CSV) or row (Parquet) of the rn-th row
        return rn + 1 + bisect_right(adj, rn) if inp.kind == "csv" else rn

    for rsn, n in con.execute("SELECT reason, count(*) FROM bad GROUP BY 1 ORDER BY 1"
                              ).fetchall():
        ex = con.execute("SELECT rn, miss, ccol, r_date, r_importer_country, "
                         "r_dispatch_country, r_origin_country, r_hs_code, r_value_usd, "
                         "r_quantity FROM bad WHERE reason = ? ORDER BY rn LIMIT 20",
                         [rsn]).fetchall()
        examples = []
        for rn, miss, ccol, *vals in ex:
            raw_of = dict(zip(("date", "importer_country", "dispatch_country",
                               "origin_country", "hs_code", "value_usd", "quantity"), vals,
                              strict=True))
            if rsn == "shp_missing_field":
                col, val = miss, None
            elif rsn == "shp_unknown_country":
                col, val = ccol, raw_of[ccol]
            else:
                col = _COLUMN_REASON[rsn]
                val = raw_of[col]
            examples.append({"line": line_of(rn), "column": res.get(col, col), "value": val})
        probs.add(rsn, n, examples)
    rows_read = con.execute("SELECT count(*) FROM raw").fetchall()[0][0] + len(rejected)
    if probs and not lenient:
        raise probs.error("shipments")
    _run(con, _copy(select_d, frm_d, f"({reason_d}) IS NULL", out_dir, k),
         label=label, progress=progress)
    con.execute("DROP TABLE raw; DROP TABLE bad")
    written = _count_written(con, out_dir)
    return _FileResult(inp, out_dir, int(rows_read), written, probs, rejected,
                       res["declaration_id"])


def _rejects(con, table: str, label: str) -> tuple[Problems, list[int]]:
    import duckdb

    probs = Problems(label)
    try:
        rows = con.execute(f"SELECT line, csv_line FROM {table} ORDER BY line").fetchall()
    except duckdb.CatalogException:  # no rejects table: nothing was rejected
        return probs, []
    lines = sorted({int(r[0]) for r in rows})
    seen = set()
    for line, raw in rows:
        if line in seen:
            continue
        seen.add(line)
        probs.add("shp_malformed_line", 1, [{"line": int(line), "column": None,
                                             "value": raw}])
    return probs, lines


def _written_files(out_dir: Path) -> list[Path]:
    return sorted(out_dir.rglob("*.parquet")) if out_dir.exists() else []


def _count_written(con, out_dir: Path) -> int:
    import pyarrow.parquet as pq

    return int(sum(pq.read_metadata(f).num_rows for f in _written_files(out_dir)))


# ---------------------------------------------------------------------------------------
# across files: duplicates, notes
# ---------------------------------------------------------------------------------------

_OUT_COLS = ", ".join(CANONICAL)


def _dedupe(con, results: list[_FileResult], stage: Path, *, lenient: bool,
            totals: Problems, progress: bool) -> list[Path]:
    """Check declaration ids across all files; return the final files (rewritten when
    duplicates are dropped)."""
    files = [f for r in results for f in _written_files(r.out_dir)]
    if not files:
        return []
    src = f"read_parquet({[str(f) for f in files]!r}, hive_partitioning = false)"
    short = con.execute(f"SELECT count(*) - count(DISTINCT declaration_id) FROM {src}"
                        ).fetchall()[0][0]
    if not short:
        return files
    con.execute(f"""CREATE OR REPLACE TEMP TABLE dups AS
        SELECT declaration_id, count(*) AS n, count(DISTINCT ({_OUT_COLS})) AS k
        FROM {src} GROUP BY declaration_id HAVING count(*) > 1""")
    exact_extra, conflict_rows = con.execute(
        "SELECT coalesce(sum(n - 1) FILTER (WHERE k = 1), 0), "
        "coalesce(sum(n) FILTER (WHERE k > 1), 0) FROM dups").fetchall()[0]
    if exact_extra:
        totals.add("exact_duplicate", int(exact_extra))
    if conflict_rows:
        ids = [r[0] for r in con.execute("SELECT declaration_id FROM dups WHERE k > 1 "
                                         "ORDER BY declaration_id LIMIT 10").fetchall()]
        examples = _locate_ids(con, results, ids)
        totals.add("shp_duplicate_id", int(conflict_rows), examples)
        if not lenient:
            raise totals.error("shipments")
    out_dir = stage / "deduplicated"
    con.execute(f"""COPY (
        SELECT {_OUT_COLS}, strftime(date, '%Y-%m') AS month FROM {src}
        WHERE declaration_id NOT IN (SELECT declaration_id FROM dups)
        UNION ALL
        SELECT {_OUT_COLS}, strftime(date, '%Y-%m') AS month FROM (
            SELECT DISTINCT ON (declaration_id) {_OUT_COLS} FROM {src}
            WHERE declaration_id IN (SELECT declaration_id FROM dups WHERE k = 1)
            ORDER BY declaration_id)
    ) TO {_lit(out_dir)} ({_PARQUET}, PARTITION_BY (month), FILENAME_PATTERN 'd_{{i}}')""")
    return _written_files(out_dir)


def _locate_ids(con, results: list[_FileResult], ids: list[str]) -> list[dict]:
    """File lines of some declaration ids (for the examples of a duplicate error)."""
    out: list[dict] = []
    con.register("_ids", pd.DataFrame({"id": ids}))
    try:
        for r in results:
            rows = con.execute(
                f"SELECT rn, v FROM (SELECT row_number() OVER () AS rn, "
                f"trim(CAST({_ident(r.idcol)} AS VARCHAR)) AS v FROM "
                f"{_scan_sql(r.inp, ignore_errors=True)}) WHERE v IN (SELECT id FROM _ids) "
                "ORDER BY v, rn LIMIT 20").fetchall()
            adj = [ln - m for m, ln in enumerate(r.rejected, start=1)]
            for rn, v in rows:
                line = rn + 1 + bisect_right(adj, rn) if r.inp.kind == "csv" else rn
                out.append({"source": r.inp.label, "line": int(line), "column": r.idcol,
                            "value": v})
    finally:
        con.unregister("_ids")
    return sorted(out, key=lambda e: (e["value"], e["source"], e["line"]))[:20]


def _notes(con, files: list[Path], brands: pd.DataFrame | None, totals: Problems
           ) -> dict[int, int]:
    """Count documented handling over the final files; return rows per year."""
    if not files:
        return {}
    src = f"read_parquet({[str(f) for f in files]!r}, hive_partitioning = false)"
    dom, no_origin = con.execute(
        f"SELECT count(*) FILTER (WHERE dispatch_country = importer_country), "
        f"count(*) FILTER (WHERE origin_country IS NULL) FROM {src}").fetchall()[0]
    totals.add("shp_domestic", int(dom))
    totals.add("shp_no_origin", int(no_origin))
    if brands is not None:
        con.register("_brands", pd.DataFrame({"b": brands["brand"].astype(str)
                                              .str.strip().str.casefold()}))
        unknown = con.execute(
            f"SELECT count(*) FROM {src} WHERE brand IS NOT NULL AND lower(trim(brand)) "
            "NOT IN (SELECT b FROM _brands)").fetchall()[0][0]
        con.unregister("_brands")
        totals.add("shp_unknown_brand", int(unknown))
    rows = con.execute(f"SELECT year(date), count(*) FROM {src} GROUP BY 1 ORDER BY 1"
                       ).fetchall()
    return {int(y): int(n) for y, n in rows}


def _by_month(files: list[Path]) -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    for f in files:
        part = f.parent.name
        if not part.startswith("month="):
            raise DataError("unexpected layout of the converted files", source=str(f))
        out.setdefault(part[len("month="):], []).append(f)
    return out


# ---------------------------------------------------------------------------------------
# brands
# ---------------------------------------------------------------------------------------


def read_brands(path: str | os.PathLike) -> pd.DataFrame:
    """A brand table: CSV with columns ``brand``, ``hq_country`` and optionally ``source``.

    ``hq_country`` is an ISO3 or UN M49 numeric code. Returns a validated
    :class:`~analytics.schemas.Brands` frame.

    Raises
    ------
    SourceFormatError
        Missing file or columns.
    UnknownCountry
        A headquarters code that is neither ISO3 nor M49 (naming the line).
    SchemaViolation
        Empty or duplicated brands (every failing line listed).
    """
    from analytics import reference

    p = Path(path).expanduser()
    if not p.is_file():
        raise SourceFormatError("no such brand file", source=str(p),
                                remedy="give a CSV with columns brand,hq_country[,source]")
    try:
        raw = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise SourceFormatError(f"cannot be read as CSV ({err})", source=str(p),
                                remedy="save the brand table as UTF-8 CSV") from err
    cols = {c.strip().lower(): c for c in raw.columns}
    if "brand" not in cols or "hq_country" not in cols:
        raise SourceFormatError("wrong header", source=str(p), row=1,
                                value=",".join(raw.columns),
                                remedy="the brand table has columns brand,hq_country[,source]")
    known = set(reference.countries()["iso3"])
    tc = reference.trade_codes()
    tc = tc[tc["kind"].isin(["country", "historical", "nes"]) & tc["iso3"].isin(known)]
    numeric = dict(zip(tc["code"].astype(int), tc["iso3"], strict=True))
    out_hq = []
    for i, v in enumerate(raw[cols["hq_country"]].str.strip().str.upper()):
        if v in known:
            out_hq.append(v)
        elif v.isdigit() and int(v) in numeric:
            out_hq.append(numeric[int(v)])
        else:
            raise UnknownCountry(
                f"{p}, row {i + 2}, column {cols['hq_country']!r}: value {v!r}: unknown "
                "country code. Remedy: use ISO3 codes (JPN) or UN M49 numeric codes (392)")
    frame = pd.DataFrame({
        "brand": raw[cols["brand"]].str.strip(),
        "hq_country": out_hq,
        "source": raw[cols["source"]].str.strip().replace("", None) if "source" in cols
        else p.name,
    })
    return validate(frame, Brands, source=str(p))


# ---------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _convert_all(inputs, mapping, stage: Path, *, date_format, lenient, progress, threads,
                 memory_limit, brands) -> tuple[list[Path], Problems, list[_FileResult],
                                                dict[int, int]]:
    totals = Problems(", ".join(i.path.name for i in inputs[:3]))
    con = connect(threads=threads, memory_limit=memory_limit,
                  temp_directory=stage / "duckdb")
    con.execute("SET enable_progress_bar_print = false")
    try:
        _country_table(con)
        results = []
        for k, inp in enumerate(inputs):
            r = _convert(con, inp, k, mapping, stage / f"in-{k}", date_format=date_format,
                         lenient=lenient, progress=progress)
            totals.extend(r.problems)
            results.append(r)
        files = _dedupe(con, results, stage, lenient=lenient, totals=totals,
                        progress=progress)
        per_year = _notes(con, files, brands, totals)
    finally:
        con.close()
    return files, totals, results, per_year


def read_shipments(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    mapping: str | Mapping[str, str] | None = None,
    date_format: str | None = None,
    lenient: bool = False,
) -> pd.DataFrame:
    """Canonical shipments from (small) CSV/Parquet files, with the ingest's checks.

    For files that fit in memory (tests, notebooks); large files go to a store with
    :func:`ingest_shipments`. Bad rows raise (or, ``lenient``, are dropped with a
    warning giving the counts). Sorted by date and declaration id.
    """
    import warnings

    import pyarrow.parquet as pq

    inputs = _inputs(paths)
    mp = parse_mapping(mapping)
    with tempfile.TemporaryDirectory(prefix="chokepoint-shipments-") as tmp:
        files, totals, _, _ = _convert_all(inputs, mp, Path(tmp), date_format=date_format,
                                           lenient=lenient, progress=False, threads=None,
                                           memory_limit="1GB", brands=None)
        frames = [pq.read_table(f).to_pandas() for f in files]
    dropped = {r: n for r, n in totals.counts.items() if REASONS[r].kind == "problem"}
    if dropped:
        warnings.warn(f"read_shipments dropped {sum(dropped.values()):,} bad row(s): "
                      f"{dropped}", stacklevel=2)
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=list(CANONICAL))
    frame = frame[[c for c in CANONICAL]]
    frame = validate(frame, Shipments, source=", ".join(i.label for i in inputs))
    return frame.sort_values(["date", "declaration_id"], kind="stable").reset_index(
        drop=True)


def ingest_shipments(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    store_path: str | os.PathLike,
    *,
    mapping: str | Mapping[str, str] | None = None,
    brands: str | os.PathLike | pd.DataFrame | None = None,
    lenient: bool = False,
    date_format: str | None = None,
    hs_version: str | None = None,
    append: bool = False,
    dataset_name: str | None = None,
    synthetic: bool = False,
    progress: bool = False,
    threads: int | None = None,
    memory_limit: str | None = "2GB",
) -> IngestReport:
    """Stream customs records into a store's partitioned ``shipments`` table, atomically.

    Parameters
    ----------
    paths : path or sequence of paths
        CSV (``.csv``, ``.csv.gz``, ``.tsv``) or Parquet files, or folders of them.
    store_path : path-like
        Store directory. When absent it is created with the reference tables (and no
        flows); then ``hs_version`` is required.
    mapping : str or mapping, optional
        Canonical column -> file column (:func:`parse_mapping`); unmapped canonical
        columns are looked up by their own name (case-insensitive).
    brands : path or DataFrame, optional
        Brand table (:func:`read_brands`) written beside the shipments.
    lenient : bool, default False
        Drop bad rows and count them instead of raising.
    date_format : str, optional
        strptime layout of the dates (default: ISO).
    hs_version : str, optional
        HS nomenclature of the codes (e.g. ``"HS2017"``); must equal the store's.
    append : bool, default False
        Keep stored months that the new files do not cover (a month present in the new
        files replaces the stored one). By default the shipments are replaced.
    dataset_name, synthetic : optional
        For a new store.
    progress : bool
        Progress bars on stderr.
    threads, memory_limit
        DuckDB settings.

    Returns
    -------
    IngestReport
        ``years`` and ``rows_written`` per year, ``rows_read`` per year is not known per
        year (see ``details["files"]``); ``dropped``, ``notes``, ``examples``.

    Raises
    ------
    SourceFormatError, UnknownCountry, DataError, SchemaViolation
        Bad input (strict mode), naming file, line, column, value and remedy.
    ConfigError
        A bad ``mapping``.
    StoreError, HSVersionError
        A synthetic store receiving real data (or the reverse), a different HS version,
        a new store without ``hs_version``.
    """
    from analytics import store

    t0 = time.perf_counter()
    inputs = _inputs(paths)
    mp = parse_mapping(mapping)
    root = Path(store_path).expanduser()
    existing = store.is_store(root)
    if existing:
        info = store.store_info(root)
        if info["synthetic"] != bool(synthetic):
            what = "synthetic demo data" if info["synthetic"] else "real data"
            raise StoreError(f"the store at {root} holds {what}; load these shipments into "
                             "a separate store (--store NEW_DIR)")
        if hs_version is not None and hs_version != info["hs_version"]:
            raise HSVersionError(
                f"the store holds {info['hs_version']} data but the shipments are "
                f"{hs_version}", source=str(root),
                remedy="load them into a store of the same HS version")
        hs_version = info["hs_version"]
    elif hs_version is None:
        raise HSVersionError("a new store needs the HS version of the shipments' codes",
                             source=str(root),
                             remedy="pass --hs-version HS2017 (or HS2022, ...), or load "
                                    "into an existing store")
    brand_frame = (read_brands(brands) if isinstance(brands, (str, os.PathLike))
                   else (validate(brands, Brands, source="brands") if brands is not None
                         else None))
    if brand_frame is None and existing and info["rows"].get("brands"):
        brand_frame = store.read_table(root, "brands")
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    report = IngestReport(SOURCE, str(root))
    try:
        with store.staging_dir(root, prefix=".ingest-shipments-") as stage:
            pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
            hashes = {i.path: pool.submit(_sha256_file, i.path) for i in inputs}
            refs_future = pool.submit(reference_tables) if not existing else None
            try:
                files, totals, results, per_year = _convert_all(
                    inputs, mp, stage, date_format=date_format, lenient=lenient,
                    progress=progress, threads=threads, memory_limit=memory_limit,
                    brands=brand_frame)
                sha = {p: f.result() for p, f in hashes.items()}
                refs, ref_prov = refs_future.result() if refs_future else ({}, {})
            finally:
                pool.shutdown(wait=True)
            if not files:
                raise DataError("no shipment left to load", source=totals.source,
                                remedy="check the files and the --map option")
            problems = {r: n for r, n in totals.counts.items()
                        if REASONS[r].kind == "problem"}
            notes = {r: n for r, n in totals.counts.items() if REASONS[r].kind == "note"}
            prov = {
                "source": SOURCE, "hs_version": hs_version, "mapping": mp,
                "date_format": date_format, "lenient": bool(lenient), "append": bool(append),
                "ingested": datetime.now(UTC).isoformat(timespec="seconds"),
                "files": {r.inp.path.name: {"bytes": r.inp.path.stat().st_size,
                                            "sha256": sha[r.inp.path],
                                            "rows_read": r.rows_read,
                                            "rows_written": r.rows_written}
                          for r in results},
                "dropped": problems, "notes": notes,
                "examples": list(totals.examples[:50]),
            }
            if refs or brand_frame is not None:
                refs = dict(refs)
            if brand_frame is not None and brands is not None:
                refs["brands"] = brand_frame
                ref_prov["brands"] = {"source": str(Path(brands).name) if isinstance(
                    brands, (str, os.PathLike)) else "brands (DataFrame)",
                    "rows": int(len(brand_frame))}
            store.update_table_files(
                root, "shipments", _by_month(files), partition_key="month", append=append,
                provenance={**ref_prov, "shipments": prov}, hs_version=hs_version,
                dataset_name=dataset_name or ("shipments" if not existing else None),
                reference_tables=refs or None, synthetic=synthetic, move=True,
                trusted=True, drop_derived=["shipments_*"])
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                root.rmdir()
        raise
    report.years = sorted(per_year)
    report.rows_written = per_year
    report.dropped = problems
    report.notes = notes
    report.examples = list(totals.examples)
    report.seconds = time.perf_counter() - t0
    report.unit = "records"
    report.details = {"files": prov["files"], "months": len(_by_month(files)),
                      "rows": int(sum(per_year.values())), "hs_version": hs_version}
    return report


def report_lines(report: IngestReport) -> list[str]:
    """A human summary of a shipments ingest, one line per item."""
    d = report.details
    return [f"shipments: {d.get('rows', 0):,} records in {d.get('months', 0)} month(s)",
            *report.lines()]
