"""Gradient checking: does each ``backward`` really compute the derivative of its ``forward``?

A layer's backward pass is a hand-written derivative. To test it, compare it with the derivative measured
straight from the forward pass by central differences, in float64:

    numeric d f / d t[k]  =  (f(t + eps*e_k) - f(t - eps*e_k)) / (2*eps)      error O(eps**2)

The one-sided (f(t + eps) - f(t)) / eps would be off by O(eps); the central difference cancels that
first-order term, so with eps = 1e-6 the formula itself is off by ~1e-12 and what remains is float64
rounding, ~1e-16 * |f| / eps ~ 1e-10. In float32 the rounding alone would be ~1e-7 / eps: useless.

A layer maps a tensor to a tensor, so we check one vector-Jacobian product, the very thing backward
computes: draw a random upstream gradient ``dout`` (shape of the output) and differentiate the scalar

    f(x, params) = sum(dout * layer.forward(x))

Its exact gradients are ``layer.backward(dout)`` (for x) and ``layer.grads`` (for each parameter).
Numerically, f(t + eps) - f(t - eps) is summed as sum(dout * (y_plus - y_minus)), so outputs that did not
move cancel exactly instead of adding rounding noise. For the whole network f is simply the loss.

The verdict for one tensor, over the coordinates checked (all of them for small tensors, a seeded random
sample of ``max_coords`` for large ones), with a = analytic and n = numeric:

    max_rel_error = max |a - n| / max(|a| + |n|)        passes when <= 1e-7 (CS231n's bar)

Kinks: relu at 0 and a max-pool window with two equal maxima have no derivative, and a difference that
straddles one measures nonsense. Each layer declares its own kinks (``Layer.kinks(x)``: what decides its
smooth piece, and how far x is from the nearest kink), so a layer you write can declare its own too. The
checker refuses inputs within 10*eps of a kink (drawing again when it draws the input itself) and raises
``KinkError`` if a perturbation still flips a relu or a pool winner.
Dropout is checked with a fixed mask: every layer holding an ``rng`` is re-seeded before each forward pass.

    from scratchcnn.gradcheck import check_layer, format_table
    print(format_table(check_layer(MyLayer(), input_shape=(5, 5, 2))))

``check_model(model, x, y)`` does the same for every parameter of a float64 network, the loss as f: the
analytic gradients come from the model's plan, fused steps included, as ``fit`` runs it, the numerical
ones from each layer's own forward;
``run_suite()`` checks every layer, the loss, the tutorial network and Adam (against Keras's formula,
an equality, not a derivative), and ``scratchcnn gradcheck`` prints its table (``format_table``).
See docs/gradient-checking.md.
"""
import functools
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import losses
from ..model import Sequential
from ..kernels.threads import single_threaded_blas

EPS = 1e-6             # the step of the central difference
TOL = 1e-7             # the largest relative error that passes
KINK_MARGIN = 10       # inputs must stay KINK_MARGIN * eps away from every kink
MAX_COORDS = 200       # tensors larger than this are checked on a random sample of coordinates
TINY = np.finfo(np.float64).tiny


class KinkError(ValueError):
    """The input sits at (or a perturbation crossed) a point where the function has no derivative."""


@dataclass
class GradCheckResult:
    layer: str             # what was checked, e.g. "Conv2D(4, 3) on (2, 8, 8, 1)"
    tensor: str            # 'input', 'kernel', 'bias', 'dense.kernel', ...
    shape: tuple
    coords_checked: int
    max_rel_error: float
    passed: bool
    tol: float = TOL


# --- the measurement ---------------------------------------------------------------------------------------
def relative_error(analytic, numeric) -> float:
    """max |a - n| / max(|a| + |n|): 0 when equal, ~1 when unrelated, scale-free."""
    a = np.asarray(analytic, dtype=np.float64).ravel()
    n = np.asarray(numeric, dtype=np.float64).ravel()
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - n)) / max(float(np.max(np.abs(a) + np.abs(n))), TINY))


def pick_coords(size: int, max_coords: int, rng: np.random.Generator) -> np.ndarray:
    """Every flat index when the tensor is small, else a sorted random sample of max_coords of them."""
    if size <= max_coords:
        return np.arange(size)
    return np.sort(rng.choice(size, size=max_coords, replace=False))


def numerical_gradient(evaluate: Callable[[], np.ndarray], tensor: np.ndarray, coords: np.ndarray,
                       eps: float = EPS, dout=1.0) -> np.ndarray:
    """d/dtensor.flat[k] of sum(dout * evaluate()) for each k in coords, by central differences.

    ``tensor`` is nudged in place (and restored bit for bit), so ``evaluate`` must read it: pass the very
    array the forward pass uses (a layer's parameter, or the input it is fed).
    """
    if not tensor.flags.c_contiguous:
        raise ValueError("numerical_gradient needs a C-contiguous tensor to nudge in place")
    flat = tensor.reshape(-1)                         # a view: writing to it writes to tensor
    grad = np.empty(len(coords))
    for i, k in enumerate(coords):
        original = flat[k]
        flat[k] = original + eps
        plus = np.array(evaluate(), dtype=np.float64)     # a copy: some layers return views of their input
        flat[k] = original - eps
        minus = np.array(evaluate(), dtype=np.float64)
        flat[k] = original
        step = (original + eps) - (original - eps)        # the step the floats really took (~2*eps)
        grad[i] = np.sum(dout * (plus - minus)) / step
    return grad


