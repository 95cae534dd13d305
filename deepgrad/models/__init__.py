"""Reference models: Caffe's MNIST LeNet, a deeply supervised LeNet, and an MLP builder."""

from deepgrad.models.lenet import DeeplySupervisedLeNet, LeNet, caffe_xavier_
from deepgrad.models.mlp import mlp

__all__ = ["LeNet", "DeeplySupervisedLeNet", "caffe_xavier_", "mlp"]
