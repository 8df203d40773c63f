"""Activation functions: each knows its forward formula and how to pass a gradient back through it.

    linear:  a = z                          dz = da
    relu:    a = max(z, 0)                  dz = da * [z > 0]      (at z = 0 the gradient is taken as 0)
    softmax: a_k = exp(z_k) / sum_j exp(z_j)  (over the last axis, max subtracted first for stability)
             dz = a * (da - sum_k(da_k * a_k))  (the Jacobian-vector product; see docs/layers/softmax-crossentropy.md)
    tanh:    a = tanh(z)                    dz = da * (1 - a**2)
    sigmoid: a = 1 / (1 + exp(-z))          dz = da * a * (1 - a)   (see docs/layers/activations.md)

tanh and sigmoid are smooth everywhere: their derivatives are written with the output a, which the layer
keeps anyway, so backward needs no exp of its own.

An activation is stateless: ``backward`` receives the ``z`` and ``a`` of the forward pass from the layer
that owns them, and ``kinks(z)`` tells the gradient checker where its derivative jumps (relu at 0).
``forward(z, out=z)`` writes a over z, value by value (the same numbers as a new array): a layer does so in
``infer``, when no backward will want z, so one map is held instead of two.
Calling an activation applies it, so ``scratchcnn.nn.relu(x)`` works like ``tf.nn.relu``.
"""
import math

import numpy as np

from .kernels.tanh import tanh_float32


class ActivationFunction:
    name = "activation"

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return self.forward(z)

    def forward(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """a = activation(z), into ``out`` when given (z itself is allowed), else into a new array."""
        raise NotImplementedError

    def backward(self, z: np.ndarray, a: np.ndarray, da: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def kinks(self, z: np.ndarray) -> tuple[list[np.ndarray], float]:
        """(what decides the smooth piece, the smallest distance of z to a kink); smooth: ([], inf)."""
        return [], math.inf

    def __repr__(self) -> str:
        return self.name


class LinearFunction(ActivationFunction):
    name = "linear"

    def forward(self, z, out=None):
        if out is None or out is z:
            return z
        out[...] = z
        return out

    def backward(self, z, a, da):
        return da


class ReluFunction(ActivationFunction):
    name = "relu"

    def forward(self, z, out=None):
        return np.maximum(z, 0, out=out)

    def backward(self, z, a, da):
        return da * (z > 0)

    def kinks(self, z):
        return [z > 0], float(np.min(np.abs(z)))  # the on/off pattern; how close a unit is to switching


class SoftmaxFunction(ActivationFunction):
    name = "softmax"

    def forward(self, z, out=None):
        e = np.subtract(z, z.max(axis=-1, keepdims=True), out=out)  # exp never overflows; the result is unchanged
        np.exp(e, out=e)
        e /= e.sum(axis=-1, keepdims=True)
        return e

    def backward(self, z, a, da):
        return a * (da - (da * a).sum(axis=-1, keepdims=True))


class TanhFunction(ActivationFunction):
    name = "tanh"
    # The fast path (``activations.tanh.fast = False`` turns it off): float32 maps go through a rational
    # approximation that runs 8 values at a time, within 6.3 units in the last place of the exact tanh
    # (np.tanh: 1.4), 3-6x faster than np.tanh (kernels/tanh.py). float64 keeps np.tanh.
    fast = True

    def forward(self, z, out=None):
        if self.fast and z.dtype == np.float32:
            return tanh_float32(z, out)
        return np.tanh(z, out=out)

    def backward(self, z, a, da):
        dz = a * a                                    # d tanh(z) / dz = 1 - tanh(z)**2, then times da,
        np.subtract(1, dz, out=dz)                    # in one array (4x faster than da * (1 - a * a),
        dz *= da                                      # which makes three temporaries)
        return dz


class SigmoidFunction(ActivationFunction):
    name = "sigmoid"

    def forward(self, z, out=None):
        # 1 / (1 + exp(-z)) overflows exp for z < -709 (float64) or -88 (float32); written with
        # e = exp(-|z|) <= 1 it never does:  z >= 0: 1 / (1 + e),   z < 0: e / (1 + e).
        e = np.exp(-np.abs(z))
        return np.divide(np.where(z >= 0, 1, e), 1 + e, out=out)    # z is read before out is written

    def backward(self, z, a, da):
        dz = 1 - a                                    # d sigmoid(z) / dz = sigmoid(z) (1 - sigmoid(z)),
        dz *= a                                       # then times da, in one array
        dz *= da
        return dz


linear = LinearFunction()
relu = ReluFunction()
softmax = SoftmaxFunction()
tanh = TanhFunction()
sigmoid = SigmoidFunction()

_BY_NAME = {"linear": linear, "relu": relu, "softmax": softmax, "tanh": tanh, "sigmoid": sigmoid}


def get(identifier) -> ActivationFunction:
    """None, a name ('relu', 'softmax', 'linear', 'tanh', 'sigmoid') or an ActivationFunction -> the ActivationFunction object."""
    if identifier is None:
        return linear
    if isinstance(identifier, ActivationFunction):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]
    raise ValueError(f"unknown activation {identifier!r}: use one of {sorted(_BY_NAME)} or None")