# --- kinks: each layer declares its own (Layer.kinks) -------------------------------------------------------
def _kink_signatures(layers, inputs) -> list[list[np.ndarray]]:
    return [layer.kinks(x)[0] for layer, x in zip(layers, inputs)]


def _distance_to_kinks(layers, inputs) -> float:
    """After a forward pass: how close any layer's input is to one of its kinks (inf for smooth layers)."""
    return min(layer.kinks(x)[1] for layer, x in zip(layers, inputs))


def _assert_same_kinks(layers, inputs, before: list[list[np.ndarray]]) -> None:
    for layer, now, old in zip(layers, _kink_signatures(layers, inputs), before):
        if len(now) != len(old) or any(not np.array_equal(a, b) for a, b in zip(now, old)):
            raise KinkError(f"a perturbation of eps flipped a relu or a pool winner in {layer!r}: the input "
                            "is too close to a kink; use another input (or seed)")


def well_spaced(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """A random permutation of evenly spaced values in [-1, 1]: no two entries closer than
    2 / (size - 1), so no max-pool window has a near-tie."""
    size = int(np.prod(shape))
    return rng.permutation(np.linspace(-1.0, 1.0, size)).reshape(shape)


# --- running layers with fixed randomness ------------------------------------------------------------------
def _reseed(layers, seed: int) -> None:
    """Every layer that draws random numbers (Dropout keeps an ``rng``) gets a freshly seeded one, so each
    forward pass draws the same mask."""
    for k, layer in enumerate(layers):
        if hasattr(layer, "rng"):
            layer.rng = np.random.default_rng([seed, k])


def _forward(layers, x, training: bool, seed: int):
    """x through the layers, each with its own forward, returning (output, the input each layer saw)."""
    _reseed(layers, seed)
    inputs = []
    for layer in layers:
        inputs.append(x)
        x = layer.forward(x, training=training)
    return x, inputs


def _param_names(layer) -> list[str]:
    """'kernel', 'bias', ...: the attribute that holds each parameter array (else 'param0', ...)."""
    names = []
    for k, param in enumerate(layer.params):
        found = [name for name, value in vars(layer).items() if value is param and name != "params"]
        names.append(found[0] if found else f"param{k}")
    return names


def _require_float64(dtype, what: str) -> None:
    if np.dtype(dtype) != np.float64:
        raise ValueError(f"gradient checks need float64 ({what} is {np.dtype(dtype)}): float32 rounding "
                         "(~1e-7) divided by eps would swamp the comparison")


def _one_blas_thread(check):
    """Run ``check`` with BLAS on one thread: it multiplies tiny matrices thousands of times, which one
    thread does fastest and without stalling on a busy core (see threads.py)."""
    @functools.wraps(check)
    def limited(*args, **kwargs):
        with single_threaded_blas():
            return check(*args, **kwargs)
    return limited


# --- checking one layer ------------------------------------------------------------------------------------
@_one_blas_thread
def check_layer(layer, input_shape, *, batch: int = 2, seed: int = 0, eps: float = EPS, tol: float = TOL,
                x=None, max_coords: int = MAX_COORDS, training: bool = False,
                label: str | None = None) -> list[GradCheckResult]:
    """Check ``layer.backward`` against central differences: one result for the input, one per parameter.

    The layer is built in float64 if it is not built yet. Without ``x``, a standard normal batch of shape
    (batch, *input_shape) is drawn, and drawn again while it lies within 10*eps of a relu or pool kink.
    """
    rng = np.random.default_rng(seed)
    input_shape = tuple(input_shape)
    if not layer.built:
        layer.build(input_shape, np.float64, rng)
    _require_float64(layer.dtype, "the layer")
    margin = KINK_MARGIN * eps
    saved = (layer.needs_input_grad, getattr(layer, "rng", None))
    layer.needs_input_grad = True
    try:
        if x is None:
            for _ in range(100):
                x = rng.standard_normal((batch, *input_shape))
                _forward([layer], x, training, seed)
                if layer.kinks(x)[1] > margin:
                    break
            else:
                raise KinkError("could not draw an input away from the layer's kinks in 100 tries")
        x = np.array(x, dtype=np.float64)                 # our own contiguous copy, nudged below
        label = label or f"{type(layer).__name__} on {x.shape}"

        y, _ = _forward([layer], x, training, seed)       # (N, ...) the output at the point checked
        if layer.kinks(x)[1] <= margin:
            raise KinkError(f"{label}: the input lies within {margin:g} of a kink; pick another x")
        kinks = _kink_signatures([layer], [x])
        dout = rng.standard_normal(y.shape)
        analytic = [layer.backward(dout)] + [g.copy() for g in layer.grads]
        tensors = [x] + list(layer.params)
        names = ["input"] + _param_names(layer)

        def evaluate():
            out, _ = _forward([layer], x, training, seed)
            _assert_same_kinks([layer], [x], kinks)
            return out

        results = []
        for name, tensor, grad in zip(names, tensors, analytic):
            coords = pick_coords(tensor.size, max_coords, rng)
            numeric = numerical_gradient(evaluate, tensor, coords, eps, dout)
            error = relative_error(grad.reshape(-1)[coords], numeric)
            results.append(GradCheckResult(label, name, tensor.shape, len(coords), error, error <= tol, tol))
        return results
    finally:
        layer.needs_input_grad = saved[0]
        if saved[1] is not None:
            layer.rng = saved[1]


# --- checking a whole network ------------------------------------------------------------------------------
@_one_blas_thread
def check_model(model: Sequential, x, y, *, seed: int = 0, eps: float = EPS, tol: float = TOL,
                max_coords: int = MAX_COORDS, training: bool = True,
                label: str = "model") -> list[GradCheckResult]:
    """Check every parameter gradient of ``model`` with its loss (the mean over the batch) as the function.

    The model must be float64. With training=True (the default) dropout is on, with one fixed mask per
    Dropout layer for the whole check. Raises KinkError when x is within 10*eps of a relu or pool kink.
    """
    _require_float64(model.dtype, "the model")
    x = np.asarray(x, dtype=np.float64)
    if not model.built:
        model.build(x.shape[1:])
    saved_loss = model.loss
    saved_rngs = [(layer, layer.rng) for layer in model.layers if hasattr(layer, "rng")]
    if model.loss is None:
        model.loss = losses.SparseCategoricalCrossentropy()
    model._plan = None  # the plan follows the loss
    y = model.loss.targets(y, model.layers[-1].output_shape[-1])
    layers, plan = model.layers, model.plan
    try:
        # The analytic gradients: the model's own plan, fused steps included, exactly as fit runs it.
        _reseed(layers, seed)
        output = plan.forward(x, training)
        plan.backward(plan.loss(output, y)[1])
        analytic = [g.copy() for g in model.grads]
        # The function differentiated numerically: each layer's own forward, then the loss.
        _, inputs = _forward(layers, x, training, seed)
        closest = _distance_to_kinks(layers, inputs)
        if closest <= KINK_MARGIN * eps:
            raise KinkError(f"{label}: the input is within {closest:.1e} of a relu or pool kink; "
                            "pick another x")
        kinks = _kink_signatures(layers, inputs)
        names = [f"{layer.name}.{name}" for layer in layers for name in _param_names(layer)]

        def evaluate():
            out, inputs_now = _forward(layers, x, training, seed)
            _assert_same_kinks(layers, inputs_now, kinks)
            return np.array(plan.loss(out, y)[0])

        rng = np.random.default_rng(seed)
        results = []
        for name, tensor, grad in zip(names, model.params, analytic):
            coords = pick_coords(tensor.size, max_coords, rng)
            numeric = numerical_gradient(evaluate, tensor, coords, eps)
            error = relative_error(grad.reshape(-1)[coords], numeric)
            results.append(GradCheckResult(label, name, tensor.shape, len(coords), error, error <= tol, tol))
        return results
    finally:
        model.loss = saved_loss
        model._plan = None
        for layer, rng_ in saved_rngs:
            layer.rng = rng_


# --- checking a loss function (z, y) -> (loss, dL/dz) ------------------------------------------------------
@_one_blas_thread
def check_loss(loss_fn, z, y, *, eps: float = EPS, tol: float = TOL, label: str | None = None,
               tensor: str = "input") -> GradCheckResult:
    """Check a loss ``loss_fn(z, y) -> (mean loss, dL/dz)``: the loss is the scalar function, every
    coordinate of z is checked. (For the probability version keep p away from its clip at 1e-7.)"""
    z = np.array(z, dtype=np.float64)
    analytic = loss_fn(z, y)[1]
    coords = np.arange(z.size)
    numeric = numerical_gradient(lambda: np.array(loss_fn(z, y)[0]), z, coords, eps)
    error = relative_error(analytic, numeric)
    return GradCheckResult(label or loss_fn.__name__, tensor, z.shape, z.size, error, error <= tol, tol)


def format_table(results: list[GradCheckResult]) -> str:
    """A Markdown table (readable in a terminal too): layer, tensor, shape, coords, max rel error, verdict."""
    header = ("layer", "tensor", "shape", "coords checked", "max rel error", "result")
    rows = [(r.layer, r.tensor, str(tuple(r.shape)), str(r.coords_checked), f"{r.max_rel_error:.1e}",
             "pass" if r.passed else f"FAIL (tol {r.tol:g})") for r in results]
    widths = [max(len(row[k]) for row in [header, *rows]) for k in range(len(header))]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) if k < 3 else c.rjust(w)
                                 for k, (c, w) in enumerate(zip(cells, widths))) + " |"

    failed = sum(not r.passed for r in results)
    lines = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows), "",
             f"{len(results) - failed} of {len(results)} passed" + (f", {failed} FAILED" if failed else "")]
    return "\n".join(lines)
