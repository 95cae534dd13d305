"""The Python snippet of docs/sweeps.md runs as documented (on a smaller spirals sweep)."""

import pathlib
import re
import shutil

ROOT = pathlib.Path(__file__).parents[2]


def test_the_python_snippet_of_the_sweeps_guide(tmp_path, monkeypatch, capsys):
    (code,) = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "sweeps.md").read_text(),
                         re.S)
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    spirals = tmp_path / "examples" / "spirals.yaml"
    spirals.write_text(spirals.read_text().replace("n: 900", "n: 150"))
    sweep = tmp_path / "examples" / "sweep_spirals.yaml"
    sweep.write_text(sweep.read_text().replace("training.epochs: 30", "training.epochs: 2"))
    exec(code.replace("workers=2, trials=20", "workers=1, trials=2"), {})
    out = capsys.readouterr().out
    assert "trial  state     val_accuracy" in out and "best_config.yaml" in out
    assert (tmp_path / "runs" / "sweeps" / "sweep_spirals" / "report.html").exists()
    assert len(list((tmp_path / "runs" / "sweeps" / "sweep_spirals" / "trials").iterdir())) == 2
