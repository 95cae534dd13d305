"""The Python snippets of docs/run_directory.md, docs/config.md and the callback walkthrough
of docs/architecture.md run as documented."""

import pathlib
import re
import shutil
import textwrap

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).parents[2]


def snippets(doc: str) -> list:
    return re.findall(r"```python\n(.*?)```", (ROOT / "docs" / doc).read_text(), re.S)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    return tmp_path


def test_run_directory_snippet(workdir, capsys):
    (code,) = snippets("run_directory.md")
    exec(code, {})
    assert (workdir / "runs" / "spirals-try" / "checkpoints" / "best.safetensors").exists()
    out = capsys.readouterr().out
    assert "'monitor': 'val_accuracy', 'mode': 'max'" in out and "'accuracy':" in out


def test_config_snippet(workdir):
    (code,) = snippets("config.md")
    text = (workdir / "examples" / "spirals.yaml").read_text()
    (workdir / "run.yaml").write_text(text.replace("n: 900", "n: 150"))
    scope = {}
    exec(code.replace('print(run.evaluate("test"))', 'result = run.evaluate("test")'), scope)
    assert len(scope["history"]) == 5 and 0 <= scope["result"]["accuracy"] <= 1


def test_architecture_callback_walkthrough_from_yaml_with_resume(workdir):
    from deepgrad.runner import Run

    code = [s for s in re.findall(r"```python\n(.*?)```",
                                  (ROOT / "docs" / "architecture.md").read_text(), re.S)
            if "class BestValueLogger" in s][0]
    scope = {}
    exec("from deepgrad.registry import register\n"
         "from deepgrad.training import Callback, Monitor\n" + textwrap.dedent(code), scope)
    config = {"callbacks": [{"type": "BestValueLogger", "monitor": "val_accuracy"}]}
    settings = ["training.epochs=4", "data.n=150", "training.verbose=0",
                "training.callbacks=" + str(config["callbacks"]).replace("'", "")]

    class Crash(scope["Callback"]):
        def __init__(self, at):
            self.at = at

        def on_epoch_begin(self, epoch, logs=None):
            if epoch == self.at:
                raise KeyboardInterrupt

    straight = Run.from_config("examples/spirals.yaml", run_dir="a", overrides=settings)
    straight.fit(callbacks=[Crash(-1)], report=False)
    with pytest.raises(KeyboardInterrupt):
        Run.from_config("examples/spirals.yaml", run_dir="b", overrides=settings).fit(
            callbacks=[Crash(2)], report=False)
    resumed = Run.from_config("examples/spirals.yaml", run_dir="b", resume=True)
    resumed.fit(callbacks=[Crash(-1)], report=False)
    logger_a, logger_b = straight.callbacks[0], resumed.callbacks[0]
    assert type(logger_b).__name__ == "BestValueLogger"
    assert logger_b.best == logger_a.best == max(row["val_accuracy"] for row in
                                                 straight.history)
    assert np.array_equal(resumed.model.state_dict()["0.weight"],
                          straight.model.state_dict()["0.weight"])


def test_documented_callback_defaults_are_the_class_defaults():
    """docs/config.md lists the callbacks with their defaults; the constructors are the
    schema, so the two must agree (and every registered callback is listed)."""
    import inspect

    from deepgrad import registry

    text = (ROOT / "docs" / "config.md").read_text()
    paragraph = " ".join(text.split("Available: ")[1].split(" — ")[0].split())
    listed = dict(re.findall(r"(\w+)(?: \(([^)]*)\))?(?:, |$)", paragraph))
    ours = {n for n in registry.names("callback")     # not those a test registered
            if registry.lookup("callback", n).__module__.startswith("deepgrad.")}
    assert set(listed) == ours
    for name, arguments in listed.items():
        parameters = inspect.signature(registry.lookup("callback", name)).parameters
        for entry in filter(None, arguments.split(", ")):
            argument, _, default = entry.partition(" ")
            argument = argument.strip("`")
            assert argument in parameters, (name, argument)
            if default:
                value = parameters[argument].default
                if isinstance(value, bool):
                    assert default == str(value).lower(), (name, argument, default)
                elif isinstance(value, (int, float)):
                    assert float(default) == value, (name, argument, default)
                else:
                    assert default == str(value), (name, argument, default)
