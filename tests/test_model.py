"""Sequential, the way the Keras tutorial uses it: build, compile, fit, evaluate, predict, weights in and out.

Most tests train on scikit-learn's 8x8 digits (offline, an epoch takes a fraction of a second). The
tutorial network itself (28x28 inputs) is used where its sizes matter: parameter counts, summary(),
the order and shapes of its weights.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scratchcnn.datasets import digits
from scratchcnn.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from scratchcnn.model import History, Sequential
from scratchcnn.tutorial import build_model, load_dataset

REPO = Path(__file__).resolve().parents[1]
TUTORIAL_WEIGHT_SHAPES = [(3, 3, 1, 28), (28,), (4732, 128), (128,), (128, 10), (10,)]


@pytest.fixture(scope="module")
def data():
    """Digits as floats in [0, 1], shape (N, 8, 8, 1): (x_train, y_train), (x_test, y_test)."""
    return load_dataset("digits")


@pytest.fixture(scope="module")
def trained(data):
    """The tutorial network (on 8x8 inputs) after 4 epochs on digits: (model, history)."""
    (x_train, y_train), _ = data
    model = build_model(input_shape=(8, 8, 1), seed=0)
    history = model.fit(x_train, y_train, epochs=4, verbose=0)
    return model, history


def small_images(n=8, seed=0):
    """A few random 28x28 'images' for the tutorial-sized network."""
    return np.random.default_rng(seed).random((n, 28, 28, 1), dtype=np.float32)


def tutorial_like(units=128, input_shape=(28, 28, 1), seed=0):
    """The tutorial network with a different hidden width (a *different architecture* when units != 128)."""
    model = Sequential([
        Conv2D(28, kernel_size=(3, 3), input_shape=input_shape),
        MaxPooling2D(pool_size=(2, 2)),
        Flatten(),
        Dense(units, activation="relu"),
        Dropout(0.2),
        Dense(10, activation="softmax"),
    ], seed=seed)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


# --- the tutorial network: parameter counts and summary() ---------------------------------------------------

def test_tutorial_parameter_counts_match_keras():
    model = build_model()
    # conv: 3*3*1*28 + 28; dense: 4732*128 + 128; dense_1: 128*10 + 10; pooling, flatten, dropout: none
    assert [layer.count_params() for layer in model.layers] == [280, 0, 0, 605824, 0, 1290]
    assert model.count_params() == 607394


def test_summary_prints_keras_table():
    lines = []
    build_model().summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Layer (type)" in text and "Output Shape" in text and "Param #" in text
    rows = [[cell.strip() for cell in line.strip().strip("│").split("│")]
            for line in lines if line.startswith("│")]
    assert rows == [
        ["conv2d (Conv2D)", "(None, 26, 26, 28)", "280"],
        ["max_pooling2d (MaxPooling2D)", "(None, 13, 13, 28)", "0"],
        ["flatten (Flatten)", "(None, 4732)", "0"],
        ["dense (Dense)", "(None, 128)", "605,824"],
        ["dropout (Dropout)", "(None, 128)", "0"],
        ["dense_1 (Dense)", "(None, 10)", "1,290"],
    ]
    assert "Total params: 607,394" in text
    assert "Trainable params: 607,394" in text


# --- building ----------------------------------------------------------------------------------------------

def test_layers_are_built_lazily_from_the_first_predict(data):
    (x_train, _), _ = data
    model = Sequential([Conv2D(4, 3, activation="relu"), MaxPooling2D(), Flatten(),
                        Dense(10, activation="softmax")], seed=0)
    assert not model.built  # no input_shape anywhere: nothing can be built yet
    with pytest.raises(ValueError, match="not built"):
        model.summary(print_fn=lambda line: None)
    p = model.predict(x_train[:5])
    assert model.built and model.input_shape == (8, 8, 1)
    assert [layer.output_shape for layer in model.layers] == [(6, 6, 4), (3, 3, 4), (36,), (10,)]
    assert [w.shape for w in model.get_weights()] == [(3, 3, 1, 4), (4,), (36, 10), (10,)]
    assert p.shape == (5, 10)


def test_layers_are_built_lazily_from_the_first_fit(data):
    (x_train, y_train), _ = data
    model = Sequential([Flatten(), Dense(10, activation="softmax")], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train[:64], y_train[:64], epochs=1, verbose=0)
    assert model.built and model.layers[1].kernel.shape == (64, 10)


def test_sequential_add_builds_and_names_layers():
    model = Sequential(seed=0)
    model.add(Conv2D(28, kernel_size=(3, 3), input_shape=(28, 28, 1)))  # an input_shape builds at once
    assert model.built
    for layer in (MaxPooling2D(pool_size=(2, 2)), Flatten(), Dense(128, activation="relu"), Dropout(0.2),
                  Dense(10, activation="softmax")):
        model.add(layer)  # each new layer is built on top of the previous one
    assert [layer.name for layer in model.layers] == ["conv2d", "max_pooling2d", "flatten", "dense",
                                                       "dropout", "dense_1"]
    assert model.layers[-1].output_shape == (10,)
    assert model.count_params() == 607394
    with pytest.raises(TypeError):
        model.add("Dense(10)")


# --- fit and its History -----------------------------------------------------------------------------------

def test_fit_returns_history_and_the_loss_decreases(trained):
    _, history = trained
    assert isinstance(history, History)
    assert set(history.history) == {"loss", "accuracy"}
    assert len(history.history["loss"]) == len(history.history["accuracy"]) == 4
    assert history.epoch == [0, 1, 2, 3]
    assert len(history.epoch_seconds) == 4 and all(s > 0 for s in history.epoch_seconds)
    losses = history.history["loss"]
    assert all(later < losses[0] for later in losses[1:])
    assert losses[-1] < 0.5 * losses[0]
    assert history.history["accuracy"][-1] > history.history["accuracy"][0]


def test_fit_with_validation_data_adds_val_metrics(data):
    (x_train, y_train), (x_test, y_test) = data
    model = build_model(input_shape=(8, 8, 1), seed=0)
    history = model.fit(x_train[:128], y_train[:128], epochs=2, verbose=0,
                        validation_data=(x_test[:100], y_test[:100]))
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 2 for values in history.history.values())
    # the validation numbers are what evaluate() says after the epoch
    val_loss, val_accuracy = model.evaluate(x_test[:100], y_test[:100], verbose=0)
    assert history.history["val_accuracy"][-1] == pytest.approx(val_accuracy)
    assert history.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-5)


def test_fit_prints_keras_progress_lines(data, capsys):
    (x_train, y_train), _ = data
    model = build_model(input_shape=(8, 8, 1), seed=0)
    history = model.fit(x_train[:100], y_train[:100], batch_size=32, epochs=2)  # 100 / 32 -> 4 steps
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if line.startswith("Epoch")] == ["Epoch 1/2", "Epoch 2/2"]
    progress = [line for line in lines if not line.startswith("Epoch")]
    assert len(progress) == 2  # not a terminal: one finished line per epoch
    for epoch, line in enumerate(progress):
        # e.g. "4/4 ━━━━━━━━━━━━━━━━━━━━ 0s 3ms/step - accuracy: 0.1200 - loss: 2.2874"
        assert re.fullmatch(r"4/4 ━{20} \d+s \d+(s|ms|us)/step - accuracy: \d\.\d{4} - loss: \d+\.\d{4}",
                            line), line
        assert f"accuracy: {history.history['accuracy'][epoch]:.4f}" in line
        assert line.endswith(f"loss: {history.history['loss'][epoch]:.4f}")


def test_fit_verbose_0_prints_nothing(data, capsys):
    (x_train, y_train), _ = data
    build_model(input_shape=(8, 8, 1), seed=0).fit(x_train[:64], y_train[:64], verbose=0)
    assert capsys.readouterr().out == ""


def test_digits_training_beats_chance_by_far(trained, data):
    _, (x_test, y_test) = data
    model, _ = trained
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy > 0.8   # chance is 0.1; 4 epochs reach about 0.93
    assert loss < 0.7


# --- evaluate, predict, train_on_batch ---------------------------------------------------------------------

def test_evaluate_is_in_inference_mode(trained, data):
    _, (x_test, y_test) = data
    model, _ = trained
    first = model.evaluate(x_test, y_test, verbose=0)
    second = model.evaluate(x_test, y_test, verbose=0)
    assert len(first) == 2 and first == second  # dropout would draw new masks and change the numbers
    # and it agrees with predict (also inference mode), computed by hand
    p = model.predict(x_test)
    assert first[1] == pytest.approx(np.mean(p.argmax(axis=1) == y_test))
    assert first[0] == pytest.approx(-np.mean(np.log(p[np.arange(len(y_test)), y_test])), rel=1e-4)


def test_predict_returns_probabilities(trained, data):
    _, (x_test, _) = data
    model, _ = trained
    p = model.predict(x_test)
    assert p.shape == (len(x_test), 10) and p.dtype == np.float32
    assert (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)


def test_predict_does_not_depend_on_batch_size(trained, data):
    _, (x_test, _) = data
    model, _ = trained
    reference = model.predict(x_test, batch_size=32)
    for batch_size in (1, 7, 1000):
        np.testing.assert_allclose(model.predict(x_test, batch_size=batch_size), reference,
                                   rtol=1e-5, atol=1e-6)


def _held_batch_arrays(model, n):
    """Every array a layer still holds whose first axis is a multiple of the batch's n (a prime that divides
    no weight's first axis): the batch's activations, BatchNormalization's (N*H*W, C) rows."""
    return [f"{layer.name}.{name}" for layer in model.layers for name, value in vars(layer).items()
            if isinstance(value, np.ndarray) and value.ndim and value.shape[0] % n == 0]


