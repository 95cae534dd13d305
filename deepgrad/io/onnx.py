"""Export a deepgrad model to ONNX (inference graph, eval mode).

    export_onnx(model, "model.onnx", input_shape=(1, 28, 28))

The exporter walks the model: containers (Sequential, models that define `onnx_layers()`)
are unrolled and every leaf layer is turned into one or a few ONNX nodes. Each layer is also
run once on a dummy batch (in eval mode, without gradients) so the shape of every
intermediate value is known, which lets Linear choose Gemm (2-D input) or MatMul, and
Flatten choose Flatten or Reshape. The batch dimension is symbolic ("N").

Parameters become initializers named after their dotted names ("0.weight", "conv1.bias").
The model is written with opset 17 and IR version 8 by default, which onnxruntime accepts
(the newest onnx package would otherwise stamp an IR version too new for many runtimes).
See docs/onnx.md for the list of supported layers and how each one is expressed.
"""

from __future__ import annotations

import math
import os

import numpy as np

from deepgrad import registry
from deepgrad._optional import require
from deepgrad._state import no_grad
from deepgrad.registry import register
from deepgrad.tensor import Tensor

# opset -> the oldest IR version that carries it (onnxruntime accepts these)
_IR_FOR_OPSET = {17: 8, 18: 8, 19: 9, 20: 9, 21: 10}


class ONNXExportError(ValueError):
    """The model (or one of its layers) cannot be expressed in ONNX by this exporter."""


class _Graph:
    """Collects nodes and initializers; hands out unique value names."""

    def __init__(self, helper, numpy_helper, dtype):
        self.helper, self.numpy_helper, self.dtype = helper, numpy_helper, np.dtype(dtype)
        self.nodes, self.initializers, self._used = [], [], set()

    def fresh(self, hint: str) -> str:
        name, i = hint, 1
        while name in self._used:
            name, i = f"{hint}_{i}", i + 1
        self._used.add(name)
        return name

    def const(self, name: str, array) -> str:
        """An initializer; floating arrays are stored in the export dtype."""
        array = np.asarray(array)
        if array.dtype.kind == "f":
            array = array.astype(self.dtype)
        name = self.fresh(name)
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(array)
                                                              if array.ndim else array, name))
        return name

    def scalar(self, hint: str, value: float) -> str:
        return self.const(hint, np.array(value, dtype=self.dtype))

    def node(self, op: str, inputs: list, hint: str, **attributes) -> str:
        out = self.fresh(hint)
        self.nodes.append(self.helper.make_node(op, inputs, [out], name=out, **attributes))
        return out


def _pair(value, layer: str, arg: str) -> list:
    if isinstance(value, (int, np.integer)):
        return [int(value), int(value)]
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return [int(v) for v in value]
    raise ONNXExportError(f"export_onnx: {layer}: cannot export {arg}={value!r}")


# --------------------------------------------------------------------------------------------
# one function per layer type: (graph, module, name, x, input_shape, output_shape) -> value
# --------------------------------------------------------------------------------------------
def _linear(g, m, name, x, shape, out_shape):
    weight = g.const(f"{name}.weight", m.weight.data)
    if len(shape) == 2:
        inputs = [x, weight] + ([g.const(f"{name}.bias", m.bias.data)] if m.bias is not None
                                else [])
        return g.node("Gemm", inputs, name, transB=1)
    w_t = g.node("Transpose", [weight], f"{name}.weight_T", perm=[1, 0])
    y = g.node("MatMul", [x, w_t], f"{name}.matmul")
    if m.bias is None:
        return y
    return g.node("Add", [y, g.const(f"{name}.bias", m.bias.data)], name)


def _flatten(g, m, name, x, shape, out_shape):
    ndim = len(shape)
    start, end = m.start_dim % ndim, m.end_dim % ndim
    if start == 1 and end == ndim - 1:
        return g.node("Flatten", [x], name, axis=1)
    target = [0] * start + [-1] + list(shape[end + 1:])
    if start == 0:
        target = [-1] + list(shape[end + 1:])
    return g.node("Reshape", [x, g.const(f"{name}.shape", np.array(target, np.int64))], name)


def _passthrough(g, m, name, x, shape, out_shape):
    return x


def _simple(op, **attrs):
    def emit(g, m, name, x, shape, out_shape):
        return g.node(op, [x], name, **{k: (v(m) if callable(v) else v)
                                        for k, v in attrs.items()})
    return emit


