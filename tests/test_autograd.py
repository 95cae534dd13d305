"""The engine's behaviours: deep graphs, graph freeing, grad modes, in-place detection, hooks,
grad/vjp/jvp/jacobian, gradcheck failures, errors, and property tests for broadcasting."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import deepgrad as dg
from deepgrad import autograd
from deepgrad.autograd import Function


# --- tensor creation ---------------------------------------------------------------------------
def test_dtype_defaults():
    assert dg.tensor([1.0, 2.0]).dtype == np.float32
    assert dg.tensor(np.array([1.0, 2.0])).dtype == np.float64
    assert dg.tensor([1, 2]).dtype == np.int64
    assert dg.tensor([1.0], dtype="float64").dtype == np.float64
    assert dg.tensor(3.0).item() == 3.0


def test_integer_tensors_never_require_grad():
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients, "
                                        "got dtype int64"):
        dg.tensor([1, 2, 3], requires_grad=True)


def test_tensor_from_bad_type_names_it():
    with pytest.raises(TypeError, match="dict"):
        dg.tensor({"a": 1})
    with pytest.raises(TypeError, match="expected a Tensor, a number or an array, got str"):
        dg.tensor([1.0]) + "a"


def test_factories_and_seeded_randomness():
    np.testing.assert_array_equal(dg.zeros(2, 3).numpy(), np.zeros((2, 3), np.float32))
    np.testing.assert_array_equal(dg.ones((2,)).numpy(), [1, 1])
    np.testing.assert_array_equal(dg.full((2, 2), 7.0).numpy(), 7 * np.ones((2, 2)))
    np.testing.assert_array_equal(dg.arange(4).numpy(), [0, 1, 2, 3])
    a = dg.randn(3, 4, generator=np.random.default_rng(5)).numpy()
    b = dg.randn(3, 4, generator=np.random.default_rng(5)).numpy()
    np.testing.assert_array_equal(a, b)
    dg.manual_seed(11)
    c = dg.rand(5).numpy()
    dg.manual_seed(11)
    np.testing.assert_array_equal(c, dg.rand(5).numpy())
    assert np.all((c >= 0) & (c < 1))
    np.testing.assert_array_equal(dg.zeros_like(dg.ones(2, 2)).numpy(), np.zeros((2, 2)))


def test_repr_and_array_protocol():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert "grad_fn=<Mul>" in repr(x * 2)
    np.testing.assert_array_equal(np.asarray(x), [1.0, 2.0])
    assert x.numpy() is x.data


def test_comparisons_return_boolean_tensors_without_grad():
    x = dg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    mask = x > 0
    assert mask.dtype == np.bool_ and not mask.requires_grad
    np.testing.assert_array_equal(mask.numpy(), [True, False, True])
    np.testing.assert_array_equal((x == 3.0).numpy(), [False, False, True])


# --- reverse mode --------------------------------------------------------------------------
def test_chain_of_100000_ops_without_recursion():
    x = dg.tensor(1.0, dtype="float64", requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0000001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0000001 ** 100_000, rel=1e-9)


def test_leaf_gradients_accumulate_and_intermediates_are_not_kept():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    (h * h).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 18 * np.array([1.0, 2.0]))
    assert h.grad is None
    (x * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 18 * np.array([1.0, 2.0]) + 2)


def test_retain_grad_keeps_intermediate_gradient():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * 3 * np.array([1.0, 2.0]))


def test_second_backward_needs_retain_graph():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(),
                               2 * (np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0]))),
                               rtol=1e-6)
    with pytest.raises(RuntimeError, match="already freed.*retain_graph=True"):
        y.backward()


def test_no_grad_context_and_decorator():
    x = dg.tensor([1.0], requires_grad=True)
    with dg.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None

    @dg.no_grad()
    def double(t):
        return t * 2

    assert not double(x).requires_grad
    assert dg.is_grad_enabled()
    with dg.no_grad():
        with dg.enable_grad():
            assert (x * 2).requires_grad


def test_inplace_change_of_saved_tensor_is_detected():
    w = dg.tensor([1.0, 2.0])
    x = dg.tensor([3.0, 4.0], requires_grad=True)
    y = (x * w).sum()
    w.add_(1.0)
    with pytest.raises(RuntimeError, match="Mul: a tensor of shape \\(2,\\) that backward needs "
                                           "was modified in place"):
        y.backward()


def test_parameter_update_under_no_grad_before_backward_is_detected():
    w = dg.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    with dg.no_grad():
        w.sub_(0.1)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_inplace_on_tensor_requiring_grad_is_refused_outside_no_grad():
    w = dg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="add_: in-place change of a leaf that requires grad"):
        w.add_(1.0)


def test_inplace_of_unsaved_input_is_fine():
    a = dg.tensor([1.0, 2.0])
    x = dg.tensor([3.0, 4.0], requires_grad=True)
    y = (x + a).sum()
    a.mul_(10.0)  # Add does not save its inputs, so its gradient is unaffected
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_augmented_assignment_on_graph_tensor_records_a_new_node():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss += (3 * x).sum()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.array([1.0, 2.0]) + 3)


def test_tensor_hooks_and_removal():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.numpy().copy()))
    h = x * 2
    h_handle = h.register_hook(lambda g: g * 10)
    h.sum().backward()
    np.testing.assert_allclose(seen[0], [20.0, 20.0])
    np.testing.assert_allclose(x.grad.numpy(), [20.0, 20.0])
    handle.remove()
    h_handle.remove()
    x.grad = None
    (x * 2).sum().backward()
    assert len(seen) == 1
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_grad_returns_without_accumulating():
    x = dg.tensor([1.0, 2.0, 3.0], dtype="float64", requires_grad=True)
    y = (x ** 3).sum()
    (g,) = autograd.grad(y, [x])
    np.testing.assert_allclose(g.numpy(), 3 * np.array([1.0, 4.0, 9.0]))
    assert x.grad is None
    z = dg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="inputs\\[1\\].*was not used"):
        autograd.grad((x * 2).sum(), [x, z])


def test_vjp_function():
    out, vjp_fn = autograd.vjp(lambda a, b: a * b, np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    ga, gb = vjp_fn(np.array([1.0, 10.0]))
    np.testing.assert_allclose(out.numpy(), [3.0, 8.0])
    np.testing.assert_allclose(ga.numpy(), [3.0, 40.0])
    np.testing.assert_allclose(gb.numpy(), [1.0, 20.0])


def test_backward_of_non_scalar_explains_gradient_argument():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="has shape \\(2,\\), so a gradient must be given: "
                                           "pass gradient="):
        (x * 2).backward()
    with pytest.raises(ValueError, match="gradient has shape \\(3,\\) but the output has shape"):
        (x * 2).backward(np.ones(3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        dg.tensor([1.0]).sum().backward()


# --- forward mode ----------------------------------------------------------------------------
def test_jvp_uses_forward_rules_in_one_pass():
    calls = []

    class Square(Function):
        def forward(ctx, x):
            ctx.save(x)
            return x * x

        def backward(ctx, grad_out):  # pragma: no cover - must not run in forward mode
            calls.append("backward")
            raise AssertionError

        def jvp(ctx, x_dot):
            calls.append("jvp")
            (x,) = ctx.saved
            return 2 * x * x_dot

    y, y_dot = autograd.jvp(lambda x: Square.apply(x).sin(), (np.array([1.0, 2.0]),),
                            (np.array([1.0, 0.5]),))
    np.testing.assert_allclose(y.numpy(), np.sin([1.0, 4.0]))
    np.testing.assert_allclose(y_dot.numpy(), np.cos([1.0, 4.0]) * 2 * np.array([1.0, 2.0])
                               * np.array([1.0, 0.5]))
    assert calls == ["jvp"]


def test_jacobian_modes_agree_and_match_analytic():
    x = np.array([0.3, -1.2, 2.0])

    def f(t):
        return dg.stack([t[0] * t[1], t[1].sin() + t[2] ** 2])

    forward = autograd.jacobian(f, x, mode="forward").numpy()
    reverse = autograd.jacobian(f, x, mode="reverse").numpy()
    expected = np.array([[x[1], x[0], 0.0], [0.0, math.cos(x[1]), 2 * x[2]]])
    np.testing.assert_allclose(forward, expected, rtol=1e-14)
    np.testing.assert_allclose(reverse, expected, rtol=1e-14)


def test_jvp_shape_mismatch_error():
    with pytest.raises(ValueError, match="tangent 0 has shape \\(3,\\) but primal 0 has shape "
                                         "\\(2,\\)"):
        autograd.jvp(lambda a: a * 2, (np.ones(2),), (np.ones(3),))


# --- gradcheck --------------------------------------------------------------------------------
def test_gradcheck_reports_a_wrong_derivative():
    class WrongSin(Function):
        def forward(ctx, x):
            ctx.save(x)
            return np.sin(x)

        def backward(ctx, grad_out):
            (x,) = ctx.saved
            return grad_out * np.cos(x) * 1.01  # 1% off

        def jvp(ctx, x_dot):
            (x,) = ctx.saved
            return x_dot * np.cos(x)

    x = dg.tensor(np.array([0.5, 1.0]), requires_grad=True)
    with pytest.raises(autograd.GradcheckError,
                       match="reverse-mode derivative of output element 0 with respect to input "
                             "0 at index \\(0,\\) is 0.8863.*finite differences give 0.8775"):
        autograd.gradcheck(WrongSin.apply, [x])


def test_gradcheck_reports_a_wrong_forward_rule():
    class WrongJvp(Function):
        def forward(ctx, x):
            return 3 * x

        def backward(ctx, grad_out):
            return 3 * grad_out

        def jvp(ctx, x_dot):
            return 2 * x_dot

    with pytest.raises(autograd.GradcheckError, match="forward-mode derivative"):
        autograd.gradcheck(WrongJvp.apply, [dg.tensor(np.ones(2), requires_grad=True)])


# --- errors ------------------------------------------------------------------------------
def test_error_messages_name_op_and_shapes():
    with pytest.raises(ValueError, match="matmul: cannot multiply shapes \\(2, 3\\) and "
                                         "\\(4, 5\\): inner dimensions 3 and 4 differ"):
        dg.ones(2, 3) @ dg.ones(4, 5)
    with pytest.raises(ValueError, match="add: .*input shapes: \\(2, 3\\), \\(4,\\)"):
        dg.ones(2, 3) + dg.ones(4)
    with pytest.raises(ValueError, match="reshape: cannot reshape a tensor of shape \\(2, 3\\) "
                                         "\\(6 elements\\) into shape \\(4, 2\\)"):
        dg.ones(2, 3).reshape(4, 2)
    with pytest.raises(ValueError, match="sum: dim 2 is out of range for a tensor with 2 "
                                         "dimensions"):
        dg.ones(2, 3).sum(axis=2)
    with pytest.raises(IndexError, match="getitem: .*shape \\(2, 3\\)"):
        dg.ones(2, 3)[5]
    with pytest.raises(ValueError, match="concatenate: tensor 1 has shape \\(3, 2\\)"):
        dg.concatenate([dg.ones(2, 2), dg.ones(3, 2)], axis=1)
    with pytest.raises(IndexError, match="sum: dim -3 is out of range"):
        dg.ones(2, 3).sum(dim=-3)  # an IndexError, as PyTorch raises


def test_mean_over_an_empty_dim_is_nan_as_pytorch():
    x = dg.ones(0, 2, requires_grad=True)
    y = x.mean(dim=0)
    assert y.shape == (2,) and np.isnan(y.numpy()).all()
    y.sum().backward()
    assert x.grad.shape == (0, 2)


# --- conventions at kinks and ties ---------------------------------------------------------------
def test_kink_and_tie_conventions():
    x = dg.tensor([0.0, 0.0, 1.0], requires_grad=True)
    dg.relu(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 1.0])
    x.grad = None
    dg.abs(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 1.0])
    m = dg.tensor([2.0, 2.0, 1.0], requires_grad=True)
    m.max().backward()
    np.testing.assert_array_equal(m.grad.numpy(), [0.5, 0.5, 0.0])
    a = dg.tensor([1.0], requires_grad=True)
    b = dg.tensor([1.0], requires_grad=True)
    dg.maximum(a, b).sum().backward()
    assert a.grad.item() == 0.5 and b.grad.item() == 0.5


# --- traces ----------------------------------------------------------------------------------
def test_trace_of_the_classic_example():
    def f(x1, x2):
        return dg.log(x1) + x1 * x2 - dg.sin(x2)

    t = autograd.trace(f, 2.0, 5.0)
    y = math.log(2) + 10 - math.sin(5)
    assert t.output.item() == pytest.approx(y, abs=1e-12)
    assert round(t.output.item(), 3) == 11.652
    d1, d2 = t.gradient
    assert d1 == pytest.approx(1 / 2 + 5, abs=1e-12)
    assert d2 == pytest.approx(2 - math.cos(5), abs=1e-12)
    assert round(float(d2), 3) == 1.716
    primal = t.primal_rows
    assert [r["var"] for r in primal] == ["v_-1", "v_0", "v_1", "v_2", "v_3", "v_4", "v_5"]
    assert primal[2]["expr"] == "ln(v_-1)" and primal[3]["expr"] == "v_-1 * v_0"
    tangent = t.tangent_rows()
    assert tangent[-1]["value"] == pytest.approx(5.5, abs=1e-12)
    tangent2 = t.tangent_rows([0.0, 1.0])
    assert tangent2[-1]["value"] == pytest.approx(2 - math.cos(5), abs=1e-12)
    adjoint = t.adjoint_rows()
    assert adjoint[-1]["var"] == "v̄_-1"
    assert adjoint[-1]["value"] == pytest.approx(5.5, abs=1e-12)
    text = str(t)
    assert "v_5  = v_3 - v_4" in text and "11.6521" in text and "5.5000" in text


# --- property tests ---------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                max_side=3))
def test_broadcast_gradients_have_input_shapes(shapes):
    a_shape, b_shape = shapes.input_shapes
    rng = np.random.default_rng(0)
    a = dg.tensor(rng.standard_normal(a_shape), requires_grad=True)
    b = dg.tensor(rng.standard_normal(b_shape), requires_grad=True)
    y = a * b + a
    assert y.shape == shapes.result_shape
    y.sum().backward()
    assert a.grad.shape == a_shape and b.grad.shape == b_shape
    n_a = int(np.prod(shapes.result_shape)) // max(int(np.prod(a_shape)), 1)
    # d/da sum(a*b + a) = sum of b over broadcast copies + number of copies
    expected_a = np.broadcast_to(b.numpy(), shapes.result_shape) + 1
    extra = len(shapes.result_shape) - len(a_shape)
    expected_a = expected_a.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(a_shape) if n == 1 and expected_a.shape[i] != 1)
    expected_a = expected_a.sum(axis=axes, keepdims=True).reshape(a_shape)
    np.testing.assert_allclose(a.grad.numpy(), expected_a, rtol=1e-12)
    assert n_a >= 1


@settings(max_examples=40, deadline=None)
@given(array=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
                        elements=st.floats(-10, 10)),
       data=st.data())
def test_reductions_match_numpy(array, data):
    axis = data.draw(st.one_of(st.none(), st.integers(0, array.ndim - 1)))
    keepdims = data.draw(st.booleans())
    x = dg.tensor(array, requires_grad=True)
    np.testing.assert_allclose(x.sum(axis=axis, keepdims=keepdims).numpy(),
                               array.sum(axis=axis, keepdims=keepdims))
    np.testing.assert_allclose(x.mean(axis=axis, keepdims=keepdims).numpy(),
                               array.mean(axis=axis, keepdims=keepdims))
    np.testing.assert_allclose(x.amax(axis=axis, keepdims=keepdims).numpy(),
                               array.max(axis=axis, keepdims=keepdims))
    y = x.mean(axis=axis, keepdims=keepdims)
    y.sum().backward()
    n = array.size if axis is None else array.shape[axis]
    np.testing.assert_allclose(x.grad.numpy(), np.full(array.shape, 1.0 / n))


def test_grad_of_several_outputs_where_one_feeds_the_other():
    x = dg.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    y1 = x * x
    y2 = (y1 * 3).sum()
    # d/dx [sum(v * y1) + y2] with v = 1: 2x + 6x
    (g,) = autograd.grad([y2, y1], [x], [np.array(1.0), np.ones(2)], retain_graph=True)
    np.testing.assert_allclose(g.numpy(), 8 * np.array([1.0, 2.0]))
    (g,) = autograd.grad([y1, y2], [x], [np.ones(2), np.array(1.0)])
    np.testing.assert_allclose(g.numpy(), 8 * np.array([1.0, 2.0]))


def test_gradcheck_perturbs_inputs_of_any_memory_layout():
    # a Fortran-ordered or transposed input: every element is perturbed in place (a flattened
    # copy would leave the input unchanged and report zero numeric derivatives)
    from deepgrad.gradcheck import numerical_jacobian
    rng = np.random.default_rng(0)
    x = np.asfortranarray(rng.standard_normal((3, 4)))
    jac = numerical_jacobian(lambda a: a * a, [x])[0]
    np.testing.assert_allclose(jac, np.diag(2 * x.reshape(-1)), atol=1e-8)
    for data in (x, rng.standard_normal((4, 3)).T):
        assert dg.autograd.gradcheck(lambda a: (a * a).sum(axis=0),
                                     [dg.tensor(data, requires_grad=True)])


def test_backward_runs_each_rule_once_after_all_uses_are_summed():
    """Nodes are taken newest first: `a` is used by two later nodes created in between other
    work, and its rule must run once, with both contributions summed."""
    calls = []

    class Double(Function):
        def forward(ctx, x):
            return 2 * x

        def backward(ctx, grad_out):
            calls.append(grad_out.copy())
            return 2 * grad_out

    x = dg.tensor([0.5, -1.0], dtype="float64", requires_grad=True)
    a = Double.apply(x)         # a = 2x
    b = x * 3                   # created after a, unrelated to it
    c = b * a                   # uses a
    d = a.exp()                 # uses a again
    (c + d).sum().backward()
    assert len(calls) == 1
    x0 = np.array([0.5, -1.0])
    np.testing.assert_allclose(calls[0], 3 * x0 + np.exp(2 * x0))  # dL/da = b + e^a
    np.testing.assert_allclose(x.grad.numpy(), 12 * x0 + 2 * np.exp(2 * x0), rtol=1e-12)


def test_inplace_change_of_saved_output_is_detected():
    x = dg.tensor([0.5, 1.0], requires_grad=True)
    y = x.exp()  # backward reads its output
    with dg.no_grad():
        y.mul_(2.0)
    with pytest.raises(RuntimeError, match="Exp: a tensor of shape \\(2,\\) that backward needs "
                                           "was modified in place after it was used "
                                           "\\(version 0 -> 1\\)"):
        y.sum().backward()


def test_inplace_change_of_an_input_whose_view_was_saved_is_detected():
    class SumOfSquares(Function):
        def forward(ctx, x):
            flat = x.reshape(-1)  # a view of the input, not the input array itself
            ctx.save(flat)
            return (flat * flat).sum()

        def backward(ctx, grad_out):
            (flat,) = ctx.saved
            return (2 * grad_out * flat).reshape(2, 2)

    w = dg.tensor(np.ones((2, 2)), requires_grad=True)
    y = SumOfSquares.apply(w)
    with dg.no_grad():
        w.add_(1.0)
    with pytest.raises(RuntimeError, match="SumOfSquares: .* modified in place"):
        y.backward()
    z = SumOfSquares.apply(w)  # no change after this forward: the gradient is 2w
    z.backward()
    np.testing.assert_array_equal(w.grad.numpy(), 4 * np.ones((2, 2)))


def test_forward_error_names_the_op_and_chains_the_original_traceback():
    class Broken(dg.autograd.Function):
        def forward(ctx, x):
            return x.reshape(7)  # the failing line an op author needs to see

    with pytest.raises(ValueError, match=r"broken: .*\(input shapes: \(2, 3\)\)") as info:
        Broken.apply(dg.ones(2, 3))
    original = info.value.__cause__
    assert isinstance(original, ValueError) and "reshape" in str(original)
    frames = [frame.name for frame in __import__("traceback").extract_tb(original.__traceback__)]
    assert "forward" in frames  # the primitive's own line is kept
