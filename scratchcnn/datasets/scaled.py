"""Images kept as the files hold them (uint8, one byte a pixel), made floats one batch at a time.

The tutorial scales the whole training set up front::

    x_train = x_train.reshape(-1, 28, 28, 1).astype('float32') / 255     # 188 MB of floats for MNIST

``ScaledImages`` gives ``fit``, ``evaluate`` and ``predict`` the same numbers while holding 47 MB: each
batch is converted when the model asks for it, and nothing else changes, not even the bits (the same
float32 division, on the same pixels, in the same order)::

    x_train = ScaledImages(x_train)      # behaves as an array of shape (60000, 28, 28, 1), float32
    x_train[batch]                       # a float batch, == x_train_uint8[batch, ..., None] / 255
    model.fit(x_train, y_train, ...)

``scratchcnn train`` trains this way (its peak memory: docs/performance.md). ``np.asarray(images)`` makes
the whole set floats when something needs it at once.
"""
import numpy as np


class ScaledImages:
    """``images`` (N, H, W) or (N, H, W, C) integers, read as floats ``images / divide_by`` of shape
    (N, H, W, C) (a channel axis of 1 added to (N, H, W)), a batch at a time."""

    def __init__(self, images: np.ndarray, divide_by: float = 255, dtype="float32"):
        images = np.asarray(images)
        if images.dtype.kind not in "iu":
            raise TypeError(f"ScaledImages keeps integer images (as the files hold them), got dtype {images.dtype}: "
                            "float images need no wrapper, pass them to fit as they are")
        if images.ndim not in (3, 4):
            raise ValueError(f"ScaledImages needs images of shape (N, H, W) or (N, H, W, C), got {images.shape}")
        self.images = images if images.ndim == 4 else images[..., None]  # a view: no copy
        self.divide_by = divide_by
        self.dtype = np.dtype(dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.images.shape

    @property
    def ndim(self) -> int:
        return self.images.ndim

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index) -> np.ndarray:
        """The selected images as floats: ``index`` is what NumPy takes (a slice, an array of indices)."""
        batch = self.images[index].astype(self.dtype)
        batch /= self.divide_by  # the tutorial's own operation (astype, then divide in place): the same bits
        return batch

    def rows(self, index) -> "ScaledImages":
        """A part of the set (``validation_split`` cuts the last rows off this way), still uint8."""
        return ScaledImages(self.images[index], self.divide_by, self.dtype)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        floats = self[:]
        return floats if dtype is None else floats.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"ScaledImages({self.images.dtype} {self.shape} / {self.divide_by} -> {self.dtype})"
