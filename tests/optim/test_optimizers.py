"""deepgrad.optim optimizers against PyTorch, the momentum formulations, resume, convergence."""

import json
import math

import numpy as np
import pytest

import deepgrad
from deepgrad import optim
from deepgrad.ops import blas
from deepgrad.optim import lr_scheduler

from torch_gate import torch  # gated per test: tests without PyTorch still run

# --- the shared problem: a small tanh MLP with a squared loss on fixed data ----------------
_rng = np.random.default_rng(0)
X = _rng.normal(size=(16, 4))
Y = _rng.normal(size=(16, 2))
INIT = [_rng.normal(size=(4, 5)) * 0.5, _rng.normal(size=5) * 0.1, _rng.normal(size=(5, 2)) * 0.5]


def dg_loss(params):
    w1, b1, w2 = params
    x, y = deepgrad.tensor(X.astype(w1.dtype)), deepgrad.tensor(Y.astype(w1.dtype))
    return ((deepgrad.tanh(x @ w1 + b1) @ w2 - y) ** 2).mean()


def torch_loss(params):
    w1, b1, w2 = params
    x, y = torch.from_numpy(X).to(w1.dtype), torch.from_numpy(Y).to(w1.dtype)
    return ((torch.tanh(x @ w1 + b1) @ w2 - y) ** 2).mean()


def dg_params(dtype=np.float64, init=INIT):
    return [deepgrad.tensor(a.astype(dtype), requires_grad=True) for a in init]


def torch_params(dtype=torch.float64):
    return [torch.tensor(a, dtype=dtype, requires_grad=True) for a in INIT]


def dg_run(opt, params, steps, loss_fn=dg_loss):
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(params).backward()
        opt.step()
        trajectory.append([p.data.copy() for p in params])
    return trajectory


def torch_run(opt, params, steps):
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        torch_loss(params).backward()
        opt.step()
        trajectory.append([p.detach().numpy().copy() for p in params])
    return trajectory


CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, weight_decay=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.5, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.02)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=0.01)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, weight_decay=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.005, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.01)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.95, eps=1e-5, weight_decay=0.01)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, weight_decay=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
]


@pytest.fixture(params=["blas", "numpy"])
def update_kernel(request, monkeypatch):
    """Run a test with the parameter updates done by the BLAS axpy kernel for every size, then
    with NumPy alone (deepgrad.ops.blas; the shared problem's parameters are small)."""
    if request.param == "blas":
        if not blas.source().startswith(("cblas", "scipy_cblas")):
            pytest.skip(f"no BLAS axpy in this process: {blas.source()}")
        monkeypatch.setattr(blas, "MIN_SIZE", 0)
    else:
        blas.source()
        monkeypatch.setattr(blas, "_kernels", {})
    return request.param


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_trajectory_matches_torch_float64(name, kwargs, update_kernel):
    params, tparams = dg_params(), torch_params()
    ours = dg_run(getattr(optim, name)(params, **kwargs), params, 50)
    theirs = torch_run(getattr(torch.optim, name)(tparams, **kwargs), tparams, 50)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for p, q in zip(a, b):
            np.testing.assert_allclose(p, q, rtol=1e-10, atol=1e-13, err_msg=f"step {step}")
    # the trajectory actually moved (a no-op optimizer would also "match" at step 0)
    assert np.abs(ours[-1][0] - INIT[0]).max() > 1e-3


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9)),
                                         ("Adam", dict(lr=0.01)),
                                         ("RMSprop", dict(lr=0.01, centered=True))])
def test_float32_parameters_keep_float32_slots(name, kwargs, update_kernel):
    params, tparams = dg_params(np.float32), torch_params(torch.float32)
    opt = getattr(optim, name)(params, **kwargs)
    ours = dg_run(opt, params, 20)
    theirs = torch_run(getattr(torch.optim, name)(tparams, **kwargs), tparams, 20)
    for p, q in zip(ours[-1], theirs[-1]):
        assert p.dtype == np.float32
        np.testing.assert_allclose(p, q, rtol=2e-5, atol=2e-6)
    for slots in opt.state.values():
        for value in slots.values():
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float32


