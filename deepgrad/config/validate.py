"""Validating a whole config: the sections that name registered classes, checked against
the registry and the classes' constructor signatures, plus dry builds (each layer, loss,
optimizer and schedule is constructed once, so its own argument checks fire before any run).

    config = validate_config(raw_dict, source="run.yaml", marks=positions)

The result is a normalized plain dict (defaults filled in, numbers coerced) that is
JSON-serializable, stored in checkpoints, and valid input to `validate_config` again. The
normal entry point is `deepgrad.config.load_config(path, overrides)`.
"""

from __future__ import annotations

import inspect
import os
import re

import numpy as np

from deepgrad import registry
from deepgrad.config.schema import (_PENALTY, DATA, MISSING, TOP, Field, Validator, _describe,
                                    suggestion)

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LAYER_RESERVED = ("type", "name", "args", "input", "inputs", "layers")


# --------------------------------------------------------------------------------------------
# sections with names resolved through the registry
# --------------------------------------------------------------------------------------------
def _inline_args(v: Validator, spec: dict, path, reserved) -> tuple:
    """Merge `args:` and inline keys; return (args, per-arg paths)."""
    args, paths = {}, {"__self__": path}
    nested = spec.get("args")
    if nested is not None:
        if v.mapping(nested, path + ("args",)):
            for key, value in nested.items():
                args[key], paths[key] = value, path + ("args", key)
    for key, value in spec.items():
        if key in reserved:
            continue
        if key in args:
            v.error(path + (key,), f"'{key}' given both inline and under args", at_key=True)
        args[key], paths[key] = value, path + (key,)
    return args, paths


def _dry_build(v: Validator, target, args: dict, path, owner: str, **extra):
    try:
        return target(**layer_args(args), **extra)
    except (ValueError, TypeError, KeyError) as error:
        text = str(error.args[0]) if error.args else str(error)
        v.error(path, text if text.startswith(owner) else f"{owner}: {text}")
        return None


def _entry(v: Validator, item, path, kind: str) -> tuple:
    """A registered entry `NAME` or `{type: NAME, ...}` -> (the mapping, the registered class),
    or (None, None) after reporting an error."""
    if isinstance(item, str):
        item = {"type": item}
    if not v.mapping(item, path):
        return None, None
    name = item.get("type")
    if not registry.contains(kind, name):
        v.error(path + ("type",), registry.unknown_message(kind, name))
        return None, None
    return item, registry.lookup(kind, name)


def _arguments(v: Validator, target, item: dict, path, reserved, skip=(), **dry) -> dict:
    """An entry's constructor arguments (inline or under args), checked against the
    signature of `target`, then a dry build when they look right."""
    args, paths = _inline_args(v, item, path, reserved)
    before = len(v.errors)
    args = v.call_args(target, args, paths, item["type"], skip=skip)
    if len(v.errors) == before:
        _dry_build(v, target, args, path, item["type"], **dry)
    return args


def layer_args(args: dict) -> dict:
    """YAML lists become tuples for layer arguments (kernel_size: [3, 3])."""
    return {k: (tuple(a) if isinstance(a, list) else a) for k, a in args.items()}


def _generator_extra(target) -> dict:
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return {}
    return {"generator": np.random.default_rng(0)} if "generator" in params else {}


def check_layer(v: Validator, spec, path, reserved=_LAYER_RESERVED):
    """A layer (or registered model) entry -> {"type", "args"[, "name", "layers"]}."""
    if isinstance(spec, str):
        spec = {"type": spec}
    if not v.mapping(spec, path):
        return MISSING
    kind = spec.get("type", MISSING)
    if kind is MISSING:
        v.error(path, "missing required key 'type' (a layer or model name, e.g. Linear)")
        return MISSING
    out = {"type": kind}
    if isinstance(spec.get("name"), str):
        out["name"] = spec["name"]
    if kind == "Sequential":
        layers = spec.get("layers")
        if not isinstance(layers, list) or not layers:
            v.error(path + ("layers",), "a Sequential needs a non-empty list 'layers'")
            return MISSING
        extra = [k for k in spec if k not in reserved]
        for key in extra:
            v.unknown_key(key, ["type", "name", "layers"], path)
        out["layers"] = [check_layer(v, item, path + ("layers", i))
                         for i, item in enumerate(layers)]
        out["args"] = {}
        return out
    if "layers" in spec:
        v.unknown_key("layers", ["type", "name", "args"], path)
    if registry.contains("layer", kind):
        target = registry.lookup("layer", kind)
    elif registry.contains("model", kind):
        target = registry.lookup("model", kind)
    else:
        v.error(path + ("type",), registry.unknown_message("layer", kind,
                                                           extra=registry.names("model")))
        return MISSING
    args, paths = _inline_args(v, spec, path, reserved)
    before = len(v.errors)
    args = v.call_args(target, args, paths, kind, skip=("generator", "dtype"))
    if len(v.errors) == before and kind != "GraphModel":
        _dry_build(v, target, args, path, kind, **_generator_extra(target))
    out["args"] = args
    return out