def _gelu(g, m, name, x, shape, out_shape):
    if getattr(m, "approximate", "none") == "tanh":
        # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.node("Mul", [g.node("Mul", [x, x], f"{name}.x2"), x], f"{name}.x3")
        inner = g.node("Add", [x, g.node("Mul", [cube, g.scalar(f"{name}.c", 0.044715)],
                                         f"{name}.cx3")], f"{name}.inner")
        scaled = g.node("Mul", [inner, g.scalar(f"{name}.k", math.sqrt(2 / math.pi))],
                        f"{name}.scaled")
        phi = g.node("Tanh", [scaled], f"{name}.tanh")
    else:
        # 0.5 x (1 + erf(x / sqrt(2)))
        phi = g.node("Erf", [g.node("Div", [x, g.scalar(f"{name}.sqrt2", math.sqrt(2))],
                                    f"{name}.div")], f"{name}.erf")
    one_plus = g.node("Add", [phi, g.scalar(f"{name}.one", 1.0)], f"{name}.add")
    half_x = g.node("Mul", [x, g.scalar(f"{name}.half", 0.5)], f"{name}.half_x")
    return g.node("Mul", [half_x, one_plus], name)


def _softplus(g, m, name, x, shape, out_shape):
    # the linear region above `threshold` differs from ln(1 + e^z) by < e^-20: not modelled
    beta = float(getattr(m, "beta", 1.0))
    if beta == 1.0:
        return g.node("Softplus", [x], name)
    beta_name = g.scalar(f"{name}.beta", beta)
    z = g.node("Softplus", [g.node("Mul", [x, beta_name], f"{name}.bx")], f"{name}.softplus")
    return g.node("Div", [z, beta_name], name)


def _silu(g, m, name, x, shape, out_shape):
    return g.node("Mul", [x, g.node("Sigmoid", [x], f"{name}.sigmoid")], name)


def _swish(g, m, name, x, shape, out_shape):
    beta = m.beta.data if isinstance(m.beta, Tensor) else np.array(m.beta)
    bx = g.node("Mul", [x, g.const(f"{name}.beta", beta)], f"{name}.bx")
    return g.node("Mul", [x, g.node("Sigmoid", [bx], f"{name}.sigmoid")], name)


def _prelu(g, m, name, x, shape, out_shape):
    slope = m.weight.data
    if slope.size > 1:  # one slope per channel (axis 1): broadcast over the trailing axes
        slope = slope.reshape((slope.size,) + (1,) * (len(shape) - 2))
    return g.node("PRelu", [x, g.const(f"{name}.weight", slope)], name)


def _step(g, m, name, x, shape, out_shape):
    ge = g.node("GreaterOrEqual", [x, g.scalar(f"{name}.zero", 0.0)], f"{name}.ge")
    return g.node("Cast", [ge], name, to=g.helper.np_dtype_to_tensor_dtype(g.dtype))


def _batch_norm(g, m, name, x, shape, out_shape):
    if not getattr(m, "track_running_stats", True) or m.running_mean is None:
        raise ONNXExportError(f"export_onnx: {type(m).__name__} '{name}' has no running "
                              "statistics (track_running_stats=False), so its eval output "
                              "depends on the batch; it cannot be exported")
    c = m.num_features
    scale = m.weight.data if m.weight is not None else np.ones(c)
    bias = m.bias.data if m.bias is not None else np.zeros(c)
    inputs = [x, g.const(f"{name}.weight", scale), g.const(f"{name}.bias", bias),
              g.const(f"{name}.running_mean", m.running_mean.data),
              g.const(f"{name}.running_var", m.running_var.data)]
    return g.node("BatchNormalization", inputs, name, epsilon=float(m.eps))


def _layer_norm(g, m, name, x, shape, out_shape):
    normalized = tuple(m.normalized_shape)
    scale = m.weight.data if m.weight is not None else np.ones(normalized)
    bias = m.bias.data if m.bias is not None else np.zeros(normalized)
    return g.node("LayerNormalization",
                  [x, g.const(f"{name}.weight", scale), g.const(f"{name}.bias", bias)],
                  name, axis=-len(normalized), epsilon=float(m.eps))


