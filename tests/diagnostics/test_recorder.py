"""ActivationRecorder: statistics equal hand-computed NumPy values; callback use; TensorBoard."""

import numpy as np
import pytest

from deepgrad import nn, optim
from deepgrad.diagnostics import ActivationRecorder, stats
from deepgrad.tensor import Tensor


def tiny(seed=0):
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2), nn.ReLU()).double()
    for p in model.parameters():
        p.data[...] = rng.normal(0, 1.5, size=p.shape)
    return model


def test_statistics_match_numpy_by_hand():
    rng = np.random.default_rng(1)
    model = tiny()
    x = rng.normal(size=(6, 3))
    r = rng.normal(size=(6, 2))
    w1, b1 = model[0].weight.data.copy(), model[0].bias.data.copy()
    w2, b2 = model[2].weight.data.copy(), model[2].bias.data.copy()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    rec = ActivationRecorder(model, bins=10)
    assert list(rec.layers) == ["1", "3"]  # the activation modules, by default
    with rec.capture(step=7):
        out = model(Tensor(x))
        (out * Tensor(r)).sum().backward()
        optimizer.step()
    # by hand
    h = np.tanh(x @ w1.T + b1)
    z = h @ w2.T + b2
    a = np.maximum(z, 0)
    grad_a = r
    grad_h = (r * (z > 0)) @ w2
    record = rec.record(7)
    tanh_entry, relu_entry = record["layers"]["1"], record["layers"]["3"]
    for entry, values, kind in ((tanh_entry, h, "tanh"), (relu_entry, a, "relu")):
        s = entry["activation"]
        np.testing.assert_allclose(
            [s["mean"], s["std"], s["min"], s["max"], s["norm"]],
            [values.mean(), values.std(), values.min(), values.max(), np.linalg.norm(values)],
            rtol=1e-12)
        assert s["frac_zero"] == np.mean(values == 0)
        assert entry["kind"] == kind
    assert tanh_entry["activation"]["frac_saturated"] == np.mean(np.abs(h) > 0.99)
    assert 0 < tanh_entry["activation"]["frac_saturated"] < 1  # weights of std 1.5 saturate
    assert np.isnan(relu_entry["activation"]["frac_saturated"])
    counts, edges = tanh_entry["activation_hist"]
    ref_counts, ref_edges = np.histogram(h, bins=10, range=(-1, 1))
    np.testing.assert_array_equal(counts, ref_counts)
    np.testing.assert_allclose(edges, ref_edges)
    np.testing.assert_allclose(relu_entry["activation_hist"][1][[0, -1]], [a.min(), a.max()])
    np.testing.assert_allclose(tanh_entry["grad"]["std"], grad_h.std(), rtol=1e-12)
    np.testing.assert_allclose(tanh_entry["grad"]["mean"], grad_h.mean(), rtol=1e-12)
    np.testing.assert_allclose(relu_entry["grad"]["norm"], np.linalg.norm(grad_a), rtol=1e-12)
    assert relu_entry["dead_fraction"] == np.mean(np.all(a <= 0, axis=0))
    # parameters: gradient and the update-to-weight ratio of the SGD step inside the block
    grad_w2 = (r * (z > 0)).T @ h
    param = record["params"]["2.weight"]
    np.testing.assert_allclose(param["grad"]["norm"], np.linalg.norm(grad_w2), rtol=1e-12)
    np.testing.assert_allclose(param["update_ratio"],
                               0.1 * np.linalg.norm(grad_w2) / np.linalg.norm(w2), rtol=1e-10)
    np.testing.assert_allclose(param["weight"]["std"], (w2 - 0.1 * grad_w2).std(), rtol=1e-12)
    rec.close()


def test_saturation_thresholds_are_documented_values():
    values = np.array([-0.995, -0.99, 0.5, 0.991])
    assert stats.fraction_saturated(values, "tanh") == 0.5
    sig = np.array([0.005, 0.01, 0.5, 0.99, 0.995])
    assert stats.fraction_saturated(sig, "sigmoid") == 0.4
    assert stats.update_ratio(np.array([3.0, 4.0]), np.array([3.0, 4.5])) == pytest.approx(0.1)


