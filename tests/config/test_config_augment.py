"""data.augment and data.num_workers in configs: validated like every other section, applied
to the training data only."""

import textwrap

import numpy as np
import pytest

from deepgrad.config import ConfigError, load_config_text
from deepgrad.runner.run import Run
from deepgrad.data.transforms import Compose, RandomCrop, RandomHorizontalFlip

CONFIG = textwrap.dedent("""\
    name: augmented
    model: {type: VGG, widths: [4, 8], convs_per_stage: 1}
    data:
      dataset: fashion_mnist
      validation_split: 0.25
      limit: 64
      num_workers: 1
      augment:
        - {type: RandomCrop, size: 28, padding: 2, padding_mode: reflect}
        - RandomHorizontalFlip
    loss: {type: CrossEntropyLoss, label_smoothing: 0.1}
    optimizer: {type: SGD, lr: 0.1, momentum: 0.9, nesterov: true}
    training: {epochs: 1, batch_size: 16}
    """)


def _error(text):
    with pytest.raises(ConfigError) as info:
        load_config_text(text, source="aug.yaml")
    return str(info.value)


def test_augment_builds_a_transform_for_the_training_loader_only(tmp_path):
    config = load_config_text(CONFIG + f"output_dir: {tmp_path}\n", source="aug.yaml")
    assert config["data"]["augment"] == [
        {"type": "RandomCrop", "size": 28, "padding": 2, "padding_mode": "reflect"},
        {"type": "RandomHorizontalFlip"}]
    run = Run(config, run_dir=tmp_path)
    transform = run.train_loader.transform
    assert isinstance(transform, Compose)
    assert [type(t) for t in transform.transforms] == [RandomCrop, RandomHorizontalFlip]
    assert transform.transforms[0].padding == (2, 2, 2, 2)
    assert run.train_loader.num_workers == 1
    assert run.val_loader.transform is None and run.val_loader.num_workers == 0
    x, _ = next(iter(run.train_loader))
    assert x.shape == (16, 1, 28, 28) and np.isfinite(x.data).all()


def test_augment_errors_are_located():
    text = CONFIG.replace("RandomHorizontalFlip", "RandomHorizontalFlp")
    assert "did you mean 'RandomHorizontalFlip'" in _error(text)
    text = CONFIG.replace("padding_mode: reflect", "padding_mod: reflect")
    message = _error(text)
    assert "aug.yaml:" in message and "padding_mod" in message and "padding_mode" in message
    text = CONFIG.replace("padding_mode: reflect", "padding_mode: wrap")
    assert "RandomCrop: padding_mode must be one of" in _error(text)
    text = CONFIG.replace("  augment:\n", "  augment: RandomCrop\n  unused:\n")
    assert "expected a list of transforms" in _error(text)
    assert "num_workers" in _error(CONFIG.replace("num_workers: 1", "num_workers: -1"))
    text = CONFIG.replace("- RandomHorizontalFlip", "- {type: Normalize, mean: 0.3, std: 0.3}")
    assert "Normalize is not an augmentation: data.augment applies to the training" \
        in _error(text)
