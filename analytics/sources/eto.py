"""Reader for the ETO "Chip Explorer" supplier network (Georgetown CSET).

The Emerging Technology Observatory publishes the advanced-semiconductor supply chain as
five CSV files (``stages.csv``, ``inputs.csv``, ``sequence.csv``, ``providers.csv``,
``provision.csv``; repository ``georgetown-cset/eto-chip-explorer``, folder ``data/``).
:func:`read_eto_chip_explorer` turns them into the canonical ``suppliers`` table
(:class:`analytics.schemas.Suppliers`), the item graph and the item/stage tables.

Licence: CC BY-NC 4.0 (attribution, **non-commercial**). The files are read where they
are; never copy them into this repository.

Quirks of the source and how they are handled
---------------------------------------------
Shares are percent
    ``provision.share_provided`` is a market share in percent (0-100). It is divided by
    100, so ``share`` is in 0-1. A value outside 0-100 or not a number is a
    :class:`~analytics.errors.DataError` naming the file, CSV line, column and value.
Blank shares
    About a fifth of the provision rows (all from the 2019 CSET report) list a provider
    *without* a share. They cannot enter a share table; they are returned in
    ``unquantified`` (who is known to supply the item, share unknown).
Firm rows and country rows
    ETO gives, for many items, both company shares (``provider_type`` "organization") and
    country shares ("country"). They are two views of the same market and must never be
    summed. ``firm_shares`` and ``country_shares`` hold them apart; ``suppliers`` holds
    both, with ``provider_level`` (a frame aligned row by row) saying which is which;
    ``shares`` is ``suppliers`` with the ``provider_level`` and ``residual`` columns, the
    input of :mod:`analytics.suppliers`.
Residual rows
    "Various companies" / "Various countries" (and the bare "Various" spelling) hold the
    rest of the market. They are kept as rows with ``residual=True`` (a column of
    ``firm_shares``, ``country_shares`` and ``provider_level``, not of the ``Suppliers``
    schema), so totals stay complete and analytics decide whether to count them.
Totals above 100 %
    Shares between 0 and 1 % are rounded **up** to 1 % (and the others to 0.1 %), so an
    item's shares can sum to more than 100 % (up to 102 % in the 2026 snapshot, EDA
    software by country). ``totals`` reports, per item, level and year, the total share,
    the residual share and ``exceeds_one``. By default the shares are ETO's numbers;
    ``normalize=True`` rescales each (item, level, year) group to sum to 1.
Mixed years and sources
    One item's shares can come from different years and sources (2025 TechInsights-based
    estimates next to the 2019 CSET report). Mixing them makes shares that do not add up,
    so by default (``years="latest"``) only the latest year of each item *and level* is
    kept (a provider reported only in an older year is dropped with that year; the 2025
    estimate is taken as complete). ``years="latest_per_provider"`` keeps the latest row
    of each (item, provider) instead, and ``years="all"`` keeps every row (then an
    (item, provider) pair can occur once per year; select a year before computing
    concentration).
Country codes
    ``provider_country`` is ISO3: for an organisation the ``providers.country`` column;
    for a country provider the provider itself (``"TWN"``). The pseudo-codes ``EUR``
    (Europe) and ``Various countries`` become missing (``None``); such providers are
    kept as providers.
Duplicated provider ids
    ``providers.csv`` repeats a ``provider_id`` once per alias (Canon, Canon ANELVA,
    Canon Machinery are all P159). Rows of one id are merged (aliases joined with "; ");
    an id whose repeated rows disagree on name, type or country is a ``DataError``.
    Provider names come from ``providers.csv``: ``provision.provider_name`` holds some
    stale spellings ("Showa Denka", "Various") and is ignored.
Stage-level rows
    A few provision rows give the country shares of a whole stage (``S1`` Design, ``S2``
    Fabrication, ``S3`` ATP) rather than of an input. They are returned in
    ``stage_shares`` (Suppliers schema plus ``provider_level``/``residual``, ``item_id``
    = the stage id), not in ``suppliers``.
Stages of items
    ``inputs.stage_id`` is filled only for the eleven process nodes. ``items.stage``
    (and the node attribute ``stage``) derives a stage for every item from the nearest
    node downstream in the graph that has one (``None`` when there is none, e.g. the
    finished chip, or when the nearest ones disagree); ``stage_id`` keeps ETO's value.

Errors
------
A missing folder or file, an empty file, a missing column or a row with the wrong number
of fields raise :class:`~analytics.errors.SourceFormatError`. Bad values (a share outside
0-100, a provider id absent from ``providers.csv``, an unknown item id, a non-integer year,
an edge to an unknown item) are collected over the whole file and raised together: a
single bad cell as :class:`~analytics.errors.DataError`, several as
:class:`~analytics.errors.SchemaViolation` (a ``DataError`` listing every cell). Rows are
CSV line numbers (the header is line 1).
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
import warnings
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from analytics.errors import ConfigError, DataError, SchemaViolation, SourceFormatError
from analytics.schemas import STR, Suppliers, validate

__all__ = [
    "EtoChipExplorer",
    "read_eto_chip_explorer",
    "ETO_FILES",
    "PSEUDO_COUNTRY_CODES",
]

SOURCE_NAME = "ETO Chip Explorer (Georgetown CSET)"
LICENCE = "CC BY-NC 4.0"
URL = "https://github.com/georgetown-cset/eto-chip-explorer"
DOCS = "https://eto.tech/dataset-docs/chipexplorer"

#: Columns the reader needs in each file (other columns are ignored).
ETO_FILES: dict[str, tuple[str, ...]] = {
    "stages.csv": ("stage_id", "stage_name", "description",
                   "market_share_chart_global_market_size_info"),
    "inputs.csv": ("input_id", "input_name", "type", "stage_id", "year",
                   "market_share_chart_global_market_size_info"),
    "sequence.csv": ("input_id", "goes_into_id", "is_type_of_id"),
    "providers.csv": ("provider_name", "alias", "provider_id", "provider_type", "country"),
    "provision.csv": ("provider_id", "provided_id", "share_provided", "year", "source"),
}

#: Country codes in ETO that are not countries (mapped to a missing provider_country).
PSEUDO_COUNTRY_CODES = frozenset({"EUR", "VARIOUS COUNTRIES", "VARIOUS"})

LEVELS = {"organization": "firm", "country": "country"}
_ISO3 = re.compile(r"^[A-Z]{3}$")
_RESIDUAL = re.compile(r"^\s*various\b", re.IGNORECASE)
_YEARS = ("latest", "latest_per_provider", "all")
_REMEDY_FILES = (f"use the unchanged data/ folder of {URL} (files stages.csv, inputs.csv, "
                 "sequence.csv, providers.csv, provision.csv)")


@dataclass(frozen=True, eq=False)
class EtoChipExplorer:
    """The ETO Chip Explorer as canonical tables and an item graph.

    Attributes
    ----------
    suppliers : DataFrame
        :class:`~analytics.schemas.Suppliers` table (item_id, item_name, provider,
        provider_country, share in 0-1, year, source), firm **and** country rows of the
        items; never sum across the two levels (see ``provider_level``).
    provider_level : DataFrame
        Aligned row by row with ``suppliers``: ``provider_id``, ``provider_level``
        ("firm" or "country"), ``residual`` (bool), ``line`` (CSV line in provision.csv).
    firm_shares, country_shares : DataFrame
        The organisation rows and the country rows: Suppliers columns plus ``residual``.
    totals : DataFrame
        Per item_id, provider_level and year: ``total_share`` (as reported, 0-1 scale),
        ``residual_share``, ``n_providers``, ``exceeds_one``.
    unquantified : DataFrame
        Provision rows without a share: item_id, item_name, provider, provider_country,
        provider_level, year, source, line.
    stage_shares : DataFrame
        Provision rows about whole stages (S1-S3), like ``firm_shares`` plus
        ``provider_level``.
    items : DataFrame
        inputs.csv: item_id, item_name, type, stage_id (ETO's, mostly missing), stage
        (derived), year, market_size (text).
    stages : DataFrame
        stages.csv: stage_id, stage_name, description, market_size (text).
    providers : DataFrame
        One row per provider_id: provider_id, provider, aliases, provider_level,
        provider_country, residual.
    graph : networkx.DiGraph
        Nodes = item ids (attributes name, type, stage_id, stage); edges input ->
        goes_into (relation="goes_into") and subtype -> parent (relation="is_type_of").
    provenance : dict
        source, licence, url, folder (name only), files (sha256 by file name), options.
    """

    suppliers: pd.DataFrame
    provider_level: pd.DataFrame
    firm_shares: pd.DataFrame
    country_shares: pd.DataFrame
    totals: pd.DataFrame
    unquantified: pd.DataFrame
    stage_shares: pd.DataFrame
    items: pd.DataFrame
    stages: pd.DataFrame
    providers: pd.DataFrame
    graph: nx.DiGraph
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def shares(self) -> pd.DataFrame:
        """``suppliers`` with the ``provider_level`` and ``residual`` columns (a copy).

        This is the input the functions of :mod:`analytics.suppliers` expect.
        """
        out = self.suppliers.copy()
        out["provider_level"] = self.provider_level["provider_level"].to_numpy()
        out["residual"] = self.provider_level["residual"].to_numpy()
        return out


# --------------------------------------------------------------------------- reading
class _Failures:
    """Collects bad cells of one file, then raises them together."""

    def __init__(self, source: str, table: str) -> None:
        self.source = source
        self.table = table
        self.rows: list[dict[str, Any]] = []

    def add(self, row: int, column: str, value: Any, check: str, remedy: str) -> None:
        self.rows.append({"source": self.source, "row": row, "column": column,
                          "value": value, "check": check, "remedy": remedy})

    def raise_if_any(self) -> None:
        if not self.rows:
            return
        if len(self.rows) == 1:
            f = self.rows[0]
            raise DataError(f["check"], source=f["source"], row=f["row"], column=f["column"],
                            value=f["value"], remedy=f["remedy"])
        frame = pd.DataFrame(self.rows)
        remedy = "; ".join(dict.fromkeys(frame["remedy"]))
        raise SchemaViolation(self.table, frame.drop(columns="remedy"), source=self.source,
                              remedy=remedy)


def _read_csv(path: Path, required: Sequence[str]) -> pd.DataFrame:
    """Read a CSV as text; add ``csv_line`` (the CSV line where each record starts)."""
    source = str(path)
    if not path.is_file():
        raise SourceFormatError("file not found", source=source, remedy=_REMEDY_FILES)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            try:
                header = [h.strip() for h in next(reader)]
            except StopIteration:
                raise SourceFormatError("file is empty (no header line)", source=source,
                                        remedy=_REMEDY_FILES) from None
            records: list[list[str]] = []
            lines: list[int] = []
            prev = reader.line_num
            for rec in reader:
                start, prev = prev + 1, reader.line_num
                if not any(f.strip() for f in rec):
                    continue
                if len(rec) != len(header):
                    raise SourceFormatError(
                        f"record has {len(rec)} fields but the header has {len(header)}",
                        source=source, row=start, value=",".join(rec)[:80],
                        remedy="the file is truncated or edited; " + _REMEDY_FILES)
                records.append(rec)
                lines.append(start)
    except UnicodeDecodeError as err:
        raise SourceFormatError(f"not UTF-8 text ({err})", source=source,
                                remedy=_REMEDY_FILES) from None
    except csv.Error as err:
        raise SourceFormatError(f"not a readable CSV file ({err})", source=source,
                                remedy=_REMEDY_FILES) from None
    missing = [c for c in required if c not in header]
    if missing:
        raise SourceFormatError(
            f"header lacks column(s) {missing} (header: {header})", source=source, row=1,
            column=missing[0], remedy="ETO renamed or dropped a column; "
            "use the expected release or update analytics.sources.eto.ETO_FILES")
    frame = pd.DataFrame(records, columns=header, dtype=object)
    frame = frame.apply(lambda s: s.str.strip())
    frame["csv_line"] = np.asarray(lines, dtype="int64")
    return frame


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _none_if_blank(value: str) -> str | None:
    return value if value else None


def _parse_year(text: str, line: int, column: str, failures: _Failures) -> int | None:
    if not text:
        return None
    try:
        num = float(text)
    except ValueError:
        num = math.nan
    if not math.isfinite(num) or num != int(num) or not 1900 <= num <= 2100:
        failures.add(line, column, text, "year is not a four-digit integer",
                     "write the year as e.g. 2025 or leave it blank")
        return None
    return int(num)


def _country_code(code: str | None) -> str | None:
    """ISO3 or None for blanks and pseudo-codes (EUR, Various countries)."""
    if not code or code.upper() in PSEUDO_COUNTRY_CODES:
        return None
    return code if _ISO3.match(code) else None


# --------------------------------------------------------------------------- tables
def _read_stages(path: Path) -> pd.DataFrame:
    raw = _read_csv(path, ETO_FILES["stages.csv"])
    fails = _Failures(str(path), "stages")
    for rec in raw.itertuples(index=False):
        if not rec.stage_id:
            fails.add(rec.csv_line, "stage_id", rec.stage_id, "empty stage id",
                      "every stage needs an id such as S1")
    dup = raw["stage_id"].duplicated() & raw["stage_id"].ne("")
    for rec in raw[dup].itertuples(index=False):
        fails.add(rec.csv_line, "stage_id", rec.stage_id, "duplicate stage id",
                  "keep one row per stage")
    fails.raise_if_any()
    out = pd.DataFrame({
        "stage_id": raw["stage_id"],
        "stage_name": raw["stage_name"],
        "description": raw["description"].map(_none_if_blank),
        "market_size": raw["market_share_chart_global_market_size_info"].map(_none_if_blank),
    })
    return out.astype({c: STR for c in out.columns}).reset_index(drop=True)


def _read_items(path: Path) -> pd.DataFrame:
    raw = _read_csv(path, ETO_FILES["inputs.csv"])
    fails = _Failures(str(path), "inputs")
    years = []
    for rec in raw.itertuples(index=False):
        if not rec.input_id:
            fails.add(rec.csv_line, "input_id", rec.input_id, "empty input id",
                      "every input needs an id such as N20")
        if not rec.input_name:
            fails.add(rec.csv_line, "input_name", rec.input_name, "empty input name",
                      "every input needs a name")
        years.append(_parse_year(rec.year, rec.csv_line, "year", fails))
    dup = raw["input_id"].duplicated() & raw["input_id"].ne("")
    for rec in raw[dup].itertuples(index=False):
        fails.add(rec.csv_line, "input_id", rec.input_id, "duplicate input id",
                  "keep one row per input")
    fails.raise_if_any()
    out = pd.DataFrame({
        "item_id": raw["input_id"].astype(STR),
        "item_name": raw["input_name"].astype(STR),
        "type": raw["type"].map(_none_if_blank).astype(STR),
        "stage_id": raw["stage_id"].map(_none_if_blank).astype(STR),
        "stage": pd.Series(pd.NA, index=raw.index, dtype=STR),
        "year": pd.array(years, dtype="Int64"),
        "market_size": raw["market_share_chart_global_market_size_info"].map(
            _none_if_blank).astype(STR),
    })
    return out.reset_index(drop=True)


def _read_providers(path: Path) -> pd.DataFrame:
    raw = _read_csv(path, ETO_FILES["providers.csv"])
    fails = _Failures(str(path), "providers")
    for rec in raw.itertuples(index=False):
        if not rec.provider_id:
            fails.add(rec.csv_line, "provider_id", rec.provider_id, "empty provider id",
                      "every provider needs an id such as P88")
        if rec.provider_type not in LEVELS:
            fails.add(rec.csv_line, "provider_type", rec.provider_type,
                      "provider_type is not 'organization' or 'country'",
                      "use one of the two ETO provider types")
        if not rec.provider_name:
            fails.add(rec.csv_line, "provider_name", rec.provider_name, "empty provider name",
                      "every provider needs a name")
    fails.raise_if_any()
    # one id per alias: merge, but the repeated rows must agree
    groups: dict[str, list[dict[str, Any]]] = {}
    for rec in raw.to_dict("records"):
        groups.setdefault(rec["provider_id"], []).append(rec)
    rows = []
    for pid, grp in groups.items():
        first = grp[0]
        for rec in grp[1:]:
            for col in ("provider_name", "provider_type", "country"):
                if rec[col] != first[col]:
                    fails.add(rec["csv_line"], col, rec[col],
                              f"provider id {pid} repeats with a different {col} "
                              f"({first[col]!r} on line {first['csv_line']})",
                              "rows of one provider_id may differ only in alias")
        aliases = [a for a in dict.fromkeys(r["alias"] for r in grp)
                   if a and a != first["provider_name"]]
        level = LEVELS[first["provider_type"]]
        code = first["country"] if level == "firm" else first["provider_name"]
        iso3 = _country_code(code)
        residual = bool(_RESIDUAL.match(first["provider_name"]))
        if (code and iso3 is None and code.upper() not in PSEUDO_COUNTRY_CODES
                and not residual):
            warnings.warn(f"{path}, line {first['csv_line']}: provider "
                          f"{first['provider_name']!r} has country {code!r}, not an ISO3 "
                          "code; provider_country left missing", stacklevel=4)
        rows.append({"provider_id": pid, "provider": first["provider_name"],
                     "aliases": "; ".join(aliases) or None, "provider_level": level,
                     "provider_country": iso3, "residual": residual})
    fails.raise_if_any()
    out = pd.DataFrame(rows, columns=["provider_id", "provider", "aliases", "provider_level",
                                      "provider_country", "residual"])
    for col in ("provider_id", "provider", "aliases", "provider_level", "provider_country"):
        out[col] = out[col].astype(STR)
    out["residual"] = out["residual"].astype(bool)
    return out


def _derive_stages(graph: nx.DiGraph) -> dict[Any, str | None]:
    """Own stage_id, else the stage of the nearest downstream nodes that have one."""
    own = {n: d.get("stage_id") for n, d in graph.nodes(data=True)}
    derived: dict[Any, str | None] = {}
    for node in graph:
        if own[node]:
            derived[node] = own[node]
            continue
        seen, frontier, found = {node}, deque([node]), set()
        while frontier and not found:  # breadth-first, one distance at a time
            nxt: deque = deque()
            for u in frontier:
                for v in graph.successors(u):
                    if v in seen:
                        continue
                    seen.add(v)
                    if own[v]:
                        found.add(own[v])
                    else:
                        nxt.append(v)
            frontier = nxt
        derived[node] = found.pop() if len(found) == 1 else None
    return derived


def _read_graph(path: Path, items: pd.DataFrame) -> nx.DiGraph:
    raw = _read_csv(path, ETO_FILES["sequence.csv"])
    fails = _Failures(str(path), "sequence")
    known = set(items["item_id"])
    graph = nx.DiGraph()
    for rec in items.itertuples(index=False):
        graph.add_node(rec.item_id, name=rec.item_name,
                       type=None if pd.isna(rec.type) else rec.type,
                       stage_id=None if pd.isna(rec.stage_id) else rec.stage_id)
    for rec in raw.itertuples(index=False):
        if rec.input_id not in known:
            fails.add(rec.csv_line, "input_id", rec.input_id, "input id not in inputs.csv",
                      "add the input to inputs.csv or fix the id")
        targets = [(c, rel) for c, rel in (("goes_into_id", "goes_into"),
                                            ("is_type_of_id", "is_type_of"))
                   if getattr(rec, c)]
        if not targets:
            fails.add(rec.csv_line, "goes_into_id", "", "row names neither goes_into_id nor "
                      "is_type_of_id", "give the item the input goes into or is a type of")
        for col, rel in targets:
            target = getattr(rec, col)
            if target not in known:
                fails.add(rec.csv_line, col, target, "item id not in inputs.csv",
                          "add the input to inputs.csv or fix the id")
                continue
            if rec.input_id not in known:
                continue
            prior = graph.get_edge_data(rec.input_id, target)
            if prior is not None and prior["relation"] != rel:
                warnings.warn(f"{path}, line {rec.csv_line}: edge {rec.input_id} -> {target} "
                              f"is both {prior['relation']!r} and {rel!r}; kept "
                              f"{prior['relation']!r}", stacklevel=3)
                continue
            graph.add_edge(rec.input_id, target, relation=rel)
    fails.raise_if_any()
    nx.set_node_attributes(graph, _derive_stages(graph), "stage")
    return graph


def _read_provision(path: Path, providers: pd.DataFrame, item_names: dict[str, str],
                    stage_names: dict[str, str]) -> pd.DataFrame:
    raw = _read_csv(path, ETO_FILES["provision.csv"])
    fails = _Failures(str(path), "provision")
    known_providers = set(providers["provider_id"])
    shares, years = [], []
    for rec in raw.itertuples(index=False):
        if rec.provider_id not in known_providers:
            fails.add(rec.csv_line, "provider_id", rec.provider_id,
                      "provider id not in providers.csv",
                      "add the provider to providers.csv or fix the id")
        if rec.provided_id not in item_names and rec.provided_id not in stage_names:
            fails.add(rec.csv_line, "provided_id", rec.provided_id,
                      "item id not in inputs.csv nor stages.csv",
                      "add the input to inputs.csv or fix the id")
        share = math.nan
        if rec.share_provided:
            try:
                share = float(rec.share_provided)
            except ValueError:
                share = math.nan
                fails.add(rec.csv_line, "share_provided", rec.share_provided,
                          "share is not a number", "write the percent share as a number "
                          "(e.g. 81.5) or leave it blank when unknown")
            else:
                if not (math.isfinite(share) and 0.0 <= share <= 100.0):
                    fails.add(rec.csv_line, "share_provided", rec.share_provided,
                              "share is outside 0-100 (ETO shares are percent)",
                              "correct the share; a fraction 0-1 must be multiplied by 100")
                    share = math.nan
        shares.append(share)
        years.append(_parse_year(rec.year, rec.csv_line, "year", fails))
    fails.raise_if_any()
    out = pd.DataFrame({
        "line": raw["csv_line"].to_numpy(),
        "provider_id": raw["provider_id"].to_numpy(),
        "item_id": raw["provided_id"].to_numpy(),
        "share_pct": np.asarray(shares, dtype="float64"),
        "year": pd.array(years, dtype="Int64"),
        "source": raw["source"].map(_none_if_blank).to_numpy(),
    })
    out = out.merge(providers, on="provider_id", how="left", validate="many_to_one")
    names = {**stage_names, **item_names}
    out["item_name"] = out["item_id"].map(names)
    out["is_stage"] = ~out["item_id"].isin(list(item_names)) & out["item_id"].isin(
        list(stage_names))
    return out


def _check_duplicates(frame: pd.DataFrame, path: Path, by: list[str]) -> None:
    dup = frame.duplicated(by, keep=False)
    if not dup.any():
        return
    fails = _Failures(str(path), "provision")
    for rec in frame[dup].itertuples(index=False):
        fails.add(rec.line, "provider_id", rec.provider_id,
                  f"provider {rec.provider!r} has several shares of item {rec.item_id} "
                  f"for year {rec.year}",
                  "keep one share per (provider, item, year)")
    fails.raise_if_any()


def _select_years(frame: pd.DataFrame, years: str) -> pd.DataFrame:
    if years == "all" or frame.empty:
        return frame
    key = ["item_id", "provider_level"] if years == "latest" else ["item_id", "provider_id"]
    yr = frame["year"].astype("float64")
    latest = yr.groupby([frame[k] for k in key]).transform("max")
    keep = (yr == latest) | latest.isna()
    return frame[keep.to_numpy()]


def _order(frame: pd.DataFrame, item_order: dict[str, int]) -> pd.DataFrame:
    pos = frame["item_id"].map(item_order).fillna(len(item_order)).astype(int)
    lvl = (frame["provider_level"] != "firm").astype(int)
    return (frame.assign(_pos=pos, _lvl=lvl)
            .sort_values(["_pos", "_lvl", "year", "share_pct", "line"],
                         ascending=[True, True, True, False, True], kind="stable")
            .drop(columns=["_pos", "_lvl"]).reset_index(drop=True))


def read_eto_chip_explorer(folder: str | Path, *, years: str = "latest",
                           normalize: bool = False) -> EtoChipExplorer:
    r"""Read the ETO Chip Explorer files into canonical tables and an item graph.

    Parameters
    ----------
    folder : str or Path
        Folder with ``stages.csv``, ``inputs.csv``, ``sequence.csv``, ``providers.csv``
        and ``provision.csv`` as published in ``georgetown-cset/eto-chip-explorer/data``.
    years : {"latest", "latest_per_provider", "all"}
        Which rows to keep when one item's shares come from several years: the latest
        year of each (item, level) (default), the latest row of each (item, provider),
        or every row.
    normalize : bool
        False (default) keeps ETO's shares (divided by 100); True rescales each
        (item, level, year) group to sum to 1 (the rounding-up of small shares makes
        some totals exceed 100 %). ``totals`` always reports ETO's own totals.

    Returns
    -------
    EtoChipExplorer
        See the class for the tables; the module docstring for the quirks.

    Raises
    ------
    SourceFormatError
        Missing folder or file, empty file, missing column, ragged record.
    DataError
        Bad values (share outside 0-100, unknown provider or item id, bad year,
        duplicated share); :class:`~analytics.errors.SchemaViolation` when several.
    ConfigError
        Unknown ``years`` option.

    Examples
    --------
    A two-item folder (only the columns the reader needs): a firm holds 95 %, "Various
    companies" 6 % (total 101 %), and the country view says the Netherlands holds 100 %.

    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> files = {
    ...     "stages.csv": "stage_id,stage_name,description,"
    ...                   "market_share_chart_global_market_size_info\nS2,Fabrication,,\n",
    ...     "inputs.csv": "input_id,input_name,type,stage_id,year,"
    ...                   "market_share_chart_global_market_size_info\n"
    ...                   "N1,Scanner,tool_resource,,2025,$1 billion (2025)\n"
    ...                   "N2,Exposure,process,S2,,\n",
    ...     "sequence.csv": "input_id,goes_into_id,is_type_of_id\nN1,N2,\n",
    ...     "providers.csv": "provider_name,alias,provider_id,provider_type,country\n"
    ...                      "Acme,,P1,organization,NLD\n"
    ...                      "Various companies,,P2,organization,Various countries\n"
    ...                      "NLD,Netherlands,P3,country,\n",
    ...     "provision.csv": "provider_id,provided_id,share_provided,year,source\n"
    ...                      "P1,N1,95,2025,est.\nP2,N1,6,2025,est.\nP3,N1,100,2025,est.\n"}
    >>> for name, text in files.items():
    ...     _ = (Path(tmp.name) / name).write_text(text)
    >>> eto = read_eto_chip_explorer(tmp.name)
    >>> eto.firm_shares[["provider", "provider_country", "share", "residual"]].to_dict("records")
    [{'provider': 'Acme', 'provider_country': 'NLD', 'share': 0.95, 'residual': False}, {'provider': 'Various companies', 'provider_country': nan, 'share': 0.06, 'residual': True}]
    >>> eto.totals[["provider_level", "total_share", "exceeds_one"]].to_dict("records")
    [{'provider_level': 'firm', 'total_share': 1.01, 'exceeds_one': True}, {'provider_level': 'country', 'total_share': 1.0, 'exceeds_one': False}]
    >>> eto.graph.nodes["N1"]["stage"], eto.provenance["licence"]
    ('S2', 'CC BY-NC 4.0')
    >>> tmp.cleanup()
    """
    if years not in _YEARS:
        raise ConfigError(f"years={years!r}: use one of {_YEARS}")
    folder = Path(folder)
    if not folder.is_dir():
        raise SourceFormatError("folder not found", source=str(folder),
                                remedy="pass the folder holding the ETO CSV files; "
                                + _REMEDY_FILES)
    paths = {name: folder / name for name in ETO_FILES}

    stages = _read_stages(paths["stages.csv"])
    items = _read_items(paths["inputs.csv"])
    graph = _read_graph(paths["sequence.csv"], items)
    items["stage"] = items["item_id"].map(nx.get_node_attributes(graph, "stage")).astype(STR)
    providers = _read_providers(paths["providers.csv"])
    item_names = dict(zip(items["item_id"], items["item_name"], strict=True))
    stage_names = dict(zip(stages["stage_id"], stages["stage_name"], strict=True))
    prov = _read_provision(paths["provision.csv"], providers, item_names, stage_names)

    quantified = prov[prov["share_pct"].notna()]
    _check_duplicates(quantified, paths["provision.csv"], ["item_id", "provider_id", "year"])
    item_order = {k: i for i, k in enumerate([*items["item_id"], *stages["stage_id"]])}
    quantified = _order(_select_years(quantified, years), item_order)

    group = ["item_id", "provider_level", "year"]
    g = quantified.groupby(group, sort=False, dropna=False)
    quantified = quantified.assign(share=quantified["share_pct"] / 100.0)
    totals = pd.DataFrame({
        "item_name": g["item_name"].first(),
        "n_providers": g["provider"].size(),
        "total_share": g["share_pct"].sum() / 100.0,
        "residual_share": quantified["share"].where(quantified["residual"], 0.0)
        .groupby([quantified[k] for k in group], sort=False, dropna=False).sum(),
    }).reset_index()
    totals["exceeds_one"] = totals["total_share"] > 1.0 + 1e-9
    totals["year"] = totals["year"].astype("Int64")
    if normalize:
        tot = quantified.groupby(group, sort=False, dropna=False)["share"].transform("sum")
        quantified["share"] = np.where(tot > 0, quantified["share"] / tot.where(tot > 0, 1.0),
                                       0.0)

    cols = Suppliers.columns()
    valid = validate(quantified[cols], Suppliers, source=str(paths["provision.csv"]),
                     rows=quantified["line"].to_numpy())
    extra = quantified[["provider_id", "provider_level", "residual", "line", "is_stage"]]
    extra = extra.reset_index(drop=True)
    is_item = ~extra["is_stage"].to_numpy()
    suppliers = valid[is_item].reset_index(drop=True)
    level = extra[is_item].drop(columns="is_stage").reset_index(drop=True)
    level["provider_id"] = level["provider_id"].astype(STR)
    level["provider_level"] = level["provider_level"].astype(STR)
    level["residual"] = level["residual"].astype(bool)

    def _with(frame: pd.DataFrame, lv: pd.DataFrame, mask, *extra_cols) -> pd.DataFrame:
        out = frame[mask].copy()
        for col in extra_cols:
            out[col] = lv.loc[mask, col].to_numpy()
        return out.reset_index(drop=True)

    is_firm = (level["provider_level"] == "firm").to_numpy()
    firm_shares = _with(suppliers, level, is_firm, "residual")
    country_shares = _with(suppliers, level, ~is_firm, "residual")
    st = extra[~is_item].reset_index(drop=True)
    stage_shares = valid[~is_item].reset_index(drop=True)
    stage_shares["provider_level"] = st["provider_level"].astype(STR).to_numpy()
    stage_shares["residual"] = st["residual"].astype(bool).to_numpy()

    blank = prov[prov["share_pct"].isna()]
    unquantified = pd.DataFrame({
        "item_id": blank["item_id"].astype(STR),
        "item_name": blank["item_name"].astype(STR),
        "provider": blank["provider"].astype(STR),
        "provider_country": blank["provider_country"].astype(STR),
        "provider_level": blank["provider_level"].astype(STR),
        "year": blank["year"].astype("Int64"),
        "source": blank["source"].astype(STR),
        "line": blank["line"].astype("int64"),
    }).reset_index(drop=True)

    provenance = {
        "source": SOURCE_NAME,
        "licence": LICENCE,
        "url": URL,
        "docs": DOCS,
        "folder": folder.resolve().name,
        "files": {name: _sha256(p) for name, p in paths.items()},
        "options": {"years": years, "normalize": normalize},
    }
    return EtoChipExplorer(
        suppliers=suppliers, provider_level=level, firm_shares=firm_shares,
        country_shares=country_shares, totals=totals, unquantified=unquantified,
        stage_shares=stage_shares, items=items, stages=stages, providers=providers,
        graph=graph, provenance=provenance)
