"""Figures of diagnostics, laid out like the course slides: one histogram per layer, side by
side (a row per configuration or training step), curves, and per-layer statistics.

matplotlib is imported lazily with the non-interactive Agg backend; when MPLCONFIGDIR is unset
it is pointed to a fresh temporary directory (matplotlib needs a writable cache directory).
Every plotting function takes `path`: given, the figure is written there as a PNG and the path
returned; left out (None), the matplotlib Figure itself is returned, which a notebook shows
inline (inside an IPython kernel a PNG formatter for figures is registered if none is).
Figures are saved without `bbox_inches="tight"`, so a figure of `panel_size` inches per panel
at `dpi` has exactly (columns * width * dpi, rows * height * dpi) pixels.
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad.display import finish_figure, pyplot

PANEL_SIZE = (2.2, 2.0)
DPI = 100


def _ensure_dir(path) -> str:
    path = os.fspath(path)
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    return path


def save(fig, path=None, dpi: int = DPI):
    """Save `fig` as PNG at `path` (creating its directory) and close it; returns the path.
    With path None, close it in pyplot (nothing is shown twice) and return the Figure."""
    return finish_figure(fig, path, dpi)


def fill_panels(axes, panels, **title_style) -> list:
    """Draw `panels`, a list of (title, draw) where draw(ax) draws one, into the axes grid
    in order; axes left over are switched off. Returns the axes drawn into."""
    used = []
    for k, ax in enumerate(axes.ravel()):
        if k >= len(panels):
            ax.axis("off")
            continue
        name, draw = panels[k]
        draw(ax)
        ax.set_title(str(name), **title_style)
        used.append(ax)
    return used


def _panel_label(name, hist_stats):
    if not hist_stats:
        return str(name)
    return f"{name}\nmean {hist_stats['mean']:.2g}  std {hist_stats['std']:.2g}"


def plot_histogram_grid(rows, path=None, title=None, panel_size=PANEL_SIZE, dpi=DPI):
    """A grid of histograms: one row per (label, panels) in `rows`, one panel per layer.

    Args:
        rows: list of (row_label, panels) where panels is a list of dicts with keys
            "name", "counts", "edges" and optionally "stats" (a `summarize` dict).
        path: the PNG file to write.
        panel_size: (width, height) in inches of one panel.
    Returns:
        the path written; the image has (max panels * width * dpi, rows * height * dpi) pixels.

    Each row is one matplotlib Axes in which the panels are drawn side by side, each scaled
    to its own bin range and tallest bin (axes and tick layout dominate matplotlib's drawing
    time, so one Axes per row instead of one per panel makes big grids several times faster).
    """
    if not rows or not any(panels for _, panels in rows):
        raise ValueError("plot_histogram_grid: nothing to plot (no rows or no panels)")
    plt = pyplot()
    ncols = max(len(panels) for _, panels in rows)
    nrows = len(rows)
    width, height = panel_size[0] * ncols, panel_size[1] * nrows
    fig = plt.figure(figsize=(width, height))
    top_margin = 0.3 if title else 0.05
    row_height = (height - top_margin) / nrows
    for r, (row_label, panels) in enumerate(rows):
        # [left, bottom, width, height] in figure fractions; room for titles and range labels
        bottom = (height - top_margin - (r + 1) * row_height + 0.22) / height
        ax = fig.add_axes([0.1 / width + 0.03 if row_label else 0.01, bottom,
                           1 - (0.1 / width + 0.03 if row_label else 0.01) - 0.005,
                           (row_height - 0.62) / height])
        for c, panel in enumerate(panels):
            _draw_panel(ax, c, panel)
        ax.set_xlim(-0.05, ncols - 0.05)
        ax.set_ylim(0, 1.02)
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ("top", "right", "bottom", "left"):
            ax.spines[side].set_visible(False)
        if row_label:
            ax.set_ylabel(str(row_label), fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9, y=1 - 0.08 / height)
    return save(fig, path, dpi)


def _draw_panel(ax, column, panel):
    """Histogram `panel` scaled into the box [column, column + 0.9] x [0, 1] of `ax`."""
    counts = np.asarray(panel["counts"], dtype=np.float64)
    edges = np.asarray(panel["edges"], dtype=np.float64)
    low, high = float(edges[0]), float(edges[-1])
    x = column + 0.9 * (edges - low) / ((high - low) or 1.0)
    y = counts / counts.max() if counts.size and counts.max() > 0 else counts
    ax.stairs(y, x, fill=True, color="tab:blue", baseline=0)
    ax.plot([column, column + 0.9, column + 0.9, column, column], [0, 0, 1.02, 1.02, 0],
            color="0.6", linewidth=0.5)
    ax.text(column + 0.45, 1.04, _panel_label(panel["name"], panel.get("stats")),
            ha="center", va="bottom", fontsize=6.5)
    ax.text(column, -0.02, f"{low:.2g}", ha="left", va="top", fontsize=6)
    ax.text(column + 0.9, -0.02, f"{high:.2g}", ha="right", va="top", fontsize=6)


def plot_histograms(panels, path=None, title=None, panel_size=PANEL_SIZE, dpi=DPI):
    """One histogram per layer, side by side (the slides' layout); see plot_histogram_grid."""
    return plot_histogram_grid([("", panels)], path, title, panel_size, dpi)


def plot_curves(curves, path=None, xlabel="step", ylabel="loss", title=None, logy=False,
                size=(5.0, 3.5), dpi=DPI, markers=False):
    """Line plot of `curves`: {label: (x, y)}; non-finite y values are not drawn."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=size)
    for label, (x, y) in curves.items():
        y = np.asarray(y, dtype=np.float64)
        ax.plot(np.asarray(x)[np.isfinite(y)], y[np.isfinite(y)], label=str(label),
                marker="o" if markers else None, markersize=3)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save(fig, path, dpi)


def plot_panels(panels, path=None, ncols=None, panel_size=(3.0, 2.6), title=None, dpi=DPI):
    """Several custom panels: `panels` is a list of (title, draw) where draw(ax) draws one."""
    plt = pyplot()
    n = len(panels)
    ncols = ncols or n
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False,
                             figsize=(panel_size[0] * ncols, panel_size[1] * nrows))
    for ax in fill_panels(axes, panels, fontsize=8):
        ax.tick_params(labelsize=6)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save(fig, path, dpi)
