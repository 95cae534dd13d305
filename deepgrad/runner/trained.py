"""What the commands do with a trained run: find its checkpoint, rebuild its model, evaluate,
predict, describe and export it. The CLI (`deepgrad eval|predict|info|export`) only parses
arguments and prints the results of these functions.
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad.runner import layout
from deepgrad.runner.run import Run, RunError


def checkpoint_path(path) -> str:
    """A checkpoint file, or a run directory (its best checkpoint, else its last)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        for candidate in (layout.best_checkpoint(path), layout.last_checkpoint(path)):
            if os.path.exists(candidate):
                return candidate
        raise RunError(f"{path} is a directory without checkpoints/best.safetensors or "
                       "checkpoints/last.safetensors; give a checkpoint file or a run "
                       "directory written by `deepgrad train`")
    if not os.path.exists(path):
        raise RunError(f"no such checkpoint: {path}")
    if path.lower().endswith((".yaml", ".yml")):
        raise RunError(f"{path} is a config; this command takes a checkpoint (.safetensors) "
                       f"or a run directory: train first with `deepgrad train {path}`")
    return path


def load_model(path) -> tuple:
    """(model in eval mode, Checkpoint) of a checkpoint file or run directory."""
    from deepgrad.config import model_from_checkpoint

    model, checkpoint = model_from_checkpoint(checkpoint_path(path))
    model.eval()
    return model, checkpoint


def _recorded(checkpoint, key: str, command: str):
    value = (checkpoint.metadata or {}).get(key)
    if value is None:
        raise RunError(f"{checkpoint.path}: no {key.replace('_', ' ')} recorded; `{command}` "
                       "needs a checkpoint written by `deepgrad train`")
    return value


def evaluate(path, split: str = "test", data=None, overrides=()) -> tuple:
    """(checkpoint path, label, number of samples, metrics) of a checkpoint on one split of
    its configured data, or on a file `data` (.npz with x, y; .csv with the label last)."""
    from deepgrad.config import load_run_checkpoint
    from deepgrad.data import load_csv, load_npz
    from deepgrad.io import building_from, restore

    path = checkpoint_path(path)
    checkpoint = load_run_checkpoint(path)
    if checkpoint.config is None:
        raise RunError(f"{path}: holds no config; `deepgrad eval` needs a checkpoint written "
                       "by `deepgrad train`")
    run_dir = os.path.dirname(os.path.dirname(os.path.abspath(path)))
    with building_from(checkpoint):   # no bigger model than the checkpoint stores
        run = Run.from_config(checkpoint.config, run_dir=run_dir, overrides=overrides,
                              write=False)
    restore(checkpoint, run.model)
    if data is None:
        loader = {"train": run.train_loader, "validation": run.val_loader,
                  "test": run.test_loader}.get(split)
        results = run.evaluate(split)
        return path, f"{split} split", len(loader.dataset), results
    data = os.fspath(data)
    if data.lower().endswith(".npz"):
        x, y = load_npz(data)
    elif data.lower().endswith(".csv"):
        x, y = load_csv(data)
    else:
        raise RunError(f"--data {data}: expected an .npz (arrays x, y) or a .csv file (label "
                       "in the last column)")
    x = run.preprocess(x)
    results = run.trainer.evaluate((x, y), run.config["training"]["eval_batch_size"])
    return path, data, len(y), results


def class_names(checkpoint, num_classes: int) -> list:
    if (checkpoint.metadata or {}).get("dataset") == "fashion_mnist" and num_classes == 10:
        from deepgrad.data import FASHION_MNIST_CLASSES

        return list(FASHION_MNIST_CLASSES)
    return [f"class {k}" for k in range(num_classes)]


