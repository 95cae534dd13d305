"""The sweep file: a base run config, a search space over its dotted keys, an objective, a
sampler, a pruner and a number of trials; read and validated before any trial starts.

    sweep = load_sweep("examples/sweep_spirals.yaml", trials=20)
    sweep.space.params        # [Param("optimizer.lr", "float", low=1e-4, high=0.1, log=True), ...]
    sweep.trial_config({"optimizer.lr": 0.003})   # the validated run config of one trial

Errors are reported like a run config's: every problem at once, each with its file position
and a "did you mean" where a name is close to a known one. A search-space key must name a
value of the base config (or an argument the config accepts, such as an optimizer's
`weight_decay` left at its default), and every value the space can produce must pass the run
config's own validation: the low and high ends, a value between them (so that a float range on
an integer key is caught) and every categorical choice are checked against the base config.
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass

from deepgrad.config.loader import apply_overrides, parse_yaml, split_path
from deepgrad.config.schema import MISSING, ConfigError, Field, Validator, suggestion
from deepgrad.config.validate import validate_config
from deepgrad.sweep.space import Param, SearchSpace

SAMPLERS = {"grid": {"seed": Field("int", 0, min=0)},
            "random": {"seed": Field("int", 0, min=0)},
            "tpe": {"seed": Field("int", 0, min=0),
                    "n_startup_trials": Field("int", 10, min=0),
                    "multivariate": Field("bool", False),
                    "constant_liar": Field("bool", None, nullable=True,
                                           help="default: true with several workers")}}
PRUNERS = {"none": {},
           "median": {"n_startup_trials": Field("int", 5, min=0),
                      "n_warmup_steps": Field("int", 0, min=0),
                      "interval_steps": Field("int", 1, min=1)},
           "hyperband": {"min_resource": Field("int", 1, min=1),
                         "max_resource": Field("int", None, nullable=True, min=1,
                                               help="default: training.epochs"),
                         "reduction_factor": Field("int", 3, min=2)}}

OBJECTIVE = Field("section", fields={
    "metric": Field("str", help="an epoch-log key such as val_accuracy or val_loss"),
    "direction": Field("str", "auto", choices=("auto", "maximize", "minimize")),
    "epoch": Field("str", "best", choices=("best", "last"),
                   help="the metric at the run's best epoch, or at its last"),
})
STORAGE = Field("section", fields={
    "url": Field("str", None, nullable=True,
                 help="an SQLAlchemy URL; default sqlite:///<output_dir>/study.db"),
    "heartbeat_interval": Field("int", 10, min=1, help="seconds between a trial's heartbeats"),
    "grace_period": Field("int", None, nullable=True, min=1,
                          help="seconds without heartbeat before a trial counts as dead "
                               "(default: 3 heartbeat intervals)"),
    "max_retry": Field("int", 3, min=0, help="retries of a trial whose worker died"),
})
SWEEP = Field("section", fields={
    "version": Field("int", 1, min=1, max=1),
    "name": Field("str", None, nullable=True, help="the study's name; default: the file's stem"),
    "base": Field("str", help="the run config to vary, relative to the sweep file"),
    "set": Field("dict", None, nullable=True, help="dotted key -> value fixed for every trial"),
    "space": Field("dict", help="dotted key -> {type: float|int|categorical, ...}"),
    "objective": OBJECTIVE,
    "sampler": Field("any", "tpe"),
    "pruner": Field("any", "none"),
    "trials": Field("int", None, nullable=True, min=1),
    "timeout": Field("float", None, nullable=True, min=0.0, exclusive=True),
    "storage": STORAGE,
    "output_dir": Field("str", None, nullable=True, help="default runs/sweeps/<name>"),
})

PARAM_FIELDS = {
    "float": {"type": Field("str"), "low": Field("float"), "high": Field("float"),
              "log": Field("bool", False), "step": Field("float", None, nullable=True,
                                                         min=0.0, exclusive=True),
              "keys": Field("list", None, nullable=True, item=Field("str"))},
    "int": {"type": Field("str"), "low": Field("int"), "high": Field("int"),
            "log": Field("bool", False), "step": Field("int", 1, min=1),
            "keys": Field("list", None, nullable=True, item=Field("str"))},
    "categorical": {"type": Field("str"), "choices": Field("list"),
                    "keys": Field("list", None, nullable=True, item=Field("str"))},
}


@dataclass
class Sweep:
    """A validated sweep: what `deepgrad sweep` runs."""

    path: str
    name: str
    base_path: str
    base_raw: dict          # the base config as read, with `set` applied
    base_positions: dict
    base_config: dict       # ... validated (defaults filled in)
    space: SearchSpace
    metric: str
    direction: str          # "maximize" or "minimize"
    epoch: str              # "best" or "last"
    sampler: dict           # {"type": ..., options}
    pruner: dict
    trials: "int | None"
    timeout: "float | None"
    storage: dict
    output_dir: str

    @property
    def storage_url(self) -> str:
        url = self.storage["url"]
        return url or "sqlite:///" + os.path.abspath(os.path.join(self.output_dir, "study.db"))

    @property
    def grace_period(self) -> int:
        return self.storage["grace_period"] or 3 * self.storage["heartbeat_interval"]

    def trial_config(self, values: dict, name: str = None, output_dir: str = None) -> dict:
        """The validated run config with `values` (param name -> value) set."""
        raw = copy.deepcopy(self.base_raw)
        for param in self.space.params:
            if param.name in values:
                for key in param.keys:
                    _set_key(raw, key, values[param.name])
        if name is not None:
            raw["name"] = name
        if output_dir is not None:
            raw["output_dir"] = output_dir
        return validate_config(raw, source=self.base_path, marks=self.base_positions,
                               base_dir=os.path.dirname(self.base_path))

    def fingerprint(self) -> dict:
        """What a study must agree on to be continued or joined (not trials/timeout/storage)."""
        return {"base config": _plain(self.base_raw), "space": self.space.describe(),
                "objective": {"metric": self.metric, "direction": self.direction,
                              "epoch": self.epoch},
                "sampler": self.sampler, "pruner": self.pruner}


def _plain(config: dict) -> dict:
    """The base config as written (with `set` applied) without the parts that never change a
    trial's result; as written, so that a study survives changes of deepgrad's defaults."""
    out = copy.deepcopy(config)
    out.pop("output_dir", None)
    out.pop("name", None)
    out.get("training", {}).pop("verbose", None)
    return out


def _set_key(raw: dict, key: str, value) -> None:
    """Set a dotted key (creating sections) the way `--set` does."""
    import yaml

    apply_overrides(raw, [f"{key}={yaml.safe_dump(value, default_flow_style=True).strip()}"
                          .replace("\n...", "")])


# --------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------
def load_sweep(path, trials=None, timeout=None, storage=None, output_dir=None) -> Sweep:
    """Read and validate a sweep file; command-line values override the file's."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except OSError as error:
        raise ConfigError([f"{path}: cannot read the sweep file: {error.strerror}"],
                          path) from None
    data, marks = parse_yaml(text, path)
    v = Validator(path, marks)
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: a sweep file is a mapping with base, space, objective, "
                           "... (see docs/sweeps.md)"], path)
    section = v.check(data, SWEEP, ())
    if section is MISSING or any(k not in section for k in ("base", "space", "objective",
                                                            "storage")):
        v.raise_if_errors()
    for key in ("name", "set", "trials", "timeout", "output_dir"):
        section.setdefault(key, None)          # a bad value, already reported
    section.setdefault("sampler", "tpe")
    section.setdefault("pruner", "none")
    if trials is not None:
        if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
            raise ConfigError([f"--trials: must be an integer >= 1, got {trials!r}"], path)
        section["trials"] = trials
    if timeout is not None:
        if not timeout > 0:
            raise ConfigError([f"--timeout: must be > 0 seconds, got {timeout!r}"], path)
        section["timeout"] = timeout
    if storage is not None:
        section["storage"]["url"] = storage
    name = section["name"] or os.path.splitext(os.path.basename(path))[0]
    directory = os.path.dirname(os.path.abspath(path))
    base_path = os.path.normpath(os.path.join(directory, section["base"]))
    base_raw, base_positions, base_config = _load_base(v, base_path, section.get("set"))
    if base_config is None:
        v.raise_if_errors()
    space = _check_space(v, section["space"], base_raw, base_positions, base_path)
    sampler = _check_choice(v, section["sampler"], SAMPLERS, ("sampler",))
    pruner = _check_choice(v, section["pruner"], PRUNERS, ("pruner",))
    metric, direction = _check_objective(v, section["objective"], base_config)
    v.raise_if_errors()
    trials = _check_trials(v, section["trials"], sampler, space)
    v.raise_if_errors()
    if pruner["type"] == "hyperband" and pruner["max_resource"] is None:
        pruner["max_resource"] = base_config["training"]["epochs"]
    out = os.fspath(output_dir or section["output_dir"] or os.path.join("runs", "sweeps", name))
    return Sweep(path=path, name=name, base_path=base_path, base_raw=base_raw,
                 base_positions=base_positions, base_config=base_config, space=space,
                 metric=metric, direction=direction, epoch=section["objective"]["epoch"],
                 sampler=sampler, pruner=pruner, trials=trials, timeout=section["timeout"],
                 storage=section["storage"], output_dir=out)


