"""Embedding: a lookup table of learnable vectors, indexed by integers (tokens, categories)."""

from __future__ import annotations

import numbers

import numpy as np

from deepgrad.nn import functional as F
from deepgrad.nn import init
from deepgrad.nn.module import Module, Parameter
from deepgrad.random import get_generator
from deepgrad.registry import register


@register("layer")
class Embedding(Module):
    """y = weight[indices]: (*indices.shape) -> (*indices.shape, embedding_dim).

    weight (num_embeddings, embedding_dim) starts as standard normal samples (as PyTorch), with
    the row `padding_idx` (if given) zero and excluded from gradient updates.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx=None,
                 generator=None, dtype="float32", _weight=None):
        super().__init__()
        for name, value in (("num_embeddings", num_embeddings),
                            ("embedding_dim", embedding_dim)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Embedding: {name} must be a positive integer, got {value!r}")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx={padding_idx} is out of range for "
                                 f"{num_embeddings} embeddings")
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.padding_idx = padding_idx
        self.weight = Parameter(init.empty((num_embeddings, embedding_dim), dtype))
        if _weight is not None:
            self.weight.data[...] = np.asarray(_weight)
        else:
            self.reset_parameters(generator)

    def reset_parameters(self, generator=None) -> None:
        init.normal_(self.weight, 0.0, 1.0, generator=get_generator(generator))
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx=None):
        rows, dim = embeddings.shape
        array = embeddings.data if hasattr(embeddings, "data") else np.asarray(embeddings)
        module = cls(rows, dim, padding_idx=padding_idx, dtype=array.dtype, _weight=array)
        module.weight.requires_grad_(not freeze)
        return module

    def forward(self, indices):
        return F.embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"
