"""Reader and ingester for UN Comtrade CSV exports, with mirror statistics.

Layouts (detected from the header line; ``.csv``, ``.tsv``, ``.txt``, optionally ``.gz``)
------------------------------------------------------------------------------------------
Fields are separated by commas, tabs (the current Comtrade Plus bulk files) or semicolons;
the separator is detected from the header line (:func:`detect_delimiter`).

``api``
    The Comtrade API / "Comtrade Plus" columns: ``refYear`` (or ``period``),
    ``reporterCode``, ``reporterISO``, ``partnerCode``, ``partnerISO``, ``flowCode``
    (X, M, RX, RM, ...), ``cmdCode``, ``primaryValue`` (``fobvalue``/``cifvalue`` as
    fall-backs), ``netWgt``, ``qty``, optionally ``partner2Code``, ``customsCode``,
    ``motCode``, ``classificationCode``, ``isAggregate``.
``legacy``
    The legacy bulk download: ``Classification, Year, Trade Flow Code, Trade Flow,
    Reporter Code, Reporter ISO, Partner Code, Partner ISO, 2nd Partner Code, Customs Proc.
    Code, Mode of Transport Code, Commodity Code, Qty, Netweight (kg), Trade Value (US$)``.
``raw``
    A compact pull: ``year, reporter, partner, cmd, flow, value, netwgt[, qty, qtyunit]``
    with M49 numeric codes and flows M/X. Without a ``year`` column the year comes from
    the file name (``comtrade_2024.csv.gz``) or the ``year=`` argument.

Rules (each applied row is counted in the report as a *note*)
-------------------------------------------------------------
* Exact duplicate lines (every column equal) are kept once. The raw pulls hold about
  90,000 per year.
* Breakdown lines (a second partner, customs procedure or mode of transport other than
  the total ``0`` / ``C00``) are dropped when those columns exist. When they do not, a
  (year, reporter, partner, flow, product) reported on several lines with different values
  is a total line plus breakdown lines that lost their keys: the largest value (the total)
  is kept.
* Flows: ``X`` (exports, FOB) and ``M`` (imports, CIF) are used. ``RX``/``RM`` (re-exports,
  re-imports) are memo items already included in ``X``/``M`` under the general trade
  system, so counting them too would double count: they are dropped. Other flow codes
  (processing trade, domestic exports, ...) are dropped.
* Aggregate areas (``0`` World, ``97`` EU, ...; kind ``aggregate`` in
  :func:`analytics.reference.trade_codes`) are totals, not partners: dropped. "nes" areas
  (e.g. ``899`` Areas nes) are kept under their pseudo ISO3 codes.
* Numeric codes are mapped with :func:`analytics.reference.trade_codes`; a code absent
  from it is mapped through the file's own ISO3 column when that names a known country
  (e.g. ``381`` Italy in older Comtrade data), otherwise it is an unknown country.
* Commodity codes that are not six-digit (totals, chapters, headings) are dropped;
  five-digit codes lost their leading zero and are zero-padded.
* Reporter = partner (a country's trade with itself) is dropped.

Mirror statistics and the canonical flows
-----------------------------------------
Flows are seen from the exporter: ``X`` reported by ``r`` with partner ``p`` is
``r -> p`` as reported by the exporter (FOB); ``M`` reported by ``r`` with partner ``p``
is ``p -> r`` as reported by the importer (CIF). :func:`mirror_statistics` puts both
sides side by side per (year, exporter, importer, hs6) with the gap and ratio;
:func:`mirror_flows` makes one value per flow with a documented rule (``prefer``):

``importer`` (default)
    the importer's report when present (customs record imports better, and tariffs give
    them a reason to), else the exporter's;
``exporter``
    the exporter's report when present, else the importer's;
``max`` / ``mean``
    the larger / the mean of the reports present.

Quantity is the net weight in tonnes (``netWgt`` kg / 1000) of the side used (the mean of
the sides present for ``mean``).

Bad input (non-numbers, negative values, unknown codes, malformed lines) raises one error
naming the file, line and value, or with ``lenient=True`` is dropped and counted.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analytics.errors import (
    DataError,
    HSVersionError,
    SourceFormatError,
    StoreError,
)
from analytics.ingest import IngestReport, Problems, connect, reference_tables
from analytics.schemas import HS_VERSIONS, STR, Flows, validate

__all__ = [
    "LAYOUTS",
    "ComtradeReports",
    "MirrorStatistics",
    "detect_layout",
    "detect_delimiter",
    "DELIMITERS",
    "read_comtrade",
    "mirror_statistics",
    "mirror_flows",
    "ingest_comtrade",
    "PREFER",
    "SOURCE",
]

SOURCE = "UN Comtrade"
LICENCE = "UN Comtrade terms of use"
UNITS = ("value_usd = reported trade value in current USD (primaryValue: FOB for exports, "
         "CIF for imports); quantity = net weight in metric tonnes (netWgt kg / 1000)")

#: value rule of :func:`mirror_flows`
PREFER = {
    "importer": "importer-reported value (CIF) when present, else exporter-reported (FOB)",
    "exporter": "exporter-reported value (FOB) when present, else importer-reported (CIF)",
    "max": "the larger of the exporter- and importer-reported values present",
    "mean": "the mean of the exporter- and importer-reported values present",
}

#: layout -> canonical field -> candidate column names (lower case), first found wins
LAYOUTS: dict[str, dict[str, tuple[str, ...]]] = {
    "api": {
        "year": ("refyear",), "period": ("period",), "freq": ("freqcode",),
        "reporter": ("reportercode",), "reporter_iso": ("reporteriso",),
        "partner": ("partnercode",), "partner_iso": ("partneriso",),
        "flow": ("flowcode",), "cmd": ("cmdcode",),
        "value": ("primaryvalue",), "fob": ("fobvalue",), "cif": ("cifvalue",),
        "netwgt": ("netwgt",), "qty": ("qty",), "classification": ("classificationcode",),
        "partner2": ("partner2code",), "customs": ("customscode",), "mot": ("motcode",),
    },
    "legacy": {
        "year": ("year",), "period": ("period",),
        "reporter": ("reporter code",), "reporter_iso": ("reporter iso",),
        "partner": ("partner code",), "partner_iso": ("partner iso",),
        "flow": ("trade flow code", "trade flow"), "cmd": ("commodity code",),
        "value": ("trade value (us$)",), "fob": ("fob trade value (us$)",),
        "cif": ("cif trade value (us$)",),
        "netwgt": ("netweight (kg)",), "qty": ("qty",), "classification": ("classification",),
        "partner2": ("2nd partner code",), "customs": ("customs proc. code",),
        "mot": ("mode of transport code",),
    },
    "raw": {
        "year": ("year",), "reporter": ("reporter",), "partner": ("partner",),
        "flow": ("flow",), "cmd": ("cmd",), "value": ("value",), "netwgt": ("netwgt",),
        "qty": ("qty",),
    },
}
_REQUIRED = {
    "api": ("reporter", "partner", "flow", "cmd", "value"),
    "legacy": ("reporter", "partner", "flow", "cmd", "value"),
    "raw": ("reporter", "partner", "flow", "cmd", "value"),
}
_CLASSIFICATION = {"H0": "HS1992", "H1": "HS1996", "H2": "HS2002", "H3": "HS2007",
                   "H4": "HS2012", "H5": "HS2017", "H6": "HS2022"}
_FLOW_SQL = """CASE upper(trim({f}))
    WHEN 'X' THEN 'X' WHEN 'M' THEN 'M' WHEN 'RX' THEN 'RX' WHEN 'RM' THEN 'RM'
    WHEN 'EXPORT' THEN 'X' WHEN 'IMPORT' THEN 'M' WHEN 'RE-EXPORT' THEN 'RX'
    WHEN 'RE-IMPORT' THEN 'RM' WHEN '1' THEN 'M' WHEN '2' THEN 'X' WHEN '3' THEN 'RX'
    WHEN '4' THEN 'RM' ELSE upper(trim({f})) END"""


def _lit(text: Any) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# ---------------------------------------------------------------------------------------
# layout detection
# ---------------------------------------------------------------------------------------


#: field separators of Comtrade exports: CSV (API, legacy bulk), tab (Comtrade Plus bulk
#: files), semicolon (CSV saved by spreadsheet software in locales with a decimal comma)
DELIMITERS = (",", "\t", ";")


def detect_delimiter(line: str) -> str:
    """The field separator of a header line: ``","``, ``"\\t"`` or ``";"``.

    The separator that splits the line (outside quotes) into the most fields wins; ties
    go to the comma.

    >>> detect_delimiter("refYear,reporterCode,partnerCode")
    ','
    >>> detect_delimiter("typeCode\\tfreqCode\\trefYear\\treporterCode") == "\\t"
    True
    >>> detect_delimiter('"Trade Value (US$)";"Year"')
    ';'
    """
    best, fields = ",", 1
    for delim in DELIMITERS:
        try:
            n = len(next(csv.reader([line], delimiter=delim)))
        except (csv.Error, StopIteration):
            continue
        if n > fields:
            best, fields = delim, n
    return best


def _header(path: Path) -> tuple[list[str], str]:
    """Header columns and field separator of a file."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            first = fh.readline(1 << 16)
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise SourceFormatError(f"cannot be read ({err})", source=str(path),
                                remedy="check the file (a .gz must be complete)") from err
    line = first.decode("utf-8-sig", errors="replace").rstrip("\r\n")
    if not line.strip():
        raise SourceFormatError("empty file (no header line)", source=str(path), row=1,
                                remedy="export the Comtrade data again with headers")
    delim = detect_delimiter(line)
    return next(csv.reader([line], delimiter=delim)), delim


