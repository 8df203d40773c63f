"""Hostile files, full disks and refused calls: nothing crashes, nothing bloats, nothing changes.

Each trial hands scratchcnn a file made to hurt (a decompression bomb, a lying header, a crafted
architecture record) or an operating system that says no (a full disk, a read-only folder), and checks
the one-line message a user sees. The bombs are generated small here, and every trial that could blow up
runs in a subprocess whose address space is capped with ``resource.setrlimit(RLIMIT_AS)`` at 1.5 GiB: a
bomb that got through would die of MemoryError there instead of taking the machine. Each such trial
also reports the child's peak resident memory, VmHWM (docs/errors.md lists what it was). Linux only, as
``/proc`` and RLIMIT_AS are.
"""
import errno
import gzip
import io
import json
import os
import stat
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from scratchcnn import weights_file
from scratchcnn.callbacks import ModelCheckpoint
from scratchcnn.datasets import DatasetError, idx
from scratchcnn.files import atomic_write
from scratchcnn.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from scratchcnn.model import Sequential
from scratchcnn.tools import plots
from scratchcnn.tools.cli import main
from scratchcnn.tutorial import build_model

LIMIT = int(1.5 * 2**30)  # the address-space cap of the bomb trials
MAX_PEAK_MB = 400         # what a bomb trial may reach (importing scratchcnn, numpy, numba: about 110 MB)

CHILD = r"""
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
code = 0
try:
    if sys.argv[1] == "cli":
        from scratchcnn.tools.cli import main
        code = main(sys.argv[2:])
    else:
        try:
            exec(sys.argv[2])
        except (ValueError, OSError) as error:
            print(f"{{type(error).__name__}}: {{error}}", file=sys.stderr)
            code = 1
finally:  # VmHWM: this process's own peak (ru_maxrss would include the parent's size at the fork)
    status = open("/proc/self/status").read()
    peak_kb = int(status.split("VmHWM:")[1].split()[0])
    print(f"peak_rss_mb={{peak_kb / 1024:.0f}}")
sys.exit(code)
""".format(limit=LIMIT)


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the peak from /proc")


def run_capped(*args, cwd=None) -> tuple[int, str, float]:
    """(exit status, stderr, peak resident MB) of ``args`` run in a child capped at LIMIT bytes."""
    result = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, cwd=cwd,
                            env={**os.environ, "MPLBACKEND": "Agg"}, timeout=600)
    peak = float(result.stdout.rsplit("peak_rss_mb=", 1)[1])
    print(f"{args[:3]}: exit {result.returncode}, peak {peak:.0f} MB")  # pytest -s shows it
    return result.returncode, result.stderr, peak


def tutorial_unbuilt() -> Sequential:
    return Sequential([Conv2D(28, kernel_size=(3, 3)), MaxPooling2D(pool_size=(2, 2)), Flatten(),
                       Dense(128, activation="relu"), Dropout(0.2), Dense(10, activation="softmax")])


def state(model):
    return [w.copy() for w in model.get_weights()], model.rng.bit_generator.state


def assert_unchanged(model, before):
    weights, rng_state = before
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), weights))
    assert model.rng.bit_generator.state == rng_state


# --- crafting weights files ------------------------------------------------------------------------------------

