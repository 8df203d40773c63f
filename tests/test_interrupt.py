"""Interrupted work loses nothing: callbacks and checkpoints, a NaN loss, Ctrl-C in fit and in the CLI.

Ctrl-C is sent for real (SIGINT to this process from a callback, at a chosen batch; and to a `scratchcnn
train` subprocess). The model then holds, and the checkpoint file on disk contains, exactly the weights
of the last completed epoch.
"""
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from scratchcnn.callbacks import Callback, ModelCheckpoint, TerminateOnNaN, TrainingInterrupted
from scratchcnn.layers import Layer
from scratchcnn.optimizers import SGD
from scratchcnn.tutorial import build_model, load_dataset

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data():
    (x_train, y_train), _ = load_dataset("digits")
    return x_train[:320], y_train[:320]  # 10 batches of 32 per epoch


def weights_in(path) -> list[np.ndarray]:
    with np.load(path) as data:
        return [data[name] for name in sorted(data.files) if name.startswith("weight_")]


def same(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b))


def listing(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


class Recorder(Callback):
    """Keeps a copy of the weights at every epoch end, and what was called when."""

    def __init__(self):
        super().__init__()
        self.calls, self.epoch_weights = [], {}

    def on_train_begin(self, logs=None):
        self.calls.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.calls.append(f"epoch_begin {epoch}")

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append(f"batch_end {batch}")

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(f"epoch_end {epoch} {sorted(logs)}")
        self.epoch_weights[epoch + 1] = self.model.get_weights()

    def on_train_end(self, logs=None):
        self.calls.append("train_end")


class CtrlCAt(Recorder):
    """Sends SIGINT to this process after batch ``batch`` of epoch ``epoch`` (from 0), ``times`` times."""

    def __init__(self, epoch, batch, times=1):
        super().__init__()
        self.at, self.times = (epoch, batch), times

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        if (self.epoch, batch) == self.at:
            for _ in range(self.times):
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.01)  # the handler runs between bytecodes: let it


# --- callbacks -----------------------------------------------------------------------------------------------

def test_callbacks_are_called_in_keras_order(data):
    recorder = Recorder()
    build_model(input_shape=(8, 8, 1), seed=0).fit(*data, epochs=2, batch_size=160, verbose=0,
                                                   validation_data=data, callbacks=[recorder])
    logs = "['accuracy', 'loss', 'val_accuracy', 'val_loss']"
    assert recorder.calls == ["train_begin", "epoch_begin 0", "batch_end 0", "batch_end 1", f"epoch_end 0 {logs}",
                              "epoch_begin 1", "batch_end 0", "batch_end 1", f"epoch_end 1 {logs}", "train_end"]


def test_model_checkpoint_saves_every_epoch_atomically(data, tmp_path):
    class CheckFile(Callback):  # runs after the checkpoint: the file must already hold this epoch
        def on_epoch_end(self, epoch, logs=None):
            assert same(weights_in(tmp_path / f"epoch{epoch + 1:02d}.weights.npz"), self.model.get_weights())
            assert same(weights_in(tmp_path / "last.weights.npz"), self.model.get_weights())

    model = build_model(input_shape=(8, 8, 1), seed=0)
    every = ModelCheckpoint(tmp_path / "epoch{epoch:02d}.weights.npz")
    last = ModelCheckpoint(str(tmp_path / "last.weights.npz"), verbose=1)
    model.fit(*data, epochs=3, verbose=0, callbacks=[every, last, CheckFile()])
    assert sorted(p.name for p in tmp_path.iterdir()) == [  # no .partial leftovers
        "epoch01.weights.npz", "epoch02.weights.npz", "epoch03.weights.npz", "last.weights.npz"]
    assert last.last_saved == tmp_path / "last.weights.npz" and last.last_epoch == 3


