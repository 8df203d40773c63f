"""The fast loops: numba-compiled kernels that the layers call.

Each kernel here has a plain loop-by-loop NumPy twin in ``reference/`` with the same arguments and the
same result; the tests hold the two together. Read the twin to learn what a kernel computes, read the
kernel to see how the loops are ordered to run fast (innermost loop over the contiguous channel axis,
``prange`` over the batch, reductions in a fixed order so results never depend on thread scheduling).

All kernels are compiled with ``cache=True``: the first run compiles them (tens of seconds), later runs
load the machine code from numba's cache.
"""
from . import threads  # first: it sets how numba's threads wait (before any parallel kernel runs)
from .adam import adam_update
from .conv import (conv2d_backward, conv2d_backward_bias, conv2d_backward_input, conv2d_backward_kernel, conv2d_forward,
                   conv2d_pool_backward, conv2d_pool_forward)
from .conv_pool import conv_pool_backward, conv_pool_forward
from .batchnorm import batchnorm_apply, batchnorm_backward_input, batchnorm_backward_sums, batchnorm_stats
from .pool import avgpool2d_backward, avgpool2d_forward, maxpool2d_backward, maxpool2d_forward
from .rmsprop import rmsprop_update
from .sgd import sgd_update

__all__ = [
    "adam_update",
    "conv2d_forward",
    "conv2d_backward",
    "conv2d_backward_input",
    "conv2d_backward_kernel",
    "conv2d_backward_bias",
    "conv2d_pool_forward",
    "conv2d_pool_backward",
    "conv_pool_forward",
    "conv_pool_backward",
    "maxpool2d_forward",
    "maxpool2d_backward",
    "rmsprop_update",
    "sgd_update",
    "avgpool2d_forward",
    "avgpool2d_backward",
    "batchnorm_stats",
    "batchnorm_apply",
    "batchnorm_backward_sums",
    "batchnorm_backward_input",
]
