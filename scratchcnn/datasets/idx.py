"""Read and write IDX files, the simple binary format MNIST is distributed in.

An IDX file is a tiny header followed by the raw numbers of one array::

    bytes 0-1   two zero bytes
    byte  2     type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64 (multi-byte numbers are big-endian)
    byte  3     ndim, the number of dimensions
    then        ndim big-endian uint32 sizes, one per dimension
    then        the data, exactly prod(sizes) * itemsize bytes, row-major

The files are usually gzip-compressed (``.gz``). We recognise gzip by its first two
bytes (1f 8b), not by the file name: a valid IDX file always starts with two zero
bytes, so the two cases can never be confused.

The reader trusts nothing in the file: every inconsistency raises ``IDXFormatError``
naming the file and the problem, never an obscure NumPy or zlib error.
"""
import gzip
import io
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from ..files import atomic_write
from .errors import DataNotFoundError, DatasetError, IDXFormatError

Source = str | os.PathLike | bytes | bytearray | memoryview

GZIP_MAGIC = b"\x1f\x8b"

# Type code -> big-endian dtype, as stored in the file.
DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

# NumPy 1.x arrays have at most 32 dimensions (2.x: 64); real IDX files have 1 to 4.
MAX_NDIM = 32

# Reading limits (read_idx_bytes): a header may ask for at most MAX_IDX_BYTES of data (MNIST's largest
# file, the training images, has 47 MB); past what the header asks for, at most EXTRA_BYTES are read.
MAX_IDX_BYTES = 1 << 31
EXTRA_BYTES = 1 << 20


def read_idx(source: Source) -> np.ndarray:
    """Read an IDX file (plain or gzip) or IDX bytes into a native-endian array."""
    name = _describe(source)
    return parse_idx(read_idx_bytes(source), name=name)


