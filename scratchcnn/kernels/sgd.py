"""SGD's update of one parameter tensor (Keras's form), fused into a single pass over memory, in place.

    plain (momentum 0):   param -= learning_rate * g
    momentum:             velocity = momentum * velocity - learning_rate * g;   param += velocity
    nesterov:             velocity = momentum * velocity - learning_rate * g;
                          param += momentum * velocity - learning_rate * g     (a look-ahead along velocity)
"""
import numpy as np
from numba import njit, prange

from .adam import _PARALLEL_FROM


@njit(cache=True, inline="always")
def _sgd_momentum(param, g, velocity, learning_rate, momentum, nesterov):
    # one element, momentum > 0: returns its new (param, velocity)
    velocity = momentum * velocity - learning_rate * g
    if nesterov:
        return param + (momentum * velocity - learning_rate * g), velocity
    return param + velocity, velocity


@njit(parallel=True, cache=True)
def _update(param, grad, velocity, learning_rate, momentum, use_momentum, nesterov):
    for k in prange(param.size):
        if use_momentum:
            param[k], velocity[k] = _sgd_momentum(param[k], grad[k], velocity[k], learning_rate, momentum, nesterov)
        else:
            param[k] -= learning_rate * grad[k]


@njit(cache=True)
def _update_on_one_thread(param, grad, velocity, learning_rate, momentum, use_momentum, nesterov):
    for k in range(param.size):
        if use_momentum:
            param[k], velocity[k] = _sgd_momentum(param[k], grad[k], velocity[k], learning_rate, momentum, nesterov)
        else:
            param[k] -= learning_rate * grad[k]


def sgd_update(param, grad, velocity, learning_rate: float, momentum: float, nesterov: bool) -> None:
    """Update param (and velocity, when momentum > 0) in place; all contiguous, same shape and dtype.
    ``velocity`` is None when momentum is 0 (Keras keeps no momentum buffer then)."""
    scalar = param.dtype.type
    use_momentum = momentum > 0
    if use_momentum and velocity is None:
        raise ValueError("sgd_update: momentum > 0 needs a velocity array")
    update = _update if param.size >= _PARALLEL_FROM else _update_on_one_thread
    flat_velocity = velocity.reshape(-1) if use_momentum else np.zeros(0, param.dtype)
    update(param.reshape(-1), grad.reshape(-1), flat_velocity, scalar(learning_rate), scalar(momentum),
           use_momentum, bool(nesterov))
