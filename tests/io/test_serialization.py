"""deepgrad.save / deepgrad.load: PyTorch's names on the safe checkpoint format."""

import os

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn, optim
from deepgrad.io import CheckpointError

pytest.importorskip("safetensors")


def _model():
    return nn.Sequential(nn.Linear(3, 4, generator=np.random.default_rng(0)), nn.ReLU(),
                         nn.BatchNorm1d(4), nn.Linear(4, 2, generator=np.random.default_rng(1)))


def test_state_dict_round_trip_restores_every_value(tmp_path):
    model = _model()
    model(dg.tensor(np.random.default_rng(2).normal(size=(5, 3)).astype(np.float32)))
    path = dg.save(model.state_dict(), tmp_path / "model.safetensors")
    assert path == str(tmp_path / "model.safetensors")
    other = _model()
    nn.init.zeros_(other[0].weight)
    other.load_state_dict(dg.load(path))
    for (name, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert list(dg.load(path)) == list(model.state_dict())  # key order kept


def test_tensors_nested_containers_and_optimizer_state(tmp_path):
    model = _model()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x = dg.tensor(np.ones((2, 3), np.float32))
    model(x).sum().backward()
    opt.step()
    w = dg.tensor([1.0, 2.0], requires_grad=True)
    obj = {"epoch": 3, "note": "after warm-up", "losses": [0.5, 0.25], "pair": (1, None),
           "weights": w, "optimizer": opt.state_dict(), "mask": np.array([True, False])}
    dg.save(obj, tmp_path / "ckpt.safetensors")
    back = dg.load(tmp_path / "ckpt.safetensors", map_location="cpu")
    assert back["epoch"] == 3 and back["note"] == "after warm-up"
    assert back["losses"] == [0.5, 0.25] and back["pair"] == (1, None)
    assert isinstance(back["weights"], dg.Tensor) and back["weights"].requires_grad
    np.testing.assert_array_equal(back["weights"].data, [1.0, 2.0])
    np.testing.assert_array_equal(back["mask"], [True, False])
    fresh = optim.Adam(_model().parameters(), lr=1e-3)
    fresh.load_state_dict(back["optimizer"])
    state = opt.state_dict()["state"]
    for key, slots in state.items():
        for name, value in slots.items():
            np.testing.assert_array_equal(np.asarray(fresh.state_dict()["state"][key][name]),
                                          np.asarray(value))


def test_a_single_tensor(tmp_path):
    t = dg.tensor(np.arange(6.0).reshape(2, 3))
    dg.save(t, tmp_path / "t.safetensors")
    back = dg.load(tmp_path / "t.safetensors")
    assert isinstance(back, dg.Tensor) and not back.requires_grad
    np.testing.assert_array_equal(back.data, t.data)
    assert back.dtype == np.float64


def test_objects_that_only_pickle_could_store_are_refused(tmp_path):
    model = _model()
    with pytest.raises(TypeError, match=r"Save obj.state_dict\(\)"):
        dg.save(model, tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match=r"obj\['opt'\] is a Adam"):
        dg.save({"opt": optim.Adam(model.parameters())}, tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match="set"):
        dg.save({"s": {1, 2}}, tmp_path / "m.safetensors")
    assert not os.path.exists(tmp_path / "m.safetensors")


def test_cuda_and_foreign_files_are_refused(tmp_path):
    dg.save({"a": np.ones(2)}, tmp_path / "a.safetensors")
    with pytest.raises(ValueError, match="CPU only"):
        dg.load(tmp_path / "a.safetensors", map_location="cuda:0")
    pickle_like = tmp_path / "model.pt"
    pickle_like.write_bytes(b"\x80\x04\x95" + b"\x00" * 64)
    with pytest.raises(CheckpointError, match="model.pt"):
        dg.load(pickle_like)


def test_a_training_checkpoint_loads_as_a_dict_of_states(tmp_path):
    from deepgrad.io import save_checkpoint

    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    path = save_checkpoint(tmp_path / "last.safetensors", model, opt, epoch=4,
                           metrics={"loss": [0.9, 0.7]})
    back = dg.load(path)
    assert set(back) == {"model", "optimizer", "epoch", "metrics"}
    assert back["epoch"] == 4 and back["metrics"] == {"loss": [0.9, 0.7]}
    _model().load_state_dict(back["model"])
    np.testing.assert_array_equal(back["model"]["0.weight"], model[0].weight.data)
