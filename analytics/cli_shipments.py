"""Shipments commands: ``ingest shipments``, ``attribution``, ``demo-shipments``,
``aggregate-shipments``.

``chokepoint ingest shipments PATH... --store DIR --map canonical=column,...``
    Stream customs records (CSV or Parquet) into the store's partitioned ``shipments``
    table (:func:`analytics.sources.shipments.ingest_shipments`); ``--brands FILE`` adds the
    brand table (brand, hq_country[, source]).
``chokepoint attribution --store DIR --destination D [--category C] [--period P]``
    Shares of a destination's shipments by dispatch country, origin and brand
    headquarters, coalition-brand goods via third countries, top brands and shippers per
    hub (:func:`analytics.shipments.attribute_shipments`), computed on Dask (local, or
    ``--scheduler ADDRESS`` for a cluster), written with
    :func:`analytics.outputs.write_table` (CSV, Excel or Parquet by extension).
``chokepoint demo-shipments --store DIR --rows N``
    Add synthetic shipments consistent with a demo store's world
    (:mod:`analytics.demo_shipments`), then the derived tables below.
``chokepoint aggregate-shipments --store DIR [--scheduler ADDRESS]``
    Country flows by dispatch and by origin, firm edges and category edges on Dask,
    stored as derived tables ``shipments_flows_dispatch``, ``shipments_flows_origin``,
    ``shipments_firm_edges``, ``shipments_category_edges`` (and ``--out-dir`` Parquet).

Imported by :func:`analytics.cli._load_extensions`.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import re
import sys
from pathlib import Path

from analytics import cli
from analytics.errors import ChokepointError, ConfigError

__all__ = ["register", "add_ingest_parser", "derive_shipment_tables", "DERIVED_TABLES",
           "ATTRIBUTION_SHAPE"]

#: derived tables written by ``aggregate-shipments`` (and ``demo-shipments``)
DERIVED_TABLES = ("shipments_flows_dispatch", "shipments_flows_origin",
                  "shipments_firm_edges", "shipments_category_edges")

ATTRIBUTION_SHAPE = (
    "chokepoint attribution: one row per item of a section: by_dispatch / by_origin / "
    "by_brand_hq (country, value_usd, shipments, share, member of the coalition), "
    "top_brands and top_shippers (per dispatching hub, ranked, share of the hub), summary "
    "(name = indicator, value_usd = its value: shares in 0-1)")


def _info(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _need_store(path: str) -> Path:
    from analytics import store

    p = Path(path)
    if not store.is_store(p):
        raise ChokepointError(f"no store at {p}: build one with `chokepoint demo --no-serve "
                              f"--store {p}` or `chokepoint ingest ...`")
    return p


# ---------------------------------------------------------------------------- ingest
def _ingest_shipments(args: argparse.Namespace) -> int:
    from analytics.sources.shipments import ingest_shipments, report_lines

    report = ingest_shipments(
        args.paths, args.store, mapping=args.map, brands=args.brands, lenient=args.lenient,
        date_format=args.date_format, hs_version=args.hs_version, append=args.append,
        progress=not args.quiet, threads=args.threads, memory_limit=args.memory_limit)
    for line in report_lines(report):
        print(line)
    print("next: `chokepoint aggregate-shipments --store ...` for country flows and firm "
          "edges, `chokepoint attribution --store ... --destination RUS --out t.csv`")
    return 0


def add_ingest_parser(kinds) -> None:
    """``chokepoint ingest shipments`` (added through ``cli_ingest.INGEST_KINDS``)."""
    from analytics.sources.shipments import CANONICAL

    p = kinds.add_parser(
        "shipments", help="transaction-level customs records (CSV or Parquet)",
        description="Stream customs records into the store's partitioned shipments table "
                    "(one Parquet folder per month), checking every row; the store is "
                    "switched atomically when all files are converted.")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help=".csv/.csv.gz/.tsv or .parquet files, or folders of them")
    p.add_argument("--store", required=True, help="store folder (created if absent)")
    p.add_argument("--map", metavar="CANONICAL=COLUMN,...",
                   help="file column of each canonical column ("
                        + ", ".join(CANONICAL) + "); unmapped ones are looked up by name")
    p.add_argument("--brands", metavar="FILE",
                   help="brand table CSV: brand,hq_country[,source]")
    p.add_argument("--lenient", action="store_true",
                   help="drop bad rows and count them instead of stopping")
    p.add_argument("--date-format", help="strptime layout of the dates (default ISO), "
                                         "e.g. %%d.%%m.%%Y")
    p.add_argument("--hs-version", help="HS nomenclature of the codes (required for a new "
                                        "store), e.g. HS2017")
    p.add_argument("--append", action="store_true",
                   help="keep stored months the files do not cover")
    p.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    p.add_argument("--memory-limit", default="2GB",
                   help="DuckDB memory before spilling to disk (default 2GB)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=_ingest_shipments)


# ---------------------------------------------------------------------------- derived
def derive_shipment_tables(store_path: str | Path, *, scheduler: str | None = None,
                           engine: str = "dask", out_dir: str | Path | None = None,
                           write: bool = True) -> dict[str, int]:
    """Aggregate a store's shipments and store the results as derived tables.

    ``engine="dask"`` (``scheduler`` as in :func:`analytics.shipments_dask.aggregate_dask`)
    or ``"pandas"`` (file by file). Returns rows per derived table.
    """
    from analytics import store
    from analytics.shipments import aggregate_shipments, category_codes

    ds = store.read_dataset(store_path, years=[])  # reference tables, no flows
    codes = category_codes(ds)
    if engine == "dask":
        from analytics.shipments_dask import aggregate_dask

        agg = aggregate_dask(store_path, codes, scheduler=scheduler)
    elif engine == "pandas":
        import pyarrow.parquet as pq

        files = store.table_files(store_path, "shipments")
        agg = aggregate_shipments((pq.read_table(f).to_pandas() for f in files), codes)
    else:
        raise ConfigError(f"engine {engine!r}: use 'dask' or 'pandas'")
    tables = dict(zip(DERIVED_TABLES, (agg.flows_dispatch, agg.flows_origin, agg.edges,
                                       agg.category_edges), strict=True))
    if write:
        for name, frame in tables.items():
            store.write_derived(store_path, name, frame)
    if out_dir is not None:
        from analytics.outputs import write_table

        for name, frame in tables.items():
            write_table(frame, Path(out_dir) / f"{name}.parquet")
    return {k: len(v) for k, v in tables.items()}


def _aggregate(args: argparse.Namespace) -> int:
    path = _need_store(args.store)
    rows = derive_shipment_tables(path, scheduler=args.scheduler, out_dir=args.out_dir,
                                  write=not args.no_derived)
    where = "derived tables" if not args.no_derived else "files"
    for name, n in rows.items():
        print(f"{name}: {n:,} rows ({where})")
    return 0


# ---------------------------------------------------------------------------- demo
_VERSION_RE = re.compile(r"seed=(-?\d+),\s*scale=([0-9.eE+-]+)")


def _world_of(path: Path):
    from analytics import store
    from analytics.demo import make_demo_world

    info = store.store_info(path)
    if not info["synthetic"]:
        raise ChokepointError(f"the store at {path} holds real data; demo shipments go into a "
                              "demo store (`chokepoint demo --no-serve --store DIR`)")
    m = _VERSION_RE.search(str(info["provenance"].get("flows", {}).get("version", "")))
    seed, scale = (int(m.group(1)), float(m.group(2))) if m else (0, 1.0)
    return make_demo_world(seed=seed, scale=scale)


def _years(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d{4})\s*(?:[-:]\s*(\d{4}))?\s*", text or "")
    if not m:
        raise ConfigError(f"--years {text!r}: write e.g. 2021-2024")
    y0 = int(m.group(1))
    return y0, int(m.group(2) or y0)


def add_demo_shipments(store_path: str | Path, *, rows: int = 200_000, seed: int = 0,
                       years: tuple[int, int] | None = None, derive: bool = True) -> dict:
    """Generate demo shipments for the demo store at ``store_path`` (built when missing)
    and switch the store to them (with the brand table and the derived tables)."""
    from analytics import store
    from analytics.demo_shipments import DEFAULT_YEARS, write_demo_shipments

    path = Path(store_path)
    if not store.is_store(path):
        cli.ensure_demo_store(path)
    world = _world_of(path)
    _info(f"generating {rows:,} demo shipments (seed {seed}) into {path} ...")
    with store.staging_dir(path, prefix=".ingest-demo-shipments-") as tmp:
        demo = write_demo_shipments(world, tmp / "shipments", n_rows=rows, seed=seed,
                                    years=years or DEFAULT_YEARS)
        prov = {k: v for k, v in demo.provenance.items() if k != "files"}
        store.update_table_files(
            path, "shipments", Path(tmp) / "shipments", partition_key="month",
            provenance={"shipments": prov, "brands": {
                "source": "analytics.demo_shipments", "label": prov["label"],
                "licence": "generated; fictional brands"}},
            reference_tables={"brands": demo.brands}, move=True, trusted=True,
            drop_derived=["shipments_*"])
    out = {"rows": rows, "months": len(demo.provenance.get("files", {}))}
    if derive:
        _info("aggregating country flows and firm edges ...")
        out.update(derive_shipment_tables(path, engine="pandas"))
    return out


def _demo_shipments(args: argparse.Namespace) -> int:
    if args.rows < 1:
        raise ConfigError("--rows must be positive")
    out = add_demo_shipments(args.store, rows=args.rows, seed=args.seed,
                             years=_years(args.years) if args.years else None,
                             derive=not args.no_derived)
    print(f"{out['rows']:,} synthetic demo shipments in {out['months']} months written to "
          f"{args.store}")
    for name in DERIVED_TABLES:
        if name in out:
            print(f"  derived {name}: {out[name]:,} rows")
    print(f"serve it with `chokepoint serve --store {args.store}` and open /shipments")
    return 0


# ---------------------------------------------------------------------------- attribution
def _attribution(args: argparse.Namespace) -> int:
    from analytics import store
    from analytics.dataset import SYNTHETIC_LABEL
    from analytics.outputs import write_table
    from analytics.reference import coalition_label, resolve_coalition
    from analytics.shipments import attribute_shipments, category_codes, parse_period
    from analytics.shipments_dask import cube_dask

    path = _need_store(args.store)
    ds = store.read_dataset(path, years=[])  # reference tables and brands, no flows
    members = resolve_coalition(args.coalition)
    start, end = parse_period(args.period)
    codes = None
    if args.category:
        codes = sorted(set(category_codes(ds, [args.category])["code"]))
    months = None
    if start is not None or end is not None:
        from analytics.shipments import period_months

        parts = store.table_partitions(path, "shipments")["partition"].tolist()
        months = period_months(start, end, parts)
    files = store.table_files(path, "shipments", partitions=months)
    if not files:
        raise ChokepointError(f"the store at {path} holds no shipments"
                              + (f" in {args.period}" if args.period else "")
                              + ": load some with `chokepoint ingest shipments` or "
                                "`chokepoint demo-shipments`")
    cube = cube_dask([str(f) for f in files], destination=args.destination.upper(),
                     codes=codes, start=start, end=end, scheduler=args.scheduler)
    if cube.empty:
        raise ChokepointError(f"no shipments into {args.destination} for this selection "
                              "(category, period)")
    att = attribute_shipments(cube, ds.brands, coalition=members, top=args.top)
    table = att.table()
    about = {
        "table": ATTRIBUTION_SHAPE,
        "dataset": ds.label,
        "synthetic": SYNTHETIC_LABEL if ds.synthetic else "no",
        "store": f"{path.name} (snapshot {store.snapshot_id(path)})",
        "destination": args.destination.upper(),
        "category": args.category or "all",
        "period": args.period or "all",
        "coalition": f"{coalition_label(args.coalition)}: {', '.join(members)}",
        "scheduler": args.scheduler or "local threads",
        "provenance.shipments": "; ".join(
            f"{k}: {v}" for k, v in ds.provenance.get("shipments", {}).items()
            if k not in ("files", "examples", "mapping")),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    out = write_table(table, args.out, about=about, sheet_name="attribution")
    s = att.summary
    label = f" ({SYNTHETIC_LABEL})" if ds.synthetic else ""
    print(f"{args.destination.upper()} {args.category or 'all categories'} "
          f"{args.period or 'all periods'}{label}: USD {s['total_value'] / 1e9:,.3f} bn in "
          f"{int(s['shipments']):,} shipments")
    print(f"  dispatched from third countries: {s['third_country_dispatch_share']:.1%}; "
          f"coalition brands: {s['coalition_brand_share']:.1%}, of which via third "
          f"countries {s['coalition_brand_via_third_share']:.1%}")
    print(f"written {out}")
    return 0


# ---------------------------------------------------------------------------- register
def register(sub) -> None:
    """Add ``attribution``, ``demo-shipments`` and ``aggregate-shipments``."""
    p = sub.add_parser("attribution", help="shares of a destination's shipments by "
                                           "dispatch, origin and brand headquarters",
                       description=ATTRIBUTION_SHAPE)
    p.add_argument("--store", required=True, help="store folder with shipments")
    p.add_argument("--destination", required=True, help="importer ISO3, e.g. RUS")
    p.add_argument("--category", help="category id (default: all goods)")
    p.add_argument("--period", help="2023, 2023-03 or 2023-01:2023-12 (default: all)")
    p.add_argument("--coalition", default="group_a",
                   help="preset (group_a, g7, jp_us_nl, ...) or ISO3 codes JPN,USA,...")
    p.add_argument("--scheduler", help="Dask scheduler address (default: local threads)")
    p.add_argument("--top", type=int, default=10, help="brands and shippers per hub")
    p.add_argument("--out", required=True, help="output .csv, .xlsx or .parquet")
    p.set_defaults(handler=_attribution)

    p = sub.add_parser("demo-shipments", help="add synthetic shipments to a demo store",
                       description="Generate customs records consistent with the demo "
                                   "store's world (planted routes, intermediaries, listed "
                                   "consignees) and switch the store to them.")
    p.add_argument("--store", required=True, help="demo store folder (built when missing)")
    p.add_argument("--rows", type=int, default=200_000, help="shipments (default 200,000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--years", help="e.g. 2021-2024 (default)")
    p.add_argument("--no-derived", action="store_true",
                   help="skip the derived aggregates (country flows, firm edges)")
    p.set_defaults(handler=_demo_shipments)

    p = sub.add_parser("aggregate-shipments",
                       help="country flows and firm edges from shipments, on Dask",
                       description="Aggregate the store's shipments to country flows by "
                                   "dispatch and by origin, firm edges and category edges "
                                   "(stored as derived tables).")
    p.add_argument("--store", required=True)
    p.add_argument("--scheduler", help="Dask scheduler address (default: local threads)")
    p.add_argument("--out-dir", help="also write the tables as Parquet files here")
    p.add_argument("--no-derived", action="store_true",
                   help="do not store the derived tables (use with --out-dir)")
    p.set_defaults(handler=_aggregate)


def _register_ingest() -> None:
    from analytics import cli_ingest

    if add_ingest_parser not in cli_ingest.INGEST_KINDS:
        cli_ingest.INGEST_KINDS.append(add_ingest_parser)


_register_ingest()
if register not in cli._EXTENSIONS:
    cli._EXTENSIONS.append(register)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(cli.main())
