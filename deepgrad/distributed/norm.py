"""SyncBatchNorm: batch norm whose training statistics are those of the global batch.

By default each rank's BatchNorm normalizes with the statistics of its own shard (as Horovod
does): cheaper, and with shards of a few dozen samples usually as good. SyncBatchNorm
all-reduces the per-channel sums instead, so N ranks normalize exactly as one process with the
whole batch would (forward, backward and running statistics).
"""

from __future__ import annotations

import numpy as np

from deepgrad.distributed import comm
from deepgrad.nn import functional_norm as FN
from deepgrad.nn.module import Module
from deepgrad.nn.norm import BatchNorm1d, BatchNorm2d, _BatchNorm
from deepgrad.ops.sync_norm import SyncBatchNorm as _SyncBatchNormFunction

__all__ = ["SyncBatchNorm", "convert_sync_batchnorm"]


def _allreduce_sum(array: np.ndarray) -> np.ndarray:
    return comm.allreduce(array)


class SyncBatchNorm(_BatchNorm):
    """Batch norm over inputs (N, C, ...) with the statistics of the batch of every rank.

    Training: mean and (biased) variance per channel over all ranks' samples, running
    estimates updated with them (unbiased variance of the global batch). Eval: the running
    estimates, as BatchNorm. In a world of one it computes what BatchNorm1d/2d compute.
    """

    _ndims = (2, 3, 4, 5)
    _shape_text = "(N, C, ...)"

    def forward(self, x):
        self._check_input(x)
        training = self.training or not self.track_running_stats
        if not training:
            return FN.batch_norm(x, self.running_mean, self.running_var, self.weight,
                                 self.bias, training=False, eps=self.eps)
        factor = 0.0
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            factor = self.momentum if self.momentum is not None \
                else 1.0 / int(self.num_batches_tracked.item())
        tracking = self.training and self.track_running_stats
        affine = () if self.weight is None else (self.weight, self.bias)
        y = _SyncBatchNormFunction.apply(
            x, *affine, eps=self.eps, allreduce=_allreduce_sum,
            running_mean=self.running_mean.data if tracking else None,
            running_var=self.running_var.data if tracking else None, momentum=factor)
        if tracking:
            self.running_mean._bump()
            self.running_var._bump()
        return y

    @classmethod
    def convert_sync_batchnorm(cls, module: Module) -> Module:
        """Replace every BatchNorm1d/BatchNorm2d inside `module` (or `module` itself) by a
        SyncBatchNorm with the same settings, parameters and running statistics."""
        if isinstance(module, (BatchNorm1d, BatchNorm2d)) and not isinstance(module, cls):
            converted = cls(module.num_features, eps=module.eps, momentum=module.momentum,
                            affine=module.affine,
                            track_running_stats=module.track_running_stats,
                            dtype=str(module.running_mean.dtype if module.track_running_stats
                                      else module.weight.dtype))
            if module.affine:
                converted.weight, converted.bias = module.weight, module.bias
            if module.track_running_stats:
                for name in ("running_mean", "running_var", "num_batches_tracked"):
                    setattr(converted, name, getattr(module, name))
            converted.train(module.training)
            return converted
        for name, child in list(module.named_children()):
            replaced = cls.convert_sync_batchnorm(child)
            if replaced is not child:
                module._modules[name] = replaced  # in place: keeps the order of the children
        return module


convert_sync_batchnorm = SyncBatchNorm.convert_sync_batchnorm
