"""Reader and streaming ingester for CEPII BACI releases.

A BACI release is a zip ``BACI_HS17_V202601.zip`` holding one CSV per year
(``BACI_HS17_Y2022_V202601.csv``, columns ``t,i,j,k,v,q``), the release's country table
(``country_codes_V202601.csv``: ``country_code,country_name,country_iso2,country_iso3``)
and product table (``product_codes_HS17_V202601.csv``). The readers accept the zip, a
folder of the extracted CSVs, or one year's CSV with the country table beside it.

Conversion (one DuckDB query per year, streamed from the CSV to Parquet)
-------------------------------------------------------------------------
* ``t`` -> ``year``; ``i``, ``j`` -> ``exporter``, ``importer`` through **the release's own
  country table** (BACI codes are Comtrade codes, not ISO numeric: 251 France, 699 India,
  842 USA; 490 "Other Asia, nes", iso3 ``S19``, is Taiwan -> ``TWN``; historical codes
  such as 58 Belgium-Luxembourg keep their own iso3);
* ``k`` -> ``hs6``, zero-padded to six digits (``10121`` -> ``"010121"``);
* ``v`` (thousand USD) x 1000 -> ``value_usd``; ``q`` (tonnes) -> ``quantity``, missing
  when ``NA`` or blank (also when padded with spaces, as some releases write it);
* the HS version comes from the file name (``HS17`` -> ``HS2017``) and becomes the store's.

By default only the HS6 codes of the reference categories are kept (``category_hs``
mapped to the file's HS version with :func:`analytics.reference.map_category_hs`, HS2/HS4
prefixes included); ``categories=`` restricts to some categories, ``all_hs6=True`` keeps
every code.

Bad input
---------
Every row is checked in the same parallel DuckDB pass that writes the Parquet file: a
malformed line or a non-number (DuckDB's CSV rejects, with exact line numbers), a year
other than the file's, an unknown country code, exporter = importer, a code that is not
HS6, a missing, non-finite or negative value, a bad quantity. Duplicate keys (the same
``t,i,j,k`` twice, or two codes of one country) are screened on the written file by a
parallel count of distinct key hashes (an exact ``GROUP BY`` only when it finds fewer).
When a check fires, a diagnostic pass collects every offending row with its CSV line
number (header = line 1); the fast path never needs it on good input.
Strict mode raises one error of :mod:`analytics.errors` naming the file, line, value and
remedy (:class:`~analytics.errors.UnknownCountry` for unknown codes,
:class:`~analytics.errors.SourceFormatError` for a truncated zip, a wrong header or a
malformed line, :class:`~analytics.errors.HSVersionError` for mixed HS versions,
:class:`~analytics.errors.DataError` / :class:`~analytics.errors.SchemaViolation`
otherwise); ``lenient=True`` drops the rows (every row of a duplicated key) and counts them
per reason in the ingest report and the store's provenance.

Store updates are atomic per year: each year is converted in a staging folder of the store
(:func:`analytics.store.staging_dir`) and committed at once with
:func:`analytics.store.update_flow_files`, which switches the store to a new snapshot. A
failure leaves the store as the last commit left it: the years committed before it stay,
with their provenance, and ``resume=True`` (``--resume``) continues with the others. The
staging folder of a killed ingest is removed by the next write to the store.

Categories whose codes the release cannot deliver are never dropped silently: codes absent
from the release's product table (e.g. HS2022 codes in an HS2012 release) and HS mapping
steps without a concordance (:func:`analytics.reference.map_category_hs`) each give a
warning and are listed under ``unmapped_codes`` / ``concordance_gaps`` in the ingest report
and the store's provenance.

Licence: CEPII BACI is distributed under the Etalab Open Licence 2.0; cite Gaulier, G. and
Zignago, S. (2010), "BACI: International Trade Database at the Product-Level. The 1994-2007
Version", CEPII Working Paper 2010-23.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import functools
import hashlib
import io
import os
import re
import tempfile
import time
import warnings
import zipfile
import zlib
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from analytics.errors import (
    ChokepointError,
    DataError,
    HSVersionError,
    SourceFormatError,
    StoreError,
)
from analytics.ingest import (
    IngestReport,
    Problems,
    connect,
    progress_bar,
    reference_tables,
    run_with_progress,
)
from analytics.schemas import Flows, validate

__all__ = [
    "BACI_HS",
    "BaciFile",
    "BaciRelease",
    "scan_baci",
    "read_baci_countries",
    "read_baci_products",
    "read_baci",
    "ingest_baci",
    "baci_hs_version",
    "SOURCE",
    "LICENCE",
]

SOURCE = "CEPII BACI"
LICENCE = "Etalab Open Licence 2.0"
CITATION = ("Gaulier, G. and Zignago, S. (2010), BACI: International Trade Database at the "
            "Product-Level. The 1994-2007 Version. CEPII Working Paper 2010-23")
URL = "https://www.cepii.fr/CEPII/en/bdd_modele/bdd_modele_item.asp?id=37"
UNITS = ("value_usd = BACI v (thousand current USD) x 1000; quantity = BACI q (metric "
         "tonnes), missing when NA")

#: BACI nomenclature tag -> HS version
BACI_HS = {"HS92": "HS1992", "HS96": "HS1996", "HS02": "HS2002", "HS07": "HS2007",
           "HS12": "HS2012", "HS17": "HS2017", "HS22": "HS2022"}

HEADER = ("t", "i", "j", "k", "v", "q")
_REL = r"(V\d{6}[A-Za-z]?)"
_DATA_RE = re.compile(rf"^BACI_(HS\d\d)_Y(\d{{4}})_{_REL}\.csv$", re.IGNORECASE)
_ZIP_RE = re.compile(rf"^BACI_(HS\d\d)_{_REL}\.zip$", re.IGNORECASE)
_COUNTRY_RE = re.compile(rf"^country_codes_{_REL}\.csv$", re.IGNORECASE)
_PRODUCT_RE = re.compile(rf"^product_codes_(HS\d\d)_{_REL}\.csv$", re.IGNORECASE)
_TAIWAN = {"S19": "TWN"}  # BACI's pseudo iso3 for 490 "Other Asia, nes"
_FETCH_HINT = ("download the release again (`chokepoint fetch baci --release V202601 --hs "
               "HS17` resumes and verifies the archive)")
_COLUMNS_SQL = ("{'t': 'INTEGER', 'i': 'INTEGER', 'j': 'INTEGER', 'k': 'INTEGER', "
                "'v': 'DOUBLE', 'q': 'VARCHAR'}")


def baci_hs_version(tag: str) -> str:
    """HS version of a BACI nomenclature tag.

    >>> baci_hs_version("HS17"), baci_hs_version("hs92")
    ('HS2017', 'HS1992')
    """
    try:
        return BACI_HS[tag.upper()]
    except KeyError:
        raise HSVersionError(f"unknown BACI nomenclature {tag!r}", value=tag,
                             remedy=f"BACI files are {', '.join(BACI_HS)}") from None


# ---------------------------------------------------------------------------------------
# locating the files of a release
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    """A file of a release: on disk (``path``) or a member of ``archive``."""

    name: str
    path: Path | None = None
    archive: Path | None = None
    member: str | None = None
    size: int = 0
    crc32: int | None = None

    @property
    def label(self) -> str:
        return f"{self.archive.name}:{self.member}" if self.archive else str(self.path)

    def read_bytes(self) -> bytes:
        if self.path is not None:
            return self.path.read_bytes()
        try:
            with zipfile.ZipFile(self.archive) as zf:
                return zf.read(self.member)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
            raise SourceFormatError(f"archive member is damaged ({err})", source=self.label,
                                    remedy=_FETCH_HINT) from err


@dataclass(frozen=True)
class BaciFile(_Part):
    """One year's trade file of a release."""

    year: int = 0
    hs: str = ""
    release: str = ""

    @property
    def hs_version(self) -> str:
        return baci_hs_version(self.hs)


