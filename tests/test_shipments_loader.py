"""The shipments loader: column mapping, codes, bad input (strict and lenient), brand
tables, atomic store updates."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analytics import store
from analytics.errors import (
    ConfigError,
    DataError,
    HSVersionError,
    SchemaViolation,
    SourceFormatError,
    StoreError,
    UnknownCountry,
)
from analytics.sources.shipments import (
    ingest_shipments,
    parse_mapping,
    read_brands,
    read_shipments,
    report_lines,
)

MAP = ("date=Date,declaration_id=No,consignee=Buyer,importer_country=Imp,shipper=Seller,"
       "dispatch_country=From,origin_country=Origin,brand=Brand,hs_code=HS,value_usd=USD,"
       "quantity=Qty")
HEADER = "Date,No,Buyer,Imp,Seller,From,Origin,Brand,HS,USD,Qty"
GOOD = [
    "2023-01-05,A1,OOO Alfa,643,HK Trade Ltd,HKG,JPN,Aster,8542.31.00,100,1",
    "2023-01-06,A2,OOO Alfa,RUS,HK Trade Ltd,344,392,Aster,85423100,50,",
    "2023-02-01,A3,OOO Beta,rus,Taipei Parts,490,158,Lotus,854231,20.5,3",
    "2023-02-02,A4,OOO Beta,RUS,Sao Paulo Ltda,076,76,,848210 00,5,2",
]


def _csv(tmp_path: Path, lines: list[str], name: str = "decl.csv", header=HEADER) -> Path:
    p = tmp_path / name
    p.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return p


def test_good_file_mapping_and_codes(tmp_path):
    s = read_shipments(_csv(tmp_path, GOOD), mapping=MAP)
    assert s["declaration_id"].tolist() == ["A1", "A2", "A3", "A4"]
    # ISO3 and M49 codes (leading zeros, 490/158 = Taiwan, case-insensitive ISO3)
    assert s["importer_country"].tolist() == ["RUS"] * 4
    assert s["dispatch_country"].tolist() == ["HKG", "HKG", "TWN", "BRA"]
    assert s["origin_country"].tolist() == ["JPN", "JPN", "TWN", "BRA"]
    # full HS code kept (dots and spaces removed); hs6 derived later
    assert s["hs_code"].tolist() == ["85423100", "85423100", "854231", "84821000"]
    assert s["brand"].isna().tolist() == [False, False, False, True]
    assert s["value_usd"].tolist() == [100.0, 50.0, 20.5, 5.0]
    assert s["quantity"].isna().tolist() == [False, True, False, False]
    assert s["date"].iloc[0] == pd.Timestamp("2023-01-05")


def test_mapping_errors(tmp_path):
    assert parse_mapping("date = D ,value_usd=V") == {"date": "D", "value_usd": "V"}
    with pytest.raises(ConfigError, match="not a shipments column"):
        parse_mapping("when=Date")
    with pytest.raises(ConfigError, match="not canonical=column"):
        parse_mapping("date")
    with pytest.raises(ConfigError, match="twice"):
        parse_mapping("date=A,date=B")
    p = _csv(tmp_path, GOOD)
    with pytest.raises(SourceFormatError, match="'Datum' .mapped to date. is not in the file"
                       ) as err:
        read_shipments(p, mapping=MAP.replace("date=Date", "date=Datum"))
    assert "Date, No, Buyer" in str(err.value) and err.value.row == 1
    with pytest.raises(SourceFormatError, match="no column for consignee") as err:
        read_shipments(p, mapping=MAP.replace("consignee=Buyer,", ""))
    assert "--map consignee=" in str(err.value)


@pytest.mark.parametrize("line,column,value,problem,error", [
    ("2023-01-07,B1,OOO Alfa,RUS,HK Trade Ltd,HKG,JPN,Aster,854231,-5,", "USD", "-5",
     "negative value", DataError),
    ("2023-13-07,B1,OOO Alfa,RUS,HK Trade Ltd,HKG,JPN,Aster,854231,5,", "Date",
     "2023-13-07", "not a date", DataError),
    ("2023-01-07,B1,OOO Alfa,XXX,HK Trade Ltd,HKG,JPN,Aster,854231,5,", "Imp", "XXX",
     "unknown country code", UnknownCountry),
    ("2023-01-07,B1,OOO Alfa,RUS,HK Trade Ltd,0,JPN,Aster,854231,5,", "From", "0",
     "unknown country code", UnknownCountry),
    ("2023-01-07,B1,OOO Alfa,RUS,HK Trade Ltd,HKG,JPN,Aster,8542,5,", "HS", "8542",
     "not an HS code of 6 to 10 digits", DataError),
    ("2023-01-07,B1,OOO Alfa,RUS,HK Trade Ltd,HKG,JPN,Aster,854231,5,abc", "Qty", "abc",
     "quantity is not a non-negative number", DataError),
    ("2023-01-07,B1,OOO Alfa,RUS,HK Trade Ltd,HKG,JPN,Aster,854231,x,", "USD", "x",
     "value is not a finite number", DataError),
    ("2023-01-07,B1,OOO Alfa,RUS,,HKG,JPN,Aster,854231,5,", "Seller", None,
     "missing required field", DataError),
])
def test_one_bad_row_names_file_line_column_value(tmp_path, line, column, value, problem,
                                                  error):
    p = _csv(tmp_path, [GOOD[0], GOOD[1], line, GOOD[2]])
    with pytest.raises(error) as err:
        read_shipments(p, mapping=MAP)
    msg = str(err.value)
    assert "decl.csv" in msg and "row 4" in msg and f"column {column!r}" in msg
    assert problem in msg and "--lenient" in msg
    if value is not None:
        assert repr(value) in msg
    # lenient: the row is dropped and counted
    with pytest.warns(UserWarning, match="dropped 1 bad row"):
        s = read_shipments(p, mapping=MAP, lenient=True)
    assert s["declaration_id"].tolist() == ["A1", "A2", "A3"]


def test_malformed_line_is_a_format_error(tmp_path):
    p = _csv(tmp_path, [GOOD[0], GOOD[1] + ",extra,fields", GOOD[2]])
    with pytest.raises(SourceFormatError, match="malformed line") as err:
        read_shipments(p, mapping=MAP)
    assert err.value.row == 3
    with pytest.warns(UserWarning, match="shp_malformed_line"):
        s = read_shipments(p, mapping=MAP, lenient=True)
    assert s["declaration_id"].tolist() == ["A1", "A3"]


def test_several_problems_listed_and_counted_leniently(tmp_path, tmp_path_factory):
    bad = [
        "2023-01-07,B1,OOO Alfa,RUS,HK Trade Ltd,HKG,JPN,Aster,854231,-5,",
        "2023-01-08,B2,OOO Alfa,XXX,HK Trade Ltd,HKG,JPN,Aster,854231,5,",
        "2023-01-09,B3,OOO Alfa,YYY,HK Trade Ltd,HKG,JPN,Aster,854231,5,",
        "2023-01-10,B4,OOO Alfa,RUS,HK Trade Ltd,HKG,JPN,Aster,85,5,",
    ]
    p = _csv(tmp_path, [GOOD[0], *bad, GOOD[1]])
    with pytest.raises(SchemaViolation) as err:
        read_shipments(p, mapping=MAP)
    f = err.value.failures
    assert f[["row", "column", "value"]].values.tolist() == [
        [3, "USD", "-5"], [4, "Imp", "XXX"], [5, "Imp", "YYY"], [6, "HS", "85"]]
    assert "4 bad row(s)" in str(err.value) and "unknown country code x2" in str(err.value)
    # into a store, leniently: counts per reason in the report and the provenance
    st = tmp_path_factory.mktemp("lenient") / "store"
    rep = ingest_shipments([p], st, mapping=MAP, lenient=True, hs_version="HS2017")
    assert rep.dropped == {"shp_negative_value": 1, "shp_unknown_country": 2,
                           "shp_bad_hs_code": 1}
    assert rep.details["rows"] == 2
    assert sorted(e["line"] for e in rep.examples) == [3, 4, 5, 6]
    prov = store.store_info(st)["provenance"]["shipments"]
    assert prov["dropped"] == rep.dropped and prov["lenient"] is True
    assert prov["files"]["decl.csv"]["rows_read"] == 6
    assert any("dropped (--lenient)" in line for line in report_lines(rep))


def test_duplicate_declarations(tmp_path):
    same = _csv(tmp_path, [GOOD[0], GOOD[1], GOOD[0]], "same.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an exact duplicate is a note, not a drop
        s = read_shipments(same, mapping=MAP)
    assert s["declaration_id"].tolist() == ["A1", "A2"]
    conflict = _csv(tmp_path, [GOOD[0], GOOD[1], GOOD[0].replace(",100,", ",999,")],
                    "conflict.csv")
    with pytest.raises(SchemaViolation, match="repeated with different contents") as err:
        read_shipments(conflict, mapping=MAP)
    f = err.value.failures
    assert f[["row", "column", "value"]].values.tolist() == [[2, "No", "A1"],
                                                             [4, "No", "A1"]]
    with pytest.warns(UserWarning, match="shp_duplicate_id': 2"):
        s = read_shipments(conflict, mapping=MAP, lenient=True)
    assert s["declaration_id"].tolist() == ["A2"]


def test_duplicates_across_files(tmp_path):
    a = _csv(tmp_path, [GOOD[0], GOOD[1]], "a.csv")
    b = _csv(tmp_path, [GOOD[1].replace(",50,", ",51,")], "b.csv")
    with pytest.raises(SchemaViolation) as err:
        read_shipments([a, b], mapping=MAP)
    sources = {Path(s).name for s in err.value.failures["source"]}
    assert sources == {"a.csv", "b.csv"}


def test_parquet_input_with_integer_codes_and_date_format(tmp_path):
    t = pa.table({
        "Date": ["05.01.2023", "06.01.2023"], "No": [1, 2], "Buyer": ["OOO Alfa", "OOO B"],
        "Imp": [643, 643], "Seller": ["HK Trade", "HK Trade"], "From": [344, 156],
        "Origin": [None, 392], "Brand": [None, "Aster"],
        "HS": pa.array([8423100, 85423100], pa.int64()),  # 08423100 lost its zero
        "USD": [10, 20],
    })
    p = tmp_path / "decl.parquet"
    pq.write_table(t, p)
    m = MAP.replace(",quantity=Qty", "")
    s = read_shipments(p, mapping=m, date_format="%d.%m.%Y")
    assert s["hs_code"].tolist() == ["08423100", "85423100"]
    assert s["declaration_id"].tolist() == ["1", "2"]
    assert s["dispatch_country"].tolist() == ["HKG", "CHN"]
    assert s["origin_country"].isna().tolist() == [True, False]
    assert s["quantity"].isna().all()
    assert s["date"].tolist() == [pd.Timestamp("2023-01-05"), pd.Timestamp("2023-01-06")]
    # a Parquet problem names the row
    bad = t.set_column(3, "Imp", pa.array([643, 999]))
    pq.write_table(bad, p)
    with pytest.raises(UnknownCountry, match=r"decl.parquet, row 2, column 'Imp'"):
        read_shipments(p, mapping=m, date_format="%d.%m.%Y")


def test_brand_table(tmp_path):
    p = tmp_path / "brands.csv"
    p.write_text("brand,hq_country,source\nAster,JPN,web\nLotus,156,\nKraft,deu,web\n")
    b = read_brands(p)
    assert b[["brand", "hq_country"]].values.tolist() == [["Aster", "JPN"], ["Lotus", "CHN"],
                                                          ["Kraft", "DEU"]]
    p.write_text("brand,hq_country\nAster,JPN\nLotus,Narnia\n")
    with pytest.raises(UnknownCountry, match=r"brands.csv, row 3, column 'hq_country'"):
        read_brands(p)
    p.write_text("brand,hq_country\nAster,JPN\nAster,USA\n")
    with pytest.raises(SchemaViolation, match="unique"):
        read_brands(p)
    p.write_text("name,country\nAster,JPN\n")
    with pytest.raises(SourceFormatError, match="wrong header"):
        read_brands(p)


def test_ingest_into_a_new_store(tmp_path):
    p = _csv(tmp_path, [*GOOD, "2023-03-01,A5,OOO Gamma,RUS,Moscow Re-import,RUS,,,854231,7,",
                        "2022-12-31,A6,OOO Gamma,KAZ,Almaty Ltd,RUS,RUS,Nobrand,854231,7,"])
    brands = tmp_path / "brands.csv"
    brands.write_text("brand,hq_country\nAster,JPN\nLotus,TWN\n")
    st = tmp_path / "store"
    with pytest.raises(HSVersionError, match="--hs-version"):
        ingest_shipments([p], st, mapping=MAP)
    assert not st.exists()
    rep = ingest_shipments([p], st, mapping=MAP, brands=brands, hs_version="HS2017")
    assert rep.years == [2022, 2023] and rep.rows_written == {2022: 1, 2023: 5}
    # documented handling, counted
    assert rep.notes == {"shp_domestic": 1, "shp_no_origin": 1, "shp_unknown_brand": 1}
    parts = store.table_partitions(st, "shipments")
    assert parts["partition"].tolist() == ["2022-12", "2023-01", "2023-02", "2023-03"]
    ds = store.read_dataset(st)
    assert ds.shipments is None and ds.flows.empty and len(ds.countries) > 100
    assert ds.brands["brand"].tolist() == ["Aster", "Lotus"]
    prov = ds.provenance["shipments"]
    assert prov["mapping"]["value_usd"] == "USD" and len(prov["files"]["decl.csv"]["sha256"]) \
        == 64
    lines = report_lines(rep)
    assert lines[0].startswith("shipments: 6 records in 4 month(s)")
    # a failing ingest leaves the store as it was
    sid = store.snapshot_id(st)
    bad = _csv(tmp_path, [GOOD[0].replace(",100,", ",-1,")], "bad.csv")
    with pytest.raises(DataError):
        ingest_shipments([bad], st, mapping=MAP)
    assert store.snapshot_id(st) == sid
    assert not [d for d in st.iterdir() if d.name.startswith(".ingest")]
    # append keeps the months the new file does not cover
    new = _csv(tmp_path, ["2024-01-02,C1,OOO Alfa,RUS,HK Trade Ltd,HKG,JPN,Aster,854231,9,"],
               "new.csv")
    ingest_shipments([new], st, mapping=MAP, append=True)
    assert store.store_info(st)["rows"]["shipments"] == 7
    # the brand table stays when no new one is given
    assert store.read_dataset(st).brands["brand"].tolist() == ["Aster", "Lotus"]
    with pytest.raises(HSVersionError):
        ingest_shipments([new], st, mapping=MAP, hs_version="HS2022")


def test_real_shipments_never_go_into_a_demo_store(tmp_path, empty_store_path):
    p = _csv(tmp_path, GOOD)
    with pytest.raises(StoreError, match="synthetic demo data"):
        ingest_shipments([p], empty_store_path, mapping=MAP)


@pytest.fixture
def empty_store_path(tmp_path, demo_world):
    path = tmp_path / "demo"
    store.write_dataset(demo_world.dataset, path)
    return path
