"""scratchcnn vs PyTorch vs Keras on the real workload: a full epoch of fit on MNIST, and predict on the
10,000 test images, for the tutorial and the networks a learner writes next, each system in its own
process, alternated round by round.

    python reference/compare/compare_real.py --data /path/to/mnist \\
        --torch-python /tmp/venv-torch/bin/python --keras-python /tmp/venv-tf/bin/python [--rounds 3]

PyTorch and TensorFlow are never dependencies of scratchcnn: install each in a throwaway environment,
pinned (``pip install torch==2.13.0``, ``pip install tensorflow-cpu==2.21.0``, which brings Keras 3), and
point the options above at their interpreters. Run this script with the Python that has scratchcnn.

The networks, float32, Adam with Keras's constants, sparse categorical cross-entropy:

* ``tutorial``: the Keras MNIST tutorial scratchcnn reproduces. Conv2D(28, 3x3) -> MaxPool 2x2 -> Flatten
  -> Dense(128, relu) -> Dropout(0.2) -> Dense(10, softmax); the 60,000 training images, batch 32.
* ``two-conv``: Keras's "Simple MNIST convnet" example. Conv2D(32, 3x3, relu) -> MaxPool 2x2 ->
  Conv2D(64, 3x3, relu) -> MaxPool 2x2 -> Flatten -> Dropout(0.5) -> Dense(10, softmax); batch 128, on
  the first 54,000 training images (the example's validation_split=0.1 keeps the last 6,000 aside; no
  validation pass is timed here, so every system does the same work).
* ``lenet5``: LeNet-5 as reference/compare/lenet5.py has it. Conv2D(6, 5x5, tanh, 'same') -> AveragePool
  2x2 -> Conv2D(16, 5x5, tanh) -> AveragePool 2x2 -> Conv2D(120, 5x5, tanh) -> Flatten -> Dense(84, tanh)
  -> Dense(10, softmax); the 60,000 training images, batch 32. No fused step applies to it: every layer
  runs its own code, on the general conv kernels.
* ``batchnorm``: the convnet a learner writes after reading about batch normalization. Conv2D(32, 3x3,
  'same', no bias) -> BatchNormalization -> relu -> MaxPool 2x2 -> Conv2D(64, 3x3, 'same', no bias) ->
  BatchNormalization -> relu -> MaxPool 2x2 -> Flatten -> Dense(128, relu) -> Dropout(0.3) ->
  Dense(10, softmax); the 60,000 training images, batch 64. PyTorch's BatchNorm2d gets Keras's constants
  (eps 1e-3, momentum 0.01 in PyTorch's sense = Keras's 0.99).

What is timed, in each worker, each round: one epoch of training on the shuffled set (wall clock, from
the first batch to the last), then ``predict`` of the 10,000 test images at batch 1000 (the median of 3
passes). Each worker builds its model once and warms up first (numba's cache, PyTorch's kernels, Keras's
traced functions) on a few batches, the last partial batch included. The parent loads the data once
with scratchcnn's loader (``scratchcnn.datasets.mnist.load_data``, checksums verified) and hands each
worker the same uint8 arrays; each worker scales them to floats itself, as the tutorial does.

Each system keeps its defaults: scratchcnn as installed; PyTorch eager with its default thread count,
a plain loop over shuffled index batches (no DataLoader, which would add its own per-image cost); Keras
``model.fit(..., verbose=0)``. The parent runs one worker at a time and rotates who goes first each
round, so load from anything else on the machine falls on all systems alike: read the ratios, each
round's and the median. Peak memory is each worker's peak resident set (``ru_maxrss``).
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

NETWORKS = {  # name: (batch size, training images)
    "tutorial": (32, 60_000),
    "two-conv": (128, 54_000),
    "lenet5": (32, 60_000),
    "batchnorm": (64, 60_000),
}
DEFAULT_NETWORKS = ["tutorial", "two-conv"]  # the two of the goals; --networks lenet5 batchnorm adds the others
PREDICT_BATCH = 1000
SYSTEMS = ("scratchcnn", "pytorch", "keras")


# --- the three systems, each run inside its own worker process ---------------------------------------------
def scratchcnn_system(network: str, seed: int):
    import scratchcnn
    from scratchcnn.layers import (Activation, AveragePooling2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten,
                                   MaxPooling2D)

    if network == "tutorial":
        layers = [Conv2D(28, kernel_size=(3, 3), input_shape=(28, 28, 1)), MaxPooling2D(pool_size=(2, 2)),
                  Flatten(), Dense(128, activation="relu"), Dropout(0.2), Dense(10, activation="softmax")]
    elif network == "lenet5":
        layers = [Conv2D(6, 5, activation="tanh", padding="same", input_shape=(28, 28, 1)), AveragePooling2D(),
                  Conv2D(16, 5, activation="tanh"), AveragePooling2D(), Conv2D(120, 5, activation="tanh"),
                  Flatten(), Dense(84, activation="tanh"), Dense(10, activation="softmax")]
    elif network == "batchnorm":
        layers = [Conv2D(32, 3, padding="same", use_bias=False, input_shape=(28, 28, 1)), BatchNormalization(),
                  Activation("relu"), MaxPooling2D(), Conv2D(64, 3, padding="same", use_bias=False),
                  BatchNormalization(), Activation("relu"), MaxPooling2D(), Flatten(), Dense(128, activation="relu"),
                  Dropout(0.3), Dense(10, activation="softmax")]
    else:
        layers = [Conv2D(32, kernel_size=(3, 3), activation="relu", input_shape=(28, 28, 1)),
                  MaxPooling2D(pool_size=(2, 2)), Conv2D(64, kernel_size=(3, 3), activation="relu"),
                  MaxPooling2D(pool_size=(2, 2)), Flatten(), Dropout(0.5), Dense(10, activation="softmax")]
    model = scratchcnn.Sequential(layers, seed=seed)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    def train(x, y, batch):
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)

    def predict(x):
        return model.predict(x, batch_size=PREDICT_BATCH)

    return train, predict, f"scratchcnn {scratchcnn.__version__}"


def pytorch_system(network: str, seed: int):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    if network == "tutorial":
        net = nn.Sequential(nn.Conv2d(1, 28, 3), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(13 * 13 * 28, 128),
                            nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))
    elif network == "lenet5":
        net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), nn.Tanh(),
                            nn.AvgPool2d(2), nn.Conv2d(16, 120, 5), nn.Tanh(), nn.Flatten(), nn.Linear(120, 84),
                            nn.Tanh(), nn.Linear(84, 10))
    elif network == "batchnorm":
        net = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32, eps=1e-3, momentum=0.01),
                            nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1, bias=False),
                            nn.BatchNorm2d(64, eps=1e-3, momentum=0.01), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                            nn.Linear(7 * 7 * 64, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10))
    else:
        net = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                            nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(5 * 5 * 64, 10))
    for layer in net:
        if isinstance(layer, (nn.Conv2d, nn.Linear)):  # Keras's initialisers
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()  # softmax + cross-entropy from the logits, as Keras fuses them
    generator = torch.Generator().manual_seed(seed)

    def to_tensor(x):  # (N, 28, 28, 1) channels-last -> (N, 1, 28, 28), the layout PyTorch's conv wants
        return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))

    def train(x, y, batch):
        xt, yt = to_tensor(x), torch.from_numpy(y.astype(np.int64))
        net.train()
        order = torch.randperm(len(xt), generator=generator)
        for start in range(0, len(xt), batch):
            index = order[start:start + batch]
            optimizer.zero_grad()
            loss = loss_fn(net(xt[index]), yt[index])
            loss.backward()
            optimizer.step()

    def predict(x):
        xt = to_tensor(x)
        net.eval()
        with torch.inference_mode():
            return torch.cat([torch.softmax(net(xt[s:s + PREDICT_BATCH]), dim=1)
                              for s in range(0, len(xt), PREDICT_BATCH)]).numpy()

    return train, predict, f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads"


def keras_system(network: str, seed: int):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf
    from keras import layers

    keras.utils.set_random_seed(seed)
    if network == "tutorial":
        stack = [layers.Conv2D(28, kernel_size=(3, 3)), layers.MaxPooling2D(pool_size=(2, 2)), layers.Flatten(),
                 layers.Dense(128, activation="relu"), layers.Dropout(0.2), layers.Dense(10, activation="softmax")]
    elif network == "lenet5":
        stack = [layers.Conv2D(6, kernel_size=5, activation="tanh", padding="same"), layers.AveragePooling2D(pool_size=(2, 2)),
                 layers.Conv2D(16, kernel_size=5, activation="tanh"), layers.AveragePooling2D(pool_size=(2, 2)),
                 layers.Conv2D(120, kernel_size=5, activation="tanh"), layers.Flatten(),
                 layers.Dense(84, activation="tanh"), layers.Dense(10, activation="softmax")]
    elif network == "batchnorm":
        stack = [layers.Conv2D(32, 3, padding="same", use_bias=False), layers.BatchNormalization(),
                 layers.Activation("relu"), layers.MaxPooling2D(), layers.Conv2D(64, 3, padding="same", use_bias=False),
                 layers.BatchNormalization(), layers.Activation("relu"), layers.MaxPooling2D(), layers.Flatten(),
                 layers.Dense(128, activation="relu"), layers.Dropout(0.3), layers.Dense(10, activation="softmax")]
    else:
        stack = [layers.Conv2D(32, kernel_size=(3, 3), activation="relu"), layers.MaxPooling2D(pool_size=(2, 2)),
                 layers.Conv2D(64, kernel_size=(3, 3), activation="relu"), layers.MaxPooling2D(pool_size=(2, 2)),
                 layers.Flatten(), layers.Dropout(0.5), layers.Dense(10, activation="softmax")]
    model = keras.Sequential([keras.Input(shape=(28, 28, 1)), *stack])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    def train(x, y, batch):
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)

    def predict(x):
        return model.predict(x, batch_size=PREDICT_BATCH, verbose=0)

    return train, predict, f"Keras {keras.__version__} / TensorFlow {tf.__version__}"


def worker(system: str, network: str, data_file: str, seed: int, train_images: int | None) -> None:
    """Build one system's model, warm it up, then run a round each time the parent writes a line."""
    import resource

    with np.load(data_file) as data:
        x_train, y_train, x_test, y_test = (data[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    batch, n_train = NETWORKS[network]
    n_train = min(n_train, train_images or n_train)
    # as the tutorial scales: astype, then divide in place (x / 255 would hold a second float copy a while)
    x_train = x_train[:n_train].reshape(-1, 28, 28, 1).astype("float32")
    x_train /= 255
    y_train = y_train[:n_train]
    x_test = x_test.reshape(-1, 28, 28, 1).astype("float32")
    x_test /= 255
    train, predict, version = {"scratchcnn": scratchcnn_system, "pytorch": pytorch_system,
                               "keras": keras_system}[system](network, seed)

    warm = 3 * batch + n_train % batch  # full batches and one of the epoch's last, partial size
    train(x_train[:warm], y_train[:warm], batch)
    predict(x_test[:2 * PREDICT_BATCH])
    print(json.dumps({"ready": version}), flush=True)
    for line in sys.stdin:
        if line.strip() != "round":
            break
        start = time.perf_counter()
        train(x_train, y_train, batch)
        epoch = time.perf_counter() - start
        passes = []
        for _ in range(3):
            start = time.perf_counter()
            probabilities = predict(x_test)
            passes.append(time.perf_counter() - start)
        accuracy = float(np.mean(np.argmax(probabilities, axis=1) == y_test))
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
        print(json.dumps({"epoch_s": epoch, "predict_s": statistics.median(passes), "test_accuracy": accuracy,
                          "peak_rss_mib": rss}), flush=True)


# --- the parent: machine, workers, rounds, ratios ----------------------------------------------------------
def cpu_description() -> tuple[str, str]:
    """(CPU model, the vector ISA it offers), from /proc/cpuinfo where there is one."""
    model, flags = platform.processor() or "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    isa = [name for name in ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
                             "amx_tile") if name in flags]
    return f"{model}, {os.cpu_count()} logical CPUs", " ".join(isa) or "no AVX2"


