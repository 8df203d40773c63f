"""Your own picture -> an MNIST-like input (scratchcnn/digit_image.py), and predictions on it.

The unit tests build small synthetic pictures. The last tests train the tutorial network for one epoch on
real MNIST (about 10 s) and ask it about the ten drawings in tests/data/ (black on white, thick, off-centre,
160x200; made by tests/make_digit_images.py) and about MNIST test digits saved as PNG files."""
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from scratchcnn import tutorial
from scratchcnn.tools import digit_image
from scratchcnn.tools.cli import main
from scratchcnn.tools.digit_image import centre_of_mass, crop_to_ink, fit_in_box, prepare_digit, resize

DATA = Path(__file__).resolve().parent / "data"


def drawing(height=120, width=90, ink=0.0, paper=1.0):
    """A dark 'L' (a tall bar and a foot) on light paper, in the upper left of a 120x90 picture."""
    image = np.full((height, width), paper)
    image[10:70, 15:25] = ink      # the bar: 60 tall, 10 wide
    image[60:70, 15:45] = ink      # the foot: 30 wide
    return image


# --- preparing a picture -------------------------------------------------------------------------------
def test_output_shape_dtype_and_range():
    x = prepare_digit(drawing())
    assert x.shape == (28, 28, 1) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0 and x.max() > 0.9   # the ink is bright, as in MNIST
    assert x[0].max() == 0 and x[:, 0].max() == 0                # the background is black


def test_dark_on_light_is_inverted_to_light_on_dark():
    dark_on_light = prepare_digit(drawing(ink=0.0, paper=1.0))
    light_on_dark = prepare_digit(drawing(ink=1.0, paper=0.0))
    np.testing.assert_allclose(dark_on_light, light_on_dark, atol=1e-6)
    assert dark_on_light.mean() < 0.3                            # mostly black background, white ink


def test_grey_paper_and_ink_are_stretched_to_black_and_white():
    faded = prepare_digit(drawing(ink=0.35, paper=0.75))         # a pencil on grey paper
    np.testing.assert_allclose(faded, prepare_digit(drawing()), atol=1e-6)


def test_crop_keeps_exactly_the_ink():
    ink = np.zeros((50, 40))
    ink[12:30, 7:19] = 1.0
    ink[5, 5] = 0.1                                              # too faint to count as ink
    assert crop_to_ink(ink).shape == (18, 12)


def test_longer_side_fits_20_pixels_keeping_the_aspect_ratio():
    assert fit_in_box(np.ones((100, 25))).shape == (20, 5)       # a tall '1' stays thin
    assert fit_in_box(np.ones((30, 60))).shape == (10, 20)
    assert fit_in_box(np.ones((8, 6))).shape == (20, 15)         # small pictures grow
    x = prepare_digit(drawing())[:, :, 0]
    rows, cols = np.flatnonzero(x.max(axis=1) > 0.2), np.flatnonzero(x.max(axis=0) > 0.2)
    assert np.ptp(rows) + 1 == 20 and np.ptp(cols) + 1 == 10       # the L was 60x30 of ink: 2 to 1


def test_centre_of_mass_lands_on_14_14():
    far_corner = np.pad(drawing(), ((0, 200), (300, 0)), constant_values=1)   # the L low and right
    for picture in (drawing(), drawing()[::-1, ::-1], far_corner):
        row, col = centre_of_mass(prepare_digit(picture)[:, :, 0])
        assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5


def test_resize_averages_areas():
    np.testing.assert_allclose(resize(np.full((37, 23), 0.4), 20, 12), 0.4)   # a flat picture stays flat
    image = np.random.default_rng(0).random((20, 16))
    np.testing.assert_allclose(resize(image, 20, 16), image)                   # same size: unchanged
    halves = resize(image, 10, 8)                                             # each output: a 2x2 mean
    np.testing.assert_allclose(halves, image.reshape(10, 2, 8, 2).mean(axis=(1, 3)))


def test_colour_and_alpha_pictures_give_the_same_input():
    grey = drawing()
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    rgba = np.concatenate([rgb, np.ones_like(grey)[:, :, None]], axis=2)
    uint8 = np.rint(grey * 255).astype(np.uint8)
    for picture in (rgb, rgba, uint8):
        np.testing.assert_allclose(prepare_digit(picture), prepare_digit(grey), atol=1e-6)
    transparent = np.zeros((*grey.shape, 4))                     # black ink on a transparent sheet
    transparent[..., 3] = 1.0 - grey
    np.testing.assert_allclose(prepare_digit(transparent), prepare_digit(grey), atol=1e-6)


def test_a_blank_picture_is_an_error():
    with pytest.raises(ValueError, match="no digit found"):
        prepare_digit(np.ones((50, 50)))


def test_unreadable_or_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        prepare_digit(tmp_path / "nope.png")
    (tmp_path / "text.png").write_text("not a picture")
    with pytest.raises(ValueError, match="cannot read"):
        prepare_digit(tmp_path / "text.png")


def test_the_drawings_are_like_a_users():
    for digit in range(10):
        image = matplotlib.image.imread(DATA / f"hand_{digit}.png")
        assert image.shape[:2] == (200, 160)
        assert np.median(image[..., :3]) == 1.0                  # white paper


# --- predicting, with a network trained on MNIST ------------------------------------------------------------
@pytest.fixture(scope="module")
def mnist_model(mnist_dir):
    (x_train, y_train), (x_test, y_test) = tutorial.load_dataset("mnist", mnist_dir, download=False)
    model = tutorial.build_model(seed=0)
    model.fit(x_train, y_train, epochs=1, verbose=0)
    return model, x_test, y_test


def test_predicts_the_hand_drawn_digits(mnist_model):
    model, _, _ = mnist_model
    predicted = [digit_image.predict_digit(model, DATA / f"hand_{d}.png")[0] for d in range(10)]
    right = sum(p == d for d, p in enumerate(predicted))
    assert right >= 9, f"predicted {predicted} for the drawings of 0..9"


def test_mnist_digits_saved_as_png_keep_their_prediction(mnist_model, tmp_path):
    model, x_test, _ = mnist_model
    direct = model.predict(x_test[:20]).argmax(axis=1)
    via_png = []
    for k in range(20):
        path = tmp_path / f"mnist_{k}.png"
        matplotlib.image.imsave(path, np.rint(x_test[k, :, :, 0] * 255).astype(np.uint8), cmap="gray",
                                vmin=0, vmax=255)
        via_png.append(digit_image.predict_digit(model, path)[0])
    agree = int(np.sum(direct == np.array(via_png)))
    assert agree >= 19, f"{agree} of 20 agree"


def test_predict_command(mnist_model, tmp_path, capsys):
    model, _, _ = mnist_model
    weights = tmp_path / "model.weights.npz"
    model.save_weights(weights)
    show = tmp_path / "show.png"
    assert main(["predict", str(DATA / "hand_7.png"), "--weights", str(weights),
                 "--show", str(show)]) == 0
    out = capsys.readouterr().out
    assert "Predicted digit: 7" in out
    assert len([line for line in out.splitlines() if line.startswith("  ")]) == 10   # ten probabilities
    image = matplotlib.image.imread(show)
    assert image.shape[0] > 300 and image.shape[1] > 600 and image[..., :3].std() > 0.05
    assert main(["predict", str(tmp_path / "nope.png"), "--weights", str(weights)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("scratchcnn: error: no image file") and "\n" not in err
