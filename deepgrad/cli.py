"""The `deepgrad` command (also `python -m deepgrad`); reference: docs/cli.md.

    deepgrad train CONFIG [--set training.epochs=5 ...] [--resume] [--out DIR]
    deepgrad eval CHECKPOINT [--data FILE] [--split test]
    deepgrad predict CHECKPOINT INPUT...
    deepgrad info CHECKPOINT
    deepgrad export CHECKPOINT --onnx FILE
    deepgrad gradcheck CONFIG
    deepgrad diagnose CONFIG
    deepgrad study NAME [--quick] [--out DIR]

Exit codes: 0 success, 1 failure (a one-paragraph `deepgrad: error: ...` on stderr; the
traceback only with --debug), 2 usage error (from argparse).
"""

from __future__ import annotations

import argparse
import os
import sys

EPILOGS = {
    "train": """examples:
  deepgrad train examples/fashion_mnist_mlp.yaml
  deepgrad train examples/spirals.yaml --set training.epochs=5 --set optimizer.lr=0.003
  deepgrad train examples/lenet.yaml --out runs/lenet-try2
  deepgrad train examples/lenet.yaml --resume      # continue after a crash or Ctrl-C

The run directory (--out, else the config's output_dir, else runs/<name>) receives
config.yaml, metrics.csv, checkpoints/{last,best}.safetensors, tb/ and report.html.
--resume continues from checkpoints/last.safetensors with the stored config (plus any --set,
e.g. more epochs); the final weights equal those of an uninterrupted run.""",
    "eval": """examples:
  deepgrad eval runs/fashion_mnist_mlp/checkpoints/best.safetensors
  deepgrad eval runs/spirals --split validation          # a run directory: its best checkpoint
  deepgrad eval runs/lenet/checkpoints/last.safetensors --data my_test.npz
  deepgrad eval runs/lenet --set data.limit.test=1000""",
    "predict": """examples:
  deepgrad predict runs/fashion_mnist_mlp samples.npy
  deepgrad predict runs/lenet shoe.png shirt.jpg --top-k 3
  deepgrad predict runs/lenet photo_on_white.png --invert

Images are converted to grayscale, scaled to [0, 1] and resized to the model's input size;
Fashion-MNIST shows light objects on black, so use --invert for dark-on-light pictures.""",
    "info": """examples:
  deepgrad info runs/fashion_mnist_mlp/checkpoints/best.safetensors
  deepgrad info runs/lenet""",
    "export": """examples:
  deepgrad export runs/lenet --onnx lenet.onnx
  deepgrad export runs/fashion_mnist_mlp/checkpoints/best.safetensors --onnx mlp.onnx""",
    "gradcheck": """examples:
  deepgrad gradcheck examples/spirals.yaml
  deepgrad gradcheck examples/lenet.yaml --batch-size 2 --entries 4

For every parameter tensor the reverse-mode gradient is compared, in float64, with forward
mode (jvp along random directions) and central finite differences (along the directions and
on sampled entries). Bands: < 1e-7 good, 1e-7..1e-2 suspicious, > 1e-2 wrong. The exit code
is 1 when some derivative is wrong.""",
    "diagnose": """examples:
  deepgrad diagnose examples/fashion_mnist_mlp.yaml
  deepgrad diagnose examples/lenet.yaml --batch-size 128 --set model.num_classes=10""",
    "study": """examples:
  deepgrad study autodiff --quick
  deepgrad study init --out runs/study-init
  deepgrad study list                  # the available studies""",
}


class CommandError(Exception):
    """A failure of a command whose message is complete as it stands."""


# --------------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------------
def _overrides(args) -> list:
    return [item for group in (getattr(args, "set", None) or []) for item in group]


