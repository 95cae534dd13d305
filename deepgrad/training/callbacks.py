"""Callbacks: code that runs at fixed points of `Trainer.fit` (Keras hooks and names).

    on_train_begin(logs)          once, before the first epoch
    on_epoch_begin(epoch, logs)   epoch: 0-based index
    on_batch_begin(batch, logs)   batch: 0-based index inside the epoch
    on_batch_end(batch, logs)     logs: running "loss" and metrics, "batch_loss", "size"
    on_epoch_end(epoch, logs)     logs: "loss", metrics, "val_loss", "val_<metric>", "lr"
    on_train_end(logs)            once, after the last epoch (also after an early stop)

A callback reaches the running Trainer as `self.trainer` and the model as `self.model`; it
stops training by setting `self.trainer.stop_training = True` (checked after every batch).

A callback owns its state: `state_dict()` returns what it has learned while training (plain
values and NumPy arrays; its settings come from its constructor) and `load_state_dict(state)`
puts it back, as Optimizer and the schedules do. A run's checkpoint stores each callback's
state under its position and type, and `deepgrad.runner.Run` restores it on resume after the
callbacks' `on_train_begin`, so a resumed run continues bit-exactly.

Every built-in callback is registered (`@register("callback")`), so a config names it in
`training.callbacks: [{type: EarlyStopping, monitor: val_accuracy, patience: 5}]` with the
constructor's arguments and defaults. Arguments listed in a class's `path_args` name files;
a run resolves their relative values against its run directory.

Checkpoints are written by `save_weights(model, path)` and read by `load_weights`, the one
place that knows the file format (a safetensors checkpoint of deepgrad.io, written
atomically; no pickle is ever needed to read it back).
"""

from __future__ import annotations

import csv
import math
import os
import sys
import time

import numpy as np

from deepgrad.display import format_seconds

from deepgrad.io.checkpoint import load_checkpoint, restore, save_checkpoint
from deepgrad.registry import register

# --- the checkpoint format (one place, so that it is easy to swap) ---------------------------
def checkpoint_name(path, owner: str = "save_weights") -> str:
    """`path` with the ".safetensors" ending added when it has no ending; another ending
    (".npz", ".pt", ...) is an error, not a file named "best.npz.safetensors"."""
    path = os.fspath(path)
    name = os.path.basename(path)
    if name.endswith(".safetensors"):
        return path
    ending = os.path.splitext(name)[1]
    if ending and "{" not in name:   # a template's "{val_loss:.3f}" is no ending
        raise ValueError(f"{owner}: {path!r} ends in {ending!r}, but deepgrad writes "
                         "checkpoints as .safetensors files; name it "
                         f"{os.path.splitext(path)[0] + '.safetensors'!r}")
    return path + ".safetensors"


