"""Subcommands that write outputs: briefing packs and batch tables.

``chokepoint brief``
    A briefing pack on one category x destination (:func:`analytics.brief.make_brief`).
``chokepoint score``
    Risk scores of every category x destination (:func:`analytics.risk.score_risk`).
``chokepoint routes``
    Diversion routes into one destination, by origin and last-hop hub, with the hub
    screening evidence (:mod:`analytics.diversion`).
``chokepoint chokepoints``
    Chokepoint metrics of every category, with the dependency flags
    (:mod:`analytics.chokepoints`).

Every command reads ``--store DIR`` (default: the demo store, built when missing). The
batch commands write ``--out FILE`` as CSV, Excel or Parquet by its extension
(:func:`analytics.outputs.write_table`), with the provenance, coalition, year,
configuration and the "synthetic demo data" label alongside (Excel: sheet ``about``;
Parquet: file metadata; CSV: ``<name>.about.csv``). The table shapes are documented in
:data:`SHAPES` and the README.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from analytics import cli
from analytics.errors import AnalysisError, ChokepointError, UnknownCategory, UnknownCountry
from analytics.outputs import table_format

__all__ = ["register", "SHAPES", "score_table", "routes_table", "chokepoints_table"]

#: one line per batch command: what a row is
SHAPES = {
    "score": "one row per (year, category_id, destination): risk 0-100, rank, the seven "
             "components, their raw inputs and a plain-language explanation "
             "(analytics.risk.score_risk), plus category_name and destination_name",
    "routes": "one row per (category_id, origin, hub) of coalition-origin goods reaching the "
              "destination in the year (analytics.diversion.diversion_routes by origin): "
              "value_usd, route (direct / via coalition / via hub), share_of_imports; with "
              "the (category, hub) screening evidence route_* (screen_routes: pre/post-event "
              "means, growth, z-score, flagged) and the hub's overall ranking hub_* "
              "(hub_ranking over the selected categories); direct rows have no screening",
    "chokepoints": "one row per category_id (analytics.chokepoints.category_overview: world "
                   "trade, exporter and traced-origin concentration, coalition shares, the "
                   "most dependent importer) plus the EC/CEPII dependency flags of the year "
                   "(dependency_flags): n_dependent_importers, n_persistent_importers and "
                   "persistent_importers (ISO3, most concentrated first)",
}


# ---------------------------------------------------------------------------- helpers
def _store_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", help="store folder (default: the demo store, built when "
                                   "missing, in $CHOKEPOINT_HOME/demo-store)")


def _open_store(path_arg: str | None):
    """(store path, dataset, category flows) of ``--store`` or the demo store."""
    from analytics import store
    from analytics.config import default_demo_store
    from analytics.precompute import store_category_flows

    if path_arg:
        path = Path(path_arg)
        if not store.is_store(path):
            raise ChokepointError(f"no store at {path}: build one with `chokepoint demo "
                                  f"--no-serve` or `chokepoint ingest ...`, or omit --store "
                                  f"to use the demo store")
    else:
        path = cli.ensure_demo_store(default_demo_store())
    return path, store.read_dataset(path), store_category_flows(path)


def _check_categories(ids: Sequence[str], ds) -> list[str]:
    known = sorted(map(str, ds.categories["category_id"]))
    unknown = [c for c in ids if c not in known]
    if unknown:
        raise UnknownCategory(f"unknown category {', '.join(map(repr, unknown))}; valid "
                              f"categories: {', '.join(known)}")
    return list(ids)


def _outbound(ds, cf: pd.DataFrame) -> list[str]:
    cats = ds.categories
    present = set(map(str, cf["category_id"].unique()))
    out = [c for c in cats.loc[cats["direction"] == "outbound", "category_id"] if c in present]
    return out or sorted(present)


def _year(cf: pd.DataFrame, year: int | None) -> int:
    years = sorted(int(y) for y in cf["year"].unique())
    if not years:
        raise AnalysisError("the store has no category flows")
    if year is None:
        return years[-1]
    if int(year) not in years:
        raise AnalysisError(f"no category flows in {year}; years available: {years}")
    return int(year)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chokepoint-analytics")
    except PackageNotFoundError:  # pragma: no cover - running from a checkout
        return "unknown"


def _about(command: str, ds, store_path: Path, **params: Any) -> dict[str, Any]:
    from analytics import store
    from analytics.dataset import SYNTHETIC_LABEL

    about: dict[str, Any] = {
        "table": f"chokepoint {command}: {SHAPES[command]}",
        "dataset": ds.label,
        "synthetic": SYNTHETIC_LABEL if ds.synthetic else "no",
        "store": f"{Path(store_path).name} (snapshot {store.snapshot_id(store_path)})",
    }
    for key, value in params.items():
        if value is not None:
            about[key] = value
    for table, prov in sorted(ds.provenance.items()):
        about[f"provenance.{table}"] = "; ".join(f"{k}: {v}" for k, v in prov.items()
                                                 if k != "files")
    about["created"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    about["tool"] = f"chokepoint-analytics {_version()}"
    return about


def _coalition_info(coalition: str, ds) -> str:
    from analytics.reference import coalition_label, resolve_coalition

    members = resolve_coalition(coalition, ds.countries)
    return f"{coalition} = {coalition_label(coalition)}: {', '.join(members)}"


def _written(path: Path, frame: pd.DataFrame, ds) -> int:
    tag = " (synthetic demo data)" if ds.synthetic else ""
    print(f"wrote {len(frame):,} rows to {path}{tag}", file=sys.stderr)
    print(path)
    return 0


def _event(ds, destination: str | None) -> int | None:
    from analytics.eventstudy import event_year

    for d in ([destination] if destination else []) + [None]:
        try:
            return (event_year(ds, destination=d) if d else event_year(ds))[0]
        except AnalysisError:
            continue
    return None


# ------------------------------------------------------------------------ the tables
def score_table(ds, cf: pd.DataFrame, *, year: int | None = None, coalition: str = "group_a",
                categories: Sequence[str] | None = None, config=None) -> pd.DataFrame:
    """The ``chokepoint score`` table (see :data:`SHAPES`)."""
    from analytics.i18n import category_name, country_name
    from analytics.risk import score_risk

    if categories:
        categories = _check_categories(categories, ds)
    year = _year(cf, year)
    scored = score_risk(ds, year=year, coalition=coalition, categories=categories,
                        config=config, cflows=cf)
    names = {c: category_name(c, ds.categories) for c in scored["category_id"].unique()}
    scored.insert(3, "category_name", scored["category_id"].map(names).astype(str))
    scored.insert(4, "destination_name",
                  [country_name(d) for d in scored["destination"]])
    return scored


def routes_table(ds, cf: pd.DataFrame, *, destination: str, category: str | None = None,
                 coalition: str = "group_a", year: int | None = None) -> pd.DataFrame:
    """The ``chokepoint routes`` table (see :data:`SHAPES`)."""
    from analytics import diversion as dv
    from analytics.errors import NodeNotFound
    from analytics.i18n import country_name
    from analytics.reference import resolve_coalition

    cats = _check_categories([category], ds) if category else _outbound(ds, cf)
    year = _year(cf, year)
    dest = destination.strip().upper()
    sub = cf[cf["category_id"].isin(cats)]
    importers = sorted(map(str, sub.loc[sub["year"] == year, "importer"].unique()))
    if dest not in importers:
        known = set(map(str, ds.countries["iso3"]))
        what = (f"unknown destination {destination!r}" if dest not in known
                else f"destination {dest!r} imports none of {cats} in {year}")
        raise UnknownCountry(f"{what}; valid destinations: {', '.join(importers)}")
    members = resolve_coalition(coalition, ds.countries)
    parts = []
    for cat in cats:
        lay = sub[(sub["year"] == year) & (sub["category_id"] == cat)]
        if lay.empty:
            continue
        try:
            r = dv.diversion_routes(lay, coalition=members, destination=dest,
                                    countries=ds.countries)
        except NodeNotFound:
            continue  # the destination imports nothing of this category
        if len(r):
            parts.append(r.assign(year=year, category_id=cat))
    if not parts:
        raise AnalysisError(f"no coalition-origin goods reach {dest} in {year} "
                            f"(categories {cats}, coalition {coalition})")
    routes = pd.concat(parts, ignore_index=True).rename(
        columns={"value": "value_usd", "share": "share_of_imports"})
    out = routes[["year", "destination", "category_id", "origin", "hub", "route",
                  "value_usd", "share_of_imports"]]
    ey = _event(ds, dest)
    years = sorted(int(y) for y in sub["year"].unique())
    if ey is not None and years[0] < ey <= years[-1]:
        yearly = dv.yearly_route_values(sub, coalition=members, destinations=[dest],
                                        countries=ds.countries)
        scr = dv.screen_routes(sub, coalition=members, destinations=[dest], event_year=ey,
                               countries=ds.countries, yearly=yearly)
        scr = scr[["category_id", "hub", "pre_value", "post_value", "growth", "z_score",
                   "flagged"]].rename(columns=lambda c: c if c in ("category_id", "hub")
                                      else f"route_{c}")
        hubs = dv.hub_ranking(sub, coalition=members, destination=dest, event_year=ey,
                              countries=ds.countries, entities=ds.entities, yearly=yearly)
        hubs = hubs.assign(rank=range(1, len(hubs) + 1))[
            ["hub", "rank", "score", "growth", "eaeu", "hub_prior", "listed_entities"]]
        hubs = hubs.rename(columns={"rank": "hub_rank", "score": "hub_score",
                                    "growth": "hub_growth", "eaeu": "hub_eaeu",
                                    "listed_entities": "hub_listed_entities"})
        out = out.merge(scr, on=["category_id", "hub"], how="left")
        out = out.merge(hubs, on="hub", how="left")
        out["route_flagged"] = out["route_flagged"].astype("boolean")
        out["hub_eaeu"] = out["hub_eaeu"].astype("boolean")
        out["hub_prior"] = out["hub_prior"].astype("boolean")
    else:
        for col in ("route_pre_value", "route_post_value", "route_growth", "route_z_score"):
            out[col] = float("nan")
        out["route_flagged"] = pd.array([pd.NA] * len(out), dtype="boolean")
        for col in ("hub_rank", "hub_score", "hub_growth"):
            out[col] = float("nan")
        for col in ("hub_eaeu", "hub_prior"):
            out[col] = pd.array([pd.NA] * len(out), dtype="boolean")
        out["hub_listed_entities"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out["hub_rank"] = out["hub_rank"].astype("Int64")
    out["origin_name"] = [country_name(c) for c in out["origin"]]
    out["hub_name"] = [country_name(c) for c in out["hub"]]
    out = out.sort_values(["category_id", "value_usd"], ascending=[True, False])
    out.attrs["event_year"] = ey
    return out.reset_index(drop=True)


def chokepoints_table(ds, cf: pd.DataFrame, *, year: int | None = None,
                      coalition: str = "group_a") -> pd.DataFrame:
    """The ``chokepoint chokepoints`` table (see :data:`SHAPES`)."""
    from analytics.chokepoints import category_overview, dependency_flags
    from analytics.i18n import category_name

    year = _year(cf, year)
    ov = category_overview(cf, year, coalition=coalition, countries=ds.countries)
    dep = dependency_flags(cf)
    d = dep[dep["year"] == year]
    agg = d.groupby("category_id").agg(n_dependent_importers=("dependent", "sum"),
                                       n_persistent_importers=("persistent", "sum"))
    pers = (d[d["persistent"]].sort_values("hhi", ascending=False)
            .groupby("category_id")["importer"].agg(lambda s: ";".join(map(str, s))))
    out = ov.merge(agg, on="category_id", how="left").merge(
        pers.rename("persistent_importers"), on="category_id", how="left")
    for col in ("n_dependent_importers", "n_persistent_importers"):
        out[col] = out[col].fillna(0).astype("int64")
    out["persistent_importers"] = out["persistent_importers"].fillna("").astype(str)
    cats = ds.categories.set_index("category_id")
    out.insert(1, "category_name",
               [category_name(c, ds.categories) for c in out["category_id"]])
    out.insert(2, "direction", cats["direction"].reindex(out["category_id"]).astype(str)
               .to_numpy())
    return out


# -------------------------------------------------------------------------- commands
def _cmd_brief(args: argparse.Namespace) -> int:
    from analytics.brief import make_brief
    from analytics.config import Settings

    path, ds, cf = _open_store(args.store)
    res = make_brief(ds, category=args.category, destination=args.destination,
                     coalition=args.coalition, year=args.year, lang=args.lang,
                     out=Path(args.out), cflows=cf,
                     config=args.risk_config or Settings.from_env().risk_config)
    for stem, why in res.skipped.items():
        print(f"note: chart {stem} left out: {why}", file=sys.stderr)
    tag = " (synthetic demo data)" if ds.synthetic else ""
    print(f"wrote a {res.pages}-page briefing pack with {len(res.charts)} charts to "
          f"{res.out}{tag}", file=sys.stderr)
    print(res.pdf)
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    from analytics.config import Settings
    from analytics.outputs import write_table
    from analytics.risk import load_config

    table_format(args.out)  # an unknown extension fails before any work
    config = load_config(args.risk_config or Settings.from_env().risk_config)
    path, ds, cf = _open_store(args.store)
    table = score_table(ds, cf, year=args.year, coalition=args.coalition,
                        categories=args.categories, config=config)
    weights = {k: config["weights"][k] for k in config["weights"]}
    about = _about("score", ds, path, year=int(table["year"].iloc[0]),
                   coalition=_coalition_info(args.coalition, ds),
                   categories=sorted(table["category_id"].unique()),
                   event_year=table.attrs.get("event_year"),
                   config=f"{Path(config['_path']).name}; weights {json.dumps(weights)}")
    out = write_table(table, args.out, about=about, sheet_name="scores")
    return _written(out, table, ds)


def _cmd_routes(args: argparse.Namespace) -> int:
    from analytics.outputs import write_table

    table_format(args.out)
    path, ds, cf = _open_store(args.store)
    table = routes_table(ds, cf, destination=args.destination, category=args.category,
                         coalition=args.coalition, year=args.year)
    about = _about("routes", ds, path, year=int(table["year"].iloc[0]),
                   destination=str(table["destination"].iloc[0]),
                   coalition=_coalition_info(args.coalition, ds),
                   categories=sorted(table["category_id"].unique()),
                   event_year=table.attrs.get("event_year"),
                   config="proportional-mixing tracing, production = net exports")
    out = write_table(table, args.out, about=about, sheet_name="routes")
    return _written(out, table, ds)


def _cmd_chokepoints(args: argparse.Namespace) -> int:
    from analytics.outputs import write_table

    table_format(args.out)
    path, ds, cf = _open_store(args.store)
    table = chokepoints_table(ds, cf, year=args.year, coalition=args.coalition)
    about = _about("chokepoints", ds, path, year=int(table["year"].iloc[0]),
                   coalition=_coalition_info(args.coalition, ds),
                   config="dependency flags: import HHI > 0.4 and imports/exports > 1, "
                          "persistent in 2 of 3 years")
    out = write_table(table, args.out, about=about, sheet_name="chokepoints")
    return _written(out, table, ds)


def register(sub) -> None:
    """Add ``brief``, ``score``, ``routes`` and ``chokepoints`` to the ``chokepoint`` CLI."""
    fmt = "CSV, Excel (.xlsx) or Parquet by the extension"

    p = sub.add_parser("brief", help="write a briefing pack (PDF, PNG, SVG) on one "
                                     "category x destination")
    _store_option(p)
    p.add_argument("--category", required=True, help="category id, e.g. chpl_tier1")
    p.add_argument("--destination", required=True, help="ISO3 code, e.g. RUS")
    p.add_argument("--coalition", default="group_a",
                   help="preset (japan, jp_us_nl, group_a, wassenaar, g7) or ISO3 codes "
                        "separated by commas (default group_a)")
    p.add_argument("--year", type=int, help="reference year (default: the latest)")
    p.add_argument("--lang", choices=("en", "ja"), default="en")
    p.add_argument("--risk-config", help="risk configuration TOML (default: bundled)")
    p.add_argument("--out", required=True, help="folder to write the pack into")
    p.set_defaults(handler=_cmd_brief)

    p = sub.add_parser("score", help=f"risk scores of every category x destination ({fmt})")
    _store_option(p)
    p.add_argument("--year", type=int)
    p.add_argument("--coalition", default="group_a")
    p.add_argument("--categories", nargs="+", metavar="ID",
                   help="category ids (default: the outbound categories)")
    p.add_argument("--risk-config", help="risk configuration TOML (default: "
                                         "$CHOKEPOINT_RISK_CONFIG or the bundled file)")
    p.add_argument("--out", required=True, help=".csv, .xlsx or .parquet")
    p.set_defaults(handler=_cmd_score)

    p = sub.add_parser("routes", help=f"diversion routes into a destination ({fmt})")
    _store_option(p)
    p.add_argument("--destination", required=True, help="ISO3 code, e.g. RUS")
    p.add_argument("--category", help="one category id (default: the outbound categories)")
    p.add_argument("--coalition", default="group_a")
    p.add_argument("--year", type=int)
    p.add_argument("--out", required=True, help=".csv, .xlsx or .parquet")
    p.set_defaults(handler=_cmd_routes)

    p = sub.add_parser("chokepoints", help=f"chokepoint metrics of every category ({fmt})")
    _store_option(p)
    p.add_argument("--year", type=int)
    p.add_argument("--coalition", default="group_a")
    p.add_argument("--out", required=True, help=".csv, .xlsx or .parquet")
    p.set_defaults(handler=_cmd_chokepoints)


if not any(getattr(f, "__module__", None) == __name__ for f in cli._EXTENSIONS):
    cli._EXTENSIONS.append(register)
