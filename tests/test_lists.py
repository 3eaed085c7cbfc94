"""Entity lists and sanctioned-goods lists as red flags.

Readers: ``analytics.sources.meti`` (METI End User List xlsx/CSV, MOFA/METI specified
entities) and ``analytics.sources.eu_sanctions`` (Chupilkin et al. EU sanctions at HS6);
helpers: ``analytics.entities``. Fixtures are written into ``tmp_path`` in the official
layouts (the xlsx reproduces METI's 2025-09-29 header cells); the real files are read
through ``shared_data``.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from analytics.entities import (
    combine_lists,
    entities_by_country,
    match_names,
    normalize_name,
)
from analytics.errors import (
    ConfigError,
    DataError,
    SchemaViolation,
    SourceFormatError,
    UnknownCountry,
)
from analytics.schemas import Entities
from analytics.sources.eu_sanctions import read_eu_sanctioned_hs6
from analytics.sources.meti import (
    EUL_LIST_NAME,
    SPECIFIED_CONCERN,
    read_meti_end_user_list,
    read_specified_entities,
)

# --------------------------------------------------------------------------- fixtures
#: Header cells exactly as in METI's 20250929_4.xlsx (note the half-width "､" in C1).
EUL_HEADER = ["No.", "国名、地域名\nCountry or Region", "企業名､組織名\nCompany or Organization",
              "別名\nAlso Known As", "懸念区分\nType of WMD", "通常兵器\nConventional Weapons"]
IRAN = "イラン\nIslamic Republic of Iran"
EUL_ROWS = [
    # country, company, also known as, type of WMD, CW
    (IRAN, "Sky Tech Industries Co.", "・Sky Tech\n・SKY TECH IND.", "ミサイル、核\nM,N",
     "通常兵器\nCW"),
    ("北朝鮮\nNorth Korea", "Air Koryo\n(高麗航空)", None, "生物、化学、ミサイル、核\nB,C,M,N",
     None),
    ("中国\nPeople's Republic of China", "Beijing Alpha Technology Co., Ltd.",
     "・Alpha Tech\n・Beijing Alpha Precision Machinery\nManufacturing Company\n(北京阿尔法)",
     "ミサイルM", None),
    ("香港\nHong Kong", "Kowloon Parts Ltd ", None, "核\nＮ", None),
    ("アラブ首長国連邦\nUnited Arab Emirates", "Gulf Bridge FZE", None, None, "通常兵器\nCW"),
    ("台湾\nTaiwan", "Formosa Optics", None, "化学\nC", None),
]
EXPECTED = pd.DataFrame({
    "name": ["Sky Tech Industries Co.", "Air Koryo", "Beijing Alpha Technology Co., Ltd.",
             "Kowloon Parts Ltd", "Gulf Bridge FZE", "Formosa Optics"],
    "aliases": ["Sky Tech; SKY TECH IND.", "高麗航空",
                "Alpha Tech; Beijing Alpha Precision Machinery Manufacturing Company; 北京阿尔法",
                None, None, None],
    "country": ["IRN", "PRK", "CHN", "HKG", "ARE", "TWN"],
    "concern": ["nuclear, missile, conventional weapons",
                "nuclear, biological, chemical, missile", "missile", "nuclear",
                "conventional weapons", "chemical"],
})


def write_eul_xlsx(path: Path, rows=EUL_ROWS, *, titles: tuple[str, ...] = (),
                   two_row_header: bool = False, merge_country: bool = False) -> Path:
    """An End User List in METI's layout; ``titles`` adds merged title lines above."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "ユーザーリスト"
    for t in titles:
        ws.append([t])
        r = ws.max_row
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=6)
    if two_row_header:
        ws.append([h.split("\n")[0] for h in EUL_HEADER])
        ws.append([h.split("\n")[-1] for h in EUL_HEADER])
    else:
        ws.append(EUL_HEADER)
    first = ws.max_row + 1
    for row in rows:
        ws.append(["=ROW()-1", *row])
    if merge_country:  # METI-style country cell merged over the first two entries
        ws.cell(first + 1, 2).value = None
        ws.merge_cells(start_row=first, start_column=2, end_row=first + 1, end_column=2)
    wb.save(path)
    return path


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def check_entities(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == Entities.columns()
    assert frame["name"].notna().all() and (frame["name"].str.len() > 0).all()


# --------------------------------------------------------------------------- METI EUL
def test_eul_xlsx_official_layout(tmp_path):
    path = write_eul_xlsx(tmp_path / "meti_end_user_list_20250929_original.xlsx")
    out = read_meti_end_user_list(path)
    check_entities(out)
    pd.testing.assert_frame_equal(out[list(EXPECTED.columns)].astype(object),
                                  EXPECTED.astype(object), check_dtype=False)
    assert (out["list_name"] == EUL_LIST_NAME).all()
    assert (out["source"] == "METI End User List (revision 2025-09-29)").all()
    assert out.attrs["header_row"] == 1 and out.attrs["revision_from"] == "file name"
    assert out.attrs["columns"]["name"] == "C (企業名､組織名 Company or Organization)"


def test_eul_xlsx_extra_title_lines_and_date_in_title(tmp_path):
    path = write_eul_xlsx(tmp_path / "eul.xlsx",
                          titles=("外国ユーザーリスト（令和7年9月29日改正）",
                                  "経済産業省 安全保障貿易管理"))
    out = read_meti_end_user_list(path)
    assert out.attrs["header_row"] == 3
    assert out.attrs["revision"] == "2025-09-29" and out.attrs["revision_from"] == "title cell"
    assert out["name"].tolist() == EXPECTED["name"].tolist()


def test_eul_xlsx_two_row_header_and_merged_country(tmp_path):
    path = write_eul_xlsx(tmp_path / "eul_2024-05-02.xlsx", two_row_header=True,
                          merge_country=True, rows=[EUL_ROWS[0], (IRAN, *EUL_ROWS[5][1:]),
                                                    *EUL_ROWS[1:3]])
    out = read_meti_end_user_list(path)
    assert out["country"].tolist() == ["IRN", "IRN", "PRK", "CHN"]
    assert out.loc[1, "name"] == "Formosa Optics"
    assert out.attrs["revision"] == "2024-05-02"


def test_eul_revision_argument_and_missing_date(tmp_path):
    path = write_eul_xlsx(tmp_path / "eul.xlsx")
    out = read_meti_end_user_list(path, revision="2023-10-27")
    assert out["source"].iloc[0] == "METI End User List (revision 2023-10-27)"
    with pytest.warns(UserWarning, match="no revision date"):
        out = read_meti_end_user_list(path)
    assert out["source"].iloc[0] == "METI End User List (revision date unknown)"


def test_eul_flattened_csv_matches_xlsx(tmp_path):
    xlsx = read_meti_end_user_list(write_eul_xlsx(tmp_path / "eul_20250929.xlsx"))
    rows = [[i + 1, *r[0].split("\n"), r[1], "; ".join(
        a.lstrip("・") for a in (r[2] or "").split("\n・")) if r[2] else "",
        r[3] or "", 1 if r[4] else 0] for i, r in enumerate(EUL_ROWS)]
    rows[2][4] = "Alpha Tech; Beijing Alpha Precision Machinery Manufacturing Company; (北京阿尔法)"
    rows[2][5] = "M"
    path = write_csv(tmp_path / "meti_end_user_list_20250929.csv",
                     ["no", "country_ja", "country_en", "name", "aliases", "wmd_concern",
                      "conventional_weapons"], rows)
    flat = read_meti_end_user_list(path)
    pd.testing.assert_frame_equal(flat, xlsx)


def test_eul_unknown_country_names_file_row_column_value(tmp_path):
    rows = [*EUL_ROWS, ("アトランティス\nAtlantis", "Poseidon Works", None, "核\nN", None)]
    path = write_eul_xlsx(tmp_path / "eul_20250929.xlsx", rows=rows)
    with pytest.raises(UnknownCountry) as exc:
        read_meti_end_user_list(path)
    err = exc.value
    msg = str(err)
    assert str(path) in msg and "row 8" in msg and "Atlantis" in msg
    assert "B (国名、地域名 Country or Region)" in msg and "lenient=True" in msg
    assert (err.row, err.value) == (8, "アトランティス\nAtlantis")


def test_eul_lenient_drops_and_counts_unknown_countries(tmp_path):
    rows = [*EUL_ROWS, ("アトランティス\nAtlantis", "Poseidon Works", None, "核\nN", None),
            ("", "No Country Co", None, "M", None)]
    path = write_eul_xlsx(tmp_path / "eul_20250929.xlsx", rows=rows)
    with pytest.warns(UserWarning, match=r"dropped 2 End User List row\(s\).*row 8 "):
        out = read_meti_end_user_list(path, lenient=True)
    assert len(out) == len(EUL_ROWS)
    assert out.attrs["dropped_unknown_country"] == 2


def test_eul_no_header_is_a_format_error(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["Entity", "Nation"])
    wb.active.append(["Sky Tech", "Iran"])
    wb.save(tmp_path / "eul.xlsx")
    with pytest.raises(SourceFormatError, match="no header row with a 'Country or Region'"):
        read_meti_end_user_list(tmp_path / "eul.xlsx")


def test_eul_empty_name_is_a_format_error(tmp_path):
    rows = [*EUL_ROWS[:2], (IRAN, "  ", "・Ghost", "M", None)]
    path = write_eul_xlsx(tmp_path / "eul_20250929.xlsx", rows=rows)
    with pytest.raises(SourceFormatError) as exc:
        read_meti_end_user_list(path)
    assert exc.value.row == 4
    assert exc.value.column == "C (企業名､組織名 Company or Organization)"
    assert "empty company/organization name" in str(exc.value)


def test_eul_unreadable_wmd_and_conflicting_country(tmp_path):
    rows = [(IRAN, "A Co", None, "ミサイル\nX", None),
            ("イラン\nPeople's Republic of China", "B Co", None, "M", None),
            (IRAN, "C Co", None, "核\nM", None)]
    path = write_eul_xlsx(tmp_path / "eul_20250929.xlsx", rows=rows)
    with pytest.raises(SourceFormatError) as exc:
        read_meti_end_user_list(path)
    msg = str(exc.value)
    assert "unknown WMD type 'X'" in msg and "row 3" in msg and "different countries" in msg
    assert "disagree" in msg and exc.value.row == 2


def test_eul_missing_file_and_bad_suffix(tmp_path):
    with pytest.raises(SourceFormatError, match="file not found"):
        read_meti_end_user_list(tmp_path / "nope.xlsx")
    (tmp_path / "eul.txt").write_text("x")
    with pytest.raises(SourceFormatError, match="unsupported file type"):
        read_meti_end_user_list(tmp_path / "eul.txt")
    (tmp_path / "broken.xlsx").write_text("not a zip")
    with pytest.raises(SourceFormatError, match="not a readable xlsx"):
        read_meti_end_user_list(tmp_path / "broken.xlsx")


# --------------------------------------------------------------------------- specified
SPEC_HEADER = ["entry_number", "name_en", "name_ja", "aliases_en", "aliases_ja",
               "country_code", "address", "announcement_dates", "parse_note"]


def test_specified_entities_russia_dedupes_same_entity(tmp_path):
    rows = [
        ["13", "Irkut Corporation", "イルクート", "", "", "RU", "Moscow", "2022-03-15", ""],
        ["14", "Argut OOO", "有限責任会社アルグト", "Argut LLC", "アルグト、AR", "RU", "Moscow",
         "2022-03-15; 2024-06-21", ""],
        ["29", "PJSC Irkut Corporation", "イルクート", "", "", "RU", "Moscow", "2023-05-26", ""],
    ]
    path = write_csv(tmp_path / "mofa_russia_specified_entities.csv", SPEC_HEADER, rows)
    out = read_specified_entities(path)
    check_entities(out)
    assert out["name"].tolist() == ["Irkut Corporation", "Argut OOO"]
    assert out.loc[0, "aliases"] == "PJSC Irkut Corporation; イルクート"
    assert out.loc[1, "aliases"] == "有限責任会社アルグト; Argut LLC; アルグト; AR"
    assert (out["country"] == "RUS").all() and (out["concern"] == SPECIFIED_CONCERN).all()
    assert out["list_name"].iloc[0] == "MOFA/METI specified entities (Russia)"
    assert out["source"].iloc[0] == ("MOFA/METI specified entities (Russia) "
                                     "(announcements up to 2024-06-21)")
    assert out.attrs["duplicate_rows_merged"] == 1


def test_specified_entities_belarus_split_rows_merged(tmp_path):
    rows = [["3", "", "株式会社第 140 修理工場", "", "", "BY", "", "2022-07-05", ""],
            ["", "140 Repair Plant JSC", "", "JSC 140 Repair Plant", "", "BY", "Borisov",
             "2022-07-05", "leading number of the name was mis-parsed"]]
    path = write_csv(tmp_path / "belarus.csv", SPEC_HEADER, rows)
    out = read_specified_entities(path, list_name="MOFA/METI specified entities (Belarus)")
    assert out[["name", "aliases", "country"]].values.tolist() == [
        ["140 Repair Plant JSC", "株式会社第 140 修理工場; JSC 140 Repair Plant", "BLR"]]
    assert out.attrs["split_rows_merged"] == 1


def test_specified_entities_third_countries(tmp_path):
    header = [*SPEC_HEADER[:-1], "countries_in_address", "parse_note"]
    rows = [
        ["1", "Tako LLC", "有限会社タコ", "Taco LLC", "", "", "Yerevan, Armenia.",
         "2023-12-15", "Armenia", ""],
        ["2", "I JET GLOBAL DMCC", "", "", "", "", "Damascus, Syria.", "2023-12-15", "Syria", ""],
        ["3", "I JET GLOBAL DMCC", "", "", "", "", "Dubai, United Arab Emirates.",
         "2023-12-15", "United Arab Emirates", ""],
        ["4", "Alpha Trading Investments Limited", "", "", "", "", "Kowloon, Hong Kong, China",
         "2024-06-21", "China; Hong Kong", ""],
        ["5", "", "タイム・アート・リミテッドTime Art International LTD（時亞國際有限公司）"
         "別称：Time Art International Limited", "", "", "", "Shatin, Hong Kong, China",
         "2025-01-16", "China; Hong Kong", ""],
        ["6", "Kara Dis Ticaret", "", "", "", "", "Istanbul, Turkey; Almaty, Kazakhstan",
         "2025-09-12", "Turkey; Kazakhstan", ""],
    ]
    path = write_csv(tmp_path / "mofa_third_country_specified_entities.csv", header, rows)
    out = read_specified_entities(path)
    assert out["country"].tolist() == ["ARM", "SYR", "ARE", "HKG", "HKG", "TUR"]
    assert out.loc[4, "name"] == "Time Art International LTD"
    assert out.loc[4, "aliases"] == "タイム・アート・リミテッド; 時亞國際有限公司; " \
                                    "Time Art International Limited"
    assert out["list_name"].iloc[0] == "MOFA/METI specified entities (third countries)"
    assert out.attrs["multi_country_rows"] == 1


def test_specified_entities_errors(tmp_path):
    unknown = write_csv(tmp_path / "russia.csv", SPEC_HEADER, [
        ["1", "A Co", "", "", "", "RU", "", "2022-03-15", ""],
        ["2", "B Co", "", "", "", "XX", "", "2022-03-15", ""]])
    with pytest.raises(UnknownCountry, match=r"row 3, column 'country_code': value 'XX'"):
        read_specified_entities(unknown)
    with pytest.warns(UserWarning, match=r"dropped 1 specified-entity row"):
        assert read_specified_entities(unknown, lenient=True)["name"].tolist() == ["A Co"]
    empty = write_csv(tmp_path / "russia_empty.csv", SPEC_HEADER, [
        ["1", "", "", "", "", "RU", "Moscow", "2022-03-15", ""]])
    with pytest.raises(SourceFormatError, match=r"row 2, column 'name_en'.*neither"):
        read_specified_entities(empty)
    missing = write_csv(tmp_path / "russia_cols.csv", SPEC_HEADER[:-2], [])
    with pytest.raises(SourceFormatError, match=r"lacks column\(s\) \['announcement_dates'"):
        read_specified_entities(missing)
    mixed = write_csv(tmp_path / "list.csv", SPEC_HEADER, [
        ["1", "A Co", "", "", "", "RU", "", "2022-03-15", ""],
        ["2", "B Co", "", "", "", "BY", "", "2022-03-15", ""]])
    with pytest.raises(SourceFormatError, match="pass list_name="):
        read_specified_entities(mixed)


# --------------------------------------------------------------------------- EU HS6
EU_HEADER = ["Code", "Date", "Winddowndate", "partially_exempt", "Maxprice", "aviation",
             "dual_use", "firearms", "industrial_cap", "luxury", "military_tech",
             "oil_exploration", "oil_refining", "EU_sanction"]


def eu_row(code, date="", *, flags=(), exempt="0.0", price="", wind=None):
    vals = {f: "1.0" if f in flags else "" for f in EU_HEADER[5:13]}
    sanctioned = "1.0" if date else ""
    return [code, date, date if wind is None else wind, exempt if date else "", price,
            *vals.values(), sanctioned]


EU_ROWS = [
    eu_row("010121", "2022-03-15", flags=("luxury",), price="300.0", exempt="1.0"),
    eu_row("847130", "2022-02-25", flags=("dual_use", "industrial_cap", "luxury")),
    eu_row("880240", "2022-02-25", flags=("aviation",), wind="2022-03-28"),
    eu_row("271012", "2016-12-22", flags=("oil_refining",)),
    eu_row("930100", "2022-02-25", flags=("firearms", "industrial_cap")),
    eu_row("020110"),
]


def test_eu_sanctions_csv_categories_and_dates(tmp_path):
    out = read_eu_sanctioned_hs6(write_csv(tmp_path / "eu.csv", EU_HEADER, EU_ROWS))
    assert out["hs6"].tolist() == ["010121", "847130", "880240", "271012", "930100", "020110"]
    assert out["sanctioned"].tolist() == [True] * 5 + [False]
    assert out["category"].fillna("-").tolist() == [
        "luxury", "dual-use/firearms/military", "industrial", "industrial",
        "dual-use/firearms/military", "-"]
    assert (out["hs_version"] == "HS2017").all()
    assert out["date"].iloc[0] == pd.Timestamp("2022-03-15") and pd.isna(out["date"].iloc[5])
    assert out["winddown_date"].iloc[2] == pd.Timestamp("2022-03-28")
    assert out["partially_exempt"].tolist() == [True] + [False] * 5
    assert out["max_price"].iloc[0] == 300.0 and np.isnan(out["max_price"].iloc[1])
    assert out["dual_use"].dtype == bool and out["luxury"].sum() == 2


def test_eu_sanctions_dta_equals_csv(tmp_path):
    csv_out = read_eu_sanctioned_hs6(write_csv(tmp_path / "eu.csv", EU_HEADER, EU_ROWS))
    raw = pd.DataFrame(EU_ROWS, columns=EU_HEADER)
    for col in EU_HEADER[1:3]:
        raw[col] = pd.to_datetime(raw[col].replace("", None))
    for col in EU_HEADER[3:]:
        raw[col] = pd.to_numeric(raw[col].replace("", None)).astype("float32")
    raw["Maxprice"] = raw["Maxprice"].astype("float64")
    raw.to_stata(tmp_path / "eu.dta", write_index=False)
    pd.testing.assert_frame_equal(read_eu_sanctioned_hs6(tmp_path / "eu.dta"), csv_out)


def test_eu_sanctions_one_bad_cell_is_a_data_error(tmp_path):
    rows = [*EU_ROWS[:2], ["10121", *EU_ROWS[0][1:]]]
    with pytest.raises(DataError) as exc:
        read_eu_sanctioned_hs6(write_csv(tmp_path / "eu.csv", EU_HEADER, rows))
    assert not isinstance(exc.value, SchemaViolation)
    assert (exc.value.row, exc.value.column, exc.value.value) == (4, "Code", "10121")
    assert "zero-padded" in str(exc.value)


def test_eu_sanctions_bad_cells_are_all_listed(tmp_path):
    rows = [list(r) for r in EU_ROWS]
    rows[1][6] = "2"                      # dual_use flag
    rows[2][1] = "25/02/2022"             # Date
    rows[3][1] = ""                       # sanctioned without date
    rows[4][0] = "010121"                 # duplicate code
    with pytest.raises(SchemaViolation) as exc:
        read_eu_sanctioned_hs6(write_csv(tmp_path / "eu.csv", EU_HEADER, rows))
    got = exc.value.failures[["row", "column"]].values.tolist()
    assert got == [[2, "Code"], [3, "dual_use"], [4, "Date"], [5, "Date"], [6, "Code"]]


def test_eu_sanctions_format_errors(tmp_path):
    path = write_csv(tmp_path / "eu.csv", EU_HEADER[:-1], [r[:-1] for r in EU_ROWS])
    with pytest.raises(SourceFormatError, match=r"lacks column\(s\) \['EU_sanction'\]"):
        read_eu_sanctioned_hs6(path)
    with pytest.raises(SourceFormatError, match="unsupported file type"):
        read_eu_sanctioned_hs6(write_csv(tmp_path / "eu.xlsx", EU_HEADER, EU_ROWS))
    with pytest.raises(SourceFormatError, match="file not found"):
        read_eu_sanctioned_hs6(tmp_path / "none.dta")


# --------------------------------------------------------------------------- entities
def test_normalize_name():
    assert normalize_name("OOO Sky Tech") == normalize_name("Sky Tech LLC") == "sky tech"
    assert normalize_name("SKY TECH CO., LTD.") == "sky tech"
    assert normalize_name("Candid General Trading LLC") == "candid general trading"
    assert normalize_name("ООО Ромашка") == "ромашка"
    assert normalize_name("株式会社アドミラルティ造船所") == "アドミラルティ造船所"
    assert normalize_name("北京旭润科技有限公司") == "北京旭润科技"
    assert normalize_name("Al Qa'ida/Islamic Army") == "al qaida islamic army"
    assert normalize_name("The Limited") == "limited"
    assert normalize_name("GMBH") == "gmbh"
    assert normalize_name(None) == "" and normalize_name(np.nan) == ""


ENTS = pd.DataFrame({
    "name": ["Sky Tech LLC", "Blue Ocean Trading FZE", "Volga Instruments JSC", "Nowhere Ltd"],
    "aliases": [None, "Blue Ocean General Trading", None, None],
    "country": ["ARE", "ARE", "RUS", None],
    "concern": ["nuclear, missile", "missile", SPECIFIED_CONCERN, "chemical"],
    "list_name": [EUL_LIST_NAME, EUL_LIST_NAME, "MOFA/METI specified entities (Russia)",
                  EUL_LIST_NAME],
    "source": [None] * 4,
})


def test_match_names_scores_and_blocking():
    m = match_names(["OOO Sky Tech", "Red Mountain Mining", "Blue Ocean Gen. Trading"], ENTS)
    assert m["query"].tolist() == ["OOO Sky Tech", "Red Mountain Mining",
                                   "Blue Ocean Gen. Trading"]
    assert m.loc[0, "candidate"] == "Sky Tech LLC" and m.loc[0, "score"] == 100
    assert bool(m.loc[0, "exact"])
    assert pd.isna(m.loc[1, "candidate"]) and np.isnan(m.loc[1, "score"])
    assert m.loc[2, "candidate"] == "Blue Ocean Trading FZE"
    assert m.loc[2, "matched_on"] == "Blue Ocean General Trading"
    assert 85 <= m.loc[2, "score"] < 100 and not m.loc[2, "exact"]
    low = match_names("Red Mountain Mining", ENTS, threshold=0, limit=None)
    assert len(low) == 4 and (low["score"] < 50).all()
    # blocking: a Russian query never sees the UAE entity, but sees the country-less one
    blocked = match_names(["Sky Tech", "Nowhere Limited"], ENTS, countries="RUS")
    assert pd.isna(blocked.loc[0, "candidate"])
    assert blocked.loc[1, "candidate"] == "Nowhere Ltd"
    per_query = match_names(["Sky Tech", "Sky Tech"], ENTS, countries=["ARE", "RUS"])
    assert per_query["candidate"].fillna("-").tolist() == ["Sky Tech LLC", "-"]


def test_match_names_bad_options():
    with pytest.raises(ConfigError, match="unknown scorer"):
        match_names("x", ENTS, scorer="levenshtein")
    with pytest.raises(ConfigError, match="outside 0-100"):
        match_names("x", ENTS, threshold=120)
    with pytest.raises(ConfigError, match="one code per name"):
        match_names(["a", "b"], ENTS, countries=["ARE"])
    wr = match_names("Sky Tech International", ENTS, scorer="WRatio", threshold=80)
    assert wr.loc[0, "candidate"] == "Sky Tech LLC"


def test_entities_by_country_tiny():
    out = entities_by_country(ENTS)
    are = out[out["country"] == "ARE"]
    assert are.values.tolist() == [
        ["ARE", EUL_LIST_NAME, "missile", 2], ["ARE", EUL_LIST_NAME, "nuclear", 1],
        ["ARE", EUL_LIST_NAME, "all", 2], ["ARE", "all", "all", 2]]
    assert out["country"].iloc[0] == "ARE"
    none = out[out["country"].isna()]
    assert none[["list_name", "concern", "n"]].values.tolist()[-1] == ["all", "all", 1]


def test_combine_lists_merges_same_entity_across_lists():
    other = pd.DataFrame({"name": ["OOO Sky Tech", "Sky Tech"], "aliases": ["SkyTech", None],
                          "country": ["ARE", "RUS"], "concern": [SPECIFIED_CONCERN] * 2,
                          "list_name": ["MOFA/METI specified entities (third countries)"] * 2,
                          "source": ["x", "x"]})
    out = combine_lists(ENTS, other)
    assert len(out) == 5
    sky = out[out["name"] == "Sky Tech LLC"].iloc[0]
    assert sky["aliases"] == "OOO Sky Tech; SkyTech"
    assert sky["list_name"] == (f"{EUL_LIST_NAME}; "
                                "MOFA/METI specified entities (third countries)")
    assert sky["concern"] == f"nuclear, missile; {SPECIFIED_CONCERN}"
    with pytest.raises(ConfigError):
        combine_lists()


# --------------------------------------------------------------------------- real files
@pytest.fixture(scope="module")
def real_eul(shared_data):
    return read_meti_end_user_list(
        shared_data / "jp-export-control-lists" / "meti_end_user_list_20250929_original.xlsx")


@pytest.mark.shared_data
def test_real_end_user_list_counts(real_eul, shared_data):
    check_entities(real_eul)
    assert len(real_eul) == 835
    counts = real_eul["country"].value_counts()
    assert counts[["IRN", "PRK", "CHN", "PAK", "RUS", "ARE", "HKG", "SYR", "LBN", "TWN"]
                  ].tolist() == [257, 154, 127, 103, 100, 29, 22, 19, 9, 5]
    assert (real_eul["source"] == "METI End User List (revision 2025-09-29)").all()
    assert real_eul["concern"].notna().all()
    assert real_eul["concern"].str.contains("conventional weapons").sum() == 240
    koryo = real_eul[real_eul["name"] == "Air Koryo"].iloc[0]
    assert (koryo["country"], koryo["aliases"]) == ("PRK", "高麗航空; Airkoryo")
    flat = read_meti_end_user_list(
        shared_data / "jp-export-control-lists" / "meti_end_user_list_20250929.csv")
    assert flat["name"].tolist() == real_eul["name"].tolist()
    assert flat["country"].tolist() == real_eul["country"].tolist()
    # the flattened CSV lost the type of six "ミサイルM" entries; the xlsx keeps them
    assert (flat["concern"].fillna("") != real_eul["concern"]).sum() == 6


@pytest.mark.shared_data
def test_real_specified_entities(shared_data):
    folder = shared_data / "jp-export-control-lists"
    ru = read_specified_entities(folder / "mofa_russia_specified_entities.csv")
    by = read_specified_entities(folder / "mofa_belarus_specified_entities.csv")
    third = read_specified_entities(folder / "mofa_third_country_specified_entities.csv")
    assert (ru.attrs["rows_read"], len(ru), ru.attrs["duplicate_rows_merged"]) == (561, 559, 2)
    assert (by.attrs["rows_read"], len(by), by.attrs["split_rows_merged"]) == (30, 27, 3)
    assert (third.attrs["rows_read"], len(third), third["name"].nunique()) == (56, 56, 55)
    assert set(ru["country"]) == {"RUS"} and set(by["country"]) == {"BLR"}
    assert third["country"].value_counts()[["HKG", "TUR", "CHN", "ARE"]].tolist() == \
        [23, 10, 8, 4]
    for frame in (ru, by, third):
        check_entities(frame)
        assert (frame["concern"] == SPECIFIED_CONCERN).all()
    assert ru["list_name"].iloc[0] == "MOFA/METI specified entities (Russia)"
    everything = combine_lists(ru, by, third)
    assert len(everything) == len(ru) + len(by) + len(third)


@pytest.mark.shared_data
def test_real_screening_against_end_user_list(real_eul):
    m = match_names(["Uralvagonzavod Corporation", "Kimia Part Sivan Co."], real_eul,
                    countries=["RUS", "IRN"], limit=1)
    assert m["candidate"].tolist() == ["Uralvagonzavod", "KIMIA PART SIVAN COMPANY LLC"]
    assert (m["score"] >= 90).all()
    by_country = entities_by_country(real_eul)
    total = by_country[(by_country["list_name"] == "all")].set_index("country")["n"]
    assert total.iloc[:3].to_dict() == {"IRN": 257, "PRK": 154, "CHN": 127}


@pytest.mark.shared_data
def test_real_eu_sanctions(shared_data):
    folder = shared_data / "eu-russia-sanctions-hs6"
    out = read_eu_sanctioned_hs6(folder / "eu_sanctions_hs6_chupilkin_et_al.csv")
    assert len(out) == 5369 and out["sanctioned"].sum() == 2304
    dates = out["date"].dt.strftime("%Y-%m-%d").value_counts()
    assert dates.to_dict() == {
        "2022-02-25": 894, "2022-03-15": 583, "2022-04-08": 583, "2023-02-25": 122,
        "2022-07-21": 31, "2022-06-04": 30, "2022-10-06": 30, "2016-12-22": 17,
        "2022-10-07": 8, "2022-12-17": 4, "2022-12-16": 2}
    assert out["category"].value_counts().to_dict() == {
        "dual-use/firearms/military": 1067, "industrial": 667, "luxury": 570}
    from analytics.reference import category_hs

    chpl = category_hs()
    chpl = chpl[chpl["category_id"].str.startswith("chpl_tier")]
    assert len(chpl) == 50
    joined = chpl.merge(out, on="hs6", how="left")
    assert joined["sanctioned"].eq(True).sum() == 44
    # the other six are HS2022 codes without an HS2017 row (SOURCE.md's "not flagged"
    # 8525.89 has no row either: HS2017 files cameras under 8525.80)
    assert sorted(joined.loc[joined["sanctioned"].isna(), "hs6"]) == [
        "852589", "854149", "854151", "854159", "854800", "880730"]
    assert (joined["date"] == pd.Timestamp("2022-02-25")).sum() == 40
    dta = read_eu_sanctioned_hs6(folder / "EU_sanctions_HS6_original.dta")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pd.testing.assert_frame_equal(dta, out)
