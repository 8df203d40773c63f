"""MNIST: LeCun, Cortes and Burges's handwritten digits, the four official files.

``load_data()`` returns exactly what ``keras.datasets.mnist.load_data()`` returns::

    (x_train, y_train), (x_test, y_test) = load_data()
    # uint8 arrays of shapes (60000, 28, 28), (60000,), (10000, 28, 28), (10000,)

Where the files are looked for, first match wins: the ``path`` argument; ``$SCRATCHCNN_DATA``; the per-user
cache (``$SCRATCHCNN_CACHE``, else ``$XDG_CACHE_HOME/scratchcnn/mnist``, else ``~/.cache/scratchcnn/mnist``).
Finding, downloading, checking and caching are loader.py's, shared with Fashion-MNIST; this file holds what
is MNIST's own: its checksums, its mirrors and its settings. ``load_test_data()`` loads only the test split
(the two ``t10k`` files), for scoring a trained model.
"""
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import loader
from .loader import FILES, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS, Split, load_idx_dataset

# SHA-256 of the decompressed files (their MD5s match the values LeCun published).
SHA256: Mapping[str, str] = {
    TRAIN_IMAGES: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    TRAIN_LABELS: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    TEST_IMAGES: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    TEST_LABELS: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

IMAGE_SHAPE = (28, 28)

DATASET = loader.IdxDataset(name="mnist", title="MNIST", sha256=SHA256, mirrors=MIRRORS,
                            data_env="SCRATCHCNN_DATA", cache_env="SCRATCHCNN_CACHE", cache_folder="mnist",
                            image_shape=IMAGE_SHAPE)

__all__ = ["load_data", "load_test_data", "load_idx_dataset", "data_dir", "cache_dir", "FILES", "SHA256", "MIRRORS",
           "TRAIN_IMAGES", "TRAIN_LABELS", "TEST_IMAGES", "TEST_LABELS", "DATASET"]


def cache_dir() -> Path:
    """The per-user folder where downloaded MNIST files are kept."""
    return loader.cache_dir(DATASET)


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """The folder to load MNIST from: ``path``, else ``$SCRATCHCNN_DATA``, else ``cache_dir()``."""
    return loader.data_dir(DATASET, path)


def load_data(path: str | os.PathLike | None = None, *, download: bool = True,
              mirrors: Sequence[str] | None = None, timeout: float = 30.0,
              verbose: bool = True) -> tuple[Split, Split]:
    """Load MNIST as ``(x_train, y_train), (x_test, y_test)``, downloading missing files (loader.load).

    ``mirrors`` replaces ``MIRRORS`` (each is a URL prefix the file names are appended to);
    ``timeout`` is in seconds per network operation; ``verbose`` prints one line per download.
    """
    return loader.load(DATASET, path, download=download, mirrors=mirrors, timeout=timeout, verbose=verbose)


def load_test_data(path: str | os.PathLike | None = None, *, download: bool = True,
                   mirrors: Sequence[str] | None = None, timeout: float = 30.0, verbose: bool = True) -> Split:
    """Only the MNIST test split, ``(x_test, y_test)``: just the two ``t10k`` files are needed (or
    downloaded), found and checked as ``load_data`` does. For scoring a trained model."""
    return loader.load_test(DATASET, path, download=download, mirrors=mirrors, timeout=timeout, verbose=verbose)
