"""Validation of sweep files: every problem reported with its file position, before any trial."""

import pytest

from sweep_helpers import SPACE
from deepgrad.config import ConfigError
from deepgrad.sweep import load_sweep


def errors_of(path) -> list:
    with pytest.raises(ConfigError) as caught:
        load_sweep(path)
    return caught.value.errors


def test_a_valid_sweep_is_normalized(write_sweep):
    sweep = load_sweep(write_sweep("space:\n" + SPACE + "objective: {metric: val_loss}\n"
                                   "trials: 4\nsampler: {type: random, seed: 3}\n"))
    assert [p.name for p in sweep.space.params] == ["optimizer.lr", "width"]
    assert sweep.space.params[1].keys == ["model.layers.0.out_features",
                                          "model.layers.2.in_features"]
    assert (sweep.metric, sweep.direction, sweep.epoch) == ("val_loss", "minimize", "best")
    assert sweep.sampler == {"type": "random", "seed": 3}
    assert sweep.pruner == {"type": "none"} and sweep.trials == 4
    config = sweep.trial_config({"optimizer.lr": 0.02, "width": 24})
    assert config["optimizer"]["lr"] == 0.02
    assert config["model"]["layers"][0]["args"]["out_features"] == 24
    assert config["model"]["layers"][2]["args"]["in_features"] == 24
    assert sweep.storage_url.startswith("sqlite:///") and sweep.storage_url.endswith("study.db")


def test_keys_that_do_not_exist_get_did_you_mean_at_their_line(write_sweep):
    path = write_sweep("""\
        space:
          optimizer.lrr: {type: float, low: 1.0e-4, high: 0.1}
          trainig.batch_size: {type: int, low: 8, high: 64}
        objective: {metric: val_accuracy}
        trials: 3
        """)
    errors = errors_of(path)
    assert len(errors) == 2, errors
    assert errors[0].startswith(f"{path}:3:3: space.optimizer.lrr: ")
    assert "unknown argument of Adam 'lrr'" in errors[0] and "did you mean 'lr'" in errors[0]
    assert errors[1].startswith(f"{path}:4:3: space.trainig.batch_size: ")
    assert "did you mean 'training'" in errors[1]


def test_ranges_must_fit_the_keys_type_and_limits(write_sweep):
    path = write_sweep("""\
        space:
          training.batch_size: {type: float, low: 8, high: 64}
          optimizer.lr: {type: float, low: -0.1, high: 0.1}
          optimizer.type: {type: categorical, choices: [Adam, Adamm]}
          training.epochs: {type: int, low: 1, high: 3, keys: [training.verbose]}
        objective: {metric: val_accuracy}
        trials: 3
        """)
    errors = errors_of(path)
    assert len(errors) == 4, errors
    batch, lr, kind, verbose = errors
    assert batch.startswith(f"{path}:3:3: space.training.batch_size: a value between low and "
                            "high = 28.72 does not fit the base config base.yaml")
    assert "expected an integer" in batch
    assert lr.startswith(f"{path}:4:3: space.optimizer.lr: low = -0.1 does not fit") and "lr" in lr
    assert "choice 1 = 'Adamm'" in kind and "did you mean 'Adam'" in kind
    assert "high = 3" in verbose and "training.verbose: must be in [0, 2]" in verbose


def test_malformed_entries_and_sections(write_sweep):
    path = write_sweep("""\
        space:
          optimizer.lr: {type: floot, low: 1.0e-4, high: 0.1}
          training.epochs: {type: int, low: 5, high: 2}
          training.batch_size: {type: int, low: 8, high: 64, logg: true}
          data.noise: {type: float, low: 0, high: 0.2, log: true}
          training.eval_batch_size: {type: int, low: 8, high: 20, step: 8}
        objective: {metric: val_acuracy}
        sampler: tpee
        pruner: {type: median, n_warmup_step: 2}
        trials: 0
        """)
    errors = "\n".join(errors_of(path))
    assert f"{path}:11:9: trials: must be >= 1, got 0" in errors
    assert "space.training.eval_batch_size.step: high - low = 12 is not a multiple of step 8" \
           in errors
    assert "space.optimizer.lr.type: must be float, int or categorical, got 'floot' (did " \
           "you mean 'float'?)" in errors
    assert "space.training.epochs: expected low < high, got low=5, high=2" in errors
    assert "unknown key 'logg' (did you mean 'log'?)" in errors
    assert "space.data.noise.low: a log scale needs low > 0, got 0.0" in errors
    assert f"{path}:8:21: objective.metric: unknown metric 'val_acuracy' (did you mean " \
           "'val_accuracy'?)" in errors
    assert "sampler.type: must be one of grid, random, tpe, got 'tpee' (did you mean " \
           "'tpe'?)" in errors
    assert "unknown key 'n_warmup_step' (did you mean 'n_warmup_steps'?)" in errors


