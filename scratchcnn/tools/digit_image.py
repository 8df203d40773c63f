"""Turn your own picture of a digit into an MNIST-like input, and ask the network what it sees.

The network only knows MNIST, so a photo or a drawing must be made to look like MNIST first, the way
MNIST itself was made (LeCun et al.: "normalized to fit in a 20x20 pixel box while preserving their
aspect ratio ... centered in a 28x28 image by computing the center of mass of the pixels"):

    1. grey           colours -> one brightness per pixel, 0 (black) .. 1 (white)
    2. light on dark  MNIST digits are white ink on black; a dark-on-light picture (the usual paper or
                      drawing app) is inverted. Which one it is: the median of the border pixels, which
                      are nearly all background.
    3. stretch        background -> 0, the strongest ink -> 1
    4. crop           to the bounding box of the ink (pixels above INK_THRESHOLD)
    5. fit 20x20      scale so the longer side is 20 pixels, keeping the aspect ratio (area averaging)
    6. centre 28x28   paste into a black 28x28 image, shifted so the centre of mass lands on (14, 14)

    prepare_digit("my7.png")          -> (28, 28, 1) float32 in [0, 1], ready for model.predict
    predict_digit(model, "my7.png")   -> (7, the ten probabilities)

``preparation_steps`` returns every intermediate image (``scratchcnn predict --show`` draws them).
"""
from pathlib import Path

import numpy as np

BOX = 20              # the digit's longer side, in pixels, as in MNIST
SIZE = 28             # the image side
INK_THRESHOLD = 0.2   # after stretching, brighter pixels count as ink when cropping
MAX_PIXELS = 1 << 24  # pictures are refused above 16.8 million pixels (4096 x 4096), read from the header


def load_grey(path_or_array) -> np.ndarray:
    """A PNG file (or an array) -> 2-D float brightness in [0, 1].

    Accepts grey (H, W), RGB (H, W, 3) and RGBA (H, W, 4); transparent pixels are laid over white, as
    most image viewers show them. uint8 arrays are divided by 255."""
    if isinstance(path_or_array, (str, Path)):
        image = _read_image(Path(path_or_array))
    else:
        image = np.asarray(path_or_array)
    if image.dtype.kind in "ui":
        image = image.astype(np.float32) / np.float32(255)
    image = image.astype(np.float32, copy=False)  # float32 throughout: a big picture is never copied as float64
    if image.ndim == 3 and image.shape[2] == 4:                   # RGBA: lay it over a white sheet
        alpha = image[..., 3:]
        image = image[..., :3] * alpha + (1.0 - alpha)
    if image.ndim == 3 and image.shape[2] == 3:                   # RGB: perceived brightness (ITU-R 601)
        image = image @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    elif image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim != 2 or min(image.shape) < 2:
        raise ValueError(f"expected a 2-D picture (grey, RGB or RGBA), got an array of shape {image.shape}")
    if image.max() > 1.0:                                         # floats in 0..255
        image = image / np.float32(255)
    return np.clip(image, 0.0, 1.0)


