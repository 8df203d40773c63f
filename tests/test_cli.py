"""The ``scratchcnn`` command end to end, on the offline digits dataset (seconds, no download)."""
import json
import subprocess
import sys

import matplotlib.image
import numpy as np
import pytest

from scratchcnn.tools.cli import main


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    code = main(["train", "--dataset", "digits", "--epochs", "3", "--seed", "1", "--output", str(out)])
    return code, out


def test_train_writes_weights_history_and_figure(digits_run):
    code, out = digits_run
    assert code == 0
    assert (out / "model.weights.npz").stat().st_size > 100_000   # 4 weight tensors, ~41k floats
    results = json.loads((out / "history.json").read_text())
    assert results["dataset"] == "digits" and results["epochs"] == 3
    assert len(results["history"]["loss"]) == 3 and len(results["seconds_per_epoch"]) == 3
    assert results["history"]["loss"][-1] < results["history"]["loss"][0]
    assert results["test_accuracy"] > 0.5                         # 10 classes: chance is 0.1
    image = matplotlib.image.imread(out / "predictions.png")
    assert image.shape[0] > 100 and image.shape[1] > 400 and image[..., :3].std() > 0.05  # not blank


def test_train_prints_summary_progress_and_score(capsys, tmp_path):
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--output", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Total params:" in out and "Epoch 1/1" in out
    assert "Test loss:" in out and "test accuracy:" in out and "Seconds per epoch:" in out


def test_evaluate_reports_the_saved_model(digits_run, capsys):
    _, out = digits_run
    saved = json.loads((out / "history.json").read_text())
    assert main(["evaluate", "--dataset", "digits", "--weights", str(out / "model.weights.npz")]) == 0
    printed = capsys.readouterr().out
    assert f"test accuracy: {saved['test_accuracy']:.4f}" in printed


def test_missing_weights_is_one_line_error(tmp_path, capsys):
    assert main(["evaluate", "--dataset", "digits", "--weights", str(tmp_path / "nope.npz")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("scratchcnn: error: no weights file") and "\n" not in err


def test_missing_mnist_offline_names_the_folder_and_files(tmp_path, capsys):
    assert main(["train", "--data-dir", str(tmp_path), "--offline", "--epochs", "1"]) == 1
    err = capsys.readouterr().err
    assert str(tmp_path) in err and "train-images-idx3-ubyte.gz" in err
    assert list(tmp_path.iterdir()) == []                          # nothing written


def test_bad_options_exit_2_with_usage():
    result = subprocess.run([sys.executable, "-m", "scratchcnn", "train", "--epochs", "0"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "usage:" in result.stderr
    result = subprocess.run([sys.executable, "-m", "scratchcnn", "fly"], capture_output=True, text=True)
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_python_dash_m_runs_a_training(tmp_path):
    result = subprocess.run([sys.executable, "-m", "scratchcnn", "train", "--dataset", "digits",
                             "--epochs", "1", "--output", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout
    assert np.load(tmp_path / "model.weights.npz")["weight_000"].shape == (3, 3, 1, 28)
