"""The schema of a run's config and the small validator that checks it.

`Field` describes one value (kind, default, range, choices); `Validator` checks values against
fields, collects every error with its dotted path ("optimizer.lr", "model[2].type") and, at the
end, turns paths into file positions ("run.yaml:7:3") using the marks `loader.parse_yaml`
found. `TOP` is the schema of a whole config; the sections that name registered classes
(model, losses, optimizer, schedule, callbacks, data) are checked in `deepgrad.config.validate`
against the constructor signatures of the registered classes.

Numbers: YAML 1.1 reads `1e-3` (no dot) as a string; numeric fields accept such strings and
coerce them, so `lr: 1e-3` is 0.001.
"""

from __future__ import annotations

import inspect
import math
import re

from deepgrad import registry

MISSING = object()
# numbers YAML 1.1 leaves as strings: an exponent without a dot in the mantissa (1e-3)
_EXPONENT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


class ConfigError(ValueError):
    """One or more problems in a config; `errors` lists them, one line each."""

    def __init__(self, errors, source: str = "<config>"):
        self.errors = list(errors)
        self.source = source
        if len(self.errors) == 1:
            message = self.errors[0]
        else:
            message = (f"{len(self.errors)} errors in {source}:\n  "
                       + "\n  ".join(self.errors))
        super().__init__(message)


class Field:
    """The expected shape of one config value.

    kind: "int", "float", "bool", "str", "list", "dict", "any" or "section" (a mapping with
    known `fields`). min/max bound numbers (`exclusive` makes both bounds open), `choices`
    lists allowed strings, `item` is the Field of list items, `nullable` allows null.
    A section with `bool_shorthand` also accepts `true` (all defaults) and `false` (null).
    """

    def __init__(self, kind, default=MISSING, *, min=None, max=None, exclusive=False,
                 choices=None, nullable=False, item=None, fields=None, bool_shorthand=False,
                 help=""):
        self.kind, self.default, self.min, self.max = kind, default, min, max
        self.exclusive, self.choices, self.nullable, self.item = exclusive, choices, nullable, item
        self.fields, self.bool_shorthand, self.help = fields or {}, bool_shorthand, help

    @property
    def required(self) -> bool:
        return self.default is MISSING


def format_path(path) -> str:
    """("model", 2, "out_features") -> "model[2].out_features"."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def suggestion(name, candidates) -> str:
    """' (did you mean 'X'?)': the registry's rule (by meaning, then by spelling)."""
    return registry.suggest(str(name), candidates)


