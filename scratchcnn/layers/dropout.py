"""Dropout: during training, silence each unit with probability ``rate`` (inverted dropout, as Keras).

Training:   mask[k] = 1 / (1 - rate) with probability 1 - rate, else 0;   y = x * mask
            (the kept units are scaled up so the expected value of y equals x)
            backward: dx = dy * mask   (the same mask: a silenced unit passes no gradient)
Inference:  y = x, dx = dy (evaluate and predict never drop anything).
The mask is drawn from the model's seeded generator (or the layer's own, if given ``seed``), so a run
is reproducible.
"""
import numpy as np

from .base import Layer


class Dropout(Layer):
    kept = ("mask",)  # the kept units scaled by 1/(1 - rate), for backward

    def __init__(self, rate: float, seed: int | None = None, input_shape=None, name: str | None = None):
        super().__init__(name=name, input_shape=input_shape)
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate}")
        self.rate = float(rate)
        self.seed = seed
        self.mask = None

    def build(self, input_shape, dtype=np.float32, rng=None):
        if self.seed is not None:
            self.rng = np.random.default_rng(self.seed)
        else:
            self.rng = rng if rng is not None else np.random.default_rng()
        return super().build(input_shape, dtype, rng)

    def forward(self, x, training=False):
        if not training or self.rate == 0.0:
            self.mask = None
            return x
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.rate          # (N, ...) bool
        self.mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.rate))
        return x * self.mask

    def backward(self, dy):
        return dy if self.mask is None else dy * self.mask

    def get_config(self):
        return {"class": "Dropout", "rate": self.rate}
