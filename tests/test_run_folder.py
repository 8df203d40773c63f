"""The run folder never lies: ``kill -9`` a training at random moments, then check every folder left behind.

Each trial copies a finished run (the "old run") into a fresh folder, starts ``scratchcnn train`` into it on
the bundled digits (seconds, offline), and kills it with SIGKILL at a random moment: half of the trials at a
moment drawn over the whole run, half over the part after the data is loaded (where the files are written).
Whatever the moment, the folder must hold one run's files, no mixture:

- no visible file is empty or half-written (a killed writer's temporary files are hidden, ``.``-named, and
  the next run removes them);
- run.json parses; if it is still the old run's, every old file is there, unchanged;
- if it is the new run's, every file it vouches for matches it, the history has the epochs the record
  says and the same run id, the weights load, and no file of the old run is left (a copied file keeps
  the old run's modification time, so any file older than the trial is the old run's);
- ``scratchcnn evaluate --run`` either scores the vouched weights or refuses in one line.

``SCRATCHCNN_KILL_TRIALS`` sets the number of trials (20 in CI, 6 in a quick local run); the states reached
are printed.
"""
import collections
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from scratchcnn.tools import run_folder
from scratchcnn.tools.cli import main

REPO = Path(__file__).resolve().parents[1]
# 20 trials in CI (SCRATCHCNN_RUN_SLOW=1), 6 in a quick local run; SCRATCHCNN_KILL_TRIALS sets any number
TRIALS = int(os.environ.get("SCRATCHCNN_KILL_TRIALS") or (20 if os.environ.get("SCRATCHCNN_RUN_SLOW") == "1" else 6))
PARALLEL = 4
EPOCHS = 15  # on the digits, a fraction of a second each: every kill lands among checkpoints or figures


def train_command(out: Path, seed: int) -> list[str]:
    return [sys.executable, "-m", "scratchcnn", "train", "--dataset", "digits", "--epochs", str(EPOCHS),
            "--seed", str(seed), "--verbose", "0", "--output", str(out)]


def start(out: Path, seed: int) -> subprocess.Popen:
    return subprocess.Popen(train_command(out, seed), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO)})


def shas(folder: Path) -> dict[str, str]:
    return {p.name: run_folder.sha256_of(p) for p in folder.iterdir() if p.is_file()}


@pytest.fixture(scope="module")
def old_run(tmp_path_factory):
    """A finished run to train over, and how long a whole run takes (start to exit, data loaded to exit)."""
    folder = tmp_path_factory.mktemp("old") / "run"
    started = time.monotonic()
    process = start(folder, seed=99)
    process.stdout.readline()  # the summary's first line: imports done
    while not process.stdout.readline().startswith("Training on"):
        pass
    loaded = time.monotonic()
    process.communicate(timeout=300)
    assert process.returncode == 0
    ended = time.monotonic()
    return folder, shas(folder), ended - started, ended - loaded


def check_folder(folder: Path, old_files: dict[str, str], old_id: str, started: float) -> str:
    """Assert the folder is one run's; return which state the kill left it in."""
    for path in folder.iterdir():
        if path.name.startswith("."):  # hidden: a killed writer's temporary file, never read
            assert path.name.endswith(".partial") or path.name.startswith(run_folder.STAGED), path.name
        else:
            assert path.stat().st_size > 0, f"{path.name} is empty"
    record = json.loads((folder / "run.json").read_text())  # whole: written atomically
    if record["run_id"] == old_id:  # killed before the new run's first epoch was complete
        assert {name: sha for name, sha in shas(folder).items() if not name.startswith(".")} == old_files
        return "old run intact"
    run = run_folder.open_run(folder)
    vouched = run.record["files"]
    mismatched = [name for name, sha in vouched.items() if run_folder.sha256_of(folder / name) != sha]
    if mismatched:  # only possible between the two renames of a checkpoint: the pair is refused
        saving = record["saving"]["files"]
        assert all(run_folder.sha256_of(folder / name) == saving[name] for name in mismatched), mismatched
        return "killed between the two renames"
    leftovers = [p.name for p in folder.iterdir() if p.stat().st_mtime < started]  # copied from the old run
    assert not leftovers, f"files of the old run beside the new record: {leftovers}"
    if not vouched:
        return "new record, no epoch saved yet"
    history = json.loads((folder / "history.json").read_text())
    assert history["run_id"] == run.record["run_id"]
    assert history["epochs"] == history["epochs_completed"] == run.record["epochs_completed"]
    assert len(history["history"]["loss"]) == run.record["epochs_completed"]
    from scratchcnn import tutorial
    tutorial.build_model(input_shape=(8, 8, 1)).load_weights(folder / "model.weights.npz")  # whole, right arch
    if run.record["status"] == "finished":
        return "finished"
    figures = [name for name in vouched if name.endswith((".png", ".txt"))]
    if history["test_accuracy"] is not None:
        return "trained, drawing figures" + (" (some vouched)" if figures else "")
    return f"epoch {run.record['epochs_completed']} saved"


def kill_at(folder: Path, seed: int, delay: float, after_loading: bool) -> int:
    """Train into ``folder``, SIGKILL it ``delay`` seconds after its start (or after its data is loaded)."""
    process = start(folder, seed)
    if after_loading:
        while not (line := process.stdout.readline()).startswith("Training on") and line:
            pass
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    return process.returncode


def test_kill_9_at_random_moments_leaves_every_folder_one_runs(old_run, tmp_path, capsys):
    old, old_files, whole, after_load = old_run
    old_id = json.loads((old / "run.json").read_text())["run_id"]
    rng = random.Random(int(os.environ.get("SCRATCHCNN_KILL_SEED", time.time_ns() % 10**6)))
    states = collections.Counter()
    moments = []
    for batch in range(0, TRIALS, PARALLEL):  # a few at a time: the waiting overlaps
        started = time.time()
        trials = []
        for k in range(batch, min(batch + PARALLEL, TRIALS)):
            folder = tmp_path / f"trial-{k:02d}"
            shutil.copytree(old, folder)  # keeps the old files' times: anything older than now is the old run's
            after_loading = k % 2 == 0
            delay = rng.uniform(0, after_load if after_loading else whole)
            trials.append((folder, k, delay, after_loading))
            moments.append(f"{delay:.1f}s{' after loading' if after_loading else ''}")
        with ThreadPoolExecutor(len(trials)) as pool:
            codes = list(pool.map(lambda t: kill_at(*t), trials))
        for (folder, *_), code in zip(trials, codes):
            state = check_folder(folder, old_files, old_id, started)
            states[state if code == -signal.SIGKILL else "finished before the kill"] += 1
            code = main(["evaluate", "--run", str(folder)])  # scores the vouched weights, or refuses in one line
            err = capsys.readouterr().err
            refused = state in ("new record, no epoch saved yet", "killed between the two renames")
            assert code == (1 if refused else 0), (state, err)
            assert err == "" if code == 0 else (err.startswith("scratchcnn: error: ") and err.count("\n") == 1)
    with capsys.disabled():
        print(f"\nkill -9 trials: {TRIALS}; a whole run {whole:.1f} s ({after_load:.1f} s after loading); "
              f"states: {dict(states)}; moments: {', '.join(moments)}")
    assert sum(states.values()) == TRIALS
