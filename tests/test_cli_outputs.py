"""Batch outputs: ``chokepoint score``, ``routes`` and ``chokepoints`` in CSV, Excel and
Parquet (columns, the ``about`` provenance), atomic writes, and the error messages."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analytics.cli import main
from analytics.dataset import SYNTHETIC_LABEL
from analytics.errors import ConfigError
from analytics.outputs import read_about, write_table
from analytics.risk import COMPONENTS

FORMATS = ("csv", "xlsx", "parquet")
SHEETS = {"score": "scores", "routes": "routes", "chokepoints": "chokepoints"}

SCORE_COLUMNS = ["year", "category_id", "destination", "category_name", "destination_name",
                 "risk", "rank", *COMPONENTS]
ROUTES_COLUMNS = ["year", "destination", "category_id", "origin", "hub", "route", "value_usd",
                  "share_of_imports", "route_pre_value", "route_post_value", "route_growth",
                  "route_z_score", "route_flagged", "hub_rank", "hub_score", "hub_growth",
                  "hub_eaeu", "hub_prior", "hub_listed_entities", "origin_name", "hub_name"]
CHOKEPOINTS_COLUMNS = ["category_id", "category_name", "direction", "year", "world_trade",
                       "top_exporter", "top_exporter_share", "origin_hhi", "top_origin",
                       "top_origin_share", "coalition_origin_share",
                       "n_dependent_importers", "n_persistent_importers",
                       "persistent_importers"]

ARGS = {
    "score": ["--year", "2024", "--categories", "chpl_tier1", "chipmaking_equipment",
              "bearings"],
    "routes": ["--destination", "RUS", "--year", "2024", "--category", "chpl_tier1"],
    "chokepoints": ["--year", "2024", "--coalition", "jp_us_nl"],
}
#: (command, format) run with other arguments: routes over every outbound category
EXTRA = {("routes", "xlsx"): ["--destination", "rus", "--year", "2024"]}


def _read(path: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    if path.suffix == ".csv":
        return pd.read_csv(path), read_about(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path), read_about(path)
    sheets = pd.read_excel(path, sheet_name=None)
    assert list(sheets)[1:] == ["about"], list(sheets)
    about = sheets["about"].fillna("")
    return sheets[list(sheets)[0]], dict(zip(about["key"], about["value"].astype(str),
                                             strict=True))


@pytest.fixture(scope="module")
def outputs(demo_store, tmp_path_factory):
    """Every batch command written in every format: {(command, ext): (frame, about)}."""
    folder = tmp_path_factory.mktemp("batch")
    got = {}
    for cmd, args in ARGS.items():
        for ext in FORMATS:
            path = folder / f"{cmd}.{ext}"
            run = EXTRA.get((cmd, ext), args)
            assert main([cmd, "--store", str(demo_store), *run, "--out", str(path)]) == 0
            got[(cmd, ext)] = _read(path)
            if ext == "xlsx":
                import openpyxl

                wb = openpyxl.load_workbook(path, read_only=True)
                assert wb.sheetnames == [SHEETS[cmd], "about"]
    return got


@pytest.mark.parametrize("ext", FORMATS)
def test_score_columns(outputs, ext):
    frame, about = outputs[("score", ext)]
    assert list(frame.columns[:len(SCORE_COLUMNS)]) == SCORE_COLUMNS
    assert "explanation" in frame.columns
    assert frame["risk"].between(0, 100).all() and frame["risk"].is_monotonic_decreasing
    assert list(frame["rank"]) == list(range(1, len(frame) + 1))
    assert (frame["year"] == 2024).all()
    assert set(frame["category_id"]) == {"chpl_tier1", "chipmaking_equipment", "bearings"}
    assert about["synthetic"] == SYNTHETIC_LABEL and about["year"] == "2024"
    assert "group_a" in about["coalition"] and "JPN" in about["coalition"]
    assert "risk_config.toml" in about["config"] and "weights" in about["config"]
    assert "analytics.demo" in about["provenance.flows"]


@pytest.mark.parametrize("ext", FORMATS)
def test_routes_columns(outputs, ext):
    frame, about = outputs[("routes", ext)]
    assert list(frame.columns) == ROUTES_COLUMNS
    assert (frame["destination"] == "RUS").all() and (frame["value_usd"] > 0).all()
    assert set(frame["route"]) <= {"direct", "via coalition", "via hub"}
    hubs = frame[frame["route"] == "via hub"]
    assert hubs["hub_rank"].notna().all() and hubs["route_growth"].notna().all()
    # one row per (category, origin, hub)
    assert not frame.duplicated(["category_id", "origin", "hub"]).any()
    assert about["destination"] == "RUS" and about["event_year"] == "2022"
    assert about["synthetic"] == SYNTHETIC_LABEL
    if ext == "xlsx":  # every outbound category
        assert frame["category_id"].nunique() > 5
    else:
        assert set(frame["category_id"]) == {"chpl_tier1"}


@pytest.mark.parametrize("ext", FORMATS)
def test_chokepoints_columns(outputs, ext, demo_world):
    frame, about = outputs[("chokepoints", ext)]
    assert list(frame.columns[:5]) == CHOKEPOINTS_COLUMNS[:5]
    assert set(CHOKEPOINTS_COLUMNS) <= set(frame.columns)
    assert list(frame.columns[-3:]) == CHOKEPOINTS_COLUMNS[-3:]
    assert sorted(frame["category_id"]) == sorted(demo_world.dataset.categories["category_id"])
    assert (frame["n_persistent_importers"] >= 0).all()
    assert "jp_us_nl" in about["coalition"] and "NLD" in about["coalition"]


def test_formats_agree(outputs):
    for cmd in ARGS:
        cols = [list(outputs[(cmd, ext)][0].columns) for ext in FORMATS]
        assert cols[0] == cols[1] == cols[2], cmd
        same = [ext for ext in FORMATS if (cmd, ext) not in EXTRA]
        assert len({len(outputs[(cmd, ext)][0]) for ext in same}) == 1
        a, b = (outputs[(cmd, ext)][0] for ext in same[:2])
        pd.testing.assert_frame_equal(a.select_dtypes("number"), b.select_dtypes("number"),
                                      check_dtype=False)


def test_unknown_extension_is_a_clear_error(demo_store, tmp_path, capsys):
    out = tmp_path / "scores.txt"
    assert main(["score", "--store", str(demo_store), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "unknown extension '.txt'" in err and ".csv, .xlsx, .parquet" in err
    assert not out.exists()
    with pytest.raises(ConfigError):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.json")


@pytest.mark.parametrize("cmd, args", [
    ("score", ["--categories", "chpl_tier1", "nope"]),
    ("routes", ["--destination", "RUS", "--category", "nope"]),
])
def test_unknown_category_is_a_clear_error(demo_store, tmp_path, capsys, cmd, args):
    rc = main([cmd, "--store", str(demo_store), *args, "--out", str(tmp_path / "x.csv")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "unknown category 'nope'" in err and "chpl_tier1, chpl_tier2" in err
    assert not (tmp_path / "x.csv").exists()


def test_unknown_destination_is_a_clear_error(demo_store, tmp_path, capsys):
    rc = main(["routes", "--store", str(demo_store), "--destination", "XYZ",
               "--out", str(tmp_path / "x.csv")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "unknown destination 'XYZ'" in err and "RUS" in err


def test_missing_store_is_a_clear_error(tmp_path, capsys):
    rc = main(["chokepoints", "--store", str(tmp_path / "none"), "--out",
               str(tmp_path / "x.csv")])
    assert rc == 2
    assert "no store at" in capsys.readouterr().err


def test_default_store_is_the_demo_store(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CHOKEPOINT_HOME", str(tmp_path / "home"))
    out = tmp_path / "chk.csv"
    assert main(["chokepoints", "--out", str(out)]) == 0
    assert (tmp_path / "home" / "demo-store").is_dir()
    assert capsys.readouterr().out.strip() == str(out)
    assert read_about(out)["synthetic"] == SYNTHETIC_LABEL


def test_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    write_table(pd.DataFrame({"a": [1]}), path)

    def boom(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", boom)
    with pytest.raises(OSError):
        write_table(pd.DataFrame({"a": [2]}), path)
    monkeypatch.undo()
    assert pd.read_csv(path)["a"].tolist() == [1]  # the old file is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]  # no temporary left


def test_excel_and_parquet_keep_types(tmp_path):
    frame = pd.DataFrame({"hub": ["KGZ", "ARM"], "value": [1.5, 2.0],
                          "flag": pd.array([True, pd.NA], dtype="boolean"),
                          "path": [("JPN", "KGZ", "RUS"), ("JPN", "ARM", "RUS")]})
    for ext in ("xlsx", "parquet"):
        back, about = _read(write_table(frame, tmp_path / f"t.{ext}", about={"k": "v"}))
        assert list(back.columns) == ["hub", "value", "flag", "path"]
        assert back["path"].tolist() == ["JPN > KGZ > RUS", "JPN > ARM > RUS"]
        assert about == {"k": "v"}
