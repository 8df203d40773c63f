"""kernels.matmul: the same product as a @ b, whichever way it is cut into blocks, and the same bits
every time."""
import numpy as np
import pytest

from scratchcnn.kernels import matmul as mm


@pytest.mark.parametrize("shape", [
    ((32, 4732), (4732, 128)),   # the Dense(128) forward: the shared axis is cut
    ((4732, 32), (32, 128)),     # its kernel gradient x.T @ dz: output rows are cut
    ((32, 128), (128, 4732)),    # its input gradient dz @ W.T: output columns are cut
    ((3, 5), (5, 2)),            # too small to cut
])
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_equals_the_plain_product(shape, dtype, tol, monkeypatch):
    monkeypatch.setattr(mm, "PARTS", 2)                 # cut even on a one-core machine
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(s).astype(dtype) for s in shape)
    expected = a.astype(np.float64) @ b.astype(np.float64)
    got = mm.matmul(a, b)
    assert got.dtype == dtype and got.shape == expected.shape
    assert np.abs(got - expected).max() <= tol * np.abs(expected).max()
    again = mm.matmul(a, b)
    assert np.array_equal(got, again)                   # fixed blocks: same bits every time


def test_transposed_views_and_out():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 4732)).astype(np.float32)
    dz = rng.standard_normal((32, 128)).astype(np.float32)
    out = np.full((4732, 128), np.nan, dtype=np.float32)
    result = mm.matmul(x.T, dz, out=out)
    assert result is out
    np.testing.assert_allclose(out, x.T @ dz, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("parts", [1, 2, 4])
def test_matmul_two_gives_both_products(parts, monkeypatch):
    monkeypatch.setattr(mm, "PARTS", parts)             # side by side (2), cut (4) or plain (1)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((32, 4732))
    dz = rng.standard_normal((32, 128))
    w = rng.standard_normal((4732, 128))
    dw = np.full((4732, 128), np.nan)
    dx = mm.matmul_two(x.T, dz, dw, dz, w.T)
    np.testing.assert_allclose(dw, x.T @ dz, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(dx, dz @ w.T, rtol=1e-12, atol=1e-10)
    assert np.array_equal(dx, mm.matmul_two(x.T, dz, dw, dz, w.T))  # same bits every time


@pytest.mark.parametrize("parts", [1, 2, 4])
@pytest.mark.parametrize("n_blocks", [0, 1, 3, 17])
def test_for_each_block_runs_every_block_exactly_once(parts, n_blocks, monkeypatch):
    monkeypatch.setattr(mm, "PARTS", parts)
    calls = []
    mm.for_each_block(calls.append, n_blocks)          # list.append is atomic: safe from any thread
    assert sorted(calls) == list(range(n_blocks))


def test_for_each_block_passes_on_an_error(monkeypatch):
    monkeypatch.setattr(mm, "PARTS", 2)

    def work(k):
        if k == 5:
            raise ValueError("block 5")

    with pytest.raises(ValueError, match="block 5"):
        mm.for_each_block(work, 8)
