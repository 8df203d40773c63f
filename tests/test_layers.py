"""Each layer, activation, the loss and the optimizers on small cases worked out by hand.

The expected numbers in these tests were computed on paper (the comments show how), so each test is also
an example of what the layer does. Gradient checks live in their own file; here the backward passes are
checked on cases small enough to follow by eye.
"""
import math

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
