"""LeNet as in Caffe's MNIST example, and a deeply supervised variant with a side classifier.

Caffe's lenet_train_test.prototxt, for 28x28 single-channel images:

    conv1  Conv2d(1, 20, 5)            -> (N, 20, 24, 24)
    pool1  MaxPool2d(2, stride=2)      -> (N, 20, 12, 12)
    conv2  Conv2d(20, 50, 5)           -> (N, 50, 8, 8)
    pool2  MaxPool2d(2, stride=2)      -> (N, 50, 4, 4)    flattened to 800
    ip1    Linear(800, 500), ReLU
    ip2    Linear(500, 10)             -> logits (N, 10)

There is no nonlinearity after the convolutions (as in Caffe). Weights use Caffe's "xavier"
filler, U(-sqrt(3 / fan_in), sqrt(3 / fan_in)) (variance 1 / fan_in), biases are 0.
Parameters: 520 + 25,050 + 400,500 + 5,010 = 431,080.
"""

from __future__ import annotations

import math

from deepgrad import ops
from deepgrad.nn import Conv2d, Linear, MaxPool2d, Module, init
from deepgrad.nn.module import run_pair
from deepgrad.random import get_generator
from deepgrad.registry import register

__all__ = ["LeNet", "DeeplySupervisedLeNet", "caffe_xavier_"]


def caffe_xavier_(tensor, fan_in: int, generator=None):
    """Caffe's "xavier" filler (variance_norm FAN_IN): U(-a, a) with a = sqrt(3 / fan_in), so
    that Var = a^2 / 3 = 1 / fan_in."""
    limit = math.sqrt(3.0 / fan_in)
    return init.uniform_(tensor, -limit, limit, generator=generator)


@register("model")
class LeNet(Module):
    """Caffe's MNIST LeNet (see the module docstring) for (N, in_channels, 28, 28) inputs.

    Returns logits (N, num_classes); pair it with CrossEntropyLoss.
    """

    input_size = (28, 28)

    def __init__(self, num_classes: int = 10, in_channels: int = 1, generator=None):
        super().__init__()
        self.in_channels, self.num_classes = in_channels, num_classes
        rng = get_generator(generator)
        self.conv1 = Conv2d(in_channels, 20, 5, generator=rng)
        self.pool1 = MaxPool2d(2, stride=2)
        self.conv2 = Conv2d(20, 50, 5, generator=rng)
        self.pool2 = MaxPool2d(2, stride=2)
        self.ip1 = Linear(50 * 4 * 4, 500, generator=rng)
        self.ip2 = Linear(500, num_classes, generator=rng)
        LeNet.reset_parameters(self, rng)

    def reset_parameters(self, generator=None) -> None:
        """Xavier (Caffe) weights and zero biases for every layer, from one generator."""
        rng = get_generator(generator)
        for layer in (self.conv1, self.conv2, self.ip1, self.ip2):
            fan_in = layer.weight.size // layer.weight.shape[0]
            caffe_xavier_(layer.weight, fan_in, generator=rng)
            init.zeros_(layer.bias)

    def fusable_pairs(self) -> list:
        """The convolution + pooling pairs nn.fuse(model) may run as one primitive."""
        return [(self.conv1, self.pool1), (self.conv2, self.pool2)]

    def _check_input(self, x):
        expected = (self.in_channels,) + self.input_size
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"{type(self).__name__}(num_classes={self.num_classes}, "
                             f"in_channels={self.in_channels}): expected input of shape "
                             f"(N, {expected[0]}, {expected[1]}, {expected[2]}), got "
                             f"{tuple(x.shape)}")

    def features(self, x):
        """The first stage, conv1 + pool1: (N, in_channels, 28, 28) -> (N, 20, 12, 12)."""
        self._check_input(x)
        return run_pair(self.conv1, self.pool1, x)  # one primitive after nn.fuse(model)

    def head(self, h):
        """conv2, pool2 and the classifier: (N, 20, 12, 12) -> logits (N, num_classes)."""
        h = run_pair(self.conv2, self.pool2, h)
        h = ops.relu(self.ip1(ops.flatten(h, 1)))
        return self.ip2(h)

    def forward(self, x):
        return self.head(self.features(x))

    def onnx_layers(self) -> list:
        """The forward pass as a chain of layers (ONNX export); the side head of the deeply
        supervised variant is a training-time output and is not part of it."""
        from deepgrad.nn import Flatten, ReLU

        return [self.conv1, self.pool1, self.conv2, self.pool2, Flatten(1), self.ip1, ReLU(),
                self.ip2]


@register("model")
class DeeplySupervisedLeNet(LeNet):
    """LeNet with a side classifier after pool1 (deep supervision, Lee et al. 2015).

    aux = Linear(20 * 12 * 12, num_classes) applied to the flattened pool1 output.

    forward(x) in training mode returns (main_logits, aux_logits); in eval mode it returns the
    main logits only, so evaluation, prediction and export see an ordinary classifier. Train it
    with L = L_main + alpha * L_aux (`loss_weights` = (1, alpha), the order of the outputs),
    e.g. cross-entropy for both terms; the side loss sends a direct gradient to conv1.
    The side classifier adds 28,810 parameters (431,080 + 28,810 = 459,890 in all).
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, alpha: float = 0.3,
                 generator=None):
        if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or alpha < 0:
            raise ValueError(f"DeeplySupervisedLeNet: alpha (the weight of the side loss) must "
                             f"be a non-negative number, got {alpha!r}")
        rng = get_generator(generator)
        super().__init__(num_classes, in_channels, generator=rng)
        self.alpha = float(alpha)
        self.aux = Linear(20 * 12 * 12, num_classes, generator=rng)
        self._reset_aux(rng)

    @property
    def loss_weights(self) -> tuple:
        """Weights of the losses of (main_logits, aux_logits): L = L_main + alpha L_aux."""
        return (1.0, self.alpha)

    def reset_parameters(self, generator=None) -> None:
        rng = get_generator(generator)
        super().reset_parameters(rng)
        self._reset_aux(rng)

    def _reset_aux(self, rng) -> None:
        caffe_xavier_(self.aux.weight, self.aux.in_features, generator=rng)
        init.zeros_(self.aux.bias)

    def forward(self, x):
        h = self.features(x)
        main = self.head(h)
        if not self.training:
            return main
        return main, self.aux(ops.flatten(h, 1))

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"
