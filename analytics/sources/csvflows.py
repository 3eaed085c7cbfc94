"""Bring-your-own flows: a tidy flows file (CSV, CSV.gz or Parquet) into a store.

A *tidy flows file* has one row per flow and a column for each of exporter, importer,
HS6 code and value (a year column is optional). Its column names are mapped to the
canonical fields with ``mapping`` (the CLI's ``--map``)::

    chokepoint ingest csv baci_hs17_critical_2022.csv --store DIR --year 2022 \\
        --hs-version HS2017 --map exporter=i,importer=j,hs6=cmd,value_usd=value

Canonical fields: ``year``, ``exporter``, ``importer``, ``hs6``, ``value_usd`` (required
except ``year``) and ``quantity`` (optional). A field that is not mapped is taken from the
column of the same name when the file has one. Without a year column, ``year=`` (``--year``)
gives the year of every row; with one, ``year=`` is a check (rows of another year are
bad input).

Conversion (DuckDB, never the whole file in pandas)
---------------------------------------------------
* **Country codes** may be ISO3 (``JPN``) or UN M49 / Comtrade numeric codes (``392``,
  ``0392``, ``392.0``), in any mix: numeric codes are mapped through
  :func:`analytics.reference.trade_codes` (490 "Other Asia, nes" = Taiwan, 251 France,
  842 USA, ...); CEPII's pseudo-ISO3 ``S19`` (490) is Taiwan, ``TWN``. Aggregate areas
  (``0`` / ``WLD`` / ``W00`` World, ``97`` / ``EUU`` EU) are totals, not countries: their
  rows are dropped and counted (a *note*, not an error). Empty cells (e.g. a customs
  table's "Others" row without a code) and unknown codes are bad input.
* **HS codes** are zero-padded to six digits (``10121`` -> ``010121``); dots are ignored
  (``8542.31``) and a trailing ``.0`` of codes written as numbers is dropped. Codes that
  are not five or six digits (chapters, headings, national 8-11 digit lines) are bad
  input: aggregate them to HS6 first, or map the column that holds the HS6 code.
* **Values**: ``value_unit="usd"`` (default) or ``"kusd"`` (thousand USD, x 1000, as
  BACI's ``v``). Quantity, when mapped, is kept as it is (blank or ``NA`` = missing).
* **Duplicates**: the same (year, exporter, importer, hs6) twice is bad input by default
  (a concatenated or damaged file). Files at a finer level than HS6 (Taiwan's 11-digit
  customs lines, a breakdown by mode of transport) are *meant* to be added up:
  ``sum_duplicates=True`` (``--sum-duplicates``) sums their values (and quantities, when
  every line has one) and counts the merged rows as a note.

Bad input
---------
Every row is checked: a malformed line, an unknown or missing country code, exporter =
importer, a code that is not HS6, a non-number, a missing, non-finite or negative value, a
bad quantity, a year that is not a year (or not ``year=``), a duplicated key. Strict mode
(the default) raises one error of :mod:`analytics.errors` naming the file, line (CSV: the
header is line 1; Parquet: the data row), column, value and remedy; ``lenient=True``
(``--lenient``) drops the rows and counts them per reason with the first examples (in the
ingest report and in the store's provenance).

Store updates are atomic and additive: the years present in the file replace those years
in the store, other years are kept (ingest ``..._2022.csv`` then ``..._2024.csv`` into one
store), and one :func:`analytics.store.update_flow_files` call switches the store; a
failure leaves it as it was.

>>> parse_mapping("exporter=i, importer=j,hs6=cmd,value_usd=value")
{'exporter': 'i', 'importer': 'j', 'hs6': 'cmd', 'value_usd': 'value'}
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import os
import tempfile
import time
import warnings
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from analytics.errors import (
    ChokepointError,
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
)
from analytics.schemas import HS_VERSIONS, STR, Flows, validate

__all__ = [
    "FIELDS",
    "REQUIRED_FIELDS",
    "VALUE_UNITS",
    "SOURCE",
    "parse_mapping",
    "read_flows_file",
    "ingest_flows_file",
    "shared_data_dir",
    "require_shared_data",
    "SharedDataMissing",
]

SOURCE = "flows file"
FIELDS = ("year", "exporter", "importer", "hs6", "value_usd", "quantity")
REQUIRED_FIELDS = ("exporter", "importer", "hs6", "value_usd")
#: value unit -> factor to USD
VALUE_UNITS = {"usd": 1.0, "kusd": 1000.0}
#: pseudo-ISO3 codes of trade data that name a country of the reference table
ALIASES = {"S19": "TWN"}
#: pseudo-ISO3 codes of aggregates beyond those of trade_codes (UN Comtrade's World)
AGGREGATE_ALIASES = ("W00",)

_LENIENT = "or pass --lenient to drop such rows (they are counted in the ingest summary)"
_MAP = "check --map (e.g. --map exporter=i,importer=j,hs6=cmd,value_usd=value)"

# Reasons of this reader (registered beside the BACI/Comtrade ones, so reports, summaries
# and errors treat them alike; their remedies speak of the mapped columns).
_CSV_REASONS = (
    Reason("csv_malformed_line", "problem", "malformed line (wrong number of fields or "
           "bad encoding)", "every line needs as many fields as the header (quote fields "
           f"that contain the delimiter): fix the file, {_LENIENT}", SourceFormatError),
    Reason("csv_bad_year", "problem", "year is not a calendar year (1962-2100)",
           f"the year column holds four-digit years: {_MAP}, fix the file, {_LENIENT}"),
    Reason("csv_year_mismatch", "problem", "year differs from --year",
           "with a year column, --year only checks it: drop --year to take every year of "
           f"the file, {_LENIENT}"),
    Reason("missing_country", "problem", "missing country code (empty cell)",
           "every flow needs an exporter and an importer: rows of unallocated partners "
           "(e.g. a customs table's 'Others') cannot be placed in a network; fill in the "
           f"code, {_LENIENT}"),
    Reason("unknown_country", "problem", "unknown country code (neither an ISO3 code of "
           "data/reference/countries.csv nor a numeric code of data/reference/"
           "trade_codes.csv)", "write ISO3 or UN M49/Comtrade numeric codes; add a real "
           f"area to the reference tables, {_LENIENT}", UnknownCountry),
    Reason("csv_bad_hs6", "problem", "not a six-digit HS code",
           "the hs6 column holds six-digit HS codes (five digits are zero-padded, dots "
           "ignored): aggregate national 8-11 digit lines to HS6 or map the column that "
           f"holds the HS6 code, {_LENIENT}"),
    Reason("csv_not_a_number", "problem", "not a number",
           f"the value column holds plain numbers (no thousands separators): {_MAP}, fix "
           f"the file, {_LENIENT}"),
    Reason("csv_negative_value", "problem", "negative value",
           f"trade values are non-negative amounts: fix the file, {_LENIENT}"),
    Reason("csv_bad_quantity", "problem", "quantity is not a non-negative number or NA",
           f"the quantity column holds non-negative numbers or NA: {_MAP}, {_LENIENT}"),
    Reason("csv_duplicate_key", "problem", "duplicate key (the same year, exporter, "
           "importer and product twice)",
           "each (year, exporter, importer, hs6) must occur once: pass --sum-duplicates "
           "when the file is finer than HS6 (national tariff lines, breakdowns) and the "
           "rows are parts to be added up; otherwise the file may be concatenated twice; "
           "or pass --lenient to drop every row of a duplicated key"),
    Reason("summed_duplicates", "note", "rows of the same (year, exporter, importer, hs6) "
           "added up (--sum-duplicates)"),
    Reason("code_alias", "note", "pseudo-ISO3 code mapped to its country (S19 -> TWN)"),
)
register_reason(*_CSV_REASONS)

#: canonical field -> raw text column of the conversion tables
_RAW = {"year": "year_raw", "exporter": "exporter_raw", "importer": "importer_raw",
        "hs6": "hs6_raw", "value_usd": "value_raw", "quantity": "quantity_raw"}


def _lit(text: Any) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# ---------------------------------------------------------------------------------------
# mapping and file layout
# ---------------------------------------------------------------------------------------


def parse_mapping(mapping: str | Mapping[str, str] | None) -> dict[str, str]:
    """Canonical field -> column name, from ``"field=column,..."`` or a mapping.

    Raises
    ------
    DataError
        An unknown field, a field given twice, or an item without ``=``.
    """
    if mapping is None:
        return {}
    if isinstance(mapping, str):
        items = []
        for part in mapping.split(","):
            if not part.strip():
                continue
            key, sep, col = part.partition("=")
            if not sep or not key.strip() or not col.strip():
                raise DataError("a mapping item is not field=column", value=part.strip(),
                                remedy="write e.g. --map exporter=i,importer=j,hs6=cmd,"
                                       "value_usd=value")
            items.append((key.strip(), col.strip()))
    else:
        items = [(str(k).strip(), str(v).strip()) for k, v in mapping.items()]
    out: dict[str, str] = {}
    for key, col in items:
        if key not in FIELDS:
            raise DataError(f"unknown field {key!r} in the column mapping", value=key,
                            remedy=f"map the canonical fields {', '.join(FIELDS)}")
        if key in out:
            raise DataError(f"field {key!r} mapped twice", value=key,
                            remedy="map each field to one column")
        out[key] = col
    return out


@dataclass
class _File:
    path: Path
    kind: str  # "csv" or "parquet"
    columns: list[str]
    delimiter: str = ","
    encoding: str = "utf-8"
    selected: dict[str, str] = field(default_factory=dict)  # field -> column


def _is_parquet(path: Path) -> bool:
    if path.suffix.lower() in (".parquet", ".pq"):
        return True
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PAR1"
    except OSError:
        return False


def _first_line(path: Path) -> bytes:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            return fh.readline(1 << 20)
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise SourceFormatError(f"cannot be read ({err})", source=str(path),
                                remedy="check the file (a .gz must be complete)") from err


def _open_file(path: Path) -> _File:
    if not path.is_file():
        raise SourceFormatError("no such file", source=str(path),
                                remedy="give a flows file (.csv, .csv.gz or .parquet)")
    if _is_parquet(path):
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            names = list(pq.read_schema(path).names)
        except (pa.ArrowException, OSError) as err:
            raise SourceFormatError(f"not a readable Parquet file ({err})", source=str(path),
                                    remedy="check the file") from err
        return _File(path, "parquet", names)
    raw = _first_line(path)
    encoding = "utf-8"
    try:
        line = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        line, encoding = raw.decode("latin-1"), "latin-1"
    line = line.rstrip("\r\n")
    if not line.strip():
        raise SourceFormatError("empty file (no header line)", source=str(path), row=1,
                                remedy="the first line names the columns")
    counts = {d: line.count(d) for d in (",", ";", "\t", "|")}
    delim = max(counts, key=lambda d: (counts[d], d == ","))
    names = [h.strip() for h in next(csv.reader([line], delimiter=delim))]
    return _File(path, "csv", names, delim, encoding)


def _select(f: _File, mapping: dict[str, str], year: int | None) -> None:
    """Resolve the mapped columns of one file (SourceFormatError when some are absent)."""
    dup = sorted({c for c in f.columns if f.columns.count(c) > 1})
    if dup:
        raise SourceFormatError(f"repeated column names {dup}", source=str(f.path), row=1,
                                remedy="give every column its own name")
    have = set(f.columns)
    sel: dict[str, str] = {}
    for fld in FIELDS:
        col = mapping.get(fld)
        if col is not None:
            if col not in have:
                raise SourceFormatError(
                    f"column {col!r} (mapped to {fld}) is not in the file",
                    source=str(f.path), row=1, column=col,
                    value=", ".join(f.columns)[:300],
                    remedy=f"map {fld} to one of the file's columns; {_MAP}")
            sel[fld] = col
        elif fld in have:
            sel[fld] = fld
    missing = [fld for fld in REQUIRED_FIELDS if fld not in sel]
    if missing:
        raise SourceFormatError(
            f"no column for {', '.join(missing)}", source=str(f.path), row=1,
            value=", ".join(f.columns)[:300],
            remedy=f"map every required field ({', '.join(REQUIRED_FIELDS)}) to a column; "
                   f"{_MAP}")
    if "year" not in sel and year is None:
        raise SourceFormatError(
            "no year column and no year given", source=str(f.path), row=1,
            value=", ".join(f.columns)[:300],
            remedy="pass --year YYYY (year=) for a file of one year, or map its year "
                   "column (--map year=COLUMN,...)")
    f.selected = sel


# ---------------------------------------------------------------------------------------
# the DuckDB conversion
# ---------------------------------------------------------------------------------------


def _country_table() -> pd.DataFrame:
    """key (upper-case text) -> iso3, kind: ISO3 codes, numeric codes, aliases."""
    from analytics import reference

    ctry = reference.countries()
    tc = reference.trade_codes()
    recs = [(iso, iso, "country") for iso in ctry["iso3"]]
    for code, iso, kind in zip(tc["code"], tc["iso3"], tc["kind"], strict=True):
        recs.append((str(int(code)), iso, "aggregate" if kind == "aggregate" else "country"))
        if kind == "aggregate":
            recs.append((iso, iso, "aggregate"))
        elif iso not in set(ctry["iso3"]):
            recs.append((iso, iso, "country"))  # pseudo-ISO3 of "nes" areas (X99, ...)
    recs += [(k, v, "alias") for k, v in ALIASES.items()]
    recs += [(k, "WLD", "aggregate") for k in AGGREGATE_ALIASES]
    out = pd.DataFrame(recs, columns=["key", "iso3", "kind"])
    # ISO3 first, then numeric codes: a key keeps its first meaning
    return out.drop_duplicates("key").reset_index(drop=True)


def _code_key(expr: str) -> str:
    """SQL: the lookup key of a country cell (numbers without leading zeros or '.0')."""
    return (f"CASE WHEN regexp_full_match({expr}, '[0-9]+(\\.0+)?') "
            f"THEN CAST(CAST(TRY_CAST({expr} AS DOUBLE) AS BIGINT) AS VARCHAR) "
            f"ELSE upper({expr}) END")


def _hs6_sql(expr: str) -> str:
    """SQL: the cleaned HS code text (no '.0' artefact, no dots or spaces)."""
    clean = f"regexp_replace({expr}, '^([0-9]+)\\.0+$', '\\1')"
    return f"regexp_replace({clean}, '[. ]', '', 'g')"


def _load_file(con, f: _File, n: int) -> dict:
    """Temp table ``f{n}`` (rn, year_raw, exporter_raw, ...) of one file."""
    sel = f.selected
    rej = (f"rejects_{n}", f"rejects_scan_{n}")

    def col(fld: str) -> str:
        if fld not in sel:
            return "CAST(NULL AS VARCHAR)"
        return f"nullif(trim(CAST({_ident(sel[fld])} AS VARCHAR)), '')"

    fields = ", ".join(f"{col(fld)} AS {_RAW[fld]}" for fld in FIELDS)
    if f.kind == "parquet":
        src = f"read_parquet({_lit(f.path)})"
        con.execute(f"CREATE OR REPLACE TEMP TABLE f{n} AS SELECT {n} AS file_no, "
                    f"row_number() OVER () AS rn, {fields} FROM {src}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {rej[0]} (line BIGINT, csv_line VARCHAR)")
        return {"rejects": rej[0]}
    columns = "{" + ", ".join(f"{_lit(h)}: 'VARCHAR'" for h in f.columns) + "}"
    for encoding in dict.fromkeys((f.encoding, "latin-1")):
        src = (f"read_csv({_lit(f.path)}, header = true, auto_detect = false, "
               f"delim = {_lit(f.delimiter)}, quote = '\"', escape = '\"', "
               f"columns = {columns}, encoding = {_lit(encoding)}, store_rejects = true, "
               f"rejects_table = {_lit(rej[0])}, rejects_scan = {_lit(rej[1])})")
        con.execute(f"CREATE OR REPLACE TEMP TABLE f{n} AS SELECT {n} AS file_no, "
                    f"row_number() OVER () AS rn, {fields} FROM {src}")
        bad_unicode = con.execute(f"SELECT count(*) FROM {rej[0]} WHERE error_type "
                                  "ILIKE '%unicode%'").fetchall()[0][0]
        if not bad_unicode:
            break
        con.execute(f"DROP TABLE {rej[0]}; DROP TABLE {rej[1]}")
    return {"rejects": rej[0]}


_VERDICT = """CASE
    WHEN r.year IS NULL OR r.year < 1962 OR r.year > 2100 THEN 'csv_bad_year:year'
    WHEN {year_check} THEN 'csv_year_mismatch:year'
    WHEN r.exporter_raw IS NULL THEN 'missing_country:exporter'
    WHEN r.importer_raw IS NULL THEN 'missing_country:importer'
    WHEN e.iso3 IS NULL THEN 'unknown_country:exporter'
    WHEN m.iso3 IS NULL THEN 'unknown_country:importer'
    WHEN e.kind = 'aggregate' OR m.kind = 'aggregate' THEN 'aggregate_area'
    WHEN e.iso3 = m.iso3 THEN 'same_country:importer'
    WHEN NOT regexp_full_match(r.hs6_clean, '[0-9]{{5,6}}') THEN 'csv_bad_hs6:hs6'
    WHEN r.value_raw IS NULL THEN 'missing_value:value_usd'
    WHEN r.value IS NULL THEN 'csv_not_a_number:value_usd'
    WHEN NOT isfinite(r.value) THEN 'missing_value:value_usd'
    WHEN r.value < 0 THEN 'csv_negative_value:value_usd'
    WHEN r.quantity_raw IS NOT NULL AND upper(r.quantity_raw) NOT IN ('NA', 'NAN')
         AND (r.quantity IS NULL OR NOT isfinite(r.quantity) OR r.quantity < 0)
         THEN 'csv_bad_quantity:quantity'
    END"""


@dataclass
class _Converted:
    """Result of :func:`_convert`: the table ``good`` in the connection, and counts."""

    problems: Problems
    notes: dict[str, int]
    files: list[dict]
    rows_read: dict[int, int]
    rows_total: int


def _line_fn(con, rejects: str, kind: str):
    """rn -> CSV line (header = 1, rejected lines skipped) or Parquet data row."""
    if kind == "parquet":
        return lambda rn: int(rn)
    rejected = sorted(int(r[0]) for r in con.execute(
        f"SELECT DISTINCT line FROM {rejects}").fetchall())
    adj = [ln - m for m, ln in enumerate(rejected, start=1)]
    return lambda rn: int(rn) + 1 + bisect_right(adj, int(rn))


def _convert(con, files: list[_File], *, year: int | None, value_unit: str,
             sum_duplicates: bool) -> _Converted:
    names = {n: f.path.name for n, f in enumerate(files)}
    problems = Problems(", ".join(names.values()))
    con.register("_cmap", _country_table())
    con.execute("CREATE OR REPLACE TEMP TABLE cmap AS SELECT CAST(key AS VARCHAR) AS key, "
                "CAST(iso3 AS VARCHAR) AS iso3, CAST(kind AS VARCHAR) AS kind FROM _cmap")
    con.unregister("_cmap")
    metas = [_load_file(con, f, n) for n, f in enumerate(files)]
    union = " UNION ALL ".join(f"SELECT * FROM f{n}" for n in range(len(files)))
    fixed_year = "NULL" if year is None else str(int(year))
    con.execute(f"""CREATE OR REPLACE TEMP TABLE raw AS
        SELECT u.*,
            CAST(coalesce(TRY_CAST(TRY_CAST(u.year_raw AS DOUBLE) AS BIGINT),
                          CASE WHEN u.year_raw IS NULL THEN {fixed_year} END) AS BIGINT)
                AS year,
            {_code_key('u.exporter_raw')} AS exporter_key,
            {_code_key('u.importer_raw')} AS importer_key,
            {_hs6_sql('u.hs6_raw')} AS hs6_clean,
            TRY_CAST(u.value_raw AS DOUBLE) AS value,
            TRY_CAST(u.quantity_raw AS DOUBLE) AS quantity
        FROM ({union}) u""")
    # a year that is not a whole number is not a year
    con.execute("""UPDATE raw SET year = NULL WHERE year_raw IS NOT NULL
                   AND TRY_CAST(year_raw AS DOUBLE) <> year""")
    year_check = "false" if year is None else \
        f"r.year_raw IS NOT NULL AND r.year <> {int(year)}"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE checked AS
        SELECT r.file_no, r.rn, r.year, r.exporter_raw, r.importer_raw, r.hs6_raw,
               r.value_raw, r.quantity_raw, r.year_raw,
               e.iso3 AS exporter, m.iso3 AS importer,
               lpad(r.hs6_clean, 6, '0') AS hs6, r.value,
               CASE WHEN isfinite(r.quantity) THEN r.quantity END AS quantity,
               (e.kind = 'alias')::INT + (m.kind = 'alias')::INT AS aliases,
               {_VERDICT.format(year_check=year_check)} AS verdict
        FROM raw r
        LEFT JOIN cmap e ON r.exporter_key = e.key
        LEFT JOIN cmap m ON r.importer_key = m.key""")
    con.execute("DROP TABLE raw")
    lines = {n: _line_fn(con, metas[n]["rejects"], f.kind) for n, f in enumerate(files)}
    for n, meta in enumerate(metas):
        rows = con.execute(f"SELECT line, csv_line FROM {meta['rejects']} "
                           "ORDER BY line").fetchall()
        seen: dict[int, str] = {}
        for ln, raw in rows:
            seen.setdefault(int(ln), raw)
        problems.add("csv_malformed_line", len(seen), [
            {"source": names[n], "line": ln, "value": raw} for ln, raw in seen.items()])
    notes: dict[str, int] = {}
    for verdict, count in con.execute(
            "SELECT verdict, count(*) FROM checked WHERE verdict IS NOT NULL "
            "GROUP BY 1 ORDER BY 1").fetchall():
        reason, _, column = verdict.partition(":")
        if REASONS[reason].kind == "note":
            notes[reason] = notes.get(reason, 0) + int(count)
            continue
        raw_col = _RAW[column]
        ex = con.execute(f"""SELECT file_no, rn, coalesce({raw_col}, '') FROM checked
                             WHERE verdict = ? ORDER BY file_no, rn LIMIT 20""",
                         [verdict]).fetchall()
        problems.add(reason, int(count), [
            {"source": names[fn], "line": lines[fn](rn),
             "column": files[fn].selected.get(column, column), "value": v}
            for fn, rn, v in ex])
    aliases = con.execute("SELECT coalesce(sum(aliases), 0) FROM checked "
                          "WHERE verdict IS NULL").fetchone()[0]
    if aliases:
        notes["code_alias"] = int(aliases)
    # duplicated keys among the good rows (one grouping pass; the keys are few)
    con.execute("""CREATE OR REPLACE TEMP TABLE dupkeys AS
        SELECT year, exporter, importer, hs6, count(*) AS n FROM checked
        WHERE verdict IS NULL GROUP BY ALL HAVING count(*) > 1""")
    ndup, nkeys = (int(v) for v in con.execute(
        "SELECT coalesce(sum(n), 0), count(*) FROM dupkeys").fetchall()[0])
    dup_rows = """SELECT c.file_no, c.rn, c.year, c.exporter, c.importer, c.hs6
        FROM checked c SEMI JOIN dupkeys d USING (year, exporter, importer, hs6)
        WHERE c.verdict IS NULL"""
    factor = VALUE_UNITS[value_unit]
    if ndup and sum_duplicates:
        notes["summed_duplicates"] = ndup - nkeys
    elif ndup:
        ex = con.execute(f"""{dup_rows}
            ORDER BY c.year, c.exporter, c.importer, c.hs6, c.file_no, c.rn
            LIMIT 20""").fetchall()
        problems.add("csv_duplicate_key", ndup, [
            {"source": names[fn], "line": lines[fn](rn),
             "column": "year,exporter,importer,hs6", "value": f"{y},{e},{i},{h}"}
            for fn, rn, y, e, i, h in ex])
        con.execute(f"""UPDATE checked SET verdict = 'csv_duplicate_key'
            WHERE (file_no, rn) IN (SELECT (file_no, rn) FROM ({dup_rows}))""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE good AS
        SELECT CAST(year AS BIGINT) AS year, CAST(exporter AS VARCHAR) AS exporter,
               CAST(importer AS VARCHAR) AS importer, CAST(hs6 AS VARCHAR) AS hs6,
               CAST(sum(value) * {factor!r} AS DOUBLE) AS value_usd,
               CAST(CASE WHEN count(quantity) = count(*) THEN sum(quantity) END AS DOUBLE)
                   AS quantity
        FROM checked WHERE verdict IS NULL
        GROUP BY year, exporter, importer, hs6
        ORDER BY year, exporter, importer, hs6""")
    rows_read = {int(y): int(n) for y, n in con.execute(
        "SELECT year, count(*) FROM checked WHERE year IS NOT NULL GROUP BY year").fetchall()}
    total = con.execute("SELECT count(*) FROM checked").fetchone()[0] + \
        problems.counts.get("csv_malformed_line", 0)
    file_meta = []
    for n, f in enumerate(files):
        with open(f.path, "rb") as fh:
            sha = hashlib.file_digest(fh, "sha256").hexdigest()
        per_year = dict(con.execute(
            "SELECT year, count(*) FROM checked WHERE file_no = ? AND year IS NOT NULL "
            "GROUP BY year ORDER BY year", [n]).fetchall())
        file_meta.append({
            "file": f.path.name, "kind": f.kind, "bytes": f.path.stat().st_size,
            "sha256": sha, "mapping": dict(f.selected),
            "delimiter": f.delimiter if f.kind == "csv" else None,
            "years": sorted(int(y) for y in per_year),
            "rows": int(sum(per_year.values())),
        })
    con.execute("DROP TABLE checked; DROP TABLE dupkeys")
    return _Converted(problems, notes, file_meta, rows_read, int(total))


