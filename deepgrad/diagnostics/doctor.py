"""The doctor: one forward/backward pass, then a list of findings with remedies.

    report = diagnose(model, x, loss_fn=F.cross_entropy, targets=y)
    print(report)            # text;  report.findings: list of dicts;  report.ok: bool
    report.to_markdown()     # or report.to_html(), for a run report

What is checked (thresholds are module constants, documented in docs/diagnostics.md):

* Vanishing / exploding gradients. g_l is the RMS of dL/da_l, the gradient of the loss with
  respect to the output of recorded layer l (the back-propagated signal). The ratio
  g_first / g_last below VANISHING_RATIO = 1e-3 means vanishing gradients, above
  EXPLODING_RATIO = 1e3 exploding ones. Non-finite values are always an error.
* Dead ReLUs: a unit (a column of the layer's output) never positive on the batch passes no
  gradient; more than DEAD_FRACTION = 50 % dead units in a ReLU layer is flagged.
* Saturation: more than SATURATED_FRACTION = 50 % of a tanh/sigmoid layer's outputs saturated
  (|tanh| > 0.99, sigmoid outside [0.01, 0.99]).
* Signal scale over depth: the activations' std from the first to the last recorded layer
  changing by more than a factor ACTIVATION_STD_FACTOR = 10 (shrinking or growing) is
  flagged.

Every finding comes from measured behaviour on the batch, never from the weights alone: a
weight whose std differs from the Xavier or He value is not a problem when the signal and the
gradient keep their scale through the network (deepgrad's default `Linear` initialization,
PyTorch's, has std 1/sqrt(3 fan_in), 2.4x below He's, and trains the demo MLP to 90%). The
weights' std and the Xavier/He reference values are reported in `Report.params` for reading.

Without `loss_fn`, the loss is L = sum(outputs): every output receives the gradient 1, so the
gradient flow is measured independently of the output's scale. With integer `targets` the
default loss is cross-entropy, with floating targets mean squared error.
"""

from __future__ import annotations

import html
import math

import numpy as np

from deepgrad.diagnostics.recorder import ActivationRecorder
from deepgrad.diagnostics.stats import activation_kind, is_activation
from deepgrad.tensor import Tensor, as_tensor

VANISHING_RATIO = 1e-3
EXPLODING_RATIO = 1e3
DEAD_FRACTION = 0.5
SATURATED_FRACTION = 0.5
ACTIVATION_STD_FACTOR = 10.0
SEVERITIES = ("error", "warning", "info")

REMEDY_VANISHING = ("Initialize weights with the variance that preserves signals: Xavier "
                    "(std 1/sqrt(fan_in)) before tanh/sigmoid, He (std sqrt(2/fan_in)) before "
                    "ReLU; add batch normalization; prefer ReLU-family activations; use "
                    "residual connections or deep supervision for very deep networks.")
REMEDY_EXPLODING = ("Lower the weight scale (Xavier/He initialization), lower the learning "
                    "rate, clip gradients by norm, add batch normalization.")
REMEDY_DEAD = ("Use He initialization and a small positive bias, lower the learning rate, "
               "or switch to LeakyReLU/ELU, whose negative side still passes a gradient.")
REMEDY_SATURATED = ("Scale the weights down to Xavier's std 1/sqrt(fan_in), standardize the "
                    "inputs, add batch normalization before the nonlinearity.")
REMEDY_NONFINITE = ("Lower the learning rate, clip gradients, check the inputs for NaN/inf "
                    "and the loss for log(0) or division by zero.")


