"""Where the tutorial's memory goes, phase by phase: what numba costs before any of scratchcnn's work.

    python reference/compare/memory_floor.py [--data FOLDER]

Runs the tutorial as its own code does (the whole set scaled to float32 up front, then fit and predict) in
this one process and, after each phase, prints the resident memory (Linux: /proc/self/smaps) and what
grew, by mapping: ``libllvmlite.so`` is LLVM's code, paged in as it runs; ``[anon]`` and ``[heap]`` are
memory the process allocated. numba's CPU target is made ready on its own first, as the first call of any
kernel would (compiled or loaded from numba's cache), so its cost shows apart from scratchcnn's.
"""
import argparse
import collections
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def resident_by_mapping() -> collections.Counter:
    """KiB resident per mapping name (a shared library's file name, [heap], [anon], ...)."""
    sizes, name = collections.Counter(), None
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                fields = line.split()
                name = fields[5].split("/")[-1] if len(fields) > 5 else "[anon]"
            elif line.startswith("Rss:"):
                sizes[name] += int(line.split()[1])
    return sizes


class Phases:
    def __init__(self):
        self.last = resident_by_mapping()
        print(f"{'phase':46s} {'resident':>9s}  what grew (MiB)")

    def __call__(self, phase: str) -> None:
        now = resident_by_mapping()
        grew = {k: (now[k] - self.last[k]) / 1024 for k in now.keys() | self.last.keys()}
        shown = ", ".join(f"{k} {v:+.0f}" for k, v in sorted(grew.items(), key=lambda kv: -abs(kv[1]))
                          if abs(v) >= 1)
        print(f"{phase:46s} {sum(now.values()) / 1024:6.1f} MiB  {shown}", flush=True)
        self.last = now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="folder with the four MNIST files (default: scratchcnn's own search)")
    args = parser.parse_args()
    phase = Phases()
    import numpy as np
    phase("Python and NumPy")
    import numba
    phase("import numba")
    from numba.core.registry import cpu_target
    cpu_target.target_context.refresh()
    phase("numba's CPU target ready (any first kernel)")
    import scratchcnn
    from scratchcnn.datasets import mnist
    from scratchcnn.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
    phase("import scratchcnn")
    (x_train, y_train), (x_test, y_test) = mnist.load_data(args.data)
    x_train = x_train.reshape(-1, 28, 28, 1).astype("float32")
    x_train /= 255
    x_test = x_test.reshape(-1, 28, 28, 1).astype("float32")
    x_test /= 255
    phase("the tutorial's float32 images (70,000)")
    model = scratchcnn.Sequential([
        Conv2D(28, kernel_size=(3, 3), input_shape=(28, 28, 1)), MaxPooling2D(pool_size=(2, 2)), Flatten(),
        Dense(128, activation="relu"), Dropout(0.2), Dense(10, activation="softmax")], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train[:64], y_train[:64], batch_size=32, epochs=1, verbose=0)
    phase("model, first fit steps (its kernels loaded)")
    model.fit(x_train, y_train, batch_size=32, epochs=1, verbose=0)
    phase("one epoch of fit")
    model.predict(x_test, batch_size=1000)
    phase("predict at batch 1,000")
    print(f"numba {numba.__version__}, NumPy {np.__version__}; peak resident: ", end="")
    with open("/proc/self/status") as status:
        print(next(line.split(":")[1].strip() for line in status if line.startswith("VmHWM")))


if __name__ == "__main__":
    main()