@pytest.mark.parametrize("fuse", [True, False])
def test_inference_lets_go_of_each_batch(fuse):
    """predict, evaluate and model(x) keep no batch's activations: a batch of 1,000 images would otherwise
    hold its conv maps while the next batch makes its own, and after predict returns (peak memory)."""
    from scratchcnn.layers import Activation, AveragePooling2D, BatchNormalization, GlobalAveragePooling2D

    model = Sequential([Conv2D(8, 3, activation="relu", input_shape=(14, 14, 1)), MaxPooling2D(),
                        Conv2D(8, 3, padding="same"), BatchNormalization(), Activation("relu"),
                        AveragePooling2D(pool_size=1), Conv2D(8, 3, activation="relu"), MaxPooling2D(),
                        Conv2D(8, 1), GlobalAveragePooling2D(), Dense(12, activation="relu"), Dropout(0.2),
                        Dense(10, activation="softmax")], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fuse = fuse
    x = np.random.default_rng(0).random((13, 14, 14, 1), dtype=np.float32)
    y = np.arange(13) % 10
    model.fit(x, y, batch_size=13, epochs=1, verbose=0)
    assert _held_batch_arrays(model, 13)  # training keeps them for the backward: the check sees them
    for infer in (lambda: model.predict(x, batch_size=13), lambda: model.evaluate(x, y, batch_size=13, verbose=0),
                  lambda: model(x)):
        model.fit(x, y, batch_size=13, epochs=1, verbose=0)
        infer()
        assert _held_batch_arrays(model, 13) == []
        assert all(getattr(layer, name) is None for layer in model.layers for name in layer.kept)
    # and within a batch: when the last layer runs, no layer before it holds a batch's arrays (forward
    # would still hold every conv map here)
    last, seen = model.layers[-1], []
    own_forward = last.forward
    last.forward = lambda h, training=False: seen.append(_held_batch_arrays(model, 13)) or own_forward(h, training)
    model.predict(x, batch_size=13)
    assert seen == [[]]
    del last.forward
    before = model.predict(x, batch_size=5)
    model.fit(x, y, batch_size=13, epochs=1, verbose=0)  # and training still works after it
    assert not np.array_equal(model.predict(x, batch_size=5), before)


def test_train_on_batch_returns_loss_and_accuracy_before_the_update(data):
    (x_train, y_train), _ = data
    x, y = x_train[:32], y_train[:32]
    # no dropout here, so the training forward pass equals predict's
    model = Sequential([Flatten(input_shape=(8, 8, 1)), Dense(10, activation="softmax")], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    p = model.predict(x)
    before = model.get_weights()
    loss, accuracy = model.train_on_batch(x, y)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(32), y])), rel=1e-5)
    assert accuracy == pytest.approx(np.mean(p.argmax(axis=1) == y))
    assert not np.array_equal(model.get_weights()[0], before[0])  # one Adam step was taken
    for _ in range(20):
        later_loss, _ = model.train_on_batch(x, y)
    assert later_loss < loss


