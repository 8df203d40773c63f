"""Conv2D followed by MaxPooling2D, run as one step: the 26x26 conv map is never stored, and its gradient
is never spread out.

The tutorial's pair (a stride-1 conv, then 2x2 pooling), channels-last, x already padded:

    z[n, h, w, f]      = b[f] + sum_{p, q, c} x[n, h + p, w + q, c] * W[p, q, c, f]        (N, OH, OW, F)
    y[n, a, b, f]      = max of z[n, 2a:2a+2, 2b:2b+2, f], then relu if asked          (N, OH//2, OW//2, F)
    argmax[n, a, b, f] = h * OW + w of that max (the first in row-major order on ties), as the pool keeps it

    dz[n, h, w, f]     = dy[n, a, b, f] at the winner (h, w) of window (a, b), 0 elsewhere
    dW[p, q, c, f]     = sum_{n, h, w} dz[n, h, w, f] * x[n, h + p, w + q, c]
    db[f]              = sum_{n, h, w} dz[n, h, w, f]

Unfused, the conv writes the whole map (2.4 MB for 32 images), the pool reads it back, and on the way back
the pool spreads dy over that map (three quarters zeros) for the conv to sum over all of it.

How it is fast: both directions work on one image and one filter at a time, on maps laid out so that the
innermost loops are long runs of contiguous floats, which the compiler turns into SIMD:
- forward: the image's columns are split into even and odd ones ("phase planes", rows ``row`` apart). The
  even and odd output columns of one filter are then each a sum of shifted phase planes, one long
  ``z += w * plane[offset:]`` per tap (all nine taps of a 3x3 filter in one pass; other sizes three taps
  a pass). Pooling is two elementwise maxima: even against odd columns, then each row against the next;
  the window corners are read off at the end.
- backward: dz of one filter is put in a map whose rows are W apart (the input's width), so tap (p, q)
  of every output reads the input plane at one fixed shift p*W + q: dW[p, q, c, f] is one dot product.

The backward works for any pool whose windows do not overlap; the forward for 2x2 windows (the phase split
is by two). The loop-by-loop twin is ``reference/conv_pool.py``: the unfused layers, one after the other.
"""
import numpy as np
from numba import njit, prange

# As in conv.py: the sums over the batch run in fixed chunks, each into its own buffer, and the buffers are
# added in chunk order, so the bits never depend on the thread count.
_CHUNKS = 8


# --- forward -----------------------------------------------------------------------------------------------
# In the helpers below, every index is built from a start clamped with max(start, 0): the compiler then knows
# it is never negative and drops numba's wrap-around check for negative indices, which would otherwise keep
# the loops out of SIMD (5-10x slower).

@njit(cache=True)
def _to_phase_planes(image, row, phases):
    # image (H, W, C) -> phases (C, 2, H*row): even columns 2j to phase 0, odd ones 2j+1 to phase 1, each at
    # column j of its plane (an odd width leaves phase 1's last column 0)
    height, width, n_channels = image.shape
    for h in range(height):
        start = max(h * row, 0)
        for c in range(n_channels):
            for j in range(row):
                phases[c, 0, start + j] = image[h, 2 * j, c] if 2 * j < width else 0
                phases[c, 1, start + j] = image[h, 2 * j + 1, c] if 2 * j + 1 < width else 0


@njit(cache=True, fastmath={"contract"})
def _add_scaled(z, plane, offset, weight):
    # z[k] += weight * plane[offset + k] for every k: one tap over every output position of the map
    start = max(offset, 0)
    for k in range(z.shape[0]):
        z[k] += weight * plane[start + k]


@njit(cache=True, fastmath={"contract"})
def _add_scaled3(z, plane0, offset0, weight0, plane1, offset1, weight1, plane2, offset2, weight2):
    # three taps in one pass over z: a third of the loads and stores of z
    start0, start1, start2 = max(offset0, 0), max(offset1, 0), max(offset2, 0)
    for k in range(z.shape[0]):
        z[k] += weight0 * plane0[start0 + k] + weight1 * plane1[start1 + k] + weight2 * plane2[start2 + k]


