"""CNN training against PyTorch in the same run, augmentation overhead, GFLOP/s, peak memory.

    .venv/bin/python benchmarks/bench_cnn.py [--batches 60] [--segment 10] [--only NAME ...]
                                             [--skip-memory]

Measurements (float32, Fashion-MNIST training images, the same shuffled batches and the same
initial weights for both libraries, SGD with momentum 0.9):

* epoch time of LeNet at batch 64 and at batch 128 (deepgrad with nn.fuse, and without), and of
  the batch-norm CNN of examples/fashion_mnist_vgg.yaml (widths read from it) at batch 128:
  the first `--batches` batches of an epoch, cut into segments of `--segment` batches that
  alternate between the libraries (who goes first alternates too), with a pause before each.
  Reported:
  seconds per full epoch (scaled from the batches timed), the ratio of the totals and the
  median of the per-segment ratios (paired, which cancels most of a shared machine's slow
  and fast spells);
* achieved GFLOP/s of each (multiply-adds of the convolutions and linear layers, forward and
  backward: 3x the forward's 2 MACs) next to the single-precision GEMM rate measured in the same
  run (a 1024^3 NumPy matmul, the machine's practical peak for these threads), and for the
  VGG the time of its step's matrix products alone (the same shapes, NumPy/OpenBLAS), the
  floor of deepgrad's im2col + GEMM design;
* an augmented epoch (RandomCrop(28, padding=2) + RandomHorizontalFlip, DataLoader with
  num_workers=1) against the same epoch without augmentation (num_workers=0), interleaved;
* peak resident memory of a training run (`--batches` steps of the VGG at batch 128 on random
  images), deepgrad and PyTorch each in a fresh process (its VmHWM: `ru_maxrss` would
  include the peak of the parent that started it).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import deepgrad as dg  # noqa: E402
from deepgrad import nn  # noqa: E402
from deepgrad.config import load_config  # noqa: E402
from deepgrad.data import DataLoader, TensorDataset, load_fashion_mnist  # noqa: E402
from deepgrad.data.transforms import Compose, RandomCrop, RandomHorizontalFlip  # noqa: E402
from deepgrad.models import VGG, LeNet  # noqa: E402
from deepgrad.nn import functional as F  # noqa: E402
from deepgrad.ops import conv as conv_ops  # noqa: E402
from deepgrad.optim import SGD  # noqa: E402
from timing import import_torch, paired_ratios, rotated  # noqa: E402

LR, MOMENTUM, EPOCH = 0.01, 0.9, 60000
# the batch-norm CNN of `make demo-cnn`, read from its config so the two never drift apart
_EXAMPLE = load_config(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                    "examples", "fashion_mnist_vgg.yaml"))["model"]["args"]
VGG_WIDTHS = tuple(_EXAMPLE["widths"])
VGG_PER_STAGE = _EXAMPLE.get("convs_per_stage", 2)


def torch_lenet(torch):
    nn_ = torch.nn
    return nn_.Sequential(nn_.Conv2d(1, 20, 5), nn_.MaxPool2d(2, 2), nn_.Conv2d(20, 50, 5),
                          nn_.MaxPool2d(2, 2), nn_.Flatten(), nn_.Linear(800, 500), nn_.ReLU(),
                          nn_.Linear(500, 10))


def torch_vgg(torch, widths=VGG_WIDTHS, per=VGG_PER_STAGE):
    nn_, layers, channels = torch.nn, [], 1
    for s, width in enumerate(widths):
        for _ in range(per):
            layers += [nn_.Conv2d(channels, width, 3, padding=1, bias=False),
                       nn_.BatchNorm2d(width), nn_.ReLU()]
            channels = width
        if s + 1 < len(widths):
            layers.append(nn_.MaxPool2d(2))
    return nn_.Sequential(*layers, nn_.AdaptiveAvgPool2d(1), nn_.Flatten(),
                          nn_.Linear(channels, 10))


def lenet_macs():
    return 20 * 24 * 24 * 25 + 50 * 8 * 8 * 500 + 800 * 500 + 500 * 10


def vgg_macs(widths=VGG_WIDTHS, per=VGG_PER_STAGE):
    macs, channels, side = 0, 1, 28
    for s, width in enumerate(widths):
        for _ in range(per):
            macs += side * side * width * channels * 9
            channels = width
        if s + 1 < len(widths):
            side //= 2
    return macs + channels * 10


MODELS = {
    # name: (deepgrad model factory, torch model factory, batch size, MACs per image)
    "LeNet b64 fused": (lambda: nn.fuse(LeNet(generator=0)), torch_lenet, 64, lenet_macs()),
    "LeNet b64": (lambda: LeNet(generator=0), torch_lenet, 64, lenet_macs()),
    "LeNet b128 fused": (lambda: nn.fuse(LeNet(generator=0)), torch_lenet, 128, lenet_macs()),
    "LeNet b128": (lambda: LeNet(generator=0), torch_lenet, 128, lenet_macs()),
    "VGG-BN b128": (lambda: VGG(widths=VGG_WIDTHS, convs_per_stage=VGG_PER_STAGE, generator=0),
                    torch_vgg, 128, vgg_macs()),
}


def runners(torch, make_ours, make_theirs, x, y):
    """Two functions run(batches) -> last loss training the same model in each library."""
    model = make_ours()
    optimizer = SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    tmodel = make_theirs(torch)
    with torch.no_grad():
        for p, q in zip(tmodel.parameters(), model.parameters()):
            p.copy_(torch.from_numpy(q.data))
    toptimizer = torch.optim.SGD(tmodel.parameters(), lr=LR, momentum=MOMENTUM)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def ours(batches):
        for idx in batches:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(dg.tensor(x[idx])), dg.tensor(y[idx]))
            loss.backward()
            optimizer.step()
        return float(loss.item())

    def theirs(batches):
        for idx in batches:
            idx_t = torch.from_numpy(idx)
            toptimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(tmodel(xt[idx_t]), yt[idx_t])
            loss.backward()
            toptimizer.step()
        return float(loss.item())

    return ours, theirs


def interleave(runs: dict, batches: list, segment: int, pause: float = 0.3) -> dict:
    """Seconds of each runner on each segment; runners alternate, who goes first rotates."""
    for run in runs.values():
        run(batches[:2])  # warm-up: workspaces, thread pools
    times = {name: [] for name in runs}
    for i, start in enumerate(range(0, len(batches), segment)):
        part = batches[start:start + segment]
        for name in rotated(list(runs), i):
            time.sleep(pause)
            begin = time.perf_counter()
            runs[name](part)
            times[name].append(time.perf_counter() - begin)
    return times


def gemm_gflops(repeats=5) -> float:
    a = np.random.default_rng(0).random((1024, 1024), dtype=np.float32)
    b = a.T.copy()
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * 1024 ** 3 / best / 1e9


def vgg_products(batch=128, widths=VGG_WIDTHS, per=VGG_PER_STAGE):
    """The matrix products of one VGG training step, with the shapes deepgrad's convolutions
    give them (im2col + GEMM; the input gradient by the path ops/conv.py picks): a list of
    (left, right) float32 operand pairs."""
    rng, pairs, channels, side = np.random.default_rng(0), [], 1, 28

    def rand(*shape):
        return rng.random(shape, dtype=np.float32)
    for s, width in enumerate(widths):
        for _ in range(per):
            k, m = channels * 9, batch * side * side
            pairs += [(rand(width, k), rand(k, m)), (rand(k, m), rand(m, width))]  # y, dW
            if channels > 1:  # the images need no gradient
                geo = conv_ops._Geometry((side, side), (3, 3), (1, 1), (1, 1, 1, 1), (1, 1))
                if conv_ops._gather_input_gradient(geo, (width, channels, 3, 3)) is not None:
                    pairs.append((rand(channels, width * 9), rand(width * 9, m)))
                else:
                    pairs.append((rand(k, width), rand(width, m)))
            channels = width
        if s + 1 < len(widths):
            side //= 2
    return pairs


def products_floor(repeats=5):
    """Seconds per epoch of the VGG step's matrix products alone (best of `repeats`), against
    the whole step of each library measured just before: how much of deepgrad's step is
    products, and whether the products alone already exceed PyTorch's step."""
    pairs = vgg_products()
    for a, b in pairs:
        a @ b  # warm-up
    best = min(_timed(lambda: [a @ b for a, b in pairs]) for _ in range(repeats))
    return best * EPOCH / 128


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def speed(torch, names, n_batches, segment, peak):
    x, y = load_fashion_mnist("train")
    print(f"\nEpoch time against PyTorch ({torch.get_num_threads()} threads), first {n_batches} "
          f"batches of an epoch, segments of {segment} interleaved; GEMM peak {peak:.1f} "
          "GFLOP/s measured now")
    print(f"  {'model':18s} {'deepgrad s/epoch':>17s} {'pytorch s/epoch':>16s} {'ratio':>6s} "
          f"{'paired':>7s} {'deepgrad GFLOP/s':>17s} {'pytorch GFLOP/s':>16s}")
    for name in names:
        make_ours, make_theirs, batch, macs = MODELS[name]
        order = np.random.default_rng(1).permutation(len(x))
        batches = [order[i:i + batch] for i in range(0, len(x), batch)][:n_batches]
        ours, theirs = runners(torch, make_ours, make_theirs, x, y)
        times = interleave({"deepgrad": ours, "pytorch": theirs}, batches, segment)
        scale = (EPOCH / batch) / len(batches)
        t_ours, t_theirs = sum(times["deepgrad"]) * scale, sum(times["pytorch"]) * scale
        flops = 3 * 2 * macs * EPOCH
        print(f"  {name:18s} {t_ours:17.1f} {t_theirs:16.1f} {t_ours / t_theirs:6.2f} "
              f"{paired_ratios(times, 'deepgrad', 'pytorch'):7.2f} {flops / t_ours / 1e9:17.1f} "
              f"{flops / t_theirs / 1e9:16.1f}")
        if name.startswith("VGG"):
            floor = products_floor()
            print(f"  {'':18s} the matrix products of deepgrad's step alone: {floor:.1f} s/epoch "
                  f"({floor / t_ours:.0%} of deepgrad's epoch, {floor / t_theirs:.2f}x "
                  f"PyTorch's whole epoch; {flops / floor / 1e9:.1f} GFLOP/s)")


