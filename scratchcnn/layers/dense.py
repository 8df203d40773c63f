"""Dense: every output is a weighted sum of every input, like ``keras.layers.Dense``.

Forward:   z = x @ W + b,   y = activation(z)
Backward:  dz = dy passed back through the activation (``backward_logits`` starts from dz), then
           dW = x.T @ dz    (each weight's gradient: its input times its output's error, summed over the batch)
           db = sum_n dz
           dx = dz @ W.T    (each input collects the errors of every output it feeds)
Shapes: x (N, in), W (in, out) (Keras layout), b (out,), y (N, out).
With ``use_bias=False`` there is no b parameter (the weights are [W] alone, as in Keras): z = x @ W with
a constant zero bias that is neither trained nor saved. W starts from ``kernel_initializer``
('glorot_uniform'), b from ``bias_initializer`` ('zeros'), by Keras name (``scratchcnn/initializers.py``).
These are matrix products: NumPy's BLAS does the work, spread over the cores (``kernels/matmul.py``).
"""
import numpy as np

from .. import activations, initializers
from ..kernels.matmul import matmul, matmul_two
from .base import Layer


class Dense(Layer):
    kept = ("x", "z", "y")  # forward's input (N, in), pre-activation and output (N, units), for backward

    def __init__(self, units: int, activation=None, use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", input_shape=None, name: str | None = None):
        super().__init__(name=name, input_shape=input_shape)
        if int(units) < 1:
            raise ValueError(f"Dense units must be >= 1, got {units}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 1:
            raise ValueError(f"Dense {self.name!r} needs flat inputs (features,), got input shape "
                             f"{input_shape}; put a Flatten() layer before it")
        return (self.units,)

    def build(self, input_shape, dtype=np.float32, rng=None):
        rng = rng if rng is not None else np.random.default_rng()
        self.kernel = self.kernel_initializer((input_shape[-1], self.units), rng, dtype)
        if self.use_bias:
            self.bias = self.bias_initializer((self.units,), rng, dtype)
            self.params = [self.kernel, self.bias]
        else:
            self.bias = np.zeros((self.units,), dtype=dtype)    # a constant: not a parameter
            self.params = [self.kernel]
        return super().build(input_shape, dtype, rng)

    def forward(self, x, training=False):
        self.x = x                               # (N, in)
        self.z = matmul(x, self.kernel)          # (N, out)
        self.z += self.bias
        self.y = self.activation.forward(self.z)
        return self.y

    def infer(self, x, overwrite_input=False):
        """forward(x, training=False) keeping nothing: y is written over z (no backward will want z); x is
        never written (y has another shape)."""
        self.forget()                          # nothing of an earlier forward stays held either
        z = matmul(x, self.kernel)
        z += self.bias
        return self.activation.forward(z, out=z)

    def backward(self, dy):
        return self.backward_logits(self.activation.backward(self.z, self.y, dy))   # dz (N, out)

    def backward_logits(self, dz):
        if self.use_bias:
            np.sum(dz, axis=0, out=self.grads[1])    # (out,)
        if not self.needs_input_grad:
            matmul(self.x.T, dz, out=self.grads[0])  # (in, out)
            return None
        # dW = x.T @ dz (in, out) and dx = dz @ W.T (N, in), side by side on the cores
        return matmul_two(self.x.T, dz, self.grads[0], dz, self.kernel.T)

    def kinks(self, x):
        return self.activation.kinks(self.z)

    def get_config(self):
        return {"class": "Dense", "units": self.units, "activation": self.activation.name,
                "use_bias": self.use_bias, "kernel_initializer": self.kernel_initializer.get_config(),
                "bias_initializer": self.bias_initializer.get_config()}
