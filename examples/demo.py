"""`make demo`: an MLP on Fashion-MNIST, from raw files to a saved model and a test accuracy.

The recipe (all randomness from one seed):

    data      60,000 training images -> 54,000 train + 6,000 validation (seeded split);
              per-pixel standardization fitted on the 54,000 training images only
    model     784-512-256-10 MLP, ReLU, dropout 0.2 (deepgrad.models.mlp)
    training  Adam (lr 1e-3), cosine annealing to 0 over the epochs, batch 128, at most 20
              epochs, early stopping on the validation accuracy (patience 4, best weights back)
    outputs   runs/demo/best.safetensors (best epoch), runs/demo/model.safetensors (final weights),
              runs/demo/standardize.npz (the input statistics), runs/demo/log.csv

Run: `make demo` or `python examples/demo.py [--epochs N] [--out DIR] [--data DIR]`.
`run_demo()` holds the whole recipe so that other entry points (the CLI) can reuse it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # run from a checkout without installing

from deepgrad import optim  # noqa: E402
from deepgrad.data import (DataLoader, Standardize, TensorDataset,  # noqa: E402
                           load_fashion_mnist, split_indices)
from deepgrad.models import mlp  # noqa: E402
from deepgrad.training import (CSVLogger, EarlyStopping, LearningRateScheduler,  # noqa: E402
                               ModelCheckpoint, Trainer, save_weights, seed_everything)

RECIPE = {
    "sizes": [784, 512, 256, 10], "dropout": 0.2, "lr": 1e-3, "batch_size": 128,
    "epochs": 20, "validation_size": 6000, "patience": 4, "seed": 0,
}


def run_demo(data_root=None, out_dir="runs/demo", verbose: int = 1, **overrides) -> dict:
    """Train the demo MLP and return {"test_accuracy", "test_loss", "epochs", "seconds",
    "best_epoch", "paths"}. Keyword overrides replace entries of RECIPE."""
    recipe = {**RECIPE, **overrides}
    unknown = set(overrides) - set(RECIPE)
    if unknown:
        raise ValueError(f"run_demo: unknown settings {sorted(unknown)}; known: "
                         f"{', '.join(RECIPE)}")
    start = time.perf_counter()
    gens = seed_everything(recipe["seed"])

    images, labels = load_fashion_mnist("train", root=data_root, flatten=True)
    test_images, test_labels = load_fashion_mnist("test", root=data_root, flatten=True)
    n_val = recipe["validation_size"]
    train_idx, val_idx = split_indices(len(images), [len(images) - n_val, n_val],
                                       generator=gens["split"])
    scaler = Standardize().fit(images[train_idx])
    train = TensorDataset(scaler.transform(images[train_idx]), labels[train_idx])
    val = TensorDataset(scaler.transform(images[val_idx]), labels[val_idx])
    test = TensorDataset(scaler.transform(test_images), test_labels)

    model = mlp(recipe["sizes"], activation="relu", dropout=recipe["dropout"],
                generator=gens["init"])
    optimizer = optim.Adam(model.parameters(), lr=recipe["lr"])
    schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=recipe["epochs"])
    os.makedirs(out_dir, exist_ok=True)
    # accuracy, not loss: the validation loss of a classifier flattens (its confidence on
    # the errors grows) epochs before its validation accuracy stops improving
    stopper = EarlyStopping(monitor="val_accuracy", patience=recipe["patience"],
                            restore_best_weights=True)
    checkpoint = ModelCheckpoint(os.path.join(out_dir, "best.safetensors"), monitor="val_accuracy",
                                 save_best_only=True)
    trainer = Trainer(model, "cross_entropy", optimizer, metrics=("accuracy",), callbacks=[
        LearningRateScheduler(schedule), stopper, checkpoint,
        CSVLogger(os.path.join(out_dir, "log.csv"))])
    loader = DataLoader(train, batch_size=recipe["batch_size"], shuffle=True,
                        generator=gens["data"])
    history = trainer.fit(loader, epochs=recipe["epochs"],
                          validation_data=DataLoader(val, batch_size=1000), verbose=verbose)

    result = trainer.evaluate(DataLoader(test, batch_size=1000))
    paths = {"best": checkpoint.best_path,
             "model": save_weights(model, os.path.join(out_dir, "model.safetensors")),
             "standardize": os.path.join(out_dir, "standardize.npz"),
             "log": os.path.join(out_dir, "log.csv")}
    np.savez(paths["standardize"], **scaler.state_dict())
    return {"test_accuracy": result["accuracy"], "test_loss": result["loss"],
            "epochs": len(history.epoch), "best_epoch": stopper.best_epoch + 1,
            "seconds": time.perf_counter() - start, "paths": paths, "history": history.history}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=RECIPE["epochs"])
    parser.add_argument("--seed", type=int, default=RECIPE["seed"])
    parser.add_argument("--out", default="runs/demo", help="output directory")
    parser.add_argument("--data", default=None, help="directory of the Fashion-MNIST files")
    args = parser.parse_args(argv)
    print(f"deepgrad demo: MLP {RECIPE['sizes']} on Fashion-MNIST (seed {args.seed})")
    out = run_demo(data_root=args.data, out_dir=args.out, epochs=args.epochs, seed=args.seed)
    print(f"test accuracy: {out['test_accuracy']:.2%} (test loss {out['test_loss']:.4f}); "
          f"{out['epochs']} epochs, weights of epoch {out['best_epoch']}, "
          f"{out['seconds']:.0f}s in all")
    print(f"saved: {out['paths']['model']} (final), {out['paths']['best']} (best), "
          f"{out['paths']['standardize']}, {out['paths']['log']}")
    return out


if __name__ == "__main__":
    main()
