"""Category profile (``/category/<category_id>``): one technology category.

Its definition (names, description, control basis, sensitivity, direction), its HS codes
as defined and as mapped to the data's HS version, the policy events that concern it,
world trade and supplier concentration over time (as shipped and traced to origin), the
top suppliers, the highest-risk destinations (linking to their profiles and to the
diversion view) and the importers flagged as strategically dependent.
"""

from __future__ import annotations

import re

import dash
import numpy as np
import pandas as pd
from dash import Input, Output, State, callback, dcc, html, no_update

from analytics.chokepoints import concentration, dependency_flags
from analytics.figures import (
    fig_category_trade,
    fig_concentration_trend,
    fig_supplier_shares,
)
from analytics.i18n import category_name, country_name
from analytics.reference import coalition_label, map_category_hs
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
from dashboards.components.profile import (
    badge,
    profile_grid,
    risk_cols,
    risk_frame,
    split_row,
    table,
    titled_grid,
    usd,
)
from dashboards.components.selectors import (
    coalition_control,
    select_coalition,
    select_year,
    year_control,
)

PAGE = "category"
GRIDS = ("category-suppliers-table", "category-risk-table", "category-dependency-table",
         "category-hs-table", "category-events-table")
BASIS_OPTIONS = [{"label": "Exporters (as shipped)", "value": "exporters"},
                 {"label": "Origins (traced to where the goods were made)",
                  "value": "origins"}]

register_url_state(PAGE, {"year": "category-year", "coalition": "category-coalition",
                         "basis": "category-basis"})
for _g in GRIDS:
    register_grid_export(_g)

_ID = re.compile(r"^[a-z0-9_]{1,64}$")

#: table columns: field -> (header, kind) (kinds: :mod:`dashboards.components.profile`)
SUPPLIER_COLS = {
    "supplier": ("country", "link"),
    "exports_usd_m": ("exports (USD m)", "num"),
    "world_share": ("share of world exports", "pct"),
    "origin_share": ("share by origin (traced)", "pct"),
}
RISK_COLS = risk_cols("destination")
DEP_COLS = {
    "importer": ("importer", "link"),
    "hhi": ("import HHI", "num"),
    "import_export_ratio": ("imports / exports", "num"),
    "top_supplier": ("top supplier", "link"),
    "top_share": ("top supplier share", "pct"),
    "imports_usd_m": ("imports (USD m)", "num"),
    "persistent": ("persistent (2 of 3 years)", "text"),
}
HS_COLS = {
    "hs6": ("code as defined", "text"),
    "hs_version": ("HS version", "text"),
    "note": ("description", "wide"),
    "in_data": ("code(s) in the data", "text"),
    "via_concordance": ("mapped via concordance", "text"),
}
EVENT_COLS = {
    "date": ("date", "text"),
    "jurisdiction": ("jurisdiction", "text"),
    "measure": ("measure", "wide"),
    "destinations": ("destinations", "text"),
    "kind": ("kind", "text"),
}


# ------------------------------------------------------------------ analytics (memoized)
@data.memoize(maxsize=64)
def category_flows(category: str) -> pd.DataFrame:
    """All years' flows of one category."""
    cf = data.cflows()
    return cf[cf["category_id"] == category].reset_index(drop=True)


@data.memoize(maxsize=64)
def origins_by_year(category: str) -> pd.DataFrame:
    """Traced origin shares of world trade, every year (``year``, ``origin``, ``value``,
    ``share``)."""
    frames = [data.layer_origin_shares(int(y), category).assign(year=int(y))
              for y in sorted(category_flows(category)["year"].unique())]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=["year", "origin", "value", "share"])
    return pd.concat(frames, ignore_index=True)[["year", "origin", "value", "share"]]


@data.memoize(maxsize=64)
def concentration_trend(category: str) -> pd.DataFrame:
    """Exporter and traced-origin concentration per year (``year``, ``measure``, ``hhi``,
    ``n_eff``, ``top``, ``top_share``)."""
    cf = category_flows(category)
    cols = ["year", "measure", "hhi", "n_eff", "top", "top_share"]
    if cf.empty:
        return pd.DataFrame(columns=cols)
    exp = concentration(cf, supplier="exporter", value="value_usd", by="year")
    exp = exp.assign(measure="Exporters (as shipped)", top=exp["top_supplier"])
    org = concentration(origins_by_year(category), supplier="origin", value="value",
                        by="year")
    org = org.assign(measure="Origins (traced)", top=org["top_supplier"])
    return pd.concat([exp[cols], org[cols]], ignore_index=True)


