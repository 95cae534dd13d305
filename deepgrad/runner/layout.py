"""The run directory: its one layout (docs/run_directory.md) and the files of a run in it.

    <run_dir>/
      config.yaml                 the config as resolved (defaults filled in, --set applied)
      metrics.csv                 one row per epoch: epoch, loss, metrics, val_*, lr
      checkpoints/last.safetensors   the full run state after the latest epoch
      checkpoints/best.safetensors   the same, at the epoch with the best monitored value
      tb/                         TensorBoard event files
      report.html                 curves, final metrics, the doctor's report

Every entry point (`Run.fit()` from Python, `deepgrad train`, sweeps) writes exactly this.
"""

from __future__ import annotations

import copy
import csv
import html
import os

import numpy as np

from deepgrad._optional import require

CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.csv"
CHECKPOINT_DIR = "checkpoints"
LAST = "last.safetensors"
BEST = "best.safetensors"
TB_DIR = "tb"
REPORT_FILE = "report.html"


def default_run_dir(config_path, config: dict) -> str:
    """The config's output_dir or runs/<name> when the file sets either, else
    runs/<config file stem>."""
    from deepgrad.config import parse_yaml

    with open(config_path, encoding="utf-8") as handle:
        raw, _ = parse_yaml(handle.read(), os.fspath(config_path))
    if isinstance(raw, dict) and (raw.get("output_dir") or raw.get("name")):
        return config["output_dir"]
    stem = os.path.splitext(os.path.basename(os.fspath(config_path)))[0]
    return os.path.join("runs", stem)


def reserved_paths(run_dir: str) -> dict:
    """Absolute path -> entry of every file and directory the run itself writes."""
    entries = (CONFIG_FILE, METRICS_FILE, os.path.join(CHECKPOINT_DIR, LAST),
               os.path.join(CHECKPOINT_DIR, BEST), TB_DIR, REPORT_FILE)
    return {os.path.abspath(os.path.join(run_dir, e)): e for e in entries}


def check_callback_paths(run_dir: str, config: dict) -> None:
    """A configured callback must not write over the run's own files (a ModelCheckpoint onto
    checkpoints/last.safetensors would replace the run state with bare weights)."""
    from deepgrad import registry
    from deepgrad.config import ConfigError

    reserved = reserved_paths(run_dir)
    errors = []
    for i, spec in enumerate(config["training"]["callbacks"]):
        target = registry.lookup("callback", spec["type"])
        for name in getattr(target, "path_args", ()):
            value = spec["args"].get(name)
            if not isinstance(value, str):
                continue
            path = os.path.abspath(os.path.join(run_dir, value))
            clash = [reserved.get(path)]
            if spec["type"] == "ModelCheckpoint" and spec["args"].get("save_last"):
                clash.append(reserved.get(os.path.join(os.path.dirname(path), LAST)))
            for entry in filter(None, clash):
                errors.append(f"training.callbacks[{i}].{name}: {spec['type']} would write "
                              f"{entry!r}, which the run directory itself holds "
                              f"(docs/run_directory.md); choose another name")
    if errors:
        raise ConfigError(errors)


def remove_temporaries(run_dir: str) -> list:
    """Remove the temporary files an interrupted write left in the run directory (of a
    checkpoint, config.yaml, metrics.csv); returns their paths. Only one process writes a
    run directory, so at the start of a fit none of them is in use."""
    from deepgrad.io.checkpoint import is_temporary

    removed = []
    for directory, names in ((run_dir, (CONFIG_FILE + ".tmp", METRICS_FILE + ".tmp")),
                             (checkpoint_dir(run_dir), None)):
        if not os.path.isdir(directory):
            continue
        for name in os.listdir(directory):
            if (name in names) if names else (is_temporary(name) or name.endswith(
                    (LAST + ".tmp", BEST + ".tmp"))):
                path = os.path.join(directory, name)
                os.remove(path)
                removed.append(path)
    return removed


def checkpoint_dir(run_dir: str) -> str:
    return os.path.join(run_dir, CHECKPOINT_DIR)


def last_checkpoint(run_dir: str) -> str:
    return os.path.join(run_dir, CHECKPOINT_DIR, LAST)


def best_checkpoint(run_dir: str) -> str:
    return os.path.join(run_dir, CHECKPOINT_DIR, BEST)


def _replace(path: str, write) -> None:
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8", newline="") as stream:
        write(stream)
    os.replace(temporary, path)


def write_config(run_dir: str, config: dict) -> str:
    yaml = require("yaml", "writing a run's config.yaml")

    def write(stream):
        stream.write("# the config of this run, as resolved (defaults filled in, --set "
                     "applied)\n")
        yaml.safe_dump(config, stream, sort_keys=False, default_flow_style=None)

    path = os.path.join(run_dir, CONFIG_FILE)
    _replace(path, write)
    return path


