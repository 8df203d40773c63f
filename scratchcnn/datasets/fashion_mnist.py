"""Fashion-MNIST: Zalando Research's 28x28 grey images of clothing, a drop-in replacement for MNIST.

``load_data()`` returns exactly what ``keras.datasets.fashion_mnist.load_data()`` returns::

    (x_train, y_train), (x_test, y_test) = load_data()
    # uint8 arrays of shapes (60000, 28, 28), (60000,), (10000, 28, 28), (10000,); labels 0-9 (CLASS_NAMES)

The four files have MNIST's names and format, other content. Where they are looked for, first match wins:
the ``path`` argument; ``$SCRATCHCNN_FASHION_DATA``; the per-user cache (``$SCRATCHCNN_FASHION_CACHE``, else
``$XDG_CACHE_HOME/scratchcnn/fashion-mnist``, else ``~/.cache/scratchcnn/fashion-mnist``). Finding,
downloading, checking and caching are loader.py's, shared with MNIST; this file holds what is
Fashion-MNIST's own: its checksums, its mirrors and its settings. (Fashion-MNIST is MIT-licensed.)
"""
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import loader
from .loader import FILES, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS, Split

# SHA-256 of the decompressed files: the content is checked, not the .gz bytes, which differ between copies.
SHA256: Mapping[str, str] = {
    TRAIN_IMAGES: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    TRAIN_LABELS: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    TEST_IMAGES: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    TEST_LABELS: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

MIRRORS = (
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",    # where Keras downloads it from
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",     # Zalando's own, from its README
)

# What the labels 0-9 mean, in the order of the data set's documentation.
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot")

DATASET = loader.IdxDataset(name="fashion_mnist", title="Fashion-MNIST", sha256=SHA256, mirrors=MIRRORS,
                            data_env="SCRATCHCNN_FASHION_DATA", cache_env="SCRATCHCNN_FASHION_CACHE",
                            cache_folder="fashion-mnist", image_shape=(28, 28))

__all__ = ["load_data", "load_test_data", "data_dir", "cache_dir", "FILES", "SHA256", "MIRRORS", "CLASS_NAMES", "DATASET"]


def cache_dir() -> Path:
    """The per-user folder where downloaded Fashion-MNIST files are kept."""
    return loader.cache_dir(DATASET)


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """The folder to load Fashion-MNIST from: ``path``, else ``$SCRATCHCNN_FASHION_DATA``, else ``cache_dir()``."""
    return loader.data_dir(DATASET, path)


def load_data(path: str | os.PathLike | None = None, *, download: bool = True,
              mirrors: Sequence[str] | None = None, timeout: float = 30.0,
              verbose: bool = True) -> tuple[Split, Split]:
    """Load Fashion-MNIST as ``(x_train, y_train), (x_test, y_test)``, downloading missing files.

    ``mirrors`` replaces ``MIRRORS``; ``timeout`` is in seconds per network operation; ``verbose`` prints
    one line per download.
    """
    return loader.load(DATASET, path, download=download, mirrors=mirrors, timeout=timeout, verbose=verbose)


def load_test_data(path: str | os.PathLike | None = None, *, download: bool = True,
                   mirrors: Sequence[str] | None = None, timeout: float = 30.0, verbose: bool = True) -> Split:
    """Only the Fashion-MNIST test split, ``(x_test, y_test)``: just the two ``t10k`` files are needed (or
    downloaded), found and checked as ``load_data`` does. For scoring a trained model."""
    return loader.load_test(DATASET, path, download=download, mirrors=mirrors, timeout=timeout, verbose=verbose)
