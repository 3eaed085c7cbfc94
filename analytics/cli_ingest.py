"""``chokepoint ingest baci|comtrade|csv`` and ``chokepoint fetch baci``.

Imported by :func:`analytics.cli._load_extensions`; adds its subcommands through
``analytics.cli._EXTENSIONS``. The summaries go to stdout, progress bars to stderr; bad
input is a :class:`~analytics.errors.ChokepointError` (exit status 2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analytics import cli

__all__ = ["register"]


def _progress(args: argparse.Namespace) -> bool:
    return not getattr(args, "quiet", False)


def _print_store(path: Path) -> None:
    from analytics import store

    info = store.store_info(path)
    rows = info["rows"].get("flows", 0)
    print(f"store {path}: {info['name']} ({info['hs_version']}), years "
          f"{info['years']}, {rows:,} flow rows")


def _ingest_baci(args: argparse.Namespace) -> int:
    from analytics.sources.baci import ingest_baci

    report = ingest_baci(
        args.path, args.store, years=args.years, categories=args.categories,
        all_hs6=args.all_hs6, lenient=args.lenient, resume=args.resume,
        progress=_progress(args), threads=args.threads, memory_limit=args.memory_limit)
    for line in report.lines():
        print(line)
    if report.years:
        _print_store(Path(args.store))
    return 0


def _ingest_comtrade(args: argparse.Namespace) -> int:
    from analytics.sources.comtrade import ingest_comtrade

    report = ingest_comtrade(args.paths, args.store, prefer=args.prefer,
                             lenient=args.lenient, hs_version=args.hs_version,
                             year=args.year)
    for line in report.lines():
        print(line)
    mirror = report.details["mirror"]
    print(f"mirror statistics (value rule: --prefer {args.prefer}):")
    for cov in ("both", "exporter_only", "importer_only", "all"):
        m = mirror.get(cov, {})
        extra = f", median importer/exporter ratio {m['median_ratio']:.3f}" \
            if "median_ratio" in m else ""
        print(f"  {cov:<14} {m.get('flows', 0):>10,} flows; exporters report "
              f"USD {m.get('exporter_reported_usd', 0) / 1e9:,.3f} bn, importers "
              f"USD {m.get('importer_reported_usd', 0) / 1e9:,.3f} bn{extra}")
    if report.details["mirror_gaps"]:
        print(f"  derived table mirror_gaps: {report.details['mirror_gaps']:,} flows "
              "reported by both sides")
    _print_store(Path(args.store))
    return 0


def _ingest_csv(args: argparse.Namespace) -> int:
    from analytics.sources.csvflows import ingest_flows_file

    report = ingest_flows_file(
        args.paths, args.store, mapping=args.map, year=args.year,
        value_unit=args.value_unit, hs_version=args.hs_version,
        sum_duplicates=args.sum_duplicates, lenient=args.lenient, name=args.name,
        data_source=args.data_source)
    for line in report.lines():
        print(line)
    _print_store(Path(args.store))
    return 0


def _add_csv_kind(kinds) -> None:
    """``chokepoint ingest csv``: any tidy flows file (see analytics.sources.csvflows)."""
    v = kinds.add_parser(
        "csv", help="a tidy flows file (CSV, CSV.gz or Parquet) with a column mapping",
        description="Check a tidy flows file (one row per flow) and add its years to a "
                    "store. Country codes may be ISO3 or UN M49/Comtrade numbers; "
                    "aggregates (World, EU) are dropped and counted; HS codes are "
                    "zero-padded to six digits. Bad rows stop the ingest with the file, "
                    "line, column, value and remedy (--lenient drops and counts them).")
    v.add_argument("paths", nargs="+", metavar="PATH",
                   help=".csv, .csv.gz or .parquet file(s) read with the same mapping")
    v.add_argument("--store", required=True, help="store folder (created if absent)")
    v.add_argument("--map", metavar="FIELD=COLUMN,...",
                   help="canonical field -> column, e.g. exporter=i,importer=j,hs6=cmd,"
                        "value_usd=value (fields: year, exporter, importer, hs6, value_usd, "
                        "quantity; an unmapped field uses a column of its own name)")
    v.add_argument("--year", type=int,
                   help="year of a file without a year column (with one: a check)")
    v.add_argument("--value-unit", choices=("usd", "kusd"), default="usd",
                   help="unit of the value column (kusd = thousand USD, as BACI's v)")
    v.add_argument("--hs-version", help="HS version of the codes, e.g. HS2017 (needed to "
                                        "create a store; must equal an existing store's)")
    v.add_argument("--sum-duplicates", action="store_true",
                   help="add up rows of the same (year, exporter, importer, hs6), e.g. "
                        "national 8-11 digit tariff lines of one HS6 code (default: such "
                        "rows are duplicates and an error)")
    v.add_argument("--lenient", action="store_true",
                   help="drop bad rows and count them instead of stopping")
    v.add_argument("--name", help="dataset name shown by the dashboard (new store: the "
                                  "file name)")
    v.add_argument("--data-source", help="who produced the data, kept in the provenance "
                                         "(e.g. 'CEPII BACI HS17 V202601')")
    v.set_defaults(handler=_ingest_csv)


def _ingest_lists(args: argparse.Namespace) -> int:
    from analytics.sources.lists import ingest_lists

    report = ingest_lists(args.store, end_user_list=args.end_user_list,
                          specified=args.specified or (), replace=args.replace,
                          lenient=args.lenient)
    d = report.details
    print(f"listed entities: {d['entities']:,} written to {args.store} in "
          f"{report.seconds:.1f} s")
    for name, f in d["files"].items():
        print(f"  {name}: {f['rows_read']:,} entries")
    for name, n in sorted(d["by_list"].items(), key=lambda kv: -kv[1]):
        print(f"  {n:>8,}  {name}")
    if d["countries"]:
        print("  most listed: " + ", ".join(f"{c} {n}" for c, n in d["countries"].items()))
    if d["rescored"]:
        print("  risk_scores recomputed (they count listed entities)")
    _print_store(Path(args.store))
    return 0


def _add_lists_kind(kinds) -> None:
    """``chokepoint ingest lists``: METI End User List and MOFA/METI specified entities."""
    v = kinds.add_parser(
        "lists", help="listed entities (METI End User List, MOFA/METI specified entities)",
        description="Read your own copies of the METI End User List (xlsx as published, or "
                    "its CSV) and the MOFA/METI specified-entity CSVs, merge entries of the "
                    "same entity, and store them as the store's entities (red flags counted "
                    "by the risk score and the hub ranking). Entities of the lists loaded "
                    "replace the stored ones of the same lists; other lists are kept.")
    v.add_argument("--store", required=True, help="an existing store folder")
    v.add_argument("--end-user-list", metavar="PATH",
                   help="METI End User List (.xlsx or .csv)")
    v.add_argument("--specified", nargs="+", metavar="PATH",
                   help="MOFA/METI specified-entity CSVs (Russia, Belarus, third countries)")
    v.add_argument("--replace", action="store_true",
                   help="drop every stored entity first (default: only those of the same lists)")
    v.add_argument("--lenient", action="store_true",
                   help="drop entries whose country is unknown (counted) instead of stopping")
    v.set_defaults(handler=_ingest_lists)


def _fetch_baci(args: argparse.Namespace) -> int:
    from analytics.sources.fetch import fetch_baci

    path = fetch_baci(args.release, args.hs, dest=args.dest, url_base=args.url_base,
                      sha256=args.sha256, progress=_progress(args),
                      test_members=not args.no_testzip, force=args.force,
                      retries=args.retries)
    sidecar = path.with_name(path.name + ".sha256")
    print(f"{path} ({path.stat().st_size:,} bytes, verified)")
    print(f"sha256 {sidecar.read_text(encoding='utf-8').split()[0]} (written to "
          f"{sidecar.name})")
    return 0


#: functions adding further ``chokepoint ingest <kind>`` parsers (called with the
#: ``ingest`` sub-parsers object), e.g. shipments
INGEST_KINDS: list = []


def register(sub) -> None:
    """Add ``ingest`` and ``fetch`` to the ``chokepoint`` subcommands."""
    p = sub.add_parser("ingest", help="load real trade data (BACI, Comtrade) into a store")
    kinds = p.add_subparsers(dest="source", required=True, metavar="SOURCE")
    for add_kind in INGEST_KINDS:
        add_kind(kinds)

    b = kinds.add_parser(
        "baci", help="a CEPII BACI release (zip, folder of CSVs or one yearly CSV)",
        description="Stream a CEPII BACI release into a store (one Parquet file per year; "
                    "each converted year is committed atomically, so after a failure the "
                    "years already committed stay and --resume continues from there).")
    b.add_argument("path", help="BACI_HSxx_Vxxxxxx.zip, its extracted folder, or one "
                                "BACI_HSxx_Yyyyy_Vxxxxxx.csv with country_codes_V*.csv beside")
    b.add_argument("--store", required=True, help="store folder (created if absent)")
    b.add_argument("--years", type=int, nargs="+", metavar="YEAR",
                   help="years to ingest (default: all in the release)")
    sel = b.add_mutually_exclusive_group()
    sel.add_argument("--categories", nargs="+", metavar="ID",
                     help="keep the HS6 codes of these categories (default: all categories)")
    sel.add_argument("--all-hs6", action="store_true",
                     help="keep every HS6 code (about 11M rows a year)")
    b.add_argument("--lenient", action="store_true",
                   help="drop bad rows and count them instead of stopping")
    b.add_argument("--resume", action="store_true",
                   help="skip years whose source file is already in the store")
    b.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    b.add_argument("--memory-limit", default="2GB",
                   help="DuckDB memory before spilling to disk (default 2GB)")
    b.add_argument("--quiet", action="store_true", help="no progress bars")
    b.set_defaults(handler=_ingest_baci)

    c = kinds.add_parser(
        "comtrade", help="UN Comtrade CSV exports (API, legacy bulk or compact layout)",
        description="Read UN Comtrade exports, reconcile exporter- and importer-reported "
                    "values, write the flows and the mirror_gaps table to a store.")
    c.add_argument("paths", nargs="+", metavar="PATH", help=".csv or .csv.gz files")
    c.add_argument("--store", required=True, help="store folder (created if absent)")
    c.add_argument("--prefer", choices=("importer", "exporter", "max", "mean"),
                   default="importer",
                   help="value of a flow reported by both sides (default importer: CIF "
                        "imports are better recorded; the other side fills gaps)")
    c.add_argument("--hs-version", help="HS version to store the flows under (default: "
                                        "the store's or the files' classification)")
    c.add_argument("--year", type=int, help="year of files without a year column")
    c.add_argument("--lenient", action="store_true",
                   help="drop bad rows and count them instead of stopping")
    c.set_defaults(handler=_ingest_comtrade)
    _add_csv_kind(kinds)
    _add_lists_kind(kinds)

    f = sub.add_parser("fetch", help="download source data (resumable, verified)")
    fk = f.add_subparsers(dest="source", required=True, metavar="SOURCE")
    fb = fk.add_parser("baci", help="a CEPII BACI release zip",
                       description="Download BACI_<HS>_<release>.zip from CEPII with resume "
                                   "(HTTP Range), size, zip and sha256 checks.")
    fb.add_argument("--release", required=True, help="e.g. V202601")
    fb.add_argument("--hs", required=True, help="nomenclature, e.g. HS17 or HS22")
    fb.add_argument("--dest", default=".", help="folder for the zip (default: here)")
    fb.add_argument("--url-base", help="folder URL (default: the CEPII download folder)")
    fb.add_argument("--sha256", help="expected sha256 of the zip")
    fb.add_argument("--retries", type=int, default=3,
                    help="automatic resumes after a network error (default 3)")
    fb.add_argument("--no-testzip", action="store_true",
                    help="skip the CRC check of every member (faster)")
    fb.add_argument("--force", action="store_true", help="download again if present")
    fb.add_argument("--quiet", action="store_true", help="no progress bar")
    fb.set_defaults(handler=_fetch_baci)


if register not in cli._EXTENSIONS:
    cli._EXTENSIONS.append(register)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(cli.main())
