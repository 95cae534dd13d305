"""Config validation: every malformed config yields a precise, located message."""

import textwrap

import pytest

from deepgrad.config import ConfigError, apply_overrides, load_config, load_config_text

BASE = textwrap.dedent("""\
    name: spirals
    model:
      - {type: Linear, in_features: 2, out_features: 16}
      - ReLU
      - {type: Linear, in_features: 16, out_features: 3}
    data:
      dataset: spirals
      n: 120
    loss: {type: CrossEntropyLoss}
    optimizer: {type: SGD, lr: 0.1, momentum: 0.9}
    training:
      epochs: 2
      batch_size: 16
    """)


def _load(text, overrides=()):
    return load_config_text(text, source="bad.yaml", overrides=overrides)


def _error(text, overrides=()):
    with pytest.raises(ConfigError) as info:
        _load(text, overrides)
    return info.value


def test_base_config_is_valid_and_normalized():
    config = _load(BASE)
    assert config["model"]["layers"][1] == {"type": "ReLU", "args": {}}
    assert config["optimizer"] == {"type": "SGD", "lr": 0.1, "momentum": 0.9}
    assert config["losses"] == [{"type": "CrossEntropyLoss", "weight": 1.0, "output": 0,
                                 "args": {}}]
    assert config["training"]["seed"] == 0 and config["training"]["metrics"] == ["accuracy"]
    assert config["data"]["validation_split"] == 0.1
    assert config["output_dir"] == "runs/spirals"
    # normalizing twice changes nothing (checkpoints store the normalized form)
    from deepgrad.config import validate_config

    assert validate_config(config) == config


def test_yaml_1_1_exponent_strings_are_numbers():
    config = _load(BASE.replace("lr: 0.1", "lr: 1e-3").replace("momentum: 0.9",
                                                               "momentum: 9e-1"))
    assert config["optimizer"]["lr"] == 0.001 and isinstance(config["optimizer"]["lr"], float)
    assert config["optimizer"]["momentum"] == 0.9


MALFORMED = [
    ("unknown_optimizer_arg", ("lr: 0.1", "lrr: 0.1"),
     "bad.yaml:10:24: optimizer.lrr: unknown argument of SGD 'lrr' (did you mean 'lr'?)"),
    ("unknown_section", ("training:", "trainig:"),
     "bad.yaml:11:1: trainig: unknown key 'trainig' (did you mean 'training'?)"),
    ("unknown_training_key", ("epochs: 2", "epoch: 2"),
     "bad.yaml:12:3: training.epoch: unknown key 'epoch' (did you mean 'epochs'?)"),
    ("wrong_type", ("epochs: 2", "epochs: ten"),
     "bad.yaml:12:11: training.epochs: expected an integer, got string 'ten'"),
    ("not_whole", ("epochs: 2", "epochs: 2.5"),
     "training.epochs: expected an integer, got 2.5"),
    ("out_of_range", ("batch_size: 16", "batch_size: 0"),
     "bad.yaml:13:15: training.batch_size: must be in [1, 16777216], got 0"),
    ("fraction_out_of_range", ("n: 120", "n: 120\n  validation_split: 1.5"),
     "bad.yaml:9:21: data.validation_split: must be in [0.0, 0.95], got 1.5"),
    ("unknown_layer", ("type: Linear, in_features: 16", "type: Lineer, in_features: 16"),
     "bad.yaml:5:12: model[2].type: unknown layer type 'Lineer' (did you mean 'Linear'?)"),
    ("unknown_layer_string", ("- ReLU", "- Relu"),
     "model[1].type: unknown layer type 'Relu' (did you mean 'ReLU'?)"),
    ("unknown_layer_arg", ("out_features: 3}", "out_feature: 3}"),
     "model[2].out_feature: unknown argument of Linear 'out_feature' (did you mean "
     "'out_features'?)"),
    ("missing_layer_arg", ("{type: Linear, in_features: 16, out_features: 3}",
                           "{type: Linear, in_features: 16}"),
     "bad.yaml:5:5: model[2]: Linear needs the argument 'out_features'"),
    ("layer_arg_type", ("out_features: 3}", "out_features: three}"),
     "bad.yaml:5:51: model[2].out_features: expected an integer, got string 'three'"),
    ("layer_constructor_check", ("in_features: 2, out_features: 16}",
                                 "in_features: -2, out_features: 16}"),
     "model[0]: Linear: in_features must be a positive integer, got -2"),
    ("optimizer_range", ("lr: 0.1", "lr: -0.1"),
     "bad.yaml:10:12: optimizer: SGD: lr must be a number >= 0, got lr=-0.1"),
    ("unknown_optimizer", ("type: SGD", "type: Adamm"),
     "optimizer.type: unknown optimizer type 'Adamm' (did you mean 'Adam'?)"),
    ("unknown_loss", ("CrossEntropyLoss", "CrossEntropy"),
     "loss.type: unknown loss type 'CrossEntropy' (did you mean 'CrossEntropyLoss'?)"),
    ("unknown_dataset", ("dataset: spirals", "dataset: spiral"),
     "data.dataset: unknown dataset type 'spiral' (did you mean 'spirals'?)"),
    ("option_of_other_dataset", ("dataset: spirals", "dataset: moons\n  num_classes: 3"),
     "data.num_classes: 'num_classes' is not an option of dataset 'moons'"),
    ("missing_optimizer", ("optimizer: {type: SGD, lr: 0.1, momentum: 0.9}\n", ""),
     "bad.yaml: optimizer: missing required key 'optimizer'"),
    ("schedule_arg", ("training:", "schedule: {type: StepLR, step_siz: 3}\ntraining:"),
     "schedule.step_siz: unknown argument of StepLR 'step_siz' (did you mean 'step_size'?)"),
    ("duplicate_key", ("  batch_size: 16", "  batch_size: 16\n  batch_size: 8"),
     "bad.yaml:14:3: training.batch_size: duplicate key 'batch_size'"),
    ("yaml_syntax", ("loss: {type: CrossEntropyLoss}", "loss: {type: [CrossEntropyLoss}"),
     "bad.yaml:9:"),
    ("bad_metric", ("batch_size: 16", "batch_size: 16\n  metrics: [acuracy]"),
     "training.metrics[0]: unknown metric 'acuracy' (did you mean 'accuracy'?)"),
    ("callback_option", ("batch_size: 16",
                         "batch_size: 16\n  callbacks: [{type: EarlyStopping, patiense: 2}]"),
     "training.callbacks[0].patiense: unknown argument of EarlyStopping 'patiense' (did you "
     "mean 'patience'?)"),
    ("callback_type", ("batch_size: 16",
                       "batch_size: 16\n  callbacks: [{type: EarlyStoping}]"),
     "training.callbacks[0].type: unknown callback type 'EarlyStoping' (did you mean "
     "'EarlyStopping'?)"),
    ("callback_value", ("batch_size: 16",
                        "batch_size: 16\n  callbacks: [{type: EarlyStopping, patience: -1}]"),
     "training.callbacks[0]: EarlyStopping: patience must be an integer >= 0"),
    ("callback_mapping", ("batch_size: 16",
                          "batch_size: 16\n  callbacks: {early_stopping: {patience: 2}}"),
     "training.callbacks: expected a list of callbacks, got a mapping"),
]


