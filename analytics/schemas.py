"""Canonical tables and their validation at the edges.

Each table is a typed class whose attributes are its column names, so code refers to
``Flows.exporter`` rather than retyping ``"exporter"``. :func:`validate` checks a frame
against a table *lazily*: every failing cell of every row is collected (source, row,
column, value, check) before a :class:`~analytics.errors.SchemaViolation` is raised, the
way pandera's ``lazy=True`` does. Validation is vectorised, so it runs on millions of
rows.

>>> import pandas as pd
>>> bad = pd.DataFrame({"year": [2022, 2022], "exporter": ["JPN", "jp"],
...     "importer": ["USA", "USA"], "hs6": ["854231", "85423"], "value_usd": [1.0, -2.0]})
>>> try:
...     validate(bad, Flows, source="flows.csv")
... except SchemaViolation as err:
...     print(err.failures[["row", "column", "value"]].to_string(index=False))
 row    column value
   3  exporter    jp
   3       hs6 85423
   3 value_usd  -2.0
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from analytics.errors import SchemaViolation

__all__ = [
    "Column",
    "RowCheck",
    "Table",
    "Flows",
    "Countries",
    "Categories",
    "CategoryHS",
    "HSConcordance",
    "Events",
    "TradeCodes",
    "Suppliers",
    "Entities",
    "Shipments",
    "Brands",
    "validate",
    "empty",
    "ISO3_PATTERN",
    "HS6_PATTERN",
    "TABLES",
]

ISO3_PATTERN = r"^[A-Z][A-Z0-9]{2}$"
HS6_PATTERN = r"^\d{6}$"
HS_PREFIX_PATTERN = r"^\d{2}(\d{2}){0,2}$"
HS_VERSIONS = ("HS1992", "HS1996", "HS2002", "HS2007", "HS2012", "HS2017", "HS2022")

STR = pd.StringDtype(na_value=np.nan)


@dataclass(frozen=True)
class Column:
    """Specification of one column.

    ``dtype`` is one of ``"str"``, ``"int"``, ``"float"``, ``"bool"``, ``"date"``.
    """

    dtype: str
    nullable: bool = False
    pattern: str | None = None
    ge: float | None = None
    le: float | None = None
    gt: float | None = None
    isin: Sequence[Any] | None = None
    required: bool = True
    doc: str = ""
    name: str = ""

    def pandas_dtype(self):
        return {
            "str": STR,
            "int": "Int64" if self.nullable else "int64",
            "float": "float64",
            "bool": "boolean" if self.nullable else "bool",
            "date": "datetime64[ns]",
        }[self.dtype]


@dataclass(frozen=True)
class RowCheck:
    """A check across columns; ``fn(frame) -> boolean Series`` (True = row passes)."""

    name: str
    fn: Callable[[pd.DataFrame], pd.Series]
    columns: tuple[str, ...]


class _TableMeta(type):
    def __new__(mcls, name, bases, ns):
        cols: dict[str, Column] = {}
        for base in bases:
            cols.update(getattr(base, "__columns__", {}))
        for key, val in list(ns.items()):
            if isinstance(val, Column):
                spec = Column(**{**val.__dict__, "name": key})
                cols[key] = spec
                ns[key] = key  # Flows.exporter == "exporter"
        ns["__columns__"] = cols
        return super().__new__(mcls, name, bases, ns)


class Table(metaclass=_TableMeta):
    """Base of the canonical tables. Subclasses declare :class:`Column` attributes."""

    __columns__: ClassVar[dict[str, Column]]
    unique: ClassVar[tuple[str, ...]] = ()
    row_checks: ClassVar[tuple[RowCheck, ...]] = ()
    remedy: ClassVar[str] = "fix the listed rows in the source file and load it again"

    @classmethod
    def columns(cls) -> list[str]:
        return list(cls.__columns__)

    @classmethod
    def required(cls) -> list[str]:
        return [c for c, s in cls.__columns__.items() if s.required]


class Flows(Table):
    """Bilateral trade flows at HS6: one row per (year, exporter, importer, hs6)."""

    year = Column("int", ge=1962, le=2100, doc="calendar year")
    exporter = Column("str", pattern=ISO3_PATTERN, doc="ISO3 of the exporting country")
    importer = Column("str", pattern=ISO3_PATTERN, doc="ISO3 of the importing country")
    hs6 = Column("str", pattern=HS6_PATTERN, doc="six-digit HS code, zero-padded text")
    value_usd = Column("float", ge=0, doc="value in current US dollars")
    quantity = Column("float", nullable=True, ge=0, required=False,
                      doc="quantity (BACI: tonnes); NA when unknown")
    unique = ("year", "exporter", "importer", "hs6")
    row_checks = (
        RowCheck("exporter != importer", lambda f: f["exporter"] != f["importer"],
                 ("exporter", "importer")),
    )


class Countries(Table):
    """Countries, territories and trade pseudo-codes with export-control group flags."""

    iso3 = Column("str", pattern=ISO3_PATTERN)
    iso2 = Column("str", nullable=True)
    iso_numeric = Column("int", nullable=True)
    trade_code = Column("int", nullable=True, doc="code used by BACI/Comtrade (M49 variant)")
    name = Column("str")
    name_ja = Column("str", nullable=True)
    region = Column("str")
    subregion = Column("str", nullable=True)
    jp_group_a = Column("bool")
    un_arms_embargo = Column("bool")
    wassenaar = Column("bool")
    nsg = Column("bool")
    australia_group = Column("bool")
    mtcr = Column("bool")
    eu = Column("bool")
    eaeu = Column("bool")
    g7 = Column("bool")
    sanctioned = Column("str", nullable=True, doc="scope of sanctions, empty when none")
    hub = Column("bool", doc="curated prior: known transshipment / diversion hub")
    source = Column("str")
    as_of = Column("str")
    unique = ("iso3",)


class Categories(Table):
    """Technology categories (one row per category)."""

    category_id = Column("str", pattern=r"^[a-z0-9_]+$")
    name = Column("str")
    name_ja = Column("str", nullable=True)
    description = Column("str", nullable=True)
    control_basis = Column("str")
    sensitivity = Column("float", gt=0, le=1)
    direction = Column("str", isin=("outbound", "inbound"),
                       doc="outbound: controls on exports; inbound: dependence on others")
    source = Column("str")
    as_of = Column("str")
    unique = ("category_id",)


class CategoryHS(Table):
    """Category membership: an HS6 code or an HS2/HS4 prefix in a given HS version."""

    category_id = Column("str", pattern=r"^[a-z0-9_]+$")
    hs6 = Column("str", pattern=HS_PREFIX_PATTERN, doc="HS6 code or a 2/4-digit prefix")
    hs_version = Column("str", isin=HS_VERSIONS)
    note = Column("str", nullable=True, required=False)
    source = Column("str")
    as_of = Column("str")
    unique = ("category_id", "hs6", "hs_version")


class HSConcordance(Table):
    """Mapping between HS versions for the codes that changed."""

    from_version = Column("str", isin=HS_VERSIONS)
    from_hs6 = Column("str", pattern=HS6_PATTERN)
    to_version = Column("str", isin=HS_VERSIONS)
    to_hs6 = Column("str", pattern=HS6_PATTERN)
    relation = Column("str", isin=("1:1", "1:n", "n:1", "n:n"))
    note = Column("str", nullable=True)
    source = Column("str")
    as_of = Column("str")
    unique = ("from_version", "from_hs6", "to_version", "to_hs6")


class TradeCodes(Table):
    """Numeric country codes of trade data (UN M49 / Comtrade / BACI) -> ISO3."""

    code = Column("int", ge=0)
    iso3 = Column("str", pattern=ISO3_PATTERN)
    name = Column("str")
    kind = Column("str", isin=("country", "historical", "aggregate", "nes"))
    source = Column("str")
    unique = ("code",)


class Events(Table):
    """Policy events (controls, sanctions) with their scope."""

    event_id = Column("str")
    date = Column("date")
    jurisdiction = Column("str")
    measure = Column("str")
    categories = Column("str", doc="';'-separated category ids, or 'all'")
    destinations = Column("str", doc="';'-separated ISO3 codes, or 'all'")
    kind = Column("str", isin=("outbound_control", "sanctions", "inbound_control", "other"))
    source = Column("str")
    as_of = Column("str")
    unique = ("event_id",)


class Suppliers(Table):
    """Who supplies an item: firm- or country-level market shares."""

    item_id = Column("str")
    item_name = Column("str")
    provider = Column("str")
    provider_country = Column("str", nullable=True)
    share = Column("float", ge=0, le=1)
    year = Column("int", nullable=True)
    source = Column("str", nullable=True)


class Entities(Table):
    """Listed entities (end-user lists, specified-entity lists) as red flags."""

    name = Column("str")
    aliases = Column("str", nullable=True)
    country = Column("str", nullable=True, pattern=ISO3_PATTERN)
    concern = Column("str", nullable=True)
    list_name = Column("str")
    source = Column("str", nullable=True)


class Shipments(Table):
    """Transaction-level customs records (declarations / bills of lading)."""

    date = Column("date")
    declaration_id = Column("str")
    consignee = Column("str")
    importer_country = Column("str", pattern=ISO3_PATTERN)
    shipper = Column("str")
    dispatch_country = Column("str", pattern=ISO3_PATTERN)
    origin_country = Column("str", nullable=True, pattern=ISO3_PATTERN)
    brand = Column("str", nullable=True)
    hs_code = Column("str", pattern=r"^\d{6,10}$")
    value_usd = Column("float", ge=0)
    quantity = Column("float", nullable=True, ge=0, required=False)
    unique = ("declaration_id",)


class Brands(Table):
    """Brands / manufacturers and their headquarters country."""

    brand = Column("str")
    hq_country = Column("str", pattern=ISO3_PATTERN)
    source = Column("str", nullable=True)
    unique = ("brand",)


TABLES: dict[str, type[Table]] = {
    "flows": Flows,
    "countries": Countries,
    "categories": Categories,
    "category_hs": CategoryHS,
    "hs_concordance": HSConcordance,
    "events": Events,
    "suppliers": Suppliers,
    "entities": Entities,
    "shipments": Shipments,
    "brands": Brands,
}


def empty(table: type[Table]) -> pd.DataFrame:
    """An empty frame with the table's columns and dtypes."""
    return pd.DataFrame(
        {c: pd.Series(dtype=s.pandas_dtype()) for c, s in table.__columns__.items()}
    )


