"""Each layer, activation, the loss and the optimizers on small cases worked out by hand.

The expected numbers in these tests were computed on paper (the comments show how), so each test is also
an example of what the layer does. Gradient checks live in their own file; here the backward passes are
checked on cases small enough to follow by eye.
"""
import math
import re

import numpy as np
import pytest

import scratchcnn
from scratchcnn import activations, losses
from scratchcnn.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from scratchcnn.model import Sequential
from scratchcnn.optimizers import SGD, Adam, RMSprop


def built(layer, input_shape, dtype=np.float32, seed=0):
    """Build a layer on its own, the way Sequential would (shapes exclude the batch axis)."""
    layer.build(input_shape, dtype, np.random.default_rng(seed))
    return layer


def image(rows, dtype=np.float32):
    """A 2-D list -> one single-channel image batch of shape (1, H, W, 1)."""
    return np.array(rows, dtype=dtype)[None, :, :, None]


def plane(batch):
    """(1, H, W, 1) -> the (H, W) plane, for readable comparisons."""
    return batch[0, :, :, 0]


# --- Conv2D ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("size, kernel, stride, padding, expected", [
    (28, 3, 1, "valid", 26),   # floor((28 - 3) / 1) + 1: the tutorial's conv
    (28, 3, 2, "valid", 13),   # floor(25 / 2) + 1
    (7, 3, 2, "valid", 3),     # floor(4 / 2) + 1
    (8, 5, 3, "valid", 2),     # floor(3 / 3) + 1
    (28, 3, 1, "same", 28),    # ceil(28 / 1)
    (28, 3, 2, "same", 14),    # ceil(28 / 2)
    (7, 3, 2, "same", 4),      # ceil(7 / 2)
    (5, 2, 3, "same", 2),      # ceil(5 / 3)
])
def test_conv2d_output_shape_follows_keras_rules(size, kernel, stride, padding, expected):
    layer = built(Conv2D(4, kernel, strides=stride, padding=padding), (size, size, 2))
    assert layer.output_shape == (expected, expected, 4)
    y = layer.forward(np.ones((3, size, size, 2), np.float32))
    assert y.shape == (3, expected, expected, 4)  # the kernel agrees with the shape arithmetic


def test_conv2d_non_square_kernel_and_strides():
    layer = built(Conv2D(5, kernel_size=(3, 2), strides=(2, 1)), (10, 7, 1))
    assert layer.output_shape == (4, 6, 5)  # rows: (10 - 3) // 2 + 1 = 4, cols: (7 - 2) // 1 + 1 = 6
    assert layer.forward(np.zeros((2, 10, 7, 1), np.float32)).shape == (2, 4, 6, 5)


def test_conv2d_kernel_layout_is_keras():
    layer = built(Conv2D(28, kernel_size=(3, 3)), (28, 28, 1))
    assert layer.kernel.shape == (3, 3, 1, 28)  # (kernel height, kernel width, in channels, filters)
    assert layer.bias.shape == (28,)
    assert [w.shape for w in layer.get_weights()] == [(3, 3, 1, 28), (28,)]
    assert built(Conv2D(5, 3), (9, 9, 3)).kernel.shape == (3, 3, 3, 5)


def test_conv2d_hand_computed_single_channel():
    # x[i, j] = 4i + j, and a kernel with three taps:
    #   K = [[1, 0, 0],
    #        [0,-1, 0],      y[i, j] = x[i, j] - x[i+1, j+1] + 2 x[i+2, j+2]   (cross-correlation: not flipped)
    #        [0, 0, 2]]
    x = image(np.arange(16).reshape(4, 4))
    layer = built(Conv2D(1, 3), (4, 4, 1))
    layer.kernel[:, :, 0, 0] = [[1, 0, 0], [0, -1, 0], [0, 0, 2]]
    y = layer.forward(x)
    # y[0,0] = 0 - 5 + 2*10 = 15    y[0,1] = 1 - 6 + 2*11 = 17
    # y[1,0] = 4 - 9 + 2*14 = 23    y[1,1] = 5 - 10 + 2*15 = 25
    np.testing.assert_array_equal(plane(y), [[15, 17], [23, 25]])

    layer.bias[:] = 0.5  # the bias is added to every output position
    np.testing.assert_array_equal(plane(layer.forward(x)), [[15.5, 17.5], [23.5, 25.5]])


def test_conv2d_sums_over_input_channels():
    # A 3x3 input with 2 channels: channel 0 all ones, channel 1 = 0..8. Output is 1x1 per filter.
    x = np.stack([np.ones((3, 3)), np.arange(9).reshape(3, 3)], axis=-1)[None].astype(np.float32)
    layer = built(Conv2D(2, 3), (3, 3, 2))
    layer.kernel[...] = 0
    layer.kernel[:, :, 0, 0] = 1     # filter 0: 1 * (sum of channel 0) + 10 * (sum of channel 1)
    layer.kernel[:, :, 1, 0] = 10
    layer.kernel[:, :, 1, 1] = 1     # filter 1: sum of channel 1 only
    layer.bias[:] = [0, -6]
    y = layer.forward(x)
    assert y.shape == (1, 1, 1, 2)
    np.testing.assert_array_equal(y[0, 0, 0], [9 + 10 * 36, 36 - 6])


def test_conv2d_same_padding_is_zeros_around_the_image():
    # ones kernel on a ones image: each output counts the pixels its 3x3 window covers.
    layer = built(Conv2D(1, 3, padding="same"), (3, 3, 1))
    layer.kernel[...] = 1
    np.testing.assert_array_equal(plane(layer.forward(image(np.ones((3, 3))))),
                                  [[4, 6, 4], [6, 9, 6], [4, 6, 4]])


def test_conv2d_same_padding_extra_row_goes_bottom_right():
    # 4x4 input, 3x3 kernel, stride 2 -> 2x2 output; 1 row/col of padding is needed and Keras puts it at
    # the bottom/right. Windows start at rows 0 and 2: the first sees 3 real rows, the second 2 (+ padding).
    layer = built(Conv2D(1, 3, strides=2, padding="same"), (4, 4, 1))
    layer.kernel[...] = 1
    np.testing.assert_array_equal(plane(layer.forward(image(np.ones((4, 4))))), [[9, 6], [6, 4]])


def test_conv2d_relu_activation_is_applied():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
    plain = built(Conv2D(4, 3), (6, 6, 3), seed=5)
    with_relu = built(Conv2D(4, 3, activation="relu"), (6, 6, 3), seed=5)  # same seed: same kernel
    z = plain.forward(x)
    assert (z < 0).any()  # otherwise the test would prove nothing
    np.testing.assert_array_equal(with_relu.forward(x), np.maximum(z, 0))


def test_glorot_uniform_limit_of_the_tutorial_conv():
    layer = built(Conv2D(28, 3), (28, 28, 1))
    limit = math.sqrt(6 / (3 * 3 * 1 + 3 * 3 * 28))   # fan_in = 9, fan_out = 252
    assert limit == pytest.approx(0.1516, abs=1e-4)
    biggest = np.abs(layer.kernel).max()
    assert biggest <= limit
    assert biggest > 0.95 * limit  # 252 draws fill the range: P(max < 0.95 limit) = 0.95**252 ~ 2e-6


