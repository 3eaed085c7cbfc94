"""Overview (``/``): the risk matrix of categories x destinations and the top risks.

Clicking a matrix cell opens the diversion view of that (category, destination).
"""

from __future__ import annotations

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
    graph,
    grid,
    grid_export_button,
    grid_records,
    kpi,
    query_value,
    register_grid_export,
    register_url_state,
    url_location,
    url_state_store,
)

PAGE = "overview"
TABLE_COLUMNS = ["rank", "category_id", "destination", "risk", "rank_low", "rank_high",
                 *COMPONENTS, "explanation"]

CONTROLS = {"year": "overview-year", "coalition": "overview-coalition",
            "categories": "overview-categories", "top": "overview-top"}
register_url_state(PAGE, CONTROLS)
register_grid_export("overview-table")


def _params(p: dict) -> tuple[int, str, list[str], int]:
    year = int(p.get("year") or data.default_year())
    coalition = p.get("coalition") or "group_a"
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
    return {
        "year": query_value(query, "year", data.default_year(), options=data.years(),
                            cast=int),
        "coalition": query_value(query, "coalition", "group_a",
                                 options=data.coalition_options()),
        "categories": query_value(query, "categories", [], options=data.category_options(),
                                  multi=True),
        "top": query_value(query, "top", 25, cast=int),
    }


def layout(**query):
    sel = _selection(query)
    return html.Div([url_location(PAGE), url_state_store(PAGE, sel), _body(sel)])


def _body(sel: dict):
    years = data.years()
    year, coalition, cats, top = sel["year"], sel["coalition"], sel["categories"], sel["top"]
    coal_opts = data.coalition_options()
    cat_opts = data.category_options()
    return html.Div([
        dcc.Location(id="overview-nav", refresh="callback-nav"),
        html.H2("Risk overview"),
        html.P("Risk of diversion or misuse of each controlled technology category, by "
               "destination. Click a cell to see how the coalition's goods reach that "
               "destination.", className="muted"),
        html.Div([
            control("Year", dropdown("overview-year", years, year), width=110),
            control("Coalition", dropdown("overview-coalition", coal_opts, coalition),
                    width=320),
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
        card(html.Div([grid_export_button("overview-table")], className="download-bar"),
             grid("overview-table", columns=TABLE_COLUMNS, height=420,
                  file_name="risk_scores.csv"),
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
    table = table.assign(destination=[f"[{d}](/country/{d})" for d in table["destination"]])
    high = int((scored["risk"] >= 50).sum())
    top_row = scored.iloc[0] if len(scored) else None
    kpis = html.Div([
        kpi(f"{high}", "category x destination pairs with risk >= 50", "overview-kpi-high"),
        kpi(f"{len(scored):,}", "pairs scored"),
        kpi(f"{country_name(top_row['destination'])}" if top_row is not None else "-",
            "highest-risk destination"),
    ])
    return (fig, download_links("risk_matrix", params), grid_records(table, TABLE_COLUMNS),
            cols, kpis)


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
    Output("overview-components", "figure"),
    Output("overview-components-dl", "children"),
    Input("overview-table", "selectedRows"),
    Input("overview-table", "rowData"),
    State("overview-year", "value"),
    State("overview-coalition", "value"),
)
def show_components(selected, rows, year, coalition):
    row = (selected or rows or [None])[0]
    if not row:
        from analytics.figures import fig_empty

        return fig_empty("no scored pair"), None
    dest = row["destination"]
    if dest.startswith("["):
        dest = dest[1:dest.index("]")]
    params = {"year": year, "coalition": coalition, "category": row["category_id"],
              "destination": dest}
    fig, title, _ = build_chart("risk_components", params)
    fig.update_layout(title=title)
    return fig, download_links("risk_components", params)


dash.register_page(__name__, path="/", name="Overview", order=0, layout=layout,
                   title="Risk overview - chokepoint-analytics")
