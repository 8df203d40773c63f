"""Sparse categorical cross-entropy: labels are integers, predictions are class probabilities.

    loss = mean_n( -log p[n, y_n] )

From logits z (the input of the final softmax) it is computed stably with log-softmax,
    log p[n, k] = z[n, k] - max_j z[n, j] - log sum_j exp(z[n, j] - max_j z[n, j]),
so no exp overflows and no log(0) happens, and softmax and the loss fuse into one simple gradient:
    dL/dz[n, k] = (p[n, k] - [k == y_n]) / N.
That fused path is what the model uses when the last layer ends in softmax, exactly as Keras does with
the logits it keeps behind a softmax output. Given probabilities instead (no logits known), they are
clipped to [1e-7, 1 - 1e-7] first, as Keras does.
"""
import numpy as np

EPSILON = 1e-7  # Keras's backend epsilon, used to clip probabilities


def check_labels(y, n_classes: int, what: str = "y") -> np.ndarray:
    """Integer class labels of shape (N,) (or (N, 1)) in [0, n_classes) -> int64 array (N,).

    ``what`` names the argument in error messages ("y", "validation_data y")."""
    y = np.asarray(y)
    if y.dtype.kind not in "iuf":
        raise TypeError(f"{what} must hold integer class indices, got dtype {y.dtype}; convert it first, "
                        f"e.g. {what.split()[-1]}.astype('int64')")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{what} must be integer class indices of shape (N,) for sparse categorical "
                         f"cross-entropy, got shape {y.shape}; for one-hot labels use y.argmax(axis=1)")
    if y.dtype.kind == "f":
        with np.errstate(invalid="ignore"):  # NaN and inf count as bad values here, without a warning
            bad = ~np.isfinite(y) | (np.mod(y, 1) != 0)
        if bad.any():
            raise ValueError(f"{what} must be whole numbers (class indices), got {int(bad.sum())} values that "
                             f"are not (the first is {y[bad][0]} at index {np.flatnonzero(bad)[0]})")
    y = y.astype(np.int64)
    outside = (y < 0) | (y >= n_classes)
    if outside.any():
        raise ValueError(f"{what} must be in [0, {n_classes - 1}] for a model with {n_classes} outputs, got "
                         f"{int(outside.sum())} of {len(y)} labels outside (values from {y.min()} to {y.max()})")
    return y


def log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def sparse_categorical_crossentropy_from_logits(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """(mean loss, dL/dz) for logits z (N, K) and labels y (N,)."""
    n = z.shape[0]
    log_p = log_softmax(z)
    loss = -log_p[np.arange(n), y].mean()
    dz = np.exp(log_p)                 # softmax(z)
    dz[np.arange(n), y] -= 1.0
    dz /= n
    return float(loss), dz


def sparse_categorical_crossentropy(p: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """(mean loss, dL/dp) for probabilities p (N, K) and labels y (N,)."""
    n = p.shape[0]
    picked = np.clip(p[np.arange(n), y], EPSILON, 1.0 - EPSILON)
    loss = -np.log(picked).mean()
    dp = np.zeros_like(p)
    inside = (p[np.arange(n), y] > EPSILON) & (p[np.arange(n), y] < 1.0 - EPSILON)  # clip stops gradient
    dp[np.arange(n), y] = np.where(inside, -1.0 / (n * picked), 0.0)
    return float(loss), dp


class SparseCategoricalCrossentropy:
    """The loss object ``compile`` holds; ``from_logits=True`` when the last layer has no softmax."""
    name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits: bool = False):
        self.from_logits = from_logits

    def __call__(self, y_true, y_pred) -> float:
        return self.forward_backward(y_pred, check_labels(y_true, y_pred.shape[1]))[0]

    def targets(self, y, n_classes: int, what: str = "y") -> np.ndarray:
        """The user's labels, checked: integer classes (N,)."""
        return check_labels(y, n_classes, what)

    def forward_backward(self, output: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """(mean loss, dL/doutput): output is logits if from_logits, else probabilities."""
        fn = sparse_categorical_crossentropy_from_logits if self.from_logits else sparse_categorical_crossentropy
        return fn(output, y)

    def forward_backward_logits(self, z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """(mean loss, dL/dz) from the logits z behind a softmax: the fused softmax + cross-entropy head."""
        return sparse_categorical_crossentropy_from_logits(z, y)


def get(identifier) -> SparseCategoricalCrossentropy:
    if isinstance(identifier, SparseCategoricalCrossentropy):
        return identifier
    if identifier == "sparse_categorical_crossentropy":
        return SparseCategoricalCrossentropy()
    raise ValueError(f"unknown loss {identifier!r}: scratchcnn implements 'sparse_categorical_crossentropy'")
