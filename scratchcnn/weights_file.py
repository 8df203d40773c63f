"""The weights file: every weight array plus a record of the architecture, in one .npz.

    weight_000.npy, weight_001.npy, ...  the arrays in Keras order (conv kernel, conv bias, dense kernel, ...)
    architecture.npy                     JSON text: the input shape and each layer's config

An .npz is a zip of .npy files, and an .npy file is a short text header (dtype, shape) then the raw
numbers. Saving is atomic (files.atomic_write): a crash never leaves a half-written weights file where a
good one was.

Loading trusts nothing, and reads in this order, so a hostile file costs little before it is refused:

    1. the zip's directory: at most MAX_MEMBERS members, named exactly as ``save`` names them
    2. the architecture record: at most MAX_RECORD_CHARS characters, JSON nested at most MAX_DEPTH
       deep, then a schema check (check_architecture): known layer classes, whole sizes within limits
    3. every weight's .npy header, not its data: a float dtype (never a pickle) and a shape; together
       at most MAX_WEIGHT_VALUES numbers
    4. the caller (Sequential.load_weights) compares the record and the shapes with its model
    5. only then the data (``WeightsFile.read_arrays``), each member read to exactly the size its header
       declares, and refused if any number is NaN or infinite

Every problem is one ``WeightsFileError`` (a ``ValueError``) naming the file and what is wrong, a line
long at most, so a 5 MB record never turns into a 5 MB message.
"""
import json
import math
import re
import struct
import zipfile
from pathlib import Path

import numpy as np

from .files import atomic_write

MAX_MEMBERS = 1024              # weight arrays in one file (the tutorial has 6)
MAX_RECORD_CHARS = 1 << 16      # the architecture record, in characters (the tutorial's has about 500)
MAX_DEPTH = 8                   # JSON nesting: {record: {layers: [ {config: [list]} ]}} is 4
MAX_LAYERS = 256
MAX_SIZE = 1 << 16              # a size in a layer config (SIZE_KEYS) or in input_shape
SIZE_KEYS = {"units", "filters", "kernel_size", "pool_size", "strides"}
MAX_INPUT_VALUES = 1 << 24      # numbers in one input sample (input_shape multiplied out: 4096 x 4096)
MAX_WEIGHT_VALUES = 1 << 26     # numbers in all the weights together (256 MB of float32; the tutorial: 607,394)

WEIGHT_NAME = re.compile(r"weight_(\d{3,6})\.npy")
RECORD_NAME = "architecture.npy"


class WeightsFileError(ValueError):
    """A weights file that is damaged, not made by save_weights, or made for another network."""


def save(path, weights: list[np.ndarray], architecture: dict) -> None:
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"weights are saved as .npz; got {path.name!r}, use e.g. 'model.weights.npz'")
    arrays = {f"weight_{i:03d}": w for i, w in enumerate(weights)}
    arrays["architecture"] = np.array(json.dumps(architecture))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as file:
        np.savez(file, **arrays)


def load(path) -> tuple[dict, list[np.ndarray]]:
    """(architecture, weights) from a file written by ``save``, every check done."""
    weights_file = inspect(path)
    return weights_file.architecture, weights_file.read_arrays()


class WeightsFile:
    """What a weights file says about itself, checked, before any weight is read.

    ``architecture`` is the record (schema-checked), ``shapes`` and ``dtypes`` come from the .npy headers.
    """

    def __init__(self, path: Path, architecture: dict, members: list[str], shapes, dtypes, fortran):
        self.path = path
        self.architecture = architecture
        self.members = members                  # weight_000.npy, weight_001.npy, ... in order
        self.shapes: list[tuple[int, ...]] = shapes
        self.dtypes: list[np.dtype] = dtypes
        self._fortran = fortran

    def read_arrays(self) -> list[np.ndarray]:
        """The weights, each read to exactly the size its header declared; NaN or inf refuse the file."""
        arrays = []
        with _open_zip(self.path) as archive:
            for name, shape, dtype, fortran in zip(self.members, self.shapes, self.dtypes, self._fortran):
                with _member(archive, name, self.path) as stream:
                    header = _npy_header(stream, name, self.path)
                    if header != (shape, fortran, dtype):  # the file changed since inspect() read it
                        raise WeightsFileError(f"{self.path}: {name} changed while it was being read; try again")
                    nbytes = math.prod(shape) * dtype.itemsize
                    data = _read_exactly(stream, nbytes, name, self.path)
                array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
                bad = array.size - int(np.count_nonzero(np.isfinite(array)))
                if bad:
                    raise WeightsFileError(f"{self.path}: {name} holds {bad} NaN or infinite values: the file is "
                                           "damaged (or saved from a model whose training diverged); use another "
                                           "copy or train again")
                arrays.append(np.array(array, dtype=dtype.newbyteorder("=")))  # native, writable, C order
        return arrays