def npy(shape, descr="<f4", data: bytes = b"") -> bytes:
    """An .npy file: the magic, a header declaring ``descr`` and ``shape``, then ``data`` (any length)."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": tuple(shape)})
    return buffer.getvalue() + data


def record_npy(text: str) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.array(text))
    return buffer.getvalue()


def write_npz(path: Path, members: dict[str, bytes], deflate: bool = False) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def weights_members(model, **changes) -> dict[str, bytes]:
    """The members save_weights would write for ``model``, with some replaced."""
    members = {"architecture.npy": record_npy(json.dumps(model.architecture()))}
    for i, w in enumerate(model.get_weights()):
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, w)
        members[f"weight_{i:03d}.npy"] = buffer.getvalue()
    members.update(changes)
    return members


# --- the architecture record -----------------------------------------------------------------------------------

TUTORIAL_LAYERS = build_model().architecture()["layers"]
RECORDS = [  # (test id, record text, words of the message)
    ("null", "null", "the architecture record is a JSON null, not an object"),
    ("a list", "[1, 2]", "the architecture record is a JSON list, not an object"),
    ("deeply nested", "[" * 5000 + "]" * 5000, "the architecture record is JSON nested 5000 deep, more than the 8"),
    ("truncated", '{"input_shape": [28, 28', "the architecture record is not valid JSON (Expecting"),
    ("no layers", '{"input_shape": [28, 28, 1]}', "the architecture record has no 'layers'"),
    ("120,000 layers", json.dumps({"input_shape": [28, 28, 1], "layers": [{"class": "Flatten"}] * 120_000}),
     "the architecture record is 2,640,040 characters long, more than the 65,536 allowed"),
    ("300 layers", json.dumps({"input_shape": [28, 28, 1], "layers": [{"class": "Flatten"}] * 300}),
     "lists 300 layers under 'layers', not 1 to 256 layer configs"),
    ("unknown class", json.dumps({"input_shape": [28, 28, 1], "layers": [{"class": "Lambda", "fn": "os.system"}]}),
     "has layer 0 of unknown class 'Lambda' (known: "),
    ("huge units", json.dumps({"input_shape": [28, 28, 1], "layers": [{"class": "Dense", "units": 10**12}]}),
     "has layer 0 (Dense) with units=1000000000000, not whole numbers from 1 to 65536"),
    ("a number too big for JSON's ints", json.dumps({"input_shape": [28, 28, 1], "layers": [
        {"class": "Dense", "units": 10, "seed": 10**30}]}),
     "has layer 0 (Dense) with 'seed'=1000000000000000000000000000000, not a short string, a finite number"),
    ("bad input_shape", json.dumps({"input_shape": [28, -1], "layers": TUTORIAL_LAYERS}),
     "has input_shape [28, -1], not a list of at most 4 whole numbers from 1 to 65536"),
    ("input_shape too big", json.dumps({"input_shape": [65536, 65536, 1], "layers": TUTORIAL_LAYERS}),
     "4,294,967,296 numbers per sample, more than the 16,777,216 allowed"),
]


@pytest.mark.parametrize("text, words", [pytest.param(t, w, id=i) for i, t, w in RECORDS])
def test_a_bad_record_is_one_short_error_naming_the_file(tmp_path, text, words):
    path = write_npz(tmp_path / "bad.weights.npz",
                     weights_members(build_model(seed=0), **{"architecture.npy": record_npy(text)}))
    for model in (build_model(seed=1), tutorial_unbuilt()):
        before = state(model) if model.built else None
        with pytest.raises(ValueError) as caught:
            model.load_weights(path)
        message = str(caught.value)
        assert message.startswith(f"{path}: ") and words in message, message
        assert "\n" not in message and len(message) < 400  # one short line, whatever the record holds
        if before is None:
            assert not model.built and not any(layer.built for layer in model.layers)
        else:
            assert_unchanged(model, before)


def test_a_record_whose_input_shape_lies_leaves_an_unbuilt_model_unbuilt(tmp_path):
    source = build_model(seed=0)
    lie = {**source.architecture(), "input_shape": [60, 60, 1]}  # the file's weights are for 28x28
    path = write_npz(tmp_path / "lie.weights.npz",
                     weights_members(source, **{"architecture.npy": record_npy(json.dumps(lie))}))
    model = tutorial_unbuilt()
    with pytest.raises(ValueError, match=r"weight_002\.npy has shape \(4732, 128\), but the architecture it "
                                         r"records needs \(23548, 128\): the file is damaged"):
        model.load_weights(path)
    assert not model.built and not any(layer.built for layer in model.layers)
    built = build_model(seed=1)
    with pytest.raises(ValueError, match="holds weights of another architecture"):
        built.load_weights(path)


# --- the weights ----------------------------------------------------------------------------------------------

def test_nan_or_infinite_weights_are_refused_as_damaged(tmp_path):
    source = build_model(seed=0)
    weights = source.get_weights()
    weights[3][5] = np.nan
    weights[4][0, 0] = np.inf
    path = tmp_path / "nan.weights.npz"
    weights_file.save(path, weights, source.architecture())  # save itself does not judge
    model = build_model(seed=1)
    before = state(model)
    with pytest.raises(ValueError, match=rf"^{path}: weight_003\.npy holds 1 NaN or infinite values: the file is "
                                         r"damaged \(or saved from a model whose training diverged\)"):
        model.load_weights(path)
    assert_unchanged(model, before)


def test_a_pickle_inside_is_never_unpickled(tmp_path):
    marker = tmp_path / "unpickled"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.array([Evil()], dtype=object), allow_pickle=True)
    path = write_npz(tmp_path / "evil.weights.npz",
                     weights_members(build_model(seed=0), **{"weight_001.npy": buffer.getvalue()}))
    with pytest.raises(ValueError, match=r"weight_001\.npy holds object data, which is never loaded \(it would "
                                         r"need unpickling\)"):
        build_model(seed=1).load_weights(path)
    assert not marker.exists()


@pytest.mark.parametrize("change, words", [
    ({"evil.npy": b"x"}, "unexpected member 'evil.npy'"),
    ({"weight_001.npy": npy((28,), "<i8", b"\0" * 8 * 28)}, "weight_001.npy holds int64 numbers, not floats"),
    ({"weight_005.npy": npy((10,), "<f4", b"\0" * 39)}, "weight_005.npy is cut short"),
    ({"weight_005.npy": npy((10,), "<f4", b"\0" * 41)}, "weight_005.npy holds more data than its header declares"),
    ({"weight_005.npy": npy((11,), "<f4", b"\0" * 44)}, "weight_005.npy has shape (11,), but the architecture it "
                                                         "records needs (10,)"),
    ({"weight_006.npy": npy((1,), "<f4", b"\0" * 4)}, "holds 7 weight arrays; its architecture has 6"),
])
def test_a_crafted_file_changes_nothing(tmp_path, change, words):
    path = write_npz(tmp_path / "crafted.weights.npz", weights_members(build_model(seed=0), **change))
    model = build_model(seed=1)
    before = state(model)
    with pytest.raises(ValueError) as caught:
        model.load_weights(path)
    assert str(caught.value).startswith(str(path)) and words in str(caught.value), str(caught.value)
    assert_unchanged(model, before)


@pytest.mark.parametrize("position, bad, error, words", [
    (1, np.array(["a"] * 28), TypeError, "set_weights: weight 1 (conv2d) must hold numbers (float or integer), "
                                         "got dtype <U1"),
    (4, np.full((128, 10), np.nan), ValueError, "set_weights: weight 4 (dense_1) holds 1280 NaN or infinite values"),
    (5, np.full(10, 1e300), ValueError, "set_weights: weight 5 (dense_1) holds 10 NaN or infinite values"),
    (5, np.zeros(11), ValueError, "set_weights: weight 5 (dense_1) must have shape (10,), got an array of "
                                  "shape (11,)"),
])
def test_set_weights_is_all_or_nothing(position, bad, error, words):
    model = build_model(seed=0)
    weights = build_model(seed=1).get_weights()
    weights[position] = bad
    before = state(model)
    with pytest.raises(error) as caught:
        model.set_weights(weights)
    assert str(caught.value) == words or str(caught.value).startswith(words), str(caught.value)
    assert_unchanged(model, before)


def test_a_good_file_still_loads_into_built_and_unbuilt_models(tmp_path):
    source = build_model(seed=0)
    path = tmp_path / "good.weights.npz"
    source.save_weights(path)
    for model in (build_model(seed=1), tutorial_unbuilt()):
        model.load_weights(path)
        assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), source.get_weights()))


# --- bombs, in a capped subprocess -----------------------------------------------------------------------------

@linux_only
def test_weights_file_bombs_cost_no_memory(tmp_path):
    """Each bomb is refused from the zip directory or the .npy headers, before any data is inflated."""
    model = build_model(seed=0)
    arch = record_npy(json.dumps(model.architecture()))
    deflated = tmp_path / "deflated.weights.npz"  # 8 members of 32 MiB zeros each, 256 MiB in 270 KB
    with zipfile.ZipFile(deflated, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("architecture.npy", arch)
        for i in range(8):
            with archive.open(f"weight_{i:03d}.npy", "w") as member:
                member.write(npy((2**23,)))
                for _ in range(32):
                    member.write(bytes(2**20))
    huge = write_npz(tmp_path / "huge.weights.npz", weights_members(model, **{"weight_002.npy": npy((2**40,))}))
    many = write_npz(tmp_path / "many.weights.npz",
                     {"architecture.npy": arch, **{f"weight_{i:03d}.npy": b"" for i in range(5000)}})
    lying_shape = write_npz(tmp_path / "lie.weights.npz", weights_members(model, **{"architecture.npy": record_npy(
        json.dumps({**model.architecture(), "input_shape": [1000, 1000, 1]}))}))
    cases = [
        (deflated, "build_model(seed=1)", f"{deflated} holds 8 weight arrays; its architecture has 6: the file is "
                                          "damaged"),
        (huge, "build_model(seed=1)", f"{huge}: its headers declare 1,099,511,629,474 weights, more than the "
                                      "67,108,864 a weights file may hold"),
        (many, "build_model(seed=1)", f"{many}: its zip lists 5,001 members in a"),
        (lying_shape, "unbuilt()", f"{lying_shape}: the input_shape it records, (1000, 1000, 1), makes layer "
                                   "'conv2d' output 27,888,112 numbers per sample; an unbuilt model loads files "
                                   "of at most 262,144: build the model first"),
    ]
    for path, make, words in cases:
        code = ("from scratchcnn.tutorial import build_model\n"
                "from scratchcnn.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D\n"
                "from scratchcnn.model import Sequential\n"
                "def unbuilt():\n"
                "    return Sequential([Conv2D(28, kernel_size=(3, 3)), MaxPooling2D(pool_size=(2, 2)), Flatten(),\n"
                "                       Dense(128, activation='relu'), Dropout(0.2), Dense(10, activation='softmax')])\n"
                f"model = {make}\n"
                f"model.load_weights({str(path)!r})\n")
        status, err, peak = run_capped("python", code)
        assert status == 1 and err.startswith("WeightsFileError: ") and words in err and err.count("\n") == 1, err
        assert peak < MAX_PEAK_MB


def png_bomb(path: Path, side: int = 30_000) -> Path:
    """A 1-bit grey PNG of side x side black pixels: 900 million pixels in about 110 KB."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = bytes(1 + (side + 7) // 8)  # the filter byte, then the packed bits
    compressor = zlib.compressobj(9)
    pixels = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))
    return path


