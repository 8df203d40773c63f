"""BatchNormalization: give every channel mean 0 and variance 1 over the batch, then let the network
rescale it, like ``keras.layers.BatchNormalization`` (axis -1: the channels of a channels-last input).

The input is seen as rows (M, C): every axis but the last flattened, M = N * H * W values per channel c
(M = N for a (N, C) input from a Dense layer).

Training (the statistics of this batch, over every axis but the last):
    mean[c] = sum_m x[m, c] / M        var[c] = sum_m (x[m, c] - mean[c])**2 / M    (biased: / M)
    xhat = (x - mean) / sqrt(var + epsilon)          y = gamma * xhat + beta
    moving_mean = moving_mean * momentum + mean * (1 - momentum)       (the same for moving_variance,
                                                                        with the biased var, as Keras)
Inference: the same y with moving_mean and moving_variance in place of mean and var.

Backward. gamma and beta are per channel: dgamma[c] = sum_m dy * xhat,  dbeta[c] = sum_m dy.
In inference mean and var are constants, so dx = dy * gamma / sqrt(var + epsilon). In training every
output depends on every input of its channel through mean and var; the chain rule through both
(docs/layers/batchnorm.md derives it) collapses to

    dx[m, c] = gamma[c] / sqrt(var[c] + epsilon) * (dy[m, c] - dbeta[c] / M - xhat[m, c] * dgamma[c] / M)

that is: dy, minus its mean over the channel, minus its projection on xhat. A batch with one value per
channel has var 0 and xhat 0 whatever x is; training refuses it.

Weights, in Keras's order: gamma (ones), beta (zeros) trainable, in ``params``; moving_mean (zeros),
moving_variance (ones) state, in ``non_trainable`` (saved with the weights, never seen by the optimizer).
``center=False`` drops beta, ``scale=False`` drops gamma, as in Keras.
Shapes: x (N, ..., C) -> y of the same shape; gamma, beta, moving_mean, moving_variance (C,).
The per-channel sums run in ``scratchcnn/kernels/batchnorm.py`` (float64 accumulators, several threads);
the loop-by-loop twin, with the backward in its staged textbook form, is ``reference/batchnorm.py``.
"""
import numpy as np

from .. import initializers
from ..kernels import batchnorm_apply, batchnorm_backward_input, batchnorm_backward_sums, batchnorm_stats
from .base import Layer


