"""The model-level gradient audit: healthy models pass, a wrong rule is caught in the right
column, the caller's model is untouched."""

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.autograd import Function
from deepgrad.diagnostics import AuditReport, audit_gradients
from deepgrad.diagnostics.gradaudit import classify
from deepgrad.models import LeNet, mlp


def _batch(n=8, features=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, features)).astype(np.float32), np.arange(n) % classes


class BadBackwardSquare(Function):
    """y = x^2, with a backward rule missing the factor 2 (the jvp rule is right)."""

    def forward(ctx, x):
        ctx.save(x)
        return x * x

    def backward(ctx, grad_out):
        (x,) = ctx.saved
        return grad_out * x

    def jvp(ctx, x_dot):
        (x,) = ctx.saved
        return 2 * x * x_dot


class BadJvpSquare(BadBackwardSquare):
    """y = x^2 with a right backward rule and a jvp rule missing the factor 2."""

    def backward(ctx, grad_out):
        (x,) = ctx.saved
        return 2 * grad_out * x

    def jvp(ctx, x_dot):
        (x,) = ctx.saved
        return x * x_dot


class SquareAct(nn.Module):
    def __init__(self, function):
        super().__init__()
        self.function = function

    def forward(self, x):
        return self.function.apply(x)


def test_classify_bands():
    assert [classify(e) for e in (0.0, 5e-8, 1e-7, 1e-3, 2e-2, float("nan"), None)] == \
        ["good", "good", "suspicious", "suspicious", "wrong", "wrong", "n/a"]


def test_healthy_mlp_with_batch_norm_is_good_everywhere():
    dg.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 16), nn.BatchNorm1d(16), nn.Tanh(), nn.Linear(16, 3))
    report = audit_gradients(model, _batch(), nn.CrossEntropyLoss())
    assert isinstance(report, AuditReport)
    assert [r.name for r in report.rows] == ["0.weight", "0.bias", "1.weight", "1.bias",
                                             "3.weight", "3.bias"]
    assert report.status == "good" and report.ok
    for row in report.rows:
        assert row.status == "good"
        # the two analytic modes agree to round-off where the gradient is not ~0
        if row.grad_norm > 1e-8:
            assert row.forward_error < 1e-12
            assert row.fd_direction_error < 1e-6
            assert row.fd_entry_error < 1e-6
    # the bias before batch norm has a zero gradient (cancellation), flagged as round-off
    bias = report.rows[1]
    assert bias.grad_norm < 1e-12 and bias.within_roundoff
    assert report.rows[0].entries_checked == 6 and report.rows[5].entries_checked == 3
    np.testing.assert_allclose(report.loss, report.to_dict()["loss"])


def test_table_lists_every_parameter_and_the_verdict():
    dg.manual_seed(1)
    model = mlp([4, 8, 2], activation="tanh", generator=1)
    report = audit_gradients(model, _batch(6, 4, 2), nn.CrossEntropyLoss())
    table = str(report)
    for name in ("0.weight", "0.bias", "2.weight", "2.bias"):
        assert name in table
    assert "8x4" in table and "good" in table
    assert table.splitlines()[-1].startswith("verdict: good: worst relative error")
    assert "4 good, 0 suspicious, 0 wrong" in table


def test_wrong_backward_rule_is_caught_by_jvp_and_finite_differences():
    dg.manual_seed(2)
    model = nn.Sequential(nn.Linear(4, 6), SquareAct(BadBackwardSquare), nn.Linear(6, 2))
    report = audit_gradients(model, _batch(6, 4, 2), nn.CrossEntropyLoss())
    first = report.rows[0]           # upstream of the bad rule: its gradient is halved
    assert first.status == "wrong"
    np.testing.assert_allclose(first.forward_error, 0.5, rtol=1e-6)
    np.testing.assert_allclose(first.fd_entry_error, 0.5, rtol=1e-4)
    assert report.rows[2].status == "good" and report.rows[3].status == "good"
    assert report.status == "wrong" and not report.ok


def test_wrong_jvp_rule_shows_only_in_the_forward_column():
    dg.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 6), SquareAct(BadJvpSquare), nn.Linear(6, 2))
    report = audit_gradients(model, _batch(6, 4, 2), nn.CrossEntropyLoss())
    first = report.rows[0]
    assert first.forward_error > 0.3 and first.status == "wrong"
    assert first.fd_direction_error < 1e-6 and first.fd_entry_error < 1e-6


def test_caller_model_untouched_and_dropout_disabled():
    dg.manual_seed(4)
    model = mlp([5, 12, 3], dropout=0.5, batch_norm=True, generator=4)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    default_state = dg.default_generator().bit_generator.state
    report = audit_gradients(model, _batch(), nn.CrossEntropyLoss())
    assert report.status == "good"
    assert any("dropout disabled" in note for note in report.notes)
    for key, value in model.state_dict().items():
        assert value.dtype == before[key].dtype
        np.testing.assert_array_equal(value, before[key])
    assert dg.default_generator().bit_generator.state == default_state
    assert model.training


def test_convolutional_model_float64_audit():
    dg.manual_seed(5)
    model = LeNet(num_classes=10, generator=5)
    rng = np.random.default_rng(5)
    x = rng.random((2, 1, 28, 28)).astype(np.float32)
    report = audit_gradients(model, (x, np.array([1, 7])), nn.CrossEntropyLoss(),
                             num_directions=1, max_entries=3)
    assert len(report.rows) == len(list(model.parameters()))
    assert report.status == "good", str(report)


def test_rejects_a_non_pair_batch():
    model = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="batch must be a pair"):
        audit_gradients(model, np.zeros((2, 3)), nn.MSELoss())
