"""The tensor dtypes webflow knows, by their numpy names, with byte sizes and struct codes.

struct codes let the runtime decode small inline values and float16 weights without numpy.
"""

# name: (bytes per element, struct code)
DTYPES = {
    "float32": (4, "f"),
    "float64": (8, "d"),
    "float16": (2, "e"),
    "int8": (1, "b"),
    "uint8": (1, "B"),
    "int16": (2, "h"),
    "uint16": (2, "H"),
    "int32": (4, "i"),
    "uint32": (4, "I"),
    "int64": (8, "q"),
    "uint64": (8, "Q"),
    "bool": (1, "?"),
}

FLOATS = ("float32", "float64", "float16")
INTS = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64")


def itemsize(dtype):
    return DTYPES[dtype][0]


def is_float(dtype):
    return dtype in FLOATS
