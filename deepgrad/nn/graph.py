"""GraphModel: a model written as named nodes, for auxiliary heads and deep supervision.

    nodes:                                    # each node applies one layer (or model)
      - {name: body, type: Linear, in_features: 2, out_features: 16}
      - {name: act, type: ReLU}               # input: the previous node (the first: "input")
      - {name: main, type: Linear, in_features: 16, out_features: 3}
      - {name: aux, type: Linear, input: act, in_features: 16, out_features: 3}
    outputs: [main, aux]

The forward pass evaluates the nodes in the order written; a node's inputs are "input" (the
model input) or earlier nodes. With one output the model returns a Tensor, with several a
tuple in the order of `outputs` (main first), as deep supervision expects.
"""

from __future__ import annotations

from collections import OrderedDict

from deepgrad import ops
from deepgrad.nn.module import Module
from deepgrad.registry import register


@register("model", "GraphModel")
class GraphModel(Module):
    """Named nodes evaluated in order; returns the `outputs` (a tuple when several).

    Args:
        nodes: a list of (name, module, input names).
        outputs: node names returned by forward, main output first.
    """

    def __init__(self, nodes, outputs):
        super().__init__()
        self.node_inputs = OrderedDict()
        for name, module, inputs in nodes:
            known = {"input", *self.node_inputs}
            missing = [i for i in inputs if i not in known]
            if missing:
                raise ValueError(f"GraphModel: node {name!r} reads {missing}, which is neither "
                                 "'input' nor an earlier node")
            self.add_module(name, module)
            self.node_inputs[name] = list(inputs)
        unknown = [o for o in outputs if o not in self.node_inputs]
        if not outputs or unknown:
            raise ValueError(f"GraphModel: outputs {list(outputs)} must name nodes; unknown: "
                             f"{unknown}")
        self.outputs = list(outputs)

    def forward(self, x):
        values = {"input": x}
        for name, inputs in self.node_inputs.items():
            values[name] = self._modules[name](*[values[i] for i in inputs])
        result = tuple(values[name] for name in self.outputs)
        return result[0] if len(result) == 1 else result

    def onnx_layers(self) -> list:
        """The chain of nodes from the input to the main output (for ONNX export)."""
        chain, name = [], self.outputs[0]
        while name != "input":
            inputs = self.node_inputs[name]
            if len(inputs) != 1:
                raise ValueError(f"GraphModel: node {name!r} on the main path has "
                                 f"{len(inputs)} inputs; only chains can be exported")
            chain.append(self._modules[name])
            name = inputs[0]
        return chain[::-1]

    def extra_repr(self) -> str:
        return f"outputs={self.outputs}"


@register("layer", "Add")
class Add(Module):
    """y = x_1 + x_2 + ... (a residual connection: inputs: [block, input])."""

    def forward(self, *xs):
        total = xs[0]
        for x in xs[1:]:
            total = total + x
        return total


@register("layer", "Concat")
class Concat(Module):
    """y = concatenate(x_1, x_2, ...) along `dim` (default 1, the feature axis)."""

    def __init__(self, dim: int = 1):
        super().__init__()
        self.dim = dim

    def forward(self, *xs):
        return ops.concatenate(list(xs), axis=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