def detect_layout(header: Sequence[str]) -> str:
    """The Comtrade layout of a header: ``"api"``, ``"legacy"`` or ``"raw"``.

    >>> detect_layout(["refYear", "reporterCode", "partnerCode", "flowCode", "cmdCode",
    ...                "primaryValue"])
    'api'
    >>> detect_layout("year,reporter,partner,cmd,flow,value,netwgt".split(","))
    'raw'

    Raises
    ------
    SourceFormatError
        The header matches no layout.
    """
    lower = {h.strip().lower() for h in header}
    for layout in ("api", "legacy", "raw"):
        cols = LAYOUTS[layout]
        if all(any(c in lower for c in cols[f]) for f in _REQUIRED[layout]):
            return layout
    raise SourceFormatError(
        "unrecognised Comtrade layout", row=1, value=",".join(header)[:300],
        remedy="expected the API layout (refYear, reporterCode, partnerCode, flowCode, "
               "cmdCode, primaryValue, ...), the legacy bulk layout (Year, Trade Flow Code, "
               "Reporter Code, Partner Code, Commodity Code, Trade Value (US$), ...) or the "
               "compact layout (year, reporter, partner, cmd, flow, value, netwgt)")


# ---------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------


@dataclass
class ComtradeReports:
    """Cleaned Comtrade reports (one row per reporter, partner, flow, product and year).

    ``reports`` columns: ``year``, ``reporter``, ``partner`` (ISO3), ``flow`` (``X`` or
    ``M``), ``hs6``, ``value_usd``, ``netwgt_kg``, ``reporter_code``, ``partner_code``,
    ``source`` (file name), ``line`` (CSV line of the row kept).
    """

    reports: pd.DataFrame
    notes: dict[str, int] = field(default_factory=dict)
    problems: Problems = field(default_factory=lambda: Problems("comtrade"))
    files: list[dict] = field(default_factory=list)
    classifications: dict[str, int] = field(default_factory=dict)
    rows_read: int = 0


