"""Tests of analytics.sources.comtrade: layouts, cleaning rules, mirror statistics, ingest.

Fixture files are written here with the exact header lines of the real exports in
../shared/data (the API columns of the HS 8542 world file, the legacy bulk columns of the
doped-wafer file, the compact columns of the raw critical-minerals pulls) and Comtrade's
code conventions (M49 numeric codes, 0 = World, 97 = EU, 490 = Taiwan, flows X/M/RX/RM).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from analytics import store
from analytics.errors import (
    DataError,
    HSVersionError,
    SchemaViolation,
    SourceFormatError,
    UnknownCountry,
)
from analytics.sources.comtrade import (
    detect_layout,
    ingest_comtrade,
    mirror_flows,
    mirror_statistics,
    read_comtrade,
)

API_HEADER = ("refYear,reporterCode,reporterISO,reporterDesc,flowCode,partnerCode,partnerISO,"
              "classificationCode,cmdCode,cmdDesc,netWgt,fobvalue,primaryValue,isReported,"
              "isAggregate")
API_PLUS_HEADER = (
    "typeCode,freqCode,refPeriodId,refYear,refMonth,period,reporterCode,reporterISO,"
    "reporterDesc,flowCode,flowDesc,partnerCode,partnerISO,partnerDesc,partner2Code,"
    "partner2ISO,partner2Desc,classificationCode,classificationSearchCode,"
    "isOriginalClassification,cmdCode,cmdDesc,aggrLevel,isLeaf,customsCode,customsDesc,"
    "mosCode,motCode,motDesc,qtyUnitCode,qtyUnitAbbr,qty,isQtyEstimated,altQtyUnitCode,"
    "altQtyUnitAbbr,altQty,isAltQtyEstimated,netWgt,isNetWgtEstimated,grossWgt,"
    "isGrossWgtEstimated,cifvalue,fobvalue,primaryValue,legacyEstimationFlag,isReported,"
    "isAggregate")
LEGACY_HEADER = (
    "Classification,Year,Period,Period Desc.,Aggregate Level,Is Leaf Code,Trade Flow Code,"
    "Trade Flow,Reporter Code,Reporter,Reporter ISO,Partner Code,Partner,Partner ISO,"
    "2nd Partner Code,2nd Partner,2nd Partner ISO,Customs Proc. Code,Customs,"
    "Mode of Transport Code,Mode of Transport,Commodity Code,Commodity,Qty Unit Code,"
    "Qty Unit,Qty,Alt Qty Unit Code,Alt Qty Unit,Alt Qty,Netweight (kg),Gross weight (kg),"
    "Trade Value (US$),CIF Trade Value (US$),FOB Trade Value (US$),Flag")
RAW_HEADER = "year,reporter,partner,cmd,flow,value,netwgt,qty,qtyunit"
RAW_HEADER_NO_YEAR = "reporter,partner,cmd,flow,value,netwgt"

# compact layout; line numbers in the comments (the header is line 1)
RAW_ROWS = [
    "2022,392,410,848620,X,100.0,2000.0,2000.0,8",  # 2 JPN exports to KOR (FOB)
    "2022,392,410,848620,X,100.0,2000.0,2000.0,8",  # 3 exact duplicate line
    "2022,410,392,848620,M,110.0,2100.0,2100.0,8",  # 4 KOR imports from JPN: the total
    "2022,410,392,848620,M,80.0,1500.0,1500.0,8",  # 5 breakdown line without its keys
    "2022,410,392,848620,M,30.0,600.0,600.0,8",  # 6 breakdown line without its keys
    "2022,392,842,848620,X,50.0,,0.0,-1",  # 7 JPN exports to USA, no weight
    "2022,276,156,848620,M,30.0,500.0,500.0,8",  # 8 DEU imports from CHN
    "2022,392,0,848620,X,150.0,3000.0,3000.0,8",  # 9 World: a total
    "2022,392,97,848620,X,20.0,400.0,400.0,8",  # 10 EU: an aggregate
    "2022,392,490,848620,RX,5.0,1.0,1.0,8",  # 11 re-export memo item
    "2022,392,899,848620,X,4.0,1.0,1.0,8",  # 12 Areas nes: kept as X99
    "2022,156,156,848620,M,1.0,1.0,1.0,8",  # 13 China from China
    "2022,392,410,8486,X,100.0,2000.0,2000.0,8",  # 14 heading, not HS6
    "2022,392,410,10121,X,3.0,1000.0,1.0,5",  # 15 five digits: 010121
]


def write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def raw_file(tmp_path) -> Path:
    return write(tmp_path / "comtrade_raw_2022.csv", RAW_HEADER, RAW_ROWS)


def by_key(reports: pd.DataFrame) -> dict:
    return {(r.reporter, r.partner, r.flow, r.hs6): r.value_usd for r in reports.itertuples()}


# --------------------------------------------------------------------------- layouts


@pytest.mark.parametrize("header,layout", [(API_HEADER, "api"), (API_PLUS_HEADER, "api"),
                                           (LEGACY_HEADER, "legacy"), (RAW_HEADER, "raw"),
                                           (RAW_HEADER_NO_YEAR, "raw")])
def test_detect_layout_on_real_headers(header, layout):
    assert detect_layout(header.split(",")) == layout


def test_unknown_layout_is_a_clear_error(tmp_path):
    p = write(tmp_path / "x_2022.csv", "a,b,c", ["1,2,3"])
    with pytest.raises(SourceFormatError) as err:
        read_comtrade(p)
    assert err.value.row == 1 and "x_2022.csv" in str(err.value)
    assert "refYear" in str(err.value)  # the remedy lists the layouts


# --------------------------------------------------------------------------- rules


def test_compact_layout_rules_by_hand(raw_file):
    r = read_comtrade(raw_file)
    got = by_key(r.reports)
    assert got == {
        ("JPN", "KOR", "X", "848620"): 100.0,
        ("KOR", "JPN", "M", "848620"): 110.0,  # the total line, not 110 + 80 + 30
        ("JPN", "USA", "X", "848620"): 50.0,
        ("DEU", "CHN", "M", "848620"): 30.0,
        ("JPN", "X99", "X", "848620"): 4.0,  # "Areas, nes" under its pseudo ISO3
        ("JPN", "KOR", "X", "010121"): 3.0,
    }
    assert r.notes == {"exact_duplicate": 1, "breakdown_without_key": 2,
                       "aggregate_area": 2, "re_export_memo": 1, "self_trade": 1,
                       "not_hs6": 1}
    assert r.rows_read == 14
    kor = r.reports[(r.reports.reporter == "KOR")].iloc[0]
    assert kor["netwgt_kg"] == 2100.0 and kor["line"] == 4
    assert not r.problems


def test_mirror_statistics_three_pairs_by_hand():
    reports = pd.DataFrame({
        "year": [2022] * 5,
        "reporter": ["JPN", "KOR", "JPN", "DEU", "NLD"],
        "partner": ["KOR", "JPN", "USA", "CHN", "CHN"],
        "flow": ["X", "M", "X", "M", "M"],
        "hs6": ["848620"] * 5,
        "value_usd": [100.0, 110.0, 50.0, 30.0, 0.0],
        "netwgt_kg": [2000.0, 2100.0, None, 500.0, None],
    })
    stats = mirror_statistics(reports)
    t = stats.table.set_index(["exporter", "importer"])
    jk = t.loc[("JPN", "KOR")]
    assert (jk["exporter_reported"], jk["importer_reported"]) == (100.0, 110.0)
    assert jk["both"] and jk["gap"] == 10.0 and jk["ratio"] == pytest.approx(1.1)
    ju = t.loc[("JPN", "USA")]
    assert not ju["both"] and math.isnan(ju["importer_reported"]) and math.isnan(ju["gap"])
    cd = t.loc[("CHN", "DEU")]
    assert not cd["both"] and cd["importer_reported"] == 30.0
    assert math.isnan(cd["exporter_reported"]) and math.isnan(cd["ratio"])
    s = stats.summary
    assert s.loc["both", "flows"] == 1 and s.loc["exporter_only", "flows"] == 1
    assert s.loc["importer_only", "flows"] == 2 and s.loc["all", "flows"] == 4
    assert s.loc["exporter_only", "exporter_reported_usd"] == 50.0
    assert s.loc["importer_only", "importer_reported_usd"] == 30.0
    assert s.loc["both", "median_ratio"] == pytest.approx(1.1)
    assert len(stats.one_sided) == 3
    assert stats.gaps[["exporter", "importer", "gap"]].values.tolist() == \
        [["JPN", "KOR", 10.0]]

    def values(prefer):
        f = mirror_flows(stats, prefer).set_index(["exporter", "importer"])
        return f["value_usd"].to_dict(), f["quantity"].to_dict()

    v, q = values("importer")
    assert v == {("CHN", "DEU"): 30.0, ("CHN", "NLD"): 0.0, ("JPN", "KOR"): 110.0,
                 ("JPN", "USA"): 50.0}
    assert q[("JPN", "KOR")] == 2.1 and q[("CHN", "DEU")] == 0.5  # tonnes
    assert values("exporter")[0][("JPN", "KOR")] == 100.0
    assert values("max")[0][("JPN", "KOR")] == 110.0
    v, q = values("mean")
    assert v[("JPN", "KOR")] == 105.0 and q[("JPN", "KOR")] == 2.05
    with pytest.raises(DataError, match="prefer"):
        mirror_flows(stats, "median")


def test_api_layout(tmp_path):
    rows = [
        "2022,410,KOR,Rep. of Korea,X,392,JPN,H6,854231,Processors and controllers,12.5,"
        "1000.0,1000.0,true,false",
        "2022,392,JPN,Japan,M,410,KOR,H6,854231,Processors and controllers,13.0,,1100.0,"
        "true,false",
        "2022,410,KOR,Rep. of Korea,X,0,W00,H6,8542,Electronic integrated circuits,"
        "115.0,63939.0,63939.0,true,false",
        "2022,392,JPN,Japan,X,490,S19,H6,854232,Memories,1.0,500.0,500.0,true,false",
        "2022,392,JPN,Japan,X,156,CHN,H6,854239,Other,1.0,700.0,,true,false",  # fob fallback
    ]
    p = write(tmp_path / "api.csv", API_HEADER, rows)
    r = read_comtrade(p)
    assert by_key(r.reports) == {("KOR", "JPN", "X", "854231"): 1000.0,
                                 ("JPN", "KOR", "M", "854231"): 1100.0,
                                 ("JPN", "TWN", "X", "854232"): 500.0,
                                 ("JPN", "CHN", "X", "854239"): 700.0}
    assert r.notes == {"aggregate_area": 1}
    assert r.classifications == {"H6": 5} and r.files[0]["layout"] == "api"


def test_api_plus_layout_keeps_total_lines_only(tmp_path):
    cols = API_PLUS_HEADER.split(",")

    def row(partner2="0", customs="C00", mot="0", value="100.0", freq="A", flow="X"):
        d = dict.fromkeys(cols, "")
        d.update(typeCode="C", freqCode=freq, refYear="2023", period="2023",
                 reporterCode="392", reporterISO="JPN", flowCode=flow, partnerCode="643",
                 partnerISO="RUS", partner2Code=partner2, classificationCode="H6",
                 cmdCode="848620", aggrLevel="6", customsCode=customs, motCode=mot,
                 netWgt="10", primaryValue=value, isAggregate="false")
        return ",".join(d[c] for c in cols)

    p = write(tmp_path / "plus.csv", API_PLUS_HEADER, [
        row(), row(partner2="156", value="60.0"), row(customs="C01", value="30.0"),
        row(mot="1000", value="70.0")])
    r = read_comtrade(p)
    assert by_key(r.reports) == {("JPN", "RUS", "X", "848620"): 100.0}
    assert r.notes == {"breakdown_line": 3}
    monthly = write(tmp_path / "monthly.csv", API_PLUS_HEADER, [row(freq="M")])
    with pytest.raises(SourceFormatError, match="monthly"):
        read_comtrade(monthly)


def _plus_row(cols, sep, partner2="0", customs="C00", mot="0", value="100.0",
              partner="643", partner_iso="RUS", cmd="848620"):
    d = dict.fromkeys(cols, "")
    d.update(typeCode="C", freqCode="A", refPeriodId="20230101", refYear="2023",
             refMonth="52", period="2023", reporterCode="392", reporterISO="JPN",
             reporterDesc="Japan", flowCode="X", flowDesc="Export", partnerCode=partner,
             partnerISO=partner_iso, partnerDesc="Russian Federation, the",
             partner2Code=partner2, classificationCode="H6", cmdCode=cmd,
             cmdDesc="Machines and apparatus, of a kind used solely or principally for the "
                     "manufacture of semiconductor devices", aggrLevel="6",
             customsCode=customs, motCode=mot, netWgt="10", primaryValue=value,
             isAggregate="false")
    return sep.join(d[c] for c in cols)


@pytest.mark.parametrize("name", ["comtrade_plus_2023.txt", "comtrade_plus_2023.txt.gz"])
def test_tab_separated_comtrade_plus_bulk_file(tmp_path, name):
    import gzip

    cols = API_PLUS_HEADER.split(",")
    rows = [_plus_row(cols, "\t"), _plus_row(cols, "\t", partner2="156", value="60.0"),
            _plus_row(cols, "\t", partner="410", partner_iso="KOR", value="25.5"),
            _plus_row(cols, "\t", partner="0", partner_iso="W00", value="500.0")]
    text = "\t".join(cols) + "\n" + "\n".join(rows) + "\n"
    path = tmp_path / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        path.write_text(text, encoding="utf-8")
    r = read_comtrade(path)
    assert by_key(r.reports) == {("JPN", "RUS", "X", "848620"): 100.0,
                                 ("JPN", "KOR", "X", "848620"): 25.5}
    assert r.notes == {"breakdown_line": 1, "aggregate_area": 1}
    assert r.files[0]["layout"] == "api" and r.files[0]["delimiter"] == "tab"
    assert r.classifications == {"H6": 4}
    # a bad value names its line in the tab-separated file too
    bad = tmp_path / "bad_2023.txt"
    bad.write_text("\t".join(cols) + "\n" + rows[0] + "\n"
                   + _plus_row(cols, "\t", value="n/a") + "\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_comtrade(bad)
    assert (err.value.row, err.value.value) == (3, "n/a")


def test_delimiter_detection():
    from analytics.sources.comtrade import detect_delimiter

    assert detect_delimiter(API_PLUS_HEADER) == ","
    assert detect_delimiter(API_PLUS_HEADER.replace(",", "\t")) == "\t"
    assert detect_delimiter(LEGACY_HEADER.replace(",", ";")) == ";"
    assert detect_delimiter('"Trade Value (US$), total";Year;Reporter Code') == ";"
    assert detect_delimiter("year") == ","


def test_semicolon_separated_export(tmp_path, raw_file):
    rows = [r.replace(",", ";") for r in RAW_ROWS]
    p = write(tmp_path / "comtrade_semicolon_2022.csv", RAW_HEADER.replace(",", ";"), rows)
    assert by_key(read_comtrade(p).reports) == by_key(read_comtrade(raw_file).reports)


def test_legacy_layout(tmp_path):
    cmd = '"Chemical elements; doped for use in electronics, in the form of discs"'

    def row(flow_code, flow, rep, rep_iso, par, par_name, par_iso, value, cls="H5"):
        return (f"{cls},2019,2019,2019,6,1,{flow_code},{flow},{rep},Reporter,{rep_iso},{par},"
                f"{par_name},{par_iso},,,,,,,,381800,{cmd},8,Weight in kilograms,10,,,,10,,"
                f"{value},,,0")

    p = write(tmp_path / "wafers.csv", LEGACY_HEADER, [
        row(2, "Export", 392, "JPN", 0, "World", "WLD", 1000),
        row(2, "Export", 392, "JPN", 490, '"Other Asia, nes"', "", 400),
        row(2, "Export", 392, "JPN", 381, "Italy", "ITA", 300),
        row(1, "Import", 381, "ITA", 392, "Japan", "JPN", 320, cls="H4"),
        row(3, "Re-export", 392, "JPN", 842, "USA", "USA", 5),
    ])
    r = read_comtrade(p)
    assert by_key(r.reports) == {("JPN", "TWN", "X", "381800"): 400.0,
                                 ("JPN", "ITA", "X", "381800"): 300.0,
                                 ("ITA", "JPN", "M", "381800"): 320.0}
    assert r.notes == {"aggregate_area": 1, "iso_fallback": 2, "re_export_memo": 1}
    assert r.classifications == {"H5": 4, "H4": 1}
    with pytest.raises(HSVersionError, match="--hs-version"):
        ingest_comtrade(p, tmp_path / "store")
    report = ingest_comtrade(p, tmp_path / "store", hs_version="HS2017")
    assert report.details["mirror"]["both"]["flows"] == 1


# --------------------------------------------------------------------------- bad input


def test_non_numeric_value_names_line(tmp_path, raw_file):
    rows = list(RAW_ROWS)
    rows[1] = "2022,392,410,848620,X,n/a,2000.0,2000.0,8"  # line 3
    with pytest.raises(DataError) as err:
        read_comtrade(write(tmp_path / "bad_2022.csv", RAW_HEADER, rows))
    e = err.value
    assert (e.source, e.row, e.column, e.value) == ("bad_2022.csv", 3, "value", "n/a")


def test_negative_value_and_unknown_code(tmp_path):
    rows = list(RAW_ROWS)
    rows[5] = "2022,392,842,848620,X,-50.0,,0.0,-1"  # line 7
    with pytest.raises(DataError) as err:
        read_comtrade(write(tmp_path / "neg_2022.csv", RAW_HEADER, rows))
    assert err.value.row == 7 and "negative" in str(err.value)
    rows = list(RAW_ROWS)
    rows[6] = "2022,276,999,848620,M,30.0,500.0,500.0,8"  # line 8
    with pytest.raises(UnknownCountry) as err:
        read_comtrade(write(tmp_path / "unk_2022.csv", RAW_HEADER, rows))
    msg = str(err.value)
    assert "unk_2022.csv, row 8, column 'partner'" in msg and "999" in msg
    assert "trade_codes" in msg


def test_lenient_counts_and_several_problems(tmp_path):
    rows = list(RAW_ROWS)
    rows[1] = "2022,392,410,848620,X,n/a,2000.0,2000.0,8"
    rows[6] = "2022,276,999,848620,M,30.0,500.0,500.0,8"
    rows.append("2022,392,410,848620")  # malformed line 16
    p = write(tmp_path / "bad_2022.csv", RAW_HEADER, rows)
    with pytest.raises(SchemaViolation) as err:
        read_comtrade(p)
    assert sorted(err.value.failures["row"]) == [3, 8, 16]
    r = read_comtrade(p, lenient=True)
    assert r.problems.counts == {"not_a_number": 1, "unknown_partner": 1,
                                 "malformed_line": 1}
    assert ("DEU", "CHN", "M", "848620") not in by_key(r.reports)


def test_year_from_file_name_or_argument(tmp_path):
    rows = ["392,410,848620,X,100.0,2000.0", "410,392,848620,M,110.0,2100.0"]
    named = write(tmp_path / "comtrade_2024.csv", RAW_HEADER_NO_YEAR, rows)
    assert set(read_comtrade(named).reports["year"]) == {2024}
    plain = write(tmp_path / "comtrade.csv", RAW_HEADER_NO_YEAR, rows)
    with pytest.raises(SourceFormatError, match="--year"):
        read_comtrade(plain)
    assert set(read_comtrade(plain, year=2023).reports["year"]) == {2023}


# --------------------------------------------------------------------------- ingest


def test_ingest_writes_flows_gaps_and_provenance(raw_file, tmp_path):
    dest = tmp_path / "store"
    report = ingest_comtrade(raw_file, dest, hs_version="HS2017")
    flows = store.load_flows(dest).set_index(["exporter", "importer", "hs6"])
    assert flows.loc[("JPN", "KOR", "848620"), "value_usd"] == 110.0  # importer's report
    assert flows.loc[("JPN", "KOR", "848620"), "quantity"] == 2.1
    assert flows.loc[("CHN", "DEU", "848620"), "value_usd"] == 30.0
    assert len(flows) == 5
    gaps = store.read_derived(dest, "mirror_gaps")
    assert gaps[["exporter", "importer", "gap"]].values.tolist() == [["JPN", "KOR", 10.0]]
    prov = store.store_info(dest)["provenance"]["flows"]
    assert prov["source"] == "UN Comtrade" and prov["rule"]["prefer"] == "importer"
    assert prov["notes"]["exact_duplicate"] == 1 and prov["files"][0]["layout"] == "raw"
    assert report.details["mirror"]["both"]["flows"] == 1
    assert not [d for d in dest.iterdir() if d.name.startswith(".ingest-")]
    again = ingest_comtrade(raw_file, dest, prefer="exporter")  # store's HS version
    assert again.details["hs_version"] == "HS2017"
    flows = store.load_flows(dest, exporters=["JPN"], importers=["KOR"], hs6=["848620"])
    assert flows["value_usd"].tolist() == [100.0]


def test_ingest_refuses_a_baci_store(tmp_path, raw_file):
    from analytics.errors import StoreError
    from analytics.sources.baci import ingest_baci

    folder = tmp_path / "baci"
    folder.mkdir()
    (folder / "country_codes_V202601.csv").write_text(
        "country_code,country_name,country_iso2,country_iso3\n392,Japan,JP,JPN\n"
        "410,Rep. of Korea,KR,KOR\n", encoding="utf-8")
    (folder / "BACI_HS17_Y2021_V202601.csv").write_text(
        "t,i,j,k,v,q\n2021,392,410,848620,1,1\n", encoding="utf-8")
    ingest_baci(folder, tmp_path / "store")
    with pytest.raises(StoreError, match="CEPII BACI"):
        ingest_comtrade(raw_file, tmp_path / "store")


# --------------------------------------------------------------------------- real files


@pytest.mark.shared_data
def test_real_raw_critical_minerals_2022(shared_data):
    path = (shared_data / "baci-critical-minerals-2022-2024" /
            "comtrade_raw_critical_2022.csv.gz")
    r = read_comtrade(path)
    assert r.rows_read == 166_616
    assert 85_000 <= r.notes["exact_duplicate"] <= 95_000  # SOURCE.md: about 90,000
    assert not r.problems
    rep = r.reports
    assert (rep["reporter"] == "RUS").sum() == 0  # Russia does not report ...
    assert (rep["partner"] == "RUS").sum() > 100  # ... it appears as a partner only
    assert set(rep["flow"]) == {"X", "M"} and set(rep["year"]) == {2022}
    stats = mirror_statistics(r)
    flows = mirror_flows(stats)
    total = flows["value_usd"].sum() / 1e9
    assert 300 < total < 600  # BACI 2022 for these codes: USD 388.5 bn
    assert stats.summary.loc["both", "median_ratio"] == pytest.approx(1.0, abs=0.15)
    assert {"RUS"} <= set(flows["importer"]) and {"TWN", "CHN"} <= set(flows["exporter"])


@pytest.mark.shared_data
def test_real_legacy_wafer_exports(shared_data, tmp_path):
    path = (shared_data / "comtrade-doped-wafers-3818" /
            "comtrade_381800_exports_2017_2021_original.csv")
    dest = tmp_path / "store"
    report = ingest_comtrade(path, dest, hs_version="HS2017")
    assert report.notes["aggregate_area"] == 294  # partner World rows
    flows = store.load_flows(dest)
    assert len(flows) == 5_578  # the bilateral rows
    by_year = (flows.groupby("year")["value_usd"].sum() / 1e9).round(1).to_dict()
    assert by_year == {2017: 12.9, 2018: 14.9, 2019: 14.1, 2020: 14.2, 2021: 8.3}
    rus = flows[flows["importer"] == "RUS"].groupby("year")["value_usd"].sum() / 1e6
    assert rus[2017] == pytest.approx(43.5, abs=0.05)
    # 490 "Other Asia, nes" (blank ISO in the file) is Taiwan, as partner and as reporter
    # (the file holds 168 rows reported by 490, although its SOURCE.md says none)
    assert "TWN" in set(flows["importer"]) and "TWN" in set(flows["exporter"])
    assert store.derived_names(dest) == []  # exports only: no mirror pairs
