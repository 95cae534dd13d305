"""The config fuzzer (fuzz.py): mutants of the example configs are refused by validation
with file:line, or train; never a traceback, a hang, or an error after validation passed."""

import os

import pytest

from fuzz import fuzz
from hostile import ROOT


def _run(tmp_path, name, count, seed):
    result = fuzz(os.path.join(ROOT, "examples", name), str(tmp_path), count, seed)
    assert not result["failures"], "\n".join(result["failures"])
    assert sum(result["verdicts"].values()) == count
    return result["verdicts"]


def test_forty_mutants_of_spirals(tmp_path):
    verdicts = _run(tmp_path, "spirals.yaml", 40, seed=0)
    assert verdicts.get("refused", 0) > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", ["spirals.yaml", "regression_1d.yaml"])
def test_300_mutants(tmp_path, name):
    verdicts = _run(tmp_path, name, 300, seed=22)
    assert verdicts.get("refused", 0) > 0 and verdicts.get("trained", 0) > 0
