"""Safe checkpoints: one `.safetensors` file holding every array and a JSON description.

Layout of a checkpoint file (see docs/checkpoints.md)::

    [8 bytes: header length n, little-endian]  [n bytes: JSON header]  [tensor payload]

The header is safetensors' own: one entry per array (dtype, shape, byte offsets) plus
`__metadata__`, a string -> string map in which deepgrad stores

* `"format"`:   "deepgrad.checkpoint"
* `"deepgrad"`: a JSON document with the format version, the model's parameter names and
  layer types, the optimizer and scheduler state (their arrays replaced by references
  `{"__tensor__": "optimizer/state/0/exp_avg"}` into the payload), the RNG states, epoch, step,
  config, metrics and the user's metadata;
* `"sha256"`:   SHA-256 of the UTF-8 bytes of that JSON document followed by the payload bytes,
  so a flipped bit anywhere outside safetensors' own offsets table is detected.

Loading never executes anything from the file: no pickle, no eval. The header is checked by
hand (length, JSON, dtypes, shapes, offsets, digest) before the bytes reach safetensors.
Files are written atomically: a temporary file in the same directory is written, flushed and
fsync'ed, then renamed over the target, so the previous checkpoint stays intact until the new
one is complete.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import tempfile
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from deepgrad._optional import require

FORMAT_NAME = "deepgrad.checkpoint"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 100 * 1024 * 1024

# safetensors dtype code <-> NumPy dtype (bfloat16 has no NumPy dtype and is refused)
_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
    "U64": np.uint64, "U32": np.uint32, "U16": np.uint16, "U8": np.uint8, "BOOL": np.bool_,
}
_CODE_OF = {np.dtype(v): k for k, v in _DTYPES.items()}
_TOP_KEYS = {"format_version", "deepgrad_version", "model", "optimizer", "scheduler",
             "tensors", "rng_states", "epoch", "step", "config", "metrics", "metadata"}
_REQUIRED_KEYS = {"format_version", "model", "optimizer", "scheduler", "tensors"}


class CheckpointError(Exception):
    """A checkpoint cannot be written, read or restored; the message names the file."""


# --------------------------------------------------------------------------------------------
# the result of loading
# --------------------------------------------------------------------------------------------
@dataclass
class Checkpoint:
    """What `load_checkpoint` returns. Arrays are writable NumPy arrays."""

    path: str
    model_state: "OrderedDict[str, np.ndarray] | None" = None
    model_layers: "list | None" = None        # [[dotted module name, class name], ...]
    model_type: "str | None" = None
    optimizer_state: "dict | None" = None
    optimizer_type: "str | None" = None
    scheduler_state: "dict | None" = None
    scheduler_type: "str | None" = None
    tensors: dict = field(default_factory=dict)
    rng_states: dict = field(default_factory=dict)
    epoch: "int | None" = None
    step: "int | None" = None
    config: "dict | None" = None
    metrics: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    format_version: int = FORMAT_VERSION


# --------------------------------------------------------------------------------------------
# encoding nested state: arrays to the payload, everything else to JSON
# --------------------------------------------------------------------------------------------
class _Encoder:
    """Turns nested dicts/lists/numbers/arrays into JSON-able data plus a dict of arrays.

    Markers (a dict whose only key starts with "__"):
      {"__tensor__": name}   an ndarray stored in the payload under `name`
      {"__scalar__": name}   a NumPy scalar (np.float32(0.5)...) stored as a 0-d array
      {"__tuple__": [...]}   a tuple
      {"__items__": [[k, v], ...]}   a dict whose keys are not all strings (e.g. ints)
    """

    def __init__(self):
        self.arrays: "OrderedDict[str, np.ndarray]" = OrderedDict()

    def add_array(self, name: str, array, owner: str) -> str:
        if name in self.arrays:
            name = f"{name}#{len(self.arrays)}"
        self.arrays[name] = _storable(np.asarray(array), f"{owner} ({name})")
        return name

    def encode(self, value, prefix: str):
        if isinstance(value, np.ndarray):
            return {"__tensor__": self.add_array(prefix, value, prefix)}
        if isinstance(value, np.generic):
            if isinstance(value, (np.bool_, np.number)):
                return {"__scalar__": self.add_array(prefix, np.asarray(value), prefix)}
            raise CheckpointError(f"cannot store {prefix}: NumPy scalar of dtype {value.dtype}")
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, float):
            return value
        if isinstance(value, np.random.Generator):
            value = value.bit_generator.state
        if isinstance(value, np.random.BitGenerator):
            value = value.state
        if isinstance(value, dict):
            if all(isinstance(k, str) and not k.startswith("__") for k in value):
                return {k: self.encode(v, f"{prefix}/{k}") for k, v in value.items()}
            items = []
            for k, v in value.items():
                if isinstance(k, bool) or not isinstance(k, (str, int, np.integer)):
                    raise CheckpointError(f"cannot store {prefix}: dict key {k!r} of type "
                                          f"{type(k).__name__} (keys must be str or int)")
                k = int(k) if isinstance(k, np.integer) else k
                items.append([k, self.encode(v, f"{prefix}/{k}")])
            return {"__items__": items}
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v, f"{prefix}/{i}") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [self.encode(v, f"{prefix}/{i}") for i, v in enumerate(value)]
        raise CheckpointError(f"cannot store {prefix}: values of type {type(value).__name__} "
                              "are not supported (use numbers, strings, lists, dicts, arrays)")


def _storable(array: np.ndarray, what: str) -> np.ndarray:
    """A C-contiguous little-endian copy-if-needed of `array` (any layout, 0-d, empty)."""
    if array.dtype.kind == "O" or array.dtype.fields is not None:
        raise CheckpointError(f"cannot store {what}: dtype {array.dtype} (only numbers and "
                              "booleans can be stored)")
    native = array.dtype.newbyteorder("=") if array.dtype.byteorder not in "=|" else array.dtype
    if native not in _CODE_OF:
        raise CheckpointError(f"cannot store {what}: dtype {array.dtype} is not supported; "
                              f"supported: {sorted(str(np.dtype(d)) for d in _DTYPES.values())}")
    if array.dtype != native:
        array = array.astype(native)
    if array.dtype.byteorder == ">":  # (only on big-endian hosts) safetensors is little-endian
        array = array.astype(array.dtype.newbyteorder("<"))
    # np.ascontiguousarray turns a 0-d array into shape (1,): copy with order="C" instead
    if not array.flags.c_contiguous:
        array = array.copy(order="C")
    return array


def _decode(value, arrays: dict, used: set, where: str):
    if isinstance(value, list):
        return [_decode(v, arrays, used, where) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, inner), = value.items()
        if key in ("__tensor__", "__scalar__"):
            if not isinstance(inner, str) or inner not in arrays:
                raise CheckpointError(f"{where}: refers to tensor {inner!r}, which is not in "
                                      "the file")
            used.add(inner)
            array = arrays[inner]
            return array[()] if key == "__scalar__" else array
        if key == "__tuple__" and isinstance(inner, list):
            return tuple(_decode(v, arrays, used, where) for v in inner)
        if key == "__items__" and isinstance(inner, list):
            if not all(isinstance(pair, list) and len(pair) == 2 for pair in inner):
                raise CheckpointError(f"{where}: malformed '__items__' entry")
            return {k: _decode(v, arrays, used, where) for k, v in inner}
    return {k: _decode(v, arrays, used, where) for k, v in value.items()}


# --------------------------------------------------------------------------------------------
# saving
# --------------------------------------------------------------------------------------------
def _model_layers(model) -> list:
    return [[name, type(module).__name__] for name, module in model.named_modules()]


def save_checkpoint(path, model=None, optimizer=None, scheduler=None, *, tensors=None,
                    metadata=None, rng_states=None, epoch=None, step=None, config=None,
                    metrics=None, keep_previous: bool = False) -> str:
    """Write a checkpoint atomically to `path` (a `.safetensors` file) and return the path.

    Args:
        model: a Module; its `state_dict()` arrays are stored as "model/<dotted name>".
        optimizer, scheduler: objects with `state_dict()` (plain data and arrays); arrays go
            to the payload as "optimizer/state/0/exp_avg", ...
        tensors: extra named arrays, stored as "tensors/<name>".
        metadata: user information (JSON-able values and arrays).
        rng_states: name -> numpy Generator, BitGenerator or `bit_generator.state` dict.
        epoch, step: integers (the position of the run).
        config: the run's configuration (plain data).
        metrics: name -> number or list of numbers.
        keep_previous: keep the checkpoint being replaced as `<path>.prev`.
    """
    path = os.fspath(path)
    enc = _Encoder()
    doc = {"format_version": FORMAT_VERSION, "deepgrad_version": _deepgrad_version(),
           "model": None, "optimizer": None, "scheduler": None, "tensors": []}
    if model is not None:
        state = model.state_dict()
        keys = []
        for name, value in state.items():
            keys.append(name)
            enc.add_array(f"model/{name}", getattr(value, "data", value), f"model {name}")
        doc["model"] = {"type": type(model).__name__, "keys": keys,
                        "layers": _model_layers(model)}
    for key, obj in (("optimizer", optimizer), ("scheduler", scheduler)):
        if obj is not None:
            doc[key] = {"type": type(obj).__name__,
                        "state": enc.encode(obj.state_dict(), key)}
    for name, value in (tensors or {}).items():
        doc["tensors"].append(enc.add_array(f"tensors/{name}", value, f"tensor {name}"))
    for key, value in (("rng_states", rng_states), ("metrics", metrics),
                       ("metadata", metadata), ("config", config)):
        if value is not None:
            doc[key] = enc.encode(value, key)
    for key, value in (("epoch", epoch), ("step", step)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise CheckpointError(f"save_checkpoint({path}): {key} must be an integer, "
                                      f"got {value!r}")
            doc[key] = int(value)
    try:
        text = json.dumps(doc, allow_nan=True, sort_keys=False)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"save_checkpoint({path}): metadata is not serializable: "
                              f"{error}") from None
    data = _serialize(enc.arrays, text)
    _atomic_write(path, data, keep_previous)
    return path


def _deepgrad_version() -> str:
    import deepgrad  # the package is fully imported whenever this module is used

    return getattr(deepgrad, "__version__", "unknown")


def _serialize(arrays: dict, text: str) -> bytes:
    """safetensors bytes whose metadata carries `text` and the digest of text + payload."""
    save = require("safetensors.numpy", "writing checkpoints").save

    placeholder = secrets.token_hex(32)  # 64 hex characters, exactly as long as the digest
    data = bytearray(save(dict(arrays), metadata={"format": FORMAT_NAME, "deepgrad": text,
                                                   "sha256": placeholder}))
    n = int.from_bytes(data[:8], "little")
    header = bytes(data[8:8 + n])
    if header.count(placeholder.encode()) != 1:
        raise CheckpointError("internal error: digest placeholder not unique in the header")
    digest = hashlib.sha256(text.encode("utf-8"))
    digest.update(memoryview(data)[8 + n:])
    start = 8 + header.index(placeholder.encode())
    data[start:start + 64] = digest.hexdigest().encode()
    return bytes(data)


def _write_all(stream, data: bytes) -> None:
    """Write `data` in 16 MiB pieces (a separate function so tests can interrupt it)."""
    view = memoryview(data)
    for start in range(0, len(view), 1 << 24):
        stream.write(view[start:start + (1 << 24)])


def _atomic_write(path: str, data: bytes, keep_previous: bool) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            _write_all(stream, data)
            stream.flush()
            os.fsync(stream.fileno())
        if keep_previous and os.path.exists(path):
            prev = path + ".prev"
            # a hard link keeps `path` in place while `.prev` is made (copy where no links)
            tmp_prev = prev + ".tmp"
            if os.path.exists(tmp_prev):
                os.remove(tmp_prev)
            try:
                os.link(path, tmp_prev)
            except OSError:
                import shutil

                shutil.copyfile(path, tmp_prev)
            os.replace(tmp_prev, prev)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------
_MAGIC = [(b"\x80", "a Python pickle (deepgrad never unpickles files)"),
          (b"\x93NUMPY", "a NumPy .npy file"),
          (b"PK\x03\x04", "a zip archive (.npz, or a PyTorch .pt file)"),
          (b"\x89HDF", "an HDF5 file")]


def _sniff(head: bytes) -> str:
    for magic, what in _MAGIC:
        if head.startswith(magic) and (magic != b"\x80" or head[1:2] in b"\x02\x03\x04\x05"):
            return f"; the file looks like {what}, not a safetensors checkpoint"
    return ""


def _read_header(path: str, data: bytes) -> tuple:
    size = len(data)
    if size < 8:
        raise CheckpointError(f"{path}: truncated or not a checkpoint: {size} bytes, a "
                              "safetensors file starts with an 8-byte header length")
    head = data[:8]
    n = int.from_bytes(head, "little")
    hint = _sniff(data[:16])
    if n > MAX_HEADER_BYTES:
        raise CheckpointError(f"{path}: declared header size {n} bytes exceeds the limit of "
                              f"{MAX_HEADER_BYTES} bytes{hint}")
    if n > size - 8:
        raise CheckpointError(f"{path}: declared header size {n} bytes but the file has only "
                              f"{size - 8} bytes after the length (truncated?){hint}")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise CheckpointError(f"{path}: the header is not valid JSON ({error}){hint}") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: the header must be a JSON object, got "
                              f"{type(header).__name__}")
    return n, header


def _check_entries(path: str, header: dict, payload_size: int) -> dict:
    """Validate every tensor entry; return name -> (dtype code, shape, (begin, end))."""
    entries = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        where = f"{path}: tensor {name!r}"
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise CheckpointError(f"{where}: malformed header entry {entry!r}")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in _DTYPES:
            raise CheckpointError(f"{where}: unsupported dtype {dtype!r}; supported: "
                                  f"{sorted(_DTYPES)}")
        if not (isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)):
            raise CheckpointError(f"{where}: malformed shape {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2
                and all(type(o) is int for o in offsets) and 0 <= offsets[0] <= offsets[1]):
            raise CheckpointError(f"{where}: malformed data_offsets {offsets!r}")
        nbytes = math.prod(shape) * np.dtype(_DTYPES[dtype]).itemsize
        if offsets[1] - offsets[0] != nbytes:
            raise CheckpointError(f"{where}: shape {shape} of {dtype} needs {nbytes} bytes, "
                                  f"the offsets span {offsets[1] - offsets[0]}")
        if offsets[1] > payload_size:
            raise CheckpointError(f"{where}: data ends at byte {offsets[1]} of the payload, "
                                  f"which has only {payload_size} bytes (truncated file?)")
        entries[name] = (dtype, shape, tuple(offsets))
    spans = sorted(e[2] for e in entries.values())
    position = 0
    for begin, end in spans:
        if begin != position:
            raise CheckpointError(f"{path}: tensor data overlaps or leaves a gap at payload "
                                  f"byte {position}")
        position = end
    if position != payload_size:
        raise CheckpointError(f"{path}: the tensors cover {position} payload bytes but the "
                              f"file holds {payload_size} (truncated or extended file)")
    return entries


def load_checkpoint(path, *, config_validator=None) -> Checkpoint:
    """Read and verify a checkpoint written by `save_checkpoint`.

    Args:
        path: the `.safetensors` file.
        config_validator: optional function called with the stored config; an exception it
            raises becomes a CheckpointError naming the file (deepgrad.config passes its
            validator, so an unknown layer type in the stored config is reported here).

    Raises:
        CheckpointError naming the file and the problem: truncated file, wrong or huge header,
        digest mismatch (corruption), unsupported dtype, unknown keys, a file that is not a
        checkpoint (a pickle, a .npy, ...). Nothing in the file is ever executed.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except OSError as error:
        raise CheckpointError(f"{path}: cannot read the checkpoint: {error}") from None
    n, header = _read_header(path, data)
    payload = memoryview(data)[8 + n:]
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path}: a safetensors file but not a deepgrad checkpoint (no "
                              f"'format': '{FORMAT_NAME}' in its __metadata__)")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()) \
            or not {"deepgrad", "sha256"} <= set(meta):
        raise CheckpointError(f"{path}: malformed __metadata__ (needs string entries "
                              "'deepgrad' and 'sha256')")
    entries = _check_entries(path, header, len(payload))
    digest = hashlib.sha256(meta["deepgrad"].encode("utf-8"))
    digest.update(payload)
    if digest.hexdigest() != meta["sha256"]:
        raise CheckpointError(f"{path}: SHA-256 mismatch: the file is corrupted (stored "
                              f"{meta['sha256'][:16]}..., computed {digest.hexdigest()[:16]}...)")
    arrays = _load_arrays(path, data, entries)
    try:
        doc = json.loads(meta["deepgrad"])
    except (ValueError, RecursionError) as error:
        raise CheckpointError(f"{path}: the deepgrad metadata is not valid JSON: "
                              f"{error}") from None
    try:
        checkpoint = _from_document(path, doc, arrays)
    except (TypeError, AttributeError, KeyError, ValueError) as error:  # JSON of a wrong shape
        raise CheckpointError(f"{path}: malformed deepgrad metadata ({error!r})") from None
    if config_validator is not None and checkpoint.config is not None:
        try:
            config_validator(checkpoint.config)
        except Exception as error:  # the validator's message explains what is wrong
            raise CheckpointError(f"{path}: the stored config is invalid: {error}") from None
    return checkpoint


