"""Workers: the loop that takes planned trials from the study until none is left, and the
local worker processes of `deepgrad sweep --workers N`.

A worker stops when the queue is empty and no trial is running anywhere (a running trial
whose worker dies comes back to the queue as a retry, so idle workers wait for those), or
when the sweep's timeout has passed (trials already started finish). Each local worker process
uses one BLAS thread unless OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS are set:
N processes on N cores are faster than N processes fighting over N x cores threads.

    python -m deepgrad.sweep SWEEP.yaml --index 1 [--storage URL] [--out DIR] [--deadline T]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time

from deepgrad.sweep import study as sweep_study
from deepgrad.sweep.trial import run_trial

BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
IDLE_POLL = 1.0     # seconds between looks at the queue while other workers' trials run


def _describe(values: dict) -> str:
    def text(v):
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    return ", ".join(f"{k}={text(v)}" for k, v in values.items())


def work(sweep, index: int = 0, deadline=None, stream=None, study=None) -> dict:
    """Run planned trials until none is left; returns {"complete": n, "pruned": n, ...} of
    this worker. `study`: the study opened by the caller (the command's own worker)."""
    from optuna.trial import TrialState

    stream = stream or sys.stdout
    if study is None:
        study, _ = sweep_study.open_study(sweep, sweep_study.make_storage(sweep), index,
                                          create=False)
    storage = study._storage    # heartbeats are recorded through the study's storage
    done = {"complete": 0, "pruned": 0, "failed": 0, "discarded": 0}
    prefix = f"[worker {index}] " if index else ""

    def say(text):
        stream.write(prefix + text + "\n")
        stream.flush()

    while deadline is None or time.time() < deadline:
        with sweep_study.critical(sweep):
            sweep_study.fail_dead_trials(study)
            trial = sweep_study.claim(study)
        if trial is None:
            states = sweep_study.counts(study)
            if not states.get("RUNNING") and not states.get("WAITING"):
                break
            time.sleep(IDLE_POLL)
            continue
        heartbeat = sweep_study.Heartbeat(storage, trial, sweep.storage["heartbeat_interval"])
        try:
            with heartbeat:
                value, state, note = _attempt(sweep, trial)
        except BaseException:         # Ctrl-C, SIGTERM: back to the queue, then stop
            with sweep_study.critical(sweep):
                sweep_study.requeue(study, trial)
            say(f"trial {trial.number}: interrupted; queued again")
            raise
        with sweep_study.critical(sweep):
            kept = sweep_study.finish(study, trial, value, state=state)
        params = _describe(sweep.space.values(trial.params))
        if not kept:
            done["discarded"] += 1
            say(f"trial {trial.number}: result discarded (the trial was declared dead after "
                f"{sweep.grace_period} s without heartbeat and runs again)")
        elif state == TrialState.COMPLETE:
            done["complete"] += 1
            say(f"trial {trial.number}: {sweep.metric} = {value:.4f}  ({params})  {note}")
        elif state == TrialState.PRUNED:
            done["pruned"] += 1
            say(f"trial {trial.number}: pruned, {note}  ({params})")
        else:
            done["failed"] += 1
            say(f"trial {trial.number}: failed: {note}  ({params})")
    return done


def _attempt(sweep, trial) -> tuple:
    """(value, state, note) of one trial run; a training error fails the trial, not the
    worker."""
    import math

    import optuna
    from optuna.trial import TrialState

    started = time.perf_counter()
    try:
        value, epochs = run_trial(sweep, trial)
    except optuna.TrialPruned as pruned:
        return None, TrialState.PRUNED, f"{pruned} ({time.perf_counter() - started:.1f} s)"
    except Exception as error:
        message = f"{type(error).__name__}: {error}"
        trial.set_user_attr("error", message[:2000])
        return None, TrialState.FAIL, message
    if not math.isfinite(value):
        trial.set_user_attr("error", f"{sweep.metric} is {value} (training diverged)")
        return None, TrialState.FAIL, f"{sweep.metric} is {value} (training diverged)"
    return value, TrialState.COMPLETE, f"{epochs} epochs, {time.perf_counter() - started:.1f} s"


# --------------------------------------------------------------------------------------------
# local worker processes
# --------------------------------------------------------------------------------------------
def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the parent dies (Linux), so killing
    `deepgrad sweep` stops its workers, whose trials then go back to the queue."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def spawn(sweep, count: int, deadline=None) -> list:
    """Start `count` worker processes (indices 1..count) on this machine."""
    env = dict(os.environ)
    for name in BLAS_THREADS:
        env.setdefault(name, "1")
    command = [sys.executable, "-m", "deepgrad.sweep", sweep.path,
               "--storage", sweep.storage_url, "--out", os.path.abspath(sweep.output_dir)]
    if deadline is not None:
        command += ["--deadline", repr(deadline)]
    return [subprocess.Popen(command + ["--index", str(i)], env=env,
                             preexec_fn=_die_with_parent) for i in range(1, count + 1)]


def wait(processes: list) -> list:
    """Wait for the workers; on Ctrl-C, pass SIGTERM on and wait for them to requeue."""
    try:
        return [p.wait() for p in processes]
    except KeyboardInterrupt:
        for p in processes:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in processes:
            p.wait()
        raise


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def sigterm_interrupts():
    """SIGTERM acts like Ctrl-C while a sweep runs (running trials go back to the queue);
    the previous handler is restored afterwards. Only the main thread can set handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv=None) -> int:
    from deepgrad.sweep.config import load_sweep

    parser = argparse.ArgumentParser(prog="python -m deepgrad.sweep")
    parser.add_argument("sweep")
    parser.add_argument("--index", type=int, default=1)
    parser.add_argument("--storage")
    parser.add_argument("--out")
    parser.add_argument("--deadline", type=float)
    args = parser.parse_args(argv)
    sweep = load_sweep(args.sweep, storage=args.storage, output_dir=args.out)
    try:
        with sigterm_interrupts():
            work(sweep, args.index, args.deadline)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
