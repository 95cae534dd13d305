"""One seed for a whole run: independent random streams for every consumer.

    gens = seed_everything(42)
    model = build_model(generator=gens["init"])            # weight initialization
    loader = DataLoader(train, 128, shuffle=True, generator=gens["data"])
    model = nn.Dropout(0.2, generator=gens["dropout"])      # dropout masks
    trainer = Trainer(..., generator=gens["noise"])          # Gaussian input noise

`seed_everything(seed)` also resets deepgrad's default generator (`deepgrad.manual_seed(seed)`),
so code that passes no generator is reproducible too. The named streams come from
`numpy.random.SeedSequence(seed).spawn(...)`: they are statistically independent, so adding
dropout to a model does not change its initialization or the order of its batches. Two runs
with the same seed are bit-identical; different seeds give different runs.
"""

from __future__ import annotations

import numbers

import numpy as np

from deepgrad.random import manual_seed

STREAMS = ("init", "data", "dropout", "noise", "split", "extra")


def seed_everything(seed: int) -> dict:
    """Reset the default generator and return {name: Generator} for each name in STREAMS."""
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed_everything: seed must be a non-negative integer, got {seed!r}")
    manual_seed(int(seed))
    children = np.random.SeedSequence(int(seed)).spawn(len(STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, children)}
