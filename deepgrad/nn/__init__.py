"""deepgrad.nn: modules (layers, activations, losses), functional math, initializers."""

from deepgrad.nn import functional, init, utils
from deepgrad.nn.linear import Flatten, Identity, Linear, Unflatten
from deepgrad.nn.module import (Module, ModuleDict, ModuleList, Parameter, ParameterList,
                                Sequential)
from deepgrad.nn.activation import (ELU, GELU, SELU, Hardsigmoid, Hardswish, Hardtanh,
                                    LeakyReLU, LogSigmoid, LogSoftmax, Mish, PReLU, ReLU, ReLU6,
                                    Sigmoid, SiLU, SobolevaTanh, Softmax, Softmax2d, Softplus,
                                    Softsign, Step, Swish, Tanh, Tanhshrink)
from deepgrad.nn.dropout import Dropout, GaussianNoise
from deepgrad.nn.gated import GEGLU, GLU, ReGLU, SwiGLU
from deepgrad.nn.loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HingeLoss,
                              L1Loss, MSELoss, MultiMarginLoss, NLLLoss, PerceptronLoss,
                              elastic_net, l1_penalty, l2_penalty)
from deepgrad.nn.norm import BatchNorm1d, BatchNorm2d, LayerNorm
from deepgrad.nn.conv import Conv2d
from deepgrad.nn.conv_variants import Conv1d, ConvTranspose2d
from deepgrad.nn.embedding import Embedding
from deepgrad.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, GlobalAvgPool2d, MaxPool2d
from deepgrad.nn.graph import Add, Concat, GraphModel
from deepgrad.nn.fusion import fuse, unfuse

__all__ = [
    "functional", "init", "Module", "Parameter", "Sequential", "ModuleList", "Linear",
    "Identity", "Flatten",
    "Step", "Sigmoid", "Tanh", "SobolevaTanh", "ReLU", "LeakyReLU", "PReLU", "ELU", "SELU",
    "GELU", "Softplus", "SiLU", "Swish", "Softmax", "LogSoftmax", "GLU", "ReGLU", "GEGLU",
    "SwiGLU", "Dropout", "GaussianNoise",
    "MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss",
    "MultiMarginLoss", "HingeLoss", "PerceptronLoss", "l1_penalty", "l2_penalty", "elastic_net",
    "BatchNorm1d", "BatchNorm2d", "LayerNorm",
    "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "GlobalAvgPool2d",
    "GraphModel", "Add", "Concat",
    "ModuleDict", "ParameterList", "Unflatten", "ReLU6", "Hardtanh", "Hardsigmoid", "Hardswish",
    "Mish", "Softsign", "LogSigmoid", "Tanhshrink", "Softmax2d", "Conv1d", "ConvTranspose2d",
    "Embedding", "fuse", "unfuse",
]