@data.memoize(maxsize=64)
def category_dependency(category: str) -> pd.DataFrame:
    """EC/CEPII dependency flags of every importer of the category, every year."""
    cf = category_flows(category)
    if cf.empty:
        return pd.DataFrame(columns=["year", "category_id", "importer", "hhi",
                                     "import_export_ratio", "top_supplier", "top_share",
                                     "imports", "exports", "dependent", "persistent"])
    return dependency_flags(cf)


@data.memoize(maxsize=64)
def hs_codes(category: str) -> pd.DataFrame:
    """The category's codes as defined, with the code(s) they become in the data's version."""
    ds = data.dataset()
    defined = ds.category_hs[ds.category_hs["category_id"] == category]
    recs = []
    for _, row in defined.iterrows():
        mapped = map_category_hs(defined.loc[[row.name]], ds.hs_version, ds.hs_concordance)
        code = str(row["hs6"])
        targets = list(mapped["hs6"])
        note = row.get("note") if isinstance(row.get("note"), str) else ""
        if len(code) < 6:
            note = (note + " " if note else "") + f"(HS{len(code)} prefix: every code under it)"
        recs.append({"hs6": code, "hs_version": str(row["hs_version"]), "note": note,
                     "in_data": ", ".join(targets),
                     "via_concordance": "yes" if bool(mapped["mapped"].any()) else ""})
    return pd.DataFrame(recs, columns=list(HS_COLS))


def category_events(category: str) -> pd.DataFrame:
    """Events whose categories list the id or ``all``, newest first."""
    ev = data.dataset().events
    hit = ev["categories"].fillna("").astype(str).map(
        lambda s: category in {p.strip() for p in s.split(";")} or s.strip() == "all")
    out = ev[hit].copy()
    out["date"] = pd.to_datetime(out["date"]).dt.strftime("%Y-%m-%d")
    return out.sort_values("date", ascending=False).reset_index(drop=True)


# ------------------------------------------------------------------ charts
def _cat_params(params: dict) -> tuple[str, str]:
    cat = params.get("category")
    if cat not in set(data.dataset().categories["category_id"]):
        raise ValueError(f"unknown category {cat!r}")
    return cat, params.get("lang", "en")


@chart("category_trade")
def category_trade_chart(params: dict):
    cat, lang = _cat_params(params)
    year = params.get("year")
    trade = category_flows(cat).groupby("year", as_index=False)["value_usd"].sum()
    fig = fig_category_trade(trade, highlight=int(year) if year else None, lang=lang)
    name = category_name(cat, data.dataset().categories, lang)
    return fig, f"World trade in {name}", "Sum of all reported flows per year"


@chart("category_concentration")
def category_concentration_chart(params: dict):
    cat, lang = _cat_params(params)
    conc = concentration_trend(cat)
    fig = fig_concentration_trend(conc, color="measure", lang=lang)
    name = category_name(cat, data.dataset().categories, lang)
    return (fig, f"Supplier concentration of {name}",
            "HHI of world exports by exporter (as shipped) and by traced origin; dotted "
            "lines: 0.15 / 0.25 / 0.4")


@chart("category_suppliers")
def category_suppliers_chart(params: dict):
    cat, lang = _cat_params(params)
    basis = params.get("basis") or "exporters"
    name = category_name(cat, data.dataset().categories, lang)
    if basis == "origins":
        fig = fig_supplier_shares(origins_by_year(cat), supplier="origin", value="value",
                                  lang=lang)
        return (fig, f"Who makes {name}: shares of world trade by traced origin",
                "Proportional-mixing tracing through re-exporting hubs (production = net "
                "exports)")
    shares = category_flows(cat).groupby(["year", "exporter"], as_index=False)[
        "value_usd"].sum()
    fig = fig_supplier_shares(shares, supplier="exporter", value="value_usd", lang=lang)
    return fig, f"Who ships {name}: shares of world exports", "Exporters as reported"


# ------------------------------------------------------------------ layout
def _unknown(raw) -> html.Div:
    shown = str(raw)[:64] if raw else ""
    return html.Div([
        html.H2("Category profile"),
        card(html.P([f"Unknown category “{shown}”. " if shown else "No category given. ",
                     "Pick one of the technology categories defined in this dataset:"],
                    id="category-unknown"),
             html.Ul([html.Li(dcc.Link(o["label"], href=f"/category/{o['value']}"))
                      for o in data.category_options()], id="category-unknown-list"),
             dcc.Link("← Back to the risk overview", href="/", id="category-back")),
    ])


