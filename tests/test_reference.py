"""The committed reference tables in data/reference: structure, counts and cross-checks.

Checks against the real reference material in ``../shared/data`` (BACI code lists, the
country-groups file, the CHPL list) skip when that folder is absent, except under
``CI=true``, where they fail instead.
"""

from __future__ import annotations

import csv
import os
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from analytics import reference as ref
from analytics.errors import ConfigError, UnknownCountry
from analytics.schemas import (
    ISO3_PATTERN,
    Categories,
    CategoryHS,
    Countries,
    Events,
    HSConcordance,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REF_DIR = Path(__file__).resolve().parents[1] / "data" / "reference"

N_ISO_3166_1 = 249  # entries of ISO 3166-1 (countries and territories)
TRADE_CODE_COLUMNS = ["code", "iso3", "name", "kind", "source"]
FILES = {
    "countries.csv": Countries.columns(),
    "categories.csv": Categories.columns(),
    "category_hs.csv": CategoryHS.columns(),
    "hs_concordance.csv": HSConcordance.columns(),
    "events.csv": Events.columns(),
    "trade_codes.csv": TRADE_CODE_COLUMNS,
}
HUBS = {"HKG", "SGP", "MYS", "THA", "VNM", "ARE", "TUR", "KAZ", "KGZ", "ARM", "GEO", "UZB"}
CATEGORY_IDS = {
    "outbound": {
        "chpl_tier1", "chpl_tier2", "chpl_tier3a", "chpl_tier3b", "chpl_tier4a", "chpl_tier4b",
        "chipmaking_equipment", "cnc_machine_tools", "microscopes_inspection", "navigation_uav",
        "telecom_equipment", "bearings",
    },
    "inbound": {
        "gallium_germanium", "rare_earth_magnets", "graphite", "tungsten", "tellurium",
        "bismuth", "indium", "molybdenum", "antimony", "silicon", "rare_gases", "cobalt",
        "lithium",
    },
}
#: China's announcement 2025 No. 10 (effective 2025-02-04): its five metals and the HS2017
#: codes of each category (tellurium shares 280450 with boron; indium has no HS6 of its
#: own and shares 8112.92/8112.99 with gallium, germanium and others)
CN_2025_NO10 = {
    "tungsten": {"261100", "810110", "810194", "810196", "810199"},
    "tellurium": {"280450"},
    "bismuth": {"810600"},
    "molybdenum": {"261310", "261390", "810210", "810294", "810295", "810296", "810297",
                   "810299"},
    "indium": {"811292", "811299"},
}


def shared(relpath: str) -> Path:
    """A file in ../shared/data; skip when absent (fail under CI=true)."""
    path = SHARED / relpath
    if not path.exists():
        msg = (f"reference material {relpath} not found under {SHARED} "
               "(the shared/ folder beside the checkout)")
        if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
            pytest.fail(msg + "; CI=true requires it")
        pytest.skip(msg)
    return path


def hs_codes(version: str) -> set[str]:
    fname = {"HS2022": "product_codes_HS22_V202401.csv",
             "HS2017": "product_codes_HS17_V202401.csv"}[version]
    frame = pd.read_csv(shared(f"baci-reference-codes/{fname}"), dtype=str)
    return set(frame["code"].str.zfill(6))


@pytest.fixture(scope="module")
def countries() -> pd.DataFrame:
    return ref.countries()


@pytest.fixture(scope="module")
def trade_codes() -> pd.DataFrame:
    return ref.trade_codes()


# ------------------------------------------------------------------------ files

@pytest.mark.parametrize("fname", sorted(FILES))
def test_file_header_is_schema_order_and_utf8(fname):
    path = REF_DIR / fname
    text = path.read_bytes().decode("utf-8")  # raises if not UTF-8
    header = next(csv.reader([text.splitlines()[0]]))
    assert header == FILES[fname]
    with open(path, newline="", encoding="utf-8") as fh:
        widths = {len(row) for row in csv.reader(fh)}
    assert widths == {len(FILES[fname])}


@pytest.mark.parametrize("fname", sorted(FILES))
def test_files_carry_no_machine_paths(fname):
    text = (REF_DIR / fname).read_text(encoding="utf-8")
    for needle in ("/work", "/tmp", "/home", "shared/data", "C:\\", ".py"):
        assert needle not in text, f"{fname} mentions {needle!r}"


def test_every_table_loads_through_reference():
    loaded = {
        "countries": ref.countries(), "categories": ref.categories(),
        "category_hs": ref.category_hs(), "hs_concordance": ref.hs_concordance(),
        "events": ref.events(), "trade_codes": ref.trade_codes(),
    }
    for name, frame in loaded.items():
        assert len(frame) > 0, name
        assert list(frame.columns) == (TRADE_CODE_COLUMNS if name == "trade_codes"
                                       else ref.table_schema(name).columns())


@pytest.mark.parametrize("loader", [ref.countries, ref.categories, ref.category_hs,
                                    ref.hs_concordance, ref.events, ref.trade_codes])
def test_every_row_has_source_and_as_of(loader):
    frame = loader()
    src = frame["source"].fillna("").astype(str).str.strip()
    assert (src != "").all(), frame.loc[src == ""].head()
    if "as_of" in frame.columns:
        for value in frame["as_of"]:
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value)), value
            date.fromisoformat(str(value))


