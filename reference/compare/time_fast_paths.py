"""What each fast path of Keras's MNIST convnet buys, measured side by side on real MNIST.

    python reference/compare/time_fast_paths.py --data ../shared/data/mnist [--images 12800] [--rounds 5]

Four ways to run the same network (Conv2D(32, relu) -> pool -> Conv2D(64, relu) -> pool -> Flatten ->
Dropout(0.5) -> Dense(10, softmax), batch 128), each trained with ``fit`` on the same real images, in
alternating rounds in this one process:

* ``own code``: ``model.fuse = False`` and ``Conv2D.relu_in_kernel = False``: every layer's plain code;
* ``first pair fused``: the fused steps scratchcnn had before the second pair got its own: the first conv
  and its pool as ConvPoolStep, softmax + cross-entropy from the logits (here ``BlockConvPoolStep`` is
  refused for this model, by a flag of this script);
* ``+ relu in kernel``: the same, with the second conv applying relu inside its kernel;
* ``as fit runs it``: the defaults, the second conv and its pool as BlockConvPoolStep as well.

It prints each round's milliseconds per step and the medians, with the CPU. All three give the same
numbers up to float rounding (tests/test_layers.py, tests/test_kernels_vs_reference.py).
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scratchcnn import plan  # noqa: E402
from scratchcnn.datasets import mnist  # noqa: E402
from scratchcnn.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D  # noqa: E402
from scratchcnn.models import Sequential  # noqa: E402
from reference.compare.compare_real import cpu_description  # noqa: E402

BATCH = 128
WAYS = ("own code", "first pair fused", "+ relu in kernel", "as fit runs it")


class NoBlockStep(plan.BlockConvPoolStep):
    """Refuses every pair: the plan then runs the second conv and its pool as two layers."""
    @staticmethod
    def accepts(conv, pool) -> bool:
        return False


def convnet(way: str) -> Sequential:
    model = Sequential([Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)), MaxPooling2D((2, 2)),
                        Conv2D(64, (3, 3), activation="relu"), MaxPooling2D((2, 2)), Flatten(), Dropout(0.5),
                        Dense(10, activation="softmax")], seed=0, fuse=way != "own code")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    for layer in model.layers:
        if isinstance(layer, Conv2D):
            layer.relu_in_kernel = way in ("+ relu in kernel", "as fit runs it")
    return model


def fit(model, way, x, y):
    block_step = plan.BlockConvPoolStep
    if way in ("first pair fused", "+ relu in kernel"):
        plan.BlockConvPoolStep = NoBlockStep
    try:
        model._plan = None  # planned again, with or without the block step
        model.fit(x, y, batch_size=BATCH, verbose=0)
    finally:
        plan.BlockConvPoolStep = block_step
    kinds = [type(step).__name__ for step in model.plan.steps]
    assert ("BlockConvPoolStep" in kinds) == (way == "as fit runs it"), (way, kinds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="folder with the four MNIST files (default: scratchcnn's own search)")
    parser.add_argument("--images", type=int, default=12_800, help="training images per timed fit")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    (x, y), _ = mnist.load_data(args.data)
    x = x[:args.images].reshape(-1, 28, 28, 1).astype("float32")
    x /= 255
    y = y[:args.images]
    models = {way: convnet(way) for way in WAYS}
    for way, model in models.items():  # numba's cache, every path once
        fit(model, way, x[:3 * BATCH], y[:3 * BATCH])
    cpu, isa = cpu_description()
    print(f"CPU: {cpu}; {isa}; {len(x):,} images per fit, batch {BATCH}, {os.getloadavg()[0]:.1f} load")
    steps = -(-len(x) // BATCH)
    times = {way: [] for way in WAYS}
    for r in range(args.rounds):
        order = WAYS[r % len(WAYS):] + WAYS[:r % len(WAYS)]
        for way in order:
            start = time.perf_counter()
            fit(models[way], way, x, y)
            times[way].append(1e3 * (time.perf_counter() - start) / steps)
        print(f"  round {r + 1}: " + " | ".join(f"{way} {times[way][-1]:.1f} ms" for way in WAYS), flush=True)
    print("  median ms per step: " + " | ".join(f"{way} {statistics.median(times[way]):.1f}" for way in WAYS))


if __name__ == "__main__":
    main()
