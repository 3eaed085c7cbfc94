"""Overview (``/``): the risk matrix of categories x destinations and the top risks.

Clicking a matrix cell opens the diversion view of that (category, destination).
Selecting a row of the table explains its score; the selected pair is in the URL
(``pair=chpl_tier1.RUS``), so a shared link reopens the same explanation.
"""

from __future__ import annotations

import re

import dash
from dash import Input, Output, State, callback, dcc, html, no_update

from analytics.figures import fig_risk_components, fig_risk_matrix
from analytics.i18n import category_name, country_name
from analytics.risk import COMPONENTS
from dashboards import data
from dashboards.charts import build_chart, chart
from dashboards.components import (
    card,
    control,
    download_links,
    dropdown,
    encode_query,
    export_bar,
    graph,
    grid,
    grid_records,
    kpi,
    query_value,
    register_grid_export,
    register_url_state,
    url_location,
    url_state_store,
)
from dashboards.components.selectors import (
    DEFAULT_COALITION,
    coalition_control,
    select_coalition,
    select_year,
    year_control,
)

PAGE = "overview"
TABLE_COLUMNS = ["rank", "category_id", "destination", "risk", "rank_low", "rank_high",
                 *COMPONENTS, "explanation"]
#: a selected (category, destination) pair in the URL: ``chpl_tier1.RUS``
_PAIR = re.compile(r"^([a-z0-9_]{1,64})\.([A-Z0-9]{3})$")

CONTROLS = {"year": "overview-year", "coalition": "overview-coalition",
            "categories": "overview-categories", "top": "overview-top",
            "pair": ("overview-pair", "data")}
register_url_state(PAGE, CONTROLS)
register_grid_export("overview-table")


def pair_id(category: str, destination: str) -> str:
    """The URL form of a (category, destination) pair: ``chpl_tier1.RUS``."""
    return f"{category}.{destination}"


def parse_pair(pair) -> tuple[str, str] | None:
    """(category, destination) of a URL pair, None when malformed."""
    m = _PAIR.match(pair) if isinstance(pair, str) else None
    return (m.group(1), m.group(2)) if m else None


def _params(p: dict) -> tuple[int, str, list[str], int]:
    year = int(p.get("year") or data.default_year())
    coalition = p.get("coalition") or DEFAULT_COALITION
    cats = p.get("categories") or []
    if isinstance(cats, str):
        cats = [c for c in cats.split(",") if c]
    top = int(p.get("top") or 25)
    return year, coalition, cats, top


def _scored(year: int, coalition: str, cats: list[str]):
    scored = data.risk_scores(year, coalition)
    if cats:
        scored = scored[scored["category_id"].isin(cats)]
    return scored


@chart("risk_matrix")
def risk_matrix_chart(params: dict):
    year, coalition, cats, top = _params(params)
    lang = params.get("lang", "en")
    from analytics.reference import coalition_label

    fig = fig_risk_matrix(_scored(year, coalition, cats), categories=data.dataset().categories,
                          top=top, lang=lang)
    return (fig, f"Export-control risk by technology and destination, {year}",
            f"Risk score 0-100; coalition: {coalition_label(coalition)}")


@chart("risk_components")
def risk_components_chart(params: dict):
    year, coalition, _, _ = _params(params)
    lang = params.get("lang", "en")
    cat, dest = params.get("category"), params.get("destination")
    scored = data.risk_scores(year, coalition)
    row = scored[(scored["category_id"] == cat) & (scored["destination"] == dest)]
    if row.empty:
        raise ValueError(f"no risk score for {cat} -> {dest} in {year}")
    r = row.iloc[0]
    weights = {k: float(data.risk_config()["weights"][k]) for k in COMPONENTS}
    fig = fig_risk_components(r, weights, lang=lang)
    cats = data.dataset().categories
    return (fig, f"Why {category_name(cat, cats, lang)} to {country_name(dest, lang)} "
                 f"scores {r['risk']:.0f}/100 ({year})",
            "Contribution of each component (points) to the risk score")


def _selection(query: dict) -> dict:
    pair = query.get("pair")
    return {
        "year": select_year(query),
        "coalition": select_coalition(query),
        "categories": query_value(query, "categories", [], options=data.category_options(),
                                  multi=True, clearable=True),
        "top": query_value(query, "top", 25, cast=int),
        "pair": pair if parse_pair(pair) else None,
    }


def layout(**query):
    sel = _selection(query)
    return html.Div([url_location(PAGE), url_state_store(PAGE, sel), _body(sel)])


def _body(sel: dict):
    year, coalition, cats, top = sel["year"], sel["coalition"], sel["categories"], sel["top"]
    cat_opts = data.category_options()
    table = grid("overview-table", columns=TABLE_COLUMNS, height=420,
                 file_name="risk_scores.csv")
    table.getRowId = "params.data.pair"
    if sel["pair"]:
        table.selectedRows = {"ids": [sel["pair"]]}
    return html.Div([
        dcc.Location(id="overview-nav", refresh="callback-nav"),
        dcc.Store(id="overview-pair", data=sel["pair"]),
        html.H2("Risk overview"),
        html.P("Risk of diversion or misuse of each controlled technology category, by "
               "destination. Click a cell to see how the coalition's goods reach that "
               "destination.", className="muted"),
        html.Div([
            year_control("overview-year", year),
            coalition_control("overview-coalition", coalition),
            control("Categories (all when empty)",
                    dropdown("overview-categories", cat_opts, cats, multi=True,
                             clearable=True), width=420),
            control("Destinations shown", dcc.Slider(id="overview-top", min=10, max=50,
                                                     step=5, value=top,
                                                     marks={10: "10", 25: "25", 50: "50"}),
                    width=220),
        ], className="controls"),
        html.Div(id="overview-kpis"),
        card(html.Div(id="overview-matrix-dl"), graph("overview-matrix"),
             title="Risk matrix"),
        card(export_bar("overview-table"), table,
             html.P("rank_low-rank_high: the rank interval when the weights are varied "
                    "(Dirichlet sampling); a narrow interval is a robust ranking.",
                    className="muted"),
             title="Top risks"),
        card(html.Div(id="overview-components-dl"), graph("overview-components"),
             title="What drives the selected score"),
    ])


