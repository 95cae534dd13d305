"""init — weight initialization and the scale of activations and gradients across depth.

Part A, the DD2424 setup (dd2424-l4-k-layer-networks.txt, "Effect of weight initialization &
activation function on gradient flow"): 1,000 inputs x ~ N(0, 1) of dimension 500, ten hidden
layers of 500 units (Linear + tanh or ReLU, zero biases) and a 10-way softmax output, weights
W ~ N(0, s^2) with s = 0.01 (small), 1 (large), Xavier 1/sqrt(n_in) and He sqrt(2/n_in).
The backward pass starts as in the notes, from softmax + cross-entropy (g = p - y for random
labels y, summed over the examples), and the figures show what the notes plot: histograms of
each hidden layer's activations and of dL/dW_k, the gradient of its weight matrix, with
log-count y axes for gradients and, for ReLU, the non-zero values only (the zero fractions are
in the tables). Each panel has its own x range, so a shrinking or growing scale shows in the
tick labels; the std-per-layer figure puts all of them on one log axis.

Part B, the backprop notes' own NumPy setup (backprop-tensor-derivatives-and-init.txt,
"Initializations"): X of 100 dimensions x 1,000 points, ten hidden layers of 100 units, the
backward pass started from dL/dH_10 = 100 N(0, 1); small (0.01) and large (1) weights with
ReLU, Xavier N(0, 2/(n_in + n_out)) with tanh, He N(0, 2/n_in) with ReLU.

Quick mode: 200 inputs, and one histogram figure (ReLU/He gradients).
"""

from __future__ import annotations

import math
import os

import numpy as np

from deepgrad import nn
from deepgrad.nn import functional as F
from deepgrad.random import get_generator
from deepgrad.studies._common import finish, markdown_table
from deepgrad.studies._figures import histogram, legend_outside, slide
from deepgrad.tensor import Tensor

NAME = "init"
DEPTH, WIDTH, CLASSES = 10, 500, 10
ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}
SCHEMES = {
    "std 0.01": lambda fan_in, fan_out: 0.01,
    "std 1": lambda fan_in, fan_out: 1.0,
    "Xavier": lambda fan_in, fan_out: 1.0 / math.sqrt(fan_in),
    "He": lambda fan_in, fan_out: math.sqrt(2.0 / fan_in),
}
# the backprop notes' setup: (activation, scheme) pairs and the Glorot variance 2/(in + out)
NOTES_RUNS = [("relu", "std 0.01"), ("relu", "std 1"), ("tanh", "Glorot"), ("relu", "He")]
NOTES_SCHEMES = dict(SCHEMES, Glorot=lambda fan_in, fan_out: math.sqrt(2.0 / (fan_in + fan_out)))


def build(activation: str, scheme: str, depth: int = DEPTH, width: int = WIDTH, generator=None,
          schemes=SCHEMES):
    """Sequential of `depth` x (Linear(width, width) with N(0, s^2) weights and zero biases,
    activation), s = schemes[scheme](n_in, n_out)."""
    rng = get_generator(generator)
    layers = []
    for _ in range(depth):
        linear = nn.Linear(width, width, generator=rng)
        nn.init.normal_(linear.weight, 0.0, schemes[scheme](width, width), generator=rng)
        nn.init.zeros_(linear.bias)
        layers += [linear, ACTIVATIONS[activation]()]
    return nn.Sequential(*layers)


def forward_backward(model, x, seed_loss):
    """Run the hidden layers of `model` (a `build` Sequential) on x, then `seed_loss(h_last)`
    backward; returns per hidden layer the activations h_k, the per-example gradients dL/ds_k
    and dL/dW_k (NumPy arrays)."""
    h, pre = Tensor(x), []
    outputs = []
    layers = list(zip(model[0::2], model[1::2]))
    for linear, activation in layers:
        s = linear(h)
        s.retain_grad()
        h = activation(s)
        pre.append(s)
        outputs.append(h.data.copy())
    seed_loss(h).backward()
    return outputs, [s.grad.data for s in pre], [linear.weight.grad.data for linear, _ in layers]


