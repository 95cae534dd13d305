"""`python kill_rank.py STEP ARGS...` under mpiexec: run `deepgrad ARGS`, and SIGKILL rank 1
when it starts training step STEP (counted from 1 over the whole run), as the out-of-memory
killer would. The kill is injected here, by the test, around `Trainer.train_step`."""

import os
import signal
import sys

from deepgrad import distributed as dist
from deepgrad.cli import main
from deepgrad.training import trainer as trainer_module

KILL_AT = int(sys.argv[1])
_train_step = trainer_module.Trainer.train_step
_steps = [0]


def train_step_or_die(self, x, y):
    _steps[0] += 1
    if dist.rank() == 1 and _steps[0] == KILL_AT:
        print(f"rank 1 is killed at step {KILL_AT}", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    return _train_step(self, x, y)


trainer_module.Trainer.train_step = train_step_or_die
sys.exit(main(sys.argv[2:]))
