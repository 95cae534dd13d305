"""Property tests (hypothesis) over shapes and dims: the reductions and the indexing/shape
ops agree with NumPy's definitions, keep PyTorch's shapes, and pass gradcheck in float64."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import deepgrad as dg
from deepgrad.autograd import gradcheck

ARRAYS = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, min_side=1,
                                                  max_side=4),
                    elements=st.floats(-3, 3, allow_nan=False).map(lambda v: v or 0.5))
SMOOTH = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, min_side=1,
                                                  max_side=4),
                    elements=st.floats(-3, 3).map(lambda v: v if abs(v) > 0.1 else 0.5))
SETTINGS = settings(max_examples=30, deadline=None)


def _dim(data, ndim):
    return data.draw(st.integers(-ndim, ndim - 1), label="dim")


@SETTINGS
@given(array=ARRAYS, data=st.data())
def test_reductions_over_a_dim_match_numpy(array, data):
    dim, keepdim = _dim(data, array.ndim), data.draw(st.booleans(), label="keepdim")
    x = dg.tensor(array)
    expected = {
        "sum": array.sum(dim, keepdims=keepdim), "mean": array.mean(dim, keepdims=keepdim),
        "amax": array.max(dim, keepdims=keepdim), "prod": array.prod(dim, keepdims=keepdim),
        "logsumexp": np.log(np.exp(array).sum(dim, keepdims=keepdim)),
        "any": (array > 1).any(dim, keepdims=keepdim),
        "argmax": array.argmax(dim, keepdims=keepdim),
    }
    for name, value in expected.items():
        source = x > 1 if name == "any" else x
        got = getattr(source, name)(dim, keepdim=keepdim)
        assert got.shape == value.shape, name
        np.testing.assert_allclose(got.numpy(), value, rtol=1e-12, atol=1e-12, err_msg=name)
    values, indices = x.max(dim, keepdim=keepdim)
    np.testing.assert_array_equal(values.numpy(), expected["amax"])
    np.testing.assert_array_equal(indices.numpy(), expected["argmax"])
    if array.shape[dim] > 1:
        np.testing.assert_allclose(x.var(dim, keepdim=keepdim).numpy(),
                                   array.var(dim, ddof=1, keepdims=keepdim), rtol=1e-10)
        np.testing.assert_allclose(x.std(dim, correction=0).numpy(), array.std(dim),
                                   rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x.cumsum(dim).numpy(), np.cumsum(array, dim), rtol=1e-12)
    np.testing.assert_allclose(x.cumprod(dim).numpy(), np.cumprod(array, dim), rtol=1e-12)


@settings(max_examples=15, deadline=None)
@given(array=SMOOTH, data=st.data())  # away from the kinks of |x| at 0
def test_reductions_over_a_dim_pass_gradcheck(array, data):
    dim = _dim(data, array.ndim)
    name = data.draw(st.sampled_from(["sum", "mean", "prod", "logsumexp", "cumsum", "cumprod",
                                      "norm", "max_values"]), label="op")
    if name == "max_values":
        # distinct values, so that the maximum is not a tie (where the derivative jumps)
        array = array + np.arange(array.size).reshape(array.shape) * 1e-2

    def fn(t):
        if name == "max_values":
            return t.max(dim).values
        if name == "norm":
            return t.norm(dim=dim)
        return getattr(t, name)(dim)

    assert gradcheck(fn, [dg.tensor(array, requires_grad=True)])


@SETTINGS
@given(array=ARRAYS, data=st.data())
def test_shape_ops_match_numpy(array, data):
    x = dg.tensor(array)
    dim = _dim(data, array.ndim)
    shift = data.draw(st.integers(-5, 5), label="shift")
    np.testing.assert_array_equal(x.flip(dim).numpy(), np.flip(array, dim))
    np.testing.assert_array_equal(x.roll(shift, dim).numpy(), np.roll(array, shift, dim))
    reps = data.draw(st.lists(st.integers(1, 3), min_size=array.ndim,
                              max_size=array.ndim + 1), label="repeats")
    np.testing.assert_array_equal(x.repeat(*reps).numpy(), np.tile(array, reps))
    order = data.draw(st.permutations(range(array.ndim)), label="order")
    negative = [d - array.ndim for d in order]
    np.testing.assert_array_equal(x.permute(*negative).numpy(), np.transpose(array, order))
    size = data.draw(st.integers(1, 4), label="split size")
    pieces = x.split(size, dim)
    assert all(p.shape[dim] <= size for p in pieces)
    np.testing.assert_array_equal(dg.cat(pieces, dim).numpy(), array)
    chunks = data.draw(st.integers(1, 5), label="chunks")
    np.testing.assert_array_equal(dg.cat(x.chunk(chunks, dim), dim).numpy(), array)
    assert len(x.chunk(chunks, dim)) <= chunks
    np.testing.assert_array_equal(x.unsqueeze(dim).squeeze(dim).numpy(), array)


@SETTINGS
@given(array=ARRAYS, data=st.data())
def test_gather_scatter_and_indexing_agree_with_numpy(array, data):
    x = dg.tensor(array, requires_grad=True)
    dim = _dim(data, array.ndim) % array.ndim
    size = array.shape[dim]
    index = data.draw(hnp.arrays(np.int64, array.shape, elements=st.integers(0, size - 1)),
                      label="index")
    gathered = x.gather(dim, index)
    np.testing.assert_array_equal(gathered.numpy(), np.take_along_axis(array, index, dim))
    gathered.sum().backward()
    counts = np.zeros_like(array)
    np.add.at(counts, tuple(np.indices(index.shape)[:dim]) + (index,)
              + tuple(np.indices(index.shape)[dim + 1:]), 1)
    np.testing.assert_array_equal(x.grad.numpy(), counts)  # each pick adds its gradient
    first = data.draw(st.integers(0, array.shape[0] - 1), label="int")
    picks = data.draw(st.lists(st.integers(-array.shape[-1], array.shape[-1] - 1),
                               min_size=1, max_size=4), label="picks")
    mixed = x[(first, Ellipsis, picks)] if array.ndim > 1 else x[picks]
    reference = array[first][..., picks] if array.ndim > 1 else array[picks]
    np.testing.assert_array_equal(mixed.numpy(), reference)  # ints select first, as PyTorch
