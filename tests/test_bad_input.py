"""Every wrong thing a user can hand scratchcnn is refused at once, with a message naming the argument, what
it got and what was expected, and nothing changes: not the model's weights, not its random generator,
not a file on disk. docs/errors.md shows each message.

The model is the tutorial network on 8x8 inputs (the scikit-learn digits size): fast, same layers.
"""
import hashlib
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from scratchcnn.callbacks import Callback, ModelCheckpoint
from scratchcnn.tools.cli import main
from scratchcnn.layers import Conv2D, Dense, Flatten, MaxPooling2D
from scratchcnn.model import Sequential
from scratchcnn.tutorial import build_model

REPO = Path(__file__).resolve().parents[1]
N = 16


def images(n=N, seed=0):
    return np.random.default_rng(seed).random((n, 8, 8, 1), dtype=np.float32)


def labels(n=N):
    return np.arange(n) % 10


def state(model):
    """What a refused call must leave alone: the weights and the seeded generator."""
    return [w.copy() for w in model.get_weights()], model.rng.bit_generator.state


def assert_unchanged(model, before):
    weights, rng_state = before
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), weights))
    assert model.rng.bit_generator.state == rng_state


def listing(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones too) -> its SHA-256."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def model():
    return build_model(input_shape=(8, 8, 1), seed=0)


# --- the arrays: shape, dtype, values ----------------------------------------------------------------------

X_CASES = [  # (test id, bad x, exception, words the message must contain)
    ("no channel axis", images()[..., 0], ValueError,
     ["x has shape (16, 8, 8)", "expects (batch, 8, 8, 1)", "add the channel axis: x.reshape(-1, 8, 8, 1)"]),
    ("flat rows", images().reshape(N, 64), ValueError,
     ["x has shape (16, 64)", "expects (batch, 8, 8, 1)", "x.reshape(-1, 8, 8, 1)"]),
    ("one image without batch axis", images()[0], ValueError,
     ["x has shape (8, 8, 1)", "batch of one: x[None]"]),
    ("wrong image size", np.zeros((N, 28, 28, 1), np.float32), ValueError,
     ["x has shape (16, 28, 28, 1)", "expects (batch, 8, 8, 1)"]),
    ("scalar", np.float32(0.5), ValueError, ["x needs a batch axis first", "shape ()"]),
    ("bool", images() > 0.5, TypeError, ["x must be an array of numbers", "dtype bool", "astype('float32')"]),
    ("object", images().astype(object), TypeError, ["x must be an array of numbers", "dtype object"]),
    ("strings", np.full((N, 8, 8, 1), "7"), TypeError, ["x must be an array of numbers", "dtype <U1"]),
    ("ragged list", [[0.0, 1.0], [0.0]], ValueError, ["x cannot be made into an array"]),
    ("empty", np.zeros((0, 8, 8, 1), np.float32), ValueError, ["x is empty (0 samples)"]),
]


def with_bad_values(nan=0, inf=0):
    x = images()
    flat = x.reshape(-1)
    flat[[3, 70, 200][:nan]] = np.nan       # samples 0, 1, 3
    flat[[5, 900][:inf]] = np.inf           # samples 0, 14
    return x


X_CASES += [
    ("NaN", with_bad_values(nan=3), ValueError,
     ["x holds 3 NaN and 0 infinite values", "in 3 of its 16 samples", "the first is x[0]", "finite"]),
    ("inf", with_bad_values(inf=2), ValueError, ["x holds 0 NaN and 2 infinite values", "in 2 of its 16 samples"]),
    ("float64 beyond float32", np.where(np.arange(N * 64).reshape(N, 8, 8, 1) % 200 == 7, 1e300, 0.5), ValueError,
     ["x holds 0 NaN and 6 infinite values (after conversion to float32)", "in 6 of its 16 samples"]),
]


def calls(model, x, y):
    """The four entry points that take images, each with everything else right."""
    return {
        "fit": lambda: model.fit(x, y, epochs=1, verbose=0),
        "evaluate": lambda: model.evaluate(x, y, verbose=0),
        "predict": lambda: model.predict(x),
        "train_on_batch": lambda: model.train_on_batch(x, y),
    }


