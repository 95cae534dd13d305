"""A seeded config mutator: from an example config, mutants that change one value (hostile
numbers, wrong types, deleted or unknown keys, other registered names), each run through
`deepgrad train`. The verdict of a mutant:

* "refused"  - validation refused it: one paragraph with file:line, no traceback;
* "trained"  - it passed validation and trained;
* a failure  - a traceback or a Python class name in the message, an error that appeared
  only after validation passed (validation could have caught it), or a hang (> `limit` s).

Training runs with small sizes forced by `--set` (`SMALL`) after validation judged the
mutant as written, so a valid mutant with data.n = 10^7 is judged but trained on 200 samples.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import os
import random
import re
import signal

import yaml

HOSTILE_VALUES = [0, -1, 1, 2, 0.0, -0.5, 1e-30, 1e30, 10 ** 40, math.inf, -math.inf, math.nan,
                  "", "x", "val_loss", "1e-3", "..", "/etc", "\u00e9\u00e8", "a" * 300, None,
                  True, False, [], {}, [1, 2], {"type": "Linear"}, [[[]]], 7.5]
NAMES = ["Linear", "ReLU", "Tanh", "Dropout", "Conv2d", "BatchNorm1d", "CrossEntropyLoss",
         "MSELoss", "SGD", "Adam", "StepLR", "ReduceLROnPlateau", "EarlyStopping",
         "ModelCheckpoint", "accuracy", "mse", "spirals", "regression", "npz", "nonexistent"]
SMALL = ["training.epochs=1", "training.batch_size=64"]
CLASS_PREFIX = re.compile(r"deepgrad: error: [A-Za-z]*(Error|Exception|Warning): ")


class Hang(BaseException):
    """Raised by the alarm (not an Exception: the CLI must not catch it as an error)."""


def _paths(value, path=()):
    """Every path to a value in a nested config (mappings and lists)."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, path + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, path + (i,))


def _set(config, path, value):
    target = config
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def _delete(config, path):
    target = config
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]


def mutate(config: dict, rng: random.Random) -> tuple:
    """(mutant, description): one change at a random place."""
    mutant = copy.deepcopy(config)
    path = rng.choice([p for p in _paths(mutant) if p])
    kind = rng.choice(["value", "value", "value", "name", "delete", "unknown", "scale"])
    if kind == "delete":
        _delete(mutant, path)
    elif kind == "unknown":
        parent = path[:-1]
        target = mutant
        for key in parent:
            target = target[key]
        if isinstance(target, dict):
            target[rng.choice(["lrr", "epoch", "typ", "extra"])] = 1
        else:
            target.append(rng.choice(HOSTILE_VALUES))
    elif kind == "name":
        _set(mutant, path, rng.choice(NAMES))
    elif kind == "scale":
        target = mutant
        for key in path[:-1]:
            target = target[key]
        old = target[path[-1]]
        if isinstance(old, (int, float)) and not isinstance(old, bool):
            _set(mutant, path, type(old)(old * rng.choice([-1, 0, 1000, 10 ** 6])))
        else:
            _set(mutant, path, rng.choice(HOSTILE_VALUES))
    else:
        _set(mutant, path, rng.choice(HOSTILE_VALUES))
    return mutant, f"{kind} at {'.'.join(map(str, path))}"


def _main(argv) -> tuple:
    from deepgrad.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code
    return code, err.getvalue()


def judge(mutant: dict, work: str, index: int, limit: float = 20.0) -> tuple:
    """(verdict, message) of one mutant; verdicts other than refused/trained are failures."""
    from deepgrad.config import ConfigError, load_config

    path = os.path.join(work, f"mutant{index}.yaml")
    with open(path, "w", encoding="utf-8") as stream:
        yaml.safe_dump(mutant, stream, sort_keys=False)

    def alarm(signum, frame):
        raise Hang()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        try:
            load_config(path)
        except ConfigError as error:
            text = str(error)
            if "Traceback" in text or path not in text and "--set" not in text:
                return "bad refusal", text
            return "refused", text
        except Hang:
            return "hang in validation", ""
        except Exception as error:  # validation must only raise ConfigError
            return "raw error in validation", f"{type(error).__name__}: {error}"
        try:
            code, err = _main(["train", path, "--out", os.path.join(work, f"run{index}"),
                               "-q", "--set", *SMALL])
        except Hang:
            return "hang in training", ""
        if code == 0:
            return "trained", ""
        if "Traceback" in err or CLASS_PREFIX.search(err):
            return "traceback", err
        return "error after validation", err
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def fuzz(config_path: str, work: str, count: int, seed: int) -> dict:
    """Run `count` mutants of one config: {"verdicts": {verdict: n}, "failures": [...]}."""
    with open(config_path, encoding="utf-8") as stream:
        config = yaml.safe_load(stream)
    rng = random.Random(seed)
    verdicts, failures = {}, []
    for index in range(count):
        mutant, what = mutate(config, rng)
        verdict, message = judge(mutant, work, index)
        verdicts[verdict] = verdicts.get(verdict, 0) + 1
        if verdict not in ("refused", "trained"):
            failures.append(f"{what}: {verdict}: {message[:300]}")
    return {"verdicts": verdicts, "failures": failures}
