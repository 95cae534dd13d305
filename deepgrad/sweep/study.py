"""The Optuna study behind a sweep: storage, sampler, pruner, and the queue of planned trials.

A sweep of N trials puts N waiting trials in the study when it is created; workers (processes
on one machine or on many, sharing the storage) take them one at a time. Taking a waiting
trial is one atomic state change in the database (SELECT ... FOR UPDATE on PostgreSQL; on
SQLite, a file lock next to the database serializes the workers of the machine), so together
the workers run exactly the planned trials, each once.

A running trial sends a heartbeat every `heartbeat_interval` seconds. When its worker dies,
the next worker that looks for work finds the trial silent for longer than `grace_period`,
marks it failed and queues a copy with the same parameters (Optuna's
`RetryHeartbeatStaleTrialCallback`); the copy resumes from the dead trial's last checkpoint
when it can read it. A result that arrives for a trial already declared dead is discarded, so
no trial completes twice.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import socket
import threading
import time
import warnings
import zlib

import numpy as np

PLANNED = "deepgrad.planned_trials"
FINGERPRINT = "deepgrad.sweep"
JOIN_TIMEOUT = 60.0          # seconds a joining worker waits for the creator to queue trials


class SweepError(Exception):
    """A problem with a sweep's study or storage (the message says what to do)."""


def quiet_optuna() -> None:
    """Optuna logs every trial at INFO and marks heartbeats experimental; deepgrad prints its
    own one line per trial."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def redact(url: str) -> str:
    """The URL with its password hidden, for messages."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


# --------------------------------------------------------------------------------------------
# storage, sampler, pruner
# --------------------------------------------------------------------------------------------
def make_storage(sweep):
    """Optuna's RDBStorage with heartbeats and retries of trials whose worker died."""
    try:
        from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
    except ImportError:
        raise SweepError("sweeps need Optuna: pip install 'deepgrad[sweep]' (Optuna and the "
                         "PostgreSQL driver; `make install` installs them)") from None
    quiet_optuna()
    url = sweep.storage_url
    engine_kwargs = {}
    if url.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(url[len("sqlite:///"):]) or ".", exist_ok=True)
        engine_kwargs = {"connect_args": {"timeout": 120}}   # wait for other workers' writes
    retry = RetryHeartbeatStaleTrialCallback(max_retry=sweep.storage["max_retry"],
                                             inherit_intermediate_values=True)
    try:
        return RDBStorage(url, engine_kwargs=engine_kwargs,
                          heartbeat_interval=sweep.storage["heartbeat_interval"],
                          grace_period=sweep.grace_period,
                          heartbeat_stale_trial_callback=retry)
    except ImportError as error:
        raise SweepError(f"storage {redact(url)}: its database driver is not installed "
                         f"({error.__cause__ or error}); `pip install 'deepgrad[sweep]'` "
                         "installs the PostgreSQL driver (psycopg2-binary)") from error
    except Exception as error:  # sqlalchemy's errors: unreachable server, bad URL, ...
        first = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise SweepError(f"cannot open the storage {redact(url)}: {first}") from error


def sampler_seed(sweep, study, worker: int) -> int:
    """The sampler seed of a worker: the sweep's seed for the one worker of a new local
    (SQLite) sweep, so that it is reproducible; a continued sweep draws from a stream that
    depends on how many trials started (not the first trials' values again); several workers,
    on one machine or many, draw from distinct streams (their trial order depends on timing
    anyway)."""
    from optuna.trial import TrialState

    seed = sweep.sampler.get("seed", 0)
    finished = len(study.get_trials(deepcopy=False, states=(
        TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING)))
    local = sweep.storage_url.startswith("sqlite")
    if worker == 0 and local:
        if finished == 0:
            return seed
        key = (0, finished)
    else:
        key = (worker, finished, zlib.crc32(socket.gethostname().encode()), os.getpid())
    return int(np.random.SeedSequence(seed, spawn_key=key).generate_state(1)[0])


