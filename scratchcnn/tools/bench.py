"""``scratchcnn bench``: where the time goes in a network (the tutorial's, Keras's MNIST convnet, or any model
saved with ``save_weights``), in numbers.

Prints, for random MNIST-shaped data (speed does not depend on the pixel values):
- each step's forward and backward time (the model's plan, scratchcnn/plan.py), the loss and the
  optimizer update, at the network's batch size (32 for the tutorial and for a model file, 128 for
  Keras's convnet, or ``--batch-size``), as ``fit`` runs them (fused steps included) and with every
  layer on its own (``model.fuse = False``); a model file is rebuilt from its record
  (``scratchcnn.models.load_model``) and compiled with Adam and sparse categorical cross-entropy;
- training throughput (images per second through forward + backward + Adam at batch 32) and the
  projected time of one 60,000-image epoch;
- inference throughput at batch 1000;
- the warm start (a new process: import, build, first training step, with numba's cache filled) and the
  compile time of a first-ever run (the same with an empty numba cache);
- the peak resident memory of this process.
Timings are medians over repeats, taken on whatever else the machine is doing: compare ratios measured
side by side (reference/compare/compare_real.py), not numbers from different runs.
"""
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from ..kernels.threads import single_threaded_blas
from ..layers import Conv2D, Dense, Dropout, Flatten, Input, MaxPooling2D
from ..model import Sequential
from ..tutorial import build_model

WARM_START = """
import time, numpy as np
t0 = time.perf_counter()
from scratchcnn.tutorial import build_model
model = build_model(seed=0)
x = np.random.default_rng(0).random((32, 28, 28, 1), dtype=np.float32)
model.train_on_batch(x, np.arange(32) % 10)
print(time.perf_counter() - t0)
"""


def median_ms(fn, repeats: int) -> float:
    """The median of ``repeats`` timings of ``fn()``, in milliseconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def step_times(model, x, y, repeats: int = 50) -> list[tuple[str, float]]:
    """[(what, ms)] for each step of the model's plan, forward and backward, the loss and the optimizer, at
    x's batch size: the very steps fit runs (scratchcnn/plan.py), fused or not."""
    plan, rows, inputs = model.plan, [], []
    h = x
    for step in plan.steps:
        inputs.append(h)
        call = lambda step=step, h=h: step.forward(h, True)  # noqa: E731
        rows.append((f"{_step_name(step)} forward", median_ms(call, repeats)))
        h = call()
    rows.append(("loss + its gradient", median_ms(lambda: plan.loss(h, y), repeats)))
    grad = plan.loss(h, y)[1]
    for step, h_in in reversed(list(zip(plan.steps, inputs))):
        step.forward(h_in, True)      # the timing runs above left later inputs in the layers: restore them
        call = lambda step=step, grad=grad: step.backward(grad)  # noqa: E731
        rows.append((f"{_step_name(step)} backward", median_ms(call, repeats)))
        grad = call()
        if grad is None:              # the first layer makes no input gradient
            break
    rows.append(("optimizer update", median_ms(lambda: model.optimizer.step(model.params, model.grads), repeats)))
    return rows


def _step_name(step) -> str:
    names = " + ".join(layer.name for layer in step.layers)
    return f"{names} (fused)" if step.fused else names


def training_images_per_second(model, x, y, batch: int = 32, steps: int = 200) -> float:
    model.train_on_batch(x[:batch], y[:batch])
    start = time.perf_counter()
    for s in range(steps):
        lo = (s * batch) % (len(x) - batch)
        model._train_step(x[lo:lo + batch], y[lo:lo + batch])
    return steps * batch / (time.perf_counter() - start)


def inference_images_per_second(model, x, batch: int = 1000, repeats: int = 5) -> float:
    for _ in range(3):  # the first big batches also pay for fresh memory pages (about 1/3 slower)
        model.predict(x[:batch], batch_size=batch)
    return batch / (median_ms(lambda: model.predict(x[:batch], batch_size=batch), repeats) / 1e3)


