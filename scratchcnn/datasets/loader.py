"""The machinery every MNIST-format data set shares: find, download, verify, cache, load.

A data set is described by an ``IdxDataset`` (its name, its four files' SHA-256, its mirrors, its
data-directory setting and its cache folder); ``mnist.py`` and ``fashion_mnist.py`` are one each, and their
``load_data`` is ``load(THAT_DATASET, ...)``. Both return what Keras's ``load_data()`` returns::

    (x_train, y_train), (x_test, y_test)      uint8 (60000, 28, 28), (60000,), (10000, 28, 28), (10000,)

Where the files are looked for (``data_dir``), first match wins:

1. the ``path`` argument;
2. the data set's environment variable (``SCRATCHCNN_DATA`` for MNIST, ``SCRATCHCNN_FASHION_DATA`` for
   Fashion-MNIST);
3. its per-user cache: its cache variable used as the folder itself (``SCRATCHCNN_CACHE``,
   ``SCRATCHCNN_FASHION_CACHE``), else ``$XDG_CACHE_HOME/scratchcnn/<folder>``, else
   ``~/.cache/scratchcnn/<folder>``.

Trust rule: every file is checked against the SHA-256 of its *decompressed* content
before use (the compressed bytes differ between mirrors, the content must not).
Missing files are downloaded from the mirrors, tried in turn; a download goes to a
temporary file beside the target and is renamed into place only once verified, so
the folder never holds a partial or wrong file. A damaged file in the cache is
replaced; a damaged file in a folder you chose is reported, never deleted.

``load_test`` loads only the test split (the two ``t10k`` files), for scoring a trained model.
``load_idx_dataset`` does the loading part for any folder of MNIST-format files
(KMNIST, subsets you wrote with ``idx.write_idx``); ``load_idx_split`` one split of it.
"""
import hashlib
import os
import secrets
import shutil
import urllib.request
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path

import numpy as np

from .errors import ChecksumError, DataNotFoundError, DatasetError, DownloadError, IDXFormatError
from .idx import parse_idx, read_idx_bytes

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

CHUNK_BYTES = 1 << 20

Split = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class IdxDataset:
    """One MNIST-format data set: what to download from where, how to check it, where to keep it."""
    name: str                    # "mnist": printed before each download line
    title: str                   # "MNIST": in messages
    sha256: Mapping[str, str]    # file name -> SHA-256 of its decompressed content
    mirrors: tuple[str, ...]     # URL prefixes the file names are appended to, tried in order
    data_env: str                # the environment variable naming a folder that holds the files
    cache_env: str               # the environment variable naming the cache folder itself
    cache_folder: str            # the cache's folder under $XDG_CACHE_HOME/scratchcnn or ~/.cache/scratchcnn
    image_shape: tuple[int, int] = (28, 28)
    files: tuple[str, ...] = FILES


