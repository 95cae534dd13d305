"""The one registry: every name deepgrad resolves (config `type:`, `fit(optimizer="adam")`,
`Trainer(loss="mse")`, metrics, callbacks, studies, ONNX exporters, diagnostics families).

Registration is explicit, next to the class::

    @register("activation", aliases=("relu",), family="relu")
    class ReLU(Module): ...

    lookup("layer", "ReLU")        # -> the class (an activation is also a layer)
    lookup("optimizer", "adam")    # -> Adam (through its alias)
    info(ReLU)["family"]           # -> "relu" (what the diagnostics read)

Kinds: layer, activation (also a layer), loss, optimizer, schedule, model, dataset, callback,
metric, study, onnx (exporters, keyed by the layer name they export), transform (batch
augmentation, data.augment).

This module imports nothing from deepgrad, so any layer of the library can register. The
packages that register are imported on the first lookup (a fixed list below: nothing read from
a file is ever imported, evaluated or unpickled; a name is only looked up in this table).
"""

from __future__ import annotations

import difflib
import importlib

KINDS = ("layer", "activation", "loss", "optimizer", "schedule", "model", "dataset",
         "callback", "metric", "study", "onnx", "transform")
# registering under a kind also registers under its parent kind
_PARENT = {"activation": "layer"}
# the packages whose modules register the entries of each kind, imported on first lookup
_PROVIDERS = {
    "layer": ("deepgrad.nn",),
    "activation": ("deepgrad.nn",),
    "loss": ("deepgrad.nn",),
    "optimizer": ("deepgrad.optim",),
    "schedule": ("deepgrad.optim",),
    "model": ("deepgrad.models", "deepgrad.nn"),
    "dataset": ("deepgrad.config.datasets",),
    "callback": ("deepgrad.training",),
    "metric": ("deepgrad.training",),
    "study": ("deepgrad.studies",),
    "onnx": ("deepgrad.io.onnx",),
    "transform": ("deepgrad.data.transforms",),
}

_table: dict = {kind: {} for kind in KINDS}     # kind -> name -> object
_aliases: dict = {kind: {} for kind in KINDS}   # kind -> alias -> name
_info: dict = {}                                # id(object) -> (kind, name, info dict)
_loaded: set = set()


class RegistryError(KeyError):
    """An unknown kind or name; the message lists the known names and a close match."""

    def __str__(self):  # KeyError would show the message in quotes
        return str(self.args[0])


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise RegistryError(f"registry: unknown kind {kind!r}; kinds are {', '.join(KINDS)}")


def register(kind: str, name: "str | None" = None, *, aliases=(), **info):
    """Decorator: make `obj` known as `name` (default: its __name__) under `kind`.

    `aliases` are further names for the same object (`"adam"` for Adam); `info` is free
    metadata read back with `info(obj)` (e.g. `family="relu"` for the diagnostics).
    A name registered twice for one kind by different objects is an error.
    """
    _check_kind(kind)

    def decorate(obj):
        key = name or obj.__name__
        for k in (kind, _PARENT.get(kind)):
            if k is None:
                continue
            existing = _table[k].get(key)
            if existing is not None and existing is not obj:
                raise RegistryError(f"registry: {k} {key!r} is already registered "
                                    f"({_describe(existing)}); cannot register "
                                    f"{_describe(obj)} under the same name")
            _table[k][key] = obj
            for alias in aliases:
                _aliases[k][alias] = key
        _info.setdefault(id(obj), (kind, key, dict(info)))
        return obj

    return decorate


def _describe(obj) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def _load(kind: str) -> None:
    if kind in _loaded:
        return
    _loaded.add(kind)
    for module in _PROVIDERS[kind]:
        importlib.import_module(module)


def _entries(kind: str) -> dict:
    _check_kind(kind)
    _load(kind)
    return _table[kind]


def names(kind: str, aliases: bool = False) -> list:
    """Every name registered for `kind`, sorted (with `aliases=True`, the aliases too)."""
    known = set(_entries(kind))
    if aliases:
        known |= set(_aliases[kind])
    return sorted(known)


def contains(kind: str, name) -> bool:
    if not isinstance(name, str):
        return False
    table = _entries(kind)
    return name in table or name in _aliases[kind]


def _normal(text: str) -> str:
    return text.lower().replace("-", "_").replace(" ", "_")


def suggest(name, candidates) -> str:
    """' (did you mean 'X'?)' for the closest candidate, or ''.

    By meaning first, then by spelling: a case or separator slip ("relu" for "ReLU",
    "fashion-mnist"), a name that is part of exactly one candidate ("mnist" ->
    "fashion_mnist") or holds one, then the closest spelling (difflib)."""
    if not isinstance(name, str) or not name:
        return ""
    candidates = [str(c) for c in candidates]
    wanted = _normal(name)
    match = [c for c in candidates if _normal(c) == wanted]
    if not match and len(wanted) >= 3:
        parts = [c for c in candidates if wanted in _normal(c)
                 or (len(_normal(c)) >= 4 and _normal(c) in wanted)]
        match = sorted(parts, key=len)[:1] if len(parts) == 1 else []
    if not match:
        match = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def unknown_message(kind: str, name, extra=()) -> str:
    known = sorted(set(_entries(kind)) | set(extra))
    hint = suggest(name, known) or suggest(name, _aliases[kind])
    what = kind if kind in ("metric", "study") else f"{kind} type"
    return f"unknown {what} {name!r}{hint}; known {what}s: {', '.join(known)}"


def lookup(kind: str, name: str):
    """The object registered as `name` (or an alias of it) for `kind`, else RegistryError."""
    table = _entries(kind)
    if isinstance(name, str):
        key = _aliases[kind].get(name, name)
        if key in table:
            return table[key]
    raise RegistryError(unknown_message(kind, name))


def name_of(kind: str, obj) -> "str | None":
    """The name `obj` (a class or an instance of one) is registered under, or None; for an
    instance of an unregistered subclass, the nearest registered base class counts."""
    table = _entries(kind)
    cls = obj if isinstance(obj, type) else type(obj)
    for candidate in getattr(cls, "__mro__", (cls,)):
        for key, value in table.items():
            if value is candidate:
                return key
    return None


def info(obj) -> dict:
    """The metadata given to `register` for `obj` (a class, an instance or a function);
    {} when it was registered without any or not registered at all."""
    entry = _info.get(id(obj)) or _info.get(id(type(obj)))
    return dict(entry[2]) if entry is not None else {}
