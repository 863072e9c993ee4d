"""One exception family, so the CLI and the page can show a clear message instead of a traceback.

Every message names the thing that is wrong (file, shard, node, op, input) and, where it
applies, what was expected and what was found.
"""


class WebflowError(Exception):
    """Base of every error webflow raises on purpose."""


class FormatError(WebflowError):
    """model.json is malformed, has an unknown version, or refers to something that is not there."""


class ShardError(WebflowError):
    """A weight shard is missing, truncated, or fails its sha256 check."""


class GraphError(WebflowError):
    """The graph is not a valid DAG: undefined tensors, cycles, duplicate outputs."""


class UnsupportedError(WebflowError):
    """An op, attribute value or feature that webflow does not implement."""


class InputError(WebflowError):
    """A predict() input has the wrong name, shape or dtype."""


class ShapeError(WebflowError):
    """A node's inputs do not fit its shape rule."""


class ConversionError(WebflowError):
    """The source model cannot be converted (corrupt file, unsupported ops, ...)."""
