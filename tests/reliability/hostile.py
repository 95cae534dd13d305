"""The hostile checkpoint corpus: files that lie, overflow, hang or hide payloads, generated
from one good checkpoint of `deepgrad train` at test time (nothing binary is committed).

    cases = build_corpus(good_checkpoint, out_dir)   # [Case(name, path, problem regex)]

Every case must be refused by every command (info, eval, export, predict, train --resume)
in under a second and 200 MB, with a message naming the file and matching `problem`, and
must execute nothing (the pickle payloads create a marker file if ever unpickled).

The re-signing below recomputes the digest the way a forger would, from the documented
format (docs/checkpoints.md), not with deepgrad's own function.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import zipfile
from dataclasses import dataclass

import numpy as np

MARKER_NAME = "EXECUTED"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SPIRALS = os.path.join(ROOT, "examples", "spirals.yaml")


@dataclass
class Case:
    name: str
    path: str
    problem: str          # a regex the error message must match
    commands: tuple = ()  # the commands that must refuse it (default: all)


# --- reading and writing the format by hand ---------------------------------------------------
def split(data: bytes) -> tuple:
    """(header dict, payload bytes) of a safetensors file."""
    n = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + n]), data[8 + n:]


def pack(header: dict, payload: bytes) -> bytes:
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return len(raw).to_bytes(8, "little") + raw + payload


def sign(header: dict, payload: bytes, key: "bytes | None" = None) -> dict:
    """Recompute `digest` over the table, the document and the payload (length-prefixed)."""
    import hmac

    table = {name: [e.get("dtype"), e.get("shape"), e.get("data_offsets")]
             if isinstance(e, dict) else e
             for name, e in header.items() if name != "__metadata__"}
    parts = [json.dumps(table, sort_keys=True, separators=(",", ":")).encode(),
             header["__metadata__"]["deepgrad"].encode()]
    digest = hmac.new(key, digestmod=hashlib.sha256) if key else hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "little") + part)
    digest.update(payload)
    method = "hmac-sha256" if key else "sha256"
    header["__metadata__"]["digest"] = f"{method}:{digest.hexdigest()}"
    return header


def doc_of(header: dict) -> dict:
    return json.loads(header["__metadata__"]["deepgrad"])


def edit_doc(good: bytes, change, resign: bool = True) -> bytes:
    """Apply `change(doc)` to the deepgrad document (re-signed by default)."""
    header, payload = split(good)
    doc = doc_of(header)
    change(doc)
    header["__metadata__"]["deepgrad"] = json.dumps(doc)
    return pack(sign(header, payload) if resign else header, payload)


def edit_header(good: bytes, change, resign: bool = False) -> bytes:
    header, payload = split(good)
    change(header)
    return pack(sign(header, payload) if resign else header, payload)


def tensors(header: dict) -> list:
    return [k for k in header if k != "__metadata__"]


def _swap_offsets(header: dict) -> None:
    """Swap the data of two same-shape, same-dtype tensors (two 64x64 weights...)."""
    by_shape = {}
    for name in tensors(header):
        entry = header[name]
        by_shape.setdefault((entry["dtype"], tuple(entry["shape"])), []).append(name)
    pair = next(names for names in by_shape.values() if len(names) >= 2)
    a, b = header[pair[0]], header[pair[1]]
    a["data_offsets"], b["data_offsets"] = b["data_offsets"], a["data_offsets"]


def _first_model_tensor(header: dict) -> str:
    return next(k for k in tensors(header) if k.startswith("model/"))


def _first_matrix(header: dict) -> str:
    return next(k for k in tensors(header) if k.startswith("model/")
                and len(header[k]["shape"]) == 2 and len(set(header[k]["shape"])) == 2)


def _set_entry(key, value, which=None):
    def change(header):
        header[which(header) if which else _first_model_tensor(header)][key] = value
    return change


def _set_meta(key, value):
    def change(doc):
        doc["metadata"][key] = value
    return change


def _set_top(key, value):
    def change(doc):
        doc[key] = value
    return change


def _del_meta(key):
    def change(doc):
        del doc["metadata"][key]
    return change


def _first_layer_args(change):
    def edit(doc):
        change(doc["config"]["model"]["layers"][0]["args"])
    return edit


class _Payload:
    """Creates the marker file when unpickled: proof that something executed."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _pickle(marker: str, protocol: int) -> bytes:
    return pickle.dumps({"model/0.weight": _Payload(marker)}, protocol=protocol)


