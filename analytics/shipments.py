r"""Transaction-level customs records (shipments): country flows, attribution, firm networks.

Pure functions on :class:`~analytics.schemas.Shipments` frames (one row per declaration
line: ``date``, ``declaration_id``, ``consignee``, ``importer_country``, ``shipper``,
``dispatch_country``, ``origin_country``, ``brand``, ``hs_code``, ``value_usd``,
``quantity``) and on the aggregates built from them. Reading the records is the job of
:mod:`analytics.sources.shipments`; aggregating tens of millions of them runs on Dask in
:mod:`analytics.shipments_dask`, with the very same per-chunk functions as here, so the
two give the same tables.

Three countries per shipment
----------------------------
A customs record names the country the goods were *dispatched* from (the last shipper's
country), their country of *origin* (where they were made) and, through the brand, the
*headquarters* of the brand owner. Reports on Russia's imports of battlefield goods
(KSE Institute 2023-2024) read the three side by side: most goods are dispatched from
China, Hong Kong, Turkey or the UAE, yet a large part carries brands of coalition
countries. :func:`attribute_shipments` computes those three splits for a selection,
the share of coalition-brand goods dispatched from third countries, the top brands and
shippers of each dispatching hub.

Firm networks
-------------
:func:`firm_edges` aggregates shipments to shipper -> consignee edges (value, count, first
and last date, categories). :func:`firm_graph` turns names into firm ids (a firm is a
normalised name in a country, :func:`analytics.entities.normalize_name`), and
:func:`intermediaries` finds firms that both receive and forward goods of the same
category, with in/out values and timing. :func:`supplier_concentration` applies
:func:`analytics.chokepoints.concentration` to each consignee's suppliers,
:func:`trace_firms` runs proportional-mixing tracing (:mod:`analytics.tracing`, sparse:
up to 10^6 firms) and :func:`brand_paths` lists the k largest paths of a brand's goods
from its first shippers to given (e.g. listed) consignees.

Counterparty names are screened with :func:`screen_parties` (rapidfuzz through
:func:`analytics.entities.match_names`): every candidate comes with its score and a status
for review; nothing is matched silently.

>>> import pandas as pd
>>> s = pd.DataFrame({
...     "date": pd.to_datetime(["2023-01-05", "2023-02-01", "2023-03-01"]),
...     "declaration_id": ["a", "b", "c"], "consignee": ["R1", "R1", "R2"],
...     "importer_country": ["RUS", "RUS", "RUS"], "shipper": ["H1", "J1", "H1"],
...     "dispatch_country": ["HKG", "JPN", "HKG"], "origin_country": ["JPN", "JPN", "CHN"],
...     "brand": ["Aster", "Aster", "Lotus"], "hs_code": ["85423100", "854231", "85423990"],
...     "value_usd": [60.0, 30.0, 10.0], "quantity": [1.0, None, 2.0]})
>>> country_flows(s, by="dispatch")[["year", "exporter", "importer", "hs6", "value_usd"]]
   year exporter importer     hs6  value_usd
0  2023      HKG      RUS  854231       60.0
1  2023      HKG      RUS  854239       10.0
2  2023      JPN      RUS  854231       30.0
>>> brands = pd.DataFrame({"brand": ["Aster", "Lotus"], "hq_country": ["JPN", "CHN"]})
>>> a = attribute_shipments(s, brands, coalition=["JPN"])
>>> a.summary["coalition_brand_share"], round(a.summary["coalition_brand_via_third_share"], 3)
(0.9, 0.667)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics.errors import AnalysisError, ConfigError, NodeNotFound
from analytics.schemas import STR, Flows
from analytics.tracing import largest_paths

__all__ = [
    "FLOW_KEYS",
    "EDGE_KEYS",
    "UNKNOWN",
    "parse_period",
    "period_months",
    "hs6_of",
    "category_codes",
    "hs6_categories",
    "CategoryMasks",
    "category_masks",
    "prepare_shipments",
    "select_shipments",
    "country_flows",
    "flow_partial",
    "finish_flows",
    "edge_partial",
    "finish_edges",
    "firm_edges",
    "firm_category_edges",
    "ShipmentAggregates",
    "aggregate_shipments",
    "shipment_cube",
    "Attribution",
    "attribute_shipments",
    "screen_parties",
    "firm_ids",
    "firm_graph",
    "intermediaries",
    "supplier_concentration",
    "country_origin_groups",
    "trace_firms",
    "brand_edges",
    "brand_paths",
]

#: key columns of the country flows (``exporter`` is the dispatch or origin country)
FLOW_KEYS = ["year", "exporter", "importer", "hs6"]
#: key columns of a firm edge: the two firms and their countries
EDGE_KEYS = ["shipper", "dispatch_country", "consignee", "importer_country"]
#: label of a missing origin country or brand headquarters in the attribution tables
UNKNOWN = "unknown"

_PERIOD_RE = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


# ---------------------------------------------------------------------------- periods
def parse_period(text: str | None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """A period ``"2023"``, ``"2023-03"``, ``"2023-01:2023-12"`` as ``[start, end)`` dates.

    Either side of ``:`` may be empty (open). ``None`` or ``""`` is the whole time.

    >>> parse_period("2023-01:2023-12")
    (Timestamp('2023-01-01 00:00:00'), Timestamp('2024-01-01 00:00:00'))
    >>> parse_period("2022")
    (Timestamp('2022-01-01 00:00:00'), Timestamp('2023-01-01 00:00:00'))
    >>> parse_period(":2022-06")
    (None, Timestamp('2022-07-01 00:00:00'))

    Raises
    ------
    ConfigError
        Not of the form YYYY or YYYY-MM (around an optional ``:``), or an end before the
        start.
    """
    if text is None or str(text).strip() == "":
        return None, None
    raw = str(text).strip()
    lo_txt, sep, hi_txt = raw.partition(":")
    if not sep:
        hi_txt = lo_txt

    def bound(part: str, end: bool) -> pd.Timestamp | None:
        part = part.strip()
        if not part:
            return None
        m = _PERIOD_RE.match(part)
        if not m or (m.group(2) and not 1 <= int(m.group(2)) <= 12):
            raise ConfigError(f"period {raw!r}: {part!r} is not YYYY or YYYY-MM; write e.g. "
                              "2023, 2023-03 or 2023-01:2023-12")
        year, month = int(m.group(1)), int(m.group(2) or (12 if end else 1))
        ts = pd.Timestamp(year=year, month=month, day=1)
        return ts + pd.offsets.MonthBegin(1) if end else ts

    lo, hi = bound(lo_txt, False), bound(hi_txt, True)
    if lo is not None and hi is not None and hi <= lo:
        raise ConfigError(f"period {raw!r} ends before it starts")
    return lo, hi


def period_months(start: pd.Timestamp | None, end: pd.Timestamp | None,
                  available: Iterable[str]) -> list[str]:
    """Month partitions (``"YYYY-MM"``) of ``available`` that overlap ``[start, end)``.

    >>> period_months(*parse_period("2023-02:2023-03"), ["2023-01", "2023-02", "2023-03"])
    ['2023-02', '2023-03']
    """
    out = []
    for m in available:
        try:
            ts = pd.Timestamp(f"{m}-01")
        except ValueError:
            out.append(m)  # not a month partition: cannot prune it
            continue
        if (start is None or ts + pd.offsets.MonthBegin(1) > start) and \
                (end is None or ts < end):
            out.append(m)
    return out


# ---------------------------------------------------------------------------- codes
def hs6_of(hs_code: pd.Series) -> pd.Series:
    """The six-digit HS code of each (6 to 10 digit) national code, as text."""
    return hs_code.astype(STR).str.slice(0, 6)


def category_codes(dataset, categories: Iterable[str] | None = None) -> pd.DataFrame:
    """Category -> HS6 codes or HS2/HS4 prefixes, in the dataset's HS version.

    Returns ``category_id``, ``code`` (the category definitions mapped through the
    dataset's concordance, :func:`analytics.network.category_membership`).
    """
    from analytics.network import category_membership

    mem = category_membership(dataset)
    if categories is not None:
        wanted = [categories] if isinstance(categories, str) else list(categories)
        unknown = sorted(set(wanted) - set(dataset.categories["category_id"]))
        if unknown:
            from analytics.errors import UnknownCategory

            raise UnknownCategory(f"unknown category id(s) {unknown}; defined: "
                                  f"{sorted(dataset.categories['category_id'])}")
        mem = mem[mem["category_id"].isin(wanted)]
    out = mem[["category_id", "hs6"]].rename(columns={"hs6": "code"}).drop_duplicates()
    return out.sort_values(["category_id", "code"]).reset_index(drop=True)


def hs6_categories(hs6: Iterable[str], codes: pd.DataFrame) -> pd.DataFrame:
    """Which categories each HS6 code belongs to (prefix definitions expanded).

    ``codes`` has ``category_id`` and ``code`` (six digits or a prefix), as from
    :func:`category_codes`. Returns ``hs6``, ``category_id``.

    >>> codes = pd.DataFrame({"category_id": ["ic", "chips", "chips"],
    ...                       "code": ["854231", "8542", "8541"]})
    >>> hs6_categories(["854231", "854239", "940360"], codes).to_dict("list")
    {'hs6': ['854231', '854231', '854239'], 'category_id': ['chips', 'ic', 'chips']}
    """
    uniq = sorted({str(h) for h in hs6})
    recs = []
    by_len: dict[int, dict[str, list[str]]] = {}
    for cat, code in zip(codes["category_id"], codes["code"], strict=True):
        by_len.setdefault(len(code), {}).setdefault(code, []).append(cat)
    for h in uniq:
        cats = set()
        for n, table in by_len.items():
            cats.update(table.get(h[:n], ()))
        recs.extend((h, c) for c in sorted(cats))
    return pd.DataFrame(recs, columns=["hs6", "category_id"]).astype(STR)


@dataclass(frozen=True)
class CategoryMasks:
    """Category membership of HS6 codes as bit masks (one bit per category).

    ``categories`` lists the category ids in bit order; ``codes`` the category
    definitions (``category_id``, ``code``). Masks are computed for any codes on demand,
    so the same object serves every chunk of a large table.
    """

    categories: tuple[str, ...]
    codes: pd.DataFrame

    def mask(self, hs6: pd.Series) -> np.ndarray:
        """int64 mask of each HS6 code (0: in no category)."""
        if not self.categories or len(hs6) == 0:
            return np.zeros(len(hs6), dtype=np.int64)
        codes, uniq = pd.factorize(pd.Series(hs6).astype(STR), use_na_sentinel=True)
        uniq = [str(u) for u in uniq]
        table = hs6_categories(uniq, self.codes)
        bit = {c: np.int64(1) << np.int64(i) for i, c in enumerate(self.categories)}
        per = dict.fromkeys(uniq, np.int64(0))
        for h, c in zip(table["hs6"], table["category_id"], strict=True):
            if c in bit:
                per[h] = per[h] | bit[c]
        vals = np.array([per[u] for u in uniq] + [0], dtype=np.int64)
        return vals[codes]  # code -1 (missing) picks the trailing 0

    def names(self, mask: int) -> list[str]:
        """Category ids of one mask."""
        return [c for i, c in enumerate(self.categories) if int(mask) >> i & 1]

    def label(self, mask: int) -> str:
        """``;``-joined category ids of one mask ("" for none)."""
        return ";".join(self.names(mask))


def category_masks(codes: pd.DataFrame | None) -> CategoryMasks:
    """Bit masks of the categories in ``codes`` (``category_id``, ``code``); None: none.

    Raises
    ------
    AnalysisError
        More than 63 categories.
    """
    if codes is None or len(codes) == 0:
        return CategoryMasks((), pd.DataFrame({"category_id": [], "code": []}))
    cats = tuple(sorted(set(codes["category_id"])))
    if len(cats) > 63:
        raise AnalysisError(f"{len(cats)} categories: at most 63 can be tracked at once; "
                            "pass categories= to choose")
    return CategoryMasks(cats, codes[["category_id", "code"]].reset_index(drop=True))


# ---------------------------------------------------------------------------- chunks
def prepare_shipments(frame: pd.DataFrame, masks: CategoryMasks | None = None
                      ) -> pd.DataFrame:
    """Add ``year``, ``hs6`` and ``catmask`` (category bit mask) to a chunk of shipments.

    The per-chunk step shared by the pandas and the Dask aggregations.
    """
    hs6 = hs6_of(frame["hs_code"])
    out = frame.assign(year=frame["date"].dt.year.astype("int64"), hs6=hs6,
                       catmask=(masks or category_masks(None)).mask(hs6))
    # key columns as categoricals: each is hashed once here, then every groupby works on
    # integer codes (the partials turn them back into text)
    keys = [c for c in (*_CAT_KEYS, "hs6") if c in out.columns]
    return out.astype({c: "category" for c in keys})


_CAT_KEYS = ("importer_country", "dispatch_country", "origin_country", "shipper",
             "consignee")


def _differ(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Element-wise a != b for text or categorical columns (missing: False)."""
    if isinstance(a.dtype, pd.CategoricalDtype) and isinstance(b.dtype, pd.CategoricalDtype):
        pos = pd.Index(b.cat.categories).get_indexer(a.cat.categories)
        ca, cb = a.cat.codes.to_numpy(), b.cat.codes.to_numpy()
        mapped = np.where(ca >= 0, pos[ca], -1)
        return (ca >= 0) & (cb >= 0) & (mapped != cb)
    return (a.astype(object) != b.astype(object)).to_numpy(dtype=bool) & \
        a.notna().to_numpy(dtype=bool) & b.notna().to_numpy(dtype=bool)


def _as_text(s: pd.Series) -> pd.Series:
    """A text column (the canonical string dtype); categoricals without a detour through
    Python objects."""
    if not isinstance(s.dtype, pd.CategoricalDtype):
        return s.astype(STR)
    import pyarrow as pa

    cats = pa.array(np.asarray(s.cat.categories, dtype=object), pa.string())
    codes = s.cat.codes.to_numpy()
    arr = pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0), cats)
    return pd.Series(STR.__from_arrow__(arr.cast(pa.string())), index=s.index, name=s.name)


