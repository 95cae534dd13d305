"""`deepgrad train --resume` after SIGKILL ends with weights bit-identical to an uninterrupted
run, for every example config: dropout (every RNG state matters), early stopping with its
best-weights copy (the callbacks' states matter), schedules (their positions matter)."""

import csv
import signal

import numpy as np
import pytest

from deepgrad.io import load_checkpoint

from cli_helpers import CNN_SLICE, FASHION_SLICE, example, needs_fashion, run_subprocess

# 3 classes, dropout 0.1 in two layers, Adam, early stopping (patience 2) on val_accuracy
SPIRALS = ["data.n=240", "training.epochs=7", "training.batch_size=16",
           "training.callbacks[0].patience=2"]
FASHION = [s for s in FASHION_SLICE if not s.startswith("training.epochs")] + [
    "training.epochs=2"]
CNN_FASHION = [s for s in CNN_SLICE if not s.startswith("training.epochs")] + [
    "training.epochs=2"]
EXAMPLES = [  # (config, settings, kill after epoch): every example config
    ("spirals.yaml", SPIRALS, 3),
    ("regression_1d.yaml", ["data.n=120", "training.epochs=4"], 2),
    pytest.param("fashion_mnist_mlp.yaml", FASHION + ["model.sizes=[784,16,10]"], 1,
                 marks=needs_fashion),
    pytest.param("lenet.yaml", FASHION, 1, marks=needs_fashion),
    pytest.param("lenet_deeply_supervised.yaml", FASHION, 1,      # the LeNet path above, plus
                 marks=[needs_fashion, pytest.mark.slow]),        # stateless aux weights
    # augmentation in a background worker: its per-epoch seed resumes with the loader (slow:
    # three processes; tests/data/test_loader_workers.py resumes the loader mid-epoch)
    pytest.param("fashion_mnist_vgg.yaml", CNN_FASHION, 1,
                 marks=[needs_fashion, pytest.mark.slow]),
    pytest.param("fashion_mnist_resnet.yaml", CNN_FASHION + ["model.blocks_per_stage=1"], 1,
                 marks=[needs_fashion, pytest.mark.slow]),
]


def test_every_example_config_is_tested():
    import glob
    import os

    names = {p.values[0] if hasattr(p, "values") else p[0] for p in EXAMPLES}  # slow ones too
    assert names == {os.path.basename(p) for p in glob.glob(example("*.yaml"))
                     if not os.path.basename(p).startswith("sweep_")}  # sweeps: tests/sweep


def _weights(run_dir):
    return load_checkpoint(run_dir / "checkpoints" / "last.safetensors")


def _csv_epochs(run_dir):
    with open(run_dir / "metrics.csv", newline="") as stream:
        return [int(row["epoch"]) for row in csv.DictReader(stream)]


def _assert_same_run(a, b):
    assert a.epoch == b.epoch and a.step == b.step
    assert list(a.model_state) == list(b.model_state)
    for name in a.model_state:
        assert np.array_equal(a.model_state[name], b.model_state[name]), name
    for index, slots in a.optimizer_state["state"].items():
        for key, value in slots.items():
            assert np.array_equal(np.asarray(value),
                                  np.asarray(b.optimizer_state["state"][index][key])), key
    assert a.metadata["history"] == b.metadata["history"]
    assert a.metadata["best"] == b.metadata["best"]
    assert a.rng_states == b.rng_states
    states_a, states_b = a.metadata["callbacks"], b.metadata["callbacks"]
    assert [s["type"] for s in states_a] == [s["type"] for s in states_b]
    for x, y in zip(states_a, states_b):
        _assert_same_state(x["state"], y["state"])


def _assert_same_state(x, y):
    if isinstance(x, dict):
        assert list(x) == list(y)
        for key in x:
            _assert_same_state(x[key], y[key])
    elif isinstance(x, np.ndarray):
        assert np.array_equal(x, y)
    else:
        assert x == y


@pytest.mark.parametrize("name, settings, kill_after", EXAMPLES)
def test_resume_after_sigkill_is_bit_exact(cli, tmp_path, name, settings, kill_after):
    full, killed = tmp_path / "full", tmp_path / "killed"
    code, _, err = cli("train", example(name), "--out", full, "-q", "--set", *settings)
    assert code == 0, err

    # a real process, killed with SIGKILL right after the checkpoint of epoch `kill_after`
    proc = run_subprocess("train", example(name), "--out", killed, "-q", "--set", *settings,
                          kill_after=kill_after)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    interrupted = _weights(killed)
    assert interrupted.epoch == kill_after and not interrupted.metadata["finished"]
    assert _csv_epochs(killed) == list(range(1, kill_after + 1))
    assert not (killed / "report.html").exists()

    code, out, err = cli("train", example(name), "--out", killed, "-q", "--resume")
    assert code == 0, err
    assert "resuming" in out and f"after epoch {kill_after}" in out
    a, b = _weights(full), _weights(killed)
    _assert_same_run(a, b)
    assert _csv_epochs(killed) == _csv_epochs(full) == list(range(1, a.epoch + 1))
    assert (killed / "report.html").exists()


def test_resume_of_a_finished_run_changes_nothing(cli, tmp_path):
    out = tmp_path / "run"
    settings = ["data.n=150", "training.epochs=2"]
    assert cli("train", example("spirals.yaml"), "--out", out, "-q", "--set", *settings)[0] == 0
    before = _weights(out)
    code, stdout, _ = cli("train", example("spirals.yaml"), "--out", out, "-q", "--resume")
    assert code == 0 and "already complete (2 epochs" in stdout
    after = _weights(out)
    for name in before.model_state:
        assert np.array_equal(before.model_state[name], after.model_state[name])
    # more epochs on resume: continues from epoch 2 to 3
    code, stdout, _ = cli("train", example("spirals.yaml"), "--out", out, "-q", "--resume",
                          "--set", "training.epochs=3")
    assert code == 0 and "after epoch 2 of 3" in stdout
    assert _weights(out).epoch == 3 and _csv_epochs(out) == [1, 2, 3]


def test_resume_without_checkpoint_fails_clearly(cli, tmp_path):
    code, _, err = cli("train", example("spirals.yaml"), "--out", tmp_path / "none",
                       "--resume")
    assert code == 1
    assert "deepgrad: error: --resume: no checkpoint to resume from" in err
    assert "Traceback" not in err
