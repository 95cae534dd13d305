"""Slide-ready figures for the studies: 200 dpi, fonts of at least 10 pt, labelled axes, a title
naming the setup and legends outside the data.

    with slide_figure(path, 1, 2, title="N = 10 points of sin(2 pi x) + noise") as axes:
        axes[0].plot(...)
        axes[0].set(xlabel="x", ylabel="t", title="M = 3")
        legend_outside(axes[0])

The figure is saved (and closed) when the block ends, also when drawing fails half-way. A
panel of the default size (4.2 x 3.4 inches) fills about a third of a 13.3 x 7.5 inch slide,
so the 10-12 pt text reads at the size a slide shows it.
"""

from __future__ import annotations

import contextlib

import numpy as np

from deepgrad.diagnostics import plots

DPI = 200
PANEL_SIZE = (4.2, 3.4)
STYLE = {
    "font.size": 11, "axes.titlesize": 11, "axes.labelsize": 11, "xtick.labelsize": 10,
    "ytick.labelsize": 10, "legend.fontsize": 10, "figure.titlesize": 13,
    "axes.grid": True, "grid.alpha": 0.3, "lines.linewidth": 1.8,
}


@contextlib.contextmanager
def slide_figure(path, nrows: int = 1, ncols: int = 1, title: str = "",
                 panel_size=PANEL_SIZE):
    """Yields a flat list of nrows * ncols Axes; saves the figure to `path` at DPI on exit."""
    plt = plots.pyplot()
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(nrows, ncols, squeeze=False, layout="constrained",
                                 figsize=(panel_size[0] * ncols, panel_size[1] * nrows))
        try:
            yield list(axes.ravel())
            if title:
                fig.suptitle(title)
            fig.savefig(path, dpi=DPI, bbox_inches="tight")
        finally:
            plt.close(fig)


def legend_outside(ax, where: str = "right", **kwargs):
    """A legend beside (`right`) or below (`below`) the axes, so it never covers data."""
    if where == "below":
        return ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=kwargs.pop(
            "ncol", 3), frameon=False, **kwargs)
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                     frameon=False, **kwargs)


def boundary_panel(ax, model, x, y, title: str, resolution: int = 120):
    """Decision regions of a 2-class `model` with the points (x, y), equal aspect."""
    from deepgrad.studies._common import grid_predictions

    xx, yy, classes = grid_predictions(model, x, resolution)
    ax.contourf(xx, yy, classes, alpha=0.3, cmap="coolwarm", levels=[-0.5, 0.5, 1.5])
    ax.scatter(x[:, 0], x[:, 1], c=y, s=9, cmap="coolwarm", edgecolors="none", vmin=0, vmax=1)
    ax.set_aspect("equal")
    ax.set(xlabel="$x_1$", ylabel="$x_2$", title=title)
    ax.grid(False)


def claim_table(rows) -> str:
    """The markdown table every summary ends with: rows of (claim quoted from the notes, source
    as "file, section", what was measured, whether it holds)."""
    from deepgrad.studies._common import markdown_table

    return markdown_table(["claim", "source (file, section)", "measured", "holds"],
                          [[claim, source, measured, "yes" if holds else "no"]
                           for claim, source, measured, holds in rows])


def rmse(prediction, target) -> float:
    prediction, target = np.asarray(prediction, np.float64), np.asarray(target, np.float64)
    return float(np.sqrt(np.mean((prediction.reshape(target.shape) - target) ** 2)))
