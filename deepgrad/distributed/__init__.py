"""Data parallelism over MPI (mpi4py), in the manner of Horovod.

Every rank holds the whole model, trains on its own shard of each global batch and averages
the gradients with the others before each step, so N ranks with a global batch of B follow the
same trajectory as one process with batch B (up to the rounding of the sums)::

    from deepgrad import distributed as dist

    dist.init()                                    # a world of one without mpiexec
    loader = dist.DistributedDataLoader(train_set, batch_size=256, shuffle=True, generator=0)
    optimizer = dist.DistributedOptimizer(optim.SGD(model.parameters(), lr=0.1))
    dist.broadcast_parameters(model)               # every rank starts from rank 0's weights
    dist.broadcast_optimizer_state(optimizer)

Run it with `mpiexec -n 4 python train.py`, or `deepgrad train CONFIG --nproc 4`. Only rank 0
(`dist.is_main()`) should write files. See docs/distributed.md.
"""

from deepgrad.distributed.broadcast import (broadcast_arrays, broadcast_optimizer_state,
                                            broadcast_parameters)
from deepgrad.distributed.comm import (abort, allreduce, allreduce_, barrier, broadcast_,
                                       broadcast_json, init, is_initialized, is_main,
                                       launched_by_mpi, rank, world_size)
from deepgrad.distributed.data import (DistributedDataLoader, DistributedSampler,
                                       ShardedDataLoader)
from deepgrad.distributed.metrics import allreduce_metrics
from deepgrad.distributed.norm import SyncBatchNorm, convert_sync_batchnorm
from deepgrad.distributed.optimizer import DistributedOptimizer

__all__ = [
    "init", "rank", "world_size", "is_main", "is_initialized", "barrier", "launched_by_mpi",
    "allreduce", "allreduce_", "broadcast_", "broadcast_json", "broadcast_arrays", "abort",
    "broadcast_parameters", "broadcast_optimizer_state", "DistributedOptimizer",
    "DistributedSampler", "DistributedDataLoader", "SyncBatchNorm", "convert_sync_batchnorm",
    "allreduce_metrics", "ShardedDataLoader",
]
