"""Reader for the EU Russia export sanctions at HS6 level (Chupilkin, Javorcik, Peeva and
Plekhanov).

The authors' replication package (openICPSR project 229004, doi:10.3886/E229004V1, CC BY
4.0) has ``EU_sanctions_HS6.dta``: one row per HS6 code of the **HS 2017** nomenclature
(5,369 codes) with ``EU_sanction`` (1 = exports to Russia restricted at some point under
EU Regulation 833/2014, up to the 10th package of February 2023), ``Date`` (first date
the restriction applied), ``Winddowndate`` (end of the wind-down period),
``partially_exempt``, ``Maxprice`` (price threshold of the luxury ban) and eight category
flags (1/empty): ``aviation``, ``dual_use``, ``firearms``, ``industrial_cap``, ``luxury``,
``military_tech``, ``oil_exploration``, ``oil_refining``.
:func:`read_eu_sanctioned_hs6` reads the ``.dta`` (``pandas.read_stata``) or the same
content as CSV (``Code`` zero-padded to six characters, dates ``YYYY-MM-DD``, flags
``1.0``/empty).

Category rule
-------------
``category`` is the priority category the authors use, as a readable label:

1. ``"dual-use/firearms/military"`` when ``dual_use``, ``firearms`` or ``military_tech``
   is set;
2. else ``"industrial"`` when ``industrial_cap``, ``aviation``, ``oil_exploration`` or
   ``oil_refining`` is set (the aviation and oil-sector bans are industrial-capacity
   measures);
3. else ``"luxury"`` when ``luxury`` is set;
4. missing for codes that are not sanctioned (and for a sanctioned code without any flag,
   which the published file does not have).

On the published file this gives 1,067 / 667 / 570 codes, the authors' figures.

Output columns: ``hs6`` (six-digit text), ``hs_version`` ("HS2017"), ``sanctioned``
(bool), ``date`` and ``winddown_date`` (datetime64, NaT when absent), ``category``,
``partially_exempt`` (bool; False when not sanctioned), ``max_price`` (float, NaN when
none) and the eight flags as bools. An HS6 flag means "at least part of the HS6 is
restricted": the sanctions often name CN8 sub-lines only.

Errors: a missing file or column, or an unreadable file, raises
:class:`~analytics.errors.SourceFormatError`. Bad values are collected over the whole
file -- a code that is not six digits, a duplicated code, a flag that is not 0/1/empty,
a date that does not parse, a sanctioned code without a date or a date on a code that
is not sanctioned -- and raised together: one as :class:`~analytics.errors.DataError`,
several as :class:`~analytics.errors.SchemaViolation` (a ``DataError`` whose
``failures`` frame lists every cell). Rows are CSV line numbers (header = line 1) or
Stata observation numbers (first = 1).

>>> import pandas as pd
>>> raw = pd.DataFrame({"Code": ["010121", "847130"], "Date": ["2022-03-15", ""],
...     "Winddowndate": ["2022-03-15", ""], "partially_exempt": ["0.0", ""],
...     "Maxprice": ["300.0", ""], "aviation": ["", ""], "dual_use": ["", ""],
...     "firearms": ["", ""], "industrial_cap": ["", ""], "luxury": ["1.0", ""],
...     "military_tech": ["", ""], "oil_exploration": ["", ""], "oil_refining": ["", ""],
...     "EU_sanction": ["1.0", ""]})
>>> out = parse_eu_sanctions_frame(raw, source="example.csv")
>>> out[["hs6", "sanctioned", "date", "category"]]
      hs6  sanctioned       date category
0  010121        True 2022-03-15   luxury
1  847130       False        NaT      NaN
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analytics.errors import DataError, SchemaViolation, SourceFormatError
from analytics.schemas import STR

__all__ = [
    "read_eu_sanctioned_hs6",
    "parse_eu_sanctions_frame",
    "FLAG_COLUMNS",
    "CATEGORY_LABELS",
    "HS_VERSION",
    "SOURCE_NAME",
]

SOURCE_NAME = ("Chupilkin, Javorcik, Peeva & Plekhanov, EU sanctions on exports to Russia "
               "at HS6 (openICPSR 229004 V1, doi:10.3886/E229004V1)")
HS_VERSION = "HS2017"

#: Category flags of the source, in output order.
FLAG_COLUMNS: tuple[str, ...] = ("aviation", "dual_use", "firearms", "industrial_cap",
                                 "luxury", "military_tech", "oil_exploration",
                                 "oil_refining")
#: Priority categories: label -> flags that put a code in it (first match wins).
CATEGORY_LABELS: dict[str, tuple[str, ...]] = {
    "dual-use/firearms/military": ("dual_use", "firearms", "military_tech"),
    "industrial": ("industrial_cap", "aviation", "oil_exploration", "oil_refining"),
    "luxury": ("luxury",),
}
_REQUIRED = ("Code", "EU_sanction", "Date", "Winddowndate", "partially_exempt", "Maxprice",
             *FLAG_COLUMNS)
_REMEDY = ("use EU_sanctions_HS6.dta from openICPSR project 229004 (or its CSV export with "
           "the same columns: " + ", ".join(_REQUIRED) + ")")
_TRUE = {"1", "1.0", "true"}
_FALSE = {"", "0", "0.0", "false", "nan", "<na>", "none", "."}


class _Failures:
    def __init__(self, source: str) -> None:
        self.source = source
        self.rows: list[dict[str, Any]] = []

    def add(self, rows: np.ndarray, column: str, values: Any, check: str,
            remedy: str) -> None:
        for r, v in zip(np.atleast_1d(rows), np.atleast_1d(values), strict=True):
            self.rows.append({"source": self.source, "row": int(r), "column": column,
                              "value": v, "check": check, "remedy": remedy})

    def raise_if_any(self) -> None:
        if not self.rows:
            return
        if len(self.rows) == 1:
            f = self.rows[0]
            raise DataError(f["check"], source=f["source"], row=f["row"], column=f["column"],
                            value=f["value"], remedy=f["remedy"])
        frame = pd.DataFrame(self.rows).sort_values(["row", "column"], kind="stable")
        remedy = "; ".join(dict.fromkeys(frame["remedy"]))
        raise SchemaViolation("EU sanctioned HS6", frame.drop(columns="remedy"),
                              source=self.source, remedy=remedy)


def _text(col: pd.Series) -> pd.Series:
    """Values as stripped text ('' for missing), numbers without spurious decimals."""
    def one(v: Any) -> str:
        if v is None or v is pd.NA or v is pd.NaT:
            return ""
        if isinstance(v, float):
            if np.isnan(v):
                return ""
            return str(float(v))
        if isinstance(v, pd.Timestamp):
            return v.strftime("%Y-%m-%d")
        return str(v).strip()
    return col.map(one)


def _flag(col: pd.Series, name: str, rows: np.ndarray, fails: _Failures) -> np.ndarray:
    txt = _text(col).str.casefold()
    true = txt.isin(_TRUE).to_numpy()
    bad = ~(true | txt.isin(_FALSE).to_numpy())
    if bad.any():
        fails.add(rows[bad], name, col[bad].to_numpy(), "flag is not 1, 0 or empty",
                  "write flags as 1 (set) or leave them empty")
    return true


def _date(col: pd.Series, name: str, rows: np.ndarray, fails: _Failures) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(col):
        return pd.Series(col.to_numpy(), index=col.index).astype("datetime64[ns]")
    txt = _text(col)
    parsed = pd.to_datetime(txt.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    bad = (parsed.isna() & txt.ne("")).to_numpy()
    if bad.any():
        fails.add(rows[bad], name, col[bad].to_numpy(), "not a date YYYY-MM-DD",
                  "write dates as YYYY-MM-DD or leave them empty")
    return parsed.astype("datetime64[ns]")


def parse_eu_sanctions_frame(raw: pd.DataFrame, *, source: str = "EU sanctions HS6",
                             rows: np.ndarray | None = None,
                             hs_version: str = HS_VERSION) -> pd.DataFrame:
    """Turn the raw columns (as in the ``.dta``/CSV) into the output table.

    ``rows`` are the row numbers used in error messages (default: CSV lines, 2, 3, ...).
    See the module docstring for the columns, the category rule and the checks.
    """
    missing = [c for c in _REQUIRED if c not in raw.columns]
    if missing:
        raise SourceFormatError(f"lacks column(s) {missing} (columns: {list(raw.columns)})",
                                source=source, column=missing[0], remedy=_REMEDY)
    raw = raw.reset_index(drop=True)
    rows = np.arange(2, len(raw) + 2) if rows is None else np.asarray(rows)
    fails = _Failures(source)

    code = _text(raw["Code"])
    bad = ~code.str.fullmatch(r"\d{6}").to_numpy()
    if bad.any():
        fails.add(rows[bad], "Code", raw["Code"][bad].to_numpy(),
                  "HS6 code is not six digits",
                  "write codes as six-digit text, zero-padded (e.g. 010121)")
    dup = (code.duplicated(keep=False) & ~pd.Series(bad)).to_numpy()
    if dup.any():
        fails.add(rows[dup], "Code", code[dup].to_numpy(), "duplicated HS6 code",
                  "keep one row per HS6 code")
    sanctioned = _flag(raw["EU_sanction"], "EU_sanction", rows, fails)
    flags = {f: _flag(raw[f], f, rows, fails) for f in FLAG_COLUMNS}
    exempt = _flag(raw["partially_exempt"], "partially_exempt", rows, fails)
    date = _date(raw["Date"], "Date", rows, fails)
    wind = _date(raw["Winddowndate"], "Winddowndate", rows, fails)
    no_date = sanctioned & date.isna().to_numpy() & ~_text(raw["Date"]).ne("").to_numpy()
    if no_date.any():
        fails.add(rows[no_date], "Date", raw["Date"][no_date].to_numpy(),
                  "sanctioned code (EU_sanction = 1) without a Date",
                  "give the first date of the restriction")
    stray = ~sanctioned & date.notna().to_numpy()
    if stray.any():
        fails.add(rows[stray], "EU_sanction", raw["EU_sanction"][stray].to_numpy(),
                  "Date given but EU_sanction is not 1",
                  "set EU_sanction to 1 for restricted codes or clear the Date")
    price_txt = _text(raw["Maxprice"])
    price = pd.to_numeric(price_txt.where(price_txt.ne(""), None), errors="coerce")
    bad_price = (price_txt.ne("") & (price.isna() | (price < 0))).to_numpy()
    if bad_price.any():
        fails.add(rows[bad_price], "Maxprice", raw["Maxprice"][bad_price].to_numpy(),
                  "Maxprice is not a non-negative number", "write the price threshold "
                  "in euro (e.g. 300) or leave it empty")
    fails.raise_if_any()

    category = np.full(len(raw), None, dtype=object)
    for label, members in reversed(CATEGORY_LABELS.items()):
        hit = np.logical_or.reduce([flags[f] for f in members]) & sanctioned
        category[hit] = label
    out = pd.DataFrame({
        "hs6": code.astype(STR),
        "hs_version": pd.Series([hs_version] * len(raw), dtype=STR),
        "sanctioned": sanctioned.astype(bool),
        "date": date.to_numpy(),
        "winddown_date": wind.to_numpy(),
        "category": pd.Series(category, dtype=STR),
        "partially_exempt": exempt.astype(bool),
        "max_price": price.astype("float64").to_numpy(),
        **{f: v.astype(bool) for f, v in flags.items()},
    })
    out.attrs.update({"source": SOURCE_NAME, "hs_version": hs_version,
                      "rows": len(out), "sanctioned": int(sanctioned.sum())})
    return out


def read_eu_sanctioned_hs6(path: str | Path, *, hs_version: str = HS_VERSION
                           ) -> pd.DataFrame:
    """Read the Chupilkin et al. EU sanctions list at HS6 (``.dta`` or ``.csv``).

    Parameters
    ----------
    path : str or Path
        ``EU_sanctions_HS6.dta`` (read with ``pandas.read_stata``) or its CSV export.
    hs_version : str, default "HS2017"
        Nomenclature of the codes (the published file is HS 2017).

    Returns
    -------
    DataFrame
        One row per HS6 code: ``hs6``, ``hs_version``, ``sanctioned``, ``date``,
        ``winddown_date``, ``category``, ``partially_exempt``, ``max_price`` and the
        flags ``aviation``, ``dual_use``, ``firearms``, ``industrial_cap``, ``luxury``,
        ``military_tech``, ``oil_exploration``, ``oil_refining``. ``attrs`` holds the
        source citation, file name and counts.

    Raises
    ------
    SourceFormatError
        Missing or unreadable file, unsupported extension, missing column.
    DataError, SchemaViolation
        Bad cells (see the module docstring), all listed.
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise SourceFormatError("file not found", source=source, remedy=_REMEDY)
    suffix = path.suffix.lower()
    if suffix == ".dta":
        try:
            raw = pd.read_stata(path, convert_categoricals=False)
        except (ValueError, OSError, zipfile.BadZipFile) as err:
            raise SourceFormatError(f"not a readable Stata file ({err})", source=source,
                                    remedy=_REMEDY) from None
        rows = np.arange(1, len(raw) + 1)
    elif suffix == ".csv":
        try:
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except (ValueError, OSError, pd.errors.ParserError) as err:
            raise SourceFormatError(f"not a readable CSV file ({err})", source=source,
                                    remedy=_REMEDY) from None
        raw.columns = [str(c).strip() for c in raw.columns]
        rows = np.arange(2, len(raw) + 2)
    else:
        raise SourceFormatError(f"unsupported file type {suffix!r}", source=source,
                                remedy="give the .dta or the .csv export")
    if raw.empty:
        raise SourceFormatError("file has no rows", source=source, remedy=_REMEDY)
    out = parse_eu_sanctions_frame(raw, source=source, rows=rows, hs_version=hs_version)
    out.attrs["source_file"] = path.name
    return out
