"""Callbacks own their state: a user-written stateful callback, unknown to deepgrad, resumes
bit-exactly through Run; a resume with other callbacks is refused."""

import copy
import pathlib

import numpy as np
import pytest

from deepgrad.runner import Run, RunError
from deepgrad.training import Callback, EarlyStopping, TerminateOnNaN

SPIRALS = str(pathlib.Path(__file__).parents[2] / "examples" / "spirals.yaml")
SETTINGS = ["data.n=150", "training.epochs=5", "training.batch_size=30", "training.verbose=0",
            "training.callbacks[0].patience=10",
            "training.callbacks[0].restore_best_weights=false"]


class LearningRateJitter(Callback):
    """Multiplies the learning rate by a random factor before every batch, drawing from its
    own generator, and counts the batches: its state changes the numbers of the run."""

    def __init__(self, seed=0):
        self.generator = np.random.default_rng(seed)
        self.batches = 0

    def on_batch_begin(self, batch, logs=None):
        self.batches += 1
        for group in self.trainer.optimizer.param_groups:
            group["lr"] = 0.01 * float(self.generator.uniform(0.5, 1.5))

    def state_dict(self):
        return {"generator": self.generator.bit_generator.state, "batches": self.batches}

    def load_state_dict(self, state):
        self.generator.bit_generator.state = state["generator"]
        self.batches = state["batches"]


class Forgetful(LearningRateJitter):
    """The same callback without its state: resuming it cannot be exact."""

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


class Crash(Callback):
    """Stops the process's work (like a kill) when epoch `epoch` (0-based) begins, i.e. right
    after the checkpoint of the epoch before."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def _train(run_dir, callbacks, resume=False):
    run = Run.from_config(SPIRALS, run_dir=run_dir, overrides=SETTINGS, resume=resume)
    run.fit(callbacks=callbacks, report=False)
    return run


def _interrupted(run_dir, make, at_epoch=2):
    callback = make()
    with pytest.raises(KeyboardInterrupt):
        _train(run_dir, [callback, Crash(at_epoch)])
    return _train(run_dir, [make(), Crash(-1)], resume=True)


def _weights(run):
    return {k: np.array(v.data) for k, v in run.model.state_dict().items()}


def test_user_callback_with_state_resumes_bit_exactly(tmp_path):
    straight = _train(tmp_path / "straight", [LearningRateJitter(), Crash(-1)])
    resumed = _interrupted(tmp_path / "resumed", LearningRateJitter)
    assert resumed.resumed_from == 2
    assert resumed.history == straight.history
    a, b = _weights(straight), _weights(resumed)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    jitter = resumed._fit_callbacks[1]
    assert jitter.batches == straight._fit_callbacks[1].batches == 5 * 4
    # the same callback without state_dict: the resumed run differs (the test can tell)
    forgetful = _interrupted(tmp_path / "forgetful", Forgetful)
    c = _weights(forgetful)
    assert not all(np.array_equal(a[k], c[k]) for k in a)
    assert forgetful.history[:2] == straight.history[:2]
    assert forgetful.history[2:] != straight.history[2:]


def test_resume_with_other_callbacks_is_refused(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path / "run", [Crash(1)])
    with pytest.raises(RunError, match=r"holds the states of the callbacks \['EarlyStopping', "
                                       r"'Crash', 'TensorBoard'\], but this run has "
                                       r"\['EarlyStopping', 'TensorBoard'\]"):
        _train(tmp_path / "run", [], resume=True)


def test_builtin_callback_states_round_trip():
    stopper = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    stopper.wait, stopper.best, stopper.best_epoch = 2, 0.25, 4
    stopper.best_weights = {"0.weight": np.arange(6.0).reshape(2, 3)}
    fresh = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    fresh.load_state_dict(copy.deepcopy(stopper.state_dict()))
    assert (fresh.wait, fresh.best, fresh.best_epoch, fresh.stopped_epoch) == (2, 0.25, 4, -1)
    np.testing.assert_array_equal(fresh.best_weights["0.weight"], np.arange(6.0).reshape(2, 3))
    nan = TerminateOnNaN()
    nan.report = {"epoch": 1, "batch": 2, "step": 9, "loss": float("nan")}
    other = TerminateOnNaN()
    other.load_state_dict(nan.state_dict())
    assert other.report["step"] == 9
    with pytest.raises(ValueError, match="keeps no state, got keys"):
        Callback().load_state_dict({"x": 1})


def test_plateau_schedule_and_best_weights_resume_bit_exactly(tmp_path):
    """ReduceLROnPlateau (driven by the LearningRateScheduler callback) and early stopping's
    best-weights copy are callback states: an interrupted run ends like a straight one."""
    settings = ["data.n=150", "training.epochs=6", "training.batch_size=30",
                "training.verbose=0", "training.callbacks[0].patience=10",
                "schedule={type: ReduceLROnPlateau, patience: 0, factor: 0.5, "
                "monitor: val_loss}"]

    def train(run_dir, crash_at, resume=False):
        run = Run.from_config(SPIRALS, run_dir=run_dir, overrides=() if resume else settings,
                              resume=resume)
        run.fit(callbacks=[Crash(crash_at)], report=False)
        return run

    straight = train(tmp_path / "a", -1)
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "b", 3)
    resumed = train(tmp_path / "b", -1, resume=True)
    assert resumed.history == straight.history
    lrs = [row["lr"] for row in straight.history]
    assert lrs[0] == 0.01 and min(lrs) < 0.01          # the plateau schedule did act
    a, b = _weights(straight), _weights(resumed)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    plateau_a = straight.callbacks[0].schedule.state_dict()
    plateau_b = resumed.callbacks[0].schedule.state_dict()
    assert plateau_a == plateau_b
    stopper_a, stopper_b = straight.callbacks[1], resumed.callbacks[1]
    assert (stopper_a.best, stopper_a.best_epoch) == (stopper_b.best, stopper_b.best_epoch)
