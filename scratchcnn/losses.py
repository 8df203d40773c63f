"""Cross-entropy losses: how far the predicted class probabilities are from the labels.

Two forms, as in Keras, differing only in how the labels are written (N samples, K classes):

    sparse_categorical_crossentropy   labels y (N,), integer classes:       loss = mean_n( -log p[n, y_n] )
    categorical_crossentropy          labels Y (N, K), one-hot or soft rows: loss = mean_n( -sum_k Y[n, k] log p[n, k] )

With one-hot rows Y[n] = onehot(y_n) the two are the same number. Each loss can start from

- logits z (the input of the final softmax), computed stably with log-softmax,
      log p[n, k] = z[n, k] - max_j z[n, j] - log sum_j exp(z[n, j] - max_j z[n, j]),
  so no exp overflows and no log(0) happens, and softmax and the loss fuse into one simple gradient:
      dL/dz[n, k] = (p[n, k] - Y[n, k]) / N            (rows of Y summing to 1, as they must within 1e-3;
                                                          the code uses p[n, k] * sum_j Y[n, j] - Y[n, k], exact)
  That fused path is what the model uses when the last layer ends in softmax, exactly as Keras does with
  the logits it keeps behind a softmax output;
- probabilities p (no logits known). Sparse: p is clipped to [1e-7, 1 - 1e-7], as Keras does.
  Categorical: as Keras's source does, each row is first rescaled to sum to 1, q = p / sum_k p[n, k], then
  clipped; the gradient goes back through both (none flows where the clip bites):
      dL/dq[n, k] = -Y[n, k] / (N q[n, k])
      dL/dp[n, j] = (dL/dq[n, j] - sum_k dL/dq[n, k] q[n, k]) / sum_k p[n, k].
  For outputs of a softmax (rows summing to 1) the rescaling changes nothing in the loss.

The loss objects (``SparseCategoricalCrossentropy``, ``CategoricalCrossentropy``) are what ``compile`` holds:
``targets`` checks and converts the user's labels, ``forward_backward`` gives (loss, gradient) for the
model's output, ``forward_backward_logits`` the fused form for the logits. Called like Keras's,
``loss_fn(y_true, y_pred)``, they return the mean loss. The loop-by-loop twins are in reference/layers.py
(sparse) and reference/losses.py (categorical).
"""
import numpy as np

EPSILON = 1e-7  # Keras's backend epsilon, used to clip probabilities
ROW_SUM_TOLERANCE = 1e-3  # how far from 1 a row of categorical labels may sum (float32 soft labels)


# --- the labels -------------------------------------------------------------------------------------------

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
                         f"cross-entropy, got shape {y.shape}; for one-hot labels use y.argmax(axis=1), "
                         "or compile with loss='categorical_crossentropy'")
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


def check_label_rows(y, n_classes: int, what: str = "y") -> np.ndarray:
    """One-hot or soft label rows of shape (N, n_classes): finite, >= 0, each summing to 1 -> float64 array."""
    name = what.split()[-1]
    y = np.asarray(y)
    if y.dtype.kind not in "iufb":
        raise TypeError(f"{what} must hold numbers (one-hot rows), got dtype {y.dtype}")
    if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1 and n_classes > 1):
        raise ValueError(f"{what} has shape {y.shape}: integer class labels, but categorical cross-entropy needs "
                         f"one-hot rows of shape (N, {n_classes}); convert them with "
                         f"keras.utils.to_categorical({name}, {n_classes}), or compile with "
                         "loss='sparse_categorical_crossentropy'")
    if y.ndim != 2:
        raise ValueError(f"{what} must be one-hot rows of shape (N, {n_classes}), got shape {y.shape}")
    if y.shape[1] != n_classes:
        raise ValueError(f"{what} rows have {y.shape[1]} entries but the model has {n_classes} outputs: each row "
                         f"needs one entry per class (to_categorical({name}, num_classes={n_classes}))")
    y = y.astype(np.float64)
    bad = ~np.isfinite(y).all(axis=1) | (y < 0).any(axis=1)
    if bad.any():
        raise ValueError(f"{what} must hold finite values >= 0, got {int(bad.sum())} rows that do not "
                         f"(the first is row {np.flatnonzero(bad)[0]})")
    sums = y.sum(axis=1)
    off = np.abs(sums - 1.0) > ROW_SUM_TOLERANCE
    if off.any():
        first = np.flatnonzero(off)[0]
        raise ValueError(f"{what} rows must each sum to 1 (one-hot or class probabilities), got {int(off.sum())} "
                         f"rows that do not (row {first} sums to {sums[first]:g})")
    return y


# --- the sparse form: integer labels ----------------------------------------------------------------------

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


# --- the categorical form: one-hot or soft label rows -----------------------------------------------------

