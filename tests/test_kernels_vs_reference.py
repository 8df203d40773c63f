"""The fast numba kernels and layers equal their loop-by-loop twins in reference/.

Agreement is measured as max|fast - reference| / max|reference| and must stay within 1e-12 in float64 and
1e-5 in float32 (the sums run in a different order, so the last bits may differ). Max pooling moves no
arithmetic, so its outputs and argmax positions must be identical, ties included.
"""
import numpy as np
import pytest

import reference.activations
import reference.adam
import reference.batchnorm
from scratchcnn.gradcheck import keras_adam_reference
import reference.conv
import reference.conv_pool
import reference.layers
import reference.pool
from scratchcnn import kernels, losses
from scratchcnn.layers import (AveragePooling2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten,
                               GlobalAveragePooling2D, MaxPooling2D, ReLU, Softmax)
from scratchcnn.layers.base import same_padding

TOL = {np.float64: 1e-12, np.float32: 1e-5}
DTYPES = [np.float64, np.float32]


def rel_diff(fast, ref) -> float:
    fast, ref = np.asarray(fast, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    assert fast.shape == ref.shape
    scale = np.max(np.abs(ref))
    return float(np.max(np.abs(fast - ref)) / scale) if scale > 0 else float(np.max(np.abs(fast)))


def assert_close(fast, ref, dtype):
    assert fast.dtype == ref.dtype == dtype
    assert rel_diff(fast, ref) <= TOL[dtype]


# --- convolution -------------------------------------------------------------------------------------------
CONV_CASES = [
    # batch, height, width, channels, kernel (KH, KW), filters, stride
    (1, 5, 5, 1, (3, 3), 1, (1, 1)),          # batch 1, one filter
    (2, 8, 8, 1, (3, 3), 4, (1, 1)),          # the tutorial's conv, smaller
    (3, 7, 9, 3, (3, 3), 5, (1, 1)),          # several channels, odd sizes
    (2, 9, 8, 2, (3, 3), 4, (2, 2)),          # stride 2, last column never covered
    (1, 10, 7, 4, (2, 3), 3, (2, 1)),         # non-square kernel, mixed strides
    (2, 11, 11, 2, (5, 5), 6, (2, 2)),
    (11, 6, 6, 2, (3, 3), 3, (1, 1)),         # more images than the kernel gradient's 8 chunks
    (1, 3, 3, 2, (3, 3), 2, (1, 1)),          # a 1x1 output
    # patches of >= MATMUL_MIN_PATCH numbers: the im2col + matrix-product path
    (3, 9, 9, 8, (3, 3), 6, (1, 1)),          # many channels
    (2, 15, 15, 32, (3, 3), 16, (1, 1)),      # the two-conv network's second conv, smaller
    (2, 9, 8, 8, (3, 3), 5, (2, 2)),          # stride 2, last column never covered
    (2, 10, 11, 6, (2, 3), 4, (2, 1)),        # non-square kernel, mixed strides, patch of 36
    (2, 11, 11, 2, (5, 5), 6, (2, 2)),        # few channels, big kernel: patch of 50
    # stride 1, few filters over one or two channels: the planes path
    (2, 12, 12, 1, (5, 5), 6, (1, 1)),        # LeNet-5's first conv, smaller
    (11, 7, 9, 2, (2, 3), 15, (1, 1)),        # two channels, non-square kernel, more images than chunks
    # stride 1, more filters: back on the direct path
    (2, 8, 8, 1, (3, 3), 16, (1, 1)),
    (2, 7, 8, 3, (2, 3), 5, (1, 1)),          # three channels, patch of 18
    (128, 7, 7, 4, (3, 3), 3, (1, 1)),        # batch 128: several blocks, the last one partial (keep last)
]


def test_conv_cases_cover_all_three_paths():
    roads = {kernels.conv.conv_road((*case[4], case[3], case[5]), case[6]) for case in CONV_CASES}
    assert roads == {"planes", "matmul", "direct"}
    n, h, w, c, kernel_hw, _, _ = CONV_CASES[-1]
    assert len(kernels.conv._image_blocks(n, h - kernel_hw[0] + 1, w - kernel_hw[1] + 1)) > 1


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, h, w, c, kernel_hw, f, stride", CONV_CASES)
def test_conv_kernels_match_reference(n, h, w, c, kernel_hw, f, stride, dtype):
    rng = np.random.default_rng(h * 100 + w * 10 + f)
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    kernel = rng.standard_normal((*kernel_hw, c, f)).astype(dtype)
    bias = rng.standard_normal(f).astype(dtype)

    y = kernels.conv2d_forward(x, kernel, bias, stride)
    assert_close(y, reference.conv.conv2d_forward(x, kernel, bias, stride), dtype)

    dy = rng.standard_normal(y.shape).astype(dtype)
    assert_close(kernels.conv2d_backward_input(dy, kernel, stride, (h, w)),
                 reference.conv.conv2d_backward_input(dy, kernel, stride, (h, w)), dtype)
    assert_close(kernels.conv2d_backward_kernel(x, dy, stride, kernel_hw),
                 reference.conv.conv2d_backward_kernel(x, dy, stride, kernel_hw), dtype)
    assert_close(kernels.conv2d_backward_bias(dy), reference.conv.conv2d_backward_bias(dy), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, h, w, c, kernel_hw, f, stride", CONV_CASES)
def test_conv_with_relu_inside_and_one_pass_backward_match_reference(n, h, w, c, kernel_hw, f, stride, dtype):
    """conv2d_forward(relu=True) is max(reference conv, 0); conv2d_backward gives the reference's three
    gradients of dz = dy * (y > 0), and exactly the bits of the separate kernels given that dz."""
    rng = np.random.default_rng(h * 100 + w * 10 + f + 1)
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    kernel = rng.standard_normal((*kernel_hw, c, f)).astype(dtype)
    bias = rng.standard_normal(f).astype(dtype)
    y = kernels.conv2d_forward(x, kernel, bias, stride, relu=True)
    assert_close(y, np.maximum(reference.conv.conv2d_forward(x, kernel, bias, stride), 0), dtype)
    assert y.size < 8 or ((y == 0).any() and (y > 0).any())  # both sides of the kink are exercised

    dy = rng.standard_normal(y.shape).astype(dtype)
    dz = dy * (y > 0)
    for relu_output, wanted in ((y, dz), (None, dy)):
        dw, db, dx = kernels.conv2d_backward(x, dy, kernel, stride, relu_output)
        assert_close(dw, reference.conv.conv2d_backward_kernel(x, wanted, stride, kernel_hw), dtype)
        assert_close(db, reference.conv.conv2d_backward_bias(wanted), dtype)
        assert_close(dx, reference.conv.conv2d_backward_input(wanted, kernel, stride, (h, w)), dtype)
        assert np.array_equal(dw, kernels.conv2d_backward_kernel(x, wanted, stride, kernel_hw))
        assert np.array_equal(db, kernels.conv2d_backward_bias(wanted))
        assert np.array_equal(dx, kernels.conv2d_backward_input(wanted, kernel, stride, (h, w)))
    assert kernels.conv2d_backward(x, dy, kernel, stride, y, input_grad=False)[2] is None


@pytest.mark.parametrize("padding, stride, channels", [("valid", 1, 32), ("same", 2, 3), ("valid", 1, 1)])
def test_conv2d_relu_fast_path_gives_the_plain_paths_bits(padding, stride, channels):
    """Conv2D(activation='relu') with relu inside the kernel (the default) and with
    ``relu_in_kernel = False`` (z stored, relu's own forward and backward): the same outputs and gradients."""
    from scratchcnn.layers import Conv2D

    x = np.random.default_rng(0).standard_normal((5, 13, 13, channels)).astype(np.float32)
    results = []
    for fast in (True, False):
        layer = Conv2D(16, (3, 3), strides=stride, padding=padding, activation="relu")
        layer.build((13, 13, channels), np.float32, np.random.default_rng(1))
        layer.relu_in_kernel = fast
        y = layer.forward(x, training=True)
        assert (layer.z is None) == fast
        dx = layer.backward(np.random.default_rng(2).standard_normal(y.shape).astype(np.float32))
        results.append([y, dx, *layer.grads, *layer.kinks(x)[0]])
    assert all(np.array_equal(a, b) for a, b in zip(*results))


CONV2D_POOL_CASES = [
    # batch, height, width, channels, kernel, filters, conv stride, pool (= its stride)
    (3, 13, 13, 32, (3, 3), 16, (1, 1), (2, 2)),   # the two-conv network's second pair, smaller
    (2, 12, 11, 4, (3, 3), 5, (2, 1), (2, 2)),     # a strided conv, odd map: the last row/column dropped
    (130, 7, 7, 8, (3, 3), 3, (1, 1), (2, 2)),     # batch 130: many blocks, the last one partial
    (2, 10, 10, 3, (3, 3), 4, (1, 1), (3, 3)),     # 3x3 windows
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("n, h, w, c, kernel_hw, f, stride, pool", CONV2D_POOL_CASES)
def test_conv2d_pool_kernels_match_reference(n, h, w, c, kernel_hw, f, stride, pool, relu, dtype):
    """The im2col conv pooled block by block (BlockConvPoolStep) is the unfused conv, relu, pool, with the
    same winners (but in relu-flat windows, where no gradient goes); its backward from the winners gives
    the three gradients of the pool's scattered dy, as the unfused kernels do."""
    rng = np.random.default_rng(n + h + c + f)
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    kernel = rng.standard_normal((*kernel_hw, c, f)).astype(dtype)
    bias = rng.standard_normal(f).astype(dtype)
    assert kernels.conv.uses_matmul(kernel.shape)
    y, argmax = kernels.conv2d_pool_forward(x, kernel, bias, stride, relu, pool)
    y_ref, argmax_ref = reference.conv_pool.conv2d_pool_forward(x, kernel, bias, stride, relu, pool)
    assert_close(y, y_ref, dtype)
    flat = y_ref <= 0 if relu else np.zeros(y_ref.shape, dtype=bool)  # relu-flat windows: argmax is free
    np.testing.assert_array_equal(argmax[~flat], argmax_ref[~flat])
    if relu and pool == (2, 2):
        assert flat.any() and (~flat).any()  # both kinds of window really occur
    assert kernels.conv2d_pool_forward(x, kernel, bias, stride, relu, pool, keep_argmax=False)[1] is None

    dy = rng.standard_normal(y.shape).astype(dtype)
    dw, db, dx = kernels.conv2d_pool_backward(x, dy, argmax, y, relu, kernel, stride)
    for got, wanted in zip((dw, db, dx), reference.conv_pool.conv2d_pool_backward(x, dy, argmax_ref, y_ref, relu,
                                                                                  kernel, stride)):
        assert_close(got, wanted, dtype)
    unfused_y = kernels.conv2d_forward(x, kernel, bias, stride, relu=relu)
    dz = kernels.maxpool2d_backward(dy, argmax, unfused_y.shape, pool, pool)
    unfused = kernels.conv2d_backward(x, dz, kernel, stride, unfused_y if relu else None)
    assert_close(dw, unfused[0], dtype)
    assert_close(dx, unfused[2], dtype)
    assert kernels.conv2d_pool_backward(x, dy, argmax, y, relu, kernel, stride, input_grad=False)[2] is None


# --- max pooling -------------------------------------------------------------------------------------------
POOL_CASES = [
    # batch, height, width, channels, pool, stride
    (2, 8, 8, 3, (2, 2), (2, 2)),             # the tutorial's pool, smaller
    (1, 7, 9, 2, (2, 2), (2, 2)),             # odd sizes: last row and column dropped
    (2, 9, 9, 2, (3, 3), (2, 2)),             # overlapping windows
    (1, 7, 8, 2, (2, 3), (1, 2)),             # stride != pool, non-square
    (2, 6, 6, 1, (2, 2), (1, 1)),             # stride 1: every inner pixel in four windows
    (3, 5, 5, 4, (3, 3), (3, 3)),
    (1, 4, 4, 1, (1, 1), (1, 1)),             # 1x1 pool: the identity
]


def pool_inputs(shape, rng):
    """Random values; small integers (ties in most windows, built on purpose); a constant plane; and
    -inf borders, as the layer pads for padding='same'."""
    yield rng.standard_normal(shape)
    yield rng.integers(0, 3, size=shape).astype(np.float64)
    yield np.full(shape, 0.5)
    with_border = rng.integers(0, 2, size=shape).astype(np.float64)
    with_border[:, 0, :, :] = -np.inf
    with_border[:, :, -1, :] = -np.inf
    yield with_border


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, h, w, c, pool, stride", POOL_CASES)
def test_pool_kernels_match_reference(n, h, w, c, pool, stride, dtype):
    rng = np.random.default_rng(h * 10 + w)
    for x in pool_inputs((n, h, w, c), rng):
        x = x.astype(dtype)
        y, argmax = kernels.maxpool2d_forward(x, pool, stride)
        y_ref, argmax_ref = reference.pool.maxpool2d_forward(x, pool, stride)
        assert argmax.dtype == argmax_ref.dtype == np.int32
        np.testing.assert_array_equal(argmax, argmax_ref)   # the same winner, ties included
        np.testing.assert_array_equal(y, y_ref)

        dy = rng.standard_normal(y.shape).astype(dtype)
        assert_close(kernels.maxpool2d_backward(dy, argmax, x.shape, pool, stride),
                     reference.pool.maxpool2d_backward(dy, argmax_ref, x.shape, pool, stride), dtype)


def test_pool_ties_go_to_the_first_maximum_in_row_major_order():
    x = np.array([[0.0, 2.0], [2.0, 2.0]]).reshape(1, 2, 2, 1)
    for maxpool in (kernels.maxpool2d_forward, reference.pool.maxpool2d_forward):
        y, argmax = maxpool(x, (2, 2), (2, 2))
        assert y.item() == 2.0 and argmax.item() == 1       # (h, w) = (0, 1): flat 0 * 2 + 1


# --- conv + max-pool as one step (the fused pair) ----------------------------------------------------------
CONV_POOL_CASES = [
    # batch, height, width, channels, kernel (KH, KW), filters
    (2, 28, 28, 1, (3, 3), 28),               # the tutorial's layers
    (3, 9, 8, 2, (3, 3), 4),                  # odd map: the last conv row is in no window
    (2, 9, 11, 1, (3, 3), 3),                 # odd width: the odd phase plane ends in padding
    (11, 10, 9, 3, (2, 3), 5),                # more images than the 8 chunks; non-square kernel
    (2, 12, 13, 2, (5, 4), 3),                # wider kernel: one pass of three taps plus single taps
    (1, 4, 4, 1, (3, 3), 2),                  # one window
    # 3x3 filters over one channel take the window kernels; the others above, the phase planes
    (11, 9, 8, 1, (3, 3), 9),                 # odd 7x6 map, 9 filters (padded to 16), more images than chunks
    (3, 12, 10, 1, (3, 3), 16),               # filters a multiple of the padding
]


def test_conv_pool_cases_cover_both_kernels():
    window = {kernels.conv_pool._is_3x3_over_one_channel((*case[4], case[3])) for case in CONV_POOL_CASES}
    assert window == {True, False}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("n, h, w, c, kernel_hw, f", CONV_POOL_CASES)
def test_conv_pool_kernels_match_reference(n, h, w, c, kernel_hw, f, relu, dtype):
    rng = np.random.default_rng(h * 100 + w + relu)
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    kernel = rng.standard_normal((*kernel_hw, c, f)).astype(dtype)
    bias = rng.standard_normal(f).astype(dtype)
    y, argmax = kernels.conv_pool_forward(x, kernel, bias, relu)
    y_ref, argmax_ref = reference.conv_pool.conv_pool_forward(x, kernel, bias, relu)
    assert_close(y, y_ref, dtype)
    y_inference, no_argmax = kernels.conv_pool_forward(x, kernel, bias, relu, keep_argmax=False)
    assert no_argmax is None and np.array_equal(y_inference, y)
    assert argmax.dtype == np.int32
    flat = y_ref <= 0 if relu else np.zeros(y_ref.shape, dtype=bool)  # relu-flat windows: argmax is free
    np.testing.assert_array_equal(argmax[~flat], argmax_ref[~flat])
    if relu and y.size > 8:
        assert flat.any() and (~flat).any()  # both kinds of window really occur

    dy = rng.standard_normal(y.shape).astype(dtype)
    dw, db = kernels.conv_pool_backward(x, dy, argmax, y, relu, kernel_hw)
    dw_ref, db_ref = reference.conv_pool.conv_pool_backward(x, dy, argmax_ref, y_ref, relu, kernel_hw)
    assert_close(dw, dw_ref, dtype)
    assert_close(db, db_ref, dtype)


def test_conv_pool_backward_handles_any_non_overlapping_pool():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 11, 10, 2))
    kernel = rng.standard_normal((2, 3, 2, 4))
    z = kernels.conv2d_forward(x, kernel, np.zeros(4), (1, 1))        # (3, 10, 8, 4)
    pooled, argmax = kernels.maxpool2d_forward(z, (3, 2), (3, 2))      # 3x2 windows
    dy = rng.standard_normal(pooled.shape)
    dw, db = kernels.conv_pool_backward(x, dy, argmax, pooled, False, (2, 3))
    dw_ref, db_ref = reference.conv_pool.conv_pool_backward(x, dy, argmax, pooled, False, (2, 3))
    assert_close(dw, dw_ref, np.float64)
    assert_close(db, db_ref, np.float64)


def test_conv_pool_ties_go_to_the_first_maximum_in_row_major_order():
    x = np.zeros((1, 4, 4, 1))
    x[0, 1:3, 1:3, 0] = 1.0                        # four ones in the middle
    kernel = np.ones((3, 3, 1, 1))                 # each 3x3 patch holds all four: the 2x2 map is all 4.0
    y, argmax = kernels.conv_pool_forward(x, kernel, np.zeros(1), relu=False)
    assert y.item() == 4.0 and argmax.item() == 0  # all four tie: (0, 0) wins


# --- Adam --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 3, 2, 5), (400, 130)])  # one thread; all threads (>= 50,000)
def test_adam_kernel_matches_reference(dtype, shape):
    rng = np.random.default_rng(0)
    fast = [rng.standard_normal(shape).astype(dtype), np.zeros(shape, dtype), np.zeros(shape, dtype)]
    slow = [a.copy() for a in fast]                          # param, m, v
    for t in range(1, 6):
        grad = (rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 1)).astype(dtype)
        alpha_t = 0.001 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        kernels.adam_update(*fast[:1], grad, *fast[1:], alpha_t, 0.9, 0.999, 1e-7)
        reference.adam.adam_update(slow[0], grad, slow[1], slow[2], alpha_t, 0.9, 0.999, 1e-7)
    for a, b in zip(fast, slow):
        assert_close(a, b, dtype)