@njit(cache=True, fastmath={"contract"})
def _add_scaled_3x3(z, plane0, shift0, plane1, shift1, plane2, shift2, row, taps):
    # all nine taps of a 3x3 filter in one pass over z: row p of the filter reads the three planes p rows
    # down. The same sums, in the same order, as three passes of _add_scaled3, with a third of the z traffic.
    w00, w01, w02 = taps[0, 0], taps[0, 1], taps[0, 2]
    w10, w11, w12 = taps[1, 0], taps[1, 1], taps[1, 2]
    w20, w21, w22 = taps[2, 0], taps[2, 1], taps[2, 2]
    a0, b0, c0 = max(shift0, 0), max(shift1, 0), max(shift2, 0)
    a1, b1, c1 = a0 + max(row, 0), b0 + max(row, 0), c0 + max(row, 0)
    a2, b2, c2 = a1 + max(row, 0), b1 + max(row, 0), c1 + max(row, 0)
    for k in range(z.shape[0]):
        total = z[k] + (w00 * plane0[a0 + k] + w01 * plane1[b0 + k] + w02 * plane2[c0 + k])
        total = total + (w10 * plane0[a1 + k] + w11 * plane1[b1 + k] + w12 * plane2[c1 + k])
        z[k] = total + (w20 * plane0[a2 + k] + w21 * plane1[b2 + k] + w22 * plane2[c2 + k])