# --- reproducibility ---------------------------------------------------------------------------------------

def test_same_seed_same_bits_other_seed_other_bits(data):
    (x_train, y_train), _ = data

    def train(seed):
        model = build_model(input_shape=(8, 8, 1), seed=seed)
        history = model.fit(x_train[:192], y_train[:192], epochs=2, verbose=0)
        return model.get_weights(), history.history

    weights_a, history_a = train(0)
    weights_b, history_b = train(0)
    weights_c, history_c = train(1)
    assert all(np.array_equal(a, b) for a, b in zip(weights_a, weights_b))  # initial weights, shuffling and
    assert history_a == history_b                                            # dropout: all from the seed
    assert not np.array_equal(weights_a[0], weights_c[0])
    assert history_a != history_c


# --- weights in and out ------------------------------------------------------------------------------------

def test_get_weights_in_keras_order():
    weights = build_model(seed=0).get_weights()
    # [conv kernel, conv bias, dense kernel, dense bias, dense_1 kernel, dense_1 bias]
    assert [w.shape for w in weights] == TUTORIAL_WEIGHT_SHAPES
    assert all(w.dtype == np.float32 for w in weights)


def test_get_weights_returns_copies():
    model = build_model(seed=0)
    weights = model.get_weights()
    weights[0][...] = 123.0
    assert not np.any(model.get_weights()[0] == 123.0)