def _header(cat: str) -> html.Div:
    cats = data.dataset().categories
    row = cats[cats["category_id"] == cat].iloc[0]
    name_ja = row.get("name_ja")
    direction = str(row.get("direction"))
    badges = [
        badge("Outbound control" if direction == "outbound" else "Inbound dependence",
              "concern" if direction == "outbound" else "hub", "category-badge-direction",
              "outbound: controls on exports; inbound: dependence on others' supply"),
        badge(f"Sensitivity {float(row['sensitivity']):.2f}", "info",
              "category-badge-sensitivity", "Category sensitivity in (0, 1] (risk input)"),
        badge(f"Control basis: {row['control_basis']}", "member", "category-badge-basis"),
    ]
    desc = row.get("description")
    return html.Div([
        html.Div([
            html.H2(row["name"], id="category-name", style={"margin": "0 12px 0 0"}),
            html.Span(name_ja if isinstance(name_ja, str) else "", lang="ja",
                      id="category-name-ja", style={"fontSize": "18px", "color": "#52606d"}),
        ], style={"display": "flex", "alignItems": "baseline", "flexWrap": "wrap"}),
        html.Div(f"id: {cat}", className="muted", style={"margin": "2px 0 8px 0"}),
        html.Div(badges, id="category-badges"),
        html.P(desc if isinstance(desc, str) else "", id="category-description",
               style={"marginBottom": 0}),
    ], className="card")


def _hs_section(cat: str) -> html.Div:
    ds = data.dataset()
    codes = hs_codes(cat)
    n_mapped = int((codes["via_concordance"] == "yes").sum())
    versions = sorted(codes["hs_version"].unique())
    defined_in = ", ".join(versions) if versions else "-"
    text = (f"{len(codes)} codes, defined in {defined_in}; the flows are in "
            f"{ds.hs_version}. ")
    text += (f"{n_mapped} code(s) changed between the versions and are mapped through the "
             f"HS concordance (marked 'yes'); approximate n:n mappings may over- or "
             f"under-count." if n_mapped else "No code needed a concordance mapping.")
    return card(
        html.P(text, id="category-hs-note"),
        export_bar("category-hs-table"),
        profile_grid("category-hs-table", HS_COLS, rows=table(codes, HS_COLS),
                     auto_height=True, file_name=f"hs_codes_{cat}.csv"),
        title="HS codes", id_="category-hs")


def _events_section(cat: str) -> html.Div:
    ev = category_events(cat)
    if ev.empty:
        return card(html.P("No policy event in the events table concerns this category.",
                           className="muted", id="category-events-note"),
                    title="Policy events", id_="category-events")
    return card(
        html.P(f"{len(ev)} events name this category (or all categories).",
               className="muted", id="category-events-note"),
        export_bar("category-events-table"),
        profile_grid("category-events-table", EVENT_COLS, rows=table(ev, EVENT_COLS),
                     auto_height=True, file_name=f"events_{cat}.csv"),
        title="Policy events", id_="category-events")


