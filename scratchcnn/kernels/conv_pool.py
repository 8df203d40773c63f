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

How it is fast: two kernels, chosen by the filters' shape.
- 3x3 filters over one channel (the first conv of a grayscale network: the tutorial's, Keras's MNIST
  convnet's): a pooling window at a time, whole. Its four conv outputs read the 4x4 pixels under it, 16
  numbers held in registers, and the innermost loop runs over the filters, contiguous in W, y, dy and
  argmax, so the compiler puts 8 filters in each AVX register. Forward, each filter's four outputs are
  36 multiply-adds and three comparisons in those lanes; backward, each filter's gradient goes to the
  window's winner and from there to the 9 taps' gradients, 36 multiply-adds again.
- any other filters: one image and one filter at a time, on maps laid out so that the innermost loops
  are long runs of contiguous floats:
  - forward: the image's columns are split into even and odd ones ("phase planes", rows ``row`` apart).
    The even and odd output columns of one filter are then each a sum of shifted phase planes, one long
    ``z += w * plane[offset:]`` per tap (all nine taps of a 3x3 filter in one pass; other sizes three
    taps a pass). Pooling is two elementwise maxima: even against odd columns, then each row against the
    next; the window corners are read off at the end.
  - backward: dz of one filter is put in a map whose rows are W apart (the input's width), so tap (p, q)
    of every output reads the input plane at one fixed shift p*W + q: dW[p, q, c, f] is one dot product.

Both give the same numbers up to float rounding (the sums run in another order) and the same winners,
ties included. The phase-plane backward works for any pool whose windows do not overlap; the forwards
and the 3x3 backward for 2x2 windows. The loop-by-loop twin is ``reference/conv_pool.py``: the unfused
layers, one after the other.
"""
import numpy as np
from numba import njit, prange

from .conv import _in_block_order

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


# --- 3x3 filters over one channel: a window at a time, the filters in SIMD lanes ---------------------------
# Each direction is one function, the loops over windows included: split into a helper called per window,
# the compiled code checked at every call that its arrays do not overlap, and ran 2-3x slower.
# The filter loops run over the filters padded with zeros to a multiple of _LANES (8 float32 fill an AVX
# register, and 8 is a multiple of every x86 vector width), so they have no slow scalar tail; what the
# padded filters compute is dropped.
_LANES = 8


@njit(cache=True)
def _window(image, n, h, w, out_w):
    # The window of conv outputs (h..h+1, w..w+1) reads image[n, h:h+4, w:w+4]: those 16 pixels, row by row,
    # then the four outputs' flat positions in the conv map (top left, top right, bottom left, bottom right).
    top_left = np.int32(h * out_w + w)
    return (image[n, h, w], image[n, h, w + 1], image[n, h, w + 2], image[n, h, w + 3],
            image[n, h + 1, w], image[n, h + 1, w + 1], image[n, h + 1, w + 2], image[n, h + 1, w + 3],
            image[n, h + 2, w], image[n, h + 2, w + 1], image[n, h + 2, w + 2], image[n, h + 2, w + 3],
            image[n, h + 3, w], image[n, h + 3, w + 1], image[n, h + 3, w + 2], image[n, h + 3, w + 3],
            top_left, top_left + np.int32(1), top_left + np.int32(out_w), top_left + np.int32(out_w + 1))


@njit(parallel=True, cache=True, fastmath={"contract"})
def _forward_3x3(image, taps, bias, floor, y, keep_argmax, argmax):
    # image (N, H, W): the one channel; taps (9, Fp): W[p, q, 0, f] in row 3p + q; bias (Fp,); both padded
    # with zero filters to Fp. floor: 0 for relu, -inf for none (y = the window's max, or floor if larger).
    # y, argmax (N, PH, PW, F).
    n_images, height, width = image.shape
    _, pooled_h, pooled_w, n_filters = y.shape
    padded = taps.shape[1]
    out_w = width - 2
    for n in prange(n_images):
        best_row = np.empty(padded, y.dtype)   # one window's maximum and winner, for every filter
        at_row = np.empty(padded, np.int32)
        for a in range(pooled_h):
            for j in range(pooled_w):
                x00, x01, x02, x03, x10, x11, x12, x13, x20, x21, x22, x23, x30, x31, x32, x33, \
                    top_left, top_right, bottom_left, bottom_right = _window(image, n, 2 * a, 2 * j, out_w)
                for f in range(padded):
                    w00, w01, w02 = taps[0, f], taps[1, f], taps[2, f]
                    w10, w11, w12 = taps[3, f], taps[4, f], taps[5, f]
                    w20, w21, w22 = taps[6, f], taps[7, f], taps[8, f]
                    z_tl = bias[f]                   # output (h, w)
                    z_tl += x00 * w00; z_tl += x01 * w01; z_tl += x02 * w02
                    z_tl += x10 * w10; z_tl += x11 * w11; z_tl += x12 * w12
                    z_tl += x20 * w20; z_tl += x21 * w21; z_tl += x22 * w22
                    z_tr = bias[f]                   # output (h, w + 1): the patch one column right
                    z_tr += x01 * w00; z_tr += x02 * w01; z_tr += x03 * w02
                    z_tr += x11 * w10; z_tr += x12 * w11; z_tr += x13 * w12
                    z_tr += x21 * w20; z_tr += x22 * w21; z_tr += x23 * w22
                    z_bl = bias[f]                   # output (h + 1, w): one row down
                    z_bl += x10 * w00; z_bl += x11 * w01; z_bl += x12 * w02
                    z_bl += x20 * w10; z_bl += x21 * w11; z_bl += x22 * w12
                    z_bl += x30 * w20; z_bl += x31 * w21; z_bl += x32 * w22
                    z_br = bias[f]                   # output (h + 1, w + 1)
                    z_br += x11 * w00; z_br += x12 * w01; z_br += x13 * w02
                    z_br += x21 * w10; z_br += x22 * w11; z_br += x23 * w12
                    z_br += x31 * w20; z_br += x32 * w21; z_br += x33 * w22
                    best, at = z_tl, top_left        # ties: the first in row-major order stays
                    if z_tr > best:
                        best, at = z_tr, top_right
                    if z_bl > best:
                        best, at = z_bl, bottom_left
                    if z_br > best:
                        best, at = z_br, bottom_right
                    best_row[f] = floor if best < floor else best
                    at_row[f] = at
                for f in range(n_filters):
                    y[n, a, j, f] = best_row[f]
                if keep_argmax:
                    for f in range(n_filters):
                        argmax[n, a, j, f] = at_row[f]


@njit(parallel=True, cache=True, fastmath={"contract"})
def _backward_3x3(image, dy, argmax, pooled, relu, partial_w, partial_b):
    # image (N, H, W); dy, argmax, pooled (N, PH, PW, F); partial_w (chunks, 9, Fp) and partial_b
    # (chunks, Fp): one buffer per chunk of images, filters padded to Fp as in the forward
    n_images, height, width = image.shape
    _, pooled_h, pooled_w, n_filters = dy.shape
    n_chunks, _, padded = partial_w.shape
    out_w = width - 2
    zero = dy.dtype.type(0)
    for chunk in prange(n_chunks):
        acc_w = np.zeros((9, padded), dy.dtype)
        acc_b = np.zeros(padded, dy.dtype)
        g = np.zeros(padded, dy.dtype)        # one window's gradient and winner, for every filter
        at = np.full(padded, -1, np.int32)    # (the padded filters: no gradient, no winner)
        for n in range(chunk * n_images // n_chunks, (chunk + 1) * n_images // n_chunks):
            for a in range(pooled_h):
                for j in range(pooled_w):
                    for f in range(n_filters):
                        flat = relu and pooled[n, a, j, f] <= zero   # relu(max z) is flat there: no gradient
                        g[f] = zero if flat else dy[n, a, j, f]
                        at[f] = argmax[n, a, j, f]
                    x00, x01, x02, x03, x10, x11, x12, x13, x20, x21, x22, x23, x30, x31, x32, x33, \
                        top_left, top_right, bottom_left, bottom_right = _window(image, n, 2 * a, 2 * j, out_w)
                    for f in range(padded):
                        gf, winner = g[f], at[f]     # dz is gf at the winner, 0 at the window's other outputs
                        g_tl = gf if winner == top_left else zero
                        g_tr = gf if winner == top_right else zero
                        g_bl = gf if winner == bottom_left else zero
                        g_br = gf if winner == bottom_right else zero
                        acc_b[f] += gf
                        # tap (p, q) saw image[h + p + r, w + q + s] at output (h + r, w + s)
                        acc_w[0, f] += (x00 * g_tl + x01 * g_tr) + (x10 * g_bl + x11 * g_br)
                        acc_w[1, f] += (x01 * g_tl + x02 * g_tr) + (x11 * g_bl + x12 * g_br)
                        acc_w[2, f] += (x02 * g_tl + x03 * g_tr) + (x12 * g_bl + x13 * g_br)
                        acc_w[3, f] += (x10 * g_tl + x11 * g_tr) + (x20 * g_bl + x21 * g_br)
                        acc_w[4, f] += (x11 * g_tl + x12 * g_tr) + (x21 * g_bl + x22 * g_br)
                        acc_w[5, f] += (x12 * g_tl + x13 * g_tr) + (x22 * g_bl + x23 * g_br)
                        acc_w[6, f] += (x20 * g_tl + x21 * g_tr) + (x30 * g_bl + x31 * g_br)
                        acc_w[7, f] += (x21 * g_tl + x22 * g_tr) + (x31 * g_bl + x32 * g_br)
                        acc_w[8, f] += (x22 * g_tl + x23 * g_tr) + (x32 * g_bl + x33 * g_br)
        partial_w[chunk] = acc_w
        partial_b[chunk] = acc_b


def _is_3x3_over_one_channel(kernel_shape) -> bool:
    """True for (3, 3, 1, F) filters: the window kernels run; else the phase-plane ones."""
    return tuple(kernel_shape[:3]) == (3, 3, 1)


def _padded_filters(n_filters: int) -> int:
    return -(-n_filters // _LANES) * _LANES


def conv_pool_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, relu: bool,
                      keep_argmax: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Stride-1 conv of the (padded) x (N, H, W, C), then 2x2 max-pool, then relu if asked.

    Returns (y, argmax), both (N, (H-KH+1)//2, (W-KW+1)//2, F); argmax is int32, the flat position
    h * OW + w of each window's max in the conv map, as MaxPooling2D keeps it, or None when keep_argmax
    is False (inference: nothing will go backward, and not writing it saves memory and time).
    """
    x = np.ascontiguousarray(x)
    n_images, height, width, _ = x.shape
    k_h, k_w, _, n_filters = w.shape
    shape = (n_images, (height - k_h + 1) // 2, (width - k_w + 1) // 2, n_filters)
    y = np.empty(shape, dtype=x.dtype)
    argmax = np.empty(shape if keep_argmax else (0, 0, 0, 0), dtype=np.int32)
    if _is_3x3_over_one_channel(w.shape):
        padded = _padded_filters(n_filters)
        taps = np.zeros((9, padded), dtype=x.dtype)
        taps[:, :n_filters] = w.reshape(9, n_filters)
        bias = np.zeros(padded, dtype=x.dtype)
        bias[:n_filters] = b
        floor = x.dtype.type(0 if relu else -np.inf)   # relu(max z) = max(max z, 0)
        _forward_3x3(x.reshape(n_images, height, width), taps, bias, floor, y, keep_argmax, argmax)
    else:
        _forward(x, w, b, relu, x.dtype.type(0), y, keep_argmax, argmax)
    return y, argmax if keep_argmax else None


def conv_pool_backward(x: np.ndarray, dy: np.ndarray, argmax: np.ndarray, pooled: np.ndarray, relu: bool,
                       kernel_hw: tuple[int, int], pool: tuple[int, int] = (2, 2)) -> tuple[np.ndarray, np.ndarray]:
    """(dL/dW (KH, KW, C, F), dL/db (F,)) of a stride-1 conv whose map went through a non-overlapping pool.

    x: the conv's (padded) input (N, H, W, C); dy: dL/dpooled (N, PH, PW, F); argmax: the pool's winners,
    flat h * OW + w in the conv map; pooled: the pool's output, needed only when relu is True; pool: the
    pool's windows (any size for the phase-plane kernel; the 3x3 one takes 2x2 windows).
    """
    n_images, height, width, n_channels = x.shape
    k_h, k_w = kernel_hw
    n_filters = dy.shape[3]
    n_chunks = max(1, min(_CHUNKS, n_images))
    if _is_3x3_over_one_channel((k_h, k_w, n_channels)) and tuple(pool) == (2, 2):
        padded = _padded_filters(n_filters)
        partial_w = np.empty((n_chunks, 9, padded), dtype=dy.dtype)
        partial_b = np.empty((n_chunks, padded), dtype=dy.dtype)
        _backward_3x3(np.ascontiguousarray(x).reshape(n_images, height, width), np.ascontiguousarray(dy),
                      argmax, pooled, relu, partial_w, partial_b)
        dw, db = _in_block_order(partial_w, partial_w.shape[1:]), _in_block_order(partial_b, (padded,))
        return np.ascontiguousarray(dw[:, :n_filters]).reshape(3, 3, 1, n_filters), db[:n_filters].copy()
    partial_w = np.empty((n_chunks, n_filters, k_h, k_w, n_channels), dtype=dy.dtype)  # filter first
    partial_b = np.empty((n_chunks, n_filters), dtype=dy.dtype)
    _backward(np.ascontiguousarray(x), np.ascontiguousarray(dy), argmax, pooled, relu,
              (height - k_h + 1, width - k_w + 1), dy.dtype.type(0), partial_w, partial_b)
    dw, db = _in_block_order(partial_w, partial_w.shape[1:]), _in_block_order(partial_b, (n_filters,))
    return np.ascontiguousarray(dw.transpose(1, 2, 3, 0)), db  # (KH, KW, C, F), Keras layout
