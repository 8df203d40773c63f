"""Activation as a layer of its own (``keras.layers.Activation('relu')``), also ``ReLU()`` and ``Softmax()``.

Forward:  y = f(x).   Backward: dx = f'(x) * dy for elementwise f; for softmax the Jacobian-vector
product y * (dy - sum(dy * y)). The formulas live in ``scratchcnn/activations.py``.
"""
from .. import activations
from .base import Layer


class Activation(Layer):
    kept = ("z", "y")  # forward's input and output, for backward

    def __init__(self, activation, input_shape=None, name: str | None = None):
        super().__init__(name=name, input_shape=input_shape)
        self.activation = activations.get(activation)

    def forward(self, x, training=False):
        self.z = x
        self.y = self.activation.forward(x)
        return self.y

    def infer(self, x, overwrite_input=False):
        """y = f(x), keeping nothing; written over x when the plan says x is ours to overwrite."""
        self.forget()                          # nothing of an earlier forward stays held either
        return self.activation.forward(x, out=x if overwrite_input else None)

    def backward(self, dy):
        return self.activation.backward(self.z, self.y, dy)

    def backward_logits(self, dz):
        return dz  # the gradient before the activation is the input gradient itself

    def kinks(self, x):
        return self.activation.kinks(self.z)

    def get_config(self):
        return {"class": "Activation", "activation": self.activation.name}


class ReLU(Activation):
    def __init__(self, input_shape=None, name: str | None = None):
        super().__init__("relu", input_shape=input_shape, name=name)


class Softmax(Activation):
    def __init__(self, input_shape=None, name: str | None = None):
        super().__init__("softmax", input_shape=input_shape, name=name)
