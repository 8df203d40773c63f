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
from .base import Pooling2D


class MaxPooling2D(Pooling2D):
    kind = "MaxPooling2D"  # arguments, shape walk, padding and record: base.Pooling2D
    kept = ("y", "argmax")  # the output and each window's winner, both (N, OH, OW, C)

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