def save_weights(model, path) -> str:
    """Write `model`'s parameters and buffers to `path` (.safetensors) and return the path.

    The file is a deepgrad checkpoint (deepgrad.io): written to a temporary file in the same
    directory, synced, then renamed over `path`, so a crash never leaves a truncated file.
    A path without an ending gets ".safetensors"; another ending is an error.
    """
    path = checkpoint_name(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return save_checkpoint(path, model=model)


def load_weights(model, path) -> None:
    """Load a file written by `save_weights` into `model` (strict: every name must match)."""
    restore(load_checkpoint(os.fspath(path)), model=model)


# --- base class and container ---------------------------------------------------------------
class Callback:
    """Base class: override any of the hooks; all of them do nothing by default.

    A callback that learns something while training (counters, best values, weights)
    overrides `state_dict()` and `load_state_dict()` so that a resumed run restores it.
    """

    trainer = None
    model = None
    path_args = ()   # constructor arguments naming files (relative to a run directory)

    def state_dict(self) -> dict:
        """What the callback has learned so far (plain values, lists, dicts, NumPy arrays)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore a `state_dict()`; called after `on_train_begin` when a run resumes."""
        if state:
            raise ValueError(f"{type(self).__name__}.load_state_dict: this callback keeps no "
                             f"state, got keys {sorted(state)}")

    def set_trainer(self, trainer) -> None:
        self.trainer = trainer
        self.model = trainer.model

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_batch_begin(self, batch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass


class CallbackList:
    """Calls a hook on every callback, in order."""

    def __init__(self, callbacks, trainer):
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"callbacks: expected Callback instances, got "
                                f"{type(callback).__name__}")
            callback.set_trainer(trainer)
        # per-batch hooks are called only on callbacks that override them: no Python call
        # per batch and per callback when nothing listens
        self._batch_begin = [c for c in self.callbacks
                             if type(c).on_batch_begin is not Callback.on_batch_begin]
        self._batch_end = [c for c in self.callbacks
                           if type(c).on_batch_end is not Callback.on_batch_end]

    def __iter__(self):
        return iter(self.callbacks)

    @property
    def wants_batch_logs(self) -> bool:
        return bool(self._batch_end or self._batch_begin)

    def on_train_begin(self, logs=None):
        for c in self.callbacks:
            c.on_train_begin(logs)

    def on_train_end(self, logs=None):
        for c in self.callbacks:
            c.on_train_end(logs)

    def on_epoch_begin(self, epoch, logs=None):
        for c in self.callbacks:
            c.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        for c in self.callbacks:
            c.on_epoch_end(epoch, logs)

    def on_batch_begin(self, batch, logs=None):
        for c in self._batch_begin:
            c.on_batch_begin(batch, logs)

    def on_batch_end(self, batch, logs=None):
        for c in self._batch_end:
            c.on_batch_end(batch, logs)


class Monitor:
    """The quantity a callback watches: its log key, its direction and what counts as better.

    mode "auto" means "max" for accuracies and AUC (the key contains "acc" or ends in "auc")
    and "min" otherwise. A value improves on `best` when it is finite and

        value < best - min_delta   (mode "min")      value > best + min_delta   (mode "max").

    This is the one "did it improve" rule of deepgrad: EarlyStopping, ModelCheckpoint and a
    run's best checkpoint all use it.
    """

    def __init__(self, owner: str, monitor: str = "val_loss", mode: str = "auto",
                 min_delta: float = 0.0):
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"{owner}: monitor must be a log key such as 'val_loss', got "
                             f"monitor={monitor!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got mode={mode!r}")
        self.owner, self.monitor = owner, monitor
        self.mode = mode if mode != "auto" else self.auto_mode(monitor)
        self.min_delta = abs(float(min_delta))

    @staticmethod
    def auto_mode(monitor: str) -> str:
        return "max" if ("acc" in monitor or monitor.endswith("auc")) else "min"

    def initial(self) -> float:
        """The `best` before any epoch: +inf (mode "min") or -inf (mode "max")."""
        return math.inf if self.mode == "min" else -math.inf

    def improved(self, value, best) -> bool:
        if value is None or not math.isfinite(value):
            return False
        if best is None:
            return True
        if self.mode == "min":
            return value < best - self.min_delta
        return value > best + self.min_delta

    def value(self, logs: dict) -> float:
        """The monitored value of an epoch's logs (KeyError naming the keys available)."""
        return _monitored(self.owner, self.monitor, logs or {})


def _monitored(owner: str, monitor: str, logs: dict) -> float:
    if monitor not in logs:
        hint = ("; pass validation_data to fit()" if monitor.startswith("val_") else "")
        raise KeyError(f"{owner}: monitor={monitor!r} is not in the epoch logs (available: "
                       f"{', '.join(sorted(logs))}){hint}")
    return float(logs[monitor])


# --- built-in callbacks ---------------------------------------------------------------------
class History(Callback):
    """Records the epoch logs: `history.history["val_loss"][i]` is epoch `history.epoch[i]`.

    `Trainer.fit` always adds one and returns it.
    """

    def __init__(self):
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self):
        return f"History({len(self.epoch)} epochs: {', '.join(self.history)})"

    def _repr_html_(self):  # notebooks: a table of the epochs and the curves inline
        from deepgrad.display import history_html

        return history_html(self)

    def plot(self, path=None):
        """Training and validation curves of each metric: a PNG at `path`, or the Figure."""
        from deepgrad.display import history_figure

        return history_figure(self, path)


def _format_logs(logs: dict, keys) -> str:
    parts = []
    for key in keys:
        if key in logs:
            value = logs[key]
            parts.append(f"{key}: {value:.4g}" if key == "lr" else f"{key}: {value:.4f}")
    return " - ".join(parts)