def test_keras_adam_reference_first_step_moves_each_weight_by_the_learning_rate():
    # at t = 1, m = 0.1 g and v = 0.001 g**2, so the step is lr * g / |g| (up to epsilon)
    g = np.array([3.0, -0.5, 2e-3])
    (after,) = keras_adam_reference([np.zeros(3)], [[g]], lr=0.01, epsilon=0.0)
    np.testing.assert_allclose(after, -0.01 * np.sign(g), rtol=1e-12)


# --- layers against the reference on the same arrays -------------------------------------------------------
def keras_same_pads(size, window, stride):
    """Keras's 'same' rule, written out independently of the library: output = ceil(size / stride), the
    extra row or column of padding at the bottom or right."""
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


@pytest.mark.parametrize("activation", [None, "relu"])
@pytest.mark.parametrize("h, w, channels", [(8, 7, 3), (9, 9, 3), (9, 8, 16)])  # 16: the im2col path
def test_conv2d_same_stride_2_matches_reference_on_a_padded_input(h, w, channels, activation):
    rng = np.random.default_rng(h + w)
    layer = Conv2D(4, 3, strides=2, padding="same", activation=activation)
    layer.build((h, w, channels), np.float64, rng)
    layer.bias[...] = rng.standard_normal(4)
    x = rng.standard_normal((2, h, w, channels))
    (top, bottom), (left, right) = keras_same_pads(h, 3, 2), keras_same_pads(w, 3, 2)
    x_padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))

    z = reference.conv.conv2d_forward(x_padded, layer.kernel, layer.bias, (2, 2))
    y_ref = reference.layers.relu_forward(z) if activation else z
    y = layer.forward(x)
    assert y.shape == (2, -(-h // 2), -(-w // 2), 4)
    assert rel_diff(y, y_ref) <= 1e-12

    dy = rng.standard_normal(y.shape)
    dz = reference.layers.relu_backward(z, dy) if activation else dy
    dx_padded = reference.conv.conv2d_backward_input(dz, layer.kernel, (2, 2), x_padded.shape[1:3])
    dx_ref = dx_padded[:, top:top + h, left:left + w, :]
    dx = layer.backward(dy)
    assert rel_diff(dx, dx_ref) <= 1e-12
    dkernel_ref = reference.conv.conv2d_backward_kernel(x_padded, dz, (2, 2), (3, 3))
    assert rel_diff(layer.grads[0], dkernel_ref) <= 1e-12
    assert rel_diff(layer.grads[1], reference.conv.conv2d_backward_bias(dz)) <= 1e-12


def test_maxpool_same_matches_reference_on_an_inf_padded_input():
    rng = np.random.default_rng(1)
    layer = MaxPooling2D(2, padding="same")
    layer.build((5, 7, 2), np.float64)
    x = rng.standard_normal((2, 5, 7, 2))
    x_padded = np.pad(x, ((0, 0), (0, 1), (0, 1), (0, 0)), constant_values=-np.inf)
    y_ref, argmax = reference.pool.maxpool2d_forward(x_padded, (2, 2), (2, 2))
    np.testing.assert_array_equal(layer.forward(x), y_ref)
    dy = rng.standard_normal(y_ref.shape)
    dx_ref = reference.pool.maxpool2d_backward(dy, argmax, x_padded.shape, (2, 2), (2, 2))[:, :5, :7, :]
    np.testing.assert_array_equal(layer.backward(dy), dx_ref)


@pytest.mark.parametrize("activation", [None, "relu", "softmax"])
def test_dense_matches_reference(activation):
    rng = np.random.default_rng(2)
    layer = Dense(6, activation=activation)
    layer.build((9,), np.float64, rng)
    layer.bias[...] = rng.standard_normal(6)
    x = rng.standard_normal((3, 9))
    z = reference.layers.dense_forward(x, layer.kernel, layer.bias)
    act_forward = {None: lambda z: z, "relu": reference.layers.relu_forward,
                   "softmax": reference.layers.softmax_forward}[activation]
    y = layer.forward(x)
    assert rel_diff(y, act_forward(z)) <= 1e-12

    dy = rng.standard_normal(y.shape)
    dz = {None: lambda: dy, "relu": lambda: reference.layers.relu_backward(z, dy),
          "softmax": lambda: reference.layers.softmax_backward(act_forward(z), dy)}[activation]()
    dx_ref, dkernel_ref, dbias_ref = reference.layers.dense_backward(x, layer.kernel, dz)
    assert rel_diff(layer.backward(dy), dx_ref) <= 1e-12
    assert rel_diff(layer.grads[0], dkernel_ref) <= 1e-12
    assert rel_diff(layer.grads[1], dbias_ref) <= 1e-12


def test_flatten_matches_reference_channel_fastest():
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 5))
    layer = Flatten()
    layer.build(x.shape[1:])
    y = layer.forward(x)
    np.testing.assert_array_equal(y, reference.layers.flatten_forward(x))
    np.testing.assert_array_equal(layer.backward(y), reference.layers.flatten_backward(y, x.shape))


