"""The run directory holds exactly what docs/run_directory.md describes, from Python and from
the command line alike."""

import os
import pathlib
import re

import numpy as np
import pytest

from deepgrad.io import load_checkpoint
from deepgrad.runner import Run, layout

ROOT = pathlib.Path(__file__).parents[2]
DOC = (ROOT / "docs" / "run_directory.md").read_text()
SPIRALS = str(ROOT / "examples" / "spirals.yaml")
QUICK = ["training.epochs=2", "data.n=150", "training.verbose=0"]


def documented_layout() -> set:
    """Paths (relative to the run directory, directories ending in "/") of the doc's block."""
    block = re.search(r"<!-- layout: .*?-->\n```\n(.*?)```", DOC, re.S).group(1)
    lines = block.rstrip("\n").split("\n")[1:]      # below "runs/<name>/"
    paths, parents = set(), []
    for line in lines:
        depth = (len(line) - len(line.lstrip())) // 2 - 1
        name = line.strip()
        parents = parents[:depth] + [name]
        paths.add("".join(parents))
    return paths


def written(run_dir) -> set:
    found = set()
    for path, dirs, files in os.walk(run_dir):
        relative = os.path.relpath(path, run_dir)
        prefix = "" if relative == "." else relative + "/"
        found |= {prefix + d + "/" for d in dirs}
        if relative.startswith("tb"):          # TensorBoard's own event file names
            continue
        found |= {prefix + f for f in files}
    return found


def documented_metadata() -> set:
    """The keys of the checkpoint's `metadata` listed in the doc (its "  - `key`" lines)."""
    section = DOC.split("<!-- metadata: the test reads this list -->")[1].split("## ")[0]
    part = section.split("* `metadata`:")[1].split("* `tensors`")[0]
    keys = set()
    for line in part.splitlines():
        if line.startswith("  - "):
            keys |= set(re.findall(r"`(\w+)`", line.split(":")[0]))
    return keys


def test_python_run_writes_the_documented_layout(tmp_path):
    run_dir = tmp_path / "run"
    run = Run.from_config(SPIRALS, run_dir=run_dir, overrides=QUICK)
    history = run.fit()
    assert written(run_dir) == documented_layout()
    assert len(history) == 2
    checkpoint = load_checkpoint(run_dir / "checkpoints" / "last.safetensors")
    assert set(checkpoint.metadata) == documented_metadata()
    assert checkpoint.metadata["callbacks"] == [
        {"position": 0, "type": "EarlyStopping", "state": checkpoint.metadata["callbacks"][0]
         ["state"]},
        {"position": 1, "type": "TensorBoard", "state": {}}]
    assert checkpoint.config == run.config and checkpoint.config["output_dir"] == str(run_dir)
    streams = {f"stream/{s}" for s in ("init", "data", "dropout", "noise", "split", "extra")}
    dropout = {f"module/{name}" for name in ("2", "5")}      # the Dropout layers' generators
    assert streams | dropout | {"default", "trainer", "train_loader"} == set(
        checkpoint.rng_states)
    best = load_checkpoint(run_dir / "checkpoints" / "best.safetensors")
    assert best.epoch == checkpoint.metadata["best"]["epoch"]
    rows = (run_dir / "metrics.csv").read_text().splitlines()
    assert rows[0].split(",") == ["epoch"] + list(history[0])
    assert [float(v) for v in rows[2].split(",")[1:]] == list(history[1].values())


def test_cli_writes_the_same_layout(cli_main, tmp_path):
    run_dir = tmp_path / "cli"
    assert cli_main(["train", SPIRALS, "--out", str(run_dir), "-q", "--set", *QUICK]) == 0
    assert written(run_dir) == documented_layout()


def test_write_false_touches_nothing(tmp_path):
    run = Run.from_config(SPIRALS, run_dir=tmp_path / "nothing", overrides=QUICK, write=False)
    history = run.fit()
    assert len(history) == 2 and np.isfinite(history[-1]["loss"])
    assert not (tmp_path / "nothing").exists()


def test_layout_paths():
    assert layout.last_checkpoint("r") == os.path.join("r", "checkpoints", "last.safetensors")
    assert layout.best_checkpoint("r") == os.path.join("r", "checkpoints", "best.safetensors")


@pytest.fixture
def cli_main(monkeypatch, tmp_path):
    from deepgrad.cli import main

    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    return main


@pytest.mark.parametrize("callback, entry", [
    ("{type: ModelCheckpoint, filepath: checkpoints/last.safetensors}",
     "checkpoints/last.safetensors"),
    ("{type: ModelCheckpoint, filepath: 'checkpoints/e{epoch}', save_last: true}",
     "checkpoints/last.safetensors"),
    ("{type: CSVLogger, filename: metrics.csv}", "metrics.csv"),
    ("{type: TensorBoard, log_dir: tb}", "tb"),
])
def test_callbacks_cannot_write_over_the_run_files(tmp_path, callback, entry):
    from deepgrad.config import ConfigError

    with pytest.raises(ConfigError, match=rf"training.callbacks\[0\]\.\w+: \w+ would write "
                                          rf"'{entry}', which the run directory itself holds"):
        Run.from_config(SPIRALS, run_dir=tmp_path, overrides=[f"training.callbacks=[{callback}]"])
    assert not any(tmp_path.iterdir())          # refused before anything was written
