"""Country profile (``/country/<iso3>``): one country as supplier, hub and destination.

* As a **supplier**: its exports of each technology category, its share of world exports
  (as shipped) and of world trade traced to its production (origin share), and the trend.
* As a **hub**: the share of its exports that re-ships other countries' goods (transit),
  the share of its coalition-origin imports it passes on to destinations of concern
  (forward exposure), and the destinations of concern it ships to.
* As a **destination**: its risk score per category with components and explanation, and
  its imports of a category by dispatching country next to their traced origin.

Plus the listed entities located there and its top partners. Every country and category
links to its own profile.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import dash
import numpy as np
import pandas as pd
from dash import Input, Output, State, callback, dcc, html, no_update

from analytics import tracing
from analytics.diversion import forward_exposure
from analytics.errors import AnalysisError
from analytics.figures import (
    fig_country_exports,
    fig_country_risk,
    fig_empty,
    fig_origin_vs_dispatch,
)
from analytics.i18n import category_name, country_name
from analytics.network import country_totals
from analytics.reference import coalition_label, concern_destinations
from analytics.risk import COMPONENTS
from dashboards import data
from dashboards.charts import build_chart, chart
from dashboards.components import (
    card,
    control,
    country_link,
    download_links,
    dropdown,
    encode_query,
    export_bar,
    graph,
    kpi,
    query_value,
    register_grid_export,
    register_url_state,
    url_location,
    url_state_store,
)
from dashboards.components.profile import (  # noqa: F401 - col_defs is part of the page API
    badge,
    category_link,
    col_defs,
    profile_grid,
    risk_cols,
    risk_frame,
    split_row,
    table,
    titled_grid,
)
from dashboards.components.selectors import (
    coalition_control,
    select_coalition,
    select_year,
    year_control,
)

PAGE = "country"
GRIDS = ("country-supplier-table", "country-hub-table", "country-concern-table",
         "country-risk-table", "country-entities-table", "country-exports-to",
         "country-imports-from")


# ------------------------------------------------------------------ URL state (both ways)
register_url_state(PAGE, {"year": "country-year", "coalition": "country-coalition",
                         "category": "country-category"})
for _g in GRIDS:
    register_grid_export(_g)

_ISO3 = re.compile(r"^[A-Za-z0-9]{3}$")

#: table columns: field -> (header, kind) (kinds: :mod:`dashboards.components.profile`)
SUPPLIER_COLS = {
    "category": ("category", "link"),
    "exports_usd_m": ("exports (USD m)", "num"),
    "world_share": ("share of world exports", "pct"),
    "origin_share": ("origin share (traced)", "pct"),
    "exporter_rank": ("rank as exporter", "int"),
    "imports_usd_m": ("imports (USD m)", "num"),
}
HUB_COLS = {
    "category": ("category", "link"),
    "imports_usd_m": ("imports (USD m)", "num"),
    "exports_usd_m": ("exports (USD m)", "num"),
    "transit_usd_m": ("re-exports (USD m)", "num"),
    "transit_share": ("transit share", "pct"),
    "coalition_imports_usd_m": ("coalition-origin imports (USD m)", "num"),
    "forward_exposure": ("forward exposure", "pct"),
    "to_concern_usd_m": ("passed on to concern (USD m)", "num"),
}
CONCERN_COLS = {
    "destination": ("destination", "link"),
    "category": ("category", "link"),
    "value_usd_m": ("value (USD m)", "num"),
    "coalition_content_usd_m": ("coalition-origin (USD m)", "num"),
}
RISK_COLS = risk_cols("category")
PARTNER_COLS = {
    "partner": ("partner", "link"),
    "value_usd_m": ("value (USD m)", "num"),
    "share": ("share", "pct"),
    "n_categories": ("categories", "int"),
}
ENTITY_COUNT_COLS = {"list_name": ("list", "text"), "concern": ("concern", "text"),
                     "count": ("entities", "int")}
ENTITY_COLS = {"name": ("name", "label"), "aliases": ("aliases", "text"),
               "concern": ("concern", "text"), "list_name": ("list", "text"),
               "source": ("source", "text")}


# ------------------------------------------------------------------ analytics (memoized)
@data.memoize(maxsize=16)
def year_flows(year: int) -> pd.DataFrame:
    """Category flows of one year."""
    cf = data.cflows()
    return cf[cf["year"] == int(year)].reset_index(drop=True)


layer_flows = data.layer_flows


def layer_model(year: int, category: str):
    """The tracing model of a layer (production = net exports), None when empty."""
    lay = layer_flows(year, category)
    if lay.empty or float(lay["value_usd"].sum()) <= 0:
        return None
    return data.tracing_model(year, category, "net_exports")


layer_origin_shares = data.layer_origin_shares


@data.memoize(maxsize=16)
def year_summary(year: int) -> pd.DataFrame:
    """Every country's supplier and hub metrics in every category of a year.

    Columns ``category_id``, ``country``, ``exports``, ``imports``, ``world_share``
    (exports / world exports), ``origin_share`` (traced), ``exporter_rank``, ``transit``
    (value shipped that it did not produce) and ``transit_share`` (transit / exports).
    """
    frames = []
    for cat in sorted(year_flows(year)["category_id"].unique()):
        model = layer_model(year, cat)
        if model is None:
            continue
        tot = country_totals(layer_flows(year, cat))
        osh = layer_origin_shares(year, cat).set_index("origin")["share"]
        transit = tracing.transit_through(model)
        world = float(tot["exports"].sum())
        out = pd.DataFrame({
            "category_id": cat,
            "country": tot.index.astype(str),
            "exports": tot["exports"].to_numpy(),
            "imports": tot["imports"].to_numpy(),
        })
        out["world_share"] = out["exports"] / world
        out["origin_share"] = osh.reindex(out["country"]).fillna(0.0).to_numpy()
        out["exporter_rank"] = out["exports"].rank(ascending=False, method="min").astype(int)
        out["transit"] = transit.reindex(out["country"]).fillna(0.0).to_numpy()
        out["transit_share"] = np.divide(out["transit"], out["exports"],
                                         out=np.zeros(len(out)), where=out["exports"] > 0)
        frames.append(out)
    if not frames:
        return pd.DataFrame(columns=["category_id", "country", "exports", "imports",
                                     "world_share", "origin_share", "exporter_rank",
                                     "transit", "transit_share"])
    return pd.concat(frames, ignore_index=True)


@data.memoize(maxsize=32)
def year_forward(year: int, coalition: str) -> pd.DataFrame:
    """Forward exposure of every country in every category of a year (one frame).

    Columns of :func:`analytics.diversion.forward_exposure` plus ``category_id``;
    destinations of concern themselves are not rows.
    """
    members = list(data.coalition_members(coalition))
    countries = data.dataset().countries
    concern = list(concern_destinations(countries))
    frames = []
    for cat in sorted(year_flows(year)["category_id"].unique()):
        model = layer_model(year, cat)
        if model is None:
            continue
        try:
            fe = forward_exposure(layer_flows(year, cat), coalition=members, concern=concern,
                                  model=model, countries=countries)
        except AnalysisError:  # no coalition member exports this category this year
            continue
        frames.append(fe.assign(category_id=cat))
    if not frames:
        return pd.DataFrame(columns=["country", "coalition_imports", "to_concern",
                                     "exports_to_concern", "forward_exposure", "category_id"])
    return pd.concat(frames, ignore_index=True)


@data.memoize(maxsize=256)
def country_exports(iso3: str) -> pd.DataFrame:
    """A country's exports per year and category (``year``, ``category_id``, ``value_usd``)."""
    cf = data.cflows()
    sub = cf[cf["exporter"] == iso3]
    return sub.groupby(["year", "category_id"], as_index=False, observed=True)[
        "value_usd"].sum()


