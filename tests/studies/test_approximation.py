"""approximation: three tanh units fit the notes' four targets (and sin(pi x)); the drawn unit
contributions plus the output bias add up to the fit."""

from study_checks import timed_quick


def test_approximation_errors(tmp_path):
    result = timed_quick("approximation", tmp_path)
    assert len(result.figures) == 1
    bounds = {"abs": 0.05, "square": 0.02, "sin": 0.005, "step": 0.15, "sin_pi": 0.02}
    for target, bound in bounds.items():
        assert result.numbers[target]["rms_error"] < bound, target
        assert result.numbers[target]["decomposition_error"] < 1e-12, target
    assert result.numbers["step"]["max_error"] > 0.1  # the jump cannot be matched exactly
    summary = result.summary()
    assert "Example: Approximation Ability" in summary and "| sin(x) |" in summary
