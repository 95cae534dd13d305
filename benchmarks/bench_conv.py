"""Time one LeNet training step (batch 128, SGD momentum 0.9) in deepgrad and in PyTorch.

    .venv/bin/python benchmarks/bench_conv.py [--batch 128] [--steps 30] [--repeats 5]
                                              [--profile] [--layers]

Both libraries run the same architecture (Caffe's LeNet, deepgrad.models.LeNet) on the same
random float32 batch, in the same process, alternating, and the best of `repeats` runs of
`steps` steps is reported. --profile adds a cProfile summary of the deepgrad steps; --layers
times the forward+backward of each convolution/pooling shape of LeNet on its own.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time

import numpy as np

import deepgrad as dg
from deepgrad import nn
from deepgrad.models import LeNet
from deepgrad.nn import functional as F
from deepgrad.optim import SGD


def deepgrad_step_fn(batch, generator=0):
    model = LeNet(generator=generator)
    optimizer = SGD(model.parameters(), lr=0.01, momentum=0.9)
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


def torch_step_fn(batch, generator=0):
    import torch
    torch.manual_seed(generator)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 20, 5), torch.nn.MaxPool2d(2, 2), torch.nn.Conv2d(20, 50, 5),
        torch.nn.MaxPool2d(2, 2), torch.nn.Flatten(), torch.nn.Linear(800, 500),
        torch.nn.ReLU(), torch.nn.Linear(500, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(generator)
    x = torch.from_numpy(rng.random((batch, 1, 28, 28), dtype=np.float32))
    y = torch.from_numpy(rng.integers(0, 10, batch))
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--layers", action="store_true")
    args = parser.parse_args(argv)

    ours = deepgrad_step_fn(args.batch)
    try:
        import torch
        theirs = torch_step_fn(args.batch)
        threads = torch.get_num_threads()
    except ImportError:
        theirs, threads = None, None
    # alternate the two so that a busy machine slows both alike
    t_ours, t_theirs = float("inf"), float("inf")
    for _ in range(args.repeats):
        t_ours = min(t_ours, best_time(ours, args.steps, 1))
        if theirs is not None:
            t_theirs = min(t_theirs, best_time(theirs, args.steps, 1))
    print(f"LeNet training step, batch {args.batch} (best of {args.repeats} x {args.steps} steps)")
    print(f"  deepgrad: {1000 * t_ours:7.2f} ms/step  ->  {t_ours * 60000 / args.batch:6.1f} s "
          "per 60,000-image epoch")
    if theirs is not None:
        print(f"  PyTorch : {1000 * t_theirs:7.2f} ms/step  ->  "
              f"{t_theirs * 60000 / args.batch:6.1f} s per epoch  ({threads} threads)")
        print(f"  ratio deepgrad / PyTorch = {t_ours / t_theirs:.2f}")
    if args.layers:
        print("\nforward + backward per layer (deepgrad):")
        for name, ms in layer_times(args.batch, args.steps):
            print(f"  {name:45s} {ms:7.2f} ms")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.steps):
            ours()
        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(18)
        print(f"\ncProfile of {args.steps} deepgrad steps, by own time:")
        print(text.getvalue())


if __name__ == "__main__":
    main()