# -------------------------------------------------------------------- countries

def test_iso3_unique_and_well_formed(countries):
    assert countries["iso3"].is_unique
    assert countries["iso3"].str.fullmatch(ISO3_PATTERN[1:-1]).all()


def test_all_iso_3166_1_entries_present(countries):
    iso = countries[countries["iso_numeric"].notna()]
    assert len(iso) == N_ISO_3166_1
    assert iso["iso3"].str.fullmatch(r"[A-Z]{3}").all()
    assert iso["iso2"].str.fullmatch(r"[A-Z]{2}").all()
    assert iso["iso2"].is_unique and iso["iso_numeric"].is_unique
    assert countries.loc[countries["iso_numeric"].isna(), "iso2"].isna().all()
    for code in ("JPN", "USA", "CHN", "TWN", "HKG", "MAC", "RUS", "ATA", "PSE"):
        assert code in set(iso["iso3"])


def test_regions(countries):
    iso = countries[countries["iso_numeric"].notna()]
    assert set(iso["region"]) == {"Africa", "Americas", "Asia", "Europe", "Oceania", "Antarctica"}
    assert countries.set_index("iso3").loc["ATA", "region"] == "Antarctica"
    assert iso.loc[iso["region"] != "Antarctica", "subregion"].notna().all()
    sub = countries.set_index("iso3")["subregion"]
    assert sub["TWN"] == sub["CHN"] == sub["JPN"] == "Eastern Asia"
    assert sub["KAZ"] == sub["KGZ"] == sub["UZB"] == "Central Asia"
    assert sub["ARE"] == sub["TUR"] == sub["ARM"] == sub["GEO"] == "Western Asia"
    assert sub["RUS"] == "Eastern Europe"
    pseudo = countries[countries["iso_numeric"].isna() & (countries["iso3"] != "XKX")]
    assert (pseudo["region"] == "Other").all()


def test_taiwan_and_special_trade_codes(countries):
    c = countries.set_index("iso3")
    assert c.loc["TWN", "trade_code"] == 490
    assert c.loc["TWN", "iso_numeric"] == 158
    assert c.loc["TWN", "name"] == "Taiwan"
    for iso3, code in {"FRA": 251, "NOR": 579, "IND": 699, "CHE": 757, "USA": 842,
                       "DEU": 276, "BEL": 56, "SDN": 729}.items():
        assert c.loc[iso3, "trade_code"] == code, iso3
    assert "S19" not in c.index  # BACI's 'Other Asia, nes' is Taiwan


def test_common_short_names(countries):
    names = countries.set_index("iso3")["name"]
    expected = {"USA": "United States", "KOR": "South Korea", "PRK": "North Korea",
                "TWN": "Taiwan", "HKG": "Hong Kong", "RUS": "Russia", "IRN": "Iran",
                "VNM": "Vietnam", "TUR": "Turkey"}
    for iso3, name in expected.items():
        assert names[iso3] == name


