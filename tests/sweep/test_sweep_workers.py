"""Several workers and dead workers: local processes on SQLite, a killed sweep resumed, and
workers sharing one study on a real PostgreSQL server, one of them SIGKILLed mid-trial."""

import io
import os
import signal
import time

import optuna
from optuna.storages import RetryHeartbeatStaleTrialCallback as Retry
from optuna.trial import TrialState

from sweep_helpers import SPACE, deepgrad_process
from deepgrad.runner import Run
from deepgrad.sweep import load_sweep, run_sweep
from deepgrad.sweep.study import make_storage

BODY = ("space:\n" + SPACE + "objective: {metric: val_accuracy}\n"
        "sampler: {type: random, seed: 0}\n"
        "storage: {heartbeat_interval: 1, grace_period: 2}\n")


def study_of(path, storage=None):
    sweep = load_sweep(path, storage=storage)
    return sweep, optuna.load_study(study_name=sweep.name, storage=make_storage(sweep))


def origin(trial) -> int:
    """The planned trial a trial record stands for (a retry stands for the trial it repeats)."""
    retried = Retry.retried_trial_number(trial)
    return trial.number if retried is None else retried


def check_exactly_once(trials, planned: int, dead: int):
    """Every planned trial completed exactly once; `dead` attempts failed and were retried,
    each retry resuming the dead attempt after its checkpointed epoch 2."""
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert sorted(origin(t) for t in complete) == list(range(planned))
    assert len(failed) == dead and len(trials) == planned + dead
    for attempt in failed:
        (retry,) = [t for t in complete if Retry.retried_trial_number(t) == attempt.number]
        assert retry.params == attempt.params
        assert retry.user_attrs["resumed_after_epoch"] == 2
    return complete, failed


def retrained_value(sweep, trial) -> float:
    """The trial's config trained in one go, uninterrupted, in a directory of its own."""
    config = sweep.trial_config(sweep.space.values(trial.params))
    run = Run.from_config(config, run_dir=os.path.join(sweep.output_dir, "uninterrupted"))
    run.fit(verbose=0, report=False)
    return run.best["value"]


def test_a_killed_sweep_resumes_and_loses_nothing(write_sweep):
    path = write_sweep(BODY + "trials: 3\n")
    process = deepgrad_process("sweep", path, kill_after_epoch=2)
    output, _ = process.communicate(timeout=300)
    assert process.returncode == -signal.SIGKILL, output
    sweep, study = study_of(path)
    assert [t.state for t in study.get_trials()] == [TrialState.RUNNING] + [
        TrialState.WAITING] * 2
    log = io.StringIO()
    result = run_sweep(path, stream=log, report=False)
    assert result.states == {"COMPLETE": 3, "FAIL": 1}, log.getvalue()
    complete, (dead,) = check_exactly_once(study.get_trials(), planned=3, dead=1)
    assert dead.number == 0
    retry = [t for t in complete if origin(t) == 0][0]
    # resumed after epoch 2 of 3, the trial ends exactly where an uninterrupted run does
    assert retry.value == retrained_value(sweep, retry)
    assert "its worker stopped (no heartbeat); retried as trial 3" in result.table


def test_local_worker_processes_share_the_sqlite_study(write_sweep):
    path = write_sweep(BODY + "trials: 9\n")
    log = io.StringIO()
    result = run_sweep(path, workers=2, trials=3, stream=log, report=False)   # --trials 3
    assert result.exit_codes == [0, 0]
    assert result.states == {"COMPLETE": 3}, log.getvalue()
    _, study = study_of(path)
    trials = study.get_trials()
    assert len({(t.params["optimizer.lr"], t.params["width"]) for t in trials}) == 3
    assert len({t.user_attrs["run_dir"] for t in trials}) == 3


def wait_for_running_trial(path, storage, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, study = study_of(path, storage)
            if study.get_trials(states=(TrialState.RUNNING,)):
                return
        except (KeyError, Exception):   # the study is being created
            pass
        time.sleep(0.2)
    raise AssertionError("the first worker never started a trial")


def test_postgresql_workers_join_one_study_and_survive_a_killed_one(write_sweep,
                                                                     postgres_url):
    path = write_sweep(BODY + "trials: 4\n")
    killed = deepgrad_process("sweep", path, "--storage", postgres_url, kill_after_epoch=2)
    try:
        wait_for_running_trial(path, postgres_url)
        survivor = deepgrad_process("sweep", path, "--storage", postgres_url)
        try:
            killed_output, _ = killed.communicate(timeout=300)
            survivor_output, _ = survivor.communicate(timeout=300)
        finally:
            survivor.kill()
    finally:
        killed.kill()
    assert killed.returncode == -signal.SIGKILL, killed_output
    assert survivor.returncode == 0, survivor_output
    assert "joined study 'sweep' (4 planned trials)" in survivor_output
    _, study = study_of(path, postgres_url)
    complete, (dead,) = check_exactly_once(study.get_trials(), planned=4, dead=1)
    assert dead.number == 0                              # the killed worker's first trial
    assert "retried as trial 4" in survivor_output or "retry of trial 0" in survivor_output
    assert len({t.params["optimizer.lr"] for t in complete}) == 4


def test_an_interrupted_trial_goes_back_to_the_queue_at_once(write_sweep, monkeypatch):
    from deepgrad.sweep import worker

    path = write_sweep(BODY + "trials: 2\n")

    def interrupted(sweep, trial):
        raise KeyboardInterrupt("Ctrl-C")

    monkeypatch.setattr(worker, "run_trial", interrupted)
    log = io.StringIO()
    try:
        run_sweep(path, stream=log, report=False)
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("the interrupt was swallowed")
    assert "trial 0: interrupted; queued again" in log.getvalue()
    _, study = study_of(path)
    first, second, retry = study.get_trials()
    assert (first.state, second.state, retry.state) == (TrialState.FAIL, TrialState.WAITING,
                                                        TrialState.WAITING)
    assert Retry.retried_trial_number(retry) == 0 and retry.params == first.params