def _checkpoint_path(path) -> str:
    """A checkpoint file, or a run directory (its best checkpoint, else its last)."""
    from deepgrad.runner import layout

    path = os.fspath(path)
    if os.path.isdir(path):
        for candidate in (layout.best_checkpoint(path), layout.last_checkpoint(path)):
            if os.path.exists(candidate):
                return candidate
        raise CommandError(f"{path} is a directory without checkpoints/best.safetensors or "
                           "checkpoints/last.safetensors; give a checkpoint file or a run "
                           "directory written by `deepgrad train`")
    if not os.path.exists(path):
        raise CommandError(f"no such checkpoint: {path}")
    if path.lower().endswith((".yaml", ".yml")):
        raise CommandError(f"{path} is a config; this command takes a checkpoint "
                           "(.safetensors) or a run directory: train first with "
                           f"`deepgrad train {path}`")
    return path


def _load_model(path):
    from deepgrad.config import model_from_checkpoint

    model, checkpoint = model_from_checkpoint(_checkpoint_path(path))
    model.eval()
    return model, checkpoint


def _class_names(checkpoint, num_classes: int) -> list:
    if (checkpoint.metadata or {}).get("dataset") == "fashion_mnist" and num_classes == 10:
        from deepgrad.data import FASHION_MNIST_CLASSES

        return list(FASHION_MNIST_CLASSES)
    return [f"class {k}" for k in range(num_classes)]


def _format_metrics(results: dict) -> str:
    return "  ".join(f"{k} {v:.4f}" for k, v in results.items())


def _config_batch(config_path, overrides, batch_size: int):
    """(run, (x, y)): the run of a config and its first `batch_size` training samples."""
    import numpy as np

    from deepgrad.data import get_batch
    from deepgrad.runner import Run

    run = Run.from_config(config_path, overrides=overrides)
    dataset = run.train_loader.dataset
    x, y = get_batch(dataset, np.arange(min(batch_size, len(dataset))))
    return run, (x, y)


def _objective(run):
    """The training loss of (output, target) without the penalties: the Trainer's."""
    return lambda output, target: run.trainer.objective(output, target, penalties=False)


# --------------------------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------------------------
def cmd_train(args) -> int:
    from deepgrad.runner import Run, layout

    run = Run.from_config(args.config, run_dir=args.out, overrides=_overrides(args),
                          resume=args.resume)
    out = sys.stdout
    if run.resumed_from is not None:
        out.write(f"resuming {run.run_dir} after epoch {run.epoch} of {run.epochs}\n")
    if run.complete:
        out.write(f"{run.run_dir}: the run is already complete ({run.epoch} epochs"
                  + (", stopped early" if run.stopped_early else "") + ")\n")
    run.fit(verbose=0 if args.quiet else None, report=False)
    final = run.final_metrics()
    report = run.write_report()
    out.write(f"run directory: {run.run_dir}\n")
    if run.best["value"] is not None:
        out.write(f"best {run.best['monitor']}: {run.best['value']:.4f} at epoch "
                  f"{run.best['epoch']}\n")
    for split, values in final.items():
        out.write(f"{split}: {_format_metrics(values)}\n")
    out.write(f"training time: {run.elapsed:.1f} s; report: {report}\n")
    test = final.get("test")
    if test and "accuracy" in test:
        out.write(f"test accuracy: {100 * test['accuracy']:.2f}%\n")
    if not layout.tensorboard_available():
        out.write("note: tensorboardX is not installed, so no TensorBoard files were "
                  "written (pip install tensorboardX)\n")
    return 0


def cmd_eval(args) -> int:
    from deepgrad.config import load_run_checkpoint
    from deepgrad.data import load_csv, load_npz
    from deepgrad.io import restore
    from deepgrad.runner import Run

    path = _checkpoint_path(args.checkpoint)
    checkpoint = load_run_checkpoint(path)
    if checkpoint.config is None:
        raise CommandError(f"{path}: holds no config; `deepgrad eval` needs a checkpoint "
                           "written by `deepgrad train`")
    run = Run.from_config(checkpoint.config, overrides=_overrides(args),
                          run_dir=os.path.dirname(os.path.dirname(os.path.abspath(path))))
    restore(checkpoint, run.model)
    if args.data:
        if args.data.lower().endswith(".npz"):
            x, y = load_npz(args.data)
        elif args.data.lower().endswith(".csv"):
            x, y = load_csv(args.data)
        else:
            raise CommandError(f"--data {args.data}: expected an .npz (arrays x, y) or a .csv "
                               "file (label in the last column)")
        if run.config["data"]["preprocessing"]["flatten"]:
            x = x.reshape(len(x), -1)
        if run.standardizer is not None:
            x = run.standardizer.transform(x)
        results = run.trainer.evaluate((x, y), run.config["training"]["eval_batch_size"])
        label, n = args.data, len(y)
    else:
        results = run.evaluate(args.split)
        label = f"{args.split} split"
        n = len({"train": run.train_loader, "validation": run.val_loader,
                 "test": run.test_loader}[args.split].dataset)
    print(f"{path}: {label}, {n} samples")
    for key, value in results.items():
        percent = f" ({100 * value:.2f}%)" if key == "accuracy" else ""
        print(f"{key}: {value:.4f}{percent}")
    return 0


