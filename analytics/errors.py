"""One exception hierarchy for the whole project.

Every error the library raises on purpose derives from :class:`ChokepointError`, so a
caller (the CLI, the dashboard, a notebook) can catch one class. Errors about bad input
data say *where* (file, row, column), *what* (the value) and *what to do* (the remedy).

>>> err = DataError("value is negative", source="flows.csv", row=7, column="v",
...                 value=-3.0, remedy="BACI values are non-negative; check the file")
>>> print(err)
flows.csv, row 7, column 'v': value -3.0: value is negative. Remedy: BACI values are non-negative; check the file
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = [
    "ChokepointError",
    "DataError",
    "SchemaViolation",
    "SourceFormatError",
    "UnknownCode",
    "UnknownCountry",
    "UnknownCategory",
    "HSVersionError",
    "StoreError",
    "StoreNotFound",
    "StoreCorrupted",
    "DownloadError",
    "ConfigError",
    "NodeNotFound",
    "AnalysisError",
]


class ChokepointError(Exception):
    """Base class of every error raised by chokepoint-analytics."""


def _locate(source, row, column, value) -> str:
    parts = []
    if source is not None:
        parts.append(str(source))
    if row is not None:
        parts.append(f"row {row}")
    if column is not None:
        parts.append(f"column {column!r}")
    where = ", ".join(parts)
    if value is not None or (column is not None and row is not None):
        where = f"{where}: value {value!r}" if where else f"value {value!r}"
    return where


class DataError(ChokepointError, ValueError):
    """Bad input data. The message names the source, row, column, value and remedy.

    Attributes ``source``, ``row``, ``column``, ``value`` and ``remedy`` are kept so
    callers can build their own reports.
    """

    def __init__(
        self,
        problem: str,
        *,
        source: Any = None,
        row: int | None = None,
        column: str | None = None,
        value: Any = None,
        remedy: str | None = None,
    ) -> None:
        self.problem = problem
        self.source = source
        self.row = row
        self.column = column
        self.value = value
        self.remedy = remedy
        where = _locate(source, row, column, value)
        msg = f"{where}: {problem}" if where else problem
        if remedy:
            msg = f"{msg}. Remedy: {remedy}"
        super().__init__(msg)


class SchemaViolation(DataError):
    """A table failed validation; ``failures`` lists *every* offending cell.

    ``failures`` is a DataFrame with columns ``source``, ``row``, ``column``, ``value``,
    ``check``. The message shows the count and the first few failures.
    """

    MAX_SHOWN = 20

    def __init__(self, table: str, failures: pd.DataFrame, *, source: Any = None,
                 remedy: str | None = None) -> None:
        self.table = table
        self.failures = failures.reset_index(drop=True)
        n = len(self.failures)
        lines = []
        for rec in self.failures.head(self.MAX_SHOWN).itertuples(index=False):
            lines.append(
                f"  {rec.source}, row {rec.row}, column {rec.column!r}: value {rec.value!r} "
                f"fails {rec.check}"
            )
        more = f"\n  ... and {n - self.MAX_SHOWN} more" if n > self.MAX_SHOWN else ""
        problem = (
            f"{n} failure(s) validating table {table!r}:\n" + "\n".join(lines) + more
        )
        ChokepointError.__init__(self, problem + (f"\nRemedy: {remedy}" if remedy else ""))
        self.problem = problem
        self.source = source
        self.row = None if n == 0 else self.failures["row"].iloc[0]
        self.column = None if n == 0 else self.failures["column"].iloc[0]
        self.value = None if n == 0 else self.failures["value"].iloc[0]
        self.remedy = remedy


class SourceFormatError(DataError):
    """A raw file is not in the expected layout (wrong header, truncated archive, ...)."""


class UnknownCode(ChokepointError, KeyError):
    """A code (country, category, coalition preset, HS code) is not in the reference tables."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class UnknownCountry(UnknownCode):
    """A country code is not in the countries reference table."""


class UnknownCategory(UnknownCode):
    """A category id is not in the categories table."""


class HSVersionError(DataError):
    """HS nomenclature versions are mixed or do not match (e.g. HS2022 codes in HS2017 data)."""


class StoreError(ChokepointError):
    """Problem with a processed store on disk."""


class StoreNotFound(StoreError, FileNotFoundError):
    """No store at the given path."""


class StoreCorrupted(StoreError):
    """The store's manifest and files disagree (missing file, wrong checksum, bad schema)."""


class DownloadError(ChokepointError):
    """A download failed (HTTP error, checksum mismatch, interrupted transfer)."""


class ConfigError(ChokepointError, ValueError):
    """A configuration file or option is invalid."""


class NodeNotFound(ChokepointError, KeyError):
    """A node (country, firm) asked for is not in the graph."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class AnalysisError(ChokepointError, ValueError):
    """An analysis cannot be computed on the given input (e.g. an empty layer)."""
