"""cross-entropy: one saturated sigmoid neuron, quadratic cost vs cross-entropy, by numbers."""

from study_checks import run_quick

from deepgrad.studies import cost


def test_cross_entropy_quick_run(tmp_path):
    n = run_quick("cross-entropy", tmp_path).numbers
    sat_q, sat_ce = n["saturated start/quadratic"], n["saturated start/cross-entropy"]
    # the quadratic cost's first gradient carries sigma'(z) = 0.0177 (a = 0.982, y = 0)
    assert abs(sat_q["initial_grad_w"] - 0.982 * 0.01766) < 1e-4
    assert abs(sat_ce["initial_grad_w"] - 0.982) < 1e-3
    # and it learns more than 10x slower from the saturated start, ~4x from a moderate one
    assert n["slowdown_0.5"] > 10 and 2 < n["moderate_slowdown_0.5"] < n["slowdown_0.5"]
    # autodiff equals the notes' formulas to rounding
    assert all(e["formula_error"] < 1e-14 for e in n.values() if isinstance(e, dict))


def test_steps_below():
    assert cost.steps_below([0.9, 0.6, 0.4], 0.5) == 2
    assert cost.steps_below([0.9], 0.5) is None
