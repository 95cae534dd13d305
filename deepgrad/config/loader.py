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


# bounds of a config file: far above any real config, far below what hurts
MAX_CONFIG_BYTES = 1 << 20     # 1 MiB of YAML
MAX_NODES = 100_000            # values after aliases are expanded ("billion laughs")
MAX_DEPTH = 64                 # nesting of mappings and lists
MAX_INT_DIGITS = 30            # integer literals (a seed needs at most 20 digits)


def _where(source: str, mark) -> str:
    return f"{source}:{mark.line + 1}:{mark.column + 1}"


def _check_tree(root, source: str) -> None:
    """Refuse recursive aliases, documents whose aliases expand to more than MAX_NODES values,
    nesting deeper than MAX_DEPTH and huge integer literals, on the node graph (each node is
    visited once: sizes are memoized, so nothing is expanded)."""
    import yaml

    sizes, active = {}, set()
    stack = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            active.discard(key)
            children = _children(node)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[key] > MAX_NODES:
                raise ConfigError([f"{_where(source, node.start_mark)}: the document expands "
                                   f"to more than {MAX_NODES} values through its aliases "
                                   "(&anchor / *alias); write the values out"], source)
            continue
        if key in active:
            raise ConfigError([f"{_where(source, node.start_mark)}: a recursive alias (the "
                               "value contains itself)"], source)
        if key in sizes:
            continue
        if depth > MAX_DEPTH:
            raise ConfigError([f"{_where(source, node.start_mark)}: nested more than "
                               f"{MAX_DEPTH} levels deep"], source)
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":int") \
                and sum(ch.isdigit() for ch in node.value) > MAX_INT_DIGITS:
            raise ConfigError([f"{_where(source, node.start_mark)}: an integer of "
                               f"{len(node.value)} characters; the limit is {MAX_INT_DIGITS} "
                               "digits"], source)
        active.add(key)
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in _children(node))


def _check_depth(text: str, source: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH from the event stream, stopping at the first
    level too deep (composing a 5000-deep list would recurse until Python gives up)."""
    import yaml

    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise ConfigError([f"{_where(source, event.start_mark)}: nested more than "
                                   f"{MAX_DEPTH} levels deep"], source)
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1


def _children(node) -> list:
    import yaml

    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _positions(node, source: str, path=(), out=None, duplicates=None, seen=None) -> dict:
    """path (tuple of str) -> ("file:line:col" of the key, of the value). A node reached again
    through an alias is not walked again (its values keep the anchor's positions)."""
    import yaml

    out = {} if out is None else out
    seen = set() if seen is None else seen
    if id(node) in seen:
        return out
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = path + (key,)
            if key in keys and duplicates is not None:
                duplicates.append(f"{_where(source, key_node.start_mark)}: "
                                  f"{format_path(child)}: duplicate key '{key}' (YAML would "
                                  "keep only the last)")
            keys.add(key)
            out[child] = (_where(source, key_node.start_mark),
                          _where(source, value_node.start_mark))
            _positions(value_node, source, child, out, duplicates, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            child = path + (str(i),)
            out[child] = (_where(source, item.start_mark), _where(source, item.start_mark))
            _positions(item, source, child, out, duplicates, seen)
    return out


def parse_yaml(text: str, source: str = "<config>") -> tuple:
    """(data, positions) from YAML text; ConfigError for a syntax error, duplicate keys,
    recursive or exploding aliases, excessive nesting or huge integers (checked on the node
    tree before any value is built)."""
    yaml = require("yaml", "reading YAML configs")

    try:
        _check_depth(text, source)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = _where(source, mark) if mark else source
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError([f"{where}: invalid YAML: {problem}"], source) from None
    except RecursionError:
        raise ConfigError([f"{source}: nested more than {MAX_DEPTH} levels deep"],
                          source) from None
    if node is None:
        return None, {}
    _check_tree(node, source)
    loader = yaml.SafeLoader("")
    try:
        data = loader.construct_document(node)
    except yaml.YAMLError as error:  # a constructor error (e.g. a bad timestamp)
        mark = getattr(error, "problem_mark", None)
        where = _where(source, mark) if mark else source
        raise ConfigError([f"{where}: invalid YAML: {getattr(error, 'problem', error)}"],
                          source) from None
    except (ValueError, RecursionError, OverflowError) as error:
        raise ConfigError([f"{source}: invalid YAML value: {str(error)[:200]}"],
                          source) from None
    finally:
        loader.dispose()
    duplicates = []
    positions = _positions(node, source, duplicates=duplicates)
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
            value = parse_yaml(raw, label)[0] if raw.strip() else None
        except ConfigError as error:
            errors.append(f"the value is not valid YAML: {error}")
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


def read_config_text(path) -> str:
    """The text of a config file: a regular file of at most MAX_CONFIG_BYTES of UTF-8 (a
    FIFO, a device or a directory is refused without reading it)."""
    import stat

    path = os.fspath(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise ConfigError([f"{path}: cannot read the config: {error.strerror or error}"],
                          path) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError([f"{path}: not a regular file (a directory, pipe or device); "
                               "give a YAML config file"], path)
        if info.st_size > MAX_CONFIG_BYTES:
            raise ConfigError([f"{path}: {info.st_size} bytes; a config may have at most "
                               f"{MAX_CONFIG_BYTES}"], path)
        raw = os.read(fd, MAX_CONFIG_BYTES + 1)
    finally:
        os.close(fd)
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError([f"{path}: more than {MAX_CONFIG_BYTES} bytes"], path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise ConfigError([f"{path}:{line}: not UTF-8 text (byte 0x{raw[error.start]:02x} at "
                           f"offset {error.start}); save the config as UTF-8"], path) from None


# data files: relative in a YAML file = relative to that file; in a --set = to the current
# directory
_FILE_KEYS = {("data", "path"), ("data", "test_path")}


def load_config(path, overrides=()) -> dict:
    """Read, override and validate a YAML config; return the normalized dict.

    Relative data paths are resolved against the config file's directory. Raises ConfigError
    listing every problem with its file position.
    """
    path = os.fspath(path)
    data, positions = parse_yaml(read_config_text(path), path)
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