MEMBERSHIP_COUNTS = {"jp_group_a": 27, "wassenaar": 42, "nsg": 48, "mtcr": 35, "eu": 27,
                     "eaeu": 5, "un_arms_embargo": 10, "g7": 7, "australia_group": 42}


@pytest.mark.parametrize("flag,count", sorted(MEMBERSHIP_COUNTS.items()))
def test_membership_counts(countries, flag, count):
    assert int(countries[flag].sum()) == count


def test_named_memberships(countries):
    members = {f: set(countries.loc[countries[f], "iso3"]) for f in MEMBERSHIP_COUNTS}
    assert members["eaeu"] == {"ARM", "BLR", "KAZ", "KGZ", "RUS"}
    assert members["g7"] == {"CAN", "FRA", "DEU", "ITA", "JPN", "GBR", "USA"}
    assert members["un_arms_embargo"] == {"AFG", "CAF", "COD", "IRQ", "LBN", "LBY", "PRK",
                                          "SOM", "SSD", "SDN"}
    assert "JPN" not in members["jp_group_a"]
    assert {"KOR", "USA", "GBR", "DEU", "ARG"} <= members["jp_group_a"]
    assert "IND" in members["wassenaar"] and "IND" not in members["nsg"]


def test_group_a_in_all_four_regimes(countries):
    group_a = countries[countries["jp_group_a"]]
    for regime in ("wassenaar", "nsg", "australia_group", "mtcr"):
        assert group_a[regime].all(), regime


def test_sanctioned_and_hubs(countries):
    scope = countries.set_index("iso3")["sanctioned"].dropna()
    assert set(scope.index) == {"RUS", "BLR", "IRN", "PRK", "SYR"}
    assert "833/2014" in scope["RUS"]
    assert set(countries.loc[countries["hub"], "iso3"]) == HUBS


def test_name_ja(countries):
    ja = countries.set_index("iso3")["name_ja"]
    iso = countries.loc[countries["iso_numeric"].notna(), "iso3"]
    assert ja[iso].notna().all()
    for iso3 in {"RUS", "CHN", "HKG", "TWN", "USA", "JPN"} | HUBS:
        assert isinstance(ja[iso3], str) and ja[iso3].strip(), iso3
    assert ja["RUS"] == "ロシア" and ja["CHN"] == "中国" and ja["HKG"] == "香港"
    assert ja["TWN"] == "台湾" and ja["ARE"] == "アラブ首長国連邦" and ja["KGZ"] == "キルギス"


@pytest.mark.shared_data
def test_memberships_equal_shared_country_groups(countries):
    groups = pd.read_csv(shared("country-groups/export_control_country_groups.csv"),
                         dtype={"iso3": str})
    groups = groups[groups["iso3"] != "EUE"]  # the EU as an Australia Group participant
    cols = {"jp_group_a": "jp_group_a", "un_arms_embargo": "jp_table3_2_un_arms_embargo",
            "wassenaar": "wassenaar", "nsg": "nsg", "australia_group": "australia_group",
            "mtcr": "mtcr", "eu": "eu_member", "eaeu": "eaeu_member"}
    c = countries.set_index("iso3")
    for ours, theirs in cols.items():
        expected = set(groups.loc[groups[theirs] == 1, "iso3"])
        assert set(c.index[c[ours]]) == expected, ours
    assert set(groups["iso3"]) <= set(c.index)


@pytest.mark.shared_data
def test_every_baci_country_is_known(countries):
    baci = pd.read_csv(shared("baci-reference-codes/country_codes_V202601.csv"),
                       dtype=str, keep_default_na=False)
    missing = set(baci["country_iso3"]) - set(countries["iso3"]) - {"S19"}
    assert not missing


# ------------------------------------------------------------------ trade codes

def test_trade_codes_structure(trade_codes, countries):
    assert trade_codes["code"].is_unique
    assert trade_codes["iso3"].str.fullmatch(ISO3_PATTERN[1:-1]).all()
    assert set(trade_codes["kind"]) == {"country", "historical", "aggregate", "nes"}
    assert trade_codes["name"].str.strip().ne("").all()
    assert not trade_codes["name"].str.contains("Ã").any()  # mojibake fixed
    known = set(countries["iso3"])
    kind = trade_codes.set_index("code")["kind"]
    iso3 = trade_codes.set_index("code")["iso3"]
    for code in kind.index:
        if kind[code] in ("country", "historical", "nes"):
            assert iso3[code] in known, code
        else:
            assert iso3[code] not in known, code
    assert iso3[0] == "WLD" and kind[0] == "aggregate"
    assert kind[697] == "nes" and iso3[697] == "R20"


