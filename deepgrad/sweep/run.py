"""`deepgrad sweep`: prepare the study, run the workers, write the report.

    result = run_sweep("examples/sweep_spirals.yaml", workers=2)
    result.best_value, result.best_config_path, result.report_path

Several machines join one study by running the same command with the same `--storage`
(a PostgreSQL URL); each runs its own workers, and every one of them writes the report of what
the study holds when it finishes.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field

from deepgrad.sweep import study as sweep_study
from deepgrad.sweep import worker as sweep_worker
from deepgrad.sweep.config import load_sweep
from deepgrad.sweep.report import format_table, trial_rows, write_best_config, write_report


@dataclass
class SweepResult:
    output_dir: str
    states: dict                     # trial state name -> count
    best_number: "int | None" = None
    best_value: "float | None" = None
    best_params: dict = field(default_factory=dict)
    best_config_path: "str | None" = None
    report_path: str = ""
    table: str = ""
    elapsed: float = 0.0
    exit_codes: list = field(default_factory=list)   # of the worker processes


def run_sweep(path, workers: int = 1, storage=None, trials=None, timeout=None,
              output_dir=None, report_only: bool = False, report: bool = True,
              stream=None) -> SweepResult:
    """Run (or continue, or join) the sweep described by the file at `path`; then write
    best_config.yaml and (unless `report=False`) report.html."""
    stream = stream or sys.stdout
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    sweep = load_sweep(path, trials=trials, timeout=timeout, storage=storage,
                       output_dir=output_dir)
    os.makedirs(sweep.output_dir, exist_ok=True)
    started = time.perf_counter()
    storage_ = sweep_study.make_storage(sweep)
    with sweep_study.critical(sweep):
        study, note = sweep_study.open_study(sweep, storage_, create=not report_only)
    exit_codes = []
    if not report_only:
        stream.write(f"{note}; storage {sweep_study.redact(sweep.storage_url)}; "
                     f"{workers} worker{'s' if workers > 1 else ''}\n")
        stream.flush()
        deadline = time.time() + sweep.timeout if sweep.timeout else None
        with sweep_worker.sigterm_interrupts():
            if workers == 1:
                sweep_worker.work(sweep, 0, deadline, stream, study=study)
            else:
                processes = sweep_worker.spawn(sweep, workers, deadline)
                exit_codes = sweep_worker.wait(processes)
            for index, code in enumerate(exit_codes, 1):
                if code:
                    stream.write(f"worker {index} exited with code {code}; its running trial "
                                 "is retried by the next run\n")
    return summarize(sweep, study, time.perf_counter() - started, exit_codes, report)


def summarize(sweep, study, elapsed: float, exit_codes=(), report: bool = True) -> SweepResult:
    """Write best_config.yaml and report.html; the result the command prints."""
    from deepgrad.sweep.report import best_trial

    best = best_trial(study)
    best_config = write_best_config(sweep, study)
    report = write_report(sweep, study, best_config) if report else ""
    header, rows = trial_rows(sweep, study)
    result = SweepResult(output_dir=sweep.output_dir, states=sweep_study.counts(study),
                         best_config_path=best_config, report_path=report,
                         table=format_table(header, rows), elapsed=elapsed,
                         exit_codes=list(exit_codes))
    if best is not None:
        result.best_number, result.best_value = best.number, best.value
        result.best_params = sweep.space.values(best.params)
    return result