@linux_only
def test_a_png_bomb_is_refused_from_its_header(tmp_path):
    bomb = png_bomb(tmp_path / "bomb.png")
    assert bomb.stat().st_size < 200_000
    weights = tmp_path / "model.weights.npz"
    build_model(seed=0).save_weights(weights)
    status, err, peak = run_capped("cli", "predict", str(bomb), "--weights", str(weights))
    assert status == 1
    assert err == (f"scratchcnn: error: {bomb} is 30000x30000 pixels (900,000,000); pictures of at most "
                   "16,777,216 pixels (4096x4096) are read: scale it down first\n")
    assert peak < MAX_PEAK_MB


def test_a_picture_that_is_not_one_is_one_line(tmp_path):
    from scratchcnn.tools.digit_image import prepare_digit

    fake = tmp_path / "digit.png"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 4)  # a signature and no header
    with pytest.raises(ValueError, match=r"a PNG without its IHDR header: damaged or cut short"):
        prepare_digit(fake)
    text = tmp_path / "digit.jpg"
    text.write_text("not a picture")
    with pytest.raises(ValueError, match=rf"cannot read {text} as an image \(cannot identify image file"):
        prepare_digit(text)


def idx_gzip_bomb(path: Path, members: int = 64) -> Path:
    """MNIST's training-image header, then 64 concatenated gzip members of 64 MiB of zeros: 4 GiB inflated,
    4 MB on disk."""
    zeros = gzip.compress(bytes(64 * 2**20), mtime=0)
    header = gzip.compress(bytes([0, 0, 8, 3]) + struct.pack(">3I", 60000, 28, 28), mtime=0)
    path.write_bytes(header + zeros * members)
    return path


