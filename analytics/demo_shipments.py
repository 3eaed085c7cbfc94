"""Synthetic transaction-level shipments consistent with the demo world, with planted truth.

:func:`make_demo_shipments` draws customs records (:class:`~analytics.schemas.Shipments`)
from the flows of a :class:`~analytics.demo.DemoWorld`, so that summing the records by
dispatch country gives back the world's flows (in expectation), and plants the firm-level
story behind the world's diversion routes:

* **Records.** Each flow ``(year, exporter, importer, hs6)`` of the chosen years is cut
  into shipments (a multinomial draw over flows and months, weighted by value and by the
  *coverage* of the importer: the records cover Russia and Belarus most, then the hubs);
  a shipment carries ``value / expected count`` times lognormal noise, so a flow's
  shipments add up to the flow in expectation. Dates are spread over the months, HS codes
  get national 8- or 10-digit extensions.
* **Origin and brand.** A shipment's origin is drawn from the exporter's traced origin mix
  (proportional mixing on the world's layer of that year and category,
  :mod:`analytics.tracing`). Fictional brands have headquarters where a category is
  produced; offshore producers (China, Malaysia, Vietnam, Thailand, the Philippines,
  Mexico, India) make part of their output for coalition brands, so goods of coalition
  brands are shipped from China in quantity, as observed in Russia's imports.
* **Planted diversion.** For each planted route of :attr:`DemoTruth.routes
  <analytics.demo.DemoTruth>` (hub, categories, magnitude, from 2022) the extra part of
  the coalition's exports to the hub (a share ``(m - 1) / m`` of those flows) is consigned
  to a few *planted intermediary firms* of the hub, which ship the same volume (90 % to
  Russia, 10 % to Belarus, as in the world) to Russian and Belarusian consignees, about
  half of them listed entities of ``dataset.entities`` under name variants (exact, legal
  form moved, a typo); two unlisted decoys have names close to listed ones. Intermediaries
  receive early in a month and forward later.
* **Firms.** Every country has exporters and importers; the re-export hubs Hong Kong,
  Singapore and the UAE have traders that both import and re-export (legitimate
  intermediaries, never to destinations of concern); brands ship through their own export
  arms.

The truth (:class:`ShipmentTruth`) lists the planted intermediaries, the listed consignees
and decoys, and the diverted value per hub, destination, category and year, so tests
measure detection. Everything is fictional and labelled synthetic.

For benchmarks, :func:`iter_demo_shipments` yields one month at a time and
:func:`write_demo_shipments` writes one Parquet file per month: memory stays bounded at
any size (50 million rows: about a million per month).

>>> from analytics.demo import make_demo_world
>>> demo = make_demo_shipments(make_demo_world(seed=0), n_rows=20_000, seed=0)
>>> len(demo.shipments), demo.shipments["declaration_id"].is_unique
(20000, True)
>>> sorted(demo.truth.intermediaries["country"].unique())[:3]
['ARE', 'ARM', 'CHN']
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analytics.dataset import SYNTHETIC_LABEL
from analytics.errors import ConfigError
from analytics.schemas import STR, Brands, Shipments, validate

__all__ = ["make_demo_shipments", "iter_demo_shipments", "write_demo_shipments",
           "DemoShipments", "ShipmentTruth", "demo_brands", "DEFAULT_YEARS",
           "SHIPMENT_SCHEMA", "SOURCE"]

SOURCE = "analytics.demo_shipments"
DEFAULT_YEARS = (2021, 2024)

#: Arrow schema of the written files (the canonical Shipments columns)
SHIPMENT_SCHEMA = pa.schema([
    ("date", pa.timestamp("us")), ("declaration_id", pa.string()), ("consignee", pa.string()),
    ("importer_country", pa.string()), ("shipper", pa.string()),
    ("dispatch_country", pa.string()), ("origin_country", pa.string()),
    ("brand", pa.string()), ("hs_code", pa.string()), ("value_usd", pa.float64()),
    ("quantity", pa.float64()),
])

# coverage of the customs records by importer (sampling weight per USD)
_COVERAGE_DEST = {"RUS": 10.0, "BLR": 10.0}
_COVERAGE_HUB = 3.0
_COVERAGE_OTHER = 1.0
_REEXPORT = ("HKG", "SGP", "ARE")
# part of an offshore producer's output made for coalition brands
_OFFSHORE = {"CHN": 0.35, "MYS": 0.5, "VNM": 0.45, "THA": 0.4, "PHL": 0.5, "MEX": 0.3,
             "IND": 0.2}
_INTERMEDIARIES = {"CHN": 4, "HKG": 4, "TUR": 3, "ARE": 3, "KAZ": 2, "KGZ": 2, "ARM": 2,
                   "UZB": 2}
_DIVERTED_TO = (("RUS", 0.9), ("BLR", 0.1))
_MAX_DIVERTED = 0.95
_HS_SUFFIX = (("", 0.15), ("00", 0.3), ("10", 0.1), ("90", 0.15), ("0000", 0.1),
              ("1000", 0.08), ("9000", 0.07), ("0010", 0.05))
_NOISE_SIGMA = 0.8
_MISSING_BRAND = 0.05
_MISSING_QTY = 0.05
_MISSING_ORIGIN = 0.02
_PARTNERS = 4       # regular customers of a shipper in one importing country
_CASUAL = 0.05      # share of shipments to any importer of the country
_SLICE = 10         # an exporter serves about a tenth of the importing countries

_LEGAL = {"RUS": ("OOO ", ""), "BLR": ("OOO ", ""), "KAZ": ("TOO ", ""),
          "KGZ": ("OsOO ", ""), "UZB": ("", " MChJ"), "HKG": ("", " Limited"),
          "SGP": ("", " Pte. Ltd."), "MYS": ("", " Sdn. Bhd."), "CHN": ("", " Co., Ltd."),
          "TWN": ("", " Co., Ltd."), "KOR": ("", " Co., Ltd."), "TUR": ("", " Ltd. Sti."),
          "ARE": ("", " FZE"), "JPN": ("", " K.K."), "DEU": ("", " GmbH"),
          "AUT": ("", " GmbH"), "CHE": ("", " AG"), "NLD": ("", " B.V."),
          "BEL": ("", " NV"), "FRA": ("", " SAS"), "ITA": ("", " S.r.l."),
          "ESP": ("", " S.L."), "USA": ("", " Inc."), "CAN": ("", " Inc."),
          "POL": ("", " Sp. z o.o."), "SWE": ("", " AB"), "FIN": ("", " Oy")}
_WORDS_A = ("Amber", "Arctic", "Atlas", "Aurora", "Baltic", "Beacon", "Bright", "Cedar",
            "Coral", "Crystal", "Eastern", "Emerald", "Falcon", "Golden", "Granite", "Harbor",
            "Horizon", "Iron", "Jade", "Lotus", "Meridian", "Nova", "Orient", "Pacific",
            "Pearl", "Polar", "Prime", "Quantum", "Rapid", "Royal", "Silver", "Silk", "Sky",
            "Solar", "Star", "Summit", "Swift", "Unity", "Vector", "Vertex", "Zenith",
            "Northern", "Western")
_WORDS_B = ("Trading", "Logistics", "Components", "Electronics", "Supply", "Technologies",
            "Import", "Industrial", "Systems", "Solutions", "Engineering", "Commerce")
_BRAND_SYL = ("ka", "ro", "vi", "ne", "to", "la", "mi", "sa", "de", "no", "ri", "ta", "ze",
              "lo", "ve", "ma", "ki", "so", "ru", "an", "el", "or", "is", "ul")
_BRAND_KIND = ("Devices", "Semi", "Instruments", "Systems", "Electric", "Precision",
               "Micro", "Dynamics", "Tools", "Optics", "Motion", "Materials")


@dataclass(frozen=True)
class ShipmentTruth:
    """What the synthetic shipments planted.

    Attributes
    ----------
    intermediaries : DataFrame
        Planted intermediary firms: ``name``, ``country`` (the hub), ``categories``
        (planted categories of the hub, ``;``-joined), ``in_value``, ``out_value``
        (generated), ``first_in``, ``first_out``.
    listed_consignees : DataFrame
        Consignee names derived from listed entities and decoys: ``name``, ``country``,
        ``entity`` (the listed name; missing for a decoy), ``variant`` (``exact``,
        ``legal form``, ``typo``, ``decoy``), ``receives_diverted``.
    routes : DataFrame
        Diverted value generated per ``hub``, ``destination``, ``category_id``, ``year``
        (``diverted_value``; a product in two categories counts in both).
    coalition : tuple of str
        The sanctioning countries of the demo world (whose brands count as coalition
        brands in the truth).
    reexport_traders : tuple of str
        Countries whose traders legitimately re-export (never to destinations of concern).
    """

    intermediaries: pd.DataFrame
    listed_consignees: pd.DataFrame
    routes: pd.DataFrame
    coalition: tuple[str, ...]
    reexport_traders: tuple[str, ...] = _REEXPORT


@dataclass(frozen=True)
class DemoShipments:
    """Synthetic shipments, their brand table and the planted truth."""

    shipments: pd.DataFrame
    brands: pd.DataFrame
    truth: ShipmentTruth
    seed: int
    provenance: dict


# ---------------------------------------------------------------------------------------
# the plan: everything but the rows
# ---------------------------------------------------------------------------------------


@dataclass
class _Plan:
    iso: np.ndarray            # country codes (object)
    years: tuple[int, ...]
    # flows of the frame
    f_year: np.ndarray
    f_exp: np.ndarray
    f_imp: np.ndarray
    f_hs6: np.ndarray          # object
    f_cat: np.ndarray          # primary category index, -1 none
    f_layer: np.ndarray        # origin-mix layer index
    f_unit: np.ndarray         # kg per USD
    f_size: np.ndarray         # expected shipment value
    f_div: np.ndarray          # diverted share
    f_kind: np.ndarray         # 0 normal, 1 diverted into a hub, 2 diverted out of it
    f_hub: np.ndarray          # hub index of a diverted flow (-1)
    counts: np.ndarray         # (n_flows, 12) shipments per month
    origin_cdf: np.ndarray     # (layers, n, n): origin cdf of each exporter
    brands: pd.DataFrame
    brand_cdf: dict            # (cat, origin idx) -> (brand idx array, cdf)
    coal_cdf: dict             # (cat, hq idx or -1) -> (brand idx array, cdf)
    div_src: dict              # (hub idx, cat) -> (coalition exporter idx, cdf) of receipts
    brand_hq: np.ndarray       # hq index per brand
    names: np.ndarray          # firm names (object)
    pools: dict                # (role, country idx) -> (start, size)
    arm: np.ndarray            # brand -> firm index of its export arm in the HQ
    inter: dict                # hub idx -> firm indices
    receivers: dict            # dest idx -> firm indices
    concern: np.ndarray        # bool per country
    reexport: np.ndarray       # bool per country
    truth_consignees: pd.DataFrame
    hs6_cats: pd.DataFrame     # hs6, category_id (all memberships)
    planted_cats: dict         # hub -> categories
    categories: tuple[str, ...]
    seed: int


def _zipf_pick(rng, size: np.ndarray) -> np.ndarray:
    """Index 0..size-1 with P(k) ~ 1/(k+1) (continuous approximation), per row."""
    u = rng.random(len(size))
    k = np.floor(np.exp(u * np.log(size + 1.0))).astype(np.int64) - 1
    return np.clip(k, 0, np.maximum(size - 1, 0))


def _firm_names(country: str, n: int, rng, taken: set[str]) -> list[str]:
    pre, suf = _LEGAL.get(country, ("", " Ltd"))
    combos = [f"{a} {b}" for a in _WORDS_A for b in _WORDS_B]
    order = rng.permutation(len(combos))
    out = []
    k = 0
    while len(out) < n:
        base = combos[order[k % len(combos)]]
        rnd = k // len(combos)
        stem = base if rnd == 0 else f"{base} {rnd + 1}"
        name = f"{pre}{stem}{suf}"
        if name not in taken:
            taken.add(name)
            out.append(name)
        k += 1
    return out


def demo_brands(world, *, seed: int = 0) -> pd.DataFrame:
    """The fictional brands of the demo shipments (:class:`~analytics.schemas.Brands`)
    with two extra columns, ``category_id`` (product line) and ``weight``."""
    return _brands(world, _primary_categories(world)[1], np.random.default_rng(seed + 17))


def _primary_categories(world):
    from analytics.network import category_membership

    mem = category_membership(world.dataset)
    mem = mem[mem["hs6"].str.len() == 6][["category_id", "hs6"]].drop_duplicates()
    prim = mem.sort_values(["hs6", "category_id"]).groupby("hs6")["category_id"].first()
    cats = tuple(sorted(set(prim)))
    return mem, cats, prim


def _brands(world, cats: Sequence[str], rng) -> pd.DataFrame:
    mem, _, prim = _primary_categories(world)
    prod = world.truth.production
    prod = prod[prod["year"] == 2022].merge(prim.rename("category_id").reset_index(),
                                            on="hs6")
    share = prod.groupby(["category_id", "country"])["value_usd"].sum()
    share = share / share.groupby(level=0).transform("sum")
    recs = []
    used: set[str] = set()
    for cat in cats:
        s = share.get(cat)
        if s is None:
            continue
        s = s.sort_values(ascending=False)
        for country, sh in s.items():
            if sh < 0.03:
                continue
            nb = int(min(4, max(1, round(sh * 16))))
            w = 1.0 / np.arange(1, nb + 1)
            w = w / w.sum() * sh
            for j in range(nb):
                while True:
                    nsyl = int(rng.integers(2, 4))
                    stem = "".join(rng.choice(_BRAND_SYL, nsyl)).capitalize()
                    name = f"{stem} {rng.choice(_BRAND_KIND)}"
                    if name not in used:
                        used.add(name)
                        break
                recs.append((name, country, f"{SOURCE} (fictional)", cat, float(w[j])))
    out = pd.DataFrame(recs, columns=["brand", "hq_country", "source", "category_id",
                                      "weight"])
    for col in ("brand", "hq_country", "source", "category_id"):
        out[col] = out[col].astype(STR)
    return out


def _origin_layers(world, flows: pd.DataFrame, prim: pd.Series, years, iso, idx):
    """Origin cdf (layers x n x n) of each exporter's shipments, per (year, category)."""
    from analytics.tracing import build_model

    cats = sorted(set(prim))
    n = len(iso)
    layers = {}
    cdfs = []
    f = flows.assign(category_id=flows["hs6"].map(prim))
    f = f[f["category_id"].notna()]
    g = f.groupby(["year", "category_id", "exporter", "importer"], observed=True)[
        "value_usd"].sum().reset_index()
    for y in years:
        for c in cats:
            lay = g[(g["year"] == y) & (g["category_id"] == c)]
            C = np.eye(n)
            if len(lay):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = build_model(lay, nodes=iso)
                comp = model.composition()
                pos = [idx[x] for x in comp.columns]
                opos = [idx[x] for x in comp.index]
                M = np.zeros((n, n))
                M[np.ix_(opos, pos)] = np.clip(comp.to_numpy(), 0.0, None)
                colsum = M.sum(axis=0)
                ok = colsum > 0
                C = np.where(ok[None, :], M / np.where(ok, colsum, 1.0)[None, :], np.eye(n))
            layers[(y, c)] = len(cdfs)
            cdfs.append(np.cumsum(C.T, axis=1))  # (exporter, origin) cdf
    bg = np.cumsum(np.eye(n), axis=1)
    layers[("bg", None)] = len(cdfs)
    cdfs.append(bg)
    return layers, np.stack(cdfs)


