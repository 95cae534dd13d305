"""Crash windows: SIGKILL at deterministic points of a run's writes (injected by the test,
crash.py), then `--resume`: the result equals an uninterrupted run bit for bit, best and
last agree, no temporary file is left. The default suite kills at the points the issue
found; `-m slow` kills at every write and rename point and at 20 random moments."""

import os
import random
import signal
import time

import pytest

from crash import assert_same_run, run_killed, temporary_files
from hostile import ROOT

from deepgrad.cli import main
from deepgrad.io import load_checkpoint

SPIRALS = os.path.join(ROOT, "examples", "spirals.yaml")
REGRESSION = os.path.join(ROOT, "examples", "regression_1d.yaml")
# early stopping (patience 1) fires at epoch 5 of 12; dropout, Adam
SPIRALS_SET = ["data.n=240", "training.epochs=12", "training.batch_size=16",
               "training.callbacks[0].patience=1"]
REGRESSION_SET = ["data.n=120", "training.epochs=4"]


def _train(config, run_dir, settings, *extra):
    return main(["train", config, "--out", str(run_dir), "-q", "--set", *settings, *extra])


@pytest.fixture(scope="module")
def spirals_full(tmp_path_factory):
    """The uninterrupted run, and the list of its write/rename/epoch events."""
    out = tmp_path_factory.mktemp("crash") / "full"
    events = out.parent / "events.txt"
    proc = run_killed(str(events), "count:0:none",
                      ["train", SPIRALS, "--out", out, "-q", "--set", *SPIRALS_SET])
    assert proc.returncode == 0, proc.stderr
    return out, events.read_text().splitlines()


def _kill_and_resume(tmp_path, full, spec, config=SPIRALS, settings=SPIRALS_SET):
    killed = tmp_path / "killed"
    proc = run_killed(str(tmp_path / "events.txt"), spec,
                      ["train", config, "--out", killed, "-q", "--set", *settings])
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    left = temporary_files(killed)
    if (killed / "checkpoints" / "last.safetensors").exists():
        assert _train(config, killed, settings, "--resume") == 0
    else:   # killed before the first checkpoint: start again
        assert _train(config, killed, settings) == 0
    assert_same_run(killed, full)
    return killed, left


def _index(events, kind, target, occurrence=-1):
    """The index among the events of `kind` of the `occurrence`-th one on `target`."""
    same_kind = [e.split(" ", 1)[1] for e in events if e.startswith(kind + " ")]
    positions = [i for i, name in enumerate(same_kind) if name == target]
    return positions[occurrence]


def test_the_early_stop_fires_before_the_planned_epochs(spirals_full):
    full, _ = spirals_full
    last = load_checkpoint(full / "checkpoints" / "last.safetensors")
    assert last.metadata["stopped_early"] and last.epoch < 12


def test_kill_between_best_and_last_keeps_the_pair_consistent(spirals_full, tmp_path):
    full, events = spirals_full
    best = load_checkpoint(full / "checkpoints" / "best.safetensors")
    # the rename of best at the best epoch, before last is written
    index = _index(events, "rename", "best.safetensors")
    killed = tmp_path / "killed"
    proc = run_killed(str(tmp_path / "e.txt"), f"rename:{index}:after",
                      ["train", SPIRALS, "--out", killed, "-q", "--set", *SPIRALS_SET])
    assert proc.returncode == -signal.SIGKILL
    ahead = load_checkpoint(killed / "checkpoints" / "best.safetensors")
    behind = load_checkpoint(killed / "checkpoints" / "last.safetensors")
    assert ahead.epoch == best.epoch == behind.epoch + 1   # best is ahead, never stale
    assert _train(SPIRALS, killed, SPIRALS_SET, "--resume") == 0
    assert_same_run(killed, full)
    last = load_checkpoint(killed / "checkpoints" / "last.safetensors")
    assert last.metadata["best"]["epoch"] == best.epoch


def test_kill_after_the_early_stopping_checkpoint_resumes_as_finished(spirals_full, tmp_path):
    full, events = spirals_full
    stop = load_checkpoint(full / "checkpoints" / "last.safetensors").epoch
    index = _index(events, "epoch", f"epoch {stop}")
    killed, _ = _kill_and_resume(tmp_path, full, f"epoch:{index}:after")
    history = load_checkpoint(killed / "checkpoints" / "last.safetensors").metadata["history"]
    assert len(history) == stop


