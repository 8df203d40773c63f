"""Tests for the MNIST loader: finding, verifying, downloading and loading the files.

Downloads are tested for real, against HTTP servers on the loopback interface
(127.0.0.1, a free port) that serve the shared MNIST folder, or misbehave on purpose.
No test touches the internet or the user's own cache folder.
"""
import contextlib
import functools
import gzip
import hashlib
import shutil
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from scratchcnn.datasets import ChecksumError, DataNotFoundError, DatasetError, DownloadError, IDXFormatError, mnist
from scratchcnn.datasets.idx import read_idx, read_idx_bytes, write_idx

TIMEOUT = 5.0  # seconds; a broken test fails fast instead of hanging


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch, tmp_path):
    """No proxy for loopback, and no SCRATCHCNN_* or cache setting from the real environment."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    for name in ("SCRATCHCNN_DATA", "SCRATCHCNN_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


# --- loopback HTTP servers -------------------------------------------------------------


class QuietFolderHandler(SimpleHTTPRequestHandler):
    """Serves a folder, without logging every request to stderr."""

    def log_message(self, format, *args):
        pass


def fixed_response(body: bytes, content_length: int) -> type[BaseHTTPRequestHandler]:
    """A handler answering every GET with ``body`` and the given Content-Length, then hanging up."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(content_length))
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True

        def log_message(self, format, *args):
            pass

    return Handler


@contextlib.contextmanager
def serve(handler) -> Iterator[str]:
    """Run an HTTP server on 127.0.0.1 in a background thread; yield its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def serve_folder(folder: Path):
    return serve(functools.partial(QuietFolderHandler, directory=str(folder)))


@contextlib.contextmanager
def silent_server() -> Iterator[str]:
    """A port that accepts connections but never answers: the client must time out."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"


