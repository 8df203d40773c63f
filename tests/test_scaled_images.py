"""ScaledImages: uint8 images scaled a batch at a time give fit, evaluate and predict exactly the numbers of
the images scaled up front (the tutorial's way), at a quarter of the memory."""
import numpy as np
import pytest

from scratchcnn.datasets import digits
from scratchcnn.datasets.scaled import ScaledImages
from scratchcnn.tutorial import build_model, load_dataset, prepare_images


@pytest.fixture(scope="module")
def raw():
    return digits.load_data(seed=0)  # uint8 (N, 8, 8) images, labels


def test_a_batch_is_the_tutorials_scaling_bit_for_bit(raw):
    (x, _), _ = raw
    scaled, floats = ScaledImages(x), prepare_images(x)
    assert scaled.shape == floats.shape == (len(x), 8, 8, 1) and scaled.dtype == np.float32 and len(scaled) == len(x)
    batch = np.random.default_rng(0).permutation(len(x))[:32]
    assert np.array_equal(scaled[batch], floats[batch]) and scaled[batch].dtype == np.float32
    assert np.array_equal(scaled[10:50], floats[10:50])
    assert np.array_equal(np.asarray(scaled), floats)
    assert scaled.images.base is x or scaled.images.base is x.base  # a view of the uint8 images: no copy


def test_fit_evaluate_predict_give_the_same_bits(raw):
    (x, y), (x_test, y_test) = raw
    runs = []
    for make in (prepare_images, ScaledImages):
        model = build_model(input_shape=(8, 8, 1), seed=3)
        history = model.fit(make(x), y, epochs=2, batch_size=32, verbose=0, validation_data=(make(x_test), y_test))
        runs.append((history.history, model.get_weights(), model.evaluate(make(x_test), y_test, verbose=0),
                     model.predict(make(x_test), batch_size=100)))
    (h1, w1, e1, p1), (h2, w2, e2, p2) = runs
    assert h1 == h2 and e1 == e2
    assert all(np.array_equal(a, b) for a, b in zip(w1, w2))
    assert np.array_equal(p1, p2)


def test_validation_split_keeps_both_parts_uint8(raw):
    (x, y), _ = raw
    a, b = build_model(input_shape=(8, 8, 1), seed=1), build_model(input_shape=(8, 8, 1), seed=1)
    ha = a.fit(prepare_images(x), y, epochs=1, verbose=0, validation_split=0.2).history
    hb = b.fit(ScaledImages(x), y, epochs=1, verbose=0, validation_split=0.2).history
    assert ha == hb and "val_accuracy" in hb


def test_load_dataset_per_batch(raw):
    (x_train, y_train), (x_test, _) = load_dataset("digits", per_batch=True)
    assert isinstance(x_train, ScaledImages) and x_train.images.dtype == np.uint8
    (floats, _), _ = load_dataset("digits")
    assert np.array_equal(np.asarray(x_train), floats)


def test_refusals_say_what_to_do(raw):
    (x, y), _ = raw
    with pytest.raises(TypeError, match="integer images"):
        ScaledImages(x.astype(np.float32))
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        ScaledImages(x[0])
    model = build_model(input_shape=(8, 8, 1), seed=0)
    with pytest.raises(ValueError, match="expects"):
        model.fit(ScaledImages(x[:, :7]), y, verbose=0)
    with pytest.raises(ValueError, match="dtype='float32'"):
        model.fit(ScaledImages(x, dtype="float64"), y, verbose=0)
    with pytest.raises(ValueError, match="empty"):
        model.predict(ScaledImages(x[:0]))