def _prepare(paths, mapping, year, value_unit) -> tuple[list[_File], dict[str, str]]:
    if value_unit not in VALUE_UNITS:
        raise DataError(f"unknown value unit {value_unit!r}", value=value_unit,
                        remedy=f"use one of {', '.join(VALUE_UNITS)} (kusd = thousand USD)")
    if year is not None and not 1962 <= int(year) <= 2100:
        raise DataError("year out of range", value=year, remedy="pass a year 1962-2100")
    files = [Path(paths)] if isinstance(paths, (str, os.PathLike)) else \
        [Path(p) for p in paths]
    if not files:
        raise DataError("no flows file given", remedy="pass one or more files")
    mp = parse_mapping(mapping)
    opened = [_open_file(p) for p in files]
    for f in opened:
        _select(f, mp, year)
    return opened, mp


def read_flows_file(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    mapping: str | Mapping[str, str] | None = None,
    year: int | None = None,
    value_unit: str = "usd",
    sum_duplicates: bool = False,
    lenient: bool = False,
) -> pd.DataFrame:
    """Canonical flows from tidy flows file(s) (CSV, CSV.gz or Parquet).

    Parameters
    ----------
    paths : path-like or iterable of path-like
        One or more files, read with the same mapping (their rows are checked together,
        so a key in two files is a duplicate).
    mapping : str or mapping, optional
        Canonical field -> column (``"exporter=i,importer=j,hs6=cmd,value_usd=value"``);
        unmapped fields use a column of their own name when there is one.
    year : int, optional
        Year of files without a year column; with one, rows of other years are bad input.
    value_unit : {"usd", "kusd"}
        Unit of the value column.
    sum_duplicates : bool, default False
        Add up rows of the same (year, exporter, importer, hs6) instead of rejecting them.
    lenient : bool, default False
        Drop bad rows (with a warning giving the counts) instead of raising.

    Returns
    -------
    DataFrame
        :class:`~analytics.schemas.Flows` columns and dtypes, sorted by year, exporter,
        importer, hs6. ``attrs["notes"]`` and ``attrs["dropped"]`` hold the counts per
        reason (:data:`analytics.ingest.REASONS`), ``attrs["examples"]`` the first bad rows.

    Raises
    ------
    SourceFormatError, UnknownCountry, DataError, SchemaViolation
        Bad input in strict mode (see the module notes).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = Path(tmp) / "flows.csv"
    ...     _ = p.write_text("i,j,k,v\\nCHN,RUS,850511,2.5\\n156,392,10121,1\\n0,392,850511,9\\n")
    ...     f = read_flows_file(p, mapping="exporter=i,importer=j,hs6=k,value_usd=v",
    ...                         year=2022, value_unit="kusd")
    >>> f[["exporter", "importer", "hs6", "value_usd"]].to_records(index=False).tolist()
    [('CHN', 'JPN', '010121', 1000.0), ('CHN', 'RUS', '850511', 2500.0)]
    >>> f.attrs["notes"]
    {'aggregate_area': 1}
    """
    files, _ = _prepare(paths, mapping, year, value_unit)
    with tempfile.TemporaryDirectory(prefix="chokepoint-csv-") as tmp:
        con = connect(temp_directory=Path(tmp) / "duckdb")
        try:
            conv = _convert(con, files, year=year, value_unit=value_unit,
                            sum_duplicates=sum_duplicates)
            if conv.problems and not lenient:
                raise conv.problems.error("flows")
            flows = con.execute("SELECT * FROM good").df()
        finally:
            con.close()
    if conv.problems:
        warnings.warn(f"read_flows_file dropped {conv.problems.total:,} bad row(s): "
                      f"{dict(conv.problems.counts)}", stacklevel=2)
    for c in ("exporter", "importer", "hs6"):
        flows[c] = flows[c].astype(STR)
    flows = validate(flows, Flows, source=", ".join(f.path.name for f in files))
    flows.attrs.update(notes=dict(conv.notes), dropped=dict(conv.problems.counts),
                       examples=list(conv.problems.examples))
    return flows