def test_dropout_matches_reference_with_the_layers_mask():
    rng = np.random.default_rng(4)
    layer = Dropout(0.3, seed=0)
    layer.build((50,), np.float64)
    x = rng.standard_normal((4, 50))
    y = layer.forward(x, training=True)
    assert set(np.unique(layer.mask)) <= {0.0, 1 / 0.7}
    np.testing.assert_array_equal(y, reference.layers.dropout_forward(x, layer.mask))
    dy = rng.standard_normal(y.shape)
    np.testing.assert_array_equal(layer.backward(dy), reference.layers.dropout_backward(dy, layer.mask))


def test_relu_and_softmax_layers_match_reference():
    rng = np.random.default_rng(5)
    z = rng.standard_normal((3, 10)) * 3
    z[0, 0] = 0.0                                            # relu's gradient at 0 is taken as 0
    dy = rng.standard_normal(z.shape)
    relu, softmax = ReLU(), Softmax()
    np.testing.assert_array_equal(relu.forward(z), reference.layers.relu_forward(z))
    np.testing.assert_array_equal(relu.backward(dy), reference.layers.relu_backward(z, dy))
    a = softmax.forward(z)
    assert rel_diff(a, reference.layers.softmax_forward(z)) <= 1e-12
    assert rel_diff(softmax.backward(dy), reference.layers.softmax_backward(a, dy)) <= 1e-12