def cache_dir(dataset: IdxDataset) -> Path:
    """The per-user folder where the downloaded files of ``dataset`` are kept."""
    if os.environ.get(dataset.cache_env):
        return Path(os.environ[dataset.cache_env]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "scratchcnn" / dataset.cache_folder
    return Path.home() / ".cache" / "scratchcnn" / dataset.cache_folder


def data_dir(dataset: IdxDataset, path: str | os.PathLike | None = None) -> Path:
    """The folder to load ``dataset`` from: ``path``, else its environment variable, else its cache."""
    if path is not None:
        return Path(path).expanduser()
    if os.environ.get(dataset.data_env):
        return Path(os.environ[dataset.data_env]).expanduser()
    return cache_dir(dataset)


def load(
    dataset: IdxDataset,
    path: str | os.PathLike | None = None,
    *,
    download: bool = True,
    mirrors: Sequence[str] | None = None,
    timeout: float = 30.0,
    verbose: bool = True,
) -> tuple[Split, Split]:
    """Load ``dataset`` as ``(x_train, y_train), (x_test, y_test)``, downloading missing files.

    ``mirrors`` replaces the data set's own (each is a URL prefix the file names are appended to);
    ``timeout`` is in seconds per network operation; ``verbose`` prints one line per download.
    """
    return _load_repairing(dataset, path, dataset.files,
                           lambda d: load_idx_dataset(d, checksums=dataset.sha256, image_shape=dataset.image_shape),
                           download=download, mirrors=mirrors, timeout=timeout, verbose=verbose)


def load_test(
    dataset: IdxDataset,
    path: str | os.PathLike | None = None,
    *,
    download: bool = True,
    mirrors: Sequence[str] | None = None,
    timeout: float = 30.0,
    verbose: bool = True,
) -> Split:
    """Only the test split of ``dataset``, ``(x_test, y_test)``: needs (or downloads) just the two ``t10k``
    files. Found and verified as ``load`` does; for scoring a trained model."""
    return _load_repairing(dataset, path, (TEST_IMAGES, TEST_LABELS),
                           lambda d: load_idx_split(d, TEST_IMAGES, TEST_LABELS, checksums=dataset.sha256,
                                                    image_shape=dataset.image_shape),
                           download=download, mirrors=mirrors, timeout=timeout, verbose=verbose)


def _load_repairing(dataset: IdxDataset, path, names: Sequence[str], load_files, *, download: bool,
                    mirrors: Sequence[str] | None, timeout: float, verbose: bool):
    """Download what is missing of ``names``, then ``load_files(directory)``; repair the cache."""
    if isinstance(mirrors, str):
        raise TypeError(f"mirrors must be a list of URL prefixes, not one string. Fix: mirrors=[{mirrors!r}].")
    directory = data_dir(dataset, path)
    mirrors = dataset.mirrors if mirrors is None else tuple(mirrors)
    if directory.exists() and not directory.is_dir():
        raise DataNotFoundError(
            f"{directory} is a file, not a folder. Fix: set {dataset.data_env} or pass path= "
            f"to the folder that holds the {dataset.title} files.",
            directory=directory,
        )
    ours = directory.resolve() == cache_dir(dataset).resolve()  # the cache is ours to repair

    # Each pass downloads what is missing, then loads. A damaged file in the cache is
    # deleted, so the next pass downloads it again (at most once per file).
    attempt = 0
    while True:
        missing = [name for name in names if not (directory / name).is_file()]
        if missing and not download:
            raise DataNotFoundError(
                f"{dataset.title} files missing from {directory}: {', '.join(missing)}.\n"
                f"Fix: put the files ({', '.join(names)}) there, or point to a folder that "
                f"has them with {dataset.data_env}=/that/folder or load_data(path='/that/folder'), "
                "or allow downloading with load_data(download=True).",
                directory=directory,
                missing=tuple(missing),
            )
        for name in missing:
            _download(dataset, name, directory, mirrors=mirrors, timeout=timeout, verbose=verbose)
        try:
            return load_files(directory)
        except ChecksumError as error:
            attempt += 1
            if not (ours and download) or attempt > len(names):
                raise
            warnings.warn(
                f"{error.path} in the cache is damaged (decompressed SHA-256 {error.actual}, "
                f"expected {error.expected}); deleting it and downloading it again.",
                stacklevel=4,
            )
            error.path.unlink()


def load_idx_dataset(
    directory: str | os.PathLike,
    *,
    train_images: str = TRAIN_IMAGES,
    train_labels: str = TRAIN_LABELS,
    test_images: str = TEST_IMAGES,
    test_labels: str = TEST_LABELS,
    checksums: Mapping[str, str] | None = None,
    image_shape: tuple[int, int] | None = None,
) -> tuple[Split, Split]:
    """Load four MNIST-format IDX files from ``directory``; nothing is downloaded.

    ``checksums`` maps file names to the SHA-256 of their decompressed content; a file
    not in it is not checked. ``image_shape`` (e.g. ``(28, 28)``) is enforced when given.
    """
    directory = Path(directory)
    _require(directory, (train_images, train_labels, test_images, test_labels))
    x_train, y_train = load_idx_split(directory, train_images, train_labels, checksums=checksums,
                                      image_shape=image_shape)
    x_test, y_test = load_idx_split(directory, test_images, test_labels, checksums=checksums,
                                    image_shape=image_shape)
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DatasetError(
            f"training images are {x_train.shape[1:]} but test images are {x_test.shape[1:]}. "
            f"Fix: the files in {directory} come from different data sets; use one set of four files."
        )
    return (x_train, y_train), (x_test, y_test)


def load_idx_split(
    directory: str | os.PathLike,
    images: str,
    labels: str,
    *,
    checksums: Mapping[str, str] | None = None,
    image_shape: tuple[int, int] | None = None,
) -> Split:
    """One split, ``(x, y)``, from an images file and a labels file in ``directory``; nothing is downloaded."""
    directory = Path(directory)
    _require(directory, (images, labels))
    checksums = checksums or {}
    x, y = (_read_verified(directory / name, checksums.get(name)) for name in (images, labels))
    _check_split(x, y, directory / images, directory / labels, image_shape)
    return x, y


def _require(directory: Path, names: Sequence[str]) -> None:
    missing = [name for name in names if not (directory / name).is_file()]
    if missing:
        raise DataNotFoundError(
            f"{directory} lacks {', '.join(missing)}. "
            "Fix: copy the files there, or pass the folder that has them.",
            directory=directory,
            missing=tuple(missing),
        )


def _read_verified(path: Path, expected_sha256: str | None) -> np.ndarray:
    """Read one IDX file, checking its decompressed SHA-256 first when one is expected."""
    try:
        raw = read_idx_bytes(path)  # decompress once: hash these bytes, then parse them
    except IDXFormatError as error:  # e.g. a truncated .gz: it cannot match any checksum
        if expected_sha256 is None:
            raise
        raise ChecksumError(
            str(error), path=path, expected=expected_sha256, actual="none (the file cannot be decompressed)"
        ) from error
    if expected_sha256 is not None:
        actual = hashlib.sha256(raw).hexdigest()
        if actual != expected_sha256:
            raise ChecksumError(
                f"{path} is damaged or not the official file: the SHA-256 of its decompressed "
                f"content is {actual}, expected {expected_sha256}.\n"
                "Fix: delete it and load again (missing files are downloaded), "
                "or replace it with a good copy.",
                path=path,
                expected=expected_sha256,
                actual=actual,
            )
    return parse_idx(raw, name=str(path))


def _check_split(
    images: np.ndarray, labels: np.ndarray, images_path: Path, labels_path: Path, image_shape: tuple[int, int] | None
) -> None:
    """Images must be (count, height, width), labels (count,), with the same count."""
    if images.ndim != 3:
        raise IDXFormatError(
            f"{images_path}: images must have 3 dimensions (count, height, width), got shape {images.shape}. "
            "Fix: check that the file names are not swapped."
        )
    if labels.ndim != 1:
        raise IDXFormatError(
            f"{labels_path}: labels must have 1 dimension (count,), got shape {labels.shape}. "
            "Fix: check that the file names are not swapped."
        )
    if image_shape is not None and images.shape[1:] != tuple(image_shape):
        raise IDXFormatError(
            f"{images_path}: images are {images.shape[1]}x{images.shape[2]}, expected "
            f"{image_shape[0]}x{image_shape[1]}. Fix: use the right files for this data set."
        )
    if len(images) != len(labels):
        raise DatasetError(
            f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels. "
            "Fix: the two files must come from the same data set and split."
        )


def _download(dataset: IdxDataset, name: str, directory: Path, *, mirrors: Sequence[str], timeout: float,
              verbose: bool) -> None:
    """Download one file of ``dataset`` into ``directory``, trying each mirror in turn.

    With ``verbose``, one line says where the file came from (and which mirrors failed before it); when
    every mirror fails, nothing is printed: the error lists each mirror's failure, once.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DownloadError(
            f"cannot create the folder {directory} ({error}). "
            f"Fix: set {dataset.data_env} or pass path= to a folder you can write to.",
            name=name,
            directory=directory,
        ) from error
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        try:
            size = _fetch(url, directory / name, dataset.sha256[name], timeout)
        except (OSError, HTTPException, ValueError, DatasetError) as error:
            failures.append((url, str(error)))
            continue
        if verbose:
            before = "".join(f"; {url} failed first: {reason}" for url, reason in failures)
            print(f"{dataset.name}: downloaded {name} ({size / 1e6:.1f} MB) from {mirror} into {directory}{before}")
        return
    tried = "\n".join(f"  {url}: {reason}" for url, reason in failures) or "  (no mirrors were given)"
    raise DownloadError(
        f"could not download {name} from any mirror:\n{tried}\n"
        f"Fix: download the four files ({', '.join(dataset.files)}) by hand into {directory}, "
        f"or set {dataset.data_env} (or pass path=) to a folder that has them.",
        name=name,
        directory=directory,
        failures=tuple(failures),
    )


def _fetch(url: str, target: Path, sha256: str, timeout: float) -> int:
    """Stream ``url`` to a temporary file beside ``target``; verify; rename into place.

    Returns the number of bytes received. Whatever goes wrong, the temporary file is
    removed, so the folder never keeps a partial download.
    """
    partial = target.with_name(f".{target.name}.partial-{secrets.token_hex(6)}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "xb") as file:
            shutil.copyfileobj(response, file, CHUNK_BYTES)
            received = file.tell()
            announced = response.headers.get("Content-Length")
        if announced is not None and received != int(announced):
            raise DownloadError(f"the connection closed after {received} of {announced} bytes")
        actual = hashlib.sha256(read_idx_bytes(partial)).hexdigest()
        if actual != sha256:
            raise ChecksumError(
                f"the downloaded file's decompressed SHA-256 is {actual}, expected {sha256}",
                path=target,
                expected=sha256,
                actual=actual,
            )
        os.replace(partial, target)
        return received
    finally:
        partial.unlink(missing_ok=True)  # only still there if something failed