@dataclass(frozen=True)
class BaciRelease:
    """The files of a BACI release found at a path (see :func:`scan_baci`)."""

    source: Path
    kind: str  # "zip", "folder" or "csv"
    release: str
    hs: str
    files: tuple[BaciFile, ...]
    country_file: _Part
    product_file: _Part | None = None

    @property
    def hs_version(self) -> str:
        return baci_hs_version(self.hs)

    @property
    def years(self) -> list[int]:
        return [f.year for f in self.files]

    @property
    def name(self) -> str:
        return f"BACI {self.hs} {self.release}"


def _data_file(name: str, **where) -> BaciFile | None:
    m = _DATA_RE.match(Path(name).name)
    if not m:
        return None
    hs, year, release = m.group(1).upper(), int(m.group(2)), m.group(3)
    if hs not in BACI_HS:
        raise HSVersionError(f"unknown BACI nomenclature {hs!r} in the file name",
                             source=name, remedy=f"BACI files are {', '.join(BACI_HS)}")
    return BaciFile(name=Path(name).name, year=year, hs=hs, release=release, **where)


def _one_release(files: list[BaciFile], where: str) -> tuple[str, str]:
    hss = sorted({f.hs for f in files})
    if len(hss) > 1:
        a = next(f for f in files if f.hs == hss[0])
        b = next(f for f in files if f.hs == hss[1])
        raise HSVersionError(
            f"mixed HS versions: {a.name} is {baci_hs_version(a.hs)} but {b.name} is "
            f"{baci_hs_version(b.hs)}", source=where,
            remedy="ingest one BACI nomenclature at a time (one folder per HSxx release); "
                   "a store holds one HS version")
    releases = sorted({f.release for f in files})
    if len(releases) > 1:
        raise SourceFormatError(
            f"files of several BACI releases ({', '.join(releases)})", source=where,
            remedy="keep one release per folder (each release has its own country table)")
    years = [f.year for f in files]
    dup = sorted({y for y in years if years.count(y) > 1})
    if dup:
        raise SourceFormatError(f"several files for year(s) {dup}", source=where,
                                remedy="keep one file per year")
    return hss[0], releases[0]


def _pick(parts: list[_Part], regex: re.Pattern, release: str, what: str, where: str,
          required: bool) -> _Part | None:
    found = [p for p in parts if regex.match(p.name)]
    same = [p for p in found if regex.match(p.name).groups()[-1].upper() == release.upper()]
    if len(same) == 1:
        return same[0]
    if len(found) == 1 and not same:
        return found[0]
    if not required:
        return None
    if not found:
        raise SourceFormatError(
            f"no {what} file ({what}_{release}.csv)", source=where,
            remedy=f"BACI codes are mapped through the release's own {what} table: put "
                   f"{what}_{release}.csv from the same release beside the data")
    raise SourceFormatError(
        f"several {what} files ({', '.join(sorted(p.name for p in found))})", source=where,
        remedy=f"keep only {what}_{release}.csv beside the data")


def scan_baci(path: str | os.PathLike) -> BaciRelease:
    """Find the yearly files, country table and product table of a BACI release.

    Parameters
    ----------
    path : path-like
        A release zip (``BACI_HS17_V202601.zip``), a folder of extracted CSVs (or holding
        one release zip), or one ``BACI_HSxx_Yyyyy_Vxxxxxx.csv`` with
        ``country_codes_Vxxxxxx.csv`` beside it.

    Raises
    ------
    SourceFormatError
        Nothing BACI-like at ``path``, a truncated or damaged zip, no country table.
    HSVersionError
        Files of several HS versions.
    """
    src = Path(path).expanduser()
    if src.is_dir():
        return _scan_folder(src)
    if not src.is_file():
        raise SourceFormatError("no such file or folder", source=str(src),
                                remedy="give a BACI release zip (BACI_HS17_V202601.zip), a "
                                       "folder of its CSVs, or one BACI_HSxx_Yyyyy_V*.csv")
    if src.suffix.lower() == ".zip" or zipfile.is_zipfile(src):
        return _scan_zip(src)
    bf = _data_file(src.name, path=src, size=src.stat().st_size)
    if bf is None:
        raise SourceFormatError(
            "not a BACI file name", source=str(src), value=src.name,
            remedy="BACI yearly files are named BACI_HSxx_Yyyyy_Vxxxxxx.csv (the year, HS "
                   "version and release are read from the name); rename the file")
    beside = [_Part(name=p.name, path=p, size=p.stat().st_size)
              for p in sorted(src.parent.glob("*.csv"))]
    country = _pick(beside, _COUNTRY_RE, bf.release, "country_codes", str(src), True)
    product = _pick(beside, _PRODUCT_RE, bf.release, "product_codes", str(src), False)
    return BaciRelease(src, "csv", bf.release, bf.hs, (bf,), country, product)


def _scan_folder(src: Path) -> BaciRelease:
    csvs = sorted(p for p in src.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
    files = [f for p in csvs if (f := _data_file(p.name, path=p, size=p.stat().st_size))]
    if not files:
        zips = sorted(p for p in src.iterdir() if p.is_file() and _ZIP_RE.match(p.name))
        if len(zips) == 1:
            return _scan_zip(zips[0])
        if len(zips) > 1:
            tags = {_ZIP_RE.match(z.name).group(1).upper() for z in zips}
            err = HSVersionError if len(tags) > 1 else SourceFormatError
            raise err(f"several BACI archives ({', '.join(z.name for z in zips)})",
                      source=str(src), remedy="give one archive path")
        raise SourceFormatError(
            "no BACI files (BACI_HSxx_Yyyyy_Vxxxxxx.csv or BACI_HSxx_Vxxxxxx.zip)",
            source=str(src), remedy="give the folder of an extracted BACI release")
    hs, release = _one_release(files, str(src))
    parts = [_Part(name=p.name, path=p, size=p.stat().st_size) for p in csvs]
    country = _pick(parts, _COUNTRY_RE, release, "country_codes", str(src), True)
    product = _pick(parts, _PRODUCT_RE, release, "product_codes", str(src), False)
    return BaciRelease(src, "folder", release, hs, tuple(sorted(files, key=lambda f: f.year)),
                       country, product)


def _scan_zip(src: Path) -> BaciRelease:
    try:
        with zipfile.ZipFile(src) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError) as err:
        raise SourceFormatError(
            f"not a readable zip archive: truncated or damaged ({err})", source=str(src),
            remedy=_FETCH_HINT) from err
    files, parts = [], []
    for info in infos:
        base = Path(info.filename).name
        where = {"archive": src, "member": info.filename, "size": info.file_size,
                 "crc32": info.CRC}
        parts.append(_Part(name=base, **where))
        if (f := _data_file(base, **where)) is not None:
            files.append(f)
    if not files:
        raise SourceFormatError("the archive holds no BACI_HSxx_Yyyyy_Vxxxxxx.csv file",
                                source=str(src), remedy="give a CEPII BACI release zip")
    hs, release = _one_release(files, str(src))
    m = _ZIP_RE.match(src.name)
    if m and m.group(1).upper() != hs:
        raise HSVersionError(f"the archive is named {m.group(1)} but holds {hs} files",
                             source=str(src), remedy="check the archive")
    country = _pick(parts, _COUNTRY_RE, release, "country_codes", str(src), True)
    product = _pick(parts, _PRODUCT_RE, release, "product_codes", str(src), False)
    return BaciRelease(src, "zip", release, hs, tuple(sorted(files, key=lambda f: f.year)),
                       country, product)


