"""Synthetic shipments: consistent with the demo world, deterministic, chunked, and their
planted truth is detected by the analytics."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest
from test_shipments_fixtures import *  # noqa: F403 - the shared fixtures

from analytics import shipments as sh
from analytics.demo import SANCTIONING
from analytics.demo_shipments import (
    SHIPMENT_SCHEMA,
    iter_demo_shipments,
    make_demo_shipments,
    write_demo_shipments,
)
from analytics.errors import ConfigError
from analytics.schemas import Shipments, validate

COALITION = sorted(SANCTIONING)


@pytest.fixture(scope="module")
def codes(demo_world):
    return sh.category_codes(demo_world.dataset)


@pytest.fixture(scope="module")
def outbound_codes(demo_world, codes):
    cats = demo_world.dataset.categories
    out = cats.loc[cats["direction"] == "outbound", "category_id"]
    return tuple(sorted(set(codes.loc[codes["category_id"].isin(out), "code"])))


def test_deterministic_valid_and_exact_size(demo_world):
    a = make_demo_shipments(demo_world, n_rows=4_000, seed=3, years=(2022, 2022))
    b = make_demo_shipments(demo_world, n_rows=4_000, seed=3, years=(2022, 2022))
    pd.testing.assert_frame_equal(a.shipments, b.shipments)
    assert len(a.shipments) == 4_000 and a.shipments["declaration_id"].is_unique
    assert a.shipments["date"].dt.year.unique().tolist() == [2022]
    assert a.provenance["label"] == "synthetic demo data"
    # every brand of the records is in the brand table, with a known headquarters
    assert set(a.shipments["brand"].dropna()) <= set(a.brands["brand"])
    with pytest.raises(ConfigError, match="not in the demo world"):
        make_demo_shipments(demo_world, n_rows=10, years=(2010, 2011))
    with pytest.raises(ConfigError):
        make_demo_shipments(demo_world, n_rows=0)


def test_chunked_writer_gives_the_same_rows(demo_world, tmp_path):
    mem = make_demo_shipments(demo_world, n_rows=6_000, seed=2, years=(2023, 2023))
    disk = write_demo_shipments(demo_world, tmp_path / "s", n_rows=6_000, seed=2,
                                years=(2023, 2023))
    files = sorted((tmp_path / "s").rglob("*.parquet"))
    assert [f.parent.name for f in files] == [f"month=2023-{m:02d}" for m in range(1, 13)]
    assert all(pq.read_schema(f).equals(SHIPMENT_SCHEMA) for f in files)
    frame = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)
    frame = validate(frame, Shipments).sort_values(["date", "declaration_id"],
                                                   kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(frame, mem.shipments)
    pd.testing.assert_frame_equal(disk.truth.intermediaries, mem.truth.intermediaries)
    months = [m for m, chunk in iter_demo_shipments(demo_world, n_rows=6_000, seed=2,
                                                    years=(2023, 2023))]
    assert months == [f"2023-{m:02d}" for m in range(1, 13)]


def test_country_flows_match_the_world(demo_ship, demo_world, outbound_codes):
    """Summed by dispatch country, the records give back the world's flows: Russia's 2023
    imports of controlled goods by dispatcher (KSE-like shares: China ~half, Hong Kong
    ~a fifth)."""
    s = demo_ship.shipments
    sel = sh.select_shipments(s, destination="RUS", codes=outbound_codes,
                              start=pd.Timestamp("2023-01-01"), end=pd.Timestamp("2024-01-01"))
    got = sel.groupby("dispatch_country")["value_usd"].sum()
    got = got / got.sum()
    f = demo_world.dataset.flows
    w = f[(f["year"] == 2023) & (f["importer"] == "RUS") & f["hs6"].isin(
        {c for c in outbound_codes})].groupby("exporter")["value_usd"].sum()
    w = w / w.sum()
    top = w.sort_values(ascending=False).index[:5]
    assert list(top[:2]) == ["CHN", "HKG"]
    for c in top:
        assert got.get(c, 0.0) == pytest.approx(w[c], abs=0.04), c
    flows = sh.country_flows(s, by="dispatch")
    assert flows["year"].between(2021, 2024).all()


def test_attribution_shows_coalition_brands_via_third_countries(demo_ship, outbound_codes):
    s = demo_ship.shipments
    post = sh.select_shipments(s, destination="RUS", codes=outbound_codes,
                               start=pd.Timestamp("2023-01-01"))
    a = sh.attribute_shipments(post, demo_ship.brands, coalition=COALITION)
    # as in the public reports on Russia's 2023 imports: almost everything is dispatched
    # from third countries, yet most of it carries coalition brands
    assert a.summary["third_country_dispatch_share"] > 0.85
    assert a.summary["coalition_brand_share"] > 0.5
    assert a.summary["coalition_brand_via_third_share"] > 0.85
    assert a.by_dispatch["country"].iloc[0] == "CHN"
    # before the event, coalition-brand goods came mostly straight from the coalition
    pre = sh.select_shipments(s, destination="RUS", codes=outbound_codes,
                              end=pd.Timestamp("2022-01-01"))
    b = sh.attribute_shipments(pre, demo_ship.brands, coalition=COALITION)
    assert b.summary["coalition_brand_via_third_share"] < \
        a.summary["coalition_brand_via_third_share"] - 0.3


def test_planted_hubs_detected(demo_ship, demo_world, outbound_codes):
    """Hubs whose coalition-brand shipments to Russia grew more than threefold from 2021
    to 2023 are exactly the planted non-Chinese hubs (China, a planted route of small
    magnitude, grows less; the hubs without routes shrink)."""
    s = demo_ship.shipments
    hq = dict(zip(demo_ship.brands["brand"], demo_ship.brands["hq_country"], strict=True))
    r = sh.select_shipments(s, destination="RUS", codes=outbound_codes)
    r = r[r["brand"].map(hq).isin(COALITION).to_numpy()
          & ~r["dispatch_country"].isin(COALITION).to_numpy()]
    g = r.groupby([r["dispatch_country"], r["date"].dt.year])["value_usd"].sum().unstack(
        fill_value=0.0)
    growth = g[2023] / (g[2021] + 1e6)
    big = g[2023] / g[2023].sum() >= 0.005
    flagged = set(growth[(growth > 3) & big].index)
    planted = set(demo_world.truth.routes["hub"]) - {"CHN"}
    assert flagged == planted
    assert growth["CHN"] > 1.2
    for hub in demo_world.truth.hubs_without_routes:
        if hub in growth:
            assert growth[hub] < 1.0, hub
    # the generated diverted values follow the world's planted extra volumes
    tr = demo_ship.truth.routes
    gen = tr[(tr["year"] == 2023) & (tr["destination"] == "RUS")].groupby("hub")[
        "diverted_value"].sum()
    wt = demo_world.truth.routes
    world = wt[wt["destination"] == "RUS"].groupby("hub")["extra_value_2023"].sum()
    ratio = (gen / world).dropna()
    assert set(ratio.index) == set(world.index)
    assert ratio.between(0.5, 2.0).all(), ratio.to_dict()  # sampling noise: few rows


def test_intermediaries_detected(demo_ship, codes):
    agg = sh.aggregate_shipments(demo_ship.shipments, codes)
    ids = sh.firm_ids(agg.edges)
    inter = sh.intermediaries(sh.firm_graph(agg.category_edges, ids=ids),
                              coalition=COALITION)
    flagged = set(inter.loc[inter["flag"], "firm"])
    truth = set(demo_ship.truth.intermediaries["name"] + " ("
                + demo_ship.truth.intermediaries["country"] + ")")
    tp = len(flagged & truth)
    precision, recall = tp / len(flagged), tp / len(truth)
    assert precision >= 0.95 and recall >= 0.95, (precision, recall)
    # legitimate re-exporters of the hubs are intermediaries too, never flagged
    legit = inter[~inter["flag"]]
    assert set(legit["country"]) <= set(demo_ship.truth.reexport_traders)
    assert (legit["out_to_concern"] == 0).all()
    # planted ones forward within weeks of receiving
    planted = inter[inter["firm"].isin(truth)]
    assert planted["lag_days"].median() < 30
    # each hub's planted firms forward about what they receive (sampling noise aside)
    per_hub = planted.groupby("country")[["in_value", "out_value"]].sum()
    assert (per_hub["out_value"] / per_hub["in_value"]).between(0.4, 2.5).all()


def test_listed_consignees_screened_with_scores(demo_ship, demo_world):
    s = demo_ship.shipments
    tc = demo_ship.truth.listed_consignees
    scr = sh.screen_parties(s[s["importer_country"].isin(["RUS", "BLR"]).to_numpy()],
                            demo_world.dataset.entities, roles=("consignee",),
                            threshold=90, limit=3)
    best = scr.sort_values("score", ascending=False).drop_duplicates("name").set_index(
        "name")
    present = tc[tc["name"].isin(set(s["consignee"]))]
    assert len(present) >= 20
    for r in present.itertuples():
        row = best.loc[r.name]
        if r.variant in ("exact", "legal form"):
            assert (row["candidate"], row["status"], row["score"]) == (r.entity, "exact",
                                                                       100.0), r.name
        elif r.variant == "typo":
            assert row["status"] == "review" and 90 <= row["score"] < 100, r.name
            cands = set(scr.loc[scr["name"] == r.name, "candidate"])
            assert r.entity in cands
        else:  # a decoy: looks like a listed name, flagged for review, never exact
            assert row["status"] == "review" and not row["exact"], r.name
    # several candidates per name are shown, each with its own score
    multi = scr.groupby("name").size()
    assert (multi > 1).any()
