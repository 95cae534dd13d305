"""Callbacks and runs say what they did (Keras's words); the progress line shows elapsed time
and ETA and is ended before anything else is printed."""

import io

import numpy as np

from deepgrad import nn, optim
from deepgrad.training import Callback, EarlyStopping, ModelCheckpoint, ProgressBar, Trainer
from deepgrad.training.callbacks import end_progress_lines


class _Tty(io.StringIO):
    def isatty(self):
        return True


def _trainer(callbacks):
    model = nn.Sequential(nn.Linear(2, 2, generator=np.random.default_rng(0)))
    return Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.0),
                   callbacks=callbacks, generator=np.random.default_rng(1))


def _data():
    x = np.random.default_rng(2).normal(size=(32, 2)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64)


def test_model_checkpoint_and_early_stopping_messages(tmp_path, capsys):
    x, y = _data()
    stop = EarlyStopping("val_loss", patience=1, restore_best_weights=True, verbose=1)
    save = ModelCheckpoint(tmp_path / "best.safetensors", monitor="val_loss",
                           save_best_only=True, verbose=1)
    _trainer([save, stop]).fit((x, y), epochs=5, validation_data=(x, y), verbose=0)
    out = capsys.readouterr().out.splitlines()
    # lr 0: the first epoch sets the best, the second does not improve and stops training
    assert out[0].startswith("Epoch 1: val_loss is ") and "saving to" in out[0]
    assert out[0].endswith(str(tmp_path / "best.safetensors"))
    assert out[1].startswith("Epoch 2: val_loss did not improve from ")
    assert out[2].startswith("early stopping at epoch 2 (best epoch 1, val_loss ")
    assert out[2].endswith("restoring best weights")


def test_live_progress_line_shows_elapsed_and_eta_and_is_ended_on_interrupt():
    x, y = _data()
    stream = _Tty()
    bar = ProgressBar(stream=stream, interval=0.0)
    trainer = _trainer([bar])

    class Interrupt(Exception):
        pass

    class StopMidEpoch(Callback):
        def on_batch_end(self, batch, logs=None):
            if batch == 1:
                raise Interrupt

    trainer.callbacks.append(StopMidEpoch())
    try:
        trainer.fit((x, y), epochs=1, batch_size=8)
    except Interrupt:
        pass
    text = stream.getvalue()
    assert "2/4 [" in text and "elapsed, ETA " in text and not text.endswith("\n")
    end_progress_lines()  # what the CLI does on Ctrl-C before "deepgrad: interrupted"
    assert stream.getvalue().endswith("\n")
    end_progress_lines()
    assert not stream.getvalue().endswith("\n\n")  # only once


def test_a_cli_run_says_when_it_saves_the_best_checkpoint(tmp_path, capsys):
    import os

    from deepgrad.cli import main

    examples = os.path.join(os.path.dirname(__file__), "..", "..", "examples")
    code = main(["train", os.path.join(examples, "spirals.yaml"), "--out", str(tmp_path / "r"),
                 "--set", "training.epochs=3", "data.n=120"])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("Epoch 1/3"))
    assert lines[first + 1].startswith("Epoch 1: val_accuracy is ")
    assert lines[first + 1].endswith(os.path.join(str(tmp_path / "r"), "checkpoints",
                                                  "best.safetensors"))
