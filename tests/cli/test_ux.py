"""What a new user sees in the terminal: info before training, summaries, export paths,
compact study tables."""

import os

from cli_helpers import SPIRALS_SMALL, example

from deepgrad.display import markdown_text, text_table


def test_info_of_a_config_before_training(cli):
    code, out, _ = cli("info", example("spirals.yaml"), "--set", *SPIRALS_SMALL)
    assert code == 0, out
    assert "(not trained yet)" in out
    assert "0 (Linear)     (1, 64)            192   yes" in out
    assert "Total params: 4,547" in out and "Input size: (1, 2)" in out
    assert "data: spirals (train" in out and "epochs: 4, batch size 32" in out


def test_info_of_a_run_shows_output_shapes(cli, spirals_run):
    code, out, _ = cli("info", spirals_run)
    assert code == 0, out
    assert "Output shape" in out and "(1, 3)" in out and "Total params: 4,547" in out


def test_export_prints_the_absolute_path_written(cli, spirals_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = cli("export", spirals_run, "--onnx", "model.onnx")
    assert code == 0, out
    assert f"wrote {tmp_path / 'model.onnx'} " in out
    assert os.path.isfile(tmp_path / "model.onnx")


def test_wide_tables_are_split_into_blocks_without_cutting_values():
    rows = [["activation", "init"] + [f"layer {k}" for k in range(1, 11)]]
    rows += [["tanh", "std 0.01"] + [f"{0.2 ** k:.4g}" for k in range(1, 11)]]
    text = text_table(rows, width=60)
    assert all(len(line) <= 60 for line in text.splitlines())
    for value in rows[1][2:]:
        assert value in text  # every value whole
    assert text.count("activation  init") == text.count("\n\n") + 1  # labels repeated


def test_markdown_for_the_terminal():
    md = ("# Title\n\nA paragraph wrapped\nover two lines.\n\n## Numbers\n\n"
          "| a | b |\n|---|---|\n| 1 | 2 |\n\n![figure](fig.png)\n")
    text = markdown_text(md, width=80)
    assert text.splitlines()[0] == "Title"
    assert "A paragraph wrapped over two lines." in text
    assert "NUMBERS" in text and "|" not in text and "fig.png" not in text
    assert "a  b\n-  -\n1  2" in text
