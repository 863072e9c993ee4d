"""The graph that model.json describes, held the same way by the runtime and the converter."""

from collections import deque
from dataclasses import dataclass, field

from .errors import GraphError


@dataclass(frozen=True)
class TensorInfo:
    """A graph input or output: name, dtype and shape (ints, or Sym for symbolic dims)."""

    name: str
    dtype: str
    shape: tuple

    def describe(self):
        dims = ", ".join(str(d) for d in self.shape)
        return f"{self.name!r} ({self.dtype}, [{dims}])"


@dataclass
class Node:
    name: str
    op: str
    inputs: list  # tensor names; "" marks an omitted optional input
    outputs: list  # tensor names; "" marks an output nobody wants
    attrs: dict = field(default_factory=dict)

    def describe(self):
        return f"node {self.name!r} ({self.op})"


@dataclass
class Graph:
    inputs: list  # [TensorInfo]
    outputs: list  # [TensorInfo]
    nodes: list  # [Node]
    constants: dict  # name -> whatever holds the value (a weight entry, an array)

    def producers(self):
        """tensor name -> producing node; GraphError on a tensor produced twice."""
        made = {t.name: None for t in self.inputs}
        for name in self.constants:
            if name in made:
                raise GraphError(f"tensor {name!r} is both a graph input and a constant")
            made[name] = None
        for node in self.nodes:
            for out in node.outputs:
                if not out:
                    continue
                if out in made:
                    raise GraphError(f"tensor {out!r} is produced twice (second time by {node.describe()})")
                made[out] = node
        return made

    def topo_order(self):
        """Nodes in an order where every input is ready before use.

        Raises GraphError naming the node and tensor for an undefined input, and the nodes
        of a cycle when there is one.
        """
        made = self.producers()
        for node in self.nodes:
            for name in node.inputs:
                if name and name not in made:
                    raise GraphError(f"{node.describe()} reads tensor {name!r}, which no node, input or constant defines")
        for out in self.outputs:
            if out.name not in made:
                raise GraphError(f"graph output {out.name!r} is not produced by any node, input or constant")
        users = {id(n): [] for n in self.nodes}
        waiting = {}
        for node in self.nodes:
            deps = {id(made[i]) for i in node.inputs if i and made[i] is not None}
            waiting[id(node)] = len(deps)
            for d in deps:
                users[d].append(node)
        ready = deque(n for n in self.nodes if waiting[id(n)] == 0)
        order = []
        while ready:
            node = ready.popleft()
            order.append(node)
            for user in users[id(node)]:
                waiting[id(user)] -= 1
                if waiting[id(user)] == 0:
                    ready.append(user)
        if len(order) != len(self.nodes):
            stuck = [n.name for n in self.nodes if waiting[id(n)] > 0]
            raise GraphError(f"the graph has a cycle through nodes: {', '.join(repr(s) for s in stuck[:10])}")
        return order
