"""MaxPooling2D: keep the largest value of each pool window, per channel, like ``keras.layers.MaxPooling2D``.

Forward:   y[n, i, j, c] = max_{p, q} x[n, i*s + p, j*s + q, c]
Backward:  the max is a switch, so its gradient is 1 for the winner and 0 for the rest:
           dx[n, h, w, c] += dy[n, i, j, c] where (h, w) won window (i, j), zero elsewhere.
Ties: the first maximum in row-major window order takes the whole gradient.
Shapes: x (N, H, W, C) -> y (N, OH, OW, C). No parameters. 'same' pads with -inf so padding never wins.
The loops live in ``scratchcnn/kernels/pool.py``; their loop-by-loop twin is ``reference/pool.py``.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..kernels import maxpool2d_backward, maxpool2d_forward
from .base import Layer, pair, same_padding


class MaxPooling2D(Layer):
    def __init__(self, pool_size=(2, 2), strides=None, padding: str = "valid", input_shape=None,
                 name: str | None = None):
        super().__init__(name=name, input_shape=input_shape)
        if padding not in ("valid", "same"):
            raise ValueError(f"MaxPooling2D padding must be 'valid' or 'same', got {padding!r}")
        self.pool_size = pair(pool_size, "MaxPooling2D pool_size")
        self.strides = pair(strides, "MaxPooling2D strides") if strides is not None else self.pool_size
        self.padding = padding

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"MaxPooling2D {self.name!r} needs images of shape (height, width, channels), "
                             f"got input shape {input_shape}")
        (h, w, c), (ph, pw), (sh, sw) = input_shape, self.pool_size, self.strides
        if self.padding == "same":
            return (-(-h // sh), -(-w // sw), c)
        if h < ph or w < pw:
            raise ValueError(f"MaxPooling2D {self.name!r}: input {h}x{w} is smaller than the {ph}x{pw} pool")
        return ((h - ph) // sh + 1, (w - pw) // sw + 1, c)

    def build(self, input_shape, dtype=np.float32, rng=None):
        h, w = input_shape[0], input_shape[1]
        if self.padding == "same":
            self.pads = (same_padding(h, self.pool_size[0], self.strides[0]),
                         same_padding(w, self.pool_size[1], self.strides[1]))
        else:
            self.pads = ((0, 0), (0, 0))
        return super().build(input_shape, dtype, rng)

    def forward(self, x, training=False):
        (top, bottom), (left, right) = self.pads
        if top or bottom or left or right:
            x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=-np.inf)
        self.padded_shape = x.shape
        self.y, self.argmax = maxpool2d_forward(x, self.pool_size, self.strides)  # both (N, OH, OW, C)
        return self.y

    def backward(self, dy):
        dx = maxpool2d_backward(dy, self.argmax, self.padded_shape, self.pool_size, self.strides)
        (top, bottom), (left, right) = self.pads
        h, w = dx.shape[1:3]
        return dx[:, top:h - bottom, left:w - right, :]

    def kinks(self, x):
        """The winners decide the piece; a window whose two largest values (nearly) tie is at a kink."""
        if self.pool_size == (1, 1):
            return [self.argmax.copy()], float("inf")
        (top, bottom), (left, right) = self.pads
        padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=-np.inf)
        windows = sliding_window_view(padded, self.pool_size, axis=(1, 2))      # (N, H', W', C, PH, PW)
        windows = windows[:, ::self.strides[0], ::self.strides[1]]
        two_largest = np.sort(windows.reshape(*windows.shape[:4], -1), axis=-1)[..., -2:]
        return [self.argmax.copy()], float(np.min(two_largest[..., 1] - two_largest[..., 0]))  # -inf pads: inf

    def get_config(self):
        return {"class": "MaxPooling2D", "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding}
