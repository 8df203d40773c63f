"""docs/tutorial.ipynb runs from top to bottom, so it never goes stale.

It is executed in a fresh kernel (nbclient and ipykernel, from the [test] extra), on the MNIST files the
other tests use, in a temporary folder; the copy in docs/ is not rewritten. Every code cell must run, the
figures must come out inline, and the cells that print the test accuracy and the gradient check must say
what the notebook's text promises."""
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "tutorial.ipynb"


def test_tutorial_notebook_runs(mnist_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("SCRATCHCNN_DATA", str(mnist_dir))              # the kernel inherits the environment
    monkeypatch.setenv("SCRATCHCNN_CACHE", str(tmp_path / "cache"))    # nothing lands in the user's cache
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()                                                   # raises CellExecutionError on a failure
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    images = [out for out in outputs if "image/png" in out.get("data", {})]
    text = "".join(out.get("text", "") for out in outputs if out.get("output_type") == "stream")
    assert len(images) >= 3, f"{len(images)} inline figures"
    accuracy = float(re.search(r"Test accuracy: (\d\.\d+)", text).group(1))
    assert accuracy > 0.88, text                                       # one epoch on 12,000 images: 0.92
    assert "(1, 13, 13, 28)" in text and "(1, 4732)" in text           # the shapes it prints
    assert "6 of 6 passed" in text                                     # input, kernel, bias of each layer
