"""Model-level gradient audit: three independent derivatives of the loss, parameter by parameter.

For a scalar loss L(theta) on one fixed batch, and for each parameter tensor W of the model,

    reverse    g = dL/dW                          one backward pass (what training uses)
    forward    L'(W; v) = jvp of L along v        forward mode, for random unit directions v
    finite     (L(W + eps v) - L(W - eps v)) / (2 eps)              along the same directions
    entries    (L(W + eps e_k) - L(W - eps e_k)) / (2 eps)          on a random subset of k

and the audit compares <g, v> with the forward-mode and finite-difference directional
derivatives, and g_k with the entry-wise differences. Everything runs on a float64 copy of the
model (`copy.deepcopy(model).double()`), so the caller's model is untouched, and central
differences with eps = 1e-6 agree with a correct gradient to about 1e-9.

Relative errors fall in the usual bands:  < 1e-7 good,  1e-7 .. 1e-2 suspicious,  > 1e-2 wrong.
Each comparison allows for the round-off it cannot avoid, an absolute tolerance delta, then
measures what is left relative to the larger of the two values:

    error = |a - b| / max(|a|, |b|)          (shown in the table)
    status from the error, except that |a - b| <= delta counts as agreement ("good")

Finite differences lose about eps_machine |L| / eps to cancellation, so for them
delta = 16 eps_machine max(|L|, 1) / eps (about 8e-9 for L ~ 2, eps = 1e-6); the two analytic
modes differ only by summation order, delta = 1e-12 max(|L|, ||grad L||). Without the
allowance a gradient that is zero by cancellation (the bias of a layer followed by batch norm)
would compare round-off with round-off and look wrong. For the k sampled entries the same
formula is applied to the vectors, with ||a - b|| and delta sqrt(k).

Randomness in the forward pass must not change between the evaluations being compared:
dropout modules (any module whose class name contains "Dropout") are put in eval mode, and
the state of deepgrad's default generator and of every `generator` attribute of the modules is
restored before each evaluation. Batch norm stays in training mode (batch statistics are a
deterministic function of the batch); its running statistics change only on the copy.
"""

from __future__ import annotations

import copy
import html
from dataclasses import dataclass, field

import numpy as np

from deepgrad import _state, random as dg_random
from deepgrad.forward import jvp
from deepgrad.tensor import Tensor

GOOD = 1e-7
WRONG = 1e-2


def classify(error: float) -> str:
    """'good' (< 1e-7), 'suspicious' (1e-7 .. 1e-2), 'wrong' (> 1e-2, or not finite)."""
    if error is None:
        return "n/a"
    if not np.isfinite(error) or error > WRONG:
        return "wrong"
    return "good" if error < GOOD else "suspicious"


_RANK = {"n/a": 0, "good": 1, "suspicious": 2, "wrong": 3}


@dataclass
class ParameterAudit:
    """The audit of one parameter tensor; errors are relative (None: not computed)."""

    name: str
    shape: tuple
    grad_norm: float
    forward_error: float | None      # jvp along v  vs  <g, v>
    fd_direction_error: float | None  # central difference along v  vs  <g, v>
    fd_entry_error: float | None     # central difference on sampled entries  vs  g_k
    entries_checked: int
    note: str = ""
    # the same three errors with disagreements within round-off counted as 0 (for `status`)
    effective_errors: tuple = (None, None, None)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1

    @property
    def worst(self) -> float | None:
        errors = [e for e in (self.forward_error, self.fd_direction_error, self.fd_entry_error)
                  if e is not None]
        return max(errors) if errors else None

    @property
    def effective_worst(self) -> float | None:
        errors = [e for e in self.effective_errors if e is not None]
        return max(errors) if errors else None

    @property
    def status(self) -> str:
        return classify(self.effective_worst)

    @property
    def within_roundoff(self) -> bool:
        """Some raw error is large only because both values are at round-off level."""
        return classify(self.worst) != self.status


