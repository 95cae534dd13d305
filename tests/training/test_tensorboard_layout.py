"""TensorBoard logs of a CLI run, read back with TensorBoard's own reader: train and validation
curves of one metric overlaid, histograms per layer, hyperparameters, test metrics at the end."""

import os

import pytest

from deepgrad.training import TensorBoard

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


def _runs(log_dir):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer

    mux = EventMultiplexer(size_guidance={"histograms": 0, "scalars": 0, "tensors": 0})
    mux.AddRunsFromDirectory(str(log_dir))
    mux.Reload()
    return mux


def test_a_cli_run_writes_the_usual_layout(tmp_path, capsys):
    from deepgrad.cli import main

    run_dir = tmp_path / "run"
    code = main(["train", os.path.join(EXAMPLES, "spirals.yaml"), "--out", str(run_dir), "-q",
                 "--set", "training.epochs=3", "data.n=120",
                 "training.tensorboard.histogram_freq=2"])
    assert code == 0, capsys.readouterr()
    mux = _runs(run_dir / "tb")
    runs = mux.Runs()
    assert {"train", "validation", "test", "."} <= set(runs)
    # one tag per metric in train/ and validation/: TensorBoard overlays them in one chart
    assert {"loss", "accuracy", "lr"} <= set(runs["train"]["scalars"])
    assert {"loss", "accuracy"} == set(runs["validation"]["scalars"])
    assert [e.step for e in mux.Scalars("validation", "accuracy")] == [1, 2, 3]
    # histograms every 2 epochs: weights and the gradients of the epoch's last batch
    assert "weights/0.weight" in runs["train"]["histograms"]
    assert "gradients/6.bias" in runs["train"]["histograms"]
    assert [e.step for e in mux.Histograms("train", "weights/0.weight")] == [2]
    histogram = mux.Histograms("train", "weights/0.weight")[0].histogram_value
    assert histogram.num == 2 * 64 and len(histogram.bucket) == 30
    # test metrics at the end, at the last epoch
    test = mux.Scalars("test", "accuracy")
    assert [e.step for e in test] == [3] and 0.0 <= test[0].value <= 1.0
    # hyperparameters (TensorBoard's hparams plugin)
    from tensorboard.plugins.hparams import plugin_data_pb2

    accumulator = mux.GetAccumulator(".")
    data = accumulator.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(
        data["_hparams_/session_start_info"]).session_start_info
    assert start.hparams["optimizer.lr"].number_value == 0.01
    assert start.hparams["optimizer.type"].string_value == "Adam"
    assert start.hparams["training.epochs"].number_value == 3
    experiment = plugin_data_pb2.HParamsPluginData.FromString(
        data["_hparams_/experiment"]).experiment
    assert ("test", "accuracy") in {(m.name.group, m.name.tag) for m in experiment.metric_infos}
    end = plugin_data_pb2.HParamsPluginData.FromString(data["_hparams_/session_end_info"])
    assert end.session_end_info.status == 1


def test_histograms_are_off_by_default_and_validated():
    assert TensorBoard("tb").histogram_freq == 0
    with pytest.raises(ValueError, match="histogram_freq must be an integer >= 0"):
        TensorBoard("tb", histogram_freq=-1)