def _load_arrays(path: str, data: bytes, entries: dict) -> dict:
    load = require("safetensors.numpy", "reading checkpoints").load

    try:
        loaded = load(data)
    except Exception as error:  # safetensors raises its own SafetensorError
        raise CheckpointError(f"{path}: safetensors could not parse the file: {error}") from None
    arrays = {}
    for name, array in loaded.items():
        expected = (np.dtype(_DTYPES[entries[name][0]]), tuple(entries[name][1]))
        if (array.dtype, array.shape) != expected:
            raise CheckpointError(f"{path}: tensor {name!r} decoded as {array.dtype} "
                                  f"{array.shape}, the header says {expected}")
        arrays[name] = array if array.flags.writeable else array.copy()
    return arrays


def _from_document(path: str, doc, arrays: dict) -> Checkpoint:
    if not isinstance(doc, dict):
        raise CheckpointError(f"{path}: the deepgrad metadata must be a JSON object")
    version = doc.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {version!r}; this deepgrad "
                              f"reads version {FORMAT_VERSION}")
    unknown = sorted(set(doc) - _TOP_KEYS)
    missing = sorted(_REQUIRED_KEYS - set(doc))
    if unknown or missing:
        raise CheckpointError(f"{path}: unknown keys {unknown} / missing keys {missing} in "
                              "the deepgrad metadata")
    used: set = set()
    ck = Checkpoint(path=path)
    model = doc["model"]
    if model is not None:
        if not isinstance(model, dict) or set(model) != {"type", "keys", "layers"}:
            raise CheckpointError(f"{path}: malformed 'model' entry (needs type, keys, layers)")
        ck.model_type, ck.model_layers = model["type"], model["layers"]
        ck.model_state = OrderedDict()
        for key in model["keys"]:
            name = f"model/{key}"
            if name not in arrays:
                raise CheckpointError(f"{path}: model parameter {key!r} is listed but its "
                                      "tensor is missing")
            used.add(name)
            ck.model_state[key] = arrays[name]
    for key in ("optimizer", "scheduler"):
        entry = doc[key]
        if entry is None:
            continue
        if not isinstance(entry, dict) or set(entry) != {"type", "state"}:
            raise CheckpointError(f"{path}: malformed '{key}' entry (needs type and state)")
        setattr(ck, f"{key}_type", entry["type"])
        setattr(ck, f"{key}_state", _decode(entry["state"], arrays, used, f"{path}: {key}"))
    for name in doc["tensors"]:
        if name not in arrays:
            raise CheckpointError(f"{path}: extra tensor {name!r} is listed but missing")
        used.add(name)
        ck.tensors[name[len("tensors/"):]] = arrays[name]
    for key in ("rng_states", "metrics", "metadata", "config"):
        if doc.get(key) is not None:
            setattr(ck, key, _decode(doc[key], arrays, used, f"{path}: {key}"))
    for key in ("epoch", "step"):
        value = doc.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise CheckpointError(f"{path}: {key} must be an integer, got {value!r}")
        setattr(ck, key, value)
    stray = sorted(set(arrays) - used)
    if stray:
        raise CheckpointError(f"{path}: unknown tensors not described by the metadata: "
                              f"{stray[:5]}")
    return ck