def test_losses_match_reference():
    rng = np.random.default_rng(6)
    z = rng.standard_normal((5, 10)) * 3
    y = rng.integers(0, 10, size=5)
    loss, dz = losses.sparse_categorical_crossentropy_from_logits(z, y)
    loss_ref, dz_ref = reference.layers.sparse_crossentropy_from_logits(z, y)
    assert abs(loss - loss_ref) <= 1e-12 * abs(loss_ref)
    assert rel_diff(dz, dz_ref) <= 1e-12

    p = reference.layers.softmax_forward(z)
    p[0, y[0]] = 1e-9                                        # clipped: no gradient flows there
    loss, dp = losses.sparse_categorical_crossentropy(p, y)
    loss_ref, dp_ref = reference.layers.sparse_crossentropy(p, y)
    assert abs(loss - loss_ref) <= 1e-12 * abs(loss_ref)
    assert dp[0, y[0]] == 0.0
    assert rel_diff(dp, dp_ref) <= 1e-12


# --- average pooling ---------------------------------------------------------------------------------------
AVGPOOL_CASES = [
    # batch, height, width, channels, pool, stride, padding
    (2, 8, 8, 3, (2, 2), (2, 2), "valid"),
    (1, 7, 9, 2, (2, 2), (2, 2), "valid"),    # odd sizes: the last row and column are in no window
    (2, 9, 9, 2, (3, 3), (2, 2), "valid"),    # overlapping windows
    (1, 7, 8, 2, (2, 3), (1, 2), "valid"),    # stride != pool, non-square
    (2, 5, 7, 2, (2, 2), (2, 2), "same"),     # the last row and column: windows with 2 or 1 cells
    (2, 6, 5, 3, (3, 3), (2, 2), "same"),     # overlapping and padded on every side it needs
    (1, 4, 4, 1, (5, 5), (1, 1), "same"),     # a pool larger than the image: 'same' still works
    (11, 6, 6, 2, (2, 2), (1, 1), "same"),    # stride 1: every pixel in four windows
]