def ingest_flows_file(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    store_path: str | os.PathLike,
    *,
    mapping: str | Mapping[str, str] | None = None,
    year: int | None = None,
    value_unit: str = "usd",
    hs_version: str | None = None,
    sum_duplicates: bool = False,
    lenient: bool = False,
    name: str | None = None,
    data_source: str | None = None,
    memory_limit: str | None = "2GB",
    threads: int | None = None,
) -> IngestReport:
    """Check tidy flows file(s) and write their flows to a store, atomically.

    The years in the files replace those years in the store; other years are kept, so
    files of different years can be ingested one after the other into one store.

    Parameters
    ----------
    paths, mapping, year, value_unit, sum_duplicates, lenient
        As in :func:`read_flows_file` (``lenient`` drops and counts bad rows).
    store_path : path-like
        Store directory; created with the reference tables of :mod:`analytics.reference`
        when absent.
    hs_version : str, optional
        HS version of the codes (e.g. ``"HS2017"``): needed to create a store (category
        definitions are mapped to it); with an existing store it must equal the store's.
    name : str, optional
        Dataset name shown by the dashboard (default: the store's, or the first file's
        name for a new store).
    data_source : str, optional
        Who produced the data (e.g. ``"CEPII BACI HS17 V202601"``), kept in the provenance.
    memory_limit, threads
        DuckDB settings.

    Returns
    -------
    IngestReport
        ``notes`` (aggregates dropped, duplicates summed, ...), ``dropped`` (lenient),
        ``examples``; ``details`` holds the files and the mapping.

    Raises
    ------
    SourceFormatError, UnknownCountry, DataError, SchemaViolation
        Bad input (strict mode); the store is left as it was.
    HSVersionError
        No ``hs_version`` for a new store, or one different from the store's.
    StoreError
        The store holds synthetic demo data, or flows of another source for other years.
    """
    from analytics import store

    t0 = time.perf_counter()
    files, mp = _prepare(paths, mapping, year, value_unit)
    if hs_version is not None and hs_version not in HS_VERSIONS:
        raise HSVersionError(f"unknown HS version {hs_version!r}", value=hs_version,
                             remedy=f"use one of {', '.join(HS_VERSIONS)}")
    root = Path(store_path).expanduser()
    existing = store.is_store(root)
    prior: dict = {}
    store_years: set[int] = set()
    if existing:
        info = store.store_info(root)
        if info["synthetic"]:
            raise StoreError(f"the store at {root} holds synthetic demo data; ingest real "
                             "data into a new store (--store NEW_DIR)")
        if hs_version is not None and info["hs_version"] != hs_version:
            raise HSVersionError(
                f"the store holds {info['hs_version']} flows but the file is declared "
                f"{hs_version}", source=str(root),
                remedy="ingest into a separate store (one HS version per store)")
        hs_version = info["hs_version"]
        prior = dict(info["provenance"].get("flows", {}))
        store_years = set(info["years"])
    elif hs_version is None:
        raise HSVersionError(
            "the HS version of the flows is needed to create a store", source=str(root),
            remedy="pass --hs-version (e.g. HS2017 for BACI HS17 data; HS2022 for the "
                   "CHPL's nomenclature): categories are mapped to it")
    created = not root.exists()
    report = IngestReport(SOURCE, str(root))
    try:
        root.mkdir(parents=True, exist_ok=True)
        with store.staging_dir(root) as tmp:
            con = connect(threads=threads, memory_limit=memory_limit,
                          temp_directory=tmp / "duckdb")
            try:
                conv = _convert(con, files, year=year, value_unit=value_unit,
                                sum_duplicates=sum_duplicates)
                if conv.problems and not lenient:
                    raise conv.problems.error("flows")
                years = [int(y) for (y,) in con.execute(
                    "SELECT DISTINCT year FROM good ORDER BY year").fetchall()]
                if not years:
                    raise DataError(
                        "no flows left after cleaning", source=", ".join(
                            f.path.name for f in files),
                        remedy=f"check the mapping and the file; notes: {conv.notes}, "
                               f"dropped: {dict(conv.problems.counts)}")
                others = store_years - set(years)
                if prior.get("source") not in (None, SOURCE) and others:
                    raise StoreError(
                        f"the store at {root} holds {prior.get('source')} flows for "
                        f"{sorted(others)}; ingest the flows file into a separate store")
                by_year: dict[int, Path] = {}
                for y in years:
                    out = tmp / f"flows-{y}.parquet"
                    res = con.execute(f"""COPY (SELECT * FROM good WHERE year = {y})
                        TO {_lit(out)} (FORMAT parquet, COMPRESSION zstd)""")
                    report.rows_written[y] = int(res.fetchone()[0])
                    by_year[y] = out
            finally:
                con.close()
            report.years = years
            report.rows_read = {y: conv.rows_read.get(y, 0) for y in years}
            prov = _provenance(prior, conv, files, years, value_unit=value_unit,
                               hs_version=hs_version, sum_duplicates=sum_duplicates,
                               lenient=lenient, data_source=data_source, mapping=mp,
                               year=year)
            refs, ref_prov = reference_tables() if not existing else ({}, {})
            store.update_flow_files(
                root, by_year, provenance={**ref_prov, "flows": prov},
                hs_version=hs_version,
                dataset_name=name or (None if existing else f"{files[0].path.name} "
                                                              "(flows file)"),
                reference_tables=refs or None, move=True)
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                root.rmdir()  # only succeeds when still empty: we made it
        raise
    report.notes = dict(conv.notes)
    report.dropped = dict(conv.problems.counts)
    report.examples = list(conv.problems.examples)
    report.seconds = time.perf_counter() - t0
    report.details = {"files": [m["file"] for m in conv.files], "mapping": conv.files[0][
        "mapping"], "value_unit": value_unit, "hs_version": hs_version,
        "sum_duplicates": bool(sum_duplicates), "rows_total": conv.rows_total}
    return report


