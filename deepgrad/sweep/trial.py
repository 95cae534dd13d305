"""One trial of a sweep: an ordinary run directory trained from the base config with the
trial's parameters, reporting its metric to Optuna after every epoch.

    <sweep dir>/trials/trial_0007/    config.yaml, metrics.csv, checkpoints/, tb/, report.html

so `deepgrad info|eval|export <sweep dir>/trials/trial_0007` work on any trial. A retried trial
(its first worker died) starts from a copy of the dead attempt's directory and resumes from its
last checkpoint when that directory is on this machine.
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import time

from deepgrad.training.callbacks import Callback

TRIALS_DIR = "trials"


def trial_dir(sweep, number: int) -> str:
    return os.path.join(os.path.abspath(sweep.output_dir), TRIALS_DIR, f"trial_{number:04d}")


class PruningCallback(Callback):
    """Reports the objective's metric to the Optuna trial at the end of every epoch and stops
    training when the study's pruner says the trial is hopeless."""

    def __init__(self, trial, metric: str):
        self.trial, self.metric = trial, metric
        self.pruned_at = None      # the epoch (1-based) after which the pruner stopped the run

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.metric)
        if value is None:
            return
        self.trial.report(float(value), step=epoch + 1)
        if self.trial.should_prune():
            self.pruned_at = epoch + 1
            self.trainer.stop_training = True


def objective_value(history: list, metric: str, direction: str, epoch: str) -> float:
    """The metric at the run's best epoch (or its last) from the epoch logs."""
    values = [row[metric] for row in history if metric in row]
    if not values:
        raise ValueError(f"the run logged no {metric!r} (its epochs logged "
                         f"{sorted(history[-1]) if history else 'nothing'})")
    if epoch == "last":
        return float(values[-1])
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return float("nan")
    return float(max(finite) if direction == "maximize" else min(finite))


def train(config: dict, run_dir: str, callbacks=(), resume: bool = False) -> tuple:
    """Train (or resume) `config` in `run_dir` with extra `callbacks`; returns (history: the
    epoch logs, the epoch it resumed after or None). The one place a trial meets the run
    layer (deepgrad.runner.Run)."""
    from deepgrad.runner import Run

    run = Run.from_config(config, run_dir=run_dir, resume=resume)
    run.fit(callbacks=callbacks, verbose=0)
    return run.history, run.resumed_from


def _resume_from(sweep, trial, run_dir: str) -> bool:
    """A retried trial: copy the dead attempt's run directory (when it is on this machine and
    has a checkpoint) so that training resumes where it stopped."""
    from deepgrad.runner import layout

    history = trial.storage.get_trial_system_attrs(trial._trial_id).get("retry_history", [])
    for number in reversed(history):
        source = trial_dir(sweep, number)
        if os.path.exists(layout.last_checkpoint(source)):
            shutil.rmtree(run_dir, ignore_errors=True)
            shutil.copytree(source, run_dir)
            return True
    return False


def run_trial(sweep, trial) -> tuple:
    """Train one Optuna trial; returns (objective value, epochs run).

    Raises whatever training raises (the worker records the trial as failed)."""
    import optuna

    values = sweep.space.suggest(trial)
    run_dir = trial_dir(sweep, trial.number)
    trial.set_user_attr("run_dir", run_dir)
    trial.set_user_attr("host", socket.gethostname())
    config = sweep.trial_config(values, name=f"{sweep.name}-trial{trial.number:04d}",
                                output_dir=run_dir)
    resume = _resume_from(sweep, trial, run_dir)
    pruning = PruningCallback(trial, sweep.metric)
    started = time.perf_counter()
    history, resumed_from = train(config, run_dir, callbacks=[pruning], resume=resume)
    if resumed_from:
        trial.set_user_attr("resumed_after_epoch", resumed_from)
    trial.set_user_attr("epochs", len(history))
    trial.set_user_attr("seconds", round(time.perf_counter() - started, 3))
    value = objective_value(history, sweep.metric, sweep.direction, sweep.epoch)
    trial.set_user_attr("value", value)
    if pruning.pruned_at is not None:
        raise optuna.TrialPruned(f"pruned after epoch {pruning.pruned_at}")
    return value, len(history)
