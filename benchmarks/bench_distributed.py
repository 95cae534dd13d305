"""Data parallelism on one machine: 2 MPI ranks x 1 BLAS thread against 1 process x 2 BLAS
threads, the same global batch (128) over the same Fashion-MNIST batches, SGD (lr 0.01,
momentum 0.9), float32, for the 784-256-256-10 MLP and LeNet:

    single     1 process, OPENBLAS_NUM_THREADS=2, a plain DataLoader and SGD
    2 ranks    mpiexec -n 2, OPENBLAS_NUM_THREADS=1 each, DistributedDataLoader and
               DistributedOptimizer (blocking Allreduce of the fused buckets after backward)
    2 ranks, overlap   the same with the Iallreduce started by gradient hooks during backward

Each configuration trains `--steps` steps after `--warmup` steps; the time per epoch is
(time per step) x 469 steps. The configurations run interleaved, in an order rotated every
round, and the ratio to `single` is taken within each round (the median over rounds is
reported): the machine is shared, and a slow spell then burdens both sides of a ratio alike.
The ranks also report the time spent in the gradient reduction (waiting included), so the
Allreduce cost per step is set against the compute per step.

`--allreduce` measures Allreduce of float32 buffers of 8 B .. 16 MiB between 2 ranks (time per
call; the latency alpha and the bandwidth beta of t = alpha + bytes / beta fitted by least
squares), the inputs of the scale-out model in docs/distributed.md.

    .venv/bin/python benchmarks/bench_distributed.py [--rounds 5] [--steps 60] [--allreduce]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

STEPS_PER_EPOCH = 469   # ceil(60000 / 128)
BATCH, LR, MOMENTUM = 128, 0.01, 0.9


# --- the worker: one configuration, run as 1 process or as every MPI rank -----------------------
def _model(name):
    from deepgrad import nn
    from deepgrad.models import LeNet

    generator = np.random.default_rng(0)
    if name == "lenet":
        return LeNet(generator=generator)
    return nn.Sequential(nn.Linear(784, 256, generator=generator), nn.ReLU(),
                         nn.Linear(256, 256, generator=generator), nn.ReLU(),
                         nn.Linear(256, 10, generator=generator))


def worker(model_name, steps, warmup, overlap, batch=BATCH):
    from deepgrad import distributed as dist
    from deepgrad import optim
    from deepgrad.data import DataLoader, TensorDataset, load_fashion_mnist
    from deepgrad.nn import functional as F

    dist.init()
    x, y = load_fashion_mnist("train", flatten=model_name == "mlp")
    data = TensorDataset(x, y)
    model = _model(model_name)
    sgd = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    if dist.world_size() > 1:
        loader = dist.DistributedDataLoader(data, batch, shuffle=True, generator=1)
        optimizer = dist.DistributedOptimizer(sgd, overlap=overlap)
    else:
        loader, optimizer = DataLoader(data, batch, shuffle=True, generator=1), sgd
    batches = iter(loader)
    clock = time.perf_counter
    for step in range(warmup + steps):
        if step == warmup:
            dist.barrier()
            began, compute, reduce = clock(), 0.0, 0.0
        xb, yb = next(batches)
        start = clock()
        if dist.world_size() > 1:
            optimizer.set_local_samples(len(xb))
        optimizer.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        middle = clock()
        if dist.world_size() > 1:
            optimizer.synchronize()   # the reduction, and the wait for the slower rank
        end = clock()
        optimizer.step()
        if step >= warmup:
            compute += middle - start + clock() - end
            reduce += end - middle
    dist.barrier()
    total = clock() - began
    spread = dist.allreduce(np.array([compute, -compute]), "max")
    if dist.is_main():
        print(json.dumps({"step": total / steps, "reduce": reduce / steps,
                          "compute": compute / steps, "compute_max": spread[0] / steps,
                          "compute_min": -spread[1] / steps,
                          "buckets": len(getattr(optimizer, "buckets", [])),
                          "params": sum(p.data.size for p in model.parameters())}))


def allreduce_worker(repeats):
    from mpi4py import MPI

    from deepgrad import distributed as dist

    dist.init()
    world = MPI.COMM_WORLD
    results = []
    for size in [2 ** k for k in range(3, 25, 1)]:
        buffer = np.ones(size // 4, np.float32)
        for _ in range(3):
            world.Allreduce(MPI.IN_PLACE, buffer)
        calls = []
        for _ in range(repeats):   # each call timed alone, both ranks present (a barrier)
            world.Barrier()
            began = time.perf_counter()
            world.Allreduce(MPI.IN_PLACE, buffer)
            calls.append(time.perf_counter() - began)
        results.append([size, statistics.median(calls), min(calls)])
    if dist.is_main():
        print(json.dumps(results))


# --- the driver -------------------------------------------------------------------------------
def _namespace():
    """Run the ranks in a loopback-only network namespace where one can be made."""
    sys.path.insert(0, ROOT)
    try:
        from tests.distributed.mpi_harness import namespace_prefix
        return namespace_prefix() or []
    except ImportError:
        return []


def _run(command, env_extra, timeout=1800):
    from deepgrad.distributed.launch import mpi_environment

    env = mpi_environment(2, {k: v for k, v in os.environ.items()
                              if not k.startswith(("OMPI_", "PMIX_", "OPENBLAS", "OMP_"))})
    env.update(env_extra)
    env["PYTHONPATH"] = ROOT
    # a session of its own: with the kernel's autogroup scheduling every configuration then
    # gets the same share of a busy machine (ranks of one job share their group)
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout,
                          start_new_session=True)
    if done.returncode != 0:
        raise RuntimeError(f"{command} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _configurations(model, steps, warmup):
    from deepgrad.distributed.launch import mpiexec_command

    me = [sys.executable, os.path.abspath(__file__), "--worker", model, "--steps", str(steps),
          "--warmup", str(warmup)]
    ranks = _namespace() + mpiexec_command(2, me)
    threads = {"OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"}
    one = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    half = me + ["--batch", str(BATCH // 2)]
    return {"single": (me, threads), "single, 1 thread": (me, one),
            "single, 1 thread, batch 64": (half, one), "2 ranks": (ranks, one),
            "2 ranks, overlap": (ranks + ["--overlap"], one)}


def compare(models, rounds, steps, warmup):
    for model in models:
        configurations = _configurations(model, steps, warmup)
        names = list(configurations)
        samples = {name: [] for name in names}
        for r in range(rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                command, env = configurations[name]
                time.sleep(0.5)
                samples[name].append(_run(command, env))
        print(f"\n{model}: global batch {BATCH}, {steps} steps after {warmup} warm-up steps, "
              f"{rounds} interleaved rounds (median; ratio paired within each round)")
        single = [s["step"] for s in samples["single"]]
        for name in names:
            step = [s["step"] for s in samples[name]]
            ratio = statistics.median(a / b for a, b in zip(step, single))
            median = statistics.median(step)
            epoch = median * STEPS_PER_EPOCH
            rounds_text = ", ".join(f"{a / b:.2f}" for a, b in zip(step, single))
            print(f"  {name:26s} step {1e3 * median:7.2f} ms  epoch {epoch:6.1f} s  ratio to "
                  f"single {ratio:5.2f}x  (rounds: {rounds_text})")
            compute = statistics.median(s["compute"] for s in samples[name])
            slowest = statistics.median(s["compute_max"] for s in samples[name])
            if name.startswith("single"):
                continue
            reduce = statistics.median(s["reduce"] for s in samples[name])
            print(f"  {'':26s} compute {1e3 * compute:6.2f} ms/step (slowest rank "
                  f"{1e3 * slowest:6.2f}), in synchronize() {1e3 * reduce:6.2f} ms/step "
                  f"(transfer + waiting for the slower rank); {samples[name][0]['buckets']} "
                  f"buckets, {samples[name][0]['params']} parameters")
        for first, second in (("2 ranks, overlap", "2 ranks"), ("2 ranks", "single, 1 thread")):
            pairs = [a["step"] / b["step"] for a, b in zip(samples[first], samples[second])]
            print(f"  {first} / {second}, paired: median {statistics.median(pairs):.2f} "
                  f"(rounds: {', '.join(f'{r:.2f}' for r in pairs)})")


def allreduce_table(repeats):
    from deepgrad.distributed.launch import mpiexec_command

    me = [sys.executable, os.path.abspath(__file__), "--allreduce-worker", str(repeats)]
    results = _run(_namespace() + mpiexec_command(2, me), {"OPENBLAS_NUM_THREADS": "1"})
    print(f"\nAllreduce between 2 ranks (shared memory), float32, time of one call after a "
          f"barrier on rank 0 (median and best of {repeats}):")
    for size, median, best in results:
        print(f"  {size:>9d} B  {1e6 * median:9.1f} us (best {1e6 * best:8.1f})  "
              f"{size / median / 1e9:6.2f} GB/s")
    alpha = results[0][1]
    beta = statistics.median(size / (median - alpha) for size, median, _ in results
                             if size >= 2 ** 20)
    print(f"  t = alpha + bytes / beta: alpha = {1e6 * alpha:.1f} us (8 B), beta = "
          f"{beta / 1e9:.2f} GB/s (median over >= 1 MiB)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["mlp", "lenet"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--allreduce", action="store_true", help="only the Allreduce table")
    parser.add_argument("--worker", choices=["mlp", "lenet"], help=argparse.SUPPRESS)
    parser.add_argument("--overlap", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=BATCH, help=argparse.SUPPRESS)
    parser.add_argument("--allreduce-worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.steps, args.warmup, args.overlap, args.batch)
    if args.allreduce_worker:
        return allreduce_worker(args.allreduce_worker)
    allreduce_table(100)
    if not args.allreduce:
        compare(args.models, args.rounds, args.steps, args.warmup)


if __name__ == "__main__":
    main()
