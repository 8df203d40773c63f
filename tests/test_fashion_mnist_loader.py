"""Fashion-MNIST through the same loader as MNIST: its own checksums, settings and cache, the shared folder,
and real downloads from a loopback HTTP server serving that folder (no test touches the internet or the
user's own cache). The download machinery itself is tested in depth in test_mnist_loader.py."""
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import scratchcnn
from scratchcnn import tutorial
from scratchcnn.datasets import ChecksumError, DataNotFoundError, fashion_mnist, loader, mnist
from scratchcnn.datasets.idx import read_idx, write_idx
from scratchcnn.tools.cli import main
from test_mnist_loader import TIMEOUT, listing, serve_folder, sha256_of

SHARED_FASHION = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fashion-mnist"


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch, tmp_path):
    """No proxy for loopback, and no SCRATCHCNN_* or cache setting from the real environment."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    for name in ("SCRATCHCNN_DATA", "SCRATCHCNN_CACHE", "SCRATCHCNN_FASHION_DATA", "SCRATCHCNN_FASHION_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture(scope="session")
def fashion_dir() -> Path:
    path = Path(os.environ.get("SCRATCHCNN_FASHION_DATA") or SHARED_FASHION)
    if not (path / fashion_mnist.TRAIN_IMAGES).exists():
        pytest.skip(f"Fashion-MNIST files not found in {path}; set SCRATCHCNN_FASHION_DATA")
    return path


def copy_set(source: Path, target: Path, skip=()) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in fashion_mnist.FILES:
        if name not in skip:
            shutil.copy(source / name, target / name)
    return target


def test_load_shared_fashion_mnist_through_its_env_var(fashion_dir, monkeypatch):
    monkeypatch.setenv("SCRATCHCNN_FASHION_DATA", str(fashion_dir))
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data(download=False)
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert all(array.dtype == np.uint8 for array in (x_train, y_train, x_test, y_test))
    assert y_train[0] == 9 and y_test[0] == 9                     # Ankle boot, as in the upstream data
    assert fashion_mnist.CLASS_NAMES[9] == "Ankle boot"
    assert np.bincount(y_train).tolist() == [6000] * 10 and np.bincount(y_test).tolist() == [1000] * 10
    assert scratchcnn.keras.datasets.fashion_mnist.load_data is fashion_mnist.load_data  # Keras's path


def test_the_checksums_are_its_own(fashion_dir, mnist_dir):
    assert set(fashion_mnist.SHA256) == set(mnist.SHA256) == set(fashion_mnist.FILES)
    assert all(fashion_mnist.SHA256[name] == sha256_of(fashion_dir / name) for name in fashion_mnist.FILES)
    with pytest.raises(ChecksumError, match="not the official file"):     # MNIST's files are not Fashion-MNIST
        fashion_mnist.load_data(mnist_dir, download=False)
    with pytest.raises(ChecksumError, match="not the official file"):     # and the other way round
        mnist.load_data(fashion_dir, download=False)


def test_its_settings_are_its_own(monkeypatch, tmp_path, mnist_dir):
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert fashion_mnist.data_dir() == tmp_path / "home" / ".cache" / "scratchcnn" / "fashion-mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert fashion_mnist.data_dir() == tmp_path / "xdg" / "scratchcnn" / "fashion-mnist"
    monkeypatch.setenv("SCRATCHCNN_DATA", str(mnist_dir))             # MNIST's settings do not apply
    monkeypatch.setenv("SCRATCHCNN_CACHE", str(tmp_path / "mnist-cache"))
    assert fashion_mnist.data_dir() == fashion_mnist.cache_dir() == tmp_path / "xdg" / "scratchcnn" / "fashion-mnist"
    monkeypatch.setenv("SCRATCHCNN_FASHION_CACHE", str(tmp_path / "cache"))
    assert fashion_mnist.data_dir() == fashion_mnist.cache_dir() == tmp_path / "cache"
    monkeypatch.setenv("SCRATCHCNN_FASHION_DATA", "")                 # empty means unset
    assert fashion_mnist.data_dir() == tmp_path / "cache"
    monkeypatch.setenv("SCRATCHCNN_FASHION_DATA", str(tmp_path / "data"))
    assert fashion_mnist.data_dir() == tmp_path / "data"
    assert fashion_mnist.data_dir(tmp_path / "mine") == tmp_path / "mine"
    assert mnist.data_dir() == mnist_dir                              # and MNIST's are untouched


def test_missing_files_name_its_own_setting(tmp_path):
    with pytest.raises(DataNotFoundError) as error:
        fashion_mnist.load_data(tmp_path, download=False)
    message = str(error.value)
    assert message.startswith(f"Fashion-MNIST files missing from {tmp_path}")
    assert "SCRATCHCNN_FASHION_DATA" in message and all(name in message for name in fashion_mnist.FILES)
    assert listing(tmp_path) == []


def test_download_into_new_folder(fashion_dir, tmp_path, capsys):
    target = tmp_path / "new" / "fashion"
    with serve_folder(fashion_dir) as url:
        (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data(target, mirrors=[url], timeout=TIMEOUT)
    assert listing(target) == sorted(fashion_mnist.FILES)                # and no partial files
    assert all(sha256_of(target / name) == fashion_mnist.SHA256[name] for name in fashion_mnist.FILES)
    assert x_train.shape == (60000, 28, 28) and y_test.shape == (10000,) and y_train[0] == 9
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 4 and all(line.startswith("fashion_mnist: downloaded") for line in printed)


def test_download_refuses_mnist_served_in_its_place(mnist_dir, tmp_path):
    target = tmp_path / "data"
    with serve_folder(mnist_dir) as url:                              # a mirror serving the wrong data set
        with pytest.raises(loader.DownloadError, match="SHA-256"):
            fashion_mnist.load_data(target, mirrors=[url], timeout=TIMEOUT, verbose=False)
    assert listing(target) == []                                      # nothing unverified is kept


def test_damaged_file_in_its_cache_is_downloaded_again(fashion_dir, tmp_path, monkeypatch):
    cache = copy_set(fashion_dir, tmp_path / "cache")
    monkeypatch.setenv("SCRATCHCNN_FASHION_CACHE", str(cache))
    labels = read_idx(cache / fashion_mnist.TEST_LABELS)
    labels[0] = (labels[0] + 1) % 10
    write_idx(cache / fashion_mnist.TEST_LABELS, labels)
    with serve_folder(fashion_dir) as url:
        with pytest.warns(UserWarning, match="damaged"):
            (_, _), (_, y_test) = fashion_mnist.load_data(mirrors=[url], timeout=TIMEOUT, verbose=False)
    assert y_test[0] == 9
    assert sha256_of(cache / fashion_mnist.TEST_LABELS) == fashion_mnist.SHA256[fashion_mnist.TEST_LABELS]


def test_tutorial_and_cli_know_fashion_mnist(fashion_dir, tmp_path, capsys):
    (x_train, y_train), (x_test, y_test) = tutorial.load_dataset("fashion_mnist", fashion_dir, download=False)
    assert x_train.shape == (60000, 28, 28, 1) and x_train.dtype == np.float32 and 0 <= x_train.min()
    assert x_train.max() <= 1 and y_test[0] == 9
    assert main(["train", "--dataset", "fashion_mnist", "--data-dir", str(tmp_path), "--offline",
                 "--epochs", "1", "--output", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"scratchcnn: error: Fashion-MNIST files missing from {tmp_path}")
    assert listing(tmp_path) == []
