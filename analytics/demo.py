"""The demo world: a deterministic, synthetic but realistic trade network with planted truth.

:func:`make_demo_world` generates, from a seed and in seconds, bilateral HS6 flows between
about fifty real countries for 2018-2025, in HS2017 codes, for the technology categories of
the reference tables (CHPL tiers, chip-making equipment, machine tools, ...) plus a few
non-controlled "background" products. Its structure:

* **Production.** Each product belongs to a family (integrated circuits, chip-making
  equipment, bearings, ...) whose world production is split between countries by planted
  shares (Taiwan dominates integrated circuits, the Netherlands chip-making equipment,
  China rare-earth magnets, ...), perturbed per product.
* **Trade.** Exports follow a gravity pattern (production x demand x regional affinity);
  a pair-product either trades in every year or never (time-invariant activity), with
  lognormal noise on each flow. Hubs re-export: Hong Kong carries a large part of China's
  imports, Singapore part of South-East Asia's, the UAE part of the Middle East's.
* **The 2022 sanctions event.** For controlled products (those in an outbound category),
  flows from the sanctioning countries to Russia and Belarus collapse; Taiwan's integrated
  circuits to Russia follow Taiwan's customs figures (-51 % in 2022, -84 % in 2023, -97 % in
  2024 against 2021). Planted diversion routes make the sanctioning countries' exports of
  given categories to given hubs jump by a constant factor (the *magnitude*) from 2022 and
  forward the extra volume to Russia (90 %) and Belarus (10 %). Magnitudes are calibrated so
  that Russia's 2023 imports of controlled goods come about 56 % from China, 19 % from Hong
  Kong, 6 % from Turkey and 4 % from the UAE (KSE Institute's dispatch shares), and cap at
  the EU's 2021->2022 export growth to Kyrgyzstan (+345 %). China's own exports to Russia
  of controlled goods surge. Malaysia, Thailand and Vietnam are hubs in the prior but carry
  no planted route (their exports to Russia fall, as observed), and so is Georgia.
* **Firm-level suppliers** for semiconductor-equipment and materials items (lithography
  81.5 % Netherlands / 15 % Japan as in ETO's data; EUV 100 % one firm).

The result carries its planted truth (:class:`DemoTruth`), so detection can be scored.
Everything is labelled "synthetic demo data".

>>> world = make_demo_world(seed=0)
>>> world.dataset.synthetic, world.dataset.hs_version
(True, 'HS2017')
>>> sorted(set(world.truth.routes["hub"]))[:3]
['ARE', 'ARM', 'CHN']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics import reference
from analytics.dataset import SYNTHETIC_LABEL, Dataset
from analytics.errors import ConfigError
from analytics.schemas import STR, Flows, Suppliers, validate

__all__ = ["make_demo_world", "DemoWorld", "DemoTruth", "DEMO_COUNTRIES", "SANCTIONING",
           "DEMO_YEARS", "EVENT_YEAR"]

DEMO_YEARS = tuple(range(2018, 2026))
EVENT_YEAR = 2022

# Countries of the demo world: (iso3, demand weight, region group)
_COUNTRIES: list[tuple[str, float, str]] = [
    # sanctioning coalition (imposed export controls on Russia in 2022)
    ("JPN", 4.0, "eas"), ("USA", 12.0, "nam"), ("NLD", 2.0, "eur"), ("DEU", 5.0, "eur"),
    ("FRA", 2.5, "eur"), ("GBR", 2.5, "eur"), ("ITA", 2.0, "eur"), ("KOR", 3.5, "eas"),
    ("TWN", 3.0, "eas"), ("CHE", 0.8, "eur"), ("SWE", 0.8, "eur"), ("CAN", 1.5, "nam"),
    ("AUT", 0.7, "eur"), ("BEL", 0.8, "eur"), ("ESP", 1.2, "eur"), ("POL", 1.2, "eur"),
    ("CZE", 1.2, "eur"), ("FIN", 0.4, "eur"), ("DNK", 0.4, "eur"), ("NOR", 0.4, "eur"),
    ("IRL", 0.6, "eur"), ("AUS", 1.0, "oce"), ("SGP", 2.0, "sea"),
    # China and Hong Kong
    ("CHN", 22.0, "eas"), ("HKG", 1.0, "eas"),
    # other producers and hubs
    ("MYS", 3.0, "sea"), ("THA", 2.0, "sea"), ("VNM", 4.0, "sea"), ("PHL", 1.5, "sea"),
    ("IND", 3.0, "sas"), ("ISR", 0.8, "mea"), ("MEX", 3.5, "nam"),
    ("ARE", 0.8, "mea"), ("TUR", 1.5, "mea"), ("KAZ", 0.4, "cas"), ("KGZ", 0.08, "cas"),
    ("ARM", 0.1, "cas"), ("GEO", 0.1, "cas"), ("UZB", 0.2, "cas"),
    # destinations of concern
    ("RUS", 2.5, "cas"), ("BLR", 0.3, "cas"), ("IRN", 0.4, "mea"),
    # other destinations
    ("BRA", 1.5, "lat"), ("ZAF", 0.6, "afr"), ("EGY", 0.4, "mea"), ("SAU", 0.8, "mea"),
    ("IDN", 1.0, "sea"), ("ARG", 0.4, "lat"), ("NZL", 0.3, "oce"), ("CHL", 0.3, "lat"),
]
DEMO_COUNTRIES = tuple(c for c, _, _ in _COUNTRIES)

#: countries that imposed export controls on Russia in 2022 (EU, US, UK, JP, KR, TW, SG, ...)
SANCTIONING = frozenset({
    "JPN", "USA", "NLD", "DEU", "FRA", "GBR", "ITA", "KOR", "TWN", "CHE", "SWE", "CAN",
    "AUT", "BEL", "ESP", "POL", "CZE", "FIN", "DNK", "NOR", "IRL", "AUS", "SGP",
})

# Product families: world production in 2022 (USD bn, traded part) and production shares.
_FAMILIES: dict[str, tuple[float, float, dict[str, float]]] = {
    # name: (market USD bn, unit value USD per kg, production shares)
    "ic": (760.0, 2000.0, {"TWN": 0.34, "KOR": 0.15, "CHN": 0.17, "USA": 0.08, "JPN": 0.05,
                           "MYS": 0.07, "SGP": 0.06, "PHL": 0.03, "DEU": 0.02, "VNM": 0.02,
                           "NLD": 0.01, "ISR": 0.01, "IRL": 0.01}),
    "semi_equip": (110.0, 400.0, {"NLD": 0.40, "JPN": 0.25, "USA": 0.21, "KOR": 0.04,
                                  "DEU": 0.04, "CHN": 0.03, "SGP": 0.02, "GBR": 0.01}),
    "discrete": (90.0, 300.0, {"CHN": 0.34, "JPN": 0.12, "MYS": 0.10, "TWN": 0.08,
                               "DEU": 0.07, "KOR": 0.06, "PHL": 0.05, "USA": 0.05,
                               "THA": 0.04, "VNM": 0.03, "SGP": 0.03, "ITA": 0.03}),
    "passive": (160.0, 60.0, {"CHN": 0.33, "JPN": 0.17, "KOR": 0.08, "TWN": 0.08,
                              "DEU": 0.08, "USA": 0.06, "MYS": 0.04, "MEX": 0.04,
                              "VNM": 0.03, "THA": 0.03, "PHL": 0.02, "CZE": 0.02,
                              "POL": 0.02}),
    "telecom": (330.0, 150.0, {"CHN": 0.45, "VNM": 0.12, "USA": 0.06, "MEX": 0.06,
                               "KOR": 0.05, "TWN": 0.04, "SWE": 0.04, "MYS": 0.03,
                               "JPN": 0.03, "DEU": 0.03, "FIN": 0.03, "THA": 0.02,
                               "IND": 0.02, "NLD": 0.02}),
    "computers": (210.0, 80.0, {"CHN": 0.40, "MEX": 0.10, "TWN": 0.09, "USA": 0.07,
                                "VNM": 0.06, "THA": 0.05, "DEU": 0.04, "CZE": 0.04,
                                "MYS": 0.04, "SGP": 0.03, "JPN": 0.03, "NLD": 0.03,
                                "KOR": 0.02}),
    "navigation": (45.0, 900.0, {"USA": 0.37, "FRA": 0.15, "DEU": 0.10, "CHN": 0.09,
                                 "GBR": 0.08, "ISR": 0.06, "JPN": 0.05, "ITA": 0.04,
                                 "CAN": 0.03, "KOR": 0.02, "SWE": 0.01}),
    "instruments": (70.0, 500.0, {"USA": 0.33, "JPN": 0.21, "DEU": 0.17, "CHN": 0.10,
                                  "GBR": 0.05, "NLD": 0.03, "CHE": 0.03, "KOR": 0.03,
                                  "SGP": 0.02, "MYS": 0.02, "FRA": 0.01}),
    "bearings": (40.0, 10.0, {"DEU": 0.21, "JPN": 0.20, "CHN": 0.20, "USA": 0.07,
                              "ITA": 0.06, "SWE": 0.05, "FRA": 0.04, "KOR": 0.04,
                              "AUT": 0.03, "CZE": 0.03, "IND": 0.03, "POL": 0.02,
                              "THA": 0.02}),
    "machine_tools": (55.0, 25.0, {"JPN": 0.33, "DEU": 0.23, "CHN": 0.10, "ITA": 0.08,
                                   "TWN": 0.07, "CHE": 0.07, "USA": 0.05, "KOR": 0.04,
                                   "AUT": 0.01, "ESP": 0.01}),
    "magnets": (22.0, 50.0, {"CHN": 0.62, "JPN": 0.10, "DEU": 0.07, "VNM": 0.05,
                             "USA": 0.04, "KOR": 0.04, "PHL": 0.03, "THA": 0.03,
                             "CZE": 0.02}),
    "ga_ge": (1.5, 300.0, {"CHN": 0.58, "JPN": 0.09, "USA": 0.08, "DEU": 0.07,
                           "KOR": 0.06, "BEL": 0.05, "CAN": 0.04, "KAZ": 0.02,
                           "RUS": 0.01}),
    "other_tech": (40.0, 200.0, {"CHN": 0.25, "USA": 0.15, "DEU": 0.12, "JPN": 0.12,
                                 "KOR": 0.06, "TWN": 0.06, "FRA": 0.05, "GBR": 0.05,
                                 "ITA": 0.04, "MYS": 0.04, "MEX": 0.03, "CZE": 0.03}),
    "background": (60.0, 5.0, {"CHN": 0.22, "DEU": 0.10, "USA": 0.09, "ITA": 0.06,
                               "VNM": 0.05, "FRA": 0.05, "JPN": 0.04, "MEX": 0.04,
                               "IND": 0.04, "TUR": 0.04, "ESP": 0.03, "POL": 0.03,
                               "BRA": 0.03, "THA": 0.03, "NLD": 0.03, "KOR": 0.03,
                               "GBR": 0.02, "IDN": 0.02, "BEL": 0.02, "CAN": 0.02,
                               "RUS": 0.02, "MYS": 0.02, "CHE": 0.02}),
}

# HS2017 prefix -> family (first match wins)
_FAMILY_RULES: list[tuple[str, str]] = [
    ("8542", "ic"), ("8486", "semi_equip"), ("8541", "discrete"),
    ("8532", "passive"), ("8533", "passive"), ("8534", "passive"), ("8536", "passive"),
    ("8548", "passive"), ("8504", "passive"),
    ("8517", "telecom"), ("8525", "telecom"), ("8529", "telecom"),
    ("8471", "computers"),
    ("8526", "navigation"), ("9014", "navigation"), ("8802", "navigation"),
    ("8803", "navigation"), ("9013", "navigation"),
    ("9012", "instruments"), ("9030", "instruments"), ("9031", "instruments"),
    ("9027", "instruments"), ("8543", "instruments"), ("9011", "instruments"),
    ("8482", "bearings"),
    ("8456", "machine_tools"), ("8457", "machine_tools"), ("8458", "machine_tools"),
    ("8459", "machine_tools"), ("8460", "machine_tools"), ("8461", "machine_tools"),
    ("8462", "machine_tools"), ("8463", "machine_tools"), ("8464", "machine_tools"),
    ("8465", "machine_tools"), ("8466", "machine_tools"),
    ("8505", "magnets"), ("2805", "magnets"), ("2846", "magnets"),
    ("8112", "ga_ge"), ("2825", "ga_ge"),
]

#: real HS2017 codes of non-controlled products used as controls
_BACKGROUND_CODES = ("940360", "950300", "620342", "640399", "870323", "300490",
                     "220421", "090111", "392690", "730890", "841582", "030617")

_DEMO_INBOUND = ("rare_earth_magnets", "gallium_germanium")

# Hub re-export routing (time-invariant): hub -> (destinations, fraction of their
# imports from third countries that pass through the hub)
_ROUTING: dict[str, tuple[tuple[str, ...], float]] = {
    "HKG": (("CHN",), 0.5),
    "SGP": (("MYS", "THA", "VNM", "IDN", "PHL"), 0.12),
    "ARE": (("IRN", "SAU", "EGY"), 0.25),
}

# Collapse of sanctioning countries' controlled exports to RUS/BLR (factor vs no event)
_COLLAPSE = {2022: 0.35, 2023: 0.12, 2024: 0.07, 2025: 0.06}
_COLLAPSE_BACKGROUND = {2022: 0.75, 2023: 0.62, 2024: 0.6, 2025: 0.6}
# Taiwan's ICs to Russia, Taiwan customs: 21.6 (2021) -> 10.6, 3.5, 0.6 USD m
_COLLAPSE_TWN_IC = {2022: 10.6 / 21.6, 2023: 3.5 / 21.6, 2024: 0.6 / 21.6, 2025: 0.02}
# Non-planted hubs: observed falls in exports to Russia (2018-21 vs 2022-24)
_HUB_DECLINE = {"MYS": 0.45, "THA": 0.45, "VNM": 0.3, "SGP": 0.2}
# Target dispatch shares of Russia's imports of controlled goods in 2023 (KSE Institute)
_TARGET_SHARE = {"CHN": 0.563, "HKG": 0.193, "TUR": 0.057, "ARE": 0.042, "KAZ": 0.035,
                 "KGZ": 0.02, "ARM": 0.015, "UZB": 0.008}
_MAX_MAGNITUDE = 4.45  # EU exports to Kyrgyzstan 2021 -> 2022: +345 %

# Planted diversion routes: hub -> categories whose products it carries to Russia
_PLANTED: dict[str, tuple[str, ...]] = {
    "CHN": "all outbound",  # China re-exports coalition goods in every controlled category
    "HKG": ("chpl_tier1", "chpl_tier2", "chpl_tier3a"),
    "TUR": ("chpl_tier3b", "cnc_machine_tools", "bearings", "chpl_tier4b"),
    "ARE": ("chpl_tier1", "chpl_tier4a", "telecom_equipment"),
    "KAZ": ("chpl_tier3a", "bearings", "chpl_tier4a"),
    "KGZ": ("chpl_tier1", "chpl_tier2", "telecom_equipment"),
    "ARM": ("chpl_tier1", "chpl_tier3a", "navigation_uav"),
    "UZB": ("cnc_machine_tools", "chpl_tier4b"),
}
# growth of world demand by year (2022 = calibration year)
_GROWTH = {2018: 0.80, 2019: 0.79, 2020: 0.82, 2021: 0.97, 2022: 1.00, 2023: 0.97,
           2024: 1.03, 2025: 1.07}


@dataclass(frozen=True)
class DemoTruth:
    """What the demo world planted, for scoring detection.

    Attributes
    ----------
    routes : DataFrame
        Planted diversion routes: ``hub``, ``destination``, ``category_id``,
        ``start_year``, ``magnitude`` (factor on the sanctioning countries' exports of the
        category's planted products to the hub from ``start_year``), ``planted_share``
        (share of the category's pre-event value from the sanctioning countries to the hub
        that lies in planted products; 1.0 = the whole category), ``extra_value_2023``
        (USD forwarded to the destinations in 2023). Rows with ``planted_share >= 0.5``
        are positives; categories with a smaller non-zero share are ambiguous
        (``ambiguous_routes``) and should be ignored in scoring.
    ambiguous_routes : DataFrame
        Same columns, ``0 < planted_share < 0.5``.
    chokepoints : DataFrame
        Planted dominant suppliers: ``category_id``, ``supplier``, ``share`` (of world
        production in the event-free baseline), ``level`` (``country`` or ``firm``),
        ``item`` (firm level).
    production : DataFrame
        Production by ``year``, ``country``, ``hs6`` (USD), the origin truth for tracing.
    sanctioning : tuple of str
        The countries that imposed controls in the demo's 2022 event.
    event_year : int
    """

    routes: pd.DataFrame
    ambiguous_routes: pd.DataFrame
    chokepoints: pd.DataFrame
    production: pd.DataFrame
    sanctioning: tuple[str, ...]
    event_year: int = EVENT_YEAR
    hubs_without_routes: tuple[str, ...] = field(default=("GEO", "MYS", "THA", "VNM"))


@dataclass(frozen=True)
class DemoWorld:
    """A demo dataset and its planted truth."""

    dataset: Dataset
    truth: DemoTruth
    seed: int
    scale: float


def _family_of(code: str) -> str:
    for prefix, fam in _FAMILY_RULES:
        if code.startswith(prefix):
            return fam
    return "other_tech"


def _synthetic_codes(n: int, rng: np.random.Generator) -> list[str]:
    """n distinct well-formed HS6 codes outside chapters 28, 81, 84, 85, 88, 90."""
    chapters = [c for c in range(1, 98) if c not in (28, 77, 81, 84, 85, 88, 90)]
    codes: list[str] = []
    seen = set(_BACKGROUND_CODES)
    i = 0
    while len(codes) < n:
        ch = chapters[i % len(chapters)]
        rest = (i // len(chapters))
        heading, sub = 1 + rest % 99, 10 + (rest // 99) % 90
        code = f"{ch:02d}{heading:02d}{sub:02d}"
        if code not in seen:
            seen.add(code)
            codes.append(code)
        i += 1
    return codes


def _affinity(groups: np.ndarray, iso: Sequence[str]) -> np.ndarray:
    same = groups[:, None] == groups[None, :]
    aff = np.where(same, 2.5, 1.0)
    eaeu = np.isin(np.asarray(iso), ["RUS", "BLR", "KAZ", "KGZ", "ARM"])
    aff = np.where(eaeu[:, None] & eaeu[None, :], aff * 2.0, aff)
    np.fill_diagonal(aff, 0.0)
    return aff


def _categories_products(categories: pd.DataFrame, category_hs: pd.DataFrame,
                         concordance: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    demo_cats = categories.loc[
        (categories["direction"] == "outbound")
        | categories["category_id"].isin(_DEMO_INBOUND), "category_id"]
    mapped = reference.map_category_hs(
        category_hs[category_hs["category_id"].isin(demo_cats)], "HS2017", concordance)
    mapped = mapped[mapped["hs6"].str.len() == 6]
    return mapped[["category_id", "hs6"]], sorted(demo_cats)


def make_demo_world(seed: int = 0, scale: float = 1.0, *, noise: float = 0.18) -> DemoWorld:
    """Generate the demo world.

    Parameters
    ----------
    seed : int
        Random seed; the same seed gives identical tables.
    scale : float
        Size multiplier. ``scale=1`` gives a few hundred thousand flow rows; larger values
        add background products so the number of rows grows about linearly (``scale=50``
        gives roughly ten million rows) for benchmarks.
    noise : float, default 0.18
        Standard deviation of the multiplicative lognormal noise on every flow (0 gives
        the expected flows exactly). The planted truth and the detection targets are
        calibrated at the default.

    Returns
    -------
    DemoWorld
        ``.dataset`` (flows in HS2017, countries, categories, category_hs, events,
        hs_concordance, suppliers) and ``.truth`` (:class:`DemoTruth`).
    """
    if not scale > 0:
        raise ConfigError(f"demo world: scale must be positive, got {scale!r}")
    if not noise >= 0:
        raise ConfigError(f"demo world: noise must be non-negative, got {noise!r}")
    rng = np.random.default_rng(seed)
    iso = list(DEMO_COUNTRIES)
    n = len(iso)
    idx = {c: i for i, c in enumerate(iso)}
    demand = np.array([w for _, w, _ in _COUNTRIES])
    demand = demand / demand.sum()
    groups = np.array([g for _, _, g in _COUNTRIES])
    aff = _affinity(groups, iso)
    years = np.array(DEMO_YEARS)
    growth = np.array([_GROWTH[y] for y in DEMO_YEARS])
    sanction_mask = np.array([c in SANCTIONING for c in iso])

    countries = reference.countries()
    categories = reference.categories()
    category_hs = reference.category_hs()
    concordance = reference.hs_concordance()
    events = reference.events()
    cat_products, demo_cats = _categories_products(categories, category_hs, concordance)

    controlled = set(cat_products.loc[
        cat_products["category_id"].isin(
            categories.loc[categories["direction"] == "outbound", "category_id"]),
        "hs6"])
    tech_codes = sorted(set(cat_products["hs6"]))
    # a synthetic background product trades on ~1.75x more pairs than the average base
    # product (measured on seed 0), hence the factor keeping rows ~ linear in scale
    extra_bg = int(round((scale - 1.0) * (len(tech_codes) + len(_BACKGROUND_CODES)) / 1.75))
    bg_codes = list(_BACKGROUND_CODES) + (_synthetic_codes(extra_bg, rng) if extra_bg > 0
                                          else [])
    products = tech_codes + bg_codes
    family = [_family_of(c) for c in tech_codes] + ["background"] * len(bg_codes)

    # planted product sets per hub
    outbound = set(categories.loc[categories["direction"] == "outbound", "category_id"])
    planted_codes = {
        h: set(cat_products.loc[cat_products["category_id"].isin(
            outbound if cats == "all outbound" else cats), "hs6"])
        for h, cats in _PLANTED.items()
    }

    # product weights within family, production shares per product (perturbed)
    fam_members: dict[str, list[int]] = {}
    for k, f in enumerate(family):
        fam_members.setdefault(f, []).append(k)
    market = np.zeros(len(products))
    unit_value = np.zeros(len(products))
    shares = np.zeros((len(products), n))
    for f, members in fam_members.items():
        size, uv, base = _FAMILIES[f]
        base_vec = np.zeros(n)
        for c, s in base.items():
            base_vec[idx[c]] = s
        w = rng.lognormal(0.0, 0.5, len(members))
        w = w / w.sum()
        per_fam = 1.0 if f != "background" else len(members) / len(_BACKGROUND_CODES)
        for k, wk in zip(members, w, strict=True):
            market[k] = size * 1e9 * wk * per_fam
            unit_value[k] = uv * rng.lognormal(0.0, 0.3)
            pert = base_vec * rng.lognormal(0.0, 0.15, n)
            shares[k] = pert / pert.sum()

    # base expected flows (no noise, no event) for 2022: E[p, o, d]
    # producer o exports to d in proportion to demand[d] * aff[o, d]
    pull = demand[None, :] * aff  # (o, d)
    pull = pull / pull.sum(axis=1, keepdims=True)
    threshold = 2.0e5  # pair-products expected under USD 200k never trade

    ctrl_mask = np.array([p in controlled for p in products])
    is_ic = np.array([f == "ic" for f in family])
    rus, blr = idx["RUS"], idx["BLR"]

    # Pre-compute route magnitudes on the event-free expectation of 2023.
    def expected(chunk: np.ndarray) -> np.ndarray:
        # (p, o, d) at the 2022 level
        return market[chunk, None, None] * shares[chunk, :, None] * pull[None, :, :]

    def route(E: np.ndarray) -> np.ndarray:
        # hub re-exports: a fraction of d's imports from third countries passes via the hub
        E = E.copy()
        for hub, (dests, frac) in _ROUTING.items():
            h = idx[hub]
            for dname in dests:
                d = idx[dname]
                moved = E[:, :, d] * frac
                moved[:, h] = 0.0
                moved[:, d] = 0.0
                E[:, :, d] -= moved
                E[:, :, h] += moved
                E[:, h, d] += moved.sum(axis=1)
        return E

    all_idx = np.arange(len(products))
    tech_idx = all_idx[: len(tech_codes)]
    base_tech = route(expected(tech_idx))
    # event-free flows into Russia of controlled goods, and into each hub from sanctioners
    ctrl_t = ctrl_mask[: len(tech_codes)]
    rus_ctrl = base_tech[ctrl_t][:, :, rus].sum() * _GROWTH[2023]
    # Russia's controlled imports after the event: 85 % of the event-free level, split by
    # dispatcher as in 2023 (KSE Institute); China's share is 30 % re-exports of the
    # sanctioning countries' goods (its planted route) and 70 % its own production.
    target_total = 0.85 * rus_ctrl
    chn_base = base_tech[ctrl_t][:, idx["CHN"], rus].sum() * _GROWTH[2023]
    chn_own = float(max(0.7 * _TARGET_SHARE["CHN"] * target_total / max(chn_base, 1.0), 1.0))
    magnitudes: dict[str, float] = {}
    for hub in _PLANTED:
        h = idx[hub]
        pm = np.array([p in planted_codes[hub] for p in tech_codes])
        from_k = base_tech[pm][:, sanction_mask, h].sum() * _GROWTH[2023]
        if hub == "CHN":
            extra = 0.3 * _TARGET_SHARE["CHN"] * target_total
        else:
            already = base_tech[ctrl_t][:, h, rus].sum() * _GROWTH[2023]
            extra = max(_TARGET_SHARE[hub] * target_total - already, 0.0) / 0.9
        magnitudes[hub] = float(np.clip(1.0 + extra / max(from_k, 1.0), 1.02, _MAX_MAGNITUDE))

    frames = []
    truth_extra: dict[tuple[str, str], float] = {}
    prod_recs = []
    chunk_size = 64
    noise_sigma = float(noise)
    for start in range(0, len(products), chunk_size):
        chunk = all_idx[start:start + chunk_size]
        E0 = route(expected(chunk))  # (p, o, d) at 2022 level
        active = E0 >= threshold
        # yearly flows (t, p, o, d)
        X = growth[:, None, None, None] * E0[None]
        cm = ctrl_mask[chunk]
        # sanctions collapse
        for ti, y in enumerate(DEMO_YEARS):
            if y < EVENT_YEAR:
                continue
            fac_c, fac_b = _COLLAPSE[y], _COLLAPSE_BACKGROUND[y]
            for d in (rus, blr):
                sub = X[ti][:, sanction_mask, d]
                fac = np.where(cm[:, None], fac_c, fac_b)
                X[ti][:, sanction_mask, d] = sub * fac
            twn = idx["TWN"]
            icm = is_ic[chunk]
            X[ti][icm, twn, rus] = X[ti][icm, twn, rus] / _COLLAPSE[y] * _COLLAPSE_TWN_IC[y]
            for hub, fac in _HUB_DECLINE.items():
                h = idx[hub]
                if hub in SANCTIONING:
                    continue
                X[ti][cm, h, rus] *= fac
            # China's own surge
            X[ti][cm, idx["CHN"], rus] *= chn_own
            # planted routes
            for hub, mag in magnitudes.items():
                h = idx[hub]
                pm = np.array([products[k] in planted_codes[hub] for k in chunk])
                if not pm.any():
                    continue
                before = X[ti][pm][:, sanction_mask, h]
                extra = before.sum(axis=1) * (mag - 1.0)
                X[ti][np.ix_(pm, sanction_mask, [h])] = (before * mag)[..., None]
                X[ti][pm, h, rus] += 0.9 * extra
                X[ti][pm, h, blr] += 0.1 * extra
                if DEMO_YEARS[ti] == 2023:
                    for k_local, kk in enumerate(chunk[pm]):
                        truth_extra[(hub, products[kk])] = float(extra[k_local])
        # activity: fixed pair-products, plus routes created by the event
        act = active[None] | (X >= threshold * 5)
        noise = rng.lognormal(0.0, noise_sigma, X.shape)
        V = np.where(act, X * noise, 0.0)
        t_i, p_i, o_i, d_i = np.nonzero(V)
        vals = V[t_i, p_i, o_i, d_i]
        keep = vals >= 1000.0  # BACI omits flows under USD 1,000
        t_i, p_i, o_i, d_i, vals = t_i[keep], p_i[keep], o_i[keep], d_i[keep], vals[keep]
        prod_idx = chunk[p_i]
        qty = vals / unit_value[prod_idx] / 1000.0  # tonnes
        frames.append(pd.DataFrame({
            "year": years[t_i],
            "exporter": np.asarray(iso, dtype=object)[o_i],
            "importer": np.asarray(iso, dtype=object)[d_i],
            "hs6": np.asarray(products, dtype=object)[prod_idx],
            "value_usd": np.round(vals, 2),
            "quantity": np.round(qty, 3),
        }))
        if start < len(tech_codes):
            # production truth (event-free baseline, technology products only)
            P = market[chunk, None] * shares[chunk]  # (p, o)
            for ti, y in enumerate(DEMO_YEARS):
                pp, oo = np.nonzero(P)
                prod_recs.append(pd.DataFrame({
                    "year": y, "country": np.asarray(iso, dtype=object)[oo],
                    "hs6": np.asarray(products, dtype=object)[chunk[pp]],
                    "value_usd": P[pp, oo] * growth[ti],
                }))
    flows = pd.concat(frames, ignore_index=True)
    flows = flows.sort_values(["year", "exporter", "importer", "hs6"]).reset_index(drop=True)
    flows = validate(flows, Flows, source="demo world")

    production = pd.concat(prod_recs, ignore_index=True)
    production = production[production["hs6"].isin(tech_codes)].reset_index(drop=True)

    truth_routes, ambiguous = _route_truth(
        flows, cat_products, planted_codes, magnitudes, truth_extra, sanction_mask, iso)
    chokepoints = _chokepoint_truth(production, cat_products)
    suppliers, firm_truth = _suppliers(rng)
    entities = _entities()
    chokepoints = pd.concat([chokepoints, firm_truth], ignore_index=True)

    demo_categories = categories[categories["category_id"].isin(demo_cats)].reset_index(
        drop=True)
    demo_cat_hs = category_hs[category_hs["category_id"].isin(demo_cats)].reset_index(
        drop=True)
    prov_ref = {"source": "chokepoint-analytics reference tables (data/reference)",
                "version": "see the source and as_of columns"}
    dataset = Dataset(
        flows=flows,
        countries=countries,
        categories=demo_categories,
        category_hs=demo_cat_hs,
        events=events,
        hs_concordance=concordance,
        suppliers=suppliers,
        entities=entities,
        hs_version="HS2017",
        name=f"Demo world (seed {seed}, scale {scale:g})",
        synthetic=True,
        provenance={
            "flows": {"source": "analytics.demo", "version": f"seed={seed}, scale={scale:g}",
                      "licence": "generated; no real data", "label": SYNTHETIC_LABEL,
                      "unit": "USD"},
            "suppliers": {"source": "analytics.demo", "version": f"seed={seed}",
                          "licence": "generated; fictional firms", "label": SYNTHETIC_LABEL},
            "entities": {"source": "analytics.demo", "version": "fixed",
                         "licence": "generated; fictional entities", "label": SYNTHETIC_LABEL},
            "countries": prov_ref, "categories": prov_ref, "category_hs": prov_ref,
            "events": prov_ref, "hs_concordance": prov_ref,
        },
    )
    truth = DemoTruth(
        routes=truth_routes,
        ambiguous_routes=ambiguous,
        chokepoints=chokepoints,
        production=production,
        sanctioning=tuple(sorted(SANCTIONING)),
    )
    return DemoWorld(dataset=dataset, truth=truth, seed=seed, scale=scale)


def _route_truth(flows, cat_products, planted_codes, magnitudes, truth_extra,
                 sanction_mask, iso):
    sanc = {c for c, m in zip(iso, sanction_mask, strict=True) if m}
    pre = flows[(flows["year"] < EVENT_YEAR) & flows["exporter"].isin(sanc)]
    recs = []
    for hub, codes in planted_codes.items():
        to_hub = pre[pre["importer"] == hub].groupby("hs6")["value_usd"].sum()
        for cat, grp in cat_products.groupby("category_id"):
            cat_codes = set(grp["hs6"])
            total = to_hub.reindex(sorted(cat_codes)).fillna(0.0).sum()
            if total <= 0:
                continue
            in_planted = to_hub.reindex(sorted(cat_codes & codes)).fillna(0.0).sum()
            share = float(in_planted / total)
            if share <= 0:
                continue
            extra = sum(v for (h, p), v in truth_extra.items() if h == hub and p in cat_codes)
            for dest, frac in (("RUS", 0.9), ("BLR", 0.1)):
                recs.append({
                    "hub": hub, "destination": dest, "category_id": cat,
                    "start_year": EVENT_YEAR, "magnitude": round(magnitudes[hub], 4),
                    "planted_share": round(share, 4),
                    "extra_value_2023": round(extra * frac, 2),
                })
    out = pd.DataFrame(recs)
    for col in ("hub", "destination", "category_id"):
        out[col] = out[col].astype(STR)
    positives = out[out["planted_share"] >= 0.5].sort_values(
        ["hub", "destination", "category_id"]).reset_index(drop=True)
    ambiguous = out[out["planted_share"] < 0.5].sort_values(
        ["hub", "destination", "category_id"]).reset_index(drop=True)
    return positives, ambiguous


def _chokepoint_truth(production: pd.DataFrame, cat_products: pd.DataFrame) -> pd.DataFrame:
    base = production[production["year"] == EVENT_YEAR]
    merged = base.merge(cat_products, on="hs6")
    by = merged.groupby(["category_id", "country"])["value_usd"].sum().reset_index()
    by["share"] = by["value_usd"] / by.groupby("category_id")["value_usd"].transform("sum")
    top = by.sort_values(["category_id", "share"], ascending=[True, False]).groupby(
        "category_id").head(1)
    top = top[top["share"] >= 0.3]
    out = pd.DataFrame({
        "category_id": top["category_id"].astype(STR).to_numpy(),
        "supplier": top["country"].astype(STR).to_numpy(),
        "share": top["share"].round(4).to_numpy(),
        "level": "country",
        "item": pd.array([None] * len(top), dtype=STR),
    })
    return out.reset_index(drop=True)


# Fictional listed entities per country (counts shaped like the METI End User List and
# the Russia-related specified-entity lists: many in Iran and Russia, some in the hubs)
_ENTITY_COUNTS = {"RUS": 60, "IRN": 40, "CHN": 25, "BLR": 10, "HKG": 12, "ARE": 8,
                  "TUR": 6, "KAZ": 3, "KGZ": 3, "ARM": 2, "UZB": 2, "IND": 1, "MYS": 1}
_CONCERNS = ("export prohibition (Russia-related)", "nuclear, missile", "missile",
             "conventional weapons", "chemical, biological")


def _entities() -> pd.DataFrame:
    from analytics.schemas import Entities

    recs = []
    for country, n in _ENTITY_COUNTS.items():
        for k in range(n):
            concern = _CONCERNS[0] if country in ("RUS", "BLR") or k % 3 == 0 else \
                _CONCERNS[1 + k % (len(_CONCERNS) - 1)]
            lst = ("Demo specified entities" if concern == _CONCERNS[0]
                   else "Demo end-user list")
            recs.append((f"Demo {country} Trading {k + 1:03d} LLC", None, country, concern,
                         lst, "analytics.demo (fictional)"))
    frame = pd.DataFrame(recs, columns=["name", "aliases", "country", "concern",
                                        "list_name", "source"])
    return validate(frame, Entities, source="demo entities")


# Firm-level supplier items: (item_id, item_name, [(country, share), ...], firms per country)
_ITEMS = [
    ("litho", "Lithography tools", [("NLD", 0.815), ("JPN", 0.15), ("USA", 0.02),
                                    ("CHN", 0.015)]),
    ("euv", "EUV lithography tools", [("NLD", 1.0)]),
    ("depo", "Deposition tools", [("USA", 0.45), ("JPN", 0.25), ("NLD", 0.10),
                                  ("KOR", 0.06), ("DEU", 0.04), ("Various", 0.10)]),
    ("etch", "Etch and clean tools", [("USA", 0.50), ("JPN", 0.33), ("KOR", 0.05),
                                      ("CHN", 0.04), ("Various", 0.08)]),
    ("inspect", "Process control and inspection tools", [("USA", 0.56), ("JPN", 0.18),
                                                         ("NLD", 0.08), ("DEU", 0.05),
                                                         ("ISR", 0.05), ("Various", 0.08)]),
    ("resist", "Photoresists", [("JPN", 0.90), ("USA", 0.05), ("KOR", 0.03),
                                ("DEU", 0.02)]),
    ("wafers", "Silicon wafers", [("JPN", 0.55), ("TWN", 0.15), ("DEU", 0.12),
                                  ("KOR", 0.12), ("Various", 0.06)]),
    ("fab", "Advanced logic fabrication", [("TWN", 0.90), ("KOR", 0.08), ("USA", 0.02)]),
    ("atp", "Assembly, test and packaging", [("TWN", 0.30), ("CHN", 0.25), ("USA", 0.15),
                                             ("MYS", 0.10), ("KOR", 0.08), ("SGP", 0.05),
                                             ("Various", 0.07)]),
]


def _suppliers(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    recs = []
    truth = []
    for item_id, item_name, split in _ITEMS:
        for year in (2019, 2024):
            for country, cshare in split:
                if country == "Various":
                    recs.append((item_id, item_name, "Various companies", None, cshare, year))
                    continue
                nfirms = 1 if cshare >= 0.8 or item_id == "euv" else int(rng.integers(1, 4))
                w = rng.dirichlet(np.ones(nfirms) * 3.0) if nfirms > 1 else np.array([1.0])
                for k in range(nfirms):
                    firm = f"{item_id.capitalize()} Systems {chr(65 + k)} ({country}, demo)"
                    recs.append((item_id, item_name, firm, country, cshare * w[k], year))
    sup = pd.DataFrame(recs, columns=["item_id", "item_name", "provider", "provider_country",
                                      "share", "year"])
    sup["share"] = sup["share"].round(4)
    sup["source"] = "analytics.demo (synthetic, fictional firms)"
    sup = validate(sup, Suppliers, source="demo suppliers")
    top = sup[sup["year"] == 2024].sort_values("share", ascending=False).groupby(
        "item_id").head(1)
    top = top[top["share"] >= 0.5]
    truth = pd.DataFrame({
        "category_id": pd.array([None] * len(top), dtype=STR),
        "supplier": top["provider"].to_numpy(),
        "share": top["share"].to_numpy(),
        "level": "firm",
        "item": top["item_id"].to_numpy(),
    }).astype({"supplier": STR, "item": STR})
    return sup, truth.reset_index(drop=True)
