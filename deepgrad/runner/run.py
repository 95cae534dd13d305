"""Run: one training run from a validated config, in its run directory.

    run = Run.from_config("examples/spirals.yaml", run_dir="runs/try1",
                          overrides=["training.epochs=5"])
    run.fit()                       # trains; writes the run directory (docs/run_directory.md)
    run.evaluate("test")            # {"loss": ..., "accuracy": ...}

    run = Run.from_config("examples/spirals.yaml", run_dir="runs/try1", resume=True)
    run.fit()                       # continues after the last saved epoch, bit-exactly

`deepgrad train`, sweeps and data-parallel training all go through this object; the Python
API's `Trainer` is the loop it drives. `fit(callbacks=[...])` adds callbacks for this call
(e.g. a sweep's pruning callback); they are part of the saved callback states like the
configured ones, so a resume must pass the same ones again.
"""

from __future__ import annotations

import copy
import os
import shutil
import time

from deepgrad.runner import layout, parallel
from deepgrad.runner import state as rng
from deepgrad.training.callbacks import Callback, Monitor, improved_message
from deepgrad.training.notebook import progress_display


class RunError(Exception):
    """A problem with a run directory or a resume (the message says what to do)."""


class Run:
    """Model, data, loss, optimizer, schedule and callbacks of a config, and their training.

    Attributes: config (the validated config), run_dir, model, loss, loss_weights,
    optimizer, scheduler, train_loader / val_loader / test_loader, callbacks (the configured
    ones, the schedule's first), trainer, generators (the named random streams), standardizer,
    and the progress: history (one dict of logs per epoch), epoch, step, elapsed, best
    ({"monitor", "mode", "value", "epoch"}), finished, stopped_early.

    With `write=False` nothing is written to disk (no run directory is created): for runs that
    are only evaluated, and for the ranks other than 0 of data-parallel training.
    """

    def __init__(self, config: dict, run_dir=None, write: bool = True):
        from deepgrad.config import (build_callbacks, build_datasets, build_losses,
                                     build_model, build_optimizer, build_schedule)
        from deepgrad.config.build import build_augment, penalties
        from deepgrad.data import DataLoader
        from deepgrad.training import Trainer, seed_everything

        self.config = config
        self.run_dir = os.fspath(run_dir) if run_dir is not None else config["output_dir"]
        self.write = write and parallel.writes()   # several ranks: rank 0 writes
        self._follows = write and not parallel.writes()  # mirrors rank 0's collectives
        training = config["training"]
        self.generators = seed_everything(training["seed"])
        self.model = build_model(config["model"], self.generators)
        self.losses, self.loss, self.loss_weights = build_losses(config)
        self.optimizer = build_optimizer(config["optimizer"], self.model)
        self.scheduler = build_schedule(config["schedule"], self.optimizer)
        train, val, test, self.standardizer = build_datasets(config["data"], self.generators)
        self.train_loader = DataLoader(train, training["batch_size"], shuffle=True,
                                       generator=self.generators["data"],
                                       transform=build_augment(config["data"]["augment"]),
                                       num_workers=config["data"]["num_workers"])
        eval_size = training["eval_batch_size"]
        self.val_loader = DataLoader(val, eval_size) if val is not None else None
        self.test_loader = DataLoader(test, eval_size) if test is not None else None
        layout.check_callback_paths(self.run_dir, config)
        self.callbacks = build_callbacks(config, self.scheduler, self.run_dir)
        regularization = config["regularization"]
        self.trainer = Trainer(self.model, self.loss, self.optimizer,
                               metrics=list(training["metrics"]),
                               grad_clip_norm=regularization["grad_clip"],
                               input_noise_std=regularization["input_noise"],
                               penalties=penalties(regularization),
                               loss_weights=self.loss_weights,
                               aux_weight_decay=training["aux_weight_decay"],
                               generator=self.generators["noise"])
        self.history, self.epoch, self.step, self.elapsed = [], 0, 0, 0.0
        self._verbose = False             # say what the run did (training.verbose)
        self.finished = self.stopped_early = False
        self.monitor = self._monitor()
        self.best = {"monitor": self.monitor.monitor, "mode": self.monitor.mode,
                     "value": None, "epoch": None}
        self.resumed_from = None
        self._pending_states = None       # callback states to restore at train begin
        self._fit_callbacks = []          # the callbacks of the current fit, in order
        parallel.distribute(self)         # several MPI ranks: shard data, average gradients

    # --- construction -----------------------------------------------------------------------
    @classmethod
    def from_config(cls, config, run_dir=None, overrides=(), resume: bool = False,
                    write: bool = True) -> "Run":
        """A Run from a config file (path), a config dict (raw or validated) and `--set`-style
        overrides. The run directory is `run_dir`, else the config's `output_dir`, else
        runs/<name> (a file without name or output_dir: runs/<file stem>). With `resume=True`
        the run continues from <run_dir>/checkpoints/last.safetensors with the stored config
        (plus `overrides`, e.g. more epochs)."""
        from deepgrad.config import apply_overrides, load_config, validate_config

        if isinstance(config, dict):
            raw = copy.deepcopy(config)
            if overrides:
                apply_overrides(raw, list(overrides))
            resolved = validate_config(raw)
            default_dir = resolved["output_dir"]
        else:
            path = os.fspath(config)
            resolved = load_config(path, overrides)
            default_dir = layout.default_run_dir(path, resolved)
        run_dir = os.fspath(run_dir) if run_dir is not None else default_dir
        checkpoint = None
        if resume:
            checkpoint, resolved = cls._stored_config(run_dir, overrides)
        resolved["output_dir"] = run_dir
        if checkpoint is None:
            return cls(resolved, run_dir, write=write)
        from deepgrad.io import building_from

        with building_from(checkpoint):   # no bigger model than the checkpoint stores
            run = cls(resolved, run_dir, write=write)
        run.restore(checkpoint)
        return run

    @staticmethod
    def _stored_config(run_dir: str, overrides) -> tuple:
        from deepgrad.config import apply_overrides, load_run_checkpoint, validate_config

        last = layout.last_checkpoint(run_dir)
        if not os.path.exists(last):
            raise RunError(f"--resume: no checkpoint to resume from at {last} (the run "
                           "directory is chosen by --out, the config's output_dir, or "
                           "runs/<name>); start the run without --resume")
        checkpoint = load_run_checkpoint(last)
        from deepgrad.io.schema import RESUME

        missing = [key for key in RESUME if key not in (checkpoint.metadata or {})]
        if missing or checkpoint.config is None:
            raise RunError(f"{last}: cannot resume: the checkpoint lacks "
                           f"{['metadata.' + k for k in missing] or ['config']} (it was not "
                           "written by `deepgrad train`)")
        config = copy.deepcopy(checkpoint.config)
        if overrides:
            apply_overrides(config, list(overrides))
            config = validate_config(config, source=f"{last} (stored config) with --set")
        return checkpoint, config

    def _monitor(self) -> Monitor:
        """What decides the best checkpoint: the first configured callback that watches a
        quantity, else the first metric (on validation data when there is some)."""
        has_validation = self.val_loader is not None
        for callback in self.callbacks:
            watch = getattr(callback, "watch", None)
            if isinstance(watch, Monitor):
                name = watch.monitor
                if not has_validation and name.startswith("val_"):
                    name = name[4:]
                return Monitor("run", name, watch.mode)
        metric = (self.config["training"]["metrics"] or ["loss"])[0]
        return Monitor("run", ("val_" if has_validation else "") + metric)

    # --- training ---------------------------------------------------------------------------
    @property
    def epochs(self) -> int:
        return self.config["training"]["epochs"]

    @property
    def complete(self) -> bool:
        return self.finished and (self.stopped_early or self.epoch >= self.epochs)

    def fit(self, callbacks=(), verbose=None, report: bool = True):
        """Train until `training.epochs` (or an early stop), writing the run directory after
        every epoch; a resumed run continues where its checkpoint ended. `callbacks` are added
        after the configured ones for this call. Writes report.html at the end unless
        `report=False`. Returns the list of epoch logs of the whole run."""
        if self.write:
            os.makedirs(layout.checkpoint_dir(self.run_dir), exist_ok=True)
            layout.write_config(self.run_dir, self.config)
            if self.resumed_from is None:
                layout.clear_tensorboard(self.run_dir)
            layout.write_metrics(self.run_dir, self.history)
        if not self.complete:
            verbose = self.config["training"]["verbose"] if verbose is None else verbose
            verbose = verbose if parallel.writes() else 0
            extra = list(callbacks) + (layout.log_callbacks(self.run_dir, self.config)
                                            if self.write else [])
            # the epoch's line first, then what the run did at its end; a display has no
            # state, so it is not one of the callbacks whose states a checkpoint keeps
            display = [progress_display()] if verbose else []
            # ranks other than 0 run no callback that writes files
            self._fit_callbacks = parallel.local_callbacks(list(self.callbacks) + extra)
            self.finished = False
            self._verbose = bool(verbose)
            # no epoch left (killed after the last epoch's checkpoint): fit runs no epoch but
            # the callbacks' on_train_end (early stopping's restore of the best weights)
            self.trainer.fit(self.train_loader, self.epochs, validation_data=self.val_loader,
                             initial_epoch=self.epoch, verbose=verbose,
                             callbacks=self._fit_callbacks + display + [_Recorder(self)])
        if report and (self.write or self._follows):
            self.write_report()
        return self.history

    def evaluate(self, split: str = "test") -> dict:
        """{"loss": ..., <metric>: ...} of the current model on one split of the data."""
        loaders = {"train": self.train_loader, "validation": self.val_loader,
                   "test": self.test_loader}
        if split not in loaders:
            raise ValueError(f"evaluate: split must be one of {', '.join(loaders)}, got "
                             f"{split!r}")
        if loaders[split] is None:
            raise ValueError(f"evaluate: the config gives no {split} data")
        return self.trainer.evaluate(loaders[split])

    def preprocess(self, x):
        """Arrays of raw samples as the model sees them: flattened and standardized as the
        config's preprocessing did to the training data."""
        if self.config["data"]["preprocessing"]["flatten"]:
            x = x.reshape(len(x), -1)
        if self.standardizer is not None:
            x = self.standardizer.transform(x)
        return x

    def final_metrics(self) -> dict:
        """{split: metrics} for the validation and test splits the run has."""
        return {split: self.evaluate(split) for split, loader in
                (("validation", self.val_loader), ("test", self.test_loader))
                if loader is not None}

    def write_report(self, final_metrics=None) -> str:
        """report.html (curves, final metrics, the doctor's report); returns its path. On a
        rank other than 0 nothing is written, but the evaluation is shared with rank 0."""
        if final_metrics is None:
            final_metrics = self.final_metrics()
        if not parallel.writes():
            parallel.follow_report(self)
            return os.path.join(self.run_dir, layout.REPORT_FILE)
        if self.write and self.history:
            layout.log_final_metrics(self, {k: v for k, v in final_metrics.items()
                                            if k == "test"})
        return layout.write_report(self, final_metrics)

    # --- checkpoints ------------------------------------------------------------------------
    def callback_states(self) -> tuple:
        """([{"position", "type", "state"}], ...) of every callback of the current fit."""
        return [{"position": i, "type": type(c).__name__, "state": c.state_dict()}
                for i, c in enumerate(self._fit_callbacks)]

    def save(self, path) -> str:
        """The full run state after the latest epoch (see docs/run_directory.md)."""
        from deepgrad.io import save_checkpoint

        arrays = {}
        if self.standardizer is not None:
            arrays = {"standardize/mean": self.standardizer.mean,
                      "standardize/std": self.standardizer.std}
        sizes = {split: len(loader.dataset) for split, loader in
                 (("train", self.train_loader), ("validation", self.val_loader),
                  ("test", self.test_loader)) if loader is not None}
        metadata = {
            "history": self.history, "callbacks": self.callback_states(),
            "elapsed": self.elapsed, "best": self.best, "finished": self.finished,
            "stopped_early": self.stopped_early, "loader": self.train_loader.state_dict(),
            "input_shape": layout.input_shape(self.train_loader),
            "dataset": self.config["data"]["dataset"], "sizes": sizes,
            "epochs_planned": self.epochs,
        }
        metrics = {k: [row.get(k, float("nan")) for row in self.history]
                   for k in dict.fromkeys(k for row in self.history for k in row)}
        return save_checkpoint(path, self.model, self.optimizer, tensors=arrays,
                               metadata=metadata, rng_states=rng.rng_states(self),
                               epoch=self.epoch, step=self.step, config=self.config,
                               metrics=metrics)

    def restore(self, checkpoint) -> None:
        """Put a run checkpoint back: weights, optimizer, random streams, data order and
        progress now; the callbacks' states when the next fit begins."""
        from deepgrad.io import restore

        restore(checkpoint, self.model, self.optimizer)
        meta = checkpoint.metadata
        self.train_loader.load_state_dict(meta["loader"])
        rng.restore_rng_states(self, checkpoint.rng_states)
        self.history = [dict(row) for row in meta["history"]]
        self.elapsed = float(meta["elapsed"])
        self.epoch, self.step = int(checkpoint.epoch), int(checkpoint.step)
        self.best = dict(meta["best"])
        self.finished, self.stopped_early = meta["finished"], meta["stopped_early"]
        self.resumed_from = self.epoch
        self._pending_states = parallel.local_states(meta["callbacks"])
        parallel.synchronize(self)

    def _restore_callbacks(self) -> None:
        states, self._pending_states = self._pending_states, None
        if states is None:
            return
        saved = [s["type"] for s in states]
        current = [type(c).__name__ for c in self._fit_callbacks]
        if saved != current:
            raise RunError(f"{layout.last_checkpoint(self.run_dir)}: the checkpoint holds the "
                           f"states of the callbacks {saved}, but this run has {current}; "
                           "resume with the same callbacks (config and fit(callbacks=...))")
        for entry, callback in zip(states, self._fit_callbacks):
            callback.load_state_dict(entry["state"])

    def _end_epoch(self, epoch: int, logs: dict, trainer_step: int) -> None:
        self.history.append({k: float(v) for k, v in logs.items()})
        self.epoch, self.step = epoch + 1, self._base_step + trainer_step
        value = logs.get(self.monitor.monitor)
        previous = self.best["value"]
        improved = self.monitor.improved(value, previous)
        if improved:
            self.best.update(value=float(value), epoch=epoch + 1)
        if not self.write:
            return
        last = layout.last_checkpoint(self.run_dir)
        self.save(last)
        if improved:
            best = layout.best_checkpoint(self.run_dir)
            shutil.copyfile(last, best + ".tmp")
            os.replace(best + ".tmp", best)
        layout.write_metrics(self.run_dir, self.history)
        if self._verbose and value is not None:
            self._say(f"Epoch {epoch + 1}: " + (
                f"{improved_message(self.monitor.monitor, previous, value)}, saving to "
                f"{layout.best_checkpoint(self.run_dir)}" if improved else
                f"{self.monitor.monitor} did not improve from {self.best['value']:.4f}"))

    def _say(self, text: str) -> None:
        print(text, flush=True)

    def _say_stop(self) -> None:
        """The early-stopping callback's own sentence, once training ended."""
        for callback in self._fit_callbacks:
            if self._verbose and getattr(callback, "stopped_epoch", -1) >= 0 \
                    and hasattr(callback, "message") and not getattr(callback, "verbose", 0):
                self._say(callback.message())


class _Recorder(Callback):
    """The run's own bookkeeping, the last callback of a fit: restores the callbacks' states
    of a resumed run (after their on_train_begin reset them), then saves the run state after
    every epoch, once the other callbacks have counted and the schedule has stepped."""

    def __init__(self, run: Run):
        self.run = run

    def on_train_begin(self, logs=None):
        self.run._restore_callbacks()
        self.run._base_step = self.run.step
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        self.run.elapsed += now - self.started
        self.started = now
        self.run._end_epoch(epoch, logs or {}, self.trainer.step)

    def on_train_end(self, logs=None):
        # after early stopping may have put the best weights back
        run = self.run
        run.finished = True
        run.stopped_early = bool(self.trainer.stop_training)
        run._say_stop()
        if run.write:
            run.save(layout.last_checkpoint(run.run_dir))