@callback(
    Output("overview-matrix", "figure"),
    Output("overview-matrix-dl", "children"),
    Output("overview-table", "rowData"),
    Output("overview-table", "columnDefs"),
    Output("overview-kpis", "children"),
    Input("overview-year", "value"),
    Input("overview-coalition", "value"),
    Input("overview-categories", "value"),
    Input("overview-top", "value"),
)
def update_overview(year, coalition, cats, top):
    params = {"year": year, "coalition": coalition, "categories": cats or [], "top": top}
    fig, _, _ = build_chart("risk_matrix", params)
    scored = _scored(int(year), coalition, cats or [])
    sens = data.risk_sensitivity(int(year), coalition)
    table = scored.merge(sens[["category_id", "destination", "rank_low", "rank_high"]],
                         on=["category_id", "destination"], how="left")
    table = table.head(200).round(3)
    cols = grid("x", table, columns=TABLE_COLUMNS).columnDefs
    for c in cols:
        if c["field"] == "destination":
            c["cellRenderer"] = "markdown"
    table = table.assign(
        pair=[pair_id(c, d) for c, d in zip(table["category_id"], table["destination"],
                                            strict=True)],
        destination=[f"[{d}](/country/{d})" for d in table["destination"]])
    high = int((scored["risk"] >= 50).sum())
    top_row = scored.iloc[0] if len(scored) else None
    kpis = html.Div([
        kpi(f"{high}", "category x destination pairs with risk >= 50", "overview-kpi-high"),
        kpi(f"{len(scored):,}", "pairs scored"),
        kpi(f"{country_name(top_row['destination'])}" if top_row is not None else "-",
            "highest-risk destination"),
        _inbound_note(scored, coalition),
    ])
    return (fig, download_links("risk_matrix", params),
            grid_records(table, [*TABLE_COLUMNS, "pair"]), cols, kpis)


def _inbound_note(scored, coalition: str):
    """A note when the scored categories are inbound (dependence) categories: a dataset
    without outbound-controlled categories (critical minerals under China's export
    controls) is scored on them, and the score then means something else."""
    cats = data.dataset().categories
    if "direction" not in cats or scored.empty:
        return None
    inbound = set(cats.loc[cats["direction"] == "inbound", "category_id"])
    scored_cats = set(scored["category_id"])
    if not scored_cats <= inbound:
        return None
    from analytics.reference import coalition_label

    return html.Div([
        html.B("Inbound categories. "),
        f"This dataset has no outbound-controlled category: the scores rank the inbound "
        f"(dependence) categories it holds ({len(scored_cats)}), goods that "
        f"{coalition_label(coalition)} depends on others for, such as critical minerals "
        "under China's export controls. Read a score as the risk that what the coalition "
        "itself supplies of these goods leaks to a destination of concern (its concern, "
        "its share of the coalition's supply, re-exports through hubs), not as the "
        "coalition's dependence: for dependence see the Chokepoints page and each "
        "category's dependency flags.",
    ], className="note", id="overview-inbound-note")


@callback(
    Output("overview-nav", "href"),
    Input("overview-matrix", "clickData"),
    State("overview-year", "value"),
    State("overview-coalition", "value"),
    prevent_initial_call=True,
)
def drill_down(click, year, coalition):
    if not click or not click.get("points"):
        return no_update
    point = click["points"][0]
    cat, dest = point.get("customdata") or (point["y"], point["x"])
    return "/diversion" + encode_query({"destination": dest, "category": cat,
                                        "coalition": coalition, "year": year})


@callback(
    Output("overview-pair", "data"),
    Input("overview-table", "selectedRows"),
    State("overview-pair", "data"),
    prevent_initial_call=True,
)
def select_pair(selected, current):
    """The selected row as the URL's pair (selecting none keeps the current one)."""
    if not selected or not isinstance(selected, list):
        return no_update
    pair = selected[0].get("pair") if isinstance(selected[0], dict) else None
    return pair if parse_pair(pair) and pair != current else no_update


def _row_pair(row: dict) -> tuple[str, str]:
    dest = row["destination"]
    if dest.startswith("["):
        dest = dest[1:dest.index("]")]
    return row["category_id"], dest


@callback(
    Output("overview-components", "figure"),
    Output("overview-components-dl", "children"),
    Input("overview-pair", "data"),
    Input("overview-table", "rowData"),
    State("overview-year", "value"),
    State("overview-coalition", "value"),
)
def show_components(pair, rows, year, coalition):
    """The score of the selected pair (the URL's), else of the top row, by component."""
    shown = [_row_pair(r) for r in rows or []]
    picked = parse_pair(pair)
    if picked not in shown:
        picked = shown[0] if shown else None
    if picked is None:
        from analytics.figures import fig_empty

        return fig_empty("no scored pair"), None
    params = {"year": year, "coalition": coalition, "category": picked[0],
              "destination": picked[1]}
    fig, title, _ = build_chart("risk_components", params)
    fig.update_layout(title=title)
    return fig, download_links("risk_components", params)


dash.register_page(__name__, path="/", name="Overview", order=0, layout=layout,
                   title="Risk overview - chokepoint-analytics")
