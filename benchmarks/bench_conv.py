"""LeNet on Fashion-MNIST, deepgrad against PyTorch in the same run.

    .venv/bin/python benchmarks/bench_conv.py [--segment 20] [--batches N] [--layers]
                                              [--profile] [--steps 20]

The main measurement is one training epoch (60,000 images, 469 batches of 128, SGD with
momentum 0.9, float32) of Caffe's LeNet (deepgrad.models.LeNet with its convolution + pooling
pairs fused by nn.fuse; the same layers in PyTorch,
starting from the same weights), run by both libraries over the same shuffled batches. The
epoch is cut into segments of `--segment` batches that alternate between the libraries (which
one goes first alternates too), with a pause before each (BLAS and OpenMP threads spin for a
while after their last call), so that the slow and fast spells of a shared machine fall on
both alike. Reported: each library's
total epoch time, their ratio, and the median of the per-segment ratios. Both losses are
printed too: they follow each other (same data, same start).

--layers times the forward+backward of each convolution/pooling shape of LeNet alone;
--profile prints a cProfile of `--steps` deepgrad steps.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import deepgrad as dg  # noqa: E402
from deepgrad import nn  # noqa: E402
from deepgrad.data import load_fashion_mnist  # noqa: E402
from deepgrad.models import LeNet  # noqa: E402
from deepgrad.nn import functional as F  # noqa: E402
from deepgrad.optim import SGD  # noqa: E402
from bench_cnn import runners, torch_lenet  # noqa: E402
from timing import import_torch, paired_ratios, rotated  # noqa: E402

BATCH, LR, MOMENTUM = 128, 0.01, 0.9


def deepgrad_step_fn(batch, generator=0):
    model = nn.fuse(LeNet(generator=generator))
    optimizer = SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    rng = np.random.default_rng(generator)
    x = dg.tensor(rng.random((batch, 1, 28, 28), dtype=np.float32))
    y = dg.tensor(rng.integers(0, 10, batch))

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step


def best_time(step, steps, repeats):
    """Best mean seconds per step over `repeats` runs of `steps` steps (after a warm-up)."""
    for _ in range(3):
        step()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        best = min(best, (time.perf_counter() - start) / steps)
    return best


def layer_times(batch, steps):
    """Forward + backward time of each conv/pool shape of LeNet, in milliseconds."""
    rng = np.random.default_rng(0)
    cases = [
        ("conv1 1->20 5x5 on 28x28 (no input grad)", (batch, 1, 28, 28), nn.Conv2d(1, 20, 5),
         False),
        ("pool1 2x2 on 20x24x24", (batch, 20, 24, 24), nn.MaxPool2d(2), True),
        ("conv2 20->50 5x5 on 12x12", (batch, 20, 12, 12), nn.Conv2d(20, 50, 5), True),
        ("pool2 2x2 on 50x8x8", (batch, 50, 8, 8), nn.MaxPool2d(2), True),
    ]
    rows = []
    for name, shape, layer, input_grad in cases:
        x = dg.tensor(rng.standard_normal(shape, dtype=np.float32), requires_grad=input_grad)

        def run():
            out = layer(x)
            out.backward(dg.tensor(np.ones(out.shape, dtype=np.float32)))

        rows.append((name, 1000 * best_time(run, steps, 3)))
    return rows


def epoch_runners(torch, x, y):
    """Two functions run(batch_indices) -> loss that train deepgrad's (fused) and PyTorch's
    LeNet (same initial weights) on the given batches."""
    return runners(torch, lambda: nn.fuse(LeNet(generator=0)), torch_lenet, x, y)


def interleaved_epoch(torch, segment=20, batches=None, pause=0.3):
    """Time one epoch of both libraries, alternating segments of `segment` batches."""
    x, y = load_fashion_mnist("train")
    order = np.random.default_rng(1).permutation(len(x))
    all_batches = [order[i:i + BATCH] for i in range(0, len(x), BATCH)][:batches]
    ours, theirs = epoch_runners(torch, x, y)
    ours(all_batches[:2])  # warm-up: first calls allocate the workspaces and thread pools
    theirs(all_batches[:2])
    times = {"deepgrad": [], "pytorch": []}
    losses = {"deepgrad": [], "pytorch": []}
    runners = [("deepgrad", ours), ("pytorch", theirs)]
    for i, start in enumerate(range(0, len(all_batches), segment)):
        part = all_batches[start:start + segment]
        for name, run in rotated(runners, i):  # alternate who goes first
            time.sleep(pause)
            begin = time.perf_counter()
            losses[name].append(run(part))
            times[name].append(time.perf_counter() - begin)
    return times, losses, len(all_batches)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segment", type=int, default=20)
    parser.add_argument("--batches", type=int, default=None,
                        help="only the first N batches of the epoch (default: all 469)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--layers", action="store_true")
    args = parser.parse_args(argv if argv is not None else [])
    torch = import_torch()
    if torch is None:
        print("LeNet epoch: PyTorch is not installed, nothing to compare with")
    else:
        times, losses, n = interleaved_epoch(torch, args.segment, args.batches)
        ours, theirs = sum(times["deepgrad"]), sum(times["pytorch"])
        paired = paired_ratios(times, "deepgrad", "pytorch")
        print(f"\nLeNet, one Fashion-MNIST epoch ({n} batches of {BATCH}, SGD momentum "
              f"{MOMENTUM}, float32), segments of {args.segment} batches interleaved")
        print(f"  deepgrad  {ours:7.2f} s  ({1000 * ours / n:6.2f} ms/batch)  "
              f"last loss {losses['deepgrad'][-1]:.4f}")
        print(f"  pytorch   {theirs:7.2f} s  ({1000 * theirs / n:6.2f} ms/batch)  "
              f"last loss {losses['pytorch'][-1]:.4f}  ({torch.get_num_threads()} threads)")
        print(f"  deepgrad / pytorch: {ours / theirs:.2f}x epoch time, "
              f"{paired:.2f}x median of {len(times['deepgrad'])} segments (goal <= 1.0x)")
    if args.layers:
        print("\nforward + backward per layer (deepgrad):")
        for name, ms in layer_times(BATCH, args.steps):
            print(f"  {name:45s} {ms:7.2f} ms")
    if args.profile:
        ours_step = deepgrad_step_fn(BATCH)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.steps):
            ours_step()
        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(18)
        print(f"\ncProfile of {args.steps} deepgrad steps, by own time:")
        print(text.getvalue())


if __name__ == "__main__":
    main(sys.argv[1:])
