"""Damaged data, the gaps left by test_idx.py and test_mnist_loader.py (which cover truncated and bit-flipped
IDX files, wrong magic, type codes and dimensions, bad gzip, count mismatches, checksum mismatches, the
cache re-downloading a damaged file, and a fuzz run): train and test sets that do not fit together, and what
`scratchcnn train` / `evaluate` say about a damaged folder, leaving every file in it exactly as it was.
"""
import hashlib
from pathlib import Path

import numpy as np
import pytest

from scratchcnn.tools.cli import main
from scratchcnn.datasets import DatasetError, mnist
from scratchcnn.datasets.idx import write_idx


def write_set(folder: Path, train_shape=(12, 28, 28), test_shape=(5, 28, 28)) -> None:
    """Four MNIST-named IDX files of random content (valid files, but not the official ones)."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / mnist.TRAIN_IMAGES, rng.integers(0, 256, train_shape, dtype=np.uint8))
    write_idx(folder / mnist.TRAIN_LABELS, rng.integers(0, 10, train_shape[0], dtype=np.uint8))
    write_idx(folder / mnist.TEST_IMAGES, rng.integers(0, 256, test_shape, dtype=np.uint8))
    write_idx(folder / mnist.TEST_LABELS, rng.integers(0, 10, test_shape[0], dtype=np.uint8))


def listing(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_train_and_test_images_of_different_sizes(tmp_path):
    write_set(tmp_path, test_shape=(5, 14, 14))
    with pytest.raises(DatasetError, match=r"training images are \(28, 28\) but test images are \(14, 14\)"):
        mnist.load_idx_dataset(tmp_path)


def run_cli(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.err


def test_cli_refuses_files_that_are_not_the_official_ones(tmp_path, capsys):
    write_set(tmp_path)
    before = listing(tmp_path)
    code, err = run_cli(["train", "--data-dir", str(tmp_path), "--offline", "--epochs", "1",
                         "--output", str(tmp_path / "run")], capsys)
    assert code == 1
    images = tmp_path / mnist.TRAIN_IMAGES
    assert err.startswith(f"scratchcnn: error: {images} is damaged or not the official file")
    assert mnist.SHA256[mnist.TRAIN_IMAGES] in err and "Fix:" in err
    assert listing(tmp_path) == before  # reported, never deleted or rewritten; no run folder either


def test_cli_refuses_a_truncated_file(tmp_path, capsys):
    write_set(tmp_path)
    images = tmp_path / mnist.TRAIN_IMAGES  # the first file read
    images.write_bytes(images.read_bytes()[:-5])
    before = listing(tmp_path)
    code, err = run_cli(["train", "--data-dir", str(tmp_path), "--offline", "--epochs", "1",
                         "--output", str(tmp_path / "run")], capsys)
    assert code == 1
    assert err.startswith(f"scratchcnn: error: {images}: the gzip stream is damaged")
    assert listing(tmp_path) == before


def test_cli_names_the_missing_files_of_an_empty_folder(tmp_path, capsys):
    code, err = run_cli(["train", "--data-dir", str(tmp_path), "--offline", "--epochs", "1",
                         "--output", str(tmp_path / "run")], capsys)
    assert code == 1
    assert err.startswith(f"scratchcnn: error: MNIST files missing from {tmp_path}: {', '.join(mnist.FILES)}.")
    assert list(tmp_path.iterdir()) == []
