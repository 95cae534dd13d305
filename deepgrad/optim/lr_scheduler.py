"""Learning-rate schedules with PyTorch's interface.

Call `scheduler.step()` once per epoch (or per iteration for CyclicLR), *after*
`optimizer.step()`; `ReduceLROnPlateau.step(metric)` takes the monitored value. Creating a
scheduler already sets the learning rate of step 0. `get_last_lr()` gives the current rates,
one per parameter group.

Each schedule is written in closed form, eta_t = f(eta_0, t), from the base learning rate
eta_0 of each group (`group["initial_lr"]`) and the epoch counter t = `last_epoch`. PyTorch
computes most of them recursively from the previous rate; both give the same numbers to
rounding (the tests compare 200 steps). A consequence: a closed-form schedule overwrites any
change made to `group["lr"]` by hand; use one scheduler per optimizer (for warm-up followed by
decay, write the product in a LambdaLR).

`state_dict()` holds plain numbers and lists only. `load_state_dict()` also writes the saved
current rates back into the optimizer, so a resumed run uses the right rate for its next
`optimizer.step()` whatever the order in which optimizer and scheduler were restored.
"""

from __future__ import annotations

import math
from bisect import bisect_right

from deepgrad.optim.optimizer import Optimizer
from deepgrad.registry import register


def _check_optimizer(owner: str, optimizer) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{owner}: expected a deepgrad.optim.Optimizer, got "
                        f"{type(optimizer).__name__}")


def _check_positive_int(owner: str, name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{owner}: {name} must be an integer >= 1, got {name}={value!r}")


def _per_group(owner: str, name: str, optimizer, value) -> list:
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(f"{owner}: {name} has {len(value)} entries, the optimizer has "
                             f"{len(optimizer.param_groups)} parameter groups")
        return [float(v) for v in value]
    return [float(value)] * len(optimizer.param_groups)


def _positive(owner: str, name: str, value) -> None:
    """A multiplicative factor of the rate must be > 0 (a negative one flips its sign)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{owner}: {name} must be a number > 0, got {name}={value!r}")


class LRScheduler:
    """Base class: `get_lr()` returns the rates for epoch `self.last_epoch`.

    Args:
        optimizer: the optimizer whose `group["lr"]` values are set.
        last_epoch: -1 to start a schedule; a resumed run should rather use
            `load_state_dict`.
    """

    # attributes that are not part of the state dict (functions, the optimizer)
    _not_saved = ("optimizer",)

    def __init__(self, optimizer, last_epoch: int = -1):
        name = type(self).__name__
        _check_optimizer(name, optimizer)
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(f"{name}: param_groups[{i}] has no 'initial_lr' although "
                               f"last_epoch={last_epoch} (resuming); load the optimizer state "
                               "first, or start with last_epoch=-1")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def get_lr(self) -> list:
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and set the learning rate of every parameter group."""
        self.last_epoch += 1
        lrs = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list:
        """The learning rates set by the last `step()`, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Every attribute except the optimizer (and functions), as plain data."""
        return {key: (list(value) if isinstance(value, (list, tuple)) else value)
                for key, value in self.__dict__.items() if key not in self._not_saved}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the schedule's position and write its current rates into the optimizer."""
        unknown = set(state_dict) - set(self.state_dict())
        if unknown:
            raise ValueError(f"{type(self).__name__}.load_state_dict: unexpected keys "
                             f"{sorted(unknown)} (a state dict of another scheduler?)")
        self.__dict__.update({key: (list(value) if isinstance(value, (list, tuple)) else value)
                              for key, value in state_dict.items()})
        if len(self._last_lr) != len(self.optimizer.param_groups):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the saved schedule has "
                             f"{len(self._last_lr)} parameter groups, the optimizer has "
                             f"{len(self.optimizer.param_groups)}")
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr


@register("schedule")
class LambdaLR(LRScheduler):
    """eta_t = eta_0 * lr_lambda(t), for any function of the epoch t (e.g. 1 / (1 + t) decay).

    `lr_lambda` is a function or a list with one function per parameter group. The functions
    are not saved in the state dict: a resumed run must pass the same ones to the constructor.
    """

    _not_saved = ("optimizer", "lr_lambdas")

    def __init__(self, optimizer, lr_lambda, last_epoch: int = -1):
        _check_optimizer("LambdaLR", optimizer)
        groups = len(optimizer.param_groups)
        lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * groups
        if len(lambdas) != groups:
            raise ValueError(f"LambdaLR: expected {groups} lr_lambdas (one per parameter "
                             f"group), got {len(lambdas)}")
        for fn in lambdas:
            if not callable(fn):
                raise TypeError(f"LambdaLR: lr_lambda must be callable, got {fn!r}")
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]