def _year_from_name(path: Path) -> int | None:
    found = set(re.findall(r"(?<!\d)((?:19|20)\d\d)(?!\d)", path.name))
    return int(found.pop()) if len(found) == 1 else None


def _field_sql(cols: dict[str, str], layout: str, name: str) -> str | None:
    for cand in LAYOUTS[layout].get(name, ()):
        if cand in cols:
            return _ident(cols[cand])
    return None


def _read_file(con, path: Path, n: int, *, year: int | None) -> dict:
    """Load one file into temp table ``c{n}`` (normalised columns + row number)."""
    header, delim = _header(path)
    try:
        layout = detect_layout(header)
    except SourceFormatError as err:
        raise SourceFormatError(err.problem, source=str(path), row=1, value=err.value,
                                remedy=f"{err.remedy}; fields separated by commas, tabs or "
                                       "semicolons") from None
    names = [h.strip() for h in header]
    if len(set(names)) != len(names):
        dup = sorted({h for h in names if names.count(h) > 1})
        raise SourceFormatError(f"repeated column names {dup}", source=str(path), row=1,
                                remedy="export the data again")
    cols = {h.lower(): h for h in names}
    f = {k: _field_sql(cols, layout, k) for k in LAYOUTS[layout]}
    file_year = None
    if f.get("year") is None:
        if layout == "api" and f.get("period"):
            f["year"] = f"left(trim({f['period']}), 4)"
        else:
            file_year = year if year is not None else _year_from_name(path)
            if file_year is None:
                raise SourceFormatError(
                    "no year column and no year in the file name", source=str(path), row=1,
                    value=",".join(header), remedy="pass --year YYYY (year=) or put the "
                    "year in the file name (comtrade_2024.csv.gz)")
            f["year"] = _lit(file_year)
    columns = "{" + ", ".join(f"{_lit(h)}: 'VARCHAR'" for h in names) + "}"
    rej = (f"rejects_c{n}", f"rejects_scan_c{n}")
    for encoding in ("utf-8", "latin-1"):
        src = (f"read_csv({_lit(path)}, header = true, auto_detect = false, "
               f"delim = {_lit(delim)}, "
               f"quote = '\"', escape = '\"', columns = {columns}, encoding = {_lit(encoding)}, "
               f"store_rejects = true, rejects_table = {_lit(rej[0])}, "
               f"rejects_scan = {_lit(rej[1])})")
        con.execute(f"CREATE OR REPLACE TEMP TABLE f{n} AS "
                    f"SELECT row_number() OVER () AS rn, * FROM {src}")
        bad_unicode = con.execute(f"SELECT count(*) FROM {rej[0]} WHERE error_type ILIKE "
                                  "'%unicode%'").fetchone()[0]
        if not bad_unicode:
            break
        con.execute(f"DROP TABLE {rej[0]}; DROP TABLE {rej[1]}")
    if f.get("freq"):
        monthly = con.execute(f"SELECT count(*) FROM f{n} WHERE upper(trim({f['freq']})) = 'M'"
                              ).fetchone()[0]
        if monthly:
            raise SourceFormatError(
                "monthly data (freqCode M)", source=str(path), column="freqCode", value="M",
                remedy="download annual data (frequency A): monthly rows would be summed "
                       "into one year only by explicit aggregation")
    allcols = ", ".join(_ident(h) for h in names)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE g{n} AS
        SELECT min(rn) AS rn, count(*) AS copies FROM f{n} GROUP BY {allcols}""")

    def opt(name: str, default: str = "NULL") -> str:
        return f[name] if f.get(name) else default

    flow = _FLOW_SQL.format(f=f["flow"])
    value = (f"coalesce(TRY_CAST(trim({f['value']}) AS DOUBLE), "
             f"CASE WHEN {flow} = 'X' THEN TRY_CAST(trim({opt('fob')}) AS DOUBLE) "
             f"WHEN {flow} = 'M' THEN TRY_CAST(trim({opt('cif')}) AS DOUBLE) END)")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE c{n} AS
        SELECT {n} AS file_no, x.rn,
            trim({f['year']}) AS year_raw, TRY_CAST(trim({f['year']}) AS INTEGER) AS year,
            trim({f['reporter']}) AS reporter_raw,
            TRY_CAST(trim({f['reporter']}) AS INTEGER) AS reporter_code,
            upper(trim({opt('reporter_iso')})) AS reporter_iso_file,
            trim({f['partner']}) AS partner_raw,
            TRY_CAST(trim({f['partner']}) AS INTEGER) AS partner_code,
            upper(trim({opt('partner_iso')})) AS partner_iso_file,
            {flow} AS flow,
            trim({f['cmd']}) AS cmd_raw,
            trim({f['value']}) AS value_raw, {value} AS value_usd,
            TRY_CAST(trim({opt('netwgt')}) AS DOUBLE) AS netwgt_kg,
            TRY_CAST(trim({opt('qty')}) AS DOUBLE) AS qty,
            upper(trim({opt('classification')})) AS classification,
            coalesce(nullif(trim({opt('partner2')}), ''), '0') AS partner2,
            upper(coalesce(nullif(trim({opt('customs')}), ''), 'C00')) AS customs,
            coalesce(nullif(trim({opt('mot')}), ''), '0') AS mot
        FROM f{n} x SEMI JOIN g{n} USING (rn)""")
    dups = con.execute(f"SELECT coalesce(sum(copies - 1), 0) FROM g{n}").fetchone()[0]
    rows = con.execute(f"SELECT count(*) FROM f{n}").fetchone()[0]
    rejected = con.execute(f"SELECT count(DISTINCT line) FROM {rej[0]}").fetchone()[0]
    classes = dict(con.execute(f"SELECT classification, count(*) FROM c{n} "
                               "WHERE classification IS NOT NULL GROUP BY 1").fetchall())
    con.execute(f"DROP TABLE f{n}; DROP TABLE g{n}")
    with open(path, "rb") as fh:
        sha = hashlib.file_digest(fh, "sha256").hexdigest()
    return {"file": path.name, "layout": layout,
            "delimiter": {",": "comma", "\t": "tab", ";": "semicolon"}[delim],
            "bytes": path.stat().st_size,
            "sha256": sha, "rows": int(rows) + int(rejected),
            "exact_duplicates": int(dups), "rejects": rej[0],
            "year_from_name" if file_year is not None else "year_column": file_year or True,
            "classifications": {str(k): int(v) for k, v in classes.items()}}


