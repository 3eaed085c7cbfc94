"""Methodology and data (``/methodology``): formulas, assumptions, the risk components and
weights, shipments attribution and entity screening, provenance."""

from __future__ import annotations

import dash
import pandas as pd
from dash import dcc, html

from analytics.dataset import SYNTHETIC_LABEL
from analytics.risk import COMPONENTS
from dashboards import data
from dashboards.components import card, export_bar, grid, register_grid_export

GRIDS = ("home-flows-summary", "methodology-provenance", "methodology-components")
for _g in GRIDS:
    register_grid_export(_g)

METHODS_MD = r"""
### Tracing goods to their origin (proportional mixing)
Trade statistics record who *dispatched* goods. Each country pools its own production
$P_j$ with its imports $I_j$; every export leaves the pool with the pool's origin mix.
With flows $X_{jk}$ and supply $S_j = P_j + I_j$, $a_{jk} = X_{jk}/S_j$ and the origin
content of supplies is $Z = \mathrm{diag}(P)\,(I - A)^{-1}$, solved with sparse
factorisations. **Assumption:** production is *net exports*, $P_j = \max(O_j - I_j, 0)$,
unless stated; this undercounts the own production of large assemblers that also import.

### Chokepoints
Supplier shares $s_i$; $HHI = \sum s_i^2$; $CR_1$, $CR_3$; effective number of suppliers
$1/HHI$; for exporters (as shipped) and origins (traced). Dependency flag (EC/CEPII):
import HHI > 0.4 and imports/exports > 1, in 2 of 3 years. Removal impact: the share of
each destination's supply, shipped by or originating in the removed supplier.
Enforcement min-cut: the max-flow from the coalition to a destination over observed
routes, and the smallest set of routes and hubs that carries it.

### Diversion
Coalition-origin content of a destination's imports by last shipper (direct, via a
coalition partner, via a hub); path amounts $P_o \prod X_{uv}/S_u$; diversion exposure
(coalition goods via hubs / imports); forward exposure (share of a hub's coalition-origin
imports passed on to destinations of concern). Screening: post-event growth and z-scores;
difference-in-differences with exporter x importer x product, exporter x product x year
and importer x year fixed effects, standard errors clustered by flow.

### Risk score
$risk = 100 \sum_k w_k c_k / \sum_k w_k$ over the seven components $c_k$ below, each in
[0, 1], with the weights $w_k$ of the risk configuration file. A component that reaches
its *saturation* scores 1: larger values add nothing. A Dirichlet sample of the weights
gives each row's rank interval (a narrow interval is a robust ranking). The score ranks
the outbound-controlled categories; a dataset without any (e.g. only critical minerals
under China's export controls, *inbound* dependencies) is scored on its inbound
categories, and the overview says so.
"""

SHIPMENTS_MD = r"""
### Shipments: dispatch, origin and brand
Transaction-level customs records (one row per declaration line) carry three countries
for the same goods, and the Shipments page attributes the value of a selection
(destination, category, period) to each:

* **Dispatch**: the country the goods were shipped from (the customs view, as in trade
  statistics). Value dispatched by non-coalition countries is the *third-country* share.
* **Origin**: the declared country of origin (where the goods were made), when recorded;
  records without one count as *unknown*.
* **Brand headquarters**: the country of the brand owner, looked up in the brands table
  (case-insensitive); a brand missing from it counts as *unknown*.

The circumvention signal (as in the KSE Institute's reports) is the share of
coalition-brand goods dispatched from third countries. The route explorer links firms
(shipper -> consignee) and lists the largest paths of coalition-brand goods to a
consignee, assuming proportional mixing inside each firm.

### Fuzzy entity matching
Shippers and consignees are screened against the loaded entity lists (e.g. METI's End
User List). Names and aliases are first normalised: Unicode NFKC, case folded, Japanese /
Chinese legal forms (株式会社 ...) removed, dots and apostrophes inside words deleted,
other punctuation replaced by spaces, leading and trailing legal-form words (LLC, Ltd,
OOO, JSC, GmbH ...) dropped. The normalised names are compared with rapidfuzz's
*token-sort ratio* (0-100: word order does not matter, a missing word costs), blocked by
country (a party is compared only with entities of its country and entities without
one). Every candidate at or above the threshold is shown with its score: **exact** when
the normalised names are identical (confirm it), **review** when they are merely similar
(check by hand). Nothing is merged or decided automatically: a match is a red flag for an
analyst.
"""


