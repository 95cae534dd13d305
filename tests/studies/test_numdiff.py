"""numerical-differentiation: the V curve, expression swell and the exercise, by numbers."""

import math

from study_checks import run_quick

from deepgrad.autograd import trace
from deepgrad.studies import numdiff


def test_numerical_differentiation_quick_run(tmp_path):
    result = run_quick("numerical-differentiation", tmp_path)
    n = result.numbers
    v = n["v_curve"]
    assert 1e-9 < v["forward_best_h"] < 1e-7 and v["forward_best_error"] > 1e-11
    assert 1e-7 < v["central_best_h"] < 1e-4 and v["central_best_error"] < 1e-9
    assert abs(v["forward_truncation_slope"] - 1) < 0.1
    assert abs(v["central_truncation_slope"] - 2) < 0.1
    assert abs(v["forward_rounding_slope"] + 1) < 0.2
    swell = n["swell"]
    # the symbolic derivative grows ~3x per step, forward AD by 6 operations per step
    assert swell["derivative"][-1] > 10 * swell["ad"][-1]
    assert all(b - a == 6 for a, b in zip(swell["ad"][1:], swell["ad"][2:]))
    assert n["swell_agreement"] < 1e-12
    ex = n["exercise"]
    for got in (ex["reverse"], ex["forward"]):
        for a, b in zip(got, ex["closed_form"]):
            assert abs(a - b) < 1e-15
    assert abs(ex["y"] - ex["sigmoid"]) < 1e-15
    assert "| v_6 |" in result.summary() or "v_6" in result.summary()


def test_symbolic_derivative_of_the_logistic_map():
    expression = numdiff.logistic_map(3)
    derivative = numdiff.diff(expression)
    x = 0.3
    l2 = 4 * x * (1 - x)
    assert math.isclose(numdiff.evaluate(expression, x), 4 * l2 * (1 - l2), rel_tol=1e-15)
    assert math.isclose(numdiff.evaluate(derivative, x), 4 * (1 - 2 * x) * 4 * (1 - 2 * l2),
                        rel_tol=1e-14)


def test_trace_keeps_python_numbers_in_float64():
    t = trace(lambda x: x * 1.0, 0.3)
    assert float(t.output.data) == 0.3
