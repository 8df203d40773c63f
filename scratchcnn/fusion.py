"""Fusion: a Conv2D whose output goes straight into a MaxPooling2D runs as one step, forward and backward.

Unfused, the conv writes its whole map (N, 26, 26, 28 in the tutorial), the pool reads it back, and on the
way back the pool spreads its gradient over that map, three quarters of it zeros, for the conv to sum over
all of it. Fused (``kernels/conv_pool.py``), the map lives one filter at a time in a few kilobytes and the
conv's gradients come straight from the pool's winners: the same numbers up to float rounding, in about
half the time forward and 40% of it backward.

The two layers stay what they are: each owns its weights and gradients, and the pair leaves in them what
their own forward would have (conv.x_padded, pool.y, pool.argmax), so either layer's code can take over.
Sequential calls :func:`forward` and :func:`backward` here where :func:`fused_at` says so. Set
``model.fuse = False`` to run every layer on its own (the tests check both ways give the same results).
"""
import numpy as np

from .kernels import conv_pool_backward, conv_pool_forward
from .layers.conv2d import Conv2D
from .layers.maxpool2d import MaxPooling2D


def fusable(conv, pool) -> bool:
    """True for a stride-1 Conv2D (no activation, or relu) that needs no input gradient (the first layer),
    followed by a MaxPooling2D with 2x2 windows, stride 2 and 'valid' padding, the tutorial's pair."""
    return (isinstance(conv, Conv2D) and isinstance(pool, MaxPooling2D)
            and conv.strides == (1, 1) and conv.activation.name in ("linear", "relu")
            and not conv.needs_input_grad
            and pool.pool_size == pool.strides == (2, 2) and pool.padding == "valid")


def fused_at(model, index: int) -> bool:
    """True when the model runs its layers ``index`` and ``index + 1`` as one fused step: ``model.fuse`` is
    on, :func:`fusable` accepts the pair, and layers follow it (the last layer's backward always runs on its
    own, so a pair that ends the model runs its layers' own code). The one rule that Sequential's forward
    and backward and ``scratchcnn bench`` all follow."""
    layers = model.layers
    return (model.fuse and 0 <= index and index + 2 < len(layers)
            and fusable(layers[index], layers[index + 1]))


def forward(conv: Conv2D, pool: MaxPooling2D, x: np.ndarray, training: bool = True) -> np.ndarray:
    """pool(conv(x)) without storing the conv's map; when training, keeps in the layers what the backward
    needs (in inference the pool's argmax is not even made)."""
    conv.x_padded = conv._pad(x)
    relu = conv.activation.name == "relu"  # max(relu(z)) = relu(max(z)): relu after pooling, on 4x less
    pool.y, pool.argmax = conv_pool_forward(conv.x_padded, conv.kernel, conv.bias, relu, keep_argmax=training)
    pool.padded_shape = (x.shape[0], *conv.output_shape)
    return pool.y


def backward(conv: Conv2D, pool: MaxPooling2D, dy: np.ndarray) -> None:
    """Fill conv.grads from dy = dL/d(pool output) (N, PH, PW, F); the conv needs no input gradient."""
    relu = conv.activation.name == "relu"  # no gradient where relu(max z) is flat, i.e. the max is <= 0
    dw, db = conv_pool_backward(conv.x_padded, dy, pool.argmax, pool.y, relu, conv.kernel_size)
    conv.grads[0][...] = dw
    conv.grads[1][...] = db
