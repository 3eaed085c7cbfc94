"""Benchmarks: ``make bench`` (or ``python tests/bench/run.py [name ...]``).

Each ``bench_<name>.py`` beside this file defines ``run(report)``; ``report(section,
metric, value, unit="", target=None, note="")`` prints one figure (and its ratio to the
target when given). Results are also written to ``bench-results/latest.json``.
Benchmarks measure; they do not fail on slow machines (targets are printed, not asserted).
"""

from __future__ import annotations

import importlib.util
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

RESULTS: list[dict] = []


def report(section: str, metric: str, value: float, unit: str = "", target: float | None = None,
           note: str = "", lower_is_better: bool = True) -> None:
    rec = {"section": section, "metric": metric, "value": value, "unit": unit,
           "target": target, "note": note}
    RESULTS.append(rec)
    shown = f"{value:,.3f}" if isinstance(value, float) else f"{value:,}"
    line = f"  {metric:<58} {shown:>14} {unit:<8}"
    if target is not None:
        ok = value <= target if lower_is_better else value >= target
        line += f" target {'<=' if lower_is_better else '>='} {target:g} {unit}  " \
                f"[{'ok' if ok else 'MISSED'}]"
    if note:
        line += f"  ({note})"
    print(line, flush=True)


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))
    print(f"chokepoint-analytics benchmarks on {platform.node()} "
          f"({platform.processor() or platform.machine()}, Python {platform.python_version()})")
    for name in names:
        path = HERE / f"bench_{name}.py"
        spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        print(f"\n== {name} ==", flush=True)
        t0 = time.perf_counter()
        mod.run(report)
        print(f"  ({name}: {time.perf_counter() - t0:.1f} s)", flush=True)
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(RESULTS, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
