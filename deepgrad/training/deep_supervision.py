"""Deep supervision: one loss on each of a model's outputs, weighted and summed.

A deeply supervised model returns its main output followed by auxiliary outputs (classifier
heads on intermediate layers), `(z_0, z_1, ..., z_J)`. With per-output losses l_j = loss(z_j, y)
and weights alpha_j, the training objective is

    L = alpha_0 l_0 + sum_{j>=1} alpha_j(t) l_j          (usually alpha_0 = 1: L_main + ...)

The auxiliary weights may decay over training, t = epoch / (epochs - 1) in [0, 1]:

    None            alpha_j(t) = alpha_j
    "linear"        alpha_j(t) = alpha_j (1 - t)                           (0 at the end)
    "exponential"   alpha_j(t) = alpha_j (e^{-k t} - e^{-k}) / (1 - e^{-k}),  k = 5
                    (fast decay first, 0 at the end)

so that the auxiliary heads shape the early layers at the start and the main objective alone
is optimized at the end. The main weight alpha_0 never decays. Metrics and the validation loss
use the main output only.
"""

from __future__ import annotations

import math

DECAYS = (None, "linear", "exponential")
EXPONENTIAL_RATE = 5.0


def aux_weight_factor(decay, epoch: int, epochs: int) -> float:
    """The factor alpha_j(t) / alpha_j for 0-based `epoch` of `epochs` (see module docs)."""
    if decay not in DECAYS:
        raise ValueError(f"aux_weight_decay must be one of {DECAYS}, got {decay!r}")
    if decay is None or epochs <= 1:
        return 1.0
    t = min(max(epoch / (epochs - 1), 0.0), 1.0)
    if decay == "linear":
        return 1.0 - t
    k = EXPONENTIAL_RATE
    return (math.exp(-k * t) - math.exp(-k)) / (1.0 - math.exp(-k))


class DeepSupervisionLoss:
    """L = sum_j w_j loss(outputs[j], target), with decaying auxiliary weights.

    Args:
        loss: a function (output, target) -> scalar Tensor.
        loss_weights: one weight per output, the main output's first (e.g. [1.0, 0.3]).
        aux_weight_decay: None, "linear" or "exponential" (see module docs).

    Call `set_epoch(epoch, epochs)` at the start of every epoch (the Trainer does);
    `current_weights` are the weights in force, `last_losses` the per-output losses (floats)
    of the last call.
    """

    def __init__(self, loss, loss_weights, aux_weight_decay=None):
        weights = [float(w) for w in loss_weights]
        if not weights or any(not math.isfinite(w) or w < 0 for w in weights):
            raise ValueError(f"loss_weights must be a non-empty list of finite numbers >= 0, "
                             f"got {list(loss_weights)!r}")
        if aux_weight_decay not in DECAYS:
            raise ValueError(f"aux_weight_decay must be one of {DECAYS}, got "
                             f"{aux_weight_decay!r}")
        self.loss = loss
        self.loss_weights = weights
        self.aux_weight_decay = aux_weight_decay
        self.current_weights = list(weights)
        self.last_losses = None

    def set_epoch(self, epoch: int, epochs: int) -> None:
        factor = aux_weight_factor(self.aux_weight_decay, epoch, epochs)
        self.current_weights = [self.loss_weights[0]] + [w * factor
                                                         for w in self.loss_weights[1:]]

    def __call__(self, outputs, target):
        outputs = tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs,)
        if len(outputs) != len(self.current_weights):
            raise ValueError(f"deep supervision: the model returned {len(outputs)} outputs but "
                             f"loss_weights has {len(self.current_weights)} entries "
                             f"{self.loss_weights}; give one weight per output, main first")
        losses = [self.loss(output, target) for output in outputs]
        self.last_losses = [float(l.data) for l in losses]
        total = None
        for weight, value in zip(self.current_weights, losses):
            if weight == 0.0:
                continue  # a decayed head adds nothing (and costs no backward pass)
            term = value * weight if weight != 1.0 else value
            total = term if total is None else total + term
        return total if total is not None else losses[0] * 0.0
