"""2-D convolution (cross-correlation, as every deep-learning library computes it), channels-last.

Shapes: x (N, H, W, C) already padded, w (KH, KW, C, F), b (F,), stride (SH, SW),
y (N, OH, OW, F) with OH = (H - KH) // SH + 1 and OW = (W - KW) // SW + 1.

    y[n, i, j, f]  = b[f] + sum_{p, q, c} x[n, i*SH + p, j*SW + q, c] * w[p, q, c, f]
    dx[n, i*SH + p, j*SW + q, c] += sum_f dy[n, i, j, f] * w[p, q, c, f]
    dw[p, q, c, f] = sum_{n, i, j} x[n, i*SH + p, j*SW + q, c] * dy[n, i, j, f]
    db[f]          = sum_{n, i, j} dy[n, i, j, f]

Three ways to compute the same sums, chosen by shape alone (``conv_road``):

* **im2col + matrix products.** Each output pixel's patch is copied into one row of a matrix ``cols``
  (rows (n, i, j), columns (p, q, c), the order of w's first three axes), and the conv becomes three
  matrix products that BLAS runs near the machine's peak:

      y  (rows, F)          = cols (rows, KH*KW*C) @ w (KH*KW*C, F) + b
      dcols (rows, KH*KW*C) = dy (rows, F) @ w.T,  then each row added back onto its patch of dx ("col2im")
      dw (KH*KW*C, F)       = cols.T @ dy

  The batch is cut into blocks of about ``BLOCK_ROWS`` output pixels (whole images), so a block's
  ``cols`` fits in a core's L2 cache, and the blocks are spread over the cores
  (``matmul.for_each_block``). The kernel gradient sums one partial product per block, in block order:
  the blocks depend only on the shapes, never on the thread count, so the bits are the same on 1 thread
  or 16.
* **direct loops**, whose innermost loop runs over the filter axis ``f`` (contiguous in y, dy and w, so
  the compiler uses SIMD), ``prange`` over the batch.
* **planes**, for few filters over one or two channels (LeNet-5's first conv: 6 filters): with few
  filters, the loops over ``f`` fill less than one SIMD register and the matrix products are too thin
  for BLAS. Each input channel of an image is then read as one flat "plane" (rows W apart): output
  (i, j) sits at i*W + j of a map whose rows are also W apart, and tap (p, q) of every output reads the
  plane at one fixed shift p*W + q. So a filter's whole map is a sum of shifted planes, one long loop
  ``z += w[p, q, c, f] * plane[p*W + q:]`` per tap, and dw[p, q, c, f] is one long dot product of the
  filter's dz map (put in a map with rows W apart) and the shifted plane. Stride 1 only.

Which runs (measured in docs/performance.md): the planes for stride 1, at most ``PLANES_MAX_CHANNELS``
channels and at most ``PLANES_MAX_FILTERS`` filters; else the matrix products once a patch holds
``MATMUL_MIN_PATCH`` numbers (a 3x3 patch over 3 channels, 27); below, the product is too thin to pay
for the copy, and the direct loops win (the tutorial's 3x3 over one channel: 9). The input gradient
always uses the matrix products: its product runs over the F filters, long enough even when there is
one channel, while its direct loop sums one short dot product per input pixel.
"""
import numpy as np
from numba import njit, prange

from .matmul import for_each_block

# The choice of path, by shape (docs/performance.md has the measurements behind these numbers).
PLANES_MAX_CHANNELS = 2  # stride 1, this many input channels at most ...
PLANES_MAX_FILTERS = 15  # ... and this many filters at most: the planes
MATMUL_MIN_PATCH = 24    # else KH*KW*C from which forward and kernel gradient run as matrix products
BLOCK_ROWS = 512         # output pixels per block of the im2col path (4 images of 11x11 outputs)

# The direct kernel gradient sums over the whole batch. To run that sum on several threads and still get
# the same bits every time, the batch is cut into a fixed number of chunks (whatever the thread count),
# each chunk sums into its own buffer, and the buffers are added in chunk order.
_KERNEL_GRAD_CHUNKS = 8


