"""Adaptive methods: per-coordinate step sizes from running statistics of the gradient.

Every rule follows PyTorch's formulas and defaults, so a trajectory can be compared with
`torch.optim` step by step. In each docstring g is the gradient at step t = 1, 2, ..., all
operations are elementwise, and slots start at zero unless said otherwise.

Naming note: the moving average of squared gradients, s_t = rho s_{t-1} + (1 - rho) g_t^2,
w -= lr g / (sqrt(s_t) + eps), is **RMSprop** (Hinton, 2012). Some course notes call it
"adadelta"; Adadelta (Zeiler, 2012) is a different method that also keeps a moving average of
the squared *updates* and needs no learning rate (lr = 1.0). Both are here, under their names.
"""

from __future__ import annotations

import numpy as np

from deepgrad.ops import blas
from deepgrad.optim.optimizer import Optimizer, check_in_range, check_non_negative
from deepgrad.registry import register


def _zeros(param: np.ndarray) -> np.ndarray:
    return np.zeros_like(param)


@register("optimizer", aliases=("adagrad",))
class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011): divide by the root of the sum of all squared gradients.

    ::

        g   <- g + weight_decay * w
        clr  = lr / (1 + (t - 1) * lr_decay)
        sum  = sum + g^2                     (sum_0 = initial_accumulator_value)
        w    = w - clr * g / (sqrt(sum) + eps)

    Defaults (PyTorch): lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
    eps=1e-10. Slots: `sum`, `step`.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps))

    def _check_group(self, group):
        for key in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            check_non_negative("Adagrad", key, group[key])

    def _update(self, param, grad, state, group):
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(param, group["initial_accumulator_value"])
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += grad * grad
        blas.axpy(-clr, grad / (np.sqrt(state["sum"]) + group["eps"]), param)


@register("optimizer", aliases=("rmsprop",))
class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012): divide by the root of a moving average of squared gradients.

    (This is the rule some notes call "adadelta"; see the module docstring.) ::

        g   <- g + weight_decay * w
        s    = alpha * s + (1 - alpha) * g^2                 (slot square_avg)
        a    = a + (1 - alpha) * (g - a)                     (centered only; slot grad_avg)
        den  = sqrt(s - a^2) + eps   if centered   else   sqrt(s) + eps
        b    = momentum * b + g / den;   w = w - lr * b      (momentum > 0; slot momentum_buffer)
        w    = w - lr * g / den                              (momentum = 0)

    Defaults (PyTorch): lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
    centered=False. In the centered variant s - a^2 (an estimate of the variance of g) is
    floored at 0, so that rounding can never take the square root of a negative number.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def _check_group(self, group):
        for key in ("lr", "eps", "weight_decay", "momentum"):
            check_non_negative("RMSprop", key, group[key])
        check_in_range("RMSprop", "alpha", group["alpha"], 1.0, closed=True)

    def _update(self, param, grad, state, group):
        alpha = group["alpha"]
        if not state:
            state["step"] = 0
            state["square_avg"] = _zeros(param)
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * (grad * grad)
        if group["centered"]:
            grad_avg = state.setdefault("grad_avg", _zeros(param))
            grad_avg += (1 - alpha) * (grad - grad_avg)
            denom = np.sqrt(np.maximum(square_avg - grad_avg * grad_avg, 0)) + group["eps"]
        else:
            denom = np.sqrt(square_avg) + group["eps"]
        if group["momentum"] > 0:
            buf = state.setdefault("momentum_buffer", _zeros(param))
            buf *= group["momentum"]
            buf += grad / denom
            blas.axpy(-group["lr"], buf, param)
        else:
            blas.axpy(-group["lr"], grad / denom, param)


@register("optimizer", aliases=("adadelta",))
class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012): step = RMS of past updates / RMS of past gradients.

    ::

        g   <- g + weight_decay * w
        s    = rho * s + (1 - rho) * g^2                          (slot square_avg)
        d    = sqrt(u + eps) / sqrt(s + eps) * g                  (u: slot acc_delta)
        u    = rho * u + (1 - rho) * d^2
        w    = w - lr * d

    The ratio of RMS values has the units of w, so no learning rate is needed: lr=1.0 keeps
    Zeiler's method (lr only rescales it). Defaults (PyTorch): lr=1.0, rho=0.9, eps=1e-6,
    weight_decay=0.
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay))

    def _check_group(self, group):
        for key in ("lr", "eps", "weight_decay"):
            check_non_negative("Adadelta", key, group[key])
        check_in_range("Adadelta", "rho", group["rho"], 1.0, closed=True)

    def _update(self, param, grad, state, group):
        rho, eps = group["rho"], group["eps"]
        if not state:
            state["step"] = 0
            state["square_avg"] = _zeros(param)
            state["acc_delta"] = _zeros(param)
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= rho
        square_avg += (1 - rho) * (grad * grad)
        delta = np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * grad
        acc_delta *= rho
        acc_delta += (1 - rho) * (delta * delta)
        blas.axpy(-group["lr"], delta, param)


@register("optimizer", aliases=("adam",))
class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015): momentum on g and RMSprop scaling, both bias-corrected.

    ::

        w   <- w * (1 - lr * weight_decay)        if decoupled_weight_decay   (AdamW)
        g   <- g + weight_decay * w               otherwise                   (L2, coupled)
        m    = beta1 * m + (1 - beta1) * g                   (slot exp_avg)
        v    = beta2 * v + (1 - beta2) * g^2                 (slot exp_avg_sq)
        vmax = max(vmax, v);  v <- vmax                      (amsgrad only; max_exp_avg_sq)
        m_hat = m / (1 - beta1^t);   v_hat = v / (1 - beta2^t)
        w    = w - lr * m_hat / (sqrt(v_hat) + eps)

    (Computed as w - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps), like
    PyTorch.) Defaults: lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, decoupled_weight_decay=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _check_group(self, group):
        name = type(self).__name__
        for key in ("lr", "eps", "weight_decay"):
            check_non_negative(name, key, group[key])
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got betas={betas!r}")
        for i, beta in enumerate(betas):
            check_in_range(name, f"betas[{i}]", beta, 1.0, closed=False)

    def _update(self, param, grad, state, group):
        lr, (beta1, beta2), weight_decay = group["lr"], group["betas"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = _zeros(param)
            state["exp_avg_sq"] = _zeros(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = _zeros(param)
        state["step"] += 1
        step = state["step"]
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                param *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * param
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg += (1 - beta1) * (grad - exp_avg)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * (grad * grad)
        if group["amsgrad"]:
            second = state.setdefault("max_exp_avg_sq", _zeros(param))
            np.maximum(second, exp_avg_sq, out=second)
        else:
            second = exp_avg_sq
        step_size = lr / (1 - beta1**step)
        denom = np.sqrt(second) / (1 - beta2**step) ** 0.5 + group["eps"]
        blas.axpy(-step_size, exp_avg / denom, param)


@register("optimizer", aliases=("adamw",))
class AdamW(Adam):
    """AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay.

    ::

        w = w * (1 - lr * weight_decay)      then the Adam step (without L2 in the gradient)

    The decay shrinks w directly instead of passing through m and v: with L2 in the gradient
    (coupled), Adam divides the decay by sqrt(v_hat), so weights with large gradients are
    barely regularised. Defaults (PyTorch): lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
    weight_decay=1e-2.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, decoupled_weight_decay=True)