_CLASSIFY = """CASE
    WHEN c.year IS NULL THEN 'not_a_number:year'
    WHEN c.reporter_code IS NULL THEN 'not_a_number:reporter'
    WHEN c.partner_code IS NULL THEN 'not_a_number:partner'
    WHEN c.value_usd IS NULL AND coalesce(c.value_raw, '') <> '' THEN 'not_a_number:value'
    WHEN c.value_usd IS NULL OR NOT isfinite(c.value_usd) THEN 'missing_value:value'
    WHEN c.value_usd < 0 THEN 'negative_value:value'
    WHEN c.flow IN ('RX', 'RM') THEN 're_export_memo'
    WHEN c.flow NOT IN ('X', 'M') THEN 'other_flow'
    WHEN c.partner2 <> '0' OR c.customs <> 'C00' OR c.mot <> '0' THEN 'breakdown_line'
    WHEN tr.kind = 'aggregate' OR tp.kind = 'aggregate' THEN 'aggregate_area'
    WHEN NOT regexp_full_match(c.cmd_raw, '[0-9]{5,6}') THEN 'not_hs6'
    WHEN coalesce(tr.iso3, kr.iso3) IS NULL THEN 'unknown_reporter:reporter'
    WHEN coalesce(tp.iso3, kp.iso3) IS NULL THEN 'unknown_partner:partner'
    WHEN coalesce(tr.iso3, kr.iso3) = coalesce(tp.iso3, kp.iso3) THEN 'self_trade'
    END"""