def layer_pads(h, w, pool, stride, padding):
    if padding == "valid":
        return ((0, 0), (0, 0))
    return (same_padding(h, pool[0], stride[0]), same_padding(w, pool[1], stride[1]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, h, w, c, pool, stride, padding", AVGPOOL_CASES)
def test_avgpool_kernels_match_reference(n, h, w, c, pool, stride, padding, dtype):
    rng = np.random.default_rng(h * 10 + w)
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    pads = layer_pads(h, w, pool, stride, padding)
    y = kernels.avgpool2d_forward(x, pool, stride, pads)
    assert_close(y, reference.pool.avgpool2d_forward(x, pool, stride, pads), dtype)
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx = kernels.avgpool2d_backward(dy, x.shape, pool, stride, pads)
    assert_close(dx, reference.pool.avgpool2d_backward(dy, x.shape, pool, stride, pads), dtype)
    layer = AveragePooling2D(pool, strides=stride, padding=padding)        # the layer passes them on
    layer.build((h, w, c), dtype)
    assert layer.output_shape == y.shape[1:]
    np.testing.assert_array_equal(layer.forward(x), y)
    np.testing.assert_array_equal(layer.backward(dy), dx)


def test_avgpool_same_never_counts_the_padding():
    x = np.ones((1, 5, 5, 1))                       # the mean of ones is one in every window, border too
    for avgpool in (kernels.avgpool2d_forward, reference.pool.avgpool2d_forward):
        np.testing.assert_array_equal(avgpool(x, (2, 2), (2, 2), ((0, 1), (0, 1))), np.ones((1, 3, 3, 1)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_avgpool_matches_reference(dtype, keepdims):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 5, 4, 6)).astype(dtype)
    layer = GlobalAveragePooling2D(keepdims=keepdims)
    layer.build(x.shape[1:], dtype)
    y = layer.forward(x)
    y_ref = reference.pool.global_avgpool_forward(x)
    assert_close(y.reshape(3, 6), y_ref, dtype)
    dy = rng.standard_normal(y.shape).astype(dtype)
    assert_close(layer.backward(dy), reference.pool.global_avgpool_backward(dy.reshape(3, 6), x.shape), dtype)


# --- batch normalisation -----------------------------------------------------------------------------------
BN_SHAPES = [(4, 3, 3, 2), (7, 5), (2, 6, 5, 3), (40, 1, 1, 4), (1, 2, 2, 3)]   # rows: 36, 7, 60, 40, 4


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", BN_SHAPES)
def test_batchnorm_kernels_match_reference(shape, dtype):
    rng = np.random.default_rng(len(shape) * 100 + shape[0])
    rows = (3.0 + 2.0 * rng.standard_normal(shape)).astype(dtype).reshape(-1, shape[-1])  # mean 3, not 0
    mean, var = kernels.batchnorm_stats(rows)
    mean_ref, var_ref = reference.batchnorm.batchnorm_stats(rows)
    assert rel_diff(mean, mean_ref) <= 1e-12 and rel_diff(var, var_ref) <= 1e-12   # float64 sums both
    inv_std = 1.0 / np.sqrt(var + 1e-3)
    scale, shift = rng.standard_normal(shape[-1]), rng.standard_normal(shape[-1])
    assert_close(kernels.batchnorm_apply(rows, scale, shift),
                 reference.batchnorm.batchnorm_apply(rows, scale, shift), dtype)
    dy = rng.standard_normal(rows.shape).astype(dtype)
    sums = kernels.batchnorm_backward_sums(rows, dy, mean, inv_std)
    sums_ref = reference.batchnorm.batchnorm_backward_sums(rows, dy, mean, inv_std)
    for fast, ref in zip(sums, sums_ref):
        assert rel_diff(fast, ref) <= TOL[dtype]
    gamma = rng.standard_normal(shape[-1])
    assert_close(kernels.batchnorm_backward_input(rows, dy, mean, inv_std, gamma, *sums),
                 reference.batchnorm.batchnorm_backward_input(rows, dy, mean, inv_std, gamma, *sums), dtype)
    # with a relu after the normalisation: max(y, 0) forward, dy * [max(y, 0) > 0] read by the backward
    relu_output = kernels.batchnorm_apply(rows, scale, shift, relu=True)
    assert_close(relu_output, reference.batchnorm.batchnorm_apply(rows, scale, shift, relu=True), dtype)
    assert (relu_output == 0).any() and (relu_output > 0).any()
    sums = kernels.batchnorm_backward_sums(rows, dy, mean, inv_std, relu_output)
    sums_ref = reference.batchnorm.batchnorm_backward_sums(rows, dy, mean, inv_std, relu_output)
    for fast, ref in zip(sums, sums_ref):
        assert rel_diff(fast, ref) <= TOL[dtype]
    assert_close(kernels.batchnorm_backward_input(rows, dy, mean, inv_std, gamma, *sums, relu_output),
                 reference.batchnorm.batchnorm_backward_input(rows, dy, mean, inv_std, gamma, *sums, relu_output),
                 dtype)


def test_batchnorm_sums_are_the_same_bits_for_any_thread_count():
    from numba import get_num_threads, set_num_threads
    rows = np.random.default_rng(8).standard_normal((5000, 7)).astype(np.float32)
    before = get_num_threads()
    try:
        results = []
        for threads in sorted({1, before}):
            set_num_threads(threads)
            results.append(kernels.batchnorm_stats(rows))
    finally:
        set_num_threads(before)
    for mean, var in results[1:]:
        np.testing.assert_array_equal(mean, results[0][0])
        np.testing.assert_array_equal(var, results[0][1])


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(4, 3, 3, 2), (6, 5)])
def test_batchnorm_layer_matches_the_staged_textbook_twin(shape, training):
    rng = np.random.default_rng(9)
    layer = BatchNormalization(momentum=0.9, epsilon=1e-2, gamma_initializer="random_normal",
                               beta_initializer="random_normal", moving_mean_initializer="random_normal")
    layer.build(shape[1:], np.float64, rng)
    layer.moving_variance[...] = rng.uniform(0.5, 2.0, shape[-1])
    gamma, beta = layer.gamma.copy(), layer.beta.copy()
    moving = layer.moving_mean.copy(), layer.moving_variance.copy()
    x = 1.5 + rng.standard_normal(shape)
    y_ref, mean_ref, var_ref = reference.batchnorm.batchnorm_forward(x, gamma, beta, *moving, training,
                                                                     momentum=0.9, epsilon=1e-2)
    assert rel_diff(layer.forward(x, training=training), y_ref) <= 1e-12
    assert rel_diff(layer.moving_mean, mean_ref) <= 1e-12        # updated in training, kept in inference
    assert rel_diff(layer.moving_variance, var_ref) <= 1e-12
    dy = rng.standard_normal(shape)
    dx_ref, dgamma_ref, dbeta_ref = reference.batchnorm.batchnorm_backward(x, dy, gamma, *moving, training,
                                                                           epsilon=1e-2)
    assert rel_diff(layer.backward(dy), dx_ref) <= 1e-12
    assert rel_diff(layer.grads[0], dgamma_ref) <= 1e-12
    assert rel_diff(layer.grads[1], dbeta_ref) <= 1e-12


