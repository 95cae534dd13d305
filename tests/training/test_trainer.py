"""Trainer: the objective of a step (deep supervision, penalties, clipping, noise), evaluation
modes, reproducibility from one seed, and the checks made before training starts."""

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn, optim
from deepgrad.data import DataLoader, TensorDataset
from deepgrad.nn import functional as F
from deepgrad.training import (Callback, DeepSupervisionLoss, Trainer, aux_weight_factor, fit,
                               seed_everything)

from training_helpers import blobs, make_mlp


def log_softmax_cross_entropy(z, y):
    z = z.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(y)), y].mean()


class TwoHeads(nn.Module):
    """A deeply supervised toy: (main, aux) in training, main only in eval."""

    def __init__(self, generator=0):
        super().__init__()
        gen = np.random.default_rng(generator)
        self.body = nn.Linear(4, 8, generator=gen)
        self.main = nn.Linear(8, 3, generator=gen)
        self.aux = nn.Linear(8, 3, generator=gen)

    def forward(self, x):
        h = dg.relu(self.body(x))
        return (self.main(h), self.aux(h)) if self.training else self.main(h)


# --- deep supervision -------------------------------------------------------------------------
def test_deep_supervision_loss_is_main_plus_alpha_aux_by_hand():
    x, y = blobs(n=32)
    model = TwoHeads()
    trainer = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.0),
                      loss_weights=[1.0, 0.3])
    history = trainer.fit((x, y), epochs=1, batch_size=32, shuffle=False, verbose=0)
    w = {k: v.astype(np.float64) for k, v in model.state_dict().items()}
    h = np.maximum(x @ w["body.weight"].T + w["body.bias"], 0)
    main = h @ w["main.weight"].T + w["main.bias"]
    aux = h @ w["aux.weight"].T + w["aux.bias"]
    by_hand = log_softmax_cross_entropy(main, y) + 0.3 * log_softmax_cross_entropy(aux, y)
    np.testing.assert_allclose(history.history["loss"][0], by_hand, rtol=1e-5)
    # metrics and the validation loss use the main output alone
    assert history.history["accuracy"][0] == np.mean(main.argmax(1) == y)
    np.testing.assert_allclose(trainer.evaluate((x, y))["loss"],
                               log_softmax_cross_entropy(main, y), rtol=1e-5)
    # gradient: that of L_main + 0.3 L_aux (checked on the aux head: d/dW_aux = 0.3 dl_aux)
    loss = DeepSupervisionLoss(F.cross_entropy, [1.0, 0.3])
    model.train()
    model.zero_grad()
    total = loss(model(dg.tensor(x)), dg.tensor(y))
    total.backward()
    grad_total = model.aux.weight.grad.data.copy()
    model.zero_grad()
    F.cross_entropy(model(dg.tensor(x))[1], dg.tensor(y)).backward()
    np.testing.assert_allclose(grad_total, 0.3 * model.aux.weight.grad.data, rtol=1e-5)


def test_aux_weight_decay_schedules_reach_zero_at_the_end():
    np.testing.assert_allclose([aux_weight_factor("linear", e, 5) for e in range(5)],
                               [1.0, 0.75, 0.5, 0.25, 0.0])
    exponential = [aux_weight_factor("exponential", e, 5) for e in range(5)]
    k = 5.0
    expected = [(np.exp(-k * t) - np.exp(-k)) / (1 - np.exp(-k)) for t in np.linspace(0, 1, 5)]
    np.testing.assert_allclose(exponential, expected)
    assert exponential[0] == 1.0 and exponential[-1] == 0.0
    assert [aux_weight_factor(None, e, 5) for e in range(5)] == [1.0] * 5


def test_decayed_aux_weight_is_used_by_fit():
    x, y = blobs(n=32)
    model = TwoHeads()

    class Watch(Callback):
        seen = []

        def on_epoch_begin(self, epoch, logs=None):
            self.seen.append(list(self.trainer.deep_supervision.current_weights))

    trainer = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.01),
                      loss_weights=[1.0, 0.4], aux_weight_decay="linear", callbacks=[Watch()])
    trainer.fit((x, y), epochs=3, batch_size=32, verbose=0)
    np.testing.assert_allclose(Watch.seen, [[1.0, 0.4], [1.0, 0.2], [1.0, 0.0]])


