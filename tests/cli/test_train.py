"""`deepgrad train` on every example config, and the run directory it writes."""

import csv
import glob
import os

import numpy as np
import pytest
import yaml

from deepgrad.config import load_config
from deepgrad.io import load_checkpoint

from cli_helpers import CNN_SLICE, FASHION_SLICE, SPIRALS_SMALL, example, needs_fashion

EXAMPLES = {
    "spirals.yaml": SPIRALS_SMALL,
    "regression_1d.yaml": ["data.n=200", "training.epochs=3"],
    "fashion_mnist_mlp.yaml": FASHION_SLICE + ["model.sizes=[784,32,10]"],
    "lenet.yaml": FASHION_SLICE,
    "lenet_deeply_supervised.yaml": FASHION_SLICE,
    "fashion_mnist_vgg.yaml": CNN_SLICE,
    "fashion_mnist_resnet.yaml": CNN_SLICE + ["model.blocks_per_stage=1"],
}


def test_every_example_config_validates():
    names = sorted(os.path.basename(p) for p in glob.glob(example("*.yaml"))
                   if not os.path.basename(p).startswith("sweep_"))   # sweep files: tests/sweep
    assert names == sorted(EXAMPLES)
    for name in names:
        config = load_config(example(name))
        assert config["name"] == name[:-5]
        assert config["training"]["epochs"] >= 1


def test_default_config_is_the_demo_recipe():
    config = load_config(example("fashion_mnist_mlp.yaml"))
    assert config["model"]["args"]["sizes"] == [784, 512, 256, 10]
    assert config["model"]["args"]["dropout"] == 0.2
    assert config["optimizer"] == {"type": "Adam", "lr": 0.001}
    assert config["data"]["preprocessing"] == {"flatten": True, "standardize": True}
    assert config["training"]["batch_size"] == 128
    deep = load_config(example("lenet_deeply_supervised.yaml"))
    assert [(l["output"], l["weight"]) for l in deep["losses"]] == [("main", 1.0),
                                                                     ("aux", 0.3)]


def _rows(path):
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


@pytest.mark.parametrize("name", [
    # the ResNet example runs the VGG example's code path with another model: slow only
    pytest.param(n, marks=[needs_fashion] + ([pytest.mark.slow] if "resnet" in n else []))
    if ("mnist" in n or "lenet" in n) else n
    for n in sorted(EXAMPLES)])
def test_example_runs_end_to_end(name, cli, tmp_path):
    out = tmp_path / "run"
    code, stdout, stderr = cli("train", example(name), "--out", out, "-q",
                               "--set", *EXAMPLES[name])
    assert code == 0, stderr
    assert f"run directory: {out}" in stdout
    epochs = int([s for s in EXAMPLES[name] if s.startswith("training.epochs=")][0][16:])
    # the run directory
    rows = _rows(out / "metrics.csv")
    assert [int(r["epoch"]) for r in rows] == list(range(1, epochs + 1))
    assert all(np.isfinite(float(r["loss"])) for r in rows)
    resolved = yaml.safe_load((out / "config.yaml").read_text())
    assert resolved["training"]["epochs"] == epochs
    assert resolved["output_dir"] == str(out)
    last = load_checkpoint(out / "checkpoints" / "last.safetensors")
    assert last.epoch == epochs and len(last.metadata["history"]) == epochs
    assert (out / "checkpoints" / "best.safetensors").exists()
    assert glob.glob(str(out / "tb" / "events.out.tfevents.*"))
    report = (out / "report.html").read_text()
    assert "data:image/png;base64," in report and "Final metrics" in report
    # the final metrics printed are those of the test split
    test_line = [l for l in stdout.splitlines() if l.startswith("test: ")][0]
    loss = float(test_line.split()[2])
    assert np.isfinite(loss)
    if "regression" in name:
        assert "mse" in test_line
    else:
        accuracy = float(test_line.split()[4])
        assert f"test accuracy: {100 * accuracy:.2f}%" in stdout
        assert 0.0 <= accuracy <= 1.0


def test_spirals_learns_and_best_checkpoint_is_the_best_epoch(cli, tmp_path):
    out = tmp_path / "run"
    code, stdout, _ = cli("train", example("spirals.yaml"), "--out", out, "-q", "--set",
                          "training.epochs=12", "data.n=450")
    assert code == 0
    rows = _rows(out / "metrics.csv")
    accuracies = [float(r["val_accuracy"]) for r in rows]
    best = load_checkpoint(out / "checkpoints" / "best.safetensors")
    assert best.metadata["best"]["value"] == pytest.approx(max(accuracies))
    assert best.epoch == int(np.argmax(accuracies)) + 1
    assert f"best val_accuracy: {max(accuracies):.4f}" in stdout
    assert max(accuracies) > 0.6     # 3 classes: chance is 1/3


def test_default_run_directory_is_runs_name(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, stdout, _ = cli("train", example("regression_1d.yaml"), "-q", "--set",
                          "training.epochs=1", "data.n=100")
    assert code == 0
    assert "run directory: runs/regression_1d" in stdout
    assert (tmp_path / "runs" / "regression_1d" / "metrics.csv").exists()
    # a config without name and output_dir: runs/<file stem>
    text = (open(example("regression_1d.yaml")).read()
            .replace("name: regression_1d\n", ""))
    (tmp_path / "my_fit.yaml").write_text(text)
    code, stdout, _ = cli("train", "my_fit.yaml", "-q", "--set", "training.epochs=1",
                          "data.n=100")
    assert code == 0 and "run directory: runs/my_fit" in stdout
