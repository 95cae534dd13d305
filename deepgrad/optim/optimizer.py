"""Optimizer: parameter groups, the step loop, and state dicts made of plain data.

An optimizer owns a list of *parameter groups*. Each group is a dict holding its parameters
(`"params"`, a list of Tensors) and its own copy of every hyperparameter (`"lr"`,
`"momentum"`, ...), so that, for example, biases can use another learning rate than weights.
Per-parameter *slots* (momentum buffers, moment estimates, step counts) live in
`optimizer.state[param]`, a dict of NumPy arrays (in the parameter's dtype) and ints.

State-dict layout (plain Python numbers / lists / dicts / str / None and NumPy arrays only, so
that it can be written as safetensors + JSON and never needs pickle)::

    {
        "state": {                      # only parameters that have taken a step
            0: {"step": 12, "momentum_buffer": ndarray},   # key: index of the parameter
            3: {"step": 12, "exp_avg": ndarray, "exp_avg_sq": ndarray},
        },
        "param_groups": [
            {"lr": 0.1, "momentum": 0.9, ..., "params": [0, 1, 2]},   # indices, not tensors
            {"lr": 0.01, ..., "params": [3]},
        ],
    }

Parameters are numbered 0, 1, 2, ... in the order of the groups and, inside a group, in the
order they were given. Tuples (Adam's `betas`) are stored as lists. `load_state_dict` accepts
the state keys as ints or as strings ("0", "3"), which is what a JSON round trip gives back.
"""

from __future__ import annotations

import numbers

import numpy as np

from deepgrad._state import enable_grad, no_grad
from deepgrad.tensor import Tensor


class _Required:
    """Marker for a hyperparameter without a default (it must be given)."""

    def __repr__(self):
        return "<required>"


required = _Required()


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_non_negative(owner: str, name: str, value) -> None:
    """Raise `ValueError("SGD: lr must be a number >= 0, got lr=-0.1")` unless value >= 0."""
    if not _is_number(value) or not value >= 0:  # `not >=` also catches NaN
        raise ValueError(f"{owner}: {name} must be a number >= 0, got {name}={value!r}")


def check_in_range(owner: str, name: str, value, high: float, closed: bool) -> None:
    """Raise unless 0 <= value < high (or <= high when `closed`)."""
    upper_ok = (value <= high) if closed else (value < high)
    if not _is_number(value) or not (value >= 0 and upper_ok):
        bracket = "]" if closed else ")"
        raise ValueError(f"{owner}: {name} must be in [0, {high}{bracket}, "
                         f"got {name}={value!r}")


