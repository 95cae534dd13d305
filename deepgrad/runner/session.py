"""`deepgrad train`: a run directory around `deepgrad.config.build_run`.

    runs/<name>/
      config.yaml          the config as resolved (defaults filled in, --set applied)
      metrics.csv          one row per epoch: epoch, loss, metrics, val_*, lr
      checkpoints/
        last.safetensors   the full run state after the latest epoch (see runner/state.py)
        best.safetensors   the same, at the epoch with the best monitored value
      tb/                  TensorBoard event files (tensorboard --logdir runs/<name>/tb)
      report.html          curves, final metrics, the doctor's report (self-contained)

`train_run(config_path, overrides, out_dir, resume)` trains (or resumes) and returns a
`TrainResult` with the final metrics.
"""

from __future__ import annotations

import copy
import csv
import os
import sys
from dataclasses import dataclass, field

import numpy as np

from deepgrad.runner import state as run_state

CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.csv"
TB_DIR = "tb"
REPORT_FILE = "report.html"


class RunError(Exception):
    """A problem with a run directory or a resume (the message says what to do)."""


@dataclass
class TrainResult:
    run_dir: str
    history: list
    final_metrics: dict = field(default_factory=dict)
    best: dict = field(default_factory=dict)
    elapsed: float = 0.0
    resumed_from: "int | None" = None
    report_path: str = ""


def default_run_dir(config_path, raw_config: dict, config: dict) -> str:
    """training.output_dir / output_dir if the file sets it, else runs/<name> when the file
    names the run, else runs/<config file stem>."""
    if isinstance(raw_config, dict) and (raw_config.get("output_dir")
                                         or raw_config.get("name")):
        return config["output_dir"]
    stem = os.path.splitext(os.path.basename(os.fspath(config_path)))[0]
    return os.path.join("runs", stem)


def dump_config(config: dict, path: str) -> None:
    import yaml

    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as stream:
        stream.write("# the config of this run, as resolved (defaults filled in, --set "
                     "applied)\n")
        yaml.safe_dump(config, stream, sort_keys=False, default_flow_style=None)
    os.replace(temporary, path)


def monitor_of(config: dict, has_validation: bool) -> tuple:
    """(monitor, mode) deciding which checkpoint is "best"."""
    callbacks = config["training"]["callbacks"]
    for key in ("checkpoint", "early_stopping"):
        spec = callbacks.get(key)
        if spec:
            monitor, mode = spec["monitor"], spec.get("mode", "auto")
            break
    else:
        metric = (config["training"]["metrics"] or ["loss"])[0]
        monitor = ("val_" if has_validation else "") + metric
        mode = "auto"
    if not has_validation and monitor.startswith("val_"):
        monitor = monitor[4:]
    if mode == "auto":
        mode = "max" if "acc" in monitor else "min"
    return monitor, mode


def input_shape_of(run) -> list:
    dataset = run.train_loader.dataset
    sample = dataset[0]
    first = sample[0]
    return list(np.shape(getattr(first, "data", first)))


