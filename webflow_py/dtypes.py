"""The tensor dtypes webflow knows, by their numpy names: one table with width, kind and struct code.

numpy itself has the first twelve. The low-precision ones (bfloat16, float8, float4, 4- and
2-bit ints: ONNX's BFLOAT16 ... INT2) come from the `ml_dtypes` package, which registers them
with numpy under these same names; their names are also torch's and JAX's. The runtime imports
without numpy or ml_dtypes; `numpy_dtype` raises UnsupportedError, naming the dtype, when a
model needs one that this Python lacks.

Shards hold sub-byte dtypes unpacked, one value per byte (simple to read in JS and numpy; such
weights are rare): int4/int2 as a sign-extended int8, uint4/uint2 as a uint8, float4_e2m1fn
as its 4-bit code in the low nibble. float8 dtypes are their 8-bit code; bfloat16 its 16-bit
code (the top half of a float32), little-endian.
"""

from collections import namedtuple

from .errors import UnsupportedError

try:  # registers bfloat16, float8_e4m3fn, int4, ... with numpy by name
    import ml_dtypes
except ImportError:  # pragma: no cover - Pyodide, or a Python without it
    ml_dtypes = None

# bits: width of one value (a shard stores max(bits, 8) of them per element);
# kind: "float", "int" (signed), "uint" or "bool";
# code: struct code of one stored element, so small values are read without numpy (None: numpy only);
# lib: the package that gives numpy the dtype.
DType = namedtuple("DType", "bits kind code lib")

DTYPES = {
    "float32": DType(32, "float", "f", "numpy"),
    "float64": DType(64, "float", "d", "numpy"),
    "float16": DType(16, "float", "e", "numpy"),
    "int8": DType(8, "int", "b", "numpy"),
    "uint8": DType(8, "uint", "B", "numpy"),
    "int16": DType(16, "int", "h", "numpy"),
    "uint16": DType(16, "uint", "H", "numpy"),
    "int32": DType(32, "int", "i", "numpy"),
    "uint32": DType(32, "uint", "I", "numpy"),
    "int64": DType(64, "int", "q", "numpy"),
    "uint64": DType(64, "uint", "Q", "numpy"),
    "bool": DType(8, "bool", "?", "numpy"),
    "bfloat16": DType(16, "float", None, "ml_dtypes"),
    "float8_e4m3fn": DType(8, "float", None, "ml_dtypes"),  # no inf; NaN
    "float8_e4m3fnuz": DType(8, "float", None, "ml_dtypes"),  # no inf, no -0; one NaN
    "float8_e5m2": DType(8, "float", None, "ml_dtypes"),  # IEEE-like: inf and NaN
    "float8_e5m2fnuz": DType(8, "float", None, "ml_dtypes"),
    "float8_e8m0fnu": DType(8, "float", None, "ml_dtypes"),  # powers of two 2^-127..2^127, NaN; no zero, no sign
    "float4_e2m1fn": DType(4, "float", None, "ml_dtypes"),  # 0, 0.5, 1, 1.5, 2, 3, 4, 6 and negatives; no inf, no NaN
    "int4": DType(4, "int", "b", "ml_dtypes"),
    "uint4": DType(4, "uint", "B", "ml_dtypes"),
    "int2": DType(2, "int", "b", "ml_dtypes"),
    "uint2": DType(2, "uint", "B", "ml_dtypes"),
}

FLOATS = ("float32", "float64", "float16")  # the floats numpy computes in
INTS = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64")
LOW_PRECISION = tuple(n for n, d in DTYPES.items() if d.lib == "ml_dtypes")


def itemsize(dtype):
    """Bytes per element as stored (sub-byte dtypes take one byte)."""
    return max(DTYPES[dtype].bits, 8) // 8


def is_float(dtype):
    return DTYPES[dtype].kind == "float"


def int_range(dtype):
    """(lowest, highest) value of an integer dtype."""
    d = DTYPES[dtype]
    if d.kind == "int":
        return -(1 << (d.bits - 1)), (1 << (d.bits - 1)) - 1
    return 0, (1 << d.bits) - 1


def numpy_dtype(dtype):
    """The numpy dtype of a webflow dtype name; UnsupportedError when this Python cannot have it."""
    from ._np import require_numpy

    np = require_numpy(f"dtype {dtype}")
    if DTYPES[dtype].lib == "ml_dtypes" and not hasattr(ml_dtypes, dtype):
        raise UnsupportedError(f"dtype {dtype} needs the ml_dtypes package (0.5.4 or newer), which this Python does not have "
                               "(pip install 'ml_dtypes>=0.5.4')")
    return np.dtype(dtype)
