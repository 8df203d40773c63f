"""Batch normalisation's per-channel passes, on the input seen as rows: x (N, ..., C) -> rows (M, C),
M = N * H * W values per channel (or M = N for a Dense-like (N, C) input).

    batchnorm_stats(rows)                       -> mean[c] = sum_m x[m, c] / M,
                                                   var[c]  = sum_m (x[m, c] - mean[c])**2 / M   (biased)
    batchnorm_apply(rows, scale, shift)         -> y[m, c] = x[m, c] * scale[c] + shift[c]
    batchnorm_backward_sums(rows, dy, mean, inv_std)
                                                -> dbeta[c]  = sum_m dy[m, c]
                                                   dgamma[c] = sum_m dy[m, c] * xhat[m, c],
                                                   xhat = (x - mean) * inv_std
    batchnorm_backward_input(rows, dy, mean, inv_std, gamma, dbeta, dgamma)
                                                -> dx[m, c] = gamma[c] * inv_std[c]
                                                   * (dy[m, c] - dbeta[c] / M - xhat[m, c] * dgamma[c] / M)

With a relu after the normalisation (plan.py's BatchNormReluStep): ``batchnorm_apply(..., relu=True)``
writes max(y, 0), and the backward passes take ``relu_output`` (that max) and read dy as
dy * [relu_output > 0], the relu's gradient, so neither the relu's output nor its gradient costs a pass
over memory of its own.

The sums over M rows run in float64 (a float32 sum of 100,000 values would lose four digits) and on
several threads: the rows are cut into a fixed number of chunks whatever the thread count, each chunk
sums into its own row of ``partial``, and the chunks are added in order, so the bits never depend on
scheduling. The variance takes a second pass over (x - mean)**2 rather than E[x**2] - mean**2, which
cancels catastrophically when the mean is large. The loop over channels is innermost (contiguous).
The twin is ``reference/batchnorm.py``; the math is derived in docs/layers/batchnorm.md.
"""
import numpy as np
from numba import njit, prange

from .conv import _in_block_order   # chunks added in chunk order: the same bits on any thread count

_CHUNKS = 16