def test_a_callback_can_stop_training(data):
    class StopAfter(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = epoch == 1

    history = build_model(input_shape=(8, 8, 1), seed=0).fit(*data, epochs=5, verbose=0, callbacks=[StopAfter()])
    assert history.epoch == [0, 1]


# --- a NaN loss stops training at once and keeps the last good weights ----------------------------------------

class NaNAt(Layer):
    """Passes its input through, except on training call number ``at`` (from 1), where it outputs NaN."""

    def __init__(self, at):
        super().__init__()
        self.at, self.calls = at, 0

    def forward(self, x, training=False):
        self.calls += training
        return x * np.nan if self.calls == self.at else x

    def backward(self, dy):
        return dy


def test_nan_loss_stops_at_that_batch_and_restores_the_last_epoch(data, tmp_path, capsys):
    model = build_model(input_shape=(8, 8, 1), seed=0)
    model.add(NaNAt(at=10 + 4))  # epoch 2, batch 3 (10 batches per epoch, counting batches from 0)
    recorder, checkpoint = Recorder(), ModelCheckpoint(tmp_path / "model.weights.npz")
    history = model.fit(*data, epochs=5, verbose=0, callbacks=[checkpoint, recorder, TerminateOnNaN()])
    err = capsys.readouterr().err
    assert err == ("Epoch 2, batch 3: Invalid loss (nan), terminating training; restored the weights of epoch 1\n")
    assert model.stop_training and history.epoch == [0] and len(history.history["loss"]) == 1
    assert same(model.get_weights(), recorder.epoch_weights[1])
    assert same(weights_in(tmp_path / "model.weights.npz"), recorder.epoch_weights[1])
    assert recorder.calls[-2:] == ["batch_end 2", "train_end"]  # no batch_end, no epoch_end for the bad one
    assert model.optimizer.iterations == 10  # Adam's state is the epoch-1 state too: training can go on
    assert np.isfinite(model.fit(*data, epochs=1, verbose=0).history["loss"][0])


def test_diverging_training_keeps_the_weights_from_before(data, tmp_path, capsys):
    model = build_model(input_shape=(8, 8, 1), seed=0)
    model.compile(optimizer=SGD(learning_rate=1e6), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    before = model.get_weights()
    with np.errstate(all="ignore"):
        history = model.fit(*data, epochs=3, verbose=0, callbacks=[ModelCheckpoint(tmp_path / "w.weights.npz")])
    err = capsys.readouterr().err
    assert err.startswith("Epoch 1, batch ") and "Invalid loss (nan), terminating training" in err
    assert err.endswith("restored the weights from before training\n")
    assert history.history == {} and model.stop_training
    assert same(model.get_weights(), before)
    assert list(tmp_path.iterdir()) == []  # no epoch completed: no checkpoint


def test_weights_that_became_nan_are_caught_at_the_epoch_end(data, tmp_path, capsys):
    class Poison(Recorder):
        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 2 and batch == 9:  # the last batch of epoch 3: its loss was fine
                self.model.layers[0].kernel[0, 0, 0, 0] = np.inf

    poison, checkpoint = Poison(), ModelCheckpoint(tmp_path / "model.weights.npz")
    model = build_model(input_shape=(8, 8, 1), seed=0)
    history = model.fit(*data, epochs=4, verbose=0, callbacks=[checkpoint, poison])
    assert capsys.readouterr().err == ("Epoch 3: the weights became NaN or infinite, terminating training; "
                                       "restored the weights of epoch 2\n")
    assert history.epoch == [0, 1]
    assert same(model.get_weights(), poison.epoch_weights[2])
    assert same(weights_in(tmp_path / "model.weights.npz"), poison.epoch_weights[2])


# --- Ctrl-C inside fit ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("times", [1, 2], ids=["once: the batch finishes", "twice: stops at once"])
def test_ctrl_c_keeps_the_last_completed_epoch(data, tmp_path, times):
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    ctrl_c, checkpoint = CtrlCAt(epoch=2, batch=4, times=times), ModelCheckpoint(tmp_path / "model.weights.npz")
    model = build_model(input_shape=(8, 8, 1), seed=0)
    on_disk = {}

    class Hash(Callback):
        def on_epoch_end(self, epoch, logs=None):
            on_disk[epoch + 1] = listing(tmp_path)

    with pytest.raises(TrainingInterrupted) as caught:
        model.fit(*data, epochs=5, verbose=0, callbacks=[checkpoint, ctrl_c, Hash()])
    stop = caught.value
    assert isinstance(stop, KeyboardInterrupt)
    assert (stop.epoch, stop.epochs_completed, stop.history.epoch) == (3, 2, [0, 1])
    assert str(stop) == "training interrupted during epoch 3; the model holds the weights of epoch 2"
    assert same(model.get_weights(), ctrl_c.epoch_weights[2])
    assert listing(tmp_path) == on_disk[2]  # the checkpoint of epoch 2, byte for byte, and nothing else
    assert same(weights_in(tmp_path / "model.weights.npz"), ctrl_c.epoch_weights[2])
    assert model.optimizer.iterations == 20
    if times == 1:  # the batch that was running finished; nothing after it ran
        assert ctrl_c.calls[-1] == "batch_end 4"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_ctrl_c_in_the_first_epoch_keeps_the_initial_weights(data):
    model = build_model(input_shape=(8, 8, 1), seed=0)
    before = model.get_weights()
    with pytest.raises(TrainingInterrupted, match="during epoch 1; the model holds its weights from before "
                                                  "training") as caught:
        model.fit(*data, epochs=3, verbose=0, callbacks=[CtrlCAt(epoch=0, batch=0)])
    assert caught.value.epochs_completed == 0 and caught.value.history.epoch == []
    assert same(model.get_weights(), before)


def test_ctrl_c_at_an_epoch_end_lets_that_epoch_finish(data, tmp_path):
    class CtrlCAtEpochEnd(Recorder):
        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, logs)
            if epoch == 1:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.01)

    model, ctrl_c = build_model(input_shape=(8, 8, 1), seed=0), CtrlCAtEpochEnd()
    checkpoint = ModelCheckpoint(tmp_path / "model.weights.npz")
    with pytest.raises(TrainingInterrupted) as caught:
        model.fit(*data, epochs=5, verbose=0, callbacks=[checkpoint, ctrl_c])
    assert str(caught.value) == "training interrupted after epoch 2; the model holds its weights"
    assert caught.value.epochs_completed == 2 and caught.value.history.epoch == [0, 1]
    assert same(model.get_weights(), ctrl_c.epoch_weights[2])
    assert same(weights_in(tmp_path / "model.weights.npz"), ctrl_c.epoch_weights[2])


