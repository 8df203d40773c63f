"""The weights file: every weight array plus a record of the architecture, in one .npz.

    weight_000, weight_001, ...   the arrays in Keras order (conv kernel, conv bias, dense kernel, ...)
    architecture                  JSON: the input shape and each layer's config

Saving is atomic: the file is written under a temporary name in the same folder and renamed into place,
so a crash never leaves a half-written weights file where a good one was. Loading reads and checks the
whole file before anything is handed back, so a damaged file changes nothing.
"""
import json
import zipfile
from pathlib import Path

import numpy as np

from .files import atomic_write


def save(path, weights: list[np.ndarray], architecture: dict) -> None:
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"weights are saved as .npz; got {path.name!r}, use e.g. 'model.weights.npz'")
    arrays = {f"weight_{i:03d}": w for i, w in enumerate(weights)}
    arrays["architecture"] = np.array(json.dumps(architecture))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as file:
        np.savez(file, **arrays)


def load(path) -> tuple[dict, list[np.ndarray]]:
    """(architecture, weights) from a file written by ``save``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no weights file at {path}: train first (scratchcnn train) or fix the path")
    try:
        with open(path, "rb") as file, np.load(file, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        reason = str(error).split(". ")[0]  # numpy's advice to allow pickles is not for this case
        raise ValueError(f"{path} is not a readable weights file ({reason}): it is damaged, cut short or not "
                         "made by save_weights; train again, or use another copy") from None
    if "architecture" not in arrays:
        raise ValueError(f"{path} is not a scratchcnn weights file (no architecture record)")
    architecture = json.loads(str(arrays.pop("architecture")))
    return architecture, [arrays[name] for name in sorted(arrays)]  # weight_000, weight_001, ...


def describe(architecture: dict) -> str:
    """One line for an error message: input (28, 28, 1) -> Conv2D(filters=28, ...) -> ..."""
    parts = []
    for config in architecture["layers"]:
        args = ", ".join(f"{k}={v}" for k, v in config.items() if k != "class")
        parts.append(f"{config['class']}({args})")
    return f"input {tuple(architecture['input_shape'])} -> " + " -> ".join(parts)