def read_comtrade(
    paths: str | Path | Iterable[str | Path],
    *,
    year: int | None = None,
    lenient: bool = False,
) -> ComtradeReports:
    """Read and clean UN Comtrade CSV exports (any of the three layouts, mixed).

    Parameters
    ----------
    paths : path-like or iterable of path-like
        ``.csv`` or ``.csv.gz`` files.
    year : int, optional
        Year of files without a year column (default: from the file name).
    lenient : bool, default False
        Drop bad rows (counted in ``problems``) instead of raising.

    Returns
    -------
    ComtradeReports

    Raises
    ------
    SourceFormatError
        Unknown layout, no year, unreadable or malformed lines.
    UnknownCountry, DataError, SchemaViolation
        Bad values (strict mode), naming file, line, column and value.
    """
    from analytics import reference

    files = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    if not files:
        raise DataError("no Comtrade file given", remedy="pass one or more CSV files")
    for p in files:
        if not p.is_file():
            raise SourceFormatError("no such file", source=str(p),
                                    remedy="give Comtrade CSV exports (.csv or .csv.gz)")
    con = connect()
    try:
        tc = reference.trade_codes()
        known = sorted(set(reference.countries()["iso3"]))
        con.register("_tc", tc[["code", "iso3", "kind"]])
        con.execute("CREATE TEMP TABLE tc AS SELECT CAST(code AS INTEGER) AS code, "
                    "CAST(iso3 AS VARCHAR) AS iso3, CAST(kind AS VARCHAR) AS kind FROM _tc")
        con.register("_known", pd.DataFrame({"iso3": known}))
        con.execute("CREATE TEMP TABLE known AS SELECT CAST(iso3 AS VARCHAR) AS iso3 "
                    "FROM _known")
        metas, probs, notes = [], Problems(", ".join(p.name for p in files)), {}
        for n, p in enumerate(files):
            meta = _read_file(con, p, n, year=year)
            metas.append(meta)
            if meta["exact_duplicates"]:
                notes["exact_duplicate"] = notes.get("exact_duplicate", 0) + \
                    meta["exact_duplicates"]
            rprobs = _rejected(con, meta["rejects"], str(p))
            probs.extend(rprobs)
        union = " UNION ALL ".join(f"SELECT * FROM c{n}" for n in range(len(files)))
        con.execute(f"""CREATE TEMP TABLE allrows AS
            SELECT c.*, coalesce(tr.iso3, kr.iso3) AS reporter,
                   coalesce(tp.iso3, kp.iso3) AS partner,
                   (tr.iso3 IS NULL AND kr.iso3 IS NOT NULL)::INT
                   + (tp.iso3 IS NULL AND kp.iso3 IS NOT NULL)::INT AS iso_fallbacks,
                   {_CLASSIFY} AS verdict
            FROM ({union}) c
            LEFT JOIN tc tr ON c.reporter_code = tr.code
            LEFT JOIN tc tp ON c.partner_code = tp.code
            LEFT JOIN known kr ON c.reporter_iso_file = kr.iso3
            LEFT JOIN known kp ON c.partner_iso_file = kp.iso3""")
        names = {n: p.name for n, p in enumerate(files)}
        for verdict, count in con.execute(
                "SELECT verdict, count(*) FROM allrows WHERE verdict IS NOT NULL "
                "GROUP BY 1 ORDER BY 1").fetchall():
            reason, _, column = verdict.partition(":")
            if not column:
                notes[reason] = notes.get(reason, 0) + int(count)
                continue
            raw = {"year": "year_raw", "reporter": "reporter_raw", "partner": "partner_raw",
                   "value": "value_raw"}[column]
            ex = con.execute(f"""SELECT file_no, rn, {raw} FROM allrows WHERE verdict = ?
                                 ORDER BY file_no, rn LIMIT 20""", [verdict]).fetchall()
            probs.add(reason, int(count), [
                {"source": names[fn], "line": _line(con, metas[fn]["rejects"], rn),
                 "column": column, "value": v} for fn, rn, v in ex])
        fallback = con.execute("SELECT coalesce(sum(iso_fallbacks), 0) FROM allrows "
                               "WHERE verdict IS NULL").fetchone()[0]
        if fallback:
            notes["iso_fallback"] = int(fallback)
        if probs and not lenient:
            raise probs.error("Comtrade reports")
        # several lines for one key: a total plus breakdown lines without their keys
        kept = con.execute("""
            SELECT year, reporter, partner, flow, lpad(cmd_raw, 6, '0') AS hs6,
                   arg_max(value_usd, value_usd) AS value_usd,
                   arg_max(netwgt_kg, value_usd) AS netwgt_kg,
                   arg_max(reporter_code, value_usd) AS reporter_code,
                   arg_max(partner_code, value_usd) AS partner_code,
                   arg_max(file_no, value_usd) AS file_no,
                   arg_max(rn, value_usd) AS rn,
                   count(*) AS lines
            FROM allrows WHERE verdict IS NULL
            GROUP BY year, reporter_code, partner_code, reporter, partner, flow,
                     lpad(cmd_raw, 6, '0')
            ORDER BY year, reporter, partner, flow, hs6""").df()
        extra = int((kept["lines"] - 1).sum()) if len(kept) else 0
        if extra:
            notes["breakdown_without_key"] = extra
        classes: dict[str, int] = {}
        for meta in metas:
            for k, v in meta.pop("classifications").items():
                classes[k] = classes.get(k, 0) + v
            meta.pop("rejects")
        rows_read = sum(m["rows"] for m in metas)
    finally:
        con.close()
    reports = pd.DataFrame({
        "year": kept["year"].astype("int64"),
        "reporter": kept["reporter"].astype(STR),
        "partner": kept["partner"].astype(STR),
        "flow": kept["flow"].astype(STR),
        "hs6": kept["hs6"].astype(STR),
        "value_usd": kept["value_usd"].astype("float64"),
        "netwgt_kg": kept["netwgt_kg"].astype("float64"),
        "reporter_code": kept["reporter_code"].astype("int64"),
        "partner_code": kept["partner_code"].astype("int64"),
        "source": pd.Series([names[int(i)] for i in kept["file_no"]], dtype=STR),
        "line": kept["rn"].astype("int64") + 1,
    })
    return ComtradeReports(reports, notes, probs, metas, classes, rows_read)


