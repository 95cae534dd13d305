"""The worked example, examples/sweep_mlp.yaml, on Fashion-MNIST (slow: minutes)."""

import io
import os
import sys

import pytest

from deepgrad.sweep import run_sweep

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from cli_helpers import example, needs_fashion  # noqa: E402


@pytest.mark.slow
@needs_fashion
def test_the_mlp_sweep_finds_a_good_fashion_mnist_model(tmp_path):
    log = io.StringIO()
    result = run_sweep(example("sweep_mlp.yaml"), workers=2, trials=3, output_dir=tmp_path,
                       stream=log)
    assert result.exit_codes == [0, 0], log.getvalue()
    assert sum(result.states.values()) == 3 and "FAIL" not in result.states, log.getvalue()
    assert result.best_value > 0.85, result.table       # validation accuracy of the best trial
    assert os.path.exists(result.best_config_path) and os.path.exists(result.report_path)
