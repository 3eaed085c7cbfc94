"""Case-study analytics (``analytics.casestudies``) on hand-checkable fixtures, the
reference rows the case studies rely on, and the known facts of the real extracts
(skipped with a reason when ../shared/data is absent)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import casestudies as cs
from analytics import reference

# ------------------------------------------------------------------ reference rows

#: the codes of the BACI extract that have a category, and their categories (811292 is
#: one HS6 code for gallium, germanium, indium and others)
RELEVANT = {"811292": {"gallium_germanium", "indium"}, "850511": {"rare_earth_magnets"},
            "250490": {"graphite"}, "810194": {"tungsten"}, "811010": {"antimony"},
            "280469": {"silicon"}, "280429": {"rare_gases"}, "282200": {"cobalt"},
            "283691": {"lithium"}}


def _membership(version: str = "HS2017") -> pd.DataFrame:
    return reference.map_category_hs(reference.category_hs(), version)


def test_relevant_extract_codes_map_to_their_categories():
    mem = _membership()
    got = mem[mem["hs6"].isin(cs.CRITICAL_MINERAL_HS6)].groupby("hs6")["category_id"].apply(
        set)
    assert {k: v for k, v in got.items()} == RELEVANT
    cats = reference.categories().set_index("category_id")
    assert (cats.loc[sorted(set().union(*RELEVANT.values())), "direction"] == "inbound").all()
    # tellurium, bismuth and molybdenum have no code in the extract
    for cat in ("tellurium", "bismuth", "molybdenum"):
        assert not set(mem.loc[mem["category_id"] == cat, "hs6"]) & set(
            cs.CRITICAL_MINERAL_HS6), cat
    assert len(cs.CRITICAL_MINERAL_HS6) == 30


def test_control_basis_of_the_inbound_categories():
    cats = reference.categories().set_index("category_id")
    basis = cats["control_basis"]
    assert "2023 No. 23" in basis["gallium_germanium"] and "2023-08-01" in \
        basis["gallium_germanium"]
    assert "2023 No. 39" in basis["graphite"] and "2023-12-01" in basis["graphite"]
    assert "2024 No. 33" in basis["antimony"] and "2024-09-15" in basis["antimony"]
    for cat in ("tungsten", "tellurium", "bismuth", "molybdenum", "indium"):
        assert "2025 No. 10" in basis[cat] and "2025-02-04" in basis[cat], cat
    assert "2025 No. 18" in basis["rare_earth_magnets"]
    for cat in ("silicon", "rare_gases", "cobalt", "lithium"):
        assert "supply concentration" in basis[cat]
    assert (cats["as_of"].notna() & cats["source"].notna()).all()


def test_china_export_control_events():
    ev = reference.events()
    cn = ev[ev["jurisdiction"] == "CN"].set_index("event_id")
    expect = {
        "cn_gallium_germanium_2023": ("2023-08-01", "gallium_germanium", "all"),
        "cn_graphite_2023": ("2023-12-01", "graphite", "all"),
        "cn_antimony_2024": ("2024-09-15", "antimony", "all"),
        "cn_us_ban_ga_ge_sb_2024": ("2024-12-03", "gallium_germanium;antimony;graphite",
                                    "USA"),
        "cn_tungsten_tellurium_2025": ("2025-02-04",
                                       "tungsten;tellurium;bismuth;molybdenum;indium", "all"),
        "cn_rare_earths_2025": ("2025-04-04", "rare_earth_magnets", "all"),
    }
    for eid, (date, cats, dest) in expect.items():
        row = cn.loc[eid]
        assert str(row["date"])[:10] == date and row["categories"] == cats, eid
        assert row["destinations"] == dest and row["kind"] == "inbound_control"
    assert "indium" in cn.loc["cn_tungsten_tellurium_2025", "measure"]
    assert "bismuth" in cn.loc["cn_tungsten_tellurium_2025", "measure"]


def test_taiwan_events():
    ev = reference.events().set_index("event_id")
    tw = ev[ev["jurisdiction"] == "TW"]
    assert list(tw.index) == ["tw_russia_high_tech_list_2022",
                              "tw_russia_belarus_52_items_2023", "tw_russia_belarus_chpl_2024"]
    assert str(tw.loc["tw_russia_high_tech_list_2022", "date"])[:10] == "2022-04-06"
    assert "chpl_tier1" in tw.loc["tw_russia_high_tech_list_2022", "categories"]
    assert tw["source"].str.contains("Ministry of Economic Affairs").all()


def test_controlled_hs6_from_the_reference_tables():
    got = cs.controlled_hs6(_membership(), reference.events(), hs6=cs.CRITICAL_MINERAL_HS6)
    # 811292 twice: gallium/germanium (2023) and indium (2025), one HS6 code
    assert list(zip(got["hs6"], got["category_id"], strict=True)) == [
        ("811292", "gallium_germanium"), ("250490", "graphite"), ("811010", "antimony"),
        ("810194", "tungsten"), ("811292", "indium"), ("850511", "rare_earth_magnets")]
    first = dict(zip(got["category_id"], got["first_control"].dt.strftime("%Y-%m-%d"),
                     strict=True))
    assert first == {"gallium_germanium": "2023-08-01", "graphite": "2023-12-01",
                     "antimony": "2024-09-15", "tungsten": "2025-02-04",
                     "indium": "2025-02-04", "rare_earth_magnets": "2025-04-04"}
    assert "cn_us_ban_ga_ge_sb_2024" in got.set_index("hs6").loc["811010", "events"]
    assert got.set_index("category_id").loc["indium", "events"] == "cn_tungsten_tellurium_2025"
    none = cs.controlled_hs6(_membership(), reference.events(), jurisdiction="XX")
    assert none.empty


# ------------------------------------------------------------------ concentration


def flows(rows, year=2022, hs6="850511"):
    f = pd.DataFrame(rows, columns=["exporter", "importer", "value_usd"])
    return f.assign(year=year, hs6=hs6)[["year", "exporter", "importer", "hs6", "value_usd"]]


def test_hs6_concentration_by_hand():
    # CHN makes 8 and ships 4 of it through VNM (a pure hub): exporters CHN 6, VNM 4
    f = pd.concat([
        flows([("CHN", "JPN", 4.0), ("CHN", "VNM", 4.0), ("VNM", "USA", 4.0),
               ("JPN", "USA", 2.0)]),
        flows([("CHN", "JPN", 1.0)], hs6="811292"),
    ])
    mem = pd.DataFrame({"category_id": ["magnets"], "hs6": ["850511"]})
    c = cs.hs6_concentration(f, membership=mem).set_index("hs6")
    m = c.loc["850511"]
    assert m["world_trade"] == 14.0 and m["n_exporters"] == 3
    assert m["top_exporter"] == "CHN" and m["cr1"] == pytest.approx(8 / 14)
    assert m["hhi"] == pytest.approx((8 / 14) ** 2 + (4 / 14) ** 2 + (2 / 14) ** 2)
    # traced: VNM's shipment is Chinese; JPN imports 4 and exports 2 (production 0), so
    # its 2 to the USA are Chinese too: CHN is the origin of everything
    assert m["top_origin"] == "CHN" and m["top_origin_share"] == pytest.approx(1.0)
    assert m["category_id"] == "magnets" and pd.isna(c.loc["811292", "category_id"])
    assert c.loc["811292", "hhi"] == 1.0


def test_trade_positions_by_hand():
    # CHN makes 8 (ships 4 to JPN, 4 to VNM); VNM re-ships 4 to the USA; JPN imports 4 and
    # ships 2 (a net importer: no production under net exports)
    f = flows([("CHN", "JPN", 4.0), ("CHN", "VNM", 4.0), ("VNM", "USA", 4.0),
               ("JPN", "USA", 2.0)])
    pos = cs.trade_positions(f).set_index("country")
    assert list(pos.index) == ["CHN", "JPN", "USA", "VNM"]
    assert pos.loc["CHN", "exports"] == 8.0 and pos.loc["CHN", "imports"] == 0.0
    assert pos.loc["JPN", "net_exports"] == -2.0 and pos.loc["VNM", "net_exports"] == 0.0
    assert pos.loc["CHN", "export_share"] == pytest.approx(8 / 14)
    assert pos.loc["JPN", "export_share"] == pytest.approx(2 / 14)
    assert pos.loc["CHN", "origin_share"] == pytest.approx(1.0)
    assert pos.loc["JPN", "origin_share"] == 0.0 and pos.loc["VNM", "production"] == 0.0
    only = cs.trade_positions(f, countries=["JPN", "XXX"])
    assert only["country"].tolist() == ["JPN"]
    assert cs.trade_positions(f, countries=["XXX"]).empty


def test_shipped_vs_traced_by_hand():
    f = pd.concat([
        flows([("CHN", "JPN", 4.0), ("CHN", "VNM", 4.0), ("VNM", "USA", 4.0),
               ("JPN", "USA", 2.0)]),
        # bauxite: GIN mines, CHN imports 9 and ships 3 (a net importer)
        flows([("GIN", "CHN", 9.0), ("CHN", "KOR", 3.0), ("AUS", "KOR", 3.0)], hs6="260600"),
    ])
    got = cs.shipped_vs_traced(cs.trade_positions(f), "CHN").set_index("hs6")
    assert list(got.index) == ["850511", "260600"]  # largest difference first
    assert got.loc["850511", "difference_pp"] == pytest.approx(100 * (1 - 8 / 14))
    assert got.loc["850511", "position"] == "net exporter"
    assert got.loc["260600", "export_share"] == pytest.approx(0.2)
    assert got.loc["260600", "origin_share"] == 0.0
    assert got.loc["260600", "position"] == "net importer"
    assert cs.shipped_vs_traced(cs.trade_positions(f), "CHN", min_pp=50).index.size == 0
    assert cs.shipped_vs_traced(cs.trade_positions(f), "AUS")["hs6"].tolist() == ["260600"]


def test_category_coverage_by_hand():
    mem = pd.DataFrame({"category_id": ["ga", "ga", "in", "in", "w", "chpl"],
                        "hs6": ["811292", "282560", "811292", "811299", "810194", "85"]})
    cats = pd.DataFrame({"category_id": ["ga", "in", "w", "chpl"],
                         "direction": ["inbound", "inbound", "inbound", "outbound"],
                         "control_basis": ["No. 23", "No. 10", "No. 10", "CHPL"]})
    got = cs.category_coverage(mem, cats, ["811292", "850511", "85"]).set_index("category_id")
    assert list(got.index) == ["ga", "in"]  # prefixes (85) do not count
    assert got.loc["ga", "codes_absent"] == "282560" and got.loc["in", "codes_absent"] == "811299"
    assert got.loc["in", "control_basis"] == "No. 10"
    assert got.loc["ga", "direction"] == "inbound"


def test_dependency_flags_persistence_by_calendar_year():
    f = pd.concat([flows([("CHN", "JPN", 5.0)], year=y) for y in (2022, 2024)])
    d = cs.hs6_dependency_flags(f).set_index("year")
    assert d["dependent"].tolist() == [True, True]
    assert d["persistent"].tolist() == [False, True]  # dependent in 2022 and 2024
    assert d["years_observed"].tolist() == [1, 2]
    # 2020 and 2024 are not in one 3-year window
    g = pd.concat([flows([("CHN", "JPN", 5.0)], year=y) for y in (2020, 2024)])
    assert cs.hs6_dependency_flags(g)["persistent"].tolist() == [False, False]
    # not dependent when the importer exports more than it imports
    h = flows([("CHN", "JPN", 5.0), ("JPN", "USA", 9.0)])
    r = cs.hs6_dependency_flags(h).set_index("importer")
    assert not r.loc["JPN", "dependent"] and r.loc["USA", "dependent"]


def test_import_dependence_shipped_and_traced():
    f = flows([("CHN", "KOR", 4.0), ("KOR", "JPN", 4.0), ("USA", "JPN", 4.0),
               ("CHN", "JPN", 2.0)])
    d = cs.import_dependence_on(f, "JPN", "CHN").iloc[0]
    assert d["imports"] == 10.0 and d["from_supplier"] == 2.0
    assert d["share_shipped"] == pytest.approx(0.2)
    assert d["share_traced"] == pytest.approx(0.6)  # 2 direct + 4 via Korea
    assert cs.import_dependence_on(f, "DEU", "CHN").empty
    assert cs.import_dependence_on(f, "JPN", "BRA")["share_traced"].tolist() == [0.0]


def test_source_shares_and_change():
    f = pd.concat([flows([("CHN", "RUS", 3.0), ("KAZ", "RUS", 1.0)], year=2022),
                   flows([("CHN", "RUS", 2.0), ("TUR", "RUS", 2.0)], year=2024),
                   flows([("CHN", "RUS", 1.0)], year=2024, hs6="811292")])
    s = cs.source_shares(f, "RUS")
    ch = cs.source_change(s, 2022, 2024).set_index("exporter")
    assert ch.loc["CHN", "share_2022"] == pytest.approx(0.75)
    assert ch.loc["CHN", "share_2024"] == pytest.approx(0.6)
    assert ch.loc["CHN", "change_pp"] == pytest.approx(-15.0)
    assert ch.loc["KAZ", "value_2024"] == 0.0 and ch.loc["TUR", "value_change"] == np.inf
    by = cs.source_change(cs.source_shares(f, "RUS", by_hs6=True), 2022, 2024)
    assert set(by["hs6"]) == {"850511", "811292"}
    assert cs.source_change(s, 2022, 2024, top=1)["exporter"].tolist() == ["CHN"]
    with pytest.raises(Exception, match="no imports of 'XXX'"):
        cs.source_shares(f, "XXX")


def test_dropped_sources():
    f = pd.concat([flows([("CHN", "RUS", 3.0), ("KAZ", "RUS", 1.0), ("BEL", "RUS", 2.0),
                          ("ZAF", "RUS", 1.0)], year=2022),
                   flows([("CHN", "RUS", 2.0), ("KAZ", "RUS", 0.05), ("ZAF", "RUS", 0.06),
                          ("TUR", "RUS", 1.0)], year=2024)])
    ch = cs.source_change(cs.source_shares(f, "RUS"), 2022, 2024)
    got = cs.dropped_sources(ch, 2022, 2024)
    assert got["exporter"].tolist() == ["BEL", "KAZ"]  # ZAF kept 6 %, TUR is new
    assert got["value_2022"].tolist() == [2.0, 1.0]
    assert got["share_2022"].sum() == pytest.approx(3 / 7)
    assert cs.dropped_sources(ch, 2022, 2024, max_retained=0.1)["exporter"].tolist() == [
        "BEL", "KAZ", "ZAF"]
    by = cs.source_change(cs.source_shares(f, "RUS", by_hs6=True), 2022, 2024)
    assert "hs6" in cs.dropped_sources(by, 2022, 2024).columns
    with pytest.raises(Exception, match="value_2023"):
        cs.dropped_sources(ch, 2023, 2024)


def test_mirror_gap_report_by_hand():
    t = pd.DataFrame({
        "year": [2022] * 4, "exporter": ["JPN", "RUS", "CHN", "CHN"],
        "importer": ["KOR", "CHN", "RUS", "KOR"], "hs6": ["850511"] * 4,
        "exporter_reported": [100.0, np.nan, 30.0, 10.0],
        "importer_reported": [110.0, 50.0, np.nan, 4.0]})
    t["both"] = t["exporter_reported"].notna() & t["importer_reported"].notna()
    t["gap"] = t["importer_reported"] - t["exporter_reported"]
    r = cs.mirror_gap_report(t)
    by = r.by_year.set_index("coverage")
    assert by.loc["both", "flows"] == 2 and by.loc["importer_only", "importer_reported"] == 50
    assert r.pair_gaps[["exporter", "importer", "gap"]].values.tolist() == [
        ["JPN", "KOR", 10.0], ["CHN", "KOR", -6.0]]
    assert r.one_sided["value"].tolist() == [50.0, 30.0]
    assert r.one_sided["reported_by"].tolist() == ["importer", "exporter"]
    rus = r.partner_only.set_index("country").loc["RUS"]
    assert list(r.partner_only["country"]) == ["RUS"]
    assert rus["exports_reported_by_partners"] == 50.0
    assert rus["imports_reported_by_partners"] == 30.0


# ------------------------------------------------------------------ one exporter


def star():
    rows = []
    for y, (rus, tur, hkg) in {2019: (8, 2, 10), 2020: (8, 2, 10), 2021: (8, 2, 10),
                               2022: (2, 4, 10), 2023: (1, 4, 10)}.items():
        rows += [(y, "TWN", "RUS", "854231", float(rus)), (y, "TWN", "TUR", "854231",
                                                           float(tur)),
                 (y, "TWN", "HKG", "854231", float(hkg))]
    return pd.DataFrame(rows, columns=["year", "exporter", "importer", "hs6", "value_usd"])


def test_star_summary_and_series():
    s = cs.star_summary(star(), "TWN").set_index("year")
    assert s.loc[2019, "destinations"] == 3 and s.loc[2019, "total_usd"] == 20.0
    assert s.loc[2019, "hhi"] == pytest.approx(0.4 ** 2 + 0.1 ** 2 + 0.5 ** 2)
    assert s.loc[2019, "top_destinations"] == "HKG 50.0%, RUS 40.0%, TUR 10.0%"
    ser = cs.destination_series(star(), "TWN", ["RUS", "KGZ"], years=range(2019, 2025))
    assert list(ser.columns) == ["RUS", "KGZ"] and list(ser.index) == list(range(2019, 2025))
    assert ser["RUS"].tolist() == [8.0, 8.0, 8.0, 2.0, 1.0, 0.0]
    assert (ser["KGZ"] == 0).all()
    with pytest.raises(Exception, match="no exports of 'JPN'"):
        cs.star_summary(star(), "JPN")


def test_world_export_totals_and_ranking():
    raw = pd.DataFrame({"refYear": [2022, 2022, 2022, 2022, 2022, 2021],
                        "reporterCode": [344, 490, 156, 0, 344, 490],
                        "flowCode": ["X", "X", "X", "X", "M", "X"],
                        "partnerCode": [0, 0, 0, 0, 0, 0],
                        "primaryValue": [214.0, 184.0, 155.0, 1080.0, 50.0, 156.0]})
    tot = cs.world_export_totals(raw)
    # 490 "Other Asia, nes" is Taiwan; 0 (World) is an aggregate; imports are left out
    assert set(zip(tot["year"], tot["exporter"], tot["value_usd"], strict=True)) == {
        (2022, "HKG", 214.0), (2022, "TWN", 184.0), (2022, "CHN", 155.0),
        (2021, "TWN", 156.0)}
    rank = cs.export_ranking(tot, 2022).set_index("exporter")
    assert rank["rank"].to_dict() == {"HKG": 1, "TWN": 2, "CHN": 3}
    assert rank.loc["TWN", "share"] == pytest.approx(184 / 553)
    with pytest.raises(Exception, match="no export totals in 2030"):
        cs.export_ranking(tot, 2030)


def test_policy_events_filter():
    ev = reference.events()
    got = cs.policy_events(ev, destinations=["RUS"], start="2022-01-01", end="2022-12-31")
    assert "tw_russia_high_tech_list_2022" in set(got["event_id"])
    assert "us_bis_russia_rule_2022" in set(got["event_id"])
    assert set(got["kind"]) <= {"sanctions", "outbound_control"}
    assert got["date"].is_monotonic_increasing
    tw = cs.policy_events(ev, destinations=["RUS"], jurisdictions=["TW"])
    assert len(tw) == 3


def test_prepost_destinations():
    pp = cs.prepost_destinations(star(), "TWN", ["RUS", "TUR"], 2022).set_index(
        "destination")
    assert pp.loc["RUS", "pre_mean"] == 8.0 and pp.loc["RUS", "post_mean"] == 1.5
    assert pp.loc["TUR", "growth"] == pytest.approx(1.0)
    assert pp.loc["RUS", "pre_years"] == "2019-2021"


def test_prepost_regression_recovers_a_planted_effect():
    rng = np.random.default_rng(0)
    rows = []
    years = range(2016, 2024)
    cycle = {y: 0.1 * (y - 2016) for y in years}  # the exporter's cycle (year effects)
    for k in range(20):
        level = rng.normal(10, 1)
        for y in years:
            rows.append((y, f"C{k:02d}", level + cycle[y] + rng.normal(0, 0.01)))
    for y in years:
        rows.append((y, "RUS", 12 + cycle[y] + (np.log(0.25) if y >= 2022 else 0.0)))
        rows.append((y, "TUR", 11 + cycle[y]))
    f = pd.DataFrame(rows, columns=["year", "importer", "log_v"])
    f = f.assign(exporter="TWN", hs6="854231", value_usd=np.exp(f["log_v"]))
    reg = cs.prepost_regression(f, "TWN", ["RUS", "TUR", "KGZ"], 2022).set_index(
        "destination")
    assert list(reg.index) == ["RUS", "TUR"]  # KGZ has no flows
    assert reg.attrs["not_estimated"] == {"KGZ": "no shipments in the window"}
    assert reg.loc["RUS", "beta"] == pytest.approx(np.log(0.25), abs=0.02)
    assert reg.loc["RUS", "change"] == pytest.approx(-0.75, abs=0.02)
    assert reg.loc["RUS", "ci_high"] < 0
    assert abs(reg.loc["TUR", "beta"]) < 0.02
    assert reg.loc["RUS", "pre_years"] == 6 and reg.loc["RUS", "post_years"] == 2
    assert reg.loc["RUS", "n_controls"] == 20
    with pytest.raises(Exception, match="need years before and from 2030"):
        cs.prepost_regression(f, "TWN", ["RUS"], 2030)
    # a destination that stops shipping has no post-event year: no coefficient, a reason
    gone = f[~((f["importer"] == "TUR") & (f["year"] >= 2022))]
    reg2 = cs.prepost_regression(gone, "TWN", ["RUS", "TUR"], 2022)
    assert reg2["destination"].tolist() == ["RUS"]
    assert reg2.attrs["not_estimated"] == {"TUR": "no shipments from 2022"}
    read = cs.classify_prepost(reg.reset_index()).set_index("destination")["reading"]
    assert read.to_dict() == {"RUS": "lower", "TUR": "no clear change"}


def test_classify_prepost():
    reg = pd.DataFrame({"destination": ["A", "B", "C"], "ci_low": [-2.0, 0.1, -0.1],
                        "ci_high": [-0.5, 1.0, 0.1]})
    reg.attrs["not_estimated"] = {"D": "no shipments from 2022"}
    got = cs.classify_prepost(reg)
    assert got["reading"].tolist() == ["lower", "higher", "no clear change"]
    assert got.attrs["not_estimated"] == {"D": "no shipments from 2022"}
    assert "reading" not in reg.columns  # input not modified


def test_figures():
    from analytics import figures
    from analytics.figures import fig_destination_lines, fig_hs6_concentration

    # the builders live in analytics.figures; the analytics module has no figures
    assert {"fig_hs6_concentration", "fig_destination_lines"} <= set(figures.__all__)
    assert not any(n.startswith("fig_") for n in dir(cs))
    c = cs.hs6_concentration(pd.concat([
        flows([("CHN", "JPN", 6.0), ("JPN", "USA", 2.0)], year=y) for y in (2022, 2024)]))
    fig = fig_hs6_concentration(c, labels={"850511": "magnets"})
    markers = [t for t in fig.data if t.mode == "markers"]
    assert [t.name for t in markers] == ["2022", "2024"]
    assert list(markers[0].y) == ["850511 magnets"]
    ser = cs.destination_series(star(), "TWN", ["RUS", "HKG"])
    ev = cs.policy_events(reference.events(), destinations=["RUS"], start="2022-01-01",
                          end="2022-12-31")
    fig = fig_destination_lines(ser, events=ev)
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    assert [t.name for t in lines] == ["Russia", "Hong Kong"]
    assert list(lines[0].y) == pytest.approx([8.0e-6, 8.0e-6, 8.0e-6, 2.0e-6, 1.0e-6])
    assert fig.layout.yaxis.type == "log"
    assert any("TW" in a.text for a in fig.layout.annotations)
    assert len(fig.layout.shapes) >= 1
    ja = fig_destination_lines(ser, lang="ja")
    assert [t.name for t in ja.data][:2] == ["ロシア", "香港"]
    assert fig_hs6_concentration(c.iloc[0:0]).layout.annotations[0].text == "no HS6 layers"


# ------------------------------------------------------------------ the real extracts

MAP = "exporter=i,importer=j,hs6=cmd,value_usd=value"


@pytest.fixture(scope="module")
def baci(shared_data):
    from analytics.sources.csvflows import read_flows_file

    folder = shared_data / "baci-critical-minerals-2022-2024"
    return pd.concat([read_flows_file(folder / f"baci_hs17_critical_{y}.csv", mapping=MAP,
                                      year=y) for y in (2022, 2024)], ignore_index=True)


@pytest.mark.shared_data
def test_real_magnet_concentration(baci):
    conc = cs.hs6_concentration(baci[baci["hs6"] == "850511"]).set_index("year")
    # SOURCE/DESIGN: China 61.5 % of world exports of 850511 in 2022 (BACI)
    assert conc.loc[2022, "top_exporter"] == "CHN"
    assert conc.loc[2022, "top_share"] == pytest.approx(0.615, abs=0.001)  # got 61.48 %
    assert conc.loc[2024, "top_share"] == pytest.approx(0.627, abs=0.001)  # got 62.66 %
    assert conc.loc[2022, "top_origin"] == "CHN"
    assert conc.loc[2022, "top_origin_share"] > conc.loc[2022, "top_share"]
    # Japan, Germany and the US ship magnets but import more than they export
    pos = cs.trade_positions(baci[baci["hs6"] == "850511"], countries=["CHN", "JPN", "DEU",
                                                                        "USA"])
    p22 = pos[pos["year"] == 2022].set_index("country")
    assert (p22.loc[["JPN", "DEU", "USA"], "net_exports"] < 0).all()
    assert (p22.loc[["JPN", "DEU", "USA"], "origin_share"] == 0).all()
    assert p22.loc["CHN", "export_share"] == pytest.approx(0.615, abs=0.001)


@pytest.mark.shared_data
def test_real_russia_sources(baci):
    s = cs.source_shares(baci, "RUS")
    ch = cs.source_change(s, 2022, 2024).set_index("exporter")
    # DESIGN: Russia's critical-mineral imports from China 37 % (2022) -> 58 % (2024);
    # over the 30 codes of the extract we get 36.9 % -> 58.0 %
    assert ch.loc["CHN", "share_2022"] == pytest.approx(0.369, abs=0.001)
    assert ch.loc["CHN", "share_2024"] == pytest.approx(0.580, abs=0.001)
    # Kazakhstan is next after China in both years; Turkey fourth in 2022 (after
    # Belgium, which drops out) and third in 2024
    assert s[s["year"] == 2022].head(4)["exporter"].tolist() == ["CHN", "KAZ", "BEL", "TUR"]
    assert s[s["year"] == 2024].head(3)["exporter"].tolist() == ["CHN", "KAZ", "TUR"]
    assert ch.loc["KAZ", "value_2022"] / 1e6 == pytest.approx(89.3, abs=0.05)
    assert ch.loc["TUR", "value_2024"] / 1e6 == pytest.approx(37.2, abs=0.05)
    assert ch.loc["ARE", "value_2024"] == 0.0  # the UAE drops out
    gone = cs.dropped_sources(ch.reset_index(), 2022, 2024)
    assert gone["exporter"].head(5).tolist() == ["BEL", "BOL", "ARE", "UZB", "ZAF"]
    assert "CHN" not in set(gone["exporter"]) and "KAZ" not in set(gone["exporter"])


@pytest.mark.shared_data
def test_real_japan_dependence_and_flags(baci):
    dep = cs.import_dependence_on(baci, "JPN", "CHN").set_index(["year", "hs6"])
    assert dep.loc[(2024, "810194"), "share_shipped"] > 0.99  # tungsten
    assert dep.loc[(2022, "850511"), "share_traced"] > dep.loc[(2022, "850511"),
                                                               "share_shipped"]
    flags = cs.hs6_dependency_flags(baci)
    assert not flags.loc[flags["year"] == 2022, "persistent"].any()
    jp = flags[(flags["importer"] == "JPN") & (flags["year"] == 2024)].set_index("hs6")
    assert jp.loc["810194", "persistent"] and jp.loc["250490", "persistent"]


@pytest.mark.shared_data
def test_real_mirror_gaps(shared_data):
    from analytics.sources.comtrade import mirror_statistics, read_comtrade

    folder = shared_data / "baci-critical-minerals-2022-2024"
    reports = read_comtrade(sorted(folder.glob("comtrade_raw_critical_*.csv.gz")))
    assert reports.notes["exact_duplicate"] == 180_176
    assert "RUS" not in set(reports.reports["reporter"])
    stats = mirror_statistics(reports)
    rep = cs.mirror_gap_report(stats.table)
    assert rep.partner_only["country"].iloc[0] == "RUS"
    t = stats.table
    assert t.loc[t["exporter"] == "RUS", "exporter_reported"].isna().all()
    assert t.loc[t["importer"] == "RUS", "importer_reported"].isna().all()
    assert set(rep.by_year["year"]) == {2022, 2024}
    assert (rep.pair_gaps["gap"].abs().diff().dropna() <= 0).all()


@pytest.mark.shared_data
def test_real_taiwan_prepost(shared_data):
    from analytics.sources.csvflows import read_flows_file

    path = shared_data / "taiwan-ic-exports-8542" / \
        "taiwan_exports_8542_by_destination_2013_2025.csv"
    with pytest.warns(UserWarning, match="dropped 39"):
        f = read_flows_file(path, mapping="exporter=reporter_iso3,importer=partner_iso3",
                            sum_duplicates=True, lenient=True)
    window = range(2017, 2025)
    pp = cs.prepost_destinations(f, "TWN", ["RUS", "TUR", "HKG"], 2022,
                                 years=window).set_index("destination")
    assert pp.loc["RUS", "growth"] == pytest.approx(-0.81, abs=0.01)
    assert pp.loc["TUR", "growth"] > 0
    reg = cs.prepost_regression(f, "TWN", ["RUS", "TUR", "HKG", "ARM"], 2022,
                                years=window).set_index("destination")
    assert reg.attrs["not_estimated"] == {"ARM": "no shipments from 2022"}
    assert reg.loc["RUS", "ci_high"] < 0 and reg.loc["RUS", "change"] < -0.8
    assert reg.loc["HKG", "ci_low"] < 0 < reg.loc["HKG", "ci_high"]
    s = cs.star_summary(f, "TWN").set_index("year")
    assert s.loc[2022, "total_usd"] / 1e9 == pytest.approx(184.1, abs=0.05)
    assert f["importer"].nunique() == 198