@pytest.mark.parametrize("name, change, message", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_config(name, change, message):
    old, new = change
    assert old in BASE
    error = _error(BASE.replace(old, new, 1))
    assert any(message in line for line in error.errors), error.errors


def test_monitoring_validation_quantities_needs_validation_data():
    text = BASE.replace("n: 120", "n: 120\n  validation_split: 0").replace(
        "batch_size: 16", "batch_size: 16\n  callbacks: [EarlyStopping]")
    error = _error(text)
    assert error.errors == [
        "bad.yaml:15:15: training.callbacks[0].monitor: monitors 'val_loss' but "
        "data.validation_split is 0 (no validation data); monitor a training quantity such as "
        "'loss' or keep a validation split"]
    config = _load(text.replace("[EarlyStopping]", "[{type: EarlyStopping, monitor: loss}]"))
    assert config["training"]["callbacks"] == [{"type": "EarlyStopping",
                                                "args": {"monitor": "loss"}}]


def test_all_errors_are_reported_together():
    text = (BASE.replace("lr: 0.1", "lrr: 0.1").replace("epochs: 2", "epochs: 0")
            .replace("type: Linear, in_features: 16", "type: Linaer, in_features: 16"))
    error = _error(text)
    assert len(error.errors) == 3
    assert str(error).startswith("3 errors in bad.yaml:")
    assert "did you mean 'lr'" in str(error) and "must be >= 1, got 0" in str(error)
    assert "did you mean 'Linear'" in str(error)


def test_graph_model_with_auxiliary_head():
    text = BASE.replace(textwrap.dedent("""\
        model:
          - {type: Linear, in_features: 2, out_features: 16}
          - ReLU
          - {type: Linear, in_features: 16, out_features: 3}
        """), textwrap.dedent("""\
        model:
          nodes:
            - {name: hidden, type: Linear, in_features: 2, out_features: 16}
            - {name: act, type: ReLU}
            - {name: main, type: Linear, in_features: 16, out_features: 3}
            - {name: aux, type: Linear, input: act, args: {in_features: 16, out_features: 3}}
          outputs: [main, aux]
        """)).replace("loss: {type: CrossEntropyLoss}", textwrap.dedent("""\
        losses:
          - {type: CrossEntropyLoss, weight: 1.0, output: main}
          - {type: CrossEntropyLoss, weight: 0.3, output: aux}"""))
    config = _load(text)
    nodes = config["model"]["nodes"]
    assert [n["inputs"] for n in nodes] == [["input"], ["hidden"], ["act"], ["act"]]
    assert config["model"]["outputs"] == ["main", "aux"]
    assert [l["weight"] for l in config["losses"]] == [1.0, 0.3]
    bad = _error(text.replace("input: act", "input: akt").replace("output: aux}",
                                                                  "output: auxx}"))
    messages = "\n".join(bad.errors)
    assert "model.nodes[3].input: unknown input 'akt'" in messages
    assert "did you mean 'act'" in messages
    assert "losses[1].output: unknown model output 'auxx' (did you mean 'aux'?)" in messages


def test_registered_model_entry():
    text = BASE.replace(textwrap.dedent("""\
        model:
          - {type: Linear, in_features: 2, out_features: 16}
          - ReLU
          - {type: Linear, in_features: 16, out_features: 3}
        """), "model: {name: net, type: mlp, sizes: [2, 8, 3], activation: tanh}\n")
    config = _load(text)
    assert config["model"] == {"type": "mlp", "name": "net",
                               "args": {"sizes": [2, 8, 3], "activation": "tanh"}}
    bad = _error(text.replace("type: mlp", "type: LeNett"))
    assert "did you mean 'LeNet'" in str(bad)


def test_overrides_are_parsed_as_yaml_and_validated():
    with_callbacks = BASE + "  callbacks: [{type: EarlyStopping, patience: 5}]\n"
    config = _load(with_callbacks, overrides=["training.epochs=5", "optimizer.lr=1e-3",
                                    "model[2].out_features=4", "data.noise=0.3",
                                    "training.callbacks[0].patience=2"])
    assert config["training"]["epochs"] == 5
    assert config["optimizer"]["lr"] == 0.001
    assert config["model"]["layers"][2]["args"]["out_features"] == 4
    assert config["data"]["noise"] == 0.3
    assert config["training"]["callbacks"][0]["args"]["patience"] == 2
    error = _error(BASE, overrides=["training.epochz=5"])
    assert error.errors == ["--set training.epochz=5: training.epochz: unknown key 'epochz' "
                            "(did you mean 'epochs'?); allowed: aux_weight_decay, batch_size, "
                            "callbacks, epochs, eval_batch_size, metrics, seed, tensorboard, "
                            "verbose"]
    error = _error(BASE, overrides=["training.epochs=-1"])
    assert "--set training.epochs=-1: training.epochs: must be >= 1, got -1" in error.errors


def test_malformed_overrides():
    config = {"training": {"epochs": 1}, "model": [1, 2]}
    with pytest.raises(ConfigError, match="expected PATH=VALUE"):
        apply_overrides(config, ["training.epochs"])
    with pytest.raises(ConfigError, match="no list item 5"):
        apply_overrides(config, ["model.5.x=1"])
    with pytest.raises(ConfigError, match="training.epochs is a value, not a section"):
        apply_overrides(config, ["training.epochs.x=1"])
    apply_overrides(config, ["training.betas=[0.9, 0.99]", "name=null"])
    assert config["training"]["betas"] == [0.9, 0.99] and config["name"] is None


def test_file_errors_name_the_file(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(BASE.replace("momentum: 0.9", "momentun: 0.9"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.errors[0].startswith(f"{path}:10:")
    assert "did you mean 'momentum'" in info.value.errors[0]
    with pytest.raises(ConfigError, match="cannot read the config"):
        load_config(tmp_path / "missing.yaml")


def test_data_file_paths_are_relative_to_the_config(tmp_path):
    import numpy as np

    np.savez(tmp_path / "train.npz", x=np.zeros((10, 2), np.float32), y=np.zeros(10, np.int64))
    text = BASE.replace("dataset: spirals\n  n: 120", "dataset: npz\n  path: train.npz")
    (tmp_path / "run.yaml").write_text(text)
    config = load_config(tmp_path / "run.yaml")
    assert config["data"]["path"] == str(tmp_path / "train.npz")
    (tmp_path / "run.yaml").write_text(text.replace("train.npz", "nope.npz"))
    with pytest.raises(ConfigError, match="data.path: file not found"):
        load_config(tmp_path / "run.yaml")


def test_nothing_in_a_config_is_imported_or_evaluated(tmp_path):
    marker = tmp_path / "PWNED"
    hostile = BASE.replace("- ReLU", f"- !!python/object/apply:os.system ['touch {marker}']")
    error = _error(hostile)
    assert "invalid YAML" in str(error) or "could not determine a constructor" in str(error)
    assert not marker.exists()
    error = _error(BASE.replace("- ReLU", "- {type: os.system}"))
    assert "unknown layer type 'os.system'" in str(error)
