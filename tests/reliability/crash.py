"""Kills at deterministic points of a run's writes, injected by the test (the library has no
switch for it), and the comparison of a resumed run with an uninterrupted one.

    python crash.py EVENTS_FILE KIND:INDEX:WHEN deepgrad-args...

runs `deepgrad deepgrad-args...` in this process and SIGKILLs it at the INDEX-th (0-based)
event of KIND, `before` or `after` it (`mid` for a write: half the bytes written):

* `write`  - save_checkpoint writing a checkpoint's temporary file,
* `rename` - any os.replace (a checkpoint, its copy to last, config.yaml, metrics.csv),
* `epoch`  - the end of an epoch's bookkeeping (Run._end_epoch: checkpoints and metrics).

With KIND:INDEX:WHEN = `count:0:none` nothing is killed; every event is appended to
EVENTS_FILE (one line: kind and file name) so that a test can enumerate the points.
"""

from __future__ import annotations

import os
import signal
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def _die():
    os.kill(os.getpid(), signal.SIGKILL)


def install(events_file: str, spec: str) -> None:
    """Patch the three kinds of points; kill as `spec` says."""
    from deepgrad.io import checkpoint as io_checkpoint
    from deepgrad.runner import run as run_module

    kind, index, when = spec.split(":")
    index = int(index)
    counts = {"write": 0, "rename": 0, "epoch": 0}
    log = open(events_file, "a")

    def event(name: str, target: str, moment: str):
        """Called before and after each event; kills at the chosen one."""
        number = counts[name]
        if moment == "before":
            log.write(f"{name} {os.path.basename(target)}\n")
            log.flush()
        if name == kind and number == index and moment == when:
            _die()
        if moment == "after":
            counts[name] += 1

    write_all = io_checkpoint._write_all

    def patched_write_all(stream, data):
        name = stream.name if isinstance(stream.name, str) else os.readlink(
            f"/proc/self/fd/{stream.name}")
        event("write", name, "before")
        if kind == "write" and counts["write"] == index and when == "mid":
            stream.write(data[: len(data) // 2])
            stream.flush()
            _die()
        write_all(stream, data)
        event("write", name, "after")

    replace = os.replace

    def patched_replace(source, target, *args, **kwargs):
        event("rename", os.fspath(target), "before")
        replace(source, target, *args, **kwargs)
        event("rename", os.fspath(target), "after")

    end_epoch = run_module.Run._end_epoch

    def patched_end_epoch(self, epoch, logs, trainer_step):
        event("epoch", f"epoch {epoch + 1}", "before")
        end_epoch(self, epoch, logs, trainer_step)
        event("epoch", f"epoch {epoch + 1}", "after")

    io_checkpoint._write_all = patched_write_all
    os.replace = patched_replace
    run_module.Run._end_epoch = patched_end_epoch


def run_killed(events_file: str, spec: str, args: list, timeout: float = 120):
    """`deepgrad ARGS` in a subprocess killed at `spec`: the CompletedProcess."""
    import subprocess

    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(HERE)),
               OPENBLAS_NUM_THREADS="1", MPLBACKEND="Agg")
    return subprocess.run([sys.executable, os.path.join(HERE, "crash.py"), events_file, spec,
                           *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=timeout)


# --- comparing runs -------------------------------------------------------------------------
def temporary_files(run_dir) -> list:
    found = []
    for directory, _, names in os.walk(run_dir):
        found += [os.path.join(directory, n) for n in names if n.endswith(".tmp")]
    return found


def _same(a, b, where: str) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for key in a:
            _same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert np.array_equal(a, b) and np.asarray(a).dtype == np.asarray(b).dtype, where
    elif isinstance(a, float) and a != a:
        assert b != b, where
    else:
        assert a == b, where


def assert_same_run(resumed_dir, full_dir) -> None:
    """The resumed run equals the uninterrupted one bit for bit: weights, optimizer state,
    every RNG state, history, best value, callback states, for last and best; no temporary
    file left; last and best with the same file mode."""
    from deepgrad.io import load_checkpoint

    for name in ("last.safetensors", "best.safetensors"):
        a = load_checkpoint(os.path.join(resumed_dir, "checkpoints", name))
        b = load_checkpoint(os.path.join(full_dir, "checkpoints", name))
        assert (a.epoch, a.step) == (b.epoch, b.step), name
        _same(a.model_state, b.model_state, f"{name}: model")
        _same(a.optimizer_state, b.optimizer_state, f"{name}: optimizer")
        _same(a.rng_states, b.rng_states, f"{name}: rng")
        meta_a, meta_b = dict(a.metadata), dict(b.metadata)
        for key in ("elapsed", "config_file"):
            meta_a.pop(key, None)
            meta_b.pop(key, None)
        _same(meta_a, meta_b, f"{name}: metadata")
    assert temporary_files(resumed_dir) == []
    modes = {os.stat(os.path.join(resumed_dir, "checkpoints", n)).st_mode & 0o777
             for n in ("last.safetensors", "best.safetensors")}
    assert len(modes) == 1, modes


if __name__ == "__main__":
    install(sys.argv[1], sys.argv[2])
    from deepgrad.cli import main

    sys.exit(main(sys.argv[3:]))