class Report:
    """The doctor's findings.

    Attributes:
        findings: list of dicts {severity, layer, check, message, remedy} ("error",
            "warning" or "info").
        layers: list of dicts, one per recorded layer: name, kind, activation std,
            gradient rms, dead and saturated fractions.
        params: list of dicts, one per weight: name, std, expected std, grad norm.
        ok: True when there is no error and no warning.
    """

    def __init__(self, findings, layers, params, loss):
        self.findings = findings
        self.layers = layers
        self.params = params
        self.loss = loss

    @property
    def ok(self) -> bool:
        return not any(f["severity"] in ("error", "warning") for f in self.findings)

    def by_check(self, check: str) -> list:
        return [f for f in self.findings if f["check"] == check]

    def __str__(self):
        lines = [f"deepgrad doctor: loss {self.loss:.4g}, {len(self.layers)} layers recorded"]
        if self.ok:
            lines.append("No problem found.")
        for f in self.findings:
            lines.append(f"[{f['severity'].upper()}] {f['layer']}: {f['message']}")
            lines.append(f"    remedy: {f['remedy']}")
        lines.append("")
        lines.append(f"{'layer':<20} {'kind':<8} {'act std':>10} {'grad rms':>10} "
                     f"{'dead':>6} {'sat':>6}")
        for row in self.layers:
            lines.append(f"{row['name']:<20} {str(row['kind']):<8} {row['std']:>10.3g} "
                         f"{row['grad_rms']:>10.3g} {_pct(row['dead']):>6} "
                         f"{_pct(row['saturated']):>6}")
        return "\n".join(lines)

    __repr__ = __str__

    def to_markdown(self) -> str:
        """A markdown snippet: verdict, findings and the per-layer table."""
        out = ["### Doctor", "", "**No problem found.**" if self.ok else
               f"**{len(self.findings)} finding(s).**", ""]
        if self.findings:
            out += ["| severity | layer | finding | remedy |", "|---|---|---|---|"]
            out += [f"| {f['severity']} | {f['layer']} | {f['message']} | {f['remedy']} |"
                    for f in self.findings]
            out.append("")
        out += ["| layer | kind | activation std | gradient rms | dead | saturated |",
                "|---|---|---|---|---|---|"]
        out += [f"| {r['name']} | {r['kind']} | {r['std']:.3g} | {r['grad_rms']:.3g} | "
                f"{_pct(r['dead'])} | {_pct(r['saturated'])} |" for r in self.layers]
        return "\n".join(out) + "\n"

    def to_html(self) -> str:
        """An HTML snippet with the same content as `to_markdown`."""
        esc = html.escape
        verdict = "No problem found." if self.ok else f"{len(self.findings)} finding(s)."
        parts = [f"<h3>Doctor</h3><p><b>{verdict}</b></p>"]
        if self.findings:
            parts.append("<table><tr><th>severity</th><th>layer</th><th>finding</th>"
                         "<th>remedy</th></tr>")
            parts += [f"<tr><td>{esc(f['severity'])}</td><td>{esc(f['layer'])}</td>"
                      f"<td>{esc(f['message'])}</td><td>{esc(f['remedy'])}</td></tr>"
                      for f in self.findings]
            parts.append("</table>")
        parts.append("<table><tr><th>layer</th><th>kind</th><th>activation std</th>"
                     "<th>gradient rms</th><th>dead</th><th>saturated</th></tr>")
        parts += [f"<tr><td>{esc(r['name'])}</td><td>{esc(str(r['kind']))}</td>"
                  f"<td>{r['std']:.3g}</td><td>{r['grad_rms']:.3g}</td>"
                  f"<td>{_pct(r['dead'])}</td><td>{_pct(r['saturated'])}</td></tr>"
                  for r in self.layers]
        parts.append("</table>")
        return "\n".join(parts)

    def _repr_html_(self):  # notebooks
        from deepgrad.display import STYLE

        return STYLE + self.to_html().replace("<table>", '<table class="deepgrad">')

    def plot(self, path=None):
        """Activation std and gradient RMS per recorded layer (log scale), as the doctor
        measured them: a PNG at `path` (returned), or without a path the matplotlib Figure."""
        from deepgrad.diagnostics import plots

        plt = plots.pyplot()
        names = [row["name"] for row in self.layers]
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
        for ax, key, label in ((axes[0], "std", "activation std"),
                               (axes[1], "grad_rms", "gradient RMS (dL/da)")):
            values = np.array([row[key] for row in self.layers], dtype=np.float64)
            ax.semilogy(range(len(names)), np.where(values > 0, values, np.nan), marker="o")
            ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
            ax.set_xlabel("recorded layer (forward order)")
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
        verdict = "no problem found" if self.ok else f"{len(self.findings)} finding(s)"
        fig.suptitle(f"deepgrad doctor: {verdict}, loss {self.loss:.4g}", fontsize=10)
        fig.tight_layout()
        return plots.save(fig, path)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "loss": self.loss, "findings": self.findings,
                "layers": self.layers, "params": self.params}


def _pct(value):
    return "-" if value is None or not np.isfinite(value) else f"{100 * value:.0f}%"


