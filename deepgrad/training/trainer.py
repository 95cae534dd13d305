"""Trainer: the training loop, Keras style (`fit`, `evaluate`, `predict`).

One training step on a batch (x, y):

    x <- x + sigma * eps,  eps ~ N(0, I)                     (only if input_noise_std > 0)
    outputs = model(x)                                        (a Tensor, or a tuple: deep
    L = loss(outputs[0], y) [+ sum_j alpha_j loss(outputs[j], y)]       supervision)
        + sum_k lambda_k R_k(theta_k)                         (penalties)
    g = dL/dtheta;   g <- g min(1, c / ||g||)                  (if grad_clip_norm = c)
    optimizer.step()

The logs of an epoch hold the sample-weighted averages over its batches of "loss" (the full
objective L) and of each metric (computed on the main output), "lr" (first parameter group,
at the start of the epoch) and, with validation data, "val_loss" (the loss of the main output
alone, without penalties) and "val_<metric>", computed in eval mode under no_grad.

Before the first step the data are checked, so that a mistake fails at once with a clear
message: features and labels of different lengths, an empty dataset, NaN/inf values, and
class labels outside [0, C) for a model with C outputs.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from deepgrad import registry
from deepgrad._state import no_grad
from deepgrad.data import DataLoader, Dataset, TensorDataset, check_labels, get_batch
from deepgrad.distributed import DistributedOptimizer, allreduce_metrics
from deepgrad.factories import randn
from deepgrad.nn.utils import clip_grad_norm_
from deepgrad.optim import Optimizer
from deepgrad.random import get_generator
from deepgrad.tensor import Tensor
from deepgrad.training.callbacks import CallbackList, History, ProgressBar
from deepgrad.training.deep_supervision import DeepSupervisionLoss
from deepgrad.training.metrics import Loss, get_metric
from deepgrad.training.notebook import NotebookProgress, progress_display
from deepgrad.training.penalties import penalty_total, resolve_penalties

_CHECK_CHUNK = 8192  # samples per chunk when scanning a dataset for NaN and bad labels


def get_loss(loss):
    """A loss function (output, target) -> scalar Tensor from a callable or a registered loss
    name: a class name ("CrossEntropyLoss") or an alias ("cross_entropy", "mse", ...)."""
    if callable(loss):
        return loss
    if isinstance(loss, str) and registry.contains("loss", loss):
        return registry.lookup("loss", loss)()
    raise ValueError(f"Trainer: loss must be a function (output, target) -> Tensor or a "
                     f"registered loss name; {registry.unknown_message('loss', loss)}; "
                     f"aliases: {', '.join(registry.names('loss', aliases=True))}")


def get_optimizer(optimizer, parameters, lr: float = 1e-3) -> Optimizer:
    """An Optimizer from an Optimizer (returned as it is), a registered name created with
    `lr` ("adam", "sgd", "AdamW", ...) or a function (parameters) -> Optimizer."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str):
        if not registry.contains("optimizer", optimizer):
            raise ValueError(f"{registry.unknown_message('optimizer', optimizer)}; aliases: "
                             f"{', '.join(registry.names('optimizer', aliases=True))} (or pass "
                             "an Optimizer or a function (parameters) -> Optimizer)")
        return registry.lookup("optimizer", optimizer)(parameters, lr=lr)
    if callable(optimizer):
        return optimizer(parameters)
    raise TypeError(f"optimizer must be an Optimizer, a registered name or a function "
                    f"(parameters) -> Optimizer, got {type(optimizer).__name__}")


def as_loader(data, batch_size: int = 32, shuffle: bool = False, generator=None, role="data"):
    """A DataLoader, a re-iterable of batches, a Dataset or a tuple (x, y) of arrays -> an
    iterable of batches (tuples of Tensors)."""
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, tuple) and data and not isinstance(data[0], tuple):
        lengths = [len(a) for a in data]
        if len(set(lengths)) != 1:
            raise ValueError(f"{role}: features and labels have different lengths "
                             f"{lengths}; each sample needs exactly one label")
        if lengths[0] == 0:
            raise ValueError(f"{role}: the dataset is empty (0 samples)")
        data = TensorDataset(*data)
    if isinstance(data, Dataset):
        if len(data) == 0:
            raise ValueError(f"{role}: the dataset is empty (0 samples)")
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=generator)
    if hasattr(data, "__iter__") and not hasattr(data, "__next__"):
        return data
    raise TypeError(f"{role}: expected a DataLoader, a Dataset, a tuple (x, y) of arrays or a "
                    f"re-iterable of batches, got {type(data).__name__}")