def _provenance(prior: dict, conv: _Converted, files: list[_File], years: list[int], *,
                value_unit: str, hs_version: str, sum_duplicates: bool, lenient: bool,
                data_source: str | None, mapping: dict, year: int | None) -> dict:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    new = []
    for meta in conv.files:
        new.append({**meta, "value_unit": value_unit, "year_from": "column" if "year" in
                    meta["mapping"] else f"--year {year}", "ingested": now,
                    "sum_duplicates": bool(sum_duplicates), "lenient": bool(lenient),
                    "data_source": data_source})
    kept = []
    if prior.get("source") == SOURCE:
        for e in prior.get("files", []):
            rest = [y for y in e.get("years", []) if y not in years]
            if rest:
                kept.append({**e, "years": rest})
    sources = sorted({e["data_source"] for e in [*kept, *new] if e.get("data_source")})
    return {
        "source": SOURCE,
        "ingester": "analytics.sources.csvflows",
        "data_source": "; ".join(sources) if sources else None,
        "hs_version": hs_version,
        "units": "value_usd in current USD (value column x "
                 f"{VALUE_UNITS[value_unit]:g}: {value_unit}); quantity as in the file",
        "mapping": mapping,
        "files": kept + new,
        "notes": dict(conv.notes),
        "lenient": bool(lenient),
        "dropped": dict(conv.problems.counts),
        "examples": list(conv.problems.examples[:50]),
    }