def _text_keys(frame: pd.DataFrame, keys) -> pd.DataFrame:
    return frame.assign(**{k: _as_text(frame[k]) for k in keys if k in frame.columns})


def flow_partial(prepared: pd.DataFrame, by: str) -> pd.DataFrame:
    """Country-flow sums of one chunk: ``year, exporter, importer, hs6`` ->
    ``value_usd``, ``quantity`` (sum) and ``quantity_n`` (non-missing count).

    ``by`` is ``"dispatch"`` (exporter = dispatch country) or ``"origin"``. Rows whose
    exporter is missing or equals the importer are left out (a flow is between two
    countries).
    """
    col = _exporter_column(by)
    f = prepared[["year", col, "importer_country", "hs6", "value_usd", "quantity"]]
    keep = f[col].notna().to_numpy(dtype=bool) & _differ(f[col], f["importer_country"])
    f = f[keep]
    f = f.rename(columns={col: "exporter", "importer_country": "importer"})
    f = f.assign(quantity_n=f["quantity"].notna().astype("int64"))
    out = f.groupby(FLOW_KEYS, sort=False, observed=True).agg(
        value_usd=("value_usd", "sum"), quantity=("quantity", "sum"),
        quantity_n=("quantity_n", "sum")).reset_index()
    return _text_keys(out, ("exporter", "importer", "hs6"))