@dataclass
class AuditReport:
    """Rows of `ParameterAudit`, one per parameter tensor, in `named_parameters()` order."""

    rows: list
    loss: float
    eps: float
    num_directions: int
    max_entries: int
    notes: list = field(default_factory=list)

    @property
    def worst(self) -> float | None:
        """The largest relative error that is not explained by round-off."""
        errors = [r.effective_worst for r in self.rows if r.effective_worst is not None]
        return max(errors) if errors else None

    @property
    def status(self) -> str:
        """The worst band over all parameters ('good', 'suspicious' or 'wrong')."""
        statuses = [r.status for r in self.rows] or ["n/a"]
        return max(statuses, key=_RANK.__getitem__)

    @property
    def ok(self) -> bool:
        """True unless some derivative is in the 'wrong' band."""
        return self.status != "wrong"

    def to_dict(self) -> dict:
        return {"loss": self.loss, "eps": self.eps, "num_directions": self.num_directions,
                "max_entries": self.max_entries, "status": self.status, "worst": self.worst,
                "notes": list(self.notes),
                "parameters": [{"name": r.name, "shape": list(r.shape), "size": r.size,
                                "grad_norm": r.grad_norm, "forward_error": r.forward_error,
                                "fd_direction_error": r.fd_direction_error,
                                "fd_entry_error": r.fd_entry_error,
                                "entries_checked": r.entries_checked, "status": r.status,
                                "note": r.note} for r in self.rows]}

    def format_table(self) -> str:
        """A fixed-width table: one line per parameter, then a summary line."""
        def fmt(error):
            return "-" if error is None else f"{error:.2e}"

        header = (f"{'parameter':<28} {'shape':<16} {'|grad|':>10} {'jvp':>9} {'fd-dir':>9} "
                  f"{'fd-entry':>9}  status")
        lines = [f"gradient audit (float64, loss = {self.loss:.6g}, eps = {self.eps:g}, "
                 f"{self.num_directions} direction(s), up to {self.max_entries} entries "
                 "per tensor)", header, "-" * len(header)]
        for r in self.rows:
            shape = "x".join(str(s) for s in r.shape) or "scalar"
            line = (f"{r.name:<28} {shape:<16} {r.grad_norm:>10.3e} {fmt(r.forward_error):>9} "
                    f"{fmt(r.fd_direction_error):>9} {fmt(r.fd_entry_error):>9}  {r.status}")
            notes = [r.note] if r.note else []
            if r.within_roundoff:
                notes.append("differences within round-off")
            lines.append(line + (f"  ({'; '.join(notes)})" if notes else ""))
        lines.append("-" * len(header))
        raw = [r.worst for r in self.rows if r.worst is not None]
        raw_worst = f"{max(raw):.2e}" if raw else "-"
        beyond = "-" if self.worst is None else f"{self.worst:.2e}"
        counts = {s: sum(r.status == s for r in self.rows) for s in ("good", "suspicious",
                                                                       "wrong")}
        lines.append(f"verdict: {self.status}: worst relative error {raw_worst} ({beyond} "
                     f"beyond round-off); {counts['good']} good, {counts['suspicious']} "
                     f"suspicious, {counts['wrong']} wrong (bands: < {GOOD:g} good, "
                     f"{GOOD:g}..{WRONG:g} suspicious, > {WRONG:g} wrong)")
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __str__(self):
        return self.format_table()

    def _repr_html_(self):  # notebooks: the same table, one row per parameter
        from deepgrad.display import html_table, styled

        def cell(error):
            return "-" if error is None else f"{error:.1e}"

        rows = [[r.name, "x".join(str(s) for s in r.shape) or "scalar", r.grad_norm,
                 cell(r.forward_error), cell(r.fd_direction_error), cell(r.fd_entry_error),
                 r.status, r.note or ""] for r in self.rows]
        headers = ["parameter", "shape", "|grad|", "forward", "fd direction", "fd entries",
                   "status", "note"]
        verdict = self.format_table().splitlines()[-1 - len(self.notes)]
        return styled(html_table(headers, rows, caption="Gradient audit"),
                      f"<p>{html.escape(verdict)}</p>")


