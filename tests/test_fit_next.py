"""fit's validation_split (Keras's rule: the last fraction, before shuffling), EarlyStopping (Keras 3's
semantics), and the history keys Keras uses. Trained on scikit-learn's 8x8 digits (offline, fast)."""
import numpy as np
import pytest

from scratchcnn import keras
from scratchcnn.callbacks import Callback, EarlyStopping, ModelCheckpoint
from scratchcnn.layers import Dense, Flatten
from scratchcnn.model import Sequential
from scratchcnn.tutorial import build_model, load_dataset


@pytest.fixture(scope="module")
def data():
    (x_train, y_train), _ = load_dataset("digits")
    return x_train[:400], y_train[:400]


def fresh(seed=0, metrics=("accuracy",)):
    model = build_model(input_shape=(8, 8, 1), seed=seed)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=list(metrics))
    return model


class Seen(Callback):
    """Records the number of samples fit trains on (from the batch count) and the epoch logs."""

    def __init__(self):
        super().__init__()
        self.batches, self.logs = 0, []

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1

    def on_epoch_end(self, epoch, logs=None):
        self.logs.append(dict(logs))


# --- validation_split --------------------------------------------------------------------------------------------

def test_validation_split_is_the_last_fraction_before_shuffling(data):
    x, y = data
    split = fresh().fit(x, y, epochs=2, batch_size=32, verbose=0, validation_split=0.25)
    by_hand = fresh().fit(x[:300], y[:300], epochs=2, batch_size=32, verbose=0, validation_data=(x[300:], y[300:]))
    assert sorted(split.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    for key in split.history:                                          # the same training, the same numbers
        assert split.history[key] == by_hand.history[key]


def test_validation_split_rounds_like_keras(data):
    x, y = data
    seen = Seen()
    fresh().fit(x[:101], y[:101], epochs=1, batch_size=1, verbose=0, validation_split=0.1, callbacks=[seen])
    assert seen.batches == 90                                           # floor(101 * 0.9) = 90 train, 11 held out


def test_validation_data_takes_the_place_of_validation_split(data):
    x, y = data
    seen = Seen()
    fresh().fit(x, y, epochs=1, batch_size=1, verbose=0, validation_split=0.5, validation_data=(x[:10], y[:10]),
                callbacks=[seen])
    assert seen.batches == 400                                          # Keras: validation_data overrides
    with pytest.raises(ValueError, match="validation_split must be in"):   # but a bad value is still refused
        fresh().fit(x, y, epochs=1, verbose=0, validation_split=2.0, validation_data=(x[:10], y[:10]))


@pytest.mark.parametrize("value, error, words", [
    (1.0, ValueError, "validation_split must be in [0, 1), got 1.0"),
    (-0.1, ValueError, "validation_split must be in [0, 1), got -0.1"),
    (1.5, ValueError, "validation_split must be in [0, 1), got 1.5"),
    ("0.1", TypeError, "validation_split must be a number in [0, 1)"),
    (0.999, ValueError, "leaves 0 for training and 400 for validation"),
])
def test_bad_validation_split_is_refused_and_changes_nothing(data, value, error, words):
    x, y = data
    model = fresh()
    before, rng = [w.copy() for w in model.get_weights()], model.rng.bit_generator.state
    with pytest.raises(error) as caught:
        model.fit(x, y, epochs=1, verbose=0, validation_split=value)
    assert words in str(caught.value)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert model.rng.bit_generator.state == rng


def test_a_refused_split_does_not_build_the_model(data):
    x, y = data
    model = Sequential([Flatten(), Dense(10, activation="softmax")], seed=0)   # built by fit, from x
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = model.rng.bit_generator.state
    with pytest.raises(ValueError, match="leaves 0 for training"):
        model.fit(x[:1], y[:1], epochs=1, verbose=0, validation_split=0.5)
    assert not model.built and model.rng.bit_generator.state == rng


def test_history_keys_without_metrics_are_loss_only(data):
    x, y = data
    history = fresh(metrics=()).fit(x, y, epochs=1, verbose=0, validation_split=0.2)
    assert sorted(history.history) == ["loss", "val_loss"]


# --- EarlyStopping: the rule, on a scripted sequence of values -------------------------------------------------------

class Scripted:
    """A stand-in model: EarlyStopping only reads stop_training and get/set_weights."""

    def __init__(self):
        self.stop_training = False
        self.weights = [np.zeros(1)]

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [w.copy() for w in weights]


def run(callback, values, monitor="val_loss"):
    """Feed ``values`` as the monitored number epoch by epoch (the weights hold the epoch number) until the
    callback stops training; returns (epochs run, final weight)."""
    model = Scripted()
    callback.set_model(model)
    callback.on_train_begin()
    epochs = 0
    for epoch, value in enumerate(values):
        model.weights = [np.array([float(epoch)])]
        callback.on_epoch_end(epoch, {monitor: value})
        epochs += 1
        if model.stop_training:
            break
    callback.on_train_end()
    return epochs, model.weights[0][0]


def test_patience_counts_epochs_without_improvement():
    values = [1.0, 0.8, 0.9, 0.85, 0.7, 0.9, 0.9, 0.9]
    assert run(EarlyStopping(), values)[0] == 3                          # patience 0: stops at the first miss
    assert run(EarlyStopping(patience=2), values)[0] == 4                # two misses after 0.8
    assert run(EarlyStopping(patience=3), values)[0] == 8                # 0.7 came in time, then 3 misses


def test_min_delta_is_the_least_improvement_that_counts():
    values = [1.0, 0.95, 0.9, 0.85]
    assert run(EarlyStopping(min_delta=0.1), values)[0] == 2            # 0.05 better is no improvement
    assert run(EarlyStopping(min_delta=-0.1), values)[0] == 2            # Keras uses abs(min_delta)
    assert run(EarlyStopping(min_delta=0.01), values)[0] == 4


def test_mode_max_and_auto_for_accuracy():
    values = [0.5, 0.6, 0.55]
    assert run(EarlyStopping(monitor="val_accuracy"), values, "val_accuracy")[0] == 3       # auto: up is better
    assert run(EarlyStopping(monitor="val_accuracy", mode="min"), values, "val_accuracy")[0] == 2
    assert run(EarlyStopping(monitor="score", mode="max"), values, "score")[0] == 3


def test_the_first_epoch_never_stops_and_start_from_epoch_waits():
    assert run(EarlyStopping(), [float("inf"), 2.0])[0] == 2            # inf is no improvement; epoch 0 goes on
    assert run(EarlyStopping(start_from_epoch=3), [1.0, 2.0, 3.0, 4.0, 5.0])[0] == 5


def test_baseline_must_be_beaten_to_reset_patience():
    values = [0.9, 0.8, 0.8, 0.8, 0.8]                  # (an improving epoch never stops training, as in Keras)
    assert run(EarlyStopping(patience=2), values)[0] == 4                # two misses after 0.8
    assert run(EarlyStopping(baseline=0.5, patience=2), values)[0] == 3  # 0.9 and 0.8 never beat 0.5: they count
    assert run(EarlyStopping(baseline=0.85, patience=2), values)[0] == 4  # 0.8 beat 0.85: the count restarts


def test_restore_best_weights_puts_back_the_best_epoch():
    values = [1.0, 0.5, 0.7, 0.8, 0.9]
    assert run(EarlyStopping(patience=2, restore_best_weights=True), values) == (4, 1.0)   # epoch 1's weights
    assert run(EarlyStopping(patience=2), values) == (4, 3.0)                             # the last ones
    assert run(EarlyStopping(patience=9, restore_best_weights=True), values) == (5, 1.0)  # also without a stop


def test_a_missing_monitor_warns_and_changes_nothing():
    with pytest.warns(UserWarning, match="'val_loss', which is not in the logs"):
        assert run(EarlyStopping(), [1.0, 2.0, 3.0], monitor="loss")[0] == 3


@pytest.mark.parametrize("kwargs, words", [
    ({"mode": "maximum"}, "mode must be 'auto', 'min' or 'max'"),
    ({"monitor": "val_f1"}, "cannot tell whether monitor='val_f1' should go down or up"),
    ({"patience": -1}, "patience must be a whole number >= 0"),
    ({"patience": 1.5}, "patience must be a whole number >= 0"),
    ({"min_delta": "0.1"}, "min_delta must be a number"),
    ({"baseline": float("nan")}, "baseline must be a number"),
])
def test_bad_arguments_are_refused(kwargs, words):
    with pytest.raises(ValueError, match=words):
        EarlyStopping(**kwargs)


def test_early_stopping_in_fit(data, capsys):
    """With a learning rate far too high the validation loss stops improving quickly; fit stops, history has
    the epochs run and the model holds the best epoch's weights."""
    x, y = data
    model = build_model(input_shape=(8, 8, 1), seed=0)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    seen, stop = Seen(), EarlyStopping(patience=1, restore_best_weights=True, verbose=1)
    history = model.fit(x, y, epochs=30, batch_size=32, verbose=0, validation_split=0.25, callbacks=[seen, stop])
    epochs = len(history.history["val_loss"])
    assert 2 <= epochs < 30 and stop.stopped_epoch == epochs - 1
    best = int(np.argmin(history.history["val_loss"]))
    assert stop.best_epoch == best and stop.best == history.history["val_loss"][best]
    assert f"Epoch {epochs}: early stopping" in capsys.readouterr().out
    val_loss, _ = model.evaluate(x[300:], y[300:], batch_size=32, verbose=0)
    assert val_loss == pytest.approx(history.history["val_loss"][best], rel=1e-6)  # the best weights are back


def test_a_checkpoint_may_name_val_fields_with_validation_split(data, tmp_path):
    x, y = data
    fresh().fit(x[:100], y[:100], epochs=1, verbose=0, validation_split=0.2,
                callbacks=[ModelCheckpoint(tmp_path / "w-{val_accuracy:.3f}.weights.npz")])
    assert len(list(tmp_path.glob("w-0.*.weights.npz"))) == 1
