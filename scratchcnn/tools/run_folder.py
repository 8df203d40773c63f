"""The run folder: what ``scratchcnn train`` used, and which files in the folder are that run's own.

    runs/mnist/
        run.json                    the record (below)
        model.weights.npz           the weights of the last completed epoch, saved after every epoch
        history.json                the epochs behind those weights (and, once training ends, the test score)
        predictions.png, ...        the figures (tools/report.py), drawn when training ends

run.json remembers the run, so the next commands need no options (``scratchcnn evaluate``, ``plot``,
``predict`` read the dataset, the data folder and the weights from it)::

    {"run_id": "20261201-214502-3fa2c1", "status": "training" | "interrupted" | "stopped" | "finished",
     "dataset": "mnist", "data_dir": "/abs/path/to/mnist" (null for digits), "seed": 0,
     "epochs_asked": 10, "epochs_completed": 3, "batch_size": 32, "command": "scratchcnn train ...",
     "started": "2026-12-01T21:45:02+00:00", "versions": {"scratchcnn": ..., "python": ..., ...},
     "files": {"model.weights.npz": "<SHA-256 of its bytes>", "history.json": "...", ...}}

It never lies, whenever the process dies (Ctrl-C, a full disk, ``kill -9``), because of three rules:

1. Every file is written atomically (files.py): a file on disk is whole, the old one or the new one.
2. A file is vouched for by its SHA-256 in the record, and readers (``open_run``) use a file only when its
   bytes match. A checkpoint is saved in three steps: the new weights and history are written under
   hidden names (``.next-model.weights.npz``), the record adds them as ``"saving"``, then they are renamed
   into place and the record moves them to ``"files"``. Killed at any point, the files on disk are all of
   the last saved epoch or all of the new one, and the record knows both; only a kill between the two
   renames (microseconds) leaves a pair that readers refuse as not vouched for.
3. A new run leaves an older run's folder untouched until its first epoch is complete; then, before
   saving anything, it writes its own record (vouching for nothing yet) and removes the files of the old
   run and any half-written temporary files. Files that are not a run's (your notes.txt) are never touched.
"""
import datetime
import errno
import hashlib
import json
import os
import platform
import secrets
import tempfile
import time
from pathlib import Path

from ..callbacks import Callback
from ..files import write_json

RECORD = "run.json"
STAGED = ".next-"  # the prefix of a checkpoint's files before they are renamed into place
WEIGHTS = "model.weights.npz"
HISTORY = "history.json"
# Every file a run writes, the figures of tools/report.py included: removed when a new run takes the folder.
RUN_FILES = (WEIGHTS, HISTORY, "predictions.png", "predictions_grid.png", "curves.png", "confusion.png",
             "classification_report.txt", "filters.png", "feature_maps.png", "mistakes.png")