def _plan(world, n_rows: int, seed: int, years: tuple[int, int]) -> _Plan:
    from analytics.demo import SANCTIONING
    from analytics.reference import concern_destinations

    if n_rows < 1:
        raise ConfigError(f"n_rows must be positive, got {n_rows!r}")
    y0, y1 = int(years[0]), int(years[1])
    yrs = tuple(range(y0, y1 + 1))
    ds = world.dataset
    missing = sorted(set(yrs) - set(ds.years))
    if missing:
        raise ConfigError(f"years {missing} are not in the demo world "
                          f"({min(ds.years)}-{max(ds.years)})")
    rng = np.random.default_rng([seed, 42])
    iso = np.array(sorted(set(ds.flows["exporter"]) | set(ds.flows["importer"])),
                   dtype=object)
    idx = {c: i for i, c in enumerate(iso)}
    n = len(iso)
    mem, cats, prim = _primary_categories(world)
    cat_idx = {c: i for i, c in enumerate(cats)}

    flows = ds.flows[ds.flows["year"].isin(yrs)].reset_index(drop=True)
    # ---- diverted shares of the planted routes
    routes = world.truth.routes
    routes = routes[routes["destination"] == "RUS"]
    full = routes[routes["planted_share"] >= 0.999]
    planted_cats = {h: sorted(set(g["category_id"])) for h, g in full.groupby("hub")}
    mag = routes.groupby("hub")["magnitude"].first().to_dict()
    planted_codes = {h: set(mem.loc[mem["category_id"].isin(c), "hs6"])
                     for h, c in planted_cats.items()}
    exp_ = flows["exporter"].to_numpy(dtype=object)
    imp_ = flows["importer"].to_numpy(dtype=object)
    hs6 = flows["hs6"].to_numpy(dtype=object)
    yr = flows["year"].to_numpy()
    val = flows["value_usd"].to_numpy(dtype=float)
    sanc = np.isin(exp_, sorted(SANCTIONING))
    div = np.zeros(len(flows))
    kind = np.zeros(len(flows), dtype=np.int8)
    hub = np.full(len(flows), -1, dtype=np.int64)
    for h, codes in planted_codes.items():
        m = mag[h]
        in_code = np.isin(hs6, sorted(codes))
        post = yr >= world.truth.event_year
        into = sanc & (imp_ == h) & in_code & post
        div[into] = (m - 1.0) / m
        kind[into] = 1
        hub[into] = idx[h]
        # the extra volume forwarded, per (year, hs6)
        extra = pd.Series(val[into] * (m - 1.0) / m).groupby(
            [yr[into], hs6[into]]).sum()
        for dest, frac in _DIVERTED_TO:
            out = (exp_ == h) & (imp_ == dest) & in_code & post
            if not out.any():
                continue
            want = extra.reindex(list(zip(yr[out], hs6[out], strict=True))).fillna(0.0) \
                .to_numpy() * frac
            div[out] = np.minimum(want / val[out], _MAX_DIVERTED)
            kind[out] = 2
            hub[out] = idx[h]
    # ---- sampling weights
    hubs_prior = set(ds.countries.loc[ds.countries["hub"].astype(bool), "iso3"])
    cov = np.array([_COVERAGE_DEST.get(c, _COVERAGE_HUB if (c in planted_cats or
                                                             c in hubs_prior)
                                       else _COVERAGE_OTHER) for c in iso])
    in_cat = flows["hs6"].map(prim)
    bg = in_cat.isna().to_numpy()
    cov_flow = cov[[idx[c] for c in imp_]]
    # the records cover the planted intermediaries' imports as well as Russia's
    cov_flow = np.where(kind == 1, np.maximum(cov_flow, _COVERAGE_DEST["RUS"]), cov_flow)
    w = val * cov_flow * np.where(bg, 0.3, 1.0)
    p = w / w.sum()
    counts = rng.multinomial(n_rows, p)
    lam = n_rows * p
    ship_size = np.divide(val, lam, out=np.zeros_like(val), where=lam > 0)
    # months: sequential binomials give a multinomial over 12 equal months
    months = np.zeros((len(flows), 12), dtype=np.int64)
    rest = counts.copy()
    for m in range(11):
        months[:, m] = rng.binomial(rest, 1.0 / (12 - m))
        rest -= months[:, m]
    months[:, 11] = rest
    qty = flows["quantity"].to_numpy(dtype=float)
    unit = np.where(np.isfinite(qty) & (val > 0), qty * 1000.0 / np.where(val > 0, val, 1),
                    0.1)
    # ---- origin mixes
    layers, origin_cdf = _origin_layers(world, flows, prim, yrs, list(iso), idx)
    f_cat = np.array([cat_idx.get(c, -1) if isinstance(c, str) else -1 for c in in_cat])
    f_layer = np.array([layers.get((y, c), layers[("bg", None)]) if isinstance(c, str)
                        else layers[("bg", None)] for y, c in zip(yr, in_cat, strict=True)])
    # ---- brands
    brands = _brands(world, cats, np.random.default_rng([seed, 17]))
    b_hq = np.array([idx.get(h, -1) for h in brands["hq_country"]])
    b_cat = np.array([cat_idx[c] for c in brands["category_id"]])
    b_w = brands["weight"].to_numpy(dtype=float)
    coal_mask = brands["hq_country"].isin(sorted(SANCTIONING)).to_numpy()
    brand_cdf: dict = {}
    coal_cdf: dict = {}
    for ci in range(len(cats)):
        bi = np.flatnonzero(b_cat == ci)
        if not len(bi):
            continue
        coal = bi[coal_mask[bi]]
        wb = b_w[bi]
        coal_m = coal_mask[bi]
        for oi, o in enumerate(iso):
            own_m = b_hq[bi] == oi
            q = _OFFSHORE.get(o, 0.0)
            if own_m.any():
                pr = (1 - q) * own_m * wb / wb[own_m].sum()
                alt = coal_m if coal_m.any() else own_m
                pr = pr + q * alt * wb / wb[alt].sum()
            else:
                pr = wb / wb.sum()
            brand_cdf[(ci, oi)] = (bi, np.cumsum(pr / pr.sum()))
        if len(coal):
            coal_cdf[(ci, -1)] = (coal, np.cumsum(b_w[coal] / b_w[coal].sum()))
            for hq in np.unique(b_hq[coal]):
                own = coal[b_hq[coal] == hq]
                coal_cdf[(ci, int(hq))] = (own, np.cumsum(b_w[own] / b_w[own].sum()))
    # ---- where each hub's diverted receipts come from, per category
    div_src: dict = {}
    into = kind == 1
    if into.any():
        g = pd.DataFrame({"hub": hub[into], "cat": f_cat[into],
                          "k": [idx[c] for c in exp_[into]],
                          "v": val[into] * div[into]}).groupby(["hub", "cat", "k"])["v"].sum()
        for (h, ci), sub in g.groupby(level=[0, 1]):
            ks = sub.index.get_level_values(2).to_numpy()
            div_src[(int(h), int(ci))] = (ks, np.cumsum(sub.to_numpy() / sub.sum()))
    # ---- firms
    ex_rows = np.bincount([idx[c] for c in exp_], weights=counts, minlength=n)
    im_rows = np.bincount([idx[c] for c in imp_], weights=counts, minlength=n)
    frng = np.random.default_rng([seed, 7])
    names: list[str] = []
    taken: set[str] = set()
    pools: dict = {}

    def add_pool(role: str, ci: int, k: int) -> None:
        new = _firm_names(iso[ci], k, frng, taken)
        pools[(role, ci)] = (len(names), len(new))
        names.extend(new)

    concern = np.isin(iso, concern_destinations())
    reexport = np.isin(iso, _REEXPORT)
    for ci in range(n):
        add_pool("exp", ci, int(np.clip(round(0.7 * np.sqrt(ex_rows[ci])), 3, 20_000)))
        add_pool("imp", ci, int(np.clip(round(0.7 * np.sqrt(im_rows[ci])), 3, 20_000)))
        if reexport[ci]:
            add_pool("trader", ci, int(np.clip(round(0.5 * np.sqrt(im_rows[ci])), 3, 5_000)))
    arm = np.empty(len(brands), dtype=np.int64)
    for bi, (b, hq) in enumerate(zip(brands["brand"], brands["hq_country"], strict=True)):
        pre, suf = _LEGAL.get(hq, ("", " Ltd"))
        nm = f"{pre}{b} Export{suf}"
        arm[bi] = len(names)
        names.append(nm)
        taken.add(nm)
    inter: dict = {}
    for h, k in _INTERMEDIARIES.items():
        if h not in planted_cats:
            continue
        pre, suf = _LEGAL.get(h, ("", " Ltd"))
        firms = []
        for j in range(k):
            nm = f"{pre}{_WORDS_A[(7 * j + len(h) * 3 + idx[h]) % len(_WORDS_A)]} Bridge " \
                 f"{_WORDS_B[(j + idx[h]) % len(_WORDS_B)]}{suf}"
            while nm in taken:
                nm = nm.replace(" Bridge ", " Bridge Link ")
            taken.add(nm)
            firms.append(len(names))
            names.append(nm)
        inter[idx[h]] = np.array(firms)
    # listed consignees and decoys
    ents = ds.entities if ds.entities is not None else pd.DataFrame(
        columns=["name", "country"])
    tc = []
    receivers: dict = {}
    for dest, n_listed, n_unlisted in (("RUS", 24, 14), ("BLR", 4, 4)):
        listed = ents[ents["country"] == dest]["name"].tolist()
        pick = listed[:n_listed]
        firms = []
        for j, ent in enumerate(pick):
            variant = ("exact", "legal form", "typo")[j % 3]
            if variant == "exact":
                nm = ent
            elif variant == "legal form":
                stem = ent[:-4] if ent.endswith(" LLC") else ent
                nm = f"OOO {stem}"
            else:
                nm = ent.upper().replace("TRADING", "TRADNG")
            taken.add(nm)
            firms.append(len(names))
            names.append(nm)
            tc.append((nm, dest, ent, variant, True))
        ndecoy = 2 if dest == "RUS" else 0
        for j in range(ndecoy):
            nm = f"Demo {dest} Trading {len(listed) + 1 + j:03d} LLC"
            taken.add(nm)
            firms.append(len(names))
            names.append(nm)
            tc.append((nm, dest, None, "decoy", True))
        firms.extend(range(len(names), len(names) + n_unlisted - ndecoy))
        names.extend(_firm_names(dest, n_unlisted - ndecoy, frng, taken))
        receivers[idx[dest]] = np.array(firms)
        # a few listed names also among the ordinary importers
        p_start, p_size = pools[("imp", idx[dest])]
        slots = [k for k in (4, 9, 15) if k < p_size]
        for k, ent in zip(slots, listed[n_listed:n_listed + len(slots)], strict=False):
            names[p_start + k] = ent
            tc.append((ent, dest, ent, "exact", False))
    truth_consignees = pd.DataFrame(tc, columns=["name", "country", "entity", "variant",
                                                 "receives_diverted"])
    return _Plan(
        iso=iso, years=yrs, f_year=yr, f_exp=np.array([idx[c] for c in exp_]),
        f_imp=np.array([idx[c] for c in imp_]), f_hs6=hs6, f_cat=f_cat, f_layer=f_layer,
        f_unit=unit, f_size=ship_size, f_div=div, f_kind=kind, f_hub=hub, counts=months,
        origin_cdf=origin_cdf, brands=brands, brand_cdf=brand_cdf, coal_cdf=coal_cdf,
        div_src=div_src,
        brand_hq=b_hq, names=np.array(names, dtype=object), pools=pools, arm=arm,
        inter=inter, receivers=receivers, concern=concern, reexport=reexport,
        truth_consignees=truth_consignees, hs6_cats=mem, planted_cats=planted_cats,
        categories=cats, seed=seed)


