"""``scratchcnn draw`` (scratchcnn/tools/draw.py): the real figure, driven by synthetic mouse and key events
on an off-screen (Agg) canvas, checked against ``model.predict`` and the layers' own outputs; the headless
``--save``; and, where a virtual display (Xvfb) and Tk are installed, the real window with a screenshot.

The model is the tutorial network trained for one epoch on 1,000 MNIST images (a few seconds), so that
the hand-drawn digits in tests/data/ give real, non-uniform answers."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backend_bases import KeyEvent, MouseEvent

from scratchcnn import tutorial
from scratchcnn.datasets import mnist
from scratchcnn.tools import digit_image, draw
from scratchcnn.tools.cli import main

DATA = Path(__file__).resolve().parent / "data"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def weights(mnist_dir, tmp_path_factory) -> Path:
    (x, y), _ = mnist.load_data(mnist_dir, download=False, verbose=False)
    model = tutorial.build_model(seed=0)
    model.fit(tutorial.prepare_images(x[:1000]), y[:1000], epochs=1, batch_size=32, verbose=0)
    path = tmp_path_factory.mktemp("draw") / "model.weights.npz"
    model.save_weights(path)
    return path


@pytest.fixture()
def model(weights):
    return draw.load_model(weights)


# --- synthetic events on the real figure -------------------------------------------------------------------
def _mouse(view, name, ax, xdata, ydata, button=1):
    x, y = ax.transData.transform((xdata, ydata))             # data -> display pixels, as a real click
    event = MouseEvent(name, view.fig.canvas, x, y, button=button)
    view.fig.canvas.callbacks.process(name, event)


def stroke(view, points):
    """Press at the first (row, col) of the canvas, drag through the rest, release."""
    (r0, c0), rest = points[0], points[1:]
    _mouse(view, "button_press_event", view.ax_canvas, c0, r0)
    for r, c in rest:
        _mouse(view, "motion_notify_event", view.ax_canvas, c, r)
    r, c = points[-1]
    _mouse(view, "button_release_event", view.ax_canvas, c, r)


def click_button(view, button):
    for name in ("button_press_event", "button_release_event"):
        _mouse(view, name, button.ax, 0.5, 0.5)               # the middle of the button (axes 0..1)


def key(view, name):
    view.fig.canvas.callbacks.process("key_press_event", KeyEvent("key_press_event", view.fig.canvas, name))


def seven(view):
    """A '7' in two strokes on the blank 280x280 canvas: the bar, then the diagonal."""
    stroke(view, [(60, 70), (60, 140), (60, 210)])
    stroke(view, [(60, 210), (150, 170), (240, 130)])


def check_panels(view, model):
    """Every panel shows what the network computes for the prepared drawing."""
    x = view.input[None]
    assert np.array_equal(view.input, digit_image.prepare_digit(view.sheet.image()))
    expected = model.predict(x)[0]
    np.testing.assert_allclose(view.probabilities, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose([bar.get_height() for bar in view.bars], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(view.input_image.get_array(), view.input[:, :, 0])
    a = x
    for k, layer in enumerate(model.layers):                  # each layer's own forward, one by one
        a = layer.forward(a, training=False)
        np.testing.assert_array_equal(view.outputs[k], a)
        if k in view.map_images:
            shown = np.asarray(view.map_images[k].get_array())
            np.testing.assert_array_equal(shown, draw.mosaic(a[0], view.map_columns[k]))
        if k in view.vector_images:
            shown = np.asarray(view.vector_images[k].get_array()).ravel()
            np.testing.assert_array_equal(shown[:a.shape[1]], a[0])
    assert view.answer == int(np.argmax(expected))


def test_a_drawn_seven_updates_every_panel(model):
    view = draw.render(model)
    assert view.sheet.coverage.max() == 0 and not view.input.any()   # blank: the network sees black
    seven(view)
    assert len(view.sheet.strokes) == 2 and view.sheet.coverage.max() == 1.0
    assert view.input.max() == pytest.approx(1.0) and view.input.sum() > 20
    check_panels(view, model)
    assert set(view.map_images) == {0, 1} and set(view.vector_images) == {3}   # conv, pool; dense(128)
    assert view.answer == 7, view.probabilities


def test_every_stroke_updates_and_undo_and_clear(model):
    view = draw.render(model)
    stroke(view, [(60, 70), (60, 140), (60, 210)])
    after_one = view.probabilities.copy()
    check_panels(view, model)
    stroke(view, [(60, 210), (150, 170), (240, 130)])
    check_panels(view, model)
    assert not np.allclose(view.probabilities, after_one)
    key(view, "u")                                            # undo: back to the first stroke
    assert len(view.sheet.strokes) == 1
    np.testing.assert_allclose(view.probabilities, after_one, rtol=1e-6)
    check_panels(view, model)
    stroke(view, [(60, 210), (150, 170), (240, 130)])
    click_button(view, view.undo_button)                      # the Undo button does the same
    assert len(view.sheet.strokes) == 1
    np.testing.assert_allclose(view.probabilities, after_one, rtol=1e-6)
    key(view, "n")                                            # clear
    assert not view.sheet.strokes and not view.input.any()
    seven(view)
    click_button(view, view.clear_button)
    assert not view.sheet.strokes and not view.input.any()


def test_clicking_a_conv_pixel_shows_its_numbers(model):
    view = draw.render(model)
    seven(view)
    conv = model.layers[0]
    h, w, _ = view.outputs[0][0].shape
    f, i, j = 9, 5, 11                                        # filter 9, row 5, column 11 of its map
    r, q = divmod(f, view.map_columns[0])
    _mouse(view, "button_press_event", view.ax_maps[0], q * (w + 1) + j, r * (h + 1) + i)
    s = view.selected
    assert (s["filter"], s["row"], s["col"]) == (f, i, j)
    np.testing.assert_array_equal(s["patch"][:, :, 0], view.input[i:i + 3, j:j + 3, 0])   # valid, stride 1
    np.testing.assert_array_equal(s["kernel"], conv.kernel[:, :, :, f])
    np.testing.assert_allclose(s["products"], s["patch"] * s["kernel"])
    assert s["z"] == pytest.approx(s["products"].sum() + conv.bias[f])
    assert s["z"] == pytest.approx(float(view.outputs[0][0, i, j, f]), abs=1e-5)   # the conv's own output
    text = view.numbers_text.get_text()
    assert f"filter {f}" in text and f"{s['z']: .4f}" in text
    before = view.selected
    _mouse(view, "button_press_event", view.ax_maps[0], q * (w + 1) + w, r * (h + 1) + i)  # the gap
    assert view.selected is before


def test_gradient_view_is_dL_dinput_of_the_picked_class(model, weights):
    view = draw.render(model)
    seven(view)
    assert view.gradient_class == view.answer
    key(view, "3")
    assert view.gradient_class == 3
    # the same gradient by central differences on a float64 copy of the network
    model64 = tutorial.build_model(dtype="float64")
    model64.load_weights(weights)
    np.testing.assert_array_equal(view.gradient, draw.input_gradient(model, view.input[None], 3))
    shown = np.asarray(view.grad_image.get_array())
    np.testing.assert_array_equal(shown, view.gradient[:, :, 0])
    x = view.input[None].astype(np.float64)

    def loss(image):
        return -np.log(model64.predict(image)[0, 3])

    # Central differences need a point off every kink: the saturated stroke (many pixels exactly 1.0) makes
    # equal conv outputs that tie in a pool window, so the check runs on the drawing plus a little noise.
    rng = np.random.default_rng(0)
    x = x + 0.01 * rng.random(x.shape)
    analytic = draw.input_gradient(model64, x, 3)
    ink = np.argwhere(view.input[:, :, 0] > 0.1)
    for r, c in ink[rng.choice(len(ink), 8, replace=False)]:
        bump = np.zeros_like(x)
        bump[0, r, c, 0] = 1e-7
        numeric = (loss(x + bump) - loss(x - bump)) / 2e-7
        assert analytic[r, c, 0] == pytest.approx(numeric, rel=1e-4, abs=1e-8)
    assert model.layers[0].needs_input_grad is False                  # set back after the gradient
    _mouse(view, "button_press_event", view.ax_probs, 5, 0.5)        # clicking a bar picks its class
    assert view.gradient_class == 5
    key(view, "a")                                                    # back to the answer
    assert view.gradient_class == view.answer


def test_load_a_picture_control(model):
    view = draw.render(model)
    path = DATA / "hand_4.png"
    view.path_box.set_val(str(path))
    key(view, "i")
    assert view.status.startswith("loaded hand_4.png")
    expected = model.predict(digit_image.prepare_digit(path)[None])[0]
    np.testing.assert_allclose(view.probabilities, expected, rtol=1e-5, atol=1e-6)
    check_panels(view, model)
    view.path_box.set_val(str(DATA / "nope.png"))
    key(view, "i")
    assert "cannot load" in view.status and view.sheet.base.shape == (200, 160)   # nothing changed


def test_save_writes_the_view_and_matches_predict(weights, tmp_path, capsys):
    image = DATA / "hand_3.png"
    out = tmp_path / "view.png"
    assert main(["draw", "--weights", str(weights), "--image", str(image), "--save", str(out)]) == 0
    drawn = capsys.readouterr().out
    assert out.stat().st_size > 50_000
    import matplotlib.image

    picture = matplotlib.image.imread(out)
    assert picture.shape[:2] == (900, 1600)
    assert main(["predict", str(image), "--weights", str(weights)]) == 0
    predicted = capsys.readouterr().out
    assert drawn.splitlines()[:11] == predicted.splitlines()[:11]   # 'Predicted digit' and the ten lines
    assert not list(tmp_path.glob(".*partial"))                        # written atomically


def test_draw_of_another_architecture_from_its_record(tmp_path):
    from scratchcnn.layers import Conv2D, Dense, Flatten, MaxPooling2D
    from scratchcnn.model import Sequential

    model = Sequential([Conv2D(4, 5, activation="relu", input_shape=(28, 28, 1)), MaxPooling2D(2),
                        Conv2D(6, 3, padding="same"), Flatten(), Dense(16, activation="relu"),
                        Dense(10, activation="softmax")], seed=1)
    model.compile()
    model.save_weights(tmp_path / "w.npz")
    rebuilt = draw.load_model(tmp_path / "w.npz")
    view = draw.render(rebuilt, DATA / "hand_2.png")
    assert set(view.map_images) == {0, 1, 2} and set(view.vector_images) == {4}
    check_panels(view, rebuilt)
    np.testing.assert_allclose(view.probabilities,
                               model.predict(digit_image.prepare_digit(DATA / "hand_2.png")[None])[0], rtol=1e-5)


def test_weights_for_other_images_are_refused(tmp_path):
    model = tutorial.build_model(input_shape=(8, 8, 1))
    model.save_weights(tmp_path / "digits.npz")
    with pytest.raises(ValueError, match="28x28"):
        draw.load_model(tmp_path / "digits.npz")


def test_without_a_display_draw_says_so_and_names_the_fix(weights, capsys, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert main(["draw", "--weights", str(weights)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--save" in err[0] and "display" in err[0]


# --- the real window under a virtual display ---------------------------------------------------------------
def _tk_available() -> bool:
    return subprocess.run([sys.executable, "-c", "import tkinter"], capture_output=True).returncode == 0


@pytest.mark.skipif(shutil.which("Xvfb") is None or not _tk_available(),
                    reason="needs Xvfb and Tk (apt-get install xvfb python3-tk)")
def test_real_window_under_xvfb_with_a_screenshot(weights, tmp_path):
    display = ":%d" % (90 + os.getpid() % 100)
    server = subprocess.Popen(["Xvfb", display, "-screen", "0", "1700x1000x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        env = dict(os.environ, DISPLAY=display, MPLBACKEND="TkAgg")
        shot = tmp_path / "window.png"
        run = subprocess.run([sys.executable, str(REPO / "tests" / "draw_session.py"), "--weights", str(weights),
                              "--screenshot", str(shot)], env=env, capture_output=True, text=True, timeout=180)
        assert run.returncode == 0, run.stderr
        report = dict(line.split("=", 1) for line in run.stdout.splitlines() if "=" in line)
        assert report["backend"].lower() == "tkagg"
        assert int(report["strokes"]) >= 2                 # the strokes reached the window's handlers
        assert report["matches_predict"] == "True"
        assert report["selected"] == report["clicked"]     # the click on a conv map picked that pixel
        import matplotlib.image

        picture = matplotlib.image.imread(shot)
        assert picture.shape[0] > 500 and picture.shape[1] > 900
        assert picture[..., :3].std() > 0.1                # a real picture, not a blank screen
    finally:
        server.terminate()
        server.wait(10)


def test_draw_takes_a_run_folder_as_predict_does(weights, tmp_path, capsys):
    """``draw --run DIR`` shows the weights the run's run.json vouches for; a folder that is not a run is
    refused in one line, naming it."""
    from scratchcnn.tools import run_folder

    run = run_folder.NewRun(tmp_path / "run", dataset="mnist", data_dir=None, seed=0, epochs_asked=1,
                            batch_size=32, validation=None, command="scratchcnn train")
    model = draw.load_model(weights)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    checkpoint = run.checkpoint()
    checkpoint.set_model(model)
    checkpoint.on_epoch_begin(0)
    checkpoint.on_epoch_end(0, {"loss": 0.1})  # the weights go into the run folder as train puts them
    run.finish()
    image, out = DATA / "hand_3.png", tmp_path / "view.png"
    assert main(["draw", "--run", str(tmp_path / "run"), "--image", str(image), "--save", str(out)]) == 0
    from_run = capsys.readouterr().out
    assert main(["draw", "--weights", str(weights), "--image", str(image), "--save", str(out)]) == 0
    assert from_run.splitlines()[:11] == capsys.readouterr().out.splitlines()[:11]
    assert main(["draw", "--run", str(tmp_path / "nothing-here"), "--save", str(out)]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "nothing-here" in error[0]
