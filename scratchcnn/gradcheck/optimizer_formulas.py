"""The optimizers against their formulas as Keras's source writes them (an equality, not a derivative).

Each ``keras_*_reference`` runs whole training steps from scratch in float64, counting the step itself and
writing the updates the way Keras's source does (Adam: m += (g - m) * (1 - beta_1), the same formula as
scratchcnn's with a different rounding), so agreeing with it checks the math, not a copy of the fast code.
It lives here, with the checker, so that ``scratchcnn gradcheck`` works from any install.
"""
import math

import numpy as np

from ..optimizers import Adam
from .checker import GradCheckResult, relative_error


def keras_adam_reference(params0, grads_sequence, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """The parameters after len(grads_sequence) Adam steps, in float64.

    params0:        list of starting arrays (not modified)
    grads_sequence: one list of gradient arrays per step, parallel to params0
    returns:        list of float64 arrays, parallel to params0
    """
    params = [np.array(p, dtype=np.float64) for p in params0]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for t, grads in enumerate(grads_sequence, start=1):
        alpha_t = lr * math.sqrt(1.0 - beta_2 ** t) / (1.0 - beta_1 ** t)
        for k, g in enumerate(grads):
            g = np.asarray(g, dtype=np.float64)
            m[k] += (g - m[k]) * (1.0 - beta_1)
            v[k] += (g * g - v[k]) * (1.0 - beta_2)
            params[k] -= m[k] * alpha_t / (np.sqrt(v[k]) + epsilon)
    return params


def check_adam(steps: int = 5, seed: int = 0, tol: float = 1e-12, optimizer=None) -> list[GradCheckResult]:
    """Run scratchcnn's Adam (the fused numba kernel; or ``optimizer``, an Adam of your own) and
    keras_adam_reference from the same start with the same gradients, in float64; compare how far each
    parameter moved."""
    rng = np.random.default_rng(seed)
    start = [rng.standard_normal((3, 3, 2, 4)), rng.standard_normal(4)]       # a kernel and a bias
    grads = [[g * 10.0 ** rng.uniform(-4, 1) for g in (rng.standard_normal(p.shape) for p in start)]
             for _ in range(steps)]                                             # magnitudes from 1e-4 to 10
    adam = optimizer if optimizer is not None else Adam()
    params = [p.copy() for p in start]
    for step_grads in grads:
        adam.step(params, step_grads)
    expected = keras_adam_reference(start, grads, adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon)
    results = []
    for name, p0, p, ref in zip(["kernel", "bias"], start, params, expected):
        error = relative_error(p - p0, ref - p0)
        results.append(GradCheckResult(f"{type(adam).__name__}() {steps} steps vs Keras formula", name, p.shape, p.size,
                                       error, error <= tol, tol))
    return results


