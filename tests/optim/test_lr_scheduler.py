"""deepgrad.optim.lr_scheduler against PyTorch's schedulers, and resume from state dicts."""

import json
import warnings

import numpy as np
import pytest

import deepgrad
from deepgrad import optim
from deepgrad.optim import lr_scheduler as dls

from torch_gate import torch  # gated per test: tests without PyTorch still run
tls = torch.optim.lr_scheduler

STEPS = 200


def _inverse_time(t):
    return 1 / (1 + 0.05 * t)


# (label, deepgrad factory, torch factory); each gets an SGD optimizer with two groups
SCHEDULES = [
    ("StepLR", lambda o: dls.StepLR(o, step_size=30, gamma=0.5),
     lambda o: tls.StepLR(o, step_size=30, gamma=0.5)),
    ("MultiStepLR", lambda o: dls.MultiStepLR(o, [30, 80, 80, 150], gamma=0.3),
     lambda o: tls.MultiStepLR(o, [30, 80, 80, 150], gamma=0.3)),
    ("ExponentialLR", lambda o: dls.ExponentialLR(o, gamma=0.97),
     lambda o: tls.ExponentialLR(o, gamma=0.97)),
    ("CosineAnnealingLR", lambda o: dls.CosineAnnealingLR(o, T_max=50, eta_min=1e-3),
     lambda o: tls.CosineAnnealingLR(o, T_max=50, eta_min=1e-3)),
    ("CosineAnnealingLR-to-0", lambda o: dls.CosineAnnealingLR(o, T_max=37),
     lambda o: tls.CosineAnnealingLR(o, T_max=37)),
    ("LinearWarmup", lambda o: dls.LinearWarmup(o, warmup_steps=10, start_factor=0.1),
     lambda o: tls.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=10)),
    ("LinearWarmup-defaults", lambda o: dls.LinearWarmup(o),
     lambda o: tls.LinearLR(o)),
    ("LambdaLR", lambda o: dls.LambdaLR(o, _inverse_time),
     lambda o: tls.LambdaLR(o, _inverse_time)),
    ("LambdaLR-per-group", lambda o: dls.LambdaLR(o, [_inverse_time, lambda t: 0.99 ** t]),
     lambda o: tls.LambdaLR(o, [_inverse_time, lambda t: 0.99 ** t])),
    ("CyclicLR-triangular", lambda o: dls.CyclicLR(o, 0.01, 0.1, step_size_up=20),
     lambda o: tls.CyclicLR(o, 0.01, 0.1, step_size_up=20)),
    ("CyclicLR-triangular2",
     lambda o: dls.CyclicLR(o, [0.01, 0.001], [0.1, 0.05], step_size_up=15,
                            step_size_down=25, mode="triangular2", cycle_momentum=False),
     lambda o: tls.CyclicLR(o, [0.01, 0.001], [0.1, 0.05], step_size_up=15,
                            step_size_down=25, mode="triangular2", cycle_momentum=False)),
    ("CyclicLR-exp_range",
     lambda o: dls.CyclicLR(o, 0.01, 0.1, step_size_up=10, mode="exp_range", gamma=0.99),
     lambda o: tls.CyclicLR(o, 0.01, 0.1, step_size_up=10, mode="exp_range", gamma=0.99)),
]


def _optimizers():
    p, q = (deepgrad.tensor(np.ones(2), requires_grad=True) for _ in range(2))
    ours = optim.SGD([{"params": [p]}, {"params": [q], "lr": 0.03}], lr=0.1, momentum=0.9)
    tp, tq = (torch.ones(2, requires_grad=True) for _ in range(2))
    theirs = torch.optim.SGD([{"params": [tp]}, {"params": [tq], "lr": 0.03}], lr=0.1,
                             momentum=0.9)
    return ours, theirs


def _sequence(opt, scheduler, steps, key="lr"):
    values = [[g[key] for g in opt.param_groups]]
    for _ in range(steps):
        opt.step()
        scheduler.step()
        values.append([g[key] for g in opt.param_groups])
    return np.array(values, dtype=np.float64)