# --- tanh ---------------------------------------------------------------------------------------------------
def test_tanh_kernel_stays_within_8_ulp_of_the_exact_tanh():
    from scratchcnn.kernels.tanh import tanh_float32
    rng = np.random.default_rng(11)
    z = np.concatenate([np.linspace(-10, 10, 400_001, dtype=np.float32), (3 * rng.standard_normal(200_000)).astype(
        np.float32), (1e-3 * rng.standard_normal(50_000)).astype(np.float32)])   # 650,001: rows and a rest
    exact = np.tanh(z.astype(np.float64))
    ulps = np.abs(tanh_float32(z) - exact) / np.spacing(np.abs(exact).astype(np.float32))
    assert ulps.max() <= 8 and np.abs(tanh_float32(z) - exact).max() < 5e-7
    some = z[::97]                                            # the twin, math.tanh value by value
    np.testing.assert_allclose(tanh_float32(some), reference.activations.tanh(some), rtol=6e-7, atol=1e-30)
    special = np.float32([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-40, 9.0, -9.0, 8.999, 1e30])
    got = tanh_float32(special)
    assert np.isnan(got[0]) and list(got[1:3]) == [1, -1] and np.signbit(got[4]) and got[5] == np.float32(1e-40)
    assert list(got[6:8]) == [1, -1] and got[9] == 1 and abs(got[8] - np.tanh(8.999)) <= 6e-8
    x = rng.standard_normal((3, 5, 7, 2)).astype(np.float32).transpose(0, 2, 1, 3)   # any shape, not contiguous
    np.testing.assert_array_equal(tanh_float32(x), tanh_float32(np.ascontiguousarray(x)))
    assert tanh_float32(x).shape == x.shape


