"""ActivationRecorder: per-layer activation, gradient and weight statistics through hooks.

    rec = ActivationRecorder(model, every=100, log_dir="runs/diag")   # or Recorder(...)
    trainer.fit(..., callbacks=[rec])            # a training callback, or by hand:
    with rec.capture(step=0):
        loss = loss_fn(model(x), y); loss.backward(); optimizer.step()
    rec.history[-1]["layers"]["2"]["activation"]["std"]
    rec.plot_histograms("act.png")               # one histogram per layer, side by side

At a recorded step, a forward hook on each chosen layer copies its output and registers a
tensor hook on it that copies the gradient of the loss with respect to that output
(dL/da: the back-propagated signal). When the step is finalized the recorder also reads every
parameter's weight and `.grad` and the update-to-weight ratio ||w_after - w_before|| / ||w_before||
of the step's update (the weights are copied when the step is armed, before the update).

Each record holds `summarize` statistics (mean, std, min, max, norm, rms, frac_zero,
frac_saturated: |tanh| > 0.99, sigmoid outside [0.01, 0.99]) and `np.histogram` counts with
`bins` fixed bins. If a layer runs several times in one step, the last forward pass wins.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict

import numpy as np

from deepgrad._optional import require
from deepgrad.diagnostics import plots
from deepgrad.diagnostics.stats import (DEFAULT_BINS, activation_kind, dead_units, histogram,
                                        is_activation, summarize, update_ratio)
from deepgrad.tensor import Tensor
from deepgrad.training.callbacks import Callback


def select_layers(model, layers=None) -> "OrderedDict[str, object]":
    """The layers to record, by dotted name.

    layers: None (every activation module — Tanh, ReLU, ... — or, if the model has none,
    every leaf module that owns parameters), a list of names from `model.named_modules()`,
    a list of modules, or a module class / tuple of classes.
    """
    named = [(name, m) for name, m in model.named_modules() if name]
    if not named:  # the model is itself a single layer
        named = [("output", model)]
    if layers is None:
        chosen = [(n, m) for n, m in named if is_activation(m)]
        if not chosen:
            chosen = [(n, m) for n, m in named
                      if not any(True for _ in m.children()) and m._parameters]
        if not chosen:
            chosen = [(n, m) for n, m in named if not any(True for _ in m.children())]
        return OrderedDict(chosen)
    if isinstance(layers, type) or (isinstance(layers, tuple) and layers
                                    and all(isinstance(t, type) for t in layers)):
        return OrderedDict((n, m) for n, m in named if isinstance(m, layers))
    by_name = dict(named)
    by_id = {id(m): n for n, m in named}
    chosen = OrderedDict()
    for item in layers:
        if isinstance(item, str):
            if item not in by_name:
                raise ValueError(f"ActivationRecorder: no layer named {item!r}; the model has "
                                 f"{', '.join(by_name) or 'no sub-modules'}")
            chosen[item] = by_name[item]
        elif id(item) in by_id:
            chosen[by_id[id(item)]] = item
        else:
            raise ValueError(f"ActivationRecorder: {type(item).__name__} is not a sub-module "
                             "of the model")
    return chosen


class ActivationRecorder(Callback):
    """Records per-layer statistics and histograms at chosen steps (see the module docstring).

    Args:
        model: the Module to watch (hooks are attached at once; `close()` removes them).
        layers: which layers (see `select_layers`).
        every: record steps 0, every, 2*every, ... (ignored when `steps` is given).
        steps: an explicit collection of steps to record.
        bins: number of histogram bins.
        hist_range: fixed (low, high) for the activation histograms; default (-1, 1) for tanh,
            (0, 1) for sigmoid and each array's own (min, max) otherwise.
        log_dir: when given, histograms are written there for TensorBoard (tensorboardX).
        record_params: also record every parameter's weight/gradient statistics and
            update-to-weight ratio (copies the weights when a step is armed).
    """

    def __init__(self, model, layers=None, every: int = 1, steps=None,
                 bins: int = DEFAULT_BINS, hist_range=None, log_dir=None,
                 record_params: bool = True):
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"ActivationRecorder: every must be a positive integer, got "
                             f"{every!r}")
        self.model = model
        self.layers = select_layers(model, layers)
        self.every = every
        self.steps = None if steps is None else {int(s) for s in steps}
        self.bins = bins
        self.hist_range = hist_range
        self.log_dir = None if log_dir is None else str(log_dir)
        self.record_params = bool(record_params)
        self.history = []
        self.step = 0
        self.activations = {}
        self.gradients = {}
        self._armed = False
        self._snapshot = None
        self._writer = None
        self._handles = [module.register_forward_hook(self._make_hook(name))
                         for name, module in self.layers.items()]

    # --- capture ------------------------------------------------------------------------------
    def _make_hook(self, name):
        def hook(module, inputs, output):
            if not self._armed or not isinstance(output, Tensor):
                return None
            self.activations[name] = np.array(output.data, copy=True)
            if output.requires_grad:
                def grad_hook(grad):
                    self.gradients[name] = np.array(grad.data, copy=True)

                output.register_hook(grad_hook)
            return None
        return hook

    def should_record(self, step: int) -> bool:
        if self.steps is not None:
            return step in self.steps
        return step % self.every == 0

    def arm(self) -> None:
        """Start capturing: the next forward/backward passes are recorded."""
        self._armed = True
        self.activations, self.gradients = {}, {}
        self._snapshot = {name: np.array(p.data, copy=True)
                          for name, p in self.model.named_parameters()} \
            if self.record_params else None

    def finalize(self, step: int | None = None) -> dict:
        """Stop capturing and turn what was captured into a record (appended to history)."""
        self._armed = False
        step = self.step if step is None else int(step)
        record = {"step": step, "layers": OrderedDict(), "params": OrderedDict()}
        for name, module in self.layers.items():
            if name not in self.activations:
                continue
            kind = activation_kind(module)
            values = self.activations[name]
            entry = {"kind": kind, "activation": summarize(values, kind),
                     "activation_hist": histogram(values, self.bins, self.hist_range, kind)}
            if values.ndim >= 2 and values.shape[0] > 0:
                entry["dead_fraction"] = float(np.mean(dead_units(values)))
            if name in self.gradients:
                grad = self.gradients[name]
                entry["grad"] = summarize(grad)
                entry["grad_hist"] = histogram(grad, self.bins)
            record["layers"][name] = entry
        for name, p in self.model.named_parameters() if self.record_params else ():
            entry = {"weight": summarize(p.data)}
            if p.grad is not None:
                entry["grad"] = summarize(p.grad.data)
            if self._snapshot is not None and name in self._snapshot:
                entry["update_ratio"] = update_ratio(self._snapshot[name], p.data)
            record["params"][name] = entry
        self._snapshot = None
        self.history.append(record)
        if self.log_dir is not None:
            self._write_tensorboard(record)
        return record

    @contextlib.contextmanager
    def capture(self, step: int | None = None):
        """Record what happens inside the block (forward, backward and, optionally, the
        optimizer step) as the record of `step` (default: the recorder's step counter)."""
        self.arm()
        try:
            yield self
        finally:
            self.finalize(step)

    # --- callback interface (Keras names) -----------------------------------------------------
    def on_train_begin(self, logs=None):
        if self.should_record(self.step):
            self.arm()

    def on_batch_end(self, batch, logs=None):
        if self._armed:
            self.finalize(self.step)
        self.step += 1
        if self.should_record(self.step):
            self.arm()

    on_train_batch_end = on_batch_end

    def on_train_end(self, logs=None):
        self._armed = False
        if self._writer is not None:
            self._writer.flush()

    # --- results ------------------------------------------------------------------------------
    def record(self, step: int | None = None) -> dict:
        """The record of `step` (default: the latest)."""
        if not self.history:
            raise ValueError("ActivationRecorder: nothing recorded yet")
        if step is None:
            return self.history[-1]
        for record in self.history:
            if record["step"] == step:
                return record
        raise ValueError(f"ActivationRecorder: step {step} was not recorded; recorded steps: "
                         f"{[r['step'] for r in self.history]}")

    def layer_stat(self, stat: str = "std", what: str = "activation", step=None) -> dict:
        """{layer: value} of one statistic (e.g. "std") of "activation" or "grad"."""
        record = self.record(step)
        return OrderedDict((name, entry[what][stat]) for name, entry in record["layers"].items()
                           if what in entry)

    def panels(self, what: str = "activation", step=None) -> list:
        """Histogram panels of one record, for `plots.plot_histogram_grid`."""
        record = self.record(step)
        panels = []
        for name, entry in record["layers"].items():
            if what + "_hist" in entry:
                counts, edges = entry[what + "_hist"]
                panels.append({"name": name, "counts": counts, "edges": edges,
                               "stats": entry[what]})
        return panels

    def plot_histograms(self, path=None, what: str = "activation", steps=None, title=None,
                        panel_size=plots.PANEL_SIZE, dpi=plots.DPI):
        """One histogram per layer (columns), one row per recorded step in `steps` (default:
        the latest step): written as a PNG to `path` (returned), or, without a path, the
        matplotlib Figure (shown inline in a notebook)."""
        steps = [self.history[-1]["step"]] if steps is None and self.history else steps or []
        rows = [(f"step {s}", self.panels(what, s)) for s in steps]
        return plots.plot_histogram_grid(rows, path, title or f"{what}s per layer",
                                         panel_size, dpi)

    # --- TensorBoard --------------------------------------------------------------------------
    def _write_tensorboard(self, record):
        if self._writer is None:
            SummaryWriter = require("tensorboardX", "writing TensorBoard logs").SummaryWriter

            self._writer = SummaryWriter(logdir=self.log_dir)
        step = record["step"]
        for name in record["layers"]:
            self._writer.add_histogram(f"activations/{name}", self.activations[name], step)
            if name in self.gradients:
                self._writer.add_histogram(f"gradients/{name}", self.gradients[name], step)
        params = dict(self.model.named_parameters())
        for name in record["params"]:
            self._writer.add_histogram(f"weights/{name}", np.asarray(params[name].data), step)
            ratio = record["params"][name].get("update_ratio")
            if ratio is not None and np.isfinite(ratio):
                self._writer.add_scalar(f"update_ratio/{name}", ratio, step)
        self._writer.flush()

    def close(self) -> None:
        """Remove the hooks and close the TensorBoard writer."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._armed = False
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __repr__(self):
        return (f"ActivationRecorder(layers=[{', '.join(self.layers)}], every={self.every}, "
                f"records={len(self.history)})")


Recorder = ActivationRecorder