class Session:
    """The state of one `deepgrad train` invocation (new run or resume)."""

    def __init__(self, run, run_dir: str, config_path: str):
        self.run = run
        self.run_dir = run_dir
        self.config_path = config_path
        ckpt_dir = os.path.join(run_dir, run_state.CHECKPOINT_DIR)
        os.makedirs(ckpt_dir, exist_ok=True)
        self.last_path = os.path.join(ckpt_dir, run_state.LAST)
        self.best_path = os.path.join(ckpt_dir, run_state.BEST)
        self.history = []
        self.elapsed = 0.0
        self.epoch = 0
        self.step = 0
        self.base_step = 0
        self.finished = False
        self.stopped_early = False
        self.monitor, self.mode = monitor_of(run.config, run.val_loader is not None)
        self.best_value = None
        self.best_epoch = None
        self.pending_callbacks = None   # callback states to restore at train begin
        self.input_shape = input_shape_of(run)

    # --- the callbacks the run directory provides ----------------------------------------
    def trainer_callbacks(self) -> list:
        """The config's callbacks minus the ones the run directory replaces."""
        from deepgrad.training import CSVLogger, ModelCheckpoint, TensorBoard

        return [c for c in self.run.callbacks
                if not isinstance(c, (CSVLogger, TensorBoard, ModelCheckpoint))]

    def stateful_callbacks(self) -> list:
        return self.run.trainer().callbacks

    # --- saving ------------------------------------------------------------------------------
    def metadata(self) -> tuple:
        states, arrays = [], {}
        for i, callback in enumerate(self.stateful_callbacks()):
            plain, tensors = run_state.callback_state(callback)
            states.append({"type": type(callback).__name__, "state": plain})
            arrays.update({f"callback{i}/{k}": v for k, v in tensors.items()})
        run = self.run
        data = run.config["data"]
        sizes = {split: len(loader.dataset) for split, loader in
                 (("train", run.train_loader), ("validation", run.val_loader),
                  ("test", run.test_loader)) if loader is not None}
        if run.standardizer is not None:
            mean, std = run.standardizer.mean, run.standardizer.std
            arrays["standardize/mean"], arrays["standardize/std"] = mean, std
        meta = {
            "history": self.history, "callbacks": states, "elapsed": self.elapsed,
            "best": {"monitor": self.monitor, "mode": self.mode, "value": self.best_value,
                     "epoch": self.best_epoch},
            "finished": self.finished, "stopped_early": self.stopped_early,
            "loader": run.train_loader.state_dict(),
            "scheduler_fallback": (run_state.scheduler_state(run.scheduler)
                                   if run.scheduler is not None
                                   and not hasattr(run.scheduler, "state_dict") else None),
            "input_shape": self.input_shape, "dataset": data["dataset"], "sizes": sizes,
            "epochs_planned": run.config["training"]["epochs"],
        }
        return meta, arrays

    def save(self, path: str) -> None:
        from deepgrad.io import save_checkpoint

        meta, arrays = self.metadata()
        scheduler = self.run.scheduler
        if scheduler is not None and not hasattr(scheduler, "state_dict"):
            scheduler = None
        metrics = {k: [row.get(k, float("nan")) for row in self.history]
                   for k in dict.fromkeys(k for row in self.history for k in row)}
        save_checkpoint(path, self.run.model, self.run.optimizer, scheduler,
                        tensors=arrays, metadata=meta, rng_states=run_state.rng_states(self.run),
                        epoch=self.epoch, step=self.step, config=self.run.config,
                        metrics=metrics)

    # --- resuming ----------------------------------------------------------------------------
    def restore(self, checkpoint) -> None:
        from deepgrad.io import restore

        run = self.run
        scheduler = run.scheduler if hasattr(run.scheduler, "state_dict") else None
        restore(checkpoint, run.model, run.optimizer, scheduler)
        meta = checkpoint.metadata
        if run.scheduler is not None and scheduler is None:
            run_state.load_scheduler_state(run.scheduler, meta.get("scheduler_fallback"))
        run.train_loader.load_state_dict(meta["loader"])
        run_state.restore_rng_states(run, checkpoint.rng_states)
        self.history = list(meta["history"])
        self.elapsed = float(meta["elapsed"])
        self.epoch = int(checkpoint.epoch)
        self.step = self.base_step = int(checkpoint.step)
        best = meta["best"]
        self.best_value, self.best_epoch = best["value"], best["epoch"]
        self.finished, self.stopped_early = meta["finished"], meta["stopped_early"]
        self.pending_callbacks = (meta["callbacks"], checkpoint.tensors)

    def restore_callbacks(self) -> None:
        if self.pending_callbacks is None:
            return
        states, tensors = self.pending_callbacks
        callbacks = self.stateful_callbacks()
        if [s["type"] for s in states] != [type(c).__name__ for c in callbacks]:
            raise RunError(f"the callbacks of the checkpoint ({[s['type'] for s in states]}) "
                           f"differ from the config's ({[type(c).__name__ for c in callbacks]})")
        for i, (saved, callback) in enumerate(zip(states, callbacks)):
            prefix = f"callback{i}/"
            arrays = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
            run_state.load_callback_state(callback, saved["state"], arrays)
        self.pending_callbacks = None

    def finish_interrupted_end(self) -> None:
        """A run killed after its last epoch's checkpoint but before training ended: do what
        on_train_end would have done (early stopping's restore of the best weights)."""
        self.restore_callbacks()
        for callback in self.stateful_callbacks():
            if getattr(callback, "restore_best_weights", False) and \
                    getattr(callback, "best_weights", None) is not None:
                self.run.model.load_state_dict(callback.best_weights)
        self.finished = True
        self.save(self.last_path)

    def rewrite_metrics_csv(self) -> str:
        """metrics.csv with exactly the epochs of the history (drops rows of an epoch that
        was logged but never checkpointed before a crash)."""
        path = os.path.join(self.run_dir, METRICS_FILE)
        keys = list(dict.fromkeys(k for row in self.history for k in row))
        with open(path, "w", newline="") as stream:
            writer = csv.writer(stream)
            if self.history:
                writer.writerow(["epoch"] + keys)
                for i, row in enumerate(self.history):
                    writer.writerow([i + 1] + [repr(float(row[k])) if k in row else ""
                                               for k in keys])
        return path