def check_model(v: Validator, spec, path=("model",)):
    was_list = isinstance(spec, list)
    if was_list:
        spec = {"layers": spec}
    if not v.mapping(spec, path):
        return MISSING
    forms = [k for k in ("type", "layers", "nodes") if k in spec]
    if len(forms) != 1:
        v.error(path, "a model is a list of layers, or a mapping with exactly one of 'type' "
                      "(a registered model), 'layers' or 'nodes' (a graph); got "
                      f"{forms or 'none'}")
        return MISSING
    name = spec.get("name")
    if name is not None and not isinstance(name, str):
        v.error(path + ("name",), f"expected a string, got {_describe(name)}")
    if forms == ["layers"]:
        for key in spec:
            if key not in ("layers", "name"):
                v.unknown_key(key, ["layers", "name"], path)
        layers = spec["layers"]
        if not isinstance(layers, list) or not layers:
            v.error(path + ("layers",), "expected a non-empty list of layers")
            return MISSING
        out = {"layers": [check_layer(v, item, path + (i,) if was_list
                                      else path + ("layers", i))
                          for i, item in enumerate(layers)]}
    elif forms == ["nodes"]:
        out = _check_graph(v, spec, path)
    else:
        out = check_layer(v, spec, path, reserved=("type", "name", "args"))
    if isinstance(out, dict) and isinstance(name, str):
        out["name"] = name
    return out


def _check_graph(v: Validator, spec, path) -> dict:
    for key in spec:
        if key not in ("nodes", "outputs", "name"):
            v.unknown_key(key, ["nodes", "outputs", "name"], path)
    nodes, seen, out_nodes = spec["nodes"], [], []
    if not isinstance(nodes, list) or not nodes:
        v.error(path + ("nodes",), "expected a non-empty list of nodes")
        return MISSING
    for i, node in enumerate(nodes):
        where = path + ("nodes", i)
        if not v.mapping(node, where):
            continue
        name = node.get("name")
        if not isinstance(name, str) or not _IDENTIFIER.match(name) or name == "input":
            v.error(where + ("name",), f"every node needs a 'name' that is an identifier other "
                                       f"than 'input', got {name!r}")
            continue
        if name in seen:
            v.error(where + ("name",), f"duplicate node name {name!r}")
        if "input" in node and "inputs" in node:
            v.error(where, "give either 'input' or 'inputs', not both")
        inputs = node.get("inputs", node.get("input", seen[-1] if seen else "input"))
        inputs = [inputs] if isinstance(inputs, str) else inputs
        key = "inputs" if "inputs" in node else "input"
        if not isinstance(inputs, list) or not all(isinstance(s, str) for s in inputs):
            v.error(where + (key,), f"expected a node name or a list of them, got {inputs!r}")
            inputs = []
        for source in inputs:
            if source != "input" and source not in seen:
                v.error(where + (key,), f"unknown input {source!r}: must be 'input' or an "
                                        f"earlier node{suggestion(source, seen)}")
        layer = check_layer(v, {k: val for k, val in node.items()
                                if k not in ("name", "input", "inputs")}, where)
        if layer is not MISSING:
            out_nodes.append({"name": name, "inputs": inputs, "type": layer["type"],
                              "args": layer["args"], **({"layers": layer["layers"]}
                                                        if "layers" in layer else {})})
        seen.append(name)
    outputs = spec.get("outputs", [seen[-1]] if seen else [])
    outputs = [outputs] if isinstance(outputs, str) else outputs
    if not isinstance(outputs, list) or not outputs:
        v.error(path + ("outputs",), "expected a non-empty list of node names, main first")
        outputs = []
    for name in outputs:
        if name not in seen:
            v.error(path + ("outputs",), f"unknown output node {name!r}{suggestion(name, seen)}")
    return {"nodes": out_nodes, "outputs": list(outputs)}


