"""Benchmark: transaction-level shipments, pandas in chunks against Dask, and tracing on a
firm graph of a million nodes.

1. Generate ``CHOKEPOINT_BENCH_SHIPMENT_ROWS`` synthetic shipments (default 50,000,000)
   consistent with the demo world, written month by month to Parquet
   (:func:`analytics.demo_shipments.write_demo_shipments`: memory bounded by a month).
2. Aggregate them to country flows by dispatch and by origin, firm edges and firm
   category edges:
   (a) pandas, file by file (:func:`analytics.shipments.aggregate_shipments`);
   (b) Dask on a ``distributed.LocalCluster`` with 2 worker processes
       (:func:`analytics.shipments_dask.aggregate_dask`).
   Each runs in a fresh subprocess; peak memory is the process's own VmHWM, for Dask plus
   the VmHWM of each worker process (read from ``/proc`` while they run; the nannies live
   in the client process): the sum of the peaks is an upper bound of the cluster's peak.
3. Proportional-mixing tracing (sparse, iterative solver) on a random layered firm graph
   of 10^6 firms and 4 million edges with five origin groups, checking conservation.

Rows/s, seconds, peak memory and the ratios are printed; results are compared (the two
engines give the same totals).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ROWS = 50_000_000

_PEAK = """
import json, os, resource, sys, time


def vmhwm_mb(pid="self"):
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
"""

_CHILD = {
    "generate": """
        from analytics.demo import make_demo_world
        from analytics.demo_shipments import write_demo_shipments
        world = make_demo_world(seed=0)
        t0 = time.perf_counter()
        demo = write_demo_shipments(world, DEST, n_rows=ROWS, seed=0)
        seconds = time.perf_counter() - t0
        files = sorted(str(p) for p in Path(DEST).rglob("*.parquet"))
        out = {"seconds": seconds, "rows": ROWS, "files": len(files),
               "bytes": sum(Path(f).stat().st_size for f in files), "rss_mb": vmhwm_mb()}
    """,
    "pandas": """
        import pyarrow.parquet as pq
        from analytics.demo import make_demo_world
        from analytics.shipments import aggregate_shipments, category_codes
        from analytics.shipments_dask import _AGG_COLUMNS
        codes = category_codes(make_demo_world(seed=0).dataset)
        files = sorted(str(p) for p in Path(DEST).rglob("*.parquet"))
        t0, c0 = time.perf_counter(), cpu()
        agg = aggregate_shipments((pq.read_table(f, columns=_AGG_COLUMNS).to_pandas()
                                   for f in files), codes)
        seconds = time.perf_counter() - t0
        out = {"seconds": seconds, "cpu": cpu() - c0, "rows": agg.rows,
               "rss_mb": vmhwm_mb(), **summary(agg)}
    """,
    "dask": """
        import warnings
        warnings.filterwarnings("ignore")
        from distributed import Client, LocalCluster
        from analytics.demo import make_demo_world
        from analytics.shipments import category_codes
        from analytics.shipments_dask import aggregate_dask
        codes = category_codes(make_demo_world(seed=0).dataset)
        files = sorted(str(p) for p in Path(DEST).rglob("*.parquet"))
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            t0 = time.perf_counter()
            agg = aggregate_dask(files, codes, client=client)
            seconds = time.perf_counter() - t0
            workers = client.run(lambda: (os.getpid(), os.getppid()))
            peaks = {str(w): vmhwm_mb(pid) for w, (pid, _) in workers.items()}
            # the nannies run in this process (the workers' parent): no extra process
            parents = sorted({ppid for _, ppid in workers.values()})
        own = vmhwm_mb()
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        out = {"seconds": seconds, "rows": agg.rows, "rss_mb": own,
               "workers_mb": sum(peaks.values()), "worker_peaks": sorted(peaks.values()),
               "nannies_here": parents == [os.getpid()], "children_maxrss_mb": children,
               **summary(agg)}
    """,
    "tracing": """
        import numpy as np
        import pandas as pd
        from analytics import tracing
        from analytics.shipments import trace_firms
        rng = np.random.default_rng(0)
        n, m = NODES, 4 * NODES
        role = rng.choice([0, 1, 2], n, p=[0.2, 0.3, 0.5])  # makers, traders, buyers
        group = rng.integers(0, 4, n)
        makers, traders, buyers = (np.flatnonzero(role == k) for k in range(3))
        k1, k2, k3 = int(m * 0.35), int(m * 0.45), int(m * 0.2)
        u = np.concatenate([rng.choice(makers, k1), rng.choice(traders, k2),
                            rng.choice(traders, k3)])
        v = np.concatenate([rng.choice(traders, k1), rng.choice(buyers, k2),
                            rng.choice(traders, k3)])
        keep = u != v
        u, v = u[keep], v[keep]
        names = np.array([f"F{i:07d}" for i in range(n)], dtype=object)
        g = pd.DataFrame({"source": names[u], "target": names[v],
                          "value_usd": rng.lognormal(8, 1.5, len(u))})
        origins = {f"makers {k}": names[(group == k) & (role == 0)].tolist()
                   for k in range(4)}
        origins["traders and buyers"] = names[role != 0].tolist()
        t0 = time.perf_counter()
        model = tracing.build_model(g, exporter="source", importer="target")
        build = time.perf_counter() - t0
        t1 = time.perf_counter()
        res = trace_firms(g, origins=origins, model=model)
        solve = time.perf_counter() - t1
        got = res.groupby("destination")["value"].sum()
        rec = g.groupby("target")["value_usd"].sum()
        err = float((abs(got.reindex(rec.index).fillna(0.0) - rec) / rec).max())
        out = {"nodes": int(len(model.nodes)), "edges": int(len(g)), "build": build,
               "solve": solve, "groups": len(origins), "max_rel_error": err,
               "rss_mb": vmhwm_mb()}
    """,
}

_SUMMARY = """
def summary(agg):
    return {"flows_dispatch": len(agg.flows_dispatch), "flows_origin": len(agg.flows_origin),
            "edges": len(agg.edges), "category_edges": len(agg.category_edges),
            "value_dispatch": float(agg.flows_dispatch["value_usd"].sum()),
            "value_origin": float(agg.flows_origin["value_usd"].sum()),
            "value_edges": float(agg.edges["value_usd"].sum()),
            "shipments_edges": int(agg.edges["shipments"].sum())}