def read_idx_bytes(source: Source) -> bytes:
    """Return the raw, uncompressed IDX bytes of a file or byte string.

    Kept separate from ``parse_idx`` so a caller can hash the exact bytes it parses
    (``mnist.py`` checks the SHA-256 and then parses the same bytes).

    Nothing is read (or inflated) beyond what the header can honestly need: the header
    is read first, then its shape times the item size, plus at most ``EXTRA_BYTES``
    so that a few stray bytes can still be counted in the error message. A header that
    claims more than ``MAX_IDX_BYTES``, and a file (say a gzip bomb of concatenated
    members) that goes on past that bound, are refused before they cost memory.
    """
    name = _describe(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _read_bounded(io.BytesIO(source), name)
    try:
        with open(source, "rb") as file:
            return _read_bounded(file, name)
    except FileNotFoundError as error:
        raise DataNotFoundError(f"{name} does not exist. Check the path, or download the file first.") from error
    except IsADirectoryError as error:
        raise DataNotFoundError(
            f"{name} is a folder, not a file. Pass the path of the IDX file inside it."
        ) from error
    except PermissionError as error:
        raise DatasetError(
            f"{name} cannot be read: permission denied. Fix: make it readable (chmod a+r) or copy the files "
            "to a folder of your own."
        ) from error


def _read_bounded(file, name: str) -> bytes:
    """The IDX bytes from an open binary file, plain or gzip, read in the order the header allows."""
    compressed = file.read(2) == GZIP_MAGIC
    file.seek(0)
    stream = gzip.GzipFile(fileobj=file, mode="rb") if compressed else file  # gzip inflates only what is read
    try:
        data = stream.read(4)
        ndim = data[3] if len(data) == 4 else 0
        if data[:2] != b"\0\0" or data[2:3] not in {bytes([c]) for c in DTYPES} or not 1 <= ndim <= MAX_NDIM:
            return data + stream.read(4 * MAX_NDIM)  # not a header we can size: parse_idx says what is wrong
        data += stream.read(4 * ndim)
        if len(data) < 4 + 4 * ndim:
            return data
        dims = struct.unpack(f">{ndim}I", data[4:])
        needed = math.prod(dims) * DTYPES[data[2]].itemsize  # the data the header asks for, in bytes
        if needed > MAX_IDX_BYTES:
            raise IDXFormatError(
                f"{name}: the header says shape {dims} of {DTYPES[data[2]].name}, {needed:,} bytes of data, "
                f"more than the {MAX_IDX_BYTES:,} an IDX file may hold here. "
                "The file is corrupted or not an IDX file: get a fresh copy."
            )
        data += stream.read(needed + EXTRA_BYTES + 1)
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise IDXFormatError(
            f"{name}: the gzip stream is damaged ({error}). "
            "The file is probably truncated or corrupted: get a fresh copy."
        ) from error
    if len(data) > 4 + 4 * ndim + needed + EXTRA_BYTES:
        what = "inflates to" if compressed else "holds"
        raise IDXFormatError(
            f"{name}: {what} more than {EXTRA_BYTES:,} bytes beyond the {needed:,} its header needs "
            f"(shape {dims} of {DTYPES[data[2]].name}); refused without reading on "
            f"({'a decompression bomb, or ' if compressed else ''}the wrong file). Get a fresh copy."
        )
    return data


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode uncompressed IDX bytes; ``name`` is only used in error messages."""
    fix = "The file is corrupted or not an IDX file: get a fresh copy."
    if len(data) < 4:
        raise IDXFormatError(f"{name}: only {len(data)} bytes, too short for an IDX header. {fix}")
    zero0, zero1, type_code, ndim = data[:4]
    if zero0 != 0 or zero1 != 0:
        raise IDXFormatError(
            f"{name}: bad magic number {data[:4].hex()} (an IDX file starts with two zero bytes). {fix}"
        )
    if type_code not in DTYPES:
        known = ", ".join(f"0x{code:02X}" for code in DTYPES)
        raise IDXFormatError(f"{name}: unknown type code 0x{type_code:02X} (known: {known}). {fix}")
    if not 1 <= ndim <= MAX_NDIM:
        raise IDXFormatError(f"{name}: {ndim} dimensions; expected 1 to {MAX_NDIM}. {fix}")

    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise IDXFormatError(
            f"{name}: header needs {header_size} bytes for {ndim} dimensions "
            f"but the file has only {len(data)}. {fix}"
        )
    dims = struct.unpack(f">{ndim}I", data[4:header_size])
    dtype = DTYPES[type_code]

    expected = math.prod(dims) * dtype.itemsize
    actual = len(data) - header_size
    if actual != expected:
        problem = "is truncated" if actual < expected else f"has {actual - expected} extra bytes"
        raise IDXFormatError(
            f"{name}: the header says shape {dims} of {dtype.name} ({expected} bytes of data) "
            f"but the file has {actual} bytes after the header: it {problem}. {fix}"
        )
    try:
        array = np.frombuffer(data, dtype=dtype, offset=header_size).reshape(dims)
    except ValueError as error:  # e.g. a zero dimension next to absurdly large ones
        raise IDXFormatError(f"{name}: shape {dims} cannot be made into an array ({error}). {fix}") from error
    return array.astype(dtype.newbyteorder("="))  # a writable native-endian copy


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file; gzip-compressed if ``path`` ends in ``.gz``.

    Missing parent folders are created. The file appears atomically: we write a
    temporary file in the same folder and rename it into place, so a crash never
    leaves a half-written file behind.
    """
    path = Path(path)
    array = np.asarray(array)
    type_code = _type_code(array.dtype)
    if array.ndim == 0 or array.ndim > MAX_NDIM:
        raise ValueError(
            f"write_idx: an IDX file holds an array of 1 to {MAX_NDIM} dimensions, got {array.ndim}. "
            "Reshape the array first (e.g. array.reshape(1) for a scalar)."
        )
    if any(size >= 2**32 for size in array.shape):
        raise ValueError(f"write_idx: shape {array.shape} has a dimension of 2**32 or more, which IDX cannot store.")

    big_endian = array.astype(DTYPES[type_code], copy=False)
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    content = header + big_endian.tobytes()  # tobytes() is always row-major (C order)
    if path.name.endswith(".gz"):
        content = gzip.compress(content, mtime=0)  # mtime=0: same array, same bytes

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as file:
        file.write(content)


def _type_code(dtype: np.dtype) -> int:
    """The IDX type code for a NumPy dtype (any byte order)."""
    for code, stored in DTYPES.items():
        if dtype.newbyteorder("=") == stored.newbyteorder("="):
            return code
    supported = ", ".join(stored.newbyteorder("=").name for stored in DTYPES.values())
    raise ValueError(
        f"write_idx: IDX cannot store dtype {dtype}. Supported: {supported}; "
        "convert first, e.g. array.astype(np.int32) or array.astype(np.float32)."
    )


def _describe(source: Source) -> str:
    """A short name for error messages: the path, or '<bytes>'."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "<bytes>"
    return str(Path(source))