def test_an_interrupted_write_leaves_a_temporary_file_that_the_resume_removes(spirals_full,
                                                                              tmp_path):
    full, _ = spirals_full
    killed, left = _kill_and_resume(tmp_path, full, "write:2:mid")
    assert len(left) == 1 and os.path.basename(left[0]).startswith(".")
    assert temporary_files(killed) == []


def test_checkpoint_files_have_the_mode_of_ordinary_files(spirals_full):
    full, _ = spirals_full
    mask = os.umask(0)
    os.umask(mask)
    for name in ("last.safetensors", "best.safetensors"):
        assert os.stat(full / "checkpoints" / name).st_mode & 0o777 == 0o666 & ~mask


def test_resume_refuses_a_config_file_edited_since_the_start(tmp_path, capsys):
    config = tmp_path / "spirals.yaml"
    config.write_text(open(SPIRALS).read())
    run_dir = tmp_path / "run"
    assert _train(str(config), run_dir, ["data.n=150", "training.epochs=2"]) == 0
    config.write_text(open(SPIRALS).read().replace("lr: 0.01", "lr: 0.05"))
    capsys.readouterr()
    assert main(["train", str(config), "--out", str(run_dir), "--resume"]) == 1
    err = capsys.readouterr().err
    assert "changed since the run" in err and "optimizer.lr: now 0.05, when the run started " \
        "0.01" in err and "--set" in err
    # the same change given as --set is a deliberate one: accepted
    assert main(["train", str(config), "--out", str(run_dir), "--resume", "-q", "--set",
                 "optimizer.lr=0.05", "training.epochs=3"]) == 0


# --- the long crash suite ----------------------------------------------------------------------
CONFIGS = [("spirals", SPIRALS, SPIRALS_SET), ("regression", REGRESSION, REGRESSION_SET)]


def _points(events):
    """Every kill point: before and after each write and rename, mid-write, each epoch end."""
    counts = {}
    points = []
    for line in events:
        kind = line.split(" ", 1)[0]
        index = counts.get(kind, 0)
        counts[kind] = index + 1
        for when in ("before", "after") + (("mid",) if kind == "write" else ()):
            points.append(f"{kind}:{index}:{when}")
    return points


@pytest.mark.slow
@pytest.mark.parametrize("name, config, settings", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_kill_at_every_write_and_rename_point(tmp_path, name, config, settings):
    full = tmp_path / "full"
    events = tmp_path / "events.txt"
    assert run_killed(str(events), "count:0:none", ["train", config, "--out", full, "-q",
                                                     "--set", *settings]).returncode == 0
    points = _points(events.read_text().splitlines())
    assert len(points) >= 20
    for point in points:
        work = tmp_path / point.replace(":", "_")
        work.mkdir()
        _kill_and_resume(work, full, point, config, settings)


@pytest.mark.slow
@pytest.mark.parametrize("name, config, settings", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_kill_at_20_random_moments(tmp_path, name, config, settings):
    import subprocess
    import sys

    full = tmp_path / "full"
    assert _train(config, full, settings) == 0
    start = time.perf_counter()   # the length of a whole run in a fresh process
    assert run_killed(str(tmp_path / "e.txt"), "count:0:none", ["train", config, "--out",
                      tmp_path / "timed", "-q", "--set", *settings]).returncode == 0
    duration = time.perf_counter() - start
    generator = random.Random(22)
    env = dict(os.environ, PYTHONPATH=ROOT, OPENBLAS_NUM_THREADS="1", MPLBACKEND="Agg")
    killed_during_training = 0
    for trial in range(20):
        work = tmp_path / f"random{trial}"
        proc = subprocess.Popen([sys.executable, "-m", "deepgrad", "train", config, "--out",
                                 str(work), "-q", "--set", *settings], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(generator.uniform(0.2, 0.95) * duration)
        proc.send_signal(signal.SIGKILL)
        killed_during_training += proc.wait() == -signal.SIGKILL
        resume = ["--resume"] if (work / "checkpoints" / "last.safetensors").exists() else []
        assert _train(config, work, settings, *resume) == 0
        assert_same_run(work, full)
    assert killed_during_training >= 10
