"""`deepgrad train CONFIG --resume --nproc 2` continues a single-process run with 2 ranks to
the weights of one process (a 2-rank run resumed by 2 ranks: tests/distributed/test_mpi.py).

The run is a few seconds (spirals, 2 small epochs); the ranks run in a loopback-only network
namespace (tests/distributed/mpi_harness.py)."""

from __future__ import annotations

import os
import shutil
import time

import numpy as np
import pytest

from deepgrad.io import load_checkpoint
from deepgrad.runner import Run
from tests.distributed.mpi_harness import PYTHON, require_mpi, run_command, run_ranks

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# deterministic (no dropout, no noise): 2 ranks must follow the single-process trajectory
CONFIG = """
name: spirals-dp
model:
  layers:
    - {type: Linear, in_features: 2, out_features: 32}
    - {type: Tanh}
    - {type: Linear, in_features: 32, out_features: 3}
loss: CrossEntropyLoss
optimizer: {type: SGD, lr: 0.1, momentum: 0.9}
data: {dataset: spirals, n: 300, noise: 0.1, num_classes: 3, validation_split: 0.2,
       test_split: 0.2}
training: {epochs: 4, batch_size: 32, seed: 0, verbose: 0}
"""


def train(config, out, nproc, extra=(), timeout=120):
    """`deepgrad train ... --nproc N`, which runs `mpiexec -n N python -m deepgrad train ...`."""
    argv = [PYTHON, "-m", "deepgrad", "train", str(config), "--out", str(out), *extra,
            "--nproc", str(nproc)]
    done = run_command(argv, timeout, env={"PYTHONPATH": ROOT}, cwd=ROOT)
    assert done.returncode == 0, f"{argv}\n{done.stdout}\n{done.stderr}"
    return done


def weights(run_dir):
    state = load_checkpoint(os.path.join(run_dir, "checkpoints", "last.safetensors"))
    return state.model_state, state


def assert_same_weights(first, second, bound=1e-5):
    (a, _), (b, _) = weights(first), weights(second)
    assert list(a) == list(b)
    for name in a:
        relative = np.max(np.abs(a[name] - b[name])) / np.max(np.abs(b[name]))
        assert relative <= bound, (name, relative)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """In this process: 2 epochs (a 1-rank checkpoint, copied for the test), then the
    reference resumed to 4 epochs (a resume is bit-exact, tests/runner)."""
    require_mpi()
    base = tmp_path_factory.mktemp("dp")
    config = base / "spirals.yaml"
    config.write_text(CONFIG)
    Run.from_config(config, run_dir=base / "single", overrides=["training.epochs=2"]).fit(
        report=False)
    shutil.copytree(base / "single", base / "from-1-rank")
    Run.from_config(config, run_dir=base / "single", overrides=["training.epochs=4"],
                    resume=True).fit(report=False)
    return base, config


def test_resume_with_two_ranks_from_a_one_rank_checkpoint(runs):
    """`deepgrad train --resume --nproc 2` after 2 single-process epochs ends with the single
    process's weights after 4; rank 0 alone prints and writes."""
    base, config = runs
    out = base / "from-1-rank"
    done = train(config, out, 2, extra=["--resume", "--set", "training.epochs=4"])
    assert done.stdout.count("resuming") == 1 and done.stdout.count("run directory:") == 1
    assert weights(out)[1].epoch == 4
    assert_same_weights(out, base / "single")
    _, single = weights(base / "single")
    _, two = weights(out)
    # the metrics are all-reduced: the global batch's loss, every epoch
    np.testing.assert_allclose(two.metrics["loss"], single.metrics["loss"], rtol=1e-5)
    np.testing.assert_allclose(two.metrics["val_accuracy"], single.metrics["val_accuracy"])


def test_a_rank_killed_mid_epoch_ends_the_job_and_resume_continues(runs):
    """2 ranks train 4 epochs; rank 1 is SIGKILLed in epoch 2 (step 8 of 6 per epoch): the job
    ends non-zero with mpiexec's message within 30 s, rank 0's checkpoint of epoch 1 is
    intact, and `--resume --nproc 2` ends with the single process's weights."""
    base, config = runs
    out = base / "killed"
    argv = [PYTHON, os.path.join(HERE, "kill_rank.py"), "8", "train", str(config), "--out",
            str(out), "--quiet"]
    began = time.monotonic()
    done = run_ranks(2, argv, 60, env={"PYTHONPATH": ROOT}, cwd=ROOT)
    assert time.monotonic() - began < 30
    assert done.returncode != 0
    assert "rank 1 is killed at step 8" in done.stdout
    assert "signal 9" in done.stderr, done.stderr
    assert weights(out)[1].epoch == 1
    train(config, out, 2, extra=["--resume"])
    assert weights(out)[1].epoch == 4
    assert_same_weights(out, base / "single")
