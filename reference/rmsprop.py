"""RMSprop, plainly: the twin of scratchcnn/kernels/rmsprop.py.

One step for every parameter tensor, with gradient g (Keras's form; no step counter, no bias correction):

    v         = rho * v + (1 - rho) * g**2                 (running mean of g squared)
    increment = learning_rate * g / sqrt(v + epsilon)      (epsilon inside the square root)
    momentum > 0:  velocity = momentum * velocity + increment;   param = param - velocity
    momentum = 0:  param = param - increment

``rmsprop_update`` is one such step for one tensor, in place, with the kernel's arguments. (Keras's RMSprop
over many steps, which ``scratchcnn gradcheck`` compares against, lives with the checker:
scratchcnn/gradcheck/optimizer_formulas.py.)
"""
import numpy as np


def rmsprop_update(param, grad, v, velocity, learning_rate, rho, momentum, epsilon):
    """One RMSprop step for one tensor: update param, v (and velocity if momentum > 0) in place."""
    for k in np.ndindex(param.shape):
        v[k] = rho * v[k] + (1.0 - rho) * grad[k] * grad[k]
        increment = learning_rate * grad[k] / np.sqrt(v[k] + epsilon)
        if momentum > 0:
            velocity[k] = momentum * velocity[k] + increment
            param[k] -= velocity[k]
        else:
            param[k] -= increment