@pytest.mark.parametrize("label,ours,theirs", SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_schedule_matches_torch_over_200_steps(label, ours, theirs):
    opt, topt = _optimizers()
    scheduler, tscheduler = ours(opt), theirs(topt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = _sequence(topt, tscheduler, STEPS)
    got = _sequence(opt, scheduler, STEPS)
    # PyTorch updates most rates recursively, deepgrad in closed form: equal to rounding
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(scheduler.get_last_lr(), tscheduler.get_last_lr(), rtol=1e-12)
    assert np.ptp(got[:, 0]) > 0  # the schedule does change the rate


def test_cyclic_momentum_matches_torch():
    opt, topt = _optimizers()
    kwargs = dict(step_size_up=7, base_momentum=0.85, max_momentum=0.95)
    scheduler = dls.CyclicLR(opt, 0.01, 0.1, **kwargs)
    tscheduler = tls.CyclicLR(topt, 0.01, 0.1, **kwargs)
    got = _sequence(opt, scheduler, 50, key="momentum")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = _sequence(topt, tscheduler, 50, key="momentum")
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert got.min() == pytest.approx(0.85) and got.max() == pytest.approx(0.95)
    adam = optim.Adam([deepgrad.tensor(np.ones(2), requires_grad=True)])
    dls.CyclicLR(adam, 1e-4, 1e-3, step_size_up=4)
    assert adam.param_groups[0]["betas"] == (0.9, 0.999)  # beta1 starts at max_momentum


def _plateau_metrics():
    rng = np.random.default_rng(0)
    falling = 1 / np.arange(1, 41)
    return np.concatenate([falling, 0.025 + 0.002 * rng.random(100), 0.01 / np.arange(1, 61)])


@pytest.mark.parametrize("kwargs", [
    dict(patience=3, cooldown=2),
    dict(mode="max", factor=0.5, patience=5, threshold=0.01, threshold_mode="abs",
         min_lr=[1e-3, 1e-4]),
    dict(factor=0.2, patience=0, threshold=1e-3, min_lr=5e-3),
])
def test_reduce_on_plateau_matches_torch(kwargs):
    opt, topt = _optimizers()
    scheduler = dls.ReduceLROnPlateau(opt, **kwargs)
    tscheduler = tls.ReduceLROnPlateau(topt, **kwargs)
    metrics = _plateau_metrics()
    if kwargs.get("mode") == "max":
        metrics = -metrics
    got, expected = [], []
    for value in metrics:
        scheduler.step(value)
        tscheduler.step(value)
        got.append(scheduler.get_last_lr())
        expected.append(tscheduler.get_last_lr())
    np.testing.assert_allclose(got, expected, rtol=1e-14)
    assert len(set(np.array(got)[:, 0])) >= 3  # several reductions happened


def _json(state):
    return json.loads(json.dumps(state))


RESUMABLE = [s for s in SCHEDULES if s[0] != "LambdaLR-per-group"] + [
    ("ReduceLROnPlateau", lambda o: dls.ReduceLROnPlateau(o, patience=2, cooldown=1), None)]


@pytest.mark.parametrize("label,make,_", RESUMABLE, ids=[s[0] for s in RESUMABLE])
def test_scheduler_resume_is_exact(label, make, _):
    metrics = _plateau_metrics()
    plateau = label == "ReduceLROnPlateau"

    def advance(opt, scheduler, epochs, start):
        lrs = []
        for epoch in range(start, start + epochs):
            opt.step()
            scheduler.step(metrics[epoch]) if plateau else scheduler.step()
            lrs.append(scheduler.get_last_lr())
        return lrs

    opt, _ = _optimizers()
    scheduler = make(opt)
    advance(opt, scheduler, 100, 0)
    saved_opt, saved = opt.state_dict(), _json(scheduler.state_dict())
    rest = advance(opt, scheduler, 100, 100)

    opt2, _ = _optimizers()
    scheduler2 = make(opt2)  # built first, as in PyTorch's recommended order ...
    opt2.load_state_dict(saved_opt)
    scheduler2.load_state_dict(saved)
    assert advance(opt2, scheduler2, 100, 100) == rest

    opt3, _ = _optimizers()
    opt3.load_state_dict(saved_opt)
    scheduler3 = make(opt3)  # ... or after the optimizer was restored: the same
    scheduler3.load_state_dict(saved)
    assert [g["lr"] for g in opt3.param_groups] == saved["_last_lr"]  # written back
    assert advance(opt3, scheduler3, 100, 100) == rest


def test_lambda_is_not_saved():
    opt, _ = _optimizers()
    scheduler = dls.LambdaLR(opt, _inverse_time)
    state = scheduler.state_dict()
    assert "lr_lambdas" not in state and state["last_epoch"] == 0
    assert json.loads(json.dumps(state)) == state


@pytest.mark.parametrize("make,match", [
    (lambda o: dls.StepLR(o, step_size=0), r"StepLR: step_size must be an integer >= 1, "
                                           r"got step_size=0"),
    (lambda o: dls.CosineAnnealingLR(o, T_max=-5), r"got T_max=-5"),
    (lambda o: dls.LinearWarmup(o, warmup_steps=10, start_factor=0), r"got start_factor=0"),
    (lambda o: dls.CyclicLR(o, 0.1, 1.0, mode="sawtooth"), r"got mode='sawtooth'"),
    (lambda o: dls.CyclicLR(o, [0.1], 1.0), r"base_lr has 1 entries, the optimizer has 2"),
    (lambda o: dls.ReduceLROnPlateau(o, factor=1.5), r"got factor=1\.5"),
    (lambda o: dls.ReduceLROnPlateau(o, mode="up"), r"got mode='up'"),
    (lambda o: dls.LambdaLR(o, [_inverse_time]), r"expected 2 lr_lambdas"),
    (lambda o: dls.StepLR("sgd", step_size=3), r"expected a deepgrad.optim.Optimizer"),
])
def test_bad_scheduler_arguments(make, match):
    opt, _ = _optimizers()
    with pytest.raises((ValueError, TypeError), match=match):
        make(opt)


def test_cyclic_needs_momentum():
    opt = optim.Adagrad([deepgrad.tensor(np.ones(2), requires_grad=True)])
    with pytest.raises(ValueError, match="cycle_momentum=True needs an optimizer with"):
        dls.CyclicLR(opt, 0.01, 0.1)
    scheduler = dls.CyclicLR(opt, 0.01, 0.1, step_size_up=2, cycle_momentum=False)
    scheduler.step()
    np.testing.assert_allclose(scheduler.get_last_lr(), [0.055])
