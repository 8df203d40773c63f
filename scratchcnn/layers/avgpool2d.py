"""AveragePooling2D: replace each pool window by its mean, per channel, like ``keras.layers.AveragePooling2D``.

Forward:   y[n, i, j, c] = (1 / count(i, j)) * sum_{(h, w) in window (i, j)} x[n, h, w, c]
           window (i, j) covers rows h = i*s + p - top and columns w = j*s + q - left, 0 <= p < PH,
           0 <= q < PW, clipped to the image; count(i, j) is how many of its cells are inside.
Backward:  the mean is linear, d y[n, i, j, c] / d x[n, h, w, c] = 1 / count(i, j) for each cell of the
           window, so every cell gets an equal share of the window's gradient:
           dx[n, h, w, c] = sum over the windows (i, j) holding (h, w) of dy[n, i, j, c] / count(i, j)
Strides default to pool_size (windows side by side). 'valid': every window is whole, count = PH * PW.
'same': the output is ceil(H / s) by ceil(W / s) and the windows at the border average only the cells
inside the image (Keras's rule: padding is never counted). No parameters, no kinks.
Shapes: x (N, H, W, C) -> y (N, OH, OW, C).
The loops live in ``scratchcnn/kernels/pool.py``; their loop-by-loop twin is ``reference/pool.py``.
"""
import numpy as np

from ..kernels import avgpool2d_backward, avgpool2d_forward
from .base import Pooling2D


class AveragePooling2D(Pooling2D):
    kind = "AveragePooling2D"  # arguments, shape walk, padding and record: base.Pooling2D
    _too_small_hint = "; use a smaller pool_size or padding='same'"

    def forward(self, x, training=False):
        self.x_shape = x.shape                                                  # (N, H, W, C)
        return avgpool2d_forward(x, self.pool_size, self.strides, self.pads)   # (N, OH, OW, C)

    def backward(self, dy):
        return avgpool2d_backward(dy, self.x_shape, self.pool_size, self.strides, self.pads)