def finish_flows(partials: pd.DataFrame, *, combine: bool = True) -> pd.DataFrame:
    """Canonical :class:`~analytics.schemas.Flows` from (concatenated) flow partials.

    Quantities are missing where no shipment of the flow had one. Sorted by
    ``year, exporter, importer, hs6``.
    """
    if combine:
        partials = _combine_flows(partials)
    out = pd.DataFrame({
        "year": partials["year"].astype("int64").to_numpy(),
        "exporter": partials["exporter"].astype(STR).to_numpy(),
        "importer": partials["importer"].astype(STR).to_numpy(),
        "hs6": partials["hs6"].astype(STR).to_numpy(),
        "value_usd": partials["value_usd"].astype("float64").to_numpy(),
        "quantity": partials["quantity"].astype("float64").where(
            partials["quantity_n"].to_numpy() > 0).to_numpy(),
    })
    for col in ("exporter", "importer", "hs6"):
        out[col] = out[col].astype(STR)
    return out.sort_values(FLOW_KEYS, kind="stable").reset_index(drop=True)


def _exporter_column(by: str) -> str:
    if by == "dispatch":
        return "dispatch_country"
    if by == "origin":
        return "origin_country"
    raise ConfigError(f"by={by!r}: use 'dispatch' or 'origin'")


def edge_partial(prepared: pd.DataFrame) -> pd.DataFrame:
    """Firm-edge sums of one chunk, per edge and category mask: ``value_usd`` (sum),
    ``shipments`` (count), ``first_date`` (min), ``last_date`` (max)."""
    f = prepared[[*EDGE_KEYS, "catmask", "value_usd", "date"]]
    out = f.groupby([*EDGE_KEYS, "catmask"], sort=False, observed=True).agg(
        value_usd=("value_usd", "sum"), shipments=("value_usd", "size"),
        first_date=("date", "min"), last_date=("date", "max")).reset_index()
    return _text_keys(out, EDGE_KEYS)


def _combine_edges(partials: pd.DataFrame) -> pd.DataFrame:
    return partials.groupby([*EDGE_KEYS, "catmask"], sort=False, observed=True).agg(
        value_usd=("value_usd", "sum"), shipments=("shipments", "sum"),
        first_date=("first_date", "min"), last_date=("last_date", "max")).reset_index()


def finish_edges(partials: pd.DataFrame, masks: CategoryMasks, *, combine: bool = True
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(edges, category edges) from (concatenated) edge partials.

    ``edges``: one row per shipper -> consignee pair (with their countries):
    ``value_usd``, ``shipments``, ``first_date``, ``last_date``, ``categories``
    (``;``-joined ids of the categories traded on the edge, "" for none).
    ``category edges``: one row per edge and category; a product in two categories counts
    in both (as in :func:`analytics.network.category_flows`).
    """
    if combine:
        partials = _combine_edges(partials)
    # keys as categoricals with sorted categories: grouping and sorting work on codes
    p = partials.astype({k: pd.CategoricalDtype(np.sort(pd.unique(
        partials[k].dropna().astype(object)).astype(str)).tolist() if len(partials) else [])
        for k in EDGE_KEYS})
    grp = p.groupby(EDGE_KEYS, sort=True, observed=True)
    codes = grp.ngroup().to_numpy()
    edges = grp.agg(value_usd=("value_usd", "sum"), shipments=("shipments", "sum"),
                    first_date=("first_date", "min"), last_date=("last_date", "max")
                    ).reset_index()
    mask = p["catmask"].to_numpy(dtype=np.int64)
    acc = np.zeros(len(edges), dtype=np.int64)
    np.bitwise_or.at(acc, codes, mask)
    labels = {m: masks.label(m) for m in np.unique(acc).tolist()}
    edges["categories"] = pd.array([labels[m] for m in acc.tolist()], dtype=STR)
    # category edges: explode the bits, per edge code
    parts = []
    for i in range(len(masks.categories)):
        hit = (mask >> i) & 1 == 1
        if hit.any():
            parts.append(pd.DataFrame({
                "_edge": codes[hit], "_cat": i,
                "value_usd": p["value_usd"].to_numpy()[hit],
                "shipments": p["shipments"].to_numpy()[hit],
                "first_date": p["first_date"].to_numpy()[hit],
                "last_date": p["last_date"].to_numpy()[hit]}))
    if parts:
        ce = pd.concat(parts, ignore_index=True).groupby(["_edge", "_cat"], sort=True).agg(
            value_usd=("value_usd", "sum"), shipments=("shipments", "sum"),
            first_date=("first_date", "min"), last_date=("last_date", "max")).reset_index()
        keys = edges[EDGE_KEYS].iloc[ce["_edge"].to_numpy()].reset_index(drop=True)
        ce = pd.concat([keys, pd.DataFrame({"category_id": np.asarray(
            masks.categories, dtype=object)[ce["_cat"].to_numpy()]}),
            ce.drop(columns=["_edge", "_cat"])], axis=1)
    else:
        ce = pd.DataFrame({c: [] for c in [*EDGE_KEYS, "category_id", "value_usd",
                                           "shipments", "first_date", "last_date"]})
        ce = ce.astype({"first_date": edges["first_date"].dtype,
                        "last_date": edges["last_date"].dtype})
    return _edge_dtypes(edges), _edge_dtypes(ce)


def _edge_dtypes(e: pd.DataFrame) -> pd.DataFrame:
    out = e.copy()
    for col in (*EDGE_KEYS, "category_id", "categories"):
        if col in out:
            out[col] = _as_text(out[col])
    out["value_usd"] = out["value_usd"].astype("float64")
    out["shipments"] = out["shipments"].astype("int64")
    for col in ("first_date", "last_date"):
        if not pd.api.types.is_datetime64_dtype(out[col].dtype):
            out[col] = pd.to_datetime(out[col])
    return out


# ---------------------------------------------------------------------------- whole frames
def select_shipments(
    shipments: pd.DataFrame,
    *,
    destination: str | Sequence[str] | None = None,
    codes: Iterable[str] | None = None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Shipments into ``destination`` with an HS code starting with one of ``codes``
    (HS6 codes or prefixes), dated in ``[start, end)``. None leaves a filter out."""
    keep = np.ones(len(shipments), dtype=bool)
    if destination is not None:
        dests = [destination] if isinstance(destination, str) else list(destination)
        keep &= shipments["importer_country"].isin(dests).to_numpy(dtype=bool)
    if codes is not None:
        codes = tuple(codes)
        keep &= shipments["hs_code"].astype(STR).str.startswith(codes).fillna(False) \
            .to_numpy(dtype=bool) if codes else np.zeros(len(shipments), dtype=bool)
    if start is not None:
        keep &= (shipments["date"] >= start).to_numpy(dtype=bool)
    if end is not None:
        keep &= (shipments["date"] < end).to_numpy(dtype=bool)
    return shipments[keep].reset_index(drop=True)


def country_flows(shipments: pd.DataFrame, *, by: str = "dispatch") -> pd.DataFrame:
    """Shipments aggregated to canonical country flows (:class:`~analytics.schemas.Flows`).

    ``year`` is the year of the date; ``exporter`` the dispatch country (``by="dispatch"``)
    or the origin country (``by="origin"``); ``importer`` the importer country; ``hs6``
    the first six digits of the HS code; ``value_usd`` and ``quantity`` sums (quantity
    missing when no shipment had one). Shipments without an origin (``by="origin"``) or
    whose exporter is the importer itself are left out.

    Raises
    ------
    ConfigError
        ``by`` is neither "dispatch" nor "origin".
    """
    _exporter_column(by)
    prepared = prepare_shipments(shipments)
    return finish_flows(flow_partial(prepared, by), combine=False)


@dataclass(frozen=True)
class ShipmentAggregates:
    """Country flows by dispatch and by origin, firm edges and firm category edges."""

    flows_dispatch: pd.DataFrame
    flows_origin: pd.DataFrame
    edges: pd.DataFrame
    category_edges: pd.DataFrame
    rows: int = 0
    categories: tuple[str, ...] = ()
    attrs: dict = field(default_factory=dict)


def aggregate_shipments(shipments: pd.DataFrame | Iterable[pd.DataFrame],
                        codes: pd.DataFrame | None = None, *,
                        combine_every: int = 8) -> ShipmentAggregates:
    """Every aggregate of :mod:`analytics.shipments_dask`, computed with pandas.

    ``shipments`` is one frame or an iterable of chunks (e.g. one per Parquet file): each
    chunk is reduced to partial sums, which are folded together every ``combine_every``
    chunks, so memory stays bounded by a chunk and the (much smaller) aggregates.
    ``codes`` are the category definitions (:func:`category_codes`) for the edges'
    categories.
    """
    masks = category_masks(codes)
    chunks = [shipments] if isinstance(shipments, pd.DataFrame) else shipments
    fd, fo, ed = [], [], []
    rows = 0
    for chunk in chunks:
        if len(chunk) == 0:
            continue
        rows += len(chunk)
        prep = prepare_shipments(chunk, masks)
        fd.append(flow_partial(prep, "dispatch"))
        fo.append(flow_partial(prep, "origin"))
        ed.append(edge_partial(prep))
        del prep
        if len(ed) >= combine_every:  # fold the partials: memory stays bounded
            fd = [_combine_flows(pd.concat(fd, ignore_index=True))]
            fo = [_combine_flows(pd.concat(fo, ignore_index=True))]
            ed = [_combine_edges(pd.concat(ed, ignore_index=True))]
    return _assemble(fd, fo, ed, masks, rows)


def _combine_flows(partials: pd.DataFrame) -> pd.DataFrame:
    return partials.groupby(FLOW_KEYS, sort=False, observed=True).agg(
        value_usd=("value_usd", "sum"), quantity=("quantity", "sum"),
        quantity_n=("quantity_n", "sum")).reset_index()


def _assemble(fd, fo, ed, masks: CategoryMasks, rows: int) -> ShipmentAggregates:
    from analytics.schemas import empty

    def cat(parts, cols):
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
            {c: [] for c in cols})

    fcols = [*FLOW_KEYS, "value_usd", "quantity", "quantity_n"]
    ecols = [*EDGE_KEYS, "catmask", "value_usd", "shipments", "first_date", "last_date"]
    flows_d = finish_flows(cat(fd, fcols)) if fd else empty(Flows)
    flows_o = finish_flows(cat(fo, fcols)) if fo else empty(Flows)
    if ed:
        edges, cedges = finish_edges(cat(ed, ecols), masks)
    else:
        z = pd.DataFrame({c: [] for c in ecols}).astype({"catmask": "int64"})
        z["first_date"] = pd.to_datetime(z["first_date"])
        z["last_date"] = pd.to_datetime(z["last_date"])
        edges, cedges = finish_edges(z, masks, combine=False)
    return ShipmentAggregates(flows_d, flows_o, edges, cedges, rows, masks.categories)