def test_loss_weights_default_to_the_models_own():
    x, y = blobs(n=32)
    model = TwoHeads()
    model.loss_weights = (1.0, 0.5)
    trainer = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.0))
    history = trainer.fit((x, y), epochs=1, batch_size=32, verbose=0)
    model.train()
    main, aux = model(dg.tensor(x))
    expected = (F.cross_entropy(main, dg.tensor(y)).item()
                + 0.5 * F.cross_entropy(aux, dg.tensor(y)).item())
    np.testing.assert_allclose(history.history["loss"][0], expected, rtol=1e-6)


def test_several_outputs_without_loss_weights_is_a_clear_error():
    x, y = blobs(n=32)
    model = TwoHeads()
    trainer = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.01))
    with pytest.raises(ValueError, match="returned 2 outputs.*loss_weights"):
        trainer.fit((x, y), epochs=1, verbose=0)


# --- penalties, clipping, noise ------------------------------------------------------------
def test_penalties_add_lambda_times_the_norms_to_the_loss():
    x, y = blobs(n=32)
    model = make_mlp()
    trainer = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.0),
                      penalties={"0.weight": ("l2", 0.5), "2.*": ("l1", 0.1)})
    history = trainer.fit((x, y), epochs=1, batch_size=32, verbose=0)
    w = {k: v.astype(np.float64) for k, v in model.state_dict().items()}
    z = np.maximum(x @ w["0.weight"].T + w["0.bias"], 0) @ w["2.weight"].T + w["2.bias"]
    expected = (log_softmax_cross_entropy(z, y) + 0.5 * (w["0.weight"] ** 2).sum()
                + 0.1 * (np.abs(w["2.weight"]).sum() + np.abs(w["2.bias"]).sum()))
    np.testing.assert_allclose(history.history["loss"][0], expected, rtol=1e-5)
    # the list form, with tensors
    same = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.0),
                   penalties=[(model[0].weight, "l2", 0.5), ("2.*", "l1", 0.1)])
    again = same.fit((x, y), epochs=1, batch_size=32, verbose=0)
    np.testing.assert_allclose(again.history["loss"][0], expected, rtol=1e-5)
    with pytest.raises(ValueError, match=r"pattern '5.weight' matches no parameter.*0.weight"):
        Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1),
                penalties={"5.weight": ("l2", 1e-4)})
    with pytest.raises(ValueError, match="kind must be one of"):
        Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1),
                penalties={"0.weight": ("l3", 1e-4)})


def test_grad_clip_norm_bounds_the_global_update():
    x, y = blobs(n=32)
    model = make_mlp()
    before = [p.data.copy() for p in model.parameters()]
    trainer = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=1.0),
                      grad_clip_norm=0.01)
    trainer.fit((x, y), epochs=1, batch_size=32, verbose=0)
    step = np.sqrt(sum(((p.data - b).astype(np.float64) ** 2).sum()
                       for p, b in zip(model.parameters(), before)))
    np.testing.assert_allclose(step, 0.01, rtol=1e-4)   # lr 1 * a gradient of norm 0.01


def test_input_noise_only_in_training_with_the_given_std():
    x = np.zeros((4000, 4), np.float32)
    y = np.zeros(4000, np.int64)
    seen = {"train": [], "eval": []}

    class Recorder(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(4, 3, generator=0)

        def forward(self, inputs):
            seen["train" if self.training else "eval"].append(inputs.data.copy())
            return self.layer(inputs)

    model = Recorder()
    trainer = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.0),
                      input_noise_std=0.3, generator=7)
    seen["eval"].clear()
    trainer.fit((x, y), epochs=1, batch_size=1000, validation_data=(x, y), verbose=0)
    noise = np.concatenate(seen["train"])
    assert noise.shape == (4000, 4)
    np.testing.assert_allclose(noise.std(), 0.3, rtol=0.02)
    np.testing.assert_allclose(noise.mean(), 0.0, atol=0.01)
    assert all(not batch.any() for batch in seen["eval"])   # validation and probe: clean