# ---------------------------------------------------------------------------------------
# where the shared reference data live (notebooks, tests)
# ---------------------------------------------------------------------------------------


def shared_data_dir(start: str | os.PathLike | None = None, *,
                    env: str = "CHOKEPOINT_SHARED_DATA") -> Path | None:
    """The folder of real reference extracts, or None when there is none.

    ``$CHOKEPOINT_SHARED_DATA`` when set (it must exist); otherwise the first
    ``shared/data`` folder found beside ``start`` (default: the working directory) or one
    of its parents: a checkout at ``work/main`` finds ``work/shared/data``.
    """
    value = os.environ.get(env)
    if value:
        p = Path(value).expanduser()
        return p if p.is_dir() else None
    here = Path(start) if start is not None else Path.cwd()
    here = here.resolve()
    for base in (here, *here.parents):
        cand = base / "shared" / "data"
        if cand.is_dir():
            return cand
    return None


class SharedDataMissing(ChokepointError):
    """The real reference extracts are not on this machine (notebooks stop with this).

    In Jupyter the message is shown without a traceback, and "Run all" stops there.
    """

    def _render_traceback_(self) -> list[str]:  # IPython: show the message only
        return [str(self)]


def require_shared_data(subfolder: str, data: str | os.PathLike | None = None, *,
                        env: str = "CHOKEPOINT_SHARED_DATA") -> Path:
    """``<shared data>/<subfolder>``, or :class:`SharedDataMissing` saying how to get it.

    ``data`` (a notebook parameter) wins over ``$CHOKEPOINT_SHARED_DATA`` and the search
    of :func:`shared_data_dir`.
    """
    base = Path(data).expanduser() if data else shared_data_dir(env=env)
    folder = base / subfolder if base is not None else None
    if folder is None or not folder.is_dir():
        where = f"{base}" if base is not None else "no shared/data folder above " \
            f"{Path.cwd()}"
        raise SharedDataMissing(
            f"The real data folder {subfolder!r} is not available ({where}): this case "
            f"study needs it. Set {env} to the folder holding {subfolder}/ (e.g. "
            f"../shared/data of this repository) and run the notebook again. Nothing "
            "below runs without it.")
    return folder