def inspect(path) -> WeightsFile:
    """Steps 1 to 3 of the module docstring: the directory, the record, the headers; no weight data."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no weights file at {path}: train first (scratchcnn train) or fix the path")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a weights file: give the .npz file inside it")
    with _open_zip(path) as archive:
        names = [info.filename for info in archive.infolist()]
        if RECORD_NAME not in names:
            raise WeightsFileError(f"{path} is not a scratchcnn weights file (no architecture record)")
        weights = sorted((name for name in names if name != RECORD_NAME), key=_weight_number)
        expected = [f"weight_{i:03d}.npy" for i in range(len(weights))]
        if len(set(names)) != len(names):
            raise WeightsFileError(f"{path} is not a scratchcnn weights file: a member name appears twice")
        if weights != expected:
            odd = next(n for n, e in zip(weights, expected) if n != e)
            raise WeightsFileError(f"{path} is not a scratchcnn weights file: unexpected member {_short(odd)} "
                                   f"(save_weights writes {RECORD_NAME} and weight_000.npy, weight_001.npy, ...)")
        architecture = check_architecture(_read_record(archive, path), path)
        shapes, dtypes, fortran = [], [], []
        for name in weights:
            with _member(archive, name, path) as stream:
                shape, is_fortran, dtype = _npy_header(stream, name, path)
            if dtype.kind != "f":
                raise WeightsFileError(f"{path}: {name} holds {dtype} numbers, not floats: the file is damaged or "
                                       "not made by save_weights")
            shapes.append(shape)
            dtypes.append(dtype)
            fortran.append(is_fortran)
    total = sum(math.prod(shape) for shape in shapes)
    if total > MAX_WEIGHT_VALUES:
        raise WeightsFileError(f"{path}: its headers declare {total:,} weights, more than the {MAX_WEIGHT_VALUES:,} "
                               "a weights file may hold: the file is damaged or not made by save_weights")
    return WeightsFile(path, architecture, weights, shapes, dtypes, fortran)


# --- the architecture record -----------------------------------------------------------------------------------
def same_architecture(a: dict, b: dict) -> bool:
    """Do two records describe the same network? Initializers only decide how weights start, not what they
    are, so they are left out of the comparison; a record written before Conv2D and Dense recorded
    ``use_bias`` had a bias in every such layer."""
    def essence(record):
        layers = []
        for config in record["layers"]:
            config = {k: v for k, v in config.items() if not k.endswith("_initializer")}
            if config.get("class") in ("Conv2D", "Dense"):
                config.setdefault("use_bias", True)
            layers.append(config)
        return {"input_shape": list(record["input_shape"]), "layers": layers}
    return essence(a) == essence(b)


def check_architecture(record, path) -> dict:
    """Raise WeightsFileError unless ``record`` is a sane architecture: return it unchanged if it is.

        {"input_shape": [28, 28, 1],                  0 to 4 whole numbers >= 1 (empty: never built)
         "layers": [{"class": "Conv2D", ...}, ...]}   1 to MAX_LAYERS configs of known layer classes
    A config's values are numbers, strings, true/false/null, short lists of them, or a small object of
    those (an initializer's config); sizes (SIZE_KEYS) whole numbers from 1 to MAX_SIZE, numbers finite."""
    from . import layers as layer_module  # the classes a record may name: those scratchcnn.layers offers

    def bad(what: str):
        return WeightsFileError(f"{path}: the architecture record {what}: the file is damaged or not made by "
                                "save_weights")

    if not isinstance(record, dict):
        raise bad(f"is a JSON {_json_type(record)}, not an object")
    for key in ("input_shape", "layers"):
        if key not in record:
            raise bad(f"has no {key!r}")
    shape = record["input_shape"]
    if (not isinstance(shape, list) or len(shape) > 4
            or not all(_whole(d) and 1 <= d <= MAX_SIZE for d in shape)):
        raise bad(f"has input_shape {_short(shape)}, not a list of at most 4 whole numbers from 1 to {MAX_SIZE}")
    if math.prod(shape) > MAX_INPUT_VALUES:
        raise bad(f"has input_shape {_short(shape)}: {math.prod(shape):,} numbers per sample, more than the "
                  f"{MAX_INPUT_VALUES:,} allowed")
    configs = record["layers"]
    if not isinstance(configs, list) or not 1 <= len(configs) <= MAX_LAYERS:
        count = f"{len(configs):,} layers" if isinstance(configs, list) else f"a JSON {_json_type(configs)}"
        raise bad(f"lists {count} under 'layers', not 1 to {MAX_LAYERS} layer configs")
    known = {name for name, value in vars(layer_module).items()
             if isinstance(value, type) and issubclass(value, layer_module.Layer) and name != "Layer"}
    for i, config in enumerate(configs):
        if not isinstance(config, dict) or not isinstance(config.get("class"), str) or config["class"] not in known:
            what = config.get("class") if isinstance(config, dict) else config
            raise bad(f"has layer {i} of unknown class {_short(what)} (known: {', '.join(sorted(known))})")
        for key, value in config.items():
            if not (isinstance(key, str) and len(key) <= 40 and _config_value(value)):
                raise bad(f"has layer {i} ({config['class']}) with {_short(key)}={_short(value)}, not a short "
                          "string, a finite number or a short list of them")
            sizes = value if isinstance(value, list) else [value]
            if key in SIZE_KEYS and not all(_whole(v) and 1 <= v <= MAX_SIZE for v in sizes):
                raise bad(f"has layer {i} ({config['class']}) with {key}={_short(value)}, not whole numbers "
                          f"from 1 to {MAX_SIZE}")
    return record


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _config_value(value, inner: bool = False) -> bool:
    """A value in a layer config: a scalar, a list of at most 8 scalars, or (outermost only) an object
    of at most 8 such values, e.g. an initializer's {"class": "RandomNormal", "stddev": 0.05}."""
    if isinstance(value, list):
        return len(value) <= 8 and all(_scalar(v) for v in value)
    if isinstance(value, dict):
        return not inner and len(value) <= 8 and all(
            isinstance(k, str) and len(k) <= 40 and _config_value(v, inner=True) for k, v in value.items())
    return _scalar(value)


def _scalar(value) -> bool:
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, str):
        return len(value) <= 40
    if isinstance(value, int):
        return -2**63 <= value < 2**63  # sizes are bounded apart (SIZE_KEYS); this is e.g. a seed
    return isinstance(value, float) and math.isfinite(value)


