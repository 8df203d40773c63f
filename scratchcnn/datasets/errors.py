"""The exceptions raised by ``scratchcnn.datasets``.

Every problem with data files is a ``DatasetError``, so one ``except DatasetError``
catches them all. The subclasses say *what* went wrong, and every message also says
how to fix it.
"""
from pathlib import Path


class DatasetError(Exception):
    """Base class: something is wrong with a data set or its files."""


class IDXFormatError(DatasetError):
    """A file is not a valid IDX file (bad header, truncated data, broken gzip, ...)."""


class ChecksumError(DatasetError):
    """A file's content is not the expected one: its SHA-256 does not match.

    ``path``, ``expected`` and ``actual`` are kept so that callers can act on them
    (``mnist.load_data`` deletes a bad file from its own cache and downloads it again).
    """

    def __init__(self, message: str, *, path: Path, expected: str, actual: str) -> None:
        super().__init__(message)
        self.path = path
        self.expected = expected
        self.actual = actual


class DataNotFoundError(DatasetError):
    """The data files are not where the loader looked for them.

    ``directory`` and ``missing`` (the file names not found) are kept when known, so that a caller can say
    the fix in its own words (``scratchcnn`` speaks of ``--data-dir``, the message of ``path=``).
    """

    def __init__(self, message: str, *, directory: Path | None = None, missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.directory = directory
        self.missing = tuple(missing)


class DownloadError(DatasetError):
    """A file could not be downloaded from any mirror.

    ``name``, ``directory`` and ``failures`` (one ``(url, reason)`` per mirror tried) are kept when known,
    for the same reason as ``DataNotFoundError``'s fields.
    """

    def __init__(self, message: str, *, name: str | None = None, directory: Path | None = None,
                 failures: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(message)
        self.name = name
        self.directory = directory
        self.failures = tuple(failures)
