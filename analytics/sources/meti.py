"""Readers for Japan's entity lists: the METI End User List and the MOFA/METI
"specified entities" lists of the Russia-related export prohibitions.

Both return the canonical :class:`~analytics.schemas.Entities` table (``name``,
``aliases`` ("; "-separated), ``country`` (ISO3), ``concern``, ``list_name``,
``source``), validated, with reading statistics in ``DataFrame.attrs``.

METI End User List (外国ユーザーリスト)
-----------------------------------------
:func:`read_meti_end_user_list` reads the xlsx exactly as METI publishes it
(``https://www.meti.go.jp/policy/anpo/20250929_4.xlsx`` for the 2025-09-29 revision) or
the flattened CSV (columns ``no, country_ja, country_en, name, aliases, wmd_concern,
conventional_weapons``). Layout of the official 2025-09-29 file (one sheet,
"ユーザーリスト"): the header is row 1, one bilingual cell per column --

=====  ====================================  =========================================
col    header cell                           data
=====  ====================================  =========================================
A      ``No.``                               the formula ``=ROW()-1`` (ignored)
B      ``国名、地域名\\nCountry or Region``   ``イラン\\nIslamic Republic of Iran``
C      ``企業名､組織名\\nCompany or           ``Air Koryo\\n(高麗航空)``
       Organization``
D      ``別名\\nAlso Known As``               ``・alias 1\\n・alias 2`` (bullets)
E      ``懸念区分\\nType of WMD``             ``ミサイル、核\\nM,N`` (empty when none)
F      ``通常兵器\\nConventional Weapons``    ``通常兵器\\nCW`` or empty
=====  ====================================  =========================================

There are no title rows and no merged cells in that file; earlier and later revisions
may add title lines (e.g. "外国ユーザーリスト（令和7年9月29日）"), merged title cells or a
header split over a Japanese and an English row. The reader therefore:

* scans the first :data:`HEADER_SCAN_ROWS` rows of each sheet for the header row, the
  first row with a *country* and a *company* header cell (a cell is a header cell when
  every line of it is a known label, Japanese or English, see :data:`HEADER_LABELS`);
  the next row is taken as a second header line when all its cells are header labels
  (its labels win: "懸念区分" over two columns, then "Type of WMD" / "CW" below);
* fills merged cells with their top-left value (merged titles, a country merged over
  several entries);
* takes the revision date from a title cell above the header (``2025年9月29日``,
  ``令和7年9月29日``, ``2025/9/29``, ``September 29, 2025`` ...), else from the file
  name (``..._20250929...``), else from ``revision=``; without any it warns and writes
  "revision date unknown". ``revision=`` given explicitly always wins.

Cells:

* **Company** cells hold the English name, sometimes wrapped over two lines, and often
  the name in local script on its own line in parentheses (``Air Koryo\\n(高麗航空)``).
  Wrapped lines are joined with a space; a line that is wholly in parentheses, or that
  starts in Chinese/Japanese/Korean script, becomes an alias.
* **Also Known As** cells list aliases one per line with a ``・`` bullet. A line without
  a bullet is the continuation of the previous alias when it is Latin script (a wrapped
  line), a separate alias when it is in parentheses (local script, the parentheses are
  removed) or in CJK script. Aliases are joined with "; " (duplicates and the name
  itself removed).
* **Country** cells carry the Japanese and the official English name on two lines; each
  line is looked up in the countries reference table (``name`` and ``name_ja``), then
  in :data:`COUNTRY_ALIASES` (METI's formal spellings such as "Islamic Republic of
  Iran", "People's Republic of China", "Russian Federation", "Syrian Arab Republic",
  "Republic of Lebanon"), then with a formal prefix ("Republic of", "State of", ...)
  removed. Two lines naming different countries are an error.
* **Type of WMD** holds the Japanese words (生物 biological, 化学 chemical, ミサイル
  missile, 核 nuclear) and the letters B, C, M, N, separated by "," or "、", full-width
  letters allowed (``核\\nＮ``), the line break sometimes missing (``ミサイルM``). Both
  parts must agree. ``concern`` is the readable text in the fixed order nuclear,
  biological, chemical, missile, then "conventional weapons" when the CW column is set:
  ``"ミサイル、核\\nM,N"`` -> ``"nuclear, missile"``.

Note that the flattened CSV in shared/data was made by a simpler parse: it has an empty
``wmd_concern`` for the six entries written ``ミサイルM`` and a full-width ``Ｎ`` for two;
this reader handles both spellings in either input.

Errors: a file without a recognisable header raises
:class:`~analytics.errors.SourceFormatError`; an empty company name or an unreadable
WMD/CW cell raises ``SourceFormatError`` naming the file, the Excel row (or CSV line),
the column and the value (all such cells are listed, the first in the attributes); an
unknown country name raises :class:`~analytics.errors.UnknownCountry` with the same
details (attributes ``source``, ``row``, ``column``, ``value``, ``remedy``, ``rows``).
With ``lenient=True`` the rows with an unknown country are dropped instead, and a warning
gives their count and the first examples (``attrs["dropped_unknown_country"]``).

MOFA/METI specified entities
----------------------------
:func:`read_specified_entities` reads the CSVs parsed from the METI PDFs
``list_{russia,belarus,daisangoku}_tokutei.pdf`` (columns ``entry_number, name_en,
name_ja, aliases_en, aliases_ja, country_code, address, announcement_dates,
[countries_in_address,] parse_note``). ``concern`` is
``"export prohibition (Russia-related)"`` for all three lists. Decisions:

* ``name`` is ``name_en``; ``name_ja`` becomes an alias. When ``name_en`` is empty and
  ``name_ja`` holds the English name run together with the Japanese one (a PDF parse
  artefact, e.g. ``タイム・アート・...・リミテッドTime Art International LTD（時亞國際有限公司）
  別称：Time Art International Limited``), the first Latin run of 8+ characters is the
  name and the Japanese part, the parenthesised names and the ``別称：`` names become
  aliases; otherwise ``name_ja`` is the name. The same split is applied to a
  ``name_ja`` that carries such an English run next to a ``name_en`` (its pieces become
  aliases). A ``name_en`` containing ";" (aliases run into the name) keeps the part
  before the first ";" as the name and the rest as aliases.
* A row with only ``name_ja`` followed by a row with only ``name_en`` and no entry number
  (the Belarus PDF splits "140 Repair Plant JSC" this way) is one entity: the rows are
  merged (``attrs["split_rows_merged"]``).
* ``country`` comes from ``country_code`` (ISO2 such as RU, BY, or ISO3). When it is
  empty (the third-country list), from ``countries_in_address`` ("; "-separated English
  names): Hong Kong or Macao wins over China (a Hong Kong address also matches
  "China"); otherwise, with several distinct countries, the first listed is kept -- the
  Entities table has one country per entity; the other addresses stay in the source
  CSV. Entities without any country keep a missing country.
* ``aliases`` = ``name_ja`` + ``aliases_en`` (split on ";") + ``aliases_ja`` (split on
  ";" and "、"), without duplicates or the name itself.
* Rows of one entity (same :func:`analytics.entities.normalize_name` and country, e.g.
  "Irkut Corporation" and "PJSC Irkut Corporation") are merged into the first, the other
  names becoming aliases (``attrs["duplicate_rows_merged"]``). The same name in two
  countries (I JET GLOBAL DMCC: Syria and the UAE) stays two entities.
* ``list_name`` is ``list_name=`` or inferred from the file name (``russia``,
  ``belarus``, ``third``/``daisangoku``) or, failing that, from a single country code;
  ``source`` adds the latest announcement date.

Examples
--------
>>> _wmd_codes("ミサイル、核\\nM、N")
['N', 'M']
>>> _concern_text(_wmd_codes("生物、化学\\nB,C"), cw=True)
'biological, chemical, conventional weapons'
>>> _resolve_country_cell("中国\\nPeople's Republic of China")
('CHN', None)
>>> _split_name_cell("Air Koryo\\n(高麗航空)")
('Air Koryo', ['高麗航空'])
>>> _split_alias_cell("・Urals Plant JSC\\n・Aktsionernoe Obshchestvo Uralskiy\\nZavod\\n(烽火総会社)")
['Urals Plant JSC', 'Aktsionernoe Obshchestvo Uralskiy Zavod', '烽火総会社']
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from analytics.errors import SourceFormatError, UnknownCountry
from analytics.schemas import Entities, validate

__all__ = [
    "read_meti_end_user_list",
    "read_specified_entities",
    "EUL_LIST_NAME",
    "SPECIFIED_CONCERN",
    "SPECIFIED_LIST_NAMES",
    "WMD_TYPES",
    "COUNTRY_ALIASES",
    "HEADER_LABELS",
    "HEADER_SCAN_ROWS",
    "resolve_country_name",
]

EUL_LIST_NAME = "METI End User List"
SPECIFIED_CONCERN = "export prohibition (Russia-related)"
SPECIFIED_LIST_NAMES = {
    "russia": "MOFA/METI specified entities (Russia)",
    "belarus": "MOFA/METI specified entities (Belarus)",
    "third_countries": "MOFA/METI specified entities (third countries)",
}
EUL_URL = "https://www.meti.go.jp/policy/anpo/ (外国ユーザーリスト)"

#: WMD type letters -> readable words, in the order used in ``concern``.
WMD_TYPES: dict[str, str] = {"N": "nuclear", "B": "biological", "C": "chemical",
                             "M": "missile"}
CW_LABEL = "conventional weapons"
_WMD_JA = (("ミサイル", "M"), ("生物", "B"), ("化学", "C"), ("核", "N"))
_WMD_WORDS = {"biological": "B", "chemical": "C", "missile": "M", "missiles": "M",
              "nuclear": "N"}
_CW_TRUE = {"1", "1.0", "○", "◯", "●", "x", "✓", "✔", "yes", "y", "true"}
_CW_FALSE = {"0", "0.0", "no", "n", "false", "-", "−", "ー", "×"}

#: How many rows of a sheet are searched for the header row.
HEADER_SCAN_ROWS = 30

#: Header labels (after NFKC, casefold, collapsed spaces) per field; every line of a
#: header cell must match one label of the field.
HEADER_LABELS: dict[str, str] = {
    "no": r"no\.?|番号|整理番号|#",
    "country": r"国名|地域名|国名\s*[、,・/]\s*地域名|国・地域|country|region|"
               r"country\s*(or|/)\s*(region|area)",
    "name": r"企業名|組織名|企業名\s*[、,・/]\s*組織名|名称|company|organi[sz]ation|"
            r"company\s*(or|/)\s*organi[sz]ation|name|entity|entity name",
    "aliases": r"別名|also known as|a\.?k\.?a\.?|alias(es)?|other names?",
    "wmd": r"懸念区分|type of wmd|types? of concern|wmd|大量破壊兵器",
    "cw": r"通常兵器|conventional weapons?|cw",
}
_HEADER_RE = {k: re.compile(rf"^(?:{v})$") for k, v in HEADER_LABELS.items()}
_FIELD_TITLES = {"no": "No.", "country": "Country or Region",
                 "name": "Company or Organization", "aliases": "Also Known As",
                 "wmd": "Type of WMD", "cw": "Conventional Weapons"}
_REQUIRED_FIELDS = ("country", "name", "wmd")

#: Country spellings used by METI/MOFA (and common variants) that are not the names of
#: the countries reference table. Keys are compared after NFKC + casefold.
COUNTRY_ALIASES: dict[str, str] = {
    "islamic republic of iran": "IRN", "iran (islamic republic of)": "IRN",
    "iran, islamic republic of": "IRN", "イラン・イスラム共和国": "IRN",
    "people's republic of china": "CHN", "prc": "CHN", "中華人民共和国": "CHN",
    "democratic people's republic of korea": "PRK", "dprk": "PRK",
    "korea, democratic people's republic of": "PRK", "朝鮮民主主義人民共和国": "PRK",
    "republic of korea": "KOR", "korea, republic of": "KOR", "大韓民国": "KOR",
    "islamic republic of pakistan": "PAK", "パキスタン・イスラム共和国": "PAK",
    "russian federation": "RUS", "ロシア連邦": "RUS",
    "uae": "ARE", "u.a.e.": "ARE",
    "hong kong, china": "HKG", "hong kong sar": "HKG", "hong kong sar, china": "HKG",
    "hong kong special administrative region": "HKG", "中国香港": "HKG",
    "macau": "MAC", "macao sar": "MAC",
    "syrian arab republic": "SYR", "シリア・アラブ共和国": "SYR",
    "republic of lebanon": "LBN", "lebanese republic": "LBN", "レバノン共和国": "LBN",
    "arab republic of egypt": "EGY", "エジプト・アラブ共和国": "EGY",
    "islamic republic of afghanistan": "AFG", "アフガニスタン・イスラム共和国": "AFG",
    "republic of yemen": "YEM", "イエメン共和国": "YEM",
    "state of israel": "ISR", "イスラエル国": "ISR",
    "taiwan": "TWN", "republic of china": "TWN", "chinese taipei": "TWN",
    "türkiye": "TUR", "turkiye": "TUR", "republic of türkiye": "TUR",
    "トルコ共和国": "TUR", "belarus, republic of": "BLR", "republic of belarus": "BLR",
    "democratic republic of the congo": "COD",
}
_FORMAL_PREFIXES = ("the ", "islamic republic of ", "arab republic of ",
                    "people's republic of ", "federal republic of ",
                    "socialist republic of ", "republic of ", "state of ", "kingdom of ")

_BULLETS = "・･•●◦▪"
_SPACES = re.compile(r"\s+")
_MONTHS = {m: i for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august",
     "september", "october", "november", "december"), start=1)}
_REMEDY_LAYOUT = ("use the METI End User List xlsx as published (" + EUL_URL + "), or the "
                  "flattened CSV with columns no, country_ja, country_en, name, aliases, "
                  "wmd_concern, conventional_weapons")
_REMEDY_COUNTRY = ("add the spelling to analytics.sources.meti.COUNTRY_ALIASES (or the "
                   "name/name_ja columns of data/reference/countries.csv), or pass "
                   "lenient=True to drop such rows with a warning")
_EUL_CSV_COLUMNS = ("no", "country_ja", "country_en", "name", "aliases", "wmd_concern",
                    "conventional_weapons")
_SPEC_COLUMNS = ("entry_number", "name_en", "name_ja", "aliases_en", "aliases_ja",
                 "country_code", "address", "announcement_dates", "parse_note")
_REMEDY_SPEC = ("use the MOFA/METI specified-entity CSV (columns " + ", ".join(_SPEC_COLUMNS)
                + ", countries_in_address)")


# --------------------------------------------------------------------------- text helpers
def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _collapse(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()[:10]
    return str(value)


def _lines(text: str) -> list[str]:
    return [s.strip() for s in str(text).splitlines() if s.strip()]


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (0x3040 <= o <= 0x30FF or 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF
            or 0xF900 <= o <= 0xFAFF or 0xAC00 <= o <= 0xD7AF or 0xFF66 <= o <= 0xFF9F)


def _starts_cjk(text: str) -> bool:
    return bool(text) and _is_cjk(text[0])


def _wholly_parenthesised(text: str) -> bool:
    """True for ``(...)``/``（...）`` where the first bracket closes at the very end."""
    t = _nfkc(text).strip()
    if len(t) < 2 or t[0] != "(" or t[-1] != ")":
        return False
    depth = 0
    for i, ch in enumerate(t):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and i < len(t) - 1:
            return False
    return depth == 0


def _unwrap(text: str) -> str:
    t = text.strip()
    return t[1:-1].strip() if _wholly_parenthesised(t) else t


def _split_name_cell(text: str) -> tuple[str, list[str]]:
    """Company cell -> (name, aliases): wrapped lines joined, local-script lines aliases."""
    parts: list[str] = []
    aliases: list[str] = []
    for i, line in enumerate(_lines(text)):
        if i > 0 and parts and (_wholly_parenthesised(line) or _starts_cjk(line)):
            aliases.append(_collapse(_unwrap(line)))
        else:
            parts.append(line)
    return _collapse(" ".join(parts)), [a for a in aliases if a]


def _split_alias_cell(text: str) -> list[str]:
    """"Also Known As" cell -> aliases (bullets, wrapped lines, local-script lines)."""
    lines = _lines(text)
    has_bullets = any(line[0] in _BULLETS for line in lines)
    out: list[str] = []
    for line in lines:
        if line[0] in _BULLETS:
            out.append(line.lstrip(_BULLETS).strip())
        elif _wholly_parenthesised(line):
            out.append(_unwrap(line))
        elif has_bullets and out and not _starts_cjk(line) and not _starts_cjk(out[-1][-1:]):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return [_collapse(a) for a in out if _collapse(a)]


def _split_alias_list(text: str, seps: str = ";；") -> list[str]:
    """"; "-separated aliases (flattened CSVs) -> list, parentheses of a whole part removed."""
    parts = re.split(f"[{re.escape(seps)}]", text or "")
    return [_collapse(_unwrap(p)) for p in parts if _collapse(_unwrap(p))]


def _unique(values: Sequence[str], exclude: str | None = None) -> list[str]:
    seen: dict[str, None] = {}
    for v in values:
        if v and v != exclude:
            seen.setdefault(v, None)
    return list(seen)


# --------------------------------------------------------------------------- WMD / CW
def _wmd_codes(text: str) -> list[str]:
    """Type-of-WMD cell -> letters in :data:`WMD_TYPES` order; ValueError if unreadable."""
    t = _nfkc(str(text or ""))
    if not t.strip():
        return []
    ja: set[str] = set()
    for word, code in _WMD_JA:
        if word in t:
            ja.add(code)
            t = t.replace(word, " ")
    en: set[str] = set()
    for tok in re.findall(r"[A-Za-z]+", t):
        if tok.upper() in WMD_TYPES:
            en.add(tok.upper())
        elif tok.casefold() in _WMD_WORDS:
            en.add(_WMD_WORDS[tok.casefold()])
        else:
            raise ValueError(f"unknown WMD type {tok!r} (expected B, C, M, N)")
    rest = re.sub(r"[A-Za-z]+|[\s,、，;；/・()]", "", t)
    if rest:
        raise ValueError(f"unrecognised text {rest!r} in the Type of WMD cell")
    if ja and en and ja != en:
        raise ValueError(f"the Japanese ({''.join(sorted(ja))}) and English "
                         f"({''.join(sorted(en))}) WMD types disagree")
    codes = ja | en
    return [c for c in WMD_TYPES if c in codes]


def _cw_flag(text: str) -> bool:
    t = _collapse(_nfkc(str(text or ""))).casefold()
    if not t:
        return False
    if "通常兵器" in t or re.search(r"(?<![a-z])cw(?![a-z])", t) or t in _CW_TRUE:
        return True
    if t in _CW_FALSE:
        return False
    raise ValueError("unrecognised Conventional Weapons mark (expected '通常兵器 CW', 1 "
                     "or empty)")


def _concern_text(codes: Sequence[str], cw: bool) -> str | None:
    words = [WMD_TYPES[c] for c in codes]
    if cw:
        words.append(CW_LABEL)
    return ", ".join(words) if words else None


# --------------------------------------------------------------------------- countries
def _norm_country(text: str) -> str:
    t = _collapse(_nfkc(str(text))).casefold().replace("’", "'").replace("‘", "'")
    return t.strip(" .")


@functools.lru_cache(maxsize=1)
def _country_index() -> tuple[dict[str, str], dict[str, str], frozenset[str]]:
    from analytics.reference import countries

    ref = countries()
    names: dict[str, str] = {}
    for col in ("name", "name_ja"):
        for iso3, nm in zip(ref["iso3"], ref[col], strict=True):
            if isinstance(nm, str) and nm:
                names.setdefault(_norm_country(nm), iso3)
    for key, iso3 in COUNTRY_ALIASES.items():
        names[_norm_country(key)] = iso3
    iso2 = {str(a).upper(): i for i, a in zip(ref["iso3"], ref["iso2"], strict=True)
            if isinstance(a, str) and a}
    return names, iso2, frozenset(ref["iso3"])


def resolve_country_name(text: str) -> str | None:
    """ISO3 of a country name as METI/MOFA write it (English or Japanese), else None.

    >>> resolve_country_name("Islamic Republic of Iran"), resolve_country_name("香港")
    ('IRN', 'HKG')
    >>> resolve_country_name("Republic of Korea"), resolve_country_name("Atlantis")
    ('KOR', None)
    """
    names, _, _ = _country_index()
    key = _norm_country(text)
    if not key:
        return None
    if key in names:
        return names[key]
    for prefix in _FORMAL_PREFIXES:
        if key.startswith(prefix) and key[len(prefix):] in names:
            return names[key[len(prefix):]]
    return None


def _resolve_country_cell(*texts: str) -> tuple[str | None, str | None]:
    """(ISO3, problem) from a country cell (its lines) or several cells."""
    found: dict[str, str] = {}
    lines = [ln for t in texts for ln in _lines(t or "")]
    if not lines:
        return None, None
    whole = resolve_country_name(" ".join(lines))
    if whole:
        return whole, None
    for line in lines:
        iso3 = resolve_country_name(line)
        if iso3:
            found.setdefault(iso3, line)
    if len(found) > 1:
        return None, f"the lines name different countries ({', '.join(found)})"
    return (next(iter(found)), None) if found else (None, None)


# --------------------------------------------------------------------------- failures
class _Problems:
    """Collects bad cells of one file; raises them together."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.format: list[tuple[int, str, Any, str, str]] = []
        self.country: list[tuple[int, str, Any]] = []

    def bad(self, row: int, column: str, value: Any, problem: str, remedy: str) -> None:
        self.format.append((row, column, value, problem, remedy))

    def unknown_country(self, row: int, column: str, value: Any) -> None:
        self.country.append((row, column, value))

    def raise_format(self) -> None:
        if not self.format:
            return
        row, column, value, problem, remedy = self.format[0]
        if len(self.format) > 1:
            more = "; ".join(f"row {r}, column {c!r}: value {v!r}: {p}"
                             for r, c, v, p, _ in self.format[1:11])
            extra = len(self.format) - 11
            problem = (f"{problem} (and {len(self.format) - 1} more problem(s): {more}"
                       + (f"; ... {extra} more" if extra > 0 else "") + ")")
        raise SourceFormatError(problem, source=self.source, row=row, column=column,
                                value=value, remedy=remedy)

    def raise_country(self) -> None:
        if not self.country:
            return
        row, column, value = self.country[0]
        what = "unknown country or region" if str(value).strip() else "empty country"
        msg = f"{self.source}, row {row}, column {column!r}: value {value!r}: {what}"
        if len(self.country) > 1:
            msg += (f" (and {len(self.country) - 1} more row(s): "
                    + ", ".join(f"row {r} {v!r}" for r, _, v in self.country[1:11])
                    + (", ..." if len(self.country) > 11 else "") + ")")
        msg += f". Remedy: {_REMEDY_COUNTRY}"
        err = UnknownCountry(msg)
        err.source, err.row, err.column, err.value = self.source, row, column, value
        err.remedy = _REMEDY_COUNTRY
        err.rows = [r for r, _, _ in self.country]
        raise err

    def warn_dropped(self, what: str) -> None:
        n = len(self.country)
        examples = ", ".join(f"row {r} {v!r}" for r, _, v in self.country[:5])
        warnings.warn(f"{self.source}: dropped {n} {what} row(s) with an unknown country "
                      f"(lenient=True): {examples}{', ...' if n > 5 else ''}. To keep "
                      f"them: {_REMEDY_COUNTRY.split(', or pass')[0]}",
                      UserWarning, stacklevel=3)


