"""deepgrad.studies: one-command reproductions of the course experiments.

    from deepgrad.studies import STUDIES, run_study
    result = run_study("init", "runs/init", quick=True)
    result.figures, result.summary_path, result.numbers

Each study is a module with `run(out_dir, quick=False, seed=0) -> StudyResult`; it writes PNG
figures and a markdown summary (out_dir/summary.md) and returns its key numbers. Quick mode
(a few seconds) is what the test suite runs. What each study shows: docs/studies.md and the
modules' docstrings. The CLI runs them as `deepgrad study NAME [--quick] [--out DIR]`.
"""

from __future__ import annotations

import importlib
import os
from collections import OrderedDict, namedtuple

from deepgrad import registry
from deepgrad.registry import register
from deepgrad.studies._common import StudyResult

Study = namedtuple("Study", ["name", "module", "description"])

STUDIES = OrderedDict((s.name, s) for s in [
    Study("init", "deepgrad.studies.init",
          "10 layers of 500 tanh/ReLU units, std 0.01 / 1 / Xavier / He: activations, dL/dW"),
    Study("symmetry", "deepgrad.studies.symmetry",
          "constant initialization: hidden units stay identical"),
    Study("batchnorm", "deepgrad.studies.batchnorm",
          "6-layer network, eta 0.01/0.5 and a rate sweep, with and without batch norm"),
    Study("capacity", "deepgrad.studies.capacity",
          "decision boundaries for 3..100 hidden units, several inits, L2; big+L2 vs small"),
    Study("approximation", "deepgrad.studies.approximation",
          "3 tanh units fitting |x|, x^2, sin(x) and a step (and sin(pi x))"),
    Study("activations", "deepgrad.studies.activations",
          "learning curves with eight activation functions"),
    Study("deep-supervision", "deepgrad.studies.deep_supervision",
          "LeNet with and without a side loss: mean |gradient| per layer, test error"),
    Study("optimizers", "deepgrad.studies.optimizers",
          "SGD, momentum, Nesterov, RMSprop, Adam in a ravine (two regimes) and on "
          "Fashion-MNIST"),
    Study("perceptron", "deepgrad.studies.perceptron",
          "Rosenblatt's perceptron and Widrow-Hoff's ADALINE on separable data"),
    Study("autodiff", "deepgrad.studies.autodiff",
          "forward and reverse evaluation traces of ln(x1) + x1 x2 - sin(x2)"),
    # learning dynamics, initialization, normalization (issue 16)
    Study("cross-entropy", "deepgrad.studies.cost",
          "one saturated sigmoid neuron: quadratic cost vs cross-entropy"),
    Study("vanishing-gradients", "deepgrad.studies.vanishing",
          "a chain of 4 sigmoid units: gradients decay per layer, the last layers learn"),
    Study("exploding-gradients", "deepgrad.studies.exploding",
          "exploding gradients, cured by a smaller rate or by clipping (norm, value)"),
    Study("init-training", "deepgrad.studies.init_training",
          "which initialization trains: six schemes x four activations, LSUV-style table"),
    Study("input-normalization", "deepgrad.studies.input_norm",
          "cost contours and gradient descent with raw vs standardized inputs"),
    Study("activation-pathologies", "deepgrad.studies.pathologies",
          "sigmoid's zig-zag updates; dead ReLUs from a negative bias or a large step"),
    Study("batch-size", "deepgrad.studies.batch_size",
          "batch vs mini-batch vs stochastic gradient descent; running averages"),
    Study("numerical-differentiation", "deepgrad.studies.numdiff",
          "finite-difference error vs step (V curve), expression swell, an AD exercise"),
    Study("backprop-examples", "deepgrad.studies.backprop_examples",
          "the notes' worked backprop examples and BN/LN backward formulas vs autodiff"),
    # capacity, overfitting and regularization (issue 17)
    Study("polynomial", "deepgrad.studies.polynomial",
          "Bishop's curve fitting: degree M = 0..9, N = 10/15/100 points, L2 penalty"),
    Study("cross-validation", "deepgrad.studies.cross_validation",
          "holdout vs 5-fold estimates when choosing the number of hidden units"),
    Study("bias-variance", "deepgrad.studies.bias_variance",
          "bias^2 + variance + noise vs hidden units, exact and by bootstrap"),
    Study("bagging", "deepgrad.studies.bagging",
          "variance of B averaged bootstrap members vs (1 - rho) sigma^2 / B + rho sigma^2"),
    Study("early-stopping", "deepgrad.studies.early_stopping",
          "diabetes data: validation loss falls then rises, patience and restore-best, RMSE"),
    Study("weight-decay", "deepgrad.studies.weight_decay",
          "the (1 - 2 lambda eta) shrinkage, L1 / L2 / elastic net sparsity, input noise ~ L2"),
    Study("dropout", "deepgrad.studies.dropout",
          "train/test gap for p = 0, 0.2, 0.5; weight scaling vs averaging thinned networks"),
    Study("multiplication", "deepgrad.studies.multiplication",
          "Lin and Tegmark's 4-unit multiplication gate: error vs lambda, a trained 2-4-1 net"),
])


# the table above is the studies' registration (kind "study" of deepgrad.registry)
for _study in STUDIES.values():
    register("study", _study.name)(_study)


def get_study(name: str):
    """The module of study `name` (imported on first use)."""
    if not registry.contains("study", name):
        raise ValueError(f"unknown study {name!r}{registry.suggest(name, STUDIES)}; "
                         f"available: {', '.join(STUDIES)}")
    return importlib.import_module(registry.lookup("study", name).module)


def run_study(name: str, out_dir, quick: bool = False, seed: int = 0) -> StudyResult:
    """Run study `name`, writing its figures and out_dir/summary.md; returns a StudyResult
    (figures, summary_path, numbers)."""
    module = get_study(name)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"run_study: seed must be a non-negative integer, got {seed!r}")
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    return module.run(out_dir, quick=bool(quick), seed=seed)


__all__ = ["STUDIES", "Study", "StudyResult", "get_study", "run_study"]