# --- modes ---------------------------------------------------------------------------------
def test_evaluate_runs_in_eval_mode_without_grad_and_restores_the_mode():
    x, y = blobs(n=64)
    model = make_mlp(dropout=0.5)
    trainer = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1))
    modes = []
    model.register_forward_hook(lambda m, i, o: modes.append((m.training,
                                                              o.requires_grad)))
    model.train()
    first, second = trainer.evaluate((x, y)), trainer.evaluate((x, y))
    assert first == second          # dropout is off: evaluation is deterministic
    assert model.training is True and set(modes) == {(False, False)}
    model.eval()
    trainer.evaluate((x, y))
    assert model.training is False
    logits = trainer.predict(x)
    assert logits.shape == (64, 3) and model.training is False
    np.testing.assert_allclose(np.mean(logits.argmax(1) == y), first["accuracy"])


# --- reproducibility -----------------------------------------------------------------------
def run(seed):
    gens = seed_everything(seed)
    x, y = blobs(n=200, seed=3)
    model = make_mlp((4, 32, 32, 3), generator=gens["init"], dropout=0.2)
    for module in model:
        if isinstance(module, nn.Dropout):
            module.generator = gens["dropout"]
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, generator=gens["data"])
    trainer = Trainer(model, "cross_entropy", optim.Adam(model.parameters(), lr=1e-2),
                      input_noise_std=0.1, generator=gens["noise"])
    trainer.fit(loader, epochs=3, verbose=0)
    return model.state_dict()


def test_same_seed_bit_identical_different_seed_different():
    a, b, c = run(11), run(11), run(12)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert all(not np.array_equal(a[key], c[key]) for key in a)


# --- checks before training ----------------------------------------------------------------
class Spy(Callback):
    started = False

    def on_train_begin(self, logs=None):
        Spy.started = True


def assert_fails_before_training(data, error, match, model=None, **fit_kwargs):
    model = model or make_mlp()
    before = model.state_dict()
    trainer = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1))
    Spy.started = False
    with pytest.raises(error, match=match):
        trainer.fit(data, epochs=1, verbose=0, callbacks=[Spy()], **fit_kwargs)
    assert not Spy.started
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_features_and_labels_of_different_lengths():
    x, y = blobs(n=40)
    assert_fails_before_training((x, y[:30]), ValueError,
                                 r"features and labels have different lengths \[40, 30\]")
    batches = [(dg.tensor(x[:10]), dg.tensor(y[:9]))]
    assert_fails_before_training(batches, ValueError, "10 feature rows but 9 labels")


def test_empty_dataset():
    assert_fails_before_training((np.zeros((0, 4), np.float32), np.zeros(0, np.int64)),
                                 ValueError, r"empty \(0 samples\)")
    assert_fails_before_training([], ValueError, "yielded no batches")


def test_labels_out_of_range_for_the_model_outputs():
    x, y = blobs(n=40)
    y = y.copy()
    y[17] = 3                                     # the model has 3 outputs: classes 0..2
    assert_fails_before_training((x, y), ValueError,
                                 r"label 3 at index 17 is outside \[0, 3\).*3 outputs")
    y[17] = -1
    assert_fails_before_training((x, y), ValueError, r"label -1 at index 17")
    x_val, y_val = blobs(n=10)
    y_val[4] = 7
    assert_fails_before_training((x, blobs(n=40)[1]), ValueError, "validation data: labels",
                                 validation_data=(x_val, y_val))


def test_nan_in_the_data():
    x, y = blobs(n=40)
    x[23, 2] = np.nan
    data = TensorDataset(x, y, check_finite=False)
    assert_fails_before_training(DataLoader(data, batch_size=8), ValueError,
                                 r"training data: features contain nan at sample 23")
    with pytest.raises(ValueError, match="nan"):
        TensorDataset(x, y)                       # the array form is refused even earlier


def test_fit_function_returns_history_and_trainer():
    x, y = blobs(n=90)
    model = make_mlp()
    history, trainer = fit(model, (x, y), epochs=5, optimizer="sgd", lr=0.1, batch_size=16,
                           validation_data=(x, y), verbose=0, generator=0)
    assert history.epoch == [0, 1, 2, 3, 4]
    assert history.history["val_accuracy"][-1] > 0.9
    assert history.history["lr"] == [0.1] * 5
    assert trainer.evaluate((x, y))["accuracy"] == history.history["val_accuracy"][-1]
