"""Max and average pooling, channels-last, loop by loop: the twins of scratchcnn/kernels/pool.py (and of
GlobalAveragePooling2D, at the end).

Shapes: x (N, H, W, C), pool (PH, PW), stride (SH, SW), y, argmax and dy (N, OH, OW, C) with
OH = (H - PH) // SH + 1 and OW = (W - PW) // SW + 1.

    window           = x[n, i*SH : i*SH + PH, j*SW : j*SW + PW, c]             (PH, PW)
    y[n, i, j, c]    = max(window)
    argmax[n, i, j, c] = h * W + w, the input position (h, w) of that maximum
    dx[n, h, w, c]  += dy[n, i, j, c]   for the winning (h, w); every other input gets nothing

Ties: the first maximum in row-major order of the window wins (``np.argmax`` returns the first
occurrence), so exactly one input receives each output's gradient. Windows overlap when the stride is
smaller than the pool, so one input can win several windows: the backward pass adds.
"""
import numpy as np


def maxpool2d_forward(x, pool, stride):
    """(y, argmax), both (N, OH, OW, C); argmax is int32, the flat index h * W + w in the input plane."""
    n_images, h, width, n_channels = x.shape
    (ph, pw), (sh, sw) = pool, stride
    out_h, out_w = (h - ph) // sh + 1, (width - pw) // sw + 1
    y = np.zeros((n_images, out_h, out_w, n_channels), dtype=x.dtype)
    argmax = np.zeros((n_images, out_h, out_w, n_channels), dtype=np.int32)
    for n in range(n_images):
        for i in range(out_h):
            for j in range(out_w):
                for c in range(n_channels):
                    window = x[n, i * sh:i * sh + ph, j * sw:j * sw + pw, c]   # (PH, PW)
                    p, q = divmod(int(np.argmax(window)), pw)                  # first max, row-major
                    y[n, i, j, c] = window[p, q]
                    argmax[n, i, j, c] = (i * sh + p) * width + (j * sw + q)
    return y, argmax


def maxpool2d_backward(dy, argmax, input_shape, pool, stride):
    """dL/dx with shape input_shape (N, H, W, C): each dy goes to the input that won its window.

    The max is a switch: d y[n, i, j, c] / d x[n, h, w, c] is 1 for the winner (h, w) and 0 for every
    other pixel of the window, so walking the window gives dy to exactly one of them.
    """
    width = input_shape[2]
    (ph, pw), (sh, sw) = pool, stride
    dx = np.zeros(input_shape, dtype=dy.dtype)
    n_images, out_h, out_w, n_channels = dy.shape
    for n in range(n_images):
        for i in range(out_h):
            for j in range(out_w):
                for c in range(n_channels):
                    for p in range(ph):
                        for q in range(pw):
                            h, w = i * sh + p, j * sw + q
                            if h * width + w == argmax[n, i, j, c]:
                                dx[n, h, w, c] += dy[n, i, j, c]
    return dx


# --- average pooling: the twin of avgpool2d_forward / avgpool2d_backward in scratchcnn/kernels/pool.py ----
def _window_cells(i, j, pool, stride, pads, height, width):
    """The (h, w) of window (i, j) that lie inside the image: the padding is never counted."""
    (ph, pw), (sh, sw), ((top, _), (left, _)) = pool, stride, pads
    cells = []
    for p in range(ph):
        for q in range(pw):
            h, w = i * sh + p - top, j * sw + q - left      # in the unpadded image
            if 0 <= h < height and 0 <= w < width:
                cells.append((h, w))
    return cells


def avgpool2d_forward(x, pool, stride, pads=((0, 0), (0, 0))):
    """y (N, OH, OW, C): y[n, i, j, c] = the mean of x[n, h, w, c] over the window's cells in the image."""
    n_images, height, width, n_channels = x.shape
    (ph, pw), (sh, sw), ((top, bottom), (left, right)) = pool, stride, pads
    out_h = (height + top + bottom - ph) // sh + 1
    out_w = (width + left + right - pw) // sw + 1
    y = np.zeros((n_images, out_h, out_w, n_channels), dtype=x.dtype)
    for n in range(n_images):
        for i in range(out_h):
            for j in range(out_w):
                cells = _window_cells(i, j, pool, stride, pads, height, width)
                for c in range(n_channels):
                    y[n, i, j, c] = sum(x[n, h, w, c] for h, w in cells) / len(cells)
    return y


def avgpool2d_backward(dy, input_shape, pool, stride, pads=((0, 0), (0, 0))):
    """dL/dx (input_shape): d y[n, i, j, c] / d x[n, h, w, c] = 1 / count for each of the window's
    count cells, so every cell of window (i, j) gets dy[n, i, j, c] / count; windows may overlap: add."""
    _, height, width, _ = input_shape
    dx = np.zeros(input_shape, dtype=dy.dtype)
    n_images, out_h, out_w, n_channels = dy.shape
    for n in range(n_images):
        for i in range(out_h):
            for j in range(out_w):
                cells = _window_cells(i, j, pool, stride, pads, height, width)
                for c in range(n_channels):
                    for h, w in cells:
                        dx[n, h, w, c] += dy[n, i, j, c] / len(cells)
    return dx


# --- global average pooling: the twin of GlobalAveragePooling2D (scratchcnn/layers/global_avgpool.py) -----
def global_avgpool_forward(x):
    """x (N, H, W, C) -> y (N, C): y[n, c] = sum_{h, w} x[n, h, w, c] / (H * W)."""
    n_images, height, width, n_channels = x.shape
    y = np.zeros((n_images, n_channels), dtype=x.dtype)
    for n in range(n_images):
        for c in range(n_channels):
            y[n, c] = sum(x[n, h, w, c] for h in range(height) for w in range(width)) / (height * width)
    return y


def global_avgpool_backward(dy, input_shape):
    """dy (N, C) -> dx (N, H, W, C): every pixel of a map gets an equal share dy[n, c] / (H * W)."""
    n_images, height, width, n_channels = input_shape
    dx = np.zeros(input_shape, dtype=dy.dtype)
    for n in range(n_images):
        for h in range(height):
            for w in range(width):
                for c in range(n_channels):
                    dx[n, h, w, c] = dy[n, c] / (height * width)
    return dx