def nonzero(values):
    values = np.asarray(values).ravel()
    return values[values != 0]


def stats(activation, outputs, grads_s, grads_w):
    """Per-layer numbers: std of activations and of dL/dW (non-zero entries for ReLU), and the
    zero fractions."""
    keep = nonzero if activation == "relu" else np.ravel
    return {
        "activation_std": [float(np.std(keep(a))) for a in outputs],
        "grad_w_std": [float(np.std(keep(g))) for g in grads_w],
        "grad_s_std": [float(np.std(keep(g))) for g in grads_s],
        "grad_w_absmax": [float(np.max(np.abs(g))) for g in grads_w],
        "zero_activations": [float(np.mean(a == 0)) for a in outputs],
        "zero_grad_s": [float(np.mean(g == 0)) for g in grads_s],
        "zero_grad_w": [float(np.mean(g == 0)) for g in grads_w],
        "saturated": [float(np.mean(np.abs(a) > 0.99)) for a in outputs],
    }


def dd2424_run(activation, scheme, batch, seed):
    rng = np.random.default_rng(seed)
    layers = build(activation, scheme, generator=rng)
    head = nn.Linear(WIDTH, CLASSES, generator=rng)
    nn.init.normal_(head.weight, 0.0, SCHEMES[scheme](WIDTH, CLASSES), generator=rng)
    nn.init.zeros_(head.bias)
    x = rng.standard_normal((batch, WIDTH)).astype(np.float32)
    y = Tensor(rng.integers(0, CLASSES, batch))
    return forward_backward(layers, x,
                            lambda h: F.cross_entropy(head(h), y, reduction="sum"))


def notes_run(activation, scheme, seed):
    """The backprop notes' NumPy experiment (100 units, 1,000 points, dL/dH_10 = 100 N(0,1))."""
    rng = np.random.default_rng(seed)
    layers = build(activation, scheme, width=100, generator=rng, schemes=NOTES_SCHEMES)
    x = rng.standard_normal((1000, 100)).astype(np.float32)
    seed_grad = Tensor((100 * rng.standard_normal((1000, 100))).astype(np.float32))
    return forward_backward(layers, x, lambda h: (h * seed_grad).sum())


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    batch = 200 if quick else 1000
    numbers, figures, rows = {"dd2424": {}, "notes": {}}, [], []
    drawn = {("relu", "He")} if quick else None
    for activation in ACTIVATIONS:
        for scheme in SCHEMES:
            outputs, grads_s, grads_w = dd2424_run(activation, scheme, batch, seed)
            entry = stats(activation, outputs, grads_s, grads_w)
            entry["grad_ratio_1_to_10"] = entry["grad_w_std"][0] / entry["grad_w_std"][-1]
            for key in ("grad_w_std", "grad_s_std"):
                stds = [s for s in entry[key] if s > 0]
                entry[key.replace("_std", "_range")] = max(stds) / min(stds)
            numbers["dd2424"][f"{activation}/{scheme}"] = entry
            rows.append(_row(activation, scheme, entry))
            if drawn is None or (activation, scheme) in drawn:
                figures += _histogram_figures(out_dir, activation, scheme, outputs, grads_w,
                                              batch, ("gradients",) if quick else None)
    notes_rows = []
    for activation, scheme in NOTES_RUNS:
        entry = stats(activation, *notes_run(activation, scheme, seed))
        numbers["notes"][f"{activation}/{scheme}"] = entry
        notes_rows.append(_row(activation, scheme, entry))
    figures.insert(0, _plot_stds(numbers["dd2424"], os.path.join(out_dir, "init_std.png"),
                                 batch))
    headers = ["activation", "init", "quantity"] + [f"layer {k}" for k in (1, 2, 5, 10)] \
        + ["zero fraction (h / dL/ds / dL/dW), layer 5"]
    sections = [
        ("The notes' claims", CLAIMS),
        (f"Part A: 10 x 500 units, {batch} inputs, softmax + cross-entropy",
         markdown_table(headers, [r for pair in rows for r in pair], digits=3)),
        ("Part B: the backprop notes' NumPy setup (10 x 100 units, 1,000 points)",
         markdown_table(headers, [r for pair in notes_rows for r in pair], digits=3)),
        ("What deepgrad measured", _verdict(numbers)),
    ]
    return finish(NAME, out_dir, quick, "Initialization: signal scale across depth",
                  __doc__.split("\n\n", 1)[1], sections, figures, numbers)


