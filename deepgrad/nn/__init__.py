"""deepgrad.nn: modules (layers, activations, losses), functional math, initializers."""

from deepgrad.nn import functional, init, utils
from deepgrad.nn.linear import Flatten, Identity, Linear
from deepgrad.nn.module import Module, ModuleList, Parameter, Sequential
from deepgrad.nn.activation import (ELU, GELU, SELU, LeakyReLU, LogSoftmax, PReLU, ReLU,
                                    Sigmoid, SiLU, SobolevaTanh, Softmax, Softplus, Step, Swish,
                                    Tanh)
from deepgrad.nn.dropout import Dropout, GaussianNoise
from deepgrad.nn.gated import GEGLU, GLU, ReGLU, SwiGLU
from deepgrad.nn.loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HingeLoss,
                              L1Loss, MSELoss, MultiMarginLoss, NLLLoss, PerceptronLoss,
                              elastic_net, l1_penalty, l2_penalty)
from deepgrad.nn.norm import BatchNorm1d, BatchNorm2d, LayerNorm
from deepgrad.nn.conv import Conv2d
from deepgrad.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, GlobalAvgPool2d, MaxPool2d
from deepgrad.nn.graph import Add, Concat, GraphModel

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
]
