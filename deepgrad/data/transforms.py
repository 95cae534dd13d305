"""Batch augmentation with torchvision's names: Compose, RandomCrop, RandomHorizontalFlip,
RandomAffine, RandomErasing, GaussianNoise, Normalize.

Every transform takes a whole batch of images, an array (N, C, H, W) of float32 or float64
(a Tensor is accepted and its array used), and returns a new array; the input is never
changed. Random transforms draw one set of parameters per image, all at once, from the
`numpy.random.Generator` they are given, and apply them with vectorized NumPy (no Python
loop over the images):

    augment = Compose([RandomCrop(28, padding=2), RandomHorizontalFlip()])
    x = augment(images, generator=np.random.default_rng(0))

A `DataLoader(..., transform=augment)` applies it to the features of each training batch with
a generator of its own for every batch (derived from the loader's generator, the epoch and
the batch number), so the augmented batches are the same whatever the number of workers.

Semantics follow torchvision.transforms (per image): RandomCrop pads, then picks the top-left
corner uniformly among all positions; RandomHorizontalFlip mirrors the width axis with
probability p; RandomAffine rotates about the image center (counter-clockwise degrees),
scales and translates (whole pixels), with nearest-neighbour sampling and `fill` outside;
RandomErasing picks a rectangle of random area and aspect ratio (up to 10 tries) and
overwrites it; Normalize computes (x - mean[c]) / std[c].
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from deepgrad.registry import register
from deepgrad.tensor import Tensor

__all__ = ["Transform", "Compose", "RandomCrop", "RandomHorizontalFlip", "RandomAffine",
           "RandomErasing", "GaussianNoise", "Normalize"]

PADDING_MODES = ("constant", "edge", "reflect", "symmetric")


def _positive_int(owner, name, value):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return int(value)


def _real(owner, name, value, low=-math.inf, high=math.inf):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) \
            or not low <= value <= high or math.isnan(value):
        raise ValueError(f"{owner}: {name} must be a number in [{low}, {high}], got {value!r}")
    return float(value)


def _real_range(owner, name, value, low=-math.inf, high=math.inf):
    """A pair (a, b) with low <= a <= b <= high."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{owner}: {name} must be a pair (min, max), got {value!r}")
    a, b = (_real(owner, name, v, low, high) for v in value)
    if a > b:
        raise ValueError(f"{owner}: {name} must be (min, max) with min <= max, got {value!r}")
    return a, b


def _generator(owner, generator):
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"{owner}: generator must be a numpy.random.Generator (the loader "
                        f"passes one per batch), got {type(generator).__name__}")
    return generator


class Transform:
    """Base class: `transform(x, generator=None) -> new array`, x of shape (N, C, H, W).

    Subclasses define `apply(x, generator)` on a checked float array and `_arguments()` for
    the repr. `random` says whether the transform needs a generator.
    """

    random = True

    def __call__(self, x, generator=None):
        x = self._check(x)
        if self.random:
            _generator(self._describe(), generator)
        return self.apply(x, generator)

    def apply(self, x, generator):
        raise NotImplementedError(f"{type(self).__name__} must define apply()")

    def _check(self, x):
        array = x.data if isinstance(x, Tensor) else x
        if not isinstance(array, np.ndarray):
            raise TypeError(f"{self._describe()}: expected a batch of images as a NumPy array "
                            f"or Tensor of shape (N, C, H, W), got {type(x).__name__}")
        if array.ndim != 4:
            raise ValueError(f"{self._describe()}: expected a batch of images of shape "
                             f"(N, C, H, W), got shape {array.shape} (flattened images? "
                             "load them unflattened, e.g. fashion_mnist(flatten=False))")
        if array.dtype not in (np.float32, np.float64):
            raise TypeError(f"{self._describe()}: expected float32 or float64 images, got "
                            f"dtype {array.dtype} (convert pixels to floats first, e.g. "
                            "x / 255)")
        return array

    def _arguments(self) -> str:
        return ""

    def _describe(self) -> str:
        return f"{type(self).__name__}({self._arguments()})"

    def __repr__(self):
        return self._describe()


