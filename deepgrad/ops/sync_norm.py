"""Synchronized batch norm: the batch statistics of the global batch spread over several ranks.

The communication is given as an option, `allreduce(array) -> the elementwise sum of that
array over every rank` (deepgrad.distributed passes MPI's Allreduce; one process passes the
identity), so the math stays here and the transport in deepgrad.distributed.
"""

from __future__ import annotations

import numpy as np

from deepgrad.ops.nn_ops import BatchNorm, update_running_stats

__all__ = ["SyncBatchNorm"]


class SyncBatchNorm(BatchNorm):
    """y = gamma x_hat + beta,  x_hat = (x - mu) / sigma, with the statistics of the GLOBAL batch:
    over the M = sum_r m_r values of every rank r per channel (m_r of them on rank r),

        mu = (1/M) sum_r sum_i x_ri,     var = (1/M) sum_r sum_i (x_ri - mu)^2   (two passes).

    Backward on rank s. Each rank's loss is a mean over its own samples, and the gradients of
    the ranks are combined with weights proportional to their sample counts (m_r / M), so the
    gradient of rank r's output enters rank s's input with the ratio m_r / m_s:

        dx_s = (1/sigma) (dy_hat_s - A / (m_s M) - x_hat_s B / (m_s M)),   dy_hat = gamma dy,
        A = sum_r m_r sum_i dy_hat_ri,   B = sum_r m_r sum_i dy_hat_ri x_hat_ri.

    With one rank this is exactly BatchNorm's backward. jvp: the tangent of x_hat is the same
    map with unweighted global means, (x_dot - mean(x_dot) - x_hat mean(x_dot x_hat)) / sigma.
    dgamma = sum_i dy x_hat and dbeta = sum_i dy stay local (the optimizer combines them).
    """

    symbol = "sync_batch_norm"

    def forward(ctx, x, *affine, eps, allreduce, running_mean=None, running_var=None,
                momentum=0.1):
        ctx.axes = (0,) + tuple(range(2, x.ndim))
        ctx.allreduce = allreduce
        ctx.batch_stats = True
        channels = x.shape[1]
        shape = (1, channels) + (1,) * (x.ndim - 2)
        ctx.local_count = x.size // channels
        sums = allreduce(np.append(x.sum(axis=ctx.axes), ctx.local_count).astype(x.dtype))
        ctx.count = float(sums[-1])
        mean = (sums[:-1] / ctx.count).reshape(shape)
        centered = x - mean
        var = allreduce((centered * centered).sum(axis=ctx.axes)) / ctx.count
        var = var.reshape(shape)
        if running_mean is not None and momentum:
            update_running_stats(running_mean, running_var, mean.reshape(-1),
                                 var.reshape(-1), ctx.count, momentum)
        inv_std = 1 / np.sqrt(var + eps)
        x_hat = centered * inv_std
        gamma = affine[0].reshape(shape) if affine else None
        ctx.save(x_hat, inv_std, gamma)
        return x_hat * gamma + affine[1].reshape(shape) if affine else x_hat

    def _normalize_tangent(ctx, dx_hat, weight=1.0):
        """(dx_hat - mean(dx_hat) - x_hat mean(dx_hat x_hat)) / sigma, the means global: each
        rank's sums are multiplied by `weight` before the sum over ranks."""
        x_hat, inv_std, _ = ctx.saved
        channels = x_hat.shape[1]
        local = np.concatenate([dx_hat.sum(axis=ctx.axes), (dx_hat * x_hat).sum(axis=ctx.axes)])
        means = ctx.allreduce(local * weight) / (ctx.count * weight)
        shape = (1, channels) + (1,) * (x_hat.ndim - 2)
        mean_d, mean_dx = means[:channels].reshape(shape), means[channels:].reshape(shape)
        return inv_std * (dx_hat - mean_d - x_hat * mean_dx)

    def _input_gradient(ctx, dx_hat):
        return ctx._normalize_tangent(dx_hat, weight=float(ctx.local_count))
