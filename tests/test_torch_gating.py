"""Without PyTorch every float64 gradcheck still runs: PyTorch is gated per test.

Runs rows of the op table (float64 gradcheck, forward/reverse, PyTorch) in a subprocess where
`import torch` fails (DEEPGRAD_TEST_HIDE_TORCH=1, see conftest.py) and checks that they all ran and passed,
and that only the comparisons with PyTorch were skipped. `make test-notorch` runs the whole
suite that way.
"""

import os
import re
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def _run_without_torch(*args):
    env = dict(os.environ, DEEPGRAD_TEST_HIDE_TORCH="1", OPENBLAS_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", *args],
        cwd=os.path.dirname(HERE), env=env, capture_output=True, text=True, timeout=300)
    return result.returncode, result.stdout + result.stderr


def _count(word, output):
    found = re.search(rf"(\d+) {word}", output)
    return int(found.group(1)) if found else 0


def test_op_table_runs_its_float64_checks_without_pytorch():
    code, output = _run_without_torch(
        os.path.join(HERE, "test_ops.py"), "-k", "exp or sum or matmul or hidden",
        os.path.join(HERE, "test_torch_gating.py") + "::test_torch_is_hidden_when_asked")
    assert code == 0, output[-3000:]
    passed, skipped = _count("passed", output), _count("skipped", output)
    # each row has a gradcheck and a forward/reverse test (run) and a PyTorch test (skipped)
    assert skipped >= 10 and passed >= 2 * skipped + 1, output[-3000:]
    assert _count("error", output) == 0 and "needs PyTorch" in output, output[-3000:]


def test_torch_is_hidden_when_asked():
    """Run by the test above, in its subprocess: there `import torch` must fail."""
    if os.environ.get("DEEPGRAD_TEST_HIDE_TORCH") != "1":
        pytest.skip("checked inside the subprocess of the test above")
    with pytest.raises(ModuleNotFoundError, match="hidden by DEEPGRAD_TEST_HIDE_TORCH"):
        import torch  # noqa: F401
