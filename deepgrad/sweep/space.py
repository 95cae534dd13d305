"""The search space of a sweep: one `Param` per entry of the sweep file's `space:` section.

A parameter is named by its dotted key ("optimizer.lr") and sets that key, or the several
keys listed under `keys:` to one value (a hidden width is both one layer's out_features and the
next one's in_features). Values are drawn by Optuna's `trial.suggest_*`; categorical choices
that Optuna cannot store (lists such as `[784, 256, 10]`) are stored as their JSON text and
turned back into values here.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field


def _scalar(value) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


@dataclass
class Param:
    name: str
    kind: str                       # "float", "int" or "categorical"
    low: float = None
    high: float = None
    log: bool = False
    step: float = None
    choices: list = None
    keys: list = field(default_factory=list)

    # --- categorical choices as Optuna stores them -----------------------------------------
    @property
    def labels(self) -> list:
        """The choices as Optuna sees them: scalars as they are, others as JSON text."""
        if all(_scalar(c) for c in self.choices):
            return list(self.choices)
        return [json.dumps(c) for c in self.choices]

    def value(self, stored):
        """A stored Optuna value -> the config value."""
        if self.kind != "categorical":
            return stored
        return self.choices[self.labels.index(stored)]

    # --- drawing ---------------------------------------------------------------------------
    def suggest(self, trial):
        if self.kind == "float":
            return trial.suggest_float(self.name, self.low, self.high, log=self.log,
                                       step=self.step)
        if self.kind == "int":
            return trial.suggest_int(self.name, self.low, self.high, step=self.step or 1,
                                     log=self.log)
        return self.value(trial.suggest_categorical(self.name, self.labels))

    def grid(self) -> "list | None":
        """Every value of the parameter, or None when there are infinitely many."""
        if self.kind == "categorical":
            return self.labels
        if self.kind == "int":
            return list(range(self.low, self.high + 1, self.step or 1))
        if self.step is None:
            return None
        count = int(round((self.high - self.low) / self.step)) + 1
        return [round(self.low + i * self.step, 12) for i in range(count)]

    def probes(self) -> list:
        """(label, value) pairs that validation tries: both ends, a value between them that
        is not an integer (for floats), and every categorical choice."""
        if self.kind == "categorical":
            return [(f"choice {i}", c) for i, c in enumerate(self.choices)]
        out = [("low", self.low), ("high", self.high)]
        if self.kind == "float":
            middle = (math.sqrt(self.low * self.high) if self.log
                      else self.low + 0.37 * (self.high - self.low))
            if self.step is not None:
                middle = self.grid()[len(self.grid()) // 2]
            if middle not in (self.low, self.high):
                out.append(("a value between low and high", middle))
        return out

    def describe(self) -> dict:
        out = {"type": self.kind, "keys": list(self.keys)}
        if self.kind == "categorical":
            out["choices"] = list(self.choices)
        else:
            out.update(low=self.low, high=self.high, log=self.log, step=self.step)
        return out


@dataclass
class SearchSpace:
    params: list

    def suggest(self, trial) -> dict:
        """Param name -> config value, drawn for an Optuna trial."""
        return {p.name: p.suggest(trial) for p in self.params}

    def values(self, stored: dict) -> dict:
        """Optuna's stored params (a trial's `params`) -> config values."""
        by_name = {p.name: p for p in self.params}
        return {name: by_name[name].value(v) for name, v in stored.items() if name in by_name}

    def grid(self) -> dict:
        """Param name -> list of values, for Optuna's GridSampler."""
        return {p.name: p.grid() for p in self.params}

    def grid_size(self) -> tuple:
        """(number of grid points, params with no finite grid)."""
        size, unbounded = 1, []
        for param in self.params:
            values = param.grid()
            if values is None:
                unbounded.append(param)
            else:
                size *= len(values)
        return size, unbounded

    def describe(self) -> dict:
        return {p.name: p.describe() for p in self.params}
