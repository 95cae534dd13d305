"""Building runs from configs, the registry, and checkpoints of configured runs."""

import textwrap

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.config import (RegistryError, build_model, load_config_text, lookup,
                             model_from_checkpoint, names, register)
from deepgrad.config.build import load_run_checkpoint, penalties
from deepgrad.io import CheckpointError, save_checkpoint
from deepgrad.runner import Run

SPIRALS = textwrap.dedent("""\
    name: spirals
    model:
      - {type: Linear, in_features: 2, out_features: 16}
      - Tanh
      - {type: Dropout, p: 0.1}
      - {type: Linear, in_features: 16, out_features: 3}
    data:
      dataset: spirals
      n: 150
      noise: 0.1
      validation_split: 0.2
      test_split: 0.2
      preprocessing: {standardize: true}
    loss: {type: CrossEntropyLoss}
    optimizer: {type: Adam, lr: 1e-2}
    schedule: {type: StepLR, step_size: 1, gamma: 0.5}
    regularization: {l2: 1e-4, grad_clip: 5.0, input_noise: 0.01}
    training:
      epochs: 2
      batch_size: 30
      seed: 3
      verbose: 0
      callbacks: [{type: EarlyStopping, patience: 5}]
    """)


def _run(text=SPIRALS, tmp_path=None, overrides=(), resume=False):
    run_dir = tmp_path / "out" if tmp_path is not None else None
    return Run.from_config(load_config_text(text), run_dir=run_dir, overrides=overrides,
                           resume=resume)


def _losses(history):
    return [row["loss"] for row in history]


def test_build_run_parts(tmp_path):
    run = _run(tmp_path=tmp_path)
    assert isinstance(run.model, nn.Sequential) and len(run.model) == 4
    assert type(run.optimizer).__name__ == "Adam" and run.optimizer.param_groups[0]["lr"] == 0.01
    assert type(run.scheduler).__name__ == "StepLR"
    assert (len(run.train_loader.dataset), len(run.val_loader.dataset),
            len(run.test_loader.dataset)) == (90, 30, 30)
    assert penalties(run.config["regularization"]) == [("*weight", "l2", 1e-4)]
    assert run.trainer.grad_clip_norm == 5.0
    assert run.trainer.input_noise_std == 0.01
    assert [type(c).__name__ for c in run.callbacks] == ["LearningRateScheduler",
                                                         "EarlyStopping"]
    # standardized with training statistics: the training features have mean 0, std 1
    x = run.train_loader.dataset.tensors[0].data
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(axis=0), 1, atol=1e-4)


def test_fit_is_reproducible_and_checkpoint_restores_the_model(tmp_path):
    first = _run(tmp_path=tmp_path / "a")
    history = first.fit(report=False)
    assert [row["lr"] for row in history] == [0.01, 0.005]  # StepLR halves every epoch
    second = _run(tmp_path=tmp_path / "b")
    assert _losses(second.fit(report=False)) == _losses(history)  # one seed, same run
    path = tmp_path / "a" / "out" / "checkpoints" / "last.safetensors"
    model, checkpoint = model_from_checkpoint(path)
    assert checkpoint.epoch == 2 and checkpoint.step == 6
    assert checkpoint.config == first.config
    assert checkpoint.metrics["loss"] == _losses(history)
    x = first.test_loader.dataset.tensors[0].data
    first.model.eval()
    model.eval()
    with dg.no_grad():
        np.testing.assert_array_equal(model(dg.tensor(x)).data, first.model(dg.tensor(x)).data)
    mean = checkpoint.tensors["standardize/mean"]
    np.testing.assert_array_equal(mean, first.standardizer.mean)


def test_stored_config_with_unknown_layer_is_a_checkpoint_error(tmp_path):
    config = load_config_text(SPIRALS)
    config["model"]["layers"][1]["type"] = "Tanhh"
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, nn.Linear(2, 2), config=config)
    with pytest.raises(CheckpointError, match=r"unknown layer type 'Tanhh' \(did you mean "
                                              r"'Tanh'\?\)") as info:
        load_run_checkpoint(path)
    assert str(path) in str(info.value)


