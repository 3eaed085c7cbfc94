"""Event study: pre/post screening and the difference-in-differences on planted effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.errors import AnalysisError
from analytics.eventstudy import diff_in_diff, event_year, prepost_growth


def test_event_year_from_events_table(demo_world):
    year, row = event_year(demo_world.dataset)
    assert year == 2022
    assert str(row["date"])[:4] == "2022"
    y2, _ = event_year(demo_world.dataset, "jp_sme_23_items_2023")
    assert y2 == 2024  # 23 July 2023: the first full year after it is 2024
    y3, _ = event_year(demo_world.dataset, "jp_russia_belarus_export_ban_2022")
    assert y3 == 2022
    with pytest.raises(AnalysisError, match="unknown event"):
        event_year(demo_world.dataset, "no_such_event")


def test_prepost_growth_by_hand():
    cf = pd.DataFrame({
        "year": [2019, 2020, 2021, 2022, 2023] * 2,
        "exporter": ["JPN"] * 5 + ["USA"] * 5,
        "importer": "KGZ", "category_id": "c",
        "value_usd": [10.0, 12.0, 8.0, 40.0, 50.0, 0.0, 0.0, 0.0, 5.0, 5.0]})
    g = prepost_growth(cf, coalition="jp_us_nl", hubs=["KGZ"], event_year=2022).iloc[0]
    assert g["pre_mean"] == pytest.approx(10.0)
    assert g["post_mean"] == pytest.approx(50.0)
    assert g["growth"] == pytest.approx(4.0)
    assert g["z_score"] == pytest.approx((50.0 - 10.0) / 2.0)
    assert g["pre_years"] == "2019-2021"


@pytest.fixture(scope="module")
def did(demo_world):
    cats = ["chpl_tier1", "cnc_machine_tools", "bearings", "chpl_tier3a", "telecom_equipment"]
    return diff_in_diff(demo_world.dataset, coalition=list(demo_world.truth.sanctioning),
                        categories=cats)


def _with_truth(did, truth):
    r = truth.routes[truth.routes["destination"] == "RUS"]
    a = truth.ambiguous_routes[truth.ambiguous_routes["destination"] == "RUS"]
    m = did.merge(r[["hub", "category_id", "magnitude", "planted_share"]],
                  on=["hub", "category_id"], how="left")
    amb = set(zip(a["hub"], a["category_id"], strict=True))
    m["ambiguous"] = [(h, c) in amb for h, c in zip(m["hub"], m["category_id"], strict=True)]
    m["truth"] = np.log(m["magnitude"].fillna(1.0))
    m["covered"] = (m["ci_low"] <= m["truth"]) & (m["truth"] <= m["ci_high"])
    return m


def test_did_recovers_planted_effects_within_intervals(did, demo_world):
    m = _with_truth(did, demo_world.truth)
    planted = m[m["planted_share"] == 1.0]
    assert len(planted) >= 10
    assert planted["covered"].mean() >= 0.75, planted[
        ["hub", "category_id", "estimate", "ci_low", "ci_high", "truth"]]
    assert (planted["estimate"] - planted["truth"]).abs().mean() < 0.05
    # large planted surges are significant
    big = planted[planted["truth"] > 0.4]
    assert (big["p_value"] < 0.01).all()


def test_did_unplanted_effects_near_zero(did, demo_world):
    m = _with_truth(did, demo_world.truth)
    null = m[m["planted_share"].isna() & ~m["ambiguous"]]
    assert len(null) >= 20
    assert null["covered"].mean() >= 0.85
    assert null["estimate"].abs().max() < 0.2


def test_did_output_is_tidy(did):
    assert {"hub", "category_id", "estimate", "std_error", "ci_low", "ci_high", "p_value",
            "multiplier", "n_obs", "event_year"} <= set(did.columns)
    assert (did["ci_low"] <= did["estimate"]).all() and (did["estimate"] <= did["ci_high"]).all()
    assert np.allclose(did["multiplier"], np.exp(did["estimate"]))
    assert (did["event_year"] == 2022).all()


def test_did_needs_pre_and_post(demo_world):
    with pytest.raises(AnalysisError):
        diff_in_diff(demo_world.dataset, coalition="group_a", categories=["chpl_tier1"],
                     year=2030)