@register("callback")
class ProgressBar(Callback):
    """A live progress bar on a terminal; one plain line per epoch otherwise.

    On a TTY the current line is redrawn (carriage return, at most every `interval` seconds)
    with the batch count, running loss and metrics and the speed in samples/s. When the
    stream is not a terminal (a log file, CI, a pipe) nothing is written during an epoch and
    each epoch ends with exactly one line, without carriage returns:

        Epoch 3/20 - 469 steps - 4.1s - 14630 samples/s - loss: 0.3120 - accuracy: 0.8850 ...

    Args:
        stream: where to write (default: sys.stdout at the time of writing).
        width: characters of the bar.
        interval: seconds between two redraws on a terminal.
    """

    def __init__(self, stream=None, width: int = 24, interval: float = 0.1):
        self.stream = stream
        self.width = int(width)
        self.interval = float(interval)

    def _out(self):
        return self.stream if self.stream is not None else sys.stdout

    def _is_tty(self) -> bool:
        isatty = getattr(self._out(), "isatty", None)
        try:
            return bool(isatty and isatty())
        except ValueError:  # a closed stream
            return False

    def on_train_begin(self, logs=None):
        self.epochs = self.trainer.params.get("epochs")
        self.steps = self.trainer.params.get("steps")
        self.live = self._is_tty()

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()
        self.last_draw = 0.0
        self.seen = 0
        self.epoch_label = f"Epoch {epoch + 1}/{self.epochs}"

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        self.seen += int(logs.get("size", 0))
        if not self.live:
            return
        now = time.perf_counter()
        if now - self.last_draw < self.interval and (self.steps is None
                                                     or batch + 1 < self.steps):
            return
        self.last_draw = now
        elapsed = max(now - self.start, 1e-9)
        if self.steps:
            done = int(self.width * (batch + 1) / self.steps)
            bar = "=" * done + (">" if done < self.width else "") + "." * (self.width - done - 1)
            count = f"{batch + 1}/{self.steps} [{bar[:self.width]}]"
        else:
            count = f"{batch + 1}"
        keys = [k for k in logs if k not in ("batch", "size", "batch_loss")]
        timing = format_seconds(elapsed)
        if self.steps and batch + 1 < self.steps:
            timing += f" elapsed, ETA {format_seconds(elapsed * (self.steps / (batch + 1) - 1))}"
        text = (f"\r{self.epoch_label} {count} - {timing} - {self.seen / elapsed:.0f} "
                f"samples/s - {_format_logs(logs, keys)}")
        out = self._out()
        out.write(text + "\033[K")  # clear what a longer previous line left behind
        out.flush()
        _OPEN_LINES.add(out)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        steps = f"{self.steps} steps - " if self.steps else ""
        line = (f"{self.epoch_label} - {steps}{elapsed:.1f}s - {self.seen / elapsed:.0f} "
                f"samples/s - {_format_logs(logs, list(logs))}")
        out = self._out()
        out.write(("\r" + line + "\033[K\n") if self.live else (line + "\n"))
        out.flush()
        _OPEN_LINES.discard(out)


def improved_message(monitor: str, previous, value) -> str:
    """'val_accuracy improved from 0.9010 to 0.9027' (or 'val_loss is 0.3120' the first
    time), the words of a callback that saves on improvement."""
    if previous is None or not math.isfinite(previous):
        return f"{monitor} is {value:.4f}"
    return f"{monitor} improved from {previous:.4f} to {value:.4f}"


# streams on which a live progress line was left without its newline
_OPEN_LINES: set = set()


def end_progress_lines() -> None:
    """End any progress line left open (Ctrl-C or an error in the middle of an epoch), so
    that what is printed next starts on a fresh line."""
    for stream in list(_OPEN_LINES):
        try:
            stream.write("\n")
            stream.flush()
        except (ValueError, OSError):  # a closed stream
            pass
    _OPEN_LINES.clear()


