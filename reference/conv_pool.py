"""A conv feeding a max-pool, loop by loop: the twin of scratchcnn/kernels/conv_pool.py, and of
``conv2d_pool_forward`` / ``conv2d_pool_backward`` in scratchcnn/kernels/conv.py (any stride, any
non-overlapping pool, with the input gradient).

Forward, it is the conv, then relu if asked, then the 2x2 pool, one after the other. (With relu, a window
whose values are all <= 0 pools to 0 and gets no gradient; where its argmax points then does not matter,
and the fast kernel, which takes relu after the max, may point elsewhere among the tied zeros.)

Backward, it is the two unfused backward passes one after the other, the way the chain rule reads:

    dz[n, h, w, f] = dy[n, a, b, f]   at (h, w) = the winner of pool window (a, b), 0 elsewhere
                                      (and 0 where a relu made max(relu(z)) flat: pooled <= 0)
    dW, db         = the conv's kernel and bias gradients of dz

The fast kernel gets the same numbers without ever making dz.
"""
import numpy as np

from .conv import conv2d_backward_bias, conv2d_backward_input, conv2d_backward_kernel, conv2d_forward
from .pool import maxpool2d_forward


def conv_pool_forward(x, w, b, relu):
    """(y, argmax), both (N, OH//2, OW//2, F): conv (stride 1), relu if asked, 2x2 max-pool (stride 2)."""
    z = conv2d_forward(x, w, b, (1, 1))
    if relu:
        z = np.maximum(z, 0)
    return maxpool2d_forward(z, (2, 2), (2, 2))


def conv_pool_backward(x, dy, argmax, pooled, relu, kernel_hw):
    """(dW (KH, KW, C, F), db (F,)) from the conv's input x, dL/dpooled dy and the pool's argmax.

    argmax[n, a, b, f] is the flat position h * OW + w of window (a, b)'s winner in the conv map.
    """
    n_images, height, width, _ = x.shape
    out_hw = height - kernel_hw[0] + 1, width - kernel_hw[1] + 1   # stride-1 conv map
    dz = _to_winners(dy, argmax, pooled, relu, n_images, out_hw)
    return conv2d_backward_kernel(x, dz, (1, 1), kernel_hw), conv2d_backward_bias(dz)


def _to_winners(dy, argmax, pooled, relu, n_images, out_hw):
    """dz (N, OH, OW, F): each pooled gradient at its window's winner, 0 elsewhere (and 0 where relu made
    the pooled value flat)."""
    out_h, out_w = out_hw
    dz = np.zeros((n_images, out_h, out_w, dy.shape[3]), dtype=dy.dtype)
    for n in range(n_images):
        for a in range(dy.shape[1]):
            for b in range(dy.shape[2]):
                for f in range(dy.shape[3]):
                    if relu and pooled[n, a, b, f] <= 0:
                        continue
                    h, w = divmod(int(argmax[n, a, b, f]), out_w)
                    dz[n, h, w, f] += dy[n, a, b, f]
    return dz


def conv2d_pool_forward(x, w, b, stride, relu, pool):
    """(y, argmax), both (N, OH // PH, OW // PW, F): conv, relu if asked, then a max-pool whose windows do
    not overlap (stride = pool)."""
    z = conv2d_forward(x, w, b, stride)
    if relu:
        z = np.maximum(z, 0)
    return maxpool2d_forward(z, pool, pool)


def conv2d_pool_backward(x, dy, argmax, pooled, relu, w, stride):
    """(dW, db, dx) from the conv's (padded) input x, dL/dpooled dy, the pool's argmax and output."""
    n_images, height, width, _ = x.shape
    k_h, k_w = w.shape[:2]
    out_hw = (height - k_h) // stride[0] + 1, (width - k_w) // stride[1] + 1
    dz = _to_winners(dy, argmax, pooled, relu, n_images, out_hw)
    return (conv2d_backward_kernel(x, dz, stride, (k_h, k_w)), conv2d_backward_bias(dz),
            conv2d_backward_input(dz, w, stride, (height, width)))
