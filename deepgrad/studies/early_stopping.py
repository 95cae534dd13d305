"""early-stopping — validation loss falls then rises; patience and restore-best on real data.

mit6036-ch7-neural-networks.txt, 7.8.1: "the loss on the training set goes down fairly
consistently with each iteration, the loss on the validation set will initially decrease, but
then begin to increase again. Once you see that the validation loss is systematically
increasing, you can stop training and return the weights that had the lowest validation
error." math-eng-dl-ch4-mlp.txt, "Early stopping": "keras offers patience parameter"; "Example in
Action: Demo on housing dataset".

Data: scikit-learn's bundled diabetes set (442 patients, 10 standardized features, target a
measure of disease progression one year later; shipped with the package, no download), split
60 / 20 / 20 into training, validation and test sets (features and target standardized with
the training statistics). An MLP 10 -> 128 -> 128 -> 1 (ReLU) is trained with deepgrad's
Trainer (Adam, lr 1e-3, mean squared error, mini-batches of 32):

* without early stopping for a fixed number of epochs, recording both losses every epoch;
* with `EarlyStopping(monitor="val_loss", patience=20, restore_best_weights=True)`.

RMSE on the test set (in the target's units) is compared with a linear least-squares fit on
the same training set, over several random splits.
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad import nn, optim
from deepgrad.studies._common import finish, markdown_table
from deepgrad.studies._slides import claim_table, legend_outside, rmse, slide_figure
from deepgrad.training import EarlyStopping, Trainer, predict

NAME = "early-stopping"
PATIENCE = 20
MIT = "mit6036-ch7-neural-networks.txt, 7.8.1 Methods related to ridge regression"
ENG = "math-eng-dl-ch4-mlp.txt, Early stopping"


def load_diabetes_split(seed: int):
    """Standardized (x, y) for train / validation / test and the target's (mean, std)."""
    try:
        from sklearn.datasets import load_diabetes
    except ImportError as error:
        raise RuntimeError("the early-stopping study needs scikit-learn's bundled diabetes "
                           "data: install it with `make install` (the `studies` extra)") \
            from error
    data = load_diabetes()
    x, y = data.data.astype(np.float64), data.target.astype(np.float64).reshape(-1, 1)
    order = np.random.default_rng(seed).permutation(len(x))
    n_train, n_val = int(0.6 * len(x)), int(0.2 * len(x))
    parts = np.split(order, [n_train, n_train + n_val])
    mean, std = x[parts[0]].mean(axis=0), x[parts[0]].std(axis=0)
    y_mean, y_std = float(y[parts[0]].mean()), float(y[parts[0]].std())
    splits = [((x[i] - mean) / std, (y[i] - y_mean) / y_std) for i in parts]
    return splits, (y_mean, y_std)


def build(seed: int):
    return nn.Sequential(nn.Linear(10, 128, generator=seed), nn.ReLU(),
                         nn.Linear(128, 128, generator=seed + 1), nn.ReLU(),
                         nn.Linear(128, 1, generator=seed + 2)).double()


def train(splits, seed: int, epochs: int, callbacks=()):
    (x, y), validation, _ = splits
    model = build(seed)
    trainer = Trainer(model, "mse", optim.Adam(model.parameters(), lr=1e-3), metrics=(),
                      generator=seed)
    history = trainer.fit((x, y), epochs, validation_data=validation, verbose=0,
                          callbacks=list(callbacks), batch_size=32)
    return model, history


def linear_baseline(splits):
    (x, y), _, (x_test, _) = splits
    design = np.hstack([x, np.ones((len(x), 1))])
    w = np.linalg.lstsq(design, y, rcond=None)[0]
    return np.hstack([x_test, np.ones((len(x_test), 1))]) @ w


