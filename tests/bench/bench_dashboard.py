"""Dashboard callbacks: p95 latency of every callback on the demo world (target < 300 ms).

The store is the demo world with its precomputed tables and synthetic shipments (so the
Shipments page's callbacks run too). The app is created as ``chokepoint serve`` does (with
its start-up warm-up), so cold first views of non-default selections are included in the
distribution.

Every callback is called the way the browser calls it: a POST to Dash's
``/_dash-update-component`` (dispatch, the callback, JSON encoding of the response), timed
on the server side by the test client. Inputs are realistic:

* the layout of each page is rendered with its defaults, then every callback of the page
  is run once ("priming") and its outputs written back into the page's component values,
  so inputs that other callbacks produce (a grid's ``rowData``, a graph's ``figure``)
  hold what the browser would have;
* dropdown-type inputs (``value`` with options or slider marks) are drawn at random from
  their options, a multi-select gets 0-2 of them;
* ``selectedRows`` is a random row of the grid's rows, ``clickData`` a random point of
  the graph's figure (as plotly reports a click), a Location's ``search`` the query of
  the current control values, counters (``n_clicks``, ``n_intervals``) 1.

The diversion page's difference-in-differences regressions run on a background thread;
they are awaited before each callback is timed, so a callback is not charged for a
regression queued by another one (they share the interpreter).

A callback that cannot be benchmarked is printed with the reason; a callback that raises
is reported as an ERROR (with its inputs), counted, and the count has a target of 0. A
callback over the target is printed with the inputs of its slowest call.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

SAMPLES = int(os.environ.get("CHOKEPOINT_BENCH_CALLBACK_SAMPLES", "40"))
SHIPMENT_ROWS = int(os.environ.get("CHOKEPOINT_BENCH_SHIPMENT_ROWS", "100000"))
#: an existing store to benchmark instead of building the demo one (e.g. a real store)
STORE = os.environ.get("CHOKEPOINT_BENCH_DASHBOARD_STORE")
#: time only the callbacks whose label contains this text (e.g. "shipments.")
ONLY = os.environ.get("CHOKEPOINT_BENCH_CALLBACKS", "")
TARGET_MS = 300.0
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


def _jsonable(value):
    """A component property as the browser holds it (plain JSON)."""
    from plotly.utils import PlotlyJSONEncoder

    return json.loads(json.dumps(value, cls=PlotlyJSONEncoder))


def _click(figure, rng: random.Random) -> dict | None:
    """A random point of a figure, as plotly reports a click (``clickData``)."""
    traces = (figure or {}).get("data") or []
    points = []
    for n, tr in enumerate(traces):
        xs, ys = tr.get("x"), tr.get("y")
        cd, text = tr.get("customdata"), tr.get("text")
        if tr.get("type") == "heatmap" and xs is not None and ys is not None:
            for i, y in enumerate(ys):
                for j, x in enumerate(xs):
                    p = {"curveNumber": n, "x": x, "y": y, "pointIndex": [i, j]}
                    if cd is not None:
                        p["customdata"] = cd[i][j]
                    points.append(p)
        elif xs is not None and ys is not None and isinstance(xs, list):
            for k in range(min(len(xs), len(ys))):
                p = {"curveNumber": n, "pointNumber": k, "x": xs[k], "y": ys[k]}
                if isinstance(cd, list) and k < len(cd):
                    p["customdata"] = cd[k]
                if isinstance(text, list) and k < len(text):
                    p["text"] = text[k]
                points.append(p)
    return {"points": [rng.choice(points)]} if points else None


def _value(props: dict, rng: random.Random):
    """A random choice of a control (options or slider marks); the layout value else."""
    opts = props.get("options")
    if opts:
        vals = [o["value"] if isinstance(o, dict) else o for o in opts]
        if props.get("multi"):
            return rng.sample(vals, k=min(len(vals), rng.randint(0, 2)))
        return rng.choice(vals)
    marks = props.get("marks")
    if marks:
        return rng.choice([int(k) for k in marks])
    return props.get("value")


def _arg(cid: str, prop: str, comp: dict, controls: dict, rng: random.Random, *,
         randomise: bool):
    from dashboards.components import encode_query

    props = comp.get(cid, {})
    if prop == "value":
        return _value(props, rng) if randomise else props.get("value")
    if prop == "search" and cid.endswith("-url"):
        return encode_query({k: v for k, v in controls.items() if v is not None})
    if prop == "selectedRows":
        rows = comp.get(cid, {}).get("rowData") or []
        return [rng.choice(rows)] if rows and randomise else props.get(prop)
    if prop == "clickData":
        return _click(props.get("figure"), rng) if randomise else None
    if prop in ("n_clicks", "n_intervals"):
        return 1
    return props.get(prop)


def _outputs(spec) -> list[tuple[str, str]]:
    outs = spec["output"] if isinstance(spec["output"], list) else [spec["output"]]
    return [(o.component_id, o.component_property) for o in outs]


def _request(client, key: str, spec, args: list, deps: list, trigger: int) -> tuple:
    """POST one callback; (seconds, status, decoded response or None)."""
    outs = _outputs(spec)
    n_in = len(spec["inputs"])
    items = [{"id": cid, "property": prop, "value": v}
             for (cid, prop), v in zip(deps, args, strict=True)]
    cid, prop = deps[trigger]
    body = {"output": key,
            "outputs": ([{"id": c, "property": p} for c, p in outs]
                        if isinstance(spec["output"], list)
                        else {"id": outs[0][0], "property": outs[0][1]}),
            "inputs": items[:n_in], "state": items[n_in:],
            "changedPropIds": [f"{cid}.{prop}"]}
    payload = json.dumps(body, default=str)
    t0 = time.perf_counter()
    resp = client.post("/_dash-update-component", data=payload,
                       content_type="application/json")
    dt = time.perf_counter() - t0
    data = resp.get_json(silent=True) if resp.status_code == 200 else None
    return dt, resp.status_code, data


def _store(comp: dict, response) -> None:
    """Write a callback's outputs into the page's component values."""
    for cid, props in ((response or {}).get("response") or {}).items():
        comp.setdefault(cid, {}).update(props)


def _background_idle() -> None:
    """Wait for the diversion page's background regressions (see the module notes)."""
    page = sys.modules.get("dashboards.pages.diversion")
    if page is not None and hasattr(page, "wait_for_background"):
        page.wait_for_background(timeout=120)


