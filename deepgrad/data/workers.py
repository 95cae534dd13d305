"""Background worker processes that prepare a DataLoader's batches (indexing + augmentation).

The main process sends each worker, round-robin, tasks `(batch number, indices, seed)`; a
worker builds the batch exactly as the main process would (`make_batch`, the same function),
and sends back its arrays through a pipe. Batches are handed out in batch-number order, so
the result does not depend on the number of workers or on which one finishes first.

Batches travel through multiprocessing pipes, not shared memory: nothing is created that
could outlive the processes (a batch of 128 Fashion-MNIST images is 0.4 MB, copied once).

Clean-up: a pool lives for one epoch. Leaving the epoch by any route (its end, `break`,
an exception in the training loop, Ctrl-C, an error in a worker) asks the workers to stop,
waits briefly, then terminates those still running, and closes the pipes. Workers ignore
SIGINT (Ctrl-C reaches the whole process group; the main process decides) and exit on
their own when their parent disappears.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import queue
import signal
import traceback
import weakref

import numpy as np

from deepgrad.data.dataset import get_batch

# how long a worker waits for a task before checking that its parent is still alive, and the
# main process for a batch before checking that the workers are
POLL_SECONDS = 0.5
# how long close() waits for workers to exit after asking them, before terminating them
JOIN_SECONDS = 2.0

_live_pools = weakref.WeakSet()


def make_batch(dataset, indices, transform, seed):
    """The arrays of one batch: the samples at `indices`, the first field (the features)
    passed through `transform` with a Generator seeded by `seed` when there is one."""
    arrays = [t.data for t in get_batch(dataset, indices)]
    if transform is not None:
        generator = np.random.default_rng(seed) if seed is not None else None
        arrays[0] = transform(arrays[0], generator=generator)
    return tuple(arrays)


def _worker_loop(dataset, transform, tasks, results, parent_pid):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # never wait at exit for batches nobody will read (a dead parent leaves the pipe full,
    # and the exit would join the thread blocked writing to it)
    results.cancel_join_thread()
    while True:
        try:
            task = tasks.get(timeout=POLL_SECONDS)
        except queue.Empty:
            if os.getppid() != parent_pid:
                return  # the main process is gone
            continue
        if task is None:
            return
        number, indices, seed = task
        try:
            results.put((number, make_batch(dataset, indices, transform, seed), None))
        except Exception as error:  # reported to the main process, which re-raises it
            text = "".join(traceback.format_exception(type(error), error,
                                                      error.__traceback__))
            results.put((number, None, f"{type(error).__name__}: {error}\n{text}"))


def _context():
    methods = multiprocessing.get_all_start_methods()
    # fork shares the dataset with the workers without copying or pickling it
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


class WorkerPool:
    """`num_workers` processes preparing the batches of one epoch (see the module docstring)."""

    def __init__(self, dataset, transform, num_workers: int, prefetch_factor: int):
        ctx = _context()
        self.prefetch = num_workers * prefetch_factor
        self.results = ctx.Queue()
        self.tasks, self.processes = [], []
        self._closed = False
        _live_pools.add(self)
        try:
            for _ in range(num_workers):
                tasks = ctx.Queue()
                process = ctx.Process(target=_worker_loop, daemon=True, name="deepgrad-loader",
                                      args=(dataset, transform, tasks, self.results,
                                            os.getpid()))
                process.start()
                self.tasks.append(tasks)
                self.processes.append(process)
        except BaseException:
            self.close()
            raise

    def batches(self, tasks):
        """Yield the batches of `tasks` (a list of (number, indices, seed)) in their order."""
        sent, ready = 0, {}
        for sent in range(min(self.prefetch, len(tasks))):
            self._send(sent, tasks[sent])
        sent = min(self.prefetch, len(tasks))
        for number, _, _ in tasks:
            while number not in ready:
                got, arrays, error = self._receive()
                ready[got] = (arrays, error)
            arrays, error = ready.pop(number)
            if error is not None:
                # raised in batch order, so the same batch is reported for any worker count
                raise RuntimeError(f"DataLoader worker failed on batch {number}:\n{error}")
            if sent < len(tasks):
                self._send(sent, tasks[sent])
                sent += 1
            yield arrays

    def _send(self, i, task):
        self.tasks[i % len(self.tasks)].put(task)

    def _receive(self):
        while True:
            try:
                return self.results.get(timeout=POLL_SECONDS)
            except queue.Empty:
                for process in self.processes:
                    if not process.is_alive():
                        raise RuntimeError(f"DataLoader worker (pid {process.pid}) exited "
                                           f"unexpectedly with exit code {process.exitcode}")

    def close(self):
        """Stop the workers (ask, wait up to JOIN_SECONDS, terminate) and close the pipes."""
        if self._closed:
            return
        self._closed = True
        for tasks in self.tasks:
            try:
                tasks.put(None)
            except (OSError, ValueError):
                pass
        for process in self.processes:
            process.join(JOIN_SECONDS)
        for process in self.processes:
            if process.is_alive():
                process.terminate()
                process.join(JOIN_SECONDS)
            if process.is_alive():
                process.kill()
                process.join()
            process.close()
        for q in self.tasks + [self.results]:
            q.cancel_join_thread()  # never block exit on undelivered items
            q.close()
        _live_pools.discard(self)


@atexit.register
def _close_live_pools():
    for pool in list(_live_pools):
        pool.close()
