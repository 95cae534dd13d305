"""deepgrad.distributed under `mpiexec -n 2`: one launch runs every check in mpi_checks.py
(MPI start-up is the slow part), the tests below assert on its numbers."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest

from tests.distributed.mpi_harness import PYTHON, require_mpi, run_ranks

CHECKS = os.path.join(os.path.dirname(__file__), "mpi_checks.py")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    require_mpi()
    out = tmp_path_factory.mktemp("mpi") / "results.json"
    done = run_ranks(2, [PYTHON, CHECKS, str(out)], timeout=120)
    assert done.returncode == 0, f"mpi_checks failed:\n{done.stdout}\n{done.stderr}"
    return json.loads(out.read_text())


def test_two_ranks(results):
    assert results["world_size"] == 2


def test_broadcast_parameters_and_optimizer_state(results):
    check = results["broadcast"]
    assert check["spread_before"] > 0.01      # the ranks really started different
    assert check["spread_after"] == 0.0       # identical bits afterwards
    assert check["steps"] == [1.0] * 4


@pytest.mark.parametrize("name, bound", [("equivalence_float32", 1e-5),
                                         ("equivalence_float32_overlap", 1e-5),
                                         ("equivalence_float64", 1e-12),
                                         ("equivalence_float64_overlap", 1e-12),
                                         ("equivalence_sync_batchnorm", 1e-12)])
def test_same_weights_as_one_process_after_50_steps(results, name, bound):
    """2 ranks x global batch 32 (uneven last batch: 203 samples) == 1 process x batch 32."""
    check = results[name]
    assert check["relative_difference"] <= bound, check
    assert check["reductions"] == 50
    assert check["buckets"] >= 2              # several fused buffers, not one per tensor


def test_trainer_clips_the_averaged_gradient_and_reduces_its_metrics(results):
    """Trainer.fit, grad_clip_norm=0.05 (every step clipped), 2 epochs, float64."""
    check = results["trainer_with_clipping"]
    assert check["relative_difference"] <= 1e-12
    assert check["loss_difference"] <= 1e-12
    assert check["accuracy"][0] == check["accuracy"][1]


def test_the_documented_example_runs_on_two_ranks(results):
    check = results["doc_snippet"]
    assert check["spread"] == 0.0            # identical weights on both ranks
    assert 0.0 < check["loss"] < 1.2         # it trained (chance level: log 3 = 1.1)


def test_sampler_shards_cover_each_global_batch_exactly_once(results):
    check = results["sampler"]
    assert check["exact"] is True
    assert check["overlaps"] == 0
    assert check["steps"] == check["expected_steps"] == 14
    assert check["local_steps"] == 7


def test_sync_batchnorm_matches_batchnorm_on_the_full_batch(results):
    for name in ("1d", "2d"):
        for key, value in results["sync_batchnorm"][name].items():
            assert value <= 1e-12, (name, key, value)


def test_metrics_are_reduced_over_the_ranks(results):
    check = results["metrics"]
    assert check["count"] == 37
    assert check["accuracy"] == pytest.approx(check["expected_accuracy"], abs=1e-15)
    assert check["loss"] == pytest.approx(check["expected_loss"], rel=1e-12)


def test_overlap_redoes_a_bucket_whose_parameter_is_used_twice(results):
    assert results["tied_weights"]["difference"] <= 1e-15


FAIL = os.path.join(os.path.dirname(__file__), "mpi_fail.py")


def test_a_rank_that_raises_ends_the_job_within_seconds():
    """Rank 1 raises mid-training while rank 0 waits in an Allreduce: the job exits non-zero
    with a message naming the rank, well within 30 s (a killed rank: test_run.py)."""
    require_mpi()
    began = time.monotonic()
    done = run_ranks(2, [PYTHON, FAIL], timeout=60)
    elapsed = time.monotonic() - began
    assert done.returncode != 0
    assert elapsed < 30, elapsed
    assert "rank 1 fails at step 20" in done.stdout
    assert "deepgrad.distributed: rank 1 of 2 failed with RuntimeError: simulated " \
           "failure of rank 1" in done.stderr
    assert "Aborting all 2 ranks of the job." in done.stderr


def test_only_rank_0_writes_the_run_directory(results):
    """Each rank's Run is given its own directory: rank 1's is never created."""
    check = results["run_writes"]
    assert check["rank1_exists"] is False and check["dirs_existing"] == 1.0
    assert {"checkpoints", "config.yaml", "metrics.csv", "report.html"} <= set(check["rank0"])
    assert check["accuracy_spread"] == 0.0 and check["history_length"] == 2
    assert check["sync_layers"] == 1


def test_two_ranks_resume_a_two_rank_run_to_the_single_process_weights(results, tmp_path):
    """The 2-rank run (SyncBatchNorm, SGD) resumed by 2 ranks for a third epoch ends with the
    weights of one process training 3 epochs with BatchNorm on the whole batches."""
    from deepgrad.io import load_checkpoint
    from deepgrad.runner import Run

    check = results["run_writes"]
    assert check["resumed_epoch"] == 3
    single = Run.from_config(check["config"], run_dir=tmp_path / "single",
                             overrides=["training.epochs=3", "training.verbose=0"])
    single.fit(report=False)
    saved = load_checkpoint(os.path.join(os.path.dirname(check["config"]), "rank0",
                                         "checkpoints", "last.safetensors"))
    assert saved.epoch == 3
    for name, value in single.model.state_dict().items():
        if name.endswith("num_batches_tracked"):
            assert int(saved.model_state[name]) == int(value)
            continue
        relative = np.max(np.abs(saved.model_state[name] - value)) / np.max(np.abs(value))
        assert relative <= 1e-5, (name, relative)