class Worker:
    def __init__(self, python: str, system: str, network: str, data_file: str, seed: int, train_images):
        self.system = system
        self.process = subprocess.Popen(
            [python, __file__, "--worker", system, "--network", network, "--data-file", data_file,
             "--seed", str(seed), "--train-images", str(train_images or 0)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        reply = self.process.stdout.readline()
        if not reply:
            raise SystemExit(f"the {system} worker ({python}) failed to start; its error is above")
        self.version = json.loads(reply)["ready"]

    def round(self) -> dict:
        self.process.stdin.write("round\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def compare(network: str, pythons: dict, data_file: str, rounds: int, seed: int, train_images) -> None:
    batch, n_train = NETWORKS[network]
    n_train = min(n_train, train_images or n_train)
    print(f"\n== {network}: one epoch of {n_train:,} images at batch {batch}; predict 10,000 at batch "
          f"{PREDICT_BATCH} ==", flush=True)
    workers = {s: Worker(pythons[s], s, network, data_file, seed, train_images) for s in SYSTEMS}
    for s, w in workers.items():
        print(f"  {s}: {w.version}", flush=True)
    results = {s: [] for s in SYSTEMS}
    for r in range(rounds):
        order = SYSTEMS[r % 3:] + SYSTEMS[:r % 3]  # rotate who goes first
        for s in order:
            results[s].append(workers[s].round())
        cells = [f"{s} {results[s][-1]['epoch_s']:6.2f} s, {10_000 / results[s][-1]['predict_s']:7,.0f} img/s "
                 f"(acc {results[s][-1]['test_accuracy']:.4f})" for s in SYSTEMS]
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")  # others on the machine
        print(f"  round {r + 1} (order {', '.join(order)}; load average {load:.1f}): " + " | ".join(cells),
              flush=True)
    for w in workers.values():
        w.close()

    ours = results["scratchcnn"]
    for other in ("pytorch", "keras"):
        theirs = results[other]
        epoch_ratios = [o["epoch_s"] / t["epoch_s"] for o, t in zip(ours, theirs)]
        speed_ratios = [t["predict_s"] / o["predict_s"] for o, t in zip(ours, theirs)]
        print(f"  scratchcnn epoch time / {other}: "
              + ", ".join(f"{v:.2f}" for v in epoch_ratios) + f"  (median {statistics.median(epoch_ratios):.2f})")
        print(f"  scratchcnn predict speed / {other}: "
              + ", ".join(f"{v:.2f}x" for v in speed_ratios) + f"  (median {statistics.median(speed_ratios):.2f}x)")
    print("  peak RSS of each worker: " + ", ".join(
        f"{s} {max(r['peak_rss_mib'] for r in results[s]):,.0f} MiB" for s in SYSTEMS), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="folder with the four MNIST files (default: scratchcnn's own search)")
    parser.add_argument("--torch-python", default=sys.executable, help="a Python with torch installed")
    parser.add_argument("--keras-python", default=sys.executable, help="a Python with tensorflow installed")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--networks", nargs="+", choices=list(NETWORKS), default=DEFAULT_NETWORKS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-images", type=int, help="train on fewer images, for a quick try (not an epoch)")
    parser.add_argument("--worker", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--network", choices=list(NETWORKS), help=argparse.SUPPRESS)
    parser.add_argument("--data-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.network, args.data_file, args.seed, args.train_images)

    from scratchcnn.datasets import mnist

    cpu, isa = cpu_description()
    print(f"CPU: {cpu}\nvector ISA: {isa}\nrounds: {args.rounds}, one worker at a time, first place rotated")
    (x_train, y_train), (x_test, y_test) = mnist.load_data(args.data)
    pythons = {"scratchcnn": sys.executable, "pytorch": args.torch_python, "keras": args.keras_python}
    with tempfile.TemporaryDirectory() as folder:
        data_file = os.path.join(folder, "mnist.npz")
        np.savez(data_file, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
        del x_train, x_test
        for network in args.networks:
            compare(network, pythons, data_file, args.rounds, args.seed, args.train_images)


if __name__ == "__main__":
    main()