def closed_port_url() -> str:
    """A URL whose port has no server: the connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/"


# --- helpers ------------------------------------------------------------------------


def listing(folder: Path) -> list[str]:
    """Every name in ``folder``, hidden ones (partial downloads) included."""
    return sorted(path.name for path in folder.iterdir())


def copy_mnist(source: Path, target: Path, *, skip: tuple[str, ...] = ()) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in mnist.FILES:
        if name not in skip:
            shutil.copy(source / name, target / name)
    return target


def damage_test_labels(folder: Path) -> None:
    """Replace t10k labels with a valid IDX file whose content differs by one label."""
    labels = read_idx(folder / mnist.TEST_LABELS)
    labels[0] = (labels[0] + 1) % 10
    write_idx(folder / mnist.TEST_LABELS, labels)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(read_idx_bytes(path)).hexdigest()


# --- loading the real files ---------------------------------------------------------


def test_load_shared_mnist_through_env_var(mnist_dir, monkeypatch):
    monkeypatch.setenv("SCRATCHCNN_DATA", str(mnist_dir))
    (x_train, y_train), (x_test, y_test) = mnist.load_data(download=False)
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert all(array.dtype == np.uint8 for array in (x_train, y_train, x_test, y_test))
    assert y_train[0] == 5 and y_test[:5].tolist() == [7, 2, 1, 0, 4]
    assert set(np.unique(y_train)) == set(range(10)) == set(np.unique(y_test))
    assert x_train.min() == 0 and x_train.max() == 255


def test_data_dir_resolution_order(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert mnist.data_dir() == tmp_path / "home" / ".cache" / "scratchcnn" / "mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert mnist.data_dir() == tmp_path / "xdg" / "scratchcnn" / "mnist"
    monkeypatch.setenv("SCRATCHCNN_CACHE", str(tmp_path / "cache"))
    assert mnist.data_dir() == mnist.cache_dir() == tmp_path / "cache"
    monkeypatch.setenv("SCRATCHCNN_DATA", "")  # empty means unset
    assert mnist.data_dir() == tmp_path / "cache"
    monkeypatch.setenv("SCRATCHCNN_DATA", str(tmp_path / "data"))
    assert mnist.data_dir() == tmp_path / "data"
    assert mnist.data_dir(tmp_path / "mine") == tmp_path / "mine"
    assert mnist.data_dir(str(tmp_path / "mine")) == tmp_path / "mine"


# --- downloading ----------------------------------------------------------------------


def test_download_into_new_folder(mnist_dir, tmp_path, capsys):
    target = tmp_path / "new" / "mnist"  # does not exist yet
    with serve_folder(mnist_dir) as url:
        (x_train, y_train), (x_test, y_test) = mnist.load_data(target, mirrors=[url], timeout=TIMEOUT)
    assert listing(target) == sorted(mnist.FILES)  # and no partial files
    assert all(sha256_of(target / name) == mnist.SHA256[name] for name in mnist.FILES)
    assert x_train.shape == (60000, 28, 28) and y_test.shape == (10000,) and y_train[0] == 5
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 4 and all("downloaded" in line for line in printed)

    mnist.load_data(target, mirrors=[], verbose=True)  # everything there: no download, no output
    assert capsys.readouterr().out == ""


def test_first_mirror_404_then_second_mirror_works(mnist_dir, tmp_path, capsys):
    target = copy_mnist(mnist_dir, tmp_path / "data", skip=(mnist.TEST_LABELS,))
    with serve_folder(mnist_dir) as url:
        (_, _), (_, y_test) = mnist.load_data(target, mirrors=[url + "no/such/folder/", url], timeout=TIMEOUT)
    assert y_test[:5].tolist() == [7, 2, 1, 0, 4]
    assert listing(target) == sorted(mnist.FILES)
    printed = capsys.readouterr().out
    assert "404" in printed and f"downloaded {mnist.TEST_LABELS}" in printed


@pytest.mark.parametrize("corruption", ["wrong content", "flipped byte"])
def test_corrupt_download_leaves_no_file(mnist_dir, tmp_path, corruption):
    real = (mnist_dir / mnist.TRAIN_IMAGES).read_bytes()
    if corruption == "wrong content":  # a perfectly valid gzip file, just not MNIST
        body = gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x03abc")
    else:
        damaged = bytearray(real)
        damaged[len(damaged) // 2] ^= 0x55
        body = bytes(damaged)
    target = tmp_path / "data"
    target.mkdir()
    before = listing(target)
    refused = closed_port_url()
    with serve(fixed_response(body, len(body))) as bad, silent_server() as silent:
        mirrors = [bad, refused, silent]
        with pytest.raises(DownloadError) as error:
            mnist.load_data(target, mirrors=mirrors, timeout=0.5, verbose=False)
    assert listing(target) == before == []
    message = str(error.value)
    assert all(mirror + mnist.TRAIN_IMAGES in message for mirror in mirrors)  # one line per mirror
    assert ("SHA-256" if corruption == "wrong content" else "gzip") in message
    assert str(target) in message and "by hand" in message and "SCRATCHCNN_DATA" in message


def test_connection_cut_halfway_leaves_no_file(mnist_dir, tmp_path):
    target = copy_mnist(mnist_dir, tmp_path / "data", skip=(mnist.TEST_LABELS,))
    before = listing(target)
    real = (mnist_dir / mnist.TEST_LABELS).read_bytes()
    with serve(fixed_response(real[: len(real) // 2], content_length=len(real))) as url:
        with pytest.raises(DownloadError, match="connection closed after"):
            mnist.load_data(target, mirrors=[url], timeout=TIMEOUT, verbose=False)
    assert listing(target) == before


def test_mirrors_must_be_a_list(tmp_path):
    with pytest.raises(TypeError, match="list"):
        mnist.load_data(tmp_path, mirrors="http://127.0.0.1:1/")


def test_no_mirrors_is_a_download_error(tmp_path):
    with pytest.raises(DownloadError, match="no mirrors"):
        mnist.load_data(tmp_path, mirrors=[], verbose=False)
    assert listing(tmp_path) == []


# --- missing and damaged files ----------------------------------------------------------


def test_missing_files_without_download(tmp_path):
    with pytest.raises(DataNotFoundError) as error:
        mnist.load_data(tmp_path, download=False)
    message = str(error.value)
    assert str(tmp_path) in message
    assert all(name in message for name in mnist.FILES)
    assert "SCRATCHCNN_DATA" in message and "path=" in message


def test_path_that_is_a_file(tmp_path):
    (tmp_path / "oops").write_text("not a folder")
    with pytest.raises(DataNotFoundError, match="is a file, not a folder"):
        mnist.load_data(tmp_path / "oops", download=False)


def test_damaged_file_in_user_folder_is_reported_not_deleted(mnist_dir, tmp_path):
    target = copy_mnist(mnist_dir, tmp_path / "mine")
    damage_test_labels(target)
    damaged = sha256_of(target / mnist.TEST_LABELS)
    with pytest.raises(ChecksumError) as error:
        mnist.load_data(target, mirrors=[], verbose=False)  # download allowed, still not ours to delete
    message = str(error.value)
    assert str(target / mnist.TEST_LABELS) in message
    assert mnist.SHA256[mnist.TEST_LABELS] in message and damaged in message
    assert "Fix:" in message
    assert error.value.actual == damaged and error.value.path == target / mnist.TEST_LABELS
    assert sha256_of(target / mnist.TEST_LABELS) == damaged  # left alone


@pytest.mark.parametrize("damage", ["other content", "truncated gzip"])
def test_damaged_file_in_cache_is_downloaded_again(mnist_dir, tmp_path, monkeypatch, damage):
    cache = copy_mnist(mnist_dir, tmp_path / "cache")
    monkeypatch.setenv("SCRATCHCNN_CACHE", str(cache))
    if damage == "other content":
        damage_test_labels(cache)
    else:
        labels = cache / mnist.TEST_LABELS
        labels.write_bytes(labels.read_bytes()[:1000])
    with serve_folder(mnist_dir) as url:
        with pytest.warns(UserWarning, match="damaged"):
            (_, _), (_, y_test) = mnist.load_data(mirrors=[url], timeout=TIMEOUT, verbose=False)
    assert y_test[:5].tolist() == [7, 2, 1, 0, 4]
    assert sha256_of(cache / mnist.TEST_LABELS) == mnist.SHA256[mnist.TEST_LABELS]
    assert listing(cache) == sorted(mnist.FILES)


def test_damaged_file_in_cache_without_download_is_reported(mnist_dir, tmp_path, monkeypatch):
    cache = copy_mnist(mnist_dir, tmp_path / "cache")
    monkeypatch.setenv("SCRATCHCNN_CACHE", str(cache))
    damage_test_labels(cache)
    with pytest.raises(ChecksumError):
        mnist.load_data(download=False)
    assert (cache / mnist.TEST_LABELS).exists()


def test_truncated_file_in_user_folder_is_a_checksum_error(mnist_dir, tmp_path):
    target = copy_mnist(mnist_dir, tmp_path / "mine")
    (target / mnist.TEST_LABELS).write_bytes((mnist_dir / mnist.TEST_LABELS).read_bytes()[:1000])
    with pytest.raises(ChecksumError, match="gzip stream is damaged"):
        mnist.load_data(target, download=False)


# --- load_idx_dataset on any MNIST-format folder -----------------------------------------


def write_small_dataset(folder: Path, *, train: int = 12, test: int = 5, train_labels: int | None = None) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / mnist.TRAIN_IMAGES, rng.integers(0, 256, (train, 6, 7), dtype=np.uint8))
    n_labels = train if train_labels is None else train_labels
    write_idx(folder / mnist.TRAIN_LABELS, rng.integers(0, 10, n_labels, dtype=np.uint8))
    write_idx(folder / mnist.TEST_IMAGES, rng.integers(0, 256, (test, 6, 7), dtype=np.uint8))
    write_idx(folder / mnist.TEST_LABELS, rng.integers(0, 10, test, dtype=np.uint8))


def test_load_idx_dataset_small_folder(tmp_path):
    write_small_dataset(tmp_path)
    (x_train, y_train), (x_test, y_test) = mnist.load_idx_dataset(tmp_path)
    assert x_train.shape == (12, 6, 7) and y_train.shape == (12,)
    assert x_test.shape == (5, 6, 7) and y_test.shape == (5,)


def test_load_idx_dataset_checks_counts_and_shapes(tmp_path):
    write_small_dataset(tmp_path, train_labels=11)
    with pytest.raises(DatasetError, match="has 12 images but .* has 11 labels"):
        mnist.load_idx_dataset(tmp_path)
    write_small_dataset(tmp_path)
    with pytest.raises(IDXFormatError, match="3 dimensions"):
        mnist.load_idx_dataset(tmp_path, train_images=mnist.TRAIN_LABELS, train_labels=mnist.TRAIN_IMAGES)
    with pytest.raises(IDXFormatError, match="images are 6x7, expected 28x28"):
        mnist.load_idx_dataset(tmp_path, image_shape=(28, 28))
    with pytest.raises(ChecksumError, match="SHA-256"):
        mnist.load_idx_dataset(tmp_path, checksums={mnist.TEST_LABELS: "0" * 64})
    (tmp_path / mnist.TEST_IMAGES).unlink()
    with pytest.raises(DataNotFoundError, match=mnist.TEST_IMAGES):
        mnist.load_idx_dataset(tmp_path)


def test_wrong_image_size_in_mnist_folder_is_caught_by_checksum(tmp_path):
    write_small_dataset(tmp_path)
    with pytest.raises(ChecksumError):
        mnist.load_data(tmp_path, download=False)


# --- the test split alone, and how the tests find the files --------------------------------


def test_load_test_data_needs_only_the_two_test_files(mnist_dir, tmp_path):
    target = copy_mnist(mnist_dir, tmp_path / "data", skip=(mnist.TRAIN_IMAGES, mnist.TRAIN_LABELS))
    x_test, y_test = mnist.load_test_data(target, download=False)
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8 and y_test[:5].tolist() == [7, 2, 1, 0, 4]
    with pytest.raises(DataNotFoundError) as error:
        mnist.load_data(target, download=False)
    assert error.value.missing == (mnist.TRAIN_IMAGES, mnist.TRAIN_LABELS) and error.value.directory == target


def test_the_tests_look_in_the_cache_and_say_how_to_provide_the_files(mnist_dir, tmp_path, monkeypatch):
    from conftest import find_mnist
    path, why_not = find_mnist()                                  # no SCRATCHCNN_DATA, an empty cache
    assert path is None and str(tmp_path / "xdg-cache" / "scratchcnn" / "mnist") in why_not
    assert "scratchcnn train" in why_not and "SCRATCHCNN_DATA=FOLDER" in why_not
    copy_mnist(mnist_dir, mnist.cache_dir())                      # what a first `scratchcnn train` leaves
    assert find_mnist() == (mnist.cache_dir(), "")
    monkeypatch.setenv("SCRATCHCNN_DATA", str(tmp_path / "elsewhere"))
    path, why_not = find_mnist()
    assert path is None and f"SCRATCHCNN_DATA={tmp_path / 'elsewhere'}" in why_not
