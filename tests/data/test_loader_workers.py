"""DataLoader with augmentation and background workers: identical batches for any number of
workers, resumable mid-epoch, and no process or shared-memory segment left behind."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from deepgrad.data import DataLoader, TensorDataset
from deepgrad.data.transforms import (Compose, GaussianNoise, RandomCrop, RandomErasing,
                                      RandomHorizontalFlip, Transform)


def _dataset(n=203):
    x = np.random.default_rng(0).random((n, 1, 8, 8)).astype(np.float32)
    return TensorDataset(x, np.arange(n))


def _augment():
    return Compose([RandomCrop(8, padding=2), RandomHorizontalFlip(), RandomErasing(),
                    GaussianNoise(0.1)])


def _epochs(loader, epochs=2):
    return [[(x.data.copy(), y.data.copy()) for x, y in loader] for _ in range(epochs)]


def _children():
    """Pids of this process's live (non-zombie) children."""
    pids = []
    for task in os.listdir(f"/proc/{os.getpid()}/task"):
        try:
            with open(f"/proc/{os.getpid()}/task/{task}/children") as f:
                pids += [int(p) for p in f.read().split()]
        except OSError:
            continue
    return [p for p in pids if _alive(p)]


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _shm_entries():
    try:
        return set(os.listdir("/dev/shm"))
    except OSError:
        return set()


def _assert_same(a, b):
    assert len(a) == len(b)
    for epoch_a, epoch_b in zip(a, b):
        assert len(epoch_a) == len(epoch_b)
        for (xa, ya), (xb, yb) in zip(epoch_a, epoch_b):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)


def test_same_batches_for_any_number_of_workers():
    before = _shm_entries()
    runs = {w: _epochs(DataLoader(_dataset(), 16, shuffle=True, generator=3,
                                  transform=_augment(), num_workers=w,
                                  prefetch_factor=None if w == 0 else 3))
            for w in (0, 1, 3)}
    _assert_same(runs[0], runs[1])
    _assert_same(runs[0], runs[3])
    # augmentation is on, differs between epochs, and keeps the labels with their images
    assert not np.array_equal(runs[0][0][0][0], _dataset().arrays[0][runs[0][0][0][1]])
    assert not np.array_equal(runs[0][0][0][0], runs[0][1][0][0])
    assert _children() == []
    assert not {e for e in _shm_entries() - before if "mp-" in e or e.startswith("psm_")}


def test_no_transform_keeps_the_old_batches():
    # a loader without augmentation draws from its generator exactly as before
    plain = _epochs(DataLoader(_dataset(), 16, shuffle=True, generator=3))
    order = np.random.default_rng(3).permutation(203)
    np.testing.assert_array_equal(np.concatenate([y for _, y in plain[0]]), order)
    _assert_same(plain, _epochs(DataLoader(_dataset(), 16, shuffle=True, generator=3,
                                           num_workers=2)))


@pytest.mark.parametrize("workers", [0, 2])
def test_resume_mid_epoch_with_workers(workers):
    def make():
        return DataLoader(_dataset(), 16, shuffle=True, generator=5, transform=_augment(),
                          num_workers=workers)

    full = _epochs(make(), 2)
    loader = make()
    seen = []
    for i, (x, y) in enumerate(loader):
        seen.append((x.data.copy(), y.data.copy()))
        if i == 4:
            state = loader.state_dict()
            break
    assert _children() == []  # leaving the epoch early stopped the workers
    resumed = make()
    resumed.load_state_dict(state)
    rest = [(x.data.copy(), y.data.copy()) for x, y in resumed]
    _assert_same([seen + rest], [full[0]])
    _assert_same([[(x.data, y.data) for x, y in resumed]], [full[1]])


class _FailOn(Transform):
    random = False

    def __init__(self, label_value):
        self.value = label_value

    def apply(self, x, generator):
        if np.any(x[:, 0, 0, 0] < self.value):
            raise ArithmeticError("boom in the transform")
        return x


def test_worker_exception_is_raised_with_its_traceback_and_workers_stop():
    loader = DataLoader(_dataset(), 16, transform=_FailOn(0.5), num_workers=2)
    with pytest.raises(RuntimeError, match=r"(?s)DataLoader worker failed on batch 0.*"
                                           r"ArithmeticError: boom in the transform.*apply"):
        list(loader)
    assert _children() == []


def test_worker_killed_is_reported():
    loader = DataLoader(_dataset(2000), 4, num_workers=1, prefetch_factor=1)
    iterator = iter(loader)
    next(iterator)
    pool_children = _children()
    assert len(pool_children) == 1
    os.kill(pool_children[0], signal.SIGKILL)
    with pytest.raises(RuntimeError, match="exited unexpectedly with exit code -9"):
        for _ in iterator:
            pass
    assert _children() == []


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="num_workers must be an integer >= 0, got -1"):
        DataLoader(_dataset(), 4, num_workers=-1)
    with pytest.raises(ValueError, match="prefetch_factor applies to background workers"):
        DataLoader(_dataset(), 4, prefetch_factor=2)
    with pytest.raises(TypeError, match="transform must be a deepgrad.data.transforms"):
        DataLoader(_dataset(), 4, transform=lambda x: x)
    flat = TensorDataset(np.zeros((8, 64), np.float32), np.arange(8))
    with pytest.raises(ValueError, match=r"RandomHorizontalFlip\(p=0.5\): expected a batch of "
                                         r"images of shape \(N, C, H, W\), got shape \(4, 64\)"):
        next(iter(DataLoader(flat, 4, transform=RandomHorizontalFlip())))


_CTRL_C_SCRIPT = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    from deepgrad.data import DataLoader, TensorDataset
    from deepgrad.data.transforms import RandomHorizontalFlip
    data = TensorDataset(np.zeros((100000, 1, 4, 4), np.float32), np.arange(100000))
    loader = DataLoader(data, 2, transform=RandomHorizontalFlip(), generator=0, num_workers=2)
    for i, batch in enumerate(loader):
        if i == 3:
            kids = open(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read()
            print("children", kids, flush=True)
        time.sleep(0.01)
""")


def _start_script(script):
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    line = process.stdout.readline()
    assert line.startswith("children"), process.stderr.read()
    workers = [int(p) for p in line.split()[1:]]
    assert len(workers) == 2
    return process, workers


def _wait_gone(pids, seconds=10):
    deadline = time.time() + seconds
    while any(_alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.05)
    return not any(_alive(p) for p in pids)


def test_workers_exit_when_the_main_process_is_killed():
    # SIGKILL gives the main process no chance to clean up: the workers notice their parent
    # is gone, even with batches of theirs left unread in a full pipe
    # batches of 128 images of 28x28 (400 kB, more than a pipe holds) that stay unread
    script = (_CTRL_C_SCRIPT.replace("time.sleep(0.01)", "time.sleep(1 if i > 3 else 0)")
              .replace("np.zeros((100000, 1, 4, 4), np.float32), np.arange(100000)",
                       "np.zeros((3000, 1, 28, 28), np.float32), np.arange(3000)")
              .replace("DataLoader(data, 2,", "DataLoader(data, 128,"))
    process, workers = _start_script(script)
    try:
        process.kill()
        process.wait(timeout=30)
        assert _wait_gone(workers)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_ctrl_c_leaves_no_worker_behind():
    process, workers = _start_script(_CTRL_C_SCRIPT)
    try:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
        assert "KeyboardInterrupt" in err
        assert _wait_gone(workers)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
