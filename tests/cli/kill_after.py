"""`python kill_after.py EPOCH ARGS...`: run `deepgrad ARGS` and SIGKILL the process right
after the run has written its checkpoint and metrics.csv of epoch EPOCH (1-based).

The kill is injected here, by the test, around `Run._end_epoch`: the library has no switch."""

import os
import signal
import sys

from deepgrad.cli import main
from deepgrad.runner import run as run_module

KILL_AFTER = int(sys.argv[1])
_end_epoch = run_module.Run._end_epoch


def end_epoch_then_die(self, epoch, logs, trainer_step):
    _end_epoch(self, epoch, logs, trainer_step)
    if epoch + 1 == KILL_AFTER:
        os.kill(os.getpid(), signal.SIGKILL)


run_module.Run._end_epoch = end_epoch_then_die
sys.exit(main(sys.argv[2:]))