# --------------------------------------------------------------------------- dates
def _find_date(text: str) -> dt.date | None:
    t = _collapse(_nfkc(text))
    cands: list[tuple[int, int, int]] = []
    for m in re.finditer(r"(20\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日", t):
        cands.append((int(m[1]), int(m[2]), int(m[3])))
    for m in re.finditer(r"令和\s*(\d{1,2}|元)\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日", t):
        year = 1 if m[1] == "元" else int(m[1])
        cands.append((2018 + year, int(m[2]), int(m[3])))
    for m in re.finditer(r"(?<!\d)(20\d{2})[/.-](\d{1,2})[/.-](\d{1,2})(?!\d)", t):
        cands.append((int(m[1]), int(m[2]), int(m[3])))
    months = "|".join(_MONTHS)
    for m in re.finditer(rf"({months})\.?\s+(\d{{1,2}}),?\s+(20\d{{2}})", t, re.I):
        cands.append((int(m[3]), _MONTHS[m[1].lower()], int(m[2])))
    for m in re.finditer(rf"(\d{{1,2}})\s+({months}),?\s+(20\d{{2}})", t, re.I):
        cands.append((int(m[3]), _MONTHS[m[2].lower()], int(m[1])))
    for y, mo, d in cands:
        try:
            return dt.date(y, mo, d)
        except ValueError:
            continue
    return None