def augmentation(n_batches, segment, batch=128):
    x, y = load_fashion_mnist("train")
    data = TensorDataset(x, y, check_finite=False)
    model = VGG(widths=VGG_WIDTHS, convs_per_stage=VGG_PER_STAGE, generator=0)
    optimizer = SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    augment = Compose([RandomCrop(28, padding=2), RandomHorizontalFlip()])
    loaders = {"plain, 0 workers": DataLoader(data, batch, shuffle=True, generator=0),
               "augmented, 1 worker": DataLoader(data, batch, shuffle=True, generator=0,
                                                 transform=augment, num_workers=1)}
    iterators = {name: iter(loader) for name, loader in loaders.items()}

    def train_from(name):
        def run(count):
            for _ in range(len(count)):
                xb, yb = next(iterators[name])
                optimizer.zero_grad()
                F.cross_entropy(model(xb), yb).backward()
                optimizer.step()
        return run

    runs = {name: train_from(name) for name in loaders}
    times = interleave(runs, list(range(n_batches)), segment)
    for it in iterators.values():
        it.close()  # stops the worker
    plain, augmented = (sum(times[name]) for name in loaders)
    print(f"\nAugmented training (RandomCrop pad 2 + flip, 1 worker) against plain (0 workers), "
          f"VGG-BN batch {batch}, {n_batches} batches each, segments of {segment} interleaved")
    print(f"  plain {plain:.2f} s, augmented {augmented:.2f} s: {augmented / plain:.3f}x "
          f"(paired {paired_ratios(times, 'augmented, 1 worker', 'plain, 0 workers'):.3f}x; "
          "goal <= 1.05x)")


