"""The fast loops: numba-compiled kernels that the layers call.

Each kernel here has a plain loop-by-loop NumPy twin in ``reference/`` with the same arguments and the
same result; the tests hold the two together. Read the twin to learn what a kernel computes, read the
kernel to see how the loops are ordered to run fast (innermost loop over the contiguous channel axis,
``prange`` over the batch, reductions in a fixed order so results never depend on thread scheduling).

All kernels are compiled with ``cache=True``: the first run compiles them (tens of seconds), later runs
load the machine code from numba's cache.
"""
import os

# numba's OpenMP threads busy-wait after each parallel loop by default. On a 2-core machine they then steal
# the cores from NumPy's BLAS threads (the Dense layers) and a training step runs 3x slower. Passive
# waiting lets them sleep; it must be set before the first parallel kernel starts the OpenMP runtime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .adam import adam_update
from .conv import conv2d_backward_bias, conv2d_backward_input, conv2d_backward_kernel, conv2d_forward
from .conv_pool import conv_pool_backward, conv_pool_forward
from .pool import maxpool2d_backward, maxpool2d_forward

__all__ = [
    "adam_update",
    "conv2d_forward",
    "conv2d_backward_input",
    "conv2d_backward_kernel",
    "conv2d_backward_bias",
    "conv_pool_forward",
    "conv_pool_backward",
    "maxpool2d_forward",
    "maxpool2d_backward",
]