def test_trade_codes_special_mappings(trade_codes):
    m = trade_codes.set_index("code")["iso3"]
    kind = trade_codes.set_index("code")["kind"]
    baci = {251: "FRA", 579: "NOR", 699: "IND", 757: "CHE", 842: "USA", 490: "TWN"}
    iso = {250: "FRA", 578: "NOR", 356: "IND", 756: "CHE", 840: "USA", 158: "TWN"}
    for code, iso3 in {**baci, **iso}.items():
        assert m[code] == iso3, code
        assert kind[code] == "country", code
    for code, iso3 in {58: "BEL", 280: "DEU", 736: "SDN", 711: "ZA1", 810: "SUN"}.items():
        assert m[code] == iso3 and kind[code] == "historical", code
    for code in (568, 577, 636, 637, 837, 838, 839, 899, 527, 473, 492, 879):
        assert kind[code] == "nes", code
    assert kind[97] == "aggregate"


def test_every_iso_numeric_and_trade_code_maps(trade_codes, countries):
    m = trade_codes.set_index("code")["iso3"]
    for row in countries.itertuples(index=False):
        if pd.notna(row.trade_code):
            assert m[int(row.trade_code)] == row.iso3, row.iso3
        # Monaco's ISO numeric 492 is UN Comtrade's "Europe EU, nes"; Comtrade/BACI
        # report Monaco within France (251).
        if pd.notna(row.iso_numeric) and row.iso3 != "MCO":
            assert m[int(row.iso_numeric)] == row.iso3, row.iso3


@pytest.mark.shared_data
def test_every_baci_code_maps(trade_codes):
    baci = pd.read_csv(shared("baci-reference-codes/country_codes_V202601.csv"),
                       dtype=str, keep_default_na=False)
    m = trade_codes.set_index("code")["iso3"]
    for code, iso3 in zip(baci["country_code"].astype(int), baci["country_iso3"], strict=True):
        assert m[code] == ("TWN" if iso3 == "S19" else iso3), code


# ------------------------------------------------------------------- categories

def test_category_ids_and_directions():
    cats = ref.categories().set_index("category_id")
    for direction, ids in CATEGORY_IDS.items():
        assert set(cats.index[cats["direction"] == direction]) == ids
    assert cats.loc["chpl_tier1", "sensitivity"] == 1.0
    assert cats.loc["chipmaking_equipment", "sensitivity"] == 1.0
    assert ((cats["sensitivity"] > 0) & (cats["sensitivity"] <= 1)).all()
    assert cats["name_ja"].notna().all()


def test_chpl_codes_and_tier_sizes():
    chs = ref.category_hs()
    chpl = chs[chs["category_id"].str.startswith("chpl_")]
    assert len(chpl) == 50 and chpl["hs6"].is_unique
    assert (chpl["hs_version"] == "HS2022").all()
    sizes = chpl.groupby("category_id").size().to_dict()
    assert sizes == {"chpl_tier1": 4, "chpl_tier2": 5, "chpl_tier3a": 16, "chpl_tier3b": 9,
                     "chpl_tier4a": 11, "chpl_tier4b": 5}
    assert set(chpl.loc[chpl["category_id"] == "chpl_tier1", "hs6"]) == {
        "854231", "854232", "854233", "854239"}


@pytest.mark.shared_data
def test_chpl_codes_equal_shared_list():
    src = pd.read_csv(shared("chpl/chpl_hs6_2024-02-23.csv"), dtype=str)
    tier = {"Tier 1": "chpl_tier1", "Tier 2": "chpl_tier2", "Tier 3.A": "chpl_tier3a",
            "Tier 3.B": "chpl_tier3b", "Tier 4.A": "chpl_tier4a", "Tier 4.B": "chpl_tier4b"}
    expected = {(tier[t], h) for t, h in zip(src["tier"], src["hs6"], strict=True)}
    chs = ref.category_hs()
    chpl = chs[chs["category_id"].str.startswith("chpl_")]
    assert set(zip(chpl["category_id"], chpl["hs6"], strict=True)) == expected


