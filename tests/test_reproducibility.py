"""The same seed gives the same bits: weights and history, run after run, process after process.

Everything random (initial weights, the shuffling of each epoch, every dropout mask) is drawn from the one
generator ``Sequential(seed=...)`` creates, and every sum is taken in a fixed order whatever the thread
count (docs/reproducibility.md). Here two `scratchcnn train` processes, one with a single thread for numba
and BLAS and one with two, must write identical weight arrays and identical history values.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from scratchcnn.tutorial import build_model, load_dataset

REPO = Path(__file__).resolve().parents[1]


def test_two_processes_same_seed_same_bits(tmp_path):
    runs = {}
    for name, threads in (("one thread", "1"), ("two threads", "2")):
        out = tmp_path / name.replace(" ", "-")
        env = {**os.environ, "PYTHONPATH": str(REPO), "NUMBA_NUM_THREADS": threads,
               "OPENBLAS_NUM_THREADS": threads}
        runs[name] = (out, subprocess.Popen(
            [sys.executable, "-m", "scratchcnn", "train", "--dataset", "digits", "--epochs", "2", "--seed", "7",
             "--verbose", "0", "--output", str(out)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True))
    results = {}
    for name, (out, process) in runs.items():  # both run at once: half the waiting
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        with np.load(out / "model.weights.npz") as data:
            weights = {key: data[key] for key in data.files}
        results[name] = weights, json.loads((out / "history.json").read_text())
    (weights_a, history_a), (weights_b, history_b) = results.values()
    assert weights_a.keys() == weights_b.keys() and len(weights_a) == 7  # 6 arrays and the architecture
    for key in weights_a:
        assert np.array_equal(weights_a[key], weights_b[key]), key
    for key in ("history", "test_loss", "test_accuracy", "seed", "epochs"):
        assert history_a[key] == history_b[key], key  # exact float equality, not approximate
    assert history_a["history"]["val_loss"][0] != history_a["history"]["val_loss"][1]


def test_in_one_process_with_validation_data():
    (x, y), (x_test, y_test) = load_dataset("digits")

    def train():
        model = build_model(input_shape=(8, 8, 1), seed=3)
        history = model.fit(x[:256], y[:256], epochs=2, verbose=0, validation_data=(x_test, y_test))
        return model.get_weights(), history.history, model.predict(x_test)

    first, second = train(), train()
    assert all(np.array_equal(a, b) for a, b in zip(first[0], second[0]))
    assert first[1] == second[1]
    assert np.array_equal(first[2], second[2])


def test_conv_and_pool_kernels_give_the_same_bits_on_any_number_of_threads(monkeypatch):
    """The second conv of Keras's two-conv example (32 -> 64 channels, the im2col path) and its pool, at
    batch 128: numba on 1 or 2 threads, the matrix-product blocks on 1, 2 or 4 cores, the same bits."""
    import numba

    from scratchcnn import kernels
    from scratchcnn.kernels import matmul

    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 13, 13, 32)).astype(np.float32)
    kernel = rng.standard_normal((3, 3, 32, 64)).astype(np.float32)
    bias = rng.standard_normal(64).astype(np.float32)
    dz = rng.standard_normal((128, 11, 11, 64)).astype(np.float32)
    assert kernels.conv.uses_matmul(kernel.shape)

    def run():
        y = kernels.conv2d_forward(x, kernel, bias, (1, 1))
        pooled, argmax = kernels.maxpool2d_forward(y, (2, 2), (2, 2))
        return (y, pooled, argmax, kernels.maxpool2d_backward(pooled, argmax, y.shape, (2, 2), (2, 2)),
                kernels.conv2d_backward_kernel(x, dz, (1, 1), (3, 3)), kernels.conv2d_backward_bias(dz),
                kernels.conv2d_backward_input(dz, kernel, (1, 1), (13, 13)))

    results = []
    threads_before = numba.get_num_threads()
    try:
        for numba_threads, cores in ((1, 1), (2, 2), (2, 4)):
            numba.set_num_threads(min(numba_threads, numba.config.NUMBA_NUM_THREADS))
            monkeypatch.setattr(matmul, "PARTS", cores)
            results.append(run())
    finally:
        numba.set_num_threads(threads_before)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert np.array_equal(a, b)