_TRUE = {"1", "true", "t", "yes", "y"}
_FALSE = {"0", "false", "f", "no", "n", ""}


def _coerce(series: pd.Series, spec: Column) -> tuple[pd.Series, pd.Series]:
    """Return (coerced, bad) where bad marks values that could not be coerced."""
    present = series.notna()
    if spec.dtype == "str":
        out = series.astype(STR)
        out = out.str.strip()
        out = out.mask(out == "", np.nan)
        return out, pd.Series(False, index=series.index)
    if spec.dtype in ("int", "float"):
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            num = series.astype("float64")
        else:
            num = pd.to_numeric(series.astype(STR).str.strip(), errors="coerce")
        bad = present & num.isna()
        if spec.dtype == "int":
            frac = num.notna() & (num != np.floor(num.fillna(0)))
            bad = bad | frac
            out = num.where(~bad).astype("Int64")
        else:
            out = num.astype("float64")
        return out, bad
    if spec.dtype == "bool":
        if pd.api.types.is_bool_dtype(series):
            return series.astype("boolean"), pd.Series(False, index=series.index)
        txt = series.astype(STR).str.strip().str.lower()
        txt = txt.mask(txt.isin(["1.0"]), "1").mask(txt.isin(["0.0"]), "0")
        out = pd.Series(pd.NA, index=series.index, dtype="boolean")
        out[txt.isin(_TRUE).fillna(False).to_numpy(dtype=bool)] = True
        out[txt.isin(_FALSE).fillna(False).to_numpy(dtype=bool)] = False
        bad = present & ~txt.isin(_TRUE | _FALSE).fillna(False)
        return out, bad
    if spec.dtype == "date":
        out = pd.to_datetime(series, errors="coerce", format="mixed")
        if getattr(out.dtype, "tz", None) is not None:
            out = out.dt.tz_localize(None)
        out = out.astype("datetime64[ns]")
        bad = present & out.isna()
        return out, bad
    raise ValueError(f"unknown dtype {spec.dtype!r}")


