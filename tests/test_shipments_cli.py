"""The shipments commands end to end: demo-shipments, attribution (local and on a Dask
cluster), aggregate-shipments, ingest shipments."""

from __future__ import annotations

import pandas as pd
import pytest
from test_shipments_fixtures import *  # noqa: F403 - the shared fixtures
from test_shipments_fixtures import N_ROWS

from analytics import shipments as sh
from analytics import store
from analytics.cli import main
from analytics.demo import SANCTIONING
from analytics.outputs import read_about

pytestmark = pytest.mark.filterwarnings(
    "ignore:The inplace keyword in DataFrame.reset_index")


def test_demo_shipments_built_the_store(shipments_store, demo_ship):
    info = store.store_info(shipments_store)
    assert info["synthetic"] and info["rows"]["shipments"] == N_ROWS
    assert set(info["derived"]) >= {"category_flows", "shipments_flows_dispatch",
                                    "shipments_flows_origin", "shipments_firm_edges",
                                    "shipments_category_edges"}
    assert info["provenance"]["shipments"]["label"] == "synthetic demo data"
    ds = store.read_dataset(shipments_store)
    assert ds.shipments is None and len(ds.brands) == len(demo_ship.brands)
    # the same rows as the in-memory generator (same world, seed and size)
    got = store.read_table(shipments_store, "shipments", columns=["declaration_id",
                                                                  "value_usd"])
    assert got["value_usd"].sum() == pytest.approx(demo_ship.shipments["value_usd"].sum())
    assert set(got["declaration_id"]) == set(demo_ship.shipments["declaration_id"])
    # the derived flows are canonical flows, equal to the pandas aggregation
    codes = sh.category_codes(ds)
    ref = sh.aggregate_shipments(demo_ship.shipments, codes)
    derived = store.read_derived(shipments_store, "shipments_flows_dispatch")
    a = ref.flows_dispatch.sort_values(sh.FLOW_KEYS).reset_index(drop=True)
    b = derived.sort_values(sh.FLOW_KEYS).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("ext", ["csv", "xlsx", "parquet"])
