"""What a sweep leaves behind: a table of its trials, the best trial's config as a runnable
YAML file, and report.html with Optuna's matplotlib plots (optimization history, parameter
importances, slices, parallel coordinates, the per-epoch values the pruner saw).

    <sweep dir>/best_config.yaml   deepgrad train <sweep dir>/best_config.yaml retrains the best
    <sweep dir>/report.html        one self-contained page (figures embedded as PNG)
"""

from __future__ import annotations

import html
import os
import time

from deepgrad.runner.report import _png_data_uri, _table

BEST_CONFIG = "best_config.yaml"
REPORT = "report.html"


def _text(value) -> str:
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def trial_rows(sweep, study) -> tuple:
    """(header, rows) of the trials table, one row per trial record in number order."""
    from optuna.storages import RetryHeartbeatStaleTrialCallback as Retry

    names = [p.name for p in sweep.space.params]
    header = ["trial", "state", sweep.metric, "epochs", "seconds"] + names + ["note"]
    trials = study.get_trials(deepcopy=False)
    retried_as = {Retry.retry_history(t)[-1]: t.number for t in trials
                  if Retry.retried_trial_number(t) is not None}
    rows = []
    for trial in trials:
        values = sweep.space.values(trial.params)
        notes = []
        if Retry.retried_trial_number(trial) is not None:
            notes.append(f"retry of trial {Retry.retry_history(trial)[-1]}")
        if trial.user_attrs.get("resumed_after_epoch"):
            notes.append(f"resumed after epoch {trial.user_attrs['resumed_after_epoch']}")
        if trial.user_attrs.get("error"):
            notes.append(trial.user_attrs["error"])
        elif trial.state.name == "FAIL":
            notes.append("its worker stopped (no heartbeat)")
        if trial.number in retried_as:
            notes.append(f"retried as trial {retried_as[trial.number]}")
        note = "; ".join(notes)
        value = trial.value if trial.value is not None else trial.user_attrs.get("value")
        rows.append([trial.number, trial.state.name.lower(), _text(value),
                     _text(trial.user_attrs.get("epochs")),
                     _text(trial.user_attrs.get("seconds"))]
                    + [_text(values.get(n)) for n in names] + [note])
    return header, rows


def format_table(header, rows) -> str:
    """The trials table as aligned plain text."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(header)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths)).rstrip()]
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    return "\n".join(lines)


def best_trial(study):
    """The best complete trial, or None."""
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        return None
    return study.best_trial


def write_best_config(sweep, study) -> "str | None":
    """best_config.yaml: the base config with the best trial's parameters, runnable with
    `deepgrad train`; its runs go to <sweep dir>/best."""
    import yaml

    best = best_trial(study)
    if best is None:
        return None
    values = sweep.space.values(best.params)
    out_dir = os.path.join(os.path.abspath(sweep.output_dir), "best")
    config = sweep.trial_config(values, name=f"{sweep.name}-best", output_dir=out_dir)
    path = os.path.join(sweep.output_dir, BEST_CONFIG)
    lines = [f"# the best trial of sweep {sweep.name!r}: trial {best.number}, "
             f"{sweep.metric} = {best.value:.6g}",
             "# parameters: " + ", ".join(f"{k}={v}" for k, v in values.items()),
             f"# retrain it: deepgrad train {path}"]
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as stream:
        stream.write("\n".join(lines) + "\n")
        yaml.safe_dump(config, stream, sort_keys=False, default_flow_style=None)
    os.replace(temporary, path)
    return path


def _figures(sweep, study) -> list:
    """(title, data URI or None, note) of each of Optuna's matplotlib plots."""
    import warnings

    import numpy as np
    from optuna.trial import TrialState
    from optuna.visualization import matplotlib as plots

    from deepgrad.diagnostics.plots import pyplot

    pyplot()                              # Agg backend, writable MPLCONFIGDIR
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    wanted = [("optimization history", plots.plot_optimization_history, 1),
              ("parameter importances", plots.plot_param_importances, 2),
              ("slices", plots.plot_slice, 1),
              ("parallel coordinates", plots.plot_parallel_coordinate, 2)]
    if any(t.intermediate_values for t in study.get_trials(deepcopy=False)):
        wanted.append(("per-epoch values (what the pruner saw)",
                       plots.plot_intermediate_values, 0))
    out = []
    for title, plot, needed in wanted:
        if len(complete) < needed:
            out.append((title, None, f"needs at least {needed} complete trials"))
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")      # experimental-API and layout notices
                figure = np.asarray(plot(study)).ravel()[0].figure
                if plot in (plots.plot_slice, plots.plot_parallel_coordinate):
                    count = len(sweep.space.params)      # room for each parameter
                    figure.set_size_inches(3.2 * count + 2.4, 4.6)
                figure.tight_layout()
            out.append((title, _png_data_uri(figure), ""))
        except Exception as error:  # a plot Optuna cannot draw for this study: say why
            out.append((title, None, f"{type(error).__name__}: {error}"))
    return out


def write_report(sweep, study, best_config_path=None) -> str:
    from deepgrad.sweep.study import counts, redact

    esc = html.escape
    header, rows = trial_rows(sweep, study)
    best = best_trial(study)
    states = counts(study)
    summary = [["study", sweep.name], ["storage", redact(sweep.storage_url)],
               ["base config", sweep.base_path],
               ["objective", f"{sweep.direction} {sweep.metric} ({sweep.epoch} epoch)"],
               ["sampler", _options(sweep.sampler)], ["pruner", _options(sweep.pruner)],
               ["planned trials", study.user_attrs.get("deepgrad.planned_trials", "?")],
               ["trials by state", ", ".join(f"{k.lower()} {v}" for k, v in
                                             sorted(states.items()))]]
    if best is not None:
        summary.append(["best", f"trial {best.number}: {sweep.metric} = {best.value:.4f}"])
    parts = [
        "<!DOCTYPE html>", "<html><head><meta charset='utf-8'>",
        f"<title>deepgrad sweep {esc(sweep.name)}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;}"
        "table{border-collapse:collapse;margin:1em 0;}td,th{border:1px solid #bbb;"
        "padding:3px 8px;text-align:right;}th{background:#eee;}img{margin:4px;max-width:100%;}"
        "pre{background:#f6f6f6;padding:8px;}</style>", "</head><body>",
        f"<h1>Sweep {esc(sweep.name)}</h1>",
        f"<p>written {esc(time.strftime('%Y-%m-%d %H:%M:%S'))}</p>",
        "<h2>Summary</h2>", _table(summary, ("item", "value"))]
    if best is not None and best_config_path:
        with open(best_config_path, encoding="utf-8") as stream:
            parts += ["<h2>Best config</h2>",
                      f"<p>{esc(best_config_path)} (retrain with <code>deepgrad train "
                      f"{esc(best_config_path)}</code>)</p>", f"<pre>{esc(stream.read())}</pre>"]
    parts += ["<h2>Trials</h2>", _table(rows, header), "<h2>Plots</h2>"]
    for title, uri, note in _figures(sweep, study):
        parts.append(f"<h3>{esc(title)}</h3>")
        parts.append(f"<img alt='{esc(title)}' src='{uri}'>" if uri
                     else f"<p>(not drawn: {esc(note)})</p>")
    parts.append("</body></html>")
    path = os.path.join(sweep.output_dir, REPORT)
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as stream:
        stream.write("\n".join(parts) + "\n")
    os.replace(temporary, path)
    return path


def _options(spec: dict) -> str:
    options = ", ".join(f"{k}={v}" for k, v in spec.items() if k != "type" and v is not None)
    return spec["type"] + (f" ({options})" if options else "")
