"""Helpers of the sweep tests (imported by tests/sweep/conftest.py and the test modules)."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# a trial takes well under a second: 240 points, 16 hidden units, 3 epochs
BASE = """\
name: tiny
model:
  layers:
    - {type: Linear, in_features: 2, out_features: 16}
    - {type: Tanh}
    - {type: Linear, in_features: 16, out_features: 3}
loss: CrossEntropyLoss
optimizer: {type: Adam, lr: 0.01}
data: {dataset: spirals, n: 240, noise: 0.1, num_classes: 3, validation_split: 0.25,
       test_split: 0.1}
training: {epochs: 3, batch_size: 32, seed: 0, metrics: [accuracy], verbose: 0}
"""

SPACE = """\
  optimizer.lr: {type: float, low: 1.0e-3, high: 0.1, log: true}
  width: {type: int, low: 8, high: 32, step: 8,
          keys: [model.layers.0.out_features, model.layers.2.in_features]}
"""



def deepgrad_process(*args, env_extra=None, kill_after_epoch=None, **popen):
    """`python -m deepgrad ARGS` as a new process (Popen, text output); with
    `kill_after_epoch=E` the process SIGKILLs itself after a run's checkpoint of epoch E
    (the kill is injected by tests/cli/kill_after.py, the library has no switch)."""
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.update(env_extra or {})
    command = [sys.executable, "-m", "deepgrad"]
    if kill_after_epoch is not None:
        command = [sys.executable, os.path.join(ROOT, "tests", "cli", "kill_after.py"),
                   str(kill_after_epoch)]
    return subprocess.Popen(command + [str(a) for a in args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            **popen)
