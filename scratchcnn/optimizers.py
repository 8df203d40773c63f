"""Optimizers: they see only parallel lists of parameter and gradient arrays, and update in place.

SGD:   param -= learning_rate * g                   (with momentum: vel = momentum*vel - lr*g; param += vel;
                                                     Nesterov: param += momentum*vel - lr*g)
RMSprop: v = rho * v + (1 - rho) * g**2;  param -= learning_rate * g / sqrt(v + epsilon)
                                                    (with momentum: vel = momentum*vel + that step; param -= vel)
Adam (Keras's form, step t = 1, 2, ...):
       alpha_t = learning_rate * sqrt(1 - beta_2**t) / (1 - beta_1**t)
       m = beta_1 * m + (1 - beta_1) * g
       v = beta_2 * v + (1 - beta_2) * g**2
       param -= alpha_t * m / (sqrt(v) + epsilon)
The bias correction is folded into alpha_t, and epsilon is added to sqrt(v) itself (PyTorch adds it to
sqrt(v_hat), a small difference). Each has a fused per-element loop in ``scratchcnn/kernels/`` (adam.py,
sgd.py, rmsprop.py) and a loop-by-loop twin in ``reference/``; docs/layers/adam.md and optimizers.md derive them.
"""
import math

import numpy as np

from .kernels import adam_update, rmsprop_update, sgd_update


class Optimizer:
    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        raise NotImplementedError


def _rate(value, name: str, optimizer: str, low: float, high: float, high_included: bool) -> float:
    """A hyperparameter that must lie in [low, high) or [low, high]: a clear error otherwise."""
    closing = "]" if high_included else ")"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{optimizer}: {name} must be a number in [{low:g}, {high:g}{closing}, got {value!r}")
    inside = low <= value <= high if high_included else low <= value < high
    if not inside:
        raise ValueError(f"{optimizer}: {name} must be in [{low:g}, {high:g}{closing}, got {value}")
    return float(value)


def _learning_rate(value, optimizer: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{optimizer}: learning_rate must be a number > 0, got {value!r}")
    return float(value)


class SGD(Optimizer):
    """Keras's SGD: learning_rate 0.01, momentum 0 (plain gradient descent), nesterov False.

    momentum 0:  param -= learning_rate * g
    momentum:    velocity = momentum * velocity - learning_rate * g;  param += velocity
    nesterov:    the same velocity;  param += momentum * velocity - learning_rate * g
    The fused per-element loop is ``scratchcnn/kernels/sgd.py``.
    """

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False):
        self.learning_rate = _learning_rate(learning_rate, "SGD")
        self.momentum = _rate(momentum, "momentum", "SGD", 0.0, 1.0, high_included=True)  # Keras: [0, 1]
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"SGD: nesterov must be True or False, got {nesterov!r}")
        self.nesterov = bool(nesterov)
        self.velocities: list[np.ndarray] | None = None  # only with momentum > 0, as in Keras

    def step(self, params, grads):
        if self.momentum > 0 and self.velocities is None:
            self.velocities = [np.zeros_like(p) for p in params]
        velocities = self.velocities or [None] * len(params)
        for p, g, velocity in zip(params, grads, velocities):
            sgd_update(p, g, velocity, self.learning_rate, self.momentum, self.nesterov)


class RMSprop(Optimizer):
    """Keras's RMSprop: learning_rate 0.001, rho 0.9, momentum 0, epsilon 1e-7, centered False.

    v = rho * v + (1 - rho) * g**2;   increment = learning_rate * g / sqrt(v + epsilon)
    momentum 0:  param -= increment
    momentum:    velocity = momentum * velocity + increment;  param -= velocity
    (Keras puts epsilon inside the square root, unlike its Adam.) The fused loop is
    ``scratchcnn/kernels/rmsprop.py``.
    """

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False):
        self.learning_rate = _learning_rate(learning_rate, "RMSprop")
        self.rho = _rate(rho, "rho", "RMSprop", 0.0, 1.0, high_included=False)
        self.momentum = _rate(momentum, "momentum", "RMSprop", 0.0, 1.0, high_included=True)
        self.epsilon = _rate(epsilon, "epsilon", "RMSprop", 0.0, math.inf, high_included=False)
        if centered:
            raise ValueError("RMSprop: centered=True is not implemented in scratchcnn; use centered=False")
        self.centered = False
        self.v: list[np.ndarray] | None = None            # running mean of g**2 ("velocity" in Keras)
        self.velocities: list[np.ndarray] | None = None   # only with momentum > 0 ("momentum" in Keras)

    def step(self, params, grads):
        if self.v is None:
            self.v = [np.zeros_like(p) for p in params]
            if self.momentum > 0:
                self.velocities = [np.zeros_like(p) for p in params]
        velocities = self.velocities or [None] * len(params)
        for p, g, v, velocity in zip(params, grads, self.v, velocities):
            rmsprop_update(p, g, v, velocity, self.learning_rate, self.rho, self.momentum, self.epsilon)


class Adam(Optimizer):
    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7):
        if learning_rate <= 0 or not (0 <= beta_1 < 1 and 0 <= beta_2 < 1) or epsilon < 0:
            raise ValueError("Adam needs learning_rate > 0, 0 <= beta_1, beta_2 < 1 and epsilon >= 0")
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.iterations = 0
        self.m: list[np.ndarray] | None = None
        self.v: list[np.ndarray] | None = None

    def step(self, params, grads):
        if self.m is None:
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
        self.iterations += 1
        t = self.iterations
        alpha_t = self.learning_rate * math.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        for p, g, m, v in zip(params, grads, self.m, self.v):
            adam_update(p, g, m, v, alpha_t, self.beta_1, self.beta_2, self.epsilon)


OPTIMIZERS = {"adam": Adam, "sgd": SGD, "rmsprop": RMSprop}  # Keras's names, any case


def get(identifier) -> Optimizer:
    """An optimizer from its Keras name ('adam', 'sgd', 'rmsprop'; Keras's defaults) or an object."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in OPTIMIZERS:
        return OPTIMIZERS[identifier.lower()]()
    raise ValueError(f"unknown optimizer {identifier!r}: use 'adam', 'sgd', 'rmsprop', or an object such as "
                     "Adam(...), SGD(...), RMSprop(...)")
