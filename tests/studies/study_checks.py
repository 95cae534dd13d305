"""Shared checks of the study tests: a study's outputs, and whether Fashion-MNIST is here."""

import importlib
import os
import time

import pytest
from PIL import Image


def check_outputs(result, name):
    """The study wrote its summary (setup, claims, tables) and slide-sized figures."""
    assert result.name == name and result.quick
    assert result.figures, "a study writes at least one figure"
    summary = result.summary()
    assert result.summary_path == os.path.join(result.out_dir, "summary.md")
    assert summary.startswith("# ") and "|---|" in summary
    assert "**holds**" in summary or "**does not hold**" in summary
    for path in result.figures:
        assert path.endswith(".png") and os.path.basename(path) in summary
        with Image.open(path) as image:
            width, height = image.size
            dpi = image.info.get("dpi", (0, 0))[0]
        assert width >= 1600 and height >= 900 and round(dpi) >= 199, (path, image.size, dpi)


def needs_fashion_mnist():
    module = importlib.import_module("deepgrad.data.fashion_mnist")
    names = ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte")
    if not any(os.path.isfile(os.path.join(d, name)) for d in module.search_dirs()
               for name in names):
        pytest.skip("Fashion-MNIST is not installed (make data)")


def run_quick(name, out_dir, seed=0):
    """Run study `name` in quick mode; its CPU time must stay under 20 s (CPU time, not wall
    time: the test machine is shared, and wall time measures the neighbours)."""
    from deepgrad.studies import run_study

    start = time.process_time()
    result = run_study(name, out_dir, quick=True, seed=seed)
    seconds = time.process_time() - start
    assert seconds < 20, f"study {name} --quick took {seconds:.1f} s of CPU time"
    check_outputs(result, name)
    return result