def _finding(severity, layer, check, message, remedy):
    return {"severity": severity, "layer": layer, "check": check, "message": message,
            "remedy": remedy}


def _default_loss(output, targets):
    from deepgrad.nn import functional as F  # nn sits below diagnostics; imported on use

    if targets is None:
        return output.sum()
    targets = as_tensor(targets)
    if targets.dtype.kind in "iu":
        return F.cross_entropy(output, targets)
    return F.mse_loss(output, targets)


def _split_batch(batch, targets):
    if isinstance(batch, (tuple, list)):
        if len(batch) != 2 or targets is not None:
            raise ValueError("diagnose: batch must be the inputs, or a pair (inputs, targets) "
                             f"when targets is not given; got a {type(batch).__name__} of "
                             f"length {len(batch)}")
        return batch[0], batch[1]
    return batch, targets


def _main_output(output):
    # deeply supervised models return (main, aux...) in training mode
    return output[0] if isinstance(output, (tuple, list)) else output


def diagnose(model, batch, loss_fn=None, targets=None) -> Report:
    """Run one forward/backward pass of `model` on `batch` and report problems.

    Args:
        model: a Module (its parameters' .grad are overwritten).
        batch: the inputs, or a pair (inputs, targets).
        loss_fn: loss_fn(output, targets) -> scalar Tensor, given the model's output as is;
            default: see the module docstring.
        targets: the targets (class indices or values) when not in `batch`.
    Returns:
        a Report.
    """
    inputs, targets = _split_batch(batch, targets)
    inputs = inputs if isinstance(inputs, Tensor) else as_tensor(inputs)
    if inputs.dtype.kind != "f":
        raise TypeError(f"diagnose: inputs must be floating point, got dtype {inputs.dtype}")
    recorder = ActivationRecorder(model)
    order = []
    handles = [m.register_forward_hook(lambda mod, i, o, n=n: order.append(n))
               for n, m in model.named_modules() if n and not any(True for _ in m.children())]
    try:
        model.zero_grad()
        with recorder.capture(step=0):
            output = model(inputs)
            # a given loss_fn sees the output as is (a deep-supervision loss needs the tuple)
            loss = loss_fn(output, targets) if loss_fn is not None else \
                _default_loss(_main_output(output), targets)
            loss.backward()
        record = recorder.record(0)
    finally:
        recorder.close()
        for h in handles:
            h.remove()
    loss_value = float(np.asarray(loss.data).reshape(-1)[0])
    findings = []
    if not np.isfinite(loss_value):
        findings.append(_finding("error", "loss", "nonfinite",
                                 f"the loss is {loss_value}", REMEDY_NONFINITE))
    layers = _layer_rows(record)
    findings += _check_gradient_flow(layers)
    findings += _check_units(layers)
    params = _param_rows(model, order)
    findings += _check_activation_scale(layers)
    model.zero_grad()
    return Report(findings, layers, params, loss_value)


def _layer_rows(record):
    rows = []
    for name, entry in record["layers"].items():
        act = entry["activation"]
        grad = entry.get("grad")
        rows.append({"name": name, "kind": entry["kind"], "std": act["std"],
                     "mean": act["mean"], "grad_rms": grad["rms"] if grad else float("nan"),
                     "dead": entry.get("dead_fraction") if entry["kind"] == "relu" else None,
                     "saturated": act["frac_saturated"],
                     "finite": bool(np.isfinite(act["norm"])
                                    and (grad is None or np.isfinite(grad["norm"])))})
    return rows


def _check_gradient_flow(layers):
    findings = []
    for row in layers:
        if not row["finite"]:
            findings.append(_finding("error", row["name"], "nonfinite",
                                     "activations or gradients contain NaN or inf",
                                     REMEDY_NONFINITE))
    with_grad = [r for r in layers if np.isfinite(r["grad_rms"])]
    if len(with_grad) < 2:
        return findings
    first, last = with_grad[0], with_grad[-1]
    if last["grad_rms"] == 0.0:
        if first["grad_rms"] > 0.0:
            findings.append(_finding("error", last["name"], "vanishing",
                                     "the last recorded layer receives a zero gradient",
                                     REMEDY_DEAD))
        return findings
    ratio = first["grad_rms"] / last["grad_rms"]
    span = f"{first['name']} -> {last['name']}"
    detail = (f"gradient rms at {first['name']} is {first['grad_rms']:.3g} against "
              f"{last['grad_rms']:.3g} at {last['name']} (ratio {ratio:.3g})")
    if ratio < VANISHING_RATIO:
        findings.append(_finding("error", span, "vanishing",
                                 f"vanishing gradients: {detail}, below {VANISHING_RATIO:g}",
                                 REMEDY_VANISHING))
    elif ratio > EXPLODING_RATIO:
        findings.append(_finding("error", span, "exploding",
                                 f"exploding gradients: {detail}, above {EXPLODING_RATIO:g}",
                                 REMEDY_EXPLODING))
    return findings


