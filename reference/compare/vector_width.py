"""Which vector registers numba's code uses, on this CPU and on others, without running it there.

    python reference/compare/vector_width.py [--cpus znver3 skylake-avx512 icelake-server sapphirerapids znver4]

First, in a process of its own, one training step and one prediction of the tutorial network and of
Keras's MNIST convnet run here, and every numba kernel they call is listed with the argument types it was
called with. Then, for each CPU named (LLVM's names; ``host`` is this machine), a fresh process compiles
those kernels for that CPU (``NUMBA_CPU_NAME``, an empty numba cache, so nothing compiled for this machine
is reused) without calling them, and counts the registers in their assembly: ``zmm`` (512 bits, 16
float32), ``ymm`` (256 bits, 8), ``xmm`` (128 bits, scalar code uses them too). Code compiled for a CPU
this machine lacks is never run, so any x86 machine can answer for all of them.
"""
import argparse
import os
import pickle
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

CPUS = ["host", "znver3", "skylake-avx512", "icelake-server", "sapphirerapids", "znver4"]


def kernels_used(out_file: str) -> None:
    """Run a step of both networks here; pickle [(module, name, argument types)] of each kernel called."""
    import numpy as np
    from numba.core.registry import CPUDispatcher

    import scratchcnn.kernels as kernels_package
    from scratchcnn.tools.bench import keras_convnet
    from scratchcnn.tutorial import build_model

    for model, batch in ((build_model(seed=0), 32), (keras_convnet(seed=0), 128)):
        x = np.random.default_rng(0).random((batch, 28, 28, 1), dtype=np.float32)
        model.train_on_batch(x, np.arange(batch) % 10)
        model.predict(x[:8])
    found = []
    for module_name in sorted(m for m in sys.modules if m.startswith(kernels_package.__name__ + ".")):
        for name, value in vars(sys.modules[module_name]).items():
            if isinstance(value, CPUDispatcher) and value.__module__ == module_name:
                found += [(module_name, name, tuple(sig)) for sig in value.signatures]
    with open(out_file, "wb") as f:
        pickle.dump(found, f)


def registers(in_file: str) -> None:
    """Compile the listed kernels for NUMBA_CPU_NAME's CPU and print one line of register counts each."""
    import importlib

    with open(in_file, "rb") as f:
        found = pickle.load(f)
    for module_name, name, sig in found:
        kernel = getattr(importlib.import_module(module_name), name)
        kernel.compile(sig)
        asm = kernel.inspect_asm(sig)
        counts = {reg: len(re.findall(rf"%{reg}\d", asm)) for reg in ("zmm", "ymm", "xmm")}
        print(f"{module_name.rsplit('.', 1)[-1]}.{name}: " + " ".join(f"{k} {v}" for k, v in counts.items()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpus", nargs="+", default=CPUS, help="LLVM CPU names (default: %(default)s)")
    parser.add_argument("--list", help=argparse.SUPPRESS)
    parser.add_argument("--compile", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.list:
        return kernels_used(args.list)
    if args.compile:
        return registers(args.compile)
    with tempfile.TemporaryDirectory() as folder:
        listing = os.path.join(folder, "kernels.pickle")
        subprocess.run([sys.executable, __file__, "--list", listing], check=True)
        for cpu in args.cpus:
            env = {**os.environ, "NUMBA_CACHE_DIR": os.path.join(folder, f"cache-{cpu}")}
            if cpu != "host":
                env["NUMBA_CPU_NAME"] = cpu
            lines = subprocess.run([sys.executable, __file__, "--compile", listing], env=env, check=True,
                                   capture_output=True, text=True).stdout.splitlines()
            total = {reg: sum(int(re.search(rf"{reg} (\d+)", line).group(1)) for line in lines)
                     for reg in ("zmm", "ymm", "xmm")}
            print(f"{cpu}: {len(lines)} kernels, " + ", ".join(f"{k} {v}" for k, v in total.items())
                  + ("   kernels with zmm: " + ", ".join(l.split(':')[0] for l in lines if " zmm 0 " not in l)
                     if total["zmm"] else ""), flush=True)


if __name__ == "__main__":
    main()
