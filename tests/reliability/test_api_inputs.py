"""Bad data into the library API: non-real dtypes are refused at tensor creation and at the
layer, a float32 Linear refuses other dtypes (as PyTorch does), and GELU at +-1e30 gives
PyTorch's values and gradients without NumPy warnings."""

import warnings

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.gradcheck import gradcheck


@pytest.mark.parametrize("data, dtype", [
    (np.array(["a", "b"]), "<U1"), (np.array([1 + 2j]), "complex128"), ([1j, 2], "complex128"),
    (np.array([1, 2], dtype="datetime64[s]"), "datetime64"), (np.array([b"x"]), "|S1")])
def test_tensors_hold_real_numbers_only(data, dtype):
    with pytest.raises(TypeError, match=rf"tensor: data must be real numbers .*{dtype}"):
        dg.tensor(data)


@pytest.mark.parametrize("x, dtype", [
    (np.array([["a", "b"]]), "<U1"), (np.array([[1 + 2j, 3]]), "complex128"),
    (np.zeros((1, 2), np.float64), "float64"), (np.zeros((1, 2), np.int64), "int64"),
    (np.zeros((1, 2), np.float16), "float16")])
def test_a_float32_linear_refuses_other_dtypes_naming_both(x, dtype):
    layer = nn.Linear(2, 3)
    with pytest.raises(TypeError, match=rf"Linear\(in_features=2, out_features=3\): input of "
                                        rf"dtype {dtype}, but the layer's weight is float32"):
        layer(x)
    if x.dtype in (np.float64, np.int64):  # a Tensor of that dtype, too
        with pytest.raises(TypeError, match=rf"Linear.*input of dtype {dtype}"):
            layer(dg.tensor(x))


def test_matching_dtypes_work_in_float32_and_float64():
    x = np.ones((2, 2))
    assert nn.Linear(2, 3)(x.astype(np.float32)).dtype == np.float32
    assert nn.Linear(2, 3, dtype="float64")(x).dtype == np.float64


def test_pytorch_refuses_mixed_dtypes_too():
    torch = pytest.importorskip("torch")
    layer = torch.nn.Linear(2, 3)
    with pytest.raises(RuntimeError, match="dtype"):
        layer(torch.zeros(1, 2, dtype=torch.float64))


EXTREMES = [1e30, -1e30, 3e38, -3e38, 1e19, -1e19, 9.5, -9.5, 10.5, -10.5, 0.5, -0.5]


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_at_extremes_has_no_warning_and_matches_pytorch(approximate, dtype):
    x = dg.tensor(np.array(EXTREMES, dtype), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = nn.GELU(approximate)(x)
        y.sum().backward()
    assert np.isfinite(y.data).all() and np.isfinite(x.grad.data).all()
    torch = pytest.importorskip("torch")
    tx = torch.tensor(np.array(EXTREMES, dtype), requires_grad=True)
    ty = torch.nn.functional.gelu(tx, approximate=approximate)
    ty.sum().backward()
    tol = 1e-6 if dtype == np.float32 else 1e-12
    # in float32 PyTorch's GELU(3e38) is inf and its gradient at +-1e30 NaN (intermediate
    # overflows); deepgrad gives x and the limits 1 and 0 there
    torch_y = ty.detach().numpy()
    finite = np.isfinite(torch_y)
    np.testing.assert_allclose(y.data[finite], torch_y[finite], rtol=tol, atol=tol)
    np.testing.assert_array_equal(y.data[~finite], x.data[~finite])
    torch_grad = tx.grad.numpy()
    finite = np.isfinite(torch_grad)
    np.testing.assert_allclose(x.grad.data[finite], torch_grad[finite], rtol=tol, atol=tol)
    np.testing.assert_array_equal(x.grad.data[~finite], (x.data[~finite] > 0).astype(dtype))


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_gradcheck_across_the_saturation(approximate):
    x = dg.tensor(np.array([-11.0, -10.2, -9.8, -3.0, 0.3, 3.0, 9.8, 10.2, 11.0]),
                  requires_grad=True)
    assert gradcheck(lambda t: nn.functional.gelu(t, approximate), [x])
