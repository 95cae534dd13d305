"""Optimizers and learning-rate schedules (formulas in docs/optim.md).

    opt = deepgrad.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = deepgrad.optim.lr_scheduler.StepLR(opt, step_size=30)
    for epoch in range(epochs):
        for x, y in loader:
            opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
        scheduler.step()
"""

from deepgrad.optim import lr_scheduler
from deepgrad.optim.adaptive import Adadelta, Adagrad, Adam, AdamW, RMSprop
from deepgrad.optim.optimizer import Optimizer
from deepgrad.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW",
           "lr_scheduler"]
