"""mlp(): a multilayer perceptron as a Sequential of Linear layers with activations between."""

from __future__ import annotations

import numbers

from deepgrad import nn, registry
from deepgrad.random import get_generator
from deepgrad.registry import register

def _activation_factory(activation):
    if isinstance(activation, str):
        if not registry.contains("activation", activation):
            known = ", ".join(registry.names("activation", aliases=True))
            raise ValueError(f"mlp: unknown activation {activation!r}"
                             f"{registry.suggest(activation, registry.names('activation'))}; "
                             f"use one of {known}, or pass a Module class")
        return registry.lookup("activation", activation)
    if isinstance(activation, type) and issubclass(activation, nn.Module):
        return activation
    raise TypeError(f"mlp: activation must be a name such as 'relu' or a Module class, got "
                    f"{activation!r}")


@register("model")
def mlp(sizes, activation="relu", batch_norm: bool = False, dropout: float = 0.0,
        generator=None) -> nn.Sequential:
    """Sequential(Linear(sizes[0], sizes[1]), [BatchNorm1d], activation, [Dropout], ...,
    Linear(sizes[-2], sizes[-1])).

    Every hidden layer is Linear -> BatchNorm1d (if batch_norm) -> activation -> Dropout (if
    dropout > 0); the last Linear has nothing after it (it produces logits or predictions).

    Args:
        sizes: layer widths, input first, e.g. [784, 256, 10]; at least two.
        activation: a name ("relu", "tanh", "sigmoid", "gelu", ...) or a Module class built
            with no arguments.
        batch_norm: insert BatchNorm1d after each hidden Linear.
        dropout: drop probability of the Dropout after each hidden activation (0 = none).
        generator: numpy Generator or int seed for the weights and the dropout masks.
    """
    sizes = list(sizes)
    if len(sizes) < 2 or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool)
                                 and s > 0 for s in sizes):
        raise ValueError(f"mlp: sizes must list at least two positive integers (input width "
                         f"first, output width last), got {sizes!r}")
    if not isinstance(dropout, numbers.Real) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"mlp: dropout must be a probability in [0, 1), got {dropout!r}")
    make_activation = _activation_factory(activation)
    rng = get_generator(generator)
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(int(fan_in), int(fan_out), generator=rng))
        if i == len(sizes) - 2:
            break
        if batch_norm:
            layers.append(nn.BatchNorm1d(int(fan_out)))
        layers.append(make_activation())
        if dropout > 0:
            layers.append(nn.Dropout(float(dropout), generator=rng))
    return nn.Sequential(*layers)
