"""examples/notebook.ipynb runs top to bottom on the sandbox and shows rich displays."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).parent.parent / "examples" / "notebook.ipynb"


def test_the_notebook_is_committed_with_its_outputs_cleared() -> None:
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert code
    assert all(not c["outputs"] and c["execution_count"] is None for c in code)


def test_the_notebook_runs_on_the_sandbox_with_rich_displays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "AZURE_OPENAI")):
            monkeypatch.delenv(name)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell

    def shown(source_start: str) -> dict[str, object]:
        (cell,) = [
            c for c in nb.cells if c.cell_type == "code" and c.source.startswith(source_start)
        ]
        (result,) = [o for o in cell.outputs if o.output_type == "execute_result"]
        return dict(result["data"])

    assert "offline sandbox" in nb.cells[1].outputs[0]["text"]
    assert "image/png" in shown("layout = Layout.poster(")  # the layout's wireframe
    poster = shown("poster = client.generate(")
    assert "image/png" in poster
    assert "text/html" in poster  # the result: picture and summary
    assert "image/png" in shown("w, h = poster.output.size")  # the mask
    edit = shown("edit = client.edit(")
    assert "image/png" in edit
    assert "preserved" in str(edit["text/html"])
