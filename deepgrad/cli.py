"""The `deepgrad` command (also `python -m deepgrad`); reference: docs/cli.md.

    deepgrad train CONFIG [--set training.epochs=5 ...] [--resume] [--out DIR]
    deepgrad eval CHECKPOINT [--data FILE] [--split test]
    deepgrad predict CHECKPOINT INPUT...
    deepgrad info CHECKPOINT
    deepgrad export CHECKPOINT --onnx FILE
    deepgrad gradcheck CONFIG
    deepgrad diagnose CONFIG
    deepgrad study NAME [--quick] [--out DIR]
    deepgrad sweep SWEEP [--workers N] [--storage URL] [--trials N] [--timeout S] [--report]

Exit codes: 0 success, 1 failure (a one-paragraph `deepgrad: error: ...` on stderr; the
traceback only with --debug), 2 usage error (from argparse).
"""

from __future__ import annotations

import argparse
import os
import shutil
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
  deepgrad info runs/lenet
  deepgrad info examples/lenet.yaml          # before training: layers and output shapes""",
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
    "sweep": """examples:
  deepgrad sweep examples/sweep_spirals.yaml
  deepgrad sweep examples/sweep_mlp.yaml --workers 2      # two local worker processes
  deepgrad sweep examples/sweep_mlp.yaml --report         # only rewrite report.html
  deepgrad sweep examples/sweep_mlp.yaml --storage postgresql://user:pw@db-host/sweeps

Each trial is a run directory under <sweep dir>/trials/; the sweep directory (output_dir of
the sweep file, else runs/sweeps/<name>) also holds study.db, best_config.yaml and report.html.
Running the same command again continues the sweep; on several machines with the same
--storage it joins one study. See docs/sweeps.md.""",
}


class CommandError(Exception):
    """A failure of a command whose message is complete as it stands."""


# --------------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------------
def _overrides(args) -> list:
    return [item for group in (getattr(args, "set", None) or []) for item in group]


def _format_metrics(results: dict) -> str:
    return "  ".join(f"{k} {v:.4f}" for k, v in results.items())


# --------------------------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------------------------
def _launch_ranks(args) -> int:
    """`deepgrad train ... --nproc N`: the same command as N MPI ranks on this machine."""
    from deepgrad.distributed.launch import launch

    argv = [sys.executable, "-m", "deepgrad", "train", args.config]
    argv += [a for item in _overrides(args) for a in ("--set", item)]
    argv += ["--resume"] * args.resume + ["--quiet"] * args.quiet
    argv += ["--debug"] * getattr(args, "debug", False)
    argv += ["--out", args.out] if args.out else []
    return launch(args.nproc, argv)


def cmd_train(args) -> int:
    from deepgrad.distributed import launched_by_mpi

    if args.nproc is not None and not launched_by_mpi():
        return _launch_ranks(args)
    from deepgrad.runner import Run, parallel

    run = Run.from_config(args.config, run_dir=args.out, overrides=_overrides(args),
                          resume=args.resume)
    out = sys.stdout if parallel.writes() else open(os.devnull, "w")
    if run.resumed_from is not None:
        out.write(f"resuming {run.run_dir} after epoch {run.epoch} of {run.epochs}\n")
    if run.complete:
        out.write(f"{run.run_dir}: the run is already complete ({run.epoch} epochs"
                  + (", stopped early" if run.stopped_early else "") + ")\n")
    run.fit(verbose=0 if args.quiet else None, report=False)
    final = run.final_metrics()
    report = run.write_report(final)
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
    return 0


def cmd_eval(args) -> int:
    from deepgrad.runner import trained

    path, label, n, results = trained.evaluate(args.checkpoint, args.split, args.data,
                                               _overrides(args))
    print(f"{path}: {label}, {n} samples")
    for key, value in results.items():
        percent = f" ({100 * value:.2f}%)" if key == "accuracy" else ""
        print(f"{key}: {value:.4f}{percent}")
    return 0


def cmd_predict(args) -> int:
    from deepgrad.runner import trained

    kind, rows = trained.predict(args.checkpoint, args.inputs, args.invert, args.top_k)
    for name, values in rows:
        if kind == "values":
            print(f"{name}: " + ", ".join(f"{v:.6g}" for v in values))
        else:
            print(f"{name}: " + "  ".join(
                f"{label}{'' if label == f'class {index}' else f' ({index})'} "
                f"{100 * probability:.1f}%" for label, index, probability in values))
    return 0