def test_glorot_uniform_statistics_on_the_tutorial_dense_kernel():
    layer = built(Dense(128), (4732,), seed=0)
    w = layer.kernel.astype(np.float64)
    limit = math.sqrt(6 / (4732 + 128))
    assert limit == pytest.approx(0.0351, abs=1e-4)
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.99 * limit            # 605,824 draws reach the edge of U(-limit, limit)
    assert abs(w.mean()) < 2e-4                      # standard error of the mean is ~2.6e-5
    assert w.var() == pytest.approx(limit ** 2 / 3, rel=0.02)   # variance of U(-a, a) is a^2 / 3


def test_dense_10_limit_and_zero_biases():
    layer = built(Dense(10), (128,))
    assert np.abs(layer.kernel).max() <= math.sqrt(6 / (128 + 10))  # 0.2085
    np.testing.assert_array_equal(layer.bias, np.zeros(10))
    np.testing.assert_array_equal(built(Conv2D(28, 3), (28, 28, 1)).bias, np.zeros(28))


# --- MaxPooling2D ------------------------------------------------------------------------------------------

POOL_INPUT = [[1, 3, 2, 0],
              [4, 2, 1, 5],
              [0, 1, 7, 2],
              [3, 8, 6, 1]]


def test_maxpool_known_example():
    layer = built(MaxPooling2D(pool_size=(2, 2)), (4, 4, 1))
    # each 2x2 block keeps its largest value: [[max(1,3,4,2), max(2,0,1,5)], [max(0,1,3,8), max(7,2,6,1)]]
    np.testing.assert_array_equal(plane(layer.forward(image(POOL_INPUT))), [[4, 5], [8, 7]])


def test_maxpool_channels_are_pooled_separately():
    x = np.stack([np.array(POOL_INPUT), -np.array(POOL_INPUT)], axis=-1)[None].astype(np.float32)
    y = built(MaxPooling2D(), (4, 4, 2)).forward(x)
    np.testing.assert_array_equal(y[0, :, :, 0], [[4, 5], [8, 7]])
    np.testing.assert_array_equal(y[0, :, :, 1], [[-1, 0], [0, -1]])  # max of negated values = -min


@pytest.mark.parametrize("size, pool, strides, padding, expected", [
    (28, 2, None, "valid", 14),   # strides default to the pool size: 26x26 -> 13x13 in the tutorial
    (26, 2, None, "valid", 13),
    (27, 2, None, "valid", 13),   # the last odd row is dropped
    (27, 2, None, "same", 14),    # ... or kept with 'same': ceil(27 / 2)
    (7, 3, 2, "valid", 3),        # (7 - 3) // 2 + 1
    (4, 2, 1, "valid", 3),        # overlapping windows
    (6, 3, 2, "same", 3),         # ceil(6 / 2)
])
def test_maxpool_output_shapes(size, pool, strides, padding, expected):
    layer = built(MaxPooling2D(pool_size=pool, strides=strides, padding=padding), (size, size, 3))
    assert layer.output_shape == (expected, expected, 3)
    assert layer.forward(np.zeros((2, size, size, 3), np.float32)).shape == (2, expected, expected, 3)


def test_maxpool_same_padding_never_wins():
    # All inputs negative: if the padding were zeros, the bottom-right window would return 0.
    x = image([[-1, -2, -3], [-4, -5, -6], [-7, -8, -9]])
    layer = built(MaxPooling2D(padding="same"), (3, 3, 1))
    np.testing.assert_array_equal(plane(layer.forward(x)), [[-1, -3], [-7, -9]])
    dx = layer.backward(np.ones((1, 2, 2, 1), np.float32))
    assert dx.shape == x.shape
    np.testing.assert_array_equal(plane(dx), [[1, 0, 1], [0, 0, 0], [1, 0, 1]])


def test_maxpool_backward_routes_gradient_to_the_max():
    layer = built(MaxPooling2D(), (4, 4, 1))
    layer.forward(image(POOL_INPUT))
    dx = layer.backward(image([[1, 2], [3, 4]]))
    # the maxima sit at (1,0)=4, (1,3)=5, (3,1)=8, (2,2)=7; everything else gets nothing
    np.testing.assert_array_equal(plane(dx), [[0, 0, 0, 0],
                                              [1, 0, 0, 2],
                                              [0, 0, 4, 0],
                                              [0, 3, 0, 0]])


def test_maxpool_ties_first_max_in_row_major_order_takes_it_all():
    layer = built(MaxPooling2D(), (2, 4, 1))
    layer.forward(image([[7, 7, 0, 5],
                         [7, 7, 5, 5]]))
    dx = layer.backward(image([[1.5, 2.5]]))
    # left window: four equal values, the top-left one wins; right window: (0,3) comes first in row order
    np.testing.assert_array_equal(plane(dx), [[1.5, 0, 0, 2.5],
                                              [0, 0, 0, 0]])


def test_maxpool_overlapping_windows_accumulate():
    # pool 2x2 with stride 1 on a 3x3 image: 4 windows, all of which contain the 9 in the centre.
    layer = built(MaxPooling2D(pool_size=2, strides=1), (3, 3, 1))
    y = layer.forward(image([[1, 2, 3], [4, 9, 5], [6, 7, 8]]))
    np.testing.assert_array_equal(plane(y), [[9, 9], [9, 9]])
    dx = layer.backward(image([[1, 2], [3, 4]]))
    np.testing.assert_array_equal(plane(dx), [[0, 0, 0], [0, 10, 0], [0, 0, 0]])  # 1 + 2 + 3 + 4


# --- Flatten -----------------------------------------------------------------------------------------------

def test_flatten_is_channels_fastest():
    x = np.random.default_rng(0).standard_normal((2, 2, 3, 4)).astype(np.float32)   # (N, H, W, C)
    layer = built(Flatten(), (2, 3, 4))
    assert layer.output_shape == (24,)
    y = layer.forward(x)
    assert y.shape == (2, 24)
    np.testing.assert_array_equal(y[0, 0:4], x[0, 0, 0, :])    # first pixel, all channels
    np.testing.assert_array_equal(y[0, 4:8], x[0, 0, 1, :])    # then the next pixel along the row
    np.testing.assert_array_equal(y[1, 12:16], x[1, 1, 0, :])  # second row starts after 3 pixels * 4 channels
    # so feature index k is (h, w, c) with k = (h * W + w) * C + c
    assert y[1, (1 * 3 + 2) * 4 + 3] == x[1, 1, 2, 3]


def test_flatten_tutorial_size_and_backward_reshapes():
    layer = built(Flatten(), (13, 13, 28))
    assert layer.output_shape == (4732,)  # 13 * 13 * 28, the first Dense's input size
    x = np.zeros((2, 13, 13, 28), np.float32)
    layer.forward(x)
    dy = np.arange(2 * 4732, dtype=np.float32).reshape(2, 4732)
    dx = layer.backward(dy)
    assert dx.shape == x.shape
    np.testing.assert_array_equal(dx, dy.reshape(2, 13, 13, 28))


# --- Dense -------------------------------------------------------------------------------------------------

def tiny_dense(activation=None):
    layer = built(Dense(2, activation=activation), (3,))
    layer.set_weights([np.array([[1, 2], [3, 4], [5, 6]]), np.array([0.5, -1])])
    return layer


