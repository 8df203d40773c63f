"""Where the time goes in the next tutorials' networks: each layer's forward and backward at batch 128.

    python reference/compare/time_new_layers.py [--batch 128] [--repeats 20]

Two MNIST-shaped networks, float32, random data (speed does not depend on the values):
- LeNet-5 (LeCun et al. 1998, as the Keras/TensorFlow write-ups rebuild it): tanh convolutions and
  AveragePooling2D;
- a convnet with batch normalisation: Conv2D(use_bias=False) -> BatchNormalization -> relu, twice, with
  max and average pooling, GlobalAveragePooling2D before the classifier.
For each layer it prints the median milliseconds of forward (training mode) and backward, the layer's
share of the step's time and its share of the step's arithmetic (FLOPs: a multiply-add is 2; the
elementwise layers count the few operations per value they do). A layer that takes much more of the
time than of the arithmetic is the one to look at. Every layer's own code runs (no fused steps), with
BLAS on one thread, as fit runs it. Not a test: numbers depend on the machine and on what else it runs.
"""
import argparse
import os
import platform

import numpy as np
from threadpoolctl import threadpool_limits

import scratchcnn
from scratchcnn import layers
from scratchcnn.models import Sequential
from scratchcnn.tools import bench


def lenet5():
    return Sequential([
        layers.Conv2D(6, 5, padding="same", activation="tanh", input_shape=(28, 28, 1)),
        layers.AveragePooling2D(),
        layers.Conv2D(16, 5, activation="tanh"),
        layers.AveragePooling2D(),
        layers.Flatten(),
        layers.Dense(120, activation="tanh"),
        layers.Dense(84, activation="tanh"),
        layers.Dense(10, activation="softmax"),
    ], seed=0)


def batchnorm_convnet():
    return Sequential([
        layers.Conv2D(32, 3, padding="same", use_bias=False, input_shape=(28, 28, 1)),
        layers.BatchNormalization(),
        layers.Activation("relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.Activation("relu"),
        layers.AveragePooling2D(),
        layers.GlobalAveragePooling2D(),
        layers.Dense(10, activation="softmax"),
    ], seed=0)


def flops(layer, input_shape, first: bool) -> tuple[float, float]:
    """(forward, backward) FLOPs per image."""
    out = int(np.prod(layer.output_shape))
    size = int(np.prod(input_shape))
    if isinstance(layer, layers.Conv2D):
        (kh, kw), channels = layer.kernel_size, input_shape[-1]
        product = 2.0 * out * kh * kw * channels
        return product, product * (1 if first else 2)             # dW, and dx unless first
    if isinstance(layer, layers.Dense):
        product = 2.0 * input_shape[-1] * layer.units
        return product, product * (1 if first else 2)
    if isinstance(layer, layers.BatchNormalization):
        return 5.0 * size, 9.0 * size          # sum, squared deviation, x*scale+shift | two sums, dx
    if isinstance(layer, (layers.AveragePooling2D, layers.MaxPooling2D)):
        window = layer.pool_size[0] * layer.pool_size[1]
        return float(out * window), float(out * window)
    if isinstance(layer, layers.GlobalAveragePooling2D):
        return float(size), float(size)
    if isinstance(layer, layers.Activation):
        return 2.0 * size, 2.0 * size
    return 0.0, 0.0


def median_ms(fn, repeats: int) -> float:
    fn()  # once untimed: numba's cache, fresh pages
    return bench.median_ms(fn, repeats)


def profile(model, batch: int, repeats: int) -> list[tuple[str, float, float, float]]:
    """[(layer name, forward ms, backward ms, FLOPs per image)]"""
    x = np.random.default_rng(0).random((batch, *model.input_shape), dtype=np.float32)
    inputs, rows = [], []
    h = x
    for layer in model.layers:
        inputs.append(h)
        h = layer.forward(h, training=True)
    dy = np.random.default_rng(1).standard_normal(h.shape).astype(np.float32) / batch
    grads = [None] * len(model.layers)
    for k in reversed(range(len(model.layers))):
        grads[k] = dy
        dy = model.layers[k].backward(dy)
    shapes = [model.input_shape] + [layer.output_shape for layer in model.layers]
    for k, layer in enumerate(model.layers):
        forward = median_ms(lambda: layer.forward(inputs[k], training=True), repeats)
        backward = median_ms(lambda: layer.backward(grads[k]), repeats)   # after a forward: what it needs
        rows.append((f"{type(layer).__name__} {layer.name}", forward, backward,
                     sum(flops(layer, shapes[k], k == 0))))
    return rows


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    print(f"scratchcnn {scratchcnn.__version__}, batch {args.batch}, float32, {cpu_name()}, "
          f"{len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()} cores")
    with threadpool_limits(limits=1, user_api="blas"):
        for title, build in (("LeNet-5 (tanh, AveragePooling2D)", lenet5),
                             ("convnet with BatchNormalization", batchnorm_convnet)):
            rows = profile(build(), args.batch, args.repeats)
            total_ms = sum(f + b for _, f, b, _ in rows)
            total_flops = sum(fl for *_, fl in rows)
            width = max(len(name) for name, *_ in rows)
            print(f"\n{title}")
            print(f"{'layer':<{width}}  forward ms  backward ms  share of time  share of FLOPs")
            for name, forward, backward, fl in rows:
                print(f"{name:<{width}}  {forward:10.2f}  {backward:11.2f}  {(forward + backward) / total_ms:13.0%}"
                      f"  {fl / total_flops:14.1%}")
            print(f"{'step (layers only)':<{width}}  {total_ms:23.2f} ms   {total_flops * args.batch / 1e9:.2f} GFLOP")


if __name__ == "__main__":
    main()