class Compose(Transform):
    """Apply transforms one after another, all drawing from the same generator."""

    def __init__(self, transforms):
        transforms = list(transforms)
        for i, t in enumerate(transforms):
            if not isinstance(t, Transform):
                raise TypeError(f"Compose: item {i} is not a transform (a deepgrad.data."
                                f"transforms.Transform), got {type(t).__name__}")
        self.transforms = transforms
        self.random = any(t.random for t in transforms)

    def apply(self, x, generator):
        for t in self.transforms:
            x = t(x, generator)
        return x

    def __call__(self, x, generator=None):
        if not self.transforms:
            return self._check(x).copy()
        return super().__call__(x, generator)

    def __repr__(self):
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])" if inner else "Compose([])"


def _pad(x, padding, mode, fill):
    """x padded on the spatial axes by (left, top, right, bottom)."""
    left, top, right, bottom = padding
    widths = ((0, 0), (0, 0), (top, bottom), (left, right))
    if mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=fill)
    return np.pad(x, widths, mode=mode)


def _crop_windows(x, tops, lefts, size):
    """x[n, :, tops[n]:tops[n]+h, lefts[n]:lefts[n]+w] for every n, in one gather."""
    h, w = size
    windows = np.lib.stride_tricks.sliding_window_view(x, (h, w), axis=(2, 3))
    # windows: (N, C, H-h+1, W-w+1, h, w); the advanced indices select one window per image
    return windows[np.arange(x.shape[0]), :, tops, lefts]


@register("transform")
class RandomCrop(Transform):
    """Crop a random `size` window of every image, after optional padding (torchvision's).

    Args:
        size: output (height, width), or one int for a square.
        padding: pixels added on every side (int), on (left/right, top/bottom) (pair) or on
            (left, top, right, bottom) (4 values) before cropping.
        padding_mode: "constant" (fill), "edge", "reflect" (mirror without repeating the
            edge pixel) or "symmetric" (mirror repeating it).
        fill: the value of constant padding.
        pad_if_needed: pad images smaller than `size` up to it (else an error).
    """

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0.0,
                 padding_mode="constant"):
        owner = "RandomCrop"
        size = (size, size) if isinstance(size, numbers.Integral) else size
        if not isinstance(size, (tuple, list)) or len(size) != 2:
            raise ValueError(f"{owner}: size must be an int or a pair (height, width), got "
                             f"{size!r}")
        self.size = tuple(_positive_int(owner, "size", s) for s in size)
        if padding is None:
            padding = 0
        pads = (padding,) * 4 if isinstance(padding, numbers.Integral) else tuple(padding)
        if len(pads) == 2:
            pads = pads * 2
        if len(pads) != 4 or not all(isinstance(p, numbers.Integral) and not isinstance(p, bool)
                                     and p >= 0 for p in pads):
            raise ValueError(f"{owner}: padding must be a non-negative int or a sequence of 2 "
                             f"or 4 of them, got {padding!r}")
        self.padding = tuple(int(p) for p in pads)
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{owner}: padding_mode must be one of {PADDING_MODES}, got "
                             f"{padding_mode!r}")
        self.padding_mode = padding_mode
        self.fill = _real(owner, "fill", fill)
        self.pad_if_needed = bool(pad_if_needed)

    def apply(self, x, generator):
        pads = list(self.padding)
        h, w = self.size
        if self.pad_if_needed:
            # as torchvision: pad both sides by the shortfall
            short_h = max(0, h - (x.shape[2] + pads[1] + pads[3]))
            short_w = max(0, w - (x.shape[3] + pads[0] + pads[2]))
            pads = [pads[0] + short_w, pads[1] + short_h, pads[2] + short_w, pads[3] + short_h]
        if self.padding_mode == "reflect" and max(pads) and \
                (max(pads[1], pads[3]) >= x.shape[2] or max(pads[0], pads[2]) >= x.shape[3]):
            raise ValueError(f"{self._describe()}: reflect padding {tuple(pads)} must be "
                             f"smaller than the image size {x.shape[2:]}")
        padded = _pad(x, pads, self.padding_mode, self.fill) if any(pads) else x
        ph, pw = padded.shape[2:]
        if ph < h or pw < w:
            raise ValueError(f"{self._describe()}: the crop size {self.size} is larger than "
                             f"the padded image size {(ph, pw)} (input {x.shape[2:]}); lower "
                             "size, add padding or set pad_if_needed=True")
        n = x.shape[0]
        tops = generator.integers(0, ph - h + 1, size=n)
        lefts = generator.integers(0, pw - w + 1, size=n)
        return _crop_windows(padded, tops, lefts, (h, w))

    def _arguments(self):
        text = f"size={self.size}, padding={self.padding}"
        if self.padding_mode != "constant":
            text += f", padding_mode={self.padding_mode!r}"
        elif self.fill:
            text += f", fill={self.fill}"
        return text