def _split_batch(batch, role: str):
    if isinstance(batch, Tensor):
        return batch, None
    if not isinstance(batch, (tuple, list)) or not 1 <= len(batch) <= 2:
        raise ValueError(f"{role}: a batch must be (x, y) or (x,), got "
                         f"{type(batch).__name__} of length {len(batch)}")
    x = batch[0] if isinstance(batch[0], Tensor) else Tensor(batch[0])
    if len(batch) == 1:
        return x, None
    y = batch[1] if isinstance(batch[1], Tensor) else Tensor(batch[1])
    return x, y


def _main(output):
    return output[0] if isinstance(output, (tuple, list)) else output


class Trainer:
    """Trains `model` with `optimizer` on `loss`; see the module docs for the exact step.

    Args:
        model: a Module; it may return a tuple (main, aux_1, ...) in training (deep
            supervision, then `loss_weights` is required).
        loss: a function (output, target) -> scalar Tensor, or a name ("cross_entropy",
            "mse", "bce_with_logits", ...).
        optimizer: a deepgrad.optim optimizer over the model's parameters.
        metrics: names ("accuracy", "mse"), Metric classes or instances.
        callbacks: Callback instances used by every `fit` (History is always added, and a
            ProgressBar when fit's verbose=1 and none is given).
        grad_clip_norm: rescale the gradients to this global L2 norm when larger.
        input_noise_std: sigma of the Gaussian noise added to the inputs while training.
        penalties: per-parameter L1/L2 penalties (see deepgrad.training.penalties).
        loss_weights: one weight per model output, main first (deep supervision); default:
            the model's own `loss_weights` attribute if it has one.
        aux_weight_decay: None, "linear" or "exponential" decay of the auxiliary weights.
        generator: a numpy Generator or int seed for the input noise and for shuffling data
            given as arrays or a Dataset.
    """

    def __init__(self, model, loss, optimizer, metrics=("accuracy",), callbacks=(),
                 grad_clip_norm=None, input_noise_std=0.0, penalties=None, loss_weights=None,
                 aux_weight_decay=None, generator=None):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"Trainer: optimizer must be a deepgrad.optim.Optimizer, got "
                            f"{type(optimizer).__name__}")
        if grad_clip_norm is not None and not (isinstance(grad_clip_norm, numbers.Real)
                                               and grad_clip_norm > 0):
            raise ValueError(f"Trainer: grad_clip_norm must be a number > 0 or None, got "
                             f"{grad_clip_norm!r}")
        if not (isinstance(input_noise_std, numbers.Real) and input_noise_std >= 0):
            raise ValueError(f"Trainer: input_noise_std must be a number >= 0, got "
                             f"{input_noise_std!r}")
        self.model = model
        self.loss_fn = get_loss(loss)
        self.optimizer = optimizer
        self.metric_names = [m for m in metrics if m != "loss"]
        self.callbacks = list(callbacks)
        self.grad_clip_norm = grad_clip_norm
        self.input_noise_std = float(input_noise_std)
        self.penalties = resolve_penalties(model, penalties)
        if loss_weights is None:
            # a deeply supervised model may declare its own (DeeplySupervisedLeNet does)
            loss_weights = getattr(model, "loss_weights", None)
        self.deep_supervision = (DeepSupervisionLoss(self.loss_fn, loss_weights,
                                                     aux_weight_decay)
                                 if loss_weights is not None else None)
        self.generator = get_generator(generator) if generator is not None else None
        self.stop_training = False
        self.epoch = 0
        self.step = 0
        self.params = {}

    # --- checks before training -------------------------------------------------------------
    def _dataset_of(self, loader):
        dataset = getattr(loader, "dataset", None)
        return dataset if isinstance(dataset, Dataset) else None

    def check_data(self, loader, role: str = "training data") -> None:
        """Fail early on mismatched lengths, empty data, NaN/inf and out-of-range labels."""
        dataset = self._dataset_of(loader)
        if dataset is not None:
            n = len(dataset)
            if n == 0:
                raise ValueError(f"{role}: the dataset is empty (0 samples)")
            probe = get_batch(dataset, np.arange(min(n, 4)))
        else:
            probe = next(iter(loader), None)
            if probe is None:
                raise ValueError(f"{role}: yielded no batches (an empty dataset?)")
        x, y = _split_batch(probe, role)
        if y is not None and len(y) != len(x):
            raise ValueError(f"{role}: a batch has {len(x)} feature rows but {len(y)} labels; "
                             "features and labels must have the same length")
        num_classes = self._num_classes(x, y)
        if isinstance(dataset, TensorDataset):
            # slices of the stored arrays are views: the scan copies nothing
            for start in range(0, n, _CHECK_CHUNK):
                chunk = tuple(a[start:start + _CHECK_CHUNK] for a in dataset.arrays)
                self._check_fields(chunk, role, start, num_classes)
        elif dataset is not None and hasattr(dataset, "get_batch"):
            for start in range(0, n, _CHECK_CHUNK):
                chunk = get_batch(dataset, np.arange(start, min(start + _CHECK_CHUNK, n)))
                self._check_fields(chunk, role, start, num_classes)
        else:
            self._check_fields(probe, role, 0, num_classes)

    def _num_classes(self, x, y):
        """C when the targets are class indices for a model with C > 1 outputs on axis 1."""
        if y is None or y.dtype.kind not in "iu":
            return None
        was_training = self.model.training
        self.model.eval()
        try:
            with no_grad():
                output = _main(self.model(x))
        finally:
            self.model.train(was_training)
        if output.ndim >= 2 and output.shape[1] > 1:
            return int(output.shape[1])
        return None

    @staticmethod
    def _check_fields(batch, role: str, offset: int, num_classes) -> None:
        names = ("features", "labels")
        for position, field in enumerate(batch):
            values = field.data if isinstance(field, Tensor) else np.asarray(field)
            name = names[position] if position < 2 else f"field {position}"
            if values.dtype.kind == "f" and not np.isfinite(values).all():
                bad = tuple(int(i) for i in np.argwhere(~np.isfinite(values))[0])
                raise ValueError(f"{role}: {name} contain {values[bad]} at sample "
                                 f"{offset + bad[0]} (index {bad[1:] or ()}); NaN/inf would "
                                 "poison training: clean or drop these samples")
            if position == 1 and num_classes is not None:
                try:
                    check_labels(values, num_classes, name=f"{role}: labels")
                except ValueError as error:
                    raise ValueError(f"{error} (the model has {num_classes} outputs; sample "
                                     f"indices counted from {offset})") from None

    # --- one training step -----------------------------------------------------------------
    def objective(self, output, y, penalties: bool = True):
        """The training objective of a model output: the loss (the weighted sum over the
        outputs of a deeply supervised model) plus the penalties (unless penalties=False)."""
        if isinstance(output, (tuple, list)):
            if self.deep_supervision is None:
                raise ValueError(f"Trainer: the model returned {len(output)} outputs (deep "
                                 "supervision); pass loss_weights=[1.0, 0.3, ...] with one "
                                 "weight per output, main first")
            loss = self.deep_supervision(output, y)
        elif self.deep_supervision is not None and len(self.deep_supervision.loss_weights) > 1:
            raise ValueError(f"Trainer: loss_weights has "
                             f"{len(self.deep_supervision.loss_weights)} entries but the "
                             "model returned a single output in training mode")
        else:
            loss = self.loss_fn(output, y)
        penalty = penalty_total(self.penalties) if penalties else None
        return loss if penalty is None else loss + penalty

    def train_step(self, x, y):
        """One update on a batch; returns (objective value, main output array). A non-finite
        objective skips the backward pass and the update."""
        if self.input_noise_std > 0:
            noise = randn(*x.shape, generator=self.generator, dtype=x.dtype)
            x = x + noise * self.input_noise_std
        output = self.model(x)
        objective = self.objective(output, y)
        value = float(objective.data)
        if math.isfinite(value):
            self.optimizer.zero_grad()
            distributed = isinstance(self.optimizer, DistributedOptimizer)
            if distributed:  # ranks count in proportion to their samples
                self.optimizer.set_local_samples(len(x))
            objective.backward()
            if self.grad_clip_norm is not None:
                if distributed:  # clip the gradient averaged over the ranks
                    self.optimizer.synchronize()
                clip_grad_norm_(self.model.parameters(), self.grad_clip_norm)
            self.optimizer.step()
        return value, _main(output).data

    def _train_epoch(self, loader, epoch, callbacks, metrics, loss_metric):
        self.model.train()
        batch_logs = callbacks.wants_batch_logs
        for batch_index, batch in enumerate(loader):
            x, y = _split_batch(batch, "training data")
            size = len(x)
            if batch_logs:
                callbacks.on_batch_begin(batch_index, {"batch": batch_index, "size": size})
            value, main = self.train_step(x, y)
            self.step += 1
            loss_metric.update_value(value, size)
            if y is not None:
                target = y.data
                for metric in metrics:
                    metric.update(main, target)
            if batch_logs:
                logs = {"batch": batch_index, "size": size, "batch_loss": value,
                        "loss": loss_metric.result()}
                for metric in metrics:
                    logs[metric.name] = metric.result()
                callbacks.on_batch_end(batch_index, logs)
            if not math.isfinite(value) and not self.stop_training:
                raise FloatingPointError(
                    f"Trainer: the loss is {value} at epoch {epoch + 1}, batch "
                    f"{batch_index + 1} (step {self.step}); the update was skipped. Lower the "
                    "learning rate, clip gradients (grad_clip_norm) or check the data; add "
                    "TerminateOnNaN() to stop quietly instead")
            if self.stop_training:
                break

    # --- fit / evaluate / predict ----------------------------------------------------------
    def fit(self, train_data, epochs: int = 1, validation_data=None, initial_epoch: int = 0,
            verbose: int = 1, callbacks=(), batch_size: int = 32, shuffle: bool = True):
        """Train for epochs initial_epoch .. epochs-1 and return the History (with
        initial_epoch == epochs no epoch runs, only on_train_begin and on_train_end).

        `train_data` / `validation_data`: DataLoaders (or Datasets / (x, y) tuples, batched
        with `batch_size`, the training data shuffled). `callbacks` are added to the
        Trainer's own for this call. `verbose=1` shows a ProgressBar unless one is given.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"fit: epochs must be an integer >= 1, got epochs={epochs!r}")
        if not 0 <= initial_epoch <= epochs:
            raise ValueError(f"fit: initial_epoch must be in [0, epochs={epochs}], got "
                             f"{initial_epoch!r}")
        train = as_loader(train_data, batch_size, shuffle, self.generator, "training data")
        val = (as_loader(validation_data, batch_size, False, None, "validation data")
               if validation_data is not None else None)
        self.check_data(train, "training data")
        if val is not None:
            self.check_data(val, "validation data")

        history = History()
        extra = list(self.callbacks) + list(callbacks)
        if verbose and not any(isinstance(c, (ProgressBar, NotebookProgress)) for c in extra):
            extra.append(progress_display())
        # History last (as in Keras): it records the logs as the other callbacks left them
        callbacks = CallbackList(extra + [history], self)
        metrics = [get_metric(m) for m in self.metric_names]
        loss_metric = Loss()
        self.stop_training = False
        self.step = 0
        self.params = {"epochs": epochs, "initial_epoch": initial_epoch,
                       "steps": len(train) if hasattr(train, "__len__") else None}
        callbacks.on_train_begin({})
        for epoch in range(initial_epoch, epochs):
            self.epoch = epoch
            if self.deep_supervision is not None:
                self.deep_supervision.set_epoch(epoch, epochs)
            callbacks.on_epoch_begin(epoch, {})
            lr = float(self.optimizer.param_groups[0]["lr"])
            loss_metric.reset()
            for metric in metrics:
                metric.reset()
            self._train_epoch(train, epoch, callbacks, metrics, loss_metric)
            allreduce_metrics([loss_metric] + metrics)  # several ranks: the global batch's
            logs = {"loss": loss_metric.result()}
            for metric in metrics:
                logs[metric.name] = metric.result()
            if val is not None:
                for key, value in self.evaluate(val).items():
                    logs["val_" + key] = value
            logs["lr"] = lr
            callbacks.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        callbacks.on_train_end({})
        return history

    def evaluate(self, data, batch_size: int = 256) -> dict:
        """{"loss": mean main-output loss, <metric>: value} over `data`, in eval mode under
        no_grad; the model's previous mode is restored afterwards."""
        loader = as_loader(data, batch_size, False, None, "evaluation data")
        metrics = [get_metric(m) for m in self.metric_names]
        loss_metric = Loss()
        was_training = self.model.training
        self.model.eval()
        try:
            with no_grad():
                for batch in loader:
                    x, y = _split_batch(batch, "evaluation data")
                    main = _main(self.model(x))
                    if y is None:
                        raise ValueError("evaluate: the data has no labels; use predict()")
                    loss_metric.update_value(float(self.loss_fn(main, y).data), len(x))
                    for metric in metrics:
                        metric.update(main.data, y.data)
        finally:
            self.model.train(was_training)
        allreduce_metrics([loss_metric] + metrics)  # several ranks: sums over their shards
        if loss_metric.count == 0:
            raise ValueError("evaluate: the data yielded no batches")
        results = {"loss": loss_metric.result()}
        results.update({metric.name: metric.result() for metric in metrics})
        return results

    def predict(self, data, batch_size: int = 256) -> np.ndarray:
        """The main output for every sample (e.g. logits), as one ndarray, in eval mode."""
        return predict(self.model, data, batch_size)


