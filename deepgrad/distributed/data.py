"""Each rank's shard of every global batch.

A single process with batch size B draws one permutation of the dataset per epoch and cuts it
into batches of B. A `DistributedDataLoader` with the same seed and the same (global) batch
size B draws the same permutation on every rank, cuts the same global batches, and gives rank
r of N the r-th of N contiguous, near-equal parts of each (`DistributedSampler`). So the
shards of one step are disjoint and their union is exactly the single-process batch; the
number of steps per epoch is the same on every rank and the same as in one process.

The loader's state dict is the single-process DataLoader's (position in the global order), so
a run can be resumed with another number of ranks.
"""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np

from deepgrad.data import DataLoader
from deepgrad.distributed import comm
from deepgrad.random import default_generator

__all__ = ["DistributedSampler", "DistributedDataLoader", "ShardedDataLoader"]


class DistributedSampler:
    """Which part of a global batch a rank takes: rank r of N takes
    `batch[bounds[r]:bounds[r + 1]]`, bounds splitting len(batch) into N parts whose sizes
    differ by at most one (the first len(batch) mod N parts one larger).

    Args:
        num_replicas: the number of ranks N (default: the world size).
        rank: this rank (default: the MPI rank).
    """

    def __init__(self, num_replicas: int | None = None, rank: int | None = None):
        num_replicas = comm.world_size() if num_replicas is None else num_replicas
        rank = comm.rank() if rank is None else rank
        if not isinstance(num_replicas, int) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be an integer >= 1, got "
                             f"{num_replicas!r}")
        if not isinstance(rank, int) or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: rank must be in [0, {num_replicas}), got "
                             f"{rank!r}")
        self.num_replicas, self.rank = num_replicas, rank

    def bounds(self, batch_size: int) -> np.ndarray:
        """The N + 1 cut points of a batch of `batch_size` samples."""
        base, extra = divmod(batch_size, self.num_replicas)
        sizes = [base + (1 if r < extra else 0) for r in range(self.num_replicas)]
        return np.concatenate([[0], np.cumsum(sizes)]).astype(int)

    def shard(self, indices: np.ndarray) -> np.ndarray:
        """This rank's part of a global batch's indices."""
        bounds = self.bounds(len(indices))
        return indices[bounds[self.rank]:bounds[self.rank + 1]]

    def __repr__(self):
        return f"DistributedSampler(num_replicas={self.num_replicas}, rank={self.rank})"


def _fingerprint(generator) -> float:
    """A number that differs (almost surely) between generators in different states."""
    state = json.dumps(generator.bit_generator.state, sort_keys=True, default=str)
    return float(int(hashlib.sha256(state.encode()).hexdigest()[:12], 16))


class DistributedDataLoader(DataLoader):
    """A DataLoader whose every batch is this rank's shard of the global batch.

    Args:
        dataset: the whole dataset (every rank holds it; each reads only its shards).
        batch_size: the GLOBAL batch size B, split over the ranks.
        shuffle, drop_last: as DataLoader (the same on every rank).
        generator: a numpy Generator or int seed for the shuffling; it must be in the same
            state on every rank (checked). None: rank 0 draws a seed from deepgrad's default
            generator and sends it to the others.
        sampler: a DistributedSampler (default: this rank of the whole world).
        options: DataLoader's other arguments (transform, num_workers, prefetch_factor). A
            random transform draws per batch, so a rank's shard is augmented with other draws
            than the same samples in one process (as dropout: correct, not identical).

    Every global batch must have at least N samples (no rank may get an empty shard, since
    every rank takes every step together); the last, smaller batch is checked up front.
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, generator=None, sampler=None, **options):
        if generator is None and shuffle:
            seed = int(default_generator().integers(2**63)) if comm.is_main() else 0
            generator = int(comm.broadcast_json(seed))
        super().__init__(dataset, batch_size, shuffle, drop_last, generator, **options)
        self.sampler = DistributedSampler() if sampler is None else sampler
        ranks = self.sampler.num_replicas
        last = len(self.dataset) - (len(self) - 1) * self.batch_size
        smallest = min(self.batch_size, last)
        if smallest < ranks:
            raise ValueError(f"DistributedDataLoader: a global batch of {smallest} samples "
                             f"cannot be split over {ranks} ranks (each needs at least one); "
                             f"use batch_size >= {ranks} and drop_last=True, or a dataset size "
                             f"whose last batch has at least {ranks} samples "
                             f"({len(self.dataset)} samples, batch_size={self.batch_size})")
        if self.shuffle and comm.world_size() > 1:
            mine = _fingerprint(self.generator)
            spread = comm.allreduce(np.array([mine, -mine]), "max")
            if spread[0] != -spread[1]:
                raise ValueError("DistributedDataLoader: the shuffling generator is in a "
                                 "different state on different ranks, so their shards would "
                                 "come from different permutations; seed it the same on every "
                                 "rank (e.g. generator=<the run's seed>)")

    def _batch_indices(self, order: np.ndarray, b: int) -> np.ndarray:
        return self.sampler.shard(super()._batch_indices(order, b))

    def __repr__(self):
        return (f"DistributedDataLoader({len(self.dataset)} samples, global batch_size="
                f"{self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last}, "
                f"{len(self)} batches, {self.sampler!r})")



class ShardedDataLoader(DataLoader):
    """Evaluation data split over the ranks: this rank's contiguous part of the dataset, in
    order, in batches of `batch_size`. Each rank scores its part and the metric sums are
    all-reduced (`allreduce_metrics`). `dataset` is the whole dataset, so `len(loader.dataset)`
    is the size of the split on every rank.
    """

    def __init__(self, dataset, batch_size: int = 1, sampler=None):
        super().__init__(dataset, batch_size)
        self.sampler = DistributedSampler() if sampler is None else sampler
        if len(dataset) < self.sampler.num_replicas:
            raise ValueError(f"ShardedDataLoader: {len(dataset)} samples cannot be split over "
                             f"{self.sampler.num_replicas} ranks (each needs at least one)")
        self.part = self.sampler.shard(np.arange(len(dataset)))

    def __len__(self) -> int:
        return math.ceil(len(self.part) / self.batch_size)

    def _order(self) -> np.ndarray:
        return self.part

    def __repr__(self):
        return (f"ShardedDataLoader({len(self.part)} of {len(self.dataset)} samples, "
                f"batch_size={self.batch_size}, {self.sampler!r})")
