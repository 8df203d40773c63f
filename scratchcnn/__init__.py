"""scratchcnn: a convolutional neural network written from scratch in NumPy, with numba kernels.

The Keras tutorial ports by changing its imports:

    import scratchcnn as tf                      # tf.keras.datasets.mnist.load_data(), tf.nn.relu
    from scratchcnn.models import Sequential
    from scratchcnn.layers import Dense, Conv2D, Dropout, Flatten, MaxPooling2D

Where things live, in the order the data meets them: ``datasets/`` -> ``model.py`` (Sequential.fit) ->
``layers/`` (forward, backward) -> ``losses.py`` -> ``optimizers.py``; the fast loops in ``kernels/``.
"""
from . import activations, callbacks, datasets, initializers, keras, layers, losses, nn, optimizers, utils
from .layers import (Activation, AveragePooling2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten,
                     GlobalAveragePooling2D, Input, MaxPooling2D, ReLU, Softmax)
from .model import History, Sequential
from .optimizers import SGD, Adam, RMSprop


def expand_dims(input, axis):
    """``tf.expand_dims(x, axis)``: ``x`` with a new axis of size 1 at ``axis``, as a NumPy array (TensorFlow
    returns a tensor; the examples that call it go on to slice it and read ``.shape``, which an array offers)."""
    import numpy as np

    return np.expand_dims(np.asarray(input), axis)


__version__ = "0.1.0"

__all__ = [
    "Sequential", "History", "Input", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dropout", "Activation",
    "ReLU", "Softmax", "AveragePooling2D", "GlobalAveragePooling2D", "BatchNormalization", "Adam", "SGD",
    "RMSprop", "activations", "callbacks", "datasets", "initializers", "keras", "layers", "losses", "nn",
    "optimizers", "utils", "expand_dims",
]