def test_set_weights_checks_shapes_and_count():
    model = build_model(seed=0)
    weights = model.get_weights()
    weights[0] = np.zeros((3, 3, 1, 32), np.float32)
    with pytest.raises(ValueError, match=r"\(3, 3, 1, 28\).*\(3, 3, 1, 32\)"):
        model.set_weights(weights)
    with pytest.raises(ValueError, match="6 weight arrays"):
        model.set_weights(model.get_weights()[:4])


def test_set_weights_copies_a_model():
    x = small_images()
    source, target = build_model(seed=0), build_model(seed=1)
    assert not np.array_equal(source.predict(x), target.predict(x))
    target.set_weights(source.get_weights())
    np.testing.assert_array_equal(target.predict(x), source.predict(x))


def test_save_and_load_weights_round_trip(tmp_path):
    x = small_images()
    source = build_model(seed=0)
    path = tmp_path / "model.weights.npz"
    source.save_weights(path)
    assert path.exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")]  # atomic: no leftovers
    target = build_model(seed=1)
    target.load_weights(path)
    np.testing.assert_array_equal(target.predict(x), source.predict(x))
    for a, b in zip(target.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_load_weights_into_an_unbuilt_model_builds_it(tmp_path):
    path = tmp_path / "model.weights.npz"
    source = tutorial_like(input_shape=(8, 8, 1))
    source.save_weights(path)
    target = Sequential([Conv2D(28, kernel_size=(3, 3)), MaxPooling2D(pool_size=(2, 2)), Flatten(),
                         Dense(128, activation="relu"), Dropout(0.2), Dense(10, activation="softmax")])
    target.load_weights(path)
    x = small_images()[:, :8, :8, :]
    np.testing.assert_array_equal(target.predict(x), source.predict(x))


def test_save_weights_refuses_other_file_names(tmp_path):
    with pytest.raises(ValueError, match=r"\.npz"):
        build_model(seed=0).save_weights(tmp_path / "model.h5")
    assert list(tmp_path.iterdir()) == []


def test_load_weights_of_another_architecture_names_both(tmp_path):
    path = tmp_path / "model.weights.npz"
    build_model(seed=0).save_weights(path)
    other = tutorial_like(units=64)
    with pytest.raises(ValueError, match="another architecture") as caught:
        other.load_weights(path)
    message = str(caught.value)
    assert "units=128" in message and "units=64" in message


def test_load_weights_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no weights file"):
        build_model(seed=0).load_weights(tmp_path / "nothing.npz")


# --- float64 -----------------------------------------------------------------------------------------------

def test_float64_model_stays_float64(data):
    (x_train, y_train), _ = data
    model = build_model(input_shape=(8, 8, 1), seed=0, dtype="float64")
    assert all(w.dtype == np.float64 for w in model.get_weights())
    model.fit(x_train[:128], y_train[:128], epochs=1, verbose=0)  # float32 inputs are converted
    assert all(w.dtype == np.float64 for w in model.get_weights())
    assert model.predict(x_train[:10]).dtype == np.float64
    loss, accuracy = model.evaluate(x_train[:64], y_train[:64], verbose=0)
    assert np.isfinite(loss) and 0 <= accuracy <= 1
    with pytest.raises(ValueError, match="float32"):
        Sequential(dtype="float16")


# --- mistakes a user can make ------------------------------------------------------------------------------

def test_images_without_channel_axis_suggest_reshape():
    model = build_model(seed=0)
    x = small_images()[..., 0]  # (8, 28, 28): what mnist.load_data() gives before the tutorial's reshape
    with pytest.raises(ValueError, match="reshape"):
        model.predict(x)
    with pytest.raises(ValueError, match="reshape"):
        model.fit(x, np.zeros(8, np.int64), verbose=0)


def test_label_errors_are_explained():
    model = build_model(seed=0)
    x = small_images()
    with pytest.raises(ValueError, match="8 samples but its labels have 7"):
        model.fit(x, np.zeros(7, np.int64), verbose=0)
    with pytest.raises(ValueError, match=r"\[0, 9\]"):
        model.fit(x, np.full(8, 10), verbose=0)
    with pytest.raises(ValueError, match=r"\[0, 9\]"):
        model.evaluate(x, np.full(8, -1), verbose=0)


def test_empty_input_is_refused():
    model = build_model(seed=0)
    empty = np.zeros((0, 28, 28, 1), np.float32)
    with pytest.raises(ValueError, match="empty"):
        model.predict(empty)
    with pytest.raises(ValueError, match="empty"):
        model.fit(empty, np.zeros(0, np.int64), verbose=0)


def test_unscaled_uint8_pixels_warn():
    (x_raw, y_raw), _ = digits.load_data()  # uint8 0..255, like mnist.load_data()
    model = build_model(input_shape=(8, 8, 1), seed=0)
    with pytest.warns(UserWarning, match="/ 255"):
        model.predict(x_raw[:16].reshape(-1, 8, 8, 1))


def test_training_without_compile_says_so():
    model = Sequential([Flatten(input_shape=(28, 28, 1)), Dense(10, activation="softmax")])
    x, y = small_images(), np.zeros(8, np.int64)
    for call in (lambda: model.fit(x, y, verbose=0), lambda: model.evaluate(x, y, verbose=0),
                 lambda: model.train_on_batch(x, y)):
        with pytest.raises(RuntimeError, match="compile"):
            call()
    assert model.predict(x).shape == (8, 10)  # predicting needs no loss or optimizer


# --- no deep-learning framework underneath -----------------------------------------------------------------

def test_import_pulls_in_no_deep_learning_framework():
    code = ("import sys, scratchcnn, scratchcnn.tutorial\n"
            "loaded = [m for m in ('torch', 'tensorflow', 'jax', 'keras') if m in sys.modules]\n"
            "assert not loaded, loaded\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr


# --- the fused Conv2D -> MaxPooling2D backward (scratchcnn/fusion.py) ---------------------------------------
@pytest.mark.parametrize("activation", [None, "relu"])
def test_fused_conv_pool_gives_the_layers_own_outputs_and_gradients(activation):
    outputs, grads = [], []
    for fuse in (True, False):
        model = Sequential([
            Conv2D(6, kernel_size=(3, 3), activation=activation, input_shape=(11, 10, 2)),
            MaxPooling2D(pool_size=(2, 2)),
            Flatten(),
            Dense(10, activation="softmax"),
        ], seed=3, dtype="float64")
        model.compile()
        model.fuse = fuse
        x = np.random.default_rng(1).standard_normal((5, 11, 10, 2))
        outputs.append(model.predict(x))
        model.train_on_batch(x, np.arange(5))
        grads.append([g.copy() for g in model.grads])
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-12, atol=1e-15)
    for fused, unfused in zip(*grads):
        np.testing.assert_allclose(fused, unfused, rtol=1e-12, atol=1e-14)
    assert np.abs(grads[0][0]).max() > 0  # the conv kernel really got a gradient


def _step_kinds(model):
    return [(type(step).__name__, [layer.name for layer in step.layers]) for step in model.plan.steps]


def test_fusion_applies_only_where_the_conv_needs_no_input_gradient():
    from scratchcnn.plan import ConvPoolStep
    first = tutorial_like()
    first.build((28, 28, 1))
    assert ConvPoolStep.accepts(first.layers[0], first.layers[1])
    second = Sequential([
        Conv2D(2, 3, input_shape=(9, 9, 1)), Conv2D(3, 3), MaxPooling2D(2), Flatten(), Dense(2)])
    second.build((9, 9, 1))
    assert not ConvPoolStep.accepts(second.layers[1], second.layers[2])  # its input gradient is needed
    strided = Sequential([Conv2D(2, 3, strides=2, input_shape=(9, 9, 1)), MaxPooling2D(2)])
    strided.build((9, 9, 1))
    assert not ConvPoolStep.accepts(strided.layers[0], strided.layers[1])


def test_the_plan_names_its_fused_steps_and_fuse_false_turns_them_off(capsys):
    tutorial = tutorial_like()
    assert _step_kinds(tutorial) == [("ConvPoolStep", ["conv2d", "max_pooling2d"]), ("LayerStep", ["flatten"]),
                                     ("LayerStep", ["dense"]), ("LayerStep", ["dropout"]),
                                     ("SoftmaxCrossEntropyStep", ["dense_1"])]
    tutorial.summary()
    printed = capsys.readouterr().out
    assert "conv2d + max_pooling2d: Conv2D + MaxPooling2D" in printed and "dense_1 (+ loss)" in printed
    tutorial.fuse = False
    assert {kind for kind, _ in _step_kinds(tutorial)} == {"LayerStep"}
    tutorial.summary()
    assert "Fused steps" not in capsys.readouterr().out
    assert not Sequential([Dense(2, input_shape=(3,))], fuse=False).plan.steps[0].fused


# --- a subclass of a built-in layer runs its own code (never a fused step) ---------------------------------
class HalfPool(MaxPooling2D):
    """A learner's variation: max pooling, halved."""

    def forward(self, x, training=False):
        return 0.5 * super().forward(x, training)

    def backward(self, dy):
        return super().backward(0.5 * dy)


class AveragePoolByHand(MaxPooling2D):
    """Average pooling written by subclassing MaxPooling2D (2x2, stride 2)."""

    def forward(self, x, training=False):
        n, h, w, c = x.shape
        self.x_shape = x.shape
        return x.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))

    def backward(self, dy):
        return np.repeat(np.repeat(dy, 2, axis=1), 2, axis=2) / 4

    def kinks(self, x):
        return [], float("inf")


