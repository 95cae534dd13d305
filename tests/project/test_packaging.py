"""A fresh `make install` is quiet: the project's own metadata gives setuptools nothing to
warn about (no license table, no transitional editable mode, no import-hook finder)."""

import pathlib
import warnings

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_pyproject_metadata_applies_without_a_warning():
    setuptools = pytest.importorskip("setuptools")
    if tuple(int(p) for p in setuptools.__version__.split(".")[:2]) < (77, 0):
        pytest.skip(f"setuptools {setuptools.__version__} predates SPDX license strings")
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dist = apply_configuration(Distribution(), ROOT / "pyproject.toml")
    assert dist.get_name() == "deepgrad"
    assert dist.metadata.license_expression == "MIT"
    # a plain path entry for the editable install (no meta-path finder and its banner)
    assert dist.package_dir == {"": "."}


def test_make_install_uses_the_default_editable_mode():
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install" in makefile
    assert "editable_mode=compat" not in makefile
