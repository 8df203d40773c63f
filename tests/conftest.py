"""Shared pytest setup.

- ``mnist_dir``: the folder with the four official MNIST IDX files, found as the loader finds them:
  ``$SCRATCHCNN_DATA`` when set, else the per-user cache (``~/.cache/scratchcnn/mnist``, where
  ``scratchcnn train`` downloads them; ``scratchcnn.datasets.mnist.cache_dir()``). Without them the tests
  that need them are skipped, and the reason says how to provide the files.
- ``@pytest.mark.slow`` tests (the full 10-epoch reproduction) run only when ``SCRATCHCNN_RUN_SLOW=1``;
  ``.ci/run`` sets it, a quick local ``pytest`` skips them.
"""
import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")  # tests never open windows

REPO = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(config, items):
    if os.environ.get("SCRATCHCNN_RUN_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set SCRATCHCNN_RUN_SLOW=1 to run (.ci/run does)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def find_mnist() -> tuple[Path | None, str]:
    """(the folder with the four MNIST files or None, why not): $SCRATCHCNN_DATA, else the user's cache."""
    from scratchcnn.datasets import mnist

    where = os.environ.get("SCRATCHCNN_DATA")
    path = Path(where).expanduser() if where else mnist.cache_dir()
    missing = [name for name in mnist.FILES if not (path / name).is_file()]
    if not missing:
        return path, ""
    said = f"SCRATCHCNN_DATA={where}" if where else f"the cache {path} (SCRATCHCNN_DATA is not set)"
    return None, (f"MNIST files not found in {said}, missing {', '.join(missing)}: run "
                  "'scratchcnn train' once to download them into the cache, or set SCRATCHCNN_DATA=FOLDER "
                  "to a folder holding the four .gz files")


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    path, why_not = find_mnist()
    if path is None:
        pytest.skip(why_not)
    return path