def _is_config(path) -> bool:
    return os.fspath(path).lower().endswith((".yaml", ".yml")) and os.path.isfile(path)


def _info_config(args) -> int:
    from deepgrad.runner import trained

    info = trained.describe_config(args.checkpoint, _overrides(args))
    print(f"config: {info['path']} (not trained yet)")
    print(f"run: {info['name']}   model: {info['model']}")
    print()
    print(info["summary"])
    print()
    print(f"data: {info['dataset']} ("
          + ", ".join(f"{k} {v:,}" for k, v in info["sizes"].items()) + ")")
    opt = info["optimizer"]
    print("optimizer: " + opt["type"] + " " + ", ".join(
        f"{k}={v}" for k, v in opt.items() if k != "type"))
    print(f"epochs: {info['epochs']}, batch size {info['batch_size']}")
    return 0


def cmd_info(args) -> int:
    from deepgrad.runner import trained

    if _is_config(args.checkpoint):
        return _info_config(args)
    info = trained.describe(args.checkpoint)
    print(f"checkpoint: {info['path']}")
    print(f"run: {info['name']}   model: {info['model']}")
    print()
    print(info["summary"])
    print()
    early = " (stopped early)" if info["stopped_early"] else ""
    print(f"epochs: {info['epoch']} of {info['epochs_planned']}{early}, {info['step']} steps")
    best = info["best"]
    if best.get("value") is not None:
        print(f"best {best['monitor']}: {best['value']:.4f} at epoch {best['epoch']}")
    data = ", ".join(f"{k} {v}" for k, v in info["sizes"].items())
    print(f"data: {info['dataset']}" + (f" ({data})" if data else ""))
    if info["optimizer"]:
        opt = info["optimizer"]
        print("optimizer: " + opt["type"] + " " + ", ".join(
            f"{k}={v}" for k, v in opt.items() if k != "type"))
    if info["elapsed"] is not None:
        print(f"training time: {info['elapsed']:.1f} s")
    for kind, state in info["callbacks"]:
        print(f"callback {kind}" + (": " + ", ".join(
            f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in state.items())
            if state else ""))
    if info["history"]:
        print("last epoch: " + _format_metrics(info["history"][-1]))
    return 0


def cmd_export(args) -> int:
    from deepgrad.runner import trained

    sample = trained.export(args.checkpoint, args.onnx, args.opset)
    print(f"wrote {os.path.abspath(args.onnx)} (ONNX opset {args.opset}, input 'input' of shape "
          f"{('N',) + sample} with a symbolic batch size N, output 'output')")
    return 0


