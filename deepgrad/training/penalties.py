"""Per-layer weight penalties added to the training loss.

    L_total = L_data + sum_k lambda_k R_k(theta_k),   R = l1: sum |w|,  l2: sum w^2

(`deepgrad.nn.functional.l1_penalty` / `l2_penalty`; note l2 has no 1/2, so lambda * l2 adds
2 lambda w to the gradient.) Penalties are given to `Trainer(penalties=...)` in either form:

* a dict from parameter-name patterns to (kind, lambda): names are those of
  `model.named_parameters()`, and a pattern may use shell wildcards::

      penalties={"0.weight": ("l2", 1e-4), "*.weight": ("l1", 1e-6)}

* a list of (parameters, kind, lambda), where parameters is a Tensor, an iterable of Tensors
  (e.g. `model[2].parameters()`) or a name pattern::

      penalties=[(model[0].weight, "l2", 1e-4), ("4.*", "l1", 1e-5)]

A pattern that matches no parameter is an error (a typo would silently drop the penalty).
"""

from __future__ import annotations

import fnmatch
import math

from deepgrad.nn import functional as F
from deepgrad.tensor import Tensor

KINDS = {"l1": F.l1_penalty, "l2": F.l2_penalty}


class Penalty:
    """lambda * R(params) for one group of parameters; `label` names it in messages."""

    def __init__(self, label: str, params: list, kind: str, lam: float):
        self.label, self.params, self.kind, self.lam = label, params, kind, lam
        self.function = KINDS[kind]

    def __call__(self):
        return self.function(self.params) * self.lam

    def __repr__(self):
        return f"Penalty({self.label}: {self.kind}, lambda={self.lam})"


def _check(kind, lam, where: str):
    if kind not in KINDS:
        raise ValueError(f"penalties[{where}]: kind must be one of {sorted(KINDS)}, got "
                         f"{kind!r}")
    if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not math.isfinite(lam) \
            or lam < 0:
        raise ValueError(f"penalties[{where}]: lambda must be a finite number >= 0, got {lam!r}")
    return kind, float(lam)


def _match(model, pattern: str) -> list:
    named = list(model.named_parameters())
    params = [p for name, p in named if fnmatch.fnmatchcase(name, pattern)]
    if not params:
        raise ValueError(f"penalties: pattern {pattern!r} matches no parameter of "
                         f"{type(model).__name__}; its parameters are "
                         f"{', '.join(name for name, _ in named)}")
    return params


def resolve_penalties(model, penalties) -> list:
    """Turn a `penalties=` specification (see module docs) into a list of Penalty."""
    if not penalties:
        return []
    resolved = []
    if isinstance(penalties, dict):
        for pattern, spec in penalties.items():
            if not isinstance(spec, (tuple, list)) or len(spec) != 2:
                raise ValueError(f"penalties[{pattern!r}]: expected (kind, lambda) such as "
                                 f"('l2', 1e-4), got {spec!r}")
            kind, lam = _check(spec[0], spec[1], repr(pattern))
            resolved.append(Penalty(pattern, _match(model, pattern), kind, lam))
        return resolved
    for index, entry in enumerate(penalties):
        if not isinstance(entry, (tuple, list)) or len(entry) != 3:
            raise ValueError(f"penalties[{index}]: expected (parameters, kind, lambda), got "
                             f"{entry!r}")
        target, kind, lam = entry
        kind, lam = _check(kind, lam, str(index))
        if isinstance(target, str):
            params, label = _match(model, target), target
        else:
            params = [target] if isinstance(target, Tensor) else list(target)
            label = f"group {index}"
            if not params or not all(isinstance(p, Tensor) for p in params):
                raise TypeError(f"penalties[{index}]: parameters must be a Tensor, an "
                                "iterable of Tensors or a name pattern")
        resolved.append(Penalty(label, params, kind, lam))
    return resolved


def penalty_total(penalties: list):
    """sum_k lambda_k R_k as a scalar Tensor, or None when there are no penalties."""
    total = None
    for penalty in penalties:
        if penalty.lam == 0.0:
            continue
        term = penalty()
        total = term if total is None else total + term
    return total