def categorical_crossentropy_from_logits(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """(mean loss, dL/dz) for logits z (N, K) and label rows y (N, K) that sum to 1."""
    n = z.shape[0]
    y = y.astype(z.dtype, copy=False)  # computed in the model's dtype, as the sparse form is
    log_p = log_softmax(z)
    loss = -(y * log_p).sum() / n
    row_sum = y.sum(axis=1, keepdims=True)  # 1 for one-hot rows (then p * 1 - y, exactly the sparse form)
    dz = (np.exp(log_p) * row_sum - y) / n  # softmax(z) * sum(y) - y: exact for rows a little off 1 too
    return float(loss), dz


def categorical_crossentropy(p: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """(mean loss, dL/dp) for probabilities p (N, K) and label rows y (N, K): Keras's rescale, then clip."""
    n = p.shape[0]
    y = y.astype(p.dtype, copy=False)                          # computed in the model's dtype
    row_sum = p.sum(axis=1, keepdims=True)                     # (N, 1)
    q = p / row_sum                                            # each row sums to 1
    clipped = np.clip(q, EPSILON, 1.0 - EPSILON)
    loss = -(y * np.log(clipped)).sum() / n
    inside = (q > EPSILON) & (q < 1.0 - EPSILON)               # where the clip bites, no gradient flows
    dq = np.where(inside, -y / (n * clipped), 0.0)             # (N, K)
    dp = (dq - (dq * q).sum(axis=1, keepdims=True)) / row_sum  # back through q = p / sum(p)
    return float(loss), dp


# --- the loss objects compile holds -----------------------------------------------------------------------

class Loss:
    """A loss object: ``from_logits`` says whether the model's output is logits (no softmax) or probabilities."""
    name = "loss"

    def __init__(self, from_logits: bool = False):
        if not isinstance(from_logits, (bool, np.bool_)):
            raise TypeError(f"from_logits must be True or False, got {from_logits!r}")
        self.from_logits = bool(from_logits)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(from_logits={self.from_logits})"

    def targets(self, y, n_classes: int, what: str = "y") -> np.ndarray:
        """Check the user's labels ``y`` (``what`` names them in messages) for a model with n_classes outputs
        and return them in the form ``forward_backward`` takes; raises with a message naming the fix.
        (Whether there is one label per sample is checks.as_labels's to say.)"""
        return self._convert(y, n_classes, what)

    def forward_backward(self, output: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """(mean loss, dL/doutput) for the model's output (N, K): logits if from_logits, else probabilities."""
        if self.from_logits:
            return self.forward_backward_logits(output, y)
        return self._from_probabilities(output, y)

    def forward_backward_logits(self, z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """(mean loss, dL/dz) from logits z (N, K), whatever from_logits says (the fused softmax head)."""
        raise NotImplementedError

    def __call__(self, y_true, y_pred) -> float:
        """The mean loss, Keras's argument order: ``loss_fn(y_true, y_pred)``."""
        y_pred = np.asarray(y_pred, dtype=np.float64)
        if y_pred.ndim != 2:
            raise ValueError(f"y_pred must be (N, classes) model outputs, got shape {y_pred.shape}")
        y = self.targets(y_true, y_pred.shape[1], what="y_true")
        if len(y) != len(y_pred):
            raise ValueError(f"y_pred has {len(y_pred)} rows but y_true has {len(y)} labels: one label per row")
        return self.forward_backward(y_pred, y)[0]

    def _convert(self, y, n_classes: int, what: str) -> np.ndarray:
        raise NotImplementedError

    def _from_probabilities(self, p: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        raise NotImplementedError


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy with integer class labels y (N,); ``from_logits=True`` when the last layer has no softmax."""
    name = "sparse_categorical_crossentropy"

    def _convert(self, y, n_classes, what):
        return check_labels(y, n_classes, what)

    def forward_backward_logits(self, z, y):
        return sparse_categorical_crossentropy_from_logits(z, y)

    def _from_probabilities(self, p, y):
        return sparse_categorical_crossentropy(p, y)


class CategoricalCrossentropy(Loss):
    """Cross-entropy with one-hot (or soft) label rows (N, K), e.g. from ``keras.utils.to_categorical``."""
    name = "categorical_crossentropy"

    def _convert(self, y, n_classes, what):
        return check_label_rows(y, n_classes, what)

    def forward_backward_logits(self, z, y):
        return categorical_crossentropy_from_logits(z, y)

    def _from_probabilities(self, p, y):
        return categorical_crossentropy(p, y)


LOSSES = {cls.name: cls for cls in (SparseCategoricalCrossentropy, CategoricalCrossentropy)}


def get(identifier) -> Loss:
    """A loss object from its Keras name ('sparse_categorical_crossentropy', 'categorical_crossentropy'), from
    the function of that name (``loss=keras.losses.categorical_crossentropy``), or an object (returned as is)."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, str) and identifier in LOSSES:
        return LOSSES[identifier]()
    if callable(identifier) and getattr(identifier, "__name__", None) in LOSSES:  # loss=losses.categorical_crossentropy
        return LOSSES[identifier.__name__]()                                     # as older Keras scripts write
    raise ValueError(f"unknown loss {identifier!r}: scratchcnn implements "
                     f"{' and '.join(repr(name) for name in LOSSES)}, or pass losses.SparseCategoricalCrossentropy"
                     "(from_logits=...) / losses.CategoricalCrossentropy(from_logits=...)")