@njit(parallel=True, cache=True)
def _sums(rows, partial):
    n_rows, n_channels = rows.shape
    n_chunks = partial.shape[0]
    for chunk in prange(n_chunks):
        for c in range(n_channels):
            partial[chunk, c] = 0.0
        for m in range(chunk * n_rows // n_chunks, (chunk + 1) * n_rows // n_chunks):
            for c in range(n_channels):
                partial[chunk, c] += rows[m, c]


@njit(parallel=True, cache=True)
def _squared_deviations(rows, mean, partial):
    n_rows, n_channels = rows.shape
    n_chunks = partial.shape[0]
    for chunk in prange(n_chunks):
        for c in range(n_channels):
            partial[chunk, c] = 0.0
        for m in range(chunk * n_rows // n_chunks, (chunk + 1) * n_rows // n_chunks):
            for c in range(n_channels):
                deviation = rows[m, c] - mean[c]
                partial[chunk, c] += deviation * deviation


@njit(parallel=True, cache=True)
def _apply(rows, scale, shift, relu, out):
    n_rows, n_channels = rows.shape
    for m in prange(n_rows):
        for c in range(n_channels):
            y = rows[m, c] * scale[c] + shift[c]
            out[m, c] = 0.0 if relu and y <= 0.0 else y   # (a NaN stays NaN, as np.maximum keeps it)


@njit(parallel=True, cache=True)
def _backward_sums(rows, dy, relu, relu_output, mean, inv_std, partial):
    # partial (chunks, 2, C): [chunk, 0] sums dy, [chunk, 1] sums dy * xhat
    n_rows, n_channels = rows.shape
    n_chunks = partial.shape[0]
    for chunk in prange(n_chunks):
        for c in range(n_channels):
            partial[chunk, 0, c] = 0.0
            partial[chunk, 1, c] = 0.0
        for m in range(chunk * n_rows // n_chunks, (chunk + 1) * n_rows // n_chunks):
            for c in range(n_channels):
                g = dy[m, c]
                if relu:                   # the relu's gradient (a select LLVM keeps in SIMD; zero of dy's type)
                    g = g if relu_output[m, c] > 0 else dy.dtype.type(0)
                partial[chunk, 0, c] += g
                partial[chunk, 1, c] += g * ((rows[m, c] - mean[c]) * inv_std[c])


@njit(parallel=True, cache=True)
def _backward_input(rows, dy, relu, relu_output, mean, inv_std, gain, dbeta_mean, dgamma_mean, dx):
    # gain = gamma * inv_std; dbeta_mean = dbeta / M; dgamma_mean = dgamma / M (all float64, (C,))
    n_rows, n_channels = rows.shape
    for m in prange(n_rows):
        for c in range(n_channels):
            g = dy[m, c]
            if relu:
                g = g if relu_output[m, c] > 0 else dy.dtype.type(0)
            xhat = (rows[m, c] - mean[c]) * inv_std[c]
            dx[m, c] = gain[c] * (g - dbeta_mean[c] - xhat * dgamma_mean[c])


def _chunks(n_rows: int) -> int:
    return max(1, min(_CHUNKS, n_rows))


def batchnorm_stats(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, biased variance), both float64 (C,), of rows (M, C)."""
    rows = np.ascontiguousarray(rows)
    partial = np.empty((_chunks(rows.shape[0]), rows.shape[1]), dtype=np.float64)
    _sums(rows, partial)
    mean = _in_block_order(partial, partial.shape[1:]) / rows.shape[0]
    _squared_deviations(rows, mean, partial)
    return mean, _in_block_order(partial, partial.shape[1:]) / rows.shape[0]


def batchnorm_apply(rows: np.ndarray, scale: np.ndarray, shift: np.ndarray, relu: bool = False,
                    out: np.ndarray | None = None) -> np.ndarray:
    """rows * scale + shift per channel, in the rows' dtype (M, C); relu=True: max(that, 0). Into ``out``
    (C-contiguous, rows' shape and dtype; rows itself allowed) when given, else a new array."""
    rows = np.ascontiguousarray(rows)
    if out is None:
        out = np.empty_like(rows)
    elif out.shape != rows.shape or out.dtype != rows.dtype or not out.flags.c_contiguous:
        raise ValueError(f"batchnorm_apply: out must be a C-contiguous {rows.dtype} array of shape {rows.shape}")
    _apply(rows, scale, shift, bool(relu), out)
    return out


def _relu_mask(relu_output, dy):
    """(relu, the array the kernels read it from): dy itself stands in, unread, when there is no relu."""
    return (False, dy) if relu_output is None else (True, np.ascontiguousarray(relu_output).reshape(dy.shape))


def batchnorm_backward_sums(rows: np.ndarray, dy: np.ndarray, mean: np.ndarray, inv_std: np.ndarray,
                            relu_output: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(dbeta, dgamma), float64 (C,): sum dy and sum dy * xhat over the rows (dy * [relu_output > 0])."""
    rows, dy = np.ascontiguousarray(rows), np.ascontiguousarray(dy)
    partial = np.empty((_chunks(rows.shape[0]), 2, rows.shape[1]), dtype=np.float64)
    _backward_sums(rows, dy, *_relu_mask(relu_output, dy), mean, inv_std, partial)
    total = _in_block_order(partial, partial.shape[1:])
    return total[0], total[1]


def batchnorm_backward_input(rows: np.ndarray, dy: np.ndarray, mean: np.ndarray, inv_std: np.ndarray,
                             gamma: np.ndarray, dbeta: np.ndarray, dgamma: np.ndarray,
                             relu_output: np.ndarray | None = None) -> np.ndarray:
    """dL/dx (M, C) in training mode, through the batch mean and variance (dy * [relu_output > 0])."""
    rows, dy = np.ascontiguousarray(rows), np.ascontiguousarray(dy)
    n_rows = rows.shape[0]
    dx = np.empty_like(dy)
    _backward_input(rows, dy, *_relu_mask(relu_output, dy), mean, inv_std, np.asarray(gamma, np.float64) * inv_std,
                    dbeta / n_rows, dgamma / n_rows, dx)
    return dx