def test_category_hs_codes_well_formed():
    chs = ref.category_hs()
    assert chs["hs6"].str.fullmatch(r"\d{2}|\d{4}|\d{6}").all()
    assert not chs.duplicated(["category_id", "hs6", "hs_version"]).any()
    assert set(chs["category_id"]) == set(ref.categories()["category_id"])
    inbound = CATEGORY_IDS["inbound"]
    assert (chs.loc[chs["category_id"].isin(inbound), "hs_version"] == "HS2017").all()
    assert set(chs.loc[chs["category_id"] == "chipmaking_equipment", "hs6"]) == {
        "848610", "848620", "848630", "848640", "848690"}


def test_china_2025_no10_categories():
    cats = ref.categories().set_index("category_id")
    chs = ref.category_hs()
    for cat, codes in CN_2025_NO10.items():
        row = cats.loc[cat]
        assert row["direction"] == "inbound" and 0 < row["sensitivity"] <= 1, cat
        assert "2025 No. 10" in row["control_basis"] and "2025-02-04" in row["control_basis"]
        assert "2025 No. 10" in row["source"], cat
        own = chs[chs["category_id"] == cat]
        assert set(own["hs6"]) == codes, cat
        assert own["hs6"].str.fullmatch(r"\d{6}").all() and (own["hs_version"] == "HS2017").all()
        assert own["source"].str.contains("2025 No. 10").all(), cat
    # the only code shared between categories: the 8112.92/.99 bundle of indium and
    # gallium/germanium
    inbound = chs[chs["category_id"].isin(CATEGORY_IDS["inbound"])]
    shared_codes = inbound.groupby("hs6")["category_id"].nunique()
    assert set(shared_codes[shared_codes > 1].index) == {"811292", "811299"}
    assert set(chs.loc[chs["hs6"] == "811292", "category_id"]) == {"gallium_germanium",
                                                                   "indium"}


@pytest.mark.shared_data
def test_category_hs_codes_exist_in_their_version():
    chs = ref.category_hs()
    for version, group in chs.groupby("hs_version"):
        codes = hs_codes(str(version))
        for code in group["hs6"]:
            if len(code) == 6:
                assert code in codes, (version, code)
            else:
                assert any(c.startswith(code) for c in codes), (version, code)


# ---------------------------------------------------------------- concordance

def test_concordance_structure():
    conc = ref.hs_concordance()
    assert (conc["from_version"] == "HS2022").all() and (conc["to_version"] == "HS2017").all()
    assert not (conc["from_hs6"] == conc["to_hs6"]).any()  # unchanged codes are not listed
    m = conc.groupby("from_hs6")["to_hs6"].apply(set).to_dict()
    assert m["854149"] == {"854140"} and m["854159"] == {"854150"}
    assert "880330" in m["880730"] and m["851779"] == {"851770"}
    assert {"851770", "852910"} <= m["851771"]


@pytest.mark.shared_data
def test_concordance_covers_new_hs2022_codes_and_codes_are_real():
    h22, h17 = hs_codes("HS2022"), hs_codes("HS2017")
    conc = ref.hs_concordance()
    assert set(conc["from_hs6"]) <= h22
    assert set(conc["to_hs6"]) <= h17
    assert not set(conc["from_hs6"]) & h17  # listed codes did change
    chs = ref.category_hs()
    new = {c for c in chs.loc[chs["hs_version"] == "HS2022", "hs6"] if c not in h17}
    assert new, "expected HS2022-only codes (e.g. 8806 UAVs) in the categories"
    assert new <= set(conc["from_hs6"])
    mapped = ref.map_category_hs(chs, "HS2017")
    assert set(mapped["hs6"]) <= h17


# ------------------------------------------------------------------------ events