# ---------------------------------------------------------------------------------------
# country and product tables of a release
# ---------------------------------------------------------------------------------------

_CODE_COLS = ("country_code",)
_ISO3_COLS = ("country_iso3", "iso_3digit_alpha")  # current, and releases before 2023
_NAME_COLS = ("country_name", "country_name_abbreviation", "country_name_full")


def _read_small_csv(part: _Part) -> pd.DataFrame:
    raw = part.read_bytes()
    text = None
    for enc in ("utf-8-sig", "latin-1"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise SourceFormatError(f"cannot be read as CSV ({err})", source=part.label,
                                remedy=f"use the file of the BACI release; {_FETCH_HINT}"
                                ) from err


def read_baci_countries(release: BaciRelease) -> pd.DataFrame:
    """The release's country table, mapped to the project's ISO3 codes.

    Returns columns ``code`` (int), ``name``, ``iso3_file`` (as written by CEPII) and
    ``iso3`` (the project's code, or missing when the code cannot be mapped: such codes
    are "unknown" when a flow uses them). ``S19`` (490, "Other Asia, nes") becomes ``TWN``;
    a code whose iso3 is not in the countries table is looked up in
    :func:`analytics.reference.trade_codes`.

    Raises
    ------
    SourceFormatError
        Missing columns, a non-integer or duplicated code.
    """
    from analytics import reference

    part = release.country_file
    frame = _read_small_csv(part)
    cols = {c.strip().lower(): c for c in frame.columns}
    code_col = next((cols[c] for c in _CODE_COLS if c in cols), None)
    iso_col = next((cols[c] for c in _ISO3_COLS if c in cols), None)
    name_col = next((cols[c] for c in _NAME_COLS if c in cols), None)
    if code_col is None or iso_col is None:
        raise SourceFormatError(
            "wrong header", source=part.label, row=1, value=",".join(frame.columns),
            remedy="expected the BACI country table columns country_code,country_name,"
                   "country_iso2,country_iso3")
    codes = pd.to_numeric(frame[code_col].str.strip(), errors="coerce")
    bad = codes.isna() | (codes != codes.round())
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise SourceFormatError("country code is not an integer", source=part.label,
                                row=i + 2, column=code_col, value=frame[code_col].iloc[i],
                                remedy="use the country table of the BACI release")
    dup = codes.duplicated()
    if dup.any():
        i = int(dup.to_numpy().nonzero()[0][0])
        raise SourceFormatError("duplicated country code", source=part.label, row=i + 2,
                                column=code_col, value=frame[code_col].iloc[i],
                                remedy="use the country table of the BACI release")
    known = set(reference.countries()["iso3"])
    trade = reference.trade_codes().set_index("code")["iso3"]
    iso_file = frame[iso_col].str.strip().str.upper()
    out = []
    for code, iso in zip(codes.astype(int), iso_file, strict=True):
        mapped = _TAIWAN.get(iso, iso)
        if mapped not in known:
            alt = trade.get(code)
            mapped = alt if isinstance(alt, str) and alt in known else None
        out.append(mapped)
    return pd.DataFrame({
        "code": codes.astype("int64"),
        "name": frame[name_col].str.strip() if name_col else "",
        "iso3_file": iso_file,
        "iso3": pd.array(out, dtype="string"),
    })


def read_baci_products(release: BaciRelease) -> list[str] | None:
    """Six-digit codes of the release's product table (None when it has none)."""
    part = release.product_file
    if part is None:
        return None
    frame = _read_small_csv(part)
    col = next((c for c in frame.columns if c.strip().lower() == "code"), None)
    if col is None:
        return None
    codes = frame[col].str.strip().str.zfill(6)
    return sorted(set(codes[codes.str.fullmatch(r"\d{6}")]))


# ---------------------------------------------------------------------------------------
# which HS6 codes to keep
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Selection:
    mode: str  # "all", "categories" or "codes"
    categories: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    #: code or prefix -> the categories that want it (mode "categories")
    members: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: steps of the HS mapping that no concordance row covers (see map_category_hs)
    gaps: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = ()

    def describe(self) -> dict:
        out: dict[str, Any] = {"mode": self.mode}
        if self.mode == "categories":
            out["categories"] = list(self.categories)
        if self.mode != "all":
            out["hs6_codes"] = len(self.codes)
            if self.prefixes:
                out["prefixes"] = list(self.prefixes)
        out["fingerprint"] = self.fingerprint()
        return out

    def fingerprint(self) -> str:
        text = "|".join([self.mode, ",".join(self.codes), ",".join(self.prefixes)])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def wanted(self, products: list[str] | None) -> list[str] | None:
        """Codes to map (None: every code, mapped as text)."""
        if self.mode == "all":
            return products
        out = set(self.codes)
        for p in self.prefixes:
            if products is not None:
                out.update(c for c in products if c.startswith(p))
            else:
                width = 6 - len(p)
                out.update(f"{p}{n:0{width}d}" for n in range(10 ** width))
        return sorted(c for c in out if c >= "010000")


def _selection(hs_version: str, *, categories: Sequence[str] | None = None,
               all_hs6: bool = False, hs6: Iterable[str] | None = None) -> _Selection:
    from analytics import reference

    if all_hs6:
        if categories:
            raise DataError("choose either categories or all_hs6, not both",
                            remedy="pass --categories ID ... or --all-hs6")
        return _Selection("all")
    if hs6 is not None:
        codes = []
        for c in ([hs6] if isinstance(hs6, (str, int)) else hs6):
            s = f"{int(c):06d}" if isinstance(c, int) else str(c).strip()
            if not re.fullmatch(r"\d{6}", s):
                raise DataError("hs6 filter values are six-digit codes", value=c,
                                remedy="pass e.g. hs6=['854231', '850511']")
            codes.append(s)
        return _Selection("codes", codes=tuple(sorted(set(codes))))
    table = reference.category_hs()
    cats = sorted(set(table["category_id"])) if not categories else list(categories)
    reference.check_categories(cats)
    members, gaps = _category_codes(hs_version, tuple(sorted(set(cats))))
    hs = [c for c, _ in members]
    return _Selection("categories", categories=tuple(sorted(set(cats))),
                      codes=tuple(c for c in hs if len(c) == 6),
                      prefixes=tuple(c for c in hs if len(c) < 6),
                      members=members, gaps=gaps)


@functools.lru_cache(maxsize=64)
def _category_codes(hs_version: str, categories: tuple[str, ...]) -> tuple[tuple, tuple]:
    """Codes (and prefixes) of the categories in ``hs_version`` with the categories that
    want each, and the uncovered steps of the mapping (cached; warnings are the
    ingester's, once per ingest)."""
    from analytics import reference

    table = reference.category_hs()
    mapped = reference.map_category_hs(table[table["category_id"].isin(categories)],
                                       hs_version, warn=False)
    members = tuple((code, tuple(sorted(set(grp)))) for code, grp in
                    mapped.groupby("hs6", sort=True)["category_id"])
    gaps = tuple((g["from_version"], g["to_version"], tuple(g["categories"]),
                  tuple(g["codes"])) for g in mapped.attrs.get("concordance_gaps", []))
    return members, gaps


def _coverage(selection: _Selection, products: list[str] | None, *, hs_version: str,
              where: str, product_file: str | None) -> dict:
    """Category codes this release cannot deliver, with a warning for each kind.

    Returns ``{"unmapped_codes": {category: [codes]}, "concordance_gaps": [...]}`` (empty
    when every wanted code is in the release's product table and every mapping step is
    covered by the concordance).
    """
    from analytics import reference

    out: dict[str, Any] = {}
    if selection.gaps:
        gaps = [{"from_version": a, "to_version": b, "categories": list(c), "codes": list(k)}
                for a, b, c, k in selection.gaps]
        out["concordance_gaps"] = gaps
        warnings.warn(f"{where}: {reference.describe_concordance_gaps(gaps)}", stacklevel=3)
    if products is None or selection.mode == "all":
        return out
    have = set(products)
    wanted = selection.members if selection.mode == "categories" else tuple(
        (c, ("hs6 filter",)) for c in selection.codes)
    missing: dict[str, list[str]] = {}
    for code, cats in wanted:
        absent = code not in have if len(code) == 6 else not any(
            c.startswith(code) for c in products)
        if absent:
            for cat in cats:
                missing.setdefault(cat, []).append(code)
    if not missing:
        return out
    out["unmapped_codes"] = {c: sorted(v) for c, v in sorted(missing.items())}
    codes = sorted({c for v in missing.values() for c in v})
    shown = "; ".join(f"{cat}: {', '.join(v[:8])}" + (f" ... ({len(v)})" if len(v) > 8
                                                      else "")
                      for cat, v in list(out["unmapped_codes"].items())[:10])
    more = f"; ... ({len(missing)} categories)" if len(missing) > 10 else ""
    warnings.warn(
        f"{where}: {len(codes)} HS code(s) wanted by {len(missing)} categor"
        f"{'y' if len(missing) == 1 else 'ies'} are not in the release's product table "
        f"{product_file} ({hs_version}), so no flows are kept for them ({shown}{more}). "
        f"Remedy: codes of another HS version need concordance rows down to {hs_version} "
        "(with their source) in data/reference/hs_concordance.csv, or a BACI release in "
        "the categories' HS version (HS17/HS22); an incomplete product table must be "
        "replaced by the release's own. The codes are listed under 'unmapped_codes' in the "
        "ingest report and the store's provenance",
        stacklevel=3)
    return out


# ---------------------------------------------------------------------------------------
# the DuckDB conversion of one year
# ---------------------------------------------------------------------------------------


def _lit(text: str | Path) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _header(path: Path, label: str) -> None:
    """Check the first line is exactly ``t,i,j,k,v,q``."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline(4096)
    except OSError as err:
        raise SourceFormatError(f"cannot be read ({err})", source=label) from err
    line = first.decode("utf-8-sig", errors="replace").rstrip("\r\n")
    try:
        cols = next(csv.reader([line]))
    except (csv.Error, StopIteration):
        cols = []
    if tuple(c.strip().strip('"').lower() for c in cols) != HEADER:
        raise SourceFormatError(
            "wrong header (expected t,i,j,k,v,q)", source=label, row=1, value=line[:200],
            remedy="a BACI yearly file starts with the line t,i,j,k,v,q; check that this is "
                   f"an unmodified BACI file, or {_FETCH_HINT}")


class _Context:
    """DuckDB connection with the country and product mapping tables of one ingest."""

    def __init__(self, con, countries: pd.DataFrame, wanted: list[str] | None,
                 mode: str) -> None:
        self.con = con
        self.mode = mode  # selection mode
        self._n = 0
        # The CSV scan has no cardinality estimate (auto_detect off), so DuckDB would build
        # its hash tables on the 10M-row side: keep the written join order (small tables
        # as the build side) and memory stays at a few hundred MB.
        con.execute("SET disabled_optimizers = 'join_order,build_side_probe_side'")
        ok = countries[countries["iso3"].notna()]
        # codes of the release's table that map to no project country (shown in errors)
        self.unmapped = {int(c): str(i) for c, i in zip(
            countries.loc[countries["iso3"].isna(), "code"],
            countries.loc[countries["iso3"].isna(), "iso3_file"], strict=True)}
        con.register("_cc_in", pd.DataFrame({"code": ok["code"].astype("int32"),
                                             "iso3": ok["iso3"].astype(str)}))
        con.execute("CREATE TYPE iso3_t AS ENUM (SELECT DISTINCT iso3 FROM _cc_in "
                    "ORDER BY iso3)")
        con.execute("CREATE TABLE cc AS SELECT code, CAST(iso3 AS iso3_t) AS iso3 FROM _cc_in")
        con.unregister("_cc_in")
        # codes sharing an iso3 (e.g. 56 Belgium, 58 Belgium-Luxembourg) get one key code
        canon = ok.groupby("iso3")["code"].transform("min")
        self.shared = {int(c): int(k) for c, k in zip(ok["code"], canon, strict=True)
                       if c != k}
        # packed key (i, j, k) -> one BIGINT: codes have at most 3 digits in BACI
        top = int(ok["code"].max()) if len(ok) else 0
        self.base = max(1000, 10 ** len(str(max(top, 0))))
        self.hs6_text = wanted is None
        if wanted is not None:
            con.register("_pk_in", pd.DataFrame({"k": [int(c) for c in wanted],
                                                 "hs6": wanted}))
            con.execute("CREATE TYPE hs6_t AS ENUM (SELECT hs6 FROM _pk_in ORDER BY hs6)")
            con.execute("CREATE TABLE pk AS SELECT CAST(k AS INTEGER) AS k, "
                        "CAST(hs6 AS hs6_t) AS hs6 FROM _pk_in")
            con.unregister("_pk_in")

    def names(self) -> tuple[str, str]:
        self._n += 1
        return f"rejects_{self._n}", f"rejects_scan_{self._n}"

    def key(self) -> str:
        """SQL of the packed key of (exporter, importer, product)."""
        return f"({self.canon('i')} * {self.base} + {self.canon('j')}) * 1000000 + k"

    def canon(self, col: str) -> str:
        if not self.shared:
            return f"CAST({col} AS BIGINT)"
        whens = " ".join(f"WHEN {c} THEN {k}" for c, k in sorted(self.shared.items()))
        return f"CAST(CASE {col} {whens} ELSE {col} END AS BIGINT)"


def _read_sql(csv_path: Path, rejects: tuple[str, str]) -> str:
    return (f"read_csv({_lit(csv_path)}, header = true, auto_detect = false, delim = ',', "
            f"quote = '\"', escape = '\"', columns = {_COLUMNS_SQL}, "
            f"store_rejects = true, rejects_table = {_lit(rejects[0])}, "
            f"rejects_scan = {_lit(rejects[1])})")


def _bad_sql(year: int) -> str:
    """TRUE for a row that fails a check (over r = scanned row, e/m = country joins)."""
    return (f"(r.t IS DISTINCT FROM {int(year)} OR e.iso3 IS NULL OR m.iso3 IS NULL "
            "OR e.iso3 = m.iso3 OR r.k IS NULL OR r.k < 10000 OR r.k > 999999 "
            "OR r.v IS NULL OR NOT isfinite(r.v) OR r.v < 0 "
            "OR (r.q IS NOT NULL AND ((r.qd IS NULL AND trim(r.q) NOT IN ('NA', '')) "
            "OR r.qd < 0 OR NOT isfinite(r.qd))))")


def _reason_sql(year: int) -> str:
    return f"""CASE
        WHEN r.t IS DISTINCT FROM {int(year)} THEN 'year_mismatch'
        WHEN e.iso3 IS NULL THEN 'unknown_exporter'
        WHEN m.iso3 IS NULL THEN 'unknown_importer'
        WHEN e.iso3 = m.iso3 THEN 'same_country'
        WHEN r.k IS NULL OR r.k < 10000 OR r.k > 999999 THEN 'bad_hs6'
        WHEN r.v IS NULL OR NOT isfinite(r.v) THEN 'missing_value'
        WHEN r.v < 0 THEN 'negative_value'
        WHEN r.q IS NOT NULL AND ((r.qd IS NULL AND trim(r.q) NOT IN ('NA', ''))
             OR r.qd < 0 OR NOT isfinite(r.qd)) THEN 'bad_quantity'
        END"""


_REASON_COLUMN = {"year_mismatch": ("t", "r.t"), "unknown_exporter": ("i", "r.i"),
                  "unknown_importer": ("j", "r.j"), "same_country": ("j", "r.j"),
                  "bad_hs6": ("k", "r.k"), "missing_value": ("v", "r.v"),
                  "negative_value": ("v", "r.v"), "bad_quantity": ("q", "r.q")}


def _select_sql(ctx: _Context, *, hs6_text: bool) -> tuple[str, str, str]:
    """(select list, product join, keep condition) of the output."""
    if hs6_text:
        hs6 = "lpad(CAST(r.k AS VARCHAR), 6, '0')"
        join, keep = "", "true"
    else:
        hs6 = "p.hs6"
        join = "LEFT JOIN pk p ON r.k = p.k"
        keep = "true" if ctx.mode == "all" else "p.hs6 IS NOT NULL"
    select = (f"CAST(r.t AS BIGINT) AS year, e.iso3 AS exporter, m.iso3 AS importer, "
              f"{hs6} AS hs6, r.v * 1000.0 AS value_usd, r.qd AS quantity")
    return select, join, keep


_PARQUET = "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)"


@dataclass
class _YearResult:
    rows: int
    rows_read: int | None
    problems: Problems
    path: str = ""
    seconds: float = 0.0
    passes: list[str] = field(default_factory=list)


def _rejects(con, table: str, label: str) -> tuple[Problems, list[int]]:
    """Problems from DuckDB's CSV rejects table, and the rejected line numbers."""
    probs = Problems(label)
    rows = con.execute(
        f"SELECT line, column_name, error_type, csv_line FROM {table} ORDER BY line"
    ).fetchall()
    lines = sorted({int(r[0]) for r in rows})
    seen = set()
    for line, col, etype, raw in rows:
        if line in seen:
            continue
        seen.add(line)
        cast = str(etype).upper() == "CAST"
        reason = "not_a_number" if cast else "malformed_line"
        value = raw if not cast else _field(raw, col)
        probs.add(reason, 1, [{"line": line, "column": col if cast else None,
                               "value": value}])
    return probs, lines


def _field(raw: str, col: str | None) -> str:
    try:
        vals = next(csv.reader([raw]))
        return vals[HEADER.index(col)] if col in HEADER else raw
    except (csv.Error, StopIteration, IndexError):
        return raw


def _fast(ctx: _Context, csv_path: Path, year: int, out: Path, *, hs6_text: bool,
          label: str, progress: bool) -> tuple[int, str | None, tuple[str, str]]:
    """One streamed, parallel pass: COPY the year to Parquet, failing fast on a bad row.

    Returns (rows written, None, rejects) or (0, why, rejects) with why "bad-row" or
    "unlisted" (a code outside the release's product table).
    """
    con = ctx.con
    rej = ctx.names()
    select, join, keep = _select_sql(ctx, hs6_text=hs6_text)
    unlisted = ("WHEN p.hs6 IS NULL THEN error('chokepoint:unlisted')"
                if ctx.mode == "all" and not hs6_text else "")
    sql = f"""COPY (
        SELECT {select}
        FROM (SELECT t, i, j, k, v, q, TRY_CAST(q AS DOUBLE) AS qd
              FROM {_read_sql(csv_path, rej)}) r
        LEFT JOIN cc e ON r.i = e.code
        LEFT JOIN cc m ON r.j = m.code
        {join}
        WHERE CASE WHEN {_bad_sql(year)} THEN error('chokepoint:bad-row')
                   {unlisted}
                   ELSE {keep} END
    ) TO {_lit(out)} {_PARQUET}"""
    try:
        res = _run(con, sql, label=label, progress=progress)
    except _Signal as sig:
        out.unlink(missing_ok=True)
        return 0, sig.why, rej
    return int(res.fetchone()[0]), None, rej


def _has_duplicates(con, out: Path, *, label: str) -> bool:
    """Whether the written flows repeat an (exporter, importer, hs6) key.

    A parallel count of distinct 64-bit hashes screens the file (a duplicate always
    lowers it); only when it is lower is the exact check run (a hash collision alone
    is not a duplicate).
    """
    src = f"read_parquet({_lit(out)})"
    short = _run(con, f"SELECT count(*) - count(DISTINCT hash(exporter, importer, hs6)) "
                      f"FROM {src}", label=label, progress=False).fetchone()[0]
    if not short:
        return False
    exact = _run(con, f"SELECT count(*) FROM (SELECT exporter, importer, hs6 FROM {src} "
                      "GROUP BY ALL HAVING count(*) > 1)", label=label,
                 progress=False).fetchone()[0]
    return bool(exact)


class _Signal(Exception):
    """A check of the streamed pass fired (``why``: "bad-row" or "unlisted")."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def _run(con, sql: str, *, label: str, progress: bool, desc: str = ""):
    """Run a statement; DuckDB errors become the project's errors (or a :class:`_Signal`)."""
    import duckdb

    try:
        return run_with_progress(con, sql, desc=desc or label, enabled=progress)
    except duckdb.OutOfMemoryException as err:
        raise ChokepointError(
            f"{label}: DuckDB ran out of memory ({str(err).splitlines()[0]}). Remedy: "
            "raise the limit (--memory-limit 4GB) or use fewer threads (--threads 2)"
        ) from err
    except duckdb.Error as err:
        msg = str(err)
        for why in ("bad-row", "unlisted"):
            if f"chokepoint:{why}" in msg:
                raise _Signal(why) from None
        raise SourceFormatError(f"DuckDB cannot read the file ({msg.splitlines()[0]})",
                                source=label,
                                remedy="check that this is an unmodified BACI yearly CSV; "
                                       + _FETCH_HINT) from err


def _diagnose(ctx: _Context, csv_path: Path, year: int, out: Path, *, hs6_text: bool,
              label: str, lenient: bool, progress: bool) -> _YearResult:
    """Slow path: find every bad row (with its line) and duplicate; write the good rows."""
    con = ctx.con
    rej = ctx.names()
    key = ctx.key()
    _run(con, f"""CREATE OR REPLACE TEMP TABLE raw AS
        SELECT row_number() OVER () AS rn, *
        FROM (SELECT t, i, j, k, v, q, TRY_CAST(q AS DOUBLE) AS qd, {key} AS key
              FROM {_read_sql(csv_path, rej)})""", label=label, progress=progress,
         desc=f"{label} (checking)")
    probs, rejected = _rejects(con, rej[0], label)
    adj = [ln - m for m, ln in enumerate(rejected, start=1)]

    def line_of(rn: int) -> int:  # CSV line of the rn-th accepted data row
        return rn + 1 + bisect_right(adj, rn)

    con.execute(f"""CREATE OR REPLACE TEMP TABLE bad AS
        SELECT r.rn, {_reason_sql(year)} AS reason
        FROM raw r LEFT JOIN cc e ON r.i = e.code LEFT JOIN cc m ON r.j = m.code
        WHERE {_bad_sql(year)}""")
    for reason, n in con.execute("SELECT reason, count(*) FROM bad GROUP BY reason "
                                 "ORDER BY reason").fetchall():
        col, expr = _REASON_COLUMN[reason]
        ex = con.execute(f"""SELECT b.rn, CAST({expr} AS VARCHAR) FROM bad b JOIN raw r
            USING (rn) WHERE b.reason = ? ORDER BY b.rn LIMIT 20""", [reason]).fetchall()
        if reason in ("unknown_exporter", "unknown_importer"):
            ex = [(rn, _explain_code(ctx, v)) for rn, v in ex]
        probs.add(reason, n, [{"line": line_of(rn), "column": col, "value": v}
                              for rn, v in ex])
    # duplicates among the rows that would be written (all rows with --all-hs6)
    kept = "" if hs6_text or ctx.mode == "all" else "SEMI JOIN pk ON raw.k = pk.k"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE dup AS
        SELECT rn FROM raw {kept} WHERE key IN (
            SELECT key FROM raw {kept} ANTI JOIN bad USING (rn)
            GROUP BY key HAVING count(*) > 1)
        AND rn NOT IN (SELECT rn FROM bad)""")
    ndup = con.execute("SELECT count(*) FROM dup").fetchone()[0]
    if ndup:
        ex = con.execute("""SELECT d.rn, r.t, r.i, r.j, r.k FROM dup d JOIN raw r USING (rn)
            ORDER BY r.key, d.rn LIMIT 20""").fetchall()
        probs.add("duplicate_key", ndup, [
            {"line": line_of(rn), "column": "t,i,j,k",
             "value": f"{t},{i},{j},{int(k):06d}"} for rn, t, i, j, k in ex])
    rows_read = con.execute("SELECT count(*) FROM raw").fetchone()[0] + len(rejected)
    if probs and not lenient:
        raise probs.error(f"BACI flows {year}")
    select, join, keep = _select_sql(ctx, hs6_text=hs6_text)
    res = _run(con, f"""COPY (
        SELECT {select} FROM raw r
        LEFT JOIN cc e ON r.i = e.code LEFT JOIN cc m ON r.j = m.code {join}
        WHERE {keep} AND r.rn NOT IN (SELECT rn FROM bad)
              AND r.rn NOT IN (SELECT rn FROM dup)
        ORDER BY r.rn
    ) TO {_lit(out)} {_PARQUET}""", label=label, progress=progress,
               desc=f"{label} (writing)")
    rows = int(res.fetchone()[0])
    con.execute("DROP TABLE raw; DROP TABLE bad; DROP TABLE dup")
    return _YearResult(rows, int(rows_read), probs)


def _explain_code(ctx: _Context, value: str | None) -> str | None:
    """A code of the release's table without a project country says so."""
    try:
        iso = ctx.unmapped.get(int(value))
    except (TypeError, ValueError):
        return value
    if iso is None:
        return value
    return (f"{value} (iso3 {iso} in the release's country table, not in "
            "data/reference/countries.csv)")


def _year_to_parquet(ctx: _Context, csv_path: Path, year: int, out: Path, *, label: str,
                     lenient: bool, progress: bool) -> _YearResult:
    """Convert one year's CSV to a canonical flows Parquet file (see the module notes)."""
    t0 = time.perf_counter()
    _header(csv_path, label)
    passes = ["stream"]
    while True:
        hs6_text = ctx.hs6_text
        rows, why, rej = _fast(ctx, csv_path, year, out, hs6_text=hs6_text, label=label,
                               progress=progress)
        if why == "unlisted":  # a code outside the release's product table: map as text
            ctx.hs6_text = True
            passes.append("stream (hs6 as text)")
            continue
        break
    if why is None and _has_duplicates(ctx.con, out, label=label):
        out.unlink(missing_ok=True)
        why = "duplicates"
    if why is None:
        probs, rejected = _rejects(ctx.con, rej[0], label)
        if probs and not lenient:
            out.unlink(missing_ok=True)
            raise probs.error(f"BACI flows {year}")
        read = rows + len(rejected) if ctx.mode == "all" else None
        return _YearResult(rows, read, probs, str(out), time.perf_counter() - t0, passes)
    passes.append(f"diagnose ({why})")
    res = _diagnose(ctx, csv_path, year, out, hs6_text=hs6_text, label=label,
                    lenient=lenient, progress=progress)
    res.path, res.seconds, res.passes = str(out), time.perf_counter() - t0, passes
    return res


# ---------------------------------------------------------------------------------------
# getting a year's CSV onto disk
# ---------------------------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _extract(bf: BaciFile, dest: Path, *, progress: bool) -> tuple[Path, str]:
    """Stream an archive member to ``dest`` (hashing it on the way): (path, sha256)."""
    out = dest / bf.name
    digest = hashlib.sha256()
    bar = progress_bar(total=bf.size, desc=f"extracting {bf.name}", unit="B",
                       unit_scale=True, enabled=progress)
    try:
        with zipfile.ZipFile(bf.archive) as zf, zf.open(bf.member) as src, \
                open(out, "wb") as dst:
            while chunk := src.read(1 << 20):
                digest.update(chunk)
                dst.write(chunk)
                bar.update(len(chunk))
    except (zipfile.BadZipFile, zlib.error, EOFError) as err:
        out.unlink(missing_ok=True)
        raise SourceFormatError(f"archive member is damaged or truncated ({err})",
                                source=bf.label, remedy=_FETCH_HINT) from err
    finally:
        bar.close()
    return out, digest.hexdigest()


# ---------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------


def _file_entry(bf: BaciFile, sha: str | None, res: _YearResult | None,
                selection: _Selection) -> dict:
    entry = {"file": bf.name, "release": bf.release, "bytes": bf.size,
             "archive": bf.archive.name if bf.archive else None,
             "crc32": bf.crc32, "sha256": sha, "selection": selection.fingerprint(),
             "ingested": datetime.now(UTC).isoformat(timespec="seconds")}
    if res is not None:
        entry.update(rows_written=res.rows, rows_read=res.rows_read,
                     dropped=dict(res.problems.counts))
    return entry


def _unchanged(bf: BaciFile, prior: dict | None, selection: _Selection,
               sha: Any) -> bool:
    """Whether the store's provenance records this very file (for --resume)."""
    if not prior or prior.get("file") != bf.name or prior.get("bytes") != bf.size:
        return False
    if prior.get("selection") != selection.fingerprint():
        return False
    if bf.crc32 is not None and prior.get("crc32") is not None:
        return prior["crc32"] == bf.crc32
    return prior.get("sha256") is not None and prior["sha256"] == sha()


def read_baci(
    path: str | os.PathLike,
    years: int | Iterable[int] | None = None,
    hs6: str | Iterable[str] | None = None,
    *,
    lenient: bool = False,
) -> pd.DataFrame:
    """Canonical flows from a (small) BACI release, zip, folder or yearly CSV.

    Uses the same DuckDB conversion and checks as :func:`ingest_baci` and returns pandas;
    for a full release year (10M rows) prefer :func:`ingest_baci` and
    :func:`analytics.store.load_flows`.

    Parameters
    ----------
    path : path-like
        See :func:`scan_baci`.
    years : int or iterable of int, optional
        Years to read (default: all in the release).
    hs6 : str or iterable of str, optional
        Keep only these six-digit codes (default: every code).
    lenient : bool, default False
        Drop bad rows (with a warning giving the counts) instead of raising.

    Returns
    -------
    DataFrame
        :class:`~analytics.schemas.Flows` columns and dtypes, sorted by year.

    Warns
    -----
    UserWarning
        Bad rows dropped (``lenient``); ``hs6`` codes absent from the release's product
        table.

    Raises
    ------
    SourceFormatError, HSVersionError, UnknownCountry, DataError, SchemaViolation
        See the module notes.
    """
    release = scan_baci(path)
    files = _choose_years(release, years)
    countries = read_baci_countries(release)
    selection = _selection(release.hs_version, hs6=hs6) if hs6 is not None \
        else _Selection("all")
    products = read_baci_products(release)
    wanted = selection.wanted(products)
    _coverage(selection, products, hs_version=release.hs_version, where=release.name,
              product_file=release.product_file.name if release.product_file else None)
    parts, dropped = [], Problems(str(release.source))
    with tempfile.TemporaryDirectory(prefix="chokepoint-baci-") as tmp:
        con = connect(temp_directory=Path(tmp) / "duckdb")
        try:
            ctx = _Context(con, countries, wanted, selection.mode)
            for bf in files:
                csv_path = bf.path if bf.path is not None else _extract(
                    bf, Path(tmp), progress=False)[0]
                out = Path(tmp) / f"flows-{bf.year}.parquet"
                res = _year_to_parquet(ctx, csv_path, bf.year, out, label=bf.label,
                                       lenient=lenient, progress=False)
                dropped.extend(res.problems)
                parts.append(pq.read_table(out).to_pandas())
        finally:
            con.close()
    if dropped:
        warnings.warn(f"read_baci dropped {dropped.total:,} bad row(s): "
                      f"{dict(dropped.counts)}", stacklevel=2)
    flows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=Flows.columns())
    return validate(flows, Flows, source=str(release.source))