class TwiceDense(Dense):
    def forward(self, x, training=False):
        return 2.0 * super().forward(x, training)

    def backward(self, dy):
        return super().backward(2.0 * dy)


def chained_forward(model, x):
    for layer in model.layers:
        x = layer.forward(x, training=False)
    return x


@pytest.mark.parametrize("pool_class", [HalfPool, AveragePoolByHand])
def test_a_subclass_runs_its_own_code_in_fit_evaluate_and_predict(pool_class):
    from scratchcnn.gradcheck import check_model
    model = Sequential([Conv2D(4, 3, input_shape=(10, 10, 1)), pool_class((2, 2)), Flatten(),
                        TwiceDense(10, activation="softmax")], seed=0, dtype="float64")
    model.compile()
    assert [type(step).__name__ for step in model.plan.steps] == ["LayerStep"] * 4
    x = np.random.default_rng(0).random((6, 10, 10, 1))
    y = np.arange(6)
    np.testing.assert_allclose(model.predict(x), chained_forward(model, x), rtol=1e-13)
    loss, _ = model.evaluate(x, y, verbose=0)
    p = chained_forward(model, x)
    assert loss == pytest.approx(-np.log(np.clip(p[np.arange(6), y], 1e-7, 1 - 1e-7)).mean(), rel=1e-12)
    model.fit(x, y, epochs=2, verbose=0)
    results = check_model(model, x[:2], y[:2])                # the checker handles it: every gradient right
    assert results and all(r.passed for r in results), [(r.tensor, r.max_rel_error) for r in results]


