"""`scratchcnn bench` keeps working (it prints numbers; no test asserts a speed)."""
import numpy as np

from scratchcnn.tools import bench
from scratchcnn.tutorial import build_model


def test_layer_times_cover_every_layer_forward_and_backward():
    rng = np.random.default_rng(0)
    x, y = rng.random((32, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 32)
    for fuse in (True, False):
        model = build_model(seed=0)
        model.fuse = fuse
        names = [name for name, ms in bench.layer_times(model, x, y, repeats=2)]
        conv, pool, *rest = [layer.name for layer in model.layers]
        first = [f"{conv} + {pool} forward (fused)"] if fuse else [f"{conv} forward", f"{pool} forward"]
        assert [n for n in names if n.endswith("forward") or n.endswith("(fused)")][:1 if fuse else 2] == first
        for name in rest:
            assert f"{name} forward" in names
        # backward runs from the last layer down to the first (whose input gradient nobody needs)
        backward = [n for n in names if "backward" in n]
        last = [f"{conv} + {pool} backward (fused)"] if fuse else [f"{pool} backward", f"{conv} backward"]
        assert backward == [f"{name} backward" for name in reversed(rest)] + last
        assert names[-1] == "Adam update"


def test_throughputs_and_warm_start_are_measured():
    model = build_model(seed=0)
    rng = np.random.default_rng(0)
    x, y = rng.random((1100, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 1100)
    assert bench.training_images_per_second(model, x, y, steps=5) > 0
    assert bench.inference_images_per_second(model, x, repeats=1) > 0
    assert 0 < bench.warm_start_seconds() < 120
    assert bench.peak_rss_mb() > 10
