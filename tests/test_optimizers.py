"""RMSprop and SGD (momentum, Nesterov): the fused numba kernels against their loop-by-loop twins in
reference/, the optimizers against Keras's formulas (scratchcnn/gradcheck/optimizer_formulas.py) and against
numbers worked by hand, and the arguments they refuse. (Adam's are in test_layers.py and
test_kernels_vs_reference.py.)"""
import math

import numpy as np
import pytest

import reference.rmsprop
import reference.sgd
from scratchcnn import kernels, keras, optimizers
from scratchcnn.gradcheck import check_rmsprop, check_sgd, keras_rmsprop_reference, keras_sgd_reference, suite_checks
from scratchcnn.optimizers import SGD, RMSprop
from scratchcnn.tutorial import build_model, load_dataset

TOL = {np.float64: 1e-12, np.float32: 1e-5}
DTYPES = [np.float64, np.float32]
SHAPES = [(3, 3, 2, 5), (400, 130)]  # one thread; all threads (>= 50,000 entries)


def rel_diff(fast, ref) -> float:
    fast, ref = np.asarray(fast, np.float64), np.asarray(ref, np.float64)
    scale = np.max(np.abs(ref))
    return float(np.max(np.abs(fast - ref)) / scale) if scale > 0 else float(np.max(np.abs(fast)))


def gradients(rng, shape, dtype, steps=5):
    return [(rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 1)).astype(dtype) for _ in range(steps)]


# --- kernels against their twins ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_rmsprop_kernel_matches_reference(dtype, shape, momentum):
    rng = np.random.default_rng(0)
    fast = [rng.standard_normal(shape).astype(dtype), np.zeros(shape, dtype), np.zeros(shape, dtype)]
    slow = [a.copy() for a in fast]                                     # param, v, velocity
    for grad in gradients(rng, shape, dtype):
        kernels.rmsprop_update(fast[0], grad, fast[1], fast[2] if momentum else None, 1e-3, 0.9, momentum, 1e-7)
        reference.rmsprop.rmsprop_update(slow[0], grad, slow[1], slow[2], 1e-3, 0.9, momentum, 1e-7)
    for a, b in zip(fast, slow):
        assert a.dtype == b.dtype == dtype and rel_diff(a, b) <= TOL[dtype]
    assert (np.abs(fast[2]).max() > 0) == bool(momentum)                # the velocity is used only with momentum


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_kernel_matches_reference(dtype, shape, momentum, nesterov):
    rng = np.random.default_rng(1)
    fast = [rng.standard_normal(shape).astype(dtype), np.zeros(shape, dtype)]
    slow = [a.copy() for a in fast]                                      # param, velocity
    for grad in gradients(rng, shape, dtype):
        kernels.sgd_update(fast[0], grad, fast[1] if momentum else None, 0.01, momentum, nesterov)
        reference.sgd.sgd_update(slow[0], grad, slow[1], 0.01, momentum, nesterov)
    for a, b in zip(fast, slow):
        assert a.dtype == b.dtype == dtype and rel_diff(a, b) <= TOL[dtype]


# --- the optimizers against Keras's formulas and by hand ------------------------------------------------------------

@pytest.mark.parametrize("check", [check_rmsprop, lambda: check_rmsprop(momentum=0.9), check_sgd,
                                   lambda: check_sgd(momentum=0.9), lambda: check_sgd(momentum=0.5, nesterov=True)])
def test_optimizers_follow_kerass_formulas(check):
    results = check()
    assert len(results) == 2 and all(r.passed for r in results), [r.max_rel_error for r in results]


def test_gradcheck_lists_the_new_rows():
    names = [check.name for check in suite_checks()]
    for expected in ["RMSprop vs Keras's formula", "SGD with Nesterov momentum vs Keras's formula",
                     "categorical_crossentropy (probabilities), soft labels (4, 10)"]:
        assert expected in names


