"""deepgrad.distributed in one process (a world of one rank) and its pieces that need no MPI:
the sampler's arithmetic, SyncBatchNorm's math (gradcheck, one rank == BatchNorm), the
optimizer wrapper, the loader checks and the mpiexec command line."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import deepgrad
from deepgrad import distributed as dist
from deepgrad import nn, optim
from deepgrad.autograd import gradcheck
from deepgrad.data import DataLoader, TensorDataset
from deepgrad.distributed import launch
from deepgrad.nn import functional as F
from deepgrad.ops.sync_norm import SyncBatchNorm as SyncBatchNormFunction
from deepgrad.tensor import Tensor


def test_world_of_one_without_mpi4py():
    """No MPI launcher: rank 0 of 1, collectives are identities, mpi4py is never imported."""
    code = ("import sys; from deepgrad import distributed as d; import numpy as np; d.init(); "
            "a = d.allreduce(np.arange(3.0)); d.barrier(); "
            "print(d.rank(), d.world_size(), d.is_main(), a.tolist(), "
            "d.broadcast_json({'x': 1}), 'mpi4py' in sys.modules)")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OMPI_", "PMIX_", "PMI_"))}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == "0 1 True [0.0, 1.0, 2.0] {'x': 1} False"


@pytest.mark.parametrize("batch, ranks, sizes", [(32, 2, [16, 16]), (11, 2, [6, 5]),
                                                 (10, 3, [4, 3, 3]), (5, 5, [1] * 5)])
def test_sampler_splits_a_batch_into_near_equal_contiguous_parts(batch, ranks, sizes):
    indices = np.arange(100, 100 + batch)
    parts = [dist.DistributedSampler(ranks, r).shard(indices) for r in range(ranks)]
    assert [len(p) for p in parts] == sizes
    assert np.array_equal(np.concatenate(parts), indices)


def test_sampler_rejects_bad_arguments():
    with pytest.raises(ValueError, match="rank must be in \\[0, 2\\), got 2"):
        dist.DistributedSampler(2, 2)
    with pytest.raises(ValueError, match="num_replicas must be an integer >= 1"):
        dist.DistributedSampler(0, 0)


def test_loader_shards_of_all_ranks_make_the_single_process_batches():
    data = TensorDataset(np.arange(23), np.zeros(23, np.int64))
    single = [b[0].data for b in DataLoader(data, 8, shuffle=True, generator=4)]
    shards = [[b[0].data for b in dist.DistributedDataLoader(
        data, 8, shuffle=True, generator=4, sampler=dist.DistributedSampler(3, r))]
        for r in range(3)]
    assert len(single) == 3 and all(len(s) == 3 for s in shards)
    for step, batch in enumerate(single):
        assert np.array_equal(np.concatenate([s[step] for s in shards]), batch)


def test_loader_state_is_the_single_process_state():
    """A distributed loader resumes from a single-process loader's state and vice versa."""
    data = TensorDataset(np.arange(40), np.zeros(40, np.int64))
    single = DataLoader(data, 8, shuffle=True, generator=1)
    iterator = iter(single)
    next(iterator), next(iterator)
    state = single.state_dict()
    sharded = dist.DistributedDataLoader(data, 8, shuffle=True, generator=99,
                                         sampler=dist.DistributedSampler(2, 1))
    sharded.load_state_dict(state)
    rest = [b[0].data for b in sharded]
    expected = [b[0].data[4:] for b in list(iterator)]
    assert len(rest) == 3
    assert all(np.array_equal(a, b) for a, b in zip(rest, expected))


def test_loader_refuses_a_batch_smaller_than_the_world():
    data = TensorDataset(np.arange(9), np.zeros(9, np.int64))
    with pytest.raises(ValueError, match="a global batch of 1 samples cannot be split over 2 "
                                         "ranks.*drop_last=True"):
        dist.DistributedDataLoader(data, 4, sampler=dist.DistributedSampler(2, 0))
    assert len(dist.DistributedDataLoader(data, 4, drop_last=True,
                                          sampler=dist.DistributedSampler(2, 0))) == 2


