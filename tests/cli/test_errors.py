"""Exit codes 0/1/2, one-paragraph errors without traceback (unless --debug), --help with
examples for every command."""

import pytest

from deepgrad.config import ConfigError

from cli_helpers import example, run_subprocess

COMMANDS = ["train", "eval", "predict", "info", "export", "gradcheck", "diagnose", "study"]

BAD_CONFIG = """name: bad
model:
  - {type: Linear, in_features: 2, out_features: 3}
loss: CrossEntropyLoss
optimizer:
  type: SGD
  lrr: 0.1
data:
  dataset: spirals
"""


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_every_command_has_examples(cli, command):
    code, out, _ = cli(command, "--help")
    assert code == 0
    assert out.startswith(f"usage: deepgrad {command}")
    assert "examples:" in out and f"deepgrad {command} " in out.split("examples:")[1]


def test_top_level_help_lists_every_command(cli):
    code, out, _ = cli("--help")
    assert code == 0
    for command in COMMANDS:
        assert command in out


def test_usage_errors_exit_2(cli):
    assert cli()[0] == 2                                   # no command
    code, _, err = cli("train")                            # missing CONFIG
    assert code == 2 and "required: config" in err
    assert cli("frobnicate")[0] == 2                      # unknown command
    code, _, err = cli("predict", "x.safetensors", "in.npy", "--top-k", "many")
    assert code == 2 and "invalid int value" in err


def test_config_error_names_file_and_line(cli, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_CONFIG)
    code, out, err = cli("train", path, "--out", tmp_path / "run")
    assert code == 1
    assert err.startswith(f"deepgrad: error: {path}:7:3: optimizer.lrr: unknown argument of "
                          "SGD 'lrr' (did you mean 'lr'?)")
    assert "Traceback" not in err and "--debug" in err
    code, _, err = cli("train", example("spirals.yaml"), "--set", "training.epochs=0")
    assert code == 1 and "--set training.epochs=0: training.epochs: must be >= 1, got 0" in err


def test_debug_shows_the_exception(cli, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_CONFIG)
    with pytest.raises(ConfigError, match="optimizer.lrr"):
        cli("train", path, "--debug")


def test_other_failures_exit_1(cli, tmp_path):
    code, _, err = cli("info", tmp_path / "missing.safetensors")
    assert code == 1 and err.startswith("deepgrad: error: no such checkpoint:")
    (tmp_path / "junk.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}")
    code, _, err = cli("eval", tmp_path / "junk.safetensors")
    assert code == 1 and "junk.safetensors" in err and "Traceback" not in err
    code, _, err = cli("eval", example("spirals.yaml"))
    assert code == 1 and "is a config; this command takes a checkpoint" in err
    code, _, err = cli("study", "nonexistent")
    assert code == 1 and "unknown study 'nonexistent'" in err


def test_subprocess_exit_codes_and_no_traceback(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_CONFIG)
    proc = run_subprocess("train", path)
    assert proc.returncode == 1
    assert proc.stderr.startswith("deepgrad: error: ") and "Traceback" not in proc.stderr
    proc = run_subprocess("train", "--no-such-option")
    assert proc.returncode == 2 and "usage: deepgrad train" in proc.stderr
    proc = run_subprocess("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("deepgrad ")