def test_the_checker_handles_a_subclass_with_the_parent_kinks():
    from scratchcnn.gradcheck import check_layer
    results = check_layer(HalfPool(2), (6, 6, 2), x=np.random.default_rng(0).permutation(72).reshape(1, 6, 6, 2) / 7.0)
    assert all(r.passed for r in results)


def test_a_model_ending_in_the_pair_trains_through_the_fused_step():
    model = Sequential([Conv2D(2, 3, input_shape=(6, 6, 1)), MaxPooling2D(2), Flatten()], seed=0,
                       dtype="float64")
    model.compile(loss="sparse_categorical_crossentropy")
    assert type(model.plan.steps[0]).__name__ == "ConvPoolStep"
    x = np.random.default_rng(0).random((3, 6, 6, 1))
    model.train_on_batch(x, np.array([0, 3, 7]))
    fused_grads = [g.copy() for g in model.grads]
    model.fuse = False
    model.train_on_batch(x, np.array([0, 3, 7]))  # same weights? no: one Adam step happened; compare grads only
    assert np.abs(fused_grads[0]).max() > 0


# --- Keras's ways of writing a model: Input first, a model as a layer, model(x) ----------------------------
def test_input_first_builds_the_model_and_is_not_a_layer(capsys):
    import scratchcnn as tf
    model = tf.keras.Sequential([tf.keras.Input(shape=(28, 28, 1)), Conv2D(4, 3), Flatten(), Dense(10)])
    assert model.built and model.input_shape == (28, 28, 1) and len(model.layers) == 3
    model.summary()
    assert "Input" not in capsys.readouterr().out
    with pytest.raises(ValueError, match="must come first"):
        Sequential([Dense(2, input_shape=(3,)), tf.keras.Input(shape=(3,))])
    with pytest.raises(ValueError, match="without the batch axis"):
        tf.keras.Input(shape="28x28")


