"""Risk score: components, config, explanations, sensitivity, and the planted truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import risk
from analytics.errors import AnalysisError, ConfigError
from analytics.network import category_flows


@pytest.fixture(scope="module")
def scored(demo_world):
    return risk.score_risk(demo_world.dataset, year=2023,
                           coalition=list(demo_world.truth.sanctioning))


def test_every_component_column_present_and_bounded(scored):
    for c in risk.COMPONENTS:
        assert c in scored.columns
        assert scored[c].between(0, 1).all(), c
    assert scored["risk"].between(0, 100).all()
    assert list(scored["rank"]) == list(range(1, len(scored) + 1))
    assert scored["risk"].is_monotonic_decreasing
    assert not scored.duplicated(["year", "category_id", "destination"]).any()


def test_risk_is_the_weighted_mean_of_components(scored):
    cfg = risk.load_config()
    w = np.array([cfg["weights"][k] for k in risk.COMPONENTS])
    expect = 100 * scored[list(risk.COMPONENTS)].to_numpy() @ w / w.sum()
    np.testing.assert_allclose(scored["risk"], expect)


def test_planted_conduits_rank_above_clean_destinations(scored, demo_world):
    clean = ["FRA", "AUS", "BRA", "ZAF", "MEX", "CHL", "NZL", "EGY", "IND", "SAU", "IDN"]
    truth = demo_world.truth.routes.query("destination == 'RUS' and planted_share == 1.0")
    checked = 0
    for cat, grp in truth.groupby("category_id"):
        sub = scored[scored["category_id"] == cat].set_index("destination")["risk"]
        clean_max = sub.reindex(clean).max()
        for hub in set(grp["hub"]) - {"CHN"}:
            assert sub[hub] > clean_max, (cat, hub, sub[hub], clean_max)
            checked += 1
    assert checked >= 15


def test_sanctioned_destination_scores_concern_one(scored):
    rus = scored[scored["destination"] == "RUS"]
    assert (rus["concern"] == 1.0).all()
    assert (scored.loc[scored["destination"] == "FRA", "concern"] == 0.0).all()


def test_explanations_name_the_drivers(scored):
    top = scored.iloc[0]
    assert top["explanation"].startswith(f"Risk {top['risk']:.0f}/100")
    assert all(isinstance(e, str) and len(e) > 20 for e in scored["explanation"])
    rus = scored[scored["destination"] == "RUS"].iloc[0]
    assert "Russia" in rus["explanation"] or "via hubs" in rus["explanation"]


def test_destination_concern_rules():
    c = pd.DataFrame({
        "iso3": ["RUS", "AFG", "KGZ", "CHN", "JPN", "SGP", "FRA"],
        "wassenaar": [1, 0, 0, 0, 1, 0, 1], "nsg": [1, 0, 0, 1, 1, 0, 1],
        "australia_group": [0, 0, 0, 0, 1, 0, 1], "mtcr": [1, 0, 0, 0, 1, 0, 1],
        "eaeu": [1, 0, 1, 0, 0, 0, 0], "un_arms_embargo": [0, 1, 0, 0, 0, 0, 0],
        "sanctioned": ["broad", "", "", "", "", "", ""],
        "jp_group_a": [0, 0, 0, 0, 0, 0, 1]})
    s = risk.destination_concern(c)
    assert s["RUS"] == 1.0
    assert s["AFG"] == 0.8
    assert s["KGZ"] == 0.5
    assert s["CHN"] == pytest.approx(3 * 0.075)
    assert s["JPN"] == 0.0  # in all four regimes
    assert s["SGP"] == 0.3  # in none
    assert s["FRA"] == 0.0  # Group A


def test_config_from_user_file_and_errors(tmp_path, demo_world):
    p = tmp_path / "risk.toml"
    p.write_text("[weights]\nsurge = 0\nforward_exposure = 5\n")
    cfg = risk.load_config(p)
    assert cfg["weights"]["surge"] == 0 and cfg["weights"]["concern"] == 1.5  # merged
    r = risk.score_risk(demo_world.dataset, year=2023, config=p,
                        categories=["chpl_tier1"])
    assert r.attrs["config"] == str(p)
    bad = tmp_path / "bad.toml"
    bad.write_text("[weights]\nmoon_phase = 1\n")
    with pytest.raises(ConfigError, match="moon_phase"):
        risk.load_config(bad)
    bad.write_text("[weights]\nsurge = -1\n")
    with pytest.raises(ConfigError, match="non-negative"):
        risk.load_config(bad)
    bad.write_text("[weights\n")
    with pytest.raises(ConfigError, match="TOML"):
        risk.load_config(bad)
    with pytest.raises(ConfigError, match="not found"):
        risk.load_config(tmp_path / "missing.toml")


def test_unknown_year(demo_world):
    with pytest.raises(AnalysisError, match="1999"):
        risk.score_risk(demo_world.dataset, year=1999)


def test_sensitivity_rank_intervals(scored):
    s = risk.sensitivity(scored, samples=100)
    inside = (s["rank_low"] <= s["rank"]) & (s["rank"] <= s["rank_high"])
    assert inside.mean() > 0.9
    assert (s["rank_low"] <= s["rank_high"]).all()
    assert (s["risk_low"] <= s["risk_high"]).all()
    assert s["robust"].dtype == bool
    # a very concentrated Dirichlet reproduces the base ranking
    tight = risk.sensitivity(scored, samples=30, concentration=1e6)
    assert (tight["risk_high"] - tight["risk_low"]).max() < 0.5
    # (rows with near-identical scores may still swap places, but not move far)
    assert (tight["rank_high"] - tight["rank_low"]).median() <= 1


def test_sensitivity_by_hand():
    df = pd.DataFrame({k: [1.0, 0.5, 0.0] for k in risk.COMPONENTS})
    df["risk"], df["rank"] = [100.0, 50.0, 0.0], [1, 2, 3]
    s = risk.sensitivity(df, samples=50)
    assert s[["rank_low", "rank_high"]].values.tolist() == [[1, 1], [2, 2], [3, 3]]


def test_reuses_category_flows(demo_world):
    cf = category_flows(demo_world.dataset, categories=["bearings"])
    r = risk.score_risk(demo_world.dataset, year=2023, cflows=cf)
    assert set(r["category_id"]) == {"bearings"}


# ------------------------------------------------------------------ a tiny world by hand
def _tiny(demo_world, entities=None):
    """Coalition JPN; hubs TUR and KAZ pass JPN goods to RUS after the event (2022).

    2020 (pre): JPN->TUR 4, JPN->KAZ 2, JPN->RUS 6, JPN->FRA 5, KOR->FRA 5  (USD m)
    2023:       JPN->TUR 8, JPN->KAZ 10, TUR->RUS 6, KAZ->RUS 1, JPN->FRA 5, KOR->FRA 5
    """
    m = 1e6
    rows = [(2020, "JPN", "TUR", 4), (2020, "JPN", "KAZ", 2), (2020, "JPN", "RUS", 6),
            (2020, "JPN", "FRA", 5), (2020, "KOR", "FRA", 5),
            (2023, "JPN", "TUR", 8), (2023, "JPN", "KAZ", 10), (2023, "TUR", "RUS", 6),
            (2023, "KAZ", "RUS", 1), (2023, "JPN", "FRA", 5), (2023, "KOR", "FRA", 5)]
    cf = pd.DataFrame(rows, columns=["year", "exporter", "importer", "value_usd"])
    cf["value_usd"] *= m
    cf["category_id"] = "chpl_tier1"
    ds = demo_world.dataset.replace(entities=entities)
    return ds, cf


def test_components_of_a_tiny_world_by_hand(demo_world):
    ents = pd.DataFrame({"name": ["T1", "T2", "T3"], "aliases": [None] * 3,
                         "country": ["TUR"] * 3,
                         "concern": ["missile", "nuclear, missile", "conventional weapons"],
                         "list_name": ["EUL"] * 3, "source": [None] * 3})
    ds, cf = _tiny(demo_world, ents)
    cfg = risk.load_config()
    r = risk.risk_components(ds, year=2023, coalition=["JPN"], event_year=2022,
                             concern=["RUS"], cflows=cf, config=cfg).set_index("destination")
    assert set(r.index) == {"TUR", "KAZ", "RUS", "FRA"}
    # TUR and KAZ make nothing (net importers): all they ship is JPN-made
    assert r.loc["TUR", "coalition_content"] == pytest.approx(8e6)
    assert r.loc["TUR", "to_concern"] == pytest.approx(6e6)
    assert r.loc["TUR", "forward_share"] == pytest.approx(0.75)
    assert r.loc["KAZ", "forward_share"] == pytest.approx(0.1)
    # conduit share: TUR carries 6 of the 7 JPN-made reaching RUS via hubs, KAZ 1
    assert r.loc["KAZ", "conduit_share"] == pytest.approx(1 / 7)
    # forward exposure = max(0.1 / 0.5, (1/7) / 0.25) for KAZ; TUR saturates
    assert r.loc["KAZ", "forward_exposure"] == pytest.approx(max(0.2, 4 / 7))
    assert r.loc["TUR", "forward_exposure"] == pytest.approx(1.0)
    assert r.loc["RUS", "forward_exposure"] == 0.0  # a target, not a conduit
    # RUS: all 7 of its imports are JPN-made arriving via hubs
    assert r.loc["RUS", "diversion_share"] == pytest.approx(1.0)
    assert r.loc["RUS", "diversion_exposure"] == pytest.approx(1.0)
    assert r.loc["FRA", "diversion_exposure"] == 0.0
    # leverage: FRA gets 5 of 10 from JPN
    assert r.loc["FRA", "leverage"] == pytest.approx(0.5)
    # surge: growth of JPN content against 2020; log(1 + g) / log(1 + 3)
    assert r.loc["TUR", "growth"] == pytest.approx(1.0)
    assert r.loc["TUR", "surge"] == pytest.approx(np.log(2) / np.log(4))
    assert r.loc["KAZ", "growth"] == pytest.approx(4.0)
    assert r.loc["KAZ", "surge"] == 1.0  # saturated: +400 % > +300 %
    assert r.loc["RUS", "surge"] == pytest.approx(np.log(7 / 6) / np.log(4))
    assert r.loc["FRA", "surge"] == 0.0
    # listed entities weighted by concern: 1 + 1 + 0.5 conventional weapons
    assert r.loc["TUR", "n_entities"] == 3
    assert r.loc["TUR", "entity_weight"] == pytest.approx(2.5)
    assert r.loc["TUR", "listed_entities"] == pytest.approx(np.log(3.5) / np.log(101))
    assert r.loc["TUR", "entity_concerns"] == "2 missile, 1 conventional weapons, 1 nuclear"
    assert r.loc["KAZ", "listed_entities"] == 0.0
    # concern rules on the real countries table
    assert r.loc["RUS", "concern"] == 1.0 and r.loc["FRA", "concern"] == 0.0
    assert r.loc["KAZ", "concern"] == pytest.approx(cfg["concern"]["eaeu_member"])
    sens = ds.categories.set_index("category_id").loc["chpl_tier1", "sensitivity"]
    assert (r["sensitivity"] == sens).all()

    s = risk.score_risk(ds, year=2023, coalition=["JPN"], event_year=2022, concern=["RUS"],
                        cflows=cf, config=cfg).set_index("destination")
    w = {k: cfg["weights"][k] for k in risk.COMPONENTS}
    tur = r.loc["TUR"]
    expect = 100 * sum(w[k] * tur[k] for k in risk.COMPONENTS) / sum(w.values())
    assert s.loc["TUR", "risk"] == pytest.approx(expect)
    assert s.loc["TUR", "risk"] > s.loc["FRA", "risk"]
    assert "listed entities" in s.loc["TUR", "explanation"] or \
        "passes 75%" in s.loc["TUR", "explanation"]


def test_concern_weights_from_config(tmp_path, demo_world):
    ents = pd.DataFrame({"name": ["T1", "T2"], "aliases": [None] * 2, "country": ["TUR"] * 2,
                         "concern": ["conventional weapons", "conventional weapons"],
                         "list_name": ["EUL"] * 2, "source": [None] * 2})
    ds, cf = _tiny(demo_world, ents)
    base = risk.risk_components(ds, year=2023, coalition=["JPN"], event_year=2022,
                                concern=["RUS"], cflows=cf).set_index("destination")
    assert base.loc["TUR", "entity_weight"] == pytest.approx(1.0)  # 2 x 0.5
    p = tmp_path / "risk.toml"
    p.write_text('[listed_entities.concern_weights]\n"conventional weapons" = 2.0\n')
    cfg = risk.load_config(p)
    assert cfg["listed_entities"]["saturation"] == 100  # merged from the bundled file
    heavy = risk.risk_components(ds, year=2023, coalition=["JPN"], event_year=2022,
                                 concern=["RUS"], cflows=cf, config=cfg).set_index(
        "destination")
    assert heavy.loc["TUR", "entity_weight"] == pytest.approx(4.0)
    assert heavy.loc["TUR", "listed_entities"] > base.loc["TUR", "listed_entities"]
    p.write_text('[listed_entities.concern_weights]\nmissile = -1\n')
    with pytest.raises(ConfigError, match="concern weight 'missile'"):
        risk.load_config(p)