def test_param_groups_match_torch():
    params, tparams = dg_params(), torch_params()
    groups = lambda ps: [{"params": ps[:2], "lr": 0.02}, {"params": [ps[2]], "momentum": 0.5}]
    opt = optim.SGD(groups(params), lr=0.1, momentum=0.9, weight_decay=0.01)
    assert opt.param_groups[0]["momentum"] == 0.9 and opt.param_groups[1]["lr"] == 0.1
    ours = dg_run(opt, params, 50)
    theirs = torch_run(torch.optim.SGD(groups(tparams), lr=0.1, momentum=0.9,
                                       weight_decay=0.01), tparams, 50)
    for p, q in zip(ours[-1], theirs[-1]):
        np.testing.assert_allclose(p, q, rtol=1e-10)


def test_add_param_group_matches_torch():
    params, tparams = dg_params(), torch_params()
    opt = optim.Adam(params[:2], lr=0.01)
    opt.add_param_group({"params": [params[2]], "lr": 0.003, "betas": [0.5, 0.9]})
    assert opt.param_groups[1]["betas"] == (0.5, 0.9) and opt.param_groups[1]["eps"] == 1e-8
    topt = torch.optim.Adam(tparams[:2], lr=0.01)
    topt.add_param_group({"params": [tparams[2]], "lr": 0.003, "betas": (0.5, 0.9)})
    for p, q in zip(dg_run(opt, params, 30)[-1], torch_run(topt, tparams, 30)[-1]):
        np.testing.assert_allclose(p, q, rtol=1e-10)


def test_none_grad_is_skipped_and_grads_are_not_modified():
    params = dg_params()
    opt = optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=0.1)
    dg_loss(params).backward()
    params[1].grad = None
    grad0 = params[0].grad.data
    saved = grad0.copy()
    version = params[0]._version
    opt.step()
    np.testing.assert_array_equal(params[1].data, INIT[1])  # untouched
    assert params[1] not in opt.state and params[0] in opt.state
    np.testing.assert_array_equal(grad0, saved)  # the gradient array was not written to
    np.testing.assert_allclose(params[0].data, INIT[0] - 0.1 * (saved + 0.1 * INIT[0]))
    assert params[0]._version == version + 1
    opt.zero_grad()
    assert all(p.grad is None for p in params)


def test_works_with_nn_parameters():
    from deepgrad.nn import Parameter

    weight = Parameter(np.array([1.0, -2.0]))
    opt = optim.Adam([weight], lr=0.1)
    (weight * weight).sum().backward()
    opt.step()
    np.testing.assert_allclose(weight.data, [0.9, -1.9], rtol=1e-8)  # first step: lr * sign
    assert isinstance(weight, Parameter) and opt.state_dict()["state"][0]["step"] == 1


def test_closure_returns_loss():
    params = dg_params()
    opt = optim.SGD(params, lr=0.1)

    def closure():
        opt.zero_grad()
        loss = dg_loss(params)
        loss.backward()
        return loss

    loss = opt.step(closure)
    np.testing.assert_allclose(loss.item(), dg_loss(dg_params()).item())
    assert not np.array_equal(params[0].data, INIT[0])


# --- the two momentum formulations of the notes ---------------------------------------------
def _grads(values):
    params = [deepgrad.tensor(v, requires_grad=True) for v in values]
    dg_loss(params).backward()
    return [p.grad.data for p in params]


def test_velocity_and_moving_average_momentum_give_the_same_trajectory():
    eta, gamma, steps = 0.05, 0.9, 50
    params = dg_params()
    ours = dg_run(optim.SGD(params, lr=eta, momentum=gamma), params, steps)
    # velocity form: v = gamma v + eta g;  w -= v
    w = [a.copy() for a in INIT]
    v = [np.zeros_like(a) for a in INIT]
    velocity = []
    for _ in range(steps):
        for wi, vi, gi in zip(w, v, _grads(w)):
            vi *= gamma
            vi += eta * gi
            wi -= vi
        velocity.append([a.copy() for a in w])
    # moving-average form: m = gamma m + (1 - gamma) g;  w -= eta' m,  eta' = eta / (1 - gamma)
    eta_prime = eta / (1 - gamma)
    w = [a.copy() for a in INIT]
    m = [np.zeros_like(a) for a in INIT]
    average = []
    for _ in range(steps):
        for wi, mi, gi in zip(w, m, _grads(w)):
            mi *= gamma
            mi += (1 - gamma) * gi
            wi -= eta_prime * mi
        average.append([a.copy() for a in w])
    for a, b, c in zip(ours, velocity, average):
        for p, q, r in zip(a, b, c):
            np.testing.assert_allclose(q, p, rtol=1e-11, atol=1e-13)
            np.testing.assert_allclose(r, p, rtol=1e-11, atol=1e-13)


