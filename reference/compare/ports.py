"""The next tutorials, ported to scratchcnn by rewriting their import lines and nothing else.

Each file named in ``PORTS`` is a well-known Keras / TensorFlow example kept as its source writes it; its
entry maps each import line to the line that replaces it. ``ported_source(name)`` applies the map and
refuses if any other line would change. Run one at its full length, as docs/results.md reports it:

    SCRATCHCNN_DATA=../shared/data/mnist SCRATCHCNN_FASHION_DATA=../shared/data/fashion-mnist \\
        MPLBACKEND=Agg python reference/compare/ports.py keras_mnist_convnet

Ctrl-C stops a long run cleanly (fit finishes its batch and puts back the weights of the last completed
epoch); the runner then scores those weights on the example's own test set and says after how many epochs,
so a run cut short still gives a test accuracy. (tests/test_next_tutorials.py runs each for a short budget.)
"""
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

PORTS: dict[str, dict[str, str]] = {
    # keras.io/examples/vision/mnist_convnet/ (Keras 3)
    "keras_mnist_convnet": {
        "import keras": "import scratchcnn.keras as keras",
        "from keras import layers": "from scratchcnn.keras import layers",
    },
    # tensorflow.org/tutorials/keras/classification
    "tf_fashion_classification": {
        "import tensorflow as tf": "import scratchcnn as tf",
    },
    # Richmond Alake, "Understanding and Implementing LeNet-5 CNN Architecture", Towards Data Science, 2020
    "lenet5": {
        "import tensorflow as tf": "import scratchcnn as tf",
        "from tensorflow import keras": "from scratchcnn import keras",
    },
}

# Where each script keeps its model and its test set once it has run (to score a run stopped by Ctrl-C).
TEST_NAMES: dict[str, tuple[str, str, str]] = {
    "keras_mnist_convnet": ("model", "x_test", "y_test"),
    "tf_fashion_classification": ("model", "test_images", "test_labels"),
    "lenet5": ("lenet_5_model", "test_x", "test_y"),
}


def original_path(name: str) -> Path:
    return HERE / f"{name}.py"


def ported_source(name: str) -> str:
    """The example's source with its import lines replaced; every other line byte-for-byte the original's."""
    port = PORTS[name]
    lines = original_path(name).read_text().splitlines()
    ported = [port.get(line, line) for line in lines]
    changed = [(a, b) for a, b in zip(lines, ported) if a != b]
    if len(changed) != len(port) or not all(a.startswith(("import ", "from ")) for a, _ in changed):
        raise ValueError(f"{name}: the port must change exactly its {len(port)} import lines, changed {changed}")
    return "\n".join(ported) + "\n"


def run(name: str) -> dict:
    """Execute the ported example at its full length; return its namespace.

    If Ctrl-C stops its training, score the weights of the last completed epoch on its test set."""
    from scratchcnn.callbacks import TrainingInterrupted

    namespace: dict = {"__name__": "__main__"}
    try:
        exec(compile(ported_source(name), str(original_path(name)), "exec"), namespace)
    except TrainingInterrupted as stop:
        model, x_test, y_test = (namespace[key] for key in TEST_NAMES[name])
        loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
        print(f"{name}: stopped by Ctrl-C after {stop.epochs_completed} completed epochs; with their weights, "
              f"test loss {loss:.4f}, test accuracy {accuracy:.4f}")
    return namespace


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in PORTS:
        sys.exit(f"usage: python reference/compare/ports.py {{{','.join(PORTS)}}}")
    start = time.perf_counter()
    run(sys.argv[1])
    print(f"{sys.argv[1]}: {time.perf_counter() - start:.1f} s in all")
