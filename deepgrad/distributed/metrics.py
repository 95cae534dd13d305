"""Metrics over the global batch: each rank keeps sums over its shards, and the sums (not the
averages) are added over the ranks, so the result is the single-process value."""

from __future__ import annotations

import numpy as np

from deepgrad.distributed import comm

__all__ = ["allreduce_metrics"]


def allreduce_metrics(metrics) -> None:
    """In place: each metric's `total` and `count` <- their sums over the ranks (one message
    for all of them). Metrics are deepgrad.training.metrics.Metric objects (or anything with
    float `total` and int `count`); every rank passes the same metrics in the same order."""
    metrics = list(metrics)
    if comm.world_size() == 1 or not metrics:
        return
    sums = np.array([[m.total, m.count] for m in metrics], dtype=np.float64)
    comm.allreduce_(sums)
    for metric, (total, count) in zip(metrics, sums):
        metric.total, metric.count = float(total), int(round(count))
