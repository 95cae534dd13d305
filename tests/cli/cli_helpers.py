"""Helpers of the CLI tests (imported by tests/cli/conftest.py and the test modules)."""

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EXAMPLES = os.path.join(ROOT, "examples")
FASHION_DIR = "/usr/share/datasets/fashion-mnist"

# a few seconds per run: small slices and few epochs
SPIRALS_SMALL = ["data.n=300", "training.epochs=4", "training.batch_size=32"]
FASHION_SLICE = ["data.limit.train=192", "data.limit.validation=64", "data.limit.test=64",
                 "training.epochs=1", "training.batch_size=64"]
# the CNN examples (no validation split) with tiny widths
CNN_SLICE = ["data.limit.train=192", "data.limit.test=64", "training.epochs=1",
             "training.batch_size=64", "model.widths=[4,8]"]


def example(name: str) -> str:
    return os.path.join(EXAMPLES, name)


def have_fashion_mnist() -> bool:
    roots = [os.environ.get("DEEPGRAD_DATA", ""), FASHION_DIR]
    return any(os.path.exists(os.path.join(r, "train-images-idx3-ubyte.gz"))
               or os.path.exists(os.path.join(r, "fashion-mnist", "train-images-idx3-ubyte.gz"))
               for r in roots if r)


needs_fashion = pytest.mark.skipif(not have_fashion_mnist(),
                                   reason="Fashion-MNIST files not installed (make data)")




def run_subprocess(*args, env_extra=None, timeout=120, kill_after=None):
    """`python -m deepgrad ARGS` in a fresh process -> CompletedProcess (text). With
    `kill_after=k` the process is killed with SIGKILL right after the checkpoint of epoch k
    (tests/cli/kill_after.py)."""
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.update(env_extra or {})
    if kill_after is None:
        command = [sys.executable, "-m", "deepgrad"]
    else:
        command = [sys.executable, os.path.join(HERE, "kill_after.py"), str(kill_after)]
    return subprocess.run(command + [str(a) for a in args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=timeout)