@register("callback")
class EarlyStopping(Callback):
    """Stop when the monitored quantity has not improved for `patience` epochs.

    An epoch improves when  value < best - min_delta  (mode "min") or  value > best +
    min_delta  (mode "max"); "auto" picks "max" for accuracies, "min" otherwise (`Monitor`).
    Training stops at the end of the epoch that makes the count of epochs without improvement
    reach `patience`. With `restore_best_weights=True` the weights of the best epoch are put
    back when training ends (whether it stopped early or ran out of epochs).

    After fit: `best` (value), `best_epoch`, `stopped_epoch` (-1 when not stopped early).
    State (`state_dict`): wait, best, best_epoch, stopped_epoch and the best weights.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 0, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = False, verbose: int = 0):
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be an integer >= 0, got "
                             f"patience={patience!r}")
        self.watch = Monitor("EarlyStopping", monitor, mode, min_delta)
        self.monitor, self.mode, self.min_delta = monitor, self.watch.mode, self.watch.min_delta
        self.patience = patience
        self.restore_best_weights = restore_best_weights
        self.verbose = verbose
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.best = self.watch.initial()
        self.best_epoch = -1
        self.best_weights = None
        self.stopped_epoch = -1

    def on_epoch_end(self, epoch, logs=None):
        value = self.watch.value(logs)
        if self.watch.improved(value, self.best):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.state_dict()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)
        if self.verbose and self.stopped_epoch >= 0:
            print(self.message())

    def message(self) -> str:
        """What happened, as a sentence: "early stopping at epoch 14 (best epoch 11,
        val_accuracy 0.9027), restoring best weights"; "" when training did not stop early."""
        if self.stopped_epoch < 0:
            return ""
        restoring = (", restoring best weights" if self.restore_best_weights
                     and self.best_weights is not None else "")
        return (f"early stopping at epoch {self.stopped_epoch + 1} (best epoch "
                f"{self.best_epoch + 1}, {self.monitor} {self.best:.4f}){restoring}")

    def state_dict(self) -> dict:
        weights = None
        if self.best_weights is not None:
            weights = {k: np.array(getattr(v, "data", v)) for k, v in self.best_weights.items()}
        return {"wait": self.wait, "best": self.best, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch, "best_weights": weights}

    def load_state_dict(self, state: dict) -> None:
        self.wait, self.best = int(state["wait"]), float(state["best"])
        self.best_epoch, self.stopped_epoch = int(state["best_epoch"]), int(state["stopped_epoch"])
        weights = state["best_weights"]
        self.best_weights = ({k: np.array(v) for k, v in weights.items()}
                             if weights is not None else None)


@register("callback")
class ModelCheckpoint(Callback):
    """Save the model's weights (with `save_weights`) at the end of epochs.

    Args:
        filepath: target path; may use "{epoch}" (1-based) and any log key, e.g.
            "runs/exp/epoch{epoch:02d}-{val_loss:.3f}.safetensors"; ".safetensors" is added
            to a name without an ending (another ending, such as ".npz", is an error).
        monitor, mode: the quantity that decides what "best" means (as in EarlyStopping).
        save_best_only: write only when the monitored value improves (else every epoch).
        save_last: also write "last.safetensors" next to `filepath` after every epoch.

    After fit: `best`, `best_path` (the last file written as best), `last_path`.
    """

    path_args = ("filepath",)

    def __init__(self, filepath, monitor: str = "val_loss", mode: str = "auto",
                 save_best_only: bool = False, save_last: bool = False, verbose: int = 0):
        self.filepath = checkpoint_name(filepath, "ModelCheckpoint")
        self.watch = Monitor("ModelCheckpoint", monitor, mode)
        self.monitor, self.mode = monitor, self.watch.mode
        self.save_best_only = save_best_only
        self.save_last = save_last
        self.verbose = verbose
        self.best = self.watch.initial()
        self.best_path = None
        self.last_path = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            value = self.watch.value(logs)
            if self.watch.improved(value, self.best):
                previous, self.best = self.best, value
                self.best_path = save_weights(self.model, path)
                if self.verbose:
                    print(f"Epoch {epoch + 1}: {improved_message(self.monitor, previous, value)}"
                          f", saving to {self.best_path}")
            elif self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} did not improve from "
                      f"{self.best:.4f}")
        else:
            self.best_path = save_weights(self.model, path)
        if self.save_last:
            directory = os.path.dirname(os.path.abspath(path))
            self.last_path = save_weights(self.model,
                                          os.path.join(directory, "last.safetensors"))

    def state_dict(self) -> dict:
        return {"best": self.best, "best_path": self.best_path, "last_path": self.last_path}

    def load_state_dict(self, state: dict) -> None:
        self.best = float(state["best"])
        self.best_path, self.last_path = state["best_path"], state["last_path"]