def _pads(m, name, kernel, shape):
    padding = getattr(m, "padding", 0)
    if isinstance(padding, str):
        if padding == "valid":
            return [0, 0, 0, 0]
        if padding == "same":
            dilation = _pair(getattr(m, "dilation", 1), name, "dilation")
            total = [d * (k - 1) for d, k in zip(dilation, kernel)]
            # PyTorch puts the odd extra row/column at the end
            return [total[0] // 2, total[1] // 2, total[0] - total[0] // 2,
                    total[1] - total[1] // 2]
    ph, pw = _pair(padding, name, "padding")
    return [ph, pw, ph, pw]


def _conv2d(g, m, name, x, shape, out_shape):
    if getattr(m, "padding_mode", "zeros") != "zeros":
        raise ONNXExportError(f"export_onnx: Conv2d '{name}': padding_mode="
                              f"{m.padding_mode!r} is not supported (only 'zeros')")
    kernel = list(m.weight.shape[2:])
    inputs = [x, g.const(f"{name}.weight", m.weight.data)]
    if getattr(m, "bias", None) is not None:
        inputs.append(g.const(f"{name}.bias", m.bias.data))
    return g.node("Conv", inputs, name, kernel_shape=kernel,
                  strides=_pair(getattr(m, "stride", 1), name, "stride"),
                  pads=_pads(m, name, kernel, shape),
                  dilations=_pair(getattr(m, "dilation", 1), name, "dilation"),
                  group=int(getattr(m, "groups", 1)))


def _pool_args(m, name):
    kernel = _pair(m.kernel_size, name, "kernel_size")
    stride = getattr(m, "stride", None)
    stride = kernel if stride is None else _pair(stride, name, "stride")
    padding = _pair(getattr(m, "padding", 0), name, "padding")
    return dict(kernel_shape=kernel, strides=stride, pads=padding + padding,
                ceil_mode=int(bool(getattr(m, "ceil_mode", False))))


def _max_pool(g, m, name, x, shape, out_shape):
    if getattr(m, "return_indices", False):
        raise ONNXExportError(f"export_onnx: MaxPool2d '{name}': return_indices=True is not "
                              "supported")
    return g.node("MaxPool", [x], name, dilations=_pair(getattr(m, "dilation", 1), name,
                                                        "dilation"), **_pool_args(m, name))


def _avg_pool(g, m, name, x, shape, out_shape):
    if getattr(m, "divisor_override", None) is not None:
        raise ONNXExportError(f"export_onnx: AvgPool2d '{name}': divisor_override is not "
                              "supported")
    return g.node("AveragePool", [x], name,
                  count_include_pad=int(bool(getattr(m, "count_include_pad", True))),
                  **_pool_args(m, name))


def _adaptive_avg_pool(g, m, name, x, shape, out_shape):
    out_h, out_w = out_shape[2], out_shape[3]
    if (out_h, out_w) == (1, 1):
        return g.node("GlobalAveragePool", [x], name)
    h, w = shape[2], shape[3]
    if h % out_h or w % out_w:
        raise ONNXExportError(f"export_onnx: AdaptiveAvgPool2d '{name}': output {out_h}x"
                              f"{out_w} from input {h}x{w} has uneven windows; only output "
                              "sizes that divide the input size are supported")
    kernel = [h // out_h, w // out_w]
    return g.node("AveragePool", [x], name, kernel_shape=kernel, strides=kernel)


def _global_avg_pool(g, m, name, x, shape, out_shape):
    # GlobalAveragePool keeps (N, C, 1, 1); deepgrad's layer drops the spatial axes
    pooled = g.node("GlobalAveragePool", [x], f"{name}.pool")
    return g.node("Flatten", [pooled], name, axis=1)


# the exporter of each registered layer type (kind "onnx" of deepgrad.registry)
for _layer, _exporter in {
    "Linear": _linear, "Flatten": _flatten, "Identity": _passthrough, "Dropout": _passthrough,
    "ReLU": _simple("Relu"), "Sigmoid": _simple("Sigmoid"), "Tanh": _simple("Tanh"),
    "LeakyReLU": _simple("LeakyRelu", alpha=lambda m: float(m.negative_slope)),
    "ELU": _simple("Elu", alpha=lambda m: float(m.alpha)),
    "SELU": _simple("Selu"), "GELU": _gelu, "Softplus": _softplus, "SiLU": _silu,
    "Swish": _swish, "PReLU": _prelu, "Step": _step,
    "Softmax": _simple("Softmax", axis=lambda m: int(m.dim)),
    "LogSoftmax": _simple("LogSoftmax", axis=lambda m: int(m.dim)),
    "BatchNorm1d": _batch_norm, "BatchNorm2d": _batch_norm, "LayerNorm": _layer_norm,
    "Conv2d": _conv2d, "MaxPool2d": _max_pool, "AvgPool2d": _avg_pool,
    "AdaptiveAvgPool2d": _adaptive_avg_pool, "GaussianNoise": _passthrough,
    "GlobalAvgPool2d": _global_avg_pool,
}.items():
    register("onnx", _layer)(_exporter)


def supported_layers() -> list:
    """Names of the layer types the exporter handles (plus Sequential, onnx_layers())."""
    return registry.names("onnx") + ["Sequential", "<any module with onnx_layers()>"]


# --------------------------------------------------------------------------------------------
# walking the model
# --------------------------------------------------------------------------------------------
def _exporter_for(module):
    for cls in type(module).__mro__:
        name = registry.name_of("layer", cls)
        if name is not None and registry.contains("onnx", name):
            return registry.lookup("onnx", name)
    return None


def _emit(g, module, names, x, dummy):
    """Add the nodes of `module` applied to value `x`; return (value, dummy output)."""
    from deepgrad.nn.module import Sequential

    layers = None
    if hasattr(module, "onnx_branches"):
        return _emit_branches(g, module, names, x, dummy)
    if hasattr(module, "onnx_layers"):
        layers = list(module.onnx_layers())
    elif isinstance(module, Sequential):
        layers = list(module)
    if layers is not None:
        for layer in layers:
            x, dummy = _emit(g, layer, names, x, dummy)
        return x, dummy
    name = names.get(id(module), type(module).__name__)
    emit = _exporter_for(module)
    if emit is None:
        raise ONNXExportError(
            f"export_onnx: layer '{name or '(model)'}' of type {type(module).__name__} is not "
            f"supported; supported layer types: {', '.join(supported_layers())}")
    out = module(dummy)
    if not isinstance(out, Tensor):
        raise ONNXExportError(f"export_onnx: layer '{name}' ({type(module).__name__}) returned "
                              f"{type(out).__name__}, expected one Tensor")
    return emit(g, module, name or type(module).__name__, x, tuple(dummy.shape),
                tuple(out.shape)), out


def _emit_branches(g, module, names, x, dummy):
    """A module whose forward is after(sum of branches(x)) (a residual block), described by
    `onnx_branches() -> (branches, after)`: lists of layers, an empty branch the identity."""
    branches, after = module.onnx_branches()
    values, outputs = [], []
    for branch in branches:
        value, out = x, dummy
        for layer in branch:
            value, out = _emit(g, layer, names, value, out)
        values.append(value)
        outputs.append(out)
    name = names.get(id(module), type(module).__name__) or type(module).__name__
    value, out = values[0], outputs[0]
    for i in range(1, len(values)):
        value = g.node("Add", [value, values[i]], f"{name}.add")
        out = out + outputs[i]
    for layer in after:
        value, out = _emit(g, layer, names, value, out)
    return value, out


def export_onnx(model, path, input_shape, opset: int = 17, input_name: str = "input",
                output_name: str = "output", dtype="float32", check: bool = True):
    """Write `model` (in eval mode) as an ONNX file and return the ModelProto.

    Args:
        model: a deepgrad Module made of supported layers (`supported_layers()`); models with
            several outputs export the main path their `onnx_layers()` describes.
        path: the `.onnx` file to write (None: only return the ModelProto).
        input_shape: the shape of ONE sample, without the batch dimension, e.g. (784,) or
            (1, 28, 28); the batch dimension is symbolic ("N").
        opset: ONNX opset version, 17..21 (LayerNormalization needs 17).
        input_name, output_name: the graph's input and output names.
        dtype: the element type of the input, output and floating initializers.
        check: run `onnx.checker.check_model` (with shape inference) before writing.

    Raises:
        ONNXExportError naming the layer and listing the supported types for a layer that
        cannot be exported.
    """
    onnx = require("onnx", "exporting to ONNX")
    from onnx import helper, numpy_helper

    if opset not in _IR_FOR_OPSET:
        raise ONNXExportError(f"export_onnx: opset must be one of {sorted(_IR_FOR_OPSET)}, "
                              f"got {opset}")
    input_shape = tuple(int(d) for d in input_shape)
    if any(d <= 0 for d in input_shape):
        raise ONNXExportError(f"export_onnx: input_shape (one sample, without the batch "
                              f"dimension) must hold positive sizes, got {input_shape}")
    names = {id(m): n for n, m in model.named_modules()}
    g = _Graph(helper, numpy_helper, dtype)
    g.fresh(input_name)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with no_grad():
            dummy = Tensor(np.zeros((2,) + input_shape, dtype=_param_dtype(model, dtype)))
            last, out = _emit(g, model, names, input_name, dummy)
    finally:
        for m, mode in modes:
            object.__setattr__(m, "training", mode)
    g.fresh(output_name)
    g.nodes.append(helper.make_node("Identity", [last], [output_name], name=output_name))
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    graph = helper.make_graph(
        g.nodes, type(model).__name__,
        [helper.make_tensor_value_info(input_name, elem, ["N", *input_shape])],
        [helper.make_tensor_value_info(output_name, elem, ["N", *tuple(out.shape)[1:]])],
        initializer=g.initializers)
    proto = helper.make_model(graph, producer_name="deepgrad",
                              opset_imports=[helper.make_opsetid("", opset)])
    proto.ir_version = _IR_FOR_OPSET[opset]
    if check:
        onnx.checker.check_model(proto, full_check=True)
    if path is not None:
        path = os.fspath(path)
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        onnx.save(proto, path)
    return proto


def _param_dtype(model, default):
    for p in model.parameters():
        return p.data.dtype
    return np.dtype(default)
