"""Stochastic gradient descent with momentum, Nesterov momentum and L2 weight decay."""

from __future__ import annotations

from deepgrad.ops import blas
from deepgrad.optim.optimizer import Optimizer, check_non_negative, required
from deepgrad.registry import register


@register("optimizer", aliases=("sgd",))
class SGD(Optimizer):
    r"""Stochastic gradient descent, with PyTorch's formulas (so trajectories match step by step).

    With gradient g_t = dL/dw at step t (t = 1, 2, ...)::

        g_t <- g_t + weight_decay * w_{t-1}                   (coupled L2 weight decay)
        b_1  = g_1;   b_t = momentum * b_{t-1} + (1 - dampening) * g_t    (if momentum > 0)
        d_t  = g_t + momentum * b_t  if nesterov  else  b_t        (d_t = g_t without momentum)
        w_t  = w_{t-1} - lr * d_t

    Momentum, the two formulations of the course notes (constant learning rate):

    * velocity form:  v_t = gamma * v_{t-1} + eta * g_t;  w_t = w_{t-1} - v_t.
      This is the rule above with momentum=gamma, lr=eta, dampening=0 (v_t = eta * b_t).
    * moving-average form: m_t = gamma * m_{t-1} + (1 - gamma) * g_t (m_0 = 0);
      w_t = w_{t-1} - eta' * m_t with eta' = eta / (1 - gamma). Since m_t = (1 - gamma) b_t,
      it is the same trajectory as the velocity form (tests/optim/test_optimizers.py checks it).

    `dampening=gamma` with `lr=eta'` is *almost* the moving-average form: PyTorch (and so
    deepgrad) starts the buffer at b_1 = g_1, undamped, instead of (1 - gamma) g_1.

    Weight decay: adding lambda * ||w||^2 to the loss adds 2 * lambda * w to the gradient, so
    it is `weight_decay = 2 * lambda` here (and `weight_decay = lambda` for (lambda/2)||w||^2).

    Args:
        params: Tensors or parameter groups (dicts).
        lr: learning rate eta (required).
        momentum: gamma in [0, 1) usually; 0 disables momentum.
        dampening: scales the new gradient in the buffer by (1 - dampening).
        nesterov: look-ahead momentum d_t = g_t + momentum * b_t; needs momentum > 0 and
            dampening = 0.
        weight_decay: coefficient of the L2 term added to the gradient.

    Slots: `momentum_buffer` (b_t, only when momentum > 0) and `step`.
    """

    def __init__(self, params, lr=required, momentum=0.0, dampening=0.0, nesterov=False,
                 weight_decay=0.0):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                        weight_decay=weight_decay)
        super().__init__(params, defaults)

    def _check_group(self, group):
        for key in ("lr", "momentum", "weight_decay"):
            check_non_negative("SGD", key, group[key])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov=True requires momentum > 0 and dampening = 0, got "
                             f"momentum={group['momentum']!r}, dampening={group['dampening']!r}")

    def _update(self, param, grad, state, group):
        lr, momentum, weight_decay = group["lr"], group["momentum"], group["weight_decay"]
        state["step"] = state.get("step", 0) + 1
        if weight_decay != 0:
            grad = grad + weight_decay * param
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= momentum
                dampening = group["dampening"]
                buf += grad if dampening == 0 else (1 - dampening) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        blas.axpy(-lr, grad, param)  # param -= lr * grad, in one pass over the arrays