@register("schedule")
class StepLR(LRScheduler):
    """eta_t = eta_0 * gamma ** floor(t / step_size)."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        _positive("StepLR", "gamma", gamma)
        _check_positive_int("StepLR", "step_size", step_size)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size)
                for base in self.base_lrs]


@register("schedule")
class MultiStepLR(LRScheduler):
    """eta_t = eta_0 * gamma ** (number of milestones <= t)."""

    def __init__(self, optimizer, milestones, gamma: float = 0.1, last_epoch: int = -1):
        _positive("MultiStepLR", "gamma", gamma)
        milestones = sorted(int(m) for m in milestones)
        if any(m < 0 for m in milestones):
            raise ValueError(f"MultiStepLR: milestones must be epochs >= 0, got "
                             f"milestones={milestones}")
        self.milestones = milestones
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        passed = bisect_right(self.milestones, self.last_epoch)
        return [base * self.gamma ** passed for base in self.base_lrs]


@register("schedule")
class ExponentialLR(LRScheduler):
    """eta_t = eta_0 * gamma ** t."""

    def __init__(self, optimizer, gamma: float, last_epoch: int = -1):
        _positive("ExponentialLR", "gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


@register("schedule")
class CosineAnnealingLR(LRScheduler):
    """eta_t = eta_min + (eta_0 - eta_min) * (1 + cos(pi * t / T_max)) / 2.

    The rate reaches eta_min at t = T_max and (like PyTorch's) rises again after it.
    """

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        _check_positive_int("CosineAnnealingLR", "T_max", T_max)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        cosine = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (base - self.eta_min) * cosine for base in self.base_lrs]


@register("schedule")
class LinearWarmup(LRScheduler):
    """eta_t = eta_0 * (s + (1 - s) * min(t, warmup_steps) / warmup_steps), s = start_factor.

    The rate ramps linearly from start_factor * eta_0 to eta_0 over `warmup_steps` steps and
    then stays at eta_0 (PyTorch's LinearLR with end_factor=1, total_iters=warmup_steps).
    """

    def __init__(self, optimizer, warmup_steps: int = 5, start_factor: float = 1.0 / 3,
                 last_epoch: int = -1):
        _check_positive_int("LinearWarmup", "warmup_steps", warmup_steps)
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearWarmup: start_factor must be in (0, 1], got "
                             f"start_factor={start_factor!r}")
        self.warmup_steps = warmup_steps
        self.start_factor = start_factor
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        progress = min(self.last_epoch, self.warmup_steps) / self.warmup_steps
        factor = self.start_factor + (1 - self.start_factor) * progress
        return [base * factor for base in self.base_lrs]


@register("schedule")
class CyclicLR(LRScheduler):
    """Cyclical learning rate (Smith, 2017): a triangle wave between base_lr and max_lr.

    With L = step_size_up + step_size_down, cycle c = floor(1 + t / L), position
    x = 1 + t / L - c in [0, 1) and r = step_size_up / L::

        h     = x / r                 if x <= r   (rising)
              = (x - 1) / (r - 1)     otherwise   (falling)
        eta_t = base_lr + (max_lr - base_lr) * h * scale

    scale = 1 ("triangular"), 1 / 2^(c - 1) ("triangular2": the height halves every cycle) or
    gamma^t ("exp_range"). Step it after every batch. With `cycle_momentum` (the default, as
    in PyTorch) the momentum (SGD) or beta1 (Adam) moves the opposite way, from max_momentum
    down to base_momentum: momentum_t = max_momentum - (max_momentum - base_momentum) * h * scale.
    """

    _MODES = ("triangular", "triangular2", "exp_range")

    def __init__(self, optimizer, base_lr, max_lr, step_size_up: int = 2000,
                 step_size_down: int | None = None, mode: str = "triangular",
                 gamma: float = 1.0, cycle_momentum: bool = True, base_momentum: float = 0.8,
                 max_momentum: float = 0.9, last_epoch: int = -1):
        _check_optimizer("CyclicLR", optimizer)
        _check_positive_int("CyclicLR", "step_size_up", step_size_up)
        if step_size_down is not None:
            _check_positive_int("CyclicLR", "step_size_down", step_size_down)
        if mode not in self._MODES:
            raise ValueError(f"CyclicLR: mode must be one of {self._MODES}, got mode={mode!r}")
        base_lrs = _per_group("CyclicLR", "base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for group, lr in zip(optimizer.param_groups, base_lrs):
                group["lr"] = lr
        self.max_lrs = _per_group("CyclicLR", "max_lr", optimizer, max_lr)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        self.mode = mode
        self.gamma = gamma
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            defaults = optimizer.defaults
            if "momentum" not in defaults and "betas" not in defaults:
                raise ValueError(f"CyclicLR: cycle_momentum=True needs an optimizer with "
                                 f"momentum or betas, {type(optimizer).__name__} has neither; "
                                 "pass cycle_momentum=False")
            self.use_beta1 = "betas" in defaults
            self.base_momentums = _per_group("CyclicLR", "base_momentum", optimizer,
                                             base_momentum)
            self.max_momentums = _per_group("CyclicLR", "max_momentum", optimizer,
                                            max_momentum)
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _scale(self, cycle: int) -> float:
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (cycle - 1))
        return self.gamma ** self.last_epoch

    def get_lr(self):
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            height = x / self.step_ratio
        else:
            height = (x - 1) / (self.step_ratio - 1)
        scale = self._scale(cycle)
        if self.cycle_momentum:
            for group, low, high in zip(self.optimizer.param_groups, self.base_momentums,
                                        self.max_momentums):
                momentum = high - (high - low) * height * scale
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return [base + (top - base) * height * scale
                for base, top in zip(self.base_lrs, self.max_lrs)]


@register("schedule")
class ReduceLROnPlateau:
    """Multiply the learning rate by `factor` when a metric stops improving.

    After each epoch call `step(metric)`. In mode "min" a value is an improvement when
    metric < best * (1 - threshold) ("rel") or metric < best - threshold ("abs"); "max"
    mirrors it. After more than `patience` epochs without improvement every group's rate
    becomes max(lr * factor, min_lr) (changes smaller than `eps` are ignored), then `cooldown`
    epochs pass before bad epochs are counted again. A NaN metric is never an improvement.

    Defaults (PyTorch): mode="min", factor=0.1, patience=10, threshold=1e-4,
    threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8.
    """

    def __init__(self, optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr=0.0, eps: float = 1e-8):
        name = "ReduceLROnPlateau"
        _check_optimizer(name, optimizer)
        if not 0 < factor < 1:
            raise ValueError(f"{name}: factor must be in (0, 1), got factor={factor!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: mode must be 'min' or 'max', got mode={mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{name}: threshold_mode must be 'rel' or 'abs', got "
                             f"threshold_mode={threshold_mode!r}")
        for key, value in (("patience", patience), ("cooldown", cooldown)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}: {key} must be an integer >= 0, got {key}={value!r}")
        self.optimizer = optimizer
        self.mode = mode
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.cooldown = cooldown
        self.min_lrs = _per_group(name, "min_lr", optimizer, min_lr)
        # a single min_lr also covers groups added to the optimizer later
        self.default_min_lr = None if isinstance(min_lr, (list, tuple)) else float(min_lr)
        self.eps = eps
        self.last_epoch = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def _is_better(self, value: float) -> bool:
        if self.mode == "min":
            limit = (self.best * (1 - self.threshold) if self.threshold_mode == "rel"
                     else self.best - self.threshold)
            return value < limit
        limit = (self.best * (1 + self.threshold) if self.threshold_mode == "rel"
                 else self.best + self.threshold)
        return value > limit

    def step(self, metrics) -> None:
        """Record the epoch's metric (e.g. the validation loss) and reduce the rate if due."""
        current = float(metrics)
        self.last_epoch += 1
        if self._is_better(current):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            groups = len(self.optimizer.param_groups)
            if len(self.min_lrs) != groups:
                if self.default_min_lr is None:
                    raise ValueError(f"ReduceLROnPlateau: min_lr has {len(self.min_lrs)} "
                                     f"entries but the optimizer now has {groups} parameter "
                                     "groups; set scheduler.min_lrs to one value per group")
                self.min_lrs = [self.default_min_lr] * groups
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                old = float(group["lr"])
                new = max(old * self.factor, min_lr)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list:
        return list(self._last_lr)

    state_dict = LRScheduler.state_dict
    load_state_dict = LRScheduler.load_state_dict
    _not_saved = ("optimizer",)
