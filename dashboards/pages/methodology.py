"""Methodology and data (``/methodology``): formulas, assumptions, weights, provenance."""

from __future__ import annotations

import dash
from dash import dcc, html

from analytics.dataset import SYNTHETIC_LABEL
from analytics.risk import COMPONENTS
from dashboards import data
from dashboards.components import card, grid

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
$risk = 100 \sum_k w_k c_k / \sum_k w_k$ with components in [0, 1]; weights below (from the
risk configuration file). A Dirichlet sample of the weights gives each row's rank
interval.
"""


def layout(**query):
    ds = data.dataset()
    cfg = data.risk_config()
    weights = [{"component": k, "weight": cfg["weights"][k]} for k in COMPONENTS]
    import pandas as pd

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
             grid("home-flows-summary", fsum, height=300, file_name="flows_by_year.csv"),
             title="Loaded dataset"),
        card(grid("methodology-provenance", summary[cols].astype(str), height=320,
                  file_name="provenance.csv"), title="Provenance of every table"),
        card(dcc.Markdown(METHODS_MD, mathjax=True), title="Methods and assumptions"),
        card(grid("methodology-weights", pd.DataFrame(weights), height=300),
             html.P(f"Configuration: {cfg.get('_path', 'bundled')}", className="muted"),
             title="Risk weights"),
    ])


dash.register_page(__name__, path="/methodology", name="Methodology & data", order=9,
                   layout=layout, title="Methodology - chokepoint-analytics")
