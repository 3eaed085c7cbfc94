"""Event study: pre/post screening and the difference-in-differences on planted effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.dataset import Dataset
from analytics.errors import AnalysisError
from analytics.eventstudy import DEFAULT_FE, diff_in_diff, event_year, prepost_growth


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


# ------------------------------------------------------ hand-built panel, known effect
EXPORTERS = ["JPN", "USA"]
IMPORTERS = ["KGZ", "ARM", "FRA", "DEU"]  # two candidate hubs, two clean controls
CHIP = ["848620", "848630"]  # the controlled category
OTHER = ["010110", "020120"]  # control products, in no category
YEARS = list(range(2019, 2025))  # event 2022: three years on each side


def _country(iso3, *, hub=False, sanctioned=None):
    return {"iso3": iso3, "hub": hub, "sanctioned": sanctioned, "un_arms_embargo": False,
            "jp_group_a": iso3 in ("USA", "FRA", "DEU"), "eaeu": iso3 in ("KGZ", "ARM", "RUS")}


def panel(effect, *, noise=0.01, seed=0):
    """log X = 10 + flow FE + exporter-product-year FE + importer-year FE + noise, plus
    ``effect`` for KGZ x CHIP x years >= 2022. A JPN -> RUS flow (a destination of
    concern) must stay out of the sample."""
    rng = np.random.default_rng(seed)
    fe_flow = {(e, i, p): rng.uniform(-1, 1) for e in EXPORTERS for i in IMPORTERS
               for p in CHIP + OTHER}
    fe_ept = {(e, p, t): rng.uniform(-0.5, 0.5) for e in EXPORTERS for p in CHIP + OTHER
              for t in YEARS}
    fe_it = {(i, t): rng.uniform(-0.5, 0.5) for i in IMPORTERS for t in YEARS}
    rows = []
    for (e, i, p), a in fe_flow.items():
        for t in YEARS:
            treated = i == "KGZ" and p in CHIP and t >= 2022
            logv = (10 + a + fe_ept[(e, p, t)] + fe_it[(i, t)] + effect * treated
                    + noise * rng.standard_normal())
            rows.append((t, e, i, p, float(np.exp(logv))))
    rows += [(t, "JPN", "RUS", CHIP[0], 1e5) for t in YEARS]
    flows = pd.DataFrame(rows, columns=["year", "exporter", "importer", "hs6", "value_usd"])
    countries = pd.DataFrame([_country("JPN"), _country("USA"), _country("FRA"),
                              _country("DEU"), _country("KGZ", hub=True),
                              _country("ARM", hub=True),
                              _country("RUS", sanctioned="comprehensive")])
    categories = pd.DataFrame({"category_id": ["chip"], "direction": ["outbound"]})
    category_hs = pd.DataFrame({"category_id": "chip", "hs6": CHIP, "hs_version": "HS2017"})
    events = pd.DataFrame({"event_id": ["ban"], "date": [pd.Timestamp("2022-02-24")],
                           "kind": ["sanctions"], "destinations": ["RUS"]})
    return Dataset(flows=flows, countries=countries, categories=categories,
                   category_hs=category_hs, events=events, hs_version="HS2017")


N_OBS = len(EXPORTERS) * len(IMPORTERS) * len(CHIP + OTHER) * len(YEARS)  # 192
N_TREATED = len(EXPORTERS) * len(CHIP) * 3  # KGZ x 2 codes x 2022-2024


@pytest.fixture(scope="module")
def effect_half():
    return diff_in_diff(panel(0.5), coalition=["JPN", "USA"], categories=["chip"])


def test_did_tiny_panel_recovers_half(effect_half):
    r = effect_half.set_index("hub")
    assert set(r.index) == {"KGZ", "ARM"}  # CHN and HKG (default hubs) have no flows
    kgz = r.loc["KGZ"]
    assert kgz["estimate"] == pytest.approx(0.5, abs=0.02)
    assert kgz["ci_low"] < 0.5 < kgz["ci_high"]
    assert kgz["ci_high"] - kgz["ci_low"] < 0.05  # noise sd 0.01: a tight interval
    assert kgz["p_value"] < 1e-6
    assert kgz["multiplier"] == pytest.approx(np.exp(kgz["estimate"]))
    assert kgz["n_obs"] == N_OBS and kgz["n_treated"] == N_TREATED
    # the untreated hub: no effect, and its interval covers 0
    arm = r.loc["ARM"]
    assert abs(arm["estimate"]) < 0.02 and arm["ci_low"] < 0.0 < arm["ci_high"]


def test_did_tiny_panel_defaults_and_tidy_output(effect_half):
    assert list(effect_half.columns) == ["hub", "category_id", "estimate", "std_error",
                                         "ci_low", "ci_high", "p_value", "n_obs",
                                         "n_treated", "multiplier", "event_year", "fe"]
    assert effect_half["hub"].tolist() == ["KGZ", "ARM"]  # sorted by estimate
    assert (effect_half["category_id"] == "chip").all()
    assert (effect_half["event_year"] == 2022).all()  # 24 Feb 2022 from the events table
    assert (effect_half["fe"] == DEFAULT_FE).all()
    a = effect_half.attrs
    assert a["members"] == ("JPN", "USA") and a["confidence"] == pytest.approx(0.95)
    assert a["hubs"] == ("ARM", "CHN", "HKG", "KGZ")  # hub prior + CHN, HKG
    assert a["controls"] == ("DEU", "FRA")  # RUS (sanctioned) and hubs excluded


def test_did_tiny_panel_without_effect_covers_zero():
    r = diff_in_diff(panel(0.0), coalition=["JPN", "USA"], categories=["chip"],
                     hubs=["KGZ"], controls=["FRA", "DEU"], year=2022).iloc[0]
    assert r["hub"] == "KGZ"
    assert abs(r["estimate"]) < 0.02 and r["ci_low"] < 0.0 < r["ci_high"]
    assert r["p_value"] > 0.05
    assert r["n_obs"] == len(EXPORTERS) * 3 * 4 * len(YEARS)  # ARM left out of the sample


def test_did_exact_panel_and_alpha():
    # without noise the model fits exactly: the estimate is 0.5 to rounding
    exact = diff_in_diff(panel(0.5, noise=0.0), coalition=["JPN", "USA"], categories=["chip"],
                         hubs=["KGZ"], controls=["FRA", "DEU"], year=2022)
    assert exact.iloc[0]["estimate"] == pytest.approx(0.5, abs=1e-8)
    ds = panel(0.5)
    kw = dict(coalition=["JPN", "USA"], categories=["chip"], hubs=["KGZ"],
              controls=["FRA", "DEU"], year=2022)
    r95 = diff_in_diff(ds, **kw).iloc[0]
    r99 = diff_in_diff(ds, alpha=0.01, **kw).iloc[0]
    assert r99["estimate"] == pytest.approx(r95["estimate"])
    assert r99["ci_low"] < r95["ci_low"] and r95["ci_high"] < r99["ci_high"]


def test_did_skips_category_with_too_few_observations():
    # hubs KGZ only: 2 exporters x 3 importers x 4 codes x 6 years = 144 rows
    with pytest.warns(UserWarning, match="chip: only 144 observations; skipped"):
        out = diff_in_diff(panel(0.5), coalition=["JPN", "USA"], categories=["chip"],
                           hubs=["KGZ"], controls=["FRA", "DEU"], year=2022, min_obs=500)
    assert out.empty and "estimate" in out.columns


def test_did_all_singleton_sample_is_skipped_not_crashed():
    # every flow seen in one year only: each exporter x importer x product group is a
    # singleton, so the estimator would get nothing to demean (a sparse BACI-like panel;
    # the estimator's compiled demeaning aborts the process on an empty sample)
    ds = panel(0.5)
    f = ds.flows
    gid = f.groupby(["exporter", "importer", "hs6"]).ngroup()
    f = f[gid % 6 == f["year"] - 2019].reset_index(drop=True)  # one year per flow
    assert f.groupby(["exporter", "importer", "hs6"]).size().max() == 1
    with pytest.warns(UserWarning, match="chip: 0 observations outside singleton"):
        out = diff_in_diff(ds.replace(flows=f), coalition=["JPN", "USA"],
                           categories=["chip"], year=2022, min_obs=10)
    assert out.empty


def test_drop_singletons_is_iterative():
    from analytics.eventstudy import _drop_singletons

    d = pd.DataFrame({"a": ["x", "x", "y", "y"], "b": [1, 2, 2, 3], "v": 1.0})
    # b=1 and b=3 are singletons; dropping them leaves x/2 and y/2, alone in a
    assert _drop_singletons(d, "a + b").empty
    assert len(_drop_singletons(d, "a")) == 4


def _events_ds(*dates):
    ev = pd.DataFrame({"event_id": [f"e{k}" for k in range(len(dates))],
                       "date": pd.to_datetime(list(dates)), "kind": "sanctions",
                       "destinations": "RUS"})
    return Dataset(flows=None, countries=None, categories=None, category_hs=None, events=ev)


@pytest.mark.parametrize("date, year", [
    ("2023-07-01", 2023), ("2023-07-02", 2024),
    ("2024-07-01", 2024),  # leap year: 1 July is day 183 (was counted as 2025: bug fixed)
    ("2024-07-02", 2025), ("2022-12-31", 2023), ("2022-01-01", 2022),
])
def test_event_year_cutoff_is_1_july(date, year):
    assert event_year(_events_ds(date))[0] == year


def test_event_year_no_event_for_destination():
    ds = _events_ds("2022-02-24")
    with pytest.raises(AnalysisError, match="no sanctions or control event for 'IRN'"):
        event_year(ds, destination="IRN")
