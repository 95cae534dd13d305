"""Small modern CNNs for 28x28 images: a VGG-style network and a ResNet with basic blocks.

Both use 3x3 convolutions without bias followed by BatchNorm2d and ReLU (the batch norm's
shift replaces the bias), end in global average pooling and one Linear classifier, and take
their width and depth as arguments.

    VGG(widths=(32, 64, 128), convs_per_stage=2):
        stage s: convs_per_stage x [Conv2d(3x3, padding 1) -> BatchNorm2d -> ReLU], then
        MaxPool2d(2) after every stage but the last: 28 -> 14 -> 7
        GlobalAvgPool2d -> Dropout(dropout) -> Linear(widths[-1], num_classes)

    ResNet(widths=(16, 32, 64), blocks_per_stage=2):
        stem Conv2d(in, widths[0], 3x3) -> BatchNorm2d -> ReLU
        stage s: blocks_per_stage BasicBlocks; the first block of every stage after the
        first halves the resolution (stride 2) and widens the channels, its shortcut is a
        1x1 convolution with stride 2 + BatchNorm2d (projection); other shortcuts are the
        identity. 28 -> 14 -> 7
        GlobalAvgPool2d -> Linear(widths[-1], num_classes)

    BasicBlock(x) = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))   (He et al. 2016)

Weights: Kaiming-normal (fan_out, ReLU gain) for convolutions, batch-norm scale 1 and shift 0,
the Linear layer as PyTorch's default; everything drawn from one generator.
"""

from __future__ import annotations

import math
import numbers

from deepgrad import ops
from deepgrad.nn import (BatchNorm2d, Conv2d, Dropout, GlobalAvgPool2d, Linear, MaxPool2d,
                         Module, ReLU, Sequential, init)
from deepgrad.random import get_generator
from deepgrad.registry import register

__all__ = ["VGG", "ResNet", "BasicBlock"]


def _check_sizes(name, key, values):
    values = tuple(values) if isinstance(values, (tuple, list)) else (values,)
    if not values or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                             and v > 0 for v in values):
        raise ValueError(f"{name}: {key} must be a positive integer or a non-empty list of "
                         f"them, got {values!r}")
    return tuple(int(v) for v in values)


def _check_count(name, key, value):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name}: {key} must be a positive integer, got {value!r}")
    return int(value)


def _conv3x3(in_channels, out_channels, stride, rng):
    return Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False,
                  generator=rng)


def _kaiming_init(model, rng):
    """Kaiming-normal (fan_out, gain sqrt(2)) convolutions, BN scale 1 / shift 0."""
    for module in model.modules():
        if isinstance(module, Conv2d):
            fan_out = module.out_channels * module.kernel_size[0] * module.kernel_size[1]
            init.normal_(module.weight, 0.0, math.sqrt(2.0 / fan_out), generator=rng)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, BatchNorm2d):
            init.ones_(module.weight)
            init.zeros_(module.bias)


class _ImageClassifier(Module):
    """Input check shared by the two networks: (N, in_channels, 28, 28)."""

    input_size = (28, 28)

    def _set_shape(self, name, num_classes, in_channels, widths, resolutions):
        self.widths = _check_sizes(name, "widths", widths)
        if len(self.widths) > 4:
            raise ValueError(f"{name}: at most 4 stages fit a 28x28 input ({resolutions}), "
                             f"got widths={self.widths!r}")
        self.num_classes = _check_count(name, "num_classes", num_classes)
        self.in_channels = _check_count(name, "in_channels", in_channels)

    def _check_input(self, x):
        expected = (self.in_channels,) + self.input_size
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"{self._describe()}: expected input of shape (N, {expected[0]}, "
                             f"{expected[1]}, {expected[2]}), got {tuple(x.shape)}")


