"""Fusion: one backward step for a Conv2D whose output goes straight into a MaxPooling2D.

Unfused, the pool's backward spreads the gradient over the whole conv map (N, 26, 26, 28 in the tutorial),
three quarters of it zeros, and the conv's backward then sums over every position of that map. Fused, the
conv's kernel and bias gradients come straight from the pool's gradient and its winners
(``kernels/conv_pool.py``): the same numbers (up to float rounding), about a third of the time.

Each layer still runs its own forward, keeps what its backward would need, and owns its weights and
gradients; ``Sequential._backward`` calls :func:`backward` here instead of the two layers' backward for a
pair that :func:`fusable` accepts. Set ``model.fuse = False`` to run every layer's own backward (the tests
check both give the same gradients).
"""
import numpy as np

from .kernels import conv_pool_backward
from .layers.conv2d import Conv2D
from .layers.maxpool2d import MaxPooling2D


def fusable(conv, pool) -> bool:
    """True when (conv, pool) are a stride-1 Conv2D (no activation or relu) that needs no input gradient,
    followed by a valid MaxPooling2D whose windows do not overlap."""
    return (isinstance(conv, Conv2D) and isinstance(pool, MaxPooling2D)
            and conv.strides == (1, 1) and conv.activation.name in ("linear", "relu")
            and not conv.needs_input_grad
            and pool.padding == "valid" and pool.strides == pool.pool_size)


def backward(conv: Conv2D, pool: MaxPooling2D, dy: np.ndarray) -> None:
    """Fill conv.grads from dL/d(pool output) dy (N, PH, PW, F); nothing below needs an input gradient."""
    relu = conv.activation.name == "relu"  # max(relu(z)) = relu(max(z)): no gradient where the max is <= 0
    dw, db = conv_pool_backward(conv.x_padded, dy, pool.argmax, pool.y, relu, conv.kernel_size)
    conv.grads[0][...] = dw
    conv.grads[1][...] = db