@njit(cache=True)
def _conv_phase_maps(phases, w, b, f, row, zs):
    # zs[r, i*row + j] = z[i, 2j + r] of filter f, for output column phase r = 0 (even), 1 (odd).
    # Tap (p, q) of phase r reads input column 2j + r + q: phase plane (r + q) % 2, shifted by p rows and
    # (r + q) // 2 columns.
    k_h, k_w, n_channels, _ = w.shape
    for r in range(2):
        z = zs[r]
        z[:] = b[f]
        if k_h == 3 and k_w == 3:  # the tutorial's filters: one pass per input channel
            for c in range(n_channels):
                _add_scaled_3x3(z, phases[c, r % 2], r // 2, phases[c, (r + 1) % 2], (r + 1) // 2,
                                phases[c, (r + 2) % 2], (r + 2) // 2, row, w[:, :, c, f])
            continue
        for p in range(k_h):
            for c in range(n_channels):
                q = 0
                while q + 3 <= k_w:
                    _add_scaled3(z, phases[c, (r + q) % 2], p * row + (r + q) // 2, w[p, q, c, f],
                                 phases[c, (r + q + 1) % 2], p * row + (r + q + 1) // 2, w[p, q + 1, c, f],
                                 phases[c, (r + q + 2) % 2], p * row + (r + q + 2) // 2, w[p, q + 2, c, f])
                    q += 3
                while q < k_w:
                    _add_scaled(z, phases[c, (r + q) % 2], p * row + (r + q) // 2, w[p, q, c, f])
                    q += 1


@njit(cache=True)
def _max_of_columns(even, odd, even_at, best, at):
    # best[k] = max(even[k], odd[k]); at[k] = even_at[k], plus 1 if the odd column won (ties: even, the first)
    for k in range(best.shape[0]):
        a = even[k]
        b = odd[k]
        best[k] = max(a, b)
        at[k] = even_at[k] + (np.int32(1) if b > a else np.int32(0))


@njit(cache=True)
def _max_of_rows(rows, rows_at, row, best, at):
    # best[k] = max(rows[k], rows[k + row]); at[k] = where the winner is (ties: the upper row, the first)
    shift = max(row, 0)
    for k in range(best.shape[0]):
        a = rows[k]
        b = rows[shift + k]
        a_at = rows_at[k]
        b_at = rows_at[shift + k]  # both loaded, then a select: no branch on the data
        best[k] = max(a, b)
        at[k] = b_at if b > a else a_at


@njit(parallel=True, cache=True)
def _forward(x, w, b, relu, zero, y, keep_argmax, argmax):
    n_images, height, width, n_channels = x.shape
    k_h, k_w, _, n_filters = w.shape
    _, pooled_h, pooled_w, _ = y.shape
    out_w = width - k_w + 1
    row = (width + 1) // 2                    # phase planes' row length
    span = (2 * pooled_h - 1) * row + pooled_w  # each phase map: the conv rows the windows use
    even_at = np.empty(span, np.int32)          # map index k -> flat position of its even output
    for k in range(span):
        even_at[k] = (k // row) * out_w + (k % row) * 2
    for n in prange(n_images):
        phases = np.empty((n_channels, 2, height * row), x.dtype)
        zs = np.empty((2, span), x.dtype)
        pair_max = np.empty(span, x.dtype)         # max of each even/odd column pair
        pair_at = np.empty(span, np.int32)
        window_max = np.empty((n_filters, span - row), x.dtype)  # ... and of two rows of those: window
        window_at = np.empty((n_filters, span - row), np.int32)  # (a, b) of filter f at [f, 2a*row + b]
        _to_phase_planes(x[n], row, phases)
        for f in range(n_filters):
            _conv_phase_maps(phases, w, b, f, row, zs)
            _max_of_columns(zs[0], zs[1], even_at, pair_max, pair_at)
            _max_of_rows(pair_max, pair_at, row, window_max[f], window_at[f])
        for a in range(pooled_h):  # all filters done: write y[n] in memory order, channels-last
            top = max(2 * a * row, 0)
            for j in range(pooled_w):
                for f in range(n_filters):
                    value = window_max[f, top + j]
                    y[n, a, j, f] = (value if value > zero else zero) if relu else value
                    if keep_argmax:
                        argmax[n, a, j, f] = window_at[f, top + j]


# --- backward ----------------------------------------------------------------------------------------------
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
    # output's gradient; three taps of a kernel row per pass, so dz is read a third as often. reassoc lets
    # the sums run in SIMD lanes (in the same order on every run); ``zero`` has the arrays' dtype (a
    # Python 0 would turn float32 sums into float64 ones).
    k_h, k_w, n_channels = acc.shape
    for p in range(k_h):
        for c in range(n_channels):
            plane = planes[c]
            q = 0
            while q + 3 <= k_w:
                start = max(p * width + q, 0)
                total0, total1, total2 = zero, zero, zero
                for k in range(dz.shape[0]):
                    total0 += dz[k] * plane[start + k]
                    total1 += dz[k] * plane[start + 1 + k]
                    total2 += dz[k] * plane[start + 2 + k]
                acc[p, q, c] += total0
                acc[p, q + 1, c] += total1
                acc[p, q + 2, c] += total2
                q += 3
            while q < k_w:
                start = max(p * width + q, 0)
                total = zero
                for k in range(dz.shape[0]):
                    total += dz[k] * plane[start + k]
                acc[p, q, c] += total
                q += 1


@njit(cache=True)
def _respace_rows(rows, row_length, new_row_length, spaced):
    # copy rows stored row_length apart to new_row_length apart (what lies between is left as it is)
    for h in range(rows.shape[0] // row_length):
        source, target = max(h * row_length, 0), max(h * new_row_length, 0)  # max(): see "forward"
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


def conv_pool_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, relu: bool,
                      keep_argmax: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Stride-1 conv of the (padded) x (N, H, W, C), then 2x2 max-pool, then relu if asked.

    Returns (y, argmax), both (N, (H-KH+1)//2, (W-KW+1)//2, F); argmax is int32, the flat position
    h * OW + w of each window's max in the conv map, as MaxPooling2D keeps it, or None when keep_argmax
    is False (inference: nothing will go backward, and not writing it saves memory and time).
    """
    n_images, height, width, _ = x.shape
    k_h, k_w, _, n_filters = w.shape
    shape = (n_images, (height - k_h + 1) // 2, (width - k_w + 1) // 2, n_filters)
    y = np.empty(shape, dtype=x.dtype)
    argmax = np.empty(shape if keep_argmax else (0, 0, 0, 0), dtype=np.int32)
    _forward(np.ascontiguousarray(x), w, b, relu, x.dtype.type(0), y, keep_argmax, argmax)
    return y, argmax if keep_argmax else None


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
