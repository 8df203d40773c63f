"""tanh of a float32 array, 8 lanes at a time (its twin, math.tanh value by value: reference/activations.py).

NumPy's and the C library's tanhf handle one value at a time (2.5 ns a float32 on this project's AMD EPYC,
5 once the map is out of cache), and LeNet-5's maps are mostly tanh: it was a third of its inference. Here
tanh is a ratio of two polynomials in t = x*x, which the compiler keeps in SIMD registers:

    tanh(x) ~ x * P(t) / Q(t),   P of degree 5, Q of degree 3, P(0) = Q(0) = 1   for |x| < 9
    tanh(x) = sign(x)                                                             for |x| >= 9

(tanh(9) = 1 - 3e-8 rounds to 1.0 in float32). The coefficients were fitted for this file: a weighted
least-squares fit of tanh(x)/x on 40,000 Chebyshev points of [0, 9], reweighted until the error is
relative (Loeb's iteration), then rounded to float32. Over 7 million float32 inputs in [-10, 10] the
result is within 6.3 units in the last place of the exact tanh (3.7e-7 at most, near |x| = 8.8, where a
float32 just below 1 is 6e-8 from its neighbours); np.tanh is within 1.4. A NaN stays NaN, tanh(+-inf)
is +-1, tanh(-0.0) is -0.0. float64 arrays (the gradient checks) keep np.tanh.
"""
import numpy as np
from numba import njit, prange

_SATURATION = np.float32(9.0)
_P1, _P2, _P3, _P4, _P5 = (np.float32(0.12922711670398712), np.float32(0.0029243347235023975),
                           np.float32(9.296628377342131e-06), np.float32(-1.2855398523470285e-08),
                           np.float32(1.8416204325411023e-11))
_Q1, _Q2, _Q3 = np.float32(0.46256008744239807), np.float32(0.023778261616826057), np.float32(0.00022857103613205254)
_ONE = np.float32(1.0)
_CHUNK = 16384  # values per row of the parallel loop; what is left over (or a smaller array) runs on one thread


# error_model="numpy": a float division that cannot raise ZeroDivisionError (q >= 1 here anyway); with
# Python's error model the check alone kept the loop out of SIMD (5x slower).
@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _tanh_rows(z, out):
    # z, out (rows, columns): every value, a row at a time
    for r in range(z.shape[0]):
        for i in range(z.shape[1]):
            x = z[r, i]
            t = x * x
            p = ((((_P5 * t + _P4) * t + _P3) * t + _P2) * t + _P1) * t + _ONE
            q = ((_Q3 * t + _Q2) * t + _Q1) * t + _ONE
            sign = _ONE if x > 0 else -_ONE
            out[r, i] = sign if abs(x) >= _SATURATION else x * p / q   # a NaN fails the test: x * p / q, NaN


@njit(parallel=True, cache=True)
def _tanh_rows_parallel(z, out):
    for r in prange(z.shape[0]):
        _tanh_rows(z[r:r + 1], out[r:r + 1])


def tanh_float32(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """tanh(z) for a float32 array of any shape, into ``out`` (a C-contiguous float32 array of z's shape, z
    itself allowed: each value is read before its own place is written) or a new array."""
    z = np.ascontiguousarray(z)
    if out is None:
        out = np.empty_like(z)
    elif out.shape != z.shape or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError(f"tanh_float32: out must be a C-contiguous float32 array of shape {z.shape}")
    flat_in, flat_out = z.reshape(-1), out.reshape(-1)
    whole = z.size // _CHUNK * _CHUNK                   # rows of _CHUNK values on the cores, then the rest
    if whole:
        _tanh_rows_parallel(flat_in[:whole].reshape(-1, _CHUNK), flat_out[:whole].reshape(-1, _CHUNK))
    _tanh_rows(flat_in[whole:].reshape(1, -1), flat_out[whole:].reshape(1, -1))
    return out
