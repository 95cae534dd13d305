"""Slide-ready figures for the studies: 16:9 at 200 dpi, fonts of 10 pt or more.

    with slide(path, nrows=1, ncols=2, title="...") as axes:
        axes[0][0].plot(...)
        legend_outside(axes[0][0])

A figure is 10 x 5.625 inches (a 16:9 slide) unless `size` says otherwise, saved at 200 dpi
(2000 x 1125 pixels), with every font at 10 pt or more at that size. Legends go beside the
axes (`legend_outside`) so they never cover data.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from deepgrad.diagnostics import plots

SLIDE = (10.0, 5.625)
DPI = 200
STYLE = {
    "font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "figure.titlesize": 13,
    "xtick.labelsize": 10, "ytick.labelsize": 10, "legend.fontsize": 10,
    "axes.grid": True, "grid.alpha": 0.3, "lines.linewidth": 1.5,
}


@contextmanager
def slide(path, nrows: int = 1, ncols: int = 1, title: str | None = None, size=SLIDE,
          sharex=False, sharey=False):
    """Yield a nrows x ncols grid of axes (always 2-D) in the slide style; on exit add the
    title, lay out and save the PNG at `path` (200 dpi)."""
    plt = plots.pyplot()
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(nrows, ncols, figsize=size, squeeze=False,
                                 sharex=sharex, sharey=sharey, layout="constrained")
        try:
            yield axes
            if title:
                fig.suptitle(title)
            fig.savefig(plots._ensure_dir(path), dpi=DPI)
        finally:
            plt.close(fig)


def draw_panels(path, panels, ncols=None, title=None, size=SLIDE) -> str:
    """One axes per (panel title, draw) of `panels`, draw(ax) drawing it; returns the path."""
    n = len(panels)
    ncols = ncols or n
    with slide(path, -(-n // ncols), ncols, title=title, size=size) as axes:
        plots.fill_panels(axes, panels)
    return path


def legend_outside(ax, **kwargs) -> None:
    """The legend to the right of the axes, outside the data area."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, **kwargs)


def histogram(ax, values, bins: int = 40, log_count: bool = False, color="C0",
              label: str | None = None) -> None:
    """A histogram of `values` on `ax` with counts (log scale when `log_count`), x ticks in
    scientific notation when the values are tiny or huge."""
    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
        return
    low, high = float(values.min()), float(values.max())
    if low == high:
        low, high = low - 0.5, high + 0.5
    counts, edges = np.histogram(values, bins=np.linspace(low, high, bins + 1))
    ax.stairs(counts, edges, fill=True, color=color, label=label,
              baseline=0.8 if log_count else 0)
    if log_count:
        ax.set_yscale("log")
        ax.set_ylim(0.8, max(2.0, counts.max() * 1.5))
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(3))
    scale = max(abs(low), abs(high))
    if scale < 1e-2 or scale >= 1e3:  # compact tick labels (4e6, -2e-7), no offset text
        ax.xaxis.set_major_formatter(FuncFormatter(_compact))


def _compact(value, _position=None) -> str:
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}"


def smooth(values, window: int):
    """(x, moving average of `values` over `window` points), x at the window centres."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < window or window <= 1:
        return np.arange(len(values)), values
    kernel = np.ones(window) / window
    return np.arange(window // 2, window // 2 + len(values) - window + 1), \
        np.convolve(values, kernel, mode="valid")
