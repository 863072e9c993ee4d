"""File access, split from loading so the browser can supply fetch instead of a folder.

A loader reads files that live next to model.json, by plain name. The names are checked
again here, so a hand-made loader cannot be tricked into leaving its folder.
"""

import os

from .errors import FormatError, ShardError
from .format import check_shard_name


class Loader:
    """The interface: model.json text and shard bytes, by file name."""

    def read_text(self, name):
        return self.read_bytes(name).decode("utf-8")

    def read_bytes(self, name):
        raise NotImplementedError

    def describe(self, name):
        return name


class DirLoader(Loader):
    """Files in a local folder."""

    def __init__(self, root):
        self.root = os.fspath(root)
        if not os.path.isdir(self.root):
            raise FormatError(f"{self.root}: not a folder with a model.json")

    def describe(self, name):
        return os.path.join(self.root, name)

    def read_bytes(self, name):
        check_shard_name(name, self.describe("model.json"))
        path = self.describe(name)
        try:
            with open(path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            kind = FormatError if name == "model.json" else ShardError
            raise kind(f"{path}: file not found") from None


def as_loader(source):
    if isinstance(source, Loader):
        return source
    path = os.fspath(source)
    if os.path.basename(path) == "model.json":
        path = os.path.dirname(path) or "."
    return DirLoader(path)
