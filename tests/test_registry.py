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


# containers of modules built in Python: nothing a config could describe
PYTHON_CONTAINERS = {"Module", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"}


def test_every_public_module_class_of_nn_is_registered():
    """A layer or loss added to deepgrad.nn without @register would be unknown to configs."""
    import inspect

    unregistered = [name for name, obj in vars(nn).items()
                    if inspect.isclass(obj) and issubclass(obj, nn.Module)
                    and name not in PYTHON_CONTAINERS
                    and all(registry.name_of(kind, obj) != name
                            for kind in ("layer", "loss", "model"))]
    assert unregistered == [], f"add @register(...) to {unregistered}"


def test_every_optimizer_and_schedule_is_registered():
    import inspect

    from deepgrad.optim import Optimizer, lr_scheduler

    optimizers = [n for n, o in vars(optim).items() if inspect.isclass(o)
                  and issubclass(o, Optimizer) and o is not Optimizer]
    schedules = [n for n, o in vars(lr_scheduler).items() if inspect.isclass(o)
                 and o.__module__ == lr_scheduler.__name__ and hasattr(o, "step")
                 and not n.startswith("_") and n != "LRScheduler"]
    assert optimizers and schedules
    assert [n for n in optimizers if registry.name_of("optimizer", vars(optim)[n]) != n] == []
    assert [n for n in schedules if not registry.contains("schedule", n)] == []
