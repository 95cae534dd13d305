"""Hostile YAML configs: alias bombs, recursive aliases, deep nesting, huge integers, files
that are not text or not files. Each is refused at reading, quickly, with file:line:col, and
the command line prints one paragraph (no traceback without --debug)."""

import os
import time

import pytest

from hostile import SPIRALS

from deepgrad.config import ConfigError, load_config


def _laughs(levels: int = 9) -> str:
    text = 'name: lol\na: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    previous = "a"
    for name in "bcdefghijk"[:levels - 1]:
        text += f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]\n"
        previous = name
    return text


def _spirals_with(old: str, new: str) -> str:
    with open(SPIRALS, encoding="utf-8") as stream:
        text = stream.read()
    assert old in text
    return text.replace(old, new)


HOSTILE = [
    ("billion_laughs", _laughs(), r"laughs\.yaml:\d+:\d+: the document expands to more than"),
    ("recursive_alias", "name: r\nmodel: &m\n  layers: [*m]\n", r":2:8: a recursive alias"),
    ("recursive_mapping", "a: &a {b: *a}\n", r":1:4: a recursive alias"),
    ("deep_flow_list", "name: d\nmodel: " + "[" * 5000 + "]" * 5000 + "\n",
     r":2:\d+: nested more than 64 levels deep"),
    ("deep_block_list", "".join(" " * i + "-\n" for i in range(1000)),
     r":\d+:\d+: nested more than 64 levels deep"),
    ("seed_4000_digits", _spirals_with("seed: 0", "seed: " + "9" * 4000),
     r":\d+:9: an integer of 4000 characters"),
    ("seed_5000_digits", _spirals_with("seed: 0", "seed: " + "9" * 5000),
     r":\d+:9: an integer of 5000 characters"),
    ("latin1_comment", _spirals_with("# Three", "# Thr\xe9e"), r":1: not UTF-8 text"),
]


def _write(tmp_path, name, text):
    path = tmp_path / f"{name}.yaml"
    if name == "latin1_comment":
        path.write_bytes(text.encode("latin-1"))
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name, text, message", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_yaml_is_refused_fast_with_its_position(tmp_path, name, text, message):
    path = _write(tmp_path, name, text)
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert time.perf_counter() - start < 1.0
    assert str(path) in str(info.value)


@pytest.mark.parametrize("target", ["/dev/zero", "fifo", "directory"])
def test_a_config_that_is_not_a_regular_file_is_refused_without_reading(tmp_path, target):
    path = target
    if target == "fifo":
        path = tmp_path / "pipe.yaml"
        os.mkfifo(path)
    elif target == "directory":
        path = tmp_path / "dir.yaml"
        path.mkdir()
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config(path)


def test_a_huge_config_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.yaml"
    with open(path, "wb") as stream:
        stream.truncate(1 << 30)
    with pytest.raises(ConfigError, match="a config may have at most"):
        load_config(path)


def test_aliases_within_the_bound_still_work_and_keep_positions(tmp_path):
    text = _spirals_with("optimizer:\n  type: Adam", "optimizer: &opt\n  type: Adam")
    text += "extra_copy: *opt\n"
    path = _write(tmp_path, "aliases", text)
    with pytest.raises(ConfigError, match=r"aliases\.yaml:\d+:1: extra_copy"):
        load_config(path)


def test_an_override_value_is_bounded_too(tmp_path):
    with pytest.raises(ConfigError, match=r"--set training.seed=9{40}.*an integer of 40"):
        load_config(SPIRALS, ["training.seed=" + "9" * 40])


@pytest.mark.parametrize("name", ["billion_laughs", "recursive_alias", "deep_flow_list",
                                  "seed_4000_digits", "latin1_comment"])
def test_the_command_line_prints_one_paragraph(tmp_path, capsys, name):
    from deepgrad.cli import main

    text, message = next((t, m) for n, t, m in HOSTILE if n == name)
    path = _write(tmp_path, name, text)
    assert main(["train", str(path), "--out", str(tmp_path / "run"), "-q"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("deepgrad: error: ") and "Traceback" not in err
    assert str(path) in err
