"""Noise-injection regularizers: Dropout (inverted) and GaussianNoise. Both are the identity in
eval mode and draw their noise from a generator, so a seeded run is reproducible."""

from __future__ import annotations

from deepgrad.nn import functional as F
from deepgrad.nn.module import Module
from deepgrad.random import get_generator
from deepgrad.registry import register


class _NoiseLayer(Module):
    def __init__(self, generator):
        super().__init__()
        # Given a seed or Generator, the layer keeps its own stream (successive calls draw fresh
        # masks, reproducibly); without one it reads deepgrad's default generator at call time,
        # so deepgrad.manual_seed controls it.
        self.generator = None if generator is None else get_generator(generator)


@register("layer", generator_stream="dropout")
class Dropout(_NoiseLayer):
    """Inverted dropout (Srivastava et al. 2014): in training each entry is zeroed with
    probability p and the survivors are scaled by 1 / (1 - p), so E[y] = x and eval mode is
    the identity. No parameters.

    Args:
        p: probability of dropping an entry, in [0, 1).
        generator: a numpy Generator or int seed for the masks (None: deepgrad's default).
    """

    def __init__(self, p: float = 0.5, generator=None):
        super().__init__(generator)
        self.p = F.check_dropout_probability(p, "Dropout")

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"


@register("layer", generator_stream="dropout")
class GaussianNoise(_NoiseLayer):
    """y = x + n, n ~ N(0, std^2) elementwise, in training only (additive noise injection,
    equivalent for small std to a Tikhonov penalty on the input gradient, Bishop 1995).
    No parameters."""

    def __init__(self, std: float, generator=None):
        super().__init__(generator)
        if isinstance(std, bool) or not isinstance(std, (int, float)) or std < 0:
            raise ValueError(f"GaussianNoise: std must be a non-negative number, got {std!r}")
        self.std = float(std)

    def forward(self, x):
        return F.gaussian_noise(x, self.std, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"std={self.std}"
