"""pool ops (see docs/OPS.md)."""

from .._np import np
from .registry import op