@register("transform")
class RandomHorizontalFlip(Transform):
    """Mirror each image left-right with probability p."""

    def __init__(self, p=0.5):
        self.p = _real("RandomHorizontalFlip", "p", p, 0.0, 1.0)

    def apply(self, x, generator):
        flip = generator.random(x.shape[0]) < self.p
        out = x.copy()
        out[flip] = x[flip, :, :, ::-1]
        return out

    def _arguments(self):
        return f"p={self.p}"


@register("transform")
class RandomAffine(Transform):
    """Random rotation, translation and scaling of each image about its center.

    Per image: angle ~ U(degrees), tx ~ round(U(-a W, a W)), ty ~ round(U(-b H, b H)) with
    translate = (a, b), s ~ U(scale). An output pixel at p (relative to the center
    ((W - 1) / 2, (H - 1) / 2)) takes the input pixel nearest to R(-angle) (p - t) / s;
    positions outside the image take `fill`. A positive angle turns the image
    counter-clockwise, as torchvision's.

    Args:
        degrees: d for (-d, d), or a pair (min, max).
        translate: (a, b), the largest shift as a fraction of the width and the height.
        scale: (min, max) scale factors.
        fill: the value of pixels that come from outside the image.
        interpolation: "nearest" (torchvision's default) or "bilinear".
    """

    def __init__(self, degrees, translate=None, scale=None, fill=0.0, interpolation="nearest"):
        owner = "RandomAffine"
        if isinstance(degrees, numbers.Real) and not isinstance(degrees, bool):
            degrees = (-abs(float(degrees)), abs(float(degrees)))
        self.degrees = _real_range(owner, "degrees", degrees)
        self.translate = None if translate is None else \
            tuple(_real(owner, "translate", t, 0.0, 1.0) for t in _pair(owner, translate))
        self.scale = None if scale is None else _real_range(owner, "scale", scale, 1e-6)
        self.fill = _real(owner, "fill", fill)
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"{owner}: interpolation must be 'nearest' or 'bilinear', got "
                             f"{interpolation!r}")
        self.interpolation = interpolation

    def _parameters(self, n, h, w, generator):
        angle = np.deg2rad(generator.uniform(*self.degrees, size=n))
        if self.translate is None:
            tx = ty = np.zeros(n)
        else:
            tx = np.round(generator.uniform(-1, 1, size=n) * self.translate[0] * w)
            ty = np.round(generator.uniform(-1, 1, size=n) * self.translate[1] * h)
        s = np.ones(n) if self.scale is None else generator.uniform(*self.scale, size=n)
        return angle, tx, ty, s

    def apply(self, x, generator):
        n, c, h, w = x.shape
        angle, tx, ty, s = self._parameters(n, h, w, generator)
        # output pixel coordinates relative to the center; y grows downwards, so a
        # counter-clockwise turn on screen is a clockwise one in (x, y)
        cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
        gy, gx = np.meshgrid(np.arange(h) - cy, np.arange(w) - cx, indexing="ij")
        dx = gx[None] - tx[:, None, None]
        dy = gy[None] - ty[:, None, None]
        cos, sin = (np.cos(angle) / s)[:, None, None], (np.sin(angle) / s)[:, None, None]
        src_x = cos * dx - sin * dy + cx
        src_y = sin * dx + cos * dy + cy
        if self.interpolation == "nearest":
            return _sample_nearest(x, src_y, src_x, self.fill)
        return _sample_bilinear(x, src_y, src_x, self.fill)

    def _arguments(self):
        text = f"degrees={self.degrees}"
        if self.translate is not None:
            text += f", translate={self.translate}"
        if self.scale is not None:
            text += f", scale={self.scale}"
        return text


