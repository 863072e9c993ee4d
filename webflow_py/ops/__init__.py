"""webflow's op set. Each family module registers its ops in REGISTRY; this is the one list of families."""

from .registry import REGISTRY, Meta, OpDef, apply_activation, get  # noqa: F401
from . import elementwise, linalg, reduce, movement, tensor, conv, pool, norm, resize, rnn, quant  # noqa: F401
