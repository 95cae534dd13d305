"""The one registry of names a config may use: `type: Conv2d` -> deepgrad.nn.Conv2d.

Kinds: "layer", "activation", "loss", "optimizer", "schedule", "model", "dataset", "callback".
The table is filled lazily, on the first lookup, by walking deepgrad's own packages
(deepgrad.nn, deepgrad.optim, deepgrad.models, deepgrad.training), so classes added to those
packages appear without editing this file. `register(kind, name)` adds an entry by hand::

    @register("layer", "MyBlock")
    class MyBlock(nn.Module): ...

Nothing read from a config file is ever imported, evaluated or unpickled: a name is only ever
looked up in this table of classes and functions that deepgrad itself defines.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import pkgutil

KINDS = ("layer", "activation", "loss", "optimizer", "schedule", "model", "dataset",
         "callback", "transform")

_explicit: dict = {kind: {} for kind in KINDS}   # register(...) calls: they win
_discovered: dict | None = None                  # filled by _discover() on first use

# config spellings of the Keras-style callbacks, besides the class names
_CALLBACK_ALIASES = {"checkpoint": "ModelCheckpoint", "tensorboard": "TensorBoard",
                     "csv_logger": "CSVLogger", "early_stopping": "EarlyStopping",
                     "terminate_on_nan": "TerminateOnNaN"}


class RegistryError(KeyError):
    """An unknown kind or name; the message lists the known names and a close match."""

    def __str__(self):  # KeyError would show the message in quotes
        return str(self.args[0])


def register(kind: str, name: str | None = None):
    """Decorator: make `obj` available to configs as `type: name` (default: its __name__)."""
    _check_kind(kind)

    def decorate(obj):
        _explicit[kind][name or obj.__name__] = obj
        return obj

    return decorate


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise RegistryError(f"registry: unknown kind {kind!r}; kinds are {', '.join(KINDS)}")


def _import_optional(module_name: str):
    """The module, or None when it does not exist (yet); other import errors propagate."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            return None
        raise


def _submodules(package_name: str) -> list:
    package = _import_optional(package_name)
    if package is None:
        return []
    modules = [package]
    for info in pkgutil.iter_modules(getattr(package, "__path__", [])):
        if not info.name.startswith("_"):
            module = _import_optional(f"{package_name}.{info.name}")
            if module is not None:
                modules.append(module)
    return modules


def _public_classes(modules, base) -> dict:
    found = {}
    for module in modules:
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) and not name.startswith("_") and issubclass(obj, base)
                    and obj.__module__.startswith("deepgrad.")):
                found.setdefault(name, obj)
    return found


def _discover() -> dict:
    from deepgrad.nn.module import Module, ModuleList

    table = {kind: {} for kind in KINDS}
    nn_modules = _submodules("deepgrad.nn")
    for name, cls in _public_classes(nn_modules, Module).items():
        if name.endswith("Loss"):
            table["loss"][name] = cls
        elif cls not in (Module, ModuleList):
            table["layer"][name] = cls
            if cls.__module__ in ("deepgrad.nn.activation", "deepgrad.nn.gated"):
                table["activation"][name] = cls
    from deepgrad.optim import lr_scheduler
    from deepgrad.optim.optimizer import Optimizer

    table["optimizer"] = {name: cls for name, cls in
                          _public_classes(_submodules("deepgrad.optim"), Optimizer).items()
                          if cls is not Optimizer}
    for name, obj in vars(lr_scheduler).items():
        if inspect.isclass(obj) and not name.startswith("_") and hasattr(obj, "step") \
                and obj.__module__ == lr_scheduler.__name__ and name != "LRScheduler":
            table["schedule"][name] = obj
    for module in _submodules("deepgrad.models"):
        for name in getattr(module, "__all__", [n for n in vars(module) if not
                                                n.startswith("_")]):
            obj = getattr(module, name, None)
            # in-place helpers (caffe_xavier_) end with "_" and are not models
            if (inspect.isclass(obj) and issubclass(obj, Module)) or (
                    inspect.isfunction(obj) and not name.endswith("_")):
                if getattr(obj, "__module__", "").startswith("deepgrad.models"):
                    table["model"].setdefault(name, obj)
    callbacks = _import_optional("deepgrad.training.callbacks")
    if callbacks is not None:
        base = callbacks.Callback
        for name, cls in _public_classes([callbacks], base).items():
            if cls is not base:
                table["callback"][name] = cls
        for alias, target in _CALLBACK_ALIASES.items():
            if target in table["callback"]:
                table["callback"][alias] = table["callback"][target]
    from deepgrad.data.transforms import TRANSFORMS  # the table next to the classes

    table["transform"] = dict(TRANSFORMS)
    # the config package's own entries (graph model, datasets) register themselves
    importlib.import_module("deepgrad.config.graph")
    importlib.import_module("deepgrad.config.datasets")
    return table


def refresh() -> None:
    """Forget the discovered table (it is rebuilt on the next lookup)."""
    global _discovered
    _discovered = None


def _table(kind: str) -> dict:
    global _discovered
    _check_kind(kind)
    if _discovered is None:
        _discovered = _discover()
    merged = dict(_discovered[kind])
    merged.update(_explicit[kind])
    return merged


def names(kind: str) -> list:
    """Every name registered for `kind`, sorted."""
    return sorted(_table(kind))


def contains(kind: str, name) -> bool:
    return isinstance(name, str) and name in _table(kind)


def suggest(name, candidates) -> str:
    """' (did you mean 'X'?)' for the closest candidate, or ''."""
    if not isinstance(name, str):
        return ""
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    if not match:  # case slips: "relu" for "ReLU"
        lowered = {c.lower(): c for c in candidates}
        if name.lower() in lowered:
            match = [lowered[name.lower()]]
    return f" (did you mean '{match[0]}'?)" if match else ""


def unknown_message(kind: str, name, extra=()) -> str:
    known = sorted(set(_table(kind)) | set(extra))
    return (f"unknown {kind} type {name!r}{suggest(name, known)}; known {kind} types: "
            f"{', '.join(known)}")


def lookup(kind: str, name: str):
    """The class or function registered as `name` for `kind`, else RegistryError."""
    table = _table(kind)
    if not isinstance(name, str) or name not in table:
        raise RegistryError(unknown_message(kind, name))
    return table[name]
