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
import os
import sys
import tempfile

import numpy as np

from deepgrad._optional import require

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


def format_seconds(seconds: float) -> str:
    """12.3 -> '12s', 75 -> '1:15', 3725 -> '1:02:05'."""
    seconds = max(int(round(seconds)), 0)
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


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


def pyplot():
    """matplotlib.pyplot on the Agg backend (imported on first use; when MPLCONFIGDIR is unset
    it points to a fresh temporary directory, since matplotlib needs a writable cache). Inside
    an IPython kernel, returned Figures are shown inline as PNG."""
    if not os.environ.get("MPLCONFIGDIR"):
        os.environ["MPLCONFIGDIR"] = tempfile.mkdtemp(prefix="deepgrad-mpl-")
    matplotlib = require("matplotlib", "drawing figures")
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    _register_notebook_formatter()
    return plt


def _register_notebook_formatter() -> None:
    """Register a PNG formatter for matplotlib Figures in a running IPython shell, unless one
    is registered already (matplotlib's inline backend does the same; IPython's API)."""
    if "IPython" not in sys.modules:
        return
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return
    from matplotlib.figure import Figure

    formatter = shell.display_formatter.formatters["image/png"]
    try:
        formatter.lookup_by_type(Figure)
    except KeyError:
        formatter.for_type(Figure, _figure_png)


def finish_figure(figure, path=None, dpi: int = 100):
    """Write `figure` as a PNG at `path` (creating its directory), close it and return the
    path; without a path, close it in pyplot (nothing is shown twice) and return the Figure,
    which a notebook shows inline."""
    plt = pyplot()
    if path is not None:
        path = os.fspath(path)
        if os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        figure.savefig(path, dpi=dpi)
    plt.close(figure)
    return figure if path is None else path


def _figure_png(figure, dpi: int = 100) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def figure_html(figure, dpi: int = 100) -> str:
    """A matplotlib figure as an inline PNG <img> (the figure is not closed)."""
    data = base64.b64encode(_figure_png(figure, dpi)).decode("ascii")
    return f'<img src="data:image/png;base64,{data}"/>'


def image_html(path: str, width: str = "100%") -> str:
    """A PNG file inline, as an <img> of at most `width`."""
    with open(path, "rb") as stream:
        data = base64.b64encode(stream.read()).decode("ascii")
    return (f'<img style="max-width:{width}" title="{html.escape(os.path.basename(path))}" '
            f'src="data:image/png;base64,{data}"/>')


def history_figure(history, path=None):
    """Loss and metric curves of a training History, each metric's training and validation
    values in one panel (integer epoch ticks): a PNG at `path` (returned), or the Figure."""
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    logs = history.history
    bases = [k for k in logs if not k.startswith("val_") and k not in ("lr", "time")]
    bases += [k[4:] for k in logs if k.startswith("val_") and k[4:] not in bases]
    fig, axes = plt.subplots(1, max(len(bases), 1), figsize=(4.2 * max(len(bases), 1), 3.2),
                             squeeze=False)
    epochs = np.asarray(history.epoch) + 1
    for ax, base in zip(axes[0], bases):
        for key, label in ((base, "training"), ("val_" + base, "validation")):
            if key in logs:
                ax.plot(epochs[:len(logs[key])], logs[key], marker="o", markersize=3,
                        label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(base)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return finish_figure(fig, path)


def history_html(history) -> str:
    """A History as a table (one row per epoch) with its curves inline (when matplotlib is
    installed)."""
    keys = list(history.history)
    rows = [[int(epoch) + 1] + [history.history[k][i] if i < len(history.history[k]) else ""
                                for k in keys] for i, epoch in enumerate(history.epoch)]
    table = html_table(["epoch"] + keys, rows, caption=f"History: {len(rows)} epoch(s)")
    try:
        figure = figure_html(history_figure(history)) if rows else ""
    except ModuleNotFoundError:  # a core-only install: the table alone
        figure = ""
    return styled(figure, table)


def _table_rows(lines) -> list:
    return [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines
            if not set(line.replace("|", "").strip()) <= set("-: ")]


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "").rstrip("%"))
    except ValueError:
        return False
    return True