def cmd_gradcheck(args) -> int:
    from deepgrad.diagnostics import audit_gradients

    from deepgrad.runner import trained

    run, batch = trained.config_batch(args.config, _overrides(args), args.batch_size)
    report = audit_gradients(run.model, batch, trained.objective(run),
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

    from deepgrad.runner import trained

    run, batch = trained.config_batch(args.config, _overrides(args), args.batch_size)
    report = diagnose(run.model, batch, loss_fn=trained.objective(run))
    print(f"model {type(run.model).__name__}, batch of {len(batch[0])} samples from "
          f"{run.config['data']['dataset']} (at initialization)")
    print(report)
    return 0


def cmd_study(args) -> int:
    from deepgrad import registry
    from deepgrad.display import markdown_text
    from deepgrad.studies import run_study

    if args.name == "list":
        for name in registry.names("study"):
            print(f"{name:<18} {registry.lookup('study', name).description}")
        return 0
    out = args.out or os.path.join("runs", f"study-{args.name}")
    result = run_study(args.name, out, quick=args.quick, seed=args.seed)
    width = min(shutil.get_terminal_size((100, 24)).columns, 120)
    print(markdown_text(result.summary(), width))  # the markdown stays in summary.md
    print()
    for figure in result.figures:
        print(f"figure: {figure}")
    print(f"summary: {result.summary_path}")
    return 0


def cmd_sweep(args) -> int:
    from deepgrad.sweep import run_sweep

    result = run_sweep(args.sweep, workers=args.workers, storage=args.storage,
                       trials=args.trials, timeout=args.timeout, output_dir=args.out,
                       report_only=args.report)
    print(result.table)
    print(", ".join(f"{n} {s.lower()}" for s, n in sorted(result.states.items())) +
          (f" ({result.elapsed:.1f} s)" if not args.report else ""))
    if result.best_number is not None:
        print(f"best: trial {result.best_number}, {result.best_value:.4f}; config: "
              f"{result.best_config_path}")
    print(f"report: {result.report_path}")
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
    p.add_argument("--nproc", type=int, metavar="N",
                   help="train data-parallel on N MPI ranks of this machine (mpiexec); "
                   "training.batch_size is the global batch")

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

    p = command("info", "show a model's layers, output shapes and parameters: of a trained "
                "run (and its training summary), or of a config before training", cmd_info)
    p.add_argument("checkpoint", metavar="RUN|CHECKPOINT|CONFIG",
                   help="a run directory, a .safetensors checkpoint, or a YAML config")
    add_set(p)

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

    p = command("sweep", "tune hyperparameters with Optuna: trials of a base config", cmd_sweep)
    p.add_argument("sweep", help="the sweep file (base config, space, objective, ...)")
    p.add_argument("--workers", type=int, default=1, help="local worker processes (1)")
    p.add_argument("--storage", metavar="URL", help="the study's database (default: SQLite "
                   "in the sweep directory), e.g. postgresql://user:pw@host/db")
    p.add_argument("--trials", type=int, help="trials in all (overrides the file's)")
    p.add_argument("--timeout", type=float, metavar="S",
                   help="start no trial after S seconds (overrides the file's)")
    p.add_argument("--out", metavar="DIR", help="the sweep directory")
    p.add_argument("--report", action="store_true",
                   help="write the report of the study as it is; run no trial")
    return parser


def _message(error: BaseException) -> str:
    from deepgrad.config import ConfigError
    from deepgrad.io import CheckpointError

    text = str(error).strip() or type(error).__name__
    if isinstance(error, (CommandError, ConfigError, CheckpointError)):
        return text
    from deepgrad.runner import RunError
    from deepgrad.sweep import SweepError

    if isinstance(error, (RunError, SweepError, ValueError, FileNotFoundError)):
        return text
    # no Python class name in front: say what happened in words
    if isinstance(error, KeyError) and error.args:
        return f"missing key {error.args[0]}" if not isinstance(error.args[0], str) \
            or " " not in error.args[0] else error.args[0]
    if isinstance(error, MemoryError):
        return f"out of memory{': ' + text if text != 'MemoryError' else ''}"
    if isinstance(error, RecursionError):
        return f"nested too deeply ({text})"
    return text


def _end_progress_lines() -> None:
    if "deepgrad.training.callbacks" in sys.modules:
        sys.modules["deepgrad.training.callbacks"].end_progress_lines()


def main(argv=None) -> int:
    """Run the command line; returns the exit code (argparse exits with 2 on usage errors)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = getattr(args, "debug", False)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        _end_progress_lines()
        if debug:
            raise
        sys.stderr.write("deepgrad: interrupted\n")
        return 130
    except Exception as error:  # one paragraph, no traceback unless --debug
        _end_progress_lines()
        if debug:
            raise
        sys.stdout.flush()
        message = (f"deepgrad: error{_rank_text()}: {_message(error)}\n"
                   "(run with --debug for the full traceback)\n")
        _abort_other_ranks(message)
        sys.stderr.write(message)
        return 1


def _rank_text() -> str:
    from deepgrad import distributed

    if distributed.is_initialized() and distributed.world_size() > 1:
        return f" on rank {distributed.rank()} of {distributed.world_size()}"
    return ""


def _abort_other_ranks(message: str) -> None:
    """With several MPI ranks, one rank's error ends the job at once (the others would wait
    for it forever in their next Allreduce)."""
    from deepgrad import distributed

    if distributed.is_initialized() and distributed.world_size() > 1:
        distributed.abort(message + "Aborting all ranks of the job.")


if __name__ == "__main__":
    sys.exit(main())