"""


def _child(kind: str, tmp: Path, **names) -> dict:
    """Run one measurement in a fresh interpreter (a script file: Dask's worker processes
    are spawned); return its JSON result."""
    body = textwrap.indent(textwrap.dedent(_CHILD[kind]), "    ")
    code = (_PEAK + "from pathlib import Path\n" + _SUMMARY
            + "".join(f"{k} = {v!r}\n" for k, v in names.items())
            + "\n\ndef main():\n" + body + "\n    print(json.dumps(out))\n\n\n"
            "if __name__ == '__main__':\n    main()\n")
    script = tmp / f"bench_{kind}.py"
    script.write_text(code, encoding="utf-8")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_seconds"] = wall
    return out


def run(report) -> None:
    rows = int(os.environ.get("CHOKEPOINT_BENCH_SHIPMENT_ROWS", DEFAULT_ROWS))
    nodes = int(os.environ.get("CHOKEPOINT_BENCH_FIRM_NODES", 1_000_000))
    section = "shipments"
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="chokepoint-bench-shipments-") as tmp:
        tmp = Path(tmp)
        dest = str(tmp / "shipments")
        gen = _child("generate", tmp, DEST=dest, ROWS=rows)
        report(section, "generate shipments to Parquet (month files)", gen["seconds"], "s",
               note=f"{rows:,} rows, {gen['files']} files, {gen['bytes'] / 1e6:,.0f} MB; "
                    f"{rows / gen['seconds']:,.0f} rows/s")
        report(section, "generation: peak RSS", gen["rss_mb"], "MB",
               note="bounded by one month of rows")

        pds = _child("pandas", tmp, DEST=dest)
        dsk = _child("dask", tmp, DEST=dest)
        cluster_mb = dsk["rss_mb"] + dsk["workers_mb"]
        for label, r in (("(a) pandas, file by file", pds),
                         ("(b) Dask, LocalCluster 2 worker processes", dsk)):
            report(section, f"{label}: wall", r["seconds"], "s",
                   note=f"process incl. start-up {r['process_seconds']:.1f} s")
            report(section, f"{label}: rows/s", r["rows"] / r["seconds"], "rows/s",
                   lower_is_better=False)
        report(section, "(a) pandas: peak RSS", pds["rss_mb"], "MB")
        nannies = "nannies in the client process" if dsk["nannies_here"] else "nannies apart"
        report(section, "(b) Dask: peak RSS, client + 2 workers (sum of peaks)", cluster_mb,
               "MB", note=f"client {dsk['rss_mb']:,.0f}, workers "
                          f"{', '.join(f'{w:,.0f}' for w in dsk['worker_peaks'])} ({nannies});"
                          f" largest child by RUSAGE_CHILDREN "
                          f"{dsk['children_maxrss_mb']:,.0f}")
        report(section, "ratio Dask / pandas (wall)", dsk["seconds"] / pds["seconds"], "x")
        report(section, "ratio Dask / pandas (peak memory)", cluster_mb / pds["rss_mb"], "x")
        same = all(pds[k] == dsk[k] for k in ("flows_dispatch", "flows_origin", "edges",
                                              "category_edges", "shipments_edges")) and all(
            abs(pds[k] - dsk[k]) <= 1e-9 * abs(pds[k]) for k in
            ("value_dispatch", "value_origin", "value_edges"))
        report(section, "results equal (rows and totals of every table)", int(same), "",
               note=f"{pds['flows_dispatch']:,} flows by dispatch, {pds['flows_origin']:,} "
                    f"by origin, {pds['edges']:,} firm edges, {pds['category_edges']:,} "
                    "category edges", lower_is_better=False, target=1)

        tr = _child("tracing", tmp, NODES=nodes)
        report(section, f"tracing: build model ({tr['nodes']:,} firms, {tr['edges']:,} "
                        "edges)", tr["build"], "s")
        report(section, f"tracing: {tr['groups']} origin groups (GMRES)", tr["solve"], "s",
               note=f"max relative conservation error {tr['max_rel_error']:.1e}")
        report(section, "tracing: peak RSS", tr["rss_mb"], "MB")
        report(section, "load average of the machine (start, end)", load0, "",
               note=f"end {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs")
