"""augmentation — the train/test gap with and without data augmentation on Fashion-MNIST.

backprop-tensor-derivatives-and-init.txt, "Lecture 6: Regularizations and training neural
networks": the regularizations listed are L1 + L2, dataset augmentation, model ensembles /
bagging and dropout. Augmentation enlarges a small training set with label-preserving changes
of its images, so the network cannot memorize the exact pixels.

Setup: a slice of Fashion-MNIST (1,000 training images, 500 in quick mode; 2,000 test images),
an MLP 784 -> 256 -> 256 -> 10 (ReLU), mini-batches of 50, Adam (lr 1e-3), the same initial
weights and batch order with and without augmentation. The augmentation is
`Compose([RandomCrop(28, padding=2), RandomHorizontalFlip()])` from deepgrad.data.transforms
(torchvision's names), applied to every training batch with a fresh draw (shifts of up to two
pixels, mirror images: a mirrored shirt is still a shirt). The gap is measured on the clean
training images vs the test images, in eval mode, every epoch and over several seeds.
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad import nn, optim
from deepgrad.data import load_fashion_mnist
from deepgrad.data.transforms import Compose, RandomCrop, RandomHorizontalFlip
from deepgrad.nn import functional as F
from deepgrad.studies._common import evaluate, finish, markdown_table
from deepgrad.studies._slides import claim_table, legend_outside, slide_figure
from deepgrad.tensor import Tensor

NAME = "augmentation"
SOURCE = "backprop-tensor-derivatives-and-init.txt, Lecture 6: Regularizations"
BATCH = 50


def build(seed: int):
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256, generator=seed), nn.ReLU(),
                         nn.Linear(256, 256, generator=seed + 1), nn.ReLU(),
                         nn.Linear(256, 10, generator=seed + 2))


def train(x, y, x_test, y_test, epochs: int, seed: int, augment=None):
    """Per-epoch (train loss, train accuracy, test loss, test accuracy), all in eval mode."""
    model = build(seed)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    order_rng, augment_rng = np.random.default_rng(seed), np.random.default_rng(seed + 1)
    curve = []
    for _ in range(epochs):
        order = order_rng.permutation(len(x))
        model.train()
        for start in range(0, len(x), BATCH):
            batch = order[start:start + BATCH]
            xb = x[batch] if augment is None else augment(x[batch], generator=augment_rng)
            loss = F.cross_entropy(model(Tensor(xb)), Tensor(y[batch]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        curve.append(evaluate(model, x, y, F.cross_entropy)
                     + evaluate(model, x_test, y_test, F.cross_entropy))
    return np.array(curve)


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    seeds, epochs, train_size = (3, 12, 500) if quick else (5, 60, 1000)
    images, labels = load_fashion_mnist("train")
    test_images, test_labels = load_fashion_mnist("test")
    augment = Compose([RandomCrop(28, padding=2), RandomHorizontalFlip()])
    curves = {"plain": [], "augmented": []}
    for s in range(seeds):
        rng = np.random.default_rng(seed + s)
        pick = rng.choice(len(images), train_size, replace=False)
        test_pick = rng.choice(len(test_images), 2000, replace=False)
        data = (images[pick], labels[pick], test_images[test_pick], test_labels[test_pick])
        curves["plain"].append(train(*data, epochs, 100 * (seed + s)))
        curves["augmented"].append(train(*data, epochs, 100 * (seed + s), augment))
    final = {k: np.array([c[-1] for c in v]) for k, v in curves.items()}  # (seeds, 4)
    gap = {k: v[:, 2] - v[:, 0] for k, v in final.items()}               # test - train loss
    accuracy_gap = {k: v[:, 1] - v[:, 3] for k, v in final.items()}
    numbers = {"loss_gap": {k: v.tolist() for k, v in gap.items()},
               "accuracy_gap": {k: v.tolist() for k, v in accuracy_gap.items()},
               "test_accuracy": {k: v[:, 3].tolist() for k, v in final.items()},
               "train_accuracy": {k: v[:, 1].tolist() for k, v in final.items()},
               "seeds": seeds, "epochs": epochs}
    figures = _figures(out_dir, curves, train_size, seeds)
    smaller = int(np.sum(gap["augmented"] < gap["plain"]))
    better = int(np.sum(final["augmented"][:, 3] >= final["plain"][:, 3]))
    claims = [
        ("Regularizations: ... Dataset augmentation", SOURCE,
         f"after {epochs} epochs, test - train cross-entropy {gap['plain'].mean():.3f} without "
         f"vs {gap['augmented'].mean():.3f} with augmentation (smaller in {smaller}/{seeds} "
         f"seeds); train - test accuracy {accuracy_gap['plain'].mean():.3f} vs "
         f"{accuracy_gap['augmented'].mean():.3f}; test accuracy "
         f"{final['plain'][:, 3].mean():.3f} vs {final['augmented'][:, 3].mean():.3f} (as good "
         f"or better in {better}/{seeds})", smaller == seeds),
    ]
    rows = [[name, v[:, 0].mean(), v[:, 1].mean(), v[:, 2].mean(), v[:, 3].mean(),
             gap[name].mean(), accuracy_gap[name].mean()] for name, v in final.items()]
    sections = [
        ("Claims", claim_table(claims)),
        (f"After {epochs} epochs (mean of {seeds} seeds, {train_size} training images)",
         markdown_table(["training", "train loss", "train accuracy", "test loss",
                         "test accuracy", "loss gap", "accuracy gap"], rows)),
    ]
    return finish(NAME, out_dir, quick, "Data augmentation: train/test gap",
                  __doc__.split("\n\n", 1)[1], sections, figures, numbers)


def _figures(out_dir, curves, train_size, seeds):
    path = os.path.join(out_dir, "augmentation.png")
    colors = {"plain": "tab:blue", "augmented": "tab:orange"}
    with slide_figure(path, 1, 2, f"MLP 784-256-256-10 on {train_size} Fashion-MNIST images, "
                      f"with and without RandomCrop(28, padding=2) + RandomHorizontalFlip "
                      f"(mean of {seeds} seeds)", panel_size=(5.2, 4.0)) as axes:
        for name, runs in curves.items():
            mean = np.mean(runs, axis=0)
            epochs = np.arange(1, len(mean) + 1)
            axes[0].plot(epochs, mean[:, 0], "--", color=colors[name], label=f"{name}: train")
            axes[0].plot(epochs, mean[:, 2], "-", color=colors[name], label=f"{name}: test")
            axes[1].plot(epochs, mean[:, 1], "--", color=colors[name], label=f"{name}: train")
            axes[1].plot(epochs, mean[:, 3], "-", color=colors[name], label=f"{name}: test")
        axes[0].set(xlabel="epoch", ylabel="cross-entropy (eval mode)", yscale="log",
                    title="loss")
        axes[1].set(xlabel="epoch", ylabel="accuracy", title="accuracy")
        legend_outside(axes[0], "below", ncol=2)
        legend_outside(axes[1], "below", ncol=2)
    return [path]
