"""Data sets for scratchcnn: MNIST, Fashion-MNIST, scikit-learn's small digits, and the IDX file format.

- ``mnist.load_data()``: the 70,000 MNIST images, like ``keras.datasets.mnist.load_data()``.
  Files are looked for in ``path=``, else ``$SCRATCHCNN_DATA``, else a per-user cache
  (``~/.cache/scratchcnn/mnist``), and downloaded there if missing. Every file is checked
  against its known SHA-256 before use. To use a local copy and never download::

      SCRATCHCNN_DATA=../shared/data/mnist python train.py

- ``fashion_mnist.load_data()``: Zalando's 70,000 clothing images, like
  ``keras.datasets.fashion_mnist.load_data()``, found, downloaded and verified the same way (loader.py,
  shared with MNIST) with its own checksums and its own settings: ``$SCRATCHCNN_FASHION_DATA``, cache
  ``~/.cache/scratchcnn/fashion-mnist``::

      SCRATCHCNN_FASHION_DATA=../shared/data/fashion-mnist python train.py

- ``digits.load_data()``: 1797 8x8 digits bundled with scikit-learn; offline and instant.
- ``idx.read_idx`` / ``idx.write_idx``: the file format MNIST is stored in.
- ``ScaledImages(x)``: uint8 images that fit, evaluate and predict read as floats in [0, 1], a batch at
  a time (scaled.py): a quarter of the memory of scaling the whole set up front.

All errors are ``DatasetError`` subclasses whose messages say what is wrong and how to fix
it. See docs/data.md.
"""
from . import digits, fashion_mnist, idx, loader, mnist
from .errors import ChecksumError, DataNotFoundError, DatasetError, DownloadError, IDXFormatError
from .scaled import ScaledImages

__all__ = [
    "digits",
    "fashion_mnist",
    "idx",
    "mnist",
    "ScaledImages",
    "DatasetError",
    "IDXFormatError",
    "ChecksumError",
    "DataNotFoundError",
    "DownloadError",
]
