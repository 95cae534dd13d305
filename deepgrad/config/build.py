"""Building the parts of a run from a validated config, each through the registry.

    model = build_model(config["model"], generators)
    losses, loss, loss_weights = build_losses(config)
    optimizer = build_optimizer(config["optimizer"], model)
    callbacks = build_callbacks(config, scheduler, run_dir)

`deepgrad.runner.Run` puts them together (and is what `deepgrad train` runs).

Randomness: one seed (`training.seed`) feeds `seed_everything`, whose independent streams
go to weight initialization ("init"), dropout masks ("dropout"), data generation ("extra"),
the train/validation/test split ("split"), batch shuffling ("data") and input noise ("noise").
A layer registered with `generator_stream="dropout"` (Dropout, GaussianNoise) draws from the
"dropout" stream, every other layer that takes a `generator` from "init".
"""

from __future__ import annotations

import inspect
import os

from deepgrad import registry
from deepgrad.config.schema import ConfigError
from deepgrad.config.validate import layer_args, model_outputs, output_index, validate_config


# --------------------------------------------------------------------------------------------
# the model
# --------------------------------------------------------------------------------------------
def _accepts(target, name: str) -> bool:
    try:
        return name in inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False


def build_layer(spec: dict, generators=None):
    """A module from a normalized layer entry {"type", "args"[, "layers"]}."""
    from deepgrad.nn.module import Sequential

    kind = spec["type"]
    if kind == "Sequential":
        return Sequential(*[build_layer(s, generators) for s in spec["layers"]])
    target = (registry.lookup("layer", kind) if registry.contains("layer", kind)
              else registry.lookup("model", kind))
    args = layer_args(spec.get("args", {}))
    if generators is not None and _accepts(target, "generator") and "generator" not in args:
        args["generator"] = generators[registry.info(target).get("generator_stream", "init")]
    return target(**args)


def build_model(model_spec: dict, generators=None):
    """The model of a normalized `model` section."""
    from deepgrad.nn.graph import GraphModel
    from deepgrad.nn.module import Sequential

    if "layers" in model_spec:
        return Sequential(*[build_layer(s, generators) for s in model_spec["layers"]])
    if "nodes" in model_spec:
        nodes = [(n["name"], build_layer(n, generators), n["inputs"])
                 for n in model_spec["nodes"]]
        return GraphModel(nodes, model_spec["outputs"])
    return build_layer(model_spec, generators)


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------
def build_datasets(data_cfg: dict, generators: dict) -> tuple:
    """(train, validation or None, test or None, Standardize or None) TensorDatasets."""
    from deepgrad.data import Standardize, TensorDataset, train_val_test_split

    builder = registry.lookup("dataset", data_cfg["dataset"])
    x, y, x_test, y_test = builder(data_cfg, generators["extra"])
    n = len(x)
    val = data_cfg["validation_split"]
    test = data_cfg["test_split"] if x_test is None else 0.0
    try:
        train_idx, val_idx, test_idx = train_val_test_split(n, val, test, generators["split"])
    except ValueError as error:
        raise ConfigError([f"data: {error}"]) from None
    limit = data_cfg.get("limit") or {}
    if x_test is not None:
        test_part = (x_test, y_test)
    else:
        test_part = (x[test_idx], y[test_idx]) if len(test_idx) else None
    parts = {"train": (x[train_idx], y[train_idx]),
             "validation": (x[val_idx], y[val_idx]) if len(val_idx) else None,
             "test": test_part}
    for key, part in parts.items():
        if part is not None and limit.get(key):
            parts[key] = (part[0][:limit[key]], part[1][:limit[key]])
    if data_cfg["preprocessing"]["flatten"]:
        parts = {k: (p[0].reshape(len(p[0]), -1), p[1]) if p is not None else None
                 for k, p in parts.items()}
    scaler = None
    if data_cfg["preprocessing"]["standardize"]:
        scaler = Standardize().fit(parts["train"][0])
        parts = {k: (scaler.transform(p[0]), p[1]) if p is not None else None
                 for k, p in parts.items()}
    datasets = {k: TensorDataset(*p) if p is not None else None for k, p in parts.items()}
    return datasets["train"], datasets["validation"], datasets["test"], scaler