def _choose_years(release: BaciRelease, years) -> list[BaciFile]:
    if years is None:
        return list(release.files)
    wanted = sorted({int(y) for y in ([years] if isinstance(years, int) else years)})
    missing = [y for y in wanted if y not in release.years]
    if missing:
        span = f"{min(release.years)}-{max(release.years)}" if release.years else "none"
        raise DataError(f"year(s) {missing} not in the release (years available: {span})",
                        source=str(release.source), value=missing[0],
                        remedy="choose years the release covers, or use another release")
    return [f for f in release.files if f.year in wanted]


def ingest_baci(
    path: str | os.PathLike,
    store_path: str | os.PathLike,
    *,
    years: int | Iterable[int] | None = None,
    categories: Sequence[str] | None = None,
    all_hs6: bool = False,
    lenient: bool = False,
    resume: bool = False,
    progress: bool = False,
    threads: int | None = None,
    memory_limit: str | None = "2GB",
) -> IngestReport:
    """Stream a BACI release into a store, one Parquet file per year, one commit per year.

    Each year is converted and then committed as its own store snapshot (an atomic
    switch, see :mod:`analytics.store`). A failure leaves the store as the last commit
    left it: years committed before the failure stay (with their provenance), the year
    being converted is not in the store. ``resume=True`` then skips the committed years
    and continues with the rest.

    Parameters
    ----------
    path : path-like
        Release zip, folder or yearly CSV (see :func:`scan_baci`).
    store_path : path-like
        Store directory; created (with the reference tables of :mod:`analytics.reference`)
        when absent. Years already in the store are replaced; other years are kept.
    years : int or iterable of int, optional
        Years to ingest (default: every year of the release).
    categories : sequence of str, optional
        Keep the HS6 codes of these categories only (default: of every category).
    all_hs6 : bool, default False
        Keep every HS6 code (about 11M rows a year).
    lenient : bool, default False
        Drop bad rows and count them (per reason, with examples) instead of raising.
    resume : bool, default False
        Skip years whose source file (name, size, CRC32 or sha256, and the same HS6
        selection) is recorded in the store's provenance, e.g. the years an interrupted
        ingest committed.
    progress : bool, default False
        Progress bars (tqdm) on stderr.
    threads, memory_limit
        DuckDB settings (default: every core; 2GB before spilling to disk).

    Returns
    -------
    IngestReport
        ``details["unmapped_codes"]`` (category -> codes) lists category codes that are
        not in the release's product table, ``details["concordance_gaps"]`` the steps of
        the HS mapping no concordance covers (both also in the store's provenance, each
        with a warning).

    Raises
    ------
    SourceFormatError, HSVersionError, UnknownCountry, DataError, SchemaViolation
        Bad input (see the module notes); years committed before it stay in the store.
    StoreError
        The store holds synthetic demo data or flows of another source.

    Warns
    -----
    UserWarning
        Category codes the release cannot deliver (absent from its product table, or
        mapped to its HS version without a concordance).
    """
    from analytics import store

    t0 = time.perf_counter()
    release = scan_baci(path)
    files = _choose_years(release, years)
    root = Path(store_path).expanduser()
    prior: dict = {}
    existing = store.is_store(root)
    if existing:
        info = store.store_info(root)
        if info["synthetic"]:
            raise StoreError(f"the store at {root} holds synthetic demo data; ingest real "
                             "data into a new store (--store NEW_DIR)")
        if info["hs_version"] != release.hs_version:
            raise HSVersionError(
                f"the store holds {info['hs_version']} flows but {release.source.name} is "
                f"{release.hs_version}", source=str(root),
                remedy=f"ingest {release.hs} files into a separate store (one HS version per "
                       "store), or ingest the BACI release in the store's nomenclature")
        prior = dict(info["provenance"].get("flows", {}))
        others = set(info["years"]) - {f.year for f in files}
        if prior.get("source") not in (None, SOURCE) and others:
            raise StoreError(f"the store at {root} holds {prior.get('source')} flows for "
                             f"{sorted(others)}; ingest BACI into a separate store")
        if prior.get("source") != SOURCE:
            prior = {}
    countries = read_baci_countries(release)
    selection = _selection(release.hs_version, categories=categories, all_hs6=all_hs6)
    products = read_baci_products(release)
    wanted = selection.wanted(products)
    coverage = _coverage(selection, products, hs_version=release.hs_version,
                         where=release.name, product_file=release.product_file.name
                         if release.product_file else None)

    store_years = set(store.store_info(root)["years"]) if existing else set()
    prior_files = dict(prior.get("files", {}))
    shas = {bf.year: _Sha256(bf.path) for bf in files}
    todo = [bf for bf in files
            if not (resume and bf.year in store_years
                    and _unchanged(bf, prior_files.get(str(bf.year)), selection,
                                   shas[bf.year]))]
    report = IngestReport(SOURCE, str(root))
    report.skipped_years = [bf.year for bf in files if bf not in todo]
    report.details = {"release": release.release, "hs_version": release.hs_version,
                      "selection": selection.describe(), **coverage}
    new_files: dict[str, dict] = {}
    totals = Problems(str(release.source))
    prior_examples = [e for e in prior.get("examples", [])
                      if not any(str(e.get("source", "")).endswith(bf.name) for bf in todo)]
    created = not root.exists()
    try:
        if todo:
            _convert_and_commit(
                release, todo, root, store, existing=existing, shas=shas,
                countries=countries, selection=selection, wanted=wanted, lenient=lenient,
                progress=progress, threads=threads, memory_limit=memory_limit,
                report=report, totals=totals, new_files=new_files,
                provenance=lambda: _provenance(
                    release, countries, selection, prior_files, new_files, totals,
                    lenient, coverage, prior_examples))
    except BaseException as err:
        if created and not store.is_store(root):
            with contextlib.suppress(OSError):
                root.rmdir()  # only succeeds when still empty: we made it
        if report.years:
            err.add_note(f"years {report.years} were committed to {root} before the "
                         "failure; run the ingest again with resume=True (--resume) to "
                         "continue with the others")
        raise
    report.dropped = dict(totals.counts)
    report.examples = list(totals.examples)
    report.seconds = time.perf_counter() - t0
    return report


