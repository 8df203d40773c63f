"""Who gets the CPU cores: numba's kernels, not BLAS. Every threading setting of scratchcnn lives here.

A training step multiplies small matrices (a batch of 32 rows). Spread over several BLAS threads, each
product finishes in a fraction of a millisecond, and the threads then spin waiting for the next one: on a
2-core machine that is busy with anything else, a step then takes 10-30x longer. On one thread the same
products cost about the same when the machine is idle and nothing extra when it is loaded (measured in
docs/performance.md). So fit, evaluate and predict run BLAS on one thread (``single_threaded_blas``), and
the parallel work is done by the numba kernels and by ``matmul.py``'s blocks, one per core (``cores``).

numba's OpenMP threads busy-wait after each parallel loop by default. On a 2-core machine they then steal
the cores from NumPy's BLAS threads and a training step runs 3x slower. Passive waiting lets them sleep;
it must be set before the first parallel kernel starts the OpenMP runtime, so ``kernels/__init__.py``
imports this module first.

threadpoolctl comes with scikit-learn; the limit applies inside the ``with`` block only, so code around
scratchcnn keeps its own BLAS settings.
"""
import os

from threadpoolctl import threadpool_limits

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def cores() -> int:
    """The cores this process may run on (a container's limit, not the host's count, where Linux says)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def single_threaded_blas():
    """Context manager: BLAS on one thread inside the block."""
    return threadpool_limits(limits=1, user_api="blas")
