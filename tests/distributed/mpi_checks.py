"""Checks of deepgrad.distributed run by every rank under `mpiexec -n N python mpi_checks.py OUT`.

One launch runs them all (MPI start-up costs about a second). Each check returns numbers;
rank 0 writes {check name: numbers} as JSON to OUT and the pytest side asserts on them
(tests/distributed/test_mpi.py).
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

import deepgrad
from deepgrad import distributed as dist
from deepgrad import nn, optim
from deepgrad.data import DataLoader, TensorDataset
from deepgrad.nn import functional as F
from deepgrad.tensor import Tensor


def make_data(n, features=12, classes=3, dtype="float32", seed=7):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype(dtype)
    y = rng.integers(0, classes, n)
    return TensorDataset(x, y)


def make_mlp(dtype, seed=3, batch_norm=False):
    deepgrad.manual_seed(seed)
    layers = [nn.Linear(12, 16, dtype=dtype)]
    if batch_norm:
        layers.append(nn.BatchNorm1d(16, dtype=dtype))
    layers += [nn.Tanh(), nn.Linear(16, 3, dtype=dtype)]
    return nn.Sequential(*layers)


def train(model, optimizer, loader, steps, distributed):
    """`steps` SGD steps; returns the final parameters as arrays."""
    done = 0
    while done < steps:
        for x, y in loader:
            if distributed:
                optimizer.set_local_samples(len(x))
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()
            done += 1
            if done == steps:
                break
    return [p.data.copy() for p in model.parameters()]


def relative_difference(first, second) -> float:
    return max(float(np.max(np.abs(a - b)) / np.max(np.abs(b))) for a, b in zip(first, second))


def check_broadcast():
    model = make_mlp("float32", seed=10 + dist.rank())   # different weights on each rank
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    x = Tensor(np.full((4, 12), dist.rank() + 1.0, np.float32))
    F.cross_entropy(model(x), Tensor(np.zeros(4, np.int64))).backward()
    optimizer.step()                                      # different slots on each rank
    before = dist.allreduce(np.array([float(model[0].weight.data.sum())]), "max")[0] - \
        -dist.allreduce(np.array([-float(model[0].weight.data.sum())]), "max")[0]
    dist.broadcast_parameters(model)
    dist.broadcast_optimizer_state(optimizer)
    arrays = [p.data for p in model.parameters()]
    slots = [optimizer.state[p][k] for p in model.parameters() for k in ("exp_avg",
                                                                          "exp_avg_sq")]
    spread = 0.0
    for array in arrays + slots:
        high = dist.allreduce(array.astype(np.float64), "max")
        low = dist.allreduce(array.astype(np.float64), "min")
        spread = max(spread, float(np.max(high - low)))
    steps = dist.allreduce(np.array([float(optimizer.state[p]["step"])
                                     for p in model.parameters()]), "max")
    return {"spread_before": float(before), "spread_after": spread,
            "steps": steps.tolist()}


def check_equivalence(dtype, overlap, n=203, batch_size=32, steps=50, batch_norm=False):
    """N ranks with the global batch vs one process with the whole batch, same batches."""
    data = make_data(n, dtype=dtype)
    reference = make_mlp(dtype, batch_norm=batch_norm)
    single = train(reference, optim.SGD(reference.parameters(), lr=0.1, momentum=0.9),
                   DataLoader(data, batch_size, shuffle=True, generator=5), steps, False)
    model = make_mlp(dtype, batch_norm=batch_norm)
    if batch_norm:
        model = dist.convert_sync_batchnorm(model)
    dist.broadcast_parameters(model)
    optimizer = dist.DistributedOptimizer(
        optim.SGD(model.parameters(), lr=0.1, momentum=0.9), bucket_cap_mb=0.0005,
        overlap=overlap)
    loader = dist.DistributedDataLoader(data, batch_size, shuffle=True, generator=5)
    result = train(model, optimizer, loader, steps, True)
    return {"relative_difference": relative_difference(result, single),
            "buckets": len(optimizer.buckets), "reductions": optimizer.reductions}


def check_trainer_with_clipping():
    """Trainer.fit with a DistributedOptimizer: gradients averaged BEFORE the norm is clipped
    (synchronize, then clip), metrics all-reduced: the single-process history and weights."""
    from deepgrad.training import Trainer

    data = make_data(203, dtype="float64")
    results = []
    for distributed in (False, True):
        model = make_mlp("float64")
        optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        loader = DataLoader(data, 32, shuffle=True, generator=5)
        if distributed:
            optimizer = dist.DistributedOptimizer(optimizer, bucket_cap_mb=0.001)
            loader = dist.DistributedDataLoader(data, 32, shuffle=True, generator=5)
        trainer = Trainer(model, "cross_entropy", optimizer, grad_clip_norm=0.05)
        history = trainer.fit(loader, epochs=2, verbose=0)
        results.append(([p.data.copy() for p in model.parameters()], history.history))
    (single, single_logs), (mine, my_logs) = results
    return {"relative_difference": relative_difference(mine, single),
            "loss_difference": max(abs(a - b) for a, b in zip(single_logs["loss"],
                                                               my_logs["loss"])),
            "accuracy": [single_logs["accuracy"], my_logs["accuracy"]]}


def check_sampler(n=203, batch_size=32, epochs=2):
    data = make_data(n)
    ids = TensorDataset(np.arange(n), np.zeros(n, np.int64))
    single = DataLoader(ids, batch_size, shuffle=True, generator=9)
    loader = dist.DistributedDataLoader(ids, batch_size, shuffle=True, generator=9)
    exact, steps, overlaps = True, 0, 0
    for _ in range(epochs):
        for (reference, _), (mine, _) in zip(single, loader):
            counts = np.zeros(n, np.int64)
            counts[mine.data] += 1
            counts = dist.allreduce(counts)
            overlaps += int(np.sum(counts > 1))
            covered = np.flatnonzero(counts)
            exact &= bool(np.array_equal(np.sort(reference.data), covered)) and \
                bool(np.all(counts[covered] == 1))
            steps += 1
    del data
    return {"exact": exact, "steps": steps, "expected_steps": epochs * len(single),
            "overlaps": overlaps, "local_steps": len(loader)}


def check_sync_batchnorm():
    """SyncBatchNorm on the shards vs BatchNorm on the whole batch: output, gradients of input
    and parameters, running statistics (float64)."""
    rng = np.random.default_rng(1)
    results = {}
    for name, shape, layer in (("2d", (10, 3, 4, 5), nn.BatchNorm2d),
                               ("1d", (9, 4), nn.BatchNorm1d)):
        x = rng.standard_normal(shape) * 3 + 1
        upstream = rng.standard_normal(shape)
        weights = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
        full = layer(shape[1], dtype="float64")
        sync = dist.SyncBatchNorm(shape[1], dtype="float64")
        for module in (full, sync):
            module.weight.data[...] = weights[0]
            module.bias.data[...] = weights[1]
        part = dist.DistributedSampler().shard(np.arange(shape[0]))
        n_global, n_local = shape[0], len(part)
        # the single-process loss: mean over the batch of <upstream, y>
        x_full = Tensor(x, requires_grad=True)
        ((full(x_full) * Tensor(upstream)).sum() / n_global).backward()
        # each rank: the mean over its shard; the gradients combine with weights n_r / n
        x_mine = Tensor(x[part], requires_grad=True)
        y = sync(x_mine)
        ((y * Tensor(upstream[part])).sum() / n_local).backward()
        grads = [p.grad.data * (n_local / n_global) for p in sync.parameters()]
        grads = [dist.allreduce(g) for g in grads]
        # the input gradient of the weighted global loss, rank r's part, is (n_r / n) * its own
        results[name] = {
            "output": float(np.max(np.abs(y.data - _batch_norm_reference(x, weights)[part]))),
            "input_grad": float(np.max(np.abs(x_mine.grad.data * (n_local / n_global)
                                              - x_full.grad.data[part]))),
            "param_grads": max(float(np.max(np.abs(g - p.grad.data)))
                               for g, p in zip(grads, full.parameters())),
            "running_mean": float(np.max(np.abs(sync.running_mean.data - _first_update(
                full, x, "mean")))),
            "running_var": float(np.max(np.abs(sync.running_var.data - _first_update(
                full, x, "var")))),
        }
    return results


def _batch_norm_reference(x, weights):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-5) * weights[0].reshape(shape) + \
        weights[1].reshape(shape)


def _first_update(module, x, which):
    """The running statistic after one training batch of x (momentum 0.1 from 0 / 1)."""
    axes = (0,) + tuple(range(2, x.ndim))
    if which == "mean":
        return 0.1 * x.mean(axis=axes)
    m = x.size // x.shape[1]
    return 0.9 + 0.1 * x.var(axis=axes) * m / (m - 1)


def check_metrics():
    from deepgrad.training.metrics import Accuracy, Loss
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((37, 5))
    labels = rng.integers(0, 5, 37)
    part = dist.DistributedSampler().shard(np.arange(37))
    accuracy, loss = Accuracy(), Loss()
    accuracy.update(logits[part], labels[part])
    loss.update_value(float(np.mean(logits[part, 0])), len(part))
    dist.allreduce_metrics([accuracy, loss])
    expected = Accuracy()
    expected.update(logits, labels)
    return {"accuracy": accuracy.result(), "expected_accuracy": expected.result(),
            "loss": loss.result(), "expected_loss": float(np.mean(logits[:, 0])),
            "count": accuracy.count}


def check_tied_weights():
    """A parameter used twice per forward: the overlapped reduction must redo its bucket."""
    deepgrad.manual_seed(2)
    layer = nn.Linear(6, 6, dtype="float64")
    x = Tensor(np.random.default_rng(dist.rank()).standard_normal((4, 6)))
    expected = []
    for overlap in (False, True):
        for p in layer.parameters():
            p.grad = None
        optimizer = dist.DistributedOptimizer(optim.SGD(layer.parameters(), lr=0.0),
                                              overlap=overlap)
        optimizer.zero_grad()
        layer(layer(x)).sum().backward()
        optimizer.synchronize()
        expected.append([p.grad.data.copy() for p in layer.parameters()])
        for handle in optimizer._handles:
            handle.remove()
    return {"difference": max(float(np.max(np.abs(a - b)))
                              for a, b in zip(expected[0], expected[1]))}


RUN_CONFIG = """
name: writes
model: {layers: [{type: Linear, in_features: 2, out_features: 8}, {type: Tanh},
                 {type: BatchNorm1d, num_features: 8}, {type: Linear, in_features: 8,
                  out_features: 3}]}
