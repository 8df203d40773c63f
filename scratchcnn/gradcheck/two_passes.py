"""Gradients are overwritten, not added up: the check that needs two backward passes.

A backward that writes ``self.grads[0] += x.T @ dz`` where it should write ``=`` is right on its first
call, and a gradient check (``check_layer``, ``check_model``) calls it exactly once, on fresh zeros: it
passes. From the second training step on, every gradient is the sum of all the batches so far. So this
check runs the same batch twice with another batch in between, the way training does:

    pass 1: batch A -> the gradients G1          (each layer fills its grads)
    pass 2: batch B -> anything
    pass 3: batch A -> the gradients G3          must equal G1: the same batch, the same gradients

    max_rel_error = max |G3 - G1| / max(|G3| + |G1|)      passes when <= 1e-12

It is an equality, not a derivative: the same code on the same numbers gives the same bits, so any
difference means the layer remembers something it should not (accumulated gradients, a stale input).
Dropout draws the same mask for batch A in passes 1 and 3 (each layer's ``rng`` is re-seeded).
"""
import numpy as np

from ..kernels.threads import single_threaded_blas
from .checker import GradCheckResult, _param_names, relative_error

TOL_REPEAT = 1e-12


def _reseed(layers, seed: int) -> None:
    for k, layer in enumerate(layers):
        if hasattr(layer, "rng"):
            layer.rng = np.random.default_rng([seed, k])


def check_layer_two_passes(layer, input_shape, *, batch: int = 2, seed: int = 0, training: bool = False,
                           label: str | None = None, tol: float = TOL_REPEAT) -> list[GradCheckResult]:
    """Pass (x_a, dout_a), then (x_b, dout_b), then (x_a, dout_a) again through ``layer.backward``:
    the input gradient and every parameter gradient of the third pass must equal the first's."""
    rng = np.random.default_rng(seed)
    input_shape = tuple(input_shape)
    if not layer.built:
        layer.build(input_shape, np.float64, rng)
    label = label or f"{type(layer).__name__} on {(batch, *input_shape)}, two passes"
    saved = (layer.needs_input_grad, getattr(layer, "rng", None))
    layer.needs_input_grad = True
    x_a, x_b = (rng.standard_normal((batch, *input_shape)) for _ in range(2))

    def one_pass(x, dout_seed):
        _reseed([layer], seed)
        y = layer.forward(x, training=training)
        dout = np.random.default_rng([seed, dout_seed]).standard_normal(y.shape)
        dx = layer.backward(dout)
        return [np.array(dx)] + [g.copy() for g in layer.grads]

    try:
        with single_threaded_blas():
            first = one_pass(x_a, 1)
            one_pass(x_b, 2)
            third = one_pass(x_a, 1)
    finally:
        layer.needs_input_grad = saved[0]
        if saved[1] is not None:
            layer.rng = saved[1]
    names = ["input"] + _param_names(layer)
    results = []
    for name, g1, g3 in zip(names, first, third):
        error = relative_error(g3, g1)
        results.append(GradCheckResult(label, name, g1.shape, g1.size, error, error <= tol, tol))
    return results


def check_model_two_passes(model, x_a, y_a, x_b, y_b, *, seed: int = 0, training: bool = True,
                           label: str = "model, two passes", tol: float = TOL_REPEAT) -> list[GradCheckResult]:
    """Batch A, batch B, batch A again through the model's plan, as ``fit`` runs it (no optimizer step):
    every parameter gradient of the third pass must equal the first's."""
    saved_rngs = [(layer, layer.rng) for layer in model.layers if hasattr(layer, "rng")]
    y_a = model.loss.targets(y_a, model.layers[-1].output_shape[-1])
    y_b = model.loss.targets(y_b, model.layers[-1].output_shape[-1])
    plan = model.plan

    def one_pass(x, y):
        _reseed(model.layers, seed)
        output = plan.forward(np.asarray(x, dtype=model.dtype), training)
        plan.backward(plan.loss(output, y)[1])
        return [g.copy() for g in model.grads]

    try:
        with single_threaded_blas():
            first = one_pass(x_a, y_a)
            one_pass(x_b, y_b)
            third = one_pass(x_a, y_a)
    finally:
        for layer, rng in saved_rngs:
            layer.rng = rng
    names = [f"{layer.name}.{name}" for layer in model.layers for name in _param_names(layer)]
    results = []
    for name, g1, g3 in zip(names, first, third):
        error = relative_error(g3, g1)
        results.append(GradCheckResult(label, name, g1.shape, g1.size, error, error <= tol, tol))
    return results


def check_network_two_passes(model, batch: int = 2, seed: int = 0,
                             label: str | None = None) -> list[GradCheckResult]:
    """The two-pass check on a network taking 28x28x1 images (the tutorial's): two random batches of
    pixel-like values, dropout on (a fixed mask per batch)."""
    rng = np.random.default_rng(seed)
    x_a, x_b = rng.random((2, batch, *model.input_shape))
    y_a, y_b = rng.integers(0, model.layers[-1].output_shape[-1], size=(2, batch))
    return check_model_two_passes(model, x_a, y_a, x_b, y_b, seed=seed,
                                  label=label or f"{model.name}, batch A, B, then A again")