def _rejected(con, table: str, source: str) -> Problems:
    probs = Problems(source)
    rows = con.execute(f"SELECT DISTINCT line, csv_line FROM {table} ORDER BY line").fetchall()
    probs.add("malformed_line", len(rows), [{"line": ln, "value": raw} for ln, raw in rows])
    return probs


def _line(con, rejects_table: str, rn: int) -> int:
    """CSV line of the rn-th accepted data row (header = line 1; rejected lines skipped)."""
    lines = [r[0] for r in con.execute(
        f"SELECT DISTINCT line FROM {rejects_table} ORDER BY line").fetchall()]
    out = rn + 1
    for ln in lines:
        if ln <= out:
            out += 1
    return out


# ---------------------------------------------------------------------------------------
# mirror statistics
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MirrorStatistics:
    """Both sides of each flow.

    ``table``: one row per (year, exporter, importer, hs6) with ``exporter_reported``
    (FOB, USD), ``importer_reported`` (CIF, USD), ``both`` (bool), ``gap`` (importer -
    exporter), ``ratio`` (importer / exporter), ``exporter_netwgt_kg``,
    ``importer_netwgt_kg``. ``summary``: per coverage (``both``, ``exporter_only``,
    ``importer_only``, ``all``) the number of flows and the value each side reports.
    """

    table: pd.DataFrame
    summary: pd.DataFrame

    @property
    def one_sided(self) -> pd.DataFrame:
        """Flows reported by one side only."""
        return self.table[~self.table["both"]].reset_index(drop=True)

    @property
    def gaps(self) -> pd.DataFrame:
        """Flows reported by both sides, with gap and ratio (the ``mirror_gaps`` table)."""
        cols = ["year", "exporter", "importer", "hs6", "exporter_reported",
                "importer_reported", "gap", "ratio"]
        return self.table.loc[self.table["both"], cols].reset_index(drop=True)


_KEY = ["year", "exporter", "importer", "hs6"]


def mirror_statistics(reports: pd.DataFrame | ComtradeReports) -> MirrorStatistics:
    """Exporter- and importer-reported values of each flow, side by side.

    An export ``X`` reported by ``r`` to partner ``p`` is the flow ``r -> p`` as the exporter
    reports it; an import ``M`` reported by ``r`` from ``p`` is ``p -> r`` as the importer
    reports it. Several reports of one side for one flow (codes mapping to the same ISO3)
    are summed.

    Parameters
    ----------
    reports : DataFrame or ComtradeReports
        Columns ``year``, ``reporter``, ``partner``, ``flow`` (``X``/``M``), ``hs6``,
        ``value_usd`` and optionally ``netwgt_kg``.

    Returns
    -------
    MirrorStatistics

    Notes
    -----
    ``gap`` = importer - exporter is usually positive: imports are valued CIF (with
    freight and insurance) and exports FOB; large gaps in either direction flag
    misreporting, re-exports attributed to the wrong partner, or confidential trade.
    ``ratio`` is missing when a side is missing or the exporter reports 0.

    Examples
    --------
    >>> rep = pd.DataFrame({"year": [2022] * 4, "reporter": ["JPN", "KOR", "JPN", "USA"],
    ...     "partner": ["KOR", "JPN", "USA", "JPN"], "flow": ["X", "M", "X", "X"],
    ...     "hs6": ["848620"] * 4, "value_usd": [100.0, 110.0, 50.0, 7.0]})
    >>> mirror_statistics(rep).table[["exporter", "importer", "exporter_reported",
    ...                               "importer_reported", "gap"]]
      exporter importer  exporter_reported  importer_reported   gap
    0      JPN      KOR              100.0              110.0  10.0
    1      JPN      USA               50.0                NaN   NaN
    2      USA      JPN                7.0                NaN   NaN
    """
    frame = reports.reports if isinstance(reports, ComtradeReports) else reports
    missing = [c for c in ("year", "reporter", "partner", "flow", "hs6", "value_usd")
               if c not in frame.columns]
    if missing:
        raise DataError(f"reports lack columns {missing}", source="mirror_statistics",
                        remedy="pass read_comtrade(...).reports")
    wt = frame["netwgt_kg"] if "netwgt_kg" in frame.columns else np.nan
    base = frame.assign(netwgt_kg=wt)
    flows = base["flow"].astype(str)
    bad = sorted(set(flows) - {"X", "M"})
    if bad:
        raise DataError(f"flows other than X and M: {bad}", source="mirror_statistics",
                        remedy="read_comtrade keeps X and M only; drop the others first")

    def side(flow: str, exporter: str, importer: str, prefix: str) -> pd.DataFrame:
        part = base[flows == flow].rename(columns={exporter: "exporter", importer: "importer"})
        g = part.groupby(_KEY, sort=False, observed=True)
        return pd.DataFrame({f"{prefix}_reported": g["value_usd"].sum(),
                             f"{prefix}_netwgt_kg": g["netwgt_kg"].sum(min_count=1)})

    x = side("X", "reporter", "partner", "exporter")
    m = side("M", "partner", "reporter", "importer")
    table = x.join(m, how="outer").reset_index()
    table = table.sort_values(_KEY, kind="stable").reset_index(drop=True)
    exp, imp = table["exporter_reported"], table["importer_reported"]
    table["both"] = exp.notna() & imp.notna()
    table["gap"] = imp - exp
    table["ratio"] = (imp / exp.where(exp > 0)).astype("float64")
    table["year"] = table["year"].astype("int64")
    for c in ("exporter", "importer", "hs6"):
        table[c] = table[c].astype(STR)
    table = table[[*_KEY, "exporter_reported", "importer_reported", "both", "gap", "ratio",
                   "exporter_netwgt_kg", "importer_netwgt_kg"]]
    cover = np.where(table["both"], "both",
                     np.where(exp.notna(), "exporter_only", "importer_only"))
    summary = table.groupby(cover).agg(
        flows=("year", "size"), exporter_reported_usd=("exporter_reported", "sum"),
        importer_reported_usd=("importer_reported", "sum"))
    summary = summary.reindex(["both", "exporter_only", "importer_only"], fill_value=0)
    summary.loc["all"] = summary.sum()
    summary["flows"] = summary["flows"].astype("int64")
    both = table[table["both"]]
    summary["median_ratio"] = np.nan
    if len(both):
        summary.loc["both", "median_ratio"] = float(both["ratio"].median())
    summary.index.name = "coverage"
    return MirrorStatistics(table, summary)