class BatchNormalization(Layer):
    kept = ("rows",)  # the input as (N*H*W, C) rows, for backward (mean and inv_std are per channel)

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones", input_shape=None,
                 name: str | None = None):
        super().__init__(name=name, input_shape=input_shape)
        if not 0.0 <= float(momentum) < 1.0:
            raise ValueError(f"BatchNormalization momentum must be in [0, 1), got {momentum}; Keras's "
                             "default is 0.99 (the moving statistics keep 99% of their value each batch)")
        if not float(epsilon) > 0.0:
            raise ValueError(f"BatchNormalization epsilon must be > 0 (it keeps 1 / sqrt(var + epsilon) "
                             f"finite), got {epsilon}; Keras's default is 1e-3")
        if not isinstance(axis, (int, np.integer)):
            raise ValueError(f"BatchNormalization axis must be an int (-1: the channels), got {axis!r}")
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.non_trainable: list[np.ndarray] = []

    def compute_output_shape(self, input_shape):
        # Keras counts the batch axis: on (N, H, W, C) the channels are axis 3 or -1.
        if self.axis not in (-1, len(input_shape)):
            raise ValueError(f"BatchNormalization {self.name!r}: scratchcnn normalises the last (channels) "
                             f"axis only, got axis={self.axis} for input shape {tuple(input_shape)}; "
                             "use axis=-1 (channels-last)")
        return tuple(input_shape)

    def build(self, input_shape, dtype=np.float32, rng=None):
        self.compute_output_shape(tuple(input_shape))          # refuse a bad axis before creating anything
        rng = rng if rng is not None else np.random.default_rng()
        channels = (input_shape[-1],)
        self.gamma = (self.gamma_initializer(channels, rng, dtype) if self.scale
                      else np.ones(channels, dtype=dtype))          # scale=False: a constant 1
        self.beta = (self.beta_initializer(channels, rng, dtype) if self.center
                     else np.zeros(channels, dtype=dtype))         # center=False: a constant 0
        self.moving_mean = self.moving_mean_initializer(channels, rng, dtype)
        self.moving_variance = self.moving_variance_initializer(channels, rng, dtype)
        self.params = [p for p, kept in ((self.gamma, self.scale), (self.beta, self.center)) if kept]
        self.non_trainable = [self.moving_mean, self.moving_variance]
        return super().build(input_shape, dtype, rng)

    def forward(self, x, training=False):
        return self._normalize(x, training, relu=False)

    def infer(self, x, overwrite_input=False):
        """forward in inference mode keeping nothing; y written over x when the plan says x is ours to overwrite."""
        y = self._normalize(x, False, relu=False, out=x if overwrite_input else None)
        self.forget()
        return y

    def backward(self, dy):
        return self._gradients(dy, relu_output=None)

    # The fast path for a relu right after the layer (plan.py's BatchNormReluStep, on by default;
    # ``model.fuse = False`` runs both layers' own code): the relu is applied as each value is normalised,
    # and on the way back its gradient, dy * [y > 0], is read inside the passes below. The same bits.
    def _normalize(self, x, training, relu, out=None):
        """y = x * scale + shift per channel (max(y, 0) with relu), into ``out`` when given (x itself is
        allowed: each value is read before its place is written), else into a new array."""
        self.x_shape = x.shape
        rows = np.ascontiguousarray(x).reshape(-1, x.shape[-1])        # (M, C)
        if training:
            if rows.shape[0] < 2:
                raise ValueError(f"BatchNormalization {self.name!r} in training mode needs at least two "
                                 f"values per channel to measure a variance, got input shape {x.shape}; "
                                 "train with batches of 2 or more")
            mean, var = batchnorm_stats(rows)                          # float64 (C,), biased variance
            self.moving_mean[...] = self.moving_mean * self.momentum + mean * (1.0 - self.momentum)
            self.moving_variance[...] = self.moving_variance * self.momentum + var * (1.0 - self.momentum)
        else:
            mean = self.moving_mean.astype(np.float64)
            var = self.moving_variance.astype(np.float64)
        inv_std = 1.0 / np.sqrt(var + self.epsilon)                     # (C,) float64
        scale = self.gamma * inv_std                                    # y = x * scale + shift
        shift = self.beta - mean * scale
        self.rows, self.mean, self.inv_std, self.training = rows, mean, inv_std, bool(training)
        out_rows = None if out is None else out.reshape(rows.shape)
        return batchnorm_apply(rows, scale, shift, relu, out_rows).reshape(x.shape)

    def _gradients(self, dy, relu_output):
        """Fill grads and return dL/dx from dy, read as dy * [relu_output > 0] when relu_output is given."""
        drows = np.ascontiguousarray(dy).reshape(self.rows.shape)      # (M, C)
        dbeta, dgamma = batchnorm_backward_sums(self.rows, drows, self.mean, self.inv_std, relu_output)
        grads = iter(self.grads)
        if self.scale:
            next(grads)[...] = dgamma
        if self.center:
            next(grads)[...] = dbeta
        if not self.needs_input_grad:
            return None
        if self.training:                          # through the batch mean and variance
            dx = batchnorm_backward_input(self.rows, drows, self.mean, self.inv_std, self.gamma, dbeta, dgamma,
                                          relu_output)
        else:                                      # the moving statistics are constants
            if relu_output is not None:
                drows = drows * (relu_output.reshape(drows.shape) > 0)
            dx = batchnorm_apply(drows, self.gamma * self.inv_std, np.zeros_like(self.inv_std))
        return dx.reshape(self.x_shape)

    def get_config(self):
        return {"class": "BatchNormalization", "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "beta_initializer": self.beta_initializer.get_config(),
                "gamma_initializer": self.gamma_initializer.get_config(),
                "moving_mean_initializer": self.moving_mean_initializer.get_config(),
                "moving_variance_initializer": self.moving_variance_initializer.get_config()}
