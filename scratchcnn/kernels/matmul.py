"""Matrix products cut into one block per core, each block a one-thread BLAS call on its own thread.

Why not let BLAS use the cores itself? Its threads spin while they wait for the next product, and in a
training step the next thing to run is a numba kernel that wants those same cores: on two cores the two
thread pools then take turns badly (docs/performance.md). So BLAS runs on one thread (threads.py), and
this helper splits the product by hand. Python threads sleep while they wait, and NumPy releases the
GIL inside BLAS, so the blocks really run side by side:

    x (32, 4732) @ W (4732, 128)    split the shared axis K:   z = x[:, :h] @ W[:h] + x[:, h:] @ W[h:]
    x.T (4732, 32) @ dz (32, 128)   split the rows:            dW[:h] = x[:, :h].T @ dz, and the rest
    dz (32, 128) @ W.T (128, 4732)  split the columns:         dx[:, :h] = dz @ W[:h].T, and the rest

The blocks are fixed by the shapes and the core count, never by timing, so results are the same bits
run after run. Small products are not split: handing work to a thread costs tens of microseconds.

``for_each_block`` spreads any list of independent blocks over the same threads: the conv's im2col
products (kernels/conv.py), a block of images each.
"""
import itertools
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

from .threads import cores

PARTS = max(1, min(4, cores()))
MIN_FLOPS = 2_000_000  # below this a product is done in one piece
_workers: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _workers  # one small pool for the process, started on first use
    if _workers is None:
        _workers = ThreadPoolExecutor(max_workers=PARTS - 1, thread_name_prefix="scratchcnn-matmul")
    return _workers


def _bounds(size: int) -> list[tuple[int, int]]:
    cuts = [size * k // PARTS for k in range(PARTS + 1)]
    return list(zip(cuts[:-1], cuts[1:]))


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """a @ b (into ``out`` when given), with the work spread over the cores when it is big enough."""
    (m, k), n = a.shape, b.shape[1]
    if out is None:
        out = np.empty((m, n), dtype=np.result_type(a, b))
    if PARTS == 1 or 2 * m * n * k < MIN_FLOPS:
        return np.matmul(a, b, out=out)
    blocks = _bounds(max(m, n, k))
    if k >= m and k >= n:      # the shared axis is longest: partial products, summed in a fixed order
        partials = [_pool().submit(np.matmul, a[:, lo:hi], b[lo:hi]) for lo, hi in blocks[1:]]
        np.matmul(a[:, :blocks[0][1]], b[:blocks[0][1]], out=out)
        for partial in partials:
            out += partial.result()
        return out
    if m >= n:                 # row blocks of the output, each written in place
        jobs = [(a[lo:hi], b, out[lo:hi]) for lo, hi in blocks]
    else:                      # column blocks of the output
        jobs = [(a, b[:, lo:hi], out[:, lo:hi]) for lo, hi in blocks]
    futures = [_pool().submit(np.matmul, x, y, out=target) for x, y, target in jobs[1:]]
    np.matmul(*jobs[0][:2], out=jobs[0][2])
    for future in futures:
        future.result()
    return out


def matmul_two(a1: np.ndarray, b1: np.ndarray, out1: np.ndarray,
               a2: np.ndarray, b2: np.ndarray) -> np.ndarray:
    """out1 = a1 @ b1 and returns a2 @ b2: two independent products, such as a Dense layer's two gradients.

    On two cores, each product runs whole on its own core (one hand-over instead of two, and bigger
    blocks for BLAS); on more cores, or for small products, each is cut as ``matmul`` cuts it.
    """
    small = min(a1.shape[0] * a1.shape[1] * b1.shape[1], a2.shape[0] * a2.shape[1] * b2.shape[1])
    if PARTS != 2 or 2 * small < MIN_FLOPS:
        matmul(a1, b1, out=out1)
        return matmul(a2, b2)
    second = _pool().submit(np.matmul, a2, b2)
    np.matmul(a1, b1, out=out1)
    return second.result()


def for_each_block(work, n_blocks: int) -> None:
    """work(k) for k = 0 .. n_blocks - 1, spread over the cores (this thread takes part).

    Each ``work(k)`` must write only its own block's outputs: which thread runs which block then changes
    nothing in the result. ``work`` should spend its time where the GIL is released (numba ``nogil``
    kernels, NumPy's BLAS calls), or the threads only take turns.
    """
    helpers = min(PARTS, n_blocks) - 1
    if helpers <= 0:
        for k in range(n_blocks):
            work(k)
        return
    next_block = itertools.count()  # next() on it is atomic: each block is handed out exactly once

    def drain():
        while (k := next(next_block)) < n_blocks:
            work(k)

    futures = [_pool().submit(drain) for _ in range(helpers)]
    try:
        drain()
    finally:
        wait(futures)      # every helper has stopped before this returns or raises
    for future in futures:
        future.result()    # a helper's error, raised here