def _load_base(v: Validator, base_path: str, fixed) -> tuple:
    """(raw base config with `set` applied, its positions, validated config or None)."""
    try:
        with open(base_path, encoding="utf-8") as stream:
            text = stream.read()
    except OSError as error:
        v.error(("base",), f"cannot read the base config {base_path}: {error.strerror}")
        return None, None, None
    raw, positions = parse_yaml(text, base_path)
    if not isinstance(raw, dict):
        v.error(("base",), f"{base_path} is not a run config (a mapping of sections)")
        return None, None, None
    for key, value in (fixed or {}).items():
        try:
            _set_key(raw, str(key), value)
        except ConfigError as error:
            v.error(("set", key), "; ".join(error.errors), at_key=True)
            continue
        where = v.where(("set", key), True)
        positions[tuple(str(p) for p in split_path(str(key)))] = (where, where)
    try:
        config = validate_config(raw, source=base_path, marks=positions,
                                 base_dir=os.path.dirname(base_path))
    except ConfigError as error:
        for message in error.errors:
            v.error(("base",), f"the base config is invalid: {message}")
        return raw, positions, None
    return raw, positions, config


def _check_choice(v: Validator, spec, table: dict, path) -> dict:
    """A sampler or pruner: a name, or a mapping {type: name, options...}."""
    if isinstance(spec, str):
        spec = {"type": spec}
    if not v.mapping(spec, path):
        return {"type": None}
    kind = spec.get("type")
    if kind not in table:
        v.error(path + ("type",), f"must be one of {', '.join(table)}, got {kind!r}"
                                  f"{suggestion(kind, table)}")
        return {"type": None}
    fields = dict(table[kind], type=Field("str"))
    out = v.section(spec, Field("section", fields=fields), path)
    return out if out is not MISSING else {"type": None}