def _names(rows):
    names = [r["name"] for r in rows]
    return ", ".join(names) if len(names) <= 4 else f"{names[0]}, ..., {names[-1]} " \
        f"({len(names)} layers)"


def _span(values, fmt="{:.0f}"):
    low, high = min(values), max(values)
    return fmt.format(low) if fmt.format(low) == fmt.format(high) else \
        f"{fmt.format(low)}-{fmt.format(high)}"


def _check_units(layers):
    """Dead ReLU and saturated layers, one finding per kind of problem (listing the layers)."""
    findings = []
    dead = [r for r in layers if r["dead"] is not None and r["dead"] > DEAD_FRACTION]
    if dead:
        findings.append(_finding(
            "warning", _names(dead), "dead_relu",
            f"{_span([100 * r['dead'] for r in dead])}% of the units are never positive on "
            f"this batch (dead ReLUs; threshold {100 * DEAD_FRACTION:.0f}%)", REMEDY_DEAD))
    saturated = [r for r in layers
                 if np.isfinite(r["saturated"]) and r["saturated"] > SATURATED_FRACTION]
    if saturated:
        kinds = "/".join(sorted({str(r["kind"]) for r in saturated}))
        findings.append(_finding(
            "warning", _names(saturated), "saturated",
            f"{_span([100 * r['saturated'] for r in saturated])}% of the {kinds} outputs are "
            f"saturated (threshold {100 * SATURATED_FRACTION:.0f}%): their local gradient is "
            "nearly 0", REMEDY_SATURATED))
    return findings


def _param_rows(model, order):
    """One row per weight of a layer that has `in_features` or `in_channels`, with the
    activation that follows it in execution order."""
    modules = dict(model.named_modules())
    rows = []
    for position, name in enumerate(order):
        module = modules.get(name)
        weight = getattr(module, "_parameters", {}).get("weight")
        if weight is None or weight.ndim < 2 or is_activation(module):
            continue
        if any(r["name"] == name for r in rows):
            continue
        fan_in = int(np.prod(weight.shape[1:]))
        kind = None
        for later in order[position + 1:]:
            follower = modules.get(later)
            if is_activation(follower):
                kind = activation_kind(follower)
                break
            if getattr(follower, "_parameters", {}).get("weight") is not None and \
                    type(follower).__name__ not in ("BatchNorm1d", "BatchNorm2d", "LayerNorm"):
                break
        expected = {"tanh": 1.0 / math.sqrt(fan_in), "sigmoid": 1.0 / math.sqrt(fan_in),
                    "relu": math.sqrt(2.0 / fan_in)}.get(kind)
        grad = weight.grad
        rows.append({"name": name, "kind": kind, "fan_in": fan_in,
                     "std": float(np.std(weight.data)), "expected_std": expected,
                     "grad_norm": float(np.linalg.norm(grad.data)) if grad is not None
                     else float("nan")})
    return rows


def _check_activation_scale(layers):
    """The signal shrinking or growing through the recorded layers."""
    findings = []
    stds = [r["std"] for r in layers if np.isfinite(r["std"])]
    if len(layers) >= 2 and len(stds) >= 2 and stds[0] > 0:
        change = stds[-1] / stds[0]
        span = f"{layers[0]['name']} -> {layers[-1]['name']}"
        if change < 1.0 / ACTIVATION_STD_FACTOR or change > ACTIVATION_STD_FACTOR:
            way = "collapses" if change < 1 else "grows"
            findings.append(_finding(
                "warning", span, "activation_scale",
                f"the activations' std {way} across depth: {stds[0]:.3g} -> {stds[-1]:.3g} "
                f"(factor {change:.3g}, threshold {ACTIVATION_STD_FACTOR:g})",
                REMEDY_VANISHING if change < 1 else REMEDY_EXPLODING))
    return findings
