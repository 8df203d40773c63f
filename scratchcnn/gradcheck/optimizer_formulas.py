"""The optimizers against their formulas as Keras's source writes them (an equality, not a derivative).

Each ``keras_*_reference`` runs whole training steps from scratch in float64, counting the step itself and
writing the updates the way Keras's source does (Adam: m += (g - m) * (1 - beta_1), the same formula as
scratchcnn's with a different rounding; RMSprop and SGD: Keras's update_step, whole arrays at a time), so
agreeing with it checks the math, not a copy of the fast code.
It lives here, with the checker, so that ``scratchcnn gradcheck`` works from any install.
"""
import math

import numpy as np

from ..optimizers import SGD, Adam, RMSprop
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


def keras_rmsprop_reference(params0, grads_sequence, lr=0.001, rho=0.9, momentum=0.0, epsilon=1e-7):
    """The parameters after len(grads_sequence) RMSprop steps (centered=False), in float64, as Keras's
    ``RMSprop.update_step`` writes them: velocity, then increment = lr * g / sqrt(velocity + epsilon), then
    the momentum buffer (only when momentum > 0) or the parameter directly."""
    params = [np.array(p, dtype=np.float64) for p in params0]
    velocities = [np.zeros_like(p) for p in params]
    momentums = [np.zeros_like(p) for p in params] if momentum > 0 else None
    for grads in grads_sequence:
        for k, g in enumerate(grads):
            g = np.asarray(g, dtype=np.float64)
            velocities[k] = rho * velocities[k] + (1 - rho) * np.square(g)
            increment = (lr * g) / np.sqrt(velocities[k] + epsilon)
            if momentums is not None:
                momentums[k] = momentum * momentums[k] + increment
                params[k] -= momentums[k]
            else:
                params[k] -= increment
    return params


def keras_sgd_reference(params0, grads_sequence, lr=0.01, momentum=0.0, nesterov=False):
    """The parameters after len(grads_sequence) SGD steps, in float64, as Keras's ``SGD.update_step`` writes
    them: m = m * momentum - g * lr, then param += m (or, Nesterov, param += m * momentum - g * lr)."""
    params = [np.array(p, dtype=np.float64) for p in params0]
    momentums = [np.zeros_like(p) for p in params] if momentum != 0 else None
    for grads in grads_sequence:
        for k, g in enumerate(grads):
            g = np.asarray(g, dtype=np.float64)
            if momentums is None:
                params[k] -= g * lr
                continue
            momentums[k] = momentums[k] * momentum - g * lr
            params[k] += momentums[k] * momentum - g * lr if nesterov else momentums[k]
    return params


def _problem(steps: int, seed: int):
    """A conv kernel and a bias, and ``steps`` gradients for each with magnitudes from 1e-4 to 10."""
    rng = np.random.default_rng(seed)
    start = [rng.standard_normal((3, 3, 2, 4)), rng.standard_normal(4)]
    grads = [[g * 10.0 ** rng.uniform(-4, 1) for g in (rng.standard_normal(p.shape) for p in start)]
             for _ in range(steps)]
    return start, grads


def _compare(label: str, optimizer, start, grads, expected, tol: float) -> list[GradCheckResult]:
    """Run ``optimizer`` (its fused numba kernel) over ``grads`` from ``start``; compare how far each
    parameter moved with the reference's move."""
    params = [p.copy() for p in start]
    for step_grads in grads:
        optimizer.step(params, step_grads)
    results = []
    for name, p0, p, ref in zip(["kernel", "bias"], start, params, expected):
        error = relative_error(p - p0, ref - p0)
        results.append(GradCheckResult(label, name, p.shape, p.size, error, error <= tol, tol))
    return results


def check_adam(steps: int = 5, seed: int = 0, tol: float = 1e-12, optimizer=None) -> list[GradCheckResult]:
    """Run scratchcnn's Adam (the fused numba kernel; or ``optimizer``, an Adam of your own, e.g. the bug
    zoo's) and keras_adam_reference from the same start with the same gradients, in float64; compare how
    far each parameter moved."""
    start, grads = _problem(steps, seed)
    adam = optimizer if optimizer is not None else Adam()
    expected = keras_adam_reference(start, grads, adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon)
    return _compare(f"{type(adam).__name__}() {steps} steps vs Keras formula", adam, start, grads, expected, tol)


def check_rmsprop(momentum: float = 0.0, steps: int = 5, seed: int = 0, tol: float = 1e-12) -> list[GradCheckResult]:
    """scratchcnn's RMSprop(momentum=...) against keras_rmsprop_reference, as check_adam does for Adam."""
    start, grads = _problem(steps, seed)
    rmsprop = RMSprop(momentum=momentum)
    expected = keras_rmsprop_reference(start, grads, rmsprop.learning_rate, rmsprop.rho, rmsprop.momentum,
                                       rmsprop.epsilon)
    spelled = f"RMSprop(momentum={momentum})" if momentum else "RMSprop()"
    return _compare(f"{spelled} {steps} steps vs Keras formula", rmsprop, start, grads, expected, tol)


def check_sgd(momentum: float = 0.0, nesterov: bool = False, steps: int = 5, seed: int = 0,
              tol: float = 1e-12) -> list[GradCheckResult]:
    """scratchcnn's SGD(momentum=..., nesterov=...) against keras_sgd_reference."""
    start, grads = _problem(steps, seed)
    sgd = SGD(momentum=momentum, nesterov=nesterov)
    expected = keras_sgd_reference(start, grads, sgd.learning_rate, sgd.momentum, sgd.nesterov)
    arguments = ", ".join([f"momentum={momentum}"] * bool(momentum) + ["nesterov=True"] * nesterov)
    return _compare(f"SGD({arguments}) {steps} steps vs Keras formula", sgd, start, grads, expected, tol)


# The rows ``scratchcnn gradcheck`` adds for these optimizers (suite.py appends them): (name, run).
OPTIMIZER_CHECKS = [
    ("RMSprop vs Keras's formula", check_rmsprop),
    ("RMSprop with momentum vs Keras's formula", lambda: check_rmsprop(momentum=0.9)),
    ("SGD vs Keras's formula", check_sgd),
    ("SGD with momentum vs Keras's formula", lambda: check_sgd(momentum=0.9)),
    ("SGD with Nesterov momentum vs Keras's formula", lambda: check_sgd(momentum=0.9, nesterov=True)),
]