@pytest.mark.parametrize("entry", ["fit", "evaluate", "predict", "train_on_batch"])
@pytest.mark.parametrize("x, error, words", [pytest.param(x, e, w, id=i) for i, x, e, w in X_CASES])
def test_bad_x_is_refused_and_changes_nothing(model, entry, x, error, words):
    before = state(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning on the way to the error either
        with pytest.raises(error) as caught:
            calls(model, x, labels())[entry]()
    for word in words:
        assert word in str(caught.value)
    assert_unchanged(model, before)


def test_validation_data_is_checked_the_same_way(model):
    before = state(model)
    with pytest.raises(ValueError) as caught:
        model.fit(images(), labels(), verbose=0, validation_data=(images()[..., 0], labels()))
    assert "validation_data x has shape (16, 8, 8)" in str(caught.value)
    assert "x.reshape(-1, 8, 8, 1)" in str(caught.value)
    with pytest.raises(ValueError, match=r"validation_data x holds 3 NaN"):
        model.fit(images(), labels(), verbose=0, validation_data=(with_bad_values(nan=3), labels()))
    with pytest.raises(ValueError, match=r"validation_data y must be in \[0, 9\]"):
        model.fit(images(), labels(), verbose=0, validation_data=(images(), labels() + 1))
    with pytest.raises(ValueError, match=r"validation_data x has 16 samples but its labels have 15"):
        model.fit(images(), labels(), verbose=0, validation_data=(images(), labels()[:15]))
    with pytest.raises(ValueError, match=r"validation_data must be a pair \(x_val, y_val\), got 1 item"):
        model.fit(images(), labels(), verbose=0, validation_data=(images(),))
    with pytest.raises(TypeError, match="validation_data must be a pair .* got a ndarray"):
        model.fit(images(), labels(), verbose=0, validation_data=images())
    assert_unchanged(model, before)


def test_unscaled_integer_pixels_warn_naming_the_dtype_and_the_fix(model):
    x = (images() * 255).astype(np.uint8)
    for call in calls(model, x, labels()).values():
        with pytest.warns(UserWarning) as record:
            call()
        message = str(record[0].message)
        assert "x has integer dtype uint8 with values up to 2" in message
        assert "/ 255" in message
        assert record[0].filename == __file__  # the warning points at the user's line, not ours
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(np.ones((2, 8, 8, 1), np.int64))  # integers already in [0, 1]: nothing to warn about


# --- the labels ----------------------------------------------------------------------------------------------

Y_CASES = [
    ("one-hot", np.eye(10)[labels()], ValueError,
     ["y must be integer class indices of shape (N,)", "got shape (16, 10)", "y.argmax(axis=1)"]),
    ("out of range", labels() + 5, ValueError,
     ["y must be in [0, 9] for a model with 10 outputs", "6 of 16 labels outside", "from 5 to 14"]),
    ("negative", labels() - 1, ValueError, ["y must be in [0, 9]", "2 of 16 labels outside", "from -1 to 8"]),
    ("fractional", labels() + 0.5, ValueError, ["y must be whole numbers", "16 values", "0.5 at index 0"]),
    ("NaN", np.where(labels() == 3, np.nan, labels()), ValueError, ["y must be whole numbers", "nan at index 3"]),
    ("strings", labels().astype(str), TypeError, ["y must hold integer class indices", "dtype <U21"]),
    ("too few", labels()[:15], ValueError, ["x has 16 samples but its labels have 15 (y)"]),
    ("too many", np.arange(17) % 10, ValueError, ["x has 16 samples but its labels have 17 (y)"]),
]


@pytest.mark.parametrize("entry", ["fit", "evaluate", "train_on_batch"])
@pytest.mark.parametrize("y, error, words", [pytest.param(y, e, w, id=i) for i, y, e, w in Y_CASES])
def test_bad_labels_are_refused_and_change_nothing(model, entry, y, error, words):
    before = state(model)
    with pytest.raises(error) as caught:
        calls(model, images(), y)[entry]()
    for word in words:
        assert word in str(caught.value)
    assert_unchanged(model, before)


# --- the other arguments ---------------------------------------------------------------------------------------

ARG_CASES = [  # (test id, keyword arguments of fit, exception, exact message)
    ("batch_size 0", {"batch_size": 0}, ValueError, "batch_size must be an integer >= 1, got 0"),
    ("batch_size -5", {"batch_size": -5}, ValueError, "batch_size must be an integer >= 1, got -5"),
    ("batch_size 2.5", {"batch_size": 2.5}, TypeError,
     "batch_size must be an integer >= 1, got 2.5 of type float"),
    ("batch_size '32'", {"batch_size": "32"}, TypeError,
     "batch_size must be an integer >= 1, got '32' of type str"),
    ("epochs -1", {"epochs": -1}, ValueError, "epochs must be an integer >= 0, got -1"),
    ("epochs True", {"epochs": True}, TypeError, "epochs must be an integer >= 0, got True of type bool"),
    ("callbacks", {"callbacks": [print]}, TypeError,
     "callbacks must be a list of scratchcnn.callbacks.Callback objects, got a builtin_function_or_method"),
]


@pytest.mark.parametrize("kwargs, error, message", [pytest.param(k, e, m, id=i) for i, k, e, m in ARG_CASES])
def test_bad_fit_arguments_are_refused(model, kwargs, error, message):
    before = state(model)
    with pytest.raises(error) as caught:
        model.fit(images(), labels(), verbose=0, **{"epochs": 1, **kwargs})
    assert str(caught.value) == message
    assert_unchanged(model, before)


def test_bad_batch_size_in_evaluate_and_predict(model):
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        model.evaluate(images(), labels(), batch_size=0, verbose=0)
    with pytest.raises(TypeError, match="batch_size must be an integer >= 1, got None"):
        model.predict(images(), batch_size=None)


def test_epochs_0_trains_nothing(model):
    before = state(model)
    history = model.fit(images(), labels(), epochs=0, verbose=0)
    assert history.history == {} and history.epoch == []
    assert_unchanged(model, before)


def test_a_refused_fit_writes_no_checkpoint(model, tmp_path):
    class Spy(Callback):
        def on_train_begin(self, logs=None):
            raise AssertionError("training must not start")

    for bad in (images()[..., 0], with_bad_values(nan=1)):
        with pytest.raises(ValueError):
            model.fit(bad, labels(), verbose=0, callbacks=[ModelCheckpoint(tmp_path / "w.weights.npz"), Spy()])
    assert listing(tmp_path) == {}
    with pytest.raises(ValueError, match=r"ModelCheckpoint: weights are saved as \.npz; got filepath '.*w\.h5'"):
        ModelCheckpoint(tmp_path / "w.h5")


# --- layers in an order that cannot work --------------------------------------------------------------------

def test_dense_before_flatten_fails_at_build_naming_the_layer():
    layers = [Conv2D(4, 3), MaxPooling2D(), Dense(10, activation="softmax"), Flatten()]
    model = Sequential(layers, seed=0)
    untouched = np.random.default_rng(0).bit_generator.state
    with pytest.raises(ValueError) as caught:
        model.predict(images())
    assert str(caught.value) == ("Dense 'dense' needs flat inputs (features,), got input shape (3, 3, 4); "
                                 "put a Flatten() layer before it")
    assert not model.built
    assert model.rng.bit_generator.state == untouched  # no weights were drawn: a later build is unchanged


def test_adding_a_layer_that_cannot_fit_names_it_and_changes_nothing():
    model = Sequential([Conv2D(4, 3, input_shape=(8, 8, 1))], seed=0)
    before = state(model)
    with pytest.raises(ValueError, match="Dense 'dense' needs flat inputs .* got input shape \\(6, 6, 4\\); put a "
                                         "Flatten\\(\\) layer before it"):
        model.add(Dense(10))
    assert len(model.layers) == 1
    assert_unchanged(model, before)
    with pytest.raises(ValueError, match=r"Conv2D 'conv2d' needs images of shape \(height, width, channels\), got "
                                         r"input shape \(64,\); add a channel axis"):
        Sequential([Conv2D(4, 3)], seed=0).predict(images().reshape(N, 64))


# --- weights files -----------------------------------------------------------------------------------------------

def test_damaged_weights_file_is_refused_and_left_alone(model, tmp_path):
    good = tmp_path / "model.weights.npz"
    model.save_weights(good)
    data = good.read_bytes()
    cases = {"cut.weights.npz": data[: len(data) // 2], "junk.weights.npz": b"not a zip file at all" * 10}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    files_before = listing(tmp_path)
    target = build_model(input_shape=(8, 8, 1), seed=1)
    before = state(target)
    for name, words in [("cut.weights.npz", "File is not a zip file"),
                        ("junk.weights.npz", "File is not a zip file"),  # never handed to the unpickler
                        ("other.npz", "is not a scratchcnn weights file (no architecture record)")]:
        with pytest.raises(ValueError) as caught:
            target.load_weights(tmp_path / name)
        assert str(tmp_path / name) in str(caught.value) and words in str(caught.value)
        assert_unchanged(target, before)
    assert listing(tmp_path) == files_before


# --- the command line ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, words", [
    (["train", "--batch-size", "-5"], "argument --batch-size: must be at least 1, got -5"),
    (["train", "--epochs", "0"], "argument --epochs: must be at least 1, got 0"),
    (["train", "--seed", "abc"], "argument --seed: invalid int value: 'abc'"),
    (["train", "--epochs", "2.5"], "argument --epochs: invalid int value: '2.5'"),
    (["train", "--dataset", "cifar"], "argument --dataset: invalid choice: 'cifar'"),
    (["train", "--verbose", "3"], "argument --verbose: invalid choice: 3"),
    (["fly"], "invalid choice: 'fly'"),
])
def test_bad_options_exit_2_with_usage(argv, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: scratchcnn") and words in err
    assert listing(tmp_path) == {}  # no runs/ folder appeared


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("scratchcnn: error: ") and err.count("\n") == 1, err
    return err


def test_missing_weights_file_is_one_line(tmp_path, capsys):
    assert main(["evaluate", "--dataset", "digits", "--weights", str(tmp_path / "nope.npz")]) == 1
    assert f"no weights file at {tmp_path / 'nope.npz'}" in one_line_error(capsys)
    assert listing(tmp_path) == {}


def test_damaged_weights_file_is_one_line_and_untouched(tmp_path, capsys):
    path = tmp_path / "model.weights.npz"
    path.write_bytes(b"PK\x03\x04 cut short")
    before = listing(tmp_path)
    assert main(["evaluate", "--dataset", "digits", "--weights", str(path)]) == 1
    assert f"{path} is not a readable weights file" in one_line_error(capsys)
    assert listing(tmp_path) == before


@pytest.mark.parametrize("command", [["train", "--epochs", "1"], ["evaluate"]])
def test_missing_data_directory_is_one_line(tmp_path, capsys, command):
    missing = tmp_path / "no-such-folder"
    assert main([*command, "--data-dir", str(missing)]) == 1
    assert f"--data-dir {missing} is not a folder" in one_line_error(capsys)
    assert listing(tmp_path) == {} and not missing.exists()  # nothing created, nothing downloaded


@pytest.mark.parametrize("argv, error", [
    (["evaluate", "--dataset", "digits", "--weights", "nope.npz"],
     "FileNotFoundError: no weights file at nope.npz"),
    (["train", "--data-dir", "no-such-folder"], "DataNotFoundError: --data-dir no-such-folder is not a folder"),
])
def test_debug_shows_the_traceback(tmp_path, argv, error):
    result = subprocess.run([sys.executable, "-m", "scratchcnn", "--debug", *argv], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 1
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert error in result.stderr.splitlines()[-1]
    assert list(tmp_path.iterdir()) == []


# --- the next tutorials' layers and arguments ---------------------------------------------------------------

def test_a_pool_larger_than_its_input_is_refused_naming_it_and_changes_nothing():
    from scratchcnn.layers import AveragePooling2D
    model = Sequential([Conv2D(4, 3, input_shape=(8, 8, 1)), MaxPooling2D(pool_size=(3, 3))], seed=0)
    before = state(model)
    with pytest.raises(ValueError, match=r"AveragePooling2D 'average_pooling2d': input 2x2 is smaller than "
                                         r"the 3x3 pool; use a smaller pool_size or padding='same'"):
        model.add(AveragePooling2D(pool_size=3))
    assert len(model.layers) == 2
    assert_unchanged(model, before)
    model.add(AveragePooling2D(pool_size=3, padding="same"))              # 'same' fits any size
    assert model.layers[-1].output_shape == (1, 1, 4)


@pytest.mark.parametrize("make, words", [
    (lambda: Conv2D(4, 3, kernel_initializer="he_normall"), "unknown initializer 'he_normall': use one of"),
    (lambda: Dense(4, bias_initializer="glorot"), "unknown initializer 'glorot'"),
    (lambda: Dense(4, kernel_initializer=0.5), "unknown initializer 0.5"),
])
def test_unknown_initializer_names_are_refused_listing_the_known_ones(make, words):
    with pytest.raises(ValueError, match=re.escape(words)) as caught:
        make()
    assert "'he_normal'" in str(caught.value) and "'glorot_uniform'" in str(caught.value)


@pytest.mark.parametrize("kwargs, words", [
    ({"momentum": -0.5}, "BatchNormalization momentum must be in [0, 1), got -0.5"),
    ({"momentum": 1.0}, "BatchNormalization momentum must be in [0, 1), got 1.0"),
    ({"momentum": 1.5}, "BatchNormalization momentum must be in [0, 1), got 1.5"),
    ({"epsilon": 0}, "BatchNormalization epsilon must be > 0"),
    ({"epsilon": -1e-3}, "BatchNormalization epsilon must be > 0"),
])
def test_bad_batchnorm_arguments_are_refused(kwargs, words):
    from scratchcnn.layers import BatchNormalization
    with pytest.raises(ValueError, match=re.escape(words)):
        BatchNormalization(**kwargs)


def test_batchnorm_training_on_one_value_per_channel_is_refused_and_changes_nothing():
    from scratchcnn.layers import BatchNormalization
    model = Sequential([Flatten(input_shape=(8, 8, 1)), Dense(6), BatchNormalization(), Dense(10)], seed=0)
    bn = model.layers[2]
    bn.moving_mean[...] = 0.5
    weights = [w.copy() for w in bn.params + bn.non_trainable]
    with pytest.raises(ValueError, match=r"BatchNormalization 'batch_normalization' in training mode needs at "
                                         r"least two values per channel .* got input shape \(1, 6\); train with "
                                         r"batches of 2 or more"):
        bn.forward(np.ones((1, 6), np.float32), training=True)
    assert all(np.array_equal(a, b) for a, b in zip(weights, bn.params + bn.non_trainable))
    assert model.predict(images(1)).shape == (1, 10)                     # inference on one image is fine
    # on images a batch of one still has H * W values per channel: that trains (as in Keras)
    image_bn = BatchNormalization()
    image_bn.build((4, 4, 3))
    assert image_bn.forward(np.random.default_rng(0).random((1, 4, 4, 3), np.float32), training=True).shape == (
        1, 4, 4, 3)


@pytest.mark.parametrize("make, words", [
    (lambda: __import__("scratchcnn").layers.AveragePooling2D(padding="full"),
     "AveragePooling2D padding must be 'valid' or 'same', got 'full'"),
    (lambda: __import__("scratchcnn").layers.AveragePooling2D(pool_size=0),
     "AveragePooling2D pool_size must be a positive int or a pair of positive ints, got (0, 0)"),
    (lambda: __import__("scratchcnn").layers.BatchNormalization(axis="channels"),
     "BatchNormalization axis must be an int (-1: the channels), got 'channels'"),
])
def test_bad_pooling_and_batchnorm_arguments_are_refused(make, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        make()


def test_new_layers_on_the_wrong_shape_are_refused_at_add_and_change_nothing():
    from scratchcnn.layers import BatchNormalization, GlobalAveragePooling2D
    model = Sequential([Flatten(input_shape=(8, 8, 1)), Dense(6)], seed=0)
    before = state(model)
    with pytest.raises(ValueError, match=r"GlobalAveragePooling2D 'global_average_pooling2d' needs images of "
                                         r"shape \(height, width, channels\), got input shape \(6,\)"):
        model.add(GlobalAveragePooling2D())
    with pytest.raises(ValueError, match=r"normalises the last \(channels\) axis only, got axis=0"):
        model.add(BatchNormalization(axis=0))                   # the batch axis
    assert len(model.layers) == 2
    assert_unchanged(model, before)
    model.add(BatchNormalization(axis=1))                       # on (batch, 6) the features are axis 1
