"""DataLoader: iterate over a dataset in (optionally shuffled, augmented) mini-batches, in the
main process or in background workers."""

from __future__ import annotations

import math
import numbers

import numpy as np

from deepgrad.data.transforms import Transform
from deepgrad.data.workers import WorkerPool, make_batch
from deepgrad.random import default_generator, get_generator
from deepgrad.tensor import Tensor


def _jsonable(value):
    # bit_generator.state is a dict of ints for PCG64/Philox/SFC64 but holds an ndarray for
    # MT19937; lists keep the state JSON-serializable.
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.integer):
        return int(value)
    return value


def _from_jsonable(state: dict) -> dict:
    state = dict(state)
    if state.get("bit_generator") == "MT19937":
        inner = dict(state["state"])
        inner["key"] = np.asarray(inner["key"], dtype=np.uint32)
        state["state"] = inner
    return state


class DataLoader:
    """Mini-batches of a dataset: each epoch (each `iter(loader)`) covers every sample once.

    With `shuffle=True` a fresh permutation is drawn from `generator` at the start of every
    epoch, so the order differs between epochs yet is reproducible from the seed. A batch is
    a tuple of Tensors, one per field of the dataset (`(features, labels)`).

    Number of batches per epoch: `ceil(n / batch_size)`, or `floor(n / batch_size)` with
    `drop_last=True` (the incomplete last batch is skipped); `len(loader)` returns it.

    Args:
        dataset: a Dataset. A `TensorDataset` (or a `Subset` of one) is batched by one
            fancy-indexing step per array; other datasets sample by sample.
        batch_size: samples per batch.
        shuffle: reshuffle the samples every epoch.
        drop_last: skip the last batch when it has fewer than `batch_size` samples.
        generator: a numpy Generator or an int seed for the shuffling and the augmentation.
            None draws a seed from deepgrad's default generator (see `deepgrad.manual_seed`)
            when shuffling or augmenting.
        transform: a batch transform (deepgrad.data.transforms, e.g. `Compose([RandomCrop(28,
            padding=2), RandomHorizontalFlip()])`) applied to the first field of every batch
            (the features). A random transform draws from a Generator of its own for each
            batch, seeded from (a number drawn from `generator` at the start of the epoch,
            the batch's position in the epoch).
        num_workers: background processes that prepare the batches (0: the main process).
            The batches are the same for any number of workers.
        prefetch_factor: batches each worker prepares ahead (default 2; needs num_workers > 0).

    `state_dict()` / `load_state_dict()` save and restore the generator state, the epoch
    counter and the position inside the current epoch, so that a resumed run sees exactly the
    batches an uninterrupted run would have seen.
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, generator=None, transform=None, num_workers: int = 0,
                 prefetch_factor=None):
        if not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got "
                             f"{batch_size!r}")
        n = len(dataset)
        if n == 0:
            raise ValueError("DataLoader: the dataset is empty (0 samples)")
        if drop_last and batch_size > n:
            raise ValueError(f"DataLoader: drop_last=True with batch_size={batch_size} larger "
                             f"than the dataset ({n} samples) gives no batch at all; lower "
                             "batch_size or set drop_last=False")
        if transform is not None and not isinstance(transform, Transform):
            raise TypeError(f"DataLoader: transform must be a deepgrad.data.transforms "
                            f"Transform (e.g. Compose([...])), got {type(transform).__name__}")
        _check_count("num_workers", num_workers, 0)
        if prefetch_factor is not None:
            if num_workers == 0:
                raise ValueError("DataLoader: prefetch_factor applies to background workers; "
                                 "set num_workers > 0 or leave prefetch_factor unset")
            _check_count("prefetch_factor", prefetch_factor, 1)
        self.transform = transform
        self.num_workers = int(num_workers)
        self.prefetch_factor = 2 if prefetch_factor is None else int(prefetch_factor)
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        if generator is None:
            # a private stream seeded from the default generator: reproducible under
            # manual_seed, and restoring its state never touches the shared default (an
            # unshuffled loader draws nothing, so it leaves the default generator alone)
            seed = int(default_generator().integers(2**63)) if self._draws() else 0
            generator = np.random.default_rng(seed)
        self.generator = get_generator(generator)
        self.epoch = 0              # epochs started (the current epoch's number is epoch - 1)
        self._epoch_state = None    # generator state before the current epoch's permutation
        self._position = 0          # batches of the current epoch already yielded
        self._resume_position = 0   # batches to skip in the next epoch (set by load_state_dict)

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _order(self) -> np.ndarray:
        n = len(self.dataset)
        return self.generator.permutation(n) if self.shuffle else np.arange(n)

    def _draws(self) -> bool:
        """Whether an epoch draws from the generator (a permutation, an augmentation seed)."""
        return self.shuffle or (self.transform is not None and self.transform.random)

    def _batch_indices(self, order: np.ndarray, b: int) -> np.ndarray:
        """The dataset indices of batch `b` of an epoch whose sample order is `order`."""
        return order[b * self.batch_size:(b + 1) * self.batch_size]

    def __iter__(self):
        skip, self._resume_position = self._resume_position, 0
        self._epoch_state = self.generator.bit_generator.state
        order = self._order()
        # one number per epoch, drawn after the permutation, seeds every batch's augmentation
        epoch_seed = (int(self.generator.integers(2**63))
                      if self.transform is not None and self.transform.random else None)
        self.epoch += 1
        self._position = skip
        tasks = [(b, self._batch_indices(order, b),
                  None if epoch_seed is None else [epoch_seed, b])
                 for b in range(skip, len(self))]
        if self.num_workers == 0:
            arrays = (make_batch(self.dataset, indices, self.transform, seed)
                      for _, indices, seed in tasks)
            pool = None
        else:
            pool = WorkerPool(self.dataset, self.transform, self.num_workers,
                              self.prefetch_factor)
            arrays = pool.batches(tasks)
        try:
            for (b, _, _), batch in zip(tasks, arrays):
                self._position = b + 1
                yield tuple(Tensor._wrap(a) for a in batch)
        finally:
            if pool is not None:
                pool.close()
        self._epoch_state = None
        self._position = 0

    def state_dict(self) -> dict:
        """JSON-serializable state: `epoch` (epochs completed or started), `position` (batches
        of an interrupted epoch already yielded) and `generator_state`."""
        if self._epoch_state is not None and 0 < self._position < len(self):
            # mid-epoch: restart this epoch's permutation and skip the batches already seen
            epoch, position, state = self.epoch - 1, self._position, self._epoch_state
        else:
            # between epochs; a resume loaded but not yet iterated keeps its position
            epoch, position = self.epoch, self._resume_position
            state = self.generator.bit_generator.state
        return {"epoch": epoch, "position": position, "generator_state": _jsonable(state),
                "batch_size": self.batch_size, "shuffle": self.shuffle,
                "drop_last": self.drop_last, "num_samples": len(self.dataset)}

    def load_state_dict(self, state: dict) -> None:
        """Restore a `state_dict()`; the next `iter(loader)` continues where it stopped."""
        for key in ("batch_size", "shuffle", "drop_last", "num_samples"):
            current = len(self.dataset) if key == "num_samples" else getattr(self, key)
            if key in state and state[key] != current:
                raise ValueError(f"DataLoader.load_state_dict: saved {key}={state[key]!r} but "
                                 f"this loader has {key}={current!r}; the batch order would "
                                 "differ from the interrupted run")
        missing = {"epoch", "position", "generator_state"} - set(state)
        if missing:
            raise KeyError(f"DataLoader.load_state_dict: missing keys {sorted(missing)}")
        saved = state["generator_state"]
        name = type(self.generator.bit_generator).__name__
        if saved.get("bit_generator") != name:
            raise ValueError(f"DataLoader.load_state_dict: the saved state is for a "
                             f"{saved.get('bit_generator')} generator, this loader uses {name}")
        self.generator.bit_generator.state = _from_jsonable(saved)
        self.epoch = int(state["epoch"])
        self._resume_position = int(state["position"])
        self._epoch_state = None
        self._position = 0

    def __repr__(self):
        extra = f", transform={self.transform!r}" if self.transform is not None else ""
        if self.num_workers:
            extra += f", num_workers={self.num_workers}"
        return (f"DataLoader({len(self.dataset)} samples, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}{extra}, "
                f"{len(self)} batches)")


def _check_count(name, value, minimum):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"DataLoader: {name} must be an integer >= {minimum}, got {value!r}")
