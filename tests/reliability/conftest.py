"""Fixtures of the reliability (attack) suite: a small trained run whose checkpoint the
hostile corpus is made from."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the tests import hostile.py

from hostile import SPIRALS  # noqa: E402

SPIRALS_TINY = ["data.n=300", "training.epochs=3", "training.batch_size=32"]


@pytest.fixture(autouse=True)
def _matplotlib_env(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    if not os.environ.get("MPLCONFIGDIR"):
        monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path_factory.getbasetemp() / "mpl"))


@pytest.fixture(scope="session")
def spirals_run(tmp_path_factory):
    """A spirals run of three epochs (about a second): its run directory."""
    from deepgrad.cli import main

    out = tmp_path_factory.mktemp("reliability") / "spirals"
    assert main(["train", SPIRALS, "--out", str(out), "-q", "--set", *SPIRALS_TINY]) == 0
    return out


@pytest.fixture
def good_checkpoint(spirals_run):
    return str(spirals_run / "checkpoints" / "last.safetensors")
