"""Training protocols: k-fold cross-validation and bagging.

Both build fresh models through a user function `build_model(generator) -> Module`, which
must draw its initial weights from `generator` (e.g. pass it to every layer), so that each
fold / member gets its own reproducible initialization from the one seed given here.

Optimizers are given as a registered name with `lr` ("adam", "sgd", "AdamW", ...) or as a
function `make_optimizer(parameters) -> Optimizer` (see `get_optimizer`).
"""

from __future__ import annotations

import numpy as np

from deepgrad.data import DataLoader, KFold, Subset, TensorDataset, bootstrap_indices
from deepgrad.nn import functional as F
from deepgrad.random import get_generator
from deepgrad.tensor import Tensor
from deepgrad.training.trainer import Trainer, get_optimizer, predict


def _as_dataset(data, owner: str):
    if isinstance(data, tuple):
        lengths = [len(a) for a in data]
        if len(set(lengths)) != 1:
            raise ValueError(f"{owner}: features and labels have different lengths {lengths}")
        return TensorDataset(*data)
    if not hasattr(data, "__len__") or not hasattr(data, "__getitem__"):
        raise TypeError(f"{owner}: expected a Dataset or a tuple (x, y) of arrays, got "
                        f"{type(data).__name__}")
    if len(data) == 0:
        raise ValueError(f"{owner}: the dataset is empty (0 samples)")
    return data


def _seeds(generator, count: int) -> list:
    return [int(s) for s in get_generator(generator).integers(2**63, size=count)]


def cross_validate(build_model, dataset, k: int = 5, *, loss="cross_entropy",
                   optimizer="adam", lr: float = 1e-3, epochs: int = 10, batch_size: int = 32,
                   metrics=("accuracy",), callbacks=(), generator=None, verbose: int = 0,
                   **trainer_kwargs) -> dict:
    """K-fold cross-validation: train k models, each validated on the fold it did not see.

    The samples are shuffled once (from `generator`) and cut into k folds (`KFold`); round j
    trains a fresh `build_model(g_j)` on the other k - 1 folds and evaluates it on fold j.

    Args:
        build_model: function (generator) -> Module, a fresh model per fold.
        dataset: a Dataset or a tuple (x, y) of arrays.
        callbacks: a list of Callbacks, or a function (fold) -> list, for each fold's fit.
        generator: int seed or numpy Generator; everything random derives from it.
        trainer_kwargs: passed to Trainer (grad_clip_norm, penalties, ...).

    Returns:
        {"folds": [{"loss": .., "accuracy": .., ...} per fold], "mean": {..}, "std": {..}
        (population std over folds), "histories": [History per fold],
        "indices": [(train_idx, val_idx) per fold]}.
    """
    dataset = _as_dataset(dataset, "cross_validate")
    root = get_generator(generator)
    split_seed, *fold_seeds = _seeds(root, 1 + k)
    folds = list(KFold(k, shuffle=True, generator=split_seed).split(len(dataset)))
    results, histories = [], []
    for fold, (train_idx, val_idx) in enumerate(folds):
        init_seed, data_seed, noise_seed = _seeds(fold_seeds[fold], 3)
        model = build_model(np.random.default_rng(init_seed))
        trainer = Trainer(model, loss, get_optimizer(optimizer, model.parameters(), lr),
                          metrics=metrics, generator=noise_seed, **trainer_kwargs)
        train = DataLoader(Subset(dataset, train_idx), batch_size, shuffle=True,
                           generator=data_seed)
        val = DataLoader(Subset(dataset, val_idx), max(batch_size, 256))
        fold_callbacks = callbacks(fold) if callable(callbacks) else list(callbacks)
        histories.append(trainer.fit(train, epochs, verbose=verbose, callbacks=fold_callbacks))
        results.append(trainer.evaluate(val))
    keys = list(results[0])
    mean = {key: float(np.mean([r[key] for r in results])) for key in keys}
    std = {key: float(np.std([r[key] for r in results])) for key in keys}
    return {"folds": results, "mean": mean, "std": std, "histories": histories,
            "indices": folds}


class Bagging:
    """Bootstrap aggregating: n models, each trained on a bootstrap resample, averaged.

    Member m is trained on n samples drawn with replacement (`bootstrap_indices`). The
    ensemble predicts

        classification:  p(x) = (1/M) sum_m softmax(z_m(x))     (probabilities)
        regression:      f(x) = (1/M) sum_m f_m(x)

    Averaging M models with independent errors divides their variance by up to M, which is
    why bagging helps high-variance learners (large networks on small, noisy data).

    Args:
        build_model: function (generator) -> Module.
        n_models: ensemble size M.
        task: "classification" (loss cross_entropy by default) or "regression" (mse).
        generator: int seed or Generator from which every member's seeds derive.
    """

    def __init__(self, build_model, n_models: int = 5, task: str = "classification",
                 generator=None):
        if isinstance(n_models, bool) or not isinstance(n_models, int) or n_models < 1:
            raise ValueError(f"Bagging: n_models must be an integer >= 1, got {n_models!r}")
        if task not in ("classification", "regression"):
            raise ValueError(f"Bagging: task must be 'classification' or 'regression', got "
                             f"{task!r}")
        self.build_model = build_model
        self.n_models = n_models
        self.task = task
        self.generator = get_generator(generator)
        self.models = []
        self.bootstrap = []
        self.histories = []

    def fit(self, dataset, *, loss=None, optimizer="adam", lr: float = 1e-3, epochs: int = 10,
            batch_size: int = 32, metrics=None, callbacks=(), verbose: int = 0,
            **trainer_kwargs) -> "Bagging":
        """Train the M members; returns self. Arguments as in `cross_validate`."""
        dataset = _as_dataset(dataset, "Bagging.fit")
        if loss is None:
            loss = "cross_entropy" if self.task == "classification" else "mse"
        if metrics is None:
            metrics = ("accuracy",) if self.task == "classification" else ("mse",)
        n = len(dataset)
        self.models, self.bootstrap, self.histories = [], [], []
        for member_seed in _seeds(self.generator, self.n_models):
            init_seed, sample_seed, data_seed, noise_seed = _seeds(member_seed, 4)
            indices = bootstrap_indices(n, generator=sample_seed)
            model = self.build_model(np.random.default_rng(init_seed))
            trainer = Trainer(model, loss, get_optimizer(optimizer, model.parameters(), lr),
                              metrics=metrics, generator=noise_seed, **trainer_kwargs)
            loader = DataLoader(Subset(dataset, indices), batch_size, shuffle=True,
                                generator=data_seed)
            self.histories.append(trainer.fit(loader, epochs, verbose=verbose,
                                              callbacks=list(callbacks)))
            self.models.append(model)
            self.bootstrap.append(indices)
        return self

    def predict_members(self, x, batch_size: int = 256) -> np.ndarray:
        """Each member's prediction (probabilities or values), shape (M, N, ...)."""
        if not self.models:
            raise RuntimeError("Bagging: call fit() before predict()")
        outputs = []
        for model in self.models:
            out = predict(model, x, batch_size)
            if self.task == "classification":
                out = F.softmax(Tensor._wrap(out), dim=1).data
            outputs.append(out)
        return np.stack(outputs)

    def predict(self, x, batch_size: int = 256) -> np.ndarray:
        """The ensemble's mean probabilities (classification) or values (regression)."""
        return self.predict_members(x, batch_size).mean(axis=0)

    def __repr__(self):
        return f"Bagging({self.n_models} models, {self.task}, trained={bool(self.models)})"