def component_docs(cfg: dict) -> pd.DataFrame:
    """What each risk component measures and its formula, in plain words, with the
    thresholds of the configuration ``cfg`` (one row per component, in
    :data:`analytics.risk.COMPONENTS` order)."""
    c, s = cfg["concern"], cfg["surge"]
    fe, de = cfg["forward_exposure"], cfg["diversion_exposure"]
    le = cfg["listed_entities"]
    docs = {
        "sensitivity": (
            "How sensitive the technology category is (categories table).",
            "The category's sensitivity, in (0, 1]."),
        "concern": (
            "How concerning the destination is: sanctions, UN arms embargo, customs union "
            "with Russia, export-control regimes.",
            f"The largest rule that applies: sanctioned {c['sanctioned']}; UN arms embargo "
            f"{c['un_arms_embargo']}; EAEU member {c['eaeu_member']}; in none of the four "
            f"regimes {c['no_regime']}, else {c['per_missing_regime']} per regime it is "
            f"not in; Japan's Group A {c['group_a']}."),
        "forward_exposure": (
            "Whether the destination is a conduit: it passes the coalition's goods on to "
            "destinations of concern.",
            f"The larger of (share of its coalition-origin imports it re-exports to "
            f"destinations of concern) / {fe['saturation']} and (its share of all "
            f"coalition-origin goods reaching them via hubs in the category) / "
            f"{fe['conduit_saturation']}, capped at 1; 0 for a destination of concern."),
        "diversion_exposure": (
            "Whether the destination is a target: coalition goods reach it through "
            "non-coalition hubs.",
            f"(coalition-origin goods arriving via non-coalition hubs / its imports) / "
            f"{de['saturation']}, capped at 1."),
        "surge": (
            "Growth of the coalition-origin goods arriving since before the policy event.",
            f"log(1 + growth) / log(1 + {s['saturation_growth']}), capped at 1 (declines "
            f"score 0); growth = this year's coalition-origin content / the mean of the "
            f"pre-event years - 1, with baselines below USD {s['min_pre_value']:,.0f} "
            "raised to it."),
        "leverage": (
            "How much of the destination's supply the coalition makes: how far its "
            "controls can bite.",
            "Coalition-origin content of its imports (traced) / its imports."),
        "listed_entities": (
            "Entities on the loaded lists (end-user lists and similar) located there.",
            f"log(1 + n) / log(1 + {le['saturation']}), capped at 1."),
    }
    return pd.DataFrame([{"component": k, "weight": float(cfg["weights"][k]),
                          "measures": docs[k][0], "formula": docs[k][1]}
                         for k in COMPONENTS])


def _config_name(cfg: dict) -> str:
    """The configuration's file name (never a path of the server's file system)."""
    from pathlib import Path

    from analytics.risk import default_config_path

    path = cfg.get("_path")
    if not path or Path(path) == default_config_path():
        return "bundled (risk_config.toml)"
    return Path(path).name


def layout(**query):
    ds = data.dataset()
    cfg = data.risk_config()
    summary = ds.summary()
    cols = [c for c in ("table", "rows", "source", "version", "licence", "label", "unit")
            if c in summary.columns]
    fsum = data.flows_summary()
    banner = (html.Div(f"This dashboard shows {SYNTHETIC_LABEL}: generated flows with planted "
                       "diversion routes, for demonstration and testing only.",
                       className="card synthetic-note", id="methodology-synthetic")
              if ds.synthetic else None)
    return html.Div([
        html.H2("Methodology and data"),
        banner,
        card(html.P([html.B(ds.label), f" - flows in {ds.hs_version}, years "
                     f"{min(ds.years)}-{max(ds.years)}, {len(ds.flows):,} rows."],
                    id="home-dataset"),
             export_bar("home-flows-summary"),
             grid("home-flows-summary", fsum, height=300, file_name="flows_by_year.csv"),
             title="Loaded dataset"),
        card(export_bar("methodology-provenance"),
             grid("methodology-provenance", summary[cols].astype(str), height=320,
                  file_name="provenance.csv"), title="Provenance of every table"),
        card(dcc.Markdown(METHODS_MD, mathjax=True), title="Methods and assumptions"),
        card(html.P("Each component lies in [0, 1]; the score is their weighted mean times "
                    "100. Thresholds and weights come from the risk configuration file.",
                    className="muted"),
             export_bar("methodology-components"),
             grid("methodology-components", component_docs(cfg), height=560,
                  file_name="risk_components.csv", wide=("measures", "formula")),
             html.P(f"Configuration: {_config_name(cfg)}", className="muted"),
             title="Risk components and weights", id_="methodology-risk"),
        card(dcc.Markdown(SHIPMENTS_MD), title="Shipments attribution and entity screening",
             id_="methodology-shipments"),
    ])


dash.register_page(__name__, path="/methodology", name="Methodology & data", order=9,
                   layout=layout, title="Methodology - chokepoint-analytics")