def test_a_trained_model_is_a_layer_of_another_with_its_weights_shared():
    from scratchcnn.layers import Softmax
    base = Sequential([Flatten(input_shape=(4, 4, 1)), Dense(8, activation="relu"), Dense(3)], seed=0)
    base.compile(loss=__import__("scratchcnn").losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(0).random((6, 4, 4, 1), dtype=np.float32)
    base.fit(x, np.arange(6) % 3, epochs=2, verbose=0)
    logits = base.predict(x)
    probability_model = Sequential([base, Softmax()])
    assert probability_model.layers[:3] == base.layers            # the same layer objects
    probabilities = probability_model.predict(x)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(probabilities, e / e.sum(axis=1, keepdims=True), rtol=1e-5)


def test_calling_the_model_runs_one_forward_pass():
    model = Sequential([Flatten(input_shape=(4, 4, 1)), Dense(16), Dropout(0.5), Dense(3)], seed=0)
    x = np.random.default_rng(0).random((5, 4, 4, 1))             # float64, as x / 255.0 gives
    np.testing.assert_allclose(model(x), model.predict(x), rtol=1e-6)
    assert not np.allclose(model(x, training=True), model(x))    # dropout on
    assert model(x).dtype == np.float32


def test_load_model_rebuilds_a_saved_model_from_its_record(tmp_path):
    from scratchcnn.layers import BatchNormalization, GlobalAveragePooling2D
    from scratchcnn.models import load_model

    model = Sequential([Conv2D(4, 3, padding="same", activation="relu", input_shape=(10, 9, 2)), BatchNormalization(),
                        MaxPooling2D(2), Conv2D(5, (2, 3), strides=2, use_bias=False), GlobalAveragePooling2D(),
                        Dropout(0.3), Dense(3, activation="softmax")], seed=4)
    model.compile()
    x = np.random.default_rng(0).random((12, 10, 9, 2), dtype=np.float32)
    model.fit(x, np.arange(12) % 3, epochs=1, verbose=0)     # BatchNormalization's moving statistics move
    model.save_weights(tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.architecture() == model.architecture()
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    with pytest.raises(RuntimeError, match="compile"):         # the file keeps no optimizer: compile first
        loaded.fit(x, np.arange(12) % 3, verbose=0)


def test_load_model_refuses_a_record_its_layers_cannot_be_built_from(tmp_path):
    from scratchcnn import weights_file
    from scratchcnn.models import load_model

    model = Sequential([Flatten(input_shape=(4, 4, 1)), Dense(3, activation="softmax")], seed=0)
    record = model.architecture()
    record["layers"][1]["activation"] = "bogus"
    weights_file.save(tmp_path / "m.npz", model.get_weights(), record)
    with pytest.raises(weights_file.WeightsFileError, match=r"layer 1 \(Dense\) cannot be rebuilt .*damaged"):
        load_model(tmp_path / "m.npz")
