"""Fixtures of the sweep tests: tiny spirals configs, sweep files, and a real PostgreSQL
server started for the test (Unix socket only, stopped at the end even when a test fails)."""

import glob
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import textwrap

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # the tests import sweep_helpers

from sweep_helpers import BASE  # noqa: E402


@pytest.fixture
def write_sweep(tmp_path):
    """write_sweep(body, name="sweep.yaml", base=BASE) -> path of a sweep file next to the
    tiny base config `base.yaml`; `body` is the YAML after `base:`."""

    def write(body: str, name: str = "sweep.yaml", base: str = BASE) -> str:
        (tmp_path / "base.yaml").write_text(base)
        path = tmp_path / name
        body = textwrap.dedent(body)
        if "output_dir:" not in body:
            body += f"output_dir: {tmp_path / ('sweep-' + path.stem)}\n"
        path.write_text("base: base.yaml\n" + body)
        return str(path)

    return write


# --------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------
def _postgres_bin():
    for directory in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if all(os.access(os.path.join(directory, b), os.X_OK) for b in ("initdb", "pg_ctl")):
            return directory
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb and shutil.which("pg_ctl") else None


@pytest.fixture
def postgres_url():
    """A PostgreSQL server of its own in a temporary directory, listening on a Unix socket
    only; yields the SQLAlchemy URL of an empty database. initdb refuses to run as root, so
    as root the server runs as the `postgres` system user."""
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/"
                    "bin or on PATH; `apt-get install postgresql` to run this test")
    root = tempfile.mkdtemp(prefix="deepgrad-pg-")
    as_root = os.geteuid() == 0
    if as_root:
        import pwd

        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)

    def run(*command, check=True):
        command = [str(c) for c in command]
        if as_root:
            command = ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(command)]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    data = os.path.join(root, "data")
    pg_ctl = os.path.join(bindir, "pg_ctl")
    stop = [pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"]
    run(os.path.join(bindir, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
        "--no-sync", "-E", "UTF8", "--locale=C")
    # should pytest itself be killed, a watchdog stops the server (at the latest in 15 min)
    script = (f"i=0; while [ -d /proc/{os.getpid()} ] && [ $i -lt 450 ]; do sleep 2; "
              f"i=$((i+1)); done; {shlex.join(stop)} >/dev/null 2>&1")
    watchdog = subprocess.Popen(
        ["su", "postgres", "-s", "/bin/sh", "-c", script] if as_root else ["sh", "-c", script],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        result = run(pg_ctl, "-D", data, "-l", os.path.join(root, "server.log"), "-w",
                     "-t", "60", "-o", f"-k {root} -c listen_addresses='' -c fsync=off "
                                       "-c max_connections=40", "start", check=False)
        if result.returncode != 0:
            log = open(os.path.join(root, "server.log")).read()[-2000:]
            raise RuntimeError(f"PostgreSQL did not start: {result.stderr}\n{log}")
        run(os.path.join(bindir, "createdb"), "-h", root, "-U", "postgres", "sweeps")
        yield f"postgresql+psycopg2://postgres@/sweeps?host={root}"
    finally:
        run(*stop, check=False)
        watchdog.kill()
        watchdog.wait()
        shutil.rmtree(root, ignore_errors=True)
