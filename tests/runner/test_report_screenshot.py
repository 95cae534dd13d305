"""report.html as a person sees it: numbers formatted for people, the best epoch marked, and a
headless Chromium screenshot that is not blank."""

import pathlib
import re
import shutil
import subprocess

import numpy as np
import pytest

from deepgrad.runner import Run

ROOT = pathlib.Path(__file__).parents[2]
SPIRALS = str(ROOT / "examples" / "spirals.yaml")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("report") / "run"
    run = Run.from_config(SPIRALS, run_dir=run_dir,
                          overrides=["training.epochs=12", "data.n=600", "training.verbose=0"])
    run.fit()
    return run, run_dir / "report.html"


def test_numbers_are_formatted_for_people(report):
    run, path = report
    page = path.read_text()
    assert re.search(r"<td>lr</td>", page) or ">lr<" in page
    assert "1.00e-02" in page                       # Adam's lr in scientific notation
    assert re.search(r"<td>training time</td><td>\d+(\.\d)? s</td>", page)
    assert "4,547" in page                          # parameters with a thousands separator
    assert "420 / 90 / 90" in page                  # sample counts
    assert "max-width:1600px" in page and "repeat(auto-fit" in page
    best = run.best["epoch"]
    assert best is not None


def test_the_best_epoch_is_marked_on_the_curves(report):
    from deepgrad.runner.report import _curves_figure

    run, _ = report
    figure = _curves_figure(run.history, "accuracy", "accuracy", run.best)
    labels = [line.get_label() for line in figure.axes[0].lines]
    assert f"best epoch {run.best['epoch']} (val_accuracy)" in labels
    ticks = figure.axes[0].xaxis.get_major_locator()()
    assert all(float(t).is_integer() for t in ticks)


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.mark.skipif(_chromium() is None,
                    reason="Debian's chromium is not installed (make install installs it as "
                           "root or with password-less sudo: scripts/install_browser.sh)")
def test_headless_chromium_screenshot_is_not_blank(report, tmp_path):
    _, path = report
    shot = tmp_path / "report.png"
    command = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars",
               "--window-size=1600,1200", f"--screenshot={shot}", path.as_uri()]
    subprocess.run(command, capture_output=True, timeout=90, check=False)
    assert shot.is_file(), "chromium wrote no screenshot"
    from matplotlib.image import imread

    pixels = imread(str(shot))[..., :3]
    assert pixels.shape[:2] == (1200, 1600)
    dark = (pixels.mean(axis=2) < 0.5).mean()       # text, table borders, curves
    colour = (pixels.std(axis=2) > 0.1).mean()       # the coloured curves of the figures
    assert 0.005 < dark < 0.5, dark
    assert colour > 0.001, colour
    # the page uses the width: something is drawn in the right third (the second figure)
    assert (pixels[:, 1100:].mean(axis=2) < 0.9).mean() > 0.002
    assert np.isfinite(pixels).all()