@linux_only
def test_an_idx_gzip_bomb_is_refused_after_what_the_header_needs(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    bomb = idx_gzip_bomb(data / "train-images-idx3-ubyte.gz")
    assert bomb.stat().st_size < 5_000_000
    for name in ("train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (data / name).write_bytes(b"")  # never reached: the training images come first
    status, err, peak = run_capped("cli", "train", "--data-dir", str(data), "--offline", cwd=tmp_path)
    assert status == 1
    assert err.splitlines()[0] == (
        f"scratchcnn: error: {bomb}: inflates to more than 1,048,576 bytes beyond the 47,040,000 its header needs "
        "(shape (60000, 28, 28) of uint8); refused without reading on (a decompression bomb, or the wrong file). "
        "Get a fresh copy.")
    assert peak < MAX_PEAK_MB
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no run folder appeared
    with pytest.raises(DatasetError, match="a decompression bomb"):  # the library says the same
        idx.read_idx(bomb)


def test_idx_bytes_stop_where_the_header_does():
    good = bytes([0, 0, 8, 1]) + struct.pack(">I", 3) + b"abc"
    two_members = gzip.compress(good[:5]) + gzip.compress(good[5:])  # legal gzip: read across members
    np.testing.assert_array_equal(idx.read_idx(two_members), np.frombuffer(b"abc", np.uint8))
    with pytest.raises(DatasetError, match=r"has 3 extra bytes"):  # two members: 3 bytes too many, counted
        idx.parse_idx(idx.read_idx_bytes(gzip.compress(good) + gzip.compress(b"xyz")), "x")


# --- files written: atomic, with the umask's permissions -------------------------------------------------------

@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_new_files_get_the_umask_permissions(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        model = build_model(seed=0)
        model.save_weights(tmp_path / "model.weights.npz")
        fig_path = plots.plot_curves({"loss": [1.0, 0.5], "accuracy": [0.5, 0.7]}, tmp_path / "curves.png")
        idx.write_idx(tmp_path / "x.idx.gz", np.zeros((2, 2), np.uint8))
    finally:
        os.umask(old)
    for path in (tmp_path / "model.weights.npz", fig_path, tmp_path / "x.idx.gz"):
        assert stat.S_IMODE(path.stat().st_mode) == mode, path


def test_a_replaced_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "shared.weights.npz"
    build_model(seed=0).save_weights(path)
    os.chmod(path, 0o644)
    build_model(seed=1).save_weights(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    os.chmod(path, 0o640)
    build_model(seed=2).save_weights(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_a_figure_that_fails_leaves_the_old_one(tmp_path, monkeypatch):
    path = plots.plot_curves({"loss": [1.0, 0.5], "accuracy": [0.5, 0.7]}, tmp_path / "curves.png")
    before = path.read_bytes()
    import matplotlib.figure

    def broken(self, file, **kwargs):
        file.write(b"half a png")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", broken)
    with pytest.raises(OSError) as caught:
        plots.plot_curves({"loss": [2.0, 1.0], "accuracy": [0.6, 0.8]}, path)
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(path)  # the target, not the temp
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["curves.png"]


# --- the command line's error boundary -------------------------------------------------------------------------

@pytest.mark.parametrize("error, status, words", [
    (PermissionError(errno.EACCES, "Permission denied", "W"), 74,
     "W: Permission denied; fix its permissions, or choose a folder of your own (e.g. --output)"),
    (OSError(errno.EROFS, "Read-only file system", "W"), 74,
     "W: Read-only file system; choose a folder on a writable disk (e.g. --output)"),
    (OSError(errno.ENOSPC, "No space left on device", "W"), 74,
     "W: No space left on device; free some space, or write to another disk (e.g. --output)"),
    (IsADirectoryError(errno.EISDIR, "Is a directory", "W"), 74, "W: Is a directory; it is a folder: give the path "
                                                                 "of a file"),
    (FileExistsError(errno.EEXIST, "File exists", "W"), 74,
     "W: File exists; a file is in the way: remove or rename it, or choose another path"),
    (MemoryError(), 71, "out of memory: this computer has too little free memory for the command; close other "
                        "programs, or use a smaller --batch-size"),
])
def test_os_errors_and_memory_errors_are_one_line_with_their_status(tmp_path, capsys, monkeypatch, error, status,
                                                                    words):
    weights = tmp_path / "model.weights.npz"
    build_model(input_shape=(8, 8, 1), seed=0).save_weights(weights)
    error = error if not isinstance(error, OSError) else type(error)(error.errno, error.strerror, str(weights))
    words = words.replace("W:", f"{weights}:")

    def refuse(path):
        raise error

    monkeypatch.setattr(weights_file, "inspect", refuse)
    assert main(["evaluate", "--dataset", "digits", "--weights", str(weights)]) == status
    assert capsys.readouterr().err == f"scratchcnn: error: {words}\n"
    with pytest.raises(type(error)):
        main(["--debug", "evaluate", "--dataset", "digits", "--weights", str(weights)])


def test_a_full_disk_while_saving_a_figure_is_one_line(tmp_path, capsys, monkeypatch):
    weights = tmp_path / "model.weights.npz"
    build_model(seed=0).save_weights(weights)
    picture = tmp_path / "seven.png"
    picture.write_bytes((Path(__file__).parent / "data" / "hand_7.png").read_bytes())
    import scratchcnn.files

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(scratchcnn.files.os, "fsync", full)
    out = tmp_path / "steps.png"
    assert main(["predict", str(picture), "--weights", str(weights), "--show", str(out)]) == 74
    err = capsys.readouterr().err
    assert err == (f"scratchcnn: error: {out}: No space left on device; free some space, or write to another disk "
                   "(e.g. --output)\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.weights.npz", "seven.png"]  # no temp left


# --- ModelCheckpoint's fields ----------------------------------------------------------------------------------

def test_model_checkpoint_names_a_field_fit_will_not_log_before_training(tmp_path):
    model = build_model(input_shape=(8, 8, 1), seed=0)
    x = np.random.default_rng(0).random((16, 8, 8, 1), dtype=np.float32)
    y = np.arange(16) % 10
    before = state(model)
    filepath = str(tmp_path / "w-{val_accuracy:.3f}.weights.npz")
    with pytest.raises(ValueError) as caught:
        model.fit(x, y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(filepath)])
    assert str(caught.value) == (f"ModelCheckpoint: filepath {filepath!r} uses {{val_accuracy}}, which this fit will "
                                 "not log (val_ names need validation_data or validation_split); known: epoch, loss, "
                                 "accuracy")
    assert_unchanged(model, before)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match=r"cannot be filled in \(Unknown format code 'd'"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(tmp_path / "{loss:d}.weights.npz")])
    model.fit(x, y, epochs=1, verbose=0, validation_data=(x, y), callbacks=[ModelCheckpoint(filepath)])
    assert len(list(tmp_path.glob("w-*.weights.npz"))) == 1


def test_the_schema_takes_what_layers_write_and_nothing_bigger(tmp_path):
    """Configs may hold a small object (an initializer's {"class": ..., "stddev": ...}), not a deep one."""
    record = {"input_shape": [8, 8, 1], "layers": [
        {"class": "Dense", "units": 10, "kernel_initializer": {"class": "RandomNormal", "stddev": 0.05},
         "kernel_size": [3, 3], "axis": -1, "rate": 0.2, "use_bias": True, "name": None, "seed": 2**40}]}
    assert weights_file.check_architecture(record, "F") is record
    record["layers"][0]["kernel_initializer"] = {"class": "RandomNormal", "more": {"deeper": 1}}
    with pytest.raises(ValueError, match=r"^F: the architecture record has layer 0 \(Dense\) with "
                                         r"'kernel_initializer'="):
        weights_file.check_architecture(record, "F")


def test_initializers_do_not_make_another_architecture(tmp_path):
    """Two models that differ only in how their weights started hold the same kind of weights, and a file
    saved before use_bias was recorded (a bias in every Conv2D and Dense) still loads."""
    import json
    from scratchcnn import weights_file
    from scratchcnn.layers import Dense, Flatten
    from scratchcnn.model import Sequential
    a = Sequential([Flatten(input_shape=(2, 2, 1)), Dense(3, kernel_initializer="he_normal")], seed=0)
    b = Sequential([Flatten(input_shape=(2, 2, 1)), Dense(3)], seed=1)
    a.save_weights(tmp_path / "a.weights.npz")
    b.load_weights(tmp_path / "a.weights.npz")
    np.testing.assert_array_equal(b.get_weights()[0], a.get_weights()[0])
    old = a.architecture()
    old["layers"] = [{k: v for k, v in c.items() if k not in ("use_bias", "kernel_initializer", "bias_initializer")}
                     for c in old["layers"]]
    assert weights_file.same_architecture(old, b.architecture())
    no_bias = Sequential([Flatten(input_shape=(2, 2, 1)), Dense(3, use_bias=False)])
    assert not weights_file.same_architecture(old, no_bias.architecture())
    assert json.dumps(old)  # a plain record