def _read_image(path: Path) -> np.ndarray:
    import matplotlib.image  # reads PNG itself; other formats through Pillow, which matplotlib needs anyway

    if not path.is_file():
        raise FileNotFoundError(f"no image file at {path}")
    width, height = image_size(path)
    if width * height > MAX_PIXELS:
        raise ValueError(f"{path} is {width}x{height} pixels ({width * height:,}); pictures of at most "
                         f"{MAX_PIXELS:,} pixels (4096x4096) are read: scale it down first")
    try:
        return matplotlib.image.imread(path)
    except (OSError, SyntaxError, ValueError) as error:
        raise ValueError(f"cannot read {path} as an image ({error})") from None


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the file's header, before anything is decoded.

    A PNG starts with an 8-byte signature, then its IHDR chunk: 4 bytes of length (13), b"IHDR", then
    width and height as big-endian 32-bit numbers. Other formats are asked of Pillow, which also reads
    only the header until the pixels are wanted."""
    with open(path, "rb") as file:
        head = file.read(24)
    if head[:8] == PNG_SIGNATURE:
        if len(head) < 24 or head[12:16] != b"IHDR":
            raise ValueError(f"cannot read {path} as an image (a PNG without its IHDR header: damaged or cut short)")
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    try:
        from PIL import Image
    except ImportError:
        raise ValueError(f"cannot read {path}: not a PNG, and Pillow, which reads other formats, is not "
                         "installed; save the picture as PNG") from None
    try:
        with Image.open(path) as image:  # Pillow's own pixel limit applies here too
            return image.size
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise ValueError(f"cannot read {path} as an image ({error})") from None


def light_on_dark(grey: np.ndarray) -> np.ndarray:
    """Invert the picture when its background (the median of its border pixels) is light."""
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return 1.0 - grey if np.median(border) > 0.5 else grey


def stretch(ink: np.ndarray) -> np.ndarray:
    """Background (the border median) -> 0, the brightest ink -> 1; a blank picture is an error."""
    border = np.concatenate([ink[0], ink[-1], ink[:, 0], ink[:, -1]])
    background, top = np.median(border), ink.max()
    if top - background < 0.1:
        raise ValueError("no digit found: the picture is nearly one colour")
    return np.clip((ink - background) / (top - background), 0.0, 1.0)


def crop_to_ink(ink: np.ndarray, threshold: float = INK_THRESHOLD) -> np.ndarray:
    """The smallest rectangle holding every pixel brighter than ``threshold``."""
    rows = np.flatnonzero((ink > threshold).any(axis=1))
    cols = np.flatnonzero((ink > threshold).any(axis=0))
    return ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def resize_weights(n_in: int, n_out: int) -> np.ndarray:
    """The (n_out, n_in) matrix that resamples one axis: ``out = weights @ signal``.

    Shrinking (n_out < n_in), each output pixel covers n_in / n_out input pixels and averages them,
    each weighted by how much of it lies under the output pixel (area averaging, no aliasing).
    Growing, each output pixel interpolates linearly between its two nearest input pixels."""
    weights = np.zeros((n_out, n_in))
    scale = n_in / n_out
    if n_out <= n_in:
        for i in range(n_out):
            start, end = i * scale, (i + 1) * scale              # the output pixel's span on the input axis
            for k in range(int(np.floor(start)), min(int(np.ceil(end)), n_in)):
                weights[i, k] = min(end, k + 1) - max(start, k)  # the overlap of input pixel k with it
        return weights / scale
    for i in range(n_out):
        centre = (i + 0.5) * scale - 0.5                         # where the output pixel's centre falls
        centre = min(max(centre, 0.0), n_in - 1.0)
        left = min(int(np.floor(centre)), n_in - 2) if n_in > 1 else 0
        frac = centre - left
        weights[i, left] += 1.0 - frac
        if n_in > 1:
            weights[i, left + 1] += frac
    return weights


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resample a 2-D image to (height, width): rows first, then columns, each a matrix product."""
    return resize_weights(image.shape[0], height) @ image @ resize_weights(image.shape[1], width).T


def fit_in_box(ink: np.ndarray, box: int = BOX) -> np.ndarray:
    """Scale so the longer side is ``box`` pixels, keeping the aspect ratio (a '1' stays thin)."""
    h, w = ink.shape
    scale = box / max(h, w)
    return resize(ink, max(1, round(h * scale)), max(1, round(w * scale)))


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of the brightness-weighted mean pixel position."""
    rows, cols = np.indices(image.shape)
    total = image.sum()
    return float((rows * image).sum() / total), float((cols * image).sum() / total)


def centre_in_frame(digit: np.ndarray, size: int = SIZE) -> np.ndarray:
    """Paste into a black size x size image so that the centre of mass lands on (size/2, size/2).

    The shift is rounded to whole pixels, as for MNIST; ink pushed past the edge is cut off."""
    row, col = centre_of_mass(digit)
    top, left = round(size / 2 - row), round(size / 2 - col)    # where the digit's corner goes
    frame = np.zeros((size, size))
    h, w = digit.shape
    r0, c0 = max(top, 0), max(left, 0)                           # the part of the digit inside the frame
    r1, c1 = min(top + h, size), min(left + w, size)
    frame[r0:r1, c0:c1] = digit[r0 - top:r1 - top, c0 - left:c1 - left]
    return frame


def preparation_steps(path_or_array) -> dict[str, np.ndarray]:
    """Every intermediate image, in order: original grey, light on dark, stretched, cropped, 20x20, 28x28."""
    steps = {"grey": load_grey(path_or_array)}
    steps["light on dark"] = light_on_dark(steps["grey"])
    steps["stretched"] = stretch(steps["light on dark"])
    steps["cropped"] = crop_to_ink(steps["stretched"])
    steps["fit in 20x20"] = fit_in_box(steps["cropped"])
    steps["centred in 28x28"] = centre_in_frame(steps["fit in 20x20"])
    return steps


def prepare_digit(path_or_array) -> np.ndarray:
    """Any picture of one digit -> the network's input: (28, 28, 1) float32 in [0, 1], MNIST-style."""
    frame = preparation_steps(path_or_array)["centred in 28x28"]
    return np.clip(frame, 0.0, 1.0).astype(np.float32)[:, :, None]


def predict_digit(model, path_or_array) -> tuple[int, np.ndarray]:
    """(the digit the model sees, its ten probabilities) for one picture."""
    probabilities = model.predict(prepare_digit(path_or_array)[None])[0]
    return int(np.argmax(probabilities)), probabilities
