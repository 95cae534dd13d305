"""exploding-gradients: divergence without a cure, training with each cure, over 3 seeds."""

import math

from study_checks import run_quick


def test_exploding_gradients_quick_run(tmp_path):
    n = run_quick("exploding-gradients", tmp_path).numbers
    for entry in n["lr 0.05, no cure"]:  # 3 seeds
        assert entry["diverged_at"] is not None and entry["max_grad_norm"] > 1e10
        assert not math.isfinite(entry["final_loss"])
    for label in ("lr 0.005 (smaller rate)", "lr 0.05, clip norm 1", "lr 0.05, clip value 0.1"):
        for entry in n[label]:
            assert entry["diverged_at"] is None, label
            assert entry["final_loss"] < 0.1 * entry["initial_loss"], label