loss: CrossEntropyLoss
optimizer: {type: SGD, lr: 0.1, momentum: 0.9}
data: {dataset: spirals, n: 120, num_classes: 3, validation_split: 0.25, test_split: 0.25}
training: {epochs: 2, batch_size: 16, seed: 0, verbose: 1}
distributed: {sync_batchnorm: true}
"""


def check_run_writes(directory):
    """A Run on every rank, each given its own run directory: only rank 0's is written; the
    evaluation is all-reduced, so every rank gets the same numbers. With SyncBatchNorm, whose
    training-mode forward in rank 0's report (the doctor) the other ranks must mirror. Then
    every rank resumes rank 0's run for one more epoch."""
    from deepgrad.runner import Run

    config = os.path.join(directory, "writes.yaml")
    if dist.is_main():
        with open(config, "w", encoding="utf-8") as stream:
            stream.write(RUN_CONFIG)
    dist.barrier()
    run_dir = os.path.join(directory, f"rank{dist.rank()}")
    run = Run.from_config(config, run_dir=run_dir)
    run.fit()
    accuracy = run.evaluate("validation")["accuracy"]
    spread = dist.allreduce(np.array([accuracy, -accuracy]), "max")
    exists = dist.allreduce(np.array([float(os.path.exists(run_dir))]))
    dist.barrier()
    listing = sorted(os.listdir(os.path.join(directory, "rank0")))
    # every rank resumes from rank 0's 2-rank checkpoint, one more epoch (pytest compares the
    # weights with one process training 3 epochs)
    resumed = Run.from_config(config, run_dir=os.path.join(directory, "rank0"),
                              overrides=["training.epochs=3"], resume=True)
    resumed.fit(report=False)
    dist.barrier()
    return {"config": config, "resumed_epoch": resumed.epoch, "rank0": listing,
            "rank1_exists": os.path.exists(os.path.join(directory, "rank1")),
            "dirs_existing": float(exists[0]), "accuracy_spread": float(spread[0] + spread[1]),
            "history_length": len(run.history),
            "sync_layers": sum(isinstance(m, dist.SyncBatchNorm) for m in run.model.modules())}


