import numpy as np
import pytest

import deepgrad as dg
from deepgrad.gradcheck import gradcheck
from deepgrad.models import VGG, ResNet
from deepgrad.nn import functional as F


def _images(n, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).random((n, 1, 28, 28)).astype(dtype)


def test_vgg_shapes_parameters_and_repr():
    model = VGG(widths=(8, 16), convs_per_stage=2, generator=0)
    assert model(dg.tensor(_images(3))).shape == (3, 10)
    # convolutions without bias, one BN (scale + shift) per conv, the classifier
    convs = 1 * 8 * 9 + 8 * 8 * 9 + 8 * 16 * 9 + 16 * 16 * 9
    assert model.num_parameters() == convs + 2 * (8 + 8 + 16 + 16) + 16 * 10 + 10
    assert "widths=(8, 16), convs_per_stage=2" in repr(model)


def test_resnet_shapes_parameters_and_shortcuts():
    model = ResNet(widths=(4, 8), blocks_per_stage=2, generator=0)
    assert model(dg.tensor(_images(2))).shape == (2, 10)
    blocks = list(model.blocks)
    assert blocks[0].shortcut is None and blocks[1].shortcut is None
    assert blocks[2].shortcut is not None and blocks[3].shortcut is None  # projection once
    assert blocks[2].conv1.stride == (2, 2) and blocks[2].shortcut[0].stride == (2, 2)
    stem = 1 * 4 * 9 + 2 * 4
    stage1 = 2 * (2 * 4 * 4 * 9 + 2 * 2 * 4)
    stage2 = (4 * 8 * 9 + 8 * 8 * 9 + 2 * 2 * 8) + (4 * 8 + 2 * 8) + (2 * 8 * 8 * 9 + 2 * 2 * 8)
    assert model.num_parameters() == stem + stage1 + stage2 + 8 * 10 + 10


@pytest.mark.parametrize("make,match", [
    (lambda: VGG(widths=(8, 16))(dg.tensor(np.zeros((2, 784), np.float32))),
     r"VGG\(num_classes=10, in_channels=1, widths=\(8, 16\), convs_per_stage=2\): expected "
     r"input of shape \(N, 1, 28, 28\), got \(2, 784\)"),
    (lambda: ResNet(widths=(4,))(dg.tensor(np.zeros((2, 3, 28, 28), np.float32))),
     r"ResNet\(.*\): expected input of shape \(N, 1, 28, 28\), got \(2, 3, 28, 28\)"),
    (lambda: VGG(widths=(8, 0)), r"VGG: widths must be a positive integer or a non-empty"),
    (lambda: VGG(widths=(2, 2, 2, 2, 2)), r"VGG: at most 4 stages"),
    (lambda: ResNet(blocks_per_stage=0), r"ResNet: blocks_per_stage must be a positive"),
    (lambda: VGG(dropout=1.0), r"VGG: dropout must be a probability"),
])
def test_errors_name_the_model_expected_and_actual(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def _loss_of(model, x, labels):
    return F.cross_entropy(model(x), dg.tensor(labels))


@pytest.mark.parametrize("make", [
    lambda: VGG(widths=(2, 3), convs_per_stage=1, dropout=0.0, generator=1),
    lambda: ResNet(widths=(2, 3), blocks_per_stage=1, generator=1),
])
def test_gradients_match_finite_differences_in_float64(make):
    model = make().double()
    x = dg.tensor(_images(3, seed=2, dtype=np.float64))
    labels = np.array([1, 4, 7])
    # the input gradient, in reverse and forward mode, through BN (training mode) and all:
    # checked along per-image row and column offsets added to the images (168 numbers
    # rather than 2352, which keeps the finite differences quick)
    rows = dg.tensor(np.random.default_rng(3).normal(size=(3, 1, 28, 1)), requires_grad=True)
    cols = dg.tensor(np.random.default_rng(4).normal(size=(3, 1, 1, 28)), requires_grad=True)
    assert gradcheck(lambda r, c: _loss_of(model, x + r + c, labels), [rows, cols],
                     atol=1e-6, rtol=1e-4)
    # parameter gradients: central differences at a few entries of every parameter
    loss = _loss_of(model, x, labels)
    model.zero_grad()
    loss.backward()
    rng = np.random.default_rng(0)
    for name, p in model.named_parameters():
        for flat in rng.choice(p.size, size=min(2, p.size), replace=False):
            index = np.unravel_index(flat, p.shape)
            keep = p.data[index]
            p.data[index] = keep + 1e-6
            plus = _loss_of(model, x, labels).item()
            p.data[index] = keep - 1e-6
            minus = _loss_of(model, x, labels).item()
            p.data[index] = keep
            numeric = (plus - minus) / 2e-6
            assert abs(p.grad.data[index] - numeric) <= 1e-6 + 1e-4 * abs(numeric), name


def _torch_vgg(torch, widths, per):
    nn, layers, channels = torch.nn, [], 1
    for s, width in enumerate(widths):
        for _ in range(per):
            layers += [nn.Conv2d(channels, width, 3, padding=1, bias=False),
                       nn.BatchNorm2d(width), nn.ReLU()]
            channels = width
        if s + 1 < len(widths):
            layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(channels, 10))