def _read_record(archive: zipfile.ZipFile, path: Path) -> dict:
    """The JSON record: a 0-d unicode .npy, at most MAX_RECORD_CHARS characters, nested at most MAX_DEPTH."""
    with _member(archive, RECORD_NAME, path) as stream:
        shape, _, dtype = _npy_header(stream, RECORD_NAME, path)
        if shape != () or dtype.kind != "U":
            raise WeightsFileError(f"{path}: the architecture record is not text (an array of {dtype}, shape "
                                   f"{shape}): the file is damaged or not made by save_weights")
        if dtype.itemsize > 4 * MAX_RECORD_CHARS:
            raise WeightsFileError(f"{path}: the architecture record is {dtype.itemsize // 4:,} characters long, "
                                   f"more than the {MAX_RECORD_CHARS:,} allowed: the file is damaged or not made "
                                   "by save_weights")
        text = str(np.frombuffer(_read_exactly(stream, dtype.itemsize, RECORD_NAME, path), dtype=dtype)[0])
    depth = _json_depth(text)
    if depth > MAX_DEPTH:
        raise WeightsFileError(f"{path}: the architecture record is JSON nested {depth} deep, more than the "
                               f"{MAX_DEPTH} allowed: the file is damaged or not made by save_weights")
    try:
        return json.loads(text)
    except ValueError as error:  # json.JSONDecodeError, cut short or not JSON at all
        raise WeightsFileError(f"{path}: the architecture record is not valid JSON ({error}): the file is "
                               "damaged or not made by save_weights") from None


