"""docs/training.md runs: its Python blocks in order, in one namespace (as a notebook would),
with the data the prose assumes defined first."""

import pathlib
import re

import numpy as np

DOC = pathlib.Path(__file__).parents[2] / "docs" / "training.md"

# what the prose around a block assumes, by block index
CONTEXT = {
    0: """
rng = np.random.default_rng(0)
x_train, x_val, x_test = (rng.normal(size=(n, 784)).astype(np.float32) for n in (256, 64, 64))
y_train, y_val, y_test = (rng.integers(0, 10, n) for n in (256, 64, 64))
""",
    3: """
from deepgrad.training import (CSVLogger, LearningRateScheduler, ModelCheckpoint,
                               TensorBoard, TerminateOnNaN)
optimizer = trainer.optimizer
""",
    4: """
from deepgrad.models import DeeplySupervisedLeNet
model = DeeplySupervisedLeNet(generator=0)
opt = optim.SGD(model.parameters(), lr=0.01)
""",
}


def test_training_md_blocks_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    scope = {"np": np}
    for index, code in enumerate(blocks):
        exec(CONTEXT.get(index, ""), scope)
        exec(compile(code, f"docs/training.md, python block {index}", "exec"), scope)
    assert scope["logits"].shape == (64, 10)
    assert 0 <= scope["result"]["mean"]["accuracy"] <= 1 and len(scope["result"]["folds"]) == 5
    assert scope["bag"].predict(scope["x_new"]).shape == (5, 1)
    assert set(scope["gens"]) >= {"init", "data", "dropout", "noise", "split", "extra"}