def _identity(array):
    return array


@pytest.mark.parametrize("shape", [(6, 3), (4, 2, 5), (3, 2, 3, 2)])
def test_sync_batch_norm_gradcheck_and_jvp_float64(shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) * 2 + 0.5
    gamma, beta = rng.uniform(0.5, 2, shape[1]), rng.standard_normal(shape[1])

    def function(a, w, b):
        return SyncBatchNormFunction.apply(a, w, b, eps=1e-5, allreduce=_identity)

    assert gradcheck(function, [x, gamma, beta])
    assert gradcheck(lambda a: SyncBatchNormFunction.apply(a, eps=1e-5, allreduce=_identity),
                     [x])


def test_sync_batch_norm_in_one_rank_is_batch_norm():
    """Same output, input and parameter gradients and running statistics as BatchNorm2d."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 3, 4, 4)) * 3 - 1
    upstream = rng.standard_normal(x.shape)
    plain, sync = nn.BatchNorm2d(3, dtype="float64"), dist.SyncBatchNorm(3, dtype="float64")
    results = []
    for layer in (plain, sync):
        layer.weight.data[...] = [0.5, 1.5, 2.0]
        xt = Tensor(x, requires_grad=True)
        for _ in range(2):
            xt.grad = None
            (layer(xt) * Tensor(upstream)).sum().backward()
        results.append([xt.grad.data, layer.weight.grad.data, layer.bias.grad.data,
                        layer.running_mean.data, layer.running_var.data,
                        layer(Tensor(x)).data])
        layer.eval()
        results[-1].append(layer(Tensor(x)).data)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert int(sync.num_batches_tracked.item()) == 3


def test_convert_sync_batchnorm_keeps_order_parameters_and_statistics():
    deepgrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6, momentum=None), nn.ReLU(),
                          nn.Linear(6, 2))
    model(Tensor(np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)))
    norm = model[1]
    names = [name for name, _ in model.named_parameters()]
    converted = dist.convert_sync_batchnorm(model)
    assert converted is model
    assert isinstance(model[1], dist.SyncBatchNorm) and model[1].momentum is None
    assert [name for name, _ in model.named_parameters()] == names
    assert model[1].weight is norm.weight and model[1].running_var is norm.running_var
    assert isinstance(model[2], nn.ReLU)


def _train(optimizer_factory, wrap):
    deepgrad.manual_seed(3)
    model = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 2))
    optimizer = optimizer_factory(model.parameters())
    if wrap:
        optimizer = dist.DistributedOptimizer(optimizer, bucket_cap_mb=1e-4)
    rng = np.random.default_rng(2)
    for _ in range(5):
        x = Tensor(rng.standard_normal((8, 5)).astype(np.float32))
        y = Tensor(rng.integers(0, 2, 8))
        if wrap:
            optimizer.set_local_samples(8)
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model, optimizer


def test_distributed_optimizer_in_one_rank_is_the_wrapped_optimizer():
    def adam(params):
        return optim.Adam(params, lr=0.01)

    plain, plain_optimizer = _train(adam, wrap=False)
    wrapped, optimizer = _train(adam, wrap=True)
    for a, b in zip(plain.parameters(), wrapped.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    assert optimizer.param_groups is optimizer.optimizer.param_groups
    state = optimizer.state_dict()
    assert state["state"][0]["step"] == 5
    np.testing.assert_array_equal(state["state"][0]["exp_avg"],
                                  plain_optimizer.state_dict()["state"][0]["exp_avg"])
    optimizer.load_state_dict(plain_optimizer.state_dict())  # a single-process checkpoint
    assert "DistributedOptimizer(world_size=1" in repr(optimizer)


def test_distributed_optimizer_buckets_follow_backward_order_and_dtype():
    model = nn.Sequential(nn.Linear(100, 50), nn.Linear(50, 10, dtype="float64"))
    optimizer = dist.DistributedOptimizer(optim.SGD(model.parameters(), lr=0.1),
                                          bucket_cap_mb=0.01)
    shapes = [[p.shape for p in bucket.params] for bucket in optimizer.buckets]
    # last layer first; float64 and float32 never share a buffer; ~10 KiB per bucket
    assert shapes == [[(10,), (10, 50)], [(50,)], [(50, 100)]]


def test_distributed_optimizer_rejects_bad_arguments():
    sgd = optim.SGD([Tensor(np.zeros(2), requires_grad=True)], lr=0.1)
    with pytest.raises(TypeError, match="expected a deepgrad.optim optimizer"):
        dist.DistributedOptimizer("sgd")
    with pytest.raises(ValueError, match="bucket_cap_mb must be a number > 0, got 0"):
        dist.DistributedOptimizer(sgd, bucket_cap_mb=0)
    with pytest.raises(ValueError, match="expected a count >= 1, got 0"):
        dist.DistributedOptimizer(sgd).set_local_samples(0)


def test_mpiexec_command_and_environment(monkeypatch):
    monkeypatch.setattr(launch.os, "cpu_count", lambda: 8)
    command = launch.mpiexec_command(4, ["python", "-m", "deepgrad"], mpiexec="/x/mpiexec")
    assert command[:5] == ["/x/mpiexec", "-n", "4", "--oversubscribe", "--bind-to"]
    assert command[-3:] == ["python", "-m", "deepgrad"]
    env = launch.mpi_environment(4, {"PATH": "/bin", "OMP_NUM_THREADS": "3"})
    assert env["OPENBLAS_NUM_THREADS"] == "2" and env["OMP_NUM_THREADS"] == "3"
    assert env["OMPI_MCA_btl"] == "self,sm"
    with pytest.raises(ValueError, match="--nproc must be an integer >= 1, got 0"):
        launch.mpiexec_command(0, ["x"], mpiexec="/x/mpiexec")


def test_missing_mpiexec_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(launch.sys, "executable", "/nonexistent/python")
    monkeypatch.setattr(launch.shutil, "which", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install 'deepgrad\\[distributed\\]'"):
        launch.find_mpiexec()


def test_sharded_evaluation_loader_covers_the_dataset_once():
    data = TensorDataset(np.arange(11), np.zeros(11, np.int64))
    parts = [dist.ShardedDataLoader(data, 4, sampler=dist.DistributedSampler(3, r))
             for r in range(3)]
    seen = [np.concatenate([b[0].data for b in loader]) for loader in parts]
    assert [len(loader) for loader in parts] == [1, 1, 1]
    assert np.array_equal(np.concatenate(seen), np.arange(11))
    assert all(len(loader.dataset) == 11 for loader in parts)   # the split's size
    with pytest.raises(ValueError, match="2 samples cannot be split over 3 ranks"):
        dist.ShardedDataLoader(TensorDataset(np.arange(2)), 4,
                               sampler=dist.DistributedSampler(3, 0))


def test_the_documented_example_runs_in_one_process(capsys):
    from tests.distributed.mpi_checks import doc_snippet

    exec(compile(doc_snippet(), "docs/distributed.md", "exec"), {})
    assert "loss of rank 0's last shard:" in capsys.readouterr().out


def test_distributed_loader_keeps_the_loader_options():
    data = TensorDataset(np.zeros((8, 1, 4, 4), np.float32), np.arange(8))
    from deepgrad.data.transforms import RandomHorizontalFlip

    loader = dist.DistributedDataLoader(data, 4, shuffle=True, generator=0,
                                        sampler=dist.DistributedSampler(2, 1),
                                        transform=RandomHorizontalFlip(), num_workers=1)
    assert loader.num_workers == 1 and isinstance(loader.transform, RandomHorizontalFlip)
    assert [len(batch[0]) for batch in loader] == [2, 2]