def layout(category_id=None, **query):
    cats = data.dataset().categories
    cat = str(category_id) if category_id and _ID.match(str(category_id)) else None
    if cat is None or cat not in set(cats["category_id"]):
        return _unknown(category_id)
    year, coalition = select_year(query), select_coalition(query)
    basis = query_value(query, "basis", "exporters", options=BASIS_OPTIONS)
    cat_opts = [{"label": category_name(c, cats), "value": c} for c in cats["category_id"]]
    return html.Div([
        url_location(PAGE),
        url_state_store(PAGE, {"year": year, "coalition": coalition, "basis": basis}),
        dcc.Location(id="category-nav", refresh="callback-nav"),
        dcc.Store(id="category-id", data=cat),
        _header(cat),
        html.Div([
            year_control("category-year", year),
            coalition_control("category-coalition", coalition),
            control("Go to category", dropdown("category-pick", cat_opts, cat), width=360),
        ], className="controls"),
        html.Div(id="category-kpis", style={"marginBottom": "12px"}),
        card(split_row(html.Div([html.Div(id="category-trade-dl"), graph("category-trade")]),
                    html.Div([html.Div(id="category-concentration-dl"),
                              graph("category-concentration")])),
             html.P("Concentration as shipped (exporters) and as made (origins traced "
                    "through re-exporting hubs): a hub such as Hong Kong lowers the first "
                    "and disappears from the second.", className="muted"),
             title="World trade and supplier concentration", id_="category-trend"),
        card(
            html.Div([
                dcc.RadioItems(id="category-basis", options=BASIS_OPTIONS, value=basis,
                               inline=True, inputStyle={"marginRight": "4px"},
                               labelStyle={"marginRight": "16px", "fontSize": "13px"}),
            ], className="controls"),
            split_row(html.Div([html.Div(id="category-suppliers-dl"),
                             graph("category-suppliers")]),
                   html.Div([
                       export_bar("category-suppliers-table",
                                  html.B(id="category-suppliers-title",
                                         style={"fontSize": "13px"}),
                                  style={"alignItems": "center", "gap": "12px"}),
                       profile_grid("category-suppliers-table", SUPPLIER_COLS,
                                    height=360, file_name=f"suppliers_{cat}.csv")]),
                   "7fr 5fr"),
            title="Top suppliers", id_="category-suppliers-card"),
        card(
            html.Div(id="category-risk-note"),
            titled_grid("category-risk-table", RISK_COLS, height=400,
                        file_name=f"risk_{cat}.csv"),
            title="Highest-risk destinations", id_="category-risk"),
        card(
            html.P("EC / CEPII rule: an importer is dependent when its import HHI exceeds "
                   "0.4 and its imports exceed its exports; persistent when that holds in 2 "
                   "of the last 3 years.", className="muted"),
            html.Div(id="category-dependency-note"),
            html.Div(titled_grid("category-dependency-table", DEP_COLS, height=340,
                                 file_name=f"dependency_{cat}.csv"),
                     id="category-dependency-wrap"),
            title="Strategic dependency flags", id_="category-dependency"),
        _hs_section(cat),
        _events_section(cat),
    ])


# ------------------------------------------------------------------ callbacks
@callback(
    Output("category-trade", "figure"),
    Output("category-trade-dl", "children"),
    Output("category-concentration", "figure"),
    Output("category-concentration-dl", "children"),
    Output("category-kpis", "children"),
    Input("category-year", "value"),
    Input("category-id", "data"),
)
def update_trend(year, cat):
    p_trade = {"category": cat, "year": year}
    p_conc = {"category": cat}
    trade, _, _ = build_chart("category_trade", p_trade)
    conc_fig, _, _ = build_chart("category_concentration", p_conc)
    conc = concentration_trend(cat)
    cf = category_flows(cat)
    world = float(cf.loc[cf["year"] == int(year), "value_usd"].sum())
    cur = conc[conc["year"] == int(year)].set_index("measure")
    kpis = [kpi(usd(world), f"world trade in {year}", "category-kpi-trade")]
    for measure, what, kid in (("Exporters (as shipped)", "top exporter", "exporter"),
                               ("Origins (traced)", "top origin (traced)", "origin")):
        if measure in cur.index:
            r = cur.loc[measure]
            kpis.append(kpi(f"{country_name(r['top'])} {r['top_share']:.0%}", what,
                            f"category-kpi-top-{kid}"))
            kpis.append(kpi(f"{r['hhi']:.2f}", f"HHI ({what.split()[1]}s), "
                            f"{r['n_eff']:.1f} effective suppliers", f"category-kpi-hhi-{kid}"))
    if world <= 0:
        kpis.append(html.P(f"No trade in this category in {year}.", className="muted"))
    return (trade, download_links("category_trade", p_trade), conc_fig,
            download_links("category_concentration", p_conc),
            html.Div(kpis, className="card"))


@callback(
    Output("category-suppliers", "figure"),
    Output("category-suppliers-dl", "children"),
    Output("category-suppliers-table", "rowData"),
    Output("category-suppliers-title", "children"),
    Input("category-basis", "value"),
    Input("category-year", "value"),
    Input("category-id", "data"),
)
def update_suppliers(basis, year, cat):
    params = {"category": cat, "basis": basis}
    fig, _, _ = build_chart("category_suppliers", params)
    year = int(year)
    cf = category_flows(cat)
    exp = cf[cf["year"] == year].groupby("exporter")["value_usd"].sum()
    exp = exp[exp > 0]
    org = origins_by_year(cat)
    org = org[org["year"] == year].set_index("origin")["share"]
    frame = pd.DataFrame({"code": exp.index.astype(str), "exports": exp.to_numpy()})
    frame["world_share"] = frame["exports"] / max(float(frame["exports"].sum()), 1e-300)
    frame["origin_share"] = org.reindex(frame["code"]).fillna(0.0).to_numpy()
    extra = [o for o in org.index if o not in set(frame["code"])]  # origins that ship nothing
    if extra:
        frame = pd.concat([frame, pd.DataFrame({
            "code": extra, "exports": 0.0, "world_share": 0.0,
            "origin_share": org.reindex(extra).to_numpy()})], ignore_index=True)
    key = "origin_share" if basis == "origins" else "world_share"
    frame = frame.sort_values(key, ascending=False).head(30)
    frame["supplier"] = [country_link(c, {"year": year}) for c in frame["code"]]
    frame["exports_usd_m"] = (frame["exports"] / 1e6).round(2)
    rows = table(frame, SUPPLIER_COLS)
    title = f"Top {'origins' if basis == 'origins' else 'exporters'} in {year}"
    return fig, download_links("category_suppliers", params), rows, title