# --------------------------------------------------------------------------------------------
# losses, optimizer, schedule, callbacks
# --------------------------------------------------------------------------------------------
def build_losses(config: dict):
    """(losses [(output index, loss module, weight)], the loss given to the Trainer, one
    weight per model output or None)."""
    outputs = model_outputs(config["model"])
    built = []
    for spec in config["losses"]:
        target = registry.lookup("loss", spec["type"])
        built.append((output_index(spec["output"], outputs), target(**spec["args"]),
                      float(spec["weight"])))
    first = config["losses"][0]
    same = all(s["type"] == first["type"] and s["args"] == first["args"]
               for s in config["losses"])
    if not same:
        raise ConfigError(["losses: every output must use the same loss type and arguments "
                           "(the Trainer applies one loss to each output, with its weight); "
                           f"got {[s['type'] for s in config['losses']]}"])
    count = len(outputs) if outputs is not None else max(i for i, _, _ in built) + 1
    if count == 1:
        return built, built[0][1], None
    weights = [0.0] * count
    for index, _, weight in built:
        weights[index] = weight
    return built, built[0][1], weights


def build_optimizer(spec: dict, model):
    args = {k: v for k, v in spec.items() if k != "type"}
    return registry.lookup("optimizer", spec["type"])(model.parameters(), **args)


def build_schedule(spec, optimizer):
    """The schedule of a `schedule` section (None when there is none)."""
    if spec is None:
        return None
    args = {k: v for k, v in spec.items() if k not in ("type", "per_batch", "monitor")}
    return registry.lookup("schedule", spec["type"])(optimizer, **args)


def penalties(regularization: dict) -> "list | None":
    found = []
    for kind in ("l1", "l2"):
        if regularization[kind] > 0:
            found.append(("*weight", kind, regularization[kind]))
    for pattern, values in (regularization.get("per_layer") or {}).items():
        for kind in ("l1", "l2"):
            if values[kind] > 0:
                found.append((pattern, kind, values[kind]))
    return found or None


def build_callbacks(config: dict, scheduler, run_dir: str) -> list:
    """The schedule's LearningRateScheduler (if any), then `training.callbacks` in order.

    Relative values of a callback's `path_args` (ModelCheckpoint's filepath, CSVLogger's
    filename, TensorBoard's log_dir) are taken relative to `run_dir`.
    """
    from deepgrad.training.callbacks import LearningRateScheduler

    callbacks = []
    if scheduler is not None:
        schedule = config["schedule"]
        callbacks.append(LearningRateScheduler(scheduler, per_batch=schedule["per_batch"],
                                               monitor=schedule["monitor"]))
    for spec in config["training"]["callbacks"]:
        target = registry.lookup("callback", spec["type"])
        args = dict(spec["args"])
        for name in getattr(target, "path_args", ()):
            if isinstance(args.get(name), str) and not os.path.isabs(args[name]):
                args[name] = os.path.join(run_dir, args[name])
        callbacks.append(target(**args))
    return callbacks


def build_augment(specs):
    """The validated data.augment list as one Compose transform (None when absent)."""
    if not specs:
        return None
    from deepgrad.data.transforms import Compose

    return Compose([registry.lookup("transform", spec["type"])(
        **layer_args({k: a for k, a in spec.items() if k != "type"})) for spec in specs])


def load_run_checkpoint(path):
    """Read a checkpoint whose stored config is validated too (unknown layer types, bad
    values are reported as CheckpointError naming the file); returns the Checkpoint."""
    from deepgrad.io import load_checkpoint
    from deepgrad.io.schema import RUN_METADATA

    return load_checkpoint(path, metadata_schema=RUN_METADATA,
                           config_validator=lambda c: validate_config(c, source="stored config"))


def model_from_checkpoint(path):
    """Rebuild the model described by a checkpoint's config and load its weights."""
    from deepgrad.io import building_from, restore

    checkpoint = load_run_checkpoint(path)
    if checkpoint.config is None:
        from deepgrad.io import CheckpointError

        raise CheckpointError(f"{path}: holds no config, so the model cannot be rebuilt; "
                              "build it in Python and use deepgrad.io.restore")
    with building_from(checkpoint):
        model = build_model(checkpoint.config["model"], None)
    restore(checkpoint, model)
    return model, checkpoint