def _torch_resnet(torch, widths, per):
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                           nn.BatchNorm2d(cout))
                             if stride != 1 or cin != cout else None)

        def forward(self, x):
            h = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            return torch.relu(h + (x if self.shortcut is None else self.shortcut(x)))

    blocks, channels = [], widths[0]
    for s, width in enumerate(widths):
        for b in range(per):
            blocks.append(Block(channels, width, 2 if s > 0 and b == 0 else 1))
            channels = width
    return nn.Sequential(nn.Conv2d(1, widths[0], 3, 1, 1, bias=False),
                         nn.BatchNorm2d(widths[0]), nn.ReLU(), *blocks,
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 10))


@pytest.mark.parametrize("kind", ["vgg", "resnet"])
def test_forward_and_backward_match_torch(kind):
    torch = pytest.importorskip("torch")
    if kind == "vgg":
        model, ref = VGG(widths=(4, 8), generator=3), _torch_vgg(torch, (4, 8), 2)
    else:
        model, ref = ResNet(widths=(4, 8), generator=3), _torch_resnet(torch, (4, 8), 2)
    model, ref = model.double(), ref.double()
    ours, theirs = list(model.named_parameters()), list(ref.named_parameters())
    assert [p.shape for _, p in ours] == [tuple(q.shape) for _, q in theirs]
    with torch.no_grad():
        for (_, p), (_, q) in zip(ours, theirs):
            q.copy_(torch.tensor(p.data))
    x = _images(6, seed=5, dtype=np.float64)
    labels = np.random.default_rng(6).integers(0, 10, 6)
    loss = _loss_of(model, dg.tensor(x), labels)
    loss.backward()
    t_loss = torch.nn.functional.cross_entropy(ref(torch.tensor(x)), torch.tensor(labels))
    t_loss.backward()
    np.testing.assert_allclose(loss.item(), t_loss.item(), rtol=1e-12)
    for (name, p), (_, q) in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-8, atol=1e-11,
                                   err_msg=name)
    # running statistics follow the same update; eval mode gives the same logits
    model.eval()
    ref.eval()
    with torch.no_grad():
        np.testing.assert_allclose(model(dg.tensor(x)).data, ref(torch.tensor(x)).numpy(),
                                   rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["vgg", "resnet"])
def test_onnx_export_matches_onnxruntime(kind, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from deepgrad.io.onnx import export_onnx

    model = (VGG(widths=(4, 8), dropout=0.2, generator=0) if kind == "vgg"
             else ResNet(widths=(4, 8), generator=0))
    # a few training steps' worth of running statistics, so eval-mode BN is not the identity
    for seed in range(2):
        model(dg.tensor(_images(8, seed=seed) * 3 + 1))
    model.eval()
    path = tmp_path / f"{kind}.onnx"
    export_onnx(model, str(path), input_shape=(1, 28, 28))
    x = _images(5, seed=9)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, model(dg.tensor(x)).data, rtol=1e-4, atol=1e-5)
