"""Every backward pass in scratchcnn agrees with central differences (scratchcnn/gradcheck/), and the
checker itself catches a wrong gradient, refuses kinks and float32, and reports what it measured.

Each check of ``run_suite`` is its own test here: a layer configuration (its input gradient and each
parameter gradient), the loss, the whole tutorial network, and Adam against Keras's formula.
"""
import numpy as np
import pytest

from scratchcnn import gradcheck
from scratchcnn.gradcheck import GradCheckResult, KinkError, check_layer, check_model, format_table
from scratchcnn.layers import Conv2D, Dense, Layer, ReLU
from scratchcnn.model import Sequential

SUITE = gradcheck.suite_checks()


@pytest.mark.parametrize("check", SUITE, ids=[check.name for check in SUITE])
def test_suite_check(check):
    results = check.run()
    assert results
    for r in results:
        assert r.coords_checked > 0
        assert r.max_rel_error <= 1e-7, f"{r.layer} {r.tensor}: max relative error {r.max_rel_error:.2e}"
        assert r.passed, f"{r.layer} {r.tensor}: {r.max_rel_error:.2e} > tol {r.tol:g}"


def test_suite_covers_what_the_issue_asks():
    names = [check.name for check in SUITE]
    for layer in ("Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dropout", "ReLU", "Softmax"):
        assert any(name.startswith(layer + "(") for name in names), layer
    assert any("strides=2" in name and "padding='same'" in name for name in names)
    assert any(" on (1, " in name for name in names)                            # batch 1
    assert any("Conv2D(28, (3, 3)) on (2, 28, 28, 1)" in name for name in names)  # the tutorial's size
    assert any("from_logits" in name for name in names)
    assert any("tutorial network" in name for name in names) and any("Adam" in name for name in names)


# --- a wrong backward is caught ----------------------------------------------------------------------------
class ConvWithFlippedKernelGrad(Conv2D):
    """A classic bug: the kernel gradient comes out rotated by 180 degrees (convolution vs correlation)."""

    def backward(self, dy):
        dx = super().backward(dy)
        self.grads[0][...] = self.grads[0][::-1, ::-1].copy()
        return dx


class DenseWithMeanBiasGrad(Dense):
    """Another classic: the bias gradient averaged over the batch instead of summed."""

    def backward(self, dy):
        dx = super().backward(dy)
        self.grads[1] /= dy.shape[0]
        return dx


def by_tensor(results):
    return {r.tensor: r for r in results}


def test_flipped_conv_kernel_gradient_is_caught():
    results = by_tensor(check_layer(ConvWithFlippedKernelGrad(3, 3), (6, 6, 2)))
    assert not results["kernel"].passed and results["kernel"].max_rel_error > 0.1
    assert results["input"].passed and results["bias"].passed        # only the broken tensor fails


def test_wrong_dense_bias_gradient_is_caught():
    results = by_tensor(check_layer(DenseWithMeanBiasGrad(4), (5,), batch=3))
    assert not results["bias"].passed and results["bias"].max_rel_error > 0.1
    assert results["input"].passed and results["kernel"].passed
    assert "FAIL" in format_table(list(results.values()))


# --- checking your own layer (the example of docs/gradient-checking.md) -------------------------------------
class ChannelScale(Layer):
    """y[..., c] = gamma[c] * x[..., c]: one learned scale per channel."""

    def build(self, input_shape, dtype=np.float32, rng=None):
        rng = rng if rng is not None else np.random.default_rng()
        self.gamma = rng.uniform(0.5, 1.5, size=input_shape[-1]).astype(dtype)
        self.params = [self.gamma]
        return super().build(input_shape, dtype, rng)          # also creates self.grads

    def forward(self, x, training=False):
        self.x = x
        return x * self.gamma

    def backward(self, dy):
        # dgamma[c] = sum over everything but c of dy * x;  dx = dy * gamma
        self.grads[0][...] = (dy * self.x).reshape(-1, self.gamma.size).sum(axis=0)
        return dy * self.gamma


