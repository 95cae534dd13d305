"""Sweeps on SQLite with one worker: grid enumeration, reproducibility, pruning, the report,
the best config, continuing and topping up a study."""

import io
import itertools
import os

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from sweep_helpers import SPACE
from deepgrad.runner import Run
from deepgrad.sweep import SweepError, load_sweep, run_sweep
from deepgrad.sweep.study import make_storage


def study_of(path):
    sweep = load_sweep(path)
    return optuna.load_study(study_name=sweep.name, storage=make_storage(sweep))


def run(path, **kwargs):
    out = io.StringIO()
    kwargs.setdefault("report", False)
    result = run_sweep(path, stream=out, **kwargs)
    return result, out.getvalue()


def test_grid_enumerates_every_point_once_and_the_best_config_reproduces(write_sweep, capsys):
    path = write_sweep("""\
        space:
          optimizer.lr: {type: categorical, choices: [0.003, 0.03]}
          width: {type: int, low: 8, high: 16, step: 8,
                  keys: [model.layers.0.out_features, model.layers.2.in_features]}
        objective: {metric: val_accuracy}
        sampler: grid
        """)
    result, log = run(path, report=True)
    assert result.states == {"COMPLETE": 4}
    trials = study_of(path).get_trials()
    seen = sorted((t.params["optimizer.lr"], t.params["width"]) for t in trials)
    assert seen == sorted(itertools.product([0.003, 0.03], [8, 16]))
    for trial in trials:                      # each trial is an ordinary run directory
        run_dir = trial.user_attrs["run_dir"]
        assert run_dir.endswith(f"trials/trial_{trial.number:04d}")
        with open(os.path.join(run_dir, "config.yaml")) as stream:
            config = yaml.safe_load(stream)
        assert config["optimizer"]["lr"] == trial.params["optimizer.lr"]
        assert config["model"]["layers"][0]["args"]["out_features"] == trial.params["width"]
        assert config["model"]["layers"][2]["args"]["in_features"] == trial.params["width"]
        with open(os.path.join(run_dir, "metrics.csv")) as stream:
            assert len(stream.read().strip().splitlines()) == 1 + 3
        assert trial.user_attrs["epochs"] == 3
        assert f"trial {trial.number}: val_accuracy = {trial.value:.4f}" in log
    best = max(trials, key=lambda t: t.value)
    assert result.best_number == best.number and result.best_value == best.value
    # the best config, retrained with the same seed, reproduces the trial's metric exactly
    with open(result.best_config_path) as stream:
        text = stream.read()
    assert text.startswith(f"# the best trial of sweep 'sweep': trial {best.number}, "
                           f"val_accuracy = {best.value:.6g}")
    retrained = Run.from_config(result.best_config_path)
    assert retrained.run_dir == os.path.join(os.path.abspath(result.output_dir), "best")
    retrained.fit(verbose=0, report=False)
    assert retrained.best["value"] == best.value
    # report: the trials table and Optuna's plots
    with open(result.report_path) as stream:
        report = stream.read()
    assert "<h2>Trials</h2>" in report and report.count("<tr>") >= 4 + 1
    assert report.count("data:image/png;base64,") >= 4
    # running the command again finds nothing left to do
    from deepgrad.cli import main

    capsys.readouterr()
    assert main(["sweep", path]) == 0
    out = capsys.readouterr().out
    assert "4 complete" in out and f"best: trial {best.number}" in out
    assert len(study_of(path).get_trials()) == 4


def test_the_same_seed_gives_the_same_trials(write_sweep, tmp_path):
    body = ("space:\n" + SPACE + "objective: {metric: val_loss}\nsampler: {type: tpe, seed: 7, "
            "n_startup_trials: 1}\nset: {training.epochs: 1}\ntrials: 2\n")
    first = write_sweep(body, name="a.yaml")
    second = write_sweep(body, name="b.yaml")
    run(first)
    run(second)
    a, b = study_of(first).get_trials(), study_of(second).get_trials()
    assert [t.params for t in a] == [t.params for t in b]
    assert [t.value for t in a] == [t.value for t in b]
    assert len({t.params["optimizer.lr"] for t in a}) == 2
    # more trials for the same study: the new one is not a replay of the first draws
    result, log = run(second, trials=3)
    assert "1 more trials planned (3 in all)" in log
    b = study_of(second).get_trials()
    assert len(b) == 3 and b[2].state == TrialState.COMPLETE
    assert b[2].params["optimizer.lr"] not in {t.params["optimizer.lr"] for t in b[:2]}
    # a changed sweep cannot continue the study
    with open(second) as stream:
        text = stream.read().replace("high: 0.1", "high: 0.2")
    with open(second, "w") as stream:
        stream.write(text)
    with pytest.raises(SweepError, match="made from a different sweep \\(its space differs\\)"):
        run(second)


def test_pruning_stops_a_hopeless_trial_early(write_sweep):
    path = write_sweep("""\
        space:
          optimizer.lr: {type: categorical, choices: [0.05, 1.0e-7]}
        objective: {metric: val_accuracy, epoch: last}
        sampler: {type: grid, seed: 1}
        pruner: {type: median, n_startup_trials: 1, n_warmup_steps: 2}
        set: {training.epochs: 6}
        """)
    result, log = run(path)
    good, hopeless = study_of(path).get_trials()
    assert good.params["optimizer.lr"] == 0.05, "grid seed 1 puts the good rate first"
    assert good.state == TrialState.COMPLETE and good.user_attrs["epochs"] == 6
    assert hopeless.state == TrialState.PRUNED
    epochs = hopeless.user_attrs["epochs"]
    assert epochs == 2          # no pruning before step 2; then below the median: stopped
    assert sorted(hopeless.intermediate_values) == [1, 2]
    with open(os.path.join(hopeless.user_attrs["run_dir"], "metrics.csv")) as stream:
        assert len(stream.read().strip().splitlines()) == 1 + epochs
    assert "trial 1: pruned, pruned after epoch 2" in log
    assert result.states == {"COMPLETE": 1, "PRUNED": 1}


def test_after_the_timeout_no_trial_starts(write_sweep):
    path = write_sweep("space:\n" + SPACE + "objective: {metric: val_accuracy}\ntrials: 3\n"
                       "sampler: random\n")
    result, log = run(path, timeout=1e-6)
    assert result.states == {"WAITING": 3} and result.best_number is None
    assert "created study 'sweep' with 3 planned trials" in log
