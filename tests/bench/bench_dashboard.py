"""Dashboard callbacks: p95 latency of every callback on the demo world (target < 300 ms).

For every page the layout is rendered with its defaults; each callback is then called
(server side, the same Python function Dash runs) with its inputs taken from the layout,
the dropdown-type inputs drawn at random from their options, ``SAMPLES`` times. The app is
created as ``chokepoint serve`` does (with its start-up warm-up), so cold first views of
non-default selections are included in the distribution.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from pathlib import Path

import numpy as np

SAMPLES = int(os.environ.get("CHOKEPOINT_BENCH_CALLBACK_SAMPLES", "40"))
PAGES = {"/": {}, "/chokepoints": {}, "/diversion": {}, "/scenario": {},
         "/country/KGZ": {"iso3": "KGZ"}, "/category/chpl_tier1": {"category_id": "chpl_tier1"},
         "/methodology": {}, "/shipments": {}}


def _walk(node, found):
    """Collect id -> props of every component in a layout tree."""
    if isinstance(node, list | tuple):
        for n in node:
            _walk(n, found)
        return
    if not hasattr(node, "to_plotly_json"):
        return
    props = {k: getattr(node, k) for k in getattr(node, "_prop_names", [])
             if getattr(node, k, None) is not None}
    cid = props.get("id")
    if isinstance(cid, str):
        found[cid] = props
    _walk(props.get("children"), found)


def _values(prop: str, props: dict, rng: random.Random):
    if prop == "value" and "options" in props and props["options"]:
        opts = props["options"]
        pick = opts[rng.randrange(len(opts))]
        val = pick["value"] if isinstance(pick, dict) else pick
        return [val] if props.get("multi") else val
    if prop == "value" and "marks" in props and props["marks"]:
        return rng.choice([int(k) for k in props["marks"]])
    return props.get(prop)


def run(report) -> None:
    import dash
    from analytics import store
    from analytics.demo import make_demo_world
    from analytics.precompute import precompute_store
    from dashboards.app import PAGE_MODULES, create_app

    tmp = Path(tempfile.mkdtemp(prefix="bench-dash-"))
    path = tmp / "store"
    store.write_dataset(make_demo_world(seed=0).dataset, path)
    precompute_store(path)
    t0 = time.perf_counter()
    app = create_app(path)
    report("dashboard", "app start-up incl. warm-up", time.perf_counter() - t0, "s")
    app.server.test_client().get("/_dash-dependencies")  # Dash registers callbacks here

    layouts = {}
    for page in dash.page_registry.values():
        found = {}
        for route, kw in PAGES.items():
            if page.get("path") == route or (page.get("path_template") and route.startswith(
                    page["path_template"].split("<")[0]) and kw):
                _walk(page["layout"](**kw), found)
                layouts[page["module"]] = found
    rng = random.Random(0)
    results = []
    for key, spec in app.callback_map.items():
        fn = spec.get("callback")
        raw = getattr(fn, "__wrapped__", None)
        if raw is None:
            continue
        module = getattr(raw, "__module__", "")
        if module not in PAGE_MODULES:
            continue
        comp = layouts.get(module, {})
        deps = [(d["id"], d["property"]) for d in spec["inputs"]] + \
               [(d["id"], d["property"]) for d in spec.get("state", [])]
        if any(not isinstance(cid, str) for cid, _ in deps):
            continue
        if any(cid not in comp for cid, _ in deps if not cid.endswith("-url")):
            continue
        times = []
        for _ in range(SAMPLES):
            args = []
            for cid, prop in deps:
                props = comp.get(cid, {})
                args.append(_values(prop, props, rng) if prop == "value"
                            else props.get(prop))
            t1 = time.perf_counter()
            try:
                raw(*args)
            except dash.exceptions.PreventUpdate:
                pass
            except Exception as err:  # noqa: BLE001 - reported, not fatal for the bench
                results.append((module, raw.__name__, float("nan"), repr(err)[:80]))
                break
            times.append(time.perf_counter() - t1)
        if times:
            results.append((module, raw.__name__, float(np.percentile(times, 95)) * 1000, ""))
    worst = 0.0
    for module, name, p95, err in sorted(results):
        label = f"{module.rsplit('.', 1)[-1]}.{name} p95"
        if err:
            report("dashboard", label, p95, "ms", note=f"error: {err}")
            continue
        worst = max(worst, p95)
        report("dashboard", label, p95, "ms", target=300.0)
    report("dashboard", f"worst callback p95 ({len(results)} callbacks, {SAMPLES} calls each)",
           worst, "ms", target=300.0)