# ---------------------------------------------------------------------------------------
# rows, one month at a time
# ---------------------------------------------------------------------------------------


def _pick_cdf(rng, cdf_rows: np.ndarray) -> np.ndarray:
    u = rng.random(cdf_rows.shape[0])
    return np.minimum((cdf_rows < u[:, None]).sum(axis=1), cdf_rows.shape[1] - 1)


def _pool_pick(rng, plan: _Plan, role: str, country: np.ndarray) -> np.ndarray:
    start = np.zeros(len(country), dtype=np.int64)
    size = np.ones(len(country), dtype=np.int64)
    for ci in np.unique(country):
        s, k = plan.pools[(role, int(ci))]
        m = country == ci
        start[m], size[m] = s, k
    return start + _zipf_pick(rng, size)


def _market_pick(rng, plan: _Plan, role: str, country: np.ndarray, market: np.ndarray
                 ) -> np.ndarray:
    """A firm of ``country`` among those serving ``market`` (a fixed slice of the pool,
    a tenth of it, largest first): firms specialise in a few destinations."""
    start = np.zeros(len(country), dtype=np.int64)
    size = np.ones(len(country), dtype=np.int64)
    for ci in np.unique(country):
        s, k = plan.pools[(role, int(ci))]
        m = country == ci
        start[m], size[m] = s, k
    sub = np.maximum(np.minimum(size, 3), size // _SLICE)
    rank = _zipf_pick(rng, sub)
    offset = (market.astype(np.int64) * 7919) % size
    # the largest firms (rank 0, 1) serve every market; the others one slice each
    local = np.where(rank < 2, rank, (offset + rank) % size)
    return start + local


def _partner_pick(rng, plan: _Plan, role: str, country: np.ndarray, anchor: np.ndarray
                  ) -> np.ndarray:
    """A regular trading partner of each ``anchor`` firm (one of a few fixed ones), or now
    and then any firm of the pool: firm pairs repeat, as in real customs data."""
    start = np.zeros(len(country), dtype=np.int64)
    size = np.ones(len(country), dtype=np.int64)
    for ci in np.unique(country):
        s, k = plan.pools[(role, int(ci))]
        m = country == ci
        start[m], size[m] = s, k
    slot = _zipf_pick(rng, np.full(len(country), _PARTNERS))
    local = (anchor.astype(np.int64) * 2654435761 + slot * 40503
             + country.astype(np.int64) * 97) % size
    casual = rng.random(len(country)) < _CASUAL
    local = np.where(casual, _zipf_pick(rng, size), local)
    return start + local


def _month_rows(plan: _Plan, year: int, month: int, rng, counter: int) -> tuple[dict, int]:
    """Columns of one month's shipments (arrays) and the next declaration counter."""
    sel = np.flatnonzero((plan.f_year == year) & (plan.counts[:, month - 1] > 0))
    k = plan.counts[sel, month - 1]
    fi = np.repeat(sel, k)
    m = len(fi)
    exp_, imp_ = plan.f_exp[fi], plan.f_imp[fi]
    cat = plan.f_cat[fi]
    diverted = rng.random(m) < plan.f_div[fi]
    kind = np.where(diverted, plan.f_kind[fi], 0)
    hub = plan.f_hub[fi]
    # origin (normal shipments)
    origin = _pick_cdf(rng, plan.origin_cdf[plan.f_layer[fi], exp_])
    # brand
    brand = np.full(m, -1, dtype=np.int64)
    for ci in np.unique(cat[cat >= 0]):
        rows = np.flatnonzero((cat == ci) & (kind == 0))
        for oi in np.unique(origin[rows]):
            r = rows[origin[rows] == oi]
            entry = plan.brand_cdf.get((int(ci), int(oi)))
            if entry is not None:
                bi, cdf = entry
                brand[r] = bi[_pick_cdf(rng, np.broadcast_to(cdf, (len(r), len(cdf))))]
        # diverted: coalition brands. Into the hub: a brand of the dispatching country
        # when it has one; out of the hub: the coalition country is drawn from the hub's
        # diverted receipts of the category, then its brand (the mix that came in).
        drows = np.flatnonzero((cat == ci) & (kind > 0))
        src = exp_[drows].copy()
        out = kind[drows] == 2
        for h in np.unique(hub[drows][out]):
            r = np.flatnonzero(out & (hub[drows] == h))
            entry = plan.div_src.get((int(h), int(ci)))
            if entry is not None:
                ks, cdf = entry
                src[r] = ks[_pick_cdf(rng, np.broadcast_to(cdf, (len(r), len(cdf))))]
            else:
                src[r] = -1
        for g in np.unique(src):
            r = drows[src == g]
            entry = plan.coal_cdf.get((int(ci), int(g))) or plan.coal_cdf.get((int(ci), -1))
            if entry is None:
                continue
            bi, cdf = entry
            brand[r] = bi[_pick_cdf(rng, np.broadcast_to(cdf, (len(r), len(cdf))))]
    has_brand = brand >= 0
    bhq = np.where(has_brand, plan.brand_hq[np.maximum(brand, 0)], -1)
    origin = np.where(kind == 1, exp_, origin)
    origin = np.where((kind == 2) & (bhq >= 0), bhq, origin)
    brand = np.where((kind == 0) & (rng.random(m) < _MISSING_BRAND), -1, brand)
    # firms: shippers by size (Zipf) among the exporters serving the importing country,
    # consignees among each shipper's regular partners
    shipper = _market_pick(rng, plan, "exp", exp_, imp_)
    normal = kind == 0
    to_concern = plan.concern[imp_]
    own = normal & (bhq == exp_) & (origin == exp_) & has_brand & (rng.random(m) < 0.5)
    shipper = np.where(own, plan.arm[np.maximum(brand, 0)], shipper)
    tr_out = normal & plan.reexport[exp_] & ~to_concern & ~own & (rng.random(m) < 0.5)
    if tr_out.any():
        shipper[tr_out] = _pool_pick(rng, plan, "trader", exp_[tr_out])
    consignee = _partner_pick(rng, plan, "imp", imp_, shipper)
    tr_in = normal & plan.reexport[imp_] & (rng.random(m) < 0.5)
    if tr_in.any():
        consignee[tr_in] = _pool_pick(rng, plan, "trader", imp_[tr_in])
    for h, firms in plan.inter.items():
        into = (kind == 1) & (hub == h)
        if into.any():
            consignee[into] = firms[_zipf_pick(rng, np.full(into.sum(), len(firms)))]
            arm_ok = into & has_brand & (bhq == exp_)
            shipper[arm_ok] = plan.arm[brand[arm_ok]]
        out = (kind == 2) & (hub == h)
        if out.any():
            shipper[out] = firms[_zipf_pick(rng, np.full(out.sum(), len(firms)))]
    for d, firms in plan.receivers.items():
        out = (kind == 2) & (imp_ == d)
        if out.any():
            consignee[out] = firms[_zipf_pick(rng, np.full(out.sum(), len(firms)))]
    # dates: intermediaries receive early in the month and forward later
    days = pd.Period(f"{year}-{month:02d}").days_in_month
    day = rng.integers(0, days, m)
    day = np.where(kind == 1, rng.integers(0, 12, m), day)
    day = np.where(kind == 2, rng.integers(14, days, m), day)
    date = np.datetime64(f"{year}-{month:02d}-01", "us") + day.astype("timedelta64[D]")
    # values
    noise = rng.lognormal(-_NOISE_SIGMA ** 2 / 2, _NOISE_SIGMA, m)
    value = np.round(plan.f_size[fi] * noise, 2)
    value = np.maximum(value, 0.01)
    qty = np.round(value * plan.f_unit[fi], 3)
    qty = np.where(rng.random(m) < _MISSING_QTY, np.nan, qty)
    origin_known = rng.random(m) >= _MISSING_ORIGIN
    suffixes = np.array([s for s, _ in _HS_SUFFIX], dtype=object)
    sp = np.cumsum([p for _, p in _HS_SUFFIX])
    suf = suffixes[np.minimum(np.searchsorted(sp / sp[-1], rng.random(m)), len(sp) - 1)]
    cols = {
        "date": date,
        "declaration_id": (counter, m),
        "consignee": consignee, "importer_country": imp_, "shipper": shipper,
        "dispatch_country": exp_, "origin_country": (origin, origin_known),
        "brand": brand, "hs_code": (plan.f_hs6[fi], suf), "value_usd": value,
        "quantity": qty,
        "_kind": kind, "_hub": hub,
    }
    return cols, counter + m


def _to_arrow(plan: _Plan, cols: dict) -> pa.Table:
    start, m = cols["declaration_id"]
    ids = pa.compute.utf8_lpad(pa.array(np.arange(start, start + m), pa.int64())
                               .cast(pa.string()), 11, "0")
    ids = pa.compute.binary_join_element_wise(f"S{plan.seed}-", ids, "")
    iso = pa.array(plan.iso.tolist(), pa.string())
    names = pa.array(plan.names.tolist(), pa.string())
    brands = pa.array(plan.brands["brand"].tolist(), pa.string())

    def dict_col(indices: np.ndarray, dictionary: pa.Array, valid=None) -> pa.Array:
        mask = None if valid is None else ~np.asarray(valid, dtype=bool)
        arr = pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32), mask=mask),
                                             dictionary)
        return arr.cast(pa.string())

    origin, known = cols["origin_country"]
    b = cols["brand"]
    hs6, suf = cols["hs_code"]
    hs = pa.compute.binary_join_element_wise(pa.array(hs6.tolist(), pa.string()),
                                             pa.array(suf.tolist(), pa.string()), "")
    return pa.table({
        "date": pa.array(cols["date"], pa.timestamp("us")),
        "declaration_id": ids,
        "consignee": dict_col(cols["consignee"], names),
        "importer_country": dict_col(cols["importer_country"], iso),
        "shipper": dict_col(cols["shipper"], names),
        "dispatch_country": dict_col(cols["dispatch_country"], iso),
        "origin_country": dict_col(origin, iso, known),
        "brand": dict_col(np.maximum(b, 0), brands, b >= 0),
        "hs_code": hs,
        "value_usd": pa.array(cols["value_usd"], pa.float64()),
        "quantity": pa.array(cols["quantity"], pa.float64(), from_pandas=True),
    }, schema=SHIPMENT_SCHEMA)


