"""deepgrad.sweep: hyperparameter sweeps on Optuna, each trial an ordinary run directory.

    from deepgrad.sweep import load_sweep, run_sweep
    result = run_sweep("examples/sweep_spirals.yaml", workers=2)
    print(result.table, result.best_config_path)

The sweep file names a base run config, a search space over its dotted keys, an objective,
a sampler (grid, random, tpe), a pruner (none, median, hyperband) and a number of trials; the
study lives in an SQLite file in the sweep directory, or in a PostgreSQL database that workers
on several machines share. Needs the `sweep` extra (`pip install 'deepgrad[sweep]'`: Optuna and
the PostgreSQL driver); see docs/sweeps.md.
"""

from deepgrad.sweep.config import Sweep, load_sweep
from deepgrad.sweep.run import SweepResult, run_sweep
from deepgrad.sweep.study import SweepError

__all__ = ["load_sweep", "run_sweep", "Sweep", "SweepResult", "SweepError"]
