"""Detection against the demo world's planted truth, and the speed of the screening.

Prints route-detection precision/recall (target: recall >= 0.9 at precision >= 0.8 among
the top-ranked routes), the flagged-route precision/recall, the difference-in-differences
coverage of the planted effects, and whether the risk ranking puts planted conduits above
clean destinations.
"""

from __future__ import annotations

import time

import numpy as np


def run(report) -> None:
    from analytics.demo import make_demo_world
    from analytics.diversion import screen_routes
    from analytics.eventstudy import diff_in_diff
    from analytics.network import category_flows
    from analytics.risk import score_risk, sensitivity

    w = make_demo_world(seed=0)
    ds, truth = w.dataset, w.truth
    coalition = list(truth.sanctioning)
    cats = list(ds.categories.loc[ds.categories["direction"] == "outbound", "category_id"])
    cf = category_flows(ds, categories=cats)

    t0 = time.perf_counter()
    s = screen_routes(cf, coalition=coalition, destinations=["RUS", "BLR"], event_year=2022)
    report("routes", "screen all hub x destination x category routes", time.perf_counter() - t0,
           "s", note=f"{len(s)} candidate routes")
    pos = set(zip(truth.routes["hub"], truth.routes["destination"], truth.routes["category_id"],
                   strict=True))
    amb = set(zip(truth.ambiguous_routes["hub"], truth.ambiguous_routes["destination"],
                  truth.ambiguous_routes["category_id"], strict=True))
    keys = list(zip(s["hub"], s["destination"], s["category_id"], strict=True))
    s = s[[k not in amb for k in keys]].reset_index(drop=True)
    tp = np.array([k in pos for k in zip(s["hub"], s["destination"], s["category_id"],
                                               strict=True)])
    prec = np.cumsum(tp) / np.arange(1, len(tp) + 1)
    rec = np.cumsum(tp) / len(pos)
    ok = prec >= 0.8
    report("routes", "best recall among top-ranked routes at precision >= 0.8",
           float(rec[ok].max()) if ok.any() else 0.0, "", target=0.9, lower_is_better=False)
    at = int(np.argmax(rec >= 0.9)) if (rec >= 0.9).any() else len(rec) - 1
    report("routes", "precision when recall first reaches 0.9", float(prec[at]), "",
           target=0.8, lower_is_better=False, note=f"top {at + 1} routes")
    fl = s["flagged"].to_numpy()
    report("routes", "flagged routes: precision", float(tp[fl].mean()), "", target=0.8,
           lower_is_better=False, note=f"{int(fl.sum())} flagged")
    report("routes", "flagged routes: recall", float(tp[fl].sum() / len(pos)), "")

    t0 = time.perf_counter()
    did = diff_in_diff(ds, coalition=coalition, categories=cats)
    report("did", f"difference-in-differences, {len(cats)} categories", time.perf_counter() - t0,
           "s")
    r = truth.routes[truth.routes["destination"] == "RUS"]
    m = did.merge(r[["hub", "category_id", "magnitude", "planted_share"]],
                  on=["hub", "category_id"], how="left")
    m["truth"] = np.log(m["magnitude"].fillna(1.0))
    m["covered"] = (m["ci_low"] <= m["truth"]) & (m["truth"] <= m["ci_high"])
    planted = m[m["planted_share"] == 1.0]
    ambig = set(zip(truth.ambiguous_routes["hub"], truth.ambiguous_routes["category_id"],
                    strict=True))
    null = m[m["planted_share"].isna() & ~m.apply(lambda x: (x["hub"], x["category_id"])
                                                   in ambig, axis=1)]
    report("did", "planted effects inside their 95 % CI", float(planted["covered"].mean()), "",
           target=0.8, lower_is_better=False, note=f"{len(planted)} planted hub x category")
    report("did", "mean |estimate - planted log effect|",
           float((planted["estimate"] - planted["truth"]).abs().mean()), "")
    report("did", "null effects (no planted route) inside their 95 % CI",
           float(null["covered"].mean()), "", note=f"{len(null)} hub x category")

    t0 = time.perf_counter()
    scored = score_risk(ds, year=2023, coalition=coalition, cflows=cf)
    report("risk", "score every category x destination (2023)", time.perf_counter() - t0, "s",
           note=f"{len(scored)} rows")
    t0 = time.perf_counter()
    sens = sensitivity(scored)
    report("risk", "sensitivity (200 Dirichlet weight samples)", time.perf_counter() - t0, "s",
           note=f"{int(sens['robust'].sum())} of {len(sens)} rankings robust")
    clean = ["FRA", "AUS", "BRA", "ZAF", "MEX", "CHL", "NZL", "EGY", "IND", "SAU", "IDN"]
    wins = total = 0
    for cat, grp in r[r["planted_share"] == 1.0].groupby("category_id"):
        sub = scored[scored["category_id"] == cat].set_index("destination")["risk"]
        cmax = sub.reindex(clean).max()
        for hub in set(grp["hub"]) - {"CHN"}:
            total += 1
            wins += bool(sub.get(hub, -1) > cmax)
    report("risk", "planted conduits scored above every clean destination", wins / total, "",
           target=1.0, lower_is_better=False, note=f"{wins}/{total} conduit x category")
