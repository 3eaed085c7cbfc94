"""Listed entities into a store (``chokepoint ingest lists``): merge, replace, rescore.

Fixtures are tiny lists in the official layouts (the METI End User List's flattened CSV
and a MOFA/METI specified-entity CSV) written into ``tmp_path``; the real lists are read
through ``shared_data`` (skipped with a reason when ../shared/data is absent).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from analytics import store
from analytics.errors import DataError, StoreNotFound, UnknownCountry
from analytics.sources.lists import ingest_lists

EUL_HEADER = ["no", "country_ja", "country_en", "name", "aliases", "wmd_concern",
              "conventional_weapons"]
SPEC_HEADER = ["entry_number", "name_en", "name_ja", "aliases_en", "aliases_ja",
               "country_code", "address", "announcement_dates", "parse_note"]


def _csv(path: Path, header, rows) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture()
def lists(tmp_path):
    eul = _csv(tmp_path / "meti_end_user_list_20250929.csv", EUL_HEADER, [
        [1, "トルコ", "Republic of Turkey", "Anka Makina", "", "M", 0],
        [2, "トルコ", "Republic of Turkey", "Bosphorus Parts", "", "", 1],
        [3, "カザフスタン", "Republic of Kazakhstan", "Steppe Optics", "", "N,M", 0],
    ])
    spec = _csv(tmp_path / "mofa_russia_specified_entities.csv", SPEC_HEADER, [
        ["1", "Irkut Corporation", "", "", "", "RU", "Moscow", "2022-03-15", ""],
        ["2", "Argut OOO", "", "", "", "RU", "Moscow", "2022-03-15", ""],
    ])
    return eul, spec


@pytest.fixture()
def small_store(tmp_path, demo_world):
    from analytics.precompute import precompute_store

    path = tmp_path / "store"
    ds = demo_world.dataset
    store.write_dataset(ds.replace(flows=ds.flows[ds.flows["year"].isin([2021, 2023])],
                                   entities=None), path)
    assert precompute_store(path, did=False) == ["category_flows", "risk_scores"]
    return path


def _scores(path):
    r = store.read_derived(path, "risk_scores")
    return r[(r["coalition"] == "group_a") & (r["year"] == 2023)].set_index(
        ["category_id", "destination"])


def test_lists_become_the_store_entities_and_rescore(small_store, lists):
    eul, spec = lists
    before = _scores(small_store)
    assert (before["n_entities"] == 0).all()
    flows_before = store.load_flows(small_store)
    rep = ingest_lists(small_store, end_user_list=eul, specified=[spec])
    ents = store.read_dataset(small_store, years=[]).entities
    assert sorted(ents["name"]) == ["Anka Makina", "Argut OOO", "Bosphorus Parts",
                                    "Irkut Corporation", "Steppe Optics"]
    assert rep.details["by_list"] == {"METI End User List": 3,
                                      "MOFA/METI specified entities (Russia)": 2}
    assert rep.details["countries"] == {"RUS": 2, "TUR": 2, "KAZ": 1}
    assert rep.details["rescored"] is True
    # flows untouched, provenance names the lists
    assert store.load_flows(small_store).equals(flows_before)
    prov = store.manifest(small_store)["provenance"]["entities"]
    assert "METI End User List" in prov["source"]
    # the score now counts them: TUR has 2 entities, one conventional weapons (0.5)
    after = _scores(small_store)
    tur = after.xs("TUR", level="destination")
    assert (tur["n_entities"] == 2).all()
    assert tur["entity_weight"].iloc[0] == pytest.approx(1.5)
    assert (tur["listed_entities"] > 0).all()
    key = tur.index[0]
    assert after.loc[(key, "TUR"), "risk"] > before.loc[(key, "TUR"), "risk"]


def test_reloading_a_list_replaces_only_that_list(small_store, lists, tmp_path):
    eul, spec = lists
    ingest_lists(small_store, end_user_list=eul, specified=[spec])
    # a new revision of the Russia list: one entity delisted
    spec2 = _csv(tmp_path / "russia2.csv", SPEC_HEADER, [
        ["1", "Irkut Corporation", "", "", "", "RU", "Moscow", "2022-03-15", ""]])
    ingest_lists(small_store, specified=[spec2])
    names = sorted(store.read_dataset(small_store, years=[]).entities["name"])
    assert names == ["Anka Makina", "Bosphorus Parts", "Irkut Corporation", "Steppe Optics"]
    # the same file twice changes nothing
    ingest_lists(small_store, specified=[spec2])
    assert len(store.read_dataset(small_store, years=[]).entities) == 4
    # replace=True drops every other list
    ingest_lists(small_store, specified=[spec2], replace=True)
    assert store.read_dataset(small_store, years=[]).entities["name"].tolist() == [
        "Irkut Corporation"]


def test_bad_list_leaves_the_store_unchanged(small_store, lists, tmp_path):
    eul, _ = lists
    ingest_lists(small_store, end_user_list=eul)
    snap = store.snapshot_id(small_store)
    bad = _csv(tmp_path / "russia.csv", SPEC_HEADER, [
        ["1", "A Co", "", "", "", "RU", "", "2022-03-15", ""],
        ["2", "B Co", "", "", "", "XX", "", "2022-03-15", ""]])
    with pytest.raises(UnknownCountry, match=r"row 3, column 'country_code': value 'XX'"):
        ingest_lists(small_store, specified=[bad])
    assert store.snapshot_id(small_store) == snap
    with pytest.warns(UserWarning, match="dropped 1"):
        rep = ingest_lists(small_store, specified=[bad], lenient=True)
    assert rep.details["entities"] == 4


def test_errors(tmp_path, lists):
    eul, _ = lists
    with pytest.raises(StoreNotFound, match="create one first"):
        ingest_lists(tmp_path / "nowhere", end_user_list=eul)
    with pytest.raises(DataError, match="no list to load"):
        ingest_lists(tmp_path / "nowhere")


def test_cli_ingest_lists(small_store, lists, capsys):
    from analytics.cli import main

    eul, spec = lists
    assert main(["ingest", "lists", "--store", str(small_store), "--end-user-list", str(eul),
                 "--specified", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "listed entities: 5 written" in out
    assert "METI End User List" in out and "risk_scores recomputed" in out


def test_real_lists_into_a_store(small_store, shared_data):
    d = shared_data / "jp-export-control-lists"
    rep = ingest_lists(small_store,
                       end_user_list=d / "meti_end_user_list_20250929_original.xlsx",
                       specified=sorted(d.glob("mofa_*_specified_entities.csv")))
    by_list = rep.details["by_list"]
    assert by_list["METI End User List"] == 835
    assert by_list["MOFA/METI specified entities (Belarus)"] >= 25
    assert rep.details["countries"]["IRN"] >= 257  # EUL: Iran 257 entries
    hub = _scores(small_store).xs("HKG", level="destination")
    assert (hub["n_entities"] > 20).all()
