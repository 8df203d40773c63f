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
from .base import Layer, pair, same_padding


class AveragePooling2D(Layer):
    def __init__(self, pool_size=(2, 2), strides=None, padding: str = "valid", input_shape=None,
                 name: str | None = None):
        super().__init__(name=name, input_shape=input_shape)
        if padding not in ("valid", "same"):
            raise ValueError(f"AveragePooling2D padding must be 'valid' or 'same', got {padding!r}")
        self.pool_size = pair(pool_size, "AveragePooling2D pool_size")
        self.strides = pair(strides, "AveragePooling2D strides") if strides is not None else self.pool_size
        self.padding = padding

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"AveragePooling2D {self.name!r} needs images of shape (height, width, "
                             f"channels), got input shape {input_shape}")
        (h, w, c), (ph, pw), (sh, sw) = input_shape, self.pool_size, self.strides
        if self.padding == "same":
            return (-(-h // sh), -(-w // sw), c)
        if h < ph or w < pw:
            raise ValueError(f"AveragePooling2D {self.name!r}: input {h}x{w} is smaller than the {ph}x{pw} "
                             "pool; use a smaller pool_size or padding='same'")
        return ((h - ph) // sh + 1, (w - pw) // sw + 1, c)

    def build(self, input_shape, dtype=np.float32, rng=None):
        self.compute_output_shape(tuple(input_shape))        # refuse a bad shape before changing anything
        h, w = input_shape[0], input_shape[1]
        if self.padding == "same":
            self.pads = (same_padding(h, self.pool_size[0], self.strides[0]),
                         same_padding(w, self.pool_size[1], self.strides[1]))
        else:
            self.pads = ((0, 0), (0, 0))
        return super().build(input_shape, dtype, rng)

    def forward(self, x, training=False):
        self.x_shape = x.shape                                                  # (N, H, W, C)
        return avgpool2d_forward(x, self.pool_size, self.strides, self.pads)   # (N, OH, OW, C)

    def backward(self, dy):
        return avgpool2d_backward(dy, self.x_shape, self.pool_size, self.strides, self.pads)

    def get_config(self):
        return {"class": "AveragePooling2D", "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding}