@register("callback")
class TerminateOnNaN(Callback):
    """Stop training at the first batch whose loss is NaN or infinite.

    The Trainer skips the update of that batch (the weights stay finite), and this callback
    prints and records where it happened: `report = {"epoch", "batch", "step", "loss"}`
    (epoch and batch 0-based, step = global batch count since fit started).
    """

    def __init__(self, stream=None):
        self.stream = stream
        self.report = None

    def on_train_begin(self, logs=None):
        self.report = None

    def state_dict(self) -> dict:
        return {"report": dict(self.report) if self.report is not None else None}

    def load_state_dict(self, state: dict) -> None:
        self.report = dict(state["report"]) if state["report"] is not None else None

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        loss = logs.get("batch_loss", logs.get("loss"))
        if loss is None or math.isfinite(loss):
            return
        self.report = {"epoch": self.trainer.epoch, "batch": batch,
                       "step": self.trainer.step, "loss": float(loss)}
        self.trainer.stop_training = True
        out = self.stream if self.stream is not None else sys.stdout
        out.write(f"TerminateOnNaN: loss is {loss} at epoch {self.trainer.epoch + 1}, batch "
                  f"{batch + 1} (step {self.trainer.step}); training stopped\n")
        out.flush()


class LearningRateScheduler(Callback):
    """Drive a learning-rate schedule from the training loop.

    `schedule` is one of
      * a `deepgrad.optim.lr_scheduler` scheduler: `step()` after every epoch, or after every
        batch with `per_batch=True` (CyclicLR, warm-up by iterations);
      * a `ReduceLROnPlateau`: `step(logs[monitor])` after every epoch;
      * a function `schedule(epoch, lr) -> new lr` (Keras), applied to every parameter group
        at the start of each epoch.

    Its state is the schedule's `state_dict()` (a function schedule has none). A config's
    `schedule:` section builds one of these; it is not listed under `training.callbacks`.
    """

    def __init__(self, schedule, per_batch: bool = False, monitor: str = "val_loss"):
        self.schedule = schedule
        self.per_batch = per_batch
        self.monitor = monitor
        self._plateau = hasattr(schedule, "num_bad_epochs")
        if not (callable(schedule) or hasattr(schedule, "step")):
            raise TypeError(f"LearningRateScheduler: schedule must be a scheduler with step() "
                            f"or a function (epoch, lr) -> lr, got {type(schedule).__name__}")
        if self._plateau and per_batch:
            raise ValueError("LearningRateScheduler: ReduceLROnPlateau needs an epoch metric; "
                             "it cannot step per batch")

    def _is_function(self) -> bool:
        return not hasattr(self.schedule, "step")

    def on_epoch_begin(self, epoch, logs=None):
        if self._is_function():
            for group in self.trainer.optimizer.param_groups:
                lr = float(self.schedule(epoch, group["lr"]))
                if not math.isfinite(lr) or lr < 0:
                    raise ValueError(f"LearningRateScheduler: schedule({epoch}, ...) returned "
                                     f"lr={lr}; expected a finite number >= 0")
                group["lr"] = lr

    def on_batch_end(self, batch, logs=None):
        if self.per_batch:
            self.schedule.step()

    def on_epoch_end(self, epoch, logs=None):
        if self._is_function() or self.per_batch:
            return
        if self._plateau:
            self.schedule.step(_monitored("LearningRateScheduler", self.monitor, logs or {}))
        else:
            self.schedule.step()

    def state_dict(self) -> dict:
        if self._is_function() or not hasattr(self.schedule, "state_dict"):
            return {}
        return {"schedule": self.schedule.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if "schedule" in state:
            self.schedule.load_state_dict(state["schedule"])
        else:
            super().load_state_dict(state)


def csv_row(epoch: int, logs: dict, keys) -> list:
    """One CSV row of epoch logs: the 1-based epoch, then each key's value exactly (repr), or
    "" when the epoch has no such key (the format of CSVLogger and of a run's metrics.csv)."""
    return [epoch + 1] + [repr(float(logs[k])) if k in logs else "" for k in keys]


@register("callback")
class CSVLogger(Callback):
    """Append one row per epoch to a CSV file: epoch (1-based), then the log keys in order."""

    path_args = ("filename",)

    def __init__(self, filename, separator: str = ",", append: bool = False):
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = append
        self.keys = None

    def on_train_begin(self, logs=None):
        directory = os.path.dirname(os.path.abspath(self.filename))
        os.makedirs(directory, exist_ok=True)
        exists = self.append and os.path.exists(self.filename) \
            and os.path.getsize(self.filename) > 0
        self.keys = None
        if exists:
            with open(self.filename, newline="") as file:
                header = next(csv.reader(file, delimiter=self.separator), None)
            self.keys = header[1:] if header else None
        self.file = open(self.filename, "a" if self.append else "w", newline="")
        self.writer = csv.writer(self.file, delimiter=self.separator)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = list(logs)
            self.writer.writerow(["epoch"] + self.keys)
        self.writer.writerow(csv_row(epoch, logs, self.keys))
        self.file.flush()

    def on_train_end(self, logs=None):
        self.file.close()


@register("callback")
class TensorBoard(Callback):
    """TensorBoard logs in the usual run layout, written by `deepgrad.io.tfevents` (no
    tensorboardX needed); view with `tensorboard --logdir <log_dir>`.

    * `log_dir/train`: every epoch log key without the "val_" prefix (loss, accuracy, lr);
      `log_dir/validation`: the "val_" keys without the prefix, so TensorBoard draws the
      training and validation curves of a metric in one chart (step = epoch, 1-based).
    * with `histogram_freq=N > 0`: every N epochs, histograms of each parameter
      ("weights/<name>") and of its gradient of the epoch's last batch ("gradients/<name>").
    * with `hparams` (name -> number, string or bool): the run's hyperparameters in the
      HPARAMS tab, with the validation and test metrics beside them (`log_dir` holds the
      session; `log_final_metrics` writes the test values and ends it).

    Args:
        log_dir: the directory of the logs.
        histogram_freq: epochs between two histogram snapshots (0: none).
        hparams: the hyperparameters to show, or None.
    """

    path_args = ("log_dir",)

    def __init__(self, log_dir="runs/tensorboard", histogram_freq: int = 0, hparams=None):
        if isinstance(histogram_freq, bool) or not isinstance(histogram_freq, int) \
                or histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be an integer >= 0, got "
                             f"histogram_freq={histogram_freq!r}")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.hparams = dict(hparams) if hparams else None
        self.writers = {}

    def _writer(self, name: str):
        from deepgrad.io.tfevents import EventWriter

        if name not in self.writers:
            self.writers[name] = EventWriter(os.path.join(self.log_dir, name))
        return self.writers[name]

    def on_train_begin(self, logs=None):
        if self.hparams:
            metrics = list(self.trainer.metric_names) + ["loss"]
            self._writer("").add_hparams(self.hparams, [(group, tag) for group in
                                                        ("validation", "test")
                                                        for tag in metrics])

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        train = {k: float(v) for k, v in logs.items() if not k.startswith("val_")}
        validation = {k[4:]: float(v) for k, v in logs.items() if k.startswith("val_")}
        self._writer("train").add_scalars(train, epoch + 1)
        if validation:
            self._writer("validation").add_scalars(validation, epoch + 1)
        if self.histogram_freq and (epoch + 1) % self.histogram_freq == 0:
            self._writer("train").add_histograms(self._histograms(), epoch + 1)
        for writer in self.writers.values():
            writer.flush()

    def _histograms(self) -> dict:
        arrays = {}
        for name, parameter in self.model.named_parameters():
            arrays[f"weights/{name}"] = parameter.data
            if parameter.grad is not None:
                arrays[f"gradients/{name}"] = getattr(parameter.grad, "data", parameter.grad)
        return arrays

    def on_train_end(self, logs=None):
        for writer in self.writers.values():
            writer.close()
        self.writers = {}


def log_final_metrics(log_dir, final_metrics: dict, step: int, end_session: bool) -> None:
    """The metrics of a finished run, one writer per split ({split: {metric: value}}) at
    `step`; `end_session` also closes the hparams session of `log_dir`."""
    from deepgrad.io.tfevents import EventWriter

    for split, metrics in final_metrics.items():
        writer = EventWriter(os.path.join(os.fspath(log_dir), split))
        writer.add_scalars({k: float(v) for k, v in metrics.items()}, step)
        writer.close()
    if end_session:
        writer = EventWriter(os.fspath(log_dir))
        writer.end_hparams(step)
        writer.close()