def _pair(owner, value):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{owner}: expected a pair, got {value!r}")
    return value


def _gather(x, rows, cols, fill):
    """x[n, :, rows[n, i, j], cols[n, i, j]] with `fill` where (rows, cols) is outside."""
    n, c, h, w = x.shape
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    flat = x.reshape(n, c, h * w)
    index = (np.clip(rows, 0, h - 1) * w + np.clip(cols, 0, w - 1)).reshape(n, 1, -1)
    out = np.take_along_axis(flat, np.broadcast_to(index, (n, c, index.shape[2])), axis=2)
    out = out.reshape(n, c, rows.shape[1], rows.shape[2])
    return np.where(inside[:, None], out, x.dtype.type(fill))


def _sample_nearest(x, src_y, src_x, fill):
    rows = np.floor(src_y + 0.5).astype(np.intp)
    cols = np.floor(src_x + 0.5).astype(np.intp)
    return _gather(x, rows, cols, fill)


def _sample_bilinear(x, src_y, src_x, fill):
    y0, x0 = np.floor(src_y), np.floor(src_x)
    fy, fx = (src_y - y0)[:, None], (src_x - x0)[:, None]
    y0, x0 = y0.astype(np.intp), x0.astype(np.intp)
    top = _gather(x, y0, x0, fill) * (1 - fx) + _gather(x, y0, x0 + 1, fill) * fx
    bottom = _gather(x, y0 + 1, x0, fill) * (1 - fx) + _gather(x, y0 + 1, x0 + 1, fill) * fx
    return (top * (1 - fy) + bottom * fy).astype(x.dtype)