def test_not_armed_records_nothing_and_close_removes_hooks():
    model = tiny()
    rec = ActivationRecorder(model)
    model(Tensor(np.ones((2, 3))))
    assert rec.activations == {}
    rec.close()
    with rec.capture(0):
        model(Tensor(np.ones((2, 3))))
    assert rec.history[-1]["layers"] == {}


def test_layer_selection_by_name_and_type_and_errors():
    model = tiny()
    assert list(ActivationRecorder(model, layers=["0", "2"]).layers) == ["0", "2"]
    assert list(ActivationRecorder(model, layers=nn.Linear).layers) == ["0", "2"]
    with pytest.raises(ValueError, match="no layer named 'fc9'"):
        ActivationRecorder(model, layers=["fc9"])
    with pytest.raises(ValueError, match="every must be a positive integer"):
        ActivationRecorder(model, every=0)


def test_as_a_training_callback_records_every_k_steps():
    from deepgrad.training import Trainer

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    y = (x[:, 0] > 0).astype(np.int64)
    model = tiny()
    rec = ActivationRecorder(model, every=3)
    trainer = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.05),
                      callbacks=[rec])
    trainer.fit((x, y), epochs=2, batch_size=10, verbose=0, shuffle=False)
    assert [r["step"] for r in rec.history] == [0, 3, 6]
    ratios = [r["params"]["0.weight"]["update_ratio"] for r in rec.history]
    assert all(0 < q < 1 for q in ratios)
    assert all(r["layers"]["1"]["grad"]["norm"] > 0 for r in rec.history)
    # explicit steps
    rec2 = ActivationRecorder(model, steps=[1, 4])
    Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.05),
            callbacks=[rec2]).fit((x, y), epochs=2, batch_size=10, verbose=0)
    assert [r["step"] for r in rec2.history] == [1, 4]


def test_tensorboard_histograms_read_back(tmp_path):
    pytest.importorskip("tensorboardX")
    event_accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator")
    model = tiny()
    x = np.random.default_rng(2).normal(size=(5, 3))
    rec = ActivationRecorder(model, log_dir=tmp_path)
    for step in (0, 1):
        with rec.capture(step):
            model(Tensor(x)).sum().backward()
    rec.close()
    acc = event_accumulator.EventAccumulator(str(tmp_path), size_guidance={"histograms": 0})
    acc.Reload()
    tags = acc.Tags()["histograms"]
    assert {"activations/1", "activations/3", "gradients/1", "weights/0.weight"} <= set(tags)
    events = acc.Histograms("activations/1")
    assert [e.step for e in events] == [0, 1]
    h = events[0].histogram_value
    values = rec.activations["1"]
    assert h.num == values.size
    np.testing.assert_allclose([h.min, h.max, h.sum], [values.min(), values.max(), values.sum()],
                               rtol=1e-6)


def test_histogram_png_has_expected_pixel_size(tmp_path):
    plt_image = pytest.importorskip("matplotlib.image")
    model = tiny()
    rec = ActivationRecorder(model, every=1)
    for step in range(3):
        with rec.capture(step):
            model(Tensor(np.random.default_rng(step).normal(size=(8, 3)))).sum().backward()
    path = rec.plot_histograms(tmp_path / "acts.png", steps=[0, 2], panel_size=(2.0, 1.5),
                               dpi=100)
    image = plt_image.imread(path)
    assert image.shape[:2] == (300, 400)  # 2 rows x 1.5 in, 2 layers x 2 in, at 100 dpi
    assert image[..., :3].std() > 0.05  # not blank
    grad_path = rec.plot_histograms(tmp_path / "grads.png", what="grad")
    assert plt_image.imread(grad_path).shape[:2] == (200, 440)  # the default 2.2 x 2.0 panel


def test_non_finite_values_give_nan_statistics_without_warnings():
    s = stats.summarize(np.array([1.0, np.inf, -2.0]))
    assert np.isnan(s["std"]) and s["max"] == np.inf and s["norm"] == np.inf
    counts, _ = stats.histogram(np.array([0.5, np.nan, np.inf, -0.5]), bins=2)
    np.testing.assert_array_equal(counts, [1, 1])
    assert np.isnan(stats.update_ratio(np.array([1.0, np.inf]), np.array([1.0, np.inf])))