def traced_imports(year: int, category: str, iso3: str) -> tuple[pd.Series, pd.Series]:
    """A country's imports of a category by dispatching country and by traced origin."""
    lay = layer_flows(year, category)
    model = layer_model(year, category)
    into = lay[lay["importer"] == iso3]
    if model is None or into.empty:
        return pd.Series(dtype=float), pd.Series(dtype=float)
    dispatch = into.groupby("exporter")["value_usd"].sum()
    traced = tracing.trace_imports(lay, model=model, destinations=[iso3])
    return dispatch, traced.groupby("origin")["value"].sum()


# ------------------------------------------------------------------ helpers
@data.memoize(maxsize=1)
def known_codes() -> frozenset[str]:
    """Country codes of the countries table and of the flows."""
    cf = data.cflows()
    return frozenset(data.dataset().countries["iso3"]) | frozenset(
        cf["exporter"].unique()) | frozenset(cf["importer"].unique())


def normalise_iso3(iso3) -> str | None:
    """The upper-case code when it names a country of the dataset, else None."""
    if not iso3 or not _ISO3.match(str(iso3)):
        return None
    code = str(iso3).upper()
    return code if code in known_codes() else None


def _badges(row: pd.Series | None) -> list:
    if row is None:
        return [badge("not in the countries table", "muted")]
    out = []
    if bool(row.get("jp_group_a")):
        out.append(badge("Japan Group A", "member", "country-badge-group-a",
                          "On Japan's Group A (white-list) of export destinations"))
    if bool(row.get("eu")):
        out.append(badge("EU", "member", "country-badge-eu"))
    if bool(row.get("g7")):
        out.append(badge("G7", "member", "country-badge-g7"))
    regimes = {"wassenaar": "Wassenaar", "nsg": "NSG", "australia_group": "Australia Group",
               "mtcr": "MTCR"}
    for key, name in regimes.items():
        if bool(row.get(key)):
            out.append(badge(name, "info", f"country-badge-{key}",
                              f"Participates in the {name} export-control regime"))
    missing = [name for key, name in regimes.items() if not bool(row.get(key))]
    if bool(row.get("eaeu")):
        out.append(badge("EAEU", "concern", "country-badge-eaeu",
                          "Eurasian Economic Union: no customs border with Russia"))
    if bool(row.get("un_arms_embargo")):
        out.append(badge("UN arms embargo", "concern", "country-badge-embargo"))
    scope = row.get("sanctioned")
    if isinstance(scope, str) and scope.strip():
        short = scope if len(scope) <= 60 else scope[:57] + "..."
        out.append(badge(f"Sanctions: {short}", "concern", "country-badge-sanctions", scope))
    if bool(row.get("hub")):
        out.append(badge("Curated hub prior", "hub", "country-badge-hub",
                          "Listed as a known transshipment hub in the reference table "
                          "(a prior; the analytics also detect hubs from the data)"))
    if missing:
        out.append(badge("Not in: " + ", ".join(missing), "muted", "country-badge-regimes"))
    return out


