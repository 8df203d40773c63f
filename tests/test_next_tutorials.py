"""The next tutorials run on scratchcnn with only their import lines changed.

``reference/compare/`` keeps three well-known examples as their sources write them: Keras's "Simple MNIST
convnet", TensorFlow's "Basic classification" (Fashion-MNIST) and a LeNet-5 from Towards Data Science.
``reference/compare/ports.py`` rewrites their import lines and refuses to change any other line; this file
executes the result.

The budget, said openly: each script's code is untouched, every epoch count and batch size is its own, but
the data loader is patched to hand it only the first ``TRAIN_IMAGES[name]`` training images (the test set
stays whole), so each runs in well under a minute. The accuracy thresholds are for that cut; the full-length
runs are in docs/results.md ("After the tutorial").
"""
import os
import re
from pathlib import Path

import numpy as np
import pytest

import scratchcnn
from reference.compare import ports

SHARED_FASHION = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fashion-mnist"

TRAIN_IMAGES = {"keras_mnist_convnet": 600, "tf_fashion_classification": 3000, "lenet5": 1500}


@pytest.fixture(scope="session")
def fashion_dir() -> Path:
    path = Path(os.environ.get("SCRATCHCNN_FASHION_DATA") or SHARED_FASHION)
    if not (path / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"Fashion-MNIST files not found in {path}; set SCRATCHCNN_FASHION_DATA")
    return path


def cut_training_set(monkeypatch, module, folder: Path, n: int):
    """Make ``module.load_data()`` return the first ``n`` training images and the whole test set."""
    (x_train, y_train), test = module.load_data(folder, download=False, verbose=False)
    monkeypatch.setattr(module, "load_data", lambda *a, **k: ((x_train[:n], y_train[:n]), test))
    return test


def run_port(name: str) -> dict:
    namespace: dict = {"__name__": "__main__"}
    exec(compile(ports.ported_source(name), str(ports.original_path(name)), "exec"), namespace)
    return namespace


def printed_number(out: str, label: str) -> float:
    return float(re.search(re.escape(label) + r"\s*([0-9.]+)", out).group(1))


@pytest.mark.parametrize("name", list(ports.PORTS))
def test_only_the_import_lines_change(name):
    original = ports.original_path(name).read_text().splitlines()
    ported = ports.ported_source(name).splitlines()
    assert len(ported) == len(original)
    changed = [(a, b) for a, b in zip(original, ported) if a != b]
    assert [a for a, _ in changed] == list(ports.PORTS[name])        # each mapped line, in order, once
    assert all(a.startswith(("import ", "from ")) and b.startswith(("import ", "from ")) for a, b in changed)
    imports = [line for line in ported if line.startswith(("import ", "from "))]
    assert not any(re.match(r"(import|from) (tensorflow|keras)\b", line) for line in imports)


def test_a_port_that_would_change_other_lines_is_refused(monkeypatch):
    monkeypatch.setitem(ports.PORTS, "lenet5", {**ports.PORTS["lenet5"], "test_x = test_x / 255.0": "pass"})
    with pytest.raises(ValueError, match="import lines"):
        ports.ported_source("lenet5")


def test_keras_mnist_convnet(mnist_dir, monkeypatch, capsys):
    n = TRAIN_IMAGES["keras_mnist_convnet"]
    (x_test, y_test) = cut_training_set(monkeypatch, scratchcnn.datasets.mnist, mnist_dir, n)
    namespace = run_port("keras_mnist_convnet")
    out = capsys.readouterr().out
    assert f"x_train shape: ({n}, 28, 28, 1)" in out and "Total params: 34,826" in out   # Keras's count
    assert sum(line.startswith("Epoch ") for line in out.splitlines()) == 15
    assert out.count("val_accuracy: ") == 15                   # validation_split=0.1: the last 60 images
    assert namespace["y_test"].shape == (10000, 10)            # to_categorical's one-hot rows
    accuracy = printed_number(out, "Test accuracy:")
    assert accuracy == pytest.approx(namespace["score"][1])
    assert accuracy > 0.80                                     # 540 images, 15 epochs of 5 steps