def _describe(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {value}"
    if isinstance(value, (list, dict)):
        return f"a {'list' if isinstance(value, list) else 'mapping'}"
    return f"{type(value).__name__} {value!r}"


# --------------------------------------------------------------------------------------------
# the validator: collects errors with their paths, maps paths to file positions at the end
# --------------------------------------------------------------------------------------------
class Validator:
    def __init__(self, source: str = "<config>", marks=None, base_dir=None):
        self.source = source
        self.marks = marks or {}          # path (tuple of str) -> (key position, value position)
        self.base_dir = base_dir
        self.errors = []                  # (path, message, at_key)

    def error(self, path, message: str, at_key: bool = False) -> None:
        self.errors.append((tuple(path), message, at_key))

    def where(self, path, at_key: bool) -> str:
        key = tuple(str(p) for p in path)
        while key:
            if key in self.marks:
                return self.marks[key][0 if at_key else 1]
            key = key[:-1]
            at_key = False
        return self.source

    def messages(self) -> list:
        return [f"{self.where(path, at_key)}: {format_path(path)}: {message}"
                for path, message, at_key in self.errors]

    def raise_if_errors(self) -> None:
        if self.errors:
            raise ConfigError(self.messages(), self.source)

    # --- scalar and structural checks -----------------------------------------------------
    def check(self, value, field: Field, path):
        if value is None:
            if field.nullable or (field.kind == "section" and field.bool_shorthand):
                return None
            if field.kind != "any":
                self.error(path, f"expected {self._expected(field)}, got null")
                return MISSING
        kind = field.kind
        if kind == "any":
            return value
        if kind == "section":
            if field.bool_shorthand and isinstance(value, bool):
                return self.section({}, field, path) if value else None
            return self.section(value, field, path)
        if kind in ("int", "float"):
            number = self.number(value, kind, path)
            if number is MISSING:
                return MISSING
            return self.in_range(number, field, path)
        if kind == "bool":
            if not isinstance(value, bool):
                self.error(path, f"expected true or false, got {_describe(value)}")
                return MISSING
            return value
        if kind == "str":
            if not isinstance(value, str):
                self.error(path, f"expected a string, got {_describe(value)}")
                return MISSING
            if field.choices is not None and value not in field.choices:
                self.error(path, f"must be one of {', '.join(map(str, field.choices))}, got "
                                 f"{value!r}{suggestion(value, field.choices)}")
                return MISSING
            return value
        if kind == "list":
            if not isinstance(value, list):
                self.error(path, f"expected a list, got {_describe(value)}")
                return MISSING
            if field.item is None:
                return list(value)
            return [self.check(v, field.item, path + (i,)) for i, v in enumerate(value)]
        if kind == "dict":
            if not isinstance(value, dict):
                self.error(path, f"expected a mapping, got {_describe(value)}")
                return MISSING
            return dict(value)
        raise ValueError(f"schema: unknown field kind {kind!r}")

    def _expected(self, field: Field) -> str:
        return {"int": "an integer", "float": "a number", "bool": "true or false",
                "str": "a string", "list": "a list", "dict": "a mapping",
                "section": "a mapping"}.get(field.kind, field.kind)

    def number(self, value, kind: str, path):
        """int/float/numeric string -> int (kind "int") or float; MISSING after an error."""
        original = value
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            self.error(path, f"expected {'an integer' if kind == 'int' else 'a number'}, got "
                             f"{_describe(value)}")
            return MISSING
        if isinstance(value, str):  # YAML 1.1 reads 1e-3 (no dot) as a string
            try:
                value = float(value.strip())
            except ValueError:
                self.error(path, f"expected {'an integer' if kind == 'int' else 'a number'}, "
                                 f"got string {original!r}")
                return MISSING
        if not math.isfinite(value):
            self.error(path, f"must be a finite number, got {original!r}")
            return MISSING
        if kind == "int":
            if float(value) != int(value):
                self.error(path, f"expected an integer, got {original!r}")
                return MISSING
            return int(value)
        return float(value)

    def in_range(self, number, field: Field, path):
        low, high, open_ = field.min, field.max, field.exclusive
        bad = ((low is not None and (number <= low if open_ else number < low))
               or (high is not None and (number >= high if open_ else number > high)))
        if bad:
            if low is not None and high is not None:
                interval = f"({low}, {high})" if open_ else f"[{low}, {high}]"
                self.error(path, f"must be in {interval}, got {number}")
            elif low is not None:
                self.error(path, f"must be {'>' if open_ else '>='} {low}, got {number}")
            else:
                self.error(path, f"must be {'<' if open_ else '<='} {high}, got {number}")
            return MISSING
        return number

    def mapping(self, value, path) -> bool:
        if not isinstance(value, dict):
            self.error(path, f"expected a mapping, got {_describe(value)}")
            return False
        return True

    def unknown_key(self, key, known, path, what: str = "key") -> None:
        self.error(path + (key,), f"unknown {what} '{key}'{suggestion(key, known)}; "
                                  f"allowed: {', '.join(sorted(map(str, known)))}",
                   at_key=True)

    def section(self, value, field: Field, path, extra_known=()) -> dict:
        if not self.mapping(value, path):
            return MISSING
        out = {}
        for key, item in value.items():
            if key not in field.fields:
                if key not in extra_known:
                    self.unknown_key(key, list(field.fields) + list(extra_known), path)
                continue
            checked = self.check(item, field.fields[key], path + (key,))
            if checked is not MISSING:
                out[key] = checked
        for key, sub in field.fields.items():
            if key in value:
                continue
            if sub.kind == "section" and sub.required:  # an omitted section: its defaults
                section = self.section({}, sub, path + (key,))
                if section is not MISSING:
                    out[key] = section
            elif sub.required:
                self.error(path + (key,), f"missing required key '{key}'"
                                          + (f" ({sub.help})" if sub.help else ""))
            else:
                out[key] = sub.default
        return out

    # --- arguments of registered classes, checked against their signatures ----------------
    def call_args(self, target, args: dict, paths: dict, owner: str, skip=()) -> dict:
        """Check `args` against target's signature; `paths` maps each arg to its path."""
        try:
            signature = inspect.signature(target)
        except (TypeError, ValueError):
            return dict(args)
        params = {name: p for name, p in signature.parameters.items()
                  if name not in skip and name != "self"
                  and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        open_kwargs = any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values())
        out = {}
        for key, value in args.items():
            if key not in params:
                if not open_kwargs:
                    self.unknown_key(key, params, paths[key][:-1], f"argument of {owner}")
                    continue
                out[key] = value
                continue
            checked = self.annotated(value, params[key], paths[key])
            if checked is not MISSING:
                out[key] = checked
        for name, p in params.items():
            if p.default is p.empty and name not in args:
                self.error(paths.get("__self__", ()), f"{owner} needs the argument '{name}'")
        return out

    def annotated(self, value, param, path):
        kinds = _annotation_kinds(param)
        if "any" in kinds and isinstance(value, str) and _EXPONENT.match(value.strip()):
            return float(value)  # an untyped argument (lr=required): YAML 1.1 missed 1e-3
        if value is None:
            if "None" in kinds or "any" in kinds:
                return None
            self.error(path, f"expected {' or '.join(sorted(kinds))}, got null")
            return MISSING
        if "any" in kinds:
            return value
        if isinstance(value, bool):
            if "bool" in kinds:
                return value
        elif isinstance(value, int) and "int" in kinds:
            return value
        elif "float" in kinds and isinstance(value, (int, float, str)):
            return self.number(value, "float", path)
        elif "int" in kinds and isinstance(value, (float, str)):
            return self.number(value, "int", path)
        elif "str" in kinds and isinstance(value, str):
            return value
        elif "list" in kinds and isinstance(value, list):
            return value
        self.error(path, f"expected {' or '.join(sorted(kinds - {'None'}))}, got "
                         f"{_describe(value)}")
        return MISSING


def _annotation_kinds(param) -> set:
    annotation = param.annotation
    if annotation is param.empty:
        default = param.default
        if isinstance(default, bool):
            return {"bool"}
        if isinstance(default, int):
            return {"int"}
        if isinstance(default, float):
            return {"float"}
        if isinstance(default, str):
            return {"str"}
        return {"any"}
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__",
                                                                  str(annotation))
    kinds = set()
    for token in text.replace("Optional[", "").replace("]", "").split("|"):
        token = token.strip()
        if token in ("int", "float", "bool", "str", "None"):
            kinds.add(token)
        elif token in ("list", "tuple") or token.startswith(("list", "tuple", "Sequence")):
            kinds.add("list")
        else:
            kinds.add("any")
    return kinds or {"any"}


