"""The Keras tutorial runs on scratchcnn with only its import lines changed.

``reference/compare/keras_tutorial.py`` is the tutorial as Keras users run it. This test rewrites its three
import lines, checks nothing else changed, and executes it. To keep it quick the training set is cut to
its first 8,000 images (the loader is patched; the tutorial's own code is untouched); the test set is whole.
"""
from pathlib import Path

import numpy as np
import pytest

import scratchcnn

TUTORIAL = Path(__file__).resolve().parents[1] / "reference" / "compare" / "keras_tutorial.py"

PORT = {
    "import tensorflow as tf": "import scratchcnn as tf",
    "from tensorflow.keras.models import Sequential": "from scratchcnn.models import Sequential",
    "from tensorflow.keras.layers import Dense, Conv2D, Dropout, Flatten, MaxPooling2D":
        "from scratchcnn.layers import Dense, Conv2D, Dropout, Flatten, MaxPooling2D",
}


def ported_source() -> str:
    lines = TUTORIAL.read_text().splitlines()
    ported = [PORT.get(line, line) for line in lines]
    changed = [(a, b) for a, b in zip(lines, ported) if a != b]
    assert len(changed) == 3 and all(a.startswith(("import", "from")) for a, _ in changed)
    return "\n".join(ported)


def test_the_tutorial_runs_with_only_its_imports_changed(mnist_dir, monkeypatch, capsys):
    load = scratchcnn.datasets.mnist.load_data
    (x_train, y_train), test = load(mnist_dir)
    monkeypatch.setattr(scratchcnn.datasets.mnist, "load_data",
                        lambda *a, **k: ((x_train[:8000], y_train[:8000]), test))

    namespace: dict = {}
    exec(compile(ported_source(), str(TUTORIAL), "exec"), namespace)

    out = capsys.readouterr().out.splitlines()
    assert out[0] == "8"                                    # the label of training image 7777
    assert "x_train shape: (8000, 28, 28, 1)" in out
    assert sum(line.startswith("Epoch ") for line in out) == 10
    model = namespace["model"]
    loss, accuracy = model.evaluate(namespace["x_test"], test[1], batch_size=1000, verbose=0)
    assert accuracy > 0.95                                  # 8,000 images, 10 epochs
    assert out[-1] == str(test[1][4444])                    # the tutorial's last print: the digit is right
    assert isinstance(namespace["pred"], np.ndarray) and namespace["pred"].shape == (1, 10)


def test_tf_names_point_at_scratchcnn():
    import scratchcnn as tf

    assert tf.keras.datasets.mnist.load_data is scratchcnn.datasets.mnist.load_data
    assert tf.nn.relu is scratchcnn.activations.relu
    np.testing.assert_allclose(tf.nn.softmax(np.zeros((1, 4))), 0.25)


@pytest.mark.parametrize("line", list(PORT))
def test_every_ported_import_exists_in_the_tutorial(line):
    assert line in TUTORIAL.read_text().splitlines()