def _header(code: str) -> html.Div:
    ctry = data.dataset().countries
    rows = ctry[ctry["iso3"] == code]
    row = rows.iloc[0] if len(rows) else None
    name = country_name(code)
    name_ja = row.get("name_ja") if row is not None else None
    region = " / ".join(str(row.get(k)) for k in ("region", "subregion")
                        if row is not None and isinstance(row.get(k), str))
    return html.Div([
        html.Div([
            html.H2([name, html.Span(f" {code}", className="muted",
                                     style={"fontSize": "16px", "marginLeft": "6px"})],
                    id="country-name", style={"margin": "0 12px 0 0"}),
            html.Span(name_ja if isinstance(name_ja, str) else "", lang="ja",
                      id="country-name-ja", style={"fontSize": "18px", "color": "#52606d"}),
        ], style={"display": "flex", "alignItems": "baseline", "flexWrap": "wrap"}),
        html.Div(region or "region unknown", className="muted", id="country-region",
                 style={"margin": "2px 0 8px 0", "fontSize": "13px"}),
        html.Div(_badges(row), id="country-badges"),
    ], className="card")


def _entities_section(code: str) -> html.Div:
    ents = data.dataset().entities
    if ents is None:
        return card(html.P("No end-user or entity list is loaded in this dataset; load one "
                           "(e.g. the METI End User List) to see listed entities here.",
                           className="muted", id="country-entities-note"),
                    title="Listed entities", id_="country-entities")
    sub = ents[ents["country"] == code]
    if sub.empty:
        return card(html.P(f"No entity on the loaded lists is located in "
                           f"{country_name(code)}.", className="muted",
                           id="country-entities-note"),
                    title="Listed entities", id_="country-entities")
    counts = (sub.assign(concern=sub["concern"].fillna("(unspecified)"))
              .groupby(["list_name", "concern"], as_index=False).size()
              .rename(columns={"size": "count"}).sort_values("count", ascending=False))
    lists = ", ".join(f"{r.list_name}: {r.count}" for r in
                      counts.groupby("list_name", as_index=False)["count"].sum()
                      .itertuples(index=False))
    return card(
        html.P(f"{len(sub)} listed entities located in {country_name(code)} ({lists}).",
               id="country-entities-note"),
        split_row(
            html.Div([html.Div(html.B("By list and concern", style={"fontSize": "13px"}),
                               className="download-bar"),
                      profile_grid("country-entities-counts", ENTITY_COUNT_COLS,
                                   rows=table(counts, ENTITY_COUNT_COLS), auto_height=True)]),
            html.Div([export_bar("country-entities-table",
                                 html.B("Names", style={"fontSize": "13px"}),
                                 style={"alignItems": "center", "gap": "12px"}),
                      profile_grid("country-entities-table", ENTITY_COLS,
                                   rows=table(sub, ENTITY_COLS), auto_height=True,
                                   file_name=f"entities_{code}.csv")]),
            "1fr 2fr"),
        title="Listed entities", id_="country-entities")


