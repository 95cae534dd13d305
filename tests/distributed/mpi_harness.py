"""Run a command as N MPI ranks from a test: loopback only, bounded time, always cleaned up.

The ranks use shared memory for MPI traffic. mpiexec's own runtime opens TCP listeners; to keep
them off the machine's network the whole job runs in a fresh network namespace that has only
the loopback interface (`unshare --net`, as root, or with a user namespace otherwise). Where no
such namespace can be made, the tests that need mpiexec are skipped with the reason.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys

import pytest

from deepgrad.distributed.launch import find_mpiexec, mpi_environment, mpiexec_command

# the namespace wrapper: bring up its loopback interface, then run the command
_NETNS = ["sh", "-c", 'ip link set lo up && exec "$@"', "netns"]


@functools.lru_cache(maxsize=1)
def namespace_prefix():
    """The command prefix that runs a command in a new network namespace, or None."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return None
    candidates = [["unshare", "--net"], ["unshare", "--user", "--map-root-user", "--net"]]
    for prefix in candidates:
        try:
            probe = subprocess.run(prefix + _NETNS + ["true"], capture_output=True,
                                   timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return prefix + _NETNS
    return None


def require_mpi():
    """Skip the calling test unless mpi4py, mpiexec and a loopback-only namespace exist."""
    pytest.importorskip("mpi4py")
    try:
        find_mpiexec()
    except FileNotFoundError as error:
        pytest.skip(str(error))
    if namespace_prefix() is None:
        pytest.skip("cannot confine mpiexec to a loopback-only network namespace (unshare)")


def clean_environment(extra=None) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OMPI_", "PMIX_", "PMI_", "PRTE_"))}
    env.update(extra or {})
    return env


def run_ranks(nproc, argv, timeout, env=None, cwd=None):
    """Run argv as `nproc` ranks; returns the CompletedProcess. The process group is killed
    when the time is up or the test is interrupted."""
    command = namespace_prefix() + mpiexec_command(nproc, argv)
    return run_bounded(command, timeout, mpi_environment(nproc, clean_environment(env)), cwd)


def run_command(argv, timeout, env=None, cwd=None):
    """Run a command (e.g. `deepgrad train ... --nproc 2`) inside the loopback namespace."""
    return run_bounded(namespace_prefix() + list(argv), timeout, clean_environment(env), cwd)


def run_bounded(command, timeout, env, cwd):
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env, cwd=cwd, text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except BaseException:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


PYTHON = sys.executable
