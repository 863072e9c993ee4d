"""Graph passes, one file each, run in this order. Each takes (graph, log) and edits the graph in place."""

from collections import Counter

from . import (remove_identity, fold_constants, fold_shapes, fold_batchnorm, fuse_activation, channels_last, fuse_residual, remove_dead)

PIPELINE = [
    ("remove_identity", remove_identity.run),
    ("fold_constants", fold_constants.run),
    ("fold_shapes", fold_shapes.run),
    ("fold_constants_again", fold_constants.run),
    ("fold_batchnorm", fold_batchnorm.run),
    ("fuse_activation", fuse_activation.run),
    ("channels_last", channels_last.run),
    ("fuse_residual", fuse_residual.run),
    ("fuse_activation_again", fuse_activation.run),  # an activation after a folded Add
    ("remove_dead", remove_dead.run),
]


def run_all(graph, log=print, skip=()):
    """Run the pipeline but the passes named in `skip`, logging node counts before and after
    each pass; returns per-pass stats."""
    stats = [{"pass": "import", "nodes": len(graph.nodes), "ops": dict(Counter(n.op for n in graph.nodes))}]
    log(f"  {'imported':<22} {len(graph.nodes):5d} nodes")
    for name, fn in PIPELINE:
        if name in skip:
            continue
        before = len(graph.nodes)
        fn(graph, log)
        log(f"  {name:<22} {before:5d} -> {len(graph.nodes):5d} nodes")
        stats.append({"pass": name, "nodes": len(graph.nodes)})
    stats[-1]["ops"] = dict(Counter(n.op for n in graph.nodes))
    return stats