def _unknown(raw) -> html.Div:
    shown = str(raw)[:40] if raw else ""
    return html.Div([
        html.H2("Country profile"),
        card(html.P([f"Unknown country code “{shown}”. " if shown else "No country code given. ",
                     "Country profiles use ISO3 codes of the countries in this dataset "
                     "(three letters, e.g. the codes shown in the risk overview)."],
                    id="country-unknown"),
             dcc.Link("← Back to the risk overview", href="/", id="country-back")),
    ])


# ------------------------------------------------------------------ charts
def _chart_params(params: dict) -> tuple[str, int, str, str]:
    code = normalise_iso3(params.get("iso3"))
    if code is None:
        raise ValueError(f"unknown country code {params.get('iso3')!r}")
    year = int(params.get("year") or data.default_year())
    coalition = params.get("coalition") or "group_a"
    return code, year, coalition, params.get("lang", "en")


@chart("country_exports")
def country_exports_chart(params: dict):
    code, _, _, lang = _chart_params(params)
    fig = fig_country_exports(country_exports(code), categories=data.dataset().categories,
                              lang=lang)
    return (fig, f"Exports of technology categories: {country_name(code, lang)}",
            "Value shipped per year, by category (a product in two categories counts in "
            "each)")


@chart("country_risk")
def country_risk_chart(params: dict):
    code, year, coalition, lang = _chart_params(params)
    scored = data.risk_scores(year, coalition)
    rows = scored[scored["destination"] == code]
    weights = {k: float(data.risk_config()["weights"][k]) for k in COMPONENTS}
    fig = fig_country_risk(rows, weights=weights, categories=data.dataset().categories,
                           lang=lang)
    return (fig, f"Export-control risk of {country_name(code, lang)} as a destination, "
                 f"{year}",
            f"Risk score 0-100 by category, split into component contributions; "
            f"coalition: {coalition_label(coalition)}")