def make_sampler(sweep, seed: int, parallel: bool):
    """Optuna's sampler for the sweep. Grid points follow the sweep's own seed in every worker
    (trial number k takes point k); `parallel` turns TPE's constant liar on by default."""
    import optuna

    options = {k: v for k, v in sweep.sampler.items() if k not in ("type", "seed")}
    kind = sweep.sampler["type"]
    if kind == "grid":
        class GridSampler(optuna.samplers.GridSampler):
            def after_trial(self, study, trial, state, values):
                pass   # the queue of planned trials, not the sampler, ends the sweep

        return GridSampler(sweep.space.grid(), seed=sweep.sampler["seed"])
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    liar = options.pop("constant_liar")
    return optuna.samplers.TPESampler(seed=seed, constant_liar=parallel if liar is None
                                      else liar, **options)


def make_pruner(sweep):
    import optuna

    options = {k: v for k, v in sweep.pruner.items() if k != "type"}
    kind = sweep.pruner["type"]
    if kind == "median":
        return optuna.pruners.MedianPruner(**options)
    if kind == "hyperband":
        return optuna.pruners.HyperbandPruner(**options)
    return optuna.pruners.NopPruner()


# --------------------------------------------------------------------------------------------
# creating, joining and topping up the study
# --------------------------------------------------------------------------------------------
def _json(value):
    return json.loads(json.dumps(value))


def open_study(sweep, storage, worker: int = 0, create: bool = True):
    """Create the sweep's study with its queue of planned trials, or join the existing one
    (checking that it was made from the same sweep) and, with `create`, add trials when
    `sweep.trials` asks for more than it planned; then give it the sampler of `worker`.
    Returns (study, note) where note says what happened."""
    import optuna

    sampler, pruner = optuna.samplers.RandomSampler(), make_pruner(sweep)

    note = None
    study = None
    if create and sweep.trials is not None:
        try:
            study = optuna.create_study(study_name=sweep.name, storage=storage, sampler=sampler,
                                        pruner=pruner, direction=sweep.direction)
        except optuna.exceptions.DuplicatedStudyError:
            study = None
        else:
            study.set_user_attr(FINGERPRINT, _json(sweep.fingerprint()))
            enqueue(study, sweep.trials)
            study.set_user_attr(PLANNED, sweep.trials)
            note = f"created study {sweep.name!r} with {sweep.trials} planned trials"
    if study is None:
        try:
            study = optuna.load_study(study_name=sweep.name, storage=storage, sampler=sampler,
                                      pruner=pruner)
        except KeyError:
            hint = ("; to start it, say how many trials to run (trials: N in the sweep file, "
                    "or --trials N)" if create else "")
            raise SweepError(f"the storage {redact(sweep.storage_url)} has no study "
                             f"{sweep.name!r}{hint}") from None
        planned = _wait_for_plan(study)
        check_same_sweep(study, sweep)
        extra = (sweep.trials or planned) - planned
        if extra > 0 and create:          # a command adds trials, its workers never do
            enqueue(study, extra)
            study.set_user_attr(PLANNED, planned + extra)
            note = f"study {sweep.name!r}: {extra} more trials planned ({planned + extra} in all)"
        else:
            note = f"joined study {sweep.name!r} ({planned} planned trials)"
    parallel = worker != 0 or not sweep.storage_url.startswith("sqlite")
    study.sampler = make_sampler(sweep, sampler_seed(sweep, study, worker), parallel)
    return study, note


def enqueue(study, count: int) -> None:
    import optuna
    from optuna.trial import TrialState

    for _ in range(count):
        study.add_trial(optuna.trial.create_trial(state=TrialState.WAITING))