def _load_for_resume(run_dir: str, overrides):
    from deepgrad.config import apply_overrides, load_run_checkpoint, validate_config

    last = os.path.join(run_dir, run_state.CHECKPOINT_DIR, run_state.LAST)
    if not os.path.exists(last):
        raise RunError(f"--resume: no checkpoint to resume from at {last} (the run directory "
                       "is chosen by --out, the config's output_dir, or runs/<name>); start the "
                       "run without --resume")
    checkpoint = load_run_checkpoint(last)
    from deepgrad.io.schema import RESUME

    missing = [key for key in RESUME if key not in (checkpoint.metadata or {})]
    if missing or checkpoint.config is None:
        raise RunError(f"{last}: cannot resume: the checkpoint lacks "
                       f"{['metadata.' + k for k in missing] or ['config']} (it was not written "
                       "by `deepgrad train`)")
    config = copy.deepcopy(checkpoint.config)
    if overrides:
        apply_overrides(config, overrides)
        config = validate_config(config, source=f"{last} (stored config) with --set")
    return checkpoint, config


def _evaluate(run) -> dict:
    results = {}
    trainer = run.trainer()
    for split, loader in (("validation", run.val_loader), ("test", run.test_loader)):
        if loader is not None:
            results[split] = trainer.evaluate(loader)
    return results


def _doctor_html(run) -> "str | None":
    """The doctor's report on one training batch, run on a copy of the model."""
    try:
        from deepgrad.data import get_batch
        from deepgrad.diagnostics import diagnose

        model = copy.deepcopy(run.model)
        dataset = run.train_loader.dataset
        x, y = get_batch(dataset, np.arange(min(len(dataset), 256)))
        return diagnose(model, (x, y), loss_fn=run.loss).to_html()
    except Exception as error:  # the report is optional: say why it is missing
        import html

        return f"<p>(the doctor could not run: {html.escape(str(error))})</p>"


def _summary(session, result_metrics: dict) -> dict:
    run = session.run
    config = run.config
    summary = {"config": session.config_path, "model": type(run.model).__name__,
               "parameters": run.model.num_parameters(),
               "dataset": config["data"]["dataset"],
               "samples (train/validation/test)": "/".join(
                   str(len(l.dataset)) if l is not None else "-"
                   for l in (run.train_loader, run.val_loader, run.test_loader)),
               "optimizer": config["optimizer"]["type"],
               "epochs": f"{session.epoch} of {config['training']['epochs']}"
                         + (" (stopped early)" if session.stopped_early else ""),
               "seed": config["training"]["seed"],
               "training time (s)": round(session.elapsed, 1)}
    if session.best_value is not None:
        summary[f"best {session.monitor}"] = (f"{session.best_value:.4f} at epoch "
                                              f"{session.best_epoch}")
    return summary


