import numpy as np
import pytest

from deepgrad import registry
from deepgrad.data.transforms import (Compose, GaussianNoise, Normalize,
                                      RandomAffine, RandomCrop, RandomErasing,
                                      RandomHorizontalFlip)
from deepgrad.tensor import Tensor


def _images(n=6, c=2, h=5, w=7, dtype=np.float32):
    return np.arange(n * c * h * w, dtype=dtype).reshape(n, c, h, w)


def test_random_crop_hand_computed_reflect():
    x = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    # reflect padding by 1 (torchvision's "reflect" = numpy's: the edge is not repeated)
    padded = np.array([[4, 3, 4, 5, 4], [1, 0, 1, 2, 1], [4, 3, 4, 5, 4], [7, 6, 7, 8, 7],
                       [4, 3, 4, 5, 4]], dtype=np.float32)
    crop = RandomCrop(3, padding=1, padding_mode="reflect")
    rng = np.random.default_rng(3)
    top, left = int(rng.integers(0, 3, size=1)[0]), int(rng.integers(0, 3, size=1)[0])
    out = crop(x, generator=np.random.default_rng(3))
    np.testing.assert_array_equal(out[0, 0], padded[top:top + 3, left:left + 3])


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
@pytest.mark.parametrize("padding", [2, (1, 3), (0, 1, 2, 3)])
def test_random_crop_offsets_and_padding_modes(mode, padding):
    x = _images()
    crop = RandomCrop((4, 6), padding=padding, padding_mode=mode, fill=-1.0)
    out = crop(x, generator=np.random.default_rng(7))
    left, top, right, bottom = crop.padding
    kwargs = {"constant_values": -1.0} if mode == "constant" else {}
    padded = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), mode=mode, **kwargs)
    rng = np.random.default_rng(7)  # the same draws: all tops, then all lefts
    tops = rng.integers(0, padded.shape[2] - 4 + 1, size=len(x))
    lefts = rng.integers(0, padded.shape[3] - 6 + 1, size=len(x))
    expected = np.stack([padded[i, :, t:t + 4, s:s + 6] for i, (t, s) in
                         enumerate(zip(tops, lefts))])
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == x.dtype
    # every offset is reachable: over many images both extremes appear
    many = crop(np.zeros((400, 1, 5, 7), np.float32) + np.arange(7, dtype=np.float32),
                generator=np.random.default_rng(0))
    assert len(np.unique(many[:, 0, 0, 0])) >= 3


def test_random_crop_pad_if_needed_and_size_error():
    x = _images(h=3, w=3)
    out = RandomCrop(5, pad_if_needed=True)(x, generator=np.random.default_rng(0))
    assert out.shape == (6, 2, 5, 5)
    with pytest.raises(ValueError, match=r"RandomCrop\(size=\(5, 5\).*larger than the padded "
                                         r"image size \(3, 3\)"):
        RandomCrop(5)(x, generator=np.random.default_rng(0))


@pytest.mark.parametrize("p", [0.0, 0.5, 1.0])
def test_horizontal_flip(p):
    x = _images(n=50)
    out = RandomHorizontalFlip(p)(x, generator=np.random.default_rng(1))
    flips = np.random.default_rng(1).random(50) < p
    np.testing.assert_array_equal(out[flips], x[flips][..., ::-1])
    np.testing.assert_array_equal(out[~flips], x[~flips])
    assert flips.sum() == {0.0: 0, 1.0: 50}.get(p, flips.sum())


def test_affine_quarter_turn_is_counter_clockwise_rot90():
    x = _images(n=3, c=2, h=5, w=5)
    out = RandomAffine(degrees=(90, 90))(x, generator=np.random.default_rng(0))
    np.testing.assert_array_equal(out, np.rot90(x, k=1, axes=(2, 3)))


def test_affine_translation_shifts_whole_pixels_and_fills():
    x = _images(n=4, c=1, h=6, w=8) + 1
    affine = RandomAffine(0, translate=(0.25, 0.5), fill=-5)
    out = affine(x, generator=np.random.default_rng(2))
    rng = np.random.default_rng(2)
    rng.uniform(0, 0, size=4)  # the angles
    tx = np.round(rng.uniform(-1, 1, size=4) * 0.25 * 8).astype(int)
    ty = np.round(rng.uniform(-1, 1, size=4) * 0.5 * 6).astype(int)
    for i in range(4):
        expected = np.full((1, 6, 8), -5.0, np.float32)
        src = x[i, :, max(0, -ty[i]):6 - max(0, ty[i]), max(0, -tx[i]):8 - max(0, tx[i])]
        expected[:, max(0, ty[i]):6 - max(0, -ty[i]), max(0, tx[i]):8 - max(0, -tx[i])] = src
        np.testing.assert_array_equal(out[i], expected)


def test_affine_identity_and_bilinear_scale():
    x = np.random.default_rng(0).random((3, 1, 9, 9)).astype(np.float32)
    same = RandomAffine(0, scale=(1, 1))(x, generator=np.random.default_rng(0))
    np.testing.assert_array_equal(same, x)
    smooth = RandomAffine(0, interpolation="bilinear")(x, generator=np.random.default_rng(0))
    np.testing.assert_allclose(smooth, x, atol=1e-6)
    # scale 2 about the center: the center pixel stays, its neighbours spread out
    big = RandomAffine(0, scale=(2, 2), interpolation="bilinear")(
        x, generator=np.random.default_rng(0))
    np.testing.assert_allclose(big[:, :, 4, 4], x[:, :, 4, 4], atol=1e-6)
    np.testing.assert_allclose(big[:, :, 4, 6], x[:, :, 4, 5], atol=1e-6)
    np.testing.assert_allclose(big[:, :, 4, 5], (x[:, :, 4, 4] + x[:, :, 4, 5]) / 2, atol=1e-6)


