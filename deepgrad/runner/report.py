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


def _curves_figure(history: list, base: str, title: str, best: "dict | None" = None):
    """One panel: `base` and `val_<base>` per epoch (1-based, integer ticks), when present in
    the history, with the best epoch marked."""
    from deepgrad.diagnostics.plots import pyplot

    plt = pyplot()                      # says which extra to install without matplotlib
    from matplotlib.ticker import MaxNLocator
    fig, ax = plt.subplots(figsize=(5.0, 3.4))
    for key, style in ((base, "-o"), ("val_" + base, "--s")):
        points = [(i + 1, row[key]) for i, row in enumerate(history) if key in row]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], style, markersize=3,
                    label=key)
    if best and best.get("epoch"):
        ax.axvline(best["epoch"], color="0.4", linestyle=":", linewidth=1.2,
                   label=f"best epoch {best['epoch']} ({best['monitor']})")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(base)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
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


def _format(value, key: str = "") -> str:
    """A value for people: learning rates in scientific notation, seconds rounded, integers
    with thousands separators, other numbers with 4 decimals."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if key == "lr" or key.endswith(("_lr", ".lr")):
        return f"{value:.2e}"
    if "time" in key or key.endswith("(s)"):
        return f"{value:,.0f} s" if value >= 10 else f"{value:.1f} s"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4f}"


def write_report(path, *, name: str, history: list, final_metrics: dict, summary: dict,
                 doctor_html: str | None = None, best: "dict | None" = None) -> str:
    """Write report.html and return its path.

    Args:
        history: one dict of epoch logs per epoch ("loss", "accuracy", "val_loss", ...).
        final_metrics: split -> {metric: value}, e.g. {"test": {"loss": .3, "accuracy": .9}}.
        summary: key -> value lines of the training summary (epochs, best, time, data...).
        doctor_html: the snippet of `deepgrad.diagnostics.Report.to_html()`, if available.
        best: {"monitor", "epoch", ...} of the best epoch, marked on the curves.
    """
    esc = html.escape
    figures = [_png_data_uri(_curves_figure(history, key, key, best))
               for key in curve_keys(history)] if history else []
    metric_names = sorted({m for values in final_metrics.values() for m in values},
                          key=lambda k: (k != "loss", k))
    metric_rows = [[split] + [_format(values.get(m, ""), m) for m in metric_names]
                   for split, values in final_metrics.items()]
    parts = [
        "<!DOCTYPE html>", "<html><head><meta charset='utf-8'>",
        f"<title>deepgrad run {esc(name)}</title>",
        "<style>body{font-family:sans-serif;max-width:1600px;margin:1.5em auto;"
        "padding:0 2em;}table{border-collapse:collapse;margin:0.5em 0;}"
        "td,th{border:1px solid #bbb;padding:3px 8px;text-align:right;}"
        "td:first-child,th:first-child{text-align:left;}th{background:#eee;}"
        ".row{display:flex;flex-wrap:wrap;gap:2em;align-items:flex-start;}"
        ".curves{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));"
        "gap:8px;}.curves img{width:100%;}.scroll{overflow-x:auto;}</style>",
        "</head><body>",
        f"<h1>Run {esc(name)}</h1>",
        f"<p>written {esc(time.strftime('%Y-%m-%d %H:%M:%S'))}</p>",
        "<div class='row'><div><h2>Summary</h2>",
        _table([[k, _format(v, k)] for k, v in summary.items()], ("item", "value")),
        "</div><div><h2>Final metrics</h2>",
        _table(metric_rows, ("split",) + tuple(metric_names)) if metric_rows else
        "<p>(none)</p>", "</div></div>",
        "<h2>Curves</h2>",
        "<div class='curves'>" + "".join(f"<img alt='curve' src='{uri}'>" for uri in figures)
        + "</div>" if figures else "<p>(no epochs)</p>",
    ]
    if history:
        keys = list(dict.fromkeys(k for row in history for k in row))
        parts += ["<h2>History</h2>", "<div class='scroll'>",
                  _table([[i + 1] + [_format(row.get(k, ""), k) for k in keys]
                          for i, row in enumerate(history)], ("epoch",) + tuple(keys)),
                  "</div>"]
    if doctor_html:
        parts += ["<h2>Diagnostics</h2>", doctor_html]
    parts.append("</body></html>")
    path = os.fspath(path)
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as stream:
        stream.write("\n".join(parts) + "\n")
    os.replace(temporary, path)
    return path