def cmd_predict(args) -> int:
    import numpy as np

    from deepgrad import Tensor
    from deepgrad.config.validate import is_regression
    from deepgrad.data import Standardize
    from deepgrad.nn import functional as F
    from deepgrad.runner.inputs import load_inputs
    from deepgrad.training import predict

    model, checkpoint = _load_model(args.checkpoint)
    meta = checkpoint.metadata or {}
    if "input_shape" not in meta:
        raise CommandError(f"{checkpoint.path}: no input shape recorded; `deepgrad predict` "
                           "needs a checkpoint written by `deepgrad train`")
    x, names = load_inputs(args.inputs, meta["input_shape"], invert=args.invert)
    if "standardize/mean" in checkpoint.tensors:
        scaler = Standardize()
        scaler.load_state_dict({"mean": checkpoint.tensors["standardize/mean"],
                                "std": checkpoint.tensors["standardize/std"]})
        x = scaler.transform(x)
        x = np.asarray(getattr(x, "data", x), dtype=np.float32)
    output = predict(model, x)
    if is_regression(checkpoint.config["losses"]) or output.ndim == 1 or output.shape[1] == 1:
        for name, row in zip(names, output.reshape(len(output), -1)):
            print(f"{name}: " + ", ".join(f"{v:.6g}" for v in row))
        return 0
    probs = F.softmax(Tensor(output.astype(np.float64)), dim=1).data
    classes = _class_names(checkpoint, probs.shape[1])
    k = max(1, min(args.top_k, probs.shape[1]))
    for name, p in zip(names, probs):
        top = np.argsort(-p, kind="stable")[:k]
        ranked = "  ".join(f"{classes[c]}{'' if classes[c] == f'class {c}' else f' ({c})'} "
                           f"{100 * p[c]:.1f}%" for c in top)
        print(f"{name}: {ranked}")
    return 0


def cmd_info(args) -> int:
    model, checkpoint = _load_model(args.checkpoint)
    meta = checkpoint.metadata or {}
    config = checkpoint.config or {}
    print(f"checkpoint: {checkpoint.path}")
    print(f"run: {config.get('name', '?')}   model: {type(model).__name__}")
    print()
    print(f"{'layer':<24} {'type':<22} {'parameters':>12}  shapes")
    total = trainable = 0
    for name, module in model.named_modules():
        own = [(n, p) for n, p in module._parameters.items() if p is not None]
        count = sum(p.size for _, p in own)
        if not own and any(True for _ in module.children()):
            continue
        shapes = ", ".join(f"{n} {'x'.join(map(str, p.shape))}" for n, p in own)
        print(f"{name or '(model)':<24} {type(module).__name__:<22} {count:>12,}  {shapes}")
        total += count
        trainable += sum(p.size for _, p in own if p.requires_grad)
    print(f"{'total':<24} {'':<22} {total:>12,}  ({trainable:,} trainable)")
    print()
    history = meta.get("history") or []
    planned = meta.get("epochs_planned", config.get("training", {}).get("epochs", "?"))
    early = " (stopped early)" if meta.get("stopped_early") else ""
    print(f"epochs: {checkpoint.epoch} of {planned}{early}, {checkpoint.step} steps")
    best = meta.get("best") or {}
    if best.get("value") is not None:
        print(f"best {best['monitor']}: {best['value']:.4f} at epoch {best['epoch']}")
    sizes = meta.get("sizes") or {}
    data = ", ".join(f"{k} {v}" for k, v in sizes.items())
    print(f"data: {meta.get('dataset', config.get('data', {}).get('dataset', '?'))}"
          + (f" ({data})" if data else ""))
    if "optimizer" in config:
        opt = config["optimizer"]
        print("optimizer: " + opt["type"] + " " + ", ".join(
            f"{k}={v}" for k, v in opt.items() if k != "type"))
    if meta.get("elapsed") is not None:
        print(f"training time: {meta['elapsed']:.1f} s")
    if history:
        print("last epoch: " + _format_metrics(history[-1]))
    return 0


