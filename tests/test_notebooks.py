"""The research notebooks: stored without outputs, in sync with their jupytext ``.py``
pairs, and executed headless without an error cell: the demo-world notebooks always,
the real-data case studies when ``../shared/data`` is present (they stop with a clear
message without it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
jupytext = pytest.importorskip("jupytext")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
NAMES = ["01_quickstart", "02_semiconductor_chokepoints", "03_diversion_roundabout",
         "04_risk_scores"]
#: case studies on the real extracts in ../shared/data (read at run time)
REAL_NAMES = ["05_critical_minerals", "06_taiwan_chips"]
ALL_NAMES = [*NAMES, *REAL_NAMES]


def _cells(nb) -> list[tuple[str, str, tuple]]:
    return [(c.cell_type, c.source.strip(), tuple(c.metadata.get("tags", ())))
            for c in nb.cells]


def test_every_notebook_has_a_pair():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.py")) == ALL_NAMES
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == ALL_NAMES


@pytest.mark.parametrize("name", ALL_NAMES)
def test_ipynb_is_stored_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    for cell in code:
        assert cell.get("outputs") == [], f"{name}: a cell has stored outputs"
        assert cell.get("execution_count") is None, f"{name}: a cell has an execution count"


@pytest.mark.parametrize("name", ALL_NAMES)
def test_ipynb_matches_its_py_pair(name):
    py = jupytext.read(NOTEBOOKS / f"{name}.py")
    ipynb = jupytext.read(NOTEBOOKS / f"{name}.ipynb")
    assert _cells(py) == _cells(ipynb), (
        f"notebooks/{name}.ipynb and .py differ: run "
        f"`jupytext --sync notebooks/{name}.py` (or --to ipynb) and commit both")
    # the parameters come first, tagged for papermill-style runs
    tags = [c.metadata.get("tags", []) for c in py.cells if c.cell_type == "code"]
    assert "parameters" in tags[0]


#: figures typed into prose: money amounts, decimal percentages, "39 rows"-style counts of
#: data rows (numbers in the notes must come from code cells)
TYPED_FIGURE = re.compile(r"USD\s*\d|\d+(\.\d+)?\s*(m|bn)\b|\d+\.\d+\s*%|\b\d+\s+rows\b")


@pytest.mark.parametrize("name", ALL_NAMES)
def test_markdown_quotes_no_typed_figures(name):
    nb = jupytext.read(NOTEBOOKS / f"{name}.py")
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            hit = TYPED_FIGURE.search(cell.source)
            assert hit is None, f"{name}: typed figure {hit.group(0)!r} in {cell.source[:60]!r}"


def test_typed_figure_pattern():
    for typed in ("USD 63.1 m", "Russia 27.4 m", "58.0 %", "39 rows go to Others", "184 bn"):
        assert TYPED_FIGURE.search(typed), typed
    for prose in ("HS 8542", "2022-04-06", "kept 5 % or less", "net-export assumption"):
        assert not TYPED_FIGURE.search(prose), prose


def _client(name: str, monkeypatch, *, allow_errors: bool = True, **env: str):
    from nbclient import NotebookClient

    monkeypatch.delenv("CHOKEPOINT_ETO_PATH", raising=False)
    monkeypatch.delenv("CHOKEPOINT_SHARED_DATA", raising=False)
    monkeypatch.setenv("PLOTLY_RENDERER", "plotly_mimetype")  # no browser, small outputs
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    nb = jupytext.read(NOTEBOOKS / f"{name}.py")
    client = NotebookClient(nb, kernel_name="python3", timeout=300, allow_errors=allow_errors,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    return nb, client


def _execute(name: str, monkeypatch, **env: str):
    nb, client = _client(name, monkeypatch, **env)
    client.execute()
    errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(nb.cells)
              if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, f"{name}: error cells {errors}"
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []) if o.get("name") == "stdout")


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_headless(name, monkeypatch):
    out = _execute(name, monkeypatch)
    assert "synthetic demo data" in out  # every notebook says what data it shows


@pytest.mark.slow
@pytest.mark.shared_data
def test_semiconductor_notebook_on_real_eto_data(shared_data, monkeypatch):
    eto = shared_data / "eto-chip-explorer"
    out = _execute("02_semiconductor_chokepoints", monkeypatch,
                   CHOKEPOINT_ETO_PATH=str(eto))
    assert "ETO Chip Explorer" in out and "CC BY-NC 4.0" in out


# ------------------------------------------------------------------ real-data case studies


@pytest.mark.slow
@pytest.mark.shared_data
def test_critical_minerals_notebook_on_real_data(shared_data, monkeypatch):
    out = _execute("05_critical_minerals", monkeypatch, CHOKEPOINT_SHARED_DATA=str(shared_data))
    assert "real data" in out and "synthetic" not in out
    assert "2022: 23,167 flow rows" in out and "2024: 21,723 flow rows" in out
    assert "850511 permanent magnets 2022: CHN ships 61.5% of world exports" in out
    assert "36.9% (2022) -> 58.0% (2024)" in out
    assert "RUS imports 2022: USD 514.2 m in 192 flow rows" in out
    assert "KAZ: USD 89.27 m" in out and "TUR: USD 50.27 m" in out
    assert "only as a partner" in out
    # the claims the notes used to type by hand, now printed
    assert "RUS's largest sources 2022: CHN 36.9%, KAZ 17.4%, BEL 12.3%, TUR 9.8%" in out
    assert "The largest: BEL USD 63.1 m -> 0.00 m, BOL USD 34.1 m -> 0.01 m" in out
    assert "850511 2024: net importers among the 8 largest exporters" in out
    assert "JPN" in out.split("850511 2024: net importers")[1].splitlines()[0]
    assert "260600 bauxite (net importer)" in out
    assert "cn_tungsten_tellurium_2025 tungsten;tellurium;bismuth;molybdenum;indium" in out


@pytest.mark.slow
@pytest.mark.shared_data
def test_taiwan_notebook_on_real_data(shared_data, monkeypatch):
    out = _execute("06_taiwan_chips", monkeypatch, CHOKEPOINT_SHARED_DATA=str(shared_data))
    assert "real data" in out and "synthetic" not in out
    assert ("Russia (USD m): 2019 27.4, 2020 25.3, 2021 21.6, 2022 10.6, 2023 3.5, "
            "2024 0.6, 2025 none") in out
    assert "Turkey (USD m): 2021 128 -> 2023 156" in out
    assert "2019 100.3" in out and "2024 165.0" in out
    assert "39  missing country code" in out and "strict mode:" in out
    assert "2022: TWN ranks 2 of 147 reporters" in out
    assert "ARM: no coefficient (no shipments from 2022)" in out
    assert "lower: RUS -93%" in out and "higher: KGZ" in out
    assert "no clear change: HKG" in out


@pytest.mark.slow
@pytest.mark.parametrize("name", REAL_NAMES)
def test_real_data_notebook_stops_cleanly_without_data(name, monkeypatch, tmp_path):
    """Without the data the notebook says where it looked and stops at its data cell."""
    from nbclient.exceptions import CellExecutionError

    nb, client = _client(name, monkeypatch, allow_errors=False,
                         CHOKEPOINT_SHARED_DATA=str(tmp_path / "absent"))
    with pytest.raises(CellExecutionError) as err:
        client.execute()
    assert err.value.ename == "SharedDataMissing"
    assert "CHOKEPOINT_SHARED_DATA" in err.value.evalue
    code = [c for c in nb.cells if c.cell_type == "code"]
    failed = [i for i, c in enumerate(code)
              if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert failed == [1]  # the import-and-locate cell right after the parameters
    assert all(not c.get("outputs") for c in code[2:])  # nothing ran after it