_MEMORY_SCRIPT = """
import sys, numpy as np
sys.path.insert(0, {here!r})
import bench_cnn
rng = np.random.default_rng(0)
x = rng.random((128 * {steps}, 1, 28, 28), dtype=np.float32)
y = rng.integers(0, 10, 128 * {steps})
batches = [np.arange(i, i + 128) for i in range(0, 128 * {steps}, 128)]
if {torch_side}:
    import torch
    torch.set_num_threads({threads})
    ours, theirs = bench_cnn.runners(torch, *[bench_cnn.MODELS["VGG-BN b128"][i]
                                             for i in (0, 1)], x, y)
    theirs(batches)
else:
    import deepgrad as dg
    from deepgrad.models import VGG
    from deepgrad.nn import functional as F
    from deepgrad.optim import SGD
    model = VGG(widths=bench_cnn.VGG_WIDTHS, convs_per_stage=bench_cnn.VGG_PER_STAGE,
                generator=0)
    optimizer = SGD(model.parameters(), lr=0.01, momentum=0.9)
    for idx in batches:
        optimizer.zero_grad()
        F.cross_entropy(model(dg.tensor(x[idx])), dg.tensor(y[idx])).backward()
        optimizer.step()
# VmHWM is this process image's own peak: ru_maxrss would carry over the parent's peak,
# inherited through fork and exec
print([line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")][0])
"""


def memory(steps, threads):
    here = os.path.dirname(os.path.abspath(__file__))
    peaks = {}
    for name, torch_side in (("deepgrad", False), ("pytorch", True)):
        code = _MEMORY_SCRIPT.format(here=here, steps=steps, torch_side=torch_side,
                                     threads=threads)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout.split()
        peaks[name] = int(out[-1]) / 1024
    print(f"\nPeak resident memory, VGG-BN batch 128, {steps} training steps on random images "
          f"(each library in a fresh process, importing only itself and NumPy)")
    print(f"  deepgrad {peaks['deepgrad']:.0f} MB, pytorch {peaks['pytorch']:.0f} MB: "
          f"{peaks['deepgrad'] / peaks['pytorch']:.2f}x (goal <= 1.0x)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--segment", type=int, default=10)
    parser.add_argument("--only", nargs="*", default=None, help=f"some of {list(MODELS)}")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args(argv if argv is not None else [])
    torch = import_torch()
    peak = gemm_gflops()
    if torch is None:
        print("CNN epochs: PyTorch is not installed, nothing to compare with")
    else:
        speed(torch, args.only or list(MODELS), args.batches, args.segment, peak)
    augmentation(args.batches, args.segment)
    if torch is not None and not args.skip_memory:
        memory(args.batches, torch.get_num_threads())
    print(f"\n(GEMM peak at the end: {gemm_gflops():.1f} GFLOP/s; this process's peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")


if __name__ == "__main__":
    main(sys.argv[1:])
