"""The trade-offs notebook runs from a clean kernel, and its findings hold.

The notebook's last cell prints one ``SUMMARY {json}`` line computed from its
sweep; this test executes the notebook in a temporary folder (so nothing it
writes lands in the repository) and checks that line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "tradeoffs.ipynb"


def summary_line(nb: Any) -> dict[str, Any]:
    """The parsed ``SUMMARY`` line from the notebook's last code cell."""
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    text = "".join(o.get("text", "") for o in last.outputs if o.output_type == "stream")
    lines = [line for line in text.splitlines() if line.startswith("SUMMARY ")]
    assert len(lines) == 1, text
    return dict(json.loads(lines[0].removeprefix("SUMMARY ")))


def test_notebook_runs_from_a_clean_kernel_and_atomic_keeps_its_queue_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # some jupyter_core releases warn (DeprecationWarning, an error here) about moving their folders to
    # platformdirs' locations unless this opts in; the kernel itself is the running interpreter's
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.chdir(tmp_path)
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit the notebook stripped"
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()

    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    figures = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(figures) == 3
    summary = summary_line(nb)
    # the whole grid ran: 2 policies x 3 wave sizes x 4 thresholds x 3 worker counts, 5 seeds each
    assert (summary["settings"], summary["runs"], summary["atomic_runs"]) == (72, 360, 180)
    # atomic: the queue never held more than one wave plus the previous wave's tail, and every import completed
    assert summary["atomic_runs_over_bound"] == 0
    assert summary["atomic_runs_incomplete"] == 0
    # the write-up's fix, on the same grid, does exceed that bound
    assert isinstance(summary["seed_fix_runs_over_bound"], int) and summary["seed_fix_runs_over_bound"] > 0
    # the trade-off: bigger waves queue more jobs; waiting for 100 % costs makespan over 90 %
    assert summary["peak_rises_with_wave_size"] is True
    assert summary["makespan_rises_from_90_to_100"] is True
    front = summary["front"]
    assert isinstance(front, dict) and sorted(front, key=int) == ["4", "10", "20"]
    assert all(front[w] for w in front)
    assert summary["wave_size_orders_front"] is True