# --------------------------------------------------------------------------------------------
# restoring
# --------------------------------------------------------------------------------------------
def restore(checkpoint: Checkpoint, model=None, optimizer=None, scheduler=None,
            strict: bool = True) -> Checkpoint:
    """Load the checkpoint's states into `model`, `optimizer` and `scheduler` (those given).

    Raises CheckpointError naming the file when a part is absent from the checkpoint, when
    the layer types or parameter names/shapes differ, or when the optimizer or scheduler is of
    another class than the one saved.
    """
    path = checkpoint.path
    if model is not None:
        if checkpoint.model_state is None:
            raise CheckpointError(f"{path}: holds no model state")
        if strict and checkpoint.model_layers is not None:
            saved = {name: kind for name, kind in checkpoint.model_layers}
            for name, kind in _model_layers(model):
                if name in saved and saved[name] != kind:
                    raise CheckpointError(f"{path}: layer {name or '(root)'!r} is a "
                                          f"{saved[name]} in the checkpoint but a {kind} in "
                                          "the model")
        try:
            model.load_state_dict(checkpoint.model_state, strict=strict)
        except (ValueError, KeyError, TypeError) as error:
            raise CheckpointError(f"{path}: {error}") from None
    for kind, obj in (("optimizer", optimizer), ("scheduler", scheduler)):
        if obj is None:
            continue
        state = getattr(checkpoint, f"{kind}_state")
        saved_type = getattr(checkpoint, f"{kind}_type")
        if state is None:
            raise CheckpointError(f"{path}: holds no {kind} state")
        if saved_type != type(obj).__name__:
            raise CheckpointError(f"{path}: the {kind} state was saved from a {saved_type}, "
                                  f"cannot load it into a {type(obj).__name__}")
        try:
            obj.load_state_dict(state)
        except (ValueError, KeyError, TypeError) as error:
            raise CheckpointError(f"{path}: {kind}: {error}") from None
    return checkpoint


def restore_generator(generator: np.random.Generator, state: dict) -> np.random.Generator:
    """Set `generator` to a state saved in `rng_states` (a `bit_generator.state` dict)."""
    name = type(generator.bit_generator).__name__
    saved = state.get("bit_generator") if isinstance(state, dict) else repr(state)
    if saved != name:
        raise CheckpointError(f"restore_generator: the saved state is for a {saved} "
                              f"generator, this one is a {name}")
    generator.bit_generator.state = state
    return generator