def one_split(seed: int, epochs: int):
    splits, (_, y_std) = load_diabetes_split(seed)
    x_test, y_test = splits[2]
    plain, history = train(splits, 10 * seed, epochs)
    stopper = EarlyStopping(monitor="val_loss", patience=PATIENCE, restore_best_weights=True)
    stopped, stopped_history = train(splits, 10 * seed, epochs, [stopper])
    val = np.array(history.history["val_loss"])
    best = int(np.argmin(val))
    return {
        "train_loss": history.history["loss"], "val_loss": val.tolist(),
        "stopped_val_loss": stopped_history.history["val_loss"],
        "best_epoch": best, "final_over_best": float(val[-1] / val[best]),
        "stopped_epoch": stopper.stopped_epoch, "restored_epoch": stopper.best_epoch,
        "rmse_full": rmse(predict(plain, x_test), y_test) * y_std,
        "rmse_early": rmse(predict(stopped, x_test), y_test) * y_std,
        "rmse_linear": rmse(linear_baseline(splits), y_test) * y_std,
    }


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    seeds, epochs = (3, 50) if quick else (5, 300)
    runs = [one_split(seed + s, epochs) for s in range(seeds)]
    numbers = {"runs": runs, "epochs": epochs, "patience": PATIENCE}
    for key in ("rmse_full", "rmse_early", "rmse_linear"):
        numbers[key] = float(np.mean([r[key] for r in runs]))
    figures = _figures(out_dir, runs[0], epochs)
    rises = sum(0 < r["best_epoch"] < epochs - 1 and r["final_over_best"] > 1.1 for r in runs)
    stopped = sum(r["stopped_epoch"] >= 0 for r in runs)
    restored = sum(r["stopped_epoch"] - r["restored_epoch"] == PATIENCE for r in runs
                   if r["stopped_epoch"] >= 0)
    helps = sum(r["rmse_early"] < r["rmse_full"] for r in runs)
    claims = [
        ("the loss on the validation set will initially decrease, but then begin to increase "
         "again", MIT,
         f"validation loss has an interior minimum and ends >= 10% above it in {rises}/{seeds} "
         f"splits (minimum at epochs " + ", ".join(str(r["best_epoch"] + 1) for r in runs)
         + f" of {epochs})", rises == seeds),
        ("keras offers patience parameter. Interrupts training when [the monitored value] has "
         "stopped improving for more than k epochs", ENG,
         f"EarlyStopping(patience={PATIENCE}) stopped in {stopped}/{seeds} splits, each "
         f"{PATIENCE} epochs after the best one in {restored}/{stopped}; the best weights "
         f"restored", stopped == seeds and restored == stopped),
        ("stop training and return the weights that had the lowest validation error", MIT,
         f"test RMSE (mean over splits): early-stopped MLP {numbers['rmse_early']:.1f}, MLP "
         f"after {epochs} epochs {numbers['rmse_full']:.1f}, linear least squares "
         f"{numbers['rmse_linear']:.1f}; early stopping better in {helps}/{seeds}",
         helps == seeds),
    ]
    rows = [[s, r["best_epoch"] + 1, r["stopped_epoch"] + 1, r["rmse_early"], r["rmse_full"],
             r["rmse_linear"]] for s, r in enumerate(runs)]
    sections = [
        ("Claims", claim_table(claims)),
        ("Test RMSE per split (target units; the target's standard deviation is about 77)",
         markdown_table(["split", "best epoch (no stopping)", "stopped at epoch",
                         "RMSE, early stopping", f"RMSE, {epochs} epochs",
                         "RMSE, linear least squares"], rows)),
    ]
    return finish(NAME, out_dir, quick, "Early stopping on the diabetes data",
                  __doc__.split("\n\n", 1)[1], sections, figures, numbers)


def _figures(out_dir, first, epochs):
    path = os.path.join(out_dir, "early_stopping.png")
    best, stopped = first["restored_epoch"] + 1, len(first["stopped_val_loss"])
    with slide_figure(path, 1, 2, "MLP 10-128-128-1 on scikit-learn's diabetes data (265 "
                      "training, 88 validation patients), Adam lr 1e-3",
                      panel_size=(5.4, 4.2)) as axes:
        epochs_axis = np.arange(1, epochs + 1)
        for ax, last in ((axes[0], epochs), (axes[1], min(epochs, 3 * stopped))):
            if ax is axes[0]:
                ax.plot(epochs_axis, first["train_loss"], label="training loss")
            ax.plot(epochs_axis[:last], first["val_loss"][:last], color="tab:orange",
                    label="validation loss")
            ax.axvline(best, color="tab:green", linestyle="--",
                       label=f"best epoch {best} (weights restored)")
            ax.axvline(stopped, color="tab:red", linestyle=":",
                       label=f"EarlyStopping(patience={PATIENCE}) stops: epoch {stopped}")
        axes[0].set(xlabel="epoch", ylabel="mean squared error (standardized target)",
                    yscale="log", title=f"{epochs} epochs without stopping")
        axes[1].set(xlabel="epoch", ylabel="validation mean squared error",
                    title="validation loss: falls, then rises")
        legend_outside(axes[0], "below", ncol=2)
    return [path]
