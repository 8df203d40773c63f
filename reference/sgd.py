"""SGD, plainly: the twin of scratchcnn/kernels/sgd.py.

One step for every parameter tensor, with gradient g (Keras's form):

    momentum = 0:   param = param - learning_rate * g
    momentum > 0:   velocity = momentum * velocity - learning_rate * g
                    param = param + velocity                                   (nesterov=False)
                    param = param + momentum * velocity - learning_rate * g    (nesterov=True)

``sgd_update`` is one such step for one tensor, in place, with the kernel's arguments. (Keras's SGD over
many steps lives with the checker: scratchcnn/gradcheck/optimizer_formulas.py.)
"""
import numpy as np


def sgd_update(param, grad, velocity, learning_rate, momentum, nesterov):
    """One SGD step for one tensor: update param (and velocity if momentum > 0) in place."""
    for k in np.ndindex(param.shape):
        if momentum == 0:
            param[k] -= learning_rate * grad[k]
            continue
        velocity[k] = momentum * velocity[k] - learning_rate * grad[k]
        if nesterov:
            param[k] += momentum * velocity[k] - learning_rate * grad[k]
        else:
            param[k] += velocity[k]