def validate(
    frame: pd.DataFrame,
    table: type[Table],
    *,
    source: str = "<frame>",
    rows: Sequence[int] | pd.Series | np.ndarray | None = None,
    row_offset: int = 2,
    strict: bool = False,
) -> pd.DataFrame:
    """Validate ``frame`` against ``table``; return it coerced to canonical dtypes.

    Parameters
    ----------
    frame : DataFrame
        The data; extra columns are dropped unless ``strict`` (then they are an error).
    table : Table subclass
        e.g. :class:`Flows`.
    source : str
        Name reported in failures (a file name).
    rows : array-like, optional
        Row numbers in the source for each frame row (e.g. CSV line numbers). By default
        ``position + row_offset`` (``row_offset=2``: a CSV's first data line after the
        header is line 2).
    strict : bool
        Reject columns the table does not define.

    Returns
    -------
    DataFrame
        Columns in the table's order, canonical dtypes, a fresh RangeIndex.

    Raises
    ------
    SchemaViolation
        Listing every failing (row, column, value, check), not only the first.
    """
    specs = table.__columns__
    n = len(frame)
    row_no = (np.arange(n) + row_offset) if rows is None else np.asarray(rows)
    failures: list[pd.DataFrame] = []

    def fail(mask: pd.Series, column: str, values: pd.Series, check: str) -> None:
        m = np.asarray(mask.fillna(False), dtype=bool) if isinstance(mask, pd.Series) else mask
        if m.any():
            failures.append(pd.DataFrame({
                "source": source, "row": row_no[m], "column": column,
                "value": np.asarray(values.to_numpy(dtype=object))[m], "check": check,
            }))

    missing = [c for c, s in specs.items() if s.required and c not in frame.columns]
    if missing:
        failures.append(pd.DataFrame({
            "source": source, "row": row_offset - 1, "column": missing,
            "value": None, "check": "column present (header)",
        }))
    if strict:
        extra = [c for c in frame.columns if c not in specs]
        if extra:
            failures.append(pd.DataFrame({
                "source": source, "row": row_offset - 1, "column": extra,
                "value": None, "check": "column defined by the table",
            }))

    out = {}
    for col, spec in specs.items():
        if col not in frame.columns:
            if not spec.required:
                out[col] = pd.Series(np.nan if spec.dtype == "float" else pd.NA,
                                     index=frame.index).astype(spec.pandas_dtype())
            continue
        raw = frame[col]
        coerced, bad = _coerce(raw, spec)
        fail(bad, col, raw, f"type {spec.dtype}")
        ok = ~bad
        if not spec.nullable:
            fail(coerced.isna() & ok & ~bad, col, raw, "not null")
        nn = coerced.notna() & ok
        if spec.pattern is not None and spec.dtype == "str":
            pat = re.compile(spec.pattern)
            matched = coerced.str.match(pat).fillna(False).astype(bool)
            fail(nn & ~matched, col, raw, f"pattern {spec.pattern}")
        if spec.isin is not None:
            fail(nn & ~coerced.isin(list(spec.isin)), col, raw, f"one of {list(spec.isin)}")
        if spec.dtype in ("int", "float"):
            num = coerced.astype("float64")
            if spec.ge is not None:
                fail(nn & ~(num >= spec.ge), col, raw, f">= {spec.ge:g}")
            if spec.gt is not None:
                fail(nn & ~(num > spec.gt), col, raw, f"> {spec.gt:g}")
            if spec.le is not None:
                fail(nn & ~(num <= spec.le), col, raw, f"<= {spec.le:g}")
            if spec.dtype == "float":
                fail(nn & ~np.isfinite(num), col, raw, "finite")
        if spec.dtype == "int" and not spec.nullable:
            coerced = coerced.fillna(0).astype("int64") if not (coerced.isna() & ok).any() \
                else coerced
        if spec.dtype == "bool" and not spec.nullable:
            coerced = coerced.fillna(False).astype(bool)
        out[col] = coerced

    result = pd.DataFrame(out, index=frame.index)
    if not missing:
        for chk in table.row_checks:
            if all(c in result.columns for c in chk.columns):
                passed = chk.fn(result).fillna(True)
                first = chk.columns[0]
                fail(~passed, first, frame[first], chk.name)
        if table.unique and all(c in result.columns for c in table.unique):
            dup = result.duplicated(list(table.unique), keep=False)
            if dup.any():
                key = result.loc[dup, list(table.unique)].astype(str).agg("|".join, axis=1)
                failures.append(pd.DataFrame({
                    "source": source, "row": row_no[np.asarray(dup)],
                    "column": "+".join(table.unique), "value": key.to_numpy(),
                    "check": f"unique on ({', '.join(table.unique)})",
                }))
    if failures:
        report = pd.concat(failures, ignore_index=True).sort_values(
            ["row", "column"], kind="stable").reset_index(drop=True)
        raise SchemaViolation(table.__name__, report, source=source, remedy=table.remedy)
    return result.reset_index(drop=True)
