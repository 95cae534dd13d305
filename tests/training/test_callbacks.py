"""Built-in callbacks: early stopping, NaN termination, progress bar, checkpoints, loggers."""

import csv
import io
import math
import os

import numpy as np
import pytest

from deepgrad import optim
from deepgrad.nn import functional as F
from deepgrad.training import (CSVLogger, EarlyStopping, LearningRateScheduler,
                               ModelCheckpoint, ProgressBar, TensorBoard, TerminateOnNaN,
                               Trainer, load_weights, save_weights)

from training_helpers import ScriptedLogs, make_mlp


def assert_same_state(a, b):
    assert list(a) == list(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


# --- EarlyStopping ----------------------------------------------------------------------------
CURVE = [1.0, 0.8, 0.6, 0.65, 0.7, 0.59, 0.62, 0.63, 0.64, 0.5]


@pytest.mark.parametrize("min_delta, best_epoch, stopped_epoch", [
    (0.0, 5, 8),    # 0.59 improves on 0.60; then 3 epochs without improvement
    (0.02, 2, 5),   # 0.59 is not below 0.60 - 0.02: epochs 3, 4, 5 are bad
])
def test_early_stopping_stops_at_the_right_epoch_and_restores_best(small_problem, min_delta,
                                                                   best_epoch, stopped_epoch):
    trainer, loader, _, _ = small_problem
    script = ScriptedLogs(CURVE)
    stopper = EarlyStopping(monitor="val_loss", patience=3, min_delta=min_delta,
                            restore_best_weights=True)
    history = trainer.fit(loader, epochs=len(CURVE), verbose=0, callbacks=[script, stopper])
    assert stopper.stopped_epoch == stopped_epoch
    assert stopper.best_epoch == best_epoch
    assert stopper.best == CURVE[best_epoch]
    assert history.epoch == list(range(stopped_epoch + 1))
    np.testing.assert_allclose(history.history["val_loss"], CURVE[:stopped_epoch + 1])
    # the weights are those at the end of the best epoch, not the last one
    assert_same_state(trainer.model.state_dict(), script.snapshots[best_epoch])
    last = script.snapshots[stopped_epoch]
    assert not np.array_equal(last["0.weight"], script.snapshots[best_epoch]["0.weight"])


def test_early_stopping_mode_max_for_accuracy_and_missing_key_error(small_problem):
    trainer, loader, _, _ = small_problem
    stopper = EarlyStopping(monitor="val_accuracy", patience=1)
    assert stopper.mode == "max"
    script = ScriptedLogs([0.5, 0.7, 0.6, 0.9], key="val_accuracy")
    trainer.fit(loader, epochs=4, verbose=0, callbacks=[script, stopper])
    assert (stopper.best_epoch, stopper.stopped_epoch) == (1, 2)
    with pytest.raises(KeyError, match="monitor='val_loss' is not in the epoch logs.*"
                                       "validation_data"):
        trainer.fit(loader, epochs=2, verbose=0, callbacks=[EarlyStopping()])


# --- TerminateOnNaN ---------------------------------------------------------------------------
def nan_at_step(step):
    calls = {"n": 0}

    def loss(output, target):
        calls["n"] += 1
        value = F.cross_entropy(output, target)
        return value * float("nan") if calls["n"] == step else value

    return loss


def test_terminate_on_nan_stops_and_reports_epoch_batch_step_and_loss(small_problem):
    _, loader, _, _ = small_problem            # 120 samples / 16 = 8 batches per epoch
    model = make_mlp()
    trainer = Trainer(model, nan_at_step(11), optim.SGD(model.parameters(), lr=0.05))
    out = io.StringIO()
    terminator = TerminateOnNaN(stream=out)
    history = trainer.fit(loader, epochs=5, verbose=0, callbacks=[terminator])
    assert terminator.report["epoch"] == 1 and terminator.report["batch"] == 2
    assert terminator.report["step"] == 11 and math.isnan(terminator.report["loss"])
    assert out.getvalue() == ("TerminateOnNaN: loss is nan at epoch 2, batch 3 (step 11); "
                              "training stopped\n")
    assert history.epoch == [0, 1] and trainer.step == 11
    # the NaN batch did not update the weights: they are all finite
    assert all(np.isfinite(p.data).all() for p in model.parameters())


def test_nan_loss_without_the_callback_is_a_clear_error(small_problem):
    _, loader, _, _ = small_problem
    model = make_mlp()
    trainer = Trainer(model, nan_at_step(3), optim.SGD(model.parameters(), lr=0.05))
    with pytest.raises(FloatingPointError, match=r"loss is nan at epoch 1, batch 3 \(step 3\)"):
        trainer.fit(loader, epochs=2, verbose=0)


# --- ProgressBar --------------------------------------------------------------------------------
class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_writes_one_line_per_epoch_without_carriage_returns(small_problem):
    trainer, loader, x, y = small_problem
    out = io.StringIO()
    trainer.fit(loader, epochs=3, validation_data=(x, y), callbacks=[ProgressBar(stream=out)])
    text = out.getvalue()
    assert "\r" not in text and "\033" not in text
    lines = text.splitlines()
    assert len(lines) == 3 and text.endswith("\n")
    for epoch, line in enumerate(lines, start=1):
        assert line.startswith(f"Epoch {epoch}/3 - 8 steps - ")
        for key in ("samples/s", "loss: ", "accuracy: ", "val_loss: ", "val_accuracy: ", "lr: "):
            assert key in line


def test_progress_bar_is_live_on_a_terminal(small_problem):
    trainer, loader, _, _ = small_problem
    out = FakeTerminal()
    trainer.fit(loader, epochs=2, callbacks=[ProgressBar(stream=out, interval=0.0)])
    text = out.getvalue()
    assert text.count("\n") == 2                      # still one final line per epoch
    assert text.count("\r") == 2 * 8 + 2              # a redraw per batch + the final lines
    assert "8/8 [" in text and "samples/s" in text


# --- checkpoints -----------------------------------------------------------------------------
def test_save_and_load_weights_round_trip_atomically(tmp_path):
    model, other = make_mlp(generator=0), make_mlp(generator=1)
    path = save_weights(model, tmp_path / "sub" / "weights")
    assert path == str(tmp_path / "sub" / "weights.safetensors")
    assert os.listdir(tmp_path / "sub") == ["weights.safetensors"]   # no temporary file left
    load_weights(other, path)
    assert_same_state(other.state_dict(), model.state_dict())
    from deepgrad.io import load_checkpoint

    assert sorted(load_checkpoint(path).model_state) == sorted(model.state_dict())


def test_model_checkpoint_keeps_the_best_epoch_and_the_last(small_problem, tmp_path):
    trainer, loader, _, _ = small_problem
    script = ScriptedLogs([0.9, 0.5, 0.7, 0.6])
    checkpoint = ModelCheckpoint(tmp_path / "best.safetensors", monitor="val_loss",
                                 save_best_only=True, save_last=True)
    trainer.fit(loader, epochs=4, verbose=0, callbacks=[script, checkpoint])
    assert checkpoint.best == 0.5
    assert sorted(os.listdir(tmp_path)) == ["best.safetensors", "last.safetensors"]
    restored = make_mlp(generator=5)
    load_weights(restored, checkpoint.best_path)
    assert_same_state(restored.state_dict(), script.snapshots[1])
    load_weights(restored, checkpoint.last_path)
    assert_same_state(restored.state_dict(), script.snapshots[3])


def test_model_checkpoint_every_epoch_with_a_template(small_problem, tmp_path):
    trainer, loader, _, _ = small_problem
    checkpoint = ModelCheckpoint(str(tmp_path / "epoch{epoch:02d}-{loss:.2f}.safetensors"))
    history = trainer.fit(loader, epochs=2, verbose=0, callbacks=[checkpoint])
    expected = [f"epoch{e + 1:02d}-{loss:.2f}.safetensors"
                for e, loss in enumerate(history.history["loss"])]
    assert sorted(os.listdir(tmp_path)) == expected


# --- learning-rate schedules ------------------------------------------------------------------
def test_learning_rate_scheduler_drives_step_lr_and_a_keras_function(small_problem):
    trainer, loader, _, _ = small_problem
    schedule = optim.lr_scheduler.StepLR(trainer.optimizer, step_size=1, gamma=0.5)
    history = trainer.fit(loader, epochs=3, verbose=0,
                          callbacks=[LearningRateScheduler(schedule)])
    np.testing.assert_allclose(history.history["lr"], [0.05, 0.025, 0.0125])
    trainer.optimizer.param_groups[0]["lr"] = 1.0
    history = trainer.fit(loader, epochs=3, verbose=0, callbacks=[
        LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))])
    np.testing.assert_allclose(history.history["lr"], [0.1, 0.05, 0.1 / 3])


