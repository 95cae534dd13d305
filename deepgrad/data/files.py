"""User data from .npz and .csv files, as arrays `(features, labels)`.

Only numbers are read: .npz archives are opened with `allow_pickle=False`, so a file can never
run code, and CSV cells must parse as floats.
"""

from __future__ import annotations

import csv
import math
import numbers
import os

import numpy as np


def _label_dtype(labels: np.ndarray, label_dtype, path: str) -> np.ndarray:
    if label_dtype == "auto":
        # whole-number labels are class indices; anything else is a regression target
        integral = labels.dtype.kind in "iub" or bool(np.all(np.mod(labels, 1) == 0))
        return labels.astype(np.int64 if integral else np.float32)
    dtype = np.dtype(label_dtype)
    if dtype.kind in "iu" and labels.dtype.kind == "f" and not np.all(np.mod(labels, 1) == 0):
        bad = labels[np.mod(labels, 1) != 0][0]
        raise ValueError(f"{path}: label {bad} is not a whole number; cannot convert the labels "
                         f"to {dtype}")
    return labels.astype(dtype)


def load_npz(path, features: str = "x", labels: str | None = "y",
             label_dtype="auto") -> tuple:
    """Arrays from a NumPy .npz archive.

    Args:
        path: the .npz file.
        features, labels: the names of the arrays in the archive (labels=None: features only).
        label_dtype: "auto" (int64 for whole numbers, else float32) or a dtype.

    Returns:
        `(features, labels)`, or `(features,)` when `labels` is None. Float features are
        float32 unless stored as float64.
    """
    path = os.fspath(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except ValueError as error:
        raise ValueError(f"load_npz: {path} cannot be read without unpickling Python objects "
                         f"or is not an .npz archive ({error})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"load_npz: {path} is a single .npy array, expected an .npz archive "
                         "holding named arrays (np.savez(path, x=..., y=...))")
    with archive:
        wanted = [features] + ([labels] if labels is not None else [])
        missing = [key for key in wanted if key not in archive.files]
        if missing:
            raise KeyError(f"load_npz: {path} has no array named {missing[0]!r}; it holds "
                           f"{sorted(archive.files)} (choose with features=..., labels=...)")
        try:
            x = archive[features]
            y = archive[labels] if labels is not None else None
        except ValueError as error:
            raise ValueError(f"load_npz: {path}: {error} (object arrays are refused)") from None
    if x.dtype.kind not in "fiub":
        raise TypeError(f"load_npz: {path}: array {features!r} has dtype {x.dtype}, expected "
                        "numbers")
    if x.dtype.kind == "f" and x.dtype != np.float64:
        x = x.astype(np.float32)
    if y is None:
        return (x,)
    if y.dtype.kind not in "fiub":
        raise TypeError(f"load_npz: {path}: array {labels!r} has dtype {y.dtype}, expected "
                        "numbers")
    if y.shape[:1] != x.shape[:1]:
        raise ValueError(f"load_npz: {path}: {features!r} has {x.shape[0]} samples but "
                         f"{labels!r} has {y.shape[0] if y.ndim else 'no sample axis'}")
    return x, _label_dtype(y, label_dtype, f"load_npz: {path}")


def _parse_float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value


def load_csv(path, label_column=-1, header="auto", delimiter: str = ",",
             label_dtype="auto") -> tuple:
    """A numeric CSV file as `(features (N, D) float32, labels (N,))`.

    Args:
        path: the file. Blank lines and lines starting with '#' are skipped.
        label_column: the column of the labels, by index (negative counts from the end) or by
            name (needs a header); None returns `(features,)` with every column.
        header: True (the first row holds column names), False, or "auto": the first row is
            a header when none of its cells is a number.
        delimiter: the column separator.
        label_dtype: "auto" (int64 when every label is a whole number, else float32) or a
            dtype.

    Raises:
        ValueError naming the file, line and column of a non-numeric or non-finite cell, or of
        a row with the wrong number of columns.
    """
    path = os.fspath(path)
    with open(path, newline="") as stream:
        rows = list(_rows(stream, delimiter))
    if not rows:
        raise ValueError(f"load_csv: {path} holds no rows")
    names = None
    first_line, first = rows[0]
    if header == "auto":
        header = all(_parse_float(cell) is None for cell in first)
    if header:
        names = [cell.strip() for cell in first]
        rows = rows[1:]
        if not rows:
            raise ValueError(f"load_csv: {path} has a header (line {first_line}) but no data")
    width = len(rows[0][1])
    values = np.empty((len(rows), width), dtype=np.float64)
    for r, (line, row) in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"load_csv: {path}, line {line}: {len(row)} columns, expected "
                             f"{width} like line {rows[0][0]}")
        for c, cell in enumerate(row):
            value = _parse_float(cell)
            if value is None or not math.isfinite(value):
                column = f"column {c}" + (f" ({names[c]!r})" if names else "")
                reason = "not a number" if value is None else "not finite"
                raise ValueError(f"load_csv: {path}, line {line}, {column}: {cell.strip()!r} "
                                 f"is {reason}")
            values[r, c] = value
    if label_column is None:
        return (values.astype(np.float32),)
    index = _column_index(label_column, names, width, path)
    features = np.delete(values, index, axis=1).astype(np.float32)
    return features, _label_dtype(values[:, index], label_dtype, f"load_csv: {path}")


def _rows(stream, delimiter: str):
    reader = csv.reader(stream, delimiter=delimiter)
    for row in reader:
        if not row or all(not cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        yield reader.line_num, row


def _column_index(label_column, names, width: int, path: str) -> int:
    if isinstance(label_column, str):
        if names is None:
            raise ValueError(f"load_csv: label_column={label_column!r} is a name but {path} "
                             "has no header row; pass a column index or header=True")
        if label_column not in names:
            raise ValueError(f"load_csv: {path} has no column {label_column!r}; the columns "
                             f"are {names}")
        return names.index(label_column)
    if not isinstance(label_column, numbers.Integral) or not -width <= label_column < width:
        raise ValueError(f"load_csv: label_column={label_column!r} is not a column of {path} "
                         f"({width} columns)")
    return int(label_column) % width
