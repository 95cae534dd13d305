"""One Fashion-MNIST training epoch (60,000 images, 469 batches of 128) of a 784-256-256-10
ReLU MLP with SGD (lr 0.01, momentum 0.9) in float32:

    deepgrad Trainer.fit     the Keras-style loop with its DataLoader, metrics and callbacks
    deepgrad plain loop      for x, y in loader: zero_grad, loss, backward, step
    pytorch                  the same loop on torch tensors (batches by index, no DataLoader
                             collation), torch.set_num_threads(cores)

measured in the same run, interleaved: each repeat runs one epoch of each, after a pause, and
the ratio to PyTorch is taken within each repeat (the median over `--repeats` is reported, which
a slow spell of a shared machine disturbs far less than a ratio of separate bests).
Goal: deepgrad <= 0.8x PyTorch's time.
`python benchmarks/bench_mlp_epoch.py --profile` prints a cProfile of the Trainer epoch.
On a machine shared with other jobs, multi-threaded BLAS can slow down several-fold; compare
with `OPENBLAS_NUM_THREADS=1` (PyTorch then follows with `--threads 1`).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from timing import import_torch, paired_ratios, report, rotated  # noqa: E402

from deepgrad import nn, optim  # noqa: E402
from deepgrad.data import DataLoader, TensorDataset, load_fashion_mnist  # noqa: E402
from deepgrad.nn import functional as F  # noqa: E402
from deepgrad.training import Trainer  # noqa: E402

SIZES = (784, 256, 256, 10)
BATCH = 128
LR, MOMENTUM = 0.01, 0.9


def _data():
    x, y = load_fashion_mnist("train", flatten=True)      # float32 in [0, 1], int64 labels
    return x, y


def _model(seed=0):
    gen = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(784, 256, generator=gen), nn.ReLU(),
                         nn.Linear(256, 256, generator=gen), nn.ReLU(),
                         nn.Linear(256, 10, generator=gen))


def deepgrad_trainer_epoch(x, y):
    model = _model()
    trainer = Trainer(model, "cross_entropy",
                      optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM))
    loader = DataLoader(TensorDataset(x, y), BATCH, shuffle=True, generator=1)

    def epoch():
        return trainer.fit(loader, epochs=1, verbose=0).history["loss"][0]

    return epoch


def deepgrad_plain_epoch(x, y):
    model = _model()
    optimizer = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loader = DataLoader(TensorDataset(x, y), BATCH, shuffle=True, generator=1)

    def epoch():
        total = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += float(loss.data) * len(xb)
        return total / len(x)

    return epoch


def torch_epoch(torch, x, y):
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10))
    with torch.no_grad():  # the same initial weights as deepgrad's
        for p, q in zip(model.parameters(), _model().parameters()):
            p.copy_(torch.from_numpy(q.data))
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    order = np.random.default_rng(1)

    def epoch():
        total = 0.0
        perm = torch.from_numpy(order.permutation(len(x)))
        for start in range(0, len(x), BATCH):
            idx = perm[start:start + BATCH]
            xb, yb = xt[idx], yt[idx]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(idx)
        return total / len(x)

    return epoch


def _interleaved(epochs: dict, repeats: int, pause: float = 0.5):
    """Times and losses of each epoch function, running them in turn (A, B, C, B, C, A, ...)
    so that a change of machine load affects all of them alike."""
    times = {name: [] for name in epochs}
    losses = {name: [] for name in epochs}
    names = list(epochs)
    for r in range(repeats):
        for name in rotated(names, r):
            epoch = epochs[name]
            time.sleep(pause)  # let the previous library's worker threads stop spinning
            start = time.perf_counter()
            losses[name].append(epoch())
            times[name].append(time.perf_counter() - start)
    return times, losses


def profile_trainer_epoch(x, y, top=18):
    """cProfile one Trainer epoch, sorted by own time."""
    epoch = deepgrad_trainer_epoch(x, y)
    profiler = cProfile.Profile()
    profiler.enable()
    epoch()
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def main(argv=None):
    parser = argparse.ArgumentParser(description="one Fashion-MNIST MLP epoch")
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: the number of cores)")
    args = parser.parse_args(argv if argv is not None else [])
    x, y = _data()
    if args.profile:
        profile_trainer_epoch(x, y)
        return {}
    torch = import_torch()
    if torch is not None and args.threads:
        torch.set_num_threads(args.threads)
    epochs = {"deepgrad Trainer.fit": deepgrad_trainer_epoch(x, y),
              "deepgrad plain loop": deepgrad_plain_epoch(x, y)}
    if torch is not None:
        epochs["pytorch"] = torch_epoch(torch, x, y)
    times, losses = _interleaved(epochs, args.repeats)
    rows = [(name, statistics.median(values)) for name, values in times.items()]
    numbers = report(f"MLP 784-256-256-10, one Fashion-MNIST epoch ({len(x)} images, batch "
                     f"{BATCH}, SGD momentum {MOMENTUM}, float32; median of {args.repeats})",
                     rows, baseline="pytorch" if torch is not None else None)
    for name, values in losses.items():
        print(f"  {name:<28} mean training loss per epoch: "
              + ", ".join(f"{v:.4f}" for v in values))
    if torch is not None:
        for name in ("deepgrad Trainer.fit", "deepgrad plain loop"):
            paired = paired_ratios(times, name, "pytorch")
            numbers[name + " / pytorch"] = paired
            print(f"  {name} / pytorch: {paired:.2f}x, median of {args.repeats} paired "
                  "epochs (goal <= 0.80x)")
    return numbers


if __name__ == "__main__":
    main(sys.argv[1:])