def predict(path, inputs, invert: bool = False, top_k: int = 3) -> tuple:
    """Predictions of a checkpoint's model for array or image files.

    Returns ("values", [(sample name, output values)]) for regression (or one output), else
    ("classes", [(sample name, [(class name, class index, probability), ...top_k])]).
    """
    from deepgrad import Tensor
    from deepgrad.config.validate import is_regression
    from deepgrad.data import Standardize
    from deepgrad.nn import functional as F
    from deepgrad.runner.inputs import load_inputs
    from deepgrad.training import predict as model_predict

    model, checkpoint = load_model(path)
    shape = _recorded(checkpoint, "input_shape", "deepgrad predict")
    x, names = load_inputs(inputs, shape, invert=invert)
    if "standardize/mean" in checkpoint.tensors:
        scaler = Standardize()
        scaler.load_state_dict({"mean": checkpoint.tensors["standardize/mean"],
                                "std": checkpoint.tensors["standardize/std"]})
        x = scaler.transform(x)
        x = np.asarray(getattr(x, "data", x), dtype=np.float32)
    output = model_predict(model, x)
    if is_regression(checkpoint.config["losses"]) or output.ndim == 1 or output.shape[1] == 1:
        return "values", list(zip(names, output.reshape(len(output), -1)))
    probs = F.softmax(Tensor(output.astype(np.float64)), dim=1).data
    classes = class_names(checkpoint, probs.shape[1])
    k = max(1, min(top_k, probs.shape[1]))
    ranked = []
    for name, p in zip(names, probs):
        top = np.argsort(-p, kind="stable")[:k]
        ranked.append((name, [(classes[c], int(c), float(p[c])) for c in top]))
    return "classes", ranked


def describe(path) -> dict:
    """What `deepgrad info` shows: the model's summary (`Module.summary`: layers, output
    shapes, parameter counts) and the training summary recorded in the checkpoint."""
    model, checkpoint = load_model(path)
    meta = checkpoint.metadata or {}
    config = checkpoint.config or {}
    shape = meta.get("input_shape")
    summary = model.summary(input_size=(1,) + tuple(int(d) for d in shape) if shape else None)
    return {
        "path": checkpoint.path, "name": config.get("name", "?"),
        "model": type(model).__name__, "summary": summary, "total": summary.total,
        "trainable": summary.trainable, "epoch": checkpoint.epoch, "step": checkpoint.step,
        "epochs_planned": meta.get("epochs_planned",
                                   config.get("training", {}).get("epochs", "?")),
        "stopped_early": bool(meta.get("stopped_early")), "best": meta.get("best") or {},
        "dataset": meta.get("dataset", config.get("data", {}).get("dataset", "?")),
        "sizes": meta.get("sizes") or {}, "optimizer": config.get("optimizer"),
        "elapsed": meta.get("elapsed"), "history": meta.get("history") or [],
        "callbacks": [(entry["type"], {k: v for k, v in entry["state"].items()
                                       if isinstance(v, (int, float, str))})
                      for entry in meta.get("callbacks") or []],
    }


def export(path, onnx_path, opset: int = 17) -> tuple:
    """Export a checkpoint's model to ONNX; returns the input shape of one sample."""
    from deepgrad.io import export_onnx

    model, checkpoint = load_model(path)
    if (checkpoint.metadata or {}).get("input_shape") is None:
        raise RunError(f"{checkpoint.path}: no input shape recorded; export from Python with "
                       "deepgrad.io.export_onnx(model, path, input_shape)")
    sample = tuple(int(d) for d in checkpoint.metadata["input_shape"])
    export_onnx(model, onnx_path, sample, opset=opset)
    return sample


def config_batch(config_path, overrides=(), batch_size: int = 4) -> tuple:
    """(run, (x, y)): the run of a config (nothing written) and its first `batch_size`
    training samples, for `deepgrad gradcheck` and `deepgrad diagnose`."""
    from deepgrad.data import get_batch

    run = Run.from_config(config_path, overrides=overrides, write=False)
    dataset = run.train_loader.dataset
    x, y = get_batch(dataset, np.arange(min(batch_size, len(dataset))))
    return run, (x, y)


def objective(run):
    """The training loss of (output, target) without the penalties (the Trainer's own)."""
    return lambda output, target: run.trainer.objective(output, target, penalties=False)


def describe_config(path, overrides=()) -> dict:
    """What `deepgrad info CONFIG` shows before training: the model the config builds with
    its summary for one sample of the config's data, the data sizes, optimizer and epochs."""


    run = Run.from_config(path, overrides=overrides, write=False)
    sample = run.train_loader.dataset[0][0]
    loaders = (("train", run.train_loader), ("validation", run.val_loader),
               ("test", run.test_loader))
    return {"path": os.fspath(path), "name": run.config.get("name", "?"),
            "model": type(run.model).__name__,
            "summary": run.model.summary(input_size=(1,) + tuple(np.shape(sample))),
            "sizes": {k: len(loader.dataset) for k, loader in loaders if loader is not None},
            "dataset": run.config["data"]["dataset"], "optimizer": run.config["optimizer"],
            "epochs": run.config["training"]["epochs"],
            "batch_size": run.config["training"]["batch_size"]}
