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
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from analytics.errors import ConfigError, UnknownCategory, UnknownCountry
from analytics.schemas import (
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


@functools.lru_cache(maxsize=None)
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
    """HS2022 <-> HS2017 mapping for the codes that changed (:class:`HSConcordance`)."""
    return _load("hs_concordance").copy()


def events() -> pd.DataFrame:
    """Policy events (:class:`Events`), sorted by date."""
    return _load("events").sort_values("date", kind="stable").reset_index(drop=True)


@functools.lru_cache(maxsize=None)
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


def map_category_hs(
    category_hs_table: pd.DataFrame,
    to_version: str,
    concordance: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Express category membership in the HS version ``to_version``.

    Rows already in ``to_version`` are kept. Six-digit codes in another version are
    mapped through ``concordance`` (in either direction); a code absent from the
    concordance is unchanged between the versions (the concordance lists only codes that
    changed). Prefixes (HS2/HS4) are kept as they are.

    Returns columns ``category_id``, ``hs6``, ``hs_version`` (= ``to_version``),
    ``from_hs6`` (the code as defined) and ``mapped`` (bool), unique rows.

    >>> import pandas as pd
    >>> cat = pd.DataFrame({"category_id": ["uav", "ic"], "hs6": ["880730", "854231"],
    ...                     "hs_version": ["HS2022", "HS2022"]})
    >>> conc = pd.DataFrame({"from_version": ["HS2022"], "from_hs6": ["880730"],
    ...     "to_version": ["HS2017"], "to_hs6": ["880330"], "relation": ["1:1"]})
    >>> map_category_hs(cat, "HS2017", conc)[["category_id", "hs6", "mapped"]]
      category_id     hs6  mapped
    0          ic  854231   False
    1         uav  880330    True
    """
    conc = concordance if concordance is not None else _load("hs_concordance")
    recs = []
    for row in category_hs_table.itertuples(index=False):
        code, ver = str(row.hs6), str(row.hs_version)
        if ver == to_version or len(code) < 6:
            recs.append((row.category_id, code, code, False))
            continue
        fwd = conc[(conc["from_version"] == ver) & (conc["to_version"] == to_version)
                   & (conc["from_hs6"] == code)]["to_hs6"].tolist()
        back = conc[(conc["from_version"] == to_version) & (conc["to_version"] == ver)
                    & (conc["to_hs6"] == code)]["from_hs6"].tolist()
        targets = sorted(set(fwd) | set(back))
        if not targets:
            recs.append((row.category_id, code, code, False))
        else:
            recs.extend((row.category_id, t, code, True) for t in targets)
    out = pd.DataFrame(recs, columns=["category_id", "hs6", "from_hs6", "mapped"])
    out = out.drop_duplicates(["category_id", "hs6"]).sort_values(
        ["category_id", "hs6"]).reset_index(drop=True)
    out.insert(2, "hs_version", to_version)
    for col in ("category_id", "hs6", "hs_version", "from_hs6"):
        out[col] = out[col].astype(STR)
    return out[["category_id", "hs6", "hs_version", "from_hs6", "mapped"]]


def load_table(name: str) -> pd.DataFrame:
    """Any reference table by name (``countries``, ``categories``, ...)."""
    if name == "trade_codes":
        return trade_codes()
    if name not in _FILES:
        raise KeyError(f"unknown reference table {name!r}; known: {sorted(_FILES)}")
    return _load(name).copy()


def table_schema(name: str) -> type[Table]:
    return _FILES[name][1]
