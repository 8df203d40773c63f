"""The tutorial's network and data preparation, in one place for the CLI, the tests and the benchmarks.

Keras original:
    model = Sequential()
    model.add(Conv2D(28, kernel_size=(3,3), input_shape=input_shape))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Flatten())
    model.add(Dense(128, activation=tf.nn.relu))
    model.add(Dropout(0.2))
    model.add(Dense(10, activation=tf.nn.softmax))
    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
"""
import copy
import threading
import time

import numpy as np

from .datasets.scaled import ScaledImages
from .layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from .model import Sequential

# The test images the tutorial's figure shows, titled with their predicted labels.
FIGURE_INDICES = (2853, 2000, 1500, 1345)


def build_model(input_shape=(28, 28, 1), n_classes: int = 10, seed: int | None = None,
                dtype="float32") -> Sequential:
    """The tutorial network, compiled with Adam and sparse categorical cross-entropy."""
    model = Sequential([
        Conv2D(28, kernel_size=(3, 3), input_shape=input_shape),
        MaxPooling2D(pool_size=(2, 2)),
        Flatten(),
        Dense(128, activation="relu"),
        Dropout(0.2),
        Dense(n_classes, activation="softmax"),
    ], seed=seed, dtype=dtype)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def prepare_images(x: np.ndarray, dtype="float32") -> np.ndarray:
    """uint8 images (N, H, W) -> floats in [0, 1] of shape (N, H, W, 1), as the tutorial does."""
    images = x.reshape(*x.shape[:3], 1).astype(dtype)
    images /= 255  # in place: a second 188 MB copy of the training set would double the peak memory
    return images


def load_dataset(name: str, data_dir=None, download: bool = True, per_batch: bool = False):
    """('mnist' | 'fashion_mnist' | 'digits') -> ((x_train, y_train), (x_test, y_test)), images prepared as floats.

    ``per_batch=True`` keeps the images as the files hold them (uint8) and scales each batch when the model
    reads it (datasets/scaled.py): the same numbers, a quarter of the memory (``scratchcnn train`` does this).

    The digits train/test split is fixed (split seed 0), whatever seed the model trains with, so that
    ``scratchcnn evaluate`` scores a saved model on the same test images it was tested on."""
    from . import datasets

    if name in ("mnist", "fashion_mnist"):  # the same loader, each with its own checksums and settings
        (x_train, y_train), (x_test, y_test) = getattr(datasets, name).load_data(data_dir, download=download)
    elif name == "digits":
        (x_train, y_train), (x_test, y_test) = datasets.digits.load_data(seed=0)
    else:
        raise ValueError(f"unknown dataset {name!r}: use 'mnist', 'fashion_mnist' or 'digits'")
    prepare = ScaledImages if per_batch else prepare_images
    return (prepare(x_train), y_train), (prepare(x_test), y_test)


def load_test_set(name: str, data_dir=None, download: bool = True):
    """Only the test split of ('mnist' | 'fashion_mnist' | 'digits'), prepared as floats: for scoring a trained
    model (the MNIST-format sets need just their two t10k files)."""
    from . import datasets

    if name in ("mnist", "fashion_mnist"):
        x_test, y_test = getattr(datasets, name).load_test_data(data_dir, download=download)
    elif name == "digits":
        _, (x_test, y_test) = datasets.digits.load_data(seed=0)
    else:
        raise ValueError(f"unknown dataset {name!r}: use 'mnist', 'fashion_mnist' or 'digits'")
    return prepare_images(x_test), y_test


COMPILING = "Compiling the numba kernels (first run only, 15 to 30 s)..."
COMPILE_NOTICE_SECONDS = 5.0  # loading them from the cache takes 0.2 s, 2 s on a busy machine


def warm_up(model, x, y, say=print, after: float = COMPILE_NOTICE_SECONDS) -> float:
    """Run every numba kernel that ``fit``, ``evaluate`` and ``predict`` will use once, on a throwaway copy of
    ``model`` and a tiny batch (two images of ``x``), so that the first epoch's time is training, not numba
    compiling. Returns the seconds it took.

    Kernels are compiled on their first call and cached on disk (kernels/__init__.py): on a first-ever run
    this takes 15 to 30 s, later a fraction of a second. Should it take longer than ``after``
    seconds, ``say`` tells so on one line while it happens, and the line ends with the time it took.
    The copy has its own weights, optimizer and random generator: ``model`` is not changed at all."""
    scratch = copy.deepcopy(model)
    told = threading.Event()
    lock = threading.Lock()
    finished = False

    def tell():
        with lock:
            if not finished:
                say(COMPILING, end="", flush=True)
                told.set()

    timer = threading.Timer(after, tell)
    timer.daemon = True
    started = time.perf_counter()
    timer.start()
    try:
        x, y = x[:2], y[:2]
        scratch.fit(x, y, batch_size=2, epochs=1, verbose=0, validation_data=(x, y))
        scratch.predict(x, batch_size=2)
    finally:
        with lock:
            finished = True
            timer.cancel()
    seconds = time.perf_counter() - started
    if told.is_set():
        say(f" done in {seconds:.1f} s", flush=True)
    del scratch
    return_freed_memory()  # loading the kernels left about 20 MB freed but kept by the C library
    return seconds


def return_freed_memory() -> None:
    """Give the memory Python has freed back to the operating system, where the C library allows it.

    glibc (Linux) keeps freed memory to reuse it, so a process's resident size stays at its highest point:
    after numba loads its kernels, and after the training set is released, ``scratchcnn train`` would
    carry 15 to 20 MB it no longer uses into the next phase. ``malloc_trim`` hands it back; elsewhere this
    does nothing (docs/performance.md, Memory)."""
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        trim = getattr(libc, "malloc_trim", None)
    except OSError:
        trim = None
    if trim is not None:  # glibc only: musl, macOS and Windows have no malloc_trim
        trim(0)