def model_outputs(model_spec) -> "list | None":
    """Output names of a graph model; None when the model's outputs are only indexed."""
    if isinstance(model_spec, dict) and "nodes" in model_spec:
        return list(model_spec["outputs"])
    return None


def output_index(output, outputs) -> "int | None":
    """A loss's `output` -> index into the model's outputs ("main" 0, "aux" 1, "aux2" 2)."""
    if isinstance(output, bool):
        return None
    if isinstance(output, int):
        return output if output >= 0 and (outputs is None or output < len(outputs)) else None
    if not isinstance(output, str):
        return None
    if outputs is not None:
        return outputs.index(output) if output in outputs else None
    match = re.fullmatch(r"main|aux(\d*)", output)
    if not match:
        return None
    return 0 if output == "main" else int(match.group(1) or 1)


def _check_losses(v: Validator, raw: dict, outputs) -> list:
    if raw.get("loss") is not None and raw.get("losses") is not None:
        v.error(("losses",), "give either 'loss' or 'losses', not both", at_key=True)
        return MISSING
    if raw.get("losses") is not None:
        items, base = raw["losses"], ("losses",)
        if not isinstance(items, list) or not items:
            v.error(base, "expected a non-empty list of losses")
            return MISSING
    elif raw.get("loss") is not None:
        items, base = [raw["loss"]], None
    else:
        v.error(("loss",), "missing required key 'loss' (e.g. {type: CrossEntropyLoss})")
        return MISSING
    out = []
    for i, item in enumerate(items):
        path = base + (i,) if base else ("loss",)
        item, target = _entry(v, item, path, "loss")
        if item is None:
            continue
        weight = v.check(item.get("weight", 1.0), Field("float", min=0.0), path + ("weight",))
        output = item.get("output", 0)
        if output_index(output, outputs) is None:
            known = outputs if outputs is not None else ["main", "aux", "aux2", "0", "1"]
            v.error(path + ("output",), f"unknown model output {output!r}"
                                        f"{suggestion(output, known)}; outputs: "
                                        f"{', '.join(map(str, known))}")
        args = _arguments(v, target, item, path, ("type", "weight", "output", "args"))
        out.append({"type": item["type"], "weight": weight, "output": output, "args": args})
    indices = [output_index(o["output"], outputs) for o in out]
    if len(set(indices)) != len(indices):
        v.error(base or ("loss",), "two losses on the same model output")
    return out


def _dummy_optimizer():
    from deepgrad.nn.module import Parameter
    from deepgrad.optim import SGD

    return SGD([Parameter(np.zeros(1, np.float32))], lr=0.1, momentum=0.9)


def _check_optimizer(v: Validator, spec, path=("optimizer",)):
    from deepgrad.nn.module import Parameter

    spec, target = _entry(v, spec, path, "optimizer")
    if spec is None:
        return MISSING
    args = _arguments(v, target, spec, path, ("type",), skip=("params",),
                      params=[Parameter(np.zeros(1, np.float32))])
    return {"type": spec["type"], **args}


def _check_schedule(v: Validator, spec, path=("schedule",)):
    if spec is None:
        return None
    if not v.mapping(spec, path):
        return MISSING
    kind = spec.get("type")
    if kind == "LambdaLR":
        v.error(path + ("type",), "LambdaLR needs a Python function and cannot be configured "
                                  "from YAML; use StepLR, ExponentialLR, CosineAnnealingLR, ...")
        return MISSING
    spec, target = _entry(v, spec, path, "schedule")
    if spec is None:
        return MISSING
    per_batch = v.check(spec.get("per_batch", False), Field("bool"), path + ("per_batch",))
    monitor = v.check(spec.get("monitor", "val_loss"), Field("str"), path + ("monitor",))
    args = _arguments(v, target, spec, path, ("type", "per_batch", "monitor"),
                      skip=("optimizer", "last_epoch"), optimizer=_dummy_optimizer())
    return {"type": kind, "per_batch": per_batch, "monitor": monitor, **args}


