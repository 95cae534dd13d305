"""DistributedOptimizer: average the gradients over the ranks, then take the wrapped step.

Synchronous data parallelism in the manner of Horovod: every rank computes the gradient of
the loss on its own shard of the global batch, the gradients are averaged with Allreduce, and
every rank applies the same update to its identical copy of the parameters.

    g = sum_r n_r g_r / sum_r n_r        (n_r: samples of rank r in this step)

which is the gradient of the loss over the global batch when each rank's loss is the mean
over its own samples (with equal shards it is the plain average (1/N) sum_r g_r). The
gradients travel in a few flat *buckets* (about `bucket_cap_mb` each, one dtype each, filled
in the order backward produces the gradients: last layer first), not one call per tensor.

With `overlap=True`, gradient hooks copy each gradient into its bucket as backward computes
it, and a bucket's non-blocking Iallreduce starts as soon as it is full (buckets start in
order, identically on every rank), so communication runs while backward goes on; `step()`
waits for the rest. Whether that helps depends on the machine: docs/distributed.md measures
it.
"""

from __future__ import annotations

import time

import numpy as np

from deepgrad.distributed import comm
from deepgrad.optim import Optimizer
from deepgrad.tensor import Tensor

__all__ = ["DistributedOptimizer"]


class _Bucket:
    """A flat buffer for a few parameters' gradients, their presence flags and a count:
    [g_1 ... g_k | has_grad_1 ... has_grad_k | n]."""

    def __init__(self, params):
        self.params = params
        self.sizes = [p.data.size for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)
        self.numel = int(self.offsets[-1])
        self.dtype = params[0].data.dtype
        self.buffer = None
        self.request = None
        self.ready = set()      # ids of the parameters whose gradient is in the buffer
        self.stale = False      # a parameter received another gradient after it was packed

    def reset(self) -> None:
        self.buffer = self.request = None
        self.ready.clear()
        self.stale = False

    def new_buffer(self, count: float) -> None:
        self.buffer = np.zeros(self.numel + len(self.params) + 1, self.dtype)
        self.buffer[-1] = count
        self.ready.clear()
        self.stale = False

    def put(self, index: int, grad: np.ndarray, scale: float) -> None:
        start, stop = self.offsets[index], self.offsets[index + 1]
        np.multiply(grad.reshape(-1), scale, out=self.buffer[start:stop], casting="unsafe")
        self.buffer[self.numel + index] = 1.0

    def pack(self, scale: float) -> None:
        for index, p in enumerate(self.params):
            if p.grad is not None:
                self.put(index, p.grad.data, scale)

    def unpack(self) -> None:
        """p.grad <- the averaged gradient (a view of the reduced buffer); a parameter that
        had no gradient on any rank keeps None."""
        total = self.buffer[-1]
        values = self.buffer[:self.numel]
        values /= total
        for index, p in enumerate(self.params):
            if self.buffer[self.numel + index] > 0:
                start, stop = self.offsets[index], self.offsets[index + 1]
                p.grad = Tensor._wrap(values[start:stop].reshape(p.data.shape))
            else:
                p.grad = None