@callback(
    Output("category-risk-table", "rowData"),
    Output("category-risk-note", "children"),
    Input("category-year", "value"),
    Input("category-coalition", "value"),
    Input("category-id", "data"),
)
def update_risk(year, coalition, cat):
    scored = data.risk_scores(int(year), coalition)
    rows = scored[scored["category_id"] == cat].head(50)
    q = {"year": year, "coalition": coalition}
    frame = risk_frame(rows, "destination", [country_link(d, q) for d in rows["destination"]],
                       lambda c, d: {"category": c, "destination": d,
                                     "coalition": coalition, "year": year})
    trows = table(frame, RISK_COLS)
    cats = data.dataset().categories
    direction = cats.loc[cats["category_id"] == cat, "direction"].iloc[0]
    if rows.empty:
        msg = ("Risk scores cover outbound (export-controlled) categories; this is an "
               "inbound (dependence) category: see the dependency flags below."
               if direction == "inbound" else
               f"No destination is scored for this category in {year} (no coalition-member "
               "exports).")
        note = html.P(msg, className="muted", id="category-risk-msg")
    else:
        note = html.P(f"Destinations ranked by risk score in {year}; coalition: "
                      f"{coalition_label(coalition)}. 'routes' opens the diversion view of "
                      "the pair.", className="muted", id="category-risk-msg")
    return trows, note


@callback(
    Output("category-dependency-table", "rowData"),
    Output("category-dependency-note", "children"),
    Output("category-dependency-wrap", "style"),
    Input("category-year", "value"),
    Input("category-id", "data"),
)
def update_dependency(year, cat):
    dep = category_dependency(cat)
    sub = dep[(dep["year"] == int(year)) & dep["dependent"]].sort_values(
        ["persistent", "hhi"], ascending=False)
    q = {"year": year}
    frame = pd.DataFrame({
        "importer": [country_link(c, q) for c in sub["importer"]],
        "hhi": sub["hhi"].round(3).to_numpy(),
        "import_export_ratio": np.where(np.isfinite(sub["import_export_ratio"]),
                                        sub["import_export_ratio"].round(2), np.nan),
        "top_supplier": [country_link(c, q) for c in sub["top_supplier"]],
        "top_share": sub["top_share"].to_numpy(),
        "imports_usd_m": (sub["imports"] / 1e6).round(2).to_numpy(),
        "persistent": np.where(sub["persistent"], "yes", "no"),
    })
    rows = table(frame, DEP_COLS)
    n_imp = int((dep["year"] == int(year)).sum())
    note = html.P(f"{len(sub)} of {n_imp} importers dependent in {year} "
                  f"({int(sub['persistent'].sum())} persistently). A ratio left blank: the "
                  "importer exports none of the category.", className="muted",
                  id="category-dependency-msg")
    return rows, note, ({"display": "none"} if sub.empty else None)


@callback(
    Output("category-nav", "href"),
    Input("category-pick", "value"),
    State("category-id", "data"),
    State("category-year", "value"),
    State("category-coalition", "value"),
    State("category-basis", "value"),
    prevent_initial_call=True,
)
def navigate(picked, cat, year, coalition, basis):
    if not picked or picked == cat:
        return no_update
    return f"/category/{picked}" + encode_query({"year": year, "coalition": coalition,
                                                 "basis": basis})


def warm() -> None:
    """Compute the origin shares of every category and year (the concentration trends)."""
    for o in data.category_options():
        concentration_trend(o["value"])


dash.register_page(__name__, path_template="/category/<category_id>",
                   name="Category profile", nav=False, layout=layout,
                   title="Category profile - chokepoint-analytics")