def _check_data(v: Validator, raw, path=("data",)):
    if not v.mapping(raw, path):
        return MISSING
    dataset = raw.get("dataset")
    options = {}
    if dataset is not None:
        if not registry.contains("dataset", dataset):
            v.error(path + ("dataset",), registry.unknown_message("dataset", dataset))
        else:
            options = registry.lookup("dataset", dataset).options
    all_options = set()
    for name in registry.names("dataset"):
        all_options |= set(registry.lookup("dataset", name).options)
    out = v.section({k: val for k, val in raw.items() if k not in options}, DATA, path,
                    extra_known=sorted(all_options))
    if out is MISSING:
        return MISSING
    for key in raw:
        if key in all_options and key not in options and dataset in registry.names("dataset"):
            v.error(path + (key,), f"'{key}' is not an option of dataset '{dataset}' (its "
                                   f"options: {', '.join(sorted(options)) or 'none'})",
                    at_key=True)
    from deepgrad.config.datasets import REQUIRED_OPTIONS

    for key in REQUIRED_OPTIONS.get(dataset, ()):
        if key not in raw:
            v.error(path + (key,), f"dataset '{dataset}' needs '{key}'")
    for key, field in options.items():
        if key in raw:
            value = v.check(raw[key], field, path + (key,))
            if value is not MISSING and key in ("path", "test_path") and value is not None:
                if v.base_dir is not None and not os.path.isabs(value):
                    value = os.path.normpath(os.path.join(v.base_dir, value))
                if not os.path.isfile(value):
                    v.error(path + (key,), f"file not found: {value}")
            if value is not MISSING:
                out[key] = value
    out["limit"] = _check_limit(v, raw.get("limit"), path + ("limit",))
    out["augment"] = _check_augment(v, raw.get("augment"), path + ("augment",))
    return out


def _check_augment(v: Validator, raw, path):
    """data.augment: a list of transforms, each {type: Name, argument: value, ...}."""
    if raw is None:
        return None
    if not isinstance(raw, list):
        v.error(path, f"expected a list of transforms such as [{{type: RandomCrop, size: 28, "
                      f"padding: 2}}, {{type: RandomHorizontalFlip}}], got {_describe(raw)}")
        return MISSING
    out = []
    for i, spec in enumerate(raw):
        item = path + (i,)
        spec = {"type": spec} if isinstance(spec, str) else spec
        if not v.mapping(spec, item):
            continue
        kind = spec.get("type")
        if not registry.contains("transform", kind):
            v.error(item + ("type",), registry.unknown_message("transform", kind))
            continue
        if not registry.lookup("transform", kind).random:
            # augmentation never touches validation or test batches: a deterministic
            # transform there would make training and evaluation inputs differ
            v.error(item + ("type",), f"{kind} is not an augmentation: data.augment applies "
                                      "to the training batches only, so the validation and "
                                      "test data would not get it; use data.preprocessing "
                                      "(e.g. standardize: true) instead")
            continue
        target = registry.lookup("transform", kind)
        args, paths = _inline_args(v, spec, item, ("type",))
        before = len(v.errors)
        args = v.call_args(target, args, paths, kind)
        if len(v.errors) == before:
            _dry_build(v, target, args, item, kind)
        out.append({"type": kind, **args})
    return out



def _check_limit(v: Validator, limit, path):
    field = Field("section", fields={k: Field("int", None, nullable=True, min=1)
                                     for k in ("train", "validation", "test")})
    if limit is None:
        return None
    if isinstance(limit, (int, str)) and not isinstance(limit, bool):
        n = v.check(limit, Field("int", min=1), path)
        return None if n is MISSING else {"train": n, "validation": n, "test": n}
    checked = v.check(limit, field, path)
    return None if checked is MISSING else checked


def _check_metrics(v: Validator, metrics, losses, path=("training", "metrics")):
    if metrics is None:
        return ["mse"] if is_regression(losses) else ["accuracy"]
    for i, name in enumerate(metrics):
        if not registry.contains("metric", name):
            v.error(path + (i,), registry.unknown_message("metric", name))
    return metrics


def is_regression(losses) -> bool:
    """Whether every configured loss is a regression loss (registered with task="regression"):
    the default metric is then mse, and `deepgrad predict` prints values, not classes."""
    kinds = [loss["type"] for loss in losses or []]
    return bool(kinds) and all(registry.info(registry.lookup("loss", kind)).get("task")
                               == "regression" for kind in kinds)


