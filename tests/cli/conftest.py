"""Fixtures of the CLI tests: running `deepgrad` in-process, and small trained runs shared by
the tests of a module."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # the tests import cli_helpers

from cli_helpers import FASHION_SLICE, SPIRALS_SMALL, example, have_fashion_mnist  # noqa: E402


@pytest.fixture(autouse=True)
def _matplotlib_env(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    if not os.environ.get("MPLCONFIGDIR"):
        monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path_factory.getbasetemp() / "mpl"))


@pytest.fixture
def cli(capsys):
    """cli(*args) -> (exit code, stdout, stderr) of deepgrad.cli.main, in-process."""
    from deepgrad.cli import main

    def run(*args):
        capsys.readouterr()
        try:
            code = main([str(a) for a in args])
        except SystemExit as exit_:
            code = exit_.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(scope="module")
def spirals_run(tmp_path_factory):
    """A spirals run trained once per module: its run directory."""
    from deepgrad.cli import main

    out = tmp_path_factory.mktemp("spirals") / "run"
    os.environ.setdefault("MPLBACKEND", "Agg")
    code = main(["train", example("spirals.yaml"), "--out", str(out), "-q",
                 "--set", *SPIRALS_SMALL])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def fashion_run(tmp_path_factory):
    """The default Fashion-MNIST MLP trained for one epoch on a slice."""
    if not have_fashion_mnist():
        pytest.skip("Fashion-MNIST files not installed (make data)")
    from deepgrad.cli import main

    out = tmp_path_factory.mktemp("fashion") / "run"
    os.environ.setdefault("MPLBACKEND", "Agg")
    code = main(["train", example("fashion_mnist_mlp.yaml"), "--out", str(out), "-q",
                 "--set", *FASHION_SLICE, "model.sizes=[784,32,10]"])
    assert code == 0
    return out
