"""`model.summary(input_size=...)`: a Keras-like table of layers, output shapes and parameters.

    >>> from deepgrad import nn
    >>> model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    >>> print(model.summary(input_size=(1, 784)))
    Layer (type)   Output shape   Param #   Trainable
    =================================================
    0 (Linear)     (1, 256)       200,960   yes
    1 (ReLU)       (1, 256)             0   -
    2 (Linear)     (1, 10)          2,570   yes
    =================================================
    Total params: 203,530
    Trainable params: 203,530
    Non-trainable params: 0
    Input size: (1, 784)

The output shapes come from one forward pass on zeros of `input_size` (the whole input shape,
batch dimension included, as torchinfo takes it), in evaluation mode and without recording a
graph; the model's training mode is restored afterwards. Without `input_size` the shapes are
left out. Parameter counts of a container include its children.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from deepgrad._state import no_grad
from deepgrad.display import html_table, styled
from deepgrad.tensor import Tensor


@dataclass
class Summary:
    """What `Module.summary` returns: `rows` (dicts: name, type, depth, output_shape, params,
    trainable), the totals, and text (`str()`) and HTML (`_repr_html_`) tables."""

    model_name: str
    rows: list = field(default_factory=list)
    total: int = 0
    trainable: int = 0
    input_size: tuple | None = None

    @property
    def non_trainable(self) -> int:
        return self.total - self.trainable

    def _table(self):
        headers = ["Layer (type)", "Output shape", "Param #", "Trainable"]
        if self.input_size is None:
            headers.remove("Output shape")
        body = []
        for row in self.rows:
            label = "  " * (row["depth"] - 1) + f"{row['name']} ({row['type']})"
            cells = [label, _shape_text(row["output_shape"]), row["params"], row["trainable"]]
            if self.input_size is None:
                del cells[1]
            body.append(cells)
        return headers, body

    def __str__(self):
        headers, body = self._table()
        text_rows = [[c if isinstance(c, str) else f"{c:,}" for c in row] for row in body]
        widths = [max([len(h)] + [len(r[i]) for r in text_rows]) for i, h in enumerate(headers)]
        numeric = {headers.index("Param #")}

        def line(cells):
            return "   ".join(c.rjust(w) if i in numeric else c.ljust(w)
                              for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

        rule = "=" * len(line(headers))
        out = [line(headers), rule] + [line(r) for r in text_rows] + [rule]
        out += [f"Total params: {self.total:,}", f"Trainable params: {self.trainable:,}",
                f"Non-trainable params: {self.non_trainable:,}"]
        if self.input_size is not None:
            out.append(f"Input size: {tuple(self.input_size)}")
        return "\n".join(out)

    __repr__ = __str__

    def _repr_html_(self):
        headers, body = self._table()
        totals = html_table(["Total params", "Trainable", "Non-trainable"],
                            [[self.total, self.trainable, self.non_trainable]])
        caption = f"{self.model_name}" + (f", input {tuple(self.input_size)}"
                                          if self.input_size is not None else "")
        return styled(html_table(headers, body, caption=caption), totals)

    def to_dict(self) -> dict:
        return {"model": self.model_name, "rows": self.rows, "total": self.total,
                "trainable": self.trainable, "non_trainable": self.non_trainable,
                "input_size": None if self.input_size is None else list(self.input_size)}


def _shape_text(shape) -> str:
    if shape is None:
        return "-"
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    return str(tuple(shape))


def _shapes(output):
    if isinstance(output, Tensor):
        return tuple(output.shape)
    if isinstance(output, (tuple, list)):
        return [_shapes(o) for o in output]
    return None


def _trainable(module) -> str:
    flags = [p.requires_grad for p in module.parameters()]
    if not flags:
        return "-"
    return "yes" if all(flags) else "no" if not any(flags) else "partly"


def _input_dtype(model, dtype):
    if dtype is not None:
        return np.dtype(dtype)
    for p in model.parameters():
        if p.data.dtype.kind == "f":
            return p.data.dtype
    return np.dtype(np.float32)


def _forward_shapes(model, input_size, dtype) -> dict:
    if isinstance(input_size, int) or not all(isinstance(d, (int, np.integer)) and d > 0
                                              for d in input_size):
        raise ValueError(f"{type(model).__name__}.summary: input_size must be a tuple of "
                         "positive integers, the whole input shape with the batch dimension "
                         f"(e.g. (1, 784) or (1, 1, 28, 28)); got {input_size!r}")
    shapes, handles = {}, []

    def hook_for(name):
        def hook(module, inputs, output):  # returns None: the output is left as it is
            shapes.setdefault(name, _shapes(output))
        return hook

    for name, module in model.named_modules():
        handles.append(module.register_forward_hook(hook_for(name)))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            model(Tensor(np.zeros(tuple(int(d) for d in input_size), dtype=dtype)))
    except Exception as error:
        raise ValueError(f"{type(model).__name__}.summary(input_size={tuple(input_size)}): the "
                         f"forward pass failed: {error}") from error
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return shapes


def summarize(model, input_size=None, dtype=None) -> Summary:
    """The Summary of `model`; see the module docstring."""
    shapes = {} if input_size is None else _forward_shapes(model, input_size,
                                                             _input_dtype(model, dtype))
    summary = Summary(type(model).__name__,
                      input_size=None if input_size is None else tuple(input_size))
    modules = [(n, m) for n, m in model.named_modules() if n] or [("(model)", model)]
    for name, module in modules:
        summary.rows.append({"name": name, "type": type(module).__name__,
                             "depth": name.count(".") + 1,
                             "output_shape": shapes.get(name, shapes.get("")), "params":
                             sum(p.data.size for p in module.parameters()),
                             "trainable": _trainable(module)})
    summary.total = sum(p.data.size for p in model.parameters())
    summary.trainable = sum(p.data.size for p in model.parameters() if p.requires_grad)
    return summary
