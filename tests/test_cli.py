"""The ``scratchcnn`` command end to end, on the offline digits dataset (seconds, no download)."""
import json
import os
import socket
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
    assert results["dataset"] == "digits" and results["epochs"] == 3 and results["epochs_asked"] == 3
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


def test_the_record_says_what_the_run_used(digits_run):
    _, out = digits_run
    record = json.loads((out / "run.json").read_text())
    history = json.loads((out / "history.json").read_text())
    assert record["dataset"] == "digits" and record["data_dir"] is None and record["seed"] == 1
    assert record["epochs_asked"] == record["epochs_completed"] == 3 and record["batch_size"] == 32
    assert record["status"] == "finished" and record["run_id"] == history["run_id"]
    assert record["command"] == f"scratchcnn train --dataset digits --epochs 3 --seed 1 --output {out}"
    assert {"scratchcnn", "python", "numpy", "numba"} <= set(record["versions"])
    assert set(record["files"]) == {p.name for p in out.iterdir()} - {"run.json"}  # every file is vouched for


def test_evaluate_finds_the_run_from_its_record(digits_run, capsys, tmp_path, monkeypatch):
    _, out = digits_run
    saved = json.loads((out / "history.json").read_text())
    assert main(["evaluate", "--run", str(out)]) == 0                  # the dataset comes from run.json
    assert f"test accuracy: {saved['test_accuracy']:.4f} (450 digits test images" in capsys.readouterr().out
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "digits").symlink_to(out)
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", "--dataset", "digits"]) == 0              # the default follows the dataset
    assert f"test accuracy: {saved['test_accuracy']:.4f}" in capsys.readouterr().out
    assert main(["evaluate", "--dataset", "mnist", "--run", "runs/digits"]) == 1
    err = capsys.readouterr().err
    assert err == ("scratchcnn: error: --dataset mnist, but the run in runs/digits was trained on digits: leave "
                   "--dataset out, or give --run a mnist run\n")


def test_evaluate_refuses_weights_the_record_does_not_vouch_for(digits_run, tmp_path, capsys):
    _, out = digits_run
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("run.json", "history.json"):
        (copy / name).write_bytes((out / name).read_bytes())
    weights = bytearray((out / "model.weights.npz").read_bytes())
    (copy / "model.weights.npz").write_bytes(weights[:-1] + bytes([weights[-1] ^ 1]))  # another file
    assert main(["evaluate", "--run", str(copy)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"scratchcnn: error: {copy / 'model.weights.npz'} is not the file run.json vouches for")


def test_every_option_has_help():
    from scratchcnn.tools.cli import build_parser
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    for name, sub in commands.items():
        for action in sub._actions:
            assert action.help, f"scratchcnn {name} {'/'.join(action.option_strings) or action.dest} has no help"


def test_output_that_is_a_file_is_refused_before_loading_data(tmp_path, capsys):
    (tmp_path / "taken").write_text("a file")
    assert main(["train", "--output", str(tmp_path / "taken"), "--data-dir", str(tmp_path), "--offline"]) == 74
    err = capsys.readouterr().err
    assert err == (f"scratchcnn: error: {tmp_path / 'taken'}: Not a directory; a file is in the way where a folder "
                   "is needed: remove or rename it, or choose another path\n")  # not the missing-MNIST message


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_output_is_refused_before_loading_data(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert main(["train", "--dataset", "digits", "--output", str(locked / "run")]) == 74  # file system
    finally:
        locked.chmod(0o755)
    assert capsys.readouterr().err.startswith(f"scratchcnn: error: {locked / 'run'}: Permission denied; fix its")


def test_a_new_run_replaces_the_old_runs_files_and_keeps_yours(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--verbose", "0", "--output", str(out)]) == 0
    old = json.loads((out / "run.json").read_text())
    (out / "notes.txt").write_text("mine\n")
    (out / ".model.weights.npz.abc123.partial").write_bytes(b"left by a killed run")
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--seed", "5", "--no-validate",
                 "--verbose", "0", "--output", str(out)]) == 0
    new = json.loads((out / "run.json").read_text())
    assert new["run_id"] != old["run_id"] and new["seed"] == 5
    assert sorted(p.name for p in out.iterdir()) == sorted([*new["files"], "run.json", "notes.txt"])
    assert (out / "notes.txt").read_text() == "mine\n"


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def test_download_failure_is_said_once_in_cli_words(tmp_path, capsys, monkeypatch):
    import dataclasses
    from scratchcnn.datasets import mnist
    mirrors = (closed_port_url(), closed_port_url())
    monkeypatch.setattr(mnist, "DATASET", dataclasses.replace(mnist.DATASET, mirrors=mirrors))
    assert main(["train", "--data-dir", str(tmp_path), "--output", str(tmp_path / "run"), "--epochs", "1"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""                                           # nothing on stdout
    err = captured.err
    assert err.count("\n") == 1 and err.startswith("scratchcnn: error: could not download ")
    assert all(err.count(mirror + mnist.TRAIN_IMAGES) == 1 for mirror in mirrors)  # each failure once
    assert "--data-dir" in err and "--dataset digits" in err
    assert "path=" not in err and "load_data" not in err and "SCRATCHCNN_DATA" not in err
    assert list(tmp_path.iterdir()) == []                               # no partial file, no run folder


def test_missing_weights_is_one_line_error(tmp_path, capsys):
    assert main(["evaluate", "--dataset", "digits", "--weights", str(tmp_path / "nope.npz")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("scratchcnn: error: no weights file") and "\n" not in err


def test_missing_mnist_offline_names_the_folder_and_files(tmp_path, capsys):
    assert main(["train", "--data-dir", str(tmp_path), "--offline", "--epochs", "1",
                 "--output", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"scratchcnn: error: MNIST files missing from {tmp_path}: train-images-idx3-ubyte.gz")
    assert err.count("\n") == 1 and "path=" not in err and "load_data" not in err   # once, in CLI words
    assert "--data-dir FOLDER" in err and "--dataset digits" in err and "--offline" in err
    assert list(tmp_path.iterdir()) == []                          # nothing written


def test_evaluate_needs_only_the_two_test_files(mnist_dir, tmp_path, capsys):
    data = tmp_path / "test-only"
    data.mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (data / name).symlink_to(mnist_dir / name)
    from scratchcnn import tutorial
    model = tutorial.build_model(seed=0)
    model.save_weights(tmp_path / "untrained.weights.npz")
    assert main(["evaluate", "--weights", str(tmp_path / "untrained.weights.npz"), "--data-dir", str(data),
                 "--offline"]) == 0
    assert "(10,000 mnist test images" in capsys.readouterr().out


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


def test_warm_up_changes_nothing_and_says_so_when_it_takes_long():
    from scratchcnn import tutorial
    (x, y), _ = tutorial.load_dataset("digits")
    model = tutorial.build_model(input_shape=(8, 8, 1), seed=4)
    before, state = [w.copy() for w in model.get_weights()], model.rng.bit_generator.state
    said = []
    seconds = tutorial.warm_up(model, x, y, say=lambda *a, **k: said.append((a, k.get("end", "\n"))), after=0.0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert model.rng.bit_generator.state == state and model.optimizer.iterations == 0
    assert said[0] == ((tutorial.COMPILING,), "") and said[1] == ((f" done in {seconds:.1f} s",), "\n")  # one line
    said.clear()
    tutorial.warm_up(model, x, y, say=lambda *a, **k: said.append(a), after=60.0)
    assert said == []                                                  # quick (the kernels are compiled): silent