def _relative(a, b, delta: float) -> tuple:
    """(|a - b| / max(|a|, |b|), the same but 0 when |a - b| <= delta); vectors use norms."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    difference = float(np.linalg.norm(a - b))
    scale = max(float(np.linalg.norm(a)), float(np.linalg.norm(b)))
    raw = 0.0 if difference == 0.0 else difference / scale
    return raw, (0.0 if difference <= delta else raw)


def _worst(pairs: list) -> tuple:
    if not pairs:
        return None, None
    return max(r for r, _ in pairs), max(e for _, e in pairs)


def _to_double(value):
    """A float64 copy of a batch element (Tensor/array); integer labels stay as they are."""
    if isinstance(value, (tuple, list)):
        return type(value)(_to_double(v) for v in value)
    array = value.data if isinstance(value, Tensor) else np.asarray(value)
    if array.dtype.kind == "f":
        array = array.astype(np.float64)
    return Tensor(array)


class _Frozen:
    """Restores every random generator the forward pass could draw from to one saved state."""

    def __init__(self, model):
        self.generators = [dg_random.default_generator()]
        for module in model.modules():
            gen = module.__dict__.get("generator")
            if isinstance(gen, np.random.Generator):
                self.generators.append(gen)
        self.states = [g.bit_generator.state for g in self.generators]

    def reset(self):
        for g, s in zip(self.generators, self.states):
            g.bit_generator.state = s


def audit_gradients(model, batch, loss_fn, num_directions: int = 2, max_entries: int = 6,
                    eps: float = 1e-6, generator=0) -> AuditReport:
    """Compare reverse mode, forward mode and finite differences for every parameter of `model`.

    Args:
        model: a deepgrad Module (it is copied; the original is not modified).
        batch: (inputs, targets) — Tensors or arrays; floats are converted to float64.
        loss_fn: loss_fn(model_output, targets) -> scalar Tensor.
        num_directions: random unit directions per parameter tensor (jvp and finite
            differences along each).
        max_entries: entries per tensor checked one by one with central differences (all
            entries of smaller tensors).
        eps: the finite-difference step.
        generator: seed or numpy Generator for the directions and the sampled entries.

    Returns:
        an AuditReport; `print(report)` shows the table, `report.ok` is False when some
        derivative is wrong.
    """
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise ValueError("audit_gradients: batch must be a pair (inputs, targets), got "
                         f"{type(batch).__name__}")
    rng = dg_random.get_generator(generator)
    inputs, targets = _to_double(batch[0]), _to_double(batch[1])
    saved_default = dg_random.default_generator().bit_generator.state
    audit_model = copy.deepcopy(model).double()
    audit_model.train()
    notes = []
    for name, module in audit_model.named_modules():
        if "Dropout" in type(module).__name__:
            module.eval()
            notes.append(f"{name or type(module).__name__}: dropout disabled (eval mode)")
    frozen = _Frozen(audit_model)
    # where each parameter lives, so that jvp can substitute a tangent-carrying tensor
    places = {}
    for module in audit_model.modules():
        for key, p in module._parameters.items():
            if p is not None:
                places.setdefault(id(p), []).append((module, key))

    def loss_value():
        frozen.reset()
        with _state.no_grad():
            return float(loss_fn(audit_model(inputs), targets).data)

    try:
        # reverse mode: one backward pass for all parameters
        frozen.reset()
        audit_model.zero_grad()
        with _state.enable_grad():
            loss = loss_fn(audit_model(inputs), targets)
            if loss.size != 1:
                raise ValueError(f"audit_gradients: the loss must be a scalar, got shape "
                                 f"{loss.shape}")
            loss.backward()
        loss0 = float(loss.data)
        named = [(name, p) for name, p in audit_model.named_parameters() if p.requires_grad]
        grads = {name: (np.zeros_like(p.data) if p.grad is None else np.asarray(p.grad.data))
                 for name, p in named}
        total_norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))
        tolerances = (1e-12 * max(abs(loss0), total_norm),
                      16 * np.finfo(np.float64).eps * max(abs(loss0), 1.0) / eps)
        rows = [_audit_one(name, p, grads[name], places[id(p)], audit_model, inputs, targets,
                           loss_fn, loss_value, frozen, rng, num_directions, max_entries, eps,
                           tolerances) for name, p in named]
    finally:
        dg_random.default_generator().bit_generator.state = saved_default
    return AuditReport(rows=rows, loss=loss0, eps=eps, num_directions=num_directions,
                       max_entries=max_entries, notes=notes)


def _audit_one(name, p, g, places, model, inputs, targets, loss_fn, loss_value, frozen, rng,
               num_directions, max_entries, eps, tolerances) -> ParameterAudit:
    analytic_delta, fd_delta = tolerances
    flat = p.data.reshape(-1)   # a view: perturbing it perturbs the parameter
    n = flat.size
    note = ""

    def swapped_loss(w):
        for module, key in places:
            module._parameters[key] = w
        try:
            frozen.reset()
            return loss_fn(model(inputs), targets)
        finally:
            for module, key in places:
                module._parameters[key] = p

    forward_errors, fd_errors = [], []
    for _ in range(num_directions):
        v = rng.standard_normal(p.shape)
        v /= max(float(np.linalg.norm(v)), 1e-300)
        expected = float(np.sum(g * v))
        if not note:
            try:
                with _state.no_grad():
                    _, dot = jvp(swapped_loss, (Tensor(p.data.copy()),), (v,))
                forward_errors.append(_relative(float(dot.data), expected, analytic_delta))
            except NotImplementedError as error:
                note = f"forward mode unavailable: {error}"
        original = p.data.copy()
        p.data[...] = original + eps * v
        plus = loss_value()
        p.data[...] = original - eps * v
        minus = loss_value()
        p.data[...] = original
        fd_errors.append(_relative((plus - minus) / (2 * eps), expected, fd_delta))
    k = min(max_entries, n)
    indices = rng.choice(n, size=k, replace=False) if k < n else np.arange(n)
    numeric = np.empty(k)
    for j, index in enumerate(indices):
        original = flat[index]
        flat[index] = original + eps
        plus = loss_value()
        flat[index] = original - eps
        minus = loss_value()
        flat[index] = original
        numeric[j] = (plus - minus) / (2 * eps)
    analytic = g.reshape(-1)[indices]
    forward, fd_direction = _worst(forward_errors), _worst(fd_errors)
    entries = _relative(analytic, numeric, fd_delta * np.sqrt(k)) if k else (None, None)
    return ParameterAudit(name=name, shape=tuple(p.shape), grad_norm=float(np.linalg.norm(g)),
                          forward_error=forward[0], fd_direction_error=fd_direction[0],
                          fd_entry_error=entries[0], entries_checked=int(k), note=note,
                          effective_errors=(forward[1], fd_direction[1], entries[1]))