def test_learning_rate_scheduler_per_batch_and_reduce_on_plateau(small_problem):
    trainer, loader, _, _ = small_problem
    schedule = optim.lr_scheduler.ExponentialLR(trainer.optimizer, gamma=0.9)
    trainer.fit(loader, epochs=2, verbose=0,
                callbacks=[LearningRateScheduler(schedule, per_batch=True)])
    np.testing.assert_allclose(trainer.optimizer.param_groups[0]["lr"], 0.05 * 0.9 ** 16)
    trainer.optimizer.param_groups[0]["lr"] = 0.1
    plateau = optim.lr_scheduler.ReduceLROnPlateau(trainer.optimizer, factor=0.5, patience=1)
    script = ScriptedLogs([1.0, 0.9, 0.95, 0.96, 0.97, 0.8])
    history = trainer.fit(loader, epochs=6, verbose=0,
                          callbacks=[script, LearningRateScheduler(plateau)])
    # bad epochs 2, 3 -> halved after epoch 3; epoch 4 bad again, counter restarted -> not yet
    np.testing.assert_allclose(history.history["lr"], [0.1, 0.1, 0.1, 0.1, 0.05, 0.05])


# --- loggers ---------------------------------------------------------------------------------
def test_csv_logger_rows_read_back(small_problem, tmp_path):
    trainer, loader, x, y = small_problem
    path = tmp_path / "log.csv"
    history = trainer.fit(loader, epochs=3, validation_data=(x, y), verbose=0,
                          callbacks=[CSVLogger(path)])
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        np.testing.assert_array_equal([float(r[key]) for r in rows], history.history[key])
    # append=True continues the same file under the same header
    trainer.fit(loader, epochs=1, verbose=0, validation_data=(x, y),
                callbacks=[CSVLogger(path, append=True)])
    with open(path, newline="") as file:
        assert len(list(csv.DictReader(file))) == 4