GRAPH = SPIRALS.replace(textwrap.dedent("""\
    model:
      - {type: Linear, in_features: 2, out_features: 16}
      - Tanh
      - {type: Dropout, p: 0.1}
      - {type: Linear, in_features: 16, out_features: 3}
    """), textwrap.dedent("""\
    model:
      nodes:
        - {name: hidden, type: Linear, in_features: 2, out_features: 16}
        - {name: act, type: Tanh}
        - {name: main, type: Linear, in_features: 16, out_features: 3}
        - {name: aux, type: Linear, input: act, in_features: 16, out_features: 3}
        - {name: skip, type: Linear, in_features: 2, out_features: 3, input: input}
        - {name: both, type: Add, inputs: [main, skip]}
      outputs: [both, aux]
    """)).replace("loss: {type: CrossEntropyLoss}", textwrap.dedent("""\
    losses:
      - {type: CrossEntropyLoss, weight: 1.0, output: both}
      - {type: CrossEntropyLoss, weight: 0.3, output: aux}"""))


def test_graph_model_with_deep_supervision(tmp_path):
    run = _run(GRAPH, tmp_path=tmp_path)
    assert run.loss_weights == [1.0, 0.3]
    assert [name for name, _ in run.model.named_parameters()][:2] == ["hidden.weight",
                                                                      "hidden.bias"]
    x = dg.tensor(np.ones((4, 2), np.float32))
    main, aux = run.model(x)
    expected = (run.model.main(run.model.act(run.model.hidden(x))).data
                + run.model.skip(x).data)
    np.testing.assert_allclose(main.data, expected, rtol=1e-6)
    assert aux.shape == (4, 3)
    history = run.fit(report=False)
    assert len(history) == 2 and np.isfinite(_losses(history)).all()


def test_losses_of_different_types_are_refused():
    from deepgrad.config import ConfigError

    text = GRAPH.replace("- {type: CrossEntropyLoss, weight: 0.3, output: aux}",
                         "- {type: MultiMarginLoss, weight: 0.3, output: aux}")
    with pytest.raises(ConfigError, match="same loss type"):
        Run.from_config(load_config_text(text))


def test_registered_models_build():
    pytest.importorskip("deepgrad.models")
    lenet = build_model({"type": "DeeplySupervisedLeNet", "args": {"alpha": 0.5}})
    assert type(lenet).__name__ == "DeeplySupervisedLeNet" and lenet.alpha == 0.5
    assert lenet.num_parameters() == 459_890
    net = build_model({"type": "mlp", "args": {"sizes": [4, 8, 2], "batch_norm": True}})
    assert [type(m).__name__ for m in net] == ["Linear", "BatchNorm1d", "ReLU", "Linear"]


def test_seed_controls_initialization():
    spec = {"layers": [{"type": "Linear", "args": {"in_features": 3, "out_features": 2}}]}
    from deepgrad.training import seed_everything

    a = build_model(spec, seed_everything(1))
    b = build_model(spec, seed_everything(1))
    c = build_model(spec, seed_everything(2))
    np.testing.assert_array_equal(a[0].weight.data, b[0].weight.data)
    assert not np.array_equal(a[0].weight.data, c[0].weight.data)


