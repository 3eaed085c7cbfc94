"""Pre-aggregated category flows computed in DuckDB equal the pandas computation."""

import pandas as pd

from analytics import store
from analytics.network import category_flows
from analytics.precompute import category_flows_sql, precompute_store, store_category_flows


def test_sql_category_flows_equal_pandas(demo_world, tmp_path):
    path = tmp_path / "s"
    store.write_dataset(demo_world.dataset, path)
    assert store.read_derived(path, "category_flows") is None
    computed = store_category_flows(path)  # computed on the fly when missing
    precompute_store(path)
    derived = store.read_derived(path, "category_flows")
    expect = category_flows(demo_world.dataset)
    for got in (computed, derived, category_flows_sql(path)):
        pd.testing.assert_frame_equal(got.reset_index(drop=True), expect, check_exact=False,
                                      rtol=1e-9)


def test_precomputed_did_matches_live_estimates(demo_store, demo_world):
    from analytics.eventstudy import diff_in_diff

    did = store.read_derived(demo_store, "did")
    assert did is not None and set(did["coalition"]) == {"group_a"}
    live = diff_in_diff(demo_world.dataset, coalition="group_a", categories=["bearings"],
                        year=int(did["event_year"].iloc[0]))
    pre = did[did["category_id"] == "bearings"].drop(columns="coalition")
    pd.testing.assert_frame_equal(pre.reset_index(drop=True), live.reset_index(drop=True),
                                  check_exact=False, rtol=1e-9)


def test_precomputed_risk_scores_match_live_scores(demo_store, demo_world):
    from analytics.risk import score_risk

    risk = store.read_derived(demo_store, "risk_scores")
    assert set(risk["coalition"]) == {"japan", "jp_us_nl", "group_a", "wassenaar", "g7"}
    assert set(risk["year"]) == set(demo_world.dataset.years)
    live = score_risk(demo_world.dataset, year=2021, coalition="g7")
    pre = risk[(risk["coalition"] == "g7") & (risk["year"] == 2021)].drop(columns="coalition")
    pd.testing.assert_frame_equal(pre.reset_index(drop=True), live.reset_index(drop=True),
                                  check_exact=False, rtol=1e-9)