def _check_objective(v: Validator, objective: dict, base: dict) -> tuple:
    metric = objective["metric"]
    has_validation = base["data"]["validation_split"] > 0
    names = ["loss"] + list(base["training"]["metrics"] or [])
    known = names + [f"val_{n}" for n in names]
    if metric not in known:
        v.error(("objective", "metric"), f"unknown metric {metric!r}{suggestion(metric, known)}; "
                                         f"the base config's epochs log {', '.join(known)} "
                                         "(add metrics under training.metrics)")
    elif metric.startswith("val_") and not has_validation:
        v.error(("objective", "metric"), f"{metric} needs validation data, but the base "
                                         "config has data.validation_split: 0")
    direction = objective["direction"]
    if direction == "auto":
        direction = "minimize" if metric.endswith("loss") or "error" in metric else "maximize"
    return metric, direction


def _check_trials(v: Validator, trials, sampler: dict, space: SearchSpace):
    if sampler["type"] == "grid" and space.params:
        size, unbounded = space.grid_size()
        for param in unbounded:
            v.error(("space", param.name), "the grid sampler needs a finite set of values: give "
                                           "`step`, or make it categorical", at_key=True)
        if unbounded:
            return trials
        if trials is None:
            return size
        if trials > size:
            v.error(("trials",), f"the grid has {size} points, so at most {size} trials; "
                                 f"got {trials}")
        return trials
    return trials     # None: as many as the existing study planned


