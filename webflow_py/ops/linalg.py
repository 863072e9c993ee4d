"""Matrix products: MatMul (numpy matmul) and Gemm. Both take a fused `activation`."""

from .._np import np
from ..dtypes import FLOATS
from ..errors import ShapeError, UnsupportedError
from .common import broadcast
from .registry import op


def _acc(x):
    """float16 accumulates in float32, as the GPU kernels do."""
    return x.astype(np.float32) if x.dtype == np.float16 else x


@op("A B", fusable=True)
def MatMul(a, b):
    """numpy matmul: batch dims broadcast; a 1-D A is a row, a 1-D B a column, and that dim is dropped"""
    return np.matmul(_acc(a), _acc(b)).astype(a.dtype, copy=False)


@MatMul.shape
def _matmul_shape(a, b):
    if a.rank == 0 or b.rank == 0:
        raise ShapeError("MatMul needs inputs of rank >= 1")
    ash = (1,) + a.shape if a.rank == 1 else a.shape
    bsh = b.shape + (1,) if b.rank == 1 else b.shape
    if ash[-1] != bsh[-2]:
        raise ShapeError(f"MatMul: A has {ash[-1]} columns, B has {bsh[-2]} rows")
    rows = (ash[-2],) if a.rank > 1 else ()
    cols = (bsh[-1],) if b.rank > 1 else ()
    return broadcast(ash[:-2], bsh[:-2]) + rows + cols


@op("A B C?", fusable=True)
def Gemm(a, b, c=None, *, alpha=1.0, beta=1.0, transA=0, transB=0):
    """alpha * A' B' + beta * C with A' = A.T if transA, B' = B.T if transB; C broadcasts to (M, N); integer inputs take whole alpha and beta only"""
    y = np.matmul(_acc(a.T if transA else a), _acc(b.T if transB else b))
    y = y * y.dtype.type(alpha)
    if c is not None and beta != 0:  # beta=0 means C is not read (NaN/inf in C do not leak), as in BLAS
        y = y + y.dtype.type(beta) * _acc(c)
    return y.astype(a.dtype, copy=False)


@Gemm.shape
def _gemm_shape(a, b, c=None, *, alpha=1.0, beta=1.0, transA=0, transB=0):
    if a.rank != 2 or b.rank != 2:
        raise ShapeError(f"Gemm needs 2-D A and B, got ranks {a.rank} and {b.rank}")
    if a.dtype not in FLOATS and not (float(alpha).is_integer() and float(beta).is_integer()):
        raise UnsupportedError(f"Gemm on {a.dtype} with alpha={alpha}, beta={beta}: integer Gemm takes whole alpha and beta only")
    m, k = a.shape[::-1] if transA else a.shape
    k2, n = b.shape[::-1] if transB else b.shape
    if k != k2:
        raise ShapeError(f"Gemm: A' has {k} columns, B' has {k2} rows (transA={transA}, transB={transB})")
    if c is not None and (c.rank > 2 or broadcast(c.shape, (m, n)) != (m, n)):
        raise ShapeError(f"Gemm: C {list(c.shape)} does not broadcast to (M, N) = {[m, n]}")
    return (m, n)
