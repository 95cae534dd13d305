"""Shared pieces of the studies: the result record, markdown tables, small training loops and
decision-boundary panels."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from deepgrad import no_grad
from deepgrad.tensor import Tensor


@dataclass
class StudyResult:
    """What a study produced.

    Attributes:
        name: the study's registry name.
        out_dir: the directory holding everything below.
        figures: paths of the PNG figures written.
        summary_path: out_dir/summary.md, the markdown summary (tables of the key numbers).
        numbers: the key numbers as a flat-ish dict (what the tests assert on).
        quick: whether it ran in quick mode.
    """

    name: str
    out_dir: str
    figures: list = field(default_factory=list)
    summary_path: str = ""
    numbers: dict = field(default_factory=dict)
    quick: bool = False

    def summary(self) -> str:
        with open(self.summary_path, encoding="utf-8") as f:
            return f.read()

    def _repr_html_(self):  # notebooks: the summary's tables and the figures inline
        from deepgrad.display import image_html, markdown_html, styled

        images = [image_html(path) for path in self.figures if os.path.isfile(path)]
        return styled(markdown_html(self.summary()), *images)


def fmt(value, digits: int = 4) -> str:
    """A number for a table: 4 significant digits, 'diverged' for non-finite values."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{value:.{digits}g}" if math.isfinite(value) else "diverged"
    return str(value)


def markdown_table(headers, rows, digits: int = 4) -> str:
    """A markdown table; a "|" inside a header or cell (|x| for a norm) is escaped."""
    def cell(text):
        return str(text).replace("|", "\\|")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(fmt(v, digits)) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def finish(name, out_dir, quick, title, description, sections, figures, numbers) -> StudyResult:
    """Write out_dir/summary.md (title, description, the (heading, markdown) sections and the
    figure list) and return the StudyResult."""
    mode = "quick" if quick else "full"
    parts = [f"# {title}", "", f"Study `{name}` ({mode} mode).", "", description.strip(), ""]
    for heading, body in sections:
        parts += [f"## {heading}", "", body.strip(), ""]
    if figures:
        parts += ["## Figures", ""]
        parts += [f"![{os.path.basename(p)}]({os.path.basename(p)})" for p in figures]
        parts.append("")
    path = os.path.join(out_dir, "summary.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(parts))
    return StudyResult(name=name, out_dir=out_dir, figures=list(figures), summary_path=path,
                       numbers=numbers, quick=quick)


def loss_value(loss: Tensor) -> float:
    return float(np.asarray(loss.data).reshape(-1)[0])


def train_full_batch(model, loss_fn, optimizer, x, y, steps: int, record_every: int = 1):
    """`steps` full-batch updates; returns the losses (recorded every `record_every` steps,
    before each update) and stops early, filling with inf, if the loss becomes non-finite."""
    losses = []
    for step in range(steps):
        loss = loss_fn(model(x), y)
        value = loss_value(loss)
        if step % record_every == 0:
            losses.append(value)
        if not math.isfinite(value):
            losses += [math.inf] * ((steps - 1 - step) // record_every)
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return losses


def evaluate(model, x, y, loss_fn, batch_size: int = 2000) -> tuple:
    """(mean loss, accuracy) of a classifier on arrays x, y, in eval mode without a graph."""
    was_training = model.training
    model.eval()
    total, correct = 0.0, 0
    with no_grad():
        for start in range(0, len(x), batch_size):
            xb, yb = Tensor(x[start:start + batch_size]), Tensor(y[start:start + batch_size])
            out = model(xb)
            out = out[0] if isinstance(out, (tuple, list)) else out
            total += loss_value(loss_fn(out, yb)) * len(xb)
            correct += int(np.sum(np.argmax(out.data, axis=1) == yb.data))
    model.train(was_training)
    return total / len(x), correct / len(x)


def grid_predictions(model, x, resolution: int = 80, margin: float = 0.5):
    """Class predictions of `model` on a resolution x resolution grid covering the 2-D data x;
    returns (xx, yy, classes)."""
    low, high = x.min(axis=0) - margin, x.max(axis=0) + margin
    xx, yy = np.meshgrid(np.linspace(low[0], high[0], resolution),
                         np.linspace(low[1], high[1], resolution))
    points = np.stack([xx.ravel(), yy.ravel()], axis=1).astype(x.dtype)
    was_training = model.training
    model.eval()
    with no_grad():
        scores = model(Tensor(points)).data
    model.train(was_training)
    if scores.ndim == 2 and scores.shape[1] > 1:
        classes = np.argmax(scores, axis=1)
    else:
        classes = (scores.reshape(-1) > 0).astype(np.int64)
    return xx, yy, classes.reshape(xx.shape)


def draw_boundary(model, x, y):
    """A draw(ax) function for plots.plot_panels: decision regions and the data points."""
    def draw(ax):
        xx, yy, classes = grid_predictions(model, x)
        ax.contourf(xx, yy, classes, alpha=0.3, cmap="coolwarm",
                    levels=np.arange(classes.max() + 2) - 0.5)
        ax.scatter(x[:, 0], x[:, 1], c=y, s=6, cmap="coolwarm", edgecolors="none")
        ax.set_xticks([])
        ax.set_yticks([])
    return draw