@chart("origin_vs_dispatch")
def origin_vs_dispatch_chart(params: dict):
    code, year, _, lang = _chart_params(params)
    cat = params.get("category")
    cats = data.dataset().categories
    if cat not in set(cats["category_id"]):
        raise ValueError(f"unknown category {cat!r}")
    dispatch, traced = traced_imports(year, cat, code)
    fig = fig_origin_vs_dispatch(dispatch, traced, lang=lang)
    return (fig, f"{country_name(code, lang)}'s imports of {category_name(cat, cats, lang)}, "
                 f"{year}: shipped by vs made in",
            "Shares of its imports by dispatching country (customs view) and by traced "
            "origin (proportional mixing, production = net exports)")


# ------------------------------------------------------------------ layout
def _default_category(code: str, year: int, options: list[dict]) -> str | None:
    f = year_flows(year)
    imp = f[f["importer"] == code].groupby("category_id")["value_usd"].sum()
    allowed = [o["value"] for o in options]
    imp = imp[imp.index.isin(allowed)].sort_values(ascending=False)
    if len(imp):
        return str(imp.index[0])
    return allowed[0] if allowed else None


def layout(iso3=None, **query):
    code = normalise_iso3(iso3)
    if code is None:
        return _unknown(iso3)
    year, coalition = select_year(query), select_coalition(query)
    cat_opts = data.category_options()
    category = query_value(query, "category", _default_category(code, year, cat_opts),
                           options=cat_opts)
    name = country_name(code)
    return html.Div([
        url_location(PAGE),
        url_state_store(PAGE, {"year": year, "coalition": coalition, "category": category}),
        dcc.Location(id="country-nav", refresh="callback-nav"),
        dcc.Location(id="country-nav-category", refresh="callback-nav"),
        dcc.Store(id="country-iso3", data=code),
        _header(code),
        html.Div([
            year_control("country-year", year),
            coalition_control("country-coalition", coalition),
            control("Go to country", dropdown("country-pick", data.country_options(), code),
                    width=260),
        ], className="controls"),
        html.Div(id="country-kpis", style={"marginBottom": "12px"}),
        card(
            html.P(f"What {name} ships, and how much of the world's trade in each category "
                   "it made (origin share, traced through re-exporting hubs) rather than "
                   "merely dispatched (share of world exports). Click a bar to open its "
                   "category.", className="muted"),
            split_row(html.Div([html.Div(id="country-exports-dl"), graph("country-exports")]),
                   titled_grid("country-supplier-table", SUPPLIER_COLS,
                               title="By category in the selected year", height=400,
                               file_name=f"supplier_{code}.csv"),
                   "5fr 7fr"),
            title="As a supplier", id_="country-supplier"),
        card(
            html.P("Transit share: the part of its exports that re-ships goods made "
                   "elsewhere (proportional-mixing tracing). Forward exposure: the share of "
                   "its coalition-origin imports it passes on to destinations of concern "
                   "(countries under sanctions or a UN arms embargo).", className="muted"),
            html.Div(id="country-hub-note"),
            titled_grid("country-hub-table", HUB_COLS, title="By category", height=330,
                        file_name=f"hub_{code}.csv"),
            titled_grid("country-concern-table", CONCERN_COLS,
                        title="Destinations of concern it ships to (coalition-origin content "
                              "estimated with its re-export mix)", height=300,
                        file_name=f"to_concern_{code}.csv"),
            title="As a hub", id_="country-hub"),
        card(
            html.Div(id="country-risk-note"),
            html.Div(id="country-risk-dl"), graph("country-risk"),
            titled_grid("country-risk-table", RISK_COLS, title="Risk by category",
                        height=380, file_name=f"risk_{code}.csv"),
            html.Hr(style={"border": "none", "borderTop": "1px solid #e4e7eb",
                           "margin": "16px 0"}),
            html.Div([
                control("Imports of category", dropdown("country-category", cat_opts,
                                                        category), width=420),
                html.P("Customs data show who dispatched the goods; tracing shows where "
                       "they were made: a large gap marks a hub between the makers and this "
                       "destination. Click a bar of the risk chart to show its category.",
                       className="muted", style={"maxWidth": "640px", "margin": 0}),
            ], className="controls"),
            html.Div(id="country-origin-dl"), graph("country-origin"),
            title="As a destination", id_="country-destination"),
        _entities_section(code),
        card(
            html.P("Summed over the technology categories in the selected year (a product "
                   "in two categories counts in each).", className="muted"),
            split_row(titled_grid("country-exports-to", PARTNER_COLS, title="Exports to",
                               file_name=f"exports_to_{code}.csv"),
                   titled_grid("country-imports-from", PARTNER_COLS, title="Imports from",
                               file_name=f"imports_from_{code}.csv")),
            title="Top partners", id_="country-partners"),
    ])