def test_dense_forward_is_x_at_w_plus_b():
    x = np.array([[1, 0, -1], [2, 1, 0]], np.float32)
    # x @ W = [[1 - 5, 2 - 6], [2 + 3, 4 + 4]] = [[-4, -4], [5, 8]]; plus b = [0.5, -1]
    np.testing.assert_array_equal(tiny_dense().forward(x), [[-3.5, -5], [5.5, 7]])


def test_dense_backward_on_a_tiny_case():
    layer = tiny_dense()
    x = np.array([[1, 0, -1], [2, 1, 0]], np.float32)
    layer.forward(x, training=True)
    dy = np.array([[1, 0], [0, 2]], np.float32)
    dx = layer.backward(dy)
    dkernel, dbias = layer.grads
    np.testing.assert_array_equal(dkernel, [[1, 4], [0, 2], [-1, 0]])    # x.T @ dy
    np.testing.assert_array_equal(dbias, [1, 2])                         # dy summed over the batch
    np.testing.assert_array_equal(dx, [[1, 3, 5], [4, 8, 12]])           # dy @ W.T
    np.testing.assert_array_equal(dkernel, x.T @ dy)


def test_dense_backward_through_relu():
    layer = tiny_dense("relu")
    x = np.array([[1, 0, -1], [2, 1, 0]], np.float32)
    np.testing.assert_array_equal(layer.forward(x), [[0, 0], [5.5, 7]])  # first row was negative
    dx = layer.backward(np.ones((2, 2), np.float32))
    np.testing.assert_array_equal(dx[0], [0, 0, 0])        # relu blocked the whole first row
    np.testing.assert_array_equal(dx[1], [3, 7, 11])       # [1, 1] @ W.T
    np.testing.assert_array_equal(layer.grads[1], [1, 1])


def test_dense_on_images_asks_for_flatten():
    with pytest.raises(ValueError, match="Flatten"):
        built(Dense(10), (28, 28, 1))
    with pytest.raises(ValueError, match="Flatten"):
        Sequential([Conv2D(4, 3, input_shape=(8, 8, 1)), Dense(10)])


# --- Dropout -----------------------------------------------------------------------------------------------

def test_dropout_training_zeroes_rate_and_scales_the_rest():
    layer = built(Dropout(0.2, seed=0), (1000,))
    x = np.ones((100, 1000), np.float32)                     # 100,000 units
    y = layer.forward(x, training=True)
    assert set(np.unique(y)) == {0.0, np.float32(1.25)}      # kept units scaled by 1 / (1 - 0.2)
    dropped = np.mean(y == 0)
    assert abs(dropped - 0.2) < 0.01                          # binomial sd is ~0.0013
    assert abs(y.mean() - 1.0) < 0.0125                       # the expected value is kept


def test_dropout_inference_is_identity():
    layer = built(Dropout(0.5, seed=0), (10,))
    x = np.random.default_rng(0).standard_normal((4, 10)).astype(np.float32)
    y = layer.forward(x, training=False)
    assert y is x or np.array_equal(y, x)
    np.testing.assert_array_equal(layer.backward(x), x)


def test_dropout_backward_uses_the_same_mask():
    layer = built(Dropout(0.5, seed=3), (50,))
    x = np.random.default_rng(1).uniform(1, 2, (20, 50)).astype(np.float32)  # never 0 on its own
    y = layer.forward(x, training=True)
    dy = np.random.default_rng(2).standard_normal((20, 50)).astype(np.float32)
    dx = layer.backward(dy)
    kept = y != 0
    assert 0 < kept.mean() < 1
    np.testing.assert_array_equal(dx[~kept], 0)                     # no gradient through a dropped unit
    np.testing.assert_allclose(dx[kept], dy[kept] * 2, rtol=1e-6)   # 1 / (1 - 0.5) on the kept ones


def test_dropout_seed_reproducibility():
    x = np.ones((8, 100), np.float32)

    def mask(seed):
        return built(Dropout(0.3, seed=seed), (100,)).forward(x, training=True)

    np.testing.assert_array_equal(mask(7), mask(7))
    assert not np.array_equal(mask(7), mask(8))


def test_dropout_rate_validation():
    for bad in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match="rate"):
            Dropout(bad)
    layer = built(Dropout(0.0), (5,))  # rate 0 is allowed and drops nothing
    x = np.ones((2, 5), np.float32)
    np.testing.assert_array_equal(layer.forward(x, training=True), x)


# --- activations -------------------------------------------------------------------------------------------

def test_relu_forward_and_backward():
    z = np.array([-2.0, 0.0, 3.0])
    a = activations.relu(z)
    np.testing.assert_array_equal(a, [0, 0, 3])
    np.testing.assert_array_equal(activations.relu.backward(z, a, np.array([5.0, 5.0, 5.0])), [0, 0, 5])


def test_softmax_known_values_and_rows_sum_to_one():
    # softmax([0, ln 3]) = [1, 3] / 4
    np.testing.assert_allclose(activations.softmax(np.array([[0.0, math.log(3)]])), [[0.25, 0.75]])
    z = np.random.default_rng(0).standard_normal((5, 10))
    p = activations.softmax(z)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    assert (p > 0).all()
    np.testing.assert_allclose(activations.softmax(z + 100), p, rtol=1e-12)  # shifting logits changes nothing


def test_softmax_is_stable_for_huge_logits():
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # exp(-2000) may underflow to 0: fine
        p = activations.softmax(np.array([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 1000.0]]))
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-12)


def test_linear_is_identity():
    z = np.array([[-1.5, 2.0]])
    assert np.array_equal(activations.linear(z), z)
    assert activations.get(None) is activations.linear
    np.testing.assert_array_equal(activations.linear.backward(z, z, np.array([[3.0, 4.0]])), [[3, 4]])


def test_nn_relu_is_the_activation_and_works_as_argument():
    assert scratchcnn.nn.relu is activations.relu
    assert scratchcnn.nn.softmax is activations.softmax
    layer = built(Dense(2, activation=scratchcnn.nn.relu), (3,))  # tutorial style: activation=tf.nn.relu
    assert layer.activation is activations.relu
    layer.set_weights([-np.eye(3, 2), np.zeros(2)])
    np.testing.assert_array_equal(layer.forward(np.array([[1, -1, 0]], np.float32)), [[0, 1]])
    assert activations.get("ReLU") is activations.relu
    with pytest.raises(ValueError, match="unknown activation"):
        activations.get("swish")


# --- sparse categorical cross-entropy ----------------------------------------------------------------------

def test_loss_from_logits_is_minus_log_softmax_at_the_label():
    z = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
    y = np.array([2, 0])
    loss, dz = losses.sparse_categorical_crossentropy_from_logits(z, y)
    row0 = -(3 - math.log(math.e + math.e ** 2 + math.e ** 3))   # -log softmax(z0)[2]
    row1 = math.log(3)                                           # three equal logits: p = 1/3
    assert loss == pytest.approx((row0 + row1) / 2, rel=1e-12)
    p = activations.softmax(z)
    onehot = np.array([[0, 0, 1], [1, 0, 0]])
    np.testing.assert_allclose(dz, (p - onehot) / 2, rtol=1e-12)   # (p - onehot) / N