CLAIMS = """
* dd2424-l4-k-layer-networks.txt, "Effect of initialization with small values on gradients"
  (tanh, sigma = 0.01): "values of x-axis rapidly decrease with each layer".
* same file, "Effect of initialization with large values on gradients" (tanh, sigma = 1):
  "Almost all neurons completely saturated, either -1 or +1" and "the increase in the
  magnitude of the x-values as the layers decrease".
* same file, "Effect on Xavier initialization on gradients" (tanh): "have a nice range of
  values at each layer. (Why the increase in range for layer 1?)".
* same file, "Effect of parameter init. on network with ReLu activations": "Range of non-zero
  gradient values remains approx. constant across layers", "~50% of activations are zero".
* backprop-tensor-derivatives-and-init.txt, "Small random weight initialization": "these
  initializations cause all activations to decay to zero"; "Large random weight
  initialization": "these cause the units to explode".
"""


def _row(activation, scheme, entry):
    pick = (0, 1, 4, 9)
    zeros = "{:.2f} / {:.2f} / {:.2f}".format(entry["zero_activations"][4],
                                              entry["zero_grad_s"][4], entry["zero_grad_w"][4])
    return ([activation, scheme, "std h"] + [entry["activation_std"][i] for i in pick] + [zeros],
            [activation, scheme, "std dL/dW"] + [entry["grad_w_std"][i] for i in pick] + [""],
            [activation, scheme, "std dL/ds"] + [entry["grad_s_std"][i] for i in pick] + [""])


def _verdict(numbers):
    a = numbers["dd2424"]
    small, large = a["tanh/std 0.01"], a["tanh/std 1"]
    xavier, he = a["tanh/Xavier"], a["relu/He"]
    notes = numbers["notes"]
    lines = [
        f"* tanh, sigma 0.01: the activation std falls from {small['activation_std'][0]:.3g} "
        f"(layer 1) to {small['activation_std'][-1]:.3g} (layer 10), dL/dW std from "
        f"{small['grad_w_std'][-1]:.3g} (layer 10) to {small['grad_w_std'][0]:.3g} (layer 1) "
        "— the shrinking activations **hold**; dL/dW is tiny at every layer but not smaller "
        "at layer 1: dL/dW_k = g_k h_(k-1)^T, and the back-propagated g_k shrinks by the same "
        "factor 0.01 sqrt(500) = 0.22 per layer going down as h_(k-1) grows going down.",
        f"* tanh, sigma 1: {large['saturated'][4]:.0%} of layer 5's units beyond +-0.99; dL/dW "
        f"std grows from {large['grad_w_std'][-1]:.3g} (layer 10) to "
        f"{large['grad_w_std'][0]:.3g} (layer 1) — **holds**.",
        f"* tanh, Xavier: dL/dW std per layer {_span(xavier['grad_w_std'])}; layer 1 / layer 2 "
        f"= {xavier['grad_w_std'][0] / xavier['grad_w_std'][1]:.3g} — **holds**: layer 1's "
        "input is x ~ N(0, 1) while deeper layers see tanh outputs of std < 1, and dL/dW_1 = "
        "g x^T scales with its input.",
        f"* ReLU, He: the non-zero per-example gradients dL/ds keep their std within a factor "
        f"{he['grad_s_range']:.3g} across the ten layers ({_span(he['grad_s_std'])}) — "
        + ("**holds**" if he["grad_s_range"] < 2 else "**does not hold**") +
        f"; {he['zero_activations'][4]:.0%} of layer 5's activations and "
        f"{he['zero_grad_s'][4]:.0%} of its dL/ds are zero (the notes report ~50% for "
        "activations and 90-95% for gradients, \"a slight artifact of the toy input\"; here "
        "the gradient zeros are the ReLU's ~50%). The batch-summed dL/dW = sum_n g_n h_n^T "
        f"spreads more, {_span(he['grad_w_std'])} (max/min {he['grad_w_range']:.3g}), growing "
        "towards the output: near the softmax the examples' back-propagated signals g_n point "
        "in few directions (one per class) and add up coherently, deeper down the ReLU masks "
        "decorrelate them. (dL/dW is rarely exactly zero: "
        f"{he['zero_grad_w'][4]:.1%}.)",
        f"* ReLU, sigma 0.01 / 1: non-zero dL/dW std {_span(a['relu/std 0.01']['grad_w_std'])} "
        f"/ {_span(a['relu/std 1']['grad_w_std'])} — \"too small sigma => non-zero gradients "
        "are close to zero\", \"too large sigma => ... very large\": **holds**.",
        f"* Part B: activation std at layer 10: small {_last(notes['relu/std 0.01'])}, large "
        f"{_last(notes['relu/std 1'])}, Glorot+tanh {_last(notes['tanh/Glorot'])}, He+ReLU "
        f"{_last(notes['relu/He'])} (layer 1: "
        f"{notes['relu/std 0.01']['activation_std'][0]:.3g}, "
        f"{notes['relu/std 1']['activation_std'][0]:.3g}, "
        f"{notes['tanh/Glorot']['activation_std'][0]:.3g}, "
        f"{notes['relu/He']['activation_std'][0]:.3g}) — decay to zero and explosion **hold**.",
    ]
    return "\n".join(lines)


