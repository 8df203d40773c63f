"""Checking what the user hands the model, before any work is done and before anything changes.

Each check names the argument, what it got and what was expected, and where it can, the line of code that
fixes it (docs/errors.md lists them all). ``Sequential`` calls these from fit, evaluate, predict and
train_on_batch.
"""
import warnings

import numpy as np

from .callbacks import Callback
from .datasets.scaled import ScaledImages


def as_batch(x, what: str = "x") -> np.ndarray:
    """A numeric array with a batch axis and at least one sample."""
    name = what.split()[-1]  # "validation_data x" -> "x", for the code the messages suggest
    try:
        x = np.asarray(x)
    except ValueError as error:  # e.g. a list of rows of different lengths
        raise ValueError(f"{what} cannot be made into an array ({error})") from None
    if x.dtype.kind not in "fiu":
        hint = f"; convert it first, e.g. {name}.astype('float32')" if x.dtype.kind == "b" else ""
        raise TypeError(f"{what} must be an array of numbers (float or integer), got dtype {x.dtype}{hint}")
    if x.ndim < 2:
        raise ValueError(f"{what} needs a batch axis first, got shape {x.shape}: "
                         f"pass a batch, e.g. {name}[None] for one sample")
    if x.shape[0] == 0:
        raise ValueError(f"{what} is empty (0 samples): there is nothing to work on")
    return x


def check_shape(shape: tuple[int, ...], input_shape: tuple[int, ...], what: str = "x") -> None:
    """``shape`` must be (batch, *input_shape); else a message naming the reshape that fixes it."""
    name = what.split()[-1]
    if shape[1:] != input_shape:
        expected = ", ".join(map(str, input_shape))
        hint = ""
        if shape == input_shape:
            hint = f"; for one sample pass a batch of one: {name}[None]"
        elif shape[1:] == input_shape[:-1] and input_shape[-1] == 1:
            hint = f"; add the channel axis: {name}.reshape(-1, {expected})"
        elif int(np.prod(shape[1:])) == int(np.prod(input_shape)):
            hint = f"; reshape it: {name}.reshape(-1, {expected})"
        raise ValueError(f"{what} has shape {shape}, but the model expects (batch, {expected}){hint}")


def as_model_input(x: np.ndarray, input_shape: tuple[int, ...], dtype, what: str = "x",
                   stacklevel: int = 3) -> np.ndarray:
    """x of shape (batch, *input_shape), converted to the model's dtype, every value finite."""
    name = what.split()[-1]
    check_shape(x.shape, input_shape, what)
    if x.dtype.kind != "f" and x.max() > 1:
        warnings.warn(f"{what} has integer dtype {x.dtype} with values up to {x.max()}; converting to "
                      f"{dtype}. Scale pixels to [0, 1] first (x = x.astype('float32') / 255), "
                      "as the tutorial does", stacklevel=stacklevel)
    converted = "" if x.dtype == dtype else f" (after conversion to {dtype})"
    with np.errstate(over="ignore"):  # float64 values beyond float32's range become inf: reported below
        x = x.astype(dtype, copy=False)
    if np.isfinite(x.sum(dtype=np.float64)):  # one pass, no temporary: any NaN or inf makes the sum one
        return x
    finite = np.isfinite(x)
    n_nan, n_inf = int(np.count_nonzero(np.isnan(x))), int(np.count_nonzero(np.isinf(x)))
    bad_samples = np.flatnonzero(~finite.reshape(len(x), -1).all(axis=1))
    raise ValueError(f"{what} holds {n_nan:,} NaN and {n_inf:,} infinite values{converted}, in "
                     f"{len(bad_samples):,} of its {len(x):,} samples (the first is {name}[{bad_samples[0]}]): "
                     "every input must be a finite number; drop or repair those samples")


def as_scaled_images(x, input_shape: tuple[int, ...], dtype, what: str = "x"):
    """A ScaledImages set the model can take: its shape, its float dtype (its values are finite by
    construction, integers divided by a number)."""
    check_shape(x.shape, input_shape, what)
    if len(x) == 0:
        raise ValueError(f"{what} is empty (0 samples): there is nothing to work on")
    if x.dtype != dtype:
        raise ValueError(f"{what} makes {x.dtype} batches but the model computes in {dtype}: "
                         f"ScaledImages(images, dtype='{dtype}')")
    return x


def as_labels(y, n_samples: int, n_classes: int, loss, what: str = "x") -> np.ndarray:
    """The targets the loss takes (integer classes, or one-hot rows), one per sample of ``what``."""
    what_y = what[:-1] + "y"  # "x" -> "y", "validation_data x" -> "validation_data y"
    y = loss.targets(y, n_classes, what_y)
    if len(y) != n_samples:
        raise ValueError(f"{what} has {n_samples} samples but its labels have {len(y)} ({what_y}): they must "
                         "match, one label per sample")
    return y


def count(value, name: str, minimum: int) -> int:
    """batch_size and epochs must be whole numbers, at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r} of type {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def validation_pair(validation_data) -> tuple:
    """validation_data must be (x_val, y_val), as in Keras (sample weights are not supported)."""
    if not isinstance(validation_data, (tuple, list)):
        raise TypeError(f"validation_data must be a pair (x_val, y_val), got a {type(validation_data).__name__}")
    if len(validation_data) != 2:
        n = len(validation_data)
        raise ValueError(f"validation_data must be a pair (x_val, y_val), got {n} item{'s' * (n != 1)}")
    return tuple(validation_data)


def validation_split(value, n_samples: int | None) -> float:
    """fit's validation_split: a fraction in [0, 1) (0 means none) that leaves at least one of the
    ``n_samples`` samples on each side (Keras trains on the first floor(n * (1 - split))); None: there is no
    split to make (validation_data takes its place), only the range is checked."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"validation_split must be a number in [0, 1), got {value!r}")
    if not 0.0 <= value < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {value}: it is the fraction of x and y held "
                         "out for validation, e.g. validation_split=0.1")
    split_at = None if n_samples is None else _split_at(n_samples, value)
    if value and split_at is not None and (split_at == 0 or split_at == n_samples):
        raise ValueError(f"validation_split={value} of {n_samples} sample{'s' * (n_samples != 1)} leaves "
                         f"{split_at} for training and {n_samples - split_at} for validation: both need at least "
                         "one; use more data or another fraction")
    return float(value)


def _split_at(n_samples: int, fraction: float) -> int:
    return int(np.floor(n_samples * (1.0 - fraction)))


def split_off_validation(x: np.ndarray, y: np.ndarray, fraction: float):
    """Keras's rule: the last ``fraction`` of the samples, before any shuffling -> (x, y, (x_val, y_val))."""
    split_at = _split_at(len(x), fraction)
    if isinstance(x, ScaledImages):  # both parts stay uint8
        return x.rows(slice(None, split_at)), y[:split_at], (x.rows(slice(split_at, None)), y[split_at:])
    return x[:split_at], y[:split_at], (x[split_at:], y[split_at:])


def callbacks(given) -> list[Callback]:
    given = list(given or [])
    for callback in given:
        if not isinstance(callback, Callback):
            raise TypeError("callbacks must be a list of scratchcnn.callbacks.Callback objects, got a "
                            f"{type(callback).__name__}")
    return given
