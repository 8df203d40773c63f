"""RMSprop's update of one parameter tensor (Keras's form), fused into a single pass over memory, in place.

    v         = rho * v + (1 - rho) * g**2                 (running mean of g squared)
    increment = learning_rate * g / sqrt(v + epsilon)      (epsilon inside the root, as Keras writes it)
    with momentum > 0:   velocity = momentum * velocity + increment;   param -= velocity
    with momentum = 0:   param -= increment

Unlike Adam there is no bias correction and no step counter: v starts at 0, so the first steps are large
(at t = 1, v = 0.1 g**2 and the step is about learning_rate * g / |g| / sqrt(0.1) = 3.16 learning_rate).
"""
import numpy as np
from numba import njit, prange

from .adam import _PARALLEL_FROM


@njit(cache=True, inline="always")
def _rmsprop(param, g, v, learning_rate, rho, one_minus_rho, epsilon):
    # one element, momentum 0: returns its new (param, v)
    v = rho * v + one_minus_rho * g * g
    return param - learning_rate * g / np.sqrt(v + epsilon), v


@njit(cache=True, inline="always")
def _rmsprop_momentum(param, g, v, velocity, learning_rate, rho, one_minus_rho, momentum, epsilon):
    # one element, momentum > 0: returns its new (param, v, velocity)
    v = rho * v + one_minus_rho * g * g
    velocity = momentum * velocity + learning_rate * g / np.sqrt(v + epsilon)
    return param - velocity, v, velocity


@njit(parallel=True, cache=True)
def _update(param, grad, v, velocity, learning_rate, rho, one_minus_rho, momentum, epsilon, use_momentum):
    for k in prange(param.size):
        if use_momentum:
            param[k], v[k], velocity[k] = _rmsprop_momentum(param[k], grad[k], v[k], velocity[k], learning_rate,
                                                            rho, one_minus_rho, momentum, epsilon)
        else:
            param[k], v[k] = _rmsprop(param[k], grad[k], v[k], learning_rate, rho, one_minus_rho, epsilon)


@njit(cache=True)
def _update_on_one_thread(param, grad, v, velocity, learning_rate, rho, one_minus_rho, momentum, epsilon,
                          use_momentum):
    for k in range(param.size):
        if use_momentum:
            param[k], v[k], velocity[k] = _rmsprop_momentum(param[k], grad[k], v[k], velocity[k], learning_rate,
                                                            rho, one_minus_rho, momentum, epsilon)
        else:
            param[k], v[k] = _rmsprop(param[k], grad[k], v[k], learning_rate, rho, one_minus_rho, epsilon)


def rmsprop_update(param: np.ndarray, grad: np.ndarray, v: np.ndarray, velocity: np.ndarray | None,
                   learning_rate: float, rho: float, momentum: float, epsilon: float) -> None:
    """Update param, v (and velocity, when momentum > 0) in place; all contiguous, same shape and dtype.
    ``velocity`` is None when momentum is 0 (Keras keeps no momentum buffer then)."""
    scalar = param.dtype.type
    use_momentum = momentum > 0
    if use_momentum and velocity is None:
        raise ValueError("rmsprop_update: momentum > 0 needs a velocity array")
    update = _update if param.size >= _PARALLEL_FROM else _update_on_one_thread
    flat_velocity = velocity.reshape(-1) if use_momentum else np.zeros(0, param.dtype)
    update(param.reshape(-1), grad.reshape(-1), v.reshape(-1), flat_velocity, scalar(learning_rate), scalar(rho),
           scalar(1.0 - rho), scalar(momentum), scalar(epsilon), use_momentum)
