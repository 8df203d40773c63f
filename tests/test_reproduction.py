"""The tutorial reproduced in full: ``scratchcnn train`` with its defaults, 10 epochs of batch 32 on the
60,000 MNIST images, seed 0.

The tutorial reports 98.4%; Keras 3 reached 98.41-98.70% and PyTorch 98.43% on this machine. The bar here
is 98.3% for one seed (room for seed noise, not for a weaker network). Seeds 0-9 gave 98.57, 98.49, 98.42,
98.42, 98.49, 98.50, 98.36, 98.40, 98.36 and 98.24% (docs/results.md, median 98.42%; the previous round's
code, 98.04 to 98.55%): the last-epoch accuracy moves by 0.1 to 0.15 points from seed to seed, for Keras
too. Seed 0, the default, gives 98.57% on this kind of machine; on another CPU the kernels may round
differently and draw another value from that spread. It takes about a minute, so a quick local ``pytest`` skips it; ``.ci/run`` sets
SCRATCHCNN_RUN_SLOW=1 and runs it.
"""
import json

import pytest

from scratchcnn.tools.cli import main

SEED = 0


@pytest.mark.slow
def test_default_training_reaches_the_tutorial_accuracy(mnist_dir, tmp_path, capsys):
    assert main(["train", "--data-dir", str(mnist_dir), "--offline", "--seed", str(SEED),
                 "--output", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "history.json").read_text())
    with capsys.disabled():
        print(f"\nfull reproduction, seed {SEED}: test accuracy {results['test_accuracy']:.4f}, "
              f"seconds per epoch {results['seconds_per_epoch']}")
    assert results["epochs"] == 10 and results["batch_size"] == 32
    assert len(results["history"]["loss"]) == 10
    assert results["test_accuracy"] >= 0.983
    assert (tmp_path / "predictions.png").stat().st_size > 5_000