def _date_from_filename(path: Path) -> dt.date | None:
    for m in re.finditer(r"(?<!\d)(20\d{2})[-_]?(\d{2})[-_]?(\d{2})(?!\d)", path.name):
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            continue
    return None


def _revision(path: Path, titles: Sequence[str], revision: Any) -> tuple[str | None, str]:
    """(YYYY-MM-DD or None, where it came from)."""
    if revision is not None:
        if isinstance(revision, dt.date):
            date: dt.date | None = dt.date(revision.year, revision.month, revision.day)
        else:
            date = _find_date(str(revision))
        if date is None:
            raise SourceFormatError("revision is not a date", value=revision,
                                    remedy="give revision='YYYY-MM-DD'")
        return date.isoformat(), "argument"
    for title in titles:
        date = _find_date(title)
        if date:
            return date.isoformat(), "title cell"
    date = _date_from_filename(path)
    if date:
        return date.isoformat(), "file name"
    return None, "unknown"


# --------------------------------------------------------------------------- CSV
def _read_csv(path: Path, required: Sequence[str], remedy: str
              ) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and (CSV line of the record start, record) pairs; blank records skipped."""
    source = str(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            try:
                header = [h.strip() for h in next(reader)]
            except StopIteration:
                raise SourceFormatError("file is empty (no header line)", source=source,
                                        remedy=remedy) from None
            missing = [c for c in required if c not in header]
            if missing:
                raise SourceFormatError(
                    f"header lacks column(s) {missing} (header: {header})", source=source,
                    row=1, column=missing[0], remedy=remedy)
            out = []
            prev = reader.line_num
            for rec in reader:
                start, prev = prev + 1, reader.line_num
                if not any(f.strip() for f in rec):
                    continue
                if len(rec) != len(header):
                    raise SourceFormatError(
                        f"record has {len(rec)} fields but the header has {len(header)}",
                        source=source, row=start, value=",".join(rec)[:80], remedy=remedy)
                out.append((start, dict(zip(header, rec, strict=True))))
    except UnicodeDecodeError as err:
        raise SourceFormatError(f"not UTF-8 text ({err})", source=source,
                                remedy=remedy) from None
    except csv.Error as err:
        raise SourceFormatError(f"not a readable CSV file ({err})", source=source,
                                remedy=remedy) from None
    return header, out


# --------------------------------------------------------------------------- EUL xlsx
def _header_fields(cells: Sequence[str]) -> dict[int, str]:
    """Column index -> field, for the cells of a row that are header labels."""
    out = {}
    for j, text in enumerate(cells):
        lines = [_collapse(_nfkc(ln)).casefold().rstrip(":") for ln in _lines(text)]
        if not lines:
            continue
        for field, rx in _HEADER_RE.items():
            if all(rx.match(ln) for ln in lines):
                out[j] = field
                break
    return out


def _sheet_grid(ws) -> list[list[str]]:
    grid = [[_cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
    for rng in ws.merged_cells.ranges:
        value = _cell_text(ws.cell(rng.min_row, rng.min_col).value)
        for r in range(rng.min_row, rng.max_row + 1):
            while len(grid) < r:
                grid.append([])
            row = grid[r - 1]
            if len(row) < rng.max_col:
                row.extend([""] * (rng.max_col - len(row)))
            for c in range(rng.min_col, rng.max_col + 1):
                row[c - 1] = value
    return grid


def _find_header(grid: list[list[str]]) -> tuple[int, int, dict[str, list[int]]] | None:
    """(first header row index, first data row index, field -> column index)."""
    for i, cells in enumerate(grid[:HEADER_SCAN_ROWS]):
        fields = _header_fields(cells)
        if not {"country", "name"} <= set(fields.values()):
            continue
        end = i + 1
        if end < len(grid):
            nxt = _header_fields(grid[end])
            filled = [j for j, t in enumerate(grid[end]) if t.strip()]
            if nxt and len(nxt) == len(filled):
                fields = {**fields, **nxt}
                end += 1
        by_field: dict[str, list[int]] = {}
        for j, f in sorted(fields.items()):
            by_field.setdefault(f, []).append(j)
        return i, end, by_field
    return None


def _column_letter(j: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(j + 1)


def _read_eul_xlsx(path: Path, sheet: str | None) -> tuple[list[dict[str, Any]], list[str],
                                                          dict[str, Any]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    source = str(path)
    try:
        wb = openpyxl.load_workbook(path, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as err:
        raise SourceFormatError(f"not a readable xlsx workbook ({err})", source=source,
                                remedy=_REMEDY_LAYOUT) from None
    sheets = [wb[sheet]] if sheet is not None and sheet in wb.sheetnames else wb.worksheets
    if sheet is not None and sheet not in wb.sheetnames:
        raise SourceFormatError(f"no sheet {sheet!r} (sheets: {wb.sheetnames})",
                                source=source, remedy="pass sheet=None to search all sheets")
    for ws in sheets:
        grid = _sheet_grid(ws)
        found = _find_header(grid)
        if found is None:
            continue
        head, start, by_field = found
        break
    else:
        raise SourceFormatError(
            f"no header row with a 'Country or Region' (国名、地域名) and a 'Company or "
            f"Organization' (企業名、組織名) column in the first {HEADER_SCAN_ROWS} rows of "
            f"sheet(s) {wb.sheetnames}", source=source, remedy=_REMEDY_LAYOUT)
    header_rows = grid[head:start]

    def label(j: int) -> str:
        text = " ".join(_collapse(" ".join(_lines(r[j]))) for r in header_rows
                        if j < len(r) and r[j].strip())
        return f"{_column_letter(j)} ({_collapse(text)})"

    for f, cols in by_field.items():
        if len(cols) > 1:
            raise SourceFormatError(
                f"columns {', '.join(label(j) for j in cols)} all look like the "
                f"{_FIELD_TITLES[f]!r} column", source=source, row=head + 1,
                remedy=_REMEDY_LAYOUT)
    missing = [f for f in _REQUIRED_FIELDS if f not in by_field]
    if missing:
        raise SourceFormatError(
            f"header row lacks the column(s) {[_FIELD_TITLES[f] for f in missing]} "
            f"(found: {[label(c[0]) for c in by_field.values()]})", source=source,
            row=head + 1, remedy=_REMEDY_LAYOUT)
    col = {f: c[0] for f, c in by_field.items()}
    labels = {f: label(j) for f, j in col.items()}
    titles = [t for r in grid[:head] for t in r if t.strip()]
    if wb.properties.title:
        titles.append(str(wb.properties.title))

    records = []
    for i in range(start, len(grid)):
        cells = grid[i]

        def get(field: str, cells: list[str] = cells) -> str:
            j = col.get(field)
            return cells[j] if j is not None and j < len(cells) else ""

        if not any(get(f).strip() for f in ("country", "name", "aliases", "wmd", "cw")):
            continue
        records.append({"row": i + 1, "country": get("country"), "name": get("name"),
                        "aliases": _split_alias_cell(get("aliases")), "wmd": get("wmd"),
                        "cw": get("cw")})
    info = {"sheet": ws.title, "header_row": head + 1, "columns": labels}
    return records, titles, info


def _read_eul_csv(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    _, rows = _read_csv(path, _EUL_CSV_COLUMNS, _REMEDY_LAYOUT)
    records = []
    for line, rec in rows:
        records.append({"row": line, "country": f"{rec['country_ja']}\n{rec['country_en']}",
                        "name": rec["name"], "aliases": _split_alias_list(rec["aliases"]),
                        "wmd": rec["wmd_concern"], "cw": rec["conventional_weapons"]})
    labels = {"country": "country_ja/country_en", "name": "name", "aliases": "aliases",
              "wmd": "wmd_concern", "cw": "conventional_weapons"}
    return records, {"header_row": 1, "columns": labels}


def read_meti_end_user_list(path: str | Path, *, lenient: bool = False,
                            revision: str | dt.date | None = None,
                            sheet: str | None = None) -> pd.DataFrame:
    """Read the METI End User List (official xlsx or flattened CSV) as Entities.

    Parameters
    ----------
    path : str or Path
        ``.xlsx``/``.xlsm`` as published by METI, or the flattened ``.csv``.
    lenient : bool, default False
        Drop rows whose country is unknown (with a warning giving the count and
        examples) instead of raising :class:`~analytics.errors.UnknownCountry`.
    revision : str or date, optional
        Revision date to record in ``source``; by default read from a title cell or
        the file name.
    sheet : str, optional
        Worksheet to read; by default the first sheet with a recognisable header.

    Returns
    -------
    DataFrame
        :class:`~analytics.schemas.Entities`, one row per listed entry, in file order;
        ``list_name`` = "METI End User List", ``source`` = "METI End User List
        (revision YYYY-MM-DD)". ``attrs`` holds ``source_file``, ``revision``,
        ``revision_from``, ``header_row``, ``columns``, ``rows_read`` and
        ``dropped_unknown_country``.

    Raises
    ------
    SourceFormatError
        Missing/unreadable file, no recognisable header, an empty company name, an
        unreadable Type-of-WMD or CW cell, a country cell naming two countries.
    UnknownCountry
        A country name not in the reference table or :data:`COUNTRY_ALIASES`
        (unless ``lenient``).

    Notes
    -----
    See the module docstring for the layout and the cell rules. Rows are Excel row
    numbers (xlsx) or CSV line numbers (header = line 1).
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise SourceFormatError("file not found", source=source, remedy=_REMEDY_LAYOUT)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        records, titles, info = _read_eul_xlsx(path, sheet)
    elif suffix == ".csv":
        records, info = _read_eul_csv(path)
        titles = []
    else:
        raise SourceFormatError(f"unsupported file type {suffix!r}", source=source,
                                remedy="give the .xlsx published by METI or the flattened "
                                ".csv")
    date, date_from = _revision(path, titles, revision)
    if date is None:
        warnings.warn(f"{source}: no revision date in a title cell or the file name; "
                      "recording 'revision date unknown' (pass revision='YYYY-MM-DD')",
                      UserWarning, stacklevel=2)
    src = f"{EUL_LIST_NAME} (revision {date})" if date else \
        f"{EUL_LIST_NAME} (revision date unknown)"

    labels = info["columns"]
    probs = _Problems(source)
    out = []
    for rec in records:
        row = rec["row"]
        name, name_aliases = _split_name_cell(rec["name"])
        if not name:
            probs.bad(row, labels["name"], rec["name"], "empty company/organization name",
                      "every entry needs a name; delete the row or fill in the name")
        try:
            concern = _concern_text(_wmd_codes(rec["wmd"]), False)
        except ValueError as err:
            probs.bad(row, labels["wmd"], rec["wmd"], str(err),
                      "write the types as in METI's list, e.g. 'ミサイル、核\\nM,N'")
            concern = None
        try:
            cw = _cw_flag(rec["cw"])
        except ValueError as err:
            probs.bad(row, labels.get("cw", "cw"), rec["cw"], str(err),
                      "mark conventional-weapons entries with '通常兵器\\nCW' (or 1)")
            cw = False
        if cw:
            concern = f"{concern}, {CW_LABEL}" if concern else CW_LABEL
        iso3, problem = _resolve_country_cell(rec["country"])
        if problem:
            probs.bad(row, labels["country"], rec["country"], problem,
                      "give one country per entry (Japanese and English names of it)")
        elif iso3 is None:
            probs.unknown_country(row, labels["country"], rec["country"])
        aliases = _unique([*name_aliases, *rec["aliases"]], exclude=name)
        out.append({"name": name, "aliases": "; ".join(aliases) or None, "country": iso3,
                    "concern": concern, "list_name": EUL_LIST_NAME, "source": src,
                    "_row": row})
    probs.raise_format()
    dropped = len(probs.country)
    if dropped and not lenient:
        probs.raise_country()
    if dropped:
        probs.warn_dropped("End User List")
        bad_rows = {r for r, _, _ in probs.country}
        out = [o for o in out if o["_row"] not in bad_rows]
    frame = pd.DataFrame.from_records(out, columns=[*Entities.columns(), "_row"])
    result = validate(frame.drop(columns="_row"), Entities, source=source)
    result.attrs.update({"source_file": path.name, "revision": date,
                         "revision_from": date_from, "rows_read": len(records),
                         "dropped_unknown_country": dropped, **info})
    return result


