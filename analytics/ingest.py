"""Shared plumbing of the ingesters (BACI, Comtrade): bad-row reports, summaries, DuckDB.

The readers in :mod:`analytics.sources` find bad input rows with DuckDB SQL and hand them
to a :class:`Problems` collector: counts per *reason* and the first offending rows (CSV
line, column, value). In strict mode (the default) :meth:`Problems.error` turns them into
one exception of :mod:`analytics.errors` that names the file, line, value and remedy; with
``lenient=True`` the rows are dropped and the counts travel in the :class:`IngestReport`
and in the store's provenance.

Reasons are of two kinds:

* *problems*: the input is wrong (a negative value, an unknown country code, a duplicated
  key, a malformed line). Strict mode raises; lenient mode drops the row and counts it.
* *notes*: documented handling of how a source is (Comtrade's exact duplicate lines,
  re-export memo flows, "World" partner totals). Always applied, always counted.

>>> p = Problems("BACI_HS17_Y2022_V202601.csv")
>>> p.add("negative_value", 1, [{"line": 7, "column": "v", "value": "-3.0"}])
>>> print(p.error())
BACI_HS17_Y2022_V202601.csv, row 7, column 'v': value '-3.0': negative value. Remedy: BACI/Comtrade values are non-negative amounts (BACI v in thousand USD): fix the file, or pass --lenient to drop such rows (they are counted in the ingest summary)
>>> p.counts
{'negative_value': 1}
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analytics.errors import (
    ChokepointError,
    DataError,
    SchemaViolation,
    SourceFormatError,
    UnknownCountry,
)

__all__ = [
    "Reason",
    "REASONS",
    "Problems",
    "IngestReport",
    "reference_tables",
    "connect",
    "run_with_progress",
    "progress_bar",
    "MAX_EXAMPLES",
]

#: offending rows kept per reason (for messages, summaries and provenance)
MAX_EXAMPLES = 20

_LENIENT = "or pass --lenient to drop such rows (they are counted in the ingest summary)"


@dataclass(frozen=True)
class Reason:
    """Why a row is dropped or rejected."""

    code: str
    kind: str  # "problem" or "note"
    text: str  # short description, e.g. "negative value"
    remedy: str = ""
    error: type[ChokepointError] = DataError


REASONS: dict[str, Reason] = {r.code: r for r in (
    # ---- problems: bad input ------------------------------------------------------
    Reason("malformed_line", "problem", "malformed line (wrong number of fields or bad "
           "encoding)", "the file may be truncated or damaged: download it again (`chokepoint "
           f"fetch baci` resumes and verifies), {_LENIENT}", SourceFormatError),
    Reason("not_a_number", "problem", "not a number",
           "BACI columns t, i, j, k are integers and v, q numbers (q may be NA); Comtrade "
           f"codes, years and values are numbers: fix the file, {_LENIENT}"),
    Reason("year_mismatch", "problem", "year differs from the year of the file",
           "each BACI_HSxx_Yyyyy_V*.csv file holds the year in its name: check column t "
           "and the file name"),
    Reason("unknown_exporter", "problem", "unknown exporter country code",
           "BACI codes are mapped through the release's own country_codes_V*.csv: use the "
           f"country table of the same release, {_LENIENT}", UnknownCountry),
    Reason("unknown_importer", "problem", "unknown importer country code",
           "BACI codes are mapped through the release's own country_codes_V*.csv: use the "
           f"country table of the same release, {_LENIENT}", UnknownCountry),
    Reason("unknown_reporter", "problem", "unknown reporter country code",
           "Comtrade codes are mapped with the reference table data/reference/"
           f"trade_codes.csv: add the code there if it is a real area, {_LENIENT}",
           UnknownCountry),
    Reason("unknown_partner", "problem", "unknown partner country code",
           "Comtrade codes are mapped with the reference table data/reference/"
           f"trade_codes.csv: add the code there if it is a real area, {_LENIENT}",
           UnknownCountry),
    Reason("same_country", "problem", "exporter equals importer",
           f"a flow goes between two different countries: fix the file, {_LENIENT}"),
    Reason("bad_hs6", "problem", "not a six-digit HS code",
           f"k is an HS6 code (written with or without its leading zero), {_LENIENT}"),
    Reason("missing_value", "problem", "missing or non-finite value",
           f"every flow needs a finite value: fix the file, {_LENIENT}"),
    Reason("negative_value", "problem", "negative value",
           "BACI/Comtrade values are non-negative amounts (BACI v in thousand USD): fix the "
           f"file, {_LENIENT}"),
    Reason("bad_quantity", "problem", "quantity is not a non-negative number or NA",
           f"BACI q is in tonnes, NA when unknown: fix the file, {_LENIENT}"),
    Reason("duplicate_key", "problem", "duplicate key (the same year, exporter, importer "
           "and product twice)", "each (t, i, j, k) must occur once: the file may be "
           "damaged or concatenated twice; download it again, or pass --lenient to drop "
           "every row of a duplicated key"),
    # ---- notes: documented handling ----------------------------------------------
    Reason("exact_duplicate", "note", "exact duplicate line (kept once)"),
    Reason("breakdown_line", "note", "breakdown line (2nd partner, customs procedure or "
           "mode of transport other than the total)"),
    Reason("breakdown_without_key", "note", "same reporter, partner, flow and product "
           "reported on several lines with different values: the largest (the total line) "
           "is kept"),
    Reason("re_export_memo", "note", "re-export/re-import line (RX/RM): a memo item "
           "already included in exports/imports"),
    Reason("other_flow", "note", "flow other than exports/imports (e.g. processing flows)"),
    Reason("aggregate_area", "note", "aggregate partner or reporter (World, EU, ...)"),
    Reason("not_hs6", "note", "commodity code is not six-digit (total, chapter or heading)"),
    Reason("self_trade", "note", "reporter and partner are the same country"),
    Reason("iso_fallback", "note", "numeric code absent from trade_codes, mapped through "
           "the file's ISO3 column (kept)"),
)}


def _reason(code: str) -> Reason:
    try:
        return REASONS[code]
    except KeyError:  # pragma: no cover - programming error
        raise ValueError(f"unknown reason {code!r}") from None


@dataclass
class Problems:
    """Bad rows of one input: counts per reason and the first examples.

    Examples are dicts with ``line`` (CSV line number, the header is line 1, or None),
    ``column`` and ``value`` (and optionally ``source`` when it differs from
    :attr:`source`).
    """

    source: str
    counts: dict[str, int] = field(default_factory=dict)
    examples: list[dict] = field(default_factory=list)

    def add(self, reason: str, count: int, examples: Iterable[Mapping[str, Any]] = ()) -> None:
        """Count ``count`` rows for ``reason`` and keep up to :data:`MAX_EXAMPLES` examples."""
        _reason(reason)
        if count <= 0:
            return
        self.counts[reason] = self.counts.get(reason, 0) + int(count)
        have = sum(1 for e in self.examples if e["reason"] == reason)
        for ex in examples:
            if have >= MAX_EXAMPLES:
                break
            self.examples.append({"reason": reason, "source": ex.get("source", self.source),
                                  "line": None if ex.get("line") is None else int(ex["line"]),
                                  "column": ex.get("column"), "value": _plain(ex.get("value"))})
            have += 1

    def extend(self, other: Problems) -> None:
        for reason, n in other.counts.items():
            self.add(reason, n, [e for e in other.examples if e["reason"] == reason])

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __bool__(self) -> bool:
        return self.total > 0

    def error(self, table: str = "flows") -> ChokepointError:
        """One exception describing every problem (the first examples of each reason).

        Only unknown country codes: :class:`~analytics.errors.UnknownCountry`. One bad row:
        a :class:`~analytics.errors.DataError` (a
        :class:`~analytics.errors.SourceFormatError` for a malformed line). Several: a
        :class:`~analytics.errors.SchemaViolation` listing the examples, with the total
        count per reason in its remedy.
        """
        if not self:
            raise ValueError("no problems to report")
        examples = sorted(self.examples, key=lambda e: (e["line"] is None, e["line"] or 0))
        by_reason = ", ".join(f"{REASONS[r].text} x{n:,}" for r, n in
                              sorted(self.counts.items(), key=lambda kv: -kv[1]))
        reasons = {_reason(r) for r in self.counts}
        if all(r.error is UnknownCountry for r in reasons):
            first = examples[0]
            codes = sorted({str(e["value"]) for e in examples})
            where = f"{first['source']}, row {first['line']}" if first["line"] else \
                str(first["source"])
            more = f" ({self.total:,} rows in all; codes {', '.join(codes)})" \
                if self.total > 1 else ""
            remedy = next(iter(reasons)).remedy
            return UnknownCountry(
                f"{where}, column {first['column']!r}: value {first['value']!r}: "
                f"{REASONS[first['reason']].text}{more}. Remedy: {remedy}")
        if self.total == 1:
            (code,) = self.counts
            r = _reason(code)
            ex = examples[0] if examples else {"source": self.source, "line": None,
                                               "column": None, "value": None}
            return r.error(r.text, source=ex["source"], row=ex["line"], column=ex["column"],
                           value=ex["value"], remedy=r.remedy)
        failures = pd.DataFrame({
            "source": [e["source"] for e in examples],
            "row": [e["line"] for e in examples],
            "column": [e["column"] for e in examples],
            "value": [e["value"] for e in examples],
            "check": [REASONS[e["reason"]].text for e in examples],
        })
        remedies = "; ".join(dict.fromkeys(_reason(r).remedy for r in self.counts
                                           if _reason(r).remedy))
        return SchemaViolation(
            f"{table} of {self.source}: {self.total:,} bad row(s): {by_reason}; first "
            "examples",
            failures, source=self.source, remedy=remedies)

    def as_dict(self) -> dict:
        return {"counts": dict(self.counts), "examples": list(self.examples)}


def _plain(value: Any) -> Any:
    """A JSON-friendly scalar (provenance is JSON)."""
    if value is None:
        return None
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def register_reason(*reasons: Reason) -> None:
    """Add source-specific reasons (each ingester registers its own at import)."""
    for r in reasons:
        known = REASONS.get(r.code)
        if known is not None and known != r:
            raise ValueError(f"reason {r.code!r} registered twice with different texts")
        REASONS[r.code] = r


@dataclass
class IngestReport:
    """What an ingest did: written and skipped years, counts, notes and drops.

    ``notes`` counts the documented handling (always applied); ``dropped`` counts the bad
    rows dropped in lenient mode; ``examples`` lists the first offending rows.
    """

    source: str
    store: str
    years: list[int] = field(default_factory=list)
    skipped_years: list[int] = field(default_factory=list)
    rows_written: dict[int, int] = field(default_factory=dict)
    rows_read: dict[int, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    examples: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    unit: str = "flow rows"

    def lines(self) -> list[str]:
        """A human summary, one line per item."""
        out = [f"{self.source}: {len(self.years)} year(s) written to {self.store} "
               f"in {self.seconds:.1f} s"]
        files = self.details.get("files")
        for name, f in (files.items() if isinstance(files, dict) else ()):
            if isinstance(f, dict) and "rows_written" in f and "rows_read" in f:
                out.append(f"  {name}: {f['rows_written']:,} of {f['rows_read']:,} rows")
        for y in sorted(set(self.years) | set(self.skipped_years)):
            if y in self.skipped_years:
                out.append(f"  {y}: skipped (--resume: the same source file is already in "
                           "the store)")
            else:
                read = self.rows_read.get(y)
                extra = f" of {read:,} read" if read is not None else ""
                out.append(f"  {y}: {self.rows_written.get(y, 0):,} {self.unit}{extra}")
        out.extend(self._coverage_lines())
        if self.notes:
            out.append("handled as documented (counted, not errors):")
            out.extend(f"  {n:>12,}  {REASONS[r].text}" for r, n in
                       sorted(self.notes.items(), key=lambda kv: -kv[1]))
        if self.dropped:
            out.append("dropped (--lenient):")
            out.extend(f"  {n:>12,}  {REASONS[r].text}" for r, n in
                       sorted(self.dropped.items(), key=lambda kv: -kv[1]))
            shown = [e for e in self.examples if REASONS[e["reason"]].kind == "problem"][:10]
            if shown:
                out.append("first examples:")
                for e in shown:
                    line = f", row {e['line']}" if e.get("line") else ""
                    col = f", column {e['column']!r}" if e.get("column") else ""
                    out.append(f"  {e['source']}{line}{col}: value {e['value']!r} "
                               f"({REASONS[e['reason']].text})")
        return out

    def _coverage_lines(self, limit: int = 15) -> list[str]:
        """Category codes the source could not deliver (``details["unmapped_codes"]``) and
        HS mapping steps without a concordance (``details["concordance_gaps"]``)."""
        out = []
        for g in self.details.get("concordance_gaps") or []:
            out.append(f"no HS concordance {g['from_version']} -> {g['to_version']}: "
                       f"{len(g['codes'])} code(s) of {len(g['categories'])} categor"
                       f"{'y' if len(g['categories']) == 1 else 'ies'} carried over unchanged")
        unmapped = self.details.get("unmapped_codes") or {}
        if unmapped:
            n = len({c for codes in unmapped.values() for c in codes})
            out.append(f"unmapped category codes (not in the source's product table, no "
                       f"flows kept): {n}")
            for cat, codes in list(unmapped.items())[:limit]:
                more = f" ... ({len(codes)})" if len(codes) > 10 else ""
                out.append(f"  {cat}: {', '.join(codes[:10])}{more}")
            if len(unmapped) > limit:
                out.append(f"  ... {len(unmapped) - limit} more categories (see the provenance)")
        return out

    def as_dict(self) -> dict:
        return {
            "source": self.source, "store": self.store, "years": list(self.years),
            "skipped_years": list(self.skipped_years),
            "rows_written": {str(k): v for k, v in self.rows_written.items()},
            "rows_read": {str(k): v for k, v in self.rows_read.items()},
            "notes": dict(self.notes), "dropped": dict(self.dropped),
            "examples": list(self.examples), "seconds": round(self.seconds, 3),
            **self.details,
        }


def reference_tables() -> tuple[dict[str, pd.DataFrame], dict[str, dict]]:
    """The curated reference tables a new store is created with, and their provenance."""
    from analytics import reference

    tables = {
        "countries": reference.countries(),
        "categories": reference.categories(),
        "category_hs": reference.category_hs(),
        "hs_concordance": reference.hs_concordance(),
        "events": reference.events(),
    }
    prov = {}
    for key, frame in tables.items():
        as_of = sorted({str(v) for v in frame["as_of"].dropna()}) if "as_of" in frame else []
        prov[key] = {"source": "chokepoint-analytics reference tables (data/reference)",
                     "file": f"{key}.csv", "as_of": as_of[-1] if as_of else None,
                     "rows": int(len(frame))}
    return tables, prov


# ---------------------------------------------------------------------------------------
# DuckDB
# ---------------------------------------------------------------------------------------


def connect(*, threads: int | None = None, memory_limit: str | None = None,
            temp_directory: str | Path | None = None):
    """An in-memory DuckDB connection set up for streaming ingest.

    Insertion order is preserved (the BACI reader relies on it for its one-pass order and
    duplicate check, and for line numbers); ``memory_limit`` bounds the memory DuckDB
    uses before spilling to ``temp_directory``.
    """
    import duckdb

    con = duckdb.connect(":memory:")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        con.execute("SET memory_limit = ?", [str(memory_limit)])
    if temp_directory is not None:
        con.execute("SET temp_directory = ?", [str(temp_directory)])
    con.execute("SET preserve_insertion_order = true")
    try:
        con.execute("SET enable_progress_bar = true")
        con.execute("SET enable_progress_bar_print = false")
    except duckdb.Error:  # e.g. in Jupyter without ipywidgets: progress is cosmetic
        pass
    return con


def progress_bar(*, total: float | None, desc: str, unit: str = "it",
                 enabled: bool = True, unit_scale: bool = False, initial: float = 0):
    """A tqdm bar on stderr (a do-nothing bar when ``enabled`` is False)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit_scale, initial=initial,
                disable=not enabled, file=sys.stderr, leave=False, dynamic_ncols=True)


def run_with_progress(con, sql: str, params: Any = None, *, desc: str = "",
                      enabled: bool = False):
    """Execute ``sql`` on ``con``; show DuckDB's query progress as a tqdm bar on stderr."""
    if not enabled:
        return con.execute(sql, params) if params is not None else con.execute(sql)
    bar = progress_bar(total=100, desc=desc, unit="%", enabled=True)
    done = threading.Event()

    def poll() -> None:
        last = 0.0
        while not done.wait(0.2):
            try:
                pct = con.query_progress()
            except Exception:  # noqa: BLE001 - progress is cosmetic; never fail the query
                return
            if pct is not None and pct > last:
                bar.update(min(pct, 100.0) - last)
                last = min(pct, 100.0)

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    try:
        return con.execute(sql, params) if params is not None else con.execute(sql)
    finally:
        done.set()
        th.join()
        bar.close()
