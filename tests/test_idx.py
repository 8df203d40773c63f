"""Tests for the IDX reader and writer: round trips, the exact header, and bad files.

The fuzz test feeds hundreds of random and damaged files to ``read_idx``: each must
give an array or an ``IDXFormatError``, never any other exception.
"""
import gzip
import struct
import time

import numpy as np
import pytest

from scratchcnn.datasets import DataNotFoundError, IDXFormatError
from scratchcnn.datasets.idx import parse_idx, read_idx, read_idx_bytes, write_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


def idx_bytes(type_code: int, dims: tuple[int, ...], payload: bytes) -> bytes:
    """Build an IDX file by hand, independently of write_idx."""
    return bytes([0, 0, type_code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + payload


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip(tmp_path, dtype, suffix):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((3, 4, 5)) * 100).astype(dtype)
    path = tmp_path / f"array.idx{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype)
    assert back.dtype.isnative
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_round_trip_big_endian_input_and_1d(tmp_path):
    array = np.arange(7, dtype=">i4")
    write_idx(tmp_path / "a.idx", array)
    back = read_idx(tmp_path / "a.idx")
    assert back.dtype == np.dtype(np.int32) and back.dtype.isnative
    np.testing.assert_array_equal(back, np.arange(7))


def test_known_header(tmp_path):
    write_idx(tmp_path / "a.idx", np.arange(6, dtype=np.uint8).reshape(2, 3))
    assert (tmp_path / "a.idx").read_bytes() == bytes.fromhex("00000802" "00000002" "00000003") + bytes(range(6))
    write_idx(tmp_path / "b.idx", np.array([1.0], dtype=np.float32))
    assert (tmp_path / "b.idx").read_bytes() == bytes.fromhex("00000d01" "00000001" "3f800000")


def test_reads_bytes_and_detects_gzip_by_content_not_name(tmp_path):
    raw = idx_bytes(0x0B, (2,), struct.pack(">2h", -2, 300))
    np.testing.assert_array_equal(read_idx(raw), [-2, 300])
    np.testing.assert_array_equal(read_idx(gzip.compress(raw)), [-2, 300])
    (tmp_path / "plain.gz").write_bytes(raw)  # misleading names either way
    (tmp_path / "packed.idx").write_bytes(gzip.compress(raw))
    np.testing.assert_array_equal(read_idx(tmp_path / "plain.gz"), [-2, 300])
    np.testing.assert_array_equal(read_idx(str(tmp_path / "packed.idx")), [-2, 300])
    assert read_idx_bytes(tmp_path / "packed.idx") == raw


def test_real_mnist_labels_header(mnist_dir):
    labels = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert labels[:5].tolist() == [7, 2, 1, 0, 4]


CORRUPTIONS = [  # (test id, file content, words the error message must contain)
    ("empty", b"", "too short"),
    ("3 bytes", b"\x00\x00\x08", "too short"),
    ("short dims", idx_bytes(0x08, (2,), b"\x01\x02")[:6], "header needs 8 bytes"),
    ("magic byte 0", b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00", "magic"),
    ("magic byte 1", b"\x00\x07\x08\x01" + struct.pack(">I", 1) + b"\x00", "magic"),
    ("unknown type", idx_bytes(0x0A, (1,), b"\x00"), "unknown type code 0x0A"),
    ("ndim 0", idx_bytes(0x08, (), b"\x00"), "0 dimensions"),
    ("ndim 40", idx_bytes(0x08, (1,) * 40, b"\x00"), "40 dimensions"),
    ("truncated uint8", idx_bytes(0x08, (2, 3), b"\x00" * 5), "truncated"),
    ("truncated int32", idx_bytes(0x0C, (2,), b"\x00" * 7), "truncated"),
    ("too long", idx_bytes(0x08, (2, 3), b"\x00" * 7), "1 extra bytes"),
    ("absurd dims", idx_bytes(0x08, (2**32 - 1,) * 3, b"\x00"), "bytes of data, more than the"),  # refused from the header
    ("absurd dims, size 0", idx_bytes(0x08, (0, 2**32 - 1, 2**32 - 1, 2**32 - 1), b""), "cannot be made"),
    ("bad gzip", b"\x1f\x8b" + b"\x00" * 20, "gzip"),
    ("truncated gzip", gzip.compress(idx_bytes(0x08, (3,), b"abc"), mtime=0)[:-6], "gzip"),
]


@pytest.mark.parametrize("data, words", [pytest.param(d, w, id=i) for i, d, w in CORRUPTIONS])
def test_corruptions_raise_idx_format_error(tmp_path, data, words):
    path = tmp_path / "bad.idx"
    path.write_bytes(data)
    with pytest.raises(IDXFormatError, match=words) as error:
        read_idx(path)
    assert str(path) in str(error.value)  # the message names the file
    assert "fresh copy" in str(error.value)  # ... and the fix


def test_flipped_gzip_byte_is_caught_by_crc():
    packed = bytearray(gzip.compress(idx_bytes(0x08, (200,), bytes(range(200)))))
    packed[-5] ^= 0xFF  # inside the stored length / CRC trailer
    with pytest.raises(IDXFormatError, match="gzip"):
        read_idx(bytes(packed))


def test_zero_sized_dimension_is_allowed():
    assert read_idx(idx_bytes(0x0D, (0, 5), b"")).shape == (0, 5)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(DataNotFoundError, match="does not exist"):
        read_idx(tmp_path / "nope.idx")
    with pytest.raises(DataNotFoundError, match="is a folder"):
        read_idx(tmp_path)


def test_write_creates_parent_folders(tmp_path):
    write_idx(tmp_path / "a" / "b" / "c.idx", np.arange(3, dtype=np.int8))
    np.testing.assert_array_equal(read_idx(tmp_path / "a" / "b" / "c.idx"), [0, 1, 2])


def test_write_rejects_what_idx_cannot_store(tmp_path):
    with pytest.raises(ValueError, match="astype"):
        write_idx(tmp_path / "a.idx", np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="reshape"):
        write_idx(tmp_path / "a.idx", np.array(3, dtype=np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_write_replaces_existing_file_atomically(tmp_path):
    path = tmp_path / "a.idx.gz"
    write_idx(path, np.zeros(3, dtype=np.uint8))
    write_idx(path, np.ones(4, dtype=np.uint8))
    np.testing.assert_array_equal(read_idx(path), np.ones(4))
    assert [p.name for p in tmp_path.iterdir()] == ["a.idx.gz"]
    first = path.read_bytes()
    write_idx(path, np.ones(4, dtype=np.uint8))
    assert path.read_bytes() == first  # gzip without a timestamp: same array, same bytes


def test_fuzz_only_arrays_or_idx_format_errors(tmp_path):
    rng = np.random.default_rng(12345)
    real = idx_bytes(0x08, (3, 4, 4), bytes(range(48)))
    real_gz = gzip.compress(real, mtime=0)
    assert parse_idx(real).shape == (3, 4, 4)

    cases: list[bytes] = []
    for _ in range(100):  # random bytes, sometimes with a plausible IDX or gzip start
        body = rng.integers(0, 256, size=int(rng.integers(0, 64)), dtype=np.uint8).tobytes()
        idx_start = bytes([0, 0, int(rng.choice([8, 9, 11, 12, 13, 14])), int(rng.integers(0, 5))])
        prefixes = [b"", b"\x00\x00", idx_start, b"\x1f\x8b"]
        cases.append(prefixes[int(rng.integers(0, 4))] + body)
    for source in (real, real_gz):
        for _ in range(100):  # truncations
            cases.append(source[: int(rng.integers(0, len(source)))])
        for _ in range(150):  # one to three bit flips
            damaged = bytearray(source)
            for _ in range(int(rng.integers(1, 4))):
                position = int(rng.integers(0, len(damaged)))
                damaged[position] ^= 1 << int(rng.integers(0, 8))
            cases.append(bytes(damaged))

    start = time.perf_counter()
    outcomes = {"array": 0, "error": 0}
    for case in cases:
        try:
            result = read_idx(case)
        except IDXFormatError:
            outcomes["error"] += 1
        else:
            assert isinstance(result, np.ndarray)
            outcomes["array"] += 1
    assert sum(outcomes.values()) == len(cases) >= 600
    assert outcomes["array"] > 0 and outcomes["error"] > 0, outcomes
    assert time.perf_counter() - start < 10.0
