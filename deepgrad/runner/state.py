"""Every random generator a run draws from, saved and restored by name.

deepgrad's default generator ("default"), the named streams of `seed_everything`
("stream/init", "stream/data", ...), any `generator` a module owns ("module/<name>"), the
Trainer's ("trainer") and the training loader's ("train_loader"). Restoring them all before
the next epoch makes a resumed run draw the same random numbers as an uninterrupted one.
"""

from __future__ import annotations

import numpy as np

from deepgrad import random as dg_random


def module_generators(model) -> dict:
    """{module name: Generator} for every module that owns a numpy Generator."""
    found = {}
    for name, module in model.named_modules():
        generator = module.__dict__.get("generator")
        if isinstance(generator, np.random.Generator):
            found[name or "(model)"] = generator
    return found


def generators_of(run) -> dict:
    """Name -> every numpy Generator the run can draw from."""
    found = {"default": dg_random.default_generator()}
    found.update({f"stream/{n}": g for n, g in run.generators.items()})
    found.update({f"module/{n}": g for n, g in module_generators(run.model).items()})
    for name, owner in (("trainer", run.trainer), ("train_loader", run.train_loader)):
        generator = getattr(owner, "generator", None)
        if isinstance(generator, np.random.Generator):
            found[name] = generator
    return found


def rng_states(run) -> dict:
    """Name -> bit-generator state of every generator the run can draw from."""
    return {name: g.bit_generator.state for name, g in generators_of(run).items()}


def restore_rng_states(run, states: dict) -> None:
    """Put every generator of `run` back to the saved states (missing names are an error)."""
    targets = generators_of(run)
    missing = sorted(set(targets) - set(states))
    if missing:
        raise ValueError(f"the checkpoint has no saved state for the generators {missing}; "
                         "it was written by a different model or config")
    for name, generator in targets.items():
        generator.bit_generator.state = states[name]