def _convert_and_commit(release: BaciRelease, todo: list[BaciFile], root: Path, store, *,
                        existing: bool, shas: dict, countries: pd.DataFrame,
                        selection: _Selection, wanted: list[str] | None, lenient: bool,
                        progress: bool, threads: int | None, memory_limit: str | None,
                        report: IngestReport, totals: Problems, new_files: dict,
                        provenance) -> None:
    """Convert each year in a staging folder of the store, committing it when done."""
    with store.staging_dir(root) as tmp:
        con = connect(threads=threads, memory_limit=memory_limit,
                      temp_directory=tmp / "duckdb")
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
        # reference tables of a new store: load them while DuckDB works
        refs_future = pool.submit(reference_tables) if not existing else None
        bar = progress_bar(total=len(todo) + len(report.skipped_years), desc=release.name,
                           unit="year", enabled=progress, initial=len(report.skipped_years))
        try:
            ctx = _Context(con, countries, wanted, selection.mode)
            archive_sha = None
            for n, bf in enumerate(todo):
                if bf.path is not None:  # hash while DuckDB reads
                    csv_path, digest = bf.path, pool.submit(shas[bf.year])
                else:
                    if archive_sha is None:  # hash the archive in the background
                        archive_sha = pool.submit(_sha256_file, bf.archive)
                    csv_path, digest = _extract(bf, tmp, progress=progress)
                out = tmp / f"flows-{bf.year}.parquet"
                res = _year_to_parquet(ctx, csv_path, bf.year, out, label=bf.label,
                                       lenient=lenient, progress=progress)
                if bf.path is None:
                    csv_path.unlink(missing_ok=True)
                else:
                    digest = digest.result()
                totals.extend(res.problems)
                new_files[str(bf.year)] = _file_entry(bf, digest, res, selection)
                prov = provenance()
                last = n == len(todo) - 1
                if archive_sha is not None and (last or archive_sha.done()):
                    prov["input"].update(bytes=release.source.stat().st_size,
                                         sha256=archive_sha.result())
                refs, ref_prov = ({}, {})
                if refs_future is not None:  # the first commit creates the store
                    refs, ref_prov = refs_future.result()
                    refs_future = None
                store.update_flow_files(
                    root, {bf.year: out}, provenance={**ref_prov, "flows": prov},
                    hs_version=release.hs_version, dataset_name=release.name,
                    reference_tables=refs or None, move=True,
                    trusted=True)  # the conversion query enforced every check
                report.years.append(bf.year)
                report.rows_written[bf.year] = res.rows
                if res.rows_read is not None:
                    report.rows_read[bf.year] = res.rows_read
                bar.update(1)
        finally:
            bar.close()
            pool.shutdown(wait=True)
            con.close()