# --------------------------------------------------------------------------------------------
# the search space
# --------------------------------------------------------------------------------------------
def _check_space(v: Validator, space: dict, base_raw, base_positions, base_path) -> SearchSpace:
    if not space:
        v.error(("space",), "the search space is empty: name at least one dotted key, e.g. "
                            "optimizer.lr: {type: float, low: 1e-4, high: 0.1, log: true}")
    params = []
    for name, spec in space.items():
        param = _check_param(v, str(name), spec)
        if param is not None:
            params.append(param)
    keys = [k for p in params for k in p.keys]
    for key in {k for k in keys if keys.count(k) > 1}:
        v.error(("space",), f"the key {key} is set by more than one parameter")
    if base_raw is not None and not v.errors:
        for param in params:
            _probe(v, param, base_raw, base_positions, base_path)
    return SearchSpace(params)


def _check_param(v: Validator, name: str, spec) -> "Param | None":
    path = ("space", name)
    if not v.mapping(spec, path):
        return None
    kind = spec.get("type")
    if kind not in PARAM_FIELDS:
        v.error(path + ("type",), f"must be float, int or categorical, got {kind!r}"
                                  f"{suggestion(kind, PARAM_FIELDS)}")
        return None
    before = len(v.errors)
    out = v.section(spec, Field("section", fields=PARAM_FIELDS[kind]), path)
    if out is MISSING or len(v.errors) > before:
        return None
    keys = out.get("keys") or [name]
    if kind == "categorical":
        choices = out["choices"]
        if not choices:
            v.error(path + ("choices",), "expected a non-empty list of values")
            return None
        if any(choices.count(c) > 1 for c in choices):
            v.error(path + ("choices",), f"duplicate choices in {choices}")
            return None
        return Param(name, kind, choices=choices, keys=keys)
    low, high, log, step = out["low"], out["high"], out["log"], out["step"]
    if not low < high:
        v.error(path, f"expected low < high, got low={low}, high={high} (for a fixed value, "
                      "use the sweep's `set:` section)")
        return None
    if log and low <= 0:
        v.error(path + ("low",), f"a log scale needs low > 0, got {low}")
        return None
    if log and kind == "float" and step is not None:
        v.error(path + ("step",), "give either log: true or a step, not both")
        return None
    if log and kind == "int" and step != 1:
        v.error(path + ("step",), "an int on a log scale takes step 1")
        return None
    if kind == "int" and (high - low) % step:
        v.error(path + ("step",), f"high - low = {high - low} is not a multiple of step {step}")
        return None
    if step is not None and kind == "float" and not math.isclose(
            (high - low) / step, round((high - low) / step), rel_tol=1e-9, abs_tol=1e-9):
        v.error(path + ("step",), f"high - low = {high - low} is not a multiple of step "
                                  f"{step}")
        return None
    return Param(name, kind, low=low, high=high, log=log, step=step, keys=keys)


def _probe(v: Validator, param: Param, base_raw: dict, base_positions: dict, base_path: str):
    """Check that each key exists and that the values the space can produce pass the run
    config's validation (reported once per parameter, at the space entry)."""
    where = v.where(("space", param.name), True)
    for label, value in param.probes():
        for key in param.keys:
            raw = copy.deepcopy(base_raw)
            marks = dict(base_positions)
            try:
                _set_key(raw, key, value)
            except ConfigError as error:
                message = error.errors[0].split(": ", 1)[-1]
                v.error(("space", param.name), f"key {key}: {message}", at_key=True)
                return
            parts = tuple(str(p) for p in split_path(key))
            for depth in range(1, len(parts)):       # a new section is located here too
                marks.setdefault(parts[:depth], (where, where))
            marks[parts] = (where, where)
            try:
                validate_config(raw, source=base_path, marks=marks,
                                base_dir=os.path.dirname(base_path))
            except ConfigError as error:
                message = error.errors[0]
                if message.startswith(where + ": "):
                    message = message[len(where) + 2:]
                v.error(("space", param.name), f"{label} = {value!r} does not fit the base "
                                               f"config {os.path.basename(base_path)}: "
                                               f"{message}", at_key=True)
                return
