"""deepgrad.diagnostics: look inside training.

* `ActivationRecorder` (alias `Recorder`): per-layer activation/gradient/weight statistics and
  histograms through hooks, TensorBoard histograms, slide-style PNG figures; a callback.
* `diagnose(model, batch, loss_fn=None, targets=None) -> Report`: vanishing/exploding
  gradients, dead ReLUs, saturation, initialization mismatches, each with a remedy.
* `stats`: the statistics (thresholds documented there); `plots`: the figures.

See docs/diagnostics.md.
"""

from deepgrad.diagnostics import plots, stats
from deepgrad.diagnostics.doctor import Report, diagnose
from deepgrad.diagnostics.gradaudit import AuditReport, audit_gradients
from deepgrad.diagnostics.recorder import ActivationRecorder, Recorder, select_layers

__all__ = ["audit_gradients", "AuditReport", "ActivationRecorder", "Recorder", "select_layers",
           "diagnose", "Report", "plots", "stats"]
