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
* `"digest"`:   "sha256:<hex>" over the tensor table (names, dtypes, shapes, offsets), that
  JSON document and the payload; or "hmac-sha256:<hex>", the same keyed with
  $DEEPGRAD_CHECKPOINT_KEY (or `key=`), for tamper evidence. The unkeyed digest detects
  corruption, not forgery: anyone can edit a file and recompute it.

Loading never executes anything from the file: no pickle, no eval. It opens only regular
files, reads the header length and the header first, checks the table, the document (against
deepgrad.io.schema) and the declared size against the file size, then reads exactly the
declared payload. Files are written atomically: a temporary file in the same directory is
written, flushed and fsync'ed, then renamed over the target, so the previous checkpoint stays
intact until the new one is complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import math
import os
import secrets
import stat
import tempfile
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from deepgrad._optional import require

FORMAT_NAME = "deepgrad.checkpoint"
FORMAT_VERSION = 2              # 2: the digest covers the tensor table (1 is still read)
MAX_HEADER_BYTES = 100 * 1024 * 1024
DEFAULT_MAX_BYTES = 2 * 1024 ** 3
KEY_ENV = "DEEPGRAD_CHECKPOINT_KEY"
MAX_BYTES_ENV = "DEEPGRAD_MAX_CHECKPOINT_BYTES"

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
            if not all(isinstance(pair, list) and len(pair) == 2
                       and isinstance(pair[0], (str, int)) for pair in inner):
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
                    metrics=None, keep_previous: bool = False, key=None) -> str:
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
        key: sign with HMAC-SHA256 under this key (str or bytes); default
            $DEEPGRAD_CHECKPOINT_KEY, else an unkeyed SHA-256 digest.
    """
    path = os.fspath(path)
    signing_key = _key(key)
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
    data = _serialize(enc.arrays, text, signing_key)
    _atomic_write(path, data, keep_previous)
    return path


def _deepgrad_version() -> str:
    import deepgrad  # the package is fully imported whenever this module is used

    return getattr(deepgrad, "__version__", "unknown")


def _table(entries: dict) -> bytes:
    """The tensor table in a canonical form: name -> [dtype, shape, offsets], sorted."""
    table = {name: [code, list(shape), list(offsets)]
             for name, (code, shape, offsets) in entries.items()}
    return json.dumps(table, sort_keys=True, separators=(",", ":")).encode()


def _digest(entries: dict, text: str, payload, key: "bytes | None"):
    """SHA-256 (or HMAC-SHA256 with `key`) of the table, the document and the payload, each
    preceded by its length so that no byte can move from one part to another."""
    digest = hmac.new(key, digestmod=hashlib.sha256) if key is not None else hashlib.sha256()
    for part in (_table(entries), text.encode("utf-8")):
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    digest.update(memoryview(payload))
    return digest


def _serialize(arrays: dict, text: str, key: "bytes | None") -> bytes:
    """safetensors bytes whose metadata carries `text` and the digest of table, text and
    payload."""
    save = require("safetensors.numpy", "writing checkpoints").save

    method = "hmac-sha256" if key is not None else "sha256"
    placeholder = secrets.token_hex(32)  # 64 hex characters, exactly as long as the digest
    data = bytearray(save(dict(arrays), metadata={"format": FORMAT_NAME, "deepgrad": text,
                                                   "digest": f"{method}:{placeholder}"}))
    n = int.from_bytes(data[:8], "little")
    header = json.loads(bytes(data[8:8 + n]))
    if bytes(data[8:8 + n]).count(placeholder.encode()) != 1:
        raise CheckpointError("internal error: digest placeholder not unique in the header")
    entries = {name: (e["dtype"], e["shape"], e["data_offsets"])
               for name, e in header.items() if name != "__metadata__"}
    digest = _digest(entries, text, memoryview(data)[8 + n:], key)
    start = 8 + bytes(data[8:8 + n]).index(placeholder.encode())
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
        os.chmod(tmp, _file_mode())   # mkstemp makes 0600: give the mode open() would
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


def copy_checkpoint(source, target) -> str:
    """Copy a checkpoint file atomically (temporary file, fsync, rename), as save_checkpoint
    writes one: `target` is the old file or the complete new one at every moment."""
    with open(source, "rb") as stream:
        data = stream.read()
    _atomic_write(os.fspath(target), data, keep_previous=False)
    return os.fspath(target)


def is_temporary(name: str) -> bool:
    """Whether a file name is one of save_checkpoint's temporary files (`.NAME.XXXX.tmp`),
    which an interrupted write leaves behind."""
    return name.startswith(".") and name.endswith(".tmp") and ".safetensors." in name


def _file_mode() -> int:
    """0o666 minus the process's umask: the mode of a file made by open()."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)   # (no /proc: read the umask by setting it, and set it back)
    os.umask(mask)
    return 0o666 & ~mask


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


