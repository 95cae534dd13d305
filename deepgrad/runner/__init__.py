"""deepgrad.runner: the one way to run a model from a config.

* `Run` (run.py): builds model, data, loss, optimizer, schedule and callbacks from a validated
  config; trains, resumes bit-exactly, evaluates; writes the run directory;
* `layout`: the run directory's one layout (docs/run_directory.md);
* `state`: the random generators a run saves and restores;
* `report.write_report`: the self-contained report.html;
* `inputs`: reading arrays and images for `deepgrad predict`.
"""

from deepgrad.runner.run import Run, RunError

__all__ = ["Run", "RunError"]