def _span(values):
    return f"{min(values):.3g} .. {max(values):.3g}"


def _last(entry):
    return f"{entry['activation_std'][-1]:.3g}"


def _histogram_figures(out_dir, activation, scheme, outputs, grads_w, batch, only=None):
    tag = f"{activation}_{scheme.replace(' ', '').replace('.', '')}".lower()
    relu = activation == "relu"
    paths = []
    for what, arrays, log in (("activations", outputs, False), ("gradients dL/dW", grads_w,
                                                               True)):
        if only and what.split()[0] not in only:
            continue
        kind = "non-zero " if relu else ""
        title = f"{activation}, {_scheme_text(scheme)}: {kind}{what} per hidden layer"
        path = os.path.join(out_dir, f"init_{tag}_{what.split()[0]}.png")
        with slide(path, 2, 5, title=title) as axes:
            for k, values in enumerate(arrays):
                ax = axes[k // 5][k % 5]
                histogram(ax, nonzero(values) if relu else values, log_count=log,
                          color="C1" if log else "C0")
                ax.set_title(f"hidden layer {k + 1}")
                if k % 5 == 0:
                    ax.set_ylabel("count (log)" if log else "count")
                if k >= 5:
                    ax.set_xlabel("dL/dW entry" if log else "activation h")
        paths.append(path)
    return paths


def _scheme_text(scheme):
    return {"std 0.01": "W ~ N(0, 0.01^2)", "std 1": "W ~ N(0, 1)",
            "Xavier": "Xavier W ~ N(0, 1/500)", "He": "He W ~ N(0, 2/500)"}[scheme]


def _plot_stds(entries, path, batch):
    title = f"10 x {WIDTH} units, {batch} inputs: std per hidden layer (ReLU: non-zero values)"
    with slide(path, 2, 2, title=title, sharex=True) as axes:
        for col, activation in enumerate(ACTIVATIONS):
            for row, (key, label) in enumerate((("activation_std", "std of activations h"),
                                                ("grad_w_std", "std of dL/dW"))):
                ax = axes[row][col]
                for scheme in SCHEMES:
                    values = entries[f"{activation}/{scheme}"][key]
                    ax.semilogy(range(1, DEPTH + 1), np.maximum(values, 1e-300), marker="o",
                                markersize=4, label=scheme)
                ax.set_title(f"{activation}: {label}")
                ax.set_ylabel(label)
                if row == 1:
                    ax.set_xlabel("hidden layer")
                if col == 1:
                    legend_outside(ax, title="init")
    return path
