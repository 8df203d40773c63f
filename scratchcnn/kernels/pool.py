"""Max pooling, channels-last, with the position of each maximum kept for the backward pass; and average
pooling (at the end of the file), whose windows average only the cells inside the image.

Shapes: x (N, H, W, C) (padded with -inf by the layer for 'same'), pool (PH, PW), stride (SH, SW),
y and argmax (N, OH, OW, C) with OH = (H - PH) // SH + 1.

    y[n, i, j, c]      = max_{p, q} x[n, i*SH + p, j*SW + q, c]
    argmax[n, i, j, c] = h * W + w of that maximum in the input plane
    dx[n, h, w, c]    += dy[n, i, j, c]   at (h, w) = argmax, zero elsewhere

Ties: the first maximum in row-major order of the window wins (comparison is strictly greater), so
exactly one input receives each gradient. Windows may overlap when the stride is smaller than the pool,
so the backward pass adds (+=) rather than assigns.
"""
import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def _forward(x, ph, pw, sh, sw, y, argmax):
    n_images, out_h, out_w, n_channels = y.shape
    width = x.shape[2]
    for n in prange(n_images):
        for i in range(out_h):
            for j in range(out_w):
                # start from the window's top-left pixel; a strictly larger value replaces it. Written as
                # selects, not branches, so the loop over channels runs in SIMD lanes.
                for c in range(n_channels):
                    y[n, i, j, c] = x[n, i * sh, j * sw, c]
                    argmax[n, i, j, c] = (i * sh) * width + j * sw
                for p in range(ph):
                    for q in range(pw):
                        h = i * sh + p
                        w = j * sw + q
                        for c in range(n_channels):
                            value = x[n, h, w, c]
                            best = y[n, i, j, c]
                            larger = value > best
                            y[n, i, j, c] = value if larger else best
                            argmax[n, i, j, c] = h * width + w if larger else argmax[n, i, j, c]


@njit(parallel=True, cache=True)
def _backward(dy, argmax, ph, pw, sh, sw, zero, dx):
    n_images, out_h, out_w, n_channels = dy.shape
    width = dx.shape[2]
    for n in prange(n_images):
        dx[n] = 0.0
        for i in range(out_h):
            for j in range(out_w):
                for p in range(ph):
                    for q in range(pw):
                        h = i * sh + p
                        w = j * sw + q
                        for c in range(n_channels):
                            won = argmax[n, i, j, c] == h * width + w
                            dx[n, h, w, c] += dy[n, i, j, c] if won else zero


def maxpool2d_forward(x: np.ndarray, pool: tuple[int, int],
                      stride: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Returns (y, argmax), both (N, OH, OW, C); argmax is int32 flat h*W+w in the input plane."""
    ph, pw = pool
    sh, sw = stride
    n_images, h, w, n_channels = x.shape
    shape = (n_images, (h - ph) // sh + 1, (w - pw) // sw + 1, n_channels)
    y = np.empty(shape, dtype=x.dtype)
    argmax = np.empty(shape, dtype=np.int32)
    _forward(np.ascontiguousarray(x), ph, pw, sh, sw, y, argmax)
    return y, argmax


def maxpool2d_backward(dy: np.ndarray, argmax: np.ndarray, input_shape: tuple[int, ...],
                       pool: tuple[int, int], stride: tuple[int, int]) -> np.ndarray:
    """dL/dx (N, H, W, C): each dy goes to the input position that won its window."""
    dx = np.empty(input_shape, dtype=dy.dtype)
    _backward(np.ascontiguousarray(dy), argmax, pool[0], pool[1], stride[0], stride[1], dy.dtype.type(0), dx)
    return dx


# --- average pooling ------------------------------------------------------------------------------------
# The layer hands over the unpadded x and the padding it would add ('same'); a window is clipped to the
# image and averages only the cells inside it (Keras's rule: padding is never counted). Every window holds
# at least one cell, because 'same' pads less than a window on each side.
#
#     rows(i) = max(i*SH - top, 0) .. min(i*SH - top + PH, H)     (and likewise the columns)
#     y[n, i, j, c]   = sum of x[n, h, w, c] over the window / count(i, j)
#     dx[n, h, w, c] += dy[n, i, j, c] / count(i, j)   for every window (i, j) that holds (h, w)

@njit(parallel=True, cache=True)
def _avg_forward(x, ph, pw, sh, sw, top, left, y):
    n_images, out_h, out_w, n_channels = y.shape
    height, width = x.shape[1], x.shape[2]
    for n in prange(n_images):
        for i in range(out_h):
            h0 = max(i * sh - top, 0)
            h1 = min(i * sh - top + ph, height)
            for j in range(out_w):
                w0 = max(j * sw - left, 0)
                w1 = min(j * sw - left + pw, width)
                count = (h1 - h0) * (w1 - w0)
                for c in range(n_channels):
                    y[n, i, j, c] = 0.0
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        for c in range(n_channels):
                            y[n, i, j, c] += x[n, h, w, c]
                for c in range(n_channels):
                    y[n, i, j, c] /= count


@njit(parallel=True, cache=True)
def _avg_backward(dy, ph, pw, sh, sw, top, left, dx):
    n_images, out_h, out_w, n_channels = dy.shape
    height, width = dx.shape[1], dx.shape[2]
    for n in prange(n_images):
        dx[n] = 0.0
        for i in range(out_h):
            h0 = max(i * sh - top, 0)
            h1 = min(i * sh - top + ph, height)
            for j in range(out_w):
                w0 = max(j * sw - left, 0)
                w1 = min(j * sw - left + pw, width)
                count = (h1 - h0) * (w1 - w0)
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        for c in range(n_channels):
                            dx[n, h, w, c] += dy[n, i, j, c] / count


def avgpool2d_forward(x: np.ndarray, pool: tuple[int, int], stride: tuple[int, int],
                      pads=((0, 0), (0, 0))) -> np.ndarray:
    """y (N, OH, OW, C): each window's mean over its cells inside x (N, H, W, C); pads as the layer's."""
    (ph, pw), (sh, sw), ((top, bottom), (left, right)) = pool, stride, pads
    n_images, h, w, n_channels = x.shape
    shape = (n_images, (h + top + bottom - ph) // sh + 1, (w + left + right - pw) // sw + 1, n_channels)
    y = np.empty(shape, dtype=x.dtype)
    _avg_forward(np.ascontiguousarray(x), ph, pw, sh, sw, top, left, y)
    return y


def avgpool2d_backward(dy: np.ndarray, input_shape: tuple[int, ...], pool: tuple[int, int],
                       stride: tuple[int, int], pads=((0, 0), (0, 0))) -> np.ndarray:
    """dL/dx with shape input_shape (N, H, W, C): each dy shared evenly by its window's cells."""
    (ph, pw), (sh, sw), ((top, _), (left, _)) = pool, stride, pads
    dx = np.empty(input_shape, dtype=dy.dtype)
    _avg_backward(np.ascontiguousarray(dy), ph, pw, sh, sw, top, left, dx)
    return dx