def test_tensorboard_scalars_read_back(small_problem, tmp_path):
    event_accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator")
    trainer, loader, x, y = small_problem
    history = trainer.fit(loader, epochs=3, validation_data=(x, y), verbose=0,
                          callbacks=[TensorBoard(tmp_path)])
    # train/ and validation/ runs with the same tags: one chart per metric, both curves
    for run, prefix in (("train", ""), ("validation", "val_")):
        accumulator = event_accumulator.EventAccumulator(str(tmp_path / run))
        accumulator.Reload()
        tags = accumulator.Tags()["scalars"]
        assert sorted(prefix + t for t in tags) == sorted(
            k for k in history.history if k.startswith("val_") == bool(prefix))
        for tag in tags:
            events = accumulator.Scalars(tag)
            assert [e.step for e in events] == [1, 2, 3]
            np.testing.assert_allclose([e.value for e in events],
                                       history.history[prefix + tag], rtol=1e-6)


def test_checkpoint_names_end_in_safetensors(tmp_path):
    from deepgrad.config import ConfigError, load_config_text

    with pytest.raises(ValueError, match=r"ModelCheckpoint: 'best.npz' ends in '.npz', but "
                                         r"deepgrad writes checkpoints as .safetensors files; "
                                         r"name it 'best.safetensors'"):
        ModelCheckpoint("best.npz")
    assert ModelCheckpoint("best").filepath == "best.safetensors"
    assert ModelCheckpoint("e{epoch}-{val_loss:.3f}").filepath.endswith("}.safetensors")
    with pytest.raises(ValueError, match="ends in '.npz'"):
        save_weights(make_mlp(), tmp_path / "w.npz")
    text = ("model: [{type: Linear, in_features: 2, out_features: 2}]\n"
            "data: {dataset: xor}\nloss: CrossEntropyLoss\noptimizer: {type: SGD, lr: 0.1}\n"
            "training:\n  callbacks:\n    - {type: ModelCheckpoint, filepath: best.npz}\n")
    with pytest.raises(ConfigError, match=r"run.yaml:7:7: training.callbacks\[0\]: "
                                          r"ModelCheckpoint: 'best.npz' ends in '.npz'"):
        load_config_text(text, source="run.yaml")