class _TruthAcc:
    def __init__(self, plan: _Plan) -> None:
        self.plan = plan
        self.routes: list[pd.DataFrame] = []
        self.inter: list[pd.DataFrame] = []

    def add(self, cols: dict, year: int) -> None:
        kind, hub = cols["_kind"], cols["_hub"]
        out = kind == 2
        if out.any():
            self.routes.append(pd.DataFrame({
                "hub": self.plan.iso[hub[out]], "destination":
                self.plan.iso[cols["importer_country"][out]],
                "hs6": cols["hs_code"][0][out],
                "year": year, "value": cols["value_usd"][out]}).groupby(
                ["hub", "destination", "hs6", "year"])["value"].sum().reset_index())
        for k, firm_col in ((1, "consignee"), (2, "shipper")):
            sel = kind == k
            if sel.any():
                self.inter.append(pd.DataFrame({
                    "firm": cols[firm_col][sel], "side": "in" if k == 1 else "out",
                    "value": cols["value_usd"][sel], "date": cols["date"][sel]}).groupby(
                    ["firm", "side"]).agg(value=("value", "sum"),
                                          first=("date", "min")).reset_index())

    def truth(self) -> ShipmentTruth:
        from analytics.demo import SANCTIONING

        plan = self.plan
        if self.routes:
            r = pd.concat(self.routes).groupby(["hub", "destination", "hs6", "year"])[
                "value"].sum().reset_index()
            r = r.merge(plan.hs6_cats, on="hs6")
            routes = r.groupby(["hub", "destination", "category_id", "year"])["value"].sum() \
                .rename("diverted_value").reset_index()
        else:
            routes = pd.DataFrame(columns=["hub", "destination", "category_id", "year",
                                           "diverted_value"])
        recs = []
        acc = (pd.concat(self.inter).groupby(["firm", "side"]).agg(
            value=("value", "sum"), first=("first", "min")) if self.inter else None)
        for h, firms in plan.inter.items():
            for f in firms:
                def get(side, what, f=f):
                    if acc is None or (f, side) not in acc.index:
                        return 0.0 if what == "value" else pd.NaT
                    return acc.loc[(f, side), what]
                recs.append((plan.names[f], plan.iso[h],
                             ";".join(plan.planted_cats[plan.iso[h]]), get("in", "value"),
                             get("out", "value"), get("in", "first"), get("out", "first")))
        inter = pd.DataFrame(recs, columns=["name", "country", "categories", "in_value",
                                            "out_value", "first_in", "first_out"])
        for col in ("name", "country", "categories"):
            inter[col] = inter[col].astype(STR)
        tc = plan.truth_consignees.copy()
        for col in ("name", "country", "entity", "variant"):
            tc[col] = tc[col].astype(STR)
        for col in ("hub", "destination", "category_id"):
            routes[col] = routes[col].astype(STR)
        return ShipmentTruth(intermediaries=inter, listed_consignees=tc,
                             routes=routes.sort_values(["hub", "destination", "category_id",
                                                        "year"]).reset_index(drop=True),
                             coalition=tuple(sorted(SANCTIONING)))


