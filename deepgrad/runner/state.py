"""Everything a run needs to continue bit-exactly after a crash, and the callback that saves it.

At the end of every epoch `RunCheckpoint` writes `checkpoints/last.safetensors` atomically
(`deepgrad.io.save_checkpoint`: temporary file, fsync, rename) holding

* the model (parameters and buffers such as batch-norm running statistics),
* the optimizer (hyperparameters, slots, step counts) and the learning-rate schedule,
* every random generator the run draws from: deepgrad's default generator, the named streams
  of `seed_everything` (init, data, dropout, noise, split, extra) and any `generator` a module
  owns,
* the DataLoader's state (its epoch counter and generator state),
* epoch and step counts, the history of epoch logs, elapsed time, the best value of the
  monitored metric and the state of the callbacks (early stopping's best value, wait counter
  and best weights),

and copies it to `checkpoints/best.safetensors` when the monitored metric improves. Resuming
restores all of it before the next epoch starts, so the resumed run draws the same random
numbers and sees the same batches as an uninterrupted one: its final weights are identical.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import time

import numpy as np

from deepgrad import random as dg_random
from deepgrad.training.callbacks import Callback

CHECKPOINT_DIR = "checkpoints"
LAST = "last.safetensors"
BEST = "best.safetensors"
# test-only hook: kill the process with SIGKILL right after the checkpoint of this epoch
KILL_ENV = "DEEPGRAD_KILL_AFTER_EPOCH"
_PLAIN = (bool, int, float, str, type(None))
# what a callback learns while training (its settings come from the config, so a resume with
# `--set training.callbacks.early_stopping.patience=10` takes the new setting)
DYNAMIC = ("wait", "best", "best_epoch", "best_weights", "stopped_epoch", "report")


def module_generators(model) -> dict:
    """{module name: Generator} for every module that owns a numpy Generator."""
    found = {}
    for name, module in model.named_modules():
        generator = module.__dict__.get("generator")
        if isinstance(generator, np.random.Generator):
            found[name or "(model)"] = generator
    return found


def rng_states(run) -> dict:
    """Name -> bit-generator state of every generator the run can draw from."""
    states = {"default": dg_random.default_generator().bit_generator.state}
    for name, generator in run.generators.items():
        states[f"stream/{name}"] = generator.bit_generator.state
    for name, generator in module_generators(run.model).items():
        states[f"module/{name}"] = generator.bit_generator.state
    trainer_generator = getattr(run.trainer(), "generator", None)
    if isinstance(trainer_generator, np.random.Generator):
        states["trainer"] = trainer_generator.bit_generator.state
    loader_generator = getattr(run.train_loader, "generator", None)
    if isinstance(loader_generator, np.random.Generator):
        states["train_loader"] = loader_generator.bit_generator.state
    return states


def restore_rng_states(run, states: dict) -> None:
    """Put every generator of `run` back to the saved states (missing names are an error)."""
    targets = {"default": dg_random.default_generator()}
    targets.update({f"stream/{n}": g for n, g in run.generators.items()})
    targets.update({f"module/{n}": g for n, g in module_generators(run.model).items()})
    trainer_generator = getattr(run.trainer(), "generator", None)
    if isinstance(trainer_generator, np.random.Generator):
        targets["trainer"] = trainer_generator
    loader_generator = getattr(run.train_loader, "generator", None)
    if isinstance(loader_generator, np.random.Generator):
        targets["train_loader"] = loader_generator
    missing = sorted(set(targets) - set(states))
    if missing:
        raise ValueError(f"the checkpoint has no saved state for the generators {missing}; "
                         "it was written by a different model or config")
    for name, generator in targets.items():
        generator.bit_generator.state = states[name]


def scheduler_state(scheduler):
    """The schedule's state: its state_dict(), or its plain attributes when it has none."""
    if scheduler is None:
        return None
    if hasattr(scheduler, "state_dict"):
        return scheduler.state_dict()
    return {k: v for k, v in vars(scheduler).items()
            if k != "optimizer" and isinstance(v, _PLAIN + (list,))}


def load_scheduler_state(scheduler, state) -> None:
    if scheduler is None or state is None:
        return
    if hasattr(scheduler, "load_state_dict"):
        scheduler.load_state_dict(state)
    else:
        for key, value in state.items():
            setattr(scheduler, key, value)


def callback_state(callback) -> tuple:
    """(plain attributes, arrays) of a callback: counters, best values, best weights."""
    plain, arrays = {}, {}
    for key, value in vars(callback).items():
        if key not in DYNAMIC:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            plain[key] = {"__float__": repr(value)}
        elif isinstance(value, _PLAIN):
            plain[key] = value
        elif isinstance(value, dict) and value and all(isinstance(v, np.ndarray)
                                                       for v in value.values()):
            for name, array in value.items():
                arrays[f"{key}/{name}"] = array
            plain[key] = {"__arrays__": list(value)}
    return plain, arrays


def load_callback_state(callback, plain: dict, arrays: dict) -> None:
    for key, value in plain.items():
        if isinstance(value, dict) and "__float__" in value:
            value = float(value["__float__"])
        elif isinstance(value, dict) and "__arrays__" in value:
            value = {name: arrays[f"{key}/{name}"].copy() for name in value["__arrays__"]}
        setattr(callback, key, value)


def _improved(value, best, mode: str) -> bool:
    if value is None or not math.isfinite(value):
        return False
    if best is None:
        return True
    return value < best if mode == "min" else value > best


class RunCheckpoint(Callback):
    """Saves the full run state after every epoch (last) and on improvement (best).

    It must be the last callback of the list, so that the schedule has stepped and early
    stopping has counted before the state is captured; `on_train_begin` puts back the
    callback states of a resumed run (their own `on_train_begin` has just reset them).
    """

    def __init__(self, session):
        self.session = session

    def on_train_begin(self, logs=None):
        self.session.restore_callbacks()
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        session = self.session
        session.history.append({k: float(v) for k, v in (logs or {}).items()})
        now = time.perf_counter()
        session.elapsed += now - self.started
        self.started = now
        session.epoch = epoch + 1
        session.step = session.base_step + self.trainer.step
        value = (logs or {}).get(session.monitor)
        improved = _improved(value, session.best_value, session.mode)
        if improved:
            session.best_value, session.best_epoch = float(value), epoch + 1
        session.save(session.last_path)
        if improved:
            temporary = session.best_path + ".tmp"
            shutil.copyfile(session.last_path, temporary)
            os.replace(temporary, session.best_path)
        if os.environ.get(KILL_ENV) == str(epoch + 1):
            os.kill(os.getpid(), signal.SIGKILL)

    def on_train_end(self, logs=None):
        # after early stopping may have put the best weights back
        session = self.session
        session.finished = True
        session.stopped_early = bool(self.trainer.stop_training)
        session.save(session.last_path)