def test_attribution_command(shipments_store, demo_ship, tmp_path, capsys, ext):
    out = tmp_path / f"attr.{ext}"
    coalition = ",".join(sorted(SANCTIONING))
    assert main(["attribution", "--store", str(shipments_store), "--destination", "rus",
                 "--category", "chpl_tier1", "--period", "2023-01:2023-12",
                 "--coalition", coalition, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "RUS chpl_tier1 2023-01:2023-12 (synthetic demo data)" in text
    assert "dispatched from third countries" in text
    table = {"csv": pd.read_csv, "xlsx": pd.read_excel, "parquet": pd.read_parquet}[ext](out)
    assert set(table["section"]) == {"by_dispatch", "by_origin", "by_brand_hq",
                                     "top_brands", "top_shippers", "summary"}
    about = read_about(out)
    assert about["destination"] == "RUS" and about["synthetic"] == "synthetic demo data"
    assert about["period"] == "2023-01:2023-12"
    # the same numbers as pandas on the same rows
    ds = store.read_dataset(shipments_store)
    codes = sh.category_codes(ds, ["chpl_tier1"])["code"]
    sel = sh.select_shipments(demo_ship.shipments, destination="RUS", codes=codes,
                              start=pd.Timestamp("2023-01-01"), end=pd.Timestamp("2024-01-01"))
    ref = sh.attribute_shipments(sel, demo_ship.brands, coalition=sorted(SANCTIONING))
    summ = table[table["section"] == "summary"].set_index("name")["value_usd"]
    for key in ("total_value", "third_country_dispatch_share", "coalition_brand_share",
                "coalition_brand_via_third_share"):
        assert summ[key] == pytest.approx(ref.summary[key]), key
    disp = table[table["section"] == "by_dispatch"].set_index("country")["share"]
    assert disp.to_dict() == pytest.approx(ref.by_dispatch.set_index("country")["share"]
                                           .to_dict())


def test_attribution_on_a_dask_cluster(shipments_store, tmp_path, capsys):
    from distributed import LocalCluster

    out_local, out_cluster = tmp_path / "local.csv", tmp_path / "cluster.csv"
    args = ["attribution", "--store", str(shipments_store), "--destination", "RUS",
            "--period", "2023"]
    assert main([*args, "--out", str(out_local)]) == 0
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        assert main([*args, "--scheduler", cluster.scheduler_address,
                     "--out", str(out_cluster)]) == 0
    a, b = pd.read_csv(out_local), pd.read_csv(out_cluster)
    pd.testing.assert_frame_equal(a, b, check_exact=False)
    assert read_about(out_cluster)["scheduler"].startswith("inproc://") or \
        read_about(out_cluster)["scheduler"].startswith("tcp://")


def test_attribution_errors(shipments_store, empty_store, tmp_path, capsys):
    base = ["attribution", "--store", str(shipments_store), "--destination", "RUS",
            "--out", str(tmp_path / "x.csv")]
    assert main([*base, "--category", "nope"]) == 2
    assert "unknown category" in capsys.readouterr().err
    assert main([*base, "--period", "2023-13"]) == 2
    assert "YYYY or YYYY-MM" in capsys.readouterr().err
    assert main([*base, "--period", "2030"]) == 2
    assert "holds no shipments in 2030" in capsys.readouterr().err
    assert main(["attribution", "--store", str(empty_store), "--destination", "RUS",
                 "--out", str(tmp_path / "y.csv")]) == 2
    err = capsys.readouterr().err
    assert "chokepoint demo-shipments" in err and "Traceback" not in err
    assert main(["attribution", "--store", str(tmp_path / "none"), "--destination", "RUS",
                 "--out", str(tmp_path / "z.csv")]) == 2
    assert main([*base, "--coalition", "nope"]) == 2
    assert not (tmp_path / "x.csv").exists()


def test_aggregate_shipments_command(shipments_store, tmp_path, capsys):
    out = tmp_path / "agg"
    assert main(["aggregate-shipments", "--store", str(shipments_store), "--out-dir",
                 str(out), "--no-derived"]) == 0
    text = capsys.readouterr().out
    assert "shipments_firm_edges:" in text
    edges = pd.read_parquet(out / "shipments_firm_edges.parquet")
    derived = store.read_derived(shipments_store, "shipments_firm_edges")
    a = edges.sort_values(sh.EDGE_KEYS).reset_index(drop=True)
    b = derived.sort_values(sh.EDGE_KEYS).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)


MAP = ("date=Date,declaration_id=No,consignee=Buyer,importer_country=Imp,shipper=Seller,"
       "dispatch_country=From,origin_country=Origin,brand=Brand,hs_code=HS,value_usd=USD")


def test_ingest_shipments_command(tmp_path, capsys):
    csv = tmp_path / "decl.csv"
    csv.write_text("Date,No,Buyer,Imp,Seller,From,Origin,Brand,HS,USD\n"
                   "2023-01-05,A1,OOO Alfa,643,HK Trade Ltd,HKG,JPN,Aster,8542.31.00,100\n"
                   "2023-02-05,A2,OOO Alfa,643,HK Trade Ltd,HKG,JPN,Aster,854231,-3\n"
                   "2023-02-06,A3,OOO Beta,643,Istanbul Ltd,TUR,DEU,Kraft,848210,40\n")
    brands = tmp_path / "brands.csv"
    brands.write_text("brand,hq_country\nAster,JPN\nKraft,276\n")
    st = tmp_path / "store"
    args = ["ingest", "shipments", str(csv), "--store", str(st), "--map", MAP, "--brands",
            str(brands), "--hs-version", "HS2017", "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "decl.csv, row 3, column 'USD': value '-3': negative value" in err
    assert "--lenient" in err and not st.exists()
    assert main([*args, "--lenient"]) == 0
    out = capsys.readouterr().out
    assert "shipments: 2 records in 2 month(s)" in out and "negative value" in out
    assert store.read_dataset(st).brands["hq_country"].tolist() == ["JPN", "DEU"]
    # then the batch attribution on it
    res = tmp_path / "res.csv"
    assert main(["attribution", "--store", str(st), "--destination", "RUS", "--coalition",
                 "JPN,DEU", "--out", str(res)]) == 0
    t = pd.read_csv(res)
    summ = t[t["section"] == "summary"].set_index("name")["value_usd"]
    assert summ["total_value"] == 140.0 and summ["coalition_brand_share"] == 1.0
    assert summ["third_country_dispatch_share"] == 1.0


def test_ingest_help_lists_shipments(capsys):
    with pytest.raises(SystemExit):
        main(["ingest", "shipments", "--help"])
    assert "--map" in capsys.readouterr().out