class RunFolderError(ValueError):
    """A run folder that cannot be used as asked: no record, or a file the record does not vouch for."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_writable(folder: Path) -> None:
    """Refuse, before any work is done, a ``folder`` that is a file or cannot be written into (or created),
    with the system's own error about it (the CLI says it in one line, with the fix).

    Nothing is created here: a refused command leaves no empty folder behind (``train`` creates it later)."""
    folder = Path(folder)
    existing = folder
    while not existing.exists():  # the folder will be created inside its nearest existing parent
        existing = existing.parent if existing.parent != existing else Path(".")
    if not existing.is_dir():  # the folder itself, or a parent of it, is a file
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(existing))
    try:
        if existing == folder:  # the real test: write a file there (and remove it)
            fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=folder)
            os.close(fd)
            os.unlink(probe)
        elif not os.access(existing, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
    except OSError as error:
        raise OSError(error.errno, error.strerror, str(folder)) from None


def versions() -> dict:
    import numba
    import numpy

    from .. import __version__
    return {"scratchcnn": __version__, "python": platform.python_version(), "numpy": numpy.__version__,
            "numba": numba.__version__}


def new_run_id() -> str:
    now = datetime.datetime.now(datetime.timezone.utc)
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


class NewRun:
    """The writing side: ``scratchcnn train`` creates one, and every file of the run goes through it.

        run = NewRun(folder, dataset="mnist", data_dir=..., seed=0, epochs_asked=10, batch_size=32,
                     command="scratchcnn train")
        model.fit(..., callbacks=[run.checkpoint()])   # after every epoch: weights, history, record
        run.write_history(results)                     # the final history (test score, exact epoch times)
        run.write_figures(lambda: report.write_report(model, x_test, y_test, folder, results))
        run.finish()
    """

    def __init__(self, folder, **facts):
        self.folder = Path(folder)
        self.record = {"run_id": new_run_id(), "status": "training", **facts, "epochs_completed": 0,
                       "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                       "versions": versions(), "files": {}}
        self.taken = False  # whether the folder holds this run's record yet (rule 3)

    @property
    def run_id(self) -> str:
        return self.record["run_id"]

    def _write_record(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_json(self.folder / RECORD, self.record)

    def take_folder(self) -> None:
        """Rule 3: our record first (vouching for nothing), then the old run's files go."""
        old = self.folder / RECORD
        try:
            old_files = list(json.loads(old.read_text()).get("files", {}))
        except (OSError, ValueError, AttributeError):
            old_files = []
        self._write_record()
        for name in {*RUN_FILES, *(n for n in old_files if isinstance(n, str) and "/" not in n and n != RECORD)}:
            (self.folder / name).unlink(missing_ok=True)
        for pattern in (".*.partial", f"{STAGED}*"):  # temporary files of a killed writer (files.py, save)
            for leftover in self.folder.glob(pattern):
                leftover.unlink(missing_ok=True)
        self.taken = True

    def vouch(self, *names: str, **changes) -> None:
        """The named files are written in place: record their SHA-256 (and ``changes``) in run.json."""
        for name in names:
            self.record["files"][name] = sha256_of(self.folder / name)
        self.record.update(changes)
        self._write_record()

    def save(self, writers: dict, **changes) -> None:
        """Rule 2: ``writers`` maps a file name to a function writing that file at the path it is given."""
        staged = {name: self.folder / f"{STAGED}{name}" for name in writers}
        for name, write in writers.items():
            write(staged[name])
        self.record["saving"] = {"files": {name: sha256_of(path) for name, path in staged.items()}, **changes}
        self._write_record()
        for name, path in staged.items():
            os.replace(path, self.folder / name)
        saving = self.record.pop("saving")
        self.record["files"].update(saving.pop("files"))
        self.record.update(saving)
        self._write_record()

    def write_history(self, results: dict, **changes) -> None:
        self.save({HISTORY: lambda path: write_json(path, {"run_id": self.run_id, **results})}, **changes)

    def checkpoint(self) -> Callback:
        return _Checkpoint(self)

    def write_figures(self, draw) -> list[Path]:
        """``draw()`` writes the figures into the folder and returns their paths; they are vouched for."""
        written = draw()
        self.vouch(*(Path(path).name for path in written if Path(path).parent == self.folder))
        return written

    def finish(self, status: str = "finished") -> None:
        self.record["status"] = status
        self._write_record()


class _Checkpoint(Callback):
    """After every epoch: the weights, the history of the epochs so far, then the record vouching for both.

    The history written here has the epoch's training time measured from the epoch's start to its last
    batch; ``train`` rewrites it at the end with ``fit``'s own figures."""

    def __init__(self, run: NewRun):
        super().__init__()
        self.run = run
        self.history: dict[str, list[float]] = {}
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self.started = self.last_batch = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None) -> None:
        self.last_batch = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None) -> None:
        run = self.run
        if not run.taken:
            run.take_folder()
        self.seconds.append(self.last_batch - self.started)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        history = {"run_id": run.run_id, **history_facts(run.record), "epochs": epoch + 1,
                   "epochs_completed": epoch + 1, "test_loss": None, "test_accuracy": None,
                   "seconds_per_epoch": self.seconds, "history": self.history}
        run.save({WEIGHTS: self.model.save_weights, HISTORY: lambda path: write_json(path, history)},
                 epochs_completed=epoch + 1)


