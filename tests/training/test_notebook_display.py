"""Notebook displays outside a notebook: text fallbacks; optional-dependency messages."""

import sys

import numpy as np
import pytest

from deepgrad import nn, optim
from deepgrad._optional import require
from deepgrad.training import LivePlot, NotebookProgress, Trainer
from deepgrad.display import format_seconds
from deepgrad.training.notebook import in_notebook


def _fit(callbacks, capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(3, 2, generator=np.random.default_rng(1)))
    trainer = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1),
                      callbacks=callbacks, generator=np.random.default_rng(2))
    history = trainer.fit((x, y), epochs=2, batch_size=10, validation_data=(x, y))
    return history, capsys.readouterr().out


def test_notebook_progress_falls_back_to_one_text_line_per_epoch(capsys):
    assert not in_notebook()
    history, out = _fit([NotebookProgress()], capsys)
    lines = [line for line in out.splitlines() if line]
    assert len(lines) == 2 and lines[0].startswith("Epoch 1/2") and "val_accuracy" in lines[1]
    assert "\r" not in out and len(history.epoch) == 2


def test_live_plot_keeps_the_curves_outside_a_notebook(capsys, tmp_path):
    plot = LivePlot()
    history, _ = _fit([plot], capsys)
    assert plot.history.history["val_loss"] == history.history["val_loss"]
    figure = plot.figure()
    assert [ax.get_ylabel() for ax in figure.axes] == ["loss", "accuracy"]
    assert len(figure.axes[0].lines) == 2  # training and validation overlaid
    path = plot.figure(tmp_path / "curves.png")
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="every must be an integer >= 1"):
        LivePlot(every=0)


def test_format_seconds():
    assert [format_seconds(s) for s in (3.4, 75, 3725)] == ["3s", "1:15", "1:02:05"]


def test_a_missing_optional_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails as if not installed
    with pytest.raises(ModuleNotFoundError) as info:
        require("matplotlib", "drawing figures")
    message = str(info.value)
    assert "drawing figures needs matplotlib" in message
    assert "pip install 'deepgrad[cli]'" in message


def test_plots_on_a_core_only_install_say_which_extra(monkeypatch):
    from deepgrad.diagnostics import plots

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ModuleNotFoundError, match=r"deepgrad\[cli\]"):
        plots.plot_curves({"a": ([0, 1], [1, 0])})


@pytest.mark.parametrize("modules, call, purpose", [
    (("safetensors", "safetensors.numpy"), "save", "writing checkpoints"),
    (("yaml",), "config", "reading YAML configs"),
])
def test_core_only_installs_get_the_extra_named(monkeypatch, tmp_path, modules, call, purpose):
    import deepgrad

    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ModuleNotFoundError) as info:
        if call == "save":
            deepgrad.save({"a": np.ones(2)}, tmp_path / "a.safetensors")
        else:
            from deepgrad.config import load_config_text
            load_config_text("name: x\n")
    assert purpose in str(info.value) and "pip install 'deepgrad[cli]'" in str(info.value)