def cmd_export(args) -> int:
    from deepgrad.io import export_onnx

    model, checkpoint = _load_model(args.checkpoint)
    shape = (checkpoint.metadata or {}).get("input_shape")
    if shape is None:
        raise CommandError(f"{checkpoint.path}: no input shape recorded; export from Python "
                           "with deepgrad.io.export_onnx(model, path, input_shape)")
    sample = tuple(int(d) for d in shape)
    export_onnx(model, args.onnx, sample, opset=args.opset)
    print(f"wrote {args.onnx} (ONNX opset {args.opset}, input 'input' of shape "
          f"{('N',) + sample} with a symbolic batch size N, output 'output')")
    return 0


def cmd_gradcheck(args) -> int:
    from deepgrad.diagnostics import audit_gradients

    run, batch = _config_batch(args.config, _overrides(args), args.batch_size)
    report = audit_gradients(run.model, batch, _objective(run),
                             num_directions=args.directions, max_entries=args.entries,
                             eps=args.eps, generator=args.seed)
    print(f"model {type(run.model).__name__}, batch of {len(batch[0])} samples from "
          f"{run.config['data']['dataset']}")
    print(report.format_table())
    if not report.ok:
        raise CommandError("the gradient audit found wrong derivatives (relative error > "
                           "1e-2); see the table above")
    return 0


def cmd_diagnose(args) -> int:
    from deepgrad.diagnostics import diagnose

    run, batch = _config_batch(args.config, _overrides(args), args.batch_size)
    report = diagnose(run.model, batch, loss_fn=_objective(run))
    print(f"model {type(run.model).__name__}, batch of {len(batch[0])} samples from "
          f"{run.config['data']['dataset']} (at initialization)")
    print(report)
    return 0


def cmd_study(args) -> int:
    from deepgrad import registry
    from deepgrad.studies import run_study

    if args.name == "list":
        for name in registry.names("study"):
            print(f"{name:<18} {registry.lookup('study', name).description}")
        return 0
    if not registry.contains("study", args.name):
        raise CommandError(f"unknown study {args.name!r}"
                           f"{registry.suggest(args.name, registry.names('study'))}; "
                           f"available: {', '.join(registry.names('study'))}")
    out = args.out or os.path.join("runs", f"study-{args.name}")
    result = run_study(args.name, out, quick=args.quick, seed=args.seed)
    print(result.summary().rstrip())
    print()
    for figure in result.figures:
        print(f"figure: {figure}")
    print(f"summary: {result.summary_path}")
    return 0


