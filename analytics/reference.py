"""Curated reference tables: countries and groups, categories -> HS6, HS concordance, events.

The tables are committed CSVs in ``data/reference/`` (each row carries ``source`` and
``as_of``). A wheel ships them inside the package as ``analytics/_reference``; an editable
checkout reads them from ``data/reference``. Loaders validate once and cache; they return
copies, so callers may modify what they get.

Coalitions
----------
Everywhere in the library a ``coalition`` is a preset name or a list of ISO3 codes:

>>> resolve_coalition("jp_us_nl")
('JPN', 'NLD', 'USA')
>>> len(resolve_coalition("group_a"))
28
>>> resolve_coalition(["jpn", "USA"])
('JPN', 'USA')
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from analytics.errors import ConfigError, HSVersionError, UnknownCategory, UnknownCountry
from analytics.schemas import (
    HS_VERSIONS,
    STR,
    Categories,
    CategoryHS,
    Countries,
    Events,
    HSConcordance,
    Table,
    TradeCodes,
    validate,
)

__all__ = [
    "reference_dir",
    "countries",
    "trade_codes",
    "categories",
    "category_hs",
    "hs_concordance",
    "events",
    "COALITION_PRESETS",
    "coalition_presets",
    "resolve_coalition",
    "coalition_label",
    "concern_destinations",
    "check_countries",
    "check_categories",
    "map_category_hs",
    "hs_version_path",
    "describe_concordance_gaps",
    "known_iso3",
    "country_names",
]

_FILES = {
    "countries": ("countries.csv", Countries),
    "categories": ("categories.csv", Categories),
    "category_hs": ("category_hs.csv", CategoryHS),
    "hs_concordance": ("hs_concordance.csv", HSConcordance),
    "events": ("events.csv", Events),
}

#: preset name -> (label, how members are chosen)
COALITION_PRESETS: dict[str, str] = {
    "japan": "Japan",
    "jp_us_nl": "Japan + United States + Netherlands",
    "group_a": "Japan's Group A (white-list) countries plus Japan",
    "wassenaar": "Wassenaar Arrangement participating states",
    "g7": "G7 (Canada, France, Germany, Italy, Japan, United Kingdom, United States)",
}


def reference_dir() -> Path:
    """Folder holding the reference CSVs (installed copy first, then the checkout)."""
    here = Path(__file__).resolve().parent
    for cand in (here / "_reference", here.parent / "data" / "reference"):
        if (cand / "countries.csv").is_file():
            return cand
    raise FileNotFoundError(
        "reference tables not found: expected analytics/_reference (installed) or "
        "data/reference (checkout). Reinstall the package."
    )


@functools.cache
def _load(name: str) -> pd.DataFrame:
    fname, table = _FILES[name]
    path = reference_dir() / fname
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    return validate(raw, table, source=str(path.name))


def countries() -> pd.DataFrame:
    """Countries, territories and trade pseudo-codes with group flags (:class:`Countries`)."""
    return _load("countries").copy()


def categories() -> pd.DataFrame:
    """Technology categories (:class:`Categories`)."""
    return _load("categories").copy()


def category_hs() -> pd.DataFrame:
    """Category -> HS6 (or prefix) membership with HS versions (:class:`CategoryHS`)."""
    return _load("category_hs").copy()


def hs_concordance() -> pd.DataFrame:
    """Mapping between HS versions for the codes that changed (:class:`HSConcordance`).

    Rows link pairs of versions (today HS2022 <-> HS2017); :func:`map_category_hs` chains
    them and warns about steps no row covers.
    """
    return _load("hs_concordance").copy()


def events() -> pd.DataFrame:
    """Policy events (:class:`Events`), sorted by date."""
    return _load("events").sort_values("date", kind="stable").reset_index(drop=True)


@functools.cache
def _trade_codes() -> pd.DataFrame:
    path = reference_dir() / "trade_codes.csv"
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    return validate(raw, TradeCodes, source=path.name)


def trade_codes() -> pd.DataFrame:
    """Numeric codes used by trade data (UN M49 / Comtrade / BACI) -> ISO3.

    Columns ``code``, ``iso3``, ``name``, ``kind`` (``country``, ``historical``,
    ``aggregate``, ``nes``), ``source``. Aggregates (0 = World, ...) are not countries:
    loaders drop them and report the count.
    """
    return _trade_codes().copy()


@functools.cache
def known_iso3() -> frozenset[str]:
    """ISO3 codes of the countries table (cached; for cheap membership checks)."""
    return frozenset(_load("countries")["iso3"])


def country_names(lang: str = "en") -> dict[str, str]:
    """ISO3 -> display name in English (``"en"``) or Japanese (``"ja"``)."""
    c = _load("countries")
    col = "name_ja" if lang == "ja" else "name"
    names = c[col].fillna(c["name"]) if col == "name_ja" else c[col]
    return dict(zip(c["iso3"], names, strict=True))


def check_countries(codes: Iterable[str], *, known: Iterable[str] | None = None,
                    what: str = "country code") -> None:
    """Raise :class:`UnknownCountry` naming every code not in the countries table."""
    known_set = set(known) if known is not None else set(_load("countries")["iso3"])
    unknown = sorted({str(c) for c in codes} - known_set)
    if unknown:
        raise UnknownCountry(
            f"unknown {what}(s) {unknown}: use ISO3 codes from the countries reference "
            f"table (data/reference/countries.csv)"
        )


def check_categories(ids: Iterable[str], cats: pd.DataFrame | None = None) -> None:
    """Raise :class:`UnknownCategory` naming every id not in the categories table."""
    known = set((cats if cats is not None else _load("categories"))["category_id"])
    unknown = sorted(set(ids) - known)
    if unknown:
        raise UnknownCategory(
            f"unknown category id(s) {unknown}; known: {sorted(known)}"
        )


def coalition_presets() -> dict[str, str]:
    """Preset names and their labels."""
    return dict(COALITION_PRESETS)


def _preset_members(name: str, ctry: pd.DataFrame) -> tuple[str, ...]:
    if name == "japan":
        return ("JPN",)
    if name == "jp_us_nl":
        return ("JPN", "NLD", "USA")
    if name == "group_a":
        return tuple(sorted(set(ctry.loc[ctry["jp_group_a"], "iso3"]) | {"JPN"}))
    if name == "wassenaar":
        return tuple(sorted(ctry.loc[ctry["wassenaar"], "iso3"]))
    if name == "g7":
        return tuple(sorted(ctry.loc[ctry["g7"], "iso3"]))
    raise ConfigError(
        f"unknown coalition preset {name!r}; presets: {sorted(COALITION_PRESETS)} "
        f"or pass a list of ISO3 codes"
    )


def resolve_coalition(coalition: str | Sequence[str],
                      countries_table: pd.DataFrame | None = None) -> tuple[str, ...]:
    """Members of a coalition: a preset name or a list of ISO3 codes (sorted, unique).

    Group A counts Japan itself as a member (Group A lists the *other* countries that
    Japan treats as white-list destinations).

    Raises
    ------
    ConfigError
        Unknown preset name.
    UnknownCountry
        A listed code is not a known ISO3 code.
    """
    ctry = countries_table if countries_table is not None else _load("countries")
    if isinstance(coalition, str):
        key = coalition.strip().lower()
        if key in COALITION_PRESETS:
            return _preset_members(key, ctry)
        if "," in coalition:
            coalition = [c for c in coalition.split(",") if c.strip()]
        elif len(key) == 3 and key.isalnum():
            coalition = [coalition]
        else:
            raise ConfigError(
                f"unknown coalition preset {coalition!r}; presets: "
                f"{sorted(COALITION_PRESETS)}, or a list of ISO3 codes"
            )
    members = tuple(sorted({str(c).strip().upper() for c in coalition}))
    if not members:
        raise ConfigError("empty coalition: give a preset name or at least one ISO3 code")
    check_countries(members, known=ctry["iso3"], what="coalition member")
    return members


def coalition_label(coalition: str | Sequence[str]) -> str:
    """Human label of a coalition (preset label or the joined codes)."""
    if isinstance(coalition, str) and coalition.strip().lower() in COALITION_PRESETS:
        return COALITION_PRESETS[coalition.strip().lower()]
    members = coalition.split(",") if isinstance(coalition, str) else list(coalition)
    return " + ".join(m.strip().upper() for m in members)


def concern_destinations(countries_table: pd.DataFrame | None = None) -> tuple[str, ...]:
    """Destinations of concern: under sanctions or a UN arms embargo (sorted ISO3)."""
    c = countries_table if countries_table is not None else _load("countries")
    sanctioned = c["sanctioned"].fillna("").astype(str).str.len() > 0
    return tuple(sorted(c.loc[sanctioned | c["un_arms_embargo"].astype(bool), "iso3"]))


def _hop_maps(conc: pd.DataFrame) -> dict[tuple[str, str], dict[str, set[str]]]:
    """(version a, version b) -> code in a -> codes in b, both directions of every row."""
    maps: dict[tuple[str, str], dict[str, set[str]]] = {}
    for a, x, b, y in zip(conc["from_version"].astype(str), conc["from_hs6"].astype(str),
                          conc["to_version"].astype(str), conc["to_hs6"].astype(str),
                          strict=True):
        maps.setdefault((a, b), {}).setdefault(x, set()).add(y)
        maps.setdefault((b, a), {}).setdefault(y, set()).add(x)
    return maps


def _check_version(version: str, what: str) -> None:
    if version not in HS_VERSIONS:
        raise HSVersionError(f"unknown HS version {version!r} ({what})", value=version,
                             remedy=f"use one of {', '.join(HS_VERSIONS)}")


def _path(from_version: str, to_version: str,
          pairs: set[tuple[str, str]]) -> list[tuple[str, str, bool]]:
    if from_version == to_version:
        return []
    # a chain of concordance tables (any pairs of versions the table links)
    prev: dict[str, str] = {from_version: ""}
    queue = [from_version]
    while queue and to_version not in prev:
        nxt = []
        for v in queue:
            for a, b in sorted(pairs):
                if a == v and b not in prev:
                    prev[b] = v
                    nxt.append(b)
        queue = nxt
    if to_version in prev:
        steps, v = [], to_version
        while v != from_version:
            steps.append((prev[v], v, True))
            v = prev[v]
        return steps[::-1]
    # no complete chain: walk the versions in chronological order; a step the table does
    # not cover carries codes unchanged (consecutive uncovered steps are merged)
    i, j = HS_VERSIONS.index(from_version), HS_VERSIONS.index(to_version)
    order = HS_VERSIONS[i:j + 1] if i < j else HS_VERSIONS[j:i + 1][::-1]
    steps = []
    for a, b in zip(order, order[1:], strict=False):
        covered = (a, b) in pairs
        if steps and not covered and not steps[-1][2]:
            steps[-1] = (steps[-1][0], b, False)
        else:
            steps.append((a, b, covered))
    return steps


def hs_version_path(from_version: str, to_version: str,
                    concordance: pd.DataFrame | None = None) -> list[tuple[str, str, bool]]:
    """Steps that express codes of ``from_version`` in ``to_version`` with the concordance.

    A chain of versions linked by concordance rows (e.g. HS2022 -> HS2017 -> HS2012) is
    used when there is one. Otherwise the steps follow the versions in chronological order
    and a step that the concordance does not cover is marked ``covered=False``: codes cross
    it unchanged, which misses every code that changed between those versions.

    Parameters
    ----------
    from_version, to_version : str
        HS versions (``HS1992`` ... ``HS2022``).
    concordance : DataFrame, optional
        :class:`~analytics.schemas.HSConcordance` rows (default: the reference table).

    Returns
    -------
    list of (str, str, bool)
        ``(from, to, covered)`` per step; empty when the versions are equal.

    Raises
    ------
    HSVersionError
        An unknown HS version.

    Examples
    --------
    >>> hs_version_path("HS2022", "HS2017")
    [('HS2022', 'HS2017', True)]
    >>> hs_version_path("HS2022", "HS2007")
    [('HS2022', 'HS2017', True), ('HS2017', 'HS2007', False)]
    """
    _check_version(from_version, "from_version")
    _check_version(to_version, "to_version")
    conc = concordance if concordance is not None else _load("hs_concordance")
    return _path(from_version, to_version, set(_hop_maps(conc)))


def map_category_hs(
    category_hs_table: pd.DataFrame,
    to_version: str,
    concordance: pd.DataFrame | None = None,
    *,
    warn: bool = True,
) -> pd.DataFrame:
    """Express category membership in the HS version ``to_version``.

    Rows already in ``to_version`` are kept. Six-digit codes in another version are
    mapped through ``concordance`` (in either direction), chaining tables where needed
    (HS2022 -> HS2017 -> HS2012, see :func:`hs_version_path`); a code absent from a
    table is unchanged between its two versions (the concordance lists only codes that
    changed). Prefixes (HS2/HS4) are kept as they are.

    When no table covers a step (e.g. HS2017 -> HS2012 without such rows), the codes
    cross it unchanged, which is wrong for every code that changed: a warning names the
    step, the categories and the codes, and the frame's ``attrs["concordance_gaps"]``
    lists them (one dict per step: ``from_version``, ``to_version``, ``categories``,
    ``codes``).

    Parameters
    ----------
    category_hs_table : DataFrame
        :class:`~analytics.schemas.CategoryHS` rows.
    to_version : str
        Target HS version.
    concordance : DataFrame, optional
        :class:`~analytics.schemas.HSConcordance` rows (default: the reference table).
    warn : bool, default True
        Warn about uncovered steps (callers that report them otherwise pass False).

    Returns
    -------
    DataFrame
        Columns ``category_id``, ``hs6``, ``hs_version`` (= ``to_version``),
        ``from_hs6`` (the code as defined) and ``mapped`` (bool: the concordance changed
        the code), unique rows.

    Raises
    ------
    HSVersionError
        ``to_version`` or a row's version is not an HS version.

    Examples
    --------
    >>> import pandas as pd
    >>> cat = pd.DataFrame({"category_id": ["uav", "ic"], "hs6": ["880730", "854231"],
    ...                     "hs_version": ["HS2022", "HS2022"]})
    >>> conc = pd.DataFrame({"from_version": ["HS2022"], "from_hs6": ["880730"],
    ...     "to_version": ["HS2017"], "to_hs6": ["880330"], "relation": ["1:1"]})
    >>> map_category_hs(cat, "HS2017", conc)[["category_id", "hs6", "mapped"]]
      category_id     hs6  mapped
    0          ic  854231   False
    1         uav  880330    True

    Chained through a second table:

    >>> conc12 = pd.concat([conc, pd.DataFrame({"from_version": ["HS2017"],
    ...     "from_hs6": ["880330"], "to_version": ["HS2012"], "to_hs6": ["880399"],
    ...     "relation": ["1:1"]})])
    >>> map_category_hs(cat, "HS2012", conc12)[["category_id", "hs6", "from_hs6"]]
      category_id     hs6 from_hs6
    0          ic  854231   854231
    1         uav  880399   880730
    """
    _check_version(to_version, "to_version")
    conc = concordance if concordance is not None else _load("hs_concordance")
    maps = _hop_maps(conc)
    pairs = set(maps)
    paths: dict[str, list[tuple[str, str, bool]]] = {}
    gaps: dict[tuple[str, str], set[tuple[str, str]]] = {}
    recs = []
    for cat, code, ver in zip(category_hs_table["category_id"].astype(str),
                              category_hs_table["hs6"].astype(str),
                              category_hs_table["hs_version"].astype(str), strict=True):
        if ver == to_version or len(code) < 6:
            recs.append((cat, code, code, False))
            continue
        if ver not in paths:
            _check_version(ver, f"category {cat}")
            paths[ver] = _path(ver, to_version, pairs)
        current, changed = {code}, False
        for a, b, covered in paths[ver]:
            if not covered:
                gaps.setdefault((a, b), set()).add((cat, code))
                continue
            step = maps.get((a, b), {})
            nxt: set[str] = set()
            for c in current:
                targets = step.get(c)
                if targets:
                    nxt |= targets
                    changed = True
                else:
                    nxt.add(c)
            current = nxt
        recs.extend((cat, t, code, changed) for t in sorted(current))
    out = pd.DataFrame(recs, columns=["category_id", "hs6", "from_hs6", "mapped"])
    out = out.drop_duplicates(["category_id", "hs6"]).sort_values(
        ["category_id", "hs6"]).reset_index(drop=True)
    out.insert(2, "hs_version", to_version)
    for col in ("category_id", "hs6", "hs_version", "from_hs6"):
        out[col] = out[col].astype(STR)
    out = out[["category_id", "hs6", "hs_version", "from_hs6", "mapped"]]
    found = [{"from_version": a, "to_version": b,
              "categories": sorted({c for c, _ in members}),
              "codes": sorted({k for _, k in members})}
             for (a, b), members in sorted(gaps.items())]
    out.attrs["concordance_gaps"] = found
    if warn and found:
        warnings.warn(describe_concordance_gaps(found), stacklevel=2)
    return out


def describe_concordance_gaps(gaps: list[dict], limit: int = 12) -> str:
    """Warning text for ``attrs["concordance_gaps"]`` of :func:`map_category_hs`."""
    parts = []
    for g in gaps:
        codes = g["codes"]
        shown = ", ".join(codes[:limit]) + (f" ... ({len(codes)} in all)"
                                             if len(codes) > limit else "")
        cats = g["categories"]
        cats_shown = ", ".join(cats[:limit]) + (f" ... ({len(cats)} in all)"
                                                if len(cats) > limit else "")
        parts.append(f"no HS concordance from {g['from_version']} to {g['to_version']}: "
                     f"codes of categories {cats_shown} cross that step unchanged "
                     f"({shown})")
    return ("; ".join(parts) + ". Codes that changed between those versions match "
            "nothing or other goods. Remedy: add rows for those versions (with their "
            "source) to data/reference/hs_concordance.csv, or use data in the categories' "
            "HS version")


def load_table(name: str) -> pd.DataFrame:
    """Any reference table by name (``countries``, ``categories``, ...)."""
    if name == "trade_codes":
        return trade_codes()
    if name not in _FILES:
        raise KeyError(f"unknown reference table {name!r}; known: {sorted(_FILES)}")
    return _load(name).copy()


def table_schema(name: str) -> type[Table]:
    return _FILES[name][1]
