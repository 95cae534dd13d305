"""Building a whole run from a validated config.

    config = load_config("run.yaml", overrides=["training.epochs=5"])
    run = build_run(config)          # model, losses, optimizer, schedule, loaders, callbacks
    history = run.fit()              # Trainer.fit; writes <output_dir>/last.safetensors
    run.evaluate("test")             # {"loss": ..., "accuracy": ...}

so that `deepgrad train CONFIG [--set k=v ...]` is `build_run(load_config(...)).fit()`.

Randomness: one seed (`training.seed`) feeds `seed_everything`, whose independent streams
go to weight initialization ("init"), dropout masks ("dropout"), data generation ("extra"),
the train/validation/test split ("split"), batch shuffling ("data") and input noise ("noise").
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, field


from deepgrad.config import registry
from deepgrad.config.schema import ConfigError
from deepgrad.config.validate import (build_augment, layer_args, model_outputs, output_index,
                                      validate_config)


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
        noisy = "Dropout" in kind or "Noise" in kind
        args["generator"] = generators["dropout" if noisy else "init"]
    return target(**args)


def build_model(model_spec: dict, generators=None):
    """The model of a normalized `model` section."""
    from deepgrad.config.graph import GraphModel
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
# the run
# --------------------------------------------------------------------------------------------
@dataclass
class Run:
    """Everything a config describes, built and ready: call `fit()` (or make a `trainer()`)."""

    config: dict
    model: object
    losses: list                 # [(output index, loss module, weight)], as configured
    loss: object                 # the loss function given to the Trainer
    loss_weights: "list | None"  # one weight per model output (deep supervision) or None
    optimizer: object
    scheduler: object
    train_loader: object
    val_loader: object
    test_loader: object
    callbacks: list
    metrics: list
    trainer_kwargs: dict
    generators: dict
    standardizer: object = None
    output_dir: str = "runs/run"
    initial_epoch: int = 0
    history: object = field(default=None, repr=False)
    _trainer: object = field(default=None, repr=False)

    def trainer(self):
        """The Trainer (created once)."""
        if self._trainer is None:
            from deepgrad.training import Trainer

            self._trainer = Trainer(self.model, self.loss, self.optimizer,
                                    metrics=self.metrics, callbacks=self.callbacks,
                                    **self.trainer_kwargs)
        return self._trainer

    def fit(self, verbose=None, checkpoint: bool = True):
        """Train for `training.epochs`; then save `<output_dir>/last.safetensors`."""
        training = self.config["training"]
        verbose = training["verbose"] if verbose is None else verbose
        trainer = self.trainer()
        self.history = trainer.fit(self.train_loader, training["epochs"],
                                   validation_data=self.val_loader, verbose=verbose,
                                   initial_epoch=self.initial_epoch)
        if checkpoint:
            self.save_checkpoint(os.path.join(self.output_dir, "last.safetensors"))
        return self.history

    def resume(self, path):
        """Continue from a checkpoint written by `save_checkpoint`: weights, optimizer and
        schedule state, every random stream and the data loader's position; the next `fit()`
        starts at the saved epoch. Returns the Checkpoint."""
        from deepgrad.io import restore, restore_generator

        checkpoint = load_run_checkpoint(path)
        restore(checkpoint, self.model, self.optimizer, self.scheduler)
        for name, generator in self.generators.items():
            if name in checkpoint.rng_states:
                restore_generator(generator, checkpoint.rng_states[name])
        if "data_loader" in checkpoint.rng_states:
            self.train_loader.load_state_dict(checkpoint.rng_states["data_loader"])
        self.initial_epoch = checkpoint.epoch or 0
        return checkpoint

    def evaluate(self, split: str = "test") -> dict:
        loader = {"train": self.train_loader, "validation": self.val_loader,
                  "test": self.test_loader}[split]
        if loader is None:
            raise ValueError(f"evaluate: the config gives no {split} data")
        return self.trainer().evaluate(loader)

    def save_checkpoint(self, path) -> str:
        """Model, optimizer, schedule, RNG states, config and history in one checkpoint."""
        from deepgrad.io import save_checkpoint

        trainer = self._trainer
        rng = {name: g for name, g in self.generators.items()}
        rng["data_loader"] = self.train_loader.state_dict()
        metrics = dict(self.history.history) if self.history is not None else None
        tensors = None
        if self.standardizer is not None:
            state = self.standardizer.state_dict()
            tensors = {"standardize/mean": state["mean"], "standardize/std": state["std"]}
        return save_checkpoint(path, self.model, self.optimizer, self.scheduler,
                               tensors=tensors, rng_states=rng, config=self.config,
                               metrics=metrics,
                               epoch=(trainer.epoch + 1) if trainer is not None else 0,
                               step=trainer.step if trainer is not None else 0,
                               keep_previous=True)


def _build_losses(config: dict):
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


def _penalties(regularization: dict) -> "list | None":
    penalties = []
    for kind in ("l1", "l2"):
        if regularization[kind] > 0:
            penalties.append(("*weight", kind, regularization[kind]))
    for pattern, values in (regularization.get("per_layer") or {}).items():
        for kind in ("l1", "l2"):
            if values[kind] > 0:
                penalties.append((pattern, kind, values[kind]))
    return penalties or None


def _callbacks(config: dict, scheduler, output_dir: str) -> list:
    lookup = lambda name: registry.lookup("callback", name)  # noqa: E731
    spec = config["training"]["callbacks"]
    callbacks = []
    if scheduler is not None:
        schedule = config["schedule"]
        callbacks.append(lookup("LearningRateScheduler")(
            scheduler, per_batch=schedule["per_batch"], monitor=schedule["monitor"]))
    if spec["early_stopping"] is not None:
        callbacks.append(lookup("early_stopping")(**spec["early_stopping"]))
    if spec["checkpoint"] is not None:
        args = dict(spec["checkpoint"])
        args["filepath"] = os.path.join(output_dir, args.pop("filename"))
        callbacks.append(lookup("checkpoint")(**args))
    if spec["tensorboard"] is not None:
        callbacks.append(lookup("tensorboard")(os.path.join(output_dir,
                                                            spec["tensorboard"]["log_dir"])))
    if spec["csv_logger"] is not None:
        callbacks.append(lookup("csv_logger")(os.path.join(output_dir,
                                                           spec["csv_logger"]["filename"])))
    if spec["terminate_on_nan"]:
        callbacks.append(lookup("terminate_on_nan")())
    return callbacks


def build_run(config: dict) -> Run:
    """Build model, losses, optimizer, schedule, data loaders and callbacks from a config.

    `config` is the dict returned by `load_config` (a raw dict is validated first).
    """
    from deepgrad.data import DataLoader
    from deepgrad.training import seed_everything

    if "losses" not in config or "loss" in config:
        config = validate_config(config)
    training = config["training"]
    generators = seed_everything(training["seed"])
    model = build_model(config["model"], generators)
    losses, loss, loss_weights = _build_losses(config)
    opt_spec = dict(config["optimizer"])
    optimizer = registry.lookup("optimizer", opt_spec.pop("type"))(model.parameters(),
                                                                    **opt_spec)
    scheduler = None
    if config["schedule"] is not None:
        sched = {k: v for k, v in config["schedule"].items()
                 if k not in ("type", "per_batch", "monitor")}
        scheduler = registry.lookup("schedule", config["schedule"]["type"])(optimizer, **sched)
    train, val, test, scaler = build_datasets(config["data"], generators)
    train_loader = DataLoader(train, training["batch_size"], shuffle=True,
                              generator=generators["data"],
                              transform=build_augment(config["data"].get("augment")),
                              num_workers=config["data"].get("num_workers", 0))
    eval_size = training["eval_batch_size"]
    val_loader = DataLoader(val, eval_size) if val is not None else None
    test_loader = DataLoader(test, eval_size) if test is not None else None
    output_dir = config["output_dir"]
    regularization = config["regularization"]
    trainer_kwargs = {"grad_clip_norm": regularization["grad_clip"],
                      "input_noise_std": regularization["input_noise"],
                      "penalties": _penalties(regularization),
                      "loss_weights": loss_weights,
                      "aux_weight_decay": training["aux_weight_decay"],
                      "generator": generators["noise"]}
    return Run(config=config, model=model, losses=losses, loss=loss, loss_weights=loss_weights,
               optimizer=optimizer, scheduler=scheduler, train_loader=train_loader,
               val_loader=val_loader, test_loader=test_loader,
               callbacks=_callbacks(config, scheduler, output_dir),
               metrics=list(training["metrics"]), trainer_kwargs=trainer_kwargs,
               generators=generators, standardizer=scaler, output_dir=output_dir)


def load_run_checkpoint(path):
    """Read a checkpoint whose stored config is validated too (unknown layer types, bad
    values are reported as CheckpointError naming the file); returns the Checkpoint."""
    from deepgrad.io import load_checkpoint

    return load_checkpoint(path, config_validator=lambda c: validate_config(
        c, source="stored config"))


def model_from_checkpoint(path):
    """Rebuild the model described by a checkpoint's config and load its weights."""
    from deepgrad.io import restore

    checkpoint = load_run_checkpoint(path)
    if checkpoint.config is None:
        from deepgrad.io import CheckpointError

        raise CheckpointError(f"{path}: holds no config, so the model cannot be rebuilt; "
                              "build it in Python and use deepgrad.io.restore")
    model = build_model(checkpoint.config["model"], None)
    restore(checkpoint, model)
    return model, checkpoint
