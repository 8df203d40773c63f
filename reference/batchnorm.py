"""Batch normalisation loop by loop: the twins of scratchcnn/kernels/batchnorm.py, and of the whole
BatchNormalization layer (scratchcnn/layers/batchnorm.py) in the staged textbook form of its backward.

The input is seen as rows (M, C): every axis but the last one flattened, M values per channel c.

    mean[c] = sum_m x[m, c] / M          var[c] = sum_m (x[m, c] - mean[c])**2 / M       (biased)
    xhat[m, c] = (x[m, c] - mean[c]) / sqrt(var[c] + epsilon)
    y[m, c] = gamma[c] * xhat[m, c] + beta[c]

Backward, staged (each line one use of the chain rule, as in Ioffe and Szegedy 2015):

    dxhat = dy * gamma
    dvar  = sum_m dxhat * (x - mean) * (-1/2) * (var + epsilon)**(-3/2)
    dmean = sum_m dxhat * (-1 / sqrt(var + epsilon))  +  dvar * sum_m (-2 (x - mean)) / M
    dx    = dxhat / sqrt(var + epsilon)  +  dvar * 2 (x - mean) / M  +  dmean / M
    dgamma = sum_m dy * xhat,   dbeta = sum_m dy

The layer computes the same dx in one line (``kernels/batchnorm.py``); the two must agree.
"""
import math

import numpy as np


# --- the kernels' twins ---------------------------------------------------------------------------------
def batchnorm_stats(rows):
    """(mean, biased variance), float64 (C,), of rows (M, C): two passes, as the kernel."""
    n_rows, n_channels = rows.shape
    mean = np.zeros(n_channels)
    var = np.zeros(n_channels)
    for c in range(n_channels):
        mean[c] = sum(float(rows[m, c]) for m in range(n_rows)) / n_rows
        var[c] = sum((float(rows[m, c]) - mean[c]) ** 2 for m in range(n_rows)) / n_rows
    return mean, var


def batchnorm_apply(rows, scale, shift, relu=False):
    out = np.zeros_like(rows)
    for m in range(rows.shape[0]):
        for c in range(rows.shape[1]):
            out[m, c] = rows[m, c] * scale[c] + shift[c]
            if relu and out[m, c] < 0:
                out[m, c] = 0.0
    return out


def _relu_gradient(dy, relu_output, m, c):
    """dy, or the relu's gradient dy * [output > 0] when a relu follows the normalisation."""
    if relu_output is not None and not relu_output[m, c] > 0:
        return 0.0
    return dy[m, c]


def batchnorm_backward_sums(rows, dy, mean, inv_std, relu_output=None):
    """(dbeta, dgamma), float64 (C,)."""
    n_rows, n_channels = rows.shape
    dbeta, dgamma = np.zeros(n_channels), np.zeros(n_channels)
    for m in range(n_rows):
        for c in range(n_channels):
            g = _relu_gradient(dy, relu_output, m, c)
            dbeta[c] += g
            dgamma[c] += g * (rows[m, c] - mean[c]) * inv_std[c]
    return dbeta, dgamma


def batchnorm_backward_input(rows, dy, mean, inv_std, gamma, dbeta, dgamma, relu_output=None):
    n_rows, n_channels = rows.shape
    dx = np.zeros_like(dy)
    for m in range(n_rows):
        for c in range(n_channels):
            xhat = (rows[m, c] - mean[c]) * inv_std[c]
            g = _relu_gradient(dy, relu_output, m, c)
            dx[m, c] = gamma[c] * inv_std[c] * (g - dbeta[c] / n_rows - xhat * dgamma[c] / n_rows)
    return dx


# --- the whole layer ------------------------------------------------------------------------------------
def batchnorm_forward(x, gamma, beta, moving_mean, moving_variance, training, momentum=0.99, epsilon=1e-3):
    """(y, new moving_mean, new moving_variance) for x (N, ..., C); Keras's rule for the moving stats."""
    rows = x.reshape(-1, x.shape[-1])
    if training:
        mean, var = batchnorm_stats(rows)
        new_mean = [moving_mean[c] * momentum + mean[c] * (1 - momentum) for c in range(len(mean))]
        new_var = [moving_variance[c] * momentum + var[c] * (1 - momentum) for c in range(len(var))]
    else:
        mean, var = moving_mean, moving_variance
        new_mean, new_var = list(moving_mean), list(moving_variance)
    y = np.zeros_like(rows)
    for m in range(rows.shape[0]):
        for c in range(rows.shape[1]):
            xhat = (rows[m, c] - mean[c]) / math.sqrt(var[c] + epsilon)
            y[m, c] = gamma[c] * xhat + beta[c]
    return (y.reshape(x.shape), np.array(new_mean, dtype=moving_mean.dtype),
            np.array(new_var, dtype=moving_variance.dtype))


def batchnorm_backward(x, dy, gamma, moving_mean, moving_variance, training, epsilon=1e-3):
    """(dx, dgamma, dbeta), staged as in the module docstring (training) or with the fixed moving
    statistics (inference: mean and var are constants, so dx = dy * gamma / sqrt(var + epsilon))."""
    rows, drows = x.reshape(-1, x.shape[-1]), dy.reshape(-1, dy.shape[-1])
    n_rows, n_channels = rows.shape
    if training:
        mean, var = batchnorm_stats(rows)
    else:
        mean, var = moving_mean, moving_variance
    dx = np.zeros_like(drows)
    dgamma, dbeta = np.zeros(n_channels), np.zeros(n_channels)
    for c in range(n_channels):
        std = math.sqrt(var[c] + epsilon)
        dxhat = [drows[m, c] * gamma[c] for m in range(n_rows)]
        dgamma[c] = sum(drows[m, c] * (rows[m, c] - mean[c]) / std for m in range(n_rows))
        dbeta[c] = sum(drows[m, c] for m in range(n_rows))
        if not training:
            for m in range(n_rows):
                dx[m, c] = dxhat[m] / std
            continue
        dvar = sum(dxhat[m] * (rows[m, c] - mean[c]) for m in range(n_rows)) * -0.5 * std ** -3
        dmean = (sum(-dxhat[m] / std for m in range(n_rows))
                 + dvar * sum(-2.0 * (rows[m, c] - mean[c]) for m in range(n_rows)) / n_rows)
        for m in range(n_rows):
            dx[m, c] = dxhat[m] / std + dvar * 2.0 * (rows[m, c] - mean[c]) / n_rows + dmean / n_rows
    return dx.reshape(x.shape), dgamma, dbeta
