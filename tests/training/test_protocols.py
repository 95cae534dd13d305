"""k-fold cross-validation and bagging."""

import numpy as np

from deepgrad.data import make_regression_1d
from deepgrad.training import Bagging, cross_validate

from training_helpers import blobs, make_mlp


def test_cross_validate_folds_are_disjoint_complete_and_averaged():
    x, y = blobs(n=103)
    result = cross_validate(lambda g: make_mlp(generator=g), (x, y), k=4, optimizer="sgd",
                            lr=0.1, epochs=3, batch_size=16, generator=0)
    folds = result["indices"]
    assert len(folds) == 4 and len(result["folds"]) == 4
    validation = np.concatenate([val for _, val in folds])
    np.testing.assert_array_equal(np.sort(validation), np.arange(103))   # each sample once
    assert sorted(len(val) for _, val in folds) == [25, 26, 26, 26]
    for train, val in folds:
        assert np.intersect1d(train, val).size == 0
        assert len(train) + len(val) == 103
    for key in ("loss", "accuracy"):
        values = [fold[key] for fold in result["folds"]]
        np.testing.assert_allclose(result["mean"][key], np.mean(values))
        np.testing.assert_allclose(result["std"][key], np.std(values))
    assert result["mean"]["accuracy"] > 0.8
    # reproducible from the seed
    again = cross_validate(lambda g: make_mlp(generator=g), (x, y), k=4, optimizer="sgd",
                           lr=0.1, epochs=3, batch_size=16, generator=0)
    assert again["folds"] == result["folds"]


def test_bagging_lowers_the_variance_of_predictions_on_noisy_regression():
    """12 members trained on bootstrap resamples of 80 noisy points (sigma 0.3). The
    prediction variance of single members vs of 4-member averages (3 disjoint groups), on a
    test grid; measured: single 0.0088, bagged 0.0015 (ratio 0.17), and test MSE against
    the clean function 0.0214 (single members, mean) vs 0.0134 (12-member bag)."""
    x, y = make_regression_1d(80, target="sin", noise=0.3, generator=1)
    bagging = Bagging(lambda g: make_mlp((1, 32, 32, 1), generator=g), n_models=12,
                      task="regression", generator=2)
    bagging.fit((x, y), optimizer="adam", lr=1e-2, epochs=40, batch_size=16)
    grid = np.linspace(-0.9, 0.9, 101, dtype=np.float32)[:, None]
    members = bagging.predict_members(grid)[..., 0]                     # (12, 101)
    groups = members.reshape(3, 4, -1).mean(axis=1)                     # 3 ensembles of 4
    single_variance = members.var(axis=0, ddof=1).mean()
    bagged_variance = groups.var(axis=0, ddof=1).mean()
    truth = np.sin(np.pi * grid[:, 0])
    single_mse = ((members - truth) ** 2).mean()
    bagged_mse = ((bagging.predict(grid)[:, 0] - truth) ** 2).mean()
    print(f"variance single {single_variance:.4f} bagged(4) {bagged_variance:.4f}; "
          f"test MSE single {single_mse:.4f} bagged(12) {bagged_mse:.4f}")
    assert bagged_variance < 0.5 * single_variance
    assert bagged_mse < single_mse
    np.testing.assert_allclose(bagging.predict(grid), members.mean(axis=0)[:, None],
                               rtol=1e-6)


def test_bagging_classification_averages_probabilities():
    x, y = blobs(n=90)
    bagging = Bagging(lambda g: make_mlp(generator=g), n_models=3, generator=0)
    bagging.fit((x, y), optimizer="sgd", lr=0.1, epochs=3, batch_size=16)
    probabilities = bagging.predict(x)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    members = bagging.predict_members(x)
    assert members.shape == (3, 90, 3)
    np.testing.assert_allclose(probabilities, members.mean(axis=0), rtol=1e-6)
    assert np.mean(probabilities.argmax(axis=1) == y) > 0.9
    for indices in bagging.bootstrap:      # bootstrap samples: n draws with repetition
        assert len(indices) == 90 and len(np.unique(indices)) < 90