def doc_snippet() -> str:
    """The Python example of docs/distributed.md."""
    import re

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "docs", "distributed.md"), encoding="utf-8") as stream:
        (code,) = re.findall(r"```python\n(.*?)```", stream.read(), re.S)
    return code


def check_doc_snippet():
    """The documented loop runs as written on every rank; the ranks end identical."""
    namespace = {}
    exec(compile(doc_snippet(), "docs/distributed.md", "exec"), namespace)
    weights = np.concatenate([p.data.ravel() for p in namespace["model"].parameters()])
    spread = dist.allreduce(weights.astype(np.float64), "max") - \
        -dist.allreduce(-weights.astype(np.float64), "max")
    return {"spread": float(np.max(np.abs(spread))), "loss": float(namespace["loss"].item())}


CHECKS = {
    "broadcast": check_broadcast,
    "equivalence_float32": lambda: check_equivalence("float32", overlap=False),
    "equivalence_float64": lambda: check_equivalence("float64", overlap=False),
    "equivalence_float64_overlap": lambda: check_equivalence("float64", overlap=True),
    "equivalence_float32_overlap": lambda: check_equivalence("float32", overlap=True),
    "equivalence_sync_batchnorm": lambda: check_equivalence("float64", overlap=False,
                                                            batch_norm=True),
    "trainer_with_clipping": check_trainer_with_clipping,
    "doc_snippet": check_doc_snippet,
    "sampler": check_sampler,
    "sync_batchnorm": check_sync_batchnorm,
    "metrics": check_metrics,
    "tied_weights": check_tied_weights,
    "run_writes": lambda: check_run_writes(RUN_DIRECTORY),
}
RUN_DIRECTORY = None


def main(out_path):
    global RUN_DIRECTORY
    RUN_DIRECTORY = os.path.dirname(out_path)
    dist.init()
    results = {"world_size": dist.world_size()}
    for name, check in CHECKS.items():
        results[name] = check()
    dist.barrier()
    if dist.is_main():
        with open(out_path, "w", encoding="utf-8") as stream:
            json.dump(results, stream, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