def predict(model, data, batch_size: int = 256) -> np.ndarray:
    """model's main output on `data` (array, Tensor, Dataset or loader), eval mode, no_grad."""
    if isinstance(data, (np.ndarray, Tensor)):
        array = data.data if isinstance(data, Tensor) else np.asarray(data)
        if array.dtype.kind == "f" and array.dtype != np.float64:
            array = array.astype(np.float32, copy=False)
        batches = ((Tensor._wrap(array[i:i + batch_size]),)
                   for i in range(0, len(array), batch_size))
    else:
        batches = as_loader(data, batch_size, False, None, "predict data")
    outputs = []
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            for batch in batches:
                x, _ = _split_batch(batch, "predict data")
                outputs.append(_main(model(x)).data)
    finally:
        model.train(was_training)
    if not outputs:
        raise ValueError("predict: no samples given")
    return np.concatenate(outputs, axis=0)


def fit(model, train_data, epochs: int = 1, *, loss="cross_entropy", optimizer="adam",
        lr: float = 1e-3, validation_data=None, batch_size: int = 32, metrics=("accuracy",),
        callbacks=(), verbose: int = 1, initial_epoch: int = 0, **trainer_kwargs):
    """Train `model` in one call; returns (History, Trainer).

    `optimizer` is an Optimizer or a registered optimizer name ("sgd", "adam", "Adam",
    "adamw", "rmsprop", ...; see deepgrad.registry) created with `lr`. Other keyword arguments go to
    Trainer (grad_clip_norm, penalties, loss_weights, generator, ...).
    """
    if not isinstance(optimizer, Optimizer):
        optimizer = get_optimizer(optimizer, model.parameters(), lr)
    trainer = Trainer(model, loss, optimizer, metrics=metrics, **trainer_kwargs)
    history = trainer.fit(train_data, epochs, validation_data=validation_data,
                          initial_epoch=initial_epoch, verbose=verbose, callbacks=callbacks,
                          batch_size=batch_size)
    return history, trainer