def test_tf_fashion_classification(fashion_dir, monkeypatch, capsys):
    n = TRAIN_IMAGES["tf_fashion_classification"]
    (x_test, y_test) = cut_training_set(monkeypatch, scratchcnn.datasets.fashion_mnist, fashion_dir, n)
    namespace = run_port("tf_fashion_classification")
    out = capsys.readouterr().out
    assert out.splitlines()[0] == scratchcnn.__version__       # print(tf.__version__)
    assert sum(line.startswith("Epoch ") for line in out.splitlines()) == 10
    accuracy = printed_number(out, "Test accuracy:")
    assert accuracy == pytest.approx(namespace["test_acc"])
    assert accuracy > 0.75                                     # 3,000 images, 10 epochs
    predictions = namespace["predictions"]                     # the probability model: [model, Softmax()]
    assert predictions.shape == (10000, 10)
    np.testing.assert_allclose(predictions.sum(axis=1), 1, rtol=1e-5)
    logits = namespace["model"].predict(namespace["test_images"], verbose=0)
    assert np.array_equal(predictions.argmax(axis=1), logits.argmax(axis=1))
    assert namespace["predictions_single"].shape == (1, 10)
    assert "(28, 28)\n(1, 28, 28)\n" in out


def test_lenet5(mnist_dir, monkeypatch, capsys):
    n = TRAIN_IMAGES["lenet5"]
    (x_test, y_test) = cut_training_set(monkeypatch, scratchcnn.datasets.mnist, mnist_dir, n)
    namespace = run_port("lenet5")
    out = capsys.readouterr().out
    assert sum(line.startswith("Epoch ") for line in out.splitlines()) == 5
    model = namespace["lenet_5_model"]
    assert model.layers[0].output_shape == (28, 28, 6)     # C1: padding='same' keeps 28x28
    assert out.count("val_accuracy: ") == 5                    # validation_data=(val_x, val_y)
    loss, accuracy = model.evaluate(namespace["test_x"], y_test, batch_size=1000, verbose=0)
    assert accuracy > 0.85                                     # 1,500 images, 5 epochs, tanh


def test_expand_dims_is_tensorflows():
    x = np.zeros((3, 28, 28))
    assert scratchcnn.expand_dims(x, 3).shape == (3, 28, 28, 1)
    assert scratchcnn.expand_dims(x, 0).shape == (1, 3, 28, 28)
    assert scratchcnn.expand_dims([1.0, 2.0], -1).shape == (2, 1)


def test_ctrl_c_scores_the_last_completed_epoch(fashion_dir, monkeypatch, capsys):
    """``ports.run``: a long run stopped by Ctrl-C still reports the test accuracy of its completed epochs."""
    import signal

    from scratchcnn.callbacks import Callback

    class CtrlCAfterTwoEpochs(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:                                     # counting from 0: after the second epoch
                signal.raise_signal(signal.SIGINT)

    fit = scratchcnn.Sequential.fit
    monkeypatch.setattr(scratchcnn.Sequential, "fit",
                        lambda self, *a, **k: fit(self, *a, **{**k, "callbacks": [CtrlCAfterTwoEpochs()]}))
    cut_training_set(monkeypatch, scratchcnn.datasets.fashion_mnist, fashion_dir, 500)
    namespace = ports.run("tf_fashion_classification")
    out = capsys.readouterr().out
    assert "Epoch 2/10" in out and "Epoch 4/10" not in out     # fit stops at the next batch boundary
    match = re.search(r"stopped by Ctrl-C after 2 completed epochs; with their weights, test loss [0-9.]+, "
                      r"test accuracy ([0-9.]+)", out)
    loss, accuracy = namespace["model"].evaluate(namespace["test_images"], namespace["test_labels"], verbose=0)
    assert float(match.group(1)) == pytest.approx(accuracy, abs=1e-4) and accuracy > 0.5
    assert "predictions" not in namespace                      # the script stopped where fit stopped