@register("model")
class VGG(_ImageClassifier):
    """VGG-style network of conv-BN-ReLU stages with max pooling (see the module docstring).

    Args:
        num_classes: outputs (logits).
        in_channels: image channels.
        widths: channels of each stage; 28x28 inputs allow up to 3 stages before 7x7 maps
            would be pooled below 2x2 (each stage but the last halves the resolution).
        convs_per_stage: conv-BN-ReLU layers per stage.
        dropout: drop probability before the classifier (0 = none).
        generator: numpy Generator or int seed for the weights and the dropout masks.

    Shape: (N, in_channels, 28, 28) -> (N, num_classes).
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, widths=(32, 64, 128),
                 convs_per_stage: int = 2, dropout: float = 0.0, generator=None):
        super().__init__()
        self._set_shape("VGG", num_classes, in_channels, widths, "28 -> 14 -> 7 -> 3")
        self.convs_per_stage = _check_count("VGG", "convs_per_stage", convs_per_stage)
        if not isinstance(dropout, numbers.Real) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"VGG: dropout must be a probability in [0, 1), got {dropout!r}")
        self.dropout = float(dropout)
        rng = get_generator(generator)
        layers, channels = [], self.in_channels
        for s, width in enumerate(self.widths):
            for _ in range(self.convs_per_stage):
                layers += [_conv3x3(channels, width, 1, rng), BatchNorm2d(width), ReLU()]
                channels = width
            if s + 1 < len(self.widths):
                layers.append(MaxPool2d(2))
        self.features = Sequential(*layers)
        self.pool = GlobalAvgPool2d()
        self.drop = Dropout(self.dropout, generator=rng) if self.dropout > 0 else None
        self.classifier = Linear(channels, self.num_classes, generator=rng)
        _kaiming_init(self, rng)

    def onnx_layers(self) -> list:
        """The forward pass as a chain of layers (for ONNX export)."""
        return list(self.features) + [self.pool] + ([self.drop] if self.drop else []) + [
            self.classifier]

    def forward(self, x):
        self._check_input(x)
        h = self.pool(self.features(x))
        if self.drop is not None:
            h = self.drop(h)
        return self.classifier(h)

    def _describe(self):
        return (f"VGG(num_classes={self.num_classes}, in_channels={self.in_channels}, "
                f"widths={self.widths}, convs_per_stage={self.convs_per_stage})")

    def extra_repr(self) -> str:
        return f"widths={self.widths}, convs_per_stage={self.convs_per_stage}"


@register("layer")
class BasicBlock(Module):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); 3x3 convolutions, the first with
    `stride`. The shortcut is the identity when the shape is kept, else a 1x1 convolution with
    `stride` followed by BatchNorm2d (a projection)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, generator=None):
        super().__init__()
        rng = get_generator(generator)
        self.conv1 = _conv3x3(in_channels, out_channels, stride, rng)
        self.bn1 = BatchNorm2d(out_channels)
        self.conv2 = _conv3x3(out_channels, out_channels, 1, rng)
        self.bn2 = BatchNorm2d(out_channels)
        if stride != 1 or in_channels != out_channels:
            self.shortcut = Sequential(Conv2d(in_channels, out_channels, 1, stride=stride,
                                              bias=False, generator=rng),
                                       BatchNorm2d(out_channels))
        else:
            self.shortcut = None

    def onnx_branches(self):
        """(branches, after) for ONNX export: relu(main(x) + shortcut(x))."""
        main = [self.conv1, self.bn1, ReLU(), self.conv2, self.bn2]
        return [main, [] if self.shortcut is None else list(self.shortcut)], [ReLU()]

    def forward(self, x):
        h = ops.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return ops.relu(h + (x if self.shortcut is None else self.shortcut(x)))


@register("model")
class ResNet(_ImageClassifier):
    """A small ResNet of BasicBlocks for 28x28 images (see the module docstring).

    Args:
        num_classes: outputs (logits).
        in_channels: image channels.
        widths: channels of each stage; every stage after the first halves the resolution.
        blocks_per_stage: BasicBlocks per stage.
        generator: numpy Generator or int seed for the weights.

    Shape: (N, in_channels, 28, 28) -> (N, num_classes).
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, widths=(16, 32, 64),
                 blocks_per_stage: int = 2, generator=None):
        super().__init__()
        self._set_shape("ResNet", num_classes, in_channels, widths, "28 -> 14 -> 7 -> 4")
        self.blocks_per_stage = _check_count("ResNet", "blocks_per_stage", blocks_per_stage)
        rng = get_generator(generator)
        self.stem = Sequential(_conv3x3(self.in_channels, self.widths[0], 1, rng),
                               BatchNorm2d(self.widths[0]), ReLU())
        blocks, channels = [], self.widths[0]
        for s, width in enumerate(self.widths):
            for b in range(self.blocks_per_stage):
                stride = 2 if s > 0 and b == 0 else 1
                blocks.append(BasicBlock(channels, width, stride, generator=rng))
                channels = width
        self.blocks = Sequential(*blocks)
        self.pool = GlobalAvgPool2d()
        self.classifier = Linear(channels, self.num_classes, generator=rng)
        _kaiming_init(self, rng)

    def onnx_layers(self) -> list:
        """The forward pass as a chain of layers (for ONNX export)."""
        return list(self.stem) + list(self.blocks) + [self.pool, self.classifier]

    def forward(self, x):
        self._check_input(x)
        h = self.pool(self.blocks(self.stem(x)))
        return self.classifier(h)

    def _describe(self):
        return (f"ResNet(num_classes={self.num_classes}, in_channels={self.in_channels}, "
                f"widths={self.widths}, blocks_per_stage={self.blocks_per_stage})")

    def extra_repr(self) -> str:
        return f"widths={self.widths}, blocks_per_stage={self.blocks_per_stage}"
