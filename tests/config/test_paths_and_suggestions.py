"""File paths given with --set resolve against the current directory; suggestions by meaning."""

import textwrap

import numpy as np
import pytest

from deepgrad.config import ConfigError, load_config

CONFIG = textwrap.dedent("""\
    name: npz
    model:
      - {type: Linear, in_features: 2, out_features: 2}
    data:
      dataset: npz
      path: train.npz
    loss: CrossEntropyLoss
    optimizer: {type: SGD, lr: 0.1}
    training: {epochs: 1, batch_size: 4}
    """)


def _npz(path):
    np.savez(path, x=np.zeros((8, 2), np.float32), y=np.zeros(8, np.int64))


def test_set_data_path_is_relative_to_the_current_directory(tmp_path, monkeypatch):
    configs, work = tmp_path / "configs", tmp_path / "work"
    configs.mkdir()
    work.mkdir()
    (configs / "run.yaml").write_text(CONFIG)
    _npz(configs / "train.npz")
    _npz(work / "mine.npz")
    monkeypatch.chdir(work)
    # in the file: relative to the config's folder
    assert load_config(configs / "run.yaml")["data"]["path"] == str(configs / "train.npz")
    # on the command line: relative to where the user typed it
    config = load_config(configs / "run.yaml", ["data.path=mine.npz"])
    assert config["data"]["path"] == str(work / "mine.npz")
    with pytest.raises(ConfigError, match=str(work / "nope.npz")):
        load_config(configs / "run.yaml", ["data.path=nope.npz"])


def test_an_unknown_dataset_is_suggested_by_meaning(tmp_path):
    text = CONFIG.replace("dataset: npz\n  path: train.npz", "dataset: mnist")
    (tmp_path / "run.yaml").write_text(text)
    with pytest.raises(ConfigError, match="did you mean 'fashion_mnist'"):
        load_config(tmp_path / "run.yaml")


@pytest.mark.parametrize("name, candidates, expected", [
    ("relu", ["ReLU", "Tanh"], "ReLU"),                       # case slip
    ("fashion-mnist", ["fashion_mnist", "moons"], "fashion_mnist"),  # separator slip
    ("mnist", ["fashion_mnist", "moons"], "fashion_mnist"),   # part of one name
    ("Linaer", ["Linear", "Bilinear"], "Linear"),             # spelling
    ("xyz", ["Linear"], None),
])
def test_suggest(name, candidates, expected):
    from deepgrad import registry

    hint = registry.suggest(name, candidates)
    assert hint == (f" (did you mean '{expected}'?)" if expected else "")
