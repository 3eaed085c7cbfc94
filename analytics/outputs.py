"""Writing result tables to CSV, Excel or Parquet, chosen by the file's extension.

:func:`write_table` is the one writer behind the batch commands (``chokepoint score``,
``routes``, ``chokepoints``): the extension picks the format, the write is atomic (a
temporary file in the target folder, then a rename, so a reader never sees half a file)
and an optional ``about`` mapping (provenance, coalition, year, configuration, the
"synthetic demo data" label) travels with the table:

========  ==========================================================================
format    where ``about`` goes
========  ==========================================================================
.xlsx     a second sheet ``about`` (columns ``key``, ``value``)
.parquet  the file's key-value metadata, key ``chokepoint.about`` (JSON)
.csv      a sidecar file ``<name>.about.csv`` (columns ``key``, ``value``)
========  ==========================================================================

>>> import tempfile, pandas as pd
>>> tmp = tempfile.TemporaryDirectory()
>>> p = write_table(pd.DataFrame({"a": [1, 2]}), Path(tmp.name) / "t.csv")
>>> p.name, pd.read_csv(p)["a"].tolist()
('t.csv', [1, 2])
>>> write_table(pd.DataFrame({"a": [1]}), Path(tmp.name) / "t.txt")
Traceback (most recent call last):
...
analytics.errors.ConfigError: cannot write t.txt: unknown extension '.txt'; use one of .csv, .xlsx, .parquet
>>> tmp.cleanup()
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analytics.errors import ConfigError

__all__ = ["FORMATS", "table_format", "write_table", "read_about", "atomic_write",
           "atomic_write_bytes"]

#: extension -> format name
FORMATS = {".csv": "csv", ".xlsx": "excel", ".parquet": "parquet"}
ABOUT_SHEET = "about"
ABOUT_KEY = b"chokepoint.about"
_EXCEL_MAX_ROWS = 1_048_575  # one row is the header
_EXCEL_MAX_CELL = 32_767


def table_format(path: str | os.PathLike) -> str:
    """The format written for ``path`` ("csv", "excel" or "parquet").

    Raises
    ------
    ConfigError
        Unknown extension (the message lists the known ones).
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in FORMATS:
        raise ConfigError(
            f"cannot write {path.name}: unknown extension {path.suffix or '(none)'!r}; "
            f"use one of {', '.join(FORMATS)}")
    return FORMATS[ext]


def atomic_write(path: str | os.PathLike, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp)`` on a temporary path beside ``path``, then rename it to ``path``.

    The folder is created when missing. On any error the temporary file is removed and
    ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp creates 0600
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda p: p.write_bytes(data))


def _about_frame(about: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    for k, v in about.items():
        if isinstance(v, list | tuple | set):
            v = "; ".join(map(str, v))
        elif isinstance(v, Mapping):
            v = json.dumps(v, default=str, ensure_ascii=False)
        rows.append((str(k), "" if v is None else str(v)))
    return pd.DataFrame(rows, columns=["key", "value"])


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells Excel and Parquet accept: tuples/lists/dicts become text."""
    out = frame.copy()
    out.attrs = {}  # pyarrow would try to store them as JSON
    for col in out.columns:
        s = out[col]
        if s.dtype == object:
            nested = s.map(lambda v: isinstance(v, list | tuple | set | dict | np.ndarray))
            if nested.any():
                out[col] = s.map(lambda v: " > ".join(map(str, v))
                                 if isinstance(v, list | tuple | np.ndarray)
                                 else json.dumps(v, default=str) if isinstance(v, dict)
                                 else v)
    return out


def write_table(frame: pd.DataFrame, path: str | os.PathLike, *,
                about: Mapping[str, Any] | None = None, sheet_name: str = "data") -> Path:
    """Write ``frame`` (without its index) to ``path`` in the format of its extension.

    Parameters
    ----------
    frame : DataFrame
    path : path-like
        ``.csv``, ``.xlsx`` or ``.parquet``; the folder is created when missing.
    about : mapping, optional
        Key -> value lines describing the table (see the module docstring for where they
        go in each format).
    sheet_name : str
        Name of the data sheet in Excel files.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ConfigError
        Unknown extension, or a table too large for one Excel sheet.
    """
    path = Path(path)
    fmt = table_format(path)
    table = _plain(frame.reset_index(drop=True))
    if fmt == "csv":
        atomic_write(path, lambda p: table.to_csv(p, index=False))
        if about is not None:
            side = path.with_name(path.stem + ".about.csv")
            atomic_write(side, lambda p: _about_frame(about).to_csv(p, index=False))
    elif fmt == "excel":
        if len(table) > _EXCEL_MAX_ROWS:
            raise ConfigError(f"cannot write {path.name}: {len(table):,} rows exceed one "
                              f"Excel sheet ({_EXCEL_MAX_ROWS:,}); write .parquet or .csv")

        def _excel(p: Path) -> None:
            with pd.ExcelWriter(p, engine="openpyxl") as xw:
                cut = table.copy()
                for col in cut.columns:  # Excel truncates longer cells with an error
                    if cut[col].dtype == object or pd.api.types.is_string_dtype(cut[col]):
                        cut[col] = cut[col].map(
                            lambda v: v[:_EXCEL_MAX_CELL] if isinstance(v, str) else v)
                cut.to_excel(xw, sheet_name=sheet_name, index=False)
                if about is not None:
                    _about_frame(about).to_excel(xw, sheet_name=ABOUT_SHEET, index=False)
                _fit_columns(xw)

        atomic_write(path, _excel)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        def _parquet(p: Path) -> None:
            t = pa.Table.from_pandas(table, preserve_index=False)
            if about is not None:
                meta = dict(t.schema.metadata or {})
                af = _about_frame(about)
                meta[ABOUT_KEY] = json.dumps(dict(zip(af["key"], af["value"], strict=True)),
                                             ensure_ascii=False).encode()
                t = t.replace_schema_metadata(meta)
            pq.write_table(t, p)

        atomic_write(path, _parquet)
    return path


def _fit_columns(xw: pd.ExcelWriter) -> None:
    """Readable column widths (capped) in every sheet of an openpyxl writer."""
    for ws in xw.book.worksheets:
        for cells in ws.iter_cols(min_row=1, max_row=min(ws.max_row, 200)):
            width = max((len(str(c.value)) for c in cells if c.value is not None), default=8)
            ws.column_dimensions[cells[0].column_letter].width = min(max(width + 2, 8), 60)
        ws.freeze_panes = "A2"


def read_about(path: str | os.PathLike) -> dict[str, str]:
    """The ``about`` lines written with a table by :func:`write_table` ({} when none)."""
    path = Path(path)
    fmt = table_format(path)
    if fmt == "excel":
        try:
            about = pd.read_excel(path, sheet_name=ABOUT_SHEET, dtype=str)
        except ValueError:  # no such sheet
            return {}
    elif fmt == "csv":
        side = path.with_name(path.stem + ".about.csv")
        if not side.exists():
            return {}
        about = pd.read_csv(side, dtype=str, keep_default_na=False)
    else:
        import pyarrow.parquet as pq

        meta = pq.read_schema(path).metadata or {}
        return json.loads(meta[ABOUT_KEY]) if ABOUT_KEY in meta else {}
    about = about.fillna("")
    return dict(zip(about["key"], about["value"], strict=True))
