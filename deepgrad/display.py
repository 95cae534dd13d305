"""Rich displays for notebooks: small HTML building blocks behind every `_repr_html_`.

Jupyter shows an object's `_repr_html_()` when it has one and its `repr()` otherwise, so each
deepgrad object keeps a plain-text form and adds an HTML table built here. Nothing here needs
IPython; `figure_html` needs matplotlib only when a figure is passed.

    >>> from deepgrad.display import html_table
    >>> html_table(["x", "x²"], [[1, 1], [2, 4]])[:33]
    '<table class="deepgrad"><thead><t'
"""

from __future__ import annotations

import base64
import html
import io
import math

import numpy as np

STYLE = ("<style>table.deepgrad{border-collapse:collapse;font-size:0.9em;margin:0.3em 0}"
         "table.deepgrad th,table.deepgrad td{border:1px solid #ccc;padding:2px 8px;"
         "text-align:right}table.deepgrad th{background:#f2f2f2}"
         "table.deepgrad td.l,table.deepgrad th.l{text-align:left}"
         "table.deepgrad caption{text-align:left;font-weight:bold;padding:2px 0}</style>")


def number(value, digits: int = 4) -> str:
    """A number for people: integers with thousands separators, floats with `digits`
    significant digits (scientific notation below 1e-3 or from 1e6 on)."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if not math.isfinite(value):
            return str(value)
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e6):
            return f"{value:.{max(digits - 1, 0)}e}"
        return f"{value:.{digits}g}"
    return str(value)


def _cell(value, tag: str) -> str:
    text = value if isinstance(value, str) else number(value)
    align = ' class="l"' if isinstance(value, str) else ""
    return f"<{tag}{align}>{html.escape(text)}</{tag}>"


def html_table(headers, rows, caption: str | None = None) -> str:
    """An HTML table; strings are left-aligned and escaped, numbers formatted by `number`."""
    head = "".join(f'<th class="l">{html.escape(str(h))}</th>' for h in headers)
    body = "".join("<tr>" + "".join(_cell(v, "td") for v in row) + "</tr>" for row in rows)
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (f'<table class="deepgrad">{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def styled(*parts: str) -> str:
    """The parts in one block, with the table style once in front."""
    return STYLE + "<div>" + "".join(parts) + "</div>"


def preview(array: np.ndarray, precision: int = 4) -> str:
    """A short text preview of an array (corners of large arrays, like NumPy's repr)."""
    with np.printoptions(precision=precision, threshold=60, edgeitems=3, linewidth=88):
        return np.array2string(np.asarray(array), separator=", ")


def figure_html(figure, dpi: int = 100) -> str:
    """A matplotlib figure as an inline PNG <img> (the figure is not closed)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}"/>'


def tensor_html(tensor) -> str:
    """Shape, dtype, autograd state and a value preview of a Tensor."""
    array = tensor.data
    node = getattr(tensor, "_node", None)
    autograd = (f"grad_fn=&lt;{html.escape(type(node).__name__)}&gt;" if node is not None
                else "requires_grad=True (leaf)" if tensor.requires_grad else "no gradient")
    info = (f"<b>Tensor</b> shape {html.escape(str(tuple(array.shape)))}, dtype "
            f"{html.escape(str(array.dtype))}, {autograd}")
    if tensor.grad is not None:
        info += ", .grad set"
    stats = ""
    if array.size and array.dtype.kind == "f":
        finite = np.isfinite(array)
        values = array[finite] if not finite.all() else array
        if values.size:
            stats = html_table(["min", "max", "mean", "std", "non-finite"],
                               [[float(values.min()), float(values.max()),
                                 float(values.mean()), float(values.std()),
                                 int(array.size - finite.sum())]])
    return styled(f"<div>{info}</div>", f"<pre>{html.escape(preview(array))}</pre>", stats)