def _check_per_layer(v: Validator, per_layer, path=("regularization", "per_layer")):
    if per_layer is None:
        return None
    return {str(pattern): v.check(value, _PENALTY, path + (pattern,))
            for pattern, value in per_layer.items()}


_CALLBACKS_EXAMPLE = ("callbacks: [{type: EarlyStopping, monitor: val_accuracy, patience: 5, "
                      "restore_best_weights: true}]")


def _check_callbacks(v: Validator, items, path=("training", "callbacks")) -> list:
    """training.callbacks: a list of registered callbacks with their constructor arguments
    (the class defaults apply) -> [{"type", "args"}]."""
    if items is None:
        return []
    if isinstance(items, dict):
        v.error(path, "expected a list of callbacks, got a mapping (the form "
                      "`early_stopping: {...}` was replaced by a list of registered callback "
                      f"classes), e.g. {_CALLBACKS_EXAMPLE}")
        return []
    if not isinstance(items, list):
        v.error(path, f"expected a list of callbacks, e.g. {_CALLBACKS_EXAMPLE}; got "
                      f"{_describe(items)}")
        return []
    out = []
    for i, item in enumerate(items):
        item, target = _entry(v, item, path + (i,), "callback")
        if item is not None:
            args = _arguments(v, target, item, path + (i,), ("type", "args"))
            out.append({"type": item["type"], "args": args})
    return out


def _default(target, name: str):
    """The default value of constructor argument `name` of `target` (None if it has none)."""
    try:
        param = inspect.signature(target).parameters.get(name)
    except (TypeError, ValueError):
        return None
    return None if param is None or param.default is param.empty else param.default


def _check_monitors(v: Validator, top: dict) -> None:
    """A callback watching "val_..." needs validation data."""
    data, training = top.get("data"), top.get("training")
    if not isinstance(data, dict) or not isinstance(training, dict):
        return
    if data.get("validation_split") != 0.0:
        return
    watchers = [(("training", "callbacks", i),
                 spec["args"].get("monitor", _default(registry.lookup("callback", spec["type"]),
                                                      "monitor")))
                for i, spec in enumerate(training.get("callbacks") or [])]
    schedule = top.get("schedule")
    if isinstance(schedule, dict) and schedule.get("type") == "ReduceLROnPlateau":
        watchers.append((("schedule",), schedule.get("monitor")))
    for path, monitor in watchers:
        if isinstance(monitor, str) and monitor.startswith("val_"):
            v.error(path + ("monitor",), f"monitors {monitor!r} but data.validation_split is "
                                         "0 (no validation data); monitor a training quantity "
                                         "such as 'loss' or keep a validation split")


def validate_config(raw, source: str = "<config>", marks=None, base_dir=None) -> dict:
    """Check a parsed config and return its normalized form; raise ConfigError listing every
    problem (with file:line:column when `marks` from `load_config` are given)."""
    v = Validator(source, marks, base_dir)
    if not isinstance(raw, dict):
        v.error((), f"a config must be a mapping of sections, got {_describe(raw)}")
        v.raise_if_errors()
    top = v.section(raw, TOP, ())
    if top is MISSING:
        v.raise_if_errors()
    if "model" in raw:
        top["model"] = check_model(v, raw["model"])
    outputs = model_outputs(top.get("model"))
    top["losses"] = _check_losses(v, raw, outputs)
    top.pop("loss", None)
    if "optimizer" in raw:
        top["optimizer"] = _check_optimizer(v, raw["optimizer"])
    top["schedule"] = _check_schedule(v, raw.get("schedule"))
    if "data" in raw:
        top["data"] = _check_data(v, raw["data"])
    if isinstance(top.get("training"), dict):
        top["training"]["callbacks"] = _check_callbacks(v, top["training"].get("callbacks"))
        top["training"]["metrics"] = _check_metrics(
            v, top["training"].get("metrics"),
            top["losses"] if isinstance(top["losses"], list) else None)
    if isinstance(top.get("regularization"), dict):
        top["regularization"]["per_layer"] = _check_per_layer(
            v, top["regularization"].get("per_layer"))
    _check_monitors(v, top)
    if top.get("output_dir") is None and isinstance(top.get("name"), str):
        top["output_dir"] = os.path.join("runs", top["name"])
    v.raise_if_errors()
    return top


def validate_stored_config(config) -> dict:
    """Validate a config read back from a checkpoint (no file positions)."""
    return validate_config(config, source="stored config")
