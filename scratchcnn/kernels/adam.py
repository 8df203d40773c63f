"""Adam's update of one parameter tensor, fused into a single pass over memory, in place.

    m     = beta_1 * m + (1 - beta_1) * g
    v     = beta_2 * v + (1 - beta_2) * g**2
    param = param - alpha_t * m / (sqrt(v) + epsilon)

with alpha_t = learning_rate * sqrt(1 - beta_2**t) / (1 - beta_1**t) computed once per step by the
optimizer. Written with NumPy this is about ten passes over 600k floats and as many temporaries per step;
fused, it is one.
"""
import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
def _adam(param, g, m, v, alpha_t, beta_1, one_minus_beta_1, beta_2, one_minus_beta_2, epsilon):
    # one element: returns its new (param, m, v)
    m = beta_1 * m + one_minus_beta_1 * g
    v = beta_2 * v + one_minus_beta_2 * g * g
    return param - alpha_t * m / (np.sqrt(v) + epsilon), m, v


@njit(parallel=True, cache=True)
def _update(param, grad, m, v, alpha_t, beta_1, one_minus_beta_1, beta_2, one_minus_beta_2, epsilon):
    for k in prange(param.size):
        param[k], m[k], v[k] = _adam(param[k], grad[k], m[k], v[k], alpha_t, beta_1, one_minus_beta_1, beta_2,
                                     one_minus_beta_2, epsilon)


@njit(cache=True)
def _update_on_one_thread(param, grad, m, v, alpha_t, beta_1, one_minus_beta_1, beta_2, one_minus_beta_2,
                          epsilon):
    for k in range(param.size):
        param[k], m[k], v[k] = _adam(param[k], grad[k], m[k], v[k], alpha_t, beta_1, one_minus_beta_1, beta_2,
                                     one_minus_beta_2, epsilon)


# Below this many parameters (the biases) waking the other threads costs more than sharing the work saves.
_PARALLEL_FROM = 50_000


def adam_update(param: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray,
                alpha_t: float, beta_1: float, beta_2: float, epsilon: float) -> None:
    """Update param, m and v in place (all contiguous, same shape and dtype)."""
    scalar = param.dtype.type
    update = _update if param.size >= _PARALLEL_FROM else _update_on_one_thread
    update(param.reshape(-1), grad.reshape(-1), m.reshape(-1), v.reshape(-1),
           scalar(alpha_t), scalar(beta_1), scalar(1.0 - beta_1), scalar(beta_2), scalar(1.0 - beta_2),
           scalar(epsilon))
