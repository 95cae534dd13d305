"""A Run on several MPI ranks (`mpiexec -n N deepgrad train CONFIG`, or `--nproc N`).

Every rank builds the same Run from the same config and seed; then `distribute(run)` makes it
data-parallel: the training loader gives each rank its shard of every global batch
(`training.batch_size` is the global batch), validation and test data are split over the ranks
and their metrics all-reduced, the optimizer averages the gradients over the ranks, and rank
0's weights and optimizer state are sent to all (also after a resume). The `distributed`
section of the config chooses SyncBatchNorm and the gradient buckets. Only rank 0 writes the
run directory (`writes()`); every rank reads the same checkpoint to resume.
"""

from __future__ import annotations

from deepgrad import distributed as dist


def active() -> bool:
    """True when this process is one of several MPI ranks."""
    return dist.world_size() > 1


def writes() -> bool:
    """Whether this process writes the run directory (rank 0, or the only process)."""
    return dist.is_main()


def distribute(run) -> None:
    """Make a freshly built Run data-parallel (a no-op in a world of one)."""
    if not active():
        return
    options = run.config["distributed"]
    if options["sync_batchnorm"]:
        run.model = dist.convert_sync_batchnorm(run.model)
        run.trainer.model = run.model
    training = run.config["training"]
    loader = run.train_loader
    workers = {"num_workers": loader.num_workers}
    if loader.num_workers:
        workers["prefetch_factor"] = loader.prefetch_factor
    run.train_loader = dist.DistributedDataLoader(
        loader.dataset, training["batch_size"], shuffle=True, generator=loader.generator,
        transform=loader.transform, **workers)
    for name in ("val_loader", "test_loader"):
        loader = getattr(run, name)
        if loader is not None:
            setattr(run, name, dist.ShardedDataLoader(loader.dataset, loader.batch_size))
    # the trainer steps through the wrapper; the run keeps (and checkpoints) the wrapped
    # optimizer, so checkpoints of 1 and N ranks are interchangeable
    run.trainer.optimizer = dist.DistributedOptimizer(
        run.optimizer, bucket_cap_mb=options["bucket_cap_mb"], overlap=options["overlap"])
    synchronize(run)


def synchronize(run) -> None:
    """Every rank takes rank 0's weights, buffers and optimizer state."""
    if active():
        dist.broadcast_parameters(run.model)
        dist.broadcast_optimizer_state(run.optimizer)


def local_callbacks(callbacks) -> list:
    """The callbacks this rank runs: on ranks other than 0, none that writes files."""
    if writes():
        return list(callbacks)
    return [c for c in callbacks if not getattr(c, "path_args", ())]


def local_states(states: list) -> list:
    """The saved callback states matching `local_callbacks` on this rank."""
    if writes():
        return list(states)
    from deepgrad import registry

    def writer(name):
        try:
            return bool(getattr(registry.lookup("callback", name), "path_args", ()))
        except (KeyError, ValueError):
            return False

    return [s for s in states if not writer(s["type"])]


def follow_report(run) -> None:
    """On a rank other than 0: run the collectives of rank 0's report. Its doctor runs the
    model in training mode, and a SyncBatchNorm there all-reduces with the other ranks."""
    if not active():
        return
    from deepgrad.runner import layout

    if any(isinstance(m, dist.SyncBatchNorm) for m in run.model.modules()):
        layout._doctor_html(run)