def _aligned(rows, widths) -> list:
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def text_table(rows, width: int = 100) -> str:
    """Rows of strings (the first is the header) as aligned columns. A table wider than
    `width` is split into blocks of columns, each repeating the leading label columns (the
    columns before the first numeric one), so that no value is cut."""
    if not rows:
        return ""
    n = max(len(r) for r in rows)
    rows = [r + [""] * (n - len(r)) for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(n)]
    if sum(widths) + 2 * (n - 1) <= width:
        return "\n".join(_aligned(rows, widths))
    keys = 0
    while keys < n - 1 and not any(_is_number(r[keys]) for r in rows[1:]):
        keys += 1
    key_width = sum(widths[:keys]) + 2 * keys
    blocks, current = [], []
    for i in range(keys, n):
        if current and key_width + sum(widths[j] + 2 for j in current + [i]) > width:
            blocks.append(current)
            current = []
        current.append(i)
    blocks.append(current)
    parts = []
    for block in blocks:
        columns = list(range(keys)) + block
        parts.append("\n".join(_aligned([[r[i] for i in columns] for r in rows],
                                         [widths[i] for i in columns])))
    return "\n\n".join(parts)


def markdown_blocks(text: str) -> list:
    """The blocks of the markdown deepgrad writes: ("heading", level, text), ("table",
    rows), ("item", text), ("paragraph", text) and ("blank",); images are left out."""
    blocks, table, para = [], [], []

    def flush():
        if table:
            blocks.append(("table", _table_rows(table)))
            table.clear()
        if para:
            blocks.append(("paragraph", " ".join(para)))
            para.clear()

    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            if para:
                flush()
            table.append(stripped)
            continue
        if line[:1].isspace() and stripped and blocks and blocks[-1][0] == "item" \
                and not (para or table):
            blocks[-1] = ("item", f"{blocks[-1][1]} {stripped}")   # an item's next line
            continue
        if table or not stripped or stripped.startswith(("#", "![", "- ", "* ")):
            flush()
        if not stripped:
            blocks.append(("blank",))
        elif stripped.startswith("#"):
            level = min(len(stripped) - len(stripped.lstrip("#")), 6)
            blocks.append(("heading", level, stripped.lstrip("#").strip()))
        elif stripped.startswith(("- ", "* ")):
            blocks.append(("item", stripped[2:]))
        elif not stripped.startswith("!["):
            para.append(stripped)
    flush()
    return blocks


def markdown_html(text: str) -> str:
    """The markdown that deepgrad writes (headings, pipe tables, bullets, paragraphs) as HTML."""
    out = []
    for block in markdown_blocks(text):
        kind = block[0]
        if kind == "heading":
            out.append(f"<h{block[1]}>{html.escape(block[2])}</h{block[1]}>")
        elif kind == "table" and block[1]:
            out.append(html_table(block[1][0], block[1][1:]))
        elif kind == "item":
            out.append(f"<li>{html.escape(block[1])}</li>")
        elif kind == "paragraph":
            out.append(f"<p>{html.escape(block[1])}</p>")
    return "\n".join(out)


def markdown_text(text: str, width: int = 100) -> str:
    """deepgrad's markdown for a terminal: tables as compact aligned columns that fit `width`
    (wide ones split into blocks of columns), headings and paragraphs as plain lines."""
    import textwrap

    out = []
    for block in markdown_blocks(text):
        kind = block[0]
        if kind == "heading":
            out.append(block[2].upper() if block[1] == 2 else block[2])
        elif kind == "table":
            out.append(text_table(block[1], width))
        elif kind == "item":
            out.append(textwrap.fill(block[1], width, initial_indent="- ",
                                     subsequent_indent="  "))
        elif kind == "paragraph":
            out.append(textwrap.fill(block[1], width))
        elif out and out[-1] != "":
            out.append("")
    return "\n".join(out).strip("\n")