def history_facts(record: dict) -> dict:
    """The facts of the record that history.json repeats, so that it reads on its own."""
    return {key: record.get(key) for key in ("dataset", "seed", "epochs_asked", "batch_size", "validation")}


class Run:
    """The reading side: a run folder whose record was checked; ``path(name)`` hands out vouched files only."""

    def __init__(self, folder: Path, record: dict):
        self.folder = folder
        saving = record.get("saving")
        if isinstance(saving, dict) and isinstance(saving.get("files"), dict) and all(
                (folder / name).is_file() and sha256_of(folder / name) == sha
                for name, sha in saving["files"].items()):
            # killed after renaming a checkpoint's files into place, before the record said so: it is saved
            record = {**record, **{k: v for k, v in saving.items() if k != "files"},
                      "files": {**record["files"], **saving["files"]}}
        self.record = {k: v for k, v in record.items() if k != "saving"}

    def has(self, name: str) -> bool:
        return name in self.record.get("files", {})

    def path(self, name: str) -> Path:
        """The path of ``name`` in the folder, once its bytes are checked against the record."""
        path = self.folder / name
        files = self.record.get("files", {})
        if name not in files:
            if name == WEIGHTS and not self.record.get("epochs_completed"):
                raise RunFolderError(f"the run in {self.folder} has not completed an epoch yet (run.json "
                                     f"vouches for no weights): wait for it, or train again")
            raise RunFolderError(f"run.json in {self.folder} does not vouch for {name}: train again")
        if not path.is_file() or sha256_of(path) != files[name]:
            raise RunFolderError(f"{path} is not the file run.json vouches for (changed since, or the run was "
                                 f"stopped while saving it): train again into {self.folder}")
        return path

    def vouch(self, written) -> None:
        """Figures ``scratchcnn plot`` drew again into the folder: the record vouches for the new ones (the
        record rewritten is the resolved one: a checkpoint found saved is then said so)."""
        names = [Path(path).name for path in written if Path(path).parent == self.folder]
        if names:
            for name in names:
                self.record["files"][name] = sha256_of(self.folder / name)
            write_json(self.folder / RECORD, self.record)

    def describe(self) -> str:
        r = self.record
        status = {"finished": "", "interrupted": ", interrupted", "stopped": ", stopped early (a NaN loss)",
                  "training": ", still training or killed"}.get(r.get("status"), "")
        return f"run {r.get('run_id')}: epoch {r.get('epochs_completed')} of {r.get('epochs_asked')}{status}"


def open_run(folder) -> Run:
    """Read and check ``folder``'s run.json; raises ``RunFolderError`` (or FileNotFoundError) saying the fix."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no run folder at {folder}: train first (scratchcnn train), or give --run "
                                "the folder 'scratchcnn train' wrote")
    record_path = folder / RECORD
    if not record_path.is_file():
        raise RunFolderError(f"{folder} has no run.json, so nothing in it is vouched for as one run's (it was "
                             "not written by scratchcnn train, or by an older version): train again, or give "
                             "a weights file of your own with --weights")
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError) as error:
        raise RunFolderError(f"{record_path} cannot be read ({error}): train again into {folder}") from None
    if not isinstance(record, dict) or not isinstance(record.get("files"), dict) or "dataset" not in record:
        raise RunFolderError(f"{record_path} is not a run record made by scratchcnn train: train again into "
                             f"{folder}")
    return Run(folder, record)


def read_history(run: Run) -> dict | None:
    """The run's history.json when the record vouches for it, else None."""
    if not run.has(HISTORY):
        return None
    return json.loads(run.path(HISTORY).read_text())
