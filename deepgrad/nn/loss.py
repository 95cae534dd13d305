"""Loss modules: `criterion = CrossEntropyLoss(); loss = criterion(logits, labels)`.

Each module stores its options (and class weights as buffers) and calls the function of the
same name in `deepgrad.nn.functional`, where the formulas are documented. The penalties
l1_penalty, l2_penalty and elastic_net are re-exported here: add lam * R(theta) to a loss.
"""

from __future__ import annotations

from deepgrad.nn import functional_loss as FL
from deepgrad.nn.functional_loss import elastic_net, l1_penalty, l2_penalty
from deepgrad.nn.module import Module
from deepgrad.tensor import Tensor
from deepgrad.registry import register

__all__ = [
    "MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss",
    "MultiMarginLoss", "HingeLoss", "PerceptronLoss", "l1_penalty", "l2_penalty",
    "elastic_net",
]


class _Loss(Module):
    """Base of the loss modules: checks `reduction` and names itself in errors."""

    def __init__(self, reduction="mean"):
        super().__init__()
        if reduction not in FL.REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be 'mean', 'sum' or "
                             f"'none', got {reduction!r}")
        self.reduction = reduction

    def _register_optional(self, name, value):
        # class weights are state (saved in state_dict) but not learned: buffers, as PyTorch
        if value is not None and not isinstance(value, Tensor):
            value = Tensor(value)
        self.register_buffer(name, value)

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


@register("loss", aliases=("mse", "mse_loss"), task="regression")
class MSELoss(_Loss):
    """Mean squared error: l = (x - y)^2."""

    def forward(self, input, target):
        return FL.mse_loss(input, target, self.reduction)


@register("loss", aliases=("l1", "l1_loss"), task="regression")
class L1Loss(_Loss):
    """Mean absolute error: l = |x - y|."""

    def forward(self, input, target):
        return FL.l1_loss(input, target, self.reduction)


@register("loss", aliases=("bce", "binary_cross_entropy"))
class BCELoss(_Loss):
    """Binary cross-entropy of probabilities: l = -w (y ln x + (1 - y) ln(1 - x))."""

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self._register_optional("weight", weight)

    def forward(self, input, target):
        return FL.binary_cross_entropy(input, target, self.weight, self.reduction)


@register("loss", aliases=("bce_with_logits", "binary_cross_entropy_with_logits"))
class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy in one stable step (logits in); `pos_weight` (C,) scales
    the loss of the positive targets of each class."""

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        self._register_optional("weight", weight)
        self._register_optional("pos_weight", pos_weight)

    def forward(self, input, target):
        return FL.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction,
                                                   self.pos_weight)


@register("loss", aliases=("cross_entropy", "crossentropy"))
class CrossEntropyLoss(_Loss):
    """Softmax + cross-entropy from logits (N, C) or (N, C, d1, ...), against class indices
    or class probabilities; see functional.cross_entropy."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got "
                             f"{label_smoothing}")
        self._register_optional("weight", weight)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        return FL.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                                self.label_smoothing)

    def extra_repr(self):
        return (f"ignore_index={self.ignore_index}, reduction={self.reduction!r}, "
                f"label_smoothing={self.label_smoothing}")


@register("loss", aliases=("nll", "nll_loss"))
class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities (the output of log_softmax)."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self._register_optional("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return FL.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


@register("loss")
class MultiMarginLoss(_Loss):
    """Multiclass SVM hinge: sum over c != y of max(0, margin - x_y + x_c)^p / C."""

    def __init__(self, p=1, margin=1.0, weight=None, reduction="mean"):
        super().__init__(reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: p must be 1 or 2, got {p!r}")
        self.p, self.margin = p, margin
        self._register_optional("weight", weight)

    def forward(self, input, target):
        return FL.multi_margin_loss(input, target, self.p, self.margin, self.weight,
                                    self.reduction)

    def extra_repr(self):
        return f"p={self.p}, margin={self.margin}, reduction={self.reduction!r}"


@register("loss", aliases=("hinge", "hinge_loss"))
class HingeLoss(_Loss):
    """Binary hinge loss for labels in {-1, +1}: max(0, margin - y s)."""

    def __init__(self, margin=1.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input, target):
        return FL.hinge_loss(input, target, self.margin, self.reduction)

    def extra_repr(self):
        return f"margin={self.margin}, reduction={self.reduction!r}"


@register("loss")
class PerceptronLoss(_Loss):
    """Perceptron criterion for labels in {-1, +1}: max(0, -y s)."""

    def forward(self, input, target):
        return FL.perceptron_loss(input, target, self.reduction)
