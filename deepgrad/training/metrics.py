"""Metrics of the training loop: running averages over the batches of an epoch.

A metric sees each batch's (main) model output and targets as NumPy arrays, keeps a weighted
sum, and reports the average over all samples seen since `reset()`:

    accuracy = (1/N) sum_i [argmax_c z_ic == y_i]        (z: logits or probabilities)
    mse      = (1/(N D)) sum_i sum_d (z_id - y_id)^2
    loss     = (1/N) sum_b n_b L_b                         (L_b: mean loss of batch b)

Metrics are bookkeeping, not part of the graph: they read `Tensor.data` and never
differentiate, so they cost one argmax (or one subtraction) per batch.

Metrics are named in `Trainer(metrics=("accuracy", "mse"))`; `get_metric(name)` resolves a
name through the registry (deepgrad.registry), and `register_metric(name, cls)` adds one.
"""

from __future__ import annotations

import copy

import numpy as np

from deepgrad import registry
from deepgrad.registry import register


class Metric:
    """Base class: override `batch_value(output, target) -> (sum over the batch, count)`."""

    name = "metric"

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.total = 0.0
        self.count = 0

    def update(self, output: np.ndarray, target: np.ndarray) -> None:
        total, count = self.batch_value(output, target)
        self.total += float(total)
        self.count += int(count)

    def batch_value(self, output: np.ndarray, target: np.ndarray):
        raise NotImplementedError

    def result(self) -> float:
        """The average since `reset()` (NaN before any update)."""
        return self.total / self.count if self.count else float("nan")

    def __repr__(self):
        return f"{type(self).__name__}()"


@register("metric", "accuracy", aliases=("acc",))
class Accuracy(Metric):
    """Fraction of samples whose predicted class is the target class.

    Class scores lie on axis 1 (shape (N, C) or (N, C, ...)); targets are class indices of
    shape (N,) or (N, ...). A single score column (N,) or (N, 1) is read as a binary logit:
    predicted class = [z > 0]. One-hot / probability targets are reduced by argmax.
    """

    name = "accuracy"

    def batch_value(self, output, target):
        if output.ndim >= 2 and output.shape[1] > 1:
            predicted = output.argmax(axis=1)
        else:
            predicted = (output.reshape(output.shape[0], -1)[:, 0] > 0).astype(np.int64)
            target = target.reshape(target.shape[0], -1)[:, 0]
        if target.dtype.kind == "f" and target.ndim == output.ndim and output.ndim >= 2 \
                and target.shape == output.shape and output.shape[1] > 1:
            target = target.argmax(axis=1)
        if predicted.shape != target.shape:
            raise ValueError(f"accuracy: predictions of shape {predicted.shape} (from output "
                             f"{output.shape}) do not match targets of shape {target.shape}")
        return np.count_nonzero(predicted == target), predicted.size


@register("metric", "mse", aliases=("mean_squared_error",))
class MeanSquaredError(Metric):
    """Mean of (output - target)^2 over all entries."""

    name = "mse"

    def batch_value(self, output, target):
        if target.shape != output.shape:
            if target.size != output.size:
                raise ValueError(f"mse: output of shape {output.shape} and target of shape "
                                 f"{target.shape} hold different numbers of values")
            target = target.reshape(output.shape)
        diff = output - target
        # weight by the number of samples so that the epoch average is over samples
        per_sample = output.size // output.shape[0] if output.ndim else 1
        return float(np.vdot(diff, diff)) / per_sample, output.shape[0] if output.ndim else 1


@register("metric", "loss")
class Loss(Metric):
    """Sample-weighted mean of per-batch mean losses; fed by the Trainer with `update_value`."""

    name = "loss"

    def update_value(self, value: float, count: int) -> None:
        self.total += value * count
        self.count += count


def register_metric(name: str, cls) -> None:
    """Make `cls` (a Metric subclass) available as `metrics=(name,)` (a registry entry)."""
    if not (isinstance(cls, type) and issubclass(cls, Metric)):
        raise TypeError(f"register_metric: expected a Metric subclass, got {cls!r}")
    register("metric", name)(cls)


def get_metric(metric) -> Metric:
    """A fresh Metric from a name ("accuracy", "mse", "loss"), a class or an instance."""
    if isinstance(metric, Metric):
        fresh = copy.copy(metric)  # training and validation each need their own totals
        fresh.reset()
        return fresh
    if isinstance(metric, type) and issubclass(metric, Metric):
        return metric()
    if isinstance(metric, str):
        if not registry.contains("metric", metric):
            raise ValueError(registry.unknown_message("metric", metric)
                             + " (or register_metric)")
        return registry.lookup("metric", metric)()
    raise TypeError(f"a metric must be a name, a Metric subclass or instance, got "
                    f"{type(metric).__name__}")