def test_rmsprop_first_step_by_hand():
    # Keras's docstring example: var 10, loss var**2 / 2 (gradient = var), lr 0.1 -> 9.683772
    var = np.array([10.0])
    RMSprop(learning_rate=0.1).step([var], [var.copy()])
    assert var[0] == pytest.approx(9.683772, abs=1e-6)
    # epsilon sits inside the square root: for a tiny gradient it dominates. g = 1e-4:
    # v = 0.1 * 1e-8 = 1e-9, step = 1e-3 * 1e-4 / sqrt(1e-9 + 1e-7) = 9.95e-6 (epsilon outside: 3.15e-3)
    p = np.zeros(1)
    RMSprop().step([p], [np.array([1e-4])])
    assert -p[0] == pytest.approx(1e-3 * 1e-4 / math.sqrt(1e-9 + 1e-7), rel=1e-12)
    (keras_p,) = keras_rmsprop_reference([np.zeros(1)], [[np.array([1e-4])]])
    assert keras_p[0] == pytest.approx(p[0], rel=1e-14)


def test_rmsprop_momentum_by_hand():
    p = np.zeros(1)
    opt = RMSprop(learning_rate=0.1, rho=0.5, momentum=0.5, epsilon=0.0)
    opt.step([p], [np.array([2.0])])      # v = 0.5 * 4 = 2;        inc = 0.2 / sqrt(2);  vel = inc
    first = 0.2 / math.sqrt(2)
    assert -p[0] == pytest.approx(first, rel=1e-12)
    opt.step([p], [np.array([2.0])])      # v = 1 + 2 = 3;          vel = 0.5 * first + 0.2 / sqrt(3)
    assert -p[0] == pytest.approx(first + 0.5 * first + 0.2 / math.sqrt(3), rel=1e-12)
    assert opt.velocities is not None and RMSprop().velocities is None


def test_sgd_nesterov_by_hand():
    p = np.array([1.0])
    opt = SGD(learning_rate=0.1, momentum=0.9, nesterov=True)
    opt.step([p], [np.array([1.0])])      # vel = -0.1;  p += 0.9 * -0.1 - 0.1 = -0.19
    np.testing.assert_allclose(p, [0.81])
    opt.step([p], [np.array([1.0])])      # vel = -0.19; p += 0.9 * -0.19 - 0.1 = -0.271
    np.testing.assert_allclose(p, [0.539])
    (keras_p,) = keras_sgd_reference([np.array([1.0])], [[np.array([1.0])]] * 2, lr=0.1, momentum=0.9,
                                     nesterov=True)
    np.testing.assert_allclose(keras_p, p, rtol=1e-15)


def test_get_knows_kerass_names():
    assert isinstance(optimizers.get("rmsprop"), RMSprop) and isinstance(optimizers.get("RMSprop"), RMSprop)
    assert isinstance(optimizers.get("SGD"), SGD) and optimizers.get("sgd").learning_rate == 0.01
    assert isinstance(optimizers.get("Adam"), optimizers.Adam)
    assert keras.optimizers.RMSprop is RMSprop


@pytest.mark.parametrize("make, words", [
    (lambda: SGD(momentum=-0.1), "SGD: momentum must be in [0, 1], got -0.1"),
    (lambda: SGD(momentum=1.5), "SGD: momentum must be in [0, 1], got 1.5"),
    (lambda: SGD(learning_rate=0), "SGD: learning_rate must be a number > 0, got 0"),
    (lambda: SGD(learning_rate=float("nan")), "SGD: learning_rate must be a number > 0"),
    (lambda: SGD(nesterov="yes"), "SGD: nesterov must be True or False"),
    (lambda: RMSprop(rho=1.0), "RMSprop: rho must be in [0, 1), got 1.0"),
    (lambda: RMSprop(rho=-0.5), "RMSprop: rho must be in [0, 1), got -0.5"),
    (lambda: RMSprop(momentum=-1), "RMSprop: momentum must be in [0, 1], got -1"),
    (lambda: RMSprop(epsilon=-1e-7), "RMSprop: epsilon must be in [0, inf), got -1e-07"),
    (lambda: RMSprop(rho="0.9"), "RMSprop: rho must be a number"),
    (lambda: RMSprop(centered=True), "centered=True is not implemented"),
])
def test_bad_arguments_are_refused(make, words):
    with pytest.raises((ValueError, TypeError)) as caught:
        make()
    assert words in str(caught.value)


@pytest.mark.parametrize("optimizer", [RMSprop(), SGD(learning_rate=0.05, momentum=0.9, nesterov=True)])
def test_they_train_the_tutorial_network(optimizer):
    (x_train, y_train), _ = load_dataset("digits")
    model = build_model(input_shape=(8, 8, 1), seed=0)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=3, verbose=0)
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.7