def write_metrics(run_dir: str, history: list) -> str:
    """metrics.csv with exactly the epochs of `history` (rewritten after every checkpoint,
    so it never holds an epoch the checkpoint does not)."""
    from deepgrad.training.callbacks import csv_row

    keys = list(dict.fromkeys(k for row in history for k in row))

    def write(stream):
        writer = csv.writer(stream)
        if history:
            writer.writerow(["epoch"] + keys)
            for epoch, row in enumerate(history):
                writer.writerow(csv_row(epoch, row, keys))

    path = os.path.join(run_dir, METRICS_FILE)
    _replace(path, write)
    return path


def hparams(config: dict) -> dict:
    """The run's hyperparameters for TensorBoard's HPARAMS tab: every number, string and
    boolean of the config's model, optimizer, schedule, regularization and training
    sections, by dotted name ("optimizer.lr")."""
    out = {}

    def walk(value, prefix):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{prefix}.{key}")
        elif isinstance(value, (bool, int, float, str)):
            out[prefix] = value

    for section in ("model", "optimizer", "schedule", "regularization", "training"):
        walk(config.get(section), section)
    return out


def log_callbacks(run_dir: str, config: dict) -> list:
    """The logging callbacks of the run directory: TensorBoard into tb/ (train/ and
    validation/ curves, histograms every `training.tensorboard.histogram_freq` epochs, the
    hyperparameters)."""
    from deepgrad.training import TensorBoard

    freq = (config["training"].get("tensorboard") or {}).get("histogram_freq", 0)
    return [TensorBoard(os.path.join(run_dir, TB_DIR), histogram_freq=freq,
                        hparams=hparams(config))]


def log_final_metrics(run, final_metrics: dict) -> None:
    """The final metrics of the finished run into tb/ ({split: metrics}, at the last epoch;
    the run logs the test split), and the end of its hparams session."""
    from deepgrad.training.callbacks import log_final_metrics as log

    log(os.path.join(run.run_dir, TB_DIR), final_metrics, run.epoch, end_session=run.complete)


def clear_tensorboard(run_dir: str) -> None:
    """A fresh run in an existing directory: drop the event files of the previous run, whose
    curves TensorBoard would otherwise draw on top of the new ones."""
    tb_dir = os.path.join(run_dir, TB_DIR)
    for directory, _, names in os.walk(tb_dir):
        for name in names:
            if name.startswith("events.out.tfevents."):
                os.remove(os.path.join(directory, name))


def input_shape(loader) -> list:
    """The shape of one input sample of a loader's dataset (recorded for predict/export)."""
    first = loader.dataset[0][0]
    return list(np.shape(getattr(first, "data", first)))


# --- report.html --------------------------------------------------------------------------
def _doctor_html(run) -> "str | None":
    """The doctor's report on one training batch, run on a copy of the model."""
    try:
        from deepgrad.data import get_batch
        from deepgrad.diagnostics import diagnose

        model = copy.deepcopy(run.model)
        dataset = run.train_loader.dataset
        x, y = get_batch(dataset, np.arange(min(len(dataset), 256)))
        return diagnose(model, (x, y), loss_fn=run.loss).to_html()
    except Exception as error:  # the report is optional: say why it is missing
        return f"<p>(the doctor could not run: {html.escape(str(error))})</p>"


def summary(run) -> dict:
    config = run.config
    loaders = (run.train_loader, run.val_loader, run.test_loader)
    lines = {"run directory": run.run_dir, "model": type(run.model).__name__,
             "parameters": run.model.num_parameters(),
             "dataset": config["data"]["dataset"],
             "samples (train/validation/test)": " / ".join(
                 f"{len(loader.dataset):,}" if loader is not None else "-"
                 for loader in loaders),
             "optimizer": config["optimizer"]["type"],
             "epochs": f"{run.epoch} of {config['training']['epochs']}"
                       + (" (stopped early)" if run.stopped_early else ""),
             "seed": config["training"]["seed"],
             "training time": float(run.elapsed)}
    best = run.best
    if best["value"] is not None:
        lines[f"best {best['monitor']}"] = f"{best['value']:.4f} at epoch {best['epoch']}"
    return lines


def write_report(run, final_metrics: dict) -> str:
    from deepgrad.runner.report import write_report as write_html

    return write_html(os.path.join(run.run_dir, REPORT_FILE), name=run.config["name"],
                      history=run.history, final_metrics=final_metrics, summary=summary(run),
                      doctor_html=_doctor_html(run), best=run.best)
