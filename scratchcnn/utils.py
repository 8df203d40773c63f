"""``scratchcnn.utils`` (also ``keras.utils``): helpers that Keras tutorials call on their data.

``to_categorical(y, num_classes)`` turns integer class labels into one-hot rows, the labels
``loss='categorical_crossentropy'`` takes:

    y = [2, 0, 1]  ->  [[0, 0, 1],
                        [1, 0, 0],
                        [0, 1, 0]]        float64, shape y.shape + (num_classes,), like Keras 3

A trailing axis of size 1 is dropped first ((N, 1) -> (N, num_classes)), as Keras does.
"""
import numpy as np


def to_categorical(x, num_classes: int | None = None) -> np.ndarray:
    """One-hot rows for integer labels ``x``; ``num_classes`` defaults to max(x) + 1."""
    x = np.asarray(x)
    if x.dtype.kind not in "iuf" or (x.dtype.kind == "f" and not np.all(np.isfinite(x) & (np.mod(x, 1) == 0))):
        raise ValueError(f"to_categorical needs integer class labels, got dtype {x.dtype}"
                         + (" with values that are not whole numbers" if x.dtype.kind == "f" else ""))
    labels = x.astype(np.int64)
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    labels = labels.reshape(-1)
    if labels.size and labels.min() < 0:
        raise ValueError(f"to_categorical needs labels >= 0, got {labels.min()}")
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    elif isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"num_classes must be a whole number >= 1, got {num_classes!r}")
    elif labels.size and labels.max() >= num_classes:
        raise ValueError(f"to_categorical: label {labels.max()} does not fit num_classes={num_classes} "
                         f"(labels must be in [0, {num_classes - 1}]); pass num_classes={labels.max() + 1} or more")
    one_hot = np.zeros((labels.size, int(num_classes)))          # float64, as Keras 3 returns
    one_hot[np.arange(labels.size), labels] = 1.0
    return one_hot.reshape(*shape, int(num_classes))


__all__ = ["to_categorical"]
