"""The kernel gradient of a Conv2D that feeds a MaxPooling2D, computed straight from the pool's gradient.

Unfused, MaxPooling2D.backward first spreads dL/dpooled over the whole conv map (N, OH, OW, F), three
quarters of it zeros for 2x2 windows, and Conv2D.backward then sums over every position of that map. Here
only the winner of each pool window is visited (valid conv with stride 1, pool windows that do not
overlap, channels-last):

    dz[n, h, w, f] = dy[n, a, b, f]  where (h, w) = the winner of window (a, b) for filter f, else 0
    dW[p, q, c, f] = sum_{n, h, w} dz[n, h, w, f] * x[n, h + p, w + q, c]
    db[f]          = sum_{n, a, b} dy[n, a, b, f]

How it is fast: for one image and filter, dz is put in a map whose rows are W apart (the input's width), so
tap (p, q) of every output reads the input plane at one fixed shift p*W + q: dW[p, q, c, f] is a single
dot product of two contiguous rows of floats, which the compiler runs in SIMD lanes. The loop-by-loop twin
is ``reference/conv_pool.py``: the unfused pool backward, then the unfused conv kernel gradient.
"""
import numpy as np
from numba import njit, prange

# As in conv.py: the sums over the batch run in fixed chunks, each into its own buffer, and the buffers are
# added in chunk order, so the bits never depend on the thread count.
_CHUNKS = 8


@njit(cache=True)
def _to_planes(image, planes):
    # image (H, W, C) channels-last -> planes (C, H*W) channels-first
    height, width, n_channels = image.shape
    for h in range(height):
        for w in range(width):
            for c in range(n_channels):
                planes[c, h * width + w] = image[h, w, c]


@njit(cache=True, fastmath={"contract", "reassoc"})
def _add_filter_grad(dz, planes, width, zero, acc):
    # acc[p, q, c] += sum_k dz[k] * planes[c, k + p*W + q]: each tap's input under every output, times that
    # output's gradient. reassoc lets the sum run in SIMD lanes (in the same order on every run). The start
    # is written max(start, 0) so the compiler knows no index is negative and drops numba's wrap-around
    # check, which would keep the loop out of SIMD; ``zero`` has the arrays' dtype (a Python 0 would turn
    # float32 sums into float64 ones).
    k_h, k_w, n_channels = acc.shape
    for p in range(k_h):
        for q in range(k_w):
            for c in range(n_channels):
                start = max(p * width + q, 0)
                total = zero
                for k in range(dz.shape[0]):
                    total += dz[k] * planes[c, start + k]
                acc[p, q, c] += total


@njit(cache=True)
def _respace_rows(rows, row_length, new_row_length, spaced):
    # copy rows stored row_length apart to new_row_length apart (what lies between is left as it is)
    for h in range(rows.shape[0] // row_length):
        source, target = max(h * row_length, 0), max(h * new_row_length, 0)  # see _add_filter_grad
        for w in range(row_length):
            spaced[target + w] = rows[source + w]


@njit(parallel=True, cache=True)
def _backward(x, dy, argmax, pooled, relu, conv_hw, zero, partial_w, partial_b):
    # argmax (N, PH, PW, F): flat h * OW + w of each window's winner in the conv map (as the pool kernel
    # keeps it); partial_w (chunks, F, KH, KW, C) and partial_b (chunks, F): one buffer per chunk
    n_images, height, width, n_channels = x.shape
    _, pooled_h, pooled_w, n_filters = dy.shape
    out_h, out_w = conv_hw
    span = (out_h - 1) * width + out_w  # the conv map with rows `width` apart
    n_chunks = partial_w.shape[0]
    for chunk in prange(n_chunks):
        acc_w = partial_w[chunk]
        acc_b = partial_b[chunk]
        acc_w[:] = zero
        acc_b[:] = zero
        planes = np.empty((n_channels, height * width), x.dtype)
        dz_map = np.empty((n_filters, out_h * out_w), x.dtype)  # dL/dz of one image, filter first
        dz = np.zeros(span, x.dtype)                             # one filter's, rows `width` apart
        for n in range(chunk * n_images // n_chunks, (chunk + 1) * n_images // n_chunks):
            _to_planes(x[n], planes)
            dz_map[:] = zero
            for i in range(pooled_h):  # walk dy in memory order; each gradient goes to its window's winner
                for j in range(pooled_w):
                    for f in range(n_filters):
                        g = dy[n, i, j, f]
                        if relu and pooled[n, i, j, f] <= zero:
                            g = zero  # relu(max z) is flat there: no gradient
                        dz_map[f, argmax[n, i, j, f]] = g
                        acc_b[f] += g
            for f in range(n_filters):
                _respace_rows(dz_map[f], out_w, width, dz)
                _add_filter_grad(dz, planes, width, zero, acc_w[f])


def conv_pool_backward(x: np.ndarray, dy: np.ndarray, argmax: np.ndarray, pooled: np.ndarray, relu: bool,
                       kernel_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(dL/dW (KH, KW, C, F), dL/db (F,)) of a stride-1 conv whose map went through a non-overlapping pool.

    x: the conv's (padded) input (N, H, W, C); dy: dL/dpooled (N, PH, PW, F); argmax: the pool's winners,
    flat h * OW + w in the conv map; pooled: the pool's output, needed only when relu is True.
    """
    n_images, height, width, n_channels = x.shape
    k_h, k_w = kernel_hw
    n_filters = dy.shape[3]
    n_chunks = max(1, min(_CHUNKS, n_images))
    partial_w = np.empty((n_chunks, n_filters, k_h, k_w, n_channels), dtype=dy.dtype)  # filter first
    partial_b = np.empty((n_chunks, n_filters), dtype=dy.dtype)
    _backward(np.ascontiguousarray(x), np.ascontiguousarray(dy), argmax, pooled, relu,
              (height - k_h + 1, width - k_w + 1), dy.dtype.type(0), partial_w, partial_b)
    dw, db = partial_w[0].copy(), partial_b[0].copy()
    for chunk in range(1, n_chunks):  # fixed order: same bits whatever the thread count
        dw += partial_w[chunk]
        db += partial_b[chunk]
    return np.ascontiguousarray(dw.transpose(1, 2, 3, 0)), db  # (KH, KW, C, F), Keras layout