def test_registry_lookup_and_register():
    assert lookup("layer", "Conv2d") is nn.Conv2d
    assert lookup("loss", "CrossEntropyLoss") is nn.CrossEntropyLoss
    assert lookup("callback", "EarlyStopping").__name__ == "EarlyStopping"
    assert lookup("optimizer", "adam") is lookup("optimizer", "Adam")
    assert "ReLU" in names("activation") and "Linear" not in names("activation")
    assert "StepLR" in names("schedule") and "Adam" in names("optimizer")
    assert {"spirals", "fashion_mnist", "npz", "csv"} <= set(names("dataset"))
    with pytest.raises(RegistryError, match=r"unknown layer type 'Conv2D' \(did you mean "
                                            r"'Conv2d'\?\)"):
        lookup("layer", "Conv2D")
    with pytest.raises(RegistryError, match="unknown kind 'layers'"):
        lookup("layers", "Linear")

    @register("layer", "TimesTwo")
    class TimesTwo(nn.Module):
        def forward(self, x):
            return x * 2

    assert lookup("layer", "TimesTwo") is TimesTwo
    model = build_model({"layers": [{"type": "TimesTwo", "args": {}}]})
    np.testing.assert_array_equal(model(dg.tensor([1.0, 2.0])).data, [2.0, 4.0])


def test_regression_defaults_to_mse_metric(tmp_path):
    text = (SPIRALS.replace("dataset: spirals", "dataset: regression")
            .replace("  noise: 0.1\n", "  target: sin\n")
            .replace("in_features: 2", "in_features: 1")
            .replace("out_features: 3", "out_features: 1")
            .replace("CrossEntropyLoss", "MSELoss"))
    run = _run(text, tmp_path=tmp_path)
    assert run.config["training"]["metrics"] == ["mse"]
    history = run.fit(report=False)
    assert "val_mse" in history[-1]


def _doc_examples():
    import pathlib
    import re

    text = (pathlib.Path(__file__).parents[2] / "docs" / "config.md").read_text()
    return [block for block in re.findall(r"```yaml\n(.*?)```", text, re.S)
            if "optimizer:" in block]


def test_documented_examples_are_valid(tmp_path):
    examples = _doc_examples()
    assert len(examples) == 2
    fashion = load_config_text(examples[0], source="docs/config.md")
    assert fashion["optimizer"]["weight_decay"] == 5e-4
    assert fashion["training"]["callbacks"][2] == {"type": "CSVLogger",
                                                   "args": {"filename": "history.csv"}}
    run = _run(examples[1], tmp_path=tmp_path, overrides=["training.epochs=1",
                                                          "training.verbose=0"])
    assert run.loss_weights == [1.0, 0.3]
    assert np.isfinite(run.fit(report=False)[0]["loss"])


def test_resume_continues_exactly(tmp_path):
    straight = _run(tmp_path=tmp_path / "straight", overrides=["training.epochs=3"])
    full = straight.fit(report=False)
    first = _run(tmp_path=tmp_path / "resumed", overrides=["training.epochs=1"])
    first.fit(report=False)
    resumed = _run(tmp_path=tmp_path / "resumed", overrides=["training.epochs=3"],
                   resume=True)
    assert resumed.resumed_from == 1 and resumed.epoch == 1
    assert resumed.fit(report=False) == full      # the whole history: epochs 1, 2, 3
    for (name, a), (_, b) in zip(straight.model.named_parameters(),
                                 resumed.model.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)


def test_graph_model_exports_its_main_chain_to_onnx(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from deepgrad.io import export_onnx

    spec = load_config_text(GRAPH.replace("outputs: [both, aux]", "outputs: [main, aux]")
                            .replace("output: both", "output: main"))["model"]
    model = build_model(spec)
    export_onnx(model, tmp_path / "g.onnx", (2,))
    x = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    got = ort.InferenceSession(str(tmp_path / "g.onnx")).run(None, {"input": x})[0]
    model.eval()
    with dg.no_grad():
        main, _ = model(dg.tensor(x))
    np.testing.assert_allclose(got, main.data, atol=1e-5)


def test_example_configs_validate_and_normalize_idempotently():
    import pathlib

    from deepgrad.config import load_config, validate_config

    paths = sorted(p for p in (pathlib.Path(__file__).parents[2] / "examples").glob("*.yaml")
                   if not p.name.startswith("sweep_"))                # sweep files: tests/sweep
    for path in paths:
        config = load_config(path)
        assert validate_config(config) == config, path