@register("transform")
class RandomErasing(Transform):
    """With probability p, overwrite a random rectangle of each image (torchvision's).

    The rectangle covers a fraction ~ U(scale) of the image area with aspect ratio
    h / w = exp(U(log ratio)); h = round(sqrt(area * ratio)), w = round(sqrt(area / ratio)).
    Up to 10 tries per image find one that fits (h < H and w < W); an image where none fits
    is left unchanged. Its top-left corner is uniform among the positions that fit.

    Args:
        p: probability of erasing an image.
        scale: (min, max) fraction of the area.
        ratio: (min, max) aspect ratio.
        value: a number, one per channel (list), or "random" (standard normal noise).
    """

    attempts = 10

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0.0):
        owner = "RandomErasing"
        self.p = _real(owner, "p", p, 0.0, 1.0)
        self.scale = _real_range(owner, "scale", scale, 0.0, 1.0)
        self.ratio = _real_range(owner, "ratio", ratio, 1e-6)
        if value == "random" or isinstance(value, numbers.Real) and not isinstance(value, bool):
            self.value = value if value == "random" else float(value)
        elif isinstance(value, (tuple, list)) and value:
            self.value = tuple(_real(owner, "value", v) for v in value)
        else:
            raise ValueError(f"{owner}: value must be a number, a list of one per channel or "
                             f"'random', got {value!r}")

    def apply(self, x, generator):
        n, c, h, w = x.shape
        if isinstance(self.value, tuple) and len(self.value) not in (1, c):
            raise ValueError(f"{self._describe()}: value has {len(self.value)} entries but the "
                             f"images have {c} channels")
        erase = generator.random(n) < self.p
        tries = (n, self.attempts)
        area = h * w * generator.uniform(*self.scale, size=tries)
        log_ratio = generator.uniform(math.log(self.ratio[0]), math.log(self.ratio[1]),
                                      size=tries)
        eh = np.round(np.sqrt(area * np.exp(log_ratio))).astype(np.intp)
        ew = np.round(np.sqrt(area / np.exp(log_ratio))).astype(np.intp)
        fits = (eh < h) & (ew < w) & (eh > 0) & (ew > 0)
        first = np.argmax(fits, axis=1)
        rows = np.arange(n)
        eh, ew = eh[rows, first], ew[rows, first]
        erase &= fits[rows, first]
        top = np.floor(generator.random(n) * (h - eh + 1)).astype(np.intp)
        left = np.floor(generator.random(n) * (w - ew + 1)).astype(np.intp)
        ys, xs = np.arange(h), np.arange(w)
        mask = (erase[:, None, None]
                & (ys[None, :, None] >= top[:, None, None])
                & (ys[None, :, None] < (top + eh)[:, None, None])
                & (xs[None, None, :] >= left[:, None, None])
                & (xs[None, None, :] < (left + ew)[:, None, None]))[:, None]
        if self.value == "random":
            fill = generator.standard_normal(x.shape).astype(x.dtype)
        else:
            values = np.asarray(self.value, dtype=x.dtype)
            fill = values.reshape(1, -1, 1, 1) if values.ndim else values
        return np.where(mask, fill, x)

    def _arguments(self):
        return f"p={self.p}, scale={self.scale}, ratio={self.ratio}, value={self.value!r}"


@register("transform")
class GaussianNoise(Transform):
    """x + N(mean, std^2) noise, drawn independently for every pixel; with `clip`, the result
    is clipped to [0, 1] (images scaled to [0, 1], as torchvision's v2 GaussianNoise)."""

    def __init__(self, std=0.1, mean=0.0, clip=False):
        self.std = _real("GaussianNoise", "std", std, 0.0)
        self.mean = _real("GaussianNoise", "mean", mean)
        self.clip = bool(clip)

    def apply(self, x, generator):
        noise = generator.standard_normal(x.shape, dtype=x.dtype)
        out = x + (noise * x.dtype.type(self.std) + x.dtype.type(self.mean))
        return np.clip(out, 0, 1, out=out) if self.clip else out

    def _arguments(self):
        return f"std={self.std}, mean={self.mean}, clip={self.clip}"


@register("transform")
class Normalize(Transform):
    """(x - mean[c]) / std[c] for every channel c (one number applies to all channels)."""

    random = False

    def __init__(self, mean, std):
        owner = "Normalize"
        mean = (mean,) if isinstance(mean, numbers.Real) else mean
        std = (std,) if isinstance(std, numbers.Real) else std
        if not isinstance(mean, (tuple, list)) or not isinstance(std, (tuple, list)) \
                or not mean or len(mean) != len(std):
            raise ValueError(f"{owner}: mean and std must be numbers or lists of one per "
                             f"channel of the same length, got mean={mean!r}, std={std!r}")
        self.mean = tuple(_real(owner, "mean", m) for m in mean)
        self.std = tuple(_real(owner, "std", s) for s in std)
        if any(s <= 0 for s in self.std):
            raise ValueError(f"{owner}: std must be positive, got {self.std!r}")

    def apply(self, x, generator):
        c = x.shape[1]
        if len(self.mean) not in (1, c):
            raise ValueError(f"{self._describe()}: mean and std have {len(self.mean)} entries "
                             f"but the images have {c} channels")
        mean = np.asarray(self.mean, dtype=x.dtype).reshape(1, -1, 1, 1)
        std = np.asarray(self.std, dtype=x.dtype).reshape(1, -1, 1, 1)
        return (x - mean) / std

    def _arguments(self):
        return f"mean={self.mean}, std={self.std}"