def _months(plan: _Plan) -> list[tuple[int, int]]:
    return [(y, m) for y in plan.years for m in range(1, 13)]


def _generate(world, n_rows: int, seed: int, years) -> Iterator[tuple[str, pa.Table, dict]]:
    plan = _plan(world, n_rows, seed, years)
    rng = np.random.default_rng([seed, 99])
    counter = 0
    acc = _TruthAcc(plan)
    for y, m in _months(plan):
        cols, counter = _month_rows(plan, y, m, rng, counter)
        acc.add(cols, y)
        yield f"{y}-{m:02d}", _to_arrow(plan, cols), {"plan": plan, "acc": acc}


def _brand_table(plan: _Plan) -> pd.DataFrame:
    b = plan.brands[["brand", "hq_country", "source"]].copy()
    return validate(b, Brands, source="demo brands")


def _provenance(world, n_rows: int, seed: int, years) -> dict:
    return {"source": SOURCE, "version": f"world seed={world.seed}, scale={world.scale:g}; "
                                         f"shipments seed={seed}, rows={n_rows}, "
                                         f"years={years[0]}-{years[1]}",
            "licence": "generated; fictional firms and brands", "label": SYNTHETIC_LABEL,
            "unit": "USD"}


def iter_demo_shipments(world, *, n_rows: int = 200_000, seed: int = 0,
                        years: tuple[int, int] = DEFAULT_YEARS
                        ) -> Iterator[tuple[str, pd.DataFrame]]:
    """Synthetic shipments, one month at a time: ``(month "YYYY-MM", frame)``.

    The frames have the canonical Shipments columns (``date`` in microseconds). Memory is
    bounded by one month (``n_rows / months`` rows).
    """
    for month, table, _ in _generate(world, n_rows, seed, years):
        yield month, table.to_pandas()


