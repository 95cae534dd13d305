"""deepgrad.training: the Keras-style training loop, callbacks, metrics, protocols.

    trainer = Trainer(model, "cross_entropy", optim.Adam(model.parameters(), lr=1e-3),
                      callbacks=[EarlyStopping(patience=3, restore_best_weights=True)])
    history = trainer.fit(train_loader, epochs=20, validation_data=val_loader)
    trainer.evaluate(test_loader)      # {"loss": ..., "accuracy": ...}

See docs/training.md.
"""

from deepgrad.training.callbacks import (CSVLogger, Callback, CallbackList, EarlyStopping,
                                         History, LearningRateScheduler, ModelCheckpoint,
                                         Monitor, ProgressBar, TensorBoard, TerminateOnNaN,
                                         load_weights, save_weights)
from deepgrad.training.deep_supervision import DeepSupervisionLoss, aux_weight_factor
from deepgrad.training.metrics import (Accuracy, MeanSquaredError, Metric, get_metric,
                                       register_metric)
from deepgrad.training.notebook import LivePlot, NotebookProgress
from deepgrad.training.penalties import Penalty, resolve_penalties
from deepgrad.training.protocols import Bagging, cross_validate
from deepgrad.training.seeding import seed_everything
from deepgrad.training.trainer import Trainer, fit, get_loss, get_optimizer, predict

__all__ = [
    "Trainer", "fit", "predict", "get_loss", "get_optimizer", "Callback", "CallbackList", "History",
    "ProgressBar", "EarlyStopping", "ModelCheckpoint", "TerminateOnNaN",
    "LearningRateScheduler", "CSVLogger", "TensorBoard", "Monitor", "save_weights",
    "load_weights",
    "DeepSupervisionLoss", "aux_weight_factor", "Metric", "Accuracy", "MeanSquaredError",
    "get_metric", "register_metric", "Penalty", "resolve_penalties",
    "cross_validate", "Bagging", "seed_everything", "NotebookProgress", "LivePlot",
]
