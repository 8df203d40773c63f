"""Adam, plainly: the twin of scratchcnn/kernels/adam.py.

One step t = 1, 2, ... for every parameter tensor, with gradient g (Keras's form of Kingma & Ba):

    alpha_t = learning_rate * sqrt(1 - beta_2**t) / (1 - beta_1**t)    (bias correction, folded in)
    m       = beta_1 * m + (1 - beta_1) * g                             (running mean of g)
    v       = beta_2 * v + (1 - beta_2) * g**2                          (running mean of g squared)
    param   = param - alpha_t * m / (sqrt(v) + epsilon)

``adam_update`` is one such step for one tensor (alpha_t given), in place, with the kernel's arguments.
(Keras's Adam over many steps, which ``scratchcnn gradcheck`` compares against, lives with the checker:
scratchcnn/gradcheck/optimizer_formulas.py.)
"""
import numpy as np


def adam_update(param, grad, m, v, alpha_t, beta_1, beta_2, epsilon):
    """One Adam step for one tensor: update param, m and v in place (same shape and dtype)."""
    for k in np.ndindex(param.shape):
        m[k] = beta_1 * m[k] + (1.0 - beta_1) * grad[k]
        v[k] = beta_2 * v[k] + (1.0 - beta_2) * grad[k] * grad[k]
        param[k] -= alpha_t * m[k] / (np.sqrt(v[k]) + epsilon)
