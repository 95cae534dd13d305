"""The one registry: explicit registration, aliases, metadata, and every lookup through it."""

import numpy as np
import pytest

from deepgrad import nn, optim, registry
from deepgrad.registry import RegistryError, register


def test_kinds_are_filled_by_explicit_registration():
    assert registry.lookup("activation", "ReLU") is nn.ReLU
    assert registry.lookup("layer", "ReLU") is nn.ReLU          # an activation is a layer
    assert "Linear" in registry.names("layer") and "Linear" not in registry.names("activation")
    assert "CrossEntropyLoss" not in registry.names("layer")
    assert set(registry.names("optimizer")) == {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad",
                                                "Adadelta"}
    assert {"EarlyStopping", "ModelCheckpoint", "TerminateOnNaN"} <= set(
        registry.names("callback"))
    assert "LearningRateScheduler" not in registry.names("callback")   # needs a Python object
    assert {"accuracy", "mse", "loss"} == set(registry.names("metric"))
    assert "init" in registry.names("study") and "Conv2d" in registry.names("onnx")


def test_aliases_and_metadata():
    assert registry.lookup("optimizer", "adam") is optim.Adam
    assert registry.lookup("loss", "cross_entropy") is nn.CrossEntropyLoss
    assert "adam" in registry.names("optimizer", aliases=True)
    assert registry.info(nn.Tanh)["family"] == "tanh"
    assert registry.info(nn.ReLU())["family"] == "relu"            # an instance: its class's
    assert registry.info(nn.Softmax) == {}
    assert registry.info(nn.MSELoss)["task"] == "regression"
    assert registry.info(nn.Dropout)["generator_stream"] == "dropout"
    assert registry.name_of("layer", nn.LogSoftmax) == "LogSoftmax"

    class MyReLU(nn.ReLU):
        pass

    assert registry.name_of("layer", MyReLU()) == "ReLU"          # the nearest registered base


def test_unknown_names_and_kinds_are_clear_errors():
    with pytest.raises(RegistryError, match=r"unknown optimizer type 'Adamm' \(did you mean "
                                            r"'Adam'\?\); known optimizer types: Adadelta"):
        registry.lookup("optimizer", "Adamm")
    with pytest.raises(RegistryError, match=r"did you mean 'ReLU'"):
        registry.lookup("layer", "Relu")
    with pytest.raises(RegistryError, match="unknown kind 'layers'"):
        registry.names("layers")


def test_a_name_is_registered_once():
    with pytest.raises(RegistryError, match="'ReLU' is already registered"):
        @register("activation", "ReLU")
        class OtherReLU(nn.Module):
            pass


def test_fit_trainer_and_mlp_resolve_names_through_the_registry():
    import deepgrad as dg
    from deepgrad.models import mlp
    from deepgrad.training import Trainer, get_loss, get_optimizer

    assert isinstance(get_loss("mse"), nn.MSELoss)
    model = mlp([2, 4, 2], activation="leaky_relu", generator=0)
    assert type(model[1]).__name__ == "LeakyReLU"
    assert isinstance(get_optimizer("AdamW", model.parameters(), 0.1), optim.AdamW)
    with pytest.raises(ValueError, match=r"unknown optimizer type 'adm'.*\(did you mean "):
        get_optimizer("adm", model.parameters())
    with pytest.raises(ValueError, match=r"mlp: unknown activation 'rleu'"):
        mlp([2, 2], activation="rleu")
    x = np.zeros((8, 2), np.float32)
    y = np.arange(8) % 2
    history, trainer = dg.fit(model, (x, y), epochs=1, optimizer="rmsprop", verbose=0)
    assert isinstance(trainer, Trainer) and isinstance(trainer.optimizer, optim.RMSprop)
    assert np.isfinite(history.history["loss"][0])