# ------------------------------------------------------------------ callbacks
@callback(
    Output("country-exports", "figure"),
    Output("country-exports-dl", "children"),
    Output("country-supplier-table", "rowData"),
    Input("country-year", "value"),
    Input("country-iso3", "data"),
)
def update_supplier(year, code):
    params = {"iso3": code}
    fig, _, _ = build_chart("country_exports", params)
    summ = year_summary(int(year))
    sub = summ[summ["country"] == code]
    sub = sub[(sub["exports"] > 0) | (sub["imports"] > 0)].sort_values(
        "world_share", ascending=False)
    q = {"year": year}
    frame = pd.DataFrame({
        "category": [category_link(c, q) for c in sub["category_id"]],
        "exports_usd_m": (sub["exports"] / 1e6).round(2).to_numpy(),
        "world_share": sub["world_share"].to_numpy(),
        "origin_share": sub["origin_share"].to_numpy(),
        "exporter_rank": sub["exporter_rank"].where(sub["exports"] > 0).astype("Int64")
        .reset_index(drop=True),
        "imports_usd_m": (sub["imports"] / 1e6).round(2).to_numpy(),
    })
    return fig, download_links("country_exports", params), table(frame, SUPPLIER_COLS)


@callback(
    Output("country-hub-table", "rowData"),
    Output("country-concern-table", "rowData"),
    Output("country-hub-note", "children"),
    Input("country-year", "value"),
    Input("country-coalition", "value"),
    Input("country-iso3", "data"),
)
def update_hub(year, coalition, code):
    year = int(year)
    summ = year_summary(year)
    sub = summ[(summ["country"] == code) & (summ["exports"] > 0)]
    fwd = year_forward(year, coalition)
    fwd = fwd[fwd["country"] == code].set_index("category_id")
    concern = set(concern_destinations(data.dataset().countries))
    q = {"year": year, "coalition": coalition}
    frame = pd.DataFrame({
        "category_id": sub["category_id"].to_numpy(),
        "category": [category_link(c, q) for c in sub["category_id"]],
        "imports_usd_m": (sub["imports"] / 1e6).round(2).to_numpy(),
        "exports_usd_m": (sub["exports"] / 1e6).round(2).to_numpy(),
        "transit_usd_m": (sub["transit"] / 1e6).round(2).to_numpy(),
        "transit_share": sub["transit_share"].to_numpy(),
    })
    frame["coalition_imports_usd_m"] = (fwd["coalition_imports"].reindex(
        frame["category_id"]).to_numpy() / 1e6).round(2)
    frame["forward_exposure"] = fwd["forward_exposure"].reindex(frame["category_id"]).to_numpy()
    frame["to_concern_usd_m"] = (fwd["to_concern"].reindex(frame["category_id"]).to_numpy()
                                 / 1e6).round(2)
    frame = frame.sort_values(["forward_exposure", "transit_share"], ascending=False,
                              na_position="last")
    hub_rows = table(frame, HUB_COLS)

    f = year_flows(year)
    out = f[(f["exporter"] == code) & f["importer"].isin(concern)]
    out = out.groupby(["importer", "category_id"], as_index=False, observed=True)[
        "value_usd"].sum().sort_values("value_usd", ascending=False)
    ratio = (fwd["to_concern"] / fwd["exports_to_concern"]).where(
        fwd["exports_to_concern"] > 0)
    content = out["value_usd"].to_numpy() * ratio.reindex(out["category_id"]).to_numpy()
    cframe = pd.DataFrame({
        "destination": [country_link(d, q) for d in out["importer"]],
        "category": [category_link(c, q) for c in out["category_id"]],
        "value_usd_m": (out["value_usd"] / 1e6).round(2).to_numpy(),
        "coalition_content_usd_m": np.round(content / 1e6, 2),
    })
    concern_rows = table(cframe, CONCERN_COLS)
    if code in concern:
        note = html.P(f"{country_name(code)} is itself a destination of concern: forward "
                      "exposure is measured for the countries that supply it.",
                      className="muted", id="country-hub-msg")
    elif sub.empty:
        note = html.P(f"{country_name(code)} exports none of the technology categories in "
                      f"{year}.", className="muted", id="country-hub-msg")
    else:
        note = None
    return hub_rows, concern_rows, note


