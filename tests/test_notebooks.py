"""The research notebooks: stored without outputs, in sync with their jupytext ``.py``
pairs, and executed headless against the demo world without an error cell."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
jupytext = pytest.importorskip("jupytext")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
NAMES = ["01_quickstart", "02_semiconductor_chokepoints", "03_diversion_roundabout",
         "04_risk_scores"]


def _cells(nb) -> list[tuple[str, str, tuple]]:
    return [(c.cell_type, c.source.strip(), tuple(c.metadata.get("tags", ())))
            for c in nb.cells]


def test_every_notebook_has_a_pair():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.py")) == NAMES
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_ipynb_is_stored_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    for cell in code:
        assert cell.get("outputs") == [], f"{name}: a cell has stored outputs"
        assert cell.get("execution_count") is None, f"{name}: a cell has an execution count"


@pytest.mark.parametrize("name", NAMES)
def test_ipynb_matches_its_py_pair(name):
    py = jupytext.read(NOTEBOOKS / f"{name}.py")
    ipynb = jupytext.read(NOTEBOOKS / f"{name}.ipynb")
    assert _cells(py) == _cells(ipynb), (
        f"notebooks/{name}.ipynb and .py differ: run "
        f"`jupytext --sync notebooks/{name}.py` (or --to ipynb) and commit both")
    # the parameters come first, tagged for papermill-style runs
    tags = [c.metadata.get("tags", []) for c in py.cells if c.cell_type == "code"]
    assert "parameters" in tags[0]


def _execute(name: str, monkeypatch, **env: str):
    from nbclient import NotebookClient

    monkeypatch.delenv("CHOKEPOINT_ETO_PATH", raising=False)
    monkeypatch.setenv("PLOTLY_RENDERER", "plotly_mimetype")  # no browser, small outputs
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    nb = jupytext.read(NOTEBOOKS / f"{name}.py")
    client = NotebookClient(nb, kernel_name="python3", timeout=300, allow_errors=True,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
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
