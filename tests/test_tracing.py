"""Proportional-mixing tracing: hand-worked tiny graphs, conservation, closed form."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import tracing
from analytics.errors import AnalysisError, NodeNotFound
from analytics.tracing import build_model, trace_edges, trace_imports, trace_supply


def F(*edges):
    return pd.DataFrame(edges, columns=["exporter", "importer", "value_usd"])


def content(result, origin, dest):
    hit = result[(result["origin"] == origin) & (result["destination"] == dest)]["value"]
    return float(hit.sum())


def test_chain_traces_everything_to_the_producer():
    r = trace_imports(F(("A", "B", 10.0), ("B", "C", 10.0)))
    assert content(r, "A", "C") == pytest.approx(10.0)
    assert content(r, "B", "C") == pytest.approx(0.0)


def test_star_hub_passes_origins_through_in_proportion():
    # A and B ship 6 and 4 to hub H; H ships 5 on to D (consumes 5)
    r = trace_imports(F(("A", "H", 6.0), ("B", "H", 4.0), ("H", "D", 5.0)))
    assert content(r, "A", "D") == pytest.approx(3.0)
    assert content(r, "B", "D") == pytest.approx(2.0)


def test_diamond_with_own_production_at_one_branch():
    # A->B 6, A->C 4, B->D 10 (B adds 4 of its own), C->D 4
    r = trace_imports(F(("A", "B", 6.0), ("A", "C", 4.0), ("B", "D", 10.0), ("C", "D", 4.0)))
    assert content(r, "A", "D") == pytest.approx(10.0)
    assert content(r, "B", "D") == pytest.approx(4.0)
    assert content(r, "C", "D") == pytest.approx(0.0)


def test_cycle_with_reexports_matches_hand_solution():
    # A->B 10, B->A 4, B->C 8. Net exports: P_A = 6 (w_A = 0.6), P_B = 2 (w_B = 1/6).
    # C_A = 0.9 A + 0.1 B ; C_B = 0.75 A + 0.25 B (worked out by hand)
    f = F(("A", "B", 10.0), ("B", "A", 4.0), ("B", "C", 8.0))
    r = trace_imports(f)
    assert content(r, "A", "C") == pytest.approx(6.0)
    assert content(r, "B", "C") == pytest.approx(2.0)
    assert content(r, "A", "A") == pytest.approx(3.0)  # re-imported own goods
    assert content(r, "B", "A") == pytest.approx(1.0)
    comp = build_model(f).composition()
    assert comp.loc["A", "A"] == pytest.approx(0.9)
    assert comp.loc["B", "B"] == pytest.approx(0.25)


def test_disconnected_parts_do_not_mix():
    r = trace_imports(F(("A", "B", 5.0), ("X", "Y", 7.0), ("Y", "Z", 7.0)))
    assert content(r, "A", "Z") == 0.0
    assert content(r, "X", "Z") == pytest.approx(7.0)
    assert content(r, "X", "B") == 0.0


def _random_layer(n=25, m=120, seed=1):
    rng = np.random.default_rng(seed)
    nodes = [f"N{i}" for i in range(n)]
    e = rng.integers(0, n, size=(m, 2))
    e = e[e[:, 0] != e[:, 1]]
    return pd.DataFrame({"exporter": [nodes[i] for i in e[:, 0]],
                         "importer": [nodes[j] for j in e[:, 1]],
                         "value_usd": rng.lognormal(3, 1, len(e))})


@pytest.mark.parametrize("production", ["net_exports", "exports"])
def test_values_of_each_destination_sum_to_its_imports(production):
    f = _random_layer()
    r = trace_imports(f, production)
    imports = f.groupby("importer")["value_usd"].sum()
    got = r.groupby("destination")["value"].sum()
    pd.testing.assert_series_equal(got.reindex(imports.index), imports, check_names=False,
                                   rtol=1e-9)


def test_matches_dense_closed_form():
    f = _random_layer(seed=7)
    model = build_model(f)
    n = len(model.nodes)
    X = model.X.toarray()
    S = model.supply
    A = np.divide(X, S[:, None], out=np.zeros_like(X), where=S[:, None] > 0)
    Z = np.diag(model.production) @ np.linalg.inv(np.eye(n) - A)  # DESIGN method 6
    Zs = trace_supply(model).to_numpy()
    np.testing.assert_allclose(Zs, Z, rtol=1e-8, atol=1e-8)
    # supply columns sum to S (conservation)
    np.testing.assert_allclose(Zs.sum(axis=0), S, rtol=1e-9)


def test_exports_strategy_is_naive_attribution():
    f = F(("A", "H", 10.0), ("H", "D", 8.0))
    r = trace_imports(f, "exports")
    assert content(r, "H", "D") == pytest.approx(8.0)
    assert content(r, "A", "D") == 0.0


def test_production_series_strategy():
    # H produces 10 and imports 10 from A: its exports are half A, half H
    f = F(("A", "H", 10.0), ("H", "D", 10.0))
    r = trace_imports(f, pd.Series({"A": 10.0, "H": 10.0}))
    assert content(r, "A", "D") == pytest.approx(5.0)
    assert content(r, "H", "D") == pytest.approx(5.0)


def test_reexport_share_overrides_listed_countries():
    # HKG is a net exporter (exports 12 > imports 10) but re-exports 100 %
    f = F(("TWN", "HKG", 10.0), ("HKG", "CHN", 12.0))
    naive = trace_imports(f)  # net_exports: HKG produced 2
    assert content(naive, "HKG", "CHN") == pytest.approx(2.0)
    with pytest.warns(UserWarning, match="export more than their supply"):
        r = trace_imports(f, reexport_share={"HKG": 1.0})
    # exports beyond imports cannot be re-exports: the excess is counted as own
    assert content(r, "TWN", "CHN") == pytest.approx(10.0)
    r2 = trace_imports(F(("TWN", "HKG", 10.0), ("HKG", "CHN", 8.0)),
                       reexport_share={"HKG": 0.5})
    assert content(r2, "TWN", "CHN") == pytest.approx(4.0)
    assert content(r2, "HKG", "CHN") == pytest.approx(4.0)


def test_origin_groups_sum_their_members():
    f = _random_layer(seed=3)
    full = trace_imports(f)
    grp = trace_imports(f, origins={"G": ["N1", "N2", "N3"]})
    want = full[full["origin"].isin(["N1", "N2", "N3"])].groupby("destination")["value"].sum()
    got = grp.set_index("destination")["value"]
    pd.testing.assert_series_equal(got.reindex(want.index), want, check_names=False,
                                   rtol=1e-9)


def test_edge_content_sums_to_edge_value():
    f = _random_layer(seed=5)
    nodes = sorted(set(f["exporter"]) | set(f["importer"]))
    e = trace_edges(f, origins=nodes)
    tot = e.groupby(["exporter", "importer"])["content"].sum()
    val = f.groupby(["exporter", "importer"])["value_usd"].sum()
    pd.testing.assert_series_equal(tot.reindex(val.index).fillna(0), val, check_names=False,
                                   rtol=1e-8, atol=1e-9)


def test_iterative_solver_matches_lu(monkeypatch):
    f = _random_layer(n=60, m=400, seed=11)
    exact = trace_imports(f, origins=["N1", "N2"])
    monkeypatch.setattr(tracing, "DIRECT_LU_MAX_NODES", 10)
    approx = trace_imports(f, origins=["N1", "N2"])
    m = exact.merge(approx, on=["origin", "destination"], how="outer").fillna(0)
    np.testing.assert_allclose(m["value_x"], m["value_y"], rtol=1e-6, atol=1e-6)


def test_transit_score_counts_reexports_only():
    f = F(("A", "H", 10.0), ("H", "D", 8.0), ("A", "D", 1.0))
    t = tracing.transit_through(build_model(f))
    assert t["H"] == pytest.approx(8.0)
    assert t["A"] == pytest.approx(0.0)


def test_strategy_recorded():
    r = trace_imports(F(("A", "B", 1.0)))
    assert r.attrs["strategy"].startswith("net_exports")


@pytest.mark.parametrize("bad, match", [
    (F(("A", "B", -1.0)), "negative"),
    (pd.DataFrame({"from": ["A"], "to": ["B"], "v": [1.0]}), "lack column"),
])
def test_bad_input_errors(bad, match):
    with pytest.raises(AnalysisError, match=match):
        trace_imports(bad)


def test_unknown_strategy():
    with pytest.raises(AnalysisError, match="unknown production strategy"):
        trace_imports(F(("A", "B", 1.0)), production="gdp")


def test_reexport_share_out_of_range():
    with pytest.raises(AnalysisError, match=r"\[0, 1\]"):
        trace_imports(F(("A", "B", 1.0)), reexport_share={"A": 1.5})


def test_unknown_destination():
    with pytest.raises(NodeNotFound):
        trace_imports(F(("A", "B", 1.0)), destinations=["ZZZ"])


def test_self_loops_and_zero_flows_ignored():
    r = trace_imports(F(("A", "A", 5.0), ("A", "B", 0.0), ("A", "C", 2.0)))
    assert content(r, "A", "C") == pytest.approx(2.0)
    assert "B" not in set(r["destination"])


# ------------------------------------- closed form for other production assumptions
# The cycle A -> B 10, B -> A 4, B -> C 8 (B re-exports part of what A sends it).
CYCLE = F(("A", "B", 10.0), ("B", "A", 4.0), ("B", "C", 8.0))
NODES = ["A", "B", "C"]
X_CYCLE = np.array([[0.0, 10.0, 0.0],
                    [4.0, 0.0, 8.0],
                    [0.0, 0.0, 0.0]])


def _closed_form(P):
    """Z = diag(P) (I - A)^-1 with S = P + I and A = X / S (DESIGN method 6), dense."""
    P = np.asarray(P, dtype=float)
    S = P + X_CYCLE.sum(axis=0)
    A = X_CYCLE / S[:, None]
    return np.diag(P) @ np.linalg.inv(np.eye(3) - A)


def test_closed_form_with_production_series():
    # P_A = 8, P_B = 4, C produces nothing. By hand: C_A = (8 A + 4 C_B) / 12 and
    # C_B = (4 B + 10 C_A) / 14 give C_A = (7/8, 1/8), C_B = (5/8, 3/8).
    model = build_model(CYCLE, pd.Series({"A": 8.0, "B": 4.0}))
    assert list(model.nodes) == NODES
    np.testing.assert_allclose(model.supply, [12.0, 14.0, 8.0])
    Z = trace_supply(model).loc[NODES, NODES].to_numpy()
    hand = np.array([[12 * 7 / 8, 14 * 5 / 8, 8 * 5 / 8],
                     [12 * 1 / 8, 14 * 3 / 8, 8 * 3 / 8],
                     [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(Z, hand, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(Z, _closed_form([8.0, 4.0, 0.0]), rtol=1e-10, atol=1e-12)
    r = trace_imports(CYCLE, pd.Series({"A": 8.0, "B": 4.0}))
    assert content(r, "A", "C") == pytest.approx(5.0)
    assert content(r, "B", "C") == pytest.approx(3.0)
    assert r.attrs["strategy"] == "production given (Series)"


def test_closed_form_with_reexport_share_on_a_cycle():
    # net exports for A: P_A = 10 - 4 = 6 (w_A = 0.6). B re-exports 75 %: w_B = 0.25,
    # P_B = w I / (1 - w) = 0.25 * 10 / 0.75 = 10/3, S_B = 40/3 (no shortfall: 40/3 > 12).
    # By hand: C_A = 0.6 A + 0.4 C_B, C_B = 0.25 B + 0.75 C_A
    #          -> C_A = (6/7, 1/7), C_B = (9/14, 5/14).
    model = build_model(CYCLE, reexport_share={"B": 0.75})
    assert list(model.nodes) == NODES
    np.testing.assert_allclose(model.production, [6.0, 10 / 3, 0.0])
    np.testing.assert_allclose(model.own_share[:2], [0.6, 0.25])
    Z = trace_supply(model).loc[NODES, NODES].to_numpy()
    hand = np.array([[10 * 6 / 7, 40 / 3 * 9 / 14, 8 * 9 / 14],
                     [10 * 1 / 7, 40 / 3 * 5 / 14, 8 * 5 / 14],
                     [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(Z, hand, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(Z, _closed_form([6.0, 10 / 3, 0.0]), rtol=1e-10, atol=1e-12)
    r = trace_imports(CYCLE, reexport_share={"B": 0.75})
    assert content(r, "A", "C") == pytest.approx(36 / 7)
    assert content(r, "B", "C") == pytest.approx(20 / 7)
    assert "re-export shares given for 1 node(s)" in r.attrs["strategy"]
    # every origin's goods are all accounted for: consumption + what C receives = P
    consumed = model.supply - model.exports
    np.testing.assert_allclose(Z @ (consumed / model.supply), model.production, rtol=1e-12)
