"""Live training displays for Jupyter: one updating progress display, and a live loss plot.

Both use IPython's display/update mechanism (`display(..., display_id=True)` returns a handle
whose `update()` replaces the output in place), so nothing needs ipywidgets. Outside IPython
`NotebookProgress` writes the same text as `ProgressBar`'s one line per epoch, and `LivePlot`
only keeps its data (its `figure()` still draws it).

    trainer = Trainer(model, "cross_entropy", optimizer,
                      callbacks=[NotebookProgress(), LivePlot()])
"""

from __future__ import annotations

import html
import sys
import time

from deepgrad.display import format_seconds
from deepgrad.training.callbacks import Callback, ProgressBar


def in_notebook() -> bool:
    """True inside a Jupyter kernel (an IPython shell that is not the terminal one)."""
    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _display(obj, handle=None):
    from IPython.display import display

    if handle is None:
        return display(obj, display_id=True)
    handle.update(obj)
    return handle


def progress_display():
    """The progress callback for where the code runs: NotebookProgress in a Jupyter kernel,
    the text ProgressBar elsewhere."""
    return NotebookProgress() if in_notebook() else ProgressBar()


class NotebookProgress(Callback):
    """One display per epoch, updated in place: a progress bar, the batch count, elapsed time
    and ETA, samples/s and the running metrics; at the epoch's end its final numbers. Outside
    a notebook it falls back to `ProgressBar` (text).

    Args:
        interval: seconds between two updates of the display.
    """

    def __init__(self, interval: float = 0.25):
        self.interval = float(interval)
        self._text = None

    def on_train_begin(self, logs=None):
        self.live = in_notebook()
        if not self.live:
            self._text = ProgressBar()
            self._text.set_trainer(self.trainer)
            self._text.on_train_begin(logs)
            return
        self.epochs = self.trainer.params.get("epochs")
        self.steps = self.trainer.params.get("steps")

    def on_epoch_begin(self, epoch, logs=None):
        if self._text is not None:
            return self._text.on_epoch_begin(epoch, logs)
        self.epoch = epoch
        self.start = time.perf_counter()
        self.last = 0.0
        self.seen = 0
        self.handle = _display(self._html(0, {}, final=False))
        return None

    def on_batch_end(self, batch, logs=None):
        if self._text is not None:
            return self._text.on_batch_end(batch, logs)
        logs = logs or {}
        self.seen += int(logs.get("size", 0))
        now = time.perf_counter()
        if now - self.last >= self.interval:
            self.last = now
            self.handle = _display(self._html(batch + 1, logs, final=False), self.handle)
        return None

    def on_epoch_end(self, epoch, logs=None):
        if self._text is not None:
            return self._text.on_epoch_end(epoch, logs)
        done = self.steps or 0
        self.handle = _display(self._html(done, logs or {}, final=True), self.handle)
        return None

    def _html(self, done: int, logs: dict, final: bool) -> "object":
        from IPython.display import HTML

        from deepgrad.display import number

        elapsed = time.perf_counter() - self.start
        fraction = done / self.steps if self.steps else (1.0 if final else 0.0)
        eta = elapsed / fraction - elapsed if 0 < fraction < 1 else 0.0
        timing = (f"{format_seconds(elapsed)}" if final else
                  f"{format_seconds(elapsed)} elapsed, ETA {format_seconds(eta)}")
        speed = f"{self.seen / elapsed:,.0f} samples/s" if elapsed > 0 and self.seen else ""
        metrics = " · ".join(f"{html.escape(k)} {number(v)}" for k, v in logs.items()
                             if k not in ("batch", "size", "batch_loss")
                             and isinstance(v, (int, float)))
        steps = f"{done}/{self.steps}" if self.steps else f"{done}"
        return HTML(f"<div style='font-family:monospace'>Epoch {self.epoch + 1}/{self.epochs} "
                    f"<progress value='{fraction:.4f}' max='1' style='width:14em'></progress> "
                    f"{steps} · {timing} · {speed}<br/>{metrics}</div>")


class LivePlot(Callback):
    """Redraws the loss and metric curves (training and validation overlaid) after every epoch
    in one notebook output. `figure()` returns the current curves as a matplotlib Figure.

    Args:
        every: redraw every `every` epochs.
    """

    def __init__(self, every: int = 1):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"LivePlot: every must be an integer >= 1, got every={every!r}")
        self.every = every
        self.handle = None
        from deepgrad.training.callbacks import History

        self.history = History()

    def on_train_begin(self, logs=None):
        self.live = in_notebook()

    def on_epoch_end(self, epoch, logs=None):
        self.history.on_epoch_end(epoch, logs)
        if self.live and (epoch + 1) % self.every == 0:
            from IPython.display import HTML

            from deepgrad.display import figure_html

            self.handle = _display(HTML(figure_html(self.figure())), self.handle)

    def figure(self, path=None):
        """The curves so far: a PNG at `path` (returned), or the matplotlib Figure."""
        from deepgrad.display import history_figure

        return history_figure(self.history, path)
