"""Reference models: Caffe's MNIST LeNet, a deeply supervised LeNet, an MLP builder, and small
modern CNNs (a VGG-style network and a ResNet) for 28x28 images."""

from deepgrad.models.cnn import VGG, BasicBlock, ResNet
from deepgrad.models.lenet import DeeplySupervisedLeNet, LeNet, caffe_xavier_
from deepgrad.models.mlp import mlp

__all__ = ["LeNet", "DeeplySupervisedLeNet", "caffe_xavier_", "mlp", "VGG", "ResNet",
           "BasicBlock"]
