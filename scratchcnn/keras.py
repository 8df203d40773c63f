"""``scratchcnn.keras``: the Keras names, so ``tf.keras.datasets.mnist.load_data()`` keeps working after
``import scratchcnn as tf``. Nothing here but names pointing at scratchcnn's own modules."""
from . import activations, callbacks, datasets, initializers, layers, losses, models, optimizers, utils
from .layers import Input
from .model import Sequential

__all__ = ["Input", "Sequential", "activations", "callbacks", "datasets", "initializers", "layers", "losses",
           "models", "optimizers", "utils"]