def test_events_reference_known_categories_and_countries(countries):
    ev = ref.events()
    assert ev["event_id"].is_unique
    cats = set(ref.categories()["category_id"])
    known = set(countries["iso3"])
    for row in ev.itertuples(index=False):
        if row.categories != "all":
            assert set(row.categories.split(";")) <= cats, row.event_id
        if row.destinations != "all":
            assert set(row.destinations.split(";")) <= known, row.event_id
    assert set(ev["jurisdiction"]) <= {"JP", "US", "EU", "UK", "NL", "CN", "TW", "multilateral"}
    assert ev["date"].is_monotonic_increasing


def test_key_events_present():
    ev = ref.events()
    by_date = {(d.date().isoformat(), j) for d, j in zip(ev["date"], ev["jurisdiction"],
                                                          strict=True)}
    for key in [("2022-02-24", "US"), ("2022-02-25", "EU"), ("2022-03-02", "EU"),
                ("2022-03-18", "JP"), ("2022-05-20", "JP"), ("2022-10-07", "US"),
                ("2023-07-23", "JP"), ("2023-09-01", "NL"), ("2023-10-17", "US"),
                ("2024-02-23", "multilateral"), ("2024-12-02", "US"), ("2023-08-01", "CN"),
                ("2023-12-01", "CN"), ("2024-09-15", "CN"), ("2024-12-03", "CN"),
                ("2025-02-04", "CN"), ("2025-04-04", "CN")]:
        assert key in by_date, key
    cn = ev[ev["jurisdiction"] == "CN"]
    assert (cn["kind"] == "inbound_control").all()
    cats = ref.categories().set_index("category_id")
    for row in cn.itertuples(index=False):  # China's controls map to inbound categories
        ids = row.categories.split(";")
        assert set(ids) <= set(cats.index), row.event_id
        assert (cats.loc[ids, "direction"] == "inbound").all(), row.event_id
    no10 = cn[cn["date"] == pd.Timestamp("2025-02-04")].iloc[0]
    assert set(no10["categories"].split(";")) == set(CN_2025_NO10)
    assert "2025 No. 10" in no10["source"]
    us_ban = cn[cn["date"] == pd.Timestamp("2024-12-03")].iloc[0]
    assert us_ban["destinations"] == "USA"
    jp_sme = ev[(ev["date"] == pd.Timestamp("2023-07-23"))].iloc[0]
    assert jp_sme["categories"] == "chipmaking_equipment" and jp_sme["destinations"] == "all"
    jp_ru = ev[(ev["date"] == pd.Timestamp("2022-03-18"))].iloc[0]
    assert set(jp_ru["destinations"].split(";")) == {"RUS", "BLR"}
    assert set(jp_ru["categories"].split(";")) == CATEGORY_IDS["outbound"]


# -------------------------------------------------------------------- coalitions

def test_resolve_coalition_presets():
    assert ref.resolve_coalition("japan") == ("JPN",)
    assert ref.resolve_coalition("jp_us_nl") == ("JPN", "NLD", "USA")
    group_a = ref.resolve_coalition("group_a")
    assert len(group_a) == 28 and "JPN" in group_a and "KOR" in group_a
    assert len(ref.resolve_coalition("wassenaar")) == 42
    assert ref.resolve_coalition("g7") == ("CAN", "DEU", "FRA", "GBR", "ITA", "JPN", "USA")
    assert ref.resolve_coalition(["jpn", "usa"]) == ("JPN", "USA")


def test_resolve_coalition_errors():
    with pytest.raises(ConfigError):
        ref._preset_members("no_such_preset", ref.countries())
    with pytest.raises(ConfigError):
        ref.resolve_coalition([])
    # resolve_coalition reads a string that is not a preset as an ISO3 code, so an unknown
    # preset name surfaces as UnknownCountry (whose message names the codes expected).
    with pytest.raises((ConfigError, UnknownCountry)):
        ref.resolve_coalition("no_such_preset")
    with pytest.raises(UnknownCountry):
        ref.resolve_coalition(["JPN", "ZZZ"])
    with pytest.raises(UnknownCountry):
        ref.resolve_coalition("S19")  # BACI's pseudo code for Taiwan is not a country code


def test_concern_destinations():
    concern = set(ref.concern_destinations())
    assert {"RUS", "BLR", "IRN", "PRK", "SYR", "AFG", "SDN"} <= concern
    assert not concern & HUBS