def test_l2_penalty_in_loss_equals_weight_decay_two_lambda():
    lam = 0.03
    params, params2 = dg_params(), dg_params()
    ours = dg_run(optim.SGD(params, lr=0.1, weight_decay=2 * lam), params, 20)
    penalised = lambda ps: dg_loss(ps) + lam * sum((p * p).sum() for p in ps)
    theirs = dg_run(optim.SGD(params2, lr=0.1), params2, 20, loss_fn=penalised)
    for p, q in zip(ours[-1], theirs[-1]):
        np.testing.assert_allclose(p, q, rtol=1e-12)


def test_adamw_decay_is_decoupled_from_adam_l2():
    # with zero gradients, AdamW shrinks w by (1 - lr wd) each step; Adam's L2 goes through m/v
    w = deepgrad.tensor(np.array([2.0, -1.0]), requires_grad=True)
    opt = optim.AdamW([w], lr=0.1, weight_decay=0.5)
    for _ in range(3):
        w.grad = deepgrad.tensor(np.zeros(2))
        opt.step()
    np.testing.assert_allclose(w.data, np.array([2.0, -1.0]) * 0.95 ** 3, rtol=1e-14)


# --- state dicts ------------------------------------------------------------------------------
def _plain_roundtrip(state):
    """Split arrays out (as safetensors would store them) and send the rest through JSON."""
    arrays = {}

    def strip(obj, path):
        if isinstance(obj, np.ndarray):
            arrays[path] = obj.copy()
            return {"__array__": path}
        if isinstance(obj, dict):
            return {str(k): strip(v, f"{path}.{k}") for k, v in obj.items()}
        if isinstance(obj, list):
            return [strip(v, f"{path}.{i}") for i, v in enumerate(obj)]
        assert obj is None or isinstance(obj, (bool, int, float, str)), type(obj)
        return obj

    def restore(obj):
        if isinstance(obj, dict):
            if set(obj) == {"__array__"}:
                return arrays[obj["__array__"]]
            return {k: restore(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [restore(v) for v in obj]
        return obj

    return restore(json.loads(json.dumps(strip(state, "root"))))


RESUME_CASES = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
     lambda o: lr_scheduler.StepLR(o, step_size=4, gamma=0.5)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01), lambda o: lr_scheduler.ExponentialLR(o, 0.9)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True),
     lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=7)),
    ("Adadelta", dict(weight_decay=0.01), lambda o: lr_scheduler.MultiStepLR(o, [3, 12])),
    ("Adam", dict(lr=0.01, amsgrad=True), lambda o: lr_scheduler.LinearWarmup(o, 5, 0.2)),
    ("AdamW", dict(lr=0.01), lambda o: lr_scheduler.LambdaLR(o, lambda t: 1 / (1 + t))),
    ("SGD", dict(lr=0.1, momentum=0.9),
     lambda o: lr_scheduler.CyclicLR(o, 0.01, 0.1, step_size_up=3, mode="triangular2")),
    ("Adam", dict(lr=0.01), lambda o: lr_scheduler.CyclicLR(o, 0.001, 0.01, step_size_up=4)),
]


@pytest.mark.parametrize("name,kwargs,make_scheduler", RESUME_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(RESUME_CASES)])
def test_resume_from_state_dict_is_bit_exact(name, kwargs, make_scheduler):
    params = dg_params()
    opt = getattr(optim, name)(params, **kwargs)
    scheduler = make_scheduler(opt)
    for epoch in range(20):
        dg_run(opt, params, 1)
        scheduler.step()
        if epoch == 9:
            snapshot = [p.data.copy() for p in params]
            saved_opt = _plain_roundtrip(opt.state_dict())
            saved_sched = _plain_roundtrip(scheduler.state_dict())
    final = [p.data.copy() for p in params]

    fresh = dg_params(init=snapshot)
    opt2 = getattr(optim, name)(fresh, **kwargs)
    scheduler2 = make_scheduler(opt2)
    opt2.load_state_dict(saved_opt)
    scheduler2.load_state_dict(saved_sched)
    for _ in range(10):
        dg_run(opt2, fresh, 1)
        scheduler2.step()
    for p, q in zip(final, fresh):
        np.testing.assert_array_equal(q.data, p)
    assert scheduler2.get_last_lr() == scheduler.get_last_lr()
    assert opt2.state_dict()["param_groups"] == opt.state_dict()["param_groups"]