@callback(
    Output("country-risk", "figure"),
    Output("country-risk-dl", "children"),
    Output("country-risk-table", "rowData"),
    Output("country-risk-note", "children"),
    Input("country-year", "value"),
    Input("country-coalition", "value"),
    Input("country-iso3", "data"),
)
def update_destination(year, coalition, code):
    params = {"iso3": code, "year": year, "coalition": coalition}
    fig, _, _ = build_chart("country_risk", params)
    scored = data.risk_scores(int(year), coalition)
    rows = scored[scored["destination"] == code]
    q = {"year": year, "coalition": coalition}
    frame = risk_frame(rows, "category", [category_link(c, q) for c in rows["category_id"]],
                       lambda c, d: {"destination": d, "category": c,
                                     "coalition": coalition, "year": year})
    trows = table(frame, RISK_COLS)
    if rows.empty:
        if code in set(data.coalition_members(coalition)):
            msg = (f"{country_name(code)} is a member of the selected coalition "
                   f"({coalition_label(coalition)}): risk is scored for destinations "
                   "outside it.")
        else:
            msg = (f"No risk score for {country_name(code)} in {year}: it imports none "
                   "of the scored (outbound-control) categories from the coalition.")
        note = html.P(msg, className="muted", id="country-risk-msg")
    else:
        top = rows.iloc[0]
        note = html.P(["Highest risk: ",
                       html.B(f"{category_name(top['category_id'], data.dataset().categories)}"
                              f" ({top['risk']:.0f}/100)"),
                       f", rank {int(top['rank'])} of {len(scored)} scored pairs."],
                      id="country-risk-msg")
    return fig, download_links("country_risk", params), trows, note


@callback(
    Output("country-origin", "figure"),
    Output("country-origin-dl", "children"),
    Input("country-year", "value"),
    Input("country-category", "value"),
    Input("country-iso3", "data"),
)
def update_origin(year, category, code):
    if not category:
        return fig_empty("pick a category"), None
    params = {"iso3": code, "year": year, "category": category}
    fig, _, _ = build_chart("origin_vs_dispatch", params)
    return fig, download_links("origin_vs_dispatch", params)


def _partners(f: pd.DataFrame, key: str, other: str, code: str, query: Mapping
              ) -> pd.DataFrame:
    sub = f[f[key] == code]
    agg = sub.groupby(other, observed=True).agg(value=("value_usd", "sum"),
                                                n=("category_id", "nunique"))
    agg = agg[agg["value"] > 0].sort_values("value", ascending=False).head(25)
    total = float(sub["value_usd"].sum()) or 1.0
    return pd.DataFrame({
        "partner": [country_link(p, query) for p in agg.index],
        "value_usd_m": (agg["value"] / 1e6).round(2).to_numpy(),
        "share": (agg["value"] / total).to_numpy(),
        "n_categories": agg["n"].astype(int).to_numpy(),
    })