def test_grid_needs_finite_values_and_at_most_its_size(write_sweep):
    errors = errors_of(write_sweep("""\
        space:
          optimizer.lr: {type: float, low: 1.0e-3, high: 0.1, log: true}
        objective: {metric: val_accuracy}
        sampler: grid
        """))
    assert len(errors) == 1 and "the grid sampler needs a finite set of values" in errors[0]
    errors = errors_of(write_sweep("""\
        space:
          optimizer.lr: {type: float, low: 0.01, high: 0.03, step: 0.01}
          width: {type: categorical, choices: [8, 16], keys: [model.layers.0.out_features,
                                                            model.layers.2.in_features]}
        objective: {metric: val_accuracy}
        sampler: grid
        trials: 7
        """))
    assert errors == [f"{errors[0].split(': ')[0]}: trials: the grid has 6 points, so at "
                      "most 6 trials; got 7"]


def test_the_base_config_and_the_validation_metric(write_sweep, tmp_path):
    base = (tmp_path / "base.yaml")
    path = write_sweep("space:\n" + SPACE + "objective: {metric: val_accuracy}\ntrials: 2\n"
                       "set: {data.validation_split: 0.0, training.epochs: 0}\n")
    errors = errors_of(path)
    assert any("set.training.epochs" in e or "training.epochs: must be >= 1" in e
               for e in errors), errors
    assert base.exists()
    missing = tmp_path / "other.yaml"
    missing.write_text("base: nowhere.yaml\nspace:\n" + SPACE + "objective: {metric: loss}\n")
    (error,) = errors_of(missing)
    assert "base: cannot read the base config" in error and "nowhere.yaml" in error


def test_the_command_reports_errors_without_a_traceback(write_sweep, capsys):
    from deepgrad.cli import main

    path = write_sweep("space:\n  optimizer.lrr: {type: float, low: 0.001, high: 0.1}\n"
                       "objective: {metric: val_accuracy}\ntrials: 2\n")
    assert main(["sweep", path]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"deepgrad: error: {path}:3:3: space.optimizer.lrr:")
    assert "Traceback" not in err
    assert main(["sweep", path, "--trials", "0"]) == 1
    assert "--trials: must be an integer >= 1, got 0" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["sweep_spirals.yaml", "sweep_mlp.yaml"])
def test_the_example_sweeps_are_valid(name):
    import os

    path = os.path.join(os.path.dirname(__file__), "..", "..", "examples", name)
    if not os.path.exists(path):
        pytest.skip(f"examples/{name} not written yet")
    sweep = load_sweep(path)
    assert sweep.trials and sweep.space.params and sweep.metric.startswith("val_")


def test_samplers_and_pruners_are_optunas(write_sweep):
    import optuna

    from deepgrad.sweep.study import make_pruner, make_sampler

    sweep = load_sweep(write_sweep("space:\n" + SPACE + "objective: {metric: val_accuracy}\n"
                                   "pruner: {type: hyperband, reduction_factor: 2}\n"
                                   "sampler: {type: tpe, n_startup_trials: 3}\ntrials: 5\n"))
    assert sweep.pruner == {"type": "hyperband", "min_resource": 1, "max_resource": 3,
                            "reduction_factor": 2}          # max_resource: training.epochs
    assert isinstance(make_pruner(sweep), optuna.pruners.HyperbandPruner)
    sampler = make_sampler(sweep, seed=5, parallel=True)
    assert isinstance(sampler, optuna.samplers.TPESampler) and sampler._constant_liar
    assert not make_sampler(sweep, seed=5, parallel=False)._constant_liar