class DistributedOptimizer(Optimizer):
    """Wraps an optimizer: `step()` first averages the gradients over the ranks.

    The wrapped optimizer keeps its parameter groups, state and state dict (a checkpoint of a
    distributed run is the same as a single-process one). In a world of one rank, `step()` is
    the wrapped optimizer's step.

    Args:
        optimizer: the deepgrad.optim optimizer to wrap.
        bucket_cap_mb: the size of one fused gradient buffer, in MiB.
        overlap: start each bucket's Iallreduce from gradient hooks during backward.

    Call `set_local_samples(n)` before each backward with the number of samples this rank's
    loss averages over (the Trainer does) to weight ranks by their share of the batch; without
    it every rank counts 1/N. `synchronize()` averages without stepping (e.g. to clip the
    averaged gradients first); the next `step()` then does not average again.
    `comm_seconds` accumulates the time spent waiting for the reductions.
    """

    def __init__(self, optimizer, bucket_cap_mb: float = 1.0, overlap: bool = False):
        if not isinstance(optimizer, Optimizer) or isinstance(optimizer, DistributedOptimizer):
            raise TypeError(f"DistributedOptimizer: expected a deepgrad.optim optimizer to "
                            f"wrap, got {type(optimizer).__name__}")
        if not (isinstance(bucket_cap_mb, (int, float)) and bucket_cap_mb > 0):
            raise ValueError(f"DistributedOptimizer: bucket_cap_mb must be a number > 0, got "
                             f"{bucket_cap_mb!r}")
        comm.init()
        self.optimizer = optimizer
        self.bucket_cap_mb = float(bucket_cap_mb)
        self.overlap = bool(overlap) and comm.world_size() > 1
        self.local_samples = None
        self.comm_seconds = 0.0
        self.reductions = 0
        self._synchronized = False
        self.buckets = self._make_buckets()
        self._where = {}
        self._handles = []
        for bucket in self.buckets:
            for index, p in enumerate(bucket.params):
                self._where[id(p)] = (bucket, index)
        if self.overlap:
            for bucket in self.buckets:
                for p in bucket.params:
                    self._handles.append(p.register_hook(self._make_hook(p)))
        self._started = 0   # buckets whose Iallreduce has started this step (in order)

    # --- the wrapped optimizer's state is this optimizer's state ---------------------------
    @property
    def param_groups(self):
        return self.optimizer.param_groups

    @property
    def state(self):
        return self.optimizer.state

    @property
    def defaults(self):
        return self.optimizer.defaults

    def state_dict(self) -> dict:
        return self.optimizer.state_dict()

    def load_state_dict(self, state_dict: dict) -> None:
        self.optimizer.load_state_dict(state_dict)

    def add_param_group(self, param_group: dict) -> None:
        raise NotImplementedError("DistributedOptimizer: add parameter groups to the wrapped "
                                  "optimizer before wrapping it")

    # --- buckets ---------------------------------------------------------------------------
    def _make_buckets(self) -> list:
        cap = self.bucket_cap_mb * 2**20
        params = [p for group in self.optimizer.param_groups for p in group["params"]]
        buckets, current, size, dtype = [], [], 0, None
        for p in reversed(params):  # backward produces the last layer's gradients first
            nbytes = p.data.nbytes
            if current and (p.data.dtype != dtype or size + nbytes > cap):
                buckets.append(_Bucket(current))
                current, size = [], 0
            current.append(p)
            size += nbytes
            dtype = p.data.dtype
        if current:
            buckets.append(_Bucket(current))
        return buckets

    def _scale(self) -> float:
        return 1.0 if self.local_samples is None else float(self.local_samples)

    def set_local_samples(self, count) -> None:
        """The number of samples this rank's loss averages over in the coming step."""
        count = int(count)
        if count < 1:
            raise ValueError(f"DistributedOptimizer.set_local_samples: expected a count >= 1, "
                             f"got {count}")
        self.local_samples = count

    # --- overlap: hooks start the reductions while backward runs ----------------------------
    def _make_hook(self, param):
        def hook(grad):
            bucket, index = self._where[id(param)]
            if bucket.buffer is None:
                bucket.new_buffer(self._scale())
            if id(param) in bucket.ready or bucket.request is not None:
                bucket.stale = True  # a second use of the parameter: redone in synchronize
                return None
            total = grad.data if param.grad is None else param.grad.data + grad.data
            bucket.put(index, total, self._scale())
            bucket.ready.add(id(param))
            self._start_ready()
            return None
        return hook

    def _start(self, bucket) -> None:
        from mpi4py import MPI
        bucket.request = comm._get().comm.Iallreduce(MPI.IN_PLACE, bucket.buffer, op=MPI.SUM)

    def _start_ready(self) -> None:
        while self._started < len(self.buckets):
            bucket = self.buckets[self._started]
            if len(bucket.ready) < len(bucket.params):
                break
            self._start(bucket)
            self._started += 1
        # let MPI progress the reductions in flight (it has no progress thread of its own)
        for bucket in self.buckets[:self._started]:
            if bucket.request is not None:
                bucket.request.Test()

    # --- averaging and stepping ------------------------------------------------------------
    def synchronize(self) -> None:
        """Average every gradient over the ranks (now, or finish the reductions in flight)."""
        if comm.world_size() == 1 or self._synchronized:
            self._synchronized = comm.world_size() > 1
            return
        began = time.perf_counter()
        if self.overlap:
            self._finish_overlapped()
        else:
            for bucket in self.buckets:
                bucket.new_buffer(self._scale())
                bucket.pack(self._scale())
                comm.allreduce_(bucket.buffer)
                bucket.unpack()
        self.comm_seconds += time.perf_counter() - began
        self.reductions += 1
        self._synchronized = True

    def _finish_overlapped(self) -> None:
        from mpi4py import MPI
        for bucket in self.buckets[self._started:]:
            if bucket.buffer is None:
                bucket.new_buffer(self._scale())
            for index, p in enumerate(bucket.params):
                if id(p) not in bucket.ready and p.grad is not None:
                    bucket.put(index, p.grad.data, self._scale())
            self._start(bucket)
        MPI.Request.Waitall([b.request for b in self.buckets])
        # a parameter used twice in the graph (tied weights, accumulation over several
        # backward calls) was packed before its gradient was complete: redo those buckets,
        # on every rank alike
        stale = np.array([float(b.stale) for b in self.buckets])
        stale = comm.allreduce_(stale, "max")
        for bucket, redo in zip(self.buckets, stale):
            if redo:
                bucket.new_buffer(self._scale())
                bucket.pack(self._scale())
                comm.allreduce_(bucket.buffer)
            bucket.unpack()
            bucket.reset()
        self._started = 0

    def step(self, closure=None):
        """Average the gradients over the ranks (unless `synchronize()` already did), then
        take the wrapped optimizer's step."""
        loss = None
        if closure is not None:
            from deepgrad._state import enable_grad
            with enable_grad():
                loss = closure()
        self.synchronize()
        self.optimizer.step()
        self._synchronized = False
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        if self.overlap and self._started:
            # a backward ran without a step: finish its reductions (every rank did the same)
            from mpi4py import MPI
            MPI.Request.Waitall([b.request for b in self.buckets[:self._started]])
        for bucket in self.buckets:
            bucket.reset()
        self._started = 0
        self._synchronized = False
        self.optimizer.zero_grad(set_to_none)

    def __repr__(self):
        sizes = ", ".join(f"{b.numel}" for b in self.buckets)
        return (f"DistributedOptimizer(world_size={comm.world_size()}, buckets=[{sizes}], "
                f"overlap={self.overlap}) wrapping\n{self.optimizer!r}")