def test_a_second_ctrl_c_waits_for_a_held_block_to_end():
    from scratchcnn.interrupt import CtrlC
    done = []
    with CtrlC() as ctrl_c:
        os.kill(os.getpid(), signal.SIGINT)          # the first: only noted
        time.sleep(0.01)
        assert ctrl_c.pressed
        with pytest.raises(KeyboardInterrupt):
            with ctrl_c.held():
                os.kill(os.getpid(), signal.SIGINT)  # the second, inside: waits ...
                time.sleep(0.01)
                done.append("the whole block ran")
        assert done == ["the whole block ran"]       # ... until the block's end
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)      # outside a held block: at once
            time.sleep(0.01)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_epoch_snapshot_is_refreshed_in_place(data):
    """fit keeps the last completed epoch in one copy, overwritten each epoch (no second copy in memory):
    what it holds equals a fresh snapshot, in the same arrays."""
    model = build_model(input_shape=(8, 8, 1), seed=0)
    model.fit(*data, epochs=1, verbose=0)
    kept = model._snapshot()
    arrays = [id(w) for w in kept[0]] + [id(m) for m in kept[1]["m"] + kept[1]["v"]]
    model.fit(*data, epochs=1, verbose=0)
    refreshed, fresh = model._snapshot(into=kept), model._snapshot()
    assert [id(w) for w in refreshed[0]] + [id(m) for m in refreshed[1]["m"] + refreshed[1]["v"]] == arrays
    assert same(refreshed[0], fresh[0]) and same(refreshed[1]["m"] + refreshed[1]["v"], fresh[1]["m"] + fresh[1]["v"])
    assert refreshed[1]["iterations"] == fresh[1]["iterations"] == 20


def test_fit_in_another_thread_leaves_signals_alone(data):
    results = {}

    def train():
        results["history"] = build_model(input_shape=(8, 8, 1), seed=0).fit(*data, epochs=1, verbose=0)

    thread = threading.Thread(target=train)
    thread.start()
    thread.join(timeout=60)
    assert results["history"].epoch == [0]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_handler_of_your_own_is_respected(data):
    pressed = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
    try:
        model = build_model(input_shape=(8, 8, 1), seed=0)
        history = model.fit(*data, epochs=2, verbose=0, callbacks=[CtrlCAt(epoch=0, batch=0)])
        assert pressed == [signal.SIGINT] and history.epoch == [0, 1]  # yours ran; fit went on
    finally:
        signal.signal(signal.SIGINT, previous)


# --- Ctrl-C in `scratchcnn train`, for real -------------------------------------------------------------------

def test_ctrl_c_in_the_cli_keeps_the_last_epoch_on_disk(tmp_path):
    out = tmp_path / "run"
    (out).mkdir()
    (out / "notes.txt").write_text("mine\n")  # a file of the user's, which must survive
    process = subprocess.Popen([sys.executable, "-m", "scratchcnn", "train", "--dataset", "digits", "--epochs",
                                "200", "--output", str(out)], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        deadline = time.monotonic() + 90
        while not (out / "model.weights.npz").exists():  # the first epoch is done
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    message = stderr.strip().splitlines()
    assert len(message) == 1, stderr
    # Ctrl-C mid-epoch (nearly always) lets the batch finish; during an epoch's end it lets the epoch finish
    when, epoch = message[0].split()[2], int(message[0].split()[4].rstrip(";"))
    kept = epoch - 1 if when == "during" else epoch
    assert message[0] == (f"scratchcnn: interrupted {when} epoch {epoch}; the weights of epoch {kept} are "
                          f"in {out / 'model.weights.npz'}")
    assert f"Epoch {epoch}/200" in stdout and f"Epoch {epoch + 1}/200" not in stdout
    assert sorted(p.name for p in out.iterdir()) == ["history.json", "model.weights.npz", "notes.txt", "run.json"]
    assert (out / "notes.txt").read_text() == "mine\n"
    results = json.loads((out / "history.json").read_text())
    assert results["epochs_completed"] == kept and results["interrupted_in_epoch"] == epoch
    assert len(results["history"]["loss"]) == kept and results["test_accuracy"] is None
    assert results["epochs"] == kept and results["epochs_asked"] == 200   # the epochs behind the weights
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "interrupted" and record["epochs_completed"] == kept
    assert record["run_id"] == results["run_id"] and set(record["files"]) == {"model.weights.npz", "history.json"}
    model = build_model(input_shape=(8, 8, 1), seed=123)
    model.load_weights(out / "model.weights.npz")  # complete: every array, the right architecture
    assert len(model.get_weights()) == 6 and all(np.isfinite(w).all() for w in model.get_weights())
