"""Seeded randomness. Every random draw in deepgrad takes a `numpy.random.Generator`; when none
is given, the library's default generator is used, which `deepgrad.manual_seed(seed)` resets.
The global `np.random` state is never touched.
"""

from __future__ import annotations

import numpy as np

_default = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Reset deepgrad's default generator from `seed` and return it."""
    global _default
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative integer, got {seed!r}")
    _default = np.random.default_rng(int(seed))
    return _default


def default_generator() -> np.random.Generator:
    """The generator used when a function is not given one explicitly."""
    return _default


def get_generator(generator=None) -> np.random.Generator:
    """`generator` if given (a Generator or an int seed), else the default generator."""
    if generator is None:
        return _default
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise TypeError(f"expected a numpy.random.Generator or an int seed, got "
                    f"{type(generator).__name__}")