# --------------------------------------------------------------------------- specified
_EMBEDDED_EN = re.compile(r"[A-Za-z][\x20-\x7E]{7,}")


def _split_embedded_english(text: str) -> tuple[str, list[str]] | None:
    """'カタカナEnglish Name（中文名）別称：Alias' -> ('English Name', [aliases]) or None."""
    m = _EMBEDDED_EN.search(text)
    if not m:
        return None
    name = _collapse(m.group())
    lead = _collapse(text[:m.start()])
    rest = text[m.end():]
    aliases = [lead] if lead else []
    alt = re.split(r"別称\s*[:：]", rest, maxsplit=1)
    for group in re.findall(r"[（(]([^）)]*)[）)]", alt[0]):
        aliases += [a for a in (_collapse(p) for p in re.split(r"[、,;；]", group)) if a]
    if len(alt) > 1:
        aliases += [a for a in (_collapse(p) for p in re.split(r"[、;；]", alt[1])) if a]
    return name, aliases


def _infer_list_name(path: Path, codes: set[str], has_address_countries: bool) -> str | None:
    stem = path.stem.casefold()
    if "third" in stem or "daisangoku" in stem:
        return SPECIFIED_LIST_NAMES["third_countries"]
    if "belarus" in stem:
        return SPECIFIED_LIST_NAMES["belarus"]
    if "russia" in stem:
        return SPECIFIED_LIST_NAMES["russia"]
    if codes == {"RU"}:
        return SPECIFIED_LIST_NAMES["russia"]
    if codes == {"BY"}:
        return SPECIFIED_LIST_NAMES["belarus"]
    if not codes and has_address_countries:
        return SPECIFIED_LIST_NAMES["third_countries"]
    return None