_KINDS = [(stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket")]


def max_checkpoint_bytes() -> int:
    """The largest checkpoint `load_checkpoint` reads: $DEEPGRAD_MAX_CHECKPOINT_BYTES, else
    2 GiB (a guard against files that declare huge tensors; raise it for bigger models)."""
    text = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_BYTES
    try:
        return int(float(text))
    except (ValueError, OverflowError):
        raise CheckpointError(f"{MAX_BYTES_ENV}={text[:40]!r}: expected a number of "
                              "bytes") from None


def _read_exact(stream, count: int, path: str, what: str) -> bytearray:
    buffer = bytearray(count)
    view, done = memoryview(buffer), 0
    while done < count:
        got = stream.readinto(view[done:done + (1 << 24)])
        if not got:
            raise CheckpointError(f"{path}: the file ended after {done} of the {count} bytes "
                                  f"of {what} (truncated, or changed while being read)")
        done += got
    return buffer


def _open_regular(path: str):
    """(binary stream, size) of a regular file; never blocks on a FIFO, never reads a
    device: the type is checked on the opened descriptor (no race with a swapped path)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as error:
        raise CheckpointError(f"{path}: cannot read the checkpoint: "
                              f"{error.strerror or error}") from None
    try:
        info = os.fstat(fd)
        for test, kind in _KINDS:
            if test(info.st_mode):
                raise CheckpointError(f"{path}: is {kind}, not a checkpoint file; give the "
                                      ".safetensors file (or, to the CLI, a run directory)")
        if not stat.S_ISREG(info.st_mode):
            raise CheckpointError(f"{path}: not a regular file")
        return os.fdopen(fd, "rb", buffering=0), info.st_size
    except BaseException:
        os.close(fd)
        raise


def _read_header(path: str, stream, size: int, max_bytes: int) -> tuple:
    """(header length n, header dict) after reading only the first 8 + n bytes."""
    if size < 8:
        raise CheckpointError(f"{path}: truncated or not a checkpoint: {size} bytes, a "
                              "safetensors file starts with an 8-byte header length")
    head = bytes(_read_exact(stream, 8, path, "the header length"))
    n = int.from_bytes(head, "little")
    first = bytes(_read_exact(stream, min(8, n, size - 8), path, "the header"))
    hint = _sniff(head + first)
    if n > MAX_HEADER_BYTES:
        raise CheckpointError(f"{path}: declared header size {n} bytes exceeds the limit of "
                              f"{MAX_HEADER_BYTES} bytes{hint}")
    if n > size - 8:
        raise CheckpointError(f"{path}: declared header size {n} bytes but the file has only "
                              f"{size - 8} bytes after the length (truncated?){hint}")
    if size > max_bytes:
        raise CheckpointError(f"{path}: the file has {size} bytes, more than the limit of "
                              f"{max_bytes} (set {MAX_BYTES_ENV} or max_bytes= to read "
                              "bigger checkpoints)")
    text = first + bytes(_read_exact(stream, n - len(first), path, "the header"))
    try:
        header = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise CheckpointError(f"{path}: the header is not valid JSON "
                              f"({str(error)[:200]}){hint}") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: the header must be a JSON object, got "
                              f"{type(header).__name__}")
    return n, header


def _check_entries(path: str, header: dict) -> tuple:
    """Validate every tensor entry; return ({name: (dtype code, shape, (begin, end))},
    the payload size the entries declare)."""
    entries = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        where = f"{path}: tensor {name[:200]!r}"
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise CheckpointError(f"{where}: malformed header entry {str(entry)[:200]}")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in _DTYPES:
            raise CheckpointError(f"{where}: unsupported dtype {str(dtype)[:40]!r}; "
                                  f"supported: {sorted(_DTYPES)}")
        if not (isinstance(shape, list) and len(shape) <= 32
                and all(type(d) is int and d >= 0 for d in shape)):
            raise CheckpointError(f"{where}: malformed shape {str(shape)[:200]}")
        if not (isinstance(offsets, list) and len(offsets) == 2
                and all(type(o) is int for o in offsets) and 0 <= offsets[0] <= offsets[1]):
            raise CheckpointError(f"{where}: malformed data_offsets {str(offsets)[:200]}")
        nbytes = math.prod(shape) * np.dtype(_DTYPES[dtype]).itemsize
        if offsets[1] - offsets[0] != nbytes:
            raise CheckpointError(f"{where}: shape {shape} of {dtype} needs {nbytes} bytes, "
                                  f"the offsets span {offsets[1] - offsets[0]}")
        entries[name] = (dtype, shape, tuple(offsets))
    position = 0
    for begin, end in sorted(e[2] for e in entries.values()):
        if begin != position:
            raise CheckpointError(f"{path}: tensor data overlaps or leaves a gap at payload "
                                  f"byte {position}")
        position = end
    return entries, position


def _metadata(path: str, header: dict) -> dict:
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path}: a safetensors file but not a deepgrad checkpoint (no "
                              f"'format': '{FORMAT_NAME}' in its __metadata__)")
    known = ({"format", "deepgrad", "digest"}, {"format", "deepgrad", "sha256"})
    if not all(isinstance(v, str) for v in meta.values()) or set(meta) not in known:
        raise CheckpointError(f"{path}: malformed __metadata__ (needs the string entries "
                              f"'format', 'deepgrad' and 'digest'; it has "
                              f"{sorted(map(str, meta))[:8]})")
    return meta


def _verify(path: str, meta: dict, entries: dict, payload, key: "bytes | None") -> None:
    """Check the digest (format 2: table + document + payload; format 1: document +
    payload) or, with a key, the HMAC."""
    if "digest" in meta:
        method, _, stored = meta["digest"].rpartition(":")
    else:
        method, stored = "sha256 (format 1)", meta["sha256"]
    if key is not None and method != "hmac-sha256":
        raise CheckpointError(f"{path}: the file is not signed with a key ({method} digest), "
                              f"but a key is set ({KEY_ENV} or key=): refusing an unsigned "
                              "checkpoint; re-save it with the key to trust it")
    if method == "hmac-sha256" and key is None:
        raise CheckpointError(f"{path}: the file is signed with a key (HMAC-SHA256); set "
                              f"{KEY_ENV} (or pass key=) to the key used when it was saved")
    if method == "sha256 (format 1)":
        digest = hashlib.sha256(meta["deepgrad"].encode("utf-8"))
        digest.update(payload)
    elif method in ("sha256", "hmac-sha256"):
        digest = _digest(entries, meta["deepgrad"], payload, key)
    else:
        raise CheckpointError(f"{path}: unknown digest method {method[:40]!r}")
    if not hmac.compare_digest(digest.hexdigest(), stored):
        what = "HMAC" if key is not None else "SHA-256"
        raise CheckpointError(f"{path}: {what} mismatch: the file is corrupted or was edited "
                              f"(stored {stored[:16]}..., computed "
                              f"{digest.hexdigest()[:16]}...)")


def _arrays(path: str, payload: bytearray, entries: dict) -> dict:
    """Writable arrays viewing `payload` (copied only when misaligned or on big-endian
    hosts)."""
    arrays = {}
    for name, (code, shape, (begin, _)) in entries.items():
        dtype = np.dtype(_DTYPES[code]).newbyteorder("<")
        count = math.prod(shape)
        array = np.frombuffer(payload, dtype=dtype, count=count, offset=begin) if count \
            else np.empty(0, dtype)
        if not dtype.isnative:
            array = array.astype(dtype.newbyteorder("="))
        if not array.flags.aligned:
            array = array.copy()
        if code == "BOOL" and count and array.view(np.uint8).max() > 1:
            raise CheckpointError(f"{path}: tensor {name!r}: BOOL bytes other than 0 and 1")
        arrays[name] = array.reshape(shape)
    return arrays


def _key(key) -> "bytes | None":
    if key is None:
        key = os.environ.get(KEY_ENV) or None
    if isinstance(key, str):
        key = key.encode("utf-8")
    return key or None


def load_checkpoint(path, *, config_validator=None, metadata_schema=None, key=None,
                    max_bytes=None) -> Checkpoint:
    """Read and verify a checkpoint written by `save_checkpoint`.

    Only the first bytes are read before the header is checked: the file must be a regular
    file, its header length and header sane, the tensor table consistent, the document fit
    its schema and the declared size equal the file's; then exactly the declared payload is
    read and the digest verified.

    Args:
        path: the `.safetensors` file.
        config_validator: optional function called with the stored config; an exception it
            raises becomes a CheckpointError naming the file (deepgrad.config passes its
            validator, so an unknown layer type in the stored config is reported here).
        metadata_schema: optional schema (deepgrad.io.schema) of the `metadata` entry.
        key: the HMAC key (str or bytes) the file was signed with; default
            $DEEPGRAD_CHECKPOINT_KEY. With a key, unsigned files are refused.
        max_bytes: the largest file read (default: `max_checkpoint_bytes()`).

    Raises:
        CheckpointError naming the file and the problem: not a regular file, truncated or
        extended file, wrong or huge header, digest mismatch (corruption), unsupported dtype,
        a field of the metadata that does not fit the schema, a file that is not a
        checkpoint (a pickle, a .npy, ...). Nothing in the file is ever executed.
    """
    path = os.fspath(path)
    key = _key(key)
    limit = max_checkpoint_bytes() if max_bytes is None else int(max_bytes)
    stream, size = _open_regular(path)
    with stream:
        n, header = _read_header(path, stream, size, limit)
        meta = _metadata(path, header)
        entries, payload_size = _check_entries(path, header)
        if 8 + n + payload_size != size:
            change = "truncated" if 8 + n + payload_size > size else "extended: trailing bytes"
            raise CheckpointError(f"{path}: the header declares {payload_size} payload bytes "
                                  f"but the file holds {size - 8 - n} ({change})")
        doc = _document(path, meta["deepgrad"])
        if ("digest" in meta) != (doc["format_version"] == FORMAT_VERSION):
            raise CheckpointError(f"{path}: format version {doc['format_version']} with a "
                                  f"{'digest' if 'digest' in meta else 'sha256'} entry: "
                                  "format 1 files carry 'sha256', later ones 'digest'")
        _cross_check(path, doc, entries)
        payload = _read_exact(stream, payload_size, path, "the tensor payload")
    _verify(path, meta, entries, payload, key)
    try:
        checkpoint = _from_document(path, doc, _arrays(path, payload, entries))
    except RecursionError:
        raise CheckpointError(f"{path}: the deepgrad metadata is nested too deeply") from None
    from deepgrad.io.schema import RNG_STATES

    _check_schema(path, checkpoint.rng_states, RNG_STATES, "rng_states")
    if metadata_schema is not None:
        _check_schema(path, checkpoint.metadata, metadata_schema, "metadata")
    if config_validator is not None and checkpoint.config is not None:
        try:
            with building_from(checkpoint):   # validators may dry-build layers
                config_validator(checkpoint.config)
        except CheckpointError:
            raise
        except Exception as error:  # the validator's message explains what is wrong
            raise CheckpointError(f"{path}: the stored config is invalid: {error}") from None
    return checkpoint


def _check_schema(path: str, value, spec, where: str) -> None:
    from deepgrad.io.schema import SchemaError, check

    try:
        check(value, spec, where)
    except SchemaError as error:
        raise CheckpointError(f"{path}: {error}") from None


def _document(path: str, text: str) -> dict:
    """The deepgrad JSON document, checked against the schema (deepgrad.io.schema)."""
    from deepgrad.io.schema import DOCUMENT

    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise CheckpointError(f"{path}: the deepgrad metadata is not valid JSON: "
                              f"{str(error)[:200]}") from None
    if not isinstance(doc, dict):
        raise CheckpointError(f"{path}: the deepgrad metadata must be a JSON object")
    version = doc.get("format_version")
    if isinstance(version, bool) or version not in (1, FORMAT_VERSION):
        raise CheckpointError(f"{path}: checkpoint format version {str(version)[:20]}; this "
                              f"deepgrad reads versions 1 and {FORMAT_VERSION}")
    unknown = sorted(set(doc) - _TOP_KEYS)
    missing = sorted(_REQUIRED_KEYS - set(doc))
    if unknown or missing:
        raise CheckpointError(f"{path}: unknown keys {unknown[:5]} / missing keys {missing} "
                              "in the deepgrad metadata")
    _check_schema(path, doc, DOCUMENT, "")
    return doc


def _cross_check(path: str, doc: dict, entries: dict) -> None:
    """The document's tensor names against the table, before the payload is read."""
    named = [f"model/{k}" for k in (doc["model"] or {}).get("keys", [])] + doc["tensors"]
    missing = [name for name in named if name not in entries]
    if missing:
        raise CheckpointError(f"{path}: tensor {missing[0][:200]!r} is listed in the metadata "
                              "but not in the file")


def _from_document(path: str, doc: dict, arrays: dict) -> Checkpoint:
    """The Checkpoint of a document already checked against the schema."""
    used: set = set()
    ck = Checkpoint(path=path, format_version=doc["format_version"])
    model = doc["model"]
    if model is not None:
        ck.model_type, ck.model_layers = model["type"], model["layers"]
        ck.model_state = OrderedDict()
        for key in model["keys"]:
            used.add(f"model/{key}")
            ck.model_state[key] = arrays[f"model/{key}"]
    for key in ("optimizer", "scheduler"):
        entry = doc[key]
        if entry is not None:
            setattr(ck, f"{key}_type", entry["type"])
            setattr(ck, f"{key}_state", _decode(entry["state"], arrays, used, f"{path}: {key}"))
    for name in doc["tensors"]:
        used.add(name)
        ck.tensors[name[len("tensors/"):]] = arrays[name]
    for key in ("rng_states", "metrics", "metadata", "config"):
        if doc.get(key) is not None:
            setattr(ck, key, _decode(doc[key], arrays, used, f"{path}: {key}"))
    ck.epoch, ck.step = doc.get("epoch"), doc.get("step")
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
        own = {**dict(model.named_parameters()), **dict(model.named_buffers())}
        for name, array in checkpoint.model_state.items():
            target = own.get(name)
            dtype = target.data.dtype if target is not None else None
            if dtype is not None and (dtype.kind == "f") != (array.dtype.kind == "f"):
                raise CheckpointError(f"{path}: {name}: the checkpoint holds {array.dtype}, "
                                      f"the model {dtype} (a relabelled tensor?)")
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


@contextlib.contextmanager
def building_from(checkpoint: Checkpoint):
    """Build (or dry-build, as config validation does) the model a checkpoint's config
    describes inside this block: parameters beyond what the checkpoint stores, plus 2^20
    values of slack, are refused before they are allocated, so a config edited to declare
    a 3,000,000-wide layer costs nothing.

        with building_from(checkpoint):
            model = build_model(checkpoint.config["model"])
    """
    from deepgrad.nn.init import parameter_budget

    stored = sum(a.size for a in (checkpoint.model_state or {}).values())
    marker = "the stored config declares a parameter of shape"

    def describe(shape, size):
        return (f"{marker} {shape} ({size} values), more than the checkpoint stores "
                f"({stored} values in all)")

    try:
        with parameter_budget(stored + (1 << 20), describe):
            yield
    except ValueError as error:
        if str(error).startswith(marker):
            raise CheckpointError(f"{checkpoint.path}: {error}") from None
        raise


def restore_generator(generator: np.random.Generator, state: dict) -> np.random.Generator:
    """Set `generator` to a state saved in `rng_states` (a `bit_generator.state` dict)."""
    name = type(generator.bit_generator).__name__
    saved = state.get("bit_generator") if isinstance(state, dict) else repr(state)
    if saved != name:
        raise CheckpointError(f"restore_generator: the saved state is for a {saved} "
                              f"generator, this one is a {name}")
    generator.bit_generator.state = state
    return generator
