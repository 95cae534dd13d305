"""backprop-examples: every hand-derived gradient of the notes against autodiff."""

from study_checks import run_quick


def test_backprop_examples_quick_run(tmp_path):
    result = run_quick("backprop-examples", tmp_path)
    differences = result.numbers["max_difference"]
    assert len(differences) == 18
    assert max(differences.values()) < 1e-13
    summary = result.summary()
    for title in ("ReLU layer", "Least squares", "Simple example in action",
                  "Batch normalization", "Layer normalization"):
        assert title in summary
    assert "dJ/dv_b = [" in summary