class _Sha256:
    """sha256 of a file, computed once (callable; thread-safe enough for one worker)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.value: str | None = None

    def __call__(self) -> str:
        if self.value is None:
            self.value = _sha256_file(self.path)
        return self.value


def _provenance(release: BaciRelease, countries: pd.DataFrame, selection: _Selection,
                prior_files: dict, new_files: dict, totals: Problems, lenient: bool,
                coverage: dict, prior_examples: list[dict]) -> dict:
    """The flows provenance after a commit.

    ``dropped`` sums the per-file counts of every year in the store (so an ingest resumed
    after a failure records the same as one uninterrupted run); ``examples`` keeps the
    stored examples of years this ingest does not replace.
    """
    remapped = countries[countries["iso3"].fillna("") != countries["iso3_file"]]
    files = {**prior_files, **new_files}
    dropped: dict[str, int] = {}
    for entry in files.values():
        for reason, n in (entry.get("dropped") or {}).items():
            dropped[reason] = dropped.get(reason, 0) + int(n)
    return {
        "source": SOURCE,
        "release": release.release,
        "hs": release.hs,
        "hs_version": release.hs_version,
        "licence": LICENCE,
        "citation": CITATION,
        "url": URL,
        "units": UNITS,
        "input": {"path": release.source.name, "kind": release.kind},
        "country_table": {
            "file": release.country_file.name,
            "sha256": hashlib.sha256(release.country_file.read_bytes()).hexdigest(),
            "codes": int(len(countries)),
            "remapped": {str(int(r.code)): f"{r.iso3_file}->{r.iso3}" if pd.notna(r.iso3)
                         else f"{r.iso3_file}->unknown" for r in remapped.itertuples()},
        },
        "product_table": release.product_file.name if release.product_file else None,
        "selection": selection.describe(),
        "unmapped_codes": dict(coverage.get("unmapped_codes", {})),
        "concordance_gaps": list(coverage.get("concordance_gaps", [])),
        "files": {k: files[k] for k in sorted(files)},
        "lenient": bool(lenient),
        "dropped": {k: dropped[k] for k in sorted(dropped)},
        "examples": (list(prior_examples) + list(totals.examples))[:50],
    }