def run(report, *, path: Path | None = None, section: str = "dashboard") -> None:
    """Time every callback on ``path`` (default: ``CHOKEPOINT_BENCH_DASHBOARD_STORE``,
    else a demo store built here), reporting under ``section``."""
    import dash

    from analytics import store
    from analytics.cli_shipments import add_demo_shipments
    from analytics.demo import make_demo_world
    from analytics.precompute import precompute_store
    from dashboards.app import PAGE_MODULES, create_app

    if path is not None:
        path = Path(path)
    elif STORE:
        path = Path(STORE)
    else:
        path = Path(tempfile.mkdtemp(prefix="bench-dash-")) / "store"
        store.write_dataset(make_demo_world(seed=0).dataset, path)
        precompute_store(path)
        add_demo_shipments(path, rows=SHIPMENT_ROWS)
    t0 = time.perf_counter()
    app = create_app(path)
    report(section, "app start-up incl. warm-up", time.perf_counter() - t0, "s")
    app.server.config["PROPAGATE_EXCEPTIONS"] = True  # a failing callback raises here
    client = app.server.test_client()
    client.get("/_dash-dependencies")  # Dash registers the page callbacks here

    layouts: dict[str, dict] = {}
    for page in dash.page_registry.values():
        for route, kw in PAGES.items():
            if page.get("path") == route or (page.get("path_template") and kw and
                                             route.startswith(
                                                 page["path_template"].split("<")[0])):
                found: dict = {}
                _walk(page["layout"](**kw), found)
                layouts[page["module"]] = {k: _jsonable(v) for k, v in found.items()}

    # every callback, attributed to the page whose layout holds its first input
    callbacks, skipped = [], []
    for key, spec in app.callback_map.items():
        fn = spec.get("callback")
        if fn is None:
            continue
        raw = getattr(fn, "__wrapped__", fn)
        name = f"{raw.__module__.rsplit('.', 1)[-1]}.{raw.__name__}"
        deps = [(d["id"], d["property"]) for d in spec["inputs"]] + \
               [(d["id"], d["property"]) for d in spec.get("state", [])]
        if raw.__module__.startswith("dash.") or raw.__module__ == "dash":
            continue  # Dash's own page router
        if any(not isinstance(cid, str) for cid, _ in deps):
            skipped.append((name, key, "pattern-matching ids"))
            continue
        module = next((m for m in PAGE_MODULES if deps and deps[0][0] in layouts.get(m, {})),
                      None)
        if module is None:
            skipped.append((name, key, f"no page layout holds {deps[0][0] if deps else '?'}"))
            continue
        missing = [cid for cid, _ in deps if cid not in layouts[module]]
        if missing:
            skipped.append((name, key, f"not in the {module} layout: {missing}"))
            continue
        label = f"{module.rsplit('.', 1)[-1]}.{raw.__name__}"
        if raw.__module__ == "dashboards.components":  # shared callbacks: name the target
            label += f"({_outputs(spec)[0][0]})"
        callbacks.append((module, label, key, spec, deps))
    for name, key, why in skipped:
        print(f"  SKIPPED {name} [{key[:60]}]: {why}", flush=True)

    # priming: each page's callbacks once with the layout's values, outputs stored, twice
    # (a grid's rows feed its selection, a figure its clicks)
    rng = random.Random(0)
    for _ in range(2):
        for module, _label, key, spec, deps in callbacks:
            comp = layouts[module]
            controls = {cid.split("-", 1)[-1]: p.get("value") for cid, p in comp.items()
                        if "value" in p}
            args = [_arg(c, p, comp, controls, rng, randomise=False) for c, p in deps]
            try:
                _, status, resp = _request(client, key, spec, args, deps, 0)
            except Exception:  # noqa: BLE001 - reported in the timed loop below
                continue
            if status == 200:
                _store(comp, resp)

    results, errors = [], []
    for module, label, key, spec, deps in callbacks:
        if ONLY not in label:
            continue
        _background_idle()
        comp = layouts[module]
        times, slowest = [], (0.0, None)
        for _ in range(SAMPLES):
            controls = {cid.split("-", 1)[-1]: p.get("value") for cid, p in comp.items()
                        if "value" in p}
            args = [_arg(c, p, comp, controls, rng, randomise=True) for c, p in deps]
            n_in = len(spec["inputs"])
            trigger = rng.randrange(n_in) if n_in else 0
            try:
                dt, status, _ = _request(client, key, spec, args, deps, trigger)
            except Exception as err:  # noqa: BLE001 - reported loudly, counted
                shown = {f"{c}.{p}": (str(v)[:60] if v is not None else None)
                         for (c, p), v in zip(deps, args, strict=True)}
                tb = traceback.extract_tb(err.__traceback__)[-1]
                errors.append((label, f"{type(err).__name__}: {str(err)[:160]} "
                                      f"(at {Path(tb.filename).name}:{tb.lineno}); "
                                      f"inputs {shown}"))
                break
            if status not in (200, 204):
                errors.append((label, f"HTTP {status}"))
                break
            times.append(dt)
            if dt > slowest[0]:
                slowest = (dt, {f"{c}.{p}": v for (c, p), v in zip(deps, args, strict=True)
                                if p in ("value", "data") and v is not None})
        if times and not any(lab == label for lab, _ in errors):
            results.append((label, float(np.percentile(times, 95)) * 1000,
                            float(np.median(times)) * 1000, slowest))

    worst = 0.0
    for label, p95, median, (t_max, inputs) in sorted(results, key=lambda r: r[0]):
        worst = max(worst, p95)
        note = f"median {median:.0f} ms"
        if p95 > TARGET_MS:  # what the slowest call was asked
            note += f"; slowest {t_max * 1000:.0f} ms with {inputs}"
        report(section, f"{label} p95", p95, "ms", target=TARGET_MS, note=note)
    for label, msg in errors:
        print(f"  !! ERROR {label}: {msg}", flush=True)
        report(section, f"{label} p95", float("nan"), "ms", note="ERROR (see above)")
    report(section, "callbacks skipped", len(skipped), "", note="listed above")
    report(section, "callbacks raising an error", len(errors), "", target=0,
           note="listed above" if errors else "")
    report(section, f"worst callback p95 ({len(results)} callbacks, {SAMPLES} calls "
                        f"each{'; ERRORS excluded' if errors else ''})",
           worst, "ms", target=TARGET_MS)