def test_state_dict_layout_and_copies():
    params = dg_params()
    opt = optim.SGD([{"params": params[:2]}, {"params": params[2:], "lr": 0.01}], lr=0.1,
                    momentum=0.9)
    dg_run(opt, params, 2)
    state = opt.state_dict()
    assert sorted(state["state"]) == [0, 1, 2]
    assert state["state"][2]["step"] == 2 and isinstance(state["state"][2]["step"], int)
    assert [g["params"] for g in state["param_groups"]] == [[0, 1], [2]]
    assert state["param_groups"][1]["lr"] == 0.01
    buffer = state["state"][0]["momentum_buffer"].copy()
    dg_run(opt, params, 1)  # training on does not change the saved dict
    np.testing.assert_array_equal(state["state"][0]["momentum_buffer"], buffer)


def test_load_state_dict_rejects_mismatches():
    params = dg_params()
    opt = optim.Adam(params)
    dg_run(opt, params, 1)
    state = opt.state_dict()
    with pytest.raises(ValueError, match="1 parameter groups, this optimizer has 2"):
        optim.Adam([{"params": params[:1]}, {"params": params[1:]}]).load_state_dict(state)
    other = dg_params(init=[np.zeros((4, 5)), np.zeros(5), np.zeros((5, 3))])
    with pytest.raises(ValueError, match=r"slot 'exp_avg' of parameter 2 has shape \(5, 2\)"):
        optim.Adam(other).load_state_dict(state)


# --- bad hyperparameters ----------------------------------------------------------------------
def _p():
    return deepgrad.tensor(np.ones(3), requires_grad=True)


BAD = [
    (lambda: optim.SGD([_p()], lr=-0.1), ValueError, r"SGD: lr .* got lr=-0\.1"),
    (lambda: optim.SGD([_p()], lr=0.1, momentum=-0.5), ValueError, r"got momentum=-0\.5"),
    (lambda: optim.SGD([_p()], lr=0.1, nesterov=True), ValueError,
     r"nesterov=True requires momentum > 0 .* got momentum=0\.0"),
    (lambda: optim.SGD([_p()], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
     ValueError, r"dampening=0\.1"),
    (lambda: optim.SGD([_p()]), ValueError, r"required hyperparameter 'lr'"),
    (lambda: optim.SGD([], lr=0.1), ValueError, r"SGD: got an empty parameter list"),
    (lambda: optim.Adam([]), ValueError, r"Adam: got an empty parameter list"),
    (lambda: optim.Adam([_p()], betas=(1.0, 0.999)), ValueError,
     r"Adam: betas\[0\] must be in \[0, 1\.0\), got betas\[0\]=1\.0"),
    (lambda: optim.AdamW([_p()], betas=(0.9, -0.1)), ValueError, r"got betas\[1\]=-0\.1"),
    (lambda: optim.Adam([_p()], lr=float("nan")), ValueError, r"got lr=nan"),
    (lambda: optim.Adam([_p()], eps=-1e-8), ValueError, r"got eps=-1e-08"),
    (lambda: optim.Adagrad([_p()], lr_decay=-1), ValueError, r"got lr_decay=-1"),
    (lambda: optim.RMSprop([_p()], alpha=1.5), ValueError, r"got alpha=1\.5"),
    (lambda: optim.Adadelta([_p()], rho=-0.1), ValueError, r"got rho=-0\.1"),
    (lambda: optim.SGD([{"params": [_p()], "lr": -1.0}], lr=0.1), ValueError, r"got lr=-1\.0"),
    (lambda: optim.SGD(_p(), lr=0.1), TypeError, r"got a single Tensor"),
    (lambda: optim.SGD([np.ones(3)], lr=0.1), TypeError, r"parameter 0 of group 0 is a ndarray"),
    (lambda: optim.SGD([_p() * 2], lr=0.1), ValueError, r"not a leaf"),
]


@pytest.mark.parametrize("make,error,match", BAD, ids=[m for _, _, m in BAD])
def test_bad_hyperparameters_name_the_argument(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_parameter_in_two_groups_is_rejected():
    p, q = _p(), _p()
    with pytest.raises(ValueError, match="more than one parameter group.*already in group 0"):
        optim.SGD([{"params": [p, q]}, {"params": [q]}], lr=0.1)
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [p]})
    with pytest.raises(ValueError, match="appears twice"):
        optim.SGD([p, p], lr=0.1)