def mirror_flows(stats: MirrorStatistics, prefer: str = "importer") -> pd.DataFrame:
    """Canonical flows: one value per (year, exporter, importer, hs6) by the rule ``prefer``.

    See :data:`PREFER` and the module notes. Quantity is the net weight in tonnes of the
    side used.

    >>> rep = pd.DataFrame({"year": [2022] * 3, "reporter": ["JPN", "KOR", "JPN"],
    ...     "partner": ["KOR", "JPN", "USA"], "flow": ["X", "M", "X"],
    ...     "hs6": ["848620"] * 3, "value_usd": [100.0, 110.0, 50.0]})
    >>> mirror_flows(mirror_statistics(rep), "exporter")["value_usd"].tolist()
    [100.0, 50.0]
    >>> mirror_flows(mirror_statistics(rep), "mean")["value_usd"].tolist()
    [105.0, 50.0]
    """
    if prefer not in PREFER:
        raise DataError(f"unknown rule prefer={prefer!r}", value=prefer,
                        remedy=f"use one of {sorted(PREFER)}")
    t = stats.table
    exp, imp = t["exporter_reported"], t["importer_reported"]
    ew, iw = t["exporter_netwgt_kg"], t["importer_netwgt_kg"]
    if prefer == "importer":
        value, weight = imp.where(imp.notna(), exp), iw.where(imp.notna(), ew)
    elif prefer == "exporter":
        value, weight = exp.where(exp.notna(), imp), ew.where(exp.notna(), iw)
    elif prefer == "max":
        use_imp = imp.notna() & (exp.isna() | (imp >= exp))
        value, weight = imp.where(use_imp, exp), iw.where(use_imp, ew)
    else:
        value = pd.concat([exp, imp], axis=1).mean(axis=1)
        weight = pd.concat([ew, iw], axis=1).mean(axis=1)
    out = pd.DataFrame({"year": t["year"], "exporter": t["exporter"],
                        "importer": t["importer"], "hs6": t["hs6"],
                        "value_usd": value.astype("float64"),
                        "quantity": (weight / 1000.0).astype("float64")})
    return validate(out, Flows, source=f"mirror_flows(prefer={prefer!r})")


# ---------------------------------------------------------------------------------------
# ingest
# ---------------------------------------------------------------------------------------


def _hs_version(reports: ComtradeReports, hs_version: str | None, store_hs: str | None,
                where: str) -> str:
    if hs_version is not None:
        if hs_version not in HS_VERSIONS:
            raise HSVersionError(f"unknown HS version {hs_version!r}", value=hs_version,
                                 remedy=f"use one of {', '.join(HS_VERSIONS)}")
        return hs_version
    seen = {_CLASSIFICATION.get(k) for k in reports.classifications}
    if store_hs is not None and (not seen or seen == {store_hs}):
        return store_hs
    if len(seen) == 1 and None not in seen:
        return seen.pop()
    if not seen:
        raise HSVersionError(
            "the files do not say which HS version they use (no classification column)",
            source=where, remedy="pass --hs-version (e.g. HS2017)")
    shown = ", ".join(f"{k} x{v:,}" for k, v in sorted(reports.classifications.items()))
    raise HSVersionError(
        f"the reports use several HS classifications ({shown}): each reporter reports in "
        "its own HS vintage", source=where,
        remedy="pass --hs-version to store them under one version (six-digit codes that "
               "did not change between versions mean the same goods)")


