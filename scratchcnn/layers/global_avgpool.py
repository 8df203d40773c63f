"""GlobalAveragePooling2D: each feature map becomes its mean, like ``keras.layers.GlobalAveragePooling2D``.

Forward:   y[n, c] = (1 / (H * W)) * sum_{h, w} x[n, h, w, c]
Backward:  every pixel weighs 1 / (H * W) in the mean, so dx[n, h, w, c] = dy[n, c] / (H * W)
           (dy spread evenly over the map, the same value at every pixel).
Shapes: x (N, H, W, C) -> y (N, C) (or (N, 1, 1, C) with keepdims=True). No parameters, no kinks.
A convnet ends with it instead of Flatten: the classifier after it sees C numbers, whatever the image
size. One pass over x each way: NumPy's sum over the (H * W) rows does it at memory speed.
The loop-by-loop twin is ``global_avgpool_forward`` / ``_backward`` in ``reference/pool.py``.
"""
import numpy as np

from .base import Layer


class GlobalAveragePooling2D(Layer):
    def __init__(self, keepdims: bool = False, input_shape=None, name: str | None = None):
        super().__init__(name=name, input_shape=input_shape)
        self.keepdims = bool(keepdims)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"GlobalAveragePooling2D {self.name!r} needs images of shape (height, width, "
                             f"channels), got input shape {input_shape}")
        return (1, 1, input_shape[-1]) if self.keepdims else (input_shape[-1],)

    def forward(self, x, training=False):
        self.x_shape = x.shape                                      # (N, H, W, C)
        n_images, h, w, n_channels = x.shape
        rows = np.ascontiguousarray(x).reshape(n_images, h * w, n_channels)
        y = rows.sum(axis=1) / x.dtype.type(h * w)                  # (N, C)
        return y.reshape(n_images, 1, 1, n_channels) if self.keepdims else y

    def backward(self, dy):
        n_images, h, w, n_channels = self.x_shape
        share = dy.reshape(n_images, 1, 1, n_channels) / dy.dtype.type(h * w)   # (N, 1, 1, C)
        return np.broadcast_to(share, self.x_shape).copy()                     # (N, H, W, C)

    def get_config(self):
        return {"class": "GlobalAveragePooling2D", "keepdims": self.keepdims}
