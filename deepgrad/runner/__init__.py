"""deepgrad.runner: what the `deepgrad` command does beyond parsing arguments.

* `session.train_run`: train or resume a config in its run directory (config.yaml,
  metrics.csv, checkpoints/, tb/, report.html);
* `state`: the full run state saved after every epoch, for bit-exact resume;
* `report.write_report`: the self-contained report.html;
* `inputs`: reading arrays and images for `deepgrad predict`.

See docs/cli.md.
"""

from deepgrad.runner.session import RunError, TrainResult, train_run

__all__ = ["train_run", "TrainResult", "RunError"]