def _wait_for_plan(study) -> int:
    """The planned number of trials; a study just created by another worker may not have
    queued them yet."""
    deadline = time.monotonic() + JOIN_TIMEOUT
    while True:
        planned = study.user_attrs.get(PLANNED)
        if planned is not None:
            return int(planned)
        if time.monotonic() > deadline:
            raise SweepError(f"study {study.study_name!r} exists but has no planned trials after "
                             f"{JOIN_TIMEOUT:.0f} s: it was not made by `deepgrad sweep`, or its "
                             "creator died while queueing; delete it or choose another name")
        time.sleep(0.5)


def check_same_sweep(study, sweep) -> None:
    stored = study.user_attrs.get(FINGERPRINT)
    if stored is None:
        raise SweepError(f"study {study.study_name!r} was not made by `deepgrad sweep`; choose "
                         "another name (name: in the sweep file)")
    current = _json(sweep.fingerprint())
    differ = [part for part in current if stored.get(part) != current[part]]
    if differ:
        raise SweepError(f"study {study.study_name!r} was made from a different sweep (its "
                         f"{', '.join(differ)} differ{'s' if len(differ) == 1 else ''}); to "
                         "continue it, restore those settings; for a new sweep choose another "
                         "name or output directory")


# --------------------------------------------------------------------------------------------
# the protocol of a worker
# --------------------------------------------------------------------------------------------
@contextlib.contextmanager
def critical(sweep):
    """Serialize the workers of this machine around state changes on SQLite, whose file locks
    do not make Optuna's read-check-write sequences atomic; PostgreSQL's row locks do."""
    url = sweep.storage_url
    if not url.startswith("sqlite:///"):
        yield
        return
    import fcntl

    with open(url[len("sqlite:///"):] + ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fail_dead_trials(study) -> None:
    """Mark trials whose worker stopped sending heartbeats as failed; the storage's retry
    callback queues a copy of each."""
    import optuna

    optuna.storages.fail_stale_trials(study)


def claim(study):
    """Take the next waiting trial (now RUNNING in this worker) or return None.

    `Study.ask` would also take a waiting trial, but creates a new one when the queue is
    empty; a sweep runs exactly its planned trials, so it only takes from the queue.
    """
    import optuna

    if hasattr(study, "_thread_local"):     # as Study.ask: the sampler sees every trial
        study._thread_local.cached_all_trials = None
    trial_id = study._pop_waiting_trial_id()
    return None if trial_id is None else optuna.Trial(study, trial_id)


def finish(study, trial, value=None, state=None) -> bool:
    """Record a trial's end; False when the trial was declared dead meanwhile (its retry
    runs elsewhere, so this result is discarded)."""
    import optuna

    try:
        study.tell(trial, value, state=state)
    except optuna.exceptions.UpdateFinishedTrialError:
        return False
    return True


def requeue(study, trial) -> None:
    """An interrupted trial (Ctrl-C, SIGTERM): failed now and queued again, as if its worker
    had died, so the next run continues it without waiting for the grace period."""
    from optuna.trial import TrialState

    if finish(study, trial, state=TrialState.FAIL):
        frozen = trial.storage.get_trial(trial._trial_id)
        trial.storage.get_heartbeat_stale_trial_callback()(study, copy.deepcopy(frozen))


class Heartbeat:
    """Records the trial's heartbeat now and then every `interval` seconds until stopped."""

    def __init__(self, storage, trial, interval: float):
        self.storage, self.trial_id, self.interval = storage, trial._trial_id, interval
        self.stop = threading.Event()
        self.storage.record_heartbeat(self.trial_id)
        self.thread = threading.Thread(target=self._beat, daemon=True,
                                       name=f"heartbeat-{trial.number}")

    def _beat(self):
        while not self.stop.wait(self.interval):
            try:
                self.storage.record_heartbeat(self.trial_id)
            except Exception:  # a database hiccup: the next beat tries again
                pass

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def counts(study) -> dict:
    """State name -> number of trials."""
    out = {}
    for trial in study.get_trials(deepcopy=False):
        out[trial.state.name] = out.get(trial.state.name, 0) + 1
    return out