# --------------------------------------------------------------------------------------------
# the parser
# --------------------------------------------------------------------------------------------
def _version() -> str:
    try:
        from importlib.metadata import version

        return version("deepgrad")
    except Exception:  # not installed (running from a checkout)
        return "0.1.0"


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback on errors")
    parser = argparse.ArgumentParser(
        prog="deepgrad", parents=[common],
        description="deepgrad: train, evaluate, inspect and export models from YAML configs.",
        epilog="run `deepgrad COMMAND --help` for the options and examples of a command; "
               "docs/cli.md has the full reference",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"deepgrad {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def command(name, help_text, func):
        p = sub.add_parser(name, help=help_text, description=help_text, parents=[common],
                           epilog=EPILOGS[name],
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(func=func)
        return p

    def add_set(p):
        p.add_argument("--set", action="append", nargs="+", metavar="PATH=VALUE",
                       help="override a config value, e.g. training.epochs=5 (repeatable)")

    p = command("train", "train a model from a YAML config in a run directory", cmd_train)
    p.add_argument("config", help="the YAML config (see examples/)")
    add_set(p)
    p.add_argument("--resume", action="store_true",
                   help="continue from the run directory's last checkpoint")
    p.add_argument("--out", metavar="DIR", help="the run directory (default: the config's "
                   "output_dir, else runs/<name>)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output per epoch")

    p = command("eval", "evaluate a checkpoint on its data or on a file", cmd_eval)
    p.add_argument("checkpoint", help="a .safetensors checkpoint or a run directory")
    p.add_argument("--data", metavar="FILE", help="evaluate on this .npz (x, y) or .csv file")
    p.add_argument("--split", choices=("train", "validation", "test"), default="test",
                   help="which split of the configured data (default: test)")
    add_set(p)

    p = command("predict", "classify arrays (.npy/.npz) or images with a checkpoint",
                cmd_predict)
    p.add_argument("checkpoint", help="a .safetensors checkpoint or a run directory")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help=".npy/.npz arrays or image files (PNG; JPEG with Pillow)")
    p.add_argument("--top-k", type=int, default=3, metavar="K",
                   help="classes shown per sample (default 3)")
    p.add_argument("--invert", action="store_true",
                   help="invert image intensities (dark objects on a light background)")

    p = command("info", "show a checkpoint's architecture, parameters and training summary",
                cmd_info)
    p.add_argument("checkpoint", help="a .safetensors checkpoint or a run directory")

    p = command("export", "export a checkpoint's model to ONNX", cmd_export)
    p.add_argument("checkpoint", help="a .safetensors checkpoint or a run directory")
    p.add_argument("--onnx", required=True, metavar="FILE", help="the .onnx file to write")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")

    p = command("gradcheck", "audit the model's gradients: reverse vs forward mode vs finite "
                "differences, per parameter", cmd_gradcheck)
    p.add_argument("config", help="the YAML config")
    add_set(p)
    p.add_argument("--batch-size", type=int, default=4, help="samples in the batch (4)")
    p.add_argument("--directions", type=int, default=2,
                   help="random directions per parameter tensor (2)")
    p.add_argument("--entries", type=int, default=6,
                   help="entries per tensor checked one by one (6)")
    p.add_argument("--eps", type=float, default=1e-6, help="finite-difference step (1e-6)")
    p.add_argument("--seed", type=int, default=0, help="seed of directions and entries")

    p = command("diagnose", "run the doctor on a batch of the configured data", cmd_diagnose)
    p.add_argument("config", help="the YAML config")
    add_set(p)
    p.add_argument("--batch-size", type=int, default=256, help="samples in the batch (256)")

    p = command("study", "run one of the course experiments (`list` shows them)", cmd_study)
    p.add_argument("name", help="the study, e.g. autodiff, init, batchnorm; or list")
    p.add_argument("--quick", action="store_true", help="a few seconds instead of minutes")
    p.add_argument("--out", metavar="DIR", help="output directory (default runs/study-NAME)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    return parser


def _message(error: BaseException) -> str:
    from deepgrad.config import ConfigError
    from deepgrad.io import CheckpointError

    text = str(error).strip() or type(error).__name__
    if isinstance(error, (CommandError, ConfigError, CheckpointError)):
        return text
    from deepgrad.runner import RunError

    if isinstance(error, (RunError, ValueError, FileNotFoundError)):
        return text
    return f"{type(error).__name__}: {text}"


def main(argv=None) -> int:
    """Run the command line; returns the exit code (argparse exits with 2 on usage errors)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = getattr(args, "debug", False)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        if debug:
            raise
        sys.stderr.write("deepgrad: interrupted\n")
        return 130
    except Exception as error:  # one paragraph, no traceback unless --debug
        if debug:
            raise
        sys.stdout.flush()
        sys.stderr.write(f"deepgrad: error: {_message(error)}\n"
                         "(run with --debug for the full traceback)\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
