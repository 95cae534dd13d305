"""ONNX export: the checker passes and onnxruntime reproduces deepgrad's outputs."""

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from deepgrad.io.onnx import ONNXExportError, export_onnx  # noqa: E402


def _deepgrad_eval(model, x):
    model.eval()
    with dg.no_grad():
        out = model(dg.tensor(x))
    return out.data


def _onnx_run(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def _warm_up_batch_norm(model, x):
    """A few training-mode passes so the running statistics are not the initial 0 / 1."""
    model.train()
    with dg.no_grad():
        for _ in range(3):
            model(dg.tensor(x))


def test_mlp_with_batch_norm_and_dropout(tmp_path):
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(10, 16, generator=1), nn.BatchNorm1d(16), nn.ReLU(),
                          nn.Dropout(0.5, generator=2), nn.Linear(16, 8, generator=3),
                          nn.BatchNorm1d(8), nn.Tanh(), nn.Dropout(0.3, generator=4),
                          nn.Linear(8, 3, generator=5))
    x = rng.normal(size=(6, 10)).astype(np.float32)
    _warm_up_batch_norm(model, 2 * x + 1)
    path = tmp_path / "mlp.onnx"
    proto = export_onnx(model, path, input_shape=(10,))
    onnx.checker.check_model(onnx.load(str(path)))
    assert proto.opset_import[0].version == 17 and proto.ir_version == 8
    # initializers are named after the dotted parameter / buffer names
    names = {init.name for init in proto.graph.initializer}
    assert {"0.weight", "0.bias", "1.running_mean", "1.running_var", "8.weight"} <= names
    assert [n.op_type for n in proto.graph.node].count("Gemm") == 3
    assert "Dropout" not in [n.op_type for n in proto.graph.node]
    expected = _deepgrad_eval(model, x)
    np.testing.assert_allclose(_onnx_run(path, x), expected, atol=1e-5, rtol=1e-5)
    # the batch dimension is symbolic: another batch size runs too
    x2 = rng.normal(size=(1, 10)).astype(np.float32)
    np.testing.assert_allclose(_onnx_run(path, x2), _deepgrad_eval(model, x2), atol=1e-5)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    assert model.training is False  # we set it; export restores whatever mode it found


def test_export_restores_training_mode(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.5))
    model.train()
    export_onnx(model, tmp_path / "m.onnx", (3,))
    assert model.training and model[1].training


ACTIVATIONS = [
    ("ReLU", lambda: nn.ReLU()), ("LeakyReLU", lambda: nn.LeakyReLU(0.2)),
    ("Sigmoid", lambda: nn.Sigmoid()), ("Tanh", lambda: nn.Tanh()),
    ("ELU", lambda: nn.ELU(0.7)), ("SELU", lambda: nn.SELU()), ("GELU", lambda: nn.GELU()),
    ("GELU_tanh", lambda: nn.GELU("tanh")), ("Softplus", lambda: nn.Softplus()),
    ("Softplus_beta", lambda: nn.Softplus(beta=2.0)), ("SiLU", lambda: nn.SiLU()),
    ("Softmax", lambda: nn.Softmax(dim=1)), ("LogSoftmax", lambda: nn.LogSoftmax(dim=-1)),
    ("LayerNorm", lambda: nn.LayerNorm(6)), ("Identity", lambda: nn.Identity()),
]


@pytest.mark.parametrize("name, make", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_each_activation_matches(tmp_path, name, make):
    model = nn.Sequential(nn.Linear(4, 6, generator=0), make())
    if name == "LayerNorm":
        with dg.no_grad():
            model[1].weight.data[...] = np.linspace(0.5, 2, 6)
            model[1].bias.data[...] = np.linspace(-1, 1, 6)
    x = 3 * np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32)
    path = tmp_path / f"{name}.onnx"
    export_onnx(model, path, (4,))
    np.testing.assert_allclose(_onnx_run(path, x), _deepgrad_eval(model, x), atol=1e-5,
                               rtol=1e-5)


def test_lenet(tmp_path):
    models = pytest.importorskip("deepgrad.models")
    x = np.random.default_rng(2).random((4, 1, 28, 28)).astype(np.float32)
    for cls in (models.LeNet, models.DeeplySupervisedLeNet):
        model = cls(generator=0)
        path = tmp_path / f"{cls.__name__}.onnx"
        proto = export_onnx(model, path, (1, 28, 28))
        ops = [n.op_type for n in proto.graph.node]
        assert ops.count("Conv") == 2 and ops.count("MaxPool") == 2
        assert {"conv1.weight", "ip2.bias"} <= {i.name for i in proto.graph.initializer}
        assert "aux.weight" not in {i.name for i in proto.graph.initializer}
        out = _onnx_run(path, x)
        assert out.shape == (4, 10)
        np.testing.assert_allclose(out, _deepgrad_eval(model, x), atol=1e-5, rtol=1e-5)


def test_cnn_with_padding_strides_and_pooling(tmp_path):
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, generator=0), nn.BatchNorm2d(4),
                          nn.ReLU(), nn.AvgPool2d(2), nn.Conv2d(4, 6, 3, stride=2, padding=1,
                                                                generator=1),
                          nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(6, 3, generator=2))
    x = np.random.default_rng(3).normal(size=(3, 2, 12, 12)).astype(np.float32)
    _warm_up_batch_norm(model, x)
    path = tmp_path / "cnn.onnx"
    export_onnx(model, path, (2, 12, 12))
    np.testing.assert_allclose(_onnx_run(path, x), _deepgrad_eval(model, x), atol=1e-5,
                               rtol=1e-5)


def test_mlp_builder(tmp_path):
    models = pytest.importorskip("deepgrad.models")
    model = models.mlp([5, 8, 8, 3], activation="gelu", batch_norm=True, dropout=0.2,
                       generator=0)
    x = np.random.default_rng(4).normal(size=(7, 5)).astype(np.float32)
    _warm_up_batch_norm(model, x)
    path = tmp_path / "builder.onnx"
    export_onnx(model, path, (5,))
    np.testing.assert_allclose(_onnx_run(path, x), _deepgrad_eval(model, x), atol=1e-5)


def test_unsupported_layer_names_the_layer_and_lists_supported(tmp_path):
    class Mystery(nn.Module):
        def forward(self, x):
            return x

    model = nn.Sequential(nn.Linear(2, 2), Mystery())
    with pytest.raises(ONNXExportError, match=r"layer '1' of type Mystery is not supported; "
                                              r"supported layer types: .*Conv2d.*Linear"):
        export_onnx(model, tmp_path / "x.onnx", (2,))
    assert not (tmp_path / "x.onnx").exists()


def test_bad_arguments(tmp_path):
    model = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(ONNXExportError, match="opset must be one of"):
        export_onnx(model, tmp_path / "x.onnx", (2,), opset=9)
    with pytest.raises(ONNXExportError, match="input_shape"):
        export_onnx(model, tmp_path / "x.onnx", (0,))