def firm_edges(shipments: pd.DataFrame, codes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Shipper -> consignee edges: value, count, first and last date, categories.

    One row per (``shipper``, ``dispatch_country``, ``consignee``, ``importer_country``):
    ``value_usd``, ``shipments``, ``first_date``, ``last_date``, ``categories``
    (``;``-joined ids of the categories of ``codes`` traded on the edge).

    >>> s = pd.DataFrame({"date": pd.to_datetime(["2023-01-01", "2023-02-01"]),
    ...     "declaration_id": ["a", "b"], "consignee": ["R1", "R1"],
    ...     "importer_country": ["RUS", "RUS"], "shipper": ["H1", "H1"],
    ...     "dispatch_country": ["HKG", "HKG"], "origin_country": ["JPN", None],
    ...     "brand": [None, None], "hs_code": ["854231", "848210"],
    ...     "value_usd": [5.0, 7.0], "quantity": [None, None]})
    >>> codes = pd.DataFrame({"category_id": ["ic", "bearings"], "code": ["8542", "848210"]})
    >>> firm_edges(s, codes)[["shipper", "consignee", "value_usd", "shipments", "categories"]]
      shipper consignee  value_usd  shipments   categories
    0      H1        R1       12.0          2  bearings;ic
    """
    masks = category_masks(codes)
    edges, _ = finish_edges(edge_partial(prepare_shipments(shipments, masks)), masks,
                            combine=False)
    return edges


def firm_category_edges(shipments: pd.DataFrame, codes: pd.DataFrame) -> pd.DataFrame:
    """Shipper -> consignee edges per category (``category_id`` column; a product of two
    categories counts in both)."""
    masks = category_masks(codes)
    _, cedges = finish_edges(edge_partial(prepare_shipments(shipments, masks)), masks,
                             combine=False)
    return cedges


CUBE_KEYS = ["dispatch_country", "origin_country", "brand", "shipper", "consignee"]


def shipment_cube(shipments: pd.DataFrame) -> pd.DataFrame:
    """Shipments summed by dispatch country, origin, brand, shipper and consignee.

    The input :func:`attribute_shipments` needs, far smaller than the shipments
    (``value_usd`` and ``shipments`` count; missing origins and brands kept as missing).
    """
    f = shipments[[*CUBE_KEYS, "value_usd"]]
    out = f.groupby(CUBE_KEYS, sort=True, dropna=False, observed=True).agg(
        value_usd=("value_usd", "sum"), shipments=("value_usd", "size")).reset_index()
    for col in CUBE_KEYS:
        out[col] = out[col].astype(STR)
    out["shipments"] = out["shipments"].astype("int64")
    return out


# ---------------------------------------------------------------------------- attribution
def _members(coalition) -> tuple[str, ...]:
    from analytics.reference import resolve_coalition

    return resolve_coalition(coalition)


def _brand_hq(brands: pd.DataFrame | None) -> dict[str, str]:
    if brands is None or len(brands) == 0:
        return {}
    out: dict[str, str] = {}
    for b, hq in zip(brands["brand"], brands["hq_country"], strict=True):
        if isinstance(b, str) and isinstance(hq, str):
            out.setdefault(b.strip().casefold(), hq)
    return out


def _hq_of(brand: pd.Series, hq: Mapping[str, str]) -> pd.Series:
    key = brand.astype(STR).str.strip().str.casefold()
    uniq = pd.unique(key.dropna())
    table = {k: hq.get(k, UNKNOWN) for k in uniq}
    return key.map(table).fillna(UNKNOWN).astype(STR)


@dataclass(frozen=True)
class Attribution:
    """Shares of a selection of shipments by dispatch, origin and brand headquarters.

    Attributes
    ----------
    by_dispatch, by_origin, by_brand_hq : DataFrame
        ``country``, ``value_usd``, ``shipments``, ``share``, ``member`` (in the
        coalition), largest first; ``country`` is ``"unknown"`` for a missing origin or a
        brand without a known headquarters.
    top_brands : DataFrame
        Per dispatch country (``hub``): ``brand``, ``hq_country``, ``member``,
        ``value_usd``, ``shipments``, ``share`` (of the hub's value), ``rank``.
    top_shippers : DataFrame
        Per hub: ``shipper``, ``value_usd``, ``shipments``, ``share``,
        ``coalition_brand_share`` (of the shipper's value), ``rank``.
    summary : dict
        ``total_value``, ``shipments``, ``third_country_dispatch_share`` (dispatched from
        outside the coalition), ``coalition_origin_share``, ``coalition_brand_share``
        (brand headquarters in the coalition), ``coalition_brand_value``,
        ``coalition_brand_via_third_share`` (of coalition-brand goods, the share
        dispatched from third countries), ``unknown_origin_share``,
        ``unknown_brand_share``.
    coalition : tuple of str
    """

    by_dispatch: pd.DataFrame
    by_origin: pd.DataFrame
    by_brand_hq: pd.DataFrame
    top_brands: pd.DataFrame
    top_shippers: pd.DataFrame
    summary: dict
    coalition: tuple[str, ...]

    def table(self) -> pd.DataFrame:
        """Everything in one long table (``section`` column), for CSV/Excel export."""
        parts = []
        for sec, frame in (("by_dispatch", self.by_dispatch), ("by_origin", self.by_origin),
                           ("by_brand_hq", self.by_brand_hq)):
            parts.append(frame.assign(section=sec, hub=pd.NA, name=frame["country"]))
        tb = self.top_brands
        parts.append(pd.DataFrame({
            "section": "top_brands", "hub": tb["hub"], "name": tb["brand"],
            "country": tb["hq_country"], "value_usd": tb["value_usd"],
            "shipments": tb["shipments"], "share": tb["share"], "member": tb["member"],
            "rank": tb["rank"]}))
        ts = self.top_shippers
        parts.append(pd.DataFrame({
            "section": "top_shippers", "hub": ts["hub"], "name": ts["shipper"],
            "country": ts["hub"], "value_usd": ts["value_usd"], "shipments": ts["shipments"],
            "share": ts["share"], "member": ts["hub"].isin(self.coalition),
            "rank": ts["rank"], "coalition_brand_share": ts["coalition_brand_share"]}))
        summ = pd.DataFrame({"section": "summary", "name": list(self.summary),
                             "value_usd": [float(v) for v in self.summary.values()]})
        parts.append(summ)
        cols = ["section", "hub", "name", "country", "member", "value_usd", "shipments",
                "share", "rank", "coalition_brand_share"]
        out = pd.concat([p.reindex(columns=cols) for p in parts if len(p)],
                        ignore_index=True)
        for col in ("shipments", "rank"):
            out[col] = pd.array(out[col], dtype="Float64").astype("Int64")
        out["member"] = out["member"].astype("boolean")
        return out


def _shares(frame: pd.DataFrame, col: str, members: set[str]) -> pd.DataFrame:
    g = frame.groupby(col, sort=False, dropna=False, observed=True).agg(
        value_usd=("value_usd", "sum"), shipments=("shipments", "sum")).reset_index()
    g = g.rename(columns={col: "country"})
    g["country"] = g["country"].astype(STR).fillna(UNKNOWN)
    total = g["value_usd"].sum()
    g["share"] = g["value_usd"] / total if total > 0 else np.nan
    g["member"] = g["country"].isin(members)
    g["shipments"] = g["shipments"].astype("int64")
    return g.sort_values(["value_usd", "country"], ascending=[False, True],
                         kind="stable").reset_index(drop=True)


def attribute_shipments(
    shipments: pd.DataFrame,
    brands: pd.DataFrame | None,
    *,
    coalition: str | Sequence[str],
    top: int = 10,
) -> Attribution:
    """Attribute a selection of shipments to dispatch countries, origins and brand HQs.

    Parameters
    ----------
    shipments : DataFrame
        Shipments of one destination, category and period (see
        :func:`select_shipments`), or their :func:`shipment_cube`: columns
        ``dispatch_country``, ``origin_country``, ``brand``, ``shipper``, ``value_usd``
        and optionally ``shipments`` (a count; each row is one shipment without it).
    brands : DataFrame or None
        :class:`~analytics.schemas.Brands` (``brand``, ``hq_country``); brand names are
        compared case-insensitively. A brand missing from it counts as ``"unknown"``.
    coalition : str or sequence of str
        A preset (``"group_a"``, ``"g7"``, ...) or ISO3 codes
        (:func:`analytics.reference.resolve_coalition`).
    top : int, default 10
        Brands and shippers listed per hub.

    Returns
    -------
    Attribution

    Raises
    ------
    ConfigError, UnknownCountry
        Bad coalition.
    AnalysisError
        Missing columns or negative values.

    Notes
    -----
    Shares are of value (USD). "Third countries" are dispatch countries outside the
    coalition; the share of coalition-brand goods dispatched from third countries is
    the circumvention indicator of the KSE Institute's reports (goods of coalition
    brands reaching Russia through China, Hong Kong, Turkey, the UAE, Central Asia and
    the Caucasus).
    """
    members = set(_members(coalition))
    need = ["dispatch_country", "origin_country", "brand", "shipper", "value_usd"]
    missing = [c for c in need if c not in shipments.columns]
    if missing:
        raise AnalysisError(f"shipments lack column(s) {missing}")
    if top < 1:
        raise AnalysisError("top must be at least 1")
    f = shipments[need].copy()
    if (f["value_usd"] < 0).any():
        raise AnalysisError("negative shipment values")
    f["shipments"] = (shipments["shipments"].astype("int64") if "shipments" in shipments
                      else np.int64(1))
    f["hq_country"] = _hq_of(f["brand"], _brand_hq(brands))
    f["origin_country"] = f["origin_country"].astype(STR).fillna(UNKNOWN)
    total = float(f["value_usd"].sum())
    n = int(f["shipments"].sum())
    by_dispatch = _shares(f, "dispatch_country", members)
    by_origin = _shares(f, "origin_country", members)
    by_brand = _shares(f, "hq_country", members)

    disp_member = f["dispatch_country"].isin(members).to_numpy(dtype=bool)
    brand_member = f["hq_country"].isin(members).to_numpy(dtype=bool)
    v = f["value_usd"].to_numpy(dtype=float)
    cb = float(v[brand_member].sum())

    def share(x: float, of: float) -> float:
        return x / of if of > 0 else float("nan")

    summary = {
        "total_value": total,
        "shipments": float(n),
        "third_country_dispatch_share": share(float(v[~disp_member].sum()), total),
        "coalition_origin_share": share(float(v[f["origin_country"].isin(members)
                                                .to_numpy(dtype=bool)].sum()), total),
        "coalition_brand_share": share(cb, total),
        "coalition_brand_value": cb,
        "coalition_brand_via_third_share": share(float(v[brand_member & ~disp_member].sum()),
                                                 cb),
        "unknown_origin_share": share(float(v[(f["origin_country"] == UNKNOWN)
                                              .to_numpy(dtype=bool)].sum()), total),
        "unknown_brand_share": share(float(v[(f["hq_country"] == UNKNOWN)
                                             .to_numpy(dtype=bool)].sum()), total),
    }

    hub_total = f.groupby("dispatch_country", observed=True)["value_usd"].sum()
    tb = f.assign(brand=f["brand"].astype(STR).fillna("(no brand)")).groupby(
        ["dispatch_country", "brand", "hq_country"], observed=True, dropna=False).agg(
        value_usd=("value_usd", "sum"), shipments=("shipments", "sum")).reset_index()
    tb = _rank_within(tb.rename(columns={"dispatch_country": "hub"}), hub_total, top)
    tb["member"] = tb["hq_country"].isin(members)
    tb = tb[["hub", "rank", "brand", "hq_country", "member", "value_usd", "shipments",
             "share"]]

    f["_cb"] = np.where(brand_member, v, 0.0)
    ts = f.groupby(["dispatch_country", "shipper"], observed=True, dropna=False).agg(
        value_usd=("value_usd", "sum"), shipments=("shipments", "sum"),
        _cb=("_cb", "sum")).reset_index()
    ts["coalition_brand_share"] = np.where(ts["value_usd"] > 0,
                                           ts["_cb"] / ts["value_usd"].where(
                                               ts["value_usd"] > 0, 1.0), np.nan)
    ts = _rank_within(ts.drop(columns="_cb").rename(columns={"dispatch_country": "hub"}),
                      hub_total, top)
    ts = ts[["hub", "rank", "shipper", "value_usd", "shipments", "share",
             "coalition_brand_share"]]
    return Attribution(by_dispatch, by_origin, by_brand, tb, ts, summary,
                       tuple(sorted(members)))


def _rank_within(frame: pd.DataFrame, hub_total: pd.Series, top: int) -> pd.DataFrame:
    order = hub_total.sort_values(ascending=False)
    frame = frame.copy()
    frame["share"] = frame["value_usd"] / frame["hub"].map(hub_total).to_numpy(dtype=float)
    frame["_hub_rank"] = frame["hub"].map({h: i for i, h in enumerate(order.index)})
    frame = frame.sort_values(["_hub_rank", "value_usd"], ascending=[True, False],
                              kind="stable")
    frame["rank"] = frame.groupby("hub", observed=True).cumcount() + 1
    frame = frame[frame["rank"] <= top].drop(columns="_hub_rank")
    frame["hub"] = frame["hub"].astype(STR)
    frame["shipments"] = frame["shipments"].astype("int64")
    return frame.reset_index(drop=True)


# ---------------------------------------------------------------------------- screening
def screen_parties(
    shipments: pd.DataFrame,
    entities: pd.DataFrame,
    *,
    roles: Sequence[str] = ("shipper", "consignee"),
    threshold: float = 90,
    limit: int | None = 3,
    scorer: str = "token_sort_ratio",
    include_unmatched: bool = False,
) -> pd.DataFrame:
    """Screen the shippers and consignees of shipments (or firm edges) against entity lists.

    Each distinct (name, country) of a role is matched with
    :func:`analytics.entities.match_names`, blocked by its country (the dispatch country
    of a shipper, the importer country of a consignee). *Every* candidate scoring at
    least ``threshold`` is returned with its score; nothing is merged or decided.

    Returns
    -------
    DataFrame
        ``role``, ``name``, ``country``, ``value_usd`` (the party's total in the input),
        ``candidate``, ``matched_on``, ``entity_country``, ``list_name``, ``concern``,
        ``score`` (0-100), ``exact`` (normalised names equal), ``status``: ``"exact"``
        (normalised names identical: confirm) or ``"review"`` (similar: check by hand),
        ``"none"`` for parties without a candidate (only with ``include_unmatched``).
        Sorted by status, score and value. ``attrs["screened"]`` counts the names.
    """
    from analytics.entities import match_names

    country_of = {"shipper": "dispatch_country", "consignee": "importer_country"}
    parts = []
    screened = 0
    for role in roles:
        if role not in country_of:
            raise ConfigError(f"role {role!r}: use 'shipper' or 'consignee'")
        cc = country_of[role]
        names = shipments.groupby([role, cc], observed=True, dropna=True)["value_usd"] \
            .sum().reset_index()
        screened += len(names)
        if names.empty:
            continue
        m = match_names(names[role].tolist(), entities, countries=names[cc].tolist(),
                        threshold=threshold, limit=limit, scorer=scorer)
        m = m.rename(columns={"query": "name", "query_country": "country",
                              "country": "entity_country"})
        value = dict(zip(zip(names[role].astype(str), names[cc].astype(str), strict=True),
                         names["value_usd"].to_numpy(dtype=float), strict=True))
        m["value_usd"] = [value.get((str(a), str(b)), np.nan)
                          for a, b in zip(m["name"], m["country"], strict=True)]
        m.insert(0, "role", role)
        parts.append(m)
    cols = ["role", "name", "country", "value_usd", "candidate", "matched_on",
            "entity_country", "list_name", "concern", "score", "exact", "status"]
    if not parts:
        out = pd.DataFrame({c: [] for c in cols})
        out.attrs["screened"] = screened
        return out
    out = pd.concat(parts, ignore_index=True)
    out["status"] = np.where(out["candidate"].isna(), "none",
                             np.where(out["exact"], "exact", "review"))
    if not include_unmatched:
        out = out[out["status"] != "none"]
    rank = out["status"].map({"exact": 0, "review": 1, "none": 2})
    out = out.assign(_r=rank).sort_values(["_r", "score", "value_usd"],
                                          ascending=[True, False, False], kind="stable")
    out = out[cols].reset_index(drop=True)
    for col in ("role", "status"):
        out[col] = out[col].astype(STR)
    out.attrs["screened"] = screened
    return out


# ---------------------------------------------------------------------------- firms
def firm_ids(edges: pd.DataFrame, *, normalize: bool = True) -> pd.DataFrame:
    """One id per firm: the names of each role mapped to ``firm``.

    A firm is a (name, country); with ``normalize`` names equal after
    :func:`analytics.entities.normalize_name` (legal forms, case and punctuation
    ignored) are the same firm. The id is ``"<name> (<ISO3>)"`` with the variant of the
    largest value as the name.

    Returns ``name``, ``country``, ``firm``.
    """
    from analytics.entities import normalize_name

    parts = [
        edges.groupby(["shipper", "dispatch_country"], observed=True)["value_usd"].sum()
        .reset_index().set_axis(["name", "country", "value_usd"], axis=1),
        edges.groupby(["consignee", "importer_country"], observed=True)["value_usd"].sum()
        .reset_index().set_axis(["name", "country", "value_usd"], axis=1),
    ]
    names = pd.concat(parts, ignore_index=True).groupby(
        ["name", "country"], observed=True)["value_usd"].sum().reset_index()
    uniq = pd.unique(names["name"])
    norm = {n: (normalize_name(n) or n) if normalize else n for n in uniq}
    names["_key"] = names["name"].map(norm)
    names = names.sort_values(["country", "_key", "value_usd", "name"],
                              ascending=[True, True, False, True], kind="stable")
    best = names.groupby(["country", "_key"], observed=True)["name"].transform("first")
    names["firm"] = best.astype(str) + " (" + names["country"].astype(str) + ")"
    out = names[["name", "country", "firm"]].reset_index(drop=True)
    for col in out.columns:
        out[col] = out[col].astype(STR)
    return out


def firm_graph(edges: pd.DataFrame, *, normalize: bool = True,
               ids: pd.DataFrame | None = None) -> pd.DataFrame:
    """Firm edges with firm ids: ``source``, ``target``, ``source_country``,
    ``target_country``, then the edge values (summed over name variants).

    Works on :func:`firm_edges` (then ``categories`` are merged) and on
    :func:`firm_category_edges` (then ``category_id`` is kept as a key). Self-loops
    (a firm shipping to itself) are dropped.
    """
    ids = firm_ids(edges, normalize=normalize) if ids is None else ids
    lookup = ids.set_index(["name", "country"])["firm"]
    src = lookup.reindex(pd.MultiIndex.from_arrays(
        [edges["shipper"], edges["dispatch_country"]])).to_numpy()
    dst = lookup.reindex(pd.MultiIndex.from_arrays(
        [edges["consignee"], edges["importer_country"]])).to_numpy()
    g = pd.DataFrame({"source": src, "target": dst,
                      "source_country": edges["dispatch_country"].to_numpy(),
                      "target_country": edges["importer_country"].to_numpy()})
    keys = ["source", "target", "source_country", "target_country"]
    if "category_id" in edges:
        g["category_id"] = edges["category_id"].to_numpy()
        keys.append("category_id")
    for col in ("value_usd", "shipments", "first_date", "last_date"):
        g[col] = edges[col].to_numpy()
    agg = {"value_usd": ("value_usd", "sum"), "shipments": ("shipments", "sum"),
           "first_date": ("first_date", "min"), "last_date": ("last_date", "max")}
    if "categories" in edges:
        g["categories"] = edges["categories"].astype(object).to_numpy()
        agg["categories"] = ("categories", _join_categories)
    g = g[g["source"] != g["target"]]
    out = g.groupby(keys, sort=True, observed=True).agg(**agg).reset_index()
    for col in (*keys, *(("categories",) if "categories" in out else ())):
        out[col] = out[col].astype(STR)
    return out


def _join_categories(values: pd.Series) -> str:
    cats = set()
    for v in values:
        if isinstance(v, str) and v:
            cats.update(v.split(";"))
    return ";".join(sorted(cats))


def intermediaries(
    category_graph: pd.DataFrame,
    *,
    coalition: str | Sequence[str] | None = None,
    concern: Iterable[str] | None = None,
    min_value: float = 0.0,
) -> pd.DataFrame:
    """Firms that both receive and forward goods of the same category.

    Parameters
    ----------
    category_graph : DataFrame
        :func:`firm_graph` of :func:`firm_category_edges` (``source``, ``target``, their
        countries, ``category_id``, ``value_usd``, ``shipments``, ``first_date``,
        ``last_date``).
    coalition : str or sequence, optional
        Preset or ISO3 codes: ``in_from_coalition`` is the value received from firms in
        these countries.
    concern : iterable of str, optional
        Destinations of concern (default :func:`analytics.reference.concern_destinations`:
        sanctioned or under an arms embargo): ``out_to_concern`` is the value forwarded
        to firms there.
    min_value : float
        Keep rows whose smaller side (``throughput``) exceeds this.

    Returns
    -------
    DataFrame
        One row per (firm, category): ``firm``, ``country``, ``category_id``,
        ``in_value``, ``out_value``, ``throughput`` (the smaller of the two: what can
        have passed through), ``out_in_ratio``, ``n_suppliers``, ``n_customers``,
        ``in_first``, ``in_last``, ``out_first``, ``out_last``, ``lag_days`` (first
        forwarding after first receipt), ``in_from_coalition``, ``out_to_concern``,
        ``flag`` (receives from the coalition and forwards to a destination of concern).
        Flagged rows first, then by throughput.

    Examples
    --------
    >>> g = pd.DataFrame({"source": ["J", "H", "H", "X"], "target": ["H", "R", "C", "H"],
    ...     "source_country": ["JPN", "HKG", "HKG", "DEU"],
    ...     "target_country": ["HKG", "RUS", "CHN", "HKG"],
    ...     "category_id": ["ic", "ic", "ic", "bearings"], "value_usd": [10.0, 6.0, 3.0, 5.0],
    ...     "shipments": [2, 1, 1, 1],
    ...     "first_date": pd.to_datetime(["2023-01-01", "2023-01-20", "2023-03-01",
    ...                                   "2023-01-01"]),
    ...     "last_date": pd.to_datetime(["2023-02-01", "2023-01-20", "2023-03-01",
    ...                                  "2023-01-01"])})
    >>> r = intermediaries(g, coalition=["JPN", "DEU"], concern=["RUS"])
    >>> r[["firm", "category_id", "in_value", "out_value", "lag_days", "flag"]]
      firm category_id  in_value  out_value  lag_days  flag
    0    H          ic      10.0        9.0        19  True
    """
    from analytics.reference import concern_destinations

    members = set(_members(coalition)) if coalition is not None else set()
    concern_set = set(concern) if concern is not None else set(concern_destinations())
    g = category_graph
    need = ["source", "target", "source_country", "target_country", "category_id",
            "value_usd", "first_date", "last_date"]
    missing = [c for c in need if c not in g.columns]
    if missing:
        raise AnalysisError(f"category graph lacks column(s) {missing}; build it with "
                            "firm_graph(firm_category_edges(...))")
    g = g.assign(_coal=np.where(g["source_country"].isin(members), g["value_usd"], 0.0),
                 _conc=np.where(g["target_country"].isin(concern_set), g["value_usd"], 0.0))
    inn = g.groupby(["target", "target_country", "category_id"], observed=True).agg(
        in_value=("value_usd", "sum"), n_suppliers=("source", "nunique"),
        in_first=("first_date", "min"), in_last=("last_date", "max"),
        in_from_coalition=("_coal", "sum")).reset_index().rename(
        columns={"target": "firm", "target_country": "country"})
    out = g.groupby(["source", "source_country", "category_id"], observed=True).agg(
        out_value=("value_usd", "sum"), n_customers=("target", "nunique"),
        out_first=("first_date", "min"), out_last=("last_date", "max"),
        out_to_concern=("_conc", "sum")).reset_index().rename(
        columns={"source": "firm", "source_country": "country"})
    both = inn.merge(out, on=["firm", "country", "category_id"], how="inner")
    both = both[(both["in_value"] > 0) & (both["out_value"] > 0)]
    both["throughput"] = np.minimum(both["in_value"], both["out_value"])
    both = both[both["throughput"] > min_value]
    both["out_in_ratio"] = both["out_value"] / both["in_value"]
    both["lag_days"] = (both["out_first"] - both["in_first"]).dt.days.astype("int64")
    both["flag"] = (both["in_from_coalition"] > 0) & (both["out_to_concern"] > 0)
    cols = ["firm", "country", "category_id", "in_value", "out_value", "throughput",
            "out_in_ratio", "n_suppliers", "n_customers", "in_first", "in_last",
            "out_first", "out_last", "lag_days", "in_from_coalition", "out_to_concern",
            "flag"]
    both = both.sort_values(["flag", "throughput", "firm", "category_id"],
                            ascending=[False, False, True, True], kind="stable")
    out = both[cols].reset_index(drop=True)
    for col in ("firm", "country", "category_id"):
        out[col] = out[col].astype(STR)
    out["n_suppliers"] = out["n_suppliers"].astype("int64")
    out["n_customers"] = out["n_customers"].astype("int64")
    return out


def supplier_concentration(graph: pd.DataFrame, *, by: str | Sequence[str] = ()
                           ) -> pd.DataFrame:
    """Concentration of each consignee's suppliers (:func:`analytics.chokepoints.concentration`).

    ``graph`` is a :func:`firm_graph`; ``by`` adds grouping columns (e.g.
    ``"category_id"`` on a category graph). Returns per ``target`` (and ``by``):
    ``target_country``, ``hhi``, ``cr1``, ``cr3``, ``n_eff``, ``n_suppliers``,
    ``top_supplier``, ``top_share``, ``total``; most concentrated first.
    """
    from analytics.chokepoints import concentration

    keys = ["target", *([by] if isinstance(by, str) else list(by))]
    conc = concentration(graph, supplier="source", value="value_usd", by=keys)
    country = graph.groupby("target", observed=True)["target_country"].first()
    conc.insert(1, "target_country", conc["target"].map(country).astype(STR))
    return conc.sort_values(["hhi", "total"], ascending=[False, False],
                            kind="stable").reset_index(drop=True)


def country_origin_groups(graph: pd.DataFrame) -> dict[str, list[str]]:
    """Origin groups for :func:`trace_firms`: each country's firms."""
    nodes = pd.concat([
        graph[["source", "source_country"]].set_axis(["firm", "country"], axis=1),
        graph[["target", "target_country"]].set_axis(["firm", "country"], axis=1),
    ]).drop_duplicates("firm")
    return {str(c): sorted(map(str, g["firm"])) for c, g in nodes.groupby(
        "country", observed=True)}


def trace_firms(
    graph: pd.DataFrame,
    *,
    origins: Mapping[str, Sequence[str]] | Sequence[str] | None = None,
    production: str | pd.Series = "net_exports",
    destinations: Sequence[str] | None = None,
    model=None,
    min_value: float = 0.0,
) -> pd.DataFrame:
    """Proportional-mixing tracing on a firm graph (:mod:`analytics.tracing`).

    A firm that ships more than it receives made the difference (``net_exports``); each
    shipment leaves a firm with the firm's mix. ``origins`` are origin firms or *groups*
    (e.g. :func:`country_origin_groups`: one sparse solve per group; above
    :data:`analytics.tracing.DIRECT_LU_MAX_NODES` firms an iterative solver); by default
    every firm is its own origin (small graphs only). Returns ``origin``,
    ``destination`` (firm), ``value`` (rows above ``min_value``); for every firm the
    values over a partition of all firms into groups sum to its receipts.
    ``attrs["strategy"]`` records the production assumption.

    Notes
    -----
    Same model as :func:`analytics.tracing.trace_imports`, with the long result built
    directly from arrays (the graph may have a million firms).
    """
    from analytics import tracing

    if model is None:
        model = tracing.build_model(graph, production, exporter="source", importer="target",
                                    value="value_usd")
    if origins is None:
        groups = None
    elif isinstance(origins, Mapping):
        groups = {str(k): list(v) for k, v in origins.items()}
    else:
        groups = {str(o): [o] for o in origins}
    comp = model.composition(groups)  # origins x nodes
    C = comp.to_numpy()
    received = model.X.T.dot(C.T).T  # (origins, nodes): content of each node's receipts
    cols = np.arange(len(model.nodes))
    if destinations is not None:
        pos = pd.Index(model.nodes).get_indexer(list(destinations))
        if (pos < 0).all():
            raise NodeNotFound(f"destination(s) {list(destinations)[:5]} not in the graph")
        cols = pos[pos >= 0]
    vals = np.clip(received[:, cols], 0.0, None)
    oi, di = np.nonzero(vals > min_value)
    out = pd.DataFrame({
        "origin": np.asarray(comp.index, dtype=object)[oi],
        "destination": np.asarray(model.nodes, dtype=object)[cols[di]],
        "value": vals[oi, di],
    })
    out.attrs["strategy"] = model.strategy
    return out


# ---------------------------------------------------------------------------- brand paths
def brand_edges(shipments: pd.DataFrame, brands: pd.DataFrame | None = None, *,
                brand: str | Sequence[str] | None = None,
                hq: Iterable[str] | None = None) -> pd.DataFrame:
    """Shipper -> consignee values of given brands (by name, or by headquarters country).

    Returns :func:`firm_edges`-like rows (``brand``, ``hq_country`` and the edge keys,
    ``value_usd``, ``shipments``, ``first_date``, ``last_date``).
    """
    hqmap = _brand_hq(brands)
    f = shipments[shipments["brand"].notna().to_numpy(dtype=bool)]
    key = f["brand"].astype(STR).str.strip().str.casefold()
    keep = np.ones(len(f), dtype=bool)
    if brand is not None:
        wanted = {b.strip().casefold() for b in ([brand] if isinstance(brand, str)
                                                 else brand)}
        keep &= key.isin(wanted).to_numpy(dtype=bool)
    if hq is not None:
        hqs = set(hq)
        keep &= key.map(lambda k: hqmap.get(k, UNKNOWN)).isin(hqs).to_numpy(dtype=bool)
    f = f[keep]
    out = f.groupby(["brand", *EDGE_KEYS], observed=True).agg(
        value_usd=("value_usd", "sum"), shipments=("value_usd", "size"),
        first_date=("date", "min"), last_date=("date", "max")).reset_index()
    out.insert(1, "hq_country", _hq_of(out["brand"], hqmap))
    out = _edge_dtypes(out)
    out["brand"] = out["brand"].astype(STR)
    return out


def brand_paths(
    edges: pd.DataFrame,
    targets: str | Sequence[str],
    *,
    k: int = 10,
    max_hops: int = 6,
    source_label: str = "brand",
    ids: pd.DataFrame | None = None,
    max_candidates: int = 500,
) -> pd.DataFrame:
    """The ``k`` largest paths of a brand's goods from its first shippers to ``targets``.

    Parameters
    ----------
    edges : DataFrame
        :func:`brand_edges` of one brand or a set of brands (e.g. every brand with its
        headquarters in the coalition); summed over brands.
    targets : str or sequence of str
        Firm ids (:func:`firm_ids`), e.g. listed consignees.
    k, max_hops : int
        Paths returned; firms on a path after the brand.
    source_label : str
        Label of the path's first node (e.g. ``"Aster [JPN]"``).

    Returns
    -------
    DataFrame
        ``rank``, ``path`` (tuple: source label, first shipper, ..., target), ``route``
        (" > "-joined), ``hops`` (firm-to-firm shipments), ``first_shipper``,
        ``intermediaries`` (tuple), ``consignee``, ``amount`` (USD, exact under
        proportional mixing), ``share`` (of the brand goods the targets received).
        ``attrs["coverage"]`` is the share the listed paths explain.

    Notes
    -----
    In the brand's subgraph, a firm's *introduction* of brand goods is what it ships
    beyond what it received (the first shippers: the brand's distributors). Goods mix
    proportionally in each firm (:mod:`analytics.tracing`), so the amount on a path
    ``b -> f1 -> ... -> t`` is :math:`P_{f_1} \\prod a_{uv}` with :math:`a_{uv} = X_{uv}/S_u`.
    Paths are enumerated by :func:`analytics.tracing.largest_paths` (Yen's algorithm on
    lengths :math:`-\\log a`, on the firms that lie between the first shippers and the
    targets, with exact pruning of edges too small to carry one of the ``k`` largest).

    Raises
    ------
    NodeNotFound
        No target receives any of the brand's goods.

    Examples
    --------
    >>> e = pd.DataFrame({"shipper": ["J", "J", "H", "T"], "dispatch_country": ["JPN",
    ...     "JPN", "HKG", "TUR"], "consignee": ["H", "T", "R", "R"],
    ...     "importer_country": ["HKG", "TUR", "RUS", "RUS"],
    ...     "value_usd": [10.0, 10.0, 8.0, 2.0], "shipments": [1, 1, 1, 1],
    ...     "first_date": pd.to_datetime(["2023-01-01"] * 4),
    ...     "last_date": pd.to_datetime(["2023-01-01"] * 4)})
    >>> p = brand_paths(e, "R (RUS)", k=2, source_label="Aster")
    >>> p[["route", "amount", "share"]].round(3).to_dict("records")
    [{'route': 'Aster > J (JPN) > H (HKG) > R (RUS)', 'amount': 8.0, 'share': 0.8}, {'route': 'Aster > J (JPN) > T (TUR) > R (RUS)', 'amount': 2.0, 'share': 0.2}]
    """
    if k < 1:
        raise AnalysisError("k must be at least 1")
    cols = ["rank", "path", "route", "hops", "first_shipper", "intermediaries", "consignee",
            "amount", "share"]
    targets = [targets] if isinstance(targets, str) else list(targets)
    graph = firm_graph(edges, ids=ids) if "source" not in edges else edges
    X = graph.groupby(["source", "target"], observed=True)["value_usd"].sum()
    X = X[X > 0]
    out_v = X.groupby(level=0).sum()
    in_v = X.groupby(level=1).sum()
    nodes = out_v.index.union(in_v.index)
    shipped = out_v.reindex(nodes).fillna(0.0)
    received = in_v.reindex(nodes).fillna(0.0)
    P = (shipped - received).clip(lower=0.0)
    S = P + received
    present = [t for t in targets if t in received.index and received[t] > 0]
    if not present:
        raise NodeNotFound(f"none of the targets {targets[:5]} receives these goods")
    su = S.reindex(X.index.get_level_values(0)).to_numpy(dtype=float)
    a = np.minimum(np.divide(X.to_numpy(dtype=float), su, out=np.zeros(len(X)),
                             where=su > 0), 1.0)
    total = float(received[present].sum())
    found = largest_paths(P[P > 0].to_dict(), present,
                          X.index.get_level_values(0).to_numpy(dtype=object),
                          X.index.get_level_values(1).to_numpy(dtype=object), a,
                          k=k, max_hops=max_hops, total=total, max_candidates=max_candidates)
    recs = [((source_label, *firms), " > ".join([source_label, *firms]), len(firms) - 1,
             firms[0], tuple(firms[1:-1]), firms[-1], amount) for firms, amount in found]
    explained = sum(amount for _, amount in found)
    out = pd.DataFrame(recs, columns=cols[1:-1])
    out["share"] = out["amount"] / total if total > 0 else np.nan
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out.attrs.update(coverage=explained / total if total > 0 else np.nan, received=total,
                     targets=present)
    return out[cols]

