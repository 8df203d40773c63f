"""The figures of a run: ``scratchcnn train`` draws them, ``scratchcnn plot`` draws them again from the files.

A 2-epoch run on scikit-learn's 8x8 digits (seconds, offline) makes every figure; each is opened and must be
a real picture (big enough, not one flat colour)."""
import json

import matplotlib.image
import numpy as np
import pytest

from scratchcnn import tutorial
from scratchcnn.tools.cli import main

FIGURES = ("predictions.png", "predictions_grid.png", "curves.png", "confusion.png", "filters.png",
           "feature_maps.png", "mistakes.png")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    assert main(["train", "--dataset", "digits", "--epochs", "2", "--verbose", "0",
                 "--output", str(run)]) == 0
    return run


def assert_picture(path, min_height=100, min_width=150):
    image = matplotlib.image.imread(path)
    assert image.shape[0] >= min_height and image.shape[1] >= min_width, f"{path.name} is {image.shape}"
    half = image.shape[1] // 2
    for part, side in ((image[:, :half, :3], "left"), (image[:, half:, :3], "right")):
        assert part.std() > 0.05, f"the {side} half of {path.name} is blank"


def test_train_draws_every_figure(run_dir):
    for name in FIGURES:
        assert_picture(run_dir / name)
    assert (run_dir / "classification_report.txt").exists()


def test_plot_redraws_every_figure_from_the_saved_run(run_dir, capsys):
    for name in FIGURES + ("classification_report.txt",):
        (run_dir / name).unlink()
    assert main(["plot", "--run", str(run_dir), "--dataset", "digits"]) == 0
    for name in FIGURES:
        assert_picture(run_dir / name)
    report = (run_dir / "classification_report.txt").read_text()
    assert "precision" in report and "recall" in report
    assert len([line for line in report.splitlines() if line.strip()[:1].isdigit()]) == 10  # one row a digit
    assert report in capsys.readouterr().out                     # and it was printed


def test_grid_marks_wrong_predictions_in_red(run_dir):
    _, (x_test, y_test) = tutorial.load_dataset("digits")
    model = tutorial.build_model(input_shape=x_test.shape[1:])
    model.load_weights(run_dir / "model.weights.npz")
    wrong = int(np.sum(model.predict(x_test[:32]).argmax(axis=1) != y_test[:32]))
    image = matplotlib.image.imread(run_dir / "predictions_grid.png")[..., :3]
    red = np.sum((image[..., 0] > 0.8) & (image[..., 1] < 0.2) & (image[..., 2] < 0.2))
    assert (red > 100) == (wrong > 0), f"{wrong} wrong predictions but {red} red pixels"


def test_history_says_the_curves_validated_on_the_test_set(run_dir):
    results = json.loads((run_dir / "history.json").read_text())
    assert results["validation"] == "test set"
    assert len(results["history"]["val_accuracy"]) == 2


def test_plot_into_another_folder_without_history(run_dir, tmp_path, capsys):
    copy = tmp_path / "no_history"
    copy.mkdir()
    record = json.loads((run_dir / "run.json").read_text())
    record["files"] = {"model.weights.npz": record["files"]["model.weights.npz"]}  # vouches for no history
    (copy / "run.json").write_text(json.dumps(record))
    (copy / "model.weights.npz").write_bytes((run_dir / "model.weights.npz").read_bytes())
    (copy / "history.json").write_bytes((run_dir / "history.json").read_bytes())  # not vouched for: ignored
    assert main(["plot", "--run", str(copy), "--output", str(tmp_path / "figs")]) == 0
    assert not (tmp_path / "figs" / "curves.png").exists()        # no history: no curves, the rest drawn
    for name in FIGURES:
        if name != "curves.png":
            assert_picture(tmp_path / "figs" / name)
    assert "drawing everything but the training curves" in capsys.readouterr().out


def test_plot_refuses_a_folder_without_a_record(run_dir, tmp_path, capsys):
    copy = tmp_path / "weights_only"
    copy.mkdir()
    (copy / "model.weights.npz").write_bytes((run_dir / "model.weights.npz").read_bytes())
    assert main(["plot", "--run", str(copy), "--dataset", "digits"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"scratchcnn: error: {copy} has no run.json") and "\n" not in err
    assert sorted(p.name for p in copy.iterdir()) == ["model.weights.npz"]  # nothing drawn


def test_plot_of_the_default_run_of_a_dataset(run_dir, tmp_path, monkeypatch, capsys):
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "digits").symlink_to(run_dir)
    monkeypatch.chdir(tmp_path)
    assert main(["plot", "--dataset", "digits", "--output", "figs"]) == 0  # runs/digits, no --run
    assert_picture(tmp_path / "figs" / "curves.png")


def test_plot_of_a_missing_run_is_one_line_error(tmp_path, capsys):
    assert main(["plot", "--run", str(tmp_path / "nope"), "--dataset", "digits"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("scratchcnn: error: no run folder") and "\n" not in err


def test_wrong_prediction_titled_with_its_true_label(tmp_path, monkeypatch):
    from scratchcnn.tools import plots
    titles, save = [], plots._save
    monkeypatch.setattr(plots, "_save", lambda fig, path: titles.extend(ax.get_title() for ax in fig.axes)
                        or save(fig, path))
    images = np.random.default_rng(0).random((2, 8, 8, 1))
    path = plots.plot_predictions(images, np.array([3, 5]), tmp_path / "p.png", true_labels=np.array([3, 7]))
    assert titles == ["Predicted Label: 3", "Predicted Label: 5\n(true label: 7)"]
    assert_picture(path, min_height=100, min_width=200)


def test_bench_step_profile_plot(tmp_path):
    from scratchcnn.tools import bench
    from scratchcnn.tools.plots import plot_step_profile
    x = np.random.default_rng(0).random((32, 28, 28, 1), dtype=np.float32)
    y = np.arange(32) % 10
    profiles = {}
    for fuse in (True, False):
        model = tutorial.build_model(seed=0)
        model.fuse = fuse
        profiles[f"fuse={fuse}"] = bench.step_times(model, x, y, repeats=2)
    path = plot_step_profile(profiles, tmp_path / "step.png")
    assert_picture(path, min_height=100, min_width=300)
