"""Schemas of the JSON a checkpoint carries: the document, and the metadata `deepgrad train`
writes. A schema is a tree of small checkers; `check(value, schema, where)` walks the value
and raises `SchemaError` naming the first field that does not fit:

    epoch: expected an integer in [0, 1000000000], got -5

Values read from a file are only looked at, never called, imported or evaluated.
"""

from __future__ import annotations

import math

import numpy as np


class SchemaError(ValueError):
    """A value does not fit its schema; the message starts with the field's path."""


def _name(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fail(where: str, expected: str, value) -> None:
    raise SchemaError(f"{where or '(document)'}: expected {expected}, got {_name(value)}")


def _join(where: str, key) -> str:
    return f"{where}.{key}" if where else str(key)


class Any:
    """Anything JSON can hold (checked elsewhere, e.g. by the object that reads it)."""

    def __call__(self, value, where):
        pass


class Int:
    def __init__(self, low=None, high=None):
        self.low, self.high = low, high

    def __call__(self, value, where):
        low = "-inf" if self.low is None else self.low
        high = "inf" if self.high is None else self.high
        if isinstance(value, bool) or not isinstance(value, int) \
                or (self.low is not None and value < self.low) \
                or (self.high is not None and value > self.high):
            _fail(where, f"an integer in [{low}, {high}]", value)


class Number:
    """A real number; `finite=True` refuses NaN and infinities (losses may legitimately be
    NaN after a divergence, so histories allow them)."""

    def __init__(self, finite=False, low=None):
        self.finite, self.low = finite, low

    def __call__(self, value, where):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _fail(where, "a number", value)
        if self.finite and not math.isfinite(value):
            _fail(where, "a finite number", value)
        if self.low is not None and value < self.low:
            _fail(where, f"a number >= {self.low}", value)


class Str:
    def __init__(self, choices=None, max_length=10_000):
        self.choices, self.max_length = choices, max_length

    def __call__(self, value, where):
        if not isinstance(value, str) or len(value) > self.max_length:
            _fail(where, f"a string of at most {self.max_length} characters", value)
        if self.choices is not None and value not in self.choices:
            _fail(where, f"one of {sorted(self.choices)}", value)


class Bool:
    def __call__(self, value, where):
        if not isinstance(value, bool):
            _fail(where, "true or false", value)


class Either:
    """One of several specs (the first that fits)."""

    def __init__(self, *specs, expected: str):
        self.specs, self.expected = specs, expected

    def __call__(self, value, where):
        for spec in self.specs:
            try:
                spec(value, where)
                return
            except SchemaError:
                pass
        _fail(where, self.expected, value)


class Optional:
    """`spec`, or null."""

    def __init__(self, spec):
        self.spec = spec

    def __call__(self, value, where):
        if value is not None:
            self.spec(value, where)


class ListOf:
    def __init__(self, item, min_length=0, max_length=None):
        self.item, self.min_length, self.max_length = item, min_length, max_length

    def __call__(self, value, where):
        if not isinstance(value, list):
            _fail(where, "a list", value)
        if len(value) < self.min_length or (self.max_length is not None
                                            and len(value) > self.max_length):
            high = "any number of" if self.max_length is None else f"at most {self.max_length}"
            _fail(where, f"a list of at least {self.min_length} and {high} items",
                  f"{len(value)} items")
        for i, item in enumerate(value):
            self.item(item, f"{where}[{i}]")


class DictOf:
    """A mapping with string keys and values of one kind."""

    def __init__(self, value):
        self.value = value

    def __call__(self, value, where):
        if not isinstance(value, dict):
            _fail(where, "a mapping", value)
        for key, item in value.items():
            if not isinstance(key, str):
                _fail(where, "string keys", key)
            self.value(item, _join(where, key))


class Fields:
    """A mapping with known keys: `required` and `optional` name -> spec; others refused."""

    def __init__(self, required=None, optional=None, extra=False):
        self.required, self.optional, self.extra = required or {}, optional or {}, extra

    def __call__(self, value, where):
        if not isinstance(value, dict):
            _fail(where, f"a mapping with the keys {sorted(self.required)}", value)
        missing = [k for k in self.required if k not in value]
        if missing:
            raise SchemaError(f"{_join(where, missing[0])}: missing (required)")
        if not self.extra:
            unknown = sorted(str(k) for k in value if k not in self.required
                             and k not in self.optional)
            if unknown:
                raise SchemaError(f"{_join(where, unknown[0])}: unknown key (known: "
                                  f"{sorted(self.required) + sorted(self.optional)})")
        for key, spec in (*self.required.items(), *self.optional.items()):
            if key in value:
                spec(value[key], _join(where, key))


class RngState:
    """A NumPy bit generator's state (`generator.bit_generator.state`), checked by setting it
    on a fresh bit generator of the named kind (NumPy validates the words)."""

    KINDS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")

    def __call__(self, value, where):
        if not isinstance(value, dict) or value.get("bit_generator") not in self.KINDS:
            _fail(where, f"a bit generator state of {list(self.KINDS)}", value)
        try:
            getattr(np.random, value["bit_generator"])().state = value
        except (TypeError, ValueError, KeyError, OverflowError, AttributeError) as error:
            raise SchemaError(f"{where}: not a valid {value['bit_generator']} state "
                              f"({error})") from None


def check(value, spec, where: str = "") -> None:
    """Raise SchemaError naming the first field of `value` that does not fit `spec`."""
    try:
        spec(value, where)
    except RecursionError:
        raise SchemaError(f"{where or '(document)'}: nested too deeply") from None


# --------------------------------------------------------------------------------------------
# the schemas
# --------------------------------------------------------------------------------------------
MAX_EPOCH = 10 ** 9
MAX_STEP = 2 ** 62
MAX_INPUT_ELEMENTS = 2 ** 28   # one sample: e.g. 3 x 8192 x 8192 still fits

_PART = Optional(Fields({"type": Str(max_length=200), "state": Any()}))

DOCUMENT = Fields(
    required={"format_version": Int(1, 2), "model": Optional(Fields({
                  "type": Str(max_length=200), "keys": ListOf(Str()),
                  "layers": ListOf(ListOf(Str(), 2, 2))})),
              "optimizer": _PART, "scheduler": _PART, "tensors": ListOf(Str())},
    optional={"deepgrad_version": Str(max_length=100), "rng_states": DictOf(Any()),
              "epoch": Optional(Int(0, MAX_EPOCH)), "step": Optional(Int(0, MAX_STEP)),
              "config": Optional(DictOf(Any())), "metadata": Optional(DictOf(Any())),
              "metrics": Optional(DictOf(Either(Number(), ListOf(Number()),
                                                expected="a number or a list of numbers")))})


class InputShape:
    """The shape of one input sample: 1 to 8 positive sizes, at most 2^28 elements."""

    def __call__(self, value, where):
        ListOf(Int(1, MAX_INPUT_ELEMENTS), 1, 8)(value, where)
        if math.prod(value) > MAX_INPUT_ELEMENTS:
            _fail(where, f"a sample of at most {MAX_INPUT_ELEMENTS} elements",
                  f"{value} ({math.prod(value)} elements)")


class RngEntry:
    """An entry of `rng_states`: a bit generator state (checked by RngState) or another
    mapping that holds one (a DataLoader's state_dict; its reader checks it)."""

    def __call__(self, value, where):
        if isinstance(value, dict) and "bit_generator" in value:
            RngState()(value, where)
        elif not isinstance(value, dict):
            _fail(where, "a bit generator state (a mapping)", value)


# checked after the arrays are decoded (an MT19937 key is an array in the payload)
RNG_STATES = DictOf(RngEntry())

# what `deepgrad train` stores in `metadata` (deepgrad/runner writes it); every field is
# checked when present (other writers store less), RESUME lists what a resume needs
_RUN_FIELDS = {
    "history": ListOf(DictOf(Number()), max_length=MAX_EPOCH),
    "callbacks": ListOf(Fields({"type": Str(max_length=200), "state": Any()},
                               {"position": Int(0, 10_000)})),
    "elapsed": Number(finite=True, low=0),
    "best": Fields({"monitor": Str(max_length=200), "mode": Str({"min", "max"}),
                    "value": Optional(Number(finite=True)),
                    "epoch": Optional(Int(0, MAX_EPOCH))}),
    "finished": Bool(), "stopped_early": Bool(),
    "loader": Fields({"epoch": Int(0, MAX_EPOCH), "position": Int(0, MAX_STEP),
                      "generator_state": RngState()}, extra=True),
    "input_shape": InputShape(),
    "scheduler_fallback": Optional(DictOf(Any())), "dataset": Str(max_length=200),
    "sizes": DictOf(Int(0, 2 ** 40)), "epochs_planned": Int(1, MAX_EPOCH),
    "config_file": Optional(Fields({"path": Str(), "text": Str(max_length=1 << 22)}))}
RUN_METADATA = Fields(optional=_RUN_FIELDS, extra=True)
RESUME = ("history", "callbacks", "elapsed", "best", "finished", "stopped_early", "loader")