class ChannelScaleForgettingX(ChannelScale):
    def backward(self, dy):
        dx = super().backward(dy)
        self.grads[0][...] = dy.reshape(-1, self.gamma.size).sum(axis=0)     # wrong: no x
        return dx


def test_a_custom_layer_in_one_call():
    results = by_tensor(check_layer(ChannelScale(), input_shape=(4, 4, 3)))
    assert results["input"].shape == (2, 4, 4, 3) and results["input"].coords_checked == 96
    assert results["gamma"].shape == (3,) and results["gamma"].coords_checked == 3
    assert all(r.passed for r in results.values())
    wrong = by_tensor(check_layer(ChannelScaleForgettingX(), input_shape=(4, 4, 3)))
    assert wrong["input"].passed and not wrong["gamma"].passed


# --- kinks, dtypes, sampling -------------------------------------------------------------------------------
def test_an_input_on_a_relu_kink_is_refused():
    x = np.random.default_rng(0).standard_normal((2, 5))
    x[1, 3] = 0.0
    with pytest.raises(KinkError):
        check_layer(ReLU(), (5,), x=x)


def test_drawn_inputs_stay_away_from_kinks():
    layer = ReLU()
    check_layer(layer, (40,), batch=50)                               # 2000 draws from N(0, 1)
    assert layer.kinks(layer.z)[1] > 10 * gradcheck.EPS


def test_float32_is_refused():
    layer = Dense(3)
    layer.build((4,), np.float32)
    with pytest.raises(ValueError, match="float64"):
        check_layer(layer, (4,))
    model = Sequential([Dense(3, input_shape=(4,))], dtype="float32")
    with pytest.raises(ValueError, match="float64"):
        check_model(model, np.zeros((2, 4)), np.array([0, 1]))


def test_large_tensors_are_sampled_small_ones_checked_whole():
    results = by_tensor(check_layer(Dense(30), (10,), max_coords=50))
    assert results["input"].coords_checked == 20                      # 2 x 10 <= 50: all
    assert results["kernel"].coords_checked == 50                     # 300 > 50: a sample
    assert results["bias"].coords_checked == 30


def test_relative_error_and_table():
    assert gradcheck.relative_error([1.0, -2.0], [1.0, -2.0]) == 0.0
    assert gradcheck.relative_error([0.0, 0.0], [0.0, 0.0]) == 0.0
    assert gradcheck.relative_error([1.0], [-1.0]) == 1.0
    table = format_table([GradCheckResult("Dense(3)", "kernel", (4, 3), 12, 3e-11, True),
                          GradCheckResult("Dense(3)", "bias", (3,), 3, 0.5, False)])
    assert "kernel" in table and "3.0e-11" in table and "pass" in table
    assert "FAIL" in table and "1 of 2 passed, 1 FAILED" in table


def test_a_perturbation_that_crosses_a_kink_is_caught(monkeypatch):
    monkeypatch.setattr(gradcheck.checker, "KINK_MARGIN", 0)                  # let an input near 0 through...
    x = np.random.default_rng(0).standard_normal((2, 5))
    x[0, 2] = 0.5 * gradcheck.EPS                                     # ...then x - eps flips the relu
    with pytest.raises(KinkError, match="flipped"):
        check_layer(ReLU(), (5,), x=x)


def test_suite_covers_the_next_tutorials_layers():
    names = [check.name for check in SUITE]
    for layer in ("AveragePooling2D", "GlobalAveragePooling2D", "BatchNormalization"):
        assert any(name.startswith(layer + "(") for name in names), layer
    assert any(n.startswith("AveragePooling2D(") and "padding='same'" in n and "strides=2" in n for n in names)
    assert any(n.startswith("BatchNormalization(") and n.endswith("training") for n in names)   # batch stats
    assert any(n.startswith("BatchNormalization(") and not n.endswith("training") for n in names)  # moving
    assert "Activation('tanh') on (2, 5, 6, 2)" in " ".join(names) and any("'sigmoid'" in n for n in names)
    assert any(n.startswith("Conv2D(") and "use_bias=False" in n for n in names)
    assert any(n.startswith("Dense(") and "use_bias=False" in n for n in names)