def _clear_stale_events(tb_dir: str) -> None:
    """A fresh run in an existing directory: drop the event files of the previous run, whose
    curves TensorBoard would otherwise draw on top of the new ones."""
    if os.path.isdir(tb_dir):
        for name in os.listdir(tb_dir):
            if name.startswith("events.out.tfevents."):
                os.remove(os.path.join(tb_dir, name))


def _tensorboard_available() -> bool:
    """Import tensorboardX with torch hidden: tensorboardX imports torch when it is installed
    (only to recognise torch tensors), which costs seconds; deepgrad logs plain floats."""
    if "tensorboardX" in sys.modules:
        return True
    hide = "torch" not in sys.modules
    if hide:
        sys.modules["torch"] = None   # `import torch` raises ImportError, which it handles
    try:
        import tensorboardX  # noqa: F401
        return True
    except ImportError:
        return False
    finally:
        if hide:
            del sys.modules["torch"]


def train_run(config_path, overrides=(), out_dir=None, resume: bool = False,
              verbose=None, stream=None) -> TrainResult:
    """Train the run described by `config_path` (or resume it) in its run directory."""
    from deepgrad.config import build_run, load_config, parse_yaml
    from deepgrad.runner.report import write_report
    from deepgrad.training import CSVLogger, TensorBoard

    stream = stream if stream is not None else sys.stdout
    config = load_config(config_path, overrides)
    with open(config_path, encoding="utf-8") as handle:
        raw, _ = parse_yaml(handle.read(), os.fspath(config_path))
    run_dir = os.fspath(out_dir) if out_dir else default_run_dir(config_path, raw, config)
    checkpoint = None
    if resume:
        checkpoint, config = _load_for_resume(run_dir, overrides)
    config["output_dir"] = run_dir
    os.makedirs(run_dir, exist_ok=True)
    if checkpoint is not None:
        from deepgrad.io import building_from

        with building_from(checkpoint):
            run = build_run(config)
    else:
        run = build_run(config)
    trainer = run.trainer()
    session = Session(run, run_dir, os.fspath(config_path))
    trainer.callbacks = session.trainer_callbacks()
    epochs = config["training"]["epochs"]
    if checkpoint is not None:
        session.restore(checkpoint)
        stream.write(f"resuming {run_dir} after epoch {session.epoch} of {epochs}\n")
    else:
        _clear_stale_events(os.path.join(run_dir, TB_DIR))
    dump_config(config, os.path.join(run_dir, CONFIG_FILE))
    session.rewrite_metrics_csv()
    done = session.finished and (session.stopped_early or session.epoch >= epochs)
    if session.epoch >= epochs and not session.finished:
        session.finish_interrupted_end()
    elif not done:
        extra = [CSVLogger(os.path.join(run_dir, METRICS_FILE), append=True)]
        if _tensorboard_available():
            extra.append(TensorBoard(os.path.join(run_dir, TB_DIR)))
        else:
            stream.write("note: tensorboardX is not installed, so no TensorBoard files are "
                         "written (pip install tensorboardX)\n")
        extra.append(run_state.RunCheckpoint(session))
        session.finished = False
        verbose = config["training"]["verbose"] if verbose is None else verbose
        trainer.fit(run.train_loader, epochs, validation_data=run.val_loader,
                    initial_epoch=session.epoch, verbose=verbose, callbacks=extra)
    else:
        stream.write(f"{run_dir}: the run is already complete ({session.epoch} epochs"
                     + (", stopped early" if session.stopped_early else "") + ")\n")
    final = _evaluate(run)
    report = write_report(os.path.join(run_dir, REPORT_FILE), name=config["name"],
                          history=session.history, final_metrics=final,
                          summary=_summary(session, final), doctor_html=_doctor_html(run))
    return TrainResult(run_dir=run_dir, history=session.history, final_metrics=final,
                       best={"monitor": session.monitor, "value": session.best_value,
                             "epoch": session.best_epoch},
                       elapsed=session.elapsed,
                       resumed_from=checkpoint.epoch if checkpoint is not None else None,
                       report_path=report)