def make_demo_shipments(world, *, n_rows: int = 200_000, seed: int = 0,
                        years: tuple[int, int] = DEFAULT_YEARS,
                        check: bool = True) -> DemoShipments:
    """Synthetic shipments consistent with ``world`` (see the module notes).

    Parameters
    ----------
    world : DemoWorld
        From :func:`analytics.demo.make_demo_world`.
    n_rows : int
        Number of shipments (exact).
    seed : int
        The same world, rows and seed give identical shipments.
    years : (int, int)
        First and last year (within the world's years).
    check : bool
        Validate against :class:`~analytics.schemas.Shipments` (every cell).

    Returns
    -------
    DemoShipments
        ``shipments`` (sorted by date), ``brands``, ``truth``, ``provenance``.

    Raises
    ------
    ConfigError
        ``n_rows`` < 1 or years outside the world.
    """
    tables = []
    state: dict = {}
    for _, table, st in _generate(world, n_rows, seed, years):
        tables.append(table)
        state = st
    frame = pa.concat_tables(tables).to_pandas()
    frame = frame.sort_values(["date", "declaration_id"], kind="stable").reset_index(
        drop=True)
    if check:
        frame = validate(frame, Shipments, source="demo shipments")
    plan, acc = state["plan"], state["acc"]
    return DemoShipments(frame, _brand_table(plan), acc.truth(), seed,
                         _provenance(world, n_rows, seed, years))


def write_demo_shipments(world, dest: str | os.PathLike, *, n_rows: int = 200_000,
                         seed: int = 0, years: tuple[int, int] = DEFAULT_YEARS,
                         row_group_size: int = 250_000) -> DemoShipments:
    """Write synthetic shipments as ``dest/month=YYYY-MM/part-0.parquet`` (one month at a
    time, bounded memory; the layout :func:`analytics.store.update_table_files` takes).

    Returns a :class:`DemoShipments` whose ``shipments`` is None (the rows are on disk)
    and whose ``provenance`` lists the files.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    files = {}
    state: dict = {}
    for month, table, st in _generate(world, n_rows, seed, years):
        state = st
        if table.num_rows == 0:
            continue
        d = dest / f"month={month}"
        d.mkdir(exist_ok=True)
        f = d / "part-0.parquet"
        pq.write_table(table, f, compression="zstd", row_group_size=row_group_size)
        files[month] = f
    plan, acc = state["plan"], state["acc"]
    prov = _provenance(world, n_rows, seed, years)
    prov["files"] = {k: str(v) for k, v in files.items()}
    return DemoShipments(None, _brand_table(plan), acc.truth(), seed, prov)