def test_erasing_rectangle_matches_torchvision_rule():
    x = np.ones((40, 3, 10, 12), np.float32)
    erase = RandomErasing(p=1.0, scale=(0.05, 0.2), ratio=(0.5, 2.0), value=(7, 8, 9))
    out = erase(x, generator=np.random.default_rng(4))
    for i in range(40):
        mask = out[i, 0] == 7
        rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
        assert rows.size and cols.size
        # one solid rectangle, the same on every channel, with the per-channel value
        h, w = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
        assert mask.sum() == h * w == (out[i, 1] == 8).sum() == (out[i, 2] == 9).sum()
        assert 0.05 * 120 * 0.5 <= h * w <= 0.2 * 120 * 1.6  # rounding of sqrt sides
        assert (out[i] == 1).sum() == 3 * (120 - h * w)
    untouched = RandomErasing(p=0.0)(x, generator=np.random.default_rng(4))
    np.testing.assert_array_equal(untouched, x)


def test_erasing_no_fit_leaves_image_and_random_value():
    x = np.zeros((5, 1, 4, 4), np.float32)
    # an area of the whole image never fits (h < H and w < W fails): unchanged
    same = RandomErasing(p=1.0, scale=(1.0, 1.0), ratio=(1.0, 1.0))(
        x, generator=np.random.default_rng(0))
    np.testing.assert_array_equal(same, x)
    noisy = RandomErasing(p=1.0, value="random")(np.zeros((20, 1, 16, 16), np.float32),
                                                 generator=np.random.default_rng(0))
    assert 0 < np.count_nonzero(noisy) < noisy.size


def test_gaussian_noise_and_normalize():
    x = np.full((200, 1, 10, 10), 0.5, np.float32)
    out = GaussianNoise(std=0.1)(x, generator=np.random.default_rng(0))
    noise = out - x
    assert abs(noise.mean()) < 0.005 and abs(noise.std() - 0.1) < 0.005
    clipped = GaussianNoise(std=5.0, clip=True)(x, generator=np.random.default_rng(0))
    assert clipped.min() == 0.0 and clipped.max() == 1.0
    y = Normalize((0.5, 1.0), (0.25, 2.0))(np.ones((2, 2, 1, 1), np.float64))
    np.testing.assert_array_equal(y[:, 0], 2.0)
    np.testing.assert_array_equal(y[:, 1], 0.0)
    assert y.dtype == np.float64


def test_compose_same_seed_same_batch_and_input_untouched():
    x = np.random.default_rng(0).random((16, 1, 28, 28)).astype(np.float32)
    keep = x.copy()
    augment = Compose([RandomCrop(28, padding=2), RandomHorizontalFlip(),
                       RandomAffine(15, translate=(0.1, 0.1), scale=(0.9, 1.1)),
                       RandomErasing(), GaussianNoise(0.05), Normalize(0.3, 0.3)])
    a = augment(x, generator=np.random.default_rng(11))
    b = augment(Tensor(x), generator=np.random.default_rng(11))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(x, keep)
    assert a.shape == x.shape and a.dtype == np.float32
    assert not np.array_equal(a, augment(x, generator=np.random.default_rng(12)))
    assert "RandomCrop(size=(28, 28)" in repr(augment)


@pytest.mark.parametrize("bad,error,match", [
    (np.zeros((4, 784), np.float32), ValueError,
     r"RandomCrop\(size=\(28, 28\).*\): expected a batch of images of shape \(N, C, H, W\), "
     r"got shape \(4, 784\)"),
    (np.zeros((4, 1, 28, 28), np.uint8), TypeError,
     r"RandomCrop\(.*expected float32 or float64 images, got dtype uint8"),
    ([[1.0]], TypeError, r"RandomCrop\(.*got list"),
])
def test_bad_input_names_transform_expected_and_actual(bad, error, match):
    with pytest.raises(error, match=match):
        RandomCrop(28, padding=2)(bad, generator=np.random.default_rng(0))


def test_bad_arguments_and_missing_generator():
    with pytest.raises(TypeError, match="RandomHorizontalFlip.*generator must be a numpy"):
        RandomHorizontalFlip()(np.zeros((1, 1, 2, 2), np.float32))
    with pytest.raises(ValueError, match="RandomHorizontalFlip: p must be a number in"):
        RandomHorizontalFlip(1.5)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        RandomCrop(28, padding=2, padding_mode="wrap")
    with pytest.raises(ValueError, match="Normalize: std must be positive"):
        Normalize(0.0, 0.0)
    with pytest.raises(ValueError, match="RandomErasing.*value has 2 entries but the images "
                                         "have 3 channels"):
        RandomErasing(value=(1, 2))(np.zeros((1, 3, 8, 8), np.float32),
                                    generator=np.random.default_rng(0))
    with pytest.raises(TypeError, match="Compose: item 1 is not a transform"):
        Compose([RandomHorizontalFlip(), "flip"])
    assert set(registry.names("transform")) == {"RandomCrop", "RandomHorizontalFlip", "RandomAffine",
                               "RandomErasing", "GaussianNoise", "Normalize"}