def warm_start_seconds(numba_cache_dir: str | None = None) -> float:
    """Seconds from a new process's start of work to its first training step done."""
    env = dict(os.environ)
    if numba_cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = numba_cache_dir
    out = subprocess.run([sys.executable, "-c", WARM_START], capture_output=True, text=True, env=env, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def keras_convnet(seed: int | None = 0) -> Sequential:
    """Keras's own MNIST convnet example (keras.io/examples/vision/mnist_convnet), trained at batch 128."""
    model = Sequential([
        Input(shape=(28, 28, 1)),
        Conv2D(32, kernel_size=(3, 3), activation="relu"),
        MaxPooling2D(pool_size=(2, 2)),
        Conv2D(64, kernel_size=(3, 3), activation="relu"),
        MaxPooling2D(pool_size=(2, 2)),
        Flatten(),
        Dropout(0.5),
        Dense(10, activation="softmax"),
    ], seed=seed)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


NETWORKS = {"tutorial": (build_model, 32), "keras-convnet": (keras_convnet, 128)}  # builder, batch size


def model_file(path):
    """A builder for the model saved in ``path``: rebuilt from its record, compiled for a timing run."""
    from ..models import load_model

    def build(seed: int | None = 0) -> Sequential:
        model = load_model(path)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    return build


def run(compile_time: bool = True, plot_path=None, network: str = "tutorial", batch_size: int | None = None) -> str:
    """The report as text; with plot_path, also a bar chart of the step, fused beside unfused. ``network``:
    a name of NETWORKS, or the path of a weights file (``save_weights``) whose model is timed."""
    build, batch = NETWORKS[network] if network in NETWORKS else (model_file(network), 32)
    batch = batch_size or batch
    fused, unfused = build(seed=0), build(seed=0)
    unfused.fuse = False  # every layer on its own: the step before fusion, measured in the same run
    rng = np.random.default_rng(0)
    x = rng.random((max(2000, 2 * batch), *fused.input_shape), dtype=np.float32)
    y = rng.integers(0, fused.layers[-1].output_shape[-1], len(x))
    what = f"the {network} network" if network in NETWORKS else f"the model in {network}"
    lines = [f"scratchcnn bench: {what}, float32, random data of its input shape {fused.input_shape}", ""]
    infer_ips = inference_images_per_second(fused, x)
    infer_ips_unfused = inference_images_per_second(unfused, x)
    with single_threaded_blas():
        for model in (fused, unfused):
            model.train_on_batch(x[:batch], y[:batch])    # compile or load the kernels first
        rows = step_times(fused, x[:batch], y[:batch])
        rows_unfused = step_times(unfused, x[:batch], y[:batch])
        train_ips = training_images_per_second(fused, x, y, batch=batch)
        train_ips_unfused = training_images_per_second(unfused, x, y, batch=batch)
    width = max(len(name) for name, _ in rows + rows_unfused)
    for title, table in ((f"batch {batch}, as fit runs it", rows), (f"batch {batch}, model.fuse = False", rows_unfused)):
        lines.append(f"{title:<{width}}   ms")
        lines += [f"{name:<{width}} {ms:6.3f}" for name, ms in table]
        lines += [f"{'sum':<{width}} {sum(ms for _, ms in table):6.3f}", ""]
    lines += [f"training:  {train_ips:8,.0f} images/s at batch {batch} -> {60000 / train_ips:5.1f} s per "
              f"60,000-image epoch (unfused: {train_ips_unfused:,.0f} images/s, {60000 / train_ips_unfused:.1f} s)",
              f"inference: {infer_ips:8,.0f} images/s at batch 1000 (unfused: {infer_ips_unfused:,.0f})"]
    lines.append(f"warm start to the first training step: {warm_start_seconds():.2f} s")
    if compile_time:
        with tempfile.TemporaryDirectory() as empty_cache:
            lines.append(f"first-ever run (empty numba cache): {warm_start_seconds(empty_cache):.1f} s")
    lines.append(f"peak resident memory of this process: {peak_rss_mb():.0f} MB")
    if plot_path is not None:
        from .plots import plot_step_profile
        plot_step_profile({"as fit runs it": rows, "model.fuse = False": rows_unfused}, plot_path)
        lines.append(f"wrote {plot_path}")
    return "\n".join(lines)
