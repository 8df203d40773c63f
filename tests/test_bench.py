"""`scratchcnn bench` keeps working (it prints numbers; no test asserts a speed)."""
import numpy as np

from scratchcnn.tools import bench
from scratchcnn.tutorial import build_model


def test_step_times_follow_the_plan_forward_and_backward():
    rng = np.random.default_rng(0)
    x, y = rng.random((32, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 32)
    for fuse in (True, False):
        model = build_model(seed=0)
        model.fuse = fuse
        names = [name for name, ms in bench.step_times(model, x, y, repeats=2)]
        conv, pool, flatten, dense, dropout, dense_1 = [layer.name for layer in model.layers]
        if fuse:
            steps = [f"{conv} + {pool} (fused)", flatten, dense, dropout, f"{dense_1} (fused)"]
        else:
            steps = [conv, pool, flatten, dense, dropout, dense_1]
        assert [n for n in names if n.endswith(" forward")] == [f"{s} forward" for s in steps]
        # backward runs from the last step down to the first (whose input gradient nobody needs)
        assert [n for n in names if n.endswith(" backward")] == [f"{s} backward" for s in reversed(steps)]
        assert names[-1] == "optimizer update"


def test_throughputs_and_warm_start_are_measured():
    model = build_model(seed=0)
    rng = np.random.default_rng(0)
    x, y = rng.random((1100, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 1100)
    assert bench.training_images_per_second(model, x, y, steps=5) > 0
    assert bench.inference_images_per_second(model, x, repeats=1) > 0
    assert 0 < bench.warm_start_seconds() < 120
    assert bench.peak_rss_mb() > 10


def test_bench_knows_keras_convnet_and_walks_its_plan():
    model = bench.keras_convnet(seed=0)
    assert model.count_params() == 34_826                      # Keras's summary of the example says so
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 8)
    names = [name for name, ms in bench.step_times(model, x, y, repeats=1)]
    assert "conv2d_1 + max_pooling2d_1 (fused) backward" in names  # the second pair, block by block
    assert names[0] == "conv2d + max_pooling2d (fused) forward"


def test_bench_times_any_saved_model(tmp_path, capsys):
    from scratchcnn.layers import AveragePooling2D, BatchNormalization, Conv2D, Dense, Flatten
    from scratchcnn.models import Sequential
    from scratchcnn.tools.cli import main

    model = Sequential([Conv2D(6, 5, activation="tanh", input_shape=(16, 16, 1)), AveragePooling2D(2),
                        BatchNormalization(), Flatten(), Dense(12, activation="tanh"), Dense(4, activation="softmax")],
                       seed=0)
    model.save_weights(tmp_path / "lenet.npz")
    report = bench.run(compile_time=False, network=str(tmp_path / "lenet.npz"), batch_size=8)
    assert f"the model in {tmp_path / 'lenet.npz'}" in report and "input shape (16, 16, 1)" in report
    for layer in model.layers[:-1]:
        assert f"{layer.name} forward" in report and f"{layer.name} backward" in report
    assert "images/s at batch 8" in report
    assert main(["bench", "--model", str(tmp_path / "missing.npz"), "--no-compile-time"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.npz" in err[0] and "save_weights" in err[0]
