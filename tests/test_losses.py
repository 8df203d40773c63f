"""The loss objects (sparse and categorical cross-entropy), their label checks, to_categorical, and training
with one-hot labels. The numbers come from the formulas in scratchcnn/losses.py and Keras's own examples."""
import math

import numpy as np
import pytest

import reference.layers
import reference.losses
import scratchcnn
from scratchcnn import activations, keras, losses
from scratchcnn.tutorial import build_model, load_dataset
from scratchcnn.utils import to_categorical


def rel_diff(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


# --- to_categorical ------------------------------------------------------------------------------------------

def test_to_categorical_is_kerass():
    one_hot = to_categorical([2, 0, 1])
    assert one_hot.dtype == np.float64                                # Keras 3 returns float64
    np.testing.assert_array_equal(one_hot, [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    assert to_categorical(np.array([3, 1], np.uint8), num_classes=10).shape == (2, 10)
    assert to_categorical(np.array([[3], [1]]), 5).shape == (2, 5)      # a trailing axis of 1 is dropped
    assert to_categorical(np.array([[3, 1]]), 5).shape == (1, 2, 5)
    np.testing.assert_array_equal(to_categorical(np.array([1.0, 0.0])), [[0, 1], [1, 0]])
    assert scratchcnn.utils.to_categorical is keras.utils.to_categorical is to_categorical


@pytest.mark.parametrize("y, num_classes, words", [
    ([0, 10], 10, "label 10 does not fit num_classes=10"),
    ([0, -1], 10, "labels >= 0, got -1"),
    ([0.5, 1.0], None, "not whole numbers"),
    (["a"], None, "integer class labels"),
    ([1, 2], 0, "num_classes must be a whole number >= 1"),
])
def test_to_categorical_refuses_what_is_not_labels(y, num_classes, words):
    with pytest.raises(ValueError, match=words):
        to_categorical(y, num_classes)


# --- categorical cross-entropy: the numbers ---------------------------------------------------------------------

def test_categorical_matches_kerass_doc_example():
    # keras.backend.categorical_crossentropy's docstring: per sample [0.10536, 0.11653, 0.06188]
    y = np.eye(3)
    p = np.array([[.9, .05, .05], [.05, .89, .06], [.05, .01, .94]])
    loss, _ = losses.categorical_crossentropy(p, y)
    assert loss == pytest.approx(np.mean([0.10536, 0.11653, 0.06188]), abs=1e-5)
    assert losses.CategoricalCrossentropy()(y, p) == pytest.approx(loss)
    assert losses.CategoricalCrossentropy()(y, y) == pytest.approx(-math.log(1 - 1e-7), abs=1e-12)  # clipped


def test_one_hot_categorical_equals_sparse_both_ways():
    rng = np.random.default_rng(0)
    z = 3 * rng.standard_normal((6, 10))
    y = rng.integers(0, 10, 6)
    sparse = losses.SparseCategoricalCrossentropy(from_logits=True)
    categorical = losses.CategoricalCrossentropy(from_logits=True)
    (a, da), (b, db) = sparse.forward_backward(z, y), categorical.forward_backward(z, to_categorical(y, 10))
    assert a == pytest.approx(b, rel=1e-14) and rel_diff(db, da) < 1e-14
    p = activations.softmax(z)
    (a, da), (b, db) = (losses.SparseCategoricalCrossentropy().forward_backward(p, y),
                        losses.CategoricalCrossentropy().forward_backward(p, to_categorical(y, 10)))
    assert a == pytest.approx(b, rel=1e-12)
    # the gradients differ by a constant per row (Keras rescales p to sum 1): nothing after a softmax
    shift = db - da
    np.testing.assert_allclose(shift, np.broadcast_to(shift[:, :1], shift.shape), atol=1e-12)
    softmax_backward = activations.softmax.backward(z, p, shift)
    np.testing.assert_allclose(softmax_backward, 0, atol=1e-12)


def test_soft_labels_and_rescaling():
    p = np.array([[0.2, 0.3, 0.5]])
    y = np.array([[0.5, 0.5, 0.0]])
    loss, dp = losses.categorical_crossentropy(p, y)
    assert loss == pytest.approx(-(0.5 * math.log(0.2) + 0.5 * math.log(0.3)))
    loss_scaled, dp_scaled = losses.categorical_crossentropy(2 * p, y)   # rows are rescaled to sum 1 first
    assert loss_scaled == pytest.approx(loss) and rel_diff(2 * dp_scaled, dp) < 1e-12
    z = np.log(p)
    loss_z, dz = losses.categorical_crossentropy_from_logits(z, y)
    assert loss_z == pytest.approx(loss) and rel_diff(dz, p - y) < 1e-12   # (softmax - y) / N, N = 1


def test_categorical_matches_its_reference_twins():
    rng = np.random.default_rng(6)
    z = 3 * rng.standard_normal((5, 10))
    rows = rng.random((5, 10))
    rows /= rows.sum(axis=1, keepdims=True)
    for fast, slow, inputs in [
        (losses.categorical_crossentropy_from_logits, reference.losses.categorical_crossentropy_from_logits, z),
        (losses.categorical_crossentropy, reference.losses.categorical_crossentropy,
         1.3 * reference.layers.softmax_forward(z)),
    ]:
        inputs = inputs.copy()
        inputs[0, 0] = 1e-9 if fast is losses.categorical_crossentropy else inputs[0, 0]  # one clipped entry
        (loss, grad), (loss_ref, grad_ref) = fast(inputs, rows), slow(inputs, rows)
        assert abs(loss - loss_ref) <= 1e-12 * abs(loss_ref) and rel_diff(grad, grad_ref) <= 1e-12


def test_float32_outputs_keep_their_dtype():
    z = np.random.default_rng(0).standard_normal((4, 10)).astype(np.float32)
    y = to_categorical([1, 2, 3, 4], 10)                                 # float64 labels
    for fn in (losses.categorical_crossentropy_from_logits, losses.categorical_crossentropy):
        assert fn(z if fn is losses.categorical_crossentropy_from_logits else activations.softmax(z), y)[1].dtype \
            == np.float32


# --- the objects: get, call, targets -------------------------------------------------------------------------------

def test_get_knows_the_keras_names_and_objects():
    assert isinstance(losses.get("categorical_crossentropy"), losses.CategoricalCrossentropy)
    assert isinstance(losses.get("sparse_categorical_crossentropy"), losses.SparseCategoricalCrossentropy)
    mine = losses.CategoricalCrossentropy(from_logits=True)
    assert losses.get(mine) is mine and mine.from_logits and mine.name == "categorical_crossentropy"
    assert isinstance(losses.get(losses.CategoricalCrossentropy), losses.CategoricalCrossentropy)
    assert isinstance(losses.get(keras.losses.categorical_crossentropy), losses.CategoricalCrossentropy)
    assert isinstance(losses.get(losses.sparse_categorical_crossentropy), losses.SparseCategoricalCrossentropy)
    with pytest.raises(ValueError, match="'sparse_categorical_crossentropy' and 'categorical_crossentropy'"):
        losses.get("mse")
    with pytest.raises(TypeError, match="from_logits must be True or False"):
        losses.CategoricalCrossentropy(from_logits="yes")
    assert keras.losses.CategoricalCrossentropy is losses.CategoricalCrossentropy
    assert keras.callbacks.EarlyStopping.__name__ == "EarlyStopping"


def test_the_objects_are_callable_keras_style():
    z = np.random.default_rng(1).standard_normal((4, 10))
    y = np.array([3, 0, 9, 3])
    expected = losses.sparse_categorical_crossentropy_from_logits(z, y)[0]
    assert losses.CategoricalCrossentropy(from_logits=True)(to_categorical(y, 10), z) == pytest.approx(expected)
    assert losses.CategoricalCrossentropy()(to_categorical(y, 10), activations.softmax(z)) == pytest.approx(expected)
    assert losses.SparseCategoricalCrossentropy(from_logits=True)(y.reshape(-1, 1), z) == pytest.approx(expected)
    with pytest.raises(ValueError, match="y_true has shape"):                     # labels named as Keras names them
        losses.CategoricalCrossentropy()(y, activations.softmax(z))


CATEGORICAL_CASES = [  # (test id, labels for 4 samples of 10 classes, words the message must contain)
    ("integer labels", np.array([1, 2, 3, 4]), ["integer class labels", "to_categorical(y, 10)",
                                                "loss='sparse_categorical_crossentropy'"]),
    ("a column of labels", np.array([[1], [2], [3], [4]]), ["integer class labels"]),
    ("wrong width", np.eye(4), ["rows have 4 entries but the model has 10 outputs"]),
    ("negative", np.eye(10)[:4] * 2 - np.eye(10)[4:8], ["finite values >= 0", "rows that do not"]),
    ("NaN", np.where(np.eye(10)[:4] == 1, np.nan, 0), ["finite values >= 0"]),
    ("not summing to 1", np.eye(10)[:4] * 0.5, ["sum to 1", "row 0 sums to 0.5"]),
    ("3-D", np.zeros((4, 10, 1)), ["shape (N, 10)"]),
    ("strings", np.array([["a"] * 10] * 4), ["must hold numbers"]),
]


@pytest.mark.parametrize("y, words", [pytest.param(y, w, id=i) for i, y, w in CATEGORICAL_CASES])
def test_categorical_targets_explain_the_problem(y, words):
    with pytest.raises((ValueError, TypeError)) as caught:
        losses.CategoricalCrossentropy().targets(y, 10, "y")
    for word in words:
        assert word in str(caught.value)


def test_targets_accept_what_keras_accepts():
    rows = losses.CategoricalCrossentropy().targets(to_categorical([1, 2]).astype(np.float32)[:, :3], 3, "y")
    assert rows.dtype == np.float64 and rows.shape == (2, 3)
    soft = np.full((2, 10), 0.1, np.float32)                              # float32 soft rows: sums within 1e-3
    assert losses.CategoricalCrossentropy().targets(soft, 10, "y").shape == (2, 10)
    np.testing.assert_array_equal(losses.SparseCategoricalCrossentropy().targets([[4], [5]], 10, "y"), [4, 5])
    with pytest.raises(ValueError, match="loss='categorical_crossentropy'"):   # sparse given one-hot rows
        losses.SparseCategoricalCrossentropy().targets(np.eye(10)[:2], 10, "y")


# --- training with one-hot labels -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def digits_small():
    (x_train, y_train), (x_test, y_test) = load_dataset("digits")
    return x_train, y_train, x_test, y_test


def test_one_hot_training_is_the_same_training(digits_small):
    """categorical_crossentropy on to_categorical(y) trains the very same weights as the sparse loss on y."""
    x, y, x_test, y_test = digits_small
    runs = []
    for loss, labels, test_labels in [("sparse_categorical_crossentropy", y, y_test),
                                      ("categorical_crossentropy", to_categorical(y, 10), to_categorical(y_test, 10))]:
        model = build_model(input_shape=(8, 8, 1), seed=3)
        model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
        history = model.fit(x, labels, epochs=2, batch_size=32, verbose=0,
                            validation_data=(x_test, test_labels))
        runs.append((model.get_weights(), history.history, model.evaluate(x_test, test_labels, verbose=0)))
    (w_sparse, h_sparse, e_sparse), (w_cat, h_cat, e_cat) = runs
    assert all(np.array_equal(a, b) for a, b in zip(w_sparse, w_cat))
    assert sorted(h_cat) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    for key in h_sparse:
        np.testing.assert_allclose(h_cat[key], h_sparse[key], rtol=1e-6)
    np.testing.assert_allclose(e_cat, e_sparse, rtol=1e-6)
    assert e_cat[1] > 0.3                                               # it learned something (chance 0.1)


def test_from_logits_objects_train_a_model_without_softmax(digits_small):
    x, y, _, _ = digits_small
    model = scratchcnn.Sequential([scratchcnn.Flatten(input_shape=(8, 8, 1)), scratchcnn.Dense(10)], seed=0)
    model.compile(optimizer="adam", loss=losses.CategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    history = model.fit(x, to_categorical(y, 10), epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_one_hot_labels_of_the_wrong_width_are_refused_before_training(digits_small):
    x, y, _, _ = digits_small
    model = build_model(input_shape=(8, 8, 1), seed=0)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match="rows have 9 entries but the model has 10 outputs"):
        model.fit(x, to_categorical(y % 9, 9), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="x has 1347 samples but its labels have 1346"):
        model.fit(x, to_categorical(y, 10)[:-1], epochs=1, verbose=0)
    with pytest.raises(ValueError, match="validation_data y has shape"):
        model.fit(x, to_categorical(y, 10), epochs=1, verbose=0, validation_data=(x, y))
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_the_fused_gradient_is_exact_for_rows_a_little_off_1():
    """Rows summing to 1 within the 1e-3 targets allows (float32 soft labels): the gradient is still the
    derivative of the loss, p * sum(Y) - Y, checked by central differences."""
    from scratchcnn.gradcheck import check_loss

    rng = np.random.default_rng(2)
    rows = rng.random((3, 10))
    rows *= 1.0005 / rows.sum(axis=1, keepdims=True)
    losses.CategoricalCrossentropy().targets(rows, 10, "y")                  # accepted
    result = check_loss(losses.categorical_crossentropy_from_logits, rng.standard_normal((3, 10)), rows)
    assert result.passed, result.max_rel_error
