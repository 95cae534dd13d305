"""Reading a config file: `yaml.safe_load` only, file positions for messages, overrides.

    config = load_config("run.yaml", overrides=["training.epochs=5", "optimizer.lr=1e-3"])

Positions come from `yaml.compose` (the node tree, which knows each key's and value's line and
column), so an error in `optimizer.lrr` is reported as `run.yaml:7:3: optimizer.lrr: ...`.
A value set by an override is reported as `--set optimizer.lrr=0.1`.
"""

from __future__ import annotations

import os
import re

from deepgrad._optional import require
from deepgrad.config.schema import ConfigError, format_path
from deepgrad.config.validate import validate_config


def _positions(node, source: str, path=(), out=None, duplicates=None) -> dict:
    """path (tuple of str) -> ("file:line:col" of the key, of the value)."""
    import yaml

    out = {} if out is None else out

    def where(mark):
        return f"{source}:{mark.line + 1}:{mark.column + 1}"

    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = path + (key,)
            if key in seen and duplicates is not None:
                duplicates.append(f"{where(key_node.start_mark)}: {format_path(child)}: "
                                  f"duplicate key '{key}' (YAML would keep only the last)")
            seen.add(key)
            out[child] = (where(key_node.start_mark), where(value_node.start_mark))
            _positions(value_node, source, child, out, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            child = path + (str(i),)
            out[child] = (where(item.start_mark), where(item.start_mark))
            _positions(item, source, child, out, duplicates)
    return out


def parse_yaml(text: str, source: str = "<config>") -> tuple:
    """(data, positions) from YAML text; ConfigError for a syntax error or duplicate keys."""
    yaml = require("yaml", "reading YAML configs")

    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError([f"{where}: invalid YAML: {problem}"], source) from None
    duplicates = []
    positions = _positions(node, source, duplicates=duplicates) if node is not None else {}
    if duplicates:
        raise ConfigError(duplicates, source)
    return data, positions


_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def split_path(dotted: str) -> list:
    """"model[2].out_features" or "model.2.out_features" -> ["model", 2, "out_features"]."""
    parts = []
    for name, index in _SEGMENT.findall(dotted):
        if index:
            parts.append(int(index))
        elif name.isdigit():
            parts.append(int(name))
        else:
            parts.append(name)
    return parts


def _normalized_entry(mapping: dict) -> bool:
    """A layer, loss or callback entry as `validate_config` returns it: {"type", "args"}."""
    return isinstance(mapping.get("type"), str) and isinstance(mapping.get("args"), dict)


def apply_overrides(config: dict, overrides, positions=None) -> dict:
    """Apply "dotted.path=value" strings (values parsed as YAML scalars/flow values).

    Missing intermediate mappings are created; list items are addressed by index
    ("model.layers.0.out_features" or "model.layers[0].out_features"); in a normalized config
    (a checkpoint's) an entry's argument goes under its `args`. The result is checked
    by the validator afterwards, so an unknown key gets the usual "did you mean" message,
    located at the `--set` option. Returns `config` (modified in place).
    """
    import yaml

    errors = []
    for text in overrides:
        label = f"--set {text}"
        if "=" not in text:
            errors.append(f"{label}: expected PATH=VALUE, e.g. training.epochs=5")
            continue
        dotted, raw = text.split("=", 1)
        parts = split_path(dotted.strip())
        if not parts or "".join(str(p) for p in parts) == "":
            errors.append(f"{label}: empty path")
            continue
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as error:
            errors.append(f"{label}: the value is not valid YAML ({error})")
            continue
        target = config
        ok = True
        for depth, part in enumerate(parts[:-1]):
            here = format_path(parts[:depth + 1])
            if isinstance(target, list):
                if not isinstance(part, int) or not 0 <= part < len(target):
                    errors.append(f"{label}: {here}: no list item {part} (the list has "
                                  f"{len(target)} items)")
                    ok = False
                    break
                target = target[part]
            elif isinstance(target, dict):
                if target.get(part) is None:
                    target[part] = {}
                target = target[part]
            else:
                errors.append(f"{label}: {here} is a value, not a section")
                ok = False
                break
        if not ok:
            continue
        last = parts[-1]
        if isinstance(target, list):
            if not isinstance(last, int) or not 0 <= last < len(target):
                errors.append(f"{label}: no list item {last} (the list has {len(target)} items)")
                continue
        elif not isinstance(target, dict):
            errors.append(f"{label}: {format_path(parts[:-1])} is a value, not a section")
            continue
        elif _normalized_entry(target) and last not in target:
            target = target["args"]    # a normalized {type, args} entry (a stored config)
        if tuple(parts) in _FILE_KEYS and isinstance(value, str) and value \
                and not os.path.isabs(value):
            # a path typed on the command line means the shell's directory, not the config's
            value = os.path.abspath(value)
        target[last] = value
        if positions is not None:
            positions[tuple(str(p) for p in parts)] = (label, label)
    if errors:
        raise ConfigError(errors, "--set")
    return config


# data files: relative in a YAML file = relative to that file; in a --set = to the current
# directory
_FILE_KEYS = {("data", "path"), ("data", "test_path")}


def load_config(path, overrides=()) -> dict:
    """Read, override and validate a YAML config; return the normalized dict.

    Relative data paths are resolved against the config file's directory. Raises ConfigError
    listing every problem with its file position.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except OSError as error:
        raise ConfigError([f"{path}: cannot read the config: {error.strerror}"], path) from None
    data, positions = parse_yaml(text, path)
    if data is None:
        data = {}
    if overrides:
        if not isinstance(data, dict):
            raise ConfigError([f"{path}: a config must be a mapping of sections"], path)
        apply_overrides(data, overrides, positions)
    return validate_config(data, source=path, marks=positions,
                           base_dir=os.path.dirname(os.path.abspath(path)))


def load_config_text(text: str, source: str = "<config>", overrides=(), base_dir=None) -> dict:
    """Like load_config for YAML text already in memory."""
    data, positions = parse_yaml(text, source)
    if overrides:
        apply_overrides(data, overrides, positions)
    return validate_config(data if data is not None else {}, source=source, marks=positions,
                           base_dir=base_dir)
