"""early-stopping on scikit-learn's diabetes data, three random splits: the validation loss
turns up, EarlyStopping stops `patience` epochs after the best epoch and restores it, and the
restored network beats the over-trained one."""

from study_checks import timed_quick


def test_early_stopping_claims(tmp_path):
    result = timed_quick("early-stopping", tmp_path)
    n = result.numbers
    assert len(n["runs"]) == 3
    for r in n["runs"]:
        assert 0 < r["best_epoch"] < n["epochs"] - 1
        assert r["final_over_best"] > 1.1                 # validation loss rose again
        assert r["train_loss"][-1] < r["train_loss"][r["best_epoch"]]
        assert r["stopped_epoch"] - r["restored_epoch"] == n["patience"]
        assert r["rmse_early"] < r["rmse_full"]
        # the restored weights are those of the best validation epoch
        assert min(r["stopped_val_loss"]) == r["stopped_val_loss"][r["restored_epoch"]]
        assert 45 < r["rmse_linear"] < 70 and 45 < r["rmse_early"] < 75
    assert "diabetes" in result.summary()