def _zip(marker: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", _pickle(marker, 2))
        archive.writestr("archive/version", "3\n")
    return buffer.getvalue()


def _npy(marker: str) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    return buffer.getvalue()


def _plain_safetensors() -> bytes:
    from safetensors.numpy import save

    return save({"weight": np.ones((2, 2), np.float32)})


# --- the corpus -------------------------------------------------------------------------------
def byte_cases(good: bytes, marker: str) -> list:
    """(name, bytes, problem regex) for every case that is an ordinary file."""
    header, payload = split(good)
    n = int.from_bytes(good[:8], "little")
    huge_tensor = {"dtype": "F32", "shape": [1 << 29], "data_offsets": [0, 1 << 31]}
    deep = "[" * 100_000 + "]" * 100_000
    nested = b'{"__metadata__":' + deep.encode() + b"}"
    cases = [
        # the 8-byte length and the header
        ("empty", b"", "truncated or not a checkpoint"),
        ("seven_bytes", good[:7], "truncated or not a checkpoint"),
        ("length_only", good[:8], "declared header size"),
        ("header_length_2_40", (1 << 40).to_bytes(8, "little") + good[8:], "exceeds the limit"),
        ("header_length_max", b"\xff" * 8 + good[8:], "exceeds the limit"),
        ("header_length_past_end", (len(good)).to_bytes(8, "little") + good[8:],
         "declared header size"),
        ("header_length_short", (n - 8).to_bytes(8, "little") + good[8:], "not valid JSON"),
        ("header_not_json", (6).to_bytes(8, "little") + b"{nope}" + good[14:],
         "not valid JSON"),
        ("header_array", (2).to_bytes(8, "little") + b"[]", "must be a JSON object"),
        ("header_not_utf8", (4).to_bytes(8, "little") + b"\xff\xfe{}", "not valid JSON"),
        ("header_nul_bytes", (8).to_bytes(8, "little") + b"\x00" * 8, "not valid JSON"),
        ("header_deeply_nested", len(nested).to_bytes(8, "little") + nested, "not valid JSON"),
        # sizes: truncation and trailing data
        ("truncated_half", good[:len(good) // 2], "truncated"),
        ("truncated_one_byte", good[:-1], "truncated"),
        ("trailing_byte", good + b"\x00", "trailing bytes"),
        ("trailing_megabyte", good + os.urandom(1 << 20), "trailing bytes"),
        # __metadata__
        ("no_metadata", edit_header(good, lambda h: h.pop("__metadata__")),
         "not a deepgrad checkpoint"),
        ("wrong_format", edit_header(good, lambda h: h["__metadata__"].update(format="x")),
         "not a deepgrad checkpoint"),
        ("metadata_not_object", edit_header(good, lambda h: h.update(__metadata__=[1])),
         "not a deepgrad checkpoint"),
        ("metadata_extra_entry", edit_header(good, lambda h: h["__metadata__"].update(x="1")),
         "malformed __metadata__"),
        ("digest_missing", edit_header(good, lambda h: h["__metadata__"].pop("digest")),
         "malformed __metadata__"),
        ("digest_unknown_method", edit_header(
            good, lambda h: h["__metadata__"].update(digest="md5:00")), "unknown digest method"),
        ("digest_not_string", edit_header(
            good, lambda h: h["__metadata__"].update(digest=5)), "malformed __metadata__"),
        ("plain_safetensors", _plain_safetensors(), "not a deepgrad checkpoint"),
        # the tensor table, not re-signed: the digest covers it
        ("offsets_swapped", edit_header(good, _swap_offsets), "SHA-256 mismatch"),
        ("f32_relabelled_i32", edit_header(good, _set_entry("dtype", "I32")),
         "SHA-256 mismatch"),
        ("shape_transposed", edit_header(good, lambda h: h[_first_matrix(h)].update(
            shape=h[_first_matrix(h)]["shape"][::-1])), "SHA-256 mismatch"),
        # the tensor table, structurally wrong (re-signed: the structure check remains)
        ("dtype_bf16", edit_header(good, _set_entry("dtype", "BF16"), True),
         "unsupported dtype"),
        ("dtype_number", edit_header(good, _set_entry("dtype", 7), True), "unsupported dtype"),
        ("dtype_object", edit_header(good, _set_entry("dtype", "O"), True), "unsupported dtype"),
        ("shape_negative", edit_header(good, _set_entry("shape", [-1, 2]), True),
         "malformed shape"),
        ("shape_float", edit_header(good, _set_entry("shape", [2.5]), True), "malformed shape"),
        ("shape_too_many_dims", edit_header(good, _set_entry("shape", [1] * 40), True),
         "malformed shape"),
        ("shape_huge", edit_header(good, _set_entry("shape", [1 << 31, 1 << 31]), True),
         "needs"),
        ("offsets_reversed", edit_header(good, lambda h: h[_first_model_tensor(h)].update(
            data_offsets=h[_first_model_tensor(h)]["data_offsets"][::-1]), True),
         "malformed data_offsets"),
        ("offsets_past_end", edit_header(good, lambda h: h[_first_model_tensor(h)].update(
            data_offsets=[len(payload), len(payload) + h[_first_model_tensor(h)][
                "data_offsets"][1] - h[_first_model_tensor(h)]["data_offsets"][0]]), True),
         "overlaps or leaves a gap|truncated"),
        ("offsets_overlap", edit_header(good, lambda h: _overlap(h), True),
         "overlaps or leaves a gap|needs"),
        ("entry_missing_key", edit_header(good, lambda h: h[_first_model_tensor(h)].pop(
            "shape"), True), "malformed header entry"),
        ("entry_extra_key", edit_header(good, _set_entry("extra", 1), True),
         "malformed header entry"),
        ("entry_not_object", edit_header(good, lambda h: h.update(
            {_first_model_tensor(h): "x"}), True), "malformed header entry"),
        ("huge_tensor_declared", pack(sign({"__metadata__": dict(
            header["__metadata__"]), "model/0.weight": huge_tensor}, b""), b""),
         "truncated"),
        # bytes of the payload and of the document, not re-signed
        ("payload_bit_flip", good[:-3] + bytes([good[-3] ^ 1]) + good[-2:], "SHA-256 mismatch"),
        ("document_edited", edit_doc(good, _set_top("epoch", 1), resign=False),
         "SHA-256 mismatch"),
        # other formats and hidden payloads
        ("pickle_protocol_2", _pickle(marker, 2), "pickle"),
        ("pickle_protocol_5", _pickle(marker, 5), "pickle"),
        ("pickle_after_header", pack({"__metadata__": {"format": "deepgrad.checkpoint"}},
                                     _pickle(marker, 2)), "malformed __metadata__"),
        ("torch_zip", _zip(marker), "zip archive"),
        ("numpy_npy", _npy(marker), "NumPy .npy"),
        ("hdf5", b"\x89HDF\r\n\x1a\n" + bytes(64), "HDF5"),
        ("text_file", b"model:\n  layers: []\n" * 10, "declared header size|exceeds"),
        # the document, re-signed: the schema check remains
        ("document_not_json", edit_header(good, lambda h: h["__metadata__"].update(
            deepgrad="{not json"), True), "not valid JSON"),
        ("document_array", edit_header(good, lambda h: h["__metadata__"].update(
            deepgrad="[]"), True), "must be a JSON object"),
        ("document_deep", edit_header(good, lambda h: h["__metadata__"].update(
            deepgrad='{"format_version": 2, "metadata": ' + deep + "}"), True),
         "not valid JSON|nested"),
        ("format_version_99", edit_doc(good, _set_top("format_version", 99)),
         "format version 99"),
        ("format_version_1_with_digest", edit_doc(good, _set_top("format_version", 1)),
         "format 1 files carry"),
        ("unknown_top_key", edit_doc(good, _set_top("surprise", 1)), "unknown keys"),
        ("model_a_string", edit_doc(good, _set_top("model", "Sequential")),
         r"model: expected a mapping"),
        ("model_key_missing_tensor", edit_doc(good, lambda d: d["model"]["keys"].append(
            "9.weight")), "listed in the metadata but not in the file"),
        ("stray_tensor", edit_doc(good, lambda d: d["model"]["keys"].pop()),
         "unknown tensors"),
        ("optimizer_missing_tensor", edit_doc(good, lambda d: d["optimizer"].update(
            state={"__tensor__": "nowhere"})), "refers to tensor 'nowhere'"),
        ("items_with_list_key", edit_doc(good, _set_top("metadata", {"x": {
            "__items__": [[[1], 2]]}})), "malformed '__items__'"),
        ("metadata_a_string", edit_doc(good, _set_top("metadata", "hello")),
         "metadata: expected a mapping"),
        ("epoch_negative", edit_doc(good, _set_top("epoch", -5)), "epoch: expected an integer"),
        ("epoch_10_30", edit_doc(good, _set_top("epoch", 10 ** 30)),
         "epoch: expected an integer"),
        ("epoch_a_float", edit_doc(good, _set_top("epoch", 2.5)), "epoch: expected an integer"),
        ("step_a_string", edit_doc(good, _set_top("step", "12")), "step: expected an integer"),
        ("metrics_strings", edit_doc(good, _set_top("metrics", {"loss": ["a"]})),
         r"metrics.loss: expected a number"),
        ("rng_garbage", edit_doc(good, lambda d: d["rng_states"].update(
            default={"bit_generator": "PCG64", "state": "x"})), "rng_states.default"),
        ("rng_unknown_kind", edit_doc(good, lambda d: d["rng_states"].update(
            default={"bit_generator": "Evil", "state": {}})), "rng_states.default"),
        ("history_wrong_types", edit_doc(good, _set_meta("history", [1, "x"])),
         r"metadata.history\[0\]: expected a mapping"),
        ("history_row_strings", edit_doc(good, _set_meta("history", [{"loss": "low"}])),
         r"metadata.history\[0\].loss: expected a number"),
        ("input_shape_string", edit_doc(good, _set_meta("input_shape", "28x28")),
         "metadata.input_shape"),
        ("input_shape_huge", edit_doc(good, _set_meta("input_shape", [100000, 100000, 1000])),
         "metadata.input_shape"),
        ("input_shape_zero", edit_doc(good, _set_meta("input_shape", [0])),
         "metadata.input_shape"),
        ("loader_state_missing", edit_doc(good, _del_meta("loader")), "metadata.loader",
         ("resume",)),
        ("loader_state_garbage", edit_doc(good, _set_meta("loader", {"epoch": 1, "position": 0,
                                                                     "generator_state": 3})),
         "metadata.loader.generator_state"),
        ("best_value_nan", edit_doc(good, lambda d: d["metadata"]["best"].update(
            value=float("nan"))), "metadata.best.value: expected a finite number"),
        ("elapsed_infinite", edit_doc(good, _set_meta("elapsed", float("inf"))),
         "metadata.elapsed"),
        ("callbacks_not_list", edit_doc(good, lambda d: d["metadata"].update(
            callbacks={"a": d["metadata"]["callbacks"]})),
         "metadata.callbacks: expected a list"),
        # the stored config, re-signed
        ("config_huge_layer", edit_doc(good, _first_layer_args(
            lambda a: a.update(out_features=3_000_000))), "more than the checkpoint stores"),
        ("config_huge_square_layer", edit_doc(good, lambda d: [a.update(
            in_features=100_000, out_features=100_000) for a in [
                d["config"]["model"]["layers"][3]["args"]]]), "more than the checkpoint stores"),
        ("config_unknown_layer", edit_doc(good, lambda d: d["config"]["model"]["layers"][1]
                                          .update(type="Tanhh")), "unknown layer type"),
        ("config_not_mapping", edit_doc(good, _set_top("config", [1, 2])),
         "config: expected a mapping"),
        ("layer_class_changed", edit_doc(good, lambda d: d["config"]["model"]["layers"]
                                         .__setitem__(1, {"type": "ReLU", "args": {}})),
         "is a Tanh in the checkpoint but a ReLU"),
    ]
    return cases


def _overlap(header: dict) -> None:
    names = sorted(tensors(header), key=lambda k: header[k]["data_offsets"][0])
    a, b = header[names[0]], header[names[1]]
    length = b["data_offsets"][1] - b["data_offsets"][0]
    b["data_offsets"] = [a["data_offsets"][0], a["data_offsets"][0] + length]


def build_corpus(good_path: str, out_dir: str) -> list:
    """Write the corpus into `out_dir`; return the cases (files, FIFOs, links, sparse files).
    The marker file `out_dir/EXECUTED` must never appear."""
    os.makedirs(out_dir, exist_ok=True)
    marker = os.path.join(out_dir, MARKER_NAME)
    with open(good_path, "rb") as stream:
        good = stream.read()
    cases = []
    for name, data, problem, *commands in byte_cases(good, marker):
        path = os.path.join(out_dir, f"{name}.safetensors")
        with open(path, "wb") as stream:
            stream.write(data)
        cases.append(Case(name, path, problem, *commands))

    def special(name, make, problem):
        path = os.path.join(out_dir, f"{name}.safetensors")
        make(path)
        cases.append(Case(name, path, problem))

    special("fifo", os.mkfifo, "named pipe")
    special("symlink_dev_zero", lambda p: os.symlink("/dev/zero", p), "character device")
    special("symlink_dev_urandom", lambda p: os.symlink("/dev/urandom", p),
            "character device")
    special("symlink_dangling", lambda p: os.symlink(p + ".nowhere", p),
            "no such checkpoint|no checkpoint to resume")
    special("symlink_loop", lambda p: os.symlink(p, p), "no such checkpoint|no checkpoint to "
            "resume")
    special("directory", os.mkdir, "directory")
    special("sparse_zeros_2gib", lambda p: _sparse(p, b"", 2 << 30), "not valid JSON|exceeds")
    special("sparse_tail_2gib", lambda p: _sparse(p, good, len(good) + (2 << 30)),
            "more than the limit|trailing")
    declared = sign({"__metadata__": split(good)[0]["__metadata__"],
                     "model/0.weight": {"dtype": "F32", "shape": [3 << 28],
                                        "data_offsets": [0, 3 << 30]}}, b"")
    special("sparse_declared_3gib", lambda p: _sparse(p, pack(declared, b""),
                                                      len(pack(declared, b"")) + (3 << 30)),
            "more than the limit")
    return cases


def _sparse(path: str, head: bytes, size: int) -> None:
    with open(path, "wb") as stream:
        stream.write(head)
        stream.truncate(size)


# --- running every command on every case --------------------------------------------------------
COMMANDS = ("info", "eval", "export", "predict", "resume")


def command_line(command: str, path: str, work: str, config: str, sample: str) -> tuple:
    """(argv for deepgrad.cli.main, the path the message must name)."""
    if command == "resume":
        run_dir = os.path.join(work, "resume", os.path.basename(path).split(".")[0])
        last = os.path.join(run_dir, "checkpoints", "last.safetensors")
        os.makedirs(os.path.dirname(last), exist_ok=True)
        if not os.path.lexists(last):
            os.symlink(path, last)
        return ["train", config, "--out", run_dir, "--resume", "-q"], last
    extra = {"export": ["--onnx", os.path.join(work, "out.onnx")], "predict": [sample]}
    return [command, path, *extra.get(command, [])], path


def run_corpus(cases: list, work: str, config: str, commands=COMMANDS) -> dict:
    """Every command on every case, in this process: {"runs": [...], "max_rss_mb": ...}."""
    import contextlib
    import time

    from deepgrad.cli import main

    sample = os.path.join(work, "sample.npy")
    np.save(sample, np.zeros((1, 2), np.float32))
    runs = []
    for case in cases:
        for command in commands:
            if case.commands and command not in case.commands:
                continue
            argv, named = command_line(command, case.path, work, config, sample)
            out, err = io.StringIO(), io.StringIO()
            start = time.perf_counter()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = main(argv)
                except SystemExit as exit_:
                    code = exit_.code
            runs.append({"case": case.name, "command": command, "code": code,
                         "seconds": time.perf_counter() - start, "named": named,
                         "peak_mb": peak_rss_mb(),
                         "problem": case.problem, "stderr": err.getvalue()})
    return {"runs": runs, "max_rss_mb": peak_rss_mb()}


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: on Linux ru_maxrss keeps
    the peak of the parent that forked this process (a test runner of 1 GB)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":   # python hostile.py GOOD_CHECKPOINT WORK_DIR CONFIG [COMMAND...]
    import sys

    good_path, work_dir, config_path = sys.argv[1:4]
    corpus = build_corpus(good_path, os.path.join(work_dir, "corpus"))
    print(json.dumps(run_corpus(corpus, work_dir, config_path,
                                tuple(sys.argv[4:]) or COMMANDS)))