def _json_depth(text: str) -> int:
    """How deeply brackets nest in JSON text, counted before parsing (json.loads would recurse that deep)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


# --- reading the zip and the .npy headers, with limits ---------------------------------------------------------
def _open_zip(path: Path) -> zipfile.ZipFile:
    """Open the zip after checking, from its last bytes, that its directory lists at most MAX_MEMBERS + 1
    members (zipfile would otherwise read a directory of any size into memory)."""
    with open(path, "rb") as file:
        file.seek(0, 2)
        size = file.tell()
        file.seek(max(0, size - 65_557))  # the end record is 22 bytes plus a comment of at most 65,535
        tail = file.read()
    end = tail.rfind(b"PK\x05\x06")
    if end < 0 or len(tail) - end < 22:
        raise WeightsFileError(f"{path} is not a readable weights file (File is not a zip file): it is damaged, "
                               "cut short or not made by save_weights; train again, or use another copy")
    entries, directory_size = struct.unpack("<HI", tail[end + 10:end + 16])  # total entries, bytes
    if entries > MAX_MEMBERS + 1 or directory_size > (MAX_MEMBERS + 1) * 1024:  # 0xFFFF: a zip64 count
        raise WeightsFileError(f"{path}: its zip lists {entries:,} members in a {directory_size:,}-byte directory, "
                               f"more than a weights file has (at most {MAX_MEMBERS} weights): the file is damaged "
                               "or not made by save_weights")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise WeightsFileError(f"{path} is not a readable weights file ({_short(str(error), 80)}): it is damaged, "
                               "cut short or not made by save_weights; train again, or use another copy") from None


class _member:
    """``with _member(archive, name, path) as stream``: one member opened, zip errors turned into ours."""

    def __init__(self, archive, name, path):
        self.archive, self.name, self.path = archive, name, path

    def __enter__(self):
        info = self.archive.getinfo(self.name)
        if info.flag_bits & 0x1:
            raise WeightsFileError(f"{self.path}: {self.name} is encrypted; save_weights never encrypts")
        try:
            self.stream = self.archive.open(info)
        except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, ValueError) as error:
            raise _damaged(self.path, self.name, error) from None
        return self.stream

    def __exit__(self, kind, error, traceback):
        self.stream.close()
        if isinstance(error, (zipfile.BadZipFile, OSError, EOFError, ValueError, struct.error)) \
                and not isinstance(error, (WeightsFileError, FileNotFoundError, PermissionError)):
            raise _damaged(self.path, self.name, error) from None
        return False


def _damaged(path, name, error) -> WeightsFileError:
    return WeightsFileError(f"{path}: {name} cannot be read ({_short(str(error), 80)}): the file is damaged or cut "
                            "short; train again, or use another copy")


def _npy_header(stream, name: str, path: Path) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran_order, dtype) from an .npy header; numpy parses it without evaluating any code, and
    a dtype that would need unpickling (object) is refused, not loaded."""
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        raise WeightsFileError(f"{path}: {name} is .npy version {version}, which save_weights never writes")
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise WeightsFileError(f"{path}: {name} holds {str(dtype)[:40]} data, which is never loaded (it would "
                               "need unpickling): the file is not made by save_weights")
    return tuple(int(d) for d in shape), bool(fortran), dtype


def _read_exactly(stream, nbytes: int, name: str, path: Path) -> bytes:
    """Exactly ``nbytes`` from a member, inflating no more than one byte beyond them."""
    data = stream.read(nbytes + 1)
    if len(data) != nbytes:
        problem = "is cut short" if len(data) < nbytes else "holds more data than its header declares"
        raise WeightsFileError(f"{path}: {name} {problem}: the file is damaged; train again, or use another copy")
    return data


def _weight_number(name: str) -> tuple[int, str]:
    match = WEIGHT_NAME.fullmatch(name)
    return (int(match.group(1)), name) if match else (1 << 30, name)


def _json_type(value) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number")


def _short(value, limit: int = 40) -> str:
    """repr(value), cut to ``limit`` characters: a hostile record never makes a long message."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def describe(architecture: dict, limit: int = 400) -> str:
    """One line for an error message: input (28, 28, 1) -> Conv2D(filters=28, ...) -> ..., at most ``limit``
    characters."""
    parts = []
    for config in architecture["layers"]:
        args = ", ".join(f"{k}={v}" for k, v in config.items() if k != "class")
        parts.append(f"{config['class']}({args})")
    text = f"input {tuple(architecture['input_shape'])} -> " + " -> ".join(parts)
    return text if len(text) <= limit else text[:limit - 3] + "..."