def ingest_comtrade(
    paths: str | Path | Iterable[str | Path],
    store_path: str | Path,
    *,
    prefer: str = "importer",
    lenient: bool = False,
    hs_version: str | None = None,
    year: int | None = None,
) -> IngestReport:
    """Read Comtrade exports, reconcile both sides and write the flows to a store.

    The years present in the data replace those years in the store (other years are
    kept); flows reported by both sides are also written as the derived table
    ``mirror_gaps`` (see :attr:`MirrorStatistics.gaps`).

    Parameters
    ----------
    paths : path-like or iterable of path-like
        Comtrade CSV exports (see the module notes for the layouts).
    store_path : path-like
        Store directory; created with the reference tables when absent.
    prefer : {"importer", "exporter", "max", "mean"}
        Value rule of :func:`mirror_flows` (recorded in the provenance).
    lenient : bool, default False
        Drop bad rows (counted) instead of raising.
    hs_version : str, optional
        HS version to store the flows under (default: the store's, or the files'
        classification when they agree).
    year : int, optional
        Year of files without a year column.

    Returns
    -------
    IngestReport
        ``details["mirror"]`` holds the mirror summary.
    """
    from analytics import store

    if prefer not in PREFER:
        raise DataError(f"unknown rule prefer={prefer!r}", value=prefer,
                        remedy=f"use one of {sorted(PREFER)}")
    t0 = time.perf_counter()
    root = Path(store_path).expanduser()
    existing = store.is_store(root)
    store_hs = None
    prior_files: list[dict] = []
    if existing:
        info = store.store_info(root)
        if info["synthetic"]:
            raise StoreError(f"the store at {root} holds synthetic demo data; ingest real "
                             "data into a new store (--store NEW_DIR)")
        store_hs = info["hs_version"]
        src = info["provenance"].get("flows", {}).get("source")
        if src not in (None, SOURCE) and info["years"]:
            raise StoreError(f"the store at {root} holds {src} flows; ingest Comtrade "
                             "into a separate store")
        if src == SOURCE:
            prior_files = list(info["provenance"]["flows"].get("files", []))
    reports = read_comtrade(paths, year=year, lenient=lenient)
    hs = _hs_version(reports, hs_version, store_hs,
                     ", ".join(m["file"] for m in reports.files))
    stats = mirror_statistics(reports)
    flows = mirror_flows(stats, prefer)
    report = IngestReport(SOURCE, str(root))
    if flows.empty:
        raise DataError("no bilateral six-digit flows left after cleaning",
                        source=", ".join(m["file"] for m in reports.files),
                        remedy="the files may hold only totals (World partner) or "
                               f"non-HS6 codes; notes: {reports.notes}")
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    try:
        with store.staging_dir(root) as tmp:
            by_year = {}
            import pyarrow as pa
            import pyarrow.parquet as pq

            for y, part in flows.groupby("year", sort=True):
                out = Path(tmp) / f"flows-{int(y)}.parquet"
                pq.write_table(pa.Table.from_pandas(part.reset_index(drop=True),
                                                    preserve_index=False), out,
                               compression="zstd")
                by_year[int(y)] = out
                report.years.append(int(y))
                report.rows_written[int(y)] = int(len(part))
            names = {m["file"] for m in reports.files}
            for meta in reports.files:
                meta["years"] = sorted(int(y) for y in reports.reports.loc[
                    reports.reports["source"] == meta["file"], "year"].unique())
            kept = [e for e in prior_files  # files of years this ingest does not replace
                    if not set(e.get("years", [])) & set(by_year) and e["file"] not in names]
            prov = {
                "source": SOURCE, "licence": LICENCE, "units": UNITS, "hs_version": hs,
                "files": kept + reports.files, "rule": {"prefer": prefer,
                                                 "description": PREFER[prefer]},
                "classifications": reports.classifications, "notes": reports.notes,
                "lenient": bool(lenient), "dropped": dict(reports.problems.counts),
                "examples": reports.problems.examples[:50],
                "mirror": _summary_dict(stats),
            }
            refs, ref_prov = reference_tables() if not existing else ({}, {})
            store.update_flow_files(root, by_year, provenance={**ref_prov, "flows": prov},
                                    hs_version=hs, dataset_name="UN Comtrade (mirror "
                                    f"reconciled, prefer {prefer})",
                                    reference_tables=refs or None, move=True)
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                root.rmdir()  # only succeeds when still empty: we made it
        raise
    gaps = stats.gaps
    if len(gaps):
        store.write_derived(root, "mirror_gaps", gaps)
    report.notes = dict(reports.notes)
    report.dropped = dict(reports.problems.counts)
    report.examples = list(reports.problems.examples)
    report.rows_read = {}
    report.seconds = time.perf_counter() - t0
    report.details = {"prefer": prefer, "hs_version": hs, "mirror": _summary_dict(stats),
                      "rows_read": reports.rows_read, "mirror_gaps": int(len(gaps))}
    return report


def _summary_dict(stats: MirrorStatistics) -> dict:
    out = {}
    for cov, row in stats.summary.iterrows():
        out[str(cov)] = {"flows": int(row["flows"]),
                         "exporter_reported_usd": float(row["exporter_reported_usd"]),
                         "importer_reported_usd": float(row["importer_reported_usd"])}
        if pd.notna(row["median_ratio"]):
            out[str(cov)]["median_ratio"] = float(row["median_ratio"])
    return out