# --- convergence --------------------------------------------------------------------------------
def _steps_to_converge(make_opt, loss_fn, x0, target, tol, max_steps):
    x = deepgrad.tensor(np.array(x0, dtype=np.float64), requires_grad=True)
    opt = make_opt([x])
    for step in range(1, max_steps + 1):
        opt.zero_grad()
        loss_fn(x).backward()
        opt.step()
        if np.linalg.norm(x.data - target) < tol:
            return step
    return math.inf


# f(x) = 1/2 x^T H x with H = Q diag(a) Q^T, a from 1 to 100 (condition number 100) and a
# fixed rotation Q, so that the valley is not aligned with the axes; minimum at x = 0
_Q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(10, 10)))
H = deepgrad.tensor(_Q @ np.diag(np.logspace(0, 2, 10)) @ _Q.T)
QUADRATIC_X0 = np.random.default_rng(2).normal(size=10)


def quadratic(x):
    return 0.5 * (x * (H @ x)).sum()


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


# Measured first steps at which the tolerance is met (also in docs/optim.md); each bound is
# the measured count plus ~10% slack for rounding differences between platforms.
QUADRATIC = [  # (label, optimizer, tolerance on ||x||, measured, bound); x0 ~ N(0, I), seed 2
    ("SGD lr=1/L", lambda ps: optim.SGD(ps, lr=0.01), 1e-6, 1449, 1600),
    ("SGD heavy ball", lambda ps: optim.SGD(ps, lr=4 / 121, momentum=(9 / 11) ** 2),
     1e-6, 96, 110),
    ("SGD nesterov", lambda ps: optim.SGD(ps, lr=0.01, momentum=0.9, nesterov=True),
     1e-6, 240, 265),
    ("Adam", lambda ps: optim.Adam(ps, lr=0.05), 1e-6, 1459, 1600),
    ("RMSprop momentum", lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.9), 1e-6, 390, 430),
    ("Adagrad", lambda ps: optim.Adagrad(ps, lr=1.0), 1e-6, 1017, 1120),
    # a constant-lr RMSprop / Adadelta hovers at a floor set by lr (resp. eps): looser targets
    ("RMSprop", lambda ps: optim.RMSprop(ps, lr=1e-3), 1e-3, 3277, 3600),
    ("Adadelta", lambda ps: optim.Adadelta(ps), 1e-1, 889, 980),
]


@pytest.mark.parametrize("label,make_opt,tol,measured,bound", QUADRATIC,
                         ids=[c[0] for c in QUADRATIC])
def test_convergence_on_ill_conditioned_quadratic(label, make_opt, tol, measured, bound):
    steps = _steps_to_converge(make_opt, quadratic, QUADRATIC_X0, 0.0, tol, bound)
    assert steps <= bound, f"{label}: ||x|| < {tol} not within {bound} steps"
    assert steps >= measured * 0.9  # much faster would mean the problem changed


ROSENBROCK = [  # ||x - (1, 1)|| < 1e-4 from (-1.5, 2): (label, optimizer, measured, bound)
    ("Adam", lambda ps: optim.Adam(ps, lr=0.02), 2749, 3030),
    ("SGD momentum", lambda ps: optim.SGD(ps, lr=1e-3, momentum=0.9), 2231, 2460),
    ("SGD nesterov", lambda ps: optim.SGD(ps, lr=1e-3, momentum=0.9, nesterov=True),
     2129, 2350),
    ("RMSprop momentum", lambda ps: optim.RMSprop(ps, lr=1e-3, momentum=0.9), 1331, 1470),
]


@pytest.mark.parametrize("label,make_opt,measured,bound", ROSENBROCK,
                         ids=[c[0] for c in ROSENBROCK])
def test_convergence_on_rosenbrock(label, make_opt, measured, bound):
    steps = _steps_to_converge(make_opt, rosenbrock, [-1.5, 2.0], np.ones(2), 1e-4, bound)
    assert steps <= bound, f"{label}: not within {bound} steps"
    assert steps >= measured * 0.9