def test_tanh_kernel_writes_into_out_or_over_its_input():
    from scratchcnn.kernels.tanh import tanh_float32
    z = (3 * np.random.default_rng(13).standard_normal((4, 70_000))).astype(np.float32)   # rows and a rest
    fresh = tanh_float32(z)
    in_place = z.copy()
    assert tanh_float32(in_place, in_place) is in_place
    np.testing.assert_array_equal(in_place, fresh)
    for bad in (np.empty((4, 69_999), np.float32), np.empty((4, 70_000)), np.empty((70_000, 4), np.float32).T):
        with pytest.raises(ValueError, match="out must be a C-contiguous float32 array"):
            tanh_float32(z, bad)


def test_tanh_activation_takes_the_kernel_for_float32_only_and_can_be_switched_off():
    from scratchcnn import activations
    from scratchcnn.kernels.tanh import tanh_float32
    z32 = np.random.default_rng(12).standard_normal((40, 30)).astype(np.float32)
    np.testing.assert_array_equal(activations.tanh(z32), tanh_float32(z32))
    np.testing.assert_array_equal(activations.tanh(z32.astype(np.float64)), np.tanh(z32.astype(np.float64)))
    activations.tanh.fast = False
    try:
        np.testing.assert_array_equal(activations.tanh(z32), np.tanh(z32))
    finally:
        activations.tanh.fast = True