# --------------------------------------------------------------------------------------------
# the schema of a run
# --------------------------------------------------------------------------------------------
TRAINING = Field("section", fields={
    "epochs": Field("int", 10, min=1),
    "batch_size": Field("int", 32, min=1),
    "eval_batch_size": Field("int", 256, min=1),
    "seed": Field("int", 0, min=0),
    "metrics": Field("list", None, nullable=True, item=Field("str")),
    "verbose": Field("int", 1, min=0, max=2),
    "aux_weight_decay": Field("str", None, nullable=True, choices=("linear", "exponential")),
    "callbacks": Field("any", None,
                       help="a list: [{type: EarlyStopping, monitor: val_loss, patience: 5}]"),
    "tensorboard": Field("section", fields={
        "histogram_freq": Field("int", 0, min=0,
                                help="epochs between per-layer weight and gradient histograms "
                                     "in tb/ (0: none)")}),
})

REGULARIZATION = Field("section", fields={
    "l1": Field("float", 0.0, min=0.0, help="L1 penalty on every weight (not biases)"),
    "l2": Field("float", 0.0, min=0.0, help="L2 penalty on every weight (not biases)"),
    "per_layer": Field("dict", None, nullable=True,
                       help="parameter-name pattern -> {l1: ..., l2: ...}"),
    "input_noise": Field("float", 0.0, min=0.0),
    "grad_clip": Field("float", None, nullable=True, min=0.0, exclusive=False),
})
_PENALTY = Field("section", fields={"l1": Field("float", 0.0, min=0.0),
                                    "l2": Field("float", 0.0, min=0.0)})

DATA = Field("section", fields={
    "dataset": Field("str", help="one of the registered datasets"),
    "preprocessing": Field("section", fields={
        "standardize": Field("bool", False, help="fit on the training split only"),
        "flatten": Field("bool", False)}),
    "validation_split": Field("float", 0.1, min=0.0, max=0.95),
    "test_split": Field("float", 0.2, min=0.0, max=0.95,
                        help="used when the source has no separate test set"),
    "limit": Field("any", None, help="an int, or {train, validation, test} sample caps"),
    "augment": Field("any", None, help="batch transforms for the training data, e.g. "
                                       "[{type: RandomCrop, size: 28, padding: 2}]"),
    "num_workers": Field("int", 0, min=0, help="background processes preparing the "
                                               "training batches"),
})

DISTRIBUTED = Field("section", fields={
    "sync_batchnorm": Field("bool", False, help="with several MPI ranks: batch norm over the "
                            "global batch (SyncBatchNorm) instead of each rank's shard"),
    "overlap": Field("bool", False, help="start the gradient Allreduce during backward"),
    "bucket_cap_mb": Field("float", 1.0, min=0.0, exclusive=True,
                           help="size of one fused gradient buffer (MiB)"),
})

TOP = Field("section", fields={
    "version": Field("int", 1, min=1, max=1),
    "name": Field("str", "run"),
    "model": Field("any"),
    "data": Field("any", help="the data section (dataset, splits, preprocessing)"),
    "loss": Field("any", None),
    "losses": Field("any", None),
    "optimizer": Field("any", help="e.g. {type: SGD, lr: 0.01}"),
    "schedule": Field("any", None),
    "regularization": REGULARIZATION,
    "training": TRAINING,
    "distributed": DISTRIBUTED,
    "output_dir": Field("str", None, nullable=True, help="default runs/<name>"),
})

