"""report.html of a run directory: loss and metric curves, final metrics, the doctor's report.

The figures are PNGs drawn with matplotlib (Agg backend, see `deepgrad.diagnostics.plots`)
and embedded as base64 `data:` URIs, so the page is one self-contained file that opens offline.
"""

from __future__ import annotations

import base64
import html
import io
import os
import time


def _png_data_uri(fig) -> str:
    from deepgrad.diagnostics.plots import pyplot

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    pyplot().close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _curves_figure(history: list, base: str, title: str):
    """One panel: `base` and `val_<base>` per epoch (1-based), when present in the history."""
    from deepgrad.diagnostics.plots import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.0, 3.4))
    for key, style in ((base, "-o"), ("val_" + base, "--s")):
        points = [(i + 1, row[key]) for i, row in enumerate(history) if key in row]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], style, markersize=3,
                    label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel(base)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def curve_keys(history: list) -> list:
    """The quantities worth a panel: loss first, then each metric seen in the history."""
    keys = []
    for row in history:
        for key in row:
            base = key[4:] if key.startswith("val_") else key
            if base not in keys and base not in ("lr", "epoch"):
                keys.append(base)
    return sorted(keys, key=lambda k: (k != "loss", k))


def _table(rows: list, header: tuple) -> str:
    esc = html.escape
    out = ["<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _format(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def write_report(path, *, name: str, history: list, final_metrics: dict, summary: dict,
                 doctor_html: str | None = None) -> str:
    """Write report.html and return its path.

    Args:
        history: one dict of epoch logs per epoch ("loss", "accuracy", "val_loss", ...).
        final_metrics: split -> {metric: value}, e.g. {"test": {"loss": .3, "accuracy": .9}}.
        summary: key -> value lines of the training summary (epochs, best, time, data...).
        doctor_html: the snippet of `deepgrad.diagnostics.Report.to_html()`, if available.
    """
    esc = html.escape
    figures = [_png_data_uri(_curves_figure(history, key, key))
               for key in curve_keys(history)] if history else []
    metric_names = sorted({m for values in final_metrics.values() for m in values},
                          key=lambda k: (k != "loss", k))
    metric_rows = [[split] + [_format(values.get(m, "")) for m in metric_names]
                   for split, values in final_metrics.items()]
    parts = [
        "<!DOCTYPE html>", "<html><head><meta charset='utf-8'>",
        f"<title>deepgrad run {esc(name)}</title>",
        "<style>body{font-family:sans-serif;max-width:980px;margin:2em auto;}"
        "table{border-collapse:collapse;margin:1em 0;}td,th{border:1px solid #bbb;"
        "padding:3px 8px;text-align:right;}th{background:#eee;}img{margin:4px;}</style>",
        "</head><body>",
        f"<h1>Run {esc(name)}</h1>",
        f"<p>written {esc(time.strftime('%Y-%m-%d %H:%M:%S'))}</p>",
        "<h2>Summary</h2>",
        _table([[k, _format(v)] for k, v in summary.items()], ("item", "value")),
        "<h2>Final metrics</h2>",
        _table(metric_rows, ("split",) + tuple(metric_names)) if metric_rows else
        "<p>(none)</p>",
        "<h2>Curves</h2>",
        "".join(f"<img alt='curve' src='{uri}'>" for uri in figures) or "<p>(no epochs)</p>",
    ]
    if history:
        keys = list(dict.fromkeys(k for row in history for k in row))
        parts += ["<h2>History</h2>",
                  _table([[i + 1] + [_format(row.get(k, "")) for k in keys]
                          for i, row in enumerate(history)], ("epoch",) + tuple(keys))]
    if doctor_html:
        parts += ["<h2>Diagnostics</h2>", doctor_html]
    parts.append("</body></html>")
    path = os.fspath(path)
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as stream:
        stream.write("\n".join(parts) + "\n")
    os.replace(temporary, path)
    return path
