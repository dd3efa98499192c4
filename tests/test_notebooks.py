"""Every chapter notebook runs top to bottom headless, quickly, and without errors or warnings.

Parametrized over ``notebooks/[0-9][0-9]_*.ipynb``, so a new chapter is picked up automatically.
Each notebook is executed with nbclient in a fresh kernel (``store_widget_state=True``: with False,
nbclient 0.11 crashes on notebooks whose Output widgets capture output), from the ``notebooks/``
folder, and must finish within ``BUDGET_S`` seconds including the kernel start.  The kernels run
single-threaded BLAS unless the environment says otherwise: the suite runs notebooks in parallel
workers on 2 cores, where extra BLAS threads only contend (small matrix products became up to 70×
slower on a busy 2-core machine).
"""
import json
import os
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.notebooks

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
BUDGET_S = 60.0


def _id(path: Path) -> str:
    return path.stem


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no chapter notebooks found in {NOTEBOOKS_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_notebook_is_stored_clean(path):
    """Stored without outputs or execution counts, and set up for ipympl widgets."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [i for i, c in enumerate(nb["cells"])
             if c["cell_type"] == "code" and (c["outputs"] or c["execution_count"])]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; strip them before saving"
    assert "widgets" not in nb.get("metadata", {}), f"{path.name}: stored widget state; strip it before saving"
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and code[0].lstrip().startswith("%matplotlib widget"), \
        f"{path.name}: the first code cell must start with %matplotlib widget"
    first = "".join(nb["cells"][0]["source"]) + "".join(nb["cells"][1]["source"])
    assert "what you will learn" in first.lower(), f"{path.name}: open with what the student will learn"
    last_md = next("".join(c["source"]) for c in reversed(nb["cells"]) if c["cell_type"] == "markdown")
    assert "question" in last_md.lower(), f"{path.name}: end with a short set of questions"


@pytest.fixture
def quiet_blas(monkeypatch):
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, os.environ.get(var, "1"))  # the kernel inherits the environment


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_notebook_executes_headless(path, quiet_blas):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=BUDGET_S, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(NOTEBOOKS_DIR)}})
    t0 = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - t0
    problems = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out["output_type"] == "error":
                problems.append(f"cell {i}: {out['ename']}: {out['evalue']}")
            elif out["output_type"] == "stream" and out["name"] == "stderr" and out["text"].strip():
                problems.append(f"cell {i} wrote to stderr: {out['text'].strip()[:300]}")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)
    print(f"{path.name}: {elapsed:.1f} s")
    assert elapsed <= BUDGET_S, f"{path.name} took {elapsed:.1f} s (budget {BUDGET_S:.0f} s)"