@callback(
    Output("country-exports-to", "rowData"),
    Output("country-imports-from", "rowData"),
    Input("country-year", "value"),
    Input("country-iso3", "data"),
)
def update_partners(year, code):
    f = year_flows(int(year))
    q = {"year": year}
    return (table(_partners(f, "exporter", "importer", code, q), PARTNER_COLS),
            table(_partners(f, "importer", "exporter", code, q), PARTNER_COLS))


@callback(
    Output("country-kpis", "children"),
    Input("country-year", "value"),
    Input("country-coalition", "value"),
    Input("country-iso3", "data"),
)
def update_kpis(year, coalition, code):
    year = int(year)
    cats = data.dataset().categories
    summ = year_summary(year)
    sub = summ[summ["country"] == code]
    exp = sub[sub["exports"] > 0]
    if len(exp):
        top = exp.sort_values("world_share", ascending=False).iloc[0]
        k1 = kpi(f"{top['world_share']:.1%}",
                 f"of world {category_name(top['category_id'], cats)} exports "
                 f"(its largest share)", "country-kpi-share")
        hub = exp.sort_values("transit_share", ascending=False).iloc[0]
        k2 = kpi(f"{hub['transit_share']:.0%}",
                 f"of its {category_name(hub['category_id'], cats)} exports are "
                 f"re-exports (highest transit share)", "country-kpi-transit")
    else:
        k1 = kpi("-", "no exports of the technology categories", "country-kpi-share")
        k2 = kpi("-", "transit share", "country-kpi-transit")
    scored = data.risk_scores(year, coalition)
    rows = scored[scored["destination"] == code]
    k3 = (kpi(f"{rows['risk'].max():.0f}", "highest risk score as a destination (0-100)",
              "country-kpi-risk") if len(rows)
          else kpi("-", "not scored as a destination", "country-kpi-risk"))
    ents = data.dataset().entities
    k4 = (kpi(f"{int((ents['country'] == code).sum())}", "listed entities located here",
              "country-kpi-entities") if ents is not None
          else kpi("-", "no entity list loaded", "country-kpi-entities"))
    return html.Div([k1, k2, k3, k4], className="card")


@callback(
    Output("country-category", "value", allow_duplicate=True),
    Input("country-risk", "clickData"),
    prevent_initial_call=True,
)
def pick_category(click):
    if not click or not click.get("points"):
        return no_update
    cat = click["points"][0].get("customdata")
    return cat if cat in {o["value"] for o in data.category_options()} else no_update


@callback(
    Output("country-nav", "href"),
    Input("country-pick", "value"),
    State("country-iso3", "data"),
    State("country-year", "value"),
    State("country-coalition", "value"),
    prevent_initial_call=True,
)
def navigate(picked, code, year, coalition):
    if not picked or picked == code:
        return no_update
    return f"/country/{picked}" + encode_query({"year": year, "coalition": coalition})


@callback(
    Output("country-nav-category", "href"),
    Input("country-exports", "clickData"),
    State("country-year", "value"),
    State("country-coalition", "value"),
    prevent_initial_call=True,
)
def open_category(click, year, coalition):
    if not click or not click.get("points"):
        return no_update
    cat = click["points"][0].get("customdata")
    if cat not in set(data.dataset().categories["category_id"]):
        return no_update
    return f"/category/{cat}" + encode_query({"year": year, "coalition": coalition})


def warm(coalition: str = "group_a") -> None:
    """Compute every year's supplier and hub metrics (about 0.2 s a year) and the default
    year's forward exposures (called at start-up)."""
    for y in data.years():
        year_summary(y)
    year_forward(data.default_year(), coalition)


dash.register_page(__name__, path_template="/country/<iso3>", name="Country profile",
                   nav=False, layout=layout, title="Country profile - chokepoint-analytics")