def conv_road(kernel_shape: tuple[int, ...], stride: tuple[int, int] = (1, 1)) -> str:
    """How the forward and kernel gradient of a conv with kernel (KH, KW, C, F) run: "planes", "matmul"
    (im2col + matrix products) or "direct". (The input gradient always runs as matrix products.)"""
    k_h, k_w, n_channels, n_filters = kernel_shape
    if tuple(stride) == (1, 1) and n_channels <= PLANES_MAX_CHANNELS and n_filters <= PLANES_MAX_FILTERS:
        return "planes"
    return "matmul" if k_h * k_w * n_channels >= MATMUL_MIN_PATCH else "direct"


def uses_matmul(kernel_shape: tuple[int, ...], stride: tuple[int, int] = (1, 1)) -> bool:
    """True when the forward and kernel gradient run as im2col + matrix products."""
    return conv_road(kernel_shape, stride) == "matmul"


def _image_blocks(n_images: int, out_h: int, out_w: int) -> list[tuple[int, int]]:
    """[(first, last + 1), ...]: whole images, about BLOCK_ROWS output pixels each, fixed by the shapes."""
    per_block = max(1, BLOCK_ROWS // (out_h * out_w))
    return [(lo, min(lo + per_block, n_images)) for lo in range(0, n_images, per_block)]


# --- im2col path ---------------------------------------------------------------------------------------
# Both helpers see an image as rows of W*C numbers (x.reshape(N, H, W*C), free for a contiguous array):
# for one kernel row p, the KW*C numbers of a patch then lie side by side, and each is one plain copy.

@njit(nogil=True, cache=True)
def _im2col(x_rows, first, last, sh, sw, k_h, k_w, n_channels, out_h, out_w, cols):
    # cols (images*OH*OW, KH*KW*C): row (n, i, j) holds the patch under output (i, j) of image first + n
    row_length = k_w * n_channels
    for n in range(first, last):
        for i in range(out_h):
            for j in range(out_w):
                r = ((n - first) * out_h + i) * out_w + j
                start = max(j * sw * n_channels, 0)  # max(): never negative, so no wrap-around check
                for p in range(k_h):
                    source = x_rows[n, i * sh + p]
                    for t in range(row_length):
                        cols[r, p * row_length + t] = source[start + t]


@njit(nogil=True, cache=True)
def _col2im(dcols, first, last, sh, sw, k_h, k_w, n_channels, out_h, out_w, dx_rows):
    # dx_rows[first:last] = 0, then every row of dcols added back onto its patch, in row order
    row_length = k_w * n_channels
    for n in range(first, last):
        dx_rows[n] = 0.0
        for i in range(out_h):
            for j in range(out_w):
                r = ((n - first) * out_h + i) * out_w + j
                start = max(j * sw * n_channels, 0)
                for p in range(k_h):
                    target = dx_rows[n, i * sh + p]
                    for t in range(row_length):
                        target[start + t] += dcols[r, p * row_length + t]


def _conv_block(x, w, b, sh, sw, relu, out_hw, first, last, out):
    """The conv outputs of images first..last-1 into ``out`` (rows (n, i, j), F columns): their patches
    copied into cols, one matrix product, the bias (unless b is None: the caller adds it), and relu if
    asked on the block just written, while it is still in cache."""
    n_images, height, _, n_channels = x.shape
    k_h, k_w, _, n_filters = w.shape
    out_h, out_w = out_hw
    cols = np.empty(((last - first) * out_h * out_w, k_h * k_w * n_channels), dtype=x.dtype)
    _im2col(x.reshape(n_images, height, -1), first, last, sh, sw, k_h, k_w, n_channels, out_h, out_w, cols)
    np.matmul(cols, w.reshape(-1, n_filters), out=out)          # (rows, KH*KW*C) @ (KH*KW*C, F)
    if b is not None:
        out += b
    if relu:
        np.maximum(out, 0, out=out)


def _matmul_forward(x, w, b, sh, sw, y, relu=False):
    n_images, out_h, out_w, n_filters = y.shape
    y_rows = y.reshape(-1, n_filters)                           # (N*OH*OW, F)
    blocks = _image_blocks(n_images, out_h, out_w)
    pixels = out_h * out_w

    def block(k):
        first, last = blocks[k]
        _conv_block(x, w, b, sh, sw, relu, (out_h, out_w), first, last, y_rows[first * pixels:last * pixels])

    for_each_block(block, len(blocks))


def _kernel_grad_block(x, dz_block, kernel_hw, sh, sw, out_hw, first, last, out):
    """This block's part of dW into ``out`` (KH*KW*C, F): the patches of images first..last-1, copied
    into cols, times their outputs' gradients, cols.T @ dz."""
    n_images, height, _, n_channels = x.shape
    (k_h, k_w), (out_h, out_w) = kernel_hw, out_hw
    cols = np.empty((dz_block.shape[0], k_h * k_w * n_channels), dtype=x.dtype)
    _im2col(x.reshape(n_images, height, -1), first, last, sh, sw, k_h, k_w, n_channels, out_h, out_w, cols)
    np.matmul(cols.T, dz_block, out=out)


def _input_grad_block(dz_block, w, sh, sw, out_hw, first, last, dx):
    """dx of images first..last-1: dcols = dz @ W.T, each row added back onto its patch (col2im)."""
    k_h, k_w, n_channels, n_filters = w.shape
    out_h, out_w = out_hw
    dcols = np.matmul(dz_block, w.reshape(-1, n_filters).T)    # (rows, KH*KW*C)
    dx_rows = dx.reshape(dx.shape[0], dx.shape[1], -1)
    _col2im(dcols, first, last, sh, sw, k_h, k_w, n_channels, out_h, out_w, dx_rows)


def _in_block_order(partial, shape):
    """The sum of the blocks' (or chunks') partial results, added in their order, as ``shape``: the blocks
    follow from the shapes alone, so the bits are the same whatever the thread count."""
    total = partial[0].copy()
    for k in range(1, len(partial)):
        total += partial[k]
    return total.reshape(shape)


def _matmul_backward_input(dy, w, sh, sw, dx):
    n_images, out_h, out_w, n_filters = dy.shape
    dy_rows = dy.reshape(-1, n_filters)
    blocks = _image_blocks(n_images, out_h, out_w)
    pixels = out_h * out_w

    def block(k):
        first, last = blocks[k]
        _input_grad_block(dy_rows[first * pixels:last * pixels], w, sh, sw, (out_h, out_w), first, last, dx)

    for_each_block(block, len(blocks))


def _matmul_backward_kernel(x, dy, sh, sw, k_h, k_w):
    n_images, _, _, n_channels = x.shape
    _, out_h, out_w, n_filters = dy.shape
    dy_rows = dy.reshape(-1, n_filters)
    blocks = _image_blocks(n_images, out_h, out_w)
    pixels = out_h * out_w
    partial = np.empty((len(blocks), k_h * k_w * n_channels, n_filters), dtype=dy.dtype)

    def block(k):
        first, last = blocks[k]
        _kernel_grad_block(x, dy_rows[first * pixels:last * pixels], (k_h, k_w), sh, sw, (out_h, out_w),
                           first, last, partial[k])

    for_each_block(block, len(blocks))
    return _in_block_order(partial, (k_h, k_w, n_channels, n_filters))


def _matmul_backward(x, dy, w, sh, sw, relu_output, dz, dx):
    """Kernel gradient and (when dx is given) input gradient in one pass over the blocks. With relu_output,
    each block of dz = dy * (y > 0) is written into dz and used by both products while it is in cache;
    without, dz is dy itself. The same products, blocks and order as _matmul_backward_kernel and
    _matmul_backward_input."""
    n_images, _, _, n_channels = x.shape
    _, out_h, out_w, n_filters = dy.shape
    dy_rows, dz_rows = dy.reshape(-1, n_filters), dz.reshape(-1, n_filters)
    y_rows = None if relu_output is None else relu_output.reshape(-1, n_filters)
    blocks = _image_blocks(n_images, out_h, out_w)
    pixels = out_h * out_w
    partial = np.empty((len(blocks), w.shape[0] * w.shape[1] * n_channels, n_filters), dtype=dy.dtype)

    def block(k):
        first, last = blocks[k]
        rows = slice(first * pixels, last * pixels)
        dz_block = dz_rows[rows]
        if y_rows is not None:  # relu's gradient: dy where the output is positive (y > 0 exactly where z > 0)
            np.multiply(dy_rows[rows], y_rows[rows] > 0, out=dz_block)
        _kernel_grad_block(x, dz_block, w.shape[:2], sh, sw, (out_h, out_w), first, last, partial[k])
        if dx is not None:
            _input_grad_block(dz_block, w, sh, sw, (out_h, out_w), first, last, dx)

    for_each_block(block, len(blocks))
    return _in_block_order(partial, w.shape)


# --- direct path ---------------------------------------------------------------------------------------
@njit(parallel=True, cache=True)
def _forward(x, w, b, sh, sw, y):
    # A row of outputs at a time, summed in a buffer made here and copied into y once: sums written straight
    # into y (an argument, which may overlap w for all the compiler knows) ran 1.5x slower. Same order, bits.
    n_images, out_h, out_w, n_filters = y.shape
    k_h, k_w, n_channels, _ = w.shape
    for n in prange(n_images):
        row = np.empty((out_w, n_filters), y.dtype)
        for i in range(out_h):
            for j in range(out_w):
                for f in range(n_filters):
                    row[j, f] = b[f]
            for p in range(k_h):
                for q in range(k_w):
                    for c in range(n_channels):
                        for j in range(out_w):
                            pixel = x[n, i * sh + p, j * sw + q, c]
                            for f in range(n_filters):
                                row[j, f] += pixel * w[p, q, c, f]
            for j in range(out_w):
                for f in range(n_filters):
                    y[n, i, j, f] = row[j, f]


@njit(parallel=True, cache=True)
def _backward_kernel(x, dy, sh, sw, partial):
    # partial: (chunks, KH, KW, C, F), one private buffer per chunk of the batch, summed into a buffer made
    # here (a view of partial would make the compiler assume it may overlap dy: 15% slower)
    n_images, out_h, out_w, n_filters = dy.shape
    n_chunks, k_h, k_w, n_channels, _ = partial.shape
    for chunk in prange(n_chunks):
        acc = np.zeros((k_h, k_w, n_channels, n_filters), dy.dtype)
        for n in range(chunk * n_images // n_chunks, (chunk + 1) * n_images // n_chunks):
            for i in range(out_h):
                for j in range(out_w):
                    for p in range(k_h):
                        for q in range(k_w):
                            for c in range(n_channels):
                                pixel = x[n, i * sh + p, j * sw + q, c]
                                for f in range(n_filters):
                                    acc[p, q, c, f] += pixel * dy[n, i, j, f]
        partial[chunk] = acc


# --- planes path ---------------------------------------------------------------------------------------
# Every array these kernels loop over is made inside them or passed whole (no views of the arguments): the
# compiler then knows they do not overlap and keeps the long loops in SIMD.

@njit(parallel=True, cache=True, fastmath={"contract"})
def _planes_forward(x, w, b, y):
    # stride 1; x (N, H, W, C) padded, w (KH, KW, C, F), y (N, OH, OW, F)
    n_images, height, width, n_channels = x.shape
    k_h, k_w, _, n_filters = w.shape
    _, out_h, out_w, _ = y.shape
    span = (out_h - 1) * width + out_w          # a filter's map, rows `width` apart
    for n in prange(n_images):
        planes = np.empty((n_channels, height * width), x.dtype)   # the image, channel by channel, flat
        for h in range(height):
            for j in range(width):
                for c in range(n_channels):
                    planes[c, h * width + j] = x[n, h, j, c]
        z = np.empty(span, x.dtype)
        for f in range(n_filters):
            for k in range(span):
                z[k] = b[f]
            for p in range(k_h):
                for q in range(k_w):
                    shift = max(p * width + q, 0)   # max(): see _im2col
                    for c in range(n_channels):
                        tap = w[p, q, c, f]
                        for k in range(span):       # one tap over every output of the map
                            z[k] += tap * planes[c, shift + k]
            for i in range(out_h):
                for j in range(out_w):
                    y[n, i, j, f] = z[i * width + j]


@njit(parallel=True, cache=True, fastmath={"contract", "reassoc"})
def _planes_backward_kernel(x, dy, partial):
    # stride 1; partial (chunks, F, KH, KW, C): one buffer per chunk of the batch, summed in chunk order
    # by the caller. reassoc lets the dot products run in SIMD lanes (in the same order on every run).
    n_images, height, width, n_channels = x.shape
    _, out_h, out_w, n_filters = dy.shape
    n_chunks, _, k_h, k_w, _ = partial.shape
    span = (out_h - 1) * width + out_w
    zero = dy.dtype.type(0)
    for chunk in prange(n_chunks):
        acc = np.zeros((n_filters, k_h, k_w, n_channels), dy.dtype)
        planes = np.empty((n_channels, height * width), x.dtype)
        dz = np.zeros(span, dy.dtype)           # one filter's dy, rows `width` apart (between them: 0)
        for n in range(chunk * n_images // n_chunks, (chunk + 1) * n_images // n_chunks):
            for h in range(height):
                for j in range(width):
                    for c in range(n_channels):
                        planes[c, h * width + j] = x[n, h, j, c]
            for f in range(n_filters):
                for i in range(out_h):
                    for j in range(out_w):
                        dz[i * width + j] = dy[n, i, j, f]
                for p in range(k_h):
                    for q in range(k_w):
                        shift = max(p * width + q, 0)
                        for c in range(n_channels):
                            total = zero
                            for k in range(span):   # tap (p, q): its input under every output, times dz
                                total += dz[k] * planes[c, shift + k]
                            acc[f, p, q, c] += total
        partial[chunk] = acc


@njit(cache=True)
def _backward_bias(dy_rows, db):
    # dy_rows: (N*OH*OW, F). NumPy's dy.sum(axis=(0, 1, 2)) is slow for 28 narrow columns; one pass is not.
    db[:] = 0.0
    for r in range(dy_rows.shape[0]):
        for f in range(dy_rows.shape[1]):
            db[f] += dy_rows[r, f]


# --- the kernels the layers call -----------------------------------------------------------------------
def conv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: tuple[int, int],
                   relu: bool = False) -> np.ndarray:
    """y = conv(x, w) + b for an already padded x (N, H, W, C); returns (N, OH, OW, F). ``relu=True``:
    max(y, 0), applied to each block of outputs as soon as it is computed."""
    sh, sw = stride
    n_images, h, w_in, _ = x.shape
    k_h, k_w, _, n_filters = w.shape
    y = np.empty((n_images, (h - k_h) // sh + 1, (w_in - k_w) // sw + 1, n_filters), dtype=x.dtype)
    x, w = np.ascontiguousarray(x), np.ascontiguousarray(w)
    road = conv_road(w.shape, stride)
    if road == "matmul":
        _matmul_forward(x, w, b, sh, sw, y, relu)
        return y
    if road == "planes":
        _planes_forward(x, w, b, y)
    else:
        _forward(x, w, b, sh, sw, y)
    if relu:
        np.maximum(y, 0, out=y)
    return y


def conv2d_backward(x: np.ndarray, dy: np.ndarray, w: np.ndarray, stride: tuple[int, int],
                    relu_output: np.ndarray | None = None, input_grad: bool = True, bias_grad: bool = True):
    """(dL/dw, dL/db or None, dL/dx of the padded input or None) in one go, from the padded input x and
    dy = dL/dy. ``bias_grad=False`` (a Conv2D without bias, as before a BatchNormalization) skips db's pass.

    ``relu_output`` = y = max(z, 0) when the forward applied relu (``conv2d_forward(..., relu=True)``): dy is
    then passed back through it first, dz = dy * (y > 0). The same numbers, to the bit, as
    ``conv2d_backward_kernel``, ``conv2d_backward_bias`` and ``conv2d_backward_input`` given that dz; on the
    im2col path the blocks of dz are made and used while they are in cache."""
    sh, sw = stride
    kernel_hw = w.shape[:2]
    x, dy, w = np.ascontiguousarray(x), np.ascontiguousarray(dy), np.ascontiguousarray(w)
    if relu_output is not None:
        relu_output = np.ascontiguousarray(relu_output)
    if uses_matmul(w.shape, stride):
        dz = dy if relu_output is None else np.empty_like(dy)
        dx = np.empty((x.shape[0], x.shape[1], x.shape[2], w.shape[2]), dtype=dy.dtype) if input_grad else None
        dw = _matmul_backward(x, dy, w, sh, sw, relu_output, dz, dx)
    else:
        dz = dy if relu_output is None else dy * (relu_output > 0)
        dw = conv2d_backward_kernel(x, dz, stride, kernel_hw)
        dx = conv2d_backward_input(dz, w, stride, x.shape[1:3]) if input_grad else None
    return dw, conv2d_backward_bias(dz) if bias_grad else None, dx


def conv2d_backward_input(dy: np.ndarray, w: np.ndarray, stride: tuple[int, int],
                          input_hw: tuple[int, int]) -> np.ndarray:
    """dL/dx (N, H, W, C) of the padded input, from dL/dy (N, OH, OW, F)."""
    sh, sw = stride
    dx = np.empty((dy.shape[0], input_hw[0], input_hw[1], w.shape[2]), dtype=dy.dtype)
    _matmul_backward_input(np.ascontiguousarray(dy), np.ascontiguousarray(w), sh, sw, dx)  # any shape
    return dx


def conv2d_backward_kernel(x: np.ndarray, dy: np.ndarray, stride: tuple[int, int],
                           kernel_hw: tuple[int, int]) -> np.ndarray:
    """dL/dw (KH, KW, C, F), from the padded input x and dL/dy."""
    sh, sw = stride
    x, dy = np.ascontiguousarray(x), np.ascontiguousarray(dy)
    (k_h, k_w), n_channels, n_filters = kernel_hw, x.shape[3], dy.shape[3]
    road = conv_road((k_h, k_w, n_channels, n_filters), stride)
    if road == "matmul":
        return _matmul_backward_kernel(x, dy, sh, sw, k_h, k_w)
    n_chunks = max(1, min(_KERNEL_GRAD_CHUNKS, x.shape[0]))
    if road == "planes":                                 # filter first, turned into Keras's layout below
        partial = np.empty((n_chunks, n_filters, k_h, k_w, n_channels), dtype=dy.dtype)
        _planes_backward_kernel(x, dy, partial)
        dw_by_filter = _in_block_order(partial, partial.shape[1:])   # chunk order, as below
        return np.ascontiguousarray(np.moveaxis(dw_by_filter, 0, 3))
    partial = np.empty((n_chunks, k_h, k_w, n_channels, n_filters), dtype=dy.dtype)
    _backward_kernel(x, dy, sh, sw, partial)
    return _in_block_order(partial, partial.shape[1:])  # chunk order: the same bits on any thread count


def conv2d_backward_bias(dy: np.ndarray) -> np.ndarray:
    """dL/db (F,) = dy summed over batch, rows and columns."""
    db = np.empty(dy.shape[-1], dtype=dy.dtype)
    _backward_bias(np.ascontiguousarray(dy).reshape(-1, dy.shape[-1]), db)
    return db


# --- the im2col conv with a max-pool after it ------------------------------------------------------------
# A Conv2D on the im2col road followed by a MaxPooling2D whose windows do not overlap (pool == strides,
# 'valid'), as one step (plan.py's BlockConvPoolStep). The conv map is never stored whole, in either
# direction. The twin is reference/conv_pool.py (the unfused layers in a row).
#
# Forward, block by block: each block's conv outputs are pooled as soon as BLAS has written them, while
# they are in cache, the bias added and relu taken on the way (relu(max z) = max(relu z): relu after the
# max, on a quarter of the numbers).
#
# Backward, from the pool's winners: the pool passes each gradient to one conv output, the winner of its
# window, so dz is zero everywhere else, three quarters of it or more (and all of a window whose relu(max z)
# is flat). The dense products would multiply those zeros too. Here each (window, filter) with a gradient g
# and a winner at output (i, j) adds its two terms of the sums directly:
#
#     dW[:, :, :, f]                  += g * x[n, i*SH : i*SH+KH, j*SW : j*SW+KW, :]   (the winner's patch)
#     dx[n, i*SH : i*SH+KH, j*SW : j*SW+KW, :] += g * W[:, :, :, f]
#
# one row of the patch at a time (KW*C contiguous numbers), with W stored filter first so that its part
# for filter f is contiguous too. About four times less arithmetic than the products, and nothing made for
# the zeros; the sums run in another order, so the bits differ from the unfused conv's in the last places.

@njit(nogil=True, cache=True)
def _bias_relu_pool_block(z, b, floor, first, ph, pw, y, keep_argmax, argmax, best, at):
    # z (images, OH, OW, F): one block's conv outputs without the bias; y, argmax (N, PH, PW, F), this
    # block's images from `first`; best, at (F,): scratch. y = max over the window of z + b, or floor if
    # larger (0 for relu, -inf without); ties go to the first maximum in row-major order, as the pool's.
    n_images, _, out_w, n_filters = z.shape
    pooled_h, pooled_w = y.shape[1], y.shape[2]
    for m in range(n_images):
        n = first + m
        for a in range(pooled_h):
            for j in range(pooled_w):
                h0, w0 = a * ph, j * pw
                corner = np.int32(h0 * out_w + w0)
                for f in range(n_filters):
                    best[f] = z[m, h0, w0, f] + b[f]
                    at[f] = corner
                for p in range(ph):
                    for q in range(pw):
                        if p == 0 and q == 0:
                            continue
                        here = np.int32((h0 + p) * out_w + w0 + q)
                        for f in range(n_filters):  # every filter in SIMD lanes: selects, no branch
                            value = z[m, h0 + p, w0 + q, f] + b[f]
                            larger = value > best[f]
                            best[f] = value if larger else best[f]
                            at[f] = here if larger else at[f]
                for f in range(n_filters):
                    y[n, a, j, f] = floor if best[f] < floor else best[f]
                if keep_argmax:
                    for f in range(n_filters):
                        argmax[n, a, j, f] = at[f]


@njit(parallel=True, cache=True, fastmath={"contract"})
def _winners_backward(x_flat, dy, argmax, pooled, relu, w_by_filter, geometry, input_grad, partial_w, partial_b,
                      dx_flat):
    # x_flat, dx_flat: the padded input and its gradient, flat (N*H*W*C,); w_by_filter (F, KH*KW*C): W
    # filter first; geometry: (H, W, C, SH, SW, KH, KW, OW); partial_w (chunks, F, KH*KW*C) and partial_b
    # (chunks, F): one buffer per chunk of images. Every array is used whole (no views of them are made
    # here): the compiler then knows they do not overlap and keeps the row loops in SIMD.
    n_images, pooled_h, pooled_w, n_filters = dy.shape
    height, width, n_channels, sh, sw, k_h, k_w, out_w = geometry
    n_chunks, _, patch = partial_w.shape
    row_length = k_w * n_channels                  # one row of a patch: contiguous in x
    line = width * n_channels                      # one row of the image
    image_size = height * line
    zero = dy.dtype.type(0)
    for chunk in prange(n_chunks):
        acc_w = np.zeros((n_filters, patch), dy.dtype)
        acc_b = np.zeros(n_filters, dy.dtype)
        for n in range(chunk * n_images // n_chunks, (chunk + 1) * n_images // n_chunks):
            image = n * image_size
            if input_grad:
                for k in range(image_size):
                    dx_flat[image + k] = zero
            for f in range(n_filters):
                for a in range(pooled_h):
                    for j in range(pooled_w):
                        g = dy[n, a, j, f]
                        if relu and pooled[n, a, j, f] <= zero:   # relu(max z) is flat there: no gradient
                            g = zero
                        acc_b[f] += g
                        if g == zero:
                            continue
                        winner = argmax[n, a, j, f]                # flat h * OW + w in the conv map
                        h = winner // out_w
                        w = winner - h * out_w
                        for p in range(k_h):
                            start = max(image + (h * sh + p) * line + w * sw * n_channels, 0)  # max(): see _im2col
                            tap = max(p * row_length, 0)
                            if input_grad:
                                for t in range(row_length):
                                    acc_w[f, tap + t] += g * x_flat[start + t]
                                    dx_flat[start + t] += g * w_by_filter[f, tap + t]
                            else:
                                for t in range(row_length):
                                    acc_w[f, tap + t] += g * x_flat[start + t]
        partial_w[chunk] = acc_w
        partial_b[chunk] = acc_b


def conv2d_pool_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: tuple[int, int], relu: bool,
                        pool: tuple[int, int], keep_argmax: bool = True):
    """pool(relu?(conv(x, w) + b)) for an already padded x (N, H, W, C) and non-overlapping windows ``pool``.

    Returns (y, argmax), both (N, OH // PH, OW // PW, F); argmax is int32, h * OW + w of each window's
    winner in the conv map, as MaxPooling2D keeps it (None when keep_argmax is False: inference). A window
    that relu makes flat (all its z <= 0) points at its largest z, where the unfused pool would point at
    the first of its tied zeros: no gradient goes through either."""
    sh, sw = stride
    ph, pw = pool
    x, w = np.ascontiguousarray(x), np.ascontiguousarray(w)
    n_images, height, width, _ = x.shape
    k_h, k_w, _, n_filters = w.shape
    out_h, out_w = (height - k_h) // sh + 1, (width - k_w) // sw + 1
    y = np.empty((n_images, out_h // ph, out_w // pw, n_filters), dtype=x.dtype)
    argmax = np.empty(y.shape if keep_argmax else (0, 0, 0, 0), dtype=np.int32)
    blocks = _image_blocks(n_images, out_h, out_w)
    floor = x.dtype.type(0 if relu else -np.inf)

    def block(k):
        first, last = blocks[k]
        z = np.empty((last - first, out_h, out_w, n_filters), dtype=x.dtype)  # this block's conv outputs
        _conv_block(x, w, None, sh, sw, False, (out_h, out_w), first, last, z.reshape(-1, n_filters))  # no bias yet
        _bias_relu_pool_block(z, b, floor, first, ph, pw, y, keep_argmax, argmax,
                              np.empty(n_filters, dtype=x.dtype), np.empty(n_filters, dtype=np.int32))

    for_each_block(block, len(blocks))
    return y, argmax if keep_argmax else None


def conv2d_pool_backward(x: np.ndarray, dy: np.ndarray, argmax: np.ndarray, pooled: np.ndarray, relu: bool,
                         w: np.ndarray, stride: tuple[int, int], input_grad: bool = True):
    """(dL/dw, dL/db, dL/dx of the padded input or None) of ``conv2d_pool_forward``, from dy = dL/dpooled
    (N, PH, PW, F), the pool's argmax and (for relu) its output: each gradient sent from its window's
    winner straight to the kernel and input gradients (above). Any stride, patch and non-overlapping pool."""
    sh, sw = stride
    x, dy = np.ascontiguousarray(x), np.ascontiguousarray(dy)
    n_images, height, width, n_channels = x.shape
    k_h, k_w, _, n_filters = w.shape
    out_w = (width - k_w) // sw + 1
    w_by_filter = np.ascontiguousarray(np.moveaxis(w, 3, 0).reshape(n_filters, -1))    # (F, KH*KW*C)
    n_chunks = max(1, min(_KERNEL_GRAD_CHUNKS, n_images))
    partial_w = np.empty((n_chunks, n_filters, k_h * k_w * n_channels), dtype=dy.dtype)
    partial_b = np.empty((n_chunks, n_filters), dtype=dy.dtype)
    dx = np.empty_like(x) if input_grad else np.empty(0, dtype=x.dtype)
    _winners_backward(x.reshape(-1), dy, np.ascontiguousarray(argmax), np.ascontiguousarray(pooled), relu,
                      w_by_filter, (height, width, n_channels, sh, sw, k_h, k_w, out_w), input_grad,
                      partial_w, partial_b, dx.reshape(-1))
    dw_by_filter = _in_block_order(partial_w, (n_filters, k_h, k_w, n_channels))   # chunk order: same bits
    dw = np.ascontiguousarray(np.moveaxis(dw_by_filter, 0, 3))                     # (KH, KW, C, F), Keras's
    return dw, _in_block_order(partial_b, (n_filters,)), dx if input_grad else None