class Optimizer:
    """Base class: holds parameter groups and per-parameter state; subclasses give the rule.

    A subclass sets its `defaults` (every hyperparameter and its default value), checks a
    group's hyperparameters in `_check_group(group)` and implements the update of one parameter
    in `_update(param, grad, state, group)`, where `grad` is a NumPy array that must not be
    modified in place, `state` the parameter's slot dict (empty on the first step) and the
    parameter's `data` is changed in place.

    Args:
        params: an iterable of Tensors, or of dicts (parameter groups) each with a `"params"`
            entry and any hyperparameters that override `defaults` for that group.
        defaults: the default hyperparameters of every group.
    """

    def __init__(self, params, defaults: dict):
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params must be an iterable of Tensors or of dicts "
                            "(parameter groups), got a single Tensor; wrap it in a list")
        if isinstance(params, dict):
            raise TypeError(f"{name}: params must be an iterable of Tensors or of dicts, "
                            "got one dict; pass a list of parameter groups [{...}]")
        try:
            params = list(params)
        except TypeError:
            raise TypeError(f"{name}: params must be an iterable of Tensors or of dicts, "
                            f"got {type(params).__name__}") from None
        if not params:
            raise ValueError(f"{name}: got an empty parameter list (params=[]); pass "
                             "model.parameters() or a non-empty list of Tensors")
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state: dict = {}  # Tensor -> dict of slots (Tensors hash by identity)
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for group in groups:
            self.add_param_group(group)

    # --- parameter groups ------------------------------------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters (a dict with "params" and optional hyperparameters)."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a parameter group must be a dict with a 'params' entry, "
                            f"got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{name}: a parameter group needs a 'params' entry, got keys "
                             f"{sorted(param_group)}")
        group = dict(param_group)
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        index = len(self.param_groups)
        if not params:
            raise ValueError(f"{name}: parameter group {index} has an empty parameter list")
        seen = set()
        for position, p in enumerate(params):
            where = f"parameter {position} of group {index}"
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors, but {where} is a "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name}: {where} is not a leaf tensor (it was computed from "
                                 "others); optimize the leaves, e.g. model.parameters()")
            if p.dtype.kind != "f":
                raise TypeError(f"{name}: {where} has dtype {p.dtype}; only floating-point "
                                "tensors can be optimized")
            if id(p) in seen:
                raise ValueError(f"{name}: {where} appears twice in the same group")
            seen.add(id(p))
        for other_index, other in enumerate(self.param_groups):
            shared = [i for i, p in enumerate(params) if any(p is q for q in other["params"])]
            if shared:
                raise ValueError(
                    f"{name}: a parameter appears in more than one parameter group: parameter "
                    f"{shared[0]} of the new group {index} (shape {params[shared[0]].shape}) "
                    f"is already in group {other_index}")
        for key, default in self.defaults.items():
            if key not in group:
                if default is required:
                    raise ValueError(f"{name}: parameter group {index} does not set the "
                                     f"required hyperparameter '{key}'")
                group[key] = default
        if "betas" in group:
            group["betas"] = tuple(group["betas"])
        group["params"] = params
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group: dict) -> None:
        """Validate one group's hyperparameters (subclasses raise ValueError naming them)."""

    # --- the step --------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: `p.grad = None` (or a new zero array if not `set_to_none`)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.grad = None if set_to_none else Tensor._wrap(np.zeros_like(p.data))

    def step(self, closure=None):
        """Update every parameter that has a gradient (parameters whose grad is None are skipped).

        Args:
            closure: optional function that clears the gradients, recomputes the loss, calls
                `backward()` and returns the loss; it is called first and its loss returned.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        states, update = self.state, self._update
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad, data = p.grad.data, p.data
                    if grad.shape != data.shape:
                        raise ValueError(f"{type(self).__name__}: a gradient of shape "
                                         f"{grad.shape} for a parameter of shape {p.shape}")
                    if grad.dtype != data.dtype:
                        grad = grad.astype(data.dtype)
                    state = states.get(p)
                    if state is None:
                        state = states[p] = {}
                    update(data, grad, state, group)
                    p._version += 1
        return loss

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        raise NotImplementedError

    # --- state dicts -----------------------------------------------------------------------
    def _all_params(self) -> list:
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self) -> dict:
        """The optimizer's state as plain data (see the module docstring for the layout).

        Arrays are copies: the returned dict does not change when training goes on.
        """
        index_of = {id(p): i for i, p in enumerate(self._all_params())}
        groups = []
        for group in self.param_groups:
            saved = {key: (list(value) if isinstance(value, tuple) else value)
                     for key, value in group.items() if key != "params"}
            saved["params"] = [index_of[id(p)] for p in group["params"]]
            groups.append(saved)
        state = {}
        for p, slots in self.state.items():
            if slots:
                state[index_of[id(p)]] = {key: (value.copy() if isinstance(value, np.ndarray)
                                                else value) for key, value in slots.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters, slots and step counts saved by `state_dict()` exactly.

        The optimizer must have been built over parameters of the same shapes, in the same
        groups and order as the one that was saved.
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            keys = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict)
            raise ValueError(f"{name}.load_state_dict: expected a dict with keys 'state' and "
                             f"'param_groups', got {keys}")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the saved state has {len(saved_groups)} "
                             f"parameter groups, this optimizer has {len(self.param_groups)}")
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: group {i} has "
                                 f"{len(group['params'])} parameters, the saved group has "
                                 f"{len(saved['params'])}")
        params = self._all_params()
        new_state = {}
        for key, slots in state_dict["state"].items():
            index = int(key)
            if not 0 <= index < len(params):
                raise ValueError(f"{name}.load_state_dict: state for parameter {index}, but "
                                 f"the optimizer has {len(params)} parameters")
            p = params[index]
            restored = {}
            for slot, value in slots.items():
                if isinstance(value, np.ndarray):
                    if value.shape != p.shape:
                        raise ValueError(f"{name}.load_state_dict: slot '{slot}' of parameter "
                                         f"{index} has shape {value.shape}, the parameter has "
                                         f"shape {p.shape}")
                    value = value.astype(p.dtype, copy=True)
                elif slot == "step":
                    value = int(value)
                restored[slot] = value
            new_state[p] = restored
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            updated = dict(group)
            for key, value in saved.items():
                if key == "params":
                    continue
                if isinstance(value, list) and isinstance(group.get(key), tuple):
                    value = tuple(value)
                updated[key] = value
            self._check_group(updated)  # a bad saved value fails before anything changes
            new_groups.append(updated)
        for group, updated in zip(self.param_groups, new_groups):
            group.update(updated)  # in place: schedulers hold references to these dicts
        self.state = new_state

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines) + "\n)"