def _merge_split_rows(rows: list[tuple[int, dict[str, str]]]
                      ) -> tuple[list[tuple[int, dict[str, str]]], int]:
    """Merge a name_ja-only row with the next name_en-only row without entry number."""
    out: list[tuple[int, dict[str, str]]] = []
    merged = 0
    for line, rec in rows:
        if out:
            prev = out[-1][1]
            if (not rec["entry_number"] and not rec["name_ja"] and rec["name_en"]
                    and not prev["name_en"] and prev["name_ja"]
                    and rec["country_code"] == prev["country_code"]):
                joined = dict(prev)
                joined["name_en"] = rec["name_en"]
                for f in ("aliases_en", "aliases_ja", "address", "parse_note",
                          "countries_in_address"):
                    vals = [v for v in (prev.get(f, ""), rec.get(f, "")) if v]
                    joined[f] = "; ".join(dict.fromkeys(vals))
                dates = _split_alias_list(prev["announcement_dates"]) + \
                    _split_alias_list(rec["announcement_dates"])
                joined["announcement_dates"] = "; ".join(sorted(set(dates)))
                out[-1] = (out[-1][0], joined)
                merged += 1
                continue
        out.append((line, dict(rec)))
    return out, merged


def read_specified_entities(path: str | Path, *, list_name: str | None = None,
                            lenient: bool = False) -> pd.DataFrame:
    """Read a MOFA/METI specified-entity CSV (Russia, Belarus, third countries).

    Parameters
    ----------
    path : str or Path
        CSV with columns ``entry_number, name_en, name_ja, aliases_en, aliases_ja,
        country_code, address, announcement_dates, parse_note`` and, for lists without
        country codes, ``countries_in_address``.
    list_name : str, optional
        ``list_name`` of the rows; by default inferred (see the module docstring), e.g.
        "MOFA/METI specified entities (Russia)".
    lenient : bool, default False
        Drop rows whose country is unknown (with a warning) instead of raising.

    Returns
    -------
    DataFrame
        :class:`~analytics.schemas.Entities`, one row per entity (rows of one entity
        merged), concern "export prohibition (Russia-related)". ``attrs``: ``source_file``,
        ``rows_read``, ``split_rows_merged``, ``duplicate_rows_merged``,
        ``names_split_at_semicolon``,
        ``multi_country_rows`` (rows whose address names several countries after the Hong
        Kong rule), ``rows_without_country``, ``dropped_unknown_country``,
        ``latest_announcement``.

    Raises
    ------
    SourceFormatError
        Missing file or columns, a row without any name, a list name that cannot be
        inferred.
    UnknownCountry
        A country code or address country not in the reference table (unless
        ``lenient``).
    """
    from analytics.entities import combine_lists

    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise SourceFormatError("file not found", source=source, remedy=_REMEDY_SPEC)
    header, rows = _read_csv(path, _SPEC_COLUMNS, _REMEDY_SPEC)
    has_addr = "countries_in_address" in header
    rows_read = len(rows)
    rows, split_merged = _merge_split_rows(rows)
    codes = {r["country_code"].strip().upper() for _, r in rows if r["country_code"].strip()}
    if list_name is None:
        list_name = _infer_list_name(path, codes, has_addr)
        if list_name is None:
            raise SourceFormatError(
                "cannot tell which list this is from the file name or the country codes "
                f"({sorted(codes)})", source=source,
                remedy="pass list_name=, e.g. 'MOFA/METI specified entities (Russia)'")
    _, iso2, iso3_known = _country_index()
    probs = _Problems(source)
    out = []
    dates: set[str] = set()
    multi = no_country = names_split = 0
    for line, rec in rows:
        name_en = _collapse(rec["name_en"])
        name_ja = _collapse(rec["name_ja"])
        extra: list[str] = []
        if ";" in name_en:  # aliases run into the name by the PDF parse
            name_en, *more = [p for p in _split_alias_list(name_en)] or [""]
            extra += more
            names_split += 1
        if name_en:
            name = name_en
            split = _split_embedded_english(name_ja) if name_ja else None
            extra = [*(split[1] + [split[0]] if split else [name_ja]), *extra]
        elif name_ja:
            split = _split_embedded_english(name_ja)
            name, extra = split if split else (name_ja, [])
        else:
            name = ""
            probs.bad(line, "name_en", rec["name_en"], "row has neither name_en nor name_ja",
                      "fill in the entity's name (see the METI PDF) or delete the row")
        aliases = _unique([*extra, *_split_alias_list(rec["aliases_en"]),
                           *_split_alias_list(rec["aliases_ja"], ";；、")], exclude=name)
        code = rec["country_code"].strip().upper()
        iso3: str | None = None
        if code:
            iso3 = iso2.get(code) if len(code) == 2 else (code if code in iso3_known else None)
            if iso3 is None:
                probs.unknown_country(line, "country_code", rec["country_code"])
        elif has_addr and rec["countries_in_address"].strip():
            found: list[str] = []
            unknown = False
            for part in _split_alias_list(rec["countries_in_address"]):
                c = resolve_country_name(part)
                if c is None:
                    unknown = True
                elif c not in found:
                    found.append(c)
            if unknown:
                probs.unknown_country(line, "countries_in_address",
                                      rec["countries_in_address"])
            if {"HKG", "MAC"} & set(found):
                found = [c for c in found if c != "CHN"]
            multi += len(found) > 1
            iso3 = found[0] if found else None
        else:
            no_country += 1
        dates.update(_split_alias_list(rec["announcement_dates"]))
        out.append({"name": name, "aliases": "; ".join(aliases) or None, "country": iso3,
                    "concern": SPECIFIED_CONCERN, "list_name": list_name, "_row": line})
    probs.raise_format()
    dropped = len(probs.country)
    if dropped and not lenient:
        probs.raise_country()
    if dropped:
        probs.warn_dropped("specified-entity")
        bad_rows = {r for r, _, _ in probs.country}
        out = [o for o in out if o["_row"] not in bad_rows]
    latest = max(dates) if dates else None
    src = f"{list_name} (announcements up to {latest})" if latest else list_name
    frame = pd.DataFrame.from_records(out, columns=[*Entities.columns(), "_row"])
    frame["source"] = src
    frame = validate(frame.drop(columns="_row"), Entities, source=source)
    result = combine_lists(frame)
    result.attrs.update({
        "source_file": path.name, "rows_read": rows_read, "split_rows_merged": split_merged,
        "duplicate_rows_merged": len(frame) - len(result), "multi_country_rows": multi,
        "rows_without_country": no_country, "names_split_at_semicolon": names_split,
        "dropped_unknown_country": dropped,
        "latest_announcement": latest,
    })
    return result
