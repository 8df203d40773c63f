"""Conv2D: slide F small filters over the image, channels-last, like ``keras.layers.Conv2D``.

Forward (x padded first when padding='same'; * is cross-correlation, as in every DL library):

    z[n, i, j, f] = b[f] + sum_{p, q, c} x[n, i*s + p, j*s + q, c] * W[p, q, c, f]
    y = activation(z)

Backward, given dy = dL/dy (dz = dy passed back through the activation; ``backward_logits`` starts from dz):

    dW[p, q, c, f] = sum_{n, i, j} x[n, i*s + p, j*s + q, c] * dz[n, i, j, f]   (input patch times error)
    db[f]          = sum_{n, i, j} dz[n, i, j, f]
    dx[n, i*s + p, j*s + q, c] += sum_f dz[n, i, j, f] * W[p, q, c, f]           (each output spreads its
                                                                                 error back over its patch)
Shapes: x (N, H, W, C), W (KH, KW, C, F) (Keras layout), b (F,), y (N, OH, OW, F).
With ``use_bias=False`` there is no b parameter (the weights are [W] alone, as in Keras): the sums run
with a constant zero bias that is neither trained nor saved. W starts from ``kernel_initializer``
('glorot_uniform'), b from ``bias_initializer`` ('zeros'), by Keras name (``scratchcnn/initializers.py``).
The loops live in ``scratchcnn/kernels/conv.py``; their loop-by-loop twin is ``reference/conv.py``.
"""
import numpy as np

from .. import activations, initializers
from ..kernels import conv2d_backward, conv2d_forward
from .base import Layer, pair, same_padding


class Conv2D(Layer):
    kept = ("x_padded", "z", "y")  # the padded input (N, H', W', C); z and y (N, OH, OW, F)

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid", activation=None,
                 use_bias: bool = True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 input_shape=None, name: str | None = None):
        super().__init__(name=name, input_shape=input_shape)
        if int(filters) < 1:
            raise ValueError(f"Conv2D filters must be >= 1, got {filters}")
        if padding not in ("valid", "same"):
            raise ValueError(f"Conv2D padding must be 'valid' or 'same', got {padding!r}")
        self.filters = int(filters)
        self.kernel_size = pair(kernel_size, "Conv2D kernel_size")
        self.strides = pair(strides, "Conv2D strides")
        self.padding = padding
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"Conv2D {self.name!r} needs images of shape (height, width, channels), got "
                             f"input shape {input_shape}; add a channel axis, e.g. x.reshape(-1, 28, 28, 1)")
        (h, w, _), (kh, kw), (sh, sw) = input_shape, self.kernel_size, self.strides
        if self.padding == "same":
            return (-(-h // sh), -(-w // sw), self.filters)
        if h < kh or w < kw:
            raise ValueError(f"Conv2D {self.name!r}: input {h}x{w} is smaller than the {kh}x{kw} kernel")
        return ((h - kh) // sh + 1, (w - kw) // sw + 1, self.filters)

    def build(self, input_shape, dtype=np.float32, rng=None):
        rng = rng if rng is not None else np.random.default_rng()
        kh, kw = self.kernel_size
        channels = input_shape[-1]
        self.kernel = self.kernel_initializer((kh, kw, channels, self.filters), rng, dtype)
        if self.use_bias:
            self.bias = self.bias_initializer((self.filters,), rng, dtype)
            self.params = [self.kernel, self.bias]
        else:
            self.bias = np.zeros((self.filters,), dtype=dtype)    # a constant: not a parameter
            self.params = [self.kernel]
        h, w = input_shape[0], input_shape[1]
        if self.padding == "same":
            self.pads = (same_padding(h, kh, self.strides[0]), same_padding(w, kw, self.strides[1]))
        else:
            self.pads = ((0, 0), (0, 0))
        return super().build(input_shape, dtype, rng)

    def _pad(self, x):
        (top, bottom), (left, right) = self.pads
        if top == bottom == left == right == 0:
            return x
        return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))

    # The fast path for activation='relu' (on by default; ``layer.relu_in_kernel = False`` runs the plain path):
    # the kernel applies relu to each block of outputs as soon as it is computed, and on the way back passes
    # dy through relu block by block inside the gradient pass, so z is never stored. The same bits either way.
    relu_in_kernel = True

    def forward(self, x, training=False):
        self.x_padded = self._pad(x)                                                # (N, H+pads, W+pads, C)
        if self.relu_in_kernel and self.activation.name == "relu":
            self.z = None                      # y = max(z, 0) straight from the kernel; y > 0 exactly where z > 0
            self.y = conv2d_forward(self.x_padded, self.kernel, self.bias, self.strides, relu=True)
            return self.y
        self.z = conv2d_forward(self.x_padded, self.kernel, self.bias, self.strides)  # (N, OH, OW, F)
        self.y = self.activation.forward(self.z)
        return self.y

    def infer(self, x, overwrite_input=False):
        """forward(x, training=False) keeping nothing: no backward will want z, so y is written over it (one map of
        (N, OH, OW, F) held, not two; for LeNet-5's first conv at batch 1,000, 19 MB instead of 38). x is
        never written (y has another shape)."""
        self.forget()                          # nothing of an earlier forward stays held either
        if self.relu_in_kernel and self.activation.name == "relu":
            return conv2d_forward(self._pad(x), self.kernel, self.bias, self.strides, relu=True)
        z = conv2d_forward(self._pad(x), self.kernel, self.bias, self.strides)
        return self.activation.forward(z, out=z)

    def backward(self, dy):
        if self.z is None:                     # the fast path: relu's gradient is taken inside the kernel
            return self._gradients(dy, relu_output=self.y)
        return self.backward_logits(self.activation.backward(self.z, self.y, dy))       # dz (N, OH, OW, F)

    def backward_logits(self, dz):
        return self._gradients(dz, relu_output=None)

    def _gradients(self, dy, relu_output):
        """Fill grads from dz (dz = dy * (relu_output > 0) when relu_output is given); return dL/dx."""
        dw, db, dx_padded = conv2d_backward(self.x_padded, dy, self.kernel, self.strides, relu_output,
                                            input_grad=self.needs_input_grad, bias_grad=self.use_bias)
        self.grads[0][...] = dw
        if self.use_bias:
            self.grads[1][...] = db
        return None if dx_padded is None else self._crop(dx_padded)

    def _crop(self, dx_padded):
        """dL/d(padded input) -> dL/dx: the gradient that fell on the padding is dropped."""
        (top, bottom), (left, right) = self.pads
        h, w = dx_padded.shape[1:3]
        return dx_padded[:, top:h - bottom, left:w - right, :]

    def kinks(self, x):
        z = self.z if self.z is not None else conv2d_forward(self._pad(x), self.kernel, self.bias, self.strides)
        return self.activation.kinks(z)

    def get_config(self):
        return {"class": "Conv2D", "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "activation": self.activation.name,
                "use_bias": self.use_bias, "kernel_initializer": self.kernel_initializer.get_config(),
                "bias_initializer": self.bias_initializer.get_config()}
