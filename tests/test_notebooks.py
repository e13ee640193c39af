"""The notebooks run top to bottom (they import the library; no analysis lives only in them).

test_time_saturation.ipynb is executed in test_tts.py; the closed-loop notebook trains tiny
language models through `sl run` and is marked slow.
"""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _execute(name: str, timeout: int) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbclient.NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors


def test_extrapolation_notebook_runs():
    _execute("extrapolation.ipynb", timeout=300)


@pytest.mark.slow
def test_closed_loop_notebook_runs():
    _execute("closed_loop.ipynb", timeout=600)