def test_loss_from_huge_logits_stays_finite():
    z = np.array([[1000.0, 0.0, -1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        right, d_right = losses.sparse_categorical_crossentropy_from_logits(z, np.array([0]))
        wrong, d_wrong = losses.sparse_categorical_crossentropy_from_logits(z, np.array([1]))
    assert right == pytest.approx(0.0, abs=1e-12)
    assert wrong == pytest.approx(1000.0)            # -log softmax = 1000 - 0 + log(1 + e^-1000 + ...)
    assert np.isfinite(d_right).all() and np.isfinite(d_wrong).all()
    np.testing.assert_allclose(d_wrong, [[1, -1, 0]], atol=1e-12)


def test_loss_from_probabilities_and_clipping():
    p = np.array([[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]])
    loss, dp = losses.sparse_categorical_crossentropy(p, np.array([1, 2]))
    assert loss == pytest.approx((-math.log(0.7) - math.log(0.25)) / 2)
    np.testing.assert_allclose(dp, [[0, -1 / (2 * 0.7), 0], [0, 0, -1 / (2 * 0.25)]])
    # a probability of exactly 0 at the label is clipped to 1e-7: a large but finite loss
    loss, dp = losses.sparse_categorical_crossentropy(np.array([[1.0, 0.0, 0.0]]), np.array([1]))
    assert loss == pytest.approx(-math.log(1e-7))   # 16.118
    assert np.isfinite(dp).all()


def test_loss_object_matches_the_functions():
    z = np.random.default_rng(0).standard_normal((4, 10))
    y = np.array([3, 0, 9, 3])
    expected = losses.sparse_categorical_crossentropy_from_logits(z, y)[0]
    assert losses.SparseCategoricalCrossentropy(from_logits=True)(y, z) == pytest.approx(expected)
    assert losses.SparseCategoricalCrossentropy()(y, activations.softmax(z)) == pytest.approx(expected)


def test_label_checks_explain_the_problem():
    with pytest.raises(ValueError, match=r"\[0, 9\]"):
        losses.check_labels(np.array([0, 10]), 10)
    with pytest.raises(ValueError, match=r"\[0, 9\]"):
        losses.check_labels(np.array([-1, 3]), 10)
    with pytest.raises(ValueError, match="argmax"):              # one-hot labels: say how to convert them
        losses.check_labels(np.eye(10)[[1, 2, 3]], 10)
    with pytest.raises(ValueError, match="whole numbers"):
        losses.check_labels(np.array([0.5, 1.0]), 10)
    # accepted forms: integers, whole floats, a (N, 1) column
    np.testing.assert_array_equal(losses.check_labels(np.array([1.0, 2.0]), 10), [1, 2])
    np.testing.assert_array_equal(losses.check_labels(np.array([[4], [5]], np.uint8), 10), [4, 5])


# --- optimizers --------------------------------------------------------------------------------------------

def adam_by_hand(param, g, m, v, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-7):
    """Keras's Adam, written out (see the notes in scratchcnn/optimizers.py)."""
    alpha_t = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g ** 2
    return param - alpha_t * m / (np.sqrt(v) + eps), m, v


def test_adam_two_steps_by_hand():
    param = np.array([1.0, -2.0, 0.5, 3.0])
    g1 = np.array([0.3, -0.1, 2.0, 1e-6])
    g2 = np.array([-0.2, -0.1, 1.0, 0.0])
    p, grad = param.copy(), g1.copy()
    opt = Adam()  # Keras defaults: lr 1e-3, beta_1 0.9, beta_2 0.999, epsilon 1e-7
    assert (opt.learning_rate, opt.beta_1, opt.beta_2, opt.epsilon) == (1e-3, 0.9, 0.999, 1e-7)

    opt.step([p], [grad])
    expected, m, v = adam_by_hand(param, g1, 0.0, 0.0, t=1)
    np.testing.assert_allclose(p, expected, rtol=1e-12)
    np.testing.assert_allclose(opt.m[0], 0.1 * g1, rtol=1e-12)
    np.testing.assert_allclose(opt.v[0], 0.001 * g1 ** 2, rtol=1e-12)
    # The first step moves each parameter by about lr * sign(g), whatever the size of g ...
    np.testing.assert_allclose((param - p)[:3], 1e-3 * np.sign(g1[:3]), rtol=1e-4)
    # ... unless g is tiny: epsilon sits next to sqrt(v) = sqrt(0.001) * 1e-6 (Keras), not next to
    # sqrt(v_hat) = 1e-6 (PyTorch), so the step is 0.24 lr, not 0.91 lr.
    assert (param - p)[3] == pytest.approx(1e-3 * 3.162e-8 / (3.162e-8 + 1e-7), rel=1e-3)

    grad[...] = g2
    opt.step([p], [grad])
    expected, m, v = adam_by_hand(expected, g2, m, v, t=2)
    np.testing.assert_allclose(p, expected, rtol=1e-12)
    assert opt.iterations == 2


def test_adam_float32_parameters():
    param = np.array([[1.0, -2.0], [0.5, 0.0]], np.float32)
    g = np.array([[0.3, -0.1], [2.0, -5.0]], np.float32)
    Adam(learning_rate=0.01).step([param], [g])
    expected, _, _ = adam_by_hand(np.array([[1.0, -2.0], [0.5, 0.0]]), g.astype(np.float64), 0.0, 0.0, t=1,
                                  lr=0.01)
    assert param.dtype == np.float32
    np.testing.assert_allclose(param, expected, rtol=1e-6)


def test_sgd_steps():
    p = np.array([1.0, -1.0])
    SGD(learning_rate=0.1).step([p], [np.array([2.0, -3.0])])
    np.testing.assert_allclose(p, [1.0 - 0.2, -1.0 + 0.3])

    p = np.array([1.0])
    opt = SGD(learning_rate=0.1, momentum=0.9)
    opt.step([p], [np.array([1.0])])      # vel = -0.1;               p = 0.9
    opt.step([p], [np.array([1.0])])      # vel = 0.9 * -0.1 - 0.1;   p = 0.9 - 0.19 = 0.71
    np.testing.assert_allclose(p, [0.71])


def test_compile_accepts_optimizer_names():
    model = Sequential([Dense(2, input_shape=(3,))])
    model.compile(optimizer="adam")
    assert isinstance(model.optimizer, Adam) and model.optimizer.learning_rate == 1e-3
    model.compile(optimizer="sgd")
    assert isinstance(model.optimizer, SGD)
    opt = Adam(learning_rate=0.01)
    model.compile(optimizer=opt)
    assert model.optimizer is opt
    model.compile(optimizer="RMSprop")                      # Keras's names, any case
    assert isinstance(model.optimizer, RMSprop) and model.optimizer.rho == 0.9
    with pytest.raises(ValueError, match="'adam', 'sgd', 'rmsprop'"):
        model.compile(optimizer="adagrad")
    assert isinstance(model.optimizer, RMSprop)             # a refused compile changes nothing


# --- tanh and sigmoid --------------------------------------------------------------------------------------

def test_tanh_and_sigmoid_values_and_derivatives():
    z = np.array([-math.log(3), 0.0, math.log(3)])
    # sigmoid(ln 3) = 1 / (1 + 1/3) = 3/4;  tanh(ln 3) = (3 - 1/3) / (3 + 1/3) = 4/5
    np.testing.assert_allclose(activations.sigmoid(z), [0.25, 0.5, 0.75], rtol=1e-15)
    np.testing.assert_allclose(activations.tanh(z), [-0.8, 0.0, 0.8], rtol=1e-15)
    da = np.ones(3)
    # sigmoid' = a (1 - a): 3/16, 1/4, 3/16;  tanh' = 1 - a^2: 9/25, 1, 9/25
    np.testing.assert_allclose(activations.sigmoid.backward(z, activations.sigmoid(z), da),
                               [3 / 16, 1 / 4, 3 / 16], rtol=1e-14)
    np.testing.assert_allclose(activations.tanh.backward(z, activations.tanh(z), da), [0.36, 1, 0.36],
                               rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_never_overflows(dtype):
    z = np.array([-1000.0, -100.0, 100.0, 1000.0], dtype=dtype)
    with np.errstate(over="raise", invalid="raise"):
        a = activations.sigmoid(z)
    assert a.dtype == dtype
    np.testing.assert_allclose(a, [0, 0, 1, 1], atol=1e-30)


def test_tanh_and_sigmoid_by_name_as_layers_and_in_nn():
    from scratchcnn import layers
    assert activations.get("tanh") is activations.tanh is scratchcnn.nn.tanh
    assert activations.get("Sigmoid") is activations.sigmoid is scratchcnn.nn.sigmoid
    x = np.array([[0.0, 1.0]], np.float32)
    np.testing.assert_allclose(layers.Activation("tanh").forward(x), np.tanh(x))
    assert built(Dense(2, activation="sigmoid"), (3,)).get_config()["activation"] == "sigmoid"
    assert layers.Activation(scratchcnn.nn.sigmoid).get_config() == {"class": "Activation",
                                                                     "activation": "sigmoid"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["linear", "relu", "softmax", "tanh", "sigmoid"])
def test_an_activation_written_over_its_input_gives_the_same_bits(name, dtype):
    z = (4 * np.random.default_rng(3).standard_normal((6, 5, 7))).astype(dtype)
    z[0, 0, :3] = [0.0, -0.0, 200.0]
    fresh = activations.get(name).forward(z)
    assert fresh is not z or name == "linear"
    in_place = z.copy()
    assert activations.get(name).forward(in_place, out=in_place) is in_place
    np.testing.assert_array_equal(in_place, fresh)
    elsewhere = np.empty_like(z)
    assert activations.get(name).forward(z, out=elsewhere) is elsewhere
    np.testing.assert_array_equal(elsewhere, fresh)


def _conv_on_road(road, activation):
    """A Conv2D, built, whose forward runs on the given road of kernels/conv.py, and an input for it."""
    from scratchcnn.kernels.conv import conv_road
    filters, strides, padding, channels = {"planes": (4, 1, "same", 1), "direct": (20, 2, "valid", 1),
                                           "matmul": (16, 1, "same", 8)}[road]
    layer = built(Conv2D(filters, 3, strides=strides, padding=padding, activation=activation), (9, 9, channels))
    assert conv_road(layer.kernel.shape, layer.strides) == road
    return layer, (5, 9, 9, channels)


@pytest.mark.parametrize("relu_in_kernel", [True, False])
@pytest.mark.parametrize("activation", ["linear", "relu", "tanh", "sigmoid", "softmax"])
@pytest.mark.parametrize("where", ["dense", "planes", "direct", "matmul"])
def test_infer_gives_the_bits_of_forward_and_keeps_nothing(where, activation, relu_in_kernel):
    """What predict runs (layer.infer: y written over z) against the layer's forward in inference mode."""
    if where == "dense":
        layer, shape = built(Dense(7, activation=activation), (12,)), (5, 12)
    else:
        layer, shape = _conv_on_road(where, activation)
        layer.relu_in_kernel = relu_in_kernel
    x = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    x_before = x.copy()
    expected = layer.forward(x, training=False).copy()      # and infer lets go of what this forward kept
    got = layer.infer(x)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(x, x_before)                       # the input is never written
    assert all(getattr(layer, name) is None for name in layer.kept)


# --- initializers, use_bias --------------------------------------------------------------------------------

def test_initializers_follow_keras_formulas():
    from scratchcnn import initializers
    rng = np.random.default_rng(0)
    shape = (3, 3, 32, 64)                 # fan_in = 9 * 32 = 288, fan_out = 9 * 64 = 576
    draw = lambda name: initializers.get(name)(shape, rng, np.float64)      # noqa: E731
    he = draw("he_normal")
    # truncated normal: scale sqrt(2 / 288) / 0.8796, cut at 2 of those; the spread left is sqrt(2 / 288)
    assert np.abs(he).max() <= 2 * math.sqrt(2 / 288) / 0.87962566103423978
    assert he.std() == pytest.approx(math.sqrt(2 / 288), rel=0.02)
    assert draw("glorot_normal").std() == pytest.approx(math.sqrt(2 / (288 + 576)), rel=0.02)
    assert draw("lecun_normal").std() == pytest.approx(math.sqrt(1 / 288), rel=0.02)
    for name, limit in (("he_uniform", math.sqrt(6 / 288)), ("glorot_uniform", math.sqrt(6 / 864)),
                        ("lecun_uniform", math.sqrt(3 / 288)), ("random_uniform", 0.05)):
        w = draw(name)
        assert limit * 0.99 < np.abs(w).max() <= limit, name
    assert draw("random_normal").std() == pytest.approx(0.05, rel=0.02)
    assert np.abs(draw("truncated_normal")).max() <= 0.1
    np.testing.assert_array_equal(draw("zeros"), np.zeros(shape))
    np.testing.assert_array_equal(draw("ones"), np.ones(shape))


def test_initializer_names_and_records():
    from scratchcnn import initializers
    assert isinstance(initializers.get("HeNormal"), initializers.HeNormal)         # class names work too
    custom = initializers.RandomNormal(mean=1.0)
    assert custom.get_config() == {"class": "random_normal", "mean": 1.0}      # only what differs
    again = initializers.get(initializers.RandomNormal(1.0, 0.5).get_config())
    assert (again.mean, again.stddev) == (1.0, 0.5)
    assert initializers.get("he_uniform").get_config() == "he_uniform"


def test_conv2d_and_dense_take_keras_initializers_and_record_them():
    conv = built(Conv2D(8, 3, kernel_initializer="he_uniform", bias_initializer="ones"), (6, 6, 2))
    assert np.abs(conv.kernel).max() <= math.sqrt(6 / 18)              # fan_in = 3 * 3 * 2
    np.testing.assert_array_equal(conv.bias, np.ones(8))
    config = conv.get_config()
    assert (config["use_bias"], config["kernel_initializer"], config["bias_initializer"]) == (
        True, "he_uniform", "ones")
    dense = built(Dense(4, kernel_initializer="zeros"), (3,))
    np.testing.assert_array_equal(dense.kernel, np.zeros((3, 4)))
    assert dense.get_config()["kernel_initializer"] == "zeros"
    assert built(Dense(4), (3,)).get_config()["kernel_initializer"] == "glorot_uniform"


def test_default_initializers_draw_what_they_always_drew():
    # glorot_uniform is U(-limit, limit) drawn in one call: the seeded runs of docs/results.md stay the same
    layer = built(Dense(5), (7,), seed=3)
    limit = math.sqrt(6 / (7 + 5))
    expected = np.random.default_rng(3).uniform(-limit, limit, size=(7, 5)).astype(np.float32)
    np.testing.assert_array_equal(layer.kernel, expected)


def test_use_bias_false_has_no_bias_weight():
    conv = built(Conv2D(4, 3, use_bias=False), (5, 5, 2))
    assert [w.shape for w in conv.params] == [(3, 3, 2, 4)] and conv.count_params() == 72
    dense = built(Dense(3, use_bias=False), (4,))
    assert [w.shape for w in dense.get_weights()] == [(4, 3)]
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    np.testing.assert_array_equal(dense.forward(x), x @ dense.kernel)        # z = x @ W, nothing added
    dense.backward(np.ones((2, 3), np.float32))
    assert len(dense.grads) == 1
    np.testing.assert_array_equal(dense.grads[0], x.T @ np.ones((2, 3), np.float32))
    assert dense.get_config()["use_bias"] is False


# --- AveragePooling2D and GlobalAveragePooling2D -----------------------------------------------------------

def test_avgpool_known_example():
    from scratchcnn.layers import AveragePooling2D
    layer = built(AveragePooling2D(pool_size=(2, 2)), (4, 4, 1))
    y = layer.forward(image(POOL_INPUT))
    # (1+3+4+2)/4 = 2.5   (2+0+1+5)/4 = 2
    # (0+1+3+8)/4 = 3     (7+2+6+1)/4 = 4
    np.testing.assert_array_equal(plane(y), [[2.5, 2], [3, 4]])
    dx = layer.backward(image([[4, 8], [12, 16]]))       # each window's gradient shared by its 4 cells
    np.testing.assert_array_equal(plane(dx), [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])


def test_avgpool_same_averages_only_the_cells_inside():
    from scratchcnn.layers import AveragePooling2D
    layer = built(AveragePooling2D(2, padding="same"), (3, 3, 1))
    assert layer.output_shape == (2, 2, 1)                # ceil(3 / 2); one padding row and column
    x = image([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    # windows: {1,2,4,5} -> 3,  {3,6} -> 4.5,  {7,8} -> 7.5,  {9} -> 9  (padding not counted)
    np.testing.assert_array_equal(plane(layer.forward(x)), [[3, 4.5], [7.5, 9]])
    dx = layer.backward(image([[4, 2], [2, 1]]))
    # 4 over 4 cells, 2 over 2 cells, 2 over 2 cells, 1 over the one cell
    np.testing.assert_array_equal(plane(dx), [[1, 1, 1], [1, 1, 1], [1, 1, 1]])


def test_avgpool_strides_default_to_the_pool_and_overlap_adds():
    from scratchcnn.layers import AveragePooling2D
    assert AveragePooling2D(3).strides == (3, 3)
    layer = built(AveragePooling2D(2, strides=1), (3, 3, 1))
    layer.forward(image(np.zeros((3, 3))))
    dx = layer.backward(image([[4, 4], [4, 4]]))          # the centre is in all four windows: 4 * 4/4
    np.testing.assert_array_equal(plane(dx), [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


def test_global_avgpool_mean_and_even_share():
    from scratchcnn.layers import GlobalAveragePooling2D
    x = np.arange(24, dtype=np.float32).reshape(1, 3, 4, 2)   # channel 0 holds 0, 2, ..., 22: mean 11
    layer = built(GlobalAveragePooling2D(), (3, 4, 2))
    assert layer.output_shape == (2,)
    np.testing.assert_array_equal(layer.forward(x), [[11, 12]])
    dx = layer.backward(np.array([[12, 24]], np.float32))     # 12 / 12 pixels, 24 / 12 pixels
    np.testing.assert_array_equal(dx[0, :, :, 0], np.ones((3, 4)))
    np.testing.assert_array_equal(dx[0, :, :, 1], np.full((3, 4), 2))
    assert built(GlobalAveragePooling2D(keepdims=True), (3, 4, 2)).output_shape == (1, 1, 2)


# --- BatchNormalization ------------------------------------------------------------------------------------

def test_batchnorm_training_normalises_each_channel_and_moves_the_statistics():
    from scratchcnn.layers import BatchNormalization
    layer = built(BatchNormalization(), (2,), dtype=np.float64)
    x = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 40.0], [7.0, 40.0]])
    # channel 0: mean 4, biased variance (9 + 1 + 1 + 9) / 4 = 5;  channel 1: mean 25, variance 225
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(y[:, 0], (x[:, 0] - 4) / math.sqrt(5 + 1e-3), rtol=1e-14)
    np.testing.assert_allclose(y[:, 1], np.array([-1, -1, 1, 1]) * 15 / math.sqrt(225 + 1e-3), rtol=1e-14)
    # moving = moving * 0.99 + batch * 0.01, from zeros and ones
    np.testing.assert_allclose(layer.moving_mean, [0.04, 0.25], rtol=1e-14)
    np.testing.assert_allclose(layer.moving_variance, [0.99 + 0.05, 0.99 + 2.25], rtol=1e-14)
    # inference uses the moving statistics, and moves nothing
    y = layer.forward(x, training=False)
    np.testing.assert_allclose(y[:, 0], (x[:, 0] - 0.04) / math.sqrt(1.04 + 1e-3), rtol=1e-14)
    np.testing.assert_allclose(layer.moving_mean, [0.04, 0.25], rtol=1e-14)


def test_batchnorm_weights_in_keras_order():
    from scratchcnn.layers import BatchNormalization
    layer = built(BatchNormalization(), (5, 5, 3))
    assert [w.tolist() for w in layer.params] == [[1, 1, 1], [0, 0, 0]]                # gamma, beta
    assert [w.tolist() for w in layer.non_trainable] == [[0, 0, 0], [1, 1, 1]]         # moving mean, var
    assert [w.tolist() for w in layer.get_weights()] == [[1, 1, 1], [0, 0, 0], [0, 0, 0], [1, 1, 1]]
    assert len(built(BatchNormalization(center=False), (3,)).params) == 1             # gamma only
    assert built(BatchNormalization(scale=False, center=False), (3,)).params == []
    assert built(BatchNormalization(), (3,)).get_config() == {
        "class": "BatchNormalization", "axis": -1, "momentum": 0.99, "epsilon": 1e-3, "center": True,
        "scale": True, "beta_initializer": "zeros", "gamma_initializer": "ones",
        "moving_mean_initializer": "zeros", "moving_variance_initializer": "ones"}


def test_batchnorm_training_backward_removes_the_mean_and_the_xhat_part():
    from scratchcnn.layers import BatchNormalization
    layer = built(BatchNormalization(), (1,), dtype=np.float64)
    x = np.array([[1.0], [3.0]])                 # mean 2, var 1, xhat = -+1 / sqrt(1.001)
    layer.forward(x, training=True)
    # a gradient that only shifts the outputs (dy constant) is undone by the normalisation: dx = 0
    np.testing.assert_allclose(layer.backward(np.array([[5.0], [5.0]])), 0, atol=1e-15)
    # one that only stretches them (dy along xhat) is undone but for epsilon's share:
    # dx = inv_std * (dy - xhat * mean(dy * xhat)) = inv_std * dy * (1 - 1 / 1.001)
    np.testing.assert_allclose(layer.backward(np.array([[-2.0], [2.0]])),
                               np.array([[-2.0], [2.0]]) * (0.001 / 1.001) / math.sqrt(1.001), rtol=1e-12)
    assert layer.grads[0][0] == pytest.approx(4 / math.sqrt(1.001))   # dgamma = sum dy * xhat
    assert layer.grads[1][0] == 0.0                                   # dbeta = sum dy


def test_batchnorm_normalises_the_last_axis_only():
    from scratchcnn.layers import BatchNormalization
    assert built(BatchNormalization(axis=3), (4, 4, 3)).output_shape == (4, 4, 3)   # Keras counts the batch
    with pytest.raises(ValueError, match="last .channels. axis only"):
        built(BatchNormalization(axis=1), (4, 4, 3))


# --- the new layers inside a model -------------------------------------------------------------------------

def small_bn_convnet(dtype="float32"):
    from scratchcnn.layers import Activation, AveragePooling2D, BatchNormalization, GlobalAveragePooling2D
    model = Sequential([
        Conv2D(4, 3, padding="same", use_bias=False, kernel_initializer="he_normal", input_shape=(8, 8, 1)),
        BatchNormalization(),
        Activation("relu"),
        AveragePooling2D(),
        Conv2D(6, 3, padding="same", activation="tanh"),
        GlobalAveragePooling2D(),
        Dense(10, activation="softmax"),
    ], seed=0, dtype=dtype)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_new_layers_train_in_a_model_and_inference_is_per_image():
    model = small_bn_convnet()
    x = np.random.default_rng(0).random((16, 8, 8, 1), dtype=np.float32)
    y = np.arange(16) % 10
    bn = model.layers[1]
    first = model.train_on_batch(x, y)[0]
    for _ in range(30):
        last = model.train_on_batch(x, y)[0]
    assert last < first                                              # it learns
    assert not np.allclose(bn.moving_mean, 0) and not np.allclose(bn.moving_variance, 1)
    # inference uses the moving statistics: an image's prediction does not depend on its batch
    np.testing.assert_allclose(model.predict(x[:1]), model.predict(x)[:1], rtol=1e-5, atol=1e-7)
    assert [w.shape for w in model.get_weights()] == [(3, 3, 1, 4), (4,), (4,), (4,), (4,),
                                                       (3, 3, 4, 6), (6,), (6, 10), (10,)]


def test_batchnorm_moving_statistics_are_saved_with_the_weights(tmp_path):
    model = small_bn_convnet()
    x = np.random.default_rng(1).random((8, 8, 8, 1), dtype=np.float32)
    model.train_on_batch(x, np.arange(8))
    model.save_weights(tmp_path / "bn.weights.npz")
    again = small_bn_convnet()
    again.load_weights(tmp_path / "bn.weights.npz")
    np.testing.assert_array_equal(again.layers[1].moving_mean, model.layers[1].moving_mean)
    np.testing.assert_array_equal(again.layers[1].moving_variance, model.layers[1].moving_variance)
    np.testing.assert_array_equal(again.predict(x), model.predict(x))


def test_the_whole_network_gradient_with_batchnorm_in_training_mode():
    from scratchcnn.gradcheck import check_model
    model = small_bn_convnet("float64")
    rng = np.random.default_rng(2)
    for layer in model.layers:                   # gamma and beta away from the ones and zeros they start at
        if type(layer).__name__ == "BatchNormalization":
            layer.gamma[...] = 1 + 0.3 * rng.standard_normal(layer.gamma.shape)
            layer.beta[...] = 0.3 * rng.standard_normal(layer.beta.shape)
    x = rng.random((4, 8, 8, 1))
    assert type(model.plan.steps[1]).__name__ == "BatchNormReluStep"  # the check goes through the fused step
    results = check_model(model, x, np.arange(4), seed=0, label="small BN convnet")
    assert len(results) == len(model.params)
    for r in results:
        assert r.max_rel_error <= 1e-7, f"{r.tensor}: {r.max_rel_error:.1e}"


@pytest.mark.parametrize("relu", ["activation", "layer"])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_then_relu_as_one_step_gives_the_layers_own_bits(relu, training):
    from scratchcnn.layers import Activation, BatchNormalization, ReLU
    from scratchcnn.plan import BatchNormReluStep
    rng = np.random.default_rng(6)
    x = (1.0 + rng.standard_normal((6, 5, 5, 3))).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    results = []
    for fused in (True, False):
        norm = built(BatchNormalization(), x.shape[1:])
        norm.gamma[...] = rng.standard_normal(3) if fused else results[0][-1]   # the same gamma for both
        act = built(Activation("relu") if relu == "activation" else ReLU(), x.shape[1:])
        if fused:
            step = BatchNormReluStep(norm, act)
            y, dx = step.forward(x, training), step.backward(dy)
        else:
            y = act.forward(norm.forward(x, training), training)
            dx = norm.backward(act.backward(dy))
        results.append([y, dx, *norm.grads, norm.moving_mean, norm.moving_variance, norm.gamma.copy()])
    assert (results[0][0] == 0).any() and (results[0][0] > 0).any()      # the relu cut some values, not all
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_batchnorm_then_relu_runs_as_one_step_in_a_model_and_trains_as_unfused():
    from scratchcnn.layers import BatchNormalization, ReLU
    def model():
        m = Sequential([Conv2D(5, 3, padding="same", use_bias=False, input_shape=(9, 9, 2)), BatchNormalization(),
                        ReLU(), MaxPooling2D(), Conv2D(3, 3, padding="same", use_bias=False), BatchNormalization(),
                        ReLU(), Flatten(), Dense(10, activation="softmax")], seed=0, dtype="float64")
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return m
    fused, unfused = model(), model()
    unfused.fuse = False
    assert [type(s).__name__ for s in fused.plan.steps].count("BatchNormReluStep") == 2
    lines = []
    fused.summary(print_fn=lines.append)
    assert any("batch_normalization + re_lu: BatchNormalization + relu in one pass" in line for line in lines)
    x = np.random.default_rng(6).standard_normal((6, 9, 9, 2))
    for m in (fused, unfused):
        for _ in range(3):
            m.train_on_batch(x, np.arange(6))
    for a, b in zip(fused.get_weights(), unfused.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)  # unfused, the softmax head differs in bits
    np.testing.assert_allclose(fused.predict(x), unfused.predict(x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("overwrite_input", [True, False])
def test_batchnorm_relu_step_in_inference_writes_over_its_input_only_when_told(overwrite_input):
    from scratchcnn.layers import Activation, BatchNormalization
    from scratchcnn.plan import BatchNormReluStep
    rng = np.random.default_rng(7)
    x = (1.0 + rng.standard_normal((6, 5, 5, 3))).astype(np.float32)
    norm = built(BatchNormalization(), x.shape[1:])
    norm.moving_mean[...], norm.gamma[...] = rng.standard_normal(3), rng.standard_normal(3)
    step = BatchNormReluStep(norm, built(Activation("relu"), x.shape[1:]))
    step.overwrite_input = overwrite_input
    expected = step.forward(x, training=False).copy()
    given = x.copy()
    y = step.infer(given)
    np.testing.assert_array_equal(y, expected)
    assert np.shares_memory(y, given) == overwrite_input
    if not overwrite_input:
        np.testing.assert_array_equal(given, x)
    assert all(getattr(layer, name) is None for layer in step.layers for name in layer.kept)


@pytest.mark.parametrize("overwrite_input", [True, False])
@pytest.mark.parametrize("layer", ["tanh", "relu", "softmax", "batchnorm"])
def test_activation_and_batchnorm_layers_in_inference_write_over_their_input_only_when_told(layer,
                                                                                              overwrite_input):
    from scratchcnn.layers import Activation, BatchNormalization
    rng = np.random.default_rng(9)
    x = (1.0 + rng.standard_normal((6, 5, 5, 3))).astype(np.float32)
    if layer == "batchnorm":
        layer = built(BatchNormalization(), x.shape[1:])
        layer.moving_mean[...], layer.gamma[...] = rng.standard_normal(3), rng.standard_normal(3)
    else:
        layer = built(Activation(layer), x.shape[1:])
    expected = layer.forward(x, training=False).copy()
    given = x.copy()
    y = layer.infer(given, overwrite_input=overwrite_input)
    np.testing.assert_array_equal(y, expected)
    assert np.shares_memory(y, given) == overwrite_input
    if not overwrite_input:
        np.testing.assert_array_equal(given, x)
    assert all(getattr(layer, name) is None for name in layer.kept)


def test_the_plan_lets_a_step_write_over_a_conv_or_dense_output_and_never_over_the_callers_images():
    from scratchcnn.layers import Activation, BatchNormalization, ReLU
    model = Sequential([BatchNormalization(input_shape=(9, 9, 2)), ReLU(), Conv2D(5, 3, use_bias=False),
                        BatchNormalization(), ReLU(), Dropout(0.1), BatchNormalization(), ReLU(),
                        Conv2D(4, 3), Activation("tanh"), Flatten(), Dense(12), BatchNormalization(),
                        Dense(10, activation="softmax")], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    # the caller's x; a conv's; dropout's; a conv's; flatten's; a dense's
    assert [s.overwrite_input for s in model.plan.steps] == [False, False, True, False, False, False, True,
                                                              False, False, True, False]
    assert [type(s).__name__ for s in model.plan.steps][:3] == ["BatchNormReluStep", "LayerStep",
                                                                "BatchNormReluStep"]
    x = np.random.default_rng(8).standard_normal((6, 9, 9, 2)).astype(np.float32)
    x_before = x.copy()
    model.fit(x, np.arange(6), batch_size=6, epochs=2, verbose=0)      # moving statistics away from 0 and 1
    got = model.predict(x, batch_size=4)
    np.testing.assert_array_equal(x, x_before)
    model.fuse = False
    np.testing.assert_array_equal(model.predict(x, batch_size=4), got)
    whole = model.predict(x, batch_size=6)                              # against every layer's own forward
    np.testing.assert_array_equal(whole, model.plan.forward(x, training=False))
    np.testing.assert_array_equal(x, x_before)


def test_conv_without_bias_before_max_pooling_trains_the_same_fused_or_not():
    def model():
        m = Sequential([Conv2D(4, 3, use_bias=False, input_shape=(8, 8, 1)), MaxPooling2D(), Flatten(),
                        Dense(10, activation="softmax")], seed=0)
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return m
    fused, unfused = model(), model()
    unfused.fuse = False
    x = np.random.default_rng(3).random((8, 8, 8, 1), dtype=np.float32)
    for m in (fused, unfused):
        for _ in range(3):
            m.train_on_batch(x, np.arange(8))
    for a, b in zip(fused.get_weights(), unfused.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert [w.shape for w in fused.get_weights()] == [(3, 3, 1, 4), (36, 10), (10,)]


def test_a_seeded_initializer_draws_the_same_whatever_the_model():
    from scratchcnn import initializers
    a = built(Dense(4, kernel_initializer=initializers.HeNormal(seed=42)), (3,), seed=0).kernel
    b = built(Dense(4, kernel_initializer=initializers.HeNormal(seed=42)), (3,), seed=1).kernel
    c = built(Dense(4, kernel_initializer="he_normal"), (3,), seed=1).kernel
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)
    assert initializers.HeNormal(seed=42).get_config() == {"class": "he_normal", "seed": 42}


def test_summary_counts_the_moving_statistics_as_non_trainable():
    lines = []
    small_bn_convnet().summary(print_fn=lines.append)
    text = "\n".join(lines)
    # BatchNormalization(4 channels): gamma, beta, moving_mean, moving_variance = 16, of which 8 trained
    assert "Total params: 344" in text and "Trainable params: 336" in text and "Non-trainable params: 8" in text


def test_batchnorm_as_first_layer_fills_its_grads_and_skips_dx():
    from scratchcnn.layers import BatchNormalization
    layer = built(BatchNormalization(), (3,), dtype=np.float64)
    layer.needs_input_grad = False                      # what the model says to its first layer
    x = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    layer.forward(x, training=True)
    assert layer.backward(np.ones((2, 3))) is None
    np.testing.assert_array_equal(layer.grads[1], [2, 2, 2])                      # dbeta = sum dy


def keras_convnet(dtype="float32", input_shape=(12, 12, 1), seed=0):
    """Keras's MNIST convnet, smaller: its second pair takes the block-by-block conv + pool step."""
    m = Sequential([Conv2D(4, (3, 3), activation="relu", input_shape=input_shape), MaxPooling2D((2, 2)),
                    Conv2D(6, (3, 3), activation="relu"), MaxPooling2D((2, 2)), Flatten(), Dropout(0.5),
                    Dense(10, activation="softmax")], seed=seed, dtype=dtype)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return m


def test_the_convnets_second_pair_runs_block_by_block_and_trains_as_unfused():
    fused, unfused = keras_convnet(), keras_convnet()
    unfused.fuse = False
    kinds = [type(step).__name__ for step in fused.plan.steps]
    assert kinds[:2] == ["ConvPoolStep", "BlockConvPoolStep"]
    assert fused.plan.steps[1].layers == fused.layers[2:4]
    lines = []
    fused.summary(print_fn=lines.append)
    assert any("conv2d_1 + max_pooling2d_1: Conv2D + MaxPooling2D block by block" in line for line in lines)
    x = np.random.default_rng(4).random((40, 12, 12, 1), dtype=np.float32)  # 40: several blocks
    for m in (fused, unfused):
        for _ in range(3):
            m.train_on_batch(x, np.arange(40) % 10)
    for a, b in zip(fused.get_weights(), unfused.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fused.predict(x), unfused.predict(x), rtol=1e-5, atol=1e-6)


def test_the_whole_convnet_gradient_through_the_block_by_block_step():
    from scratchcnn.gradcheck import check_model
    model = keras_convnet("float64", input_shape=(10, 10, 1))
    model.layers[5].rate = 0.0  # the check nudges one weight at a time: no dropout mask to keep fixed
    for conv in (model.layers[0], model.layers[2]):  # every conv output positive: no window of relu's tied
        conv.bias[...] = 3.0                         # zeros, whose max-pool has no derivative
    assert type(model.plan.steps[1]).__name__ == "BlockConvPoolStep"
    x = np.random.default_rng(5).random((3, 10, 10, 1))
    results = check_model(model, x, np.arange(3), seed=0, label="small Keras convnet")
    assert len(results) == len(model.params)
    for r in results:
        assert r.max_rel_error <= 1e-6, f"{r.tensor}: {r.max_rel_error:.1e}"
