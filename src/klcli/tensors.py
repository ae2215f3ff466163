"""Arrays stored in NPY, NPZ and safetensors files, read by rows without loading them whole.

A :class:`Tensor` describes one stored array (its name for messages, shape and
dtype) after its header has been checked against the size of the file, so a
header that claims more data than the file holds is refused before anything is
allocated. :meth:`Tensor.reader` then reads its elements in order into a
buffer the caller reuses: plain reads, not a memory map, so memory stays
bounded by the buffer whatever the size of the file.

Sources name a tensor like an NPZ member: ``logits.safetensors:teacher``,
``run.npz:logits`` (the name may be left out when the file holds one array).
safetensors files are parsed here (an 8-byte header length, a JSON header of
``dtype``, ``shape`` and ``data_offsets``, then the data), which is what lets
rows be streamed; their dtypes F16, BF16, F32 and F64 are read as floats,
integer and boolean dtypes for targets and masks.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "x.npy")
>>> np.save(path, np.arange(6, dtype=np.float32).reshape(2, 3))
>>> t = open_tensor(path)
>>> t.shape, t.dtype.name, t.rows, t.width
((2, 3), 'float32', 2, 3)
>>> read_array(t).tolist()
[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
"""

from __future__ import annotations

import json
import math
import os
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from klcli.errors import InputError

#: safetensors dtypes and the numpy dtype of their stored bytes (bfloat16 is read as uint16 bits).
SAFETENSORS_DTYPES = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "BF16": "<u2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U64": "<u8",
    "U32": "<u4",
    "U16": "<u2",
    "U8": "u1",
    "BOOL": "?",
}
#: A safetensors header larger than this is refused (the safetensors package's own limit).
MAX_HEADER_BYTES = 100_000_000
#: Tensor file extensions this module reads.
TENSOR_EXTENSIONS = (".npy", ".npz", ".safetensors")


class _Stream(Protocol):
    """What :attr:`Tensor.open` returns: a binary stream read into buffers."""

    def readinto(self, buffer: memoryview, /) -> int | None: ...

    def close(self) -> None: ...


@dataclass
class Tensor:
    """One stored array, checked against its file, ready to be read in order.

    ``dtype`` is the dtype of the stored elements; ``bfloat16`` says they are
    bfloat16 bit patterns held as ``uint16``. ``open`` returns a binary stream
    positioned at the first element (or None for ``array``, an in-memory tensor).
    """

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    open: Callable[[], _Stream] | None = None
    bfloat16: bool = False
    array: np.ndarray | None = None

    @property
    def width(self) -> int:
        """Length of the last axis (the categories of each row)."""
        return self.shape[-1] if self.shape else 1

    @property
    def rows(self) -> int:
        """Number of rows: the product of every axis but the last (1 for a 1-D array)."""
        return math.prod(self.shape[:-1])

    @property
    def is_float(self) -> bool:
        return self.bfloat16 or self.dtype.kind == "f"

    def describe_row(self, row: int) -> str:
        """``row 7``, or ``row 7 (batch 1, position 3)`` for a 3-D array."""
        if len(self.shape) == 3:
            batch, position = divmod(row, self.shape[1])
            return f"row {row} (batch {batch}, position {position})"
        return f"row {row}"

    def reader(self) -> "ElementReader":
        """A reader of the elements in order (close it, or use it as a context manager)."""
        if self.array is not None:
            return ElementReader(self, None)
        assert self.open is not None, "a tensor is either in memory or opened from its file"
        return ElementReader(self, self.open())


@dataclass(eq=False)
class ElementReader:
    """Sequential reads of a tensor's elements into caller-owned buffers."""

    tensor: Tensor
    stream: _Stream | None
    position: int = 0

    def read(self, out: np.ndarray) -> np.ndarray:
        """Fill the C-contiguous ``out`` (the stored dtype) with the next ``out.size`` elements."""
        t = self.tensor
        if t.array is not None:
            flat = t.array.reshape(-1)
            out.reshape(-1)[...] = flat[self.position : self.position + out.size]
        else:
            assert self.stream is not None, "a tensor not in memory is read from its stream"
            view = out.reshape(-1).data.cast("B")
            done = 0
            while done < len(view):
                try:
                    got = self.stream.readinto(view[done:])
                except OSError as error:
                    raise InputError(f"{t.name}: cannot read: {error.strerror or error}") from None
                if not got:
                    raise InputError(
                        f"{t.name}: the file ends early, after {self.position + done // t.dtype.itemsize} of {math.prod(t.shape)} elements"
                    )
                done += got
        self.position += out.size
        return out

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()

    def __enter__(self) -> "ElementReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def to_float(raw: np.ndarray, tensor: Tensor, out: np.ndarray) -> np.ndarray:
    """Convert stored elements to the float array ``out`` (bfloat16 bits become floats exactly)."""
    if tensor.bfloat16:
        bits = np.left_shift(raw.astype(np.uint32), 16)
        np.copyto(out, bits.view(np.float32))
    else:
        np.copyto(out, raw, casting="unsafe")
    return out


# ---------------------------------------------------------------------------
# Opening


def split_tensor_source(text: str) -> tuple[str, str | None] | None:
    """``(path, name)`` when ``text`` is a tensor file, or ``FILE.npz:NAME`` / ``FILE.safetensors:NAME``.

    Returns None for anything else (another file type, a spec, a list of numbers).

    >>> split_tensor_source("no-such-file.npy") is None
    True
    """
    if os.path.isfile(text):
        if os.path.splitext(text)[1].lower() in TENSOR_EXTENSIONS:
            return text, None
        return None
    path, sep, name = text.rpartition(":")
    if sep and name and os.path.isfile(path) and os.path.splitext(path)[1].lower() in (".npz", ".safetensors"):
        return path, name
    return None


def open_tensor(text: str, key: str | None = None) -> Tensor | None:
    """The :class:`Tensor` a source names, or None when it is not a tensor file.

    ``key`` (``--key``) names the array of an NPZ or safetensors file when the
    source does not.
    """
    found = split_tensor_source(text)
    if found is None:
        return None
    path, name = found
    if name is not None and key is not None and key != name:
        raise InputError(f"{text}: names the array {name!r} but --key says {key!r}")
    name = name or key
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".npy":
            if name is not None:
                raise InputError(f"{path}: --key applies to .npz and .safetensors files; an .npy file holds a single array")
            return _open_npy(path)
        if ext == ".npz":
            return _open_npz(path, name)
        return _open_safetensors(path, name)
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror or error}") from None


def read_array(tensor: Tensor, dtype=None) -> np.ndarray:
    """The whole tensor as an array of its shape (floats as ``dtype``, float64 by default).

    Integer and boolean tensors keep their dtype unless ``dtype`` is given. The
    size is checked against :data:`klcli.reading.ARRAY_BYTES` first (streamed
    rows need no such limit).
    """
    from klcli.reading import ARRAY_BYTES

    ARRAY_BYTES.check(math.prod(tensor.shape) * 8, tensor.name, f"an array of shape {tensor.shape} (as float64)")
    raw = np.empty(tensor.shape, dtype=tensor.dtype)
    with tensor.reader() as reader:
        reader.read(raw)
    if tensor.is_float or dtype is not None:
        return to_float(raw, tensor, np.empty(tensor.shape, dtype=dtype or np.float64))
    return raw


def _check_dtype(dtype: np.dtype, name: str) -> np.dtype:
    if not (np.issubdtype(dtype, np.number) or dtype == np.bool_) or np.iscomplexobj(np.empty(0, dtype)):
        raise InputError(f"{name}: expected a real numeric array, got dtype {dtype}")
    return dtype


def _read_npy_header(stream, name: str, available: int) -> tuple[tuple[int, ...], np.dtype, bool, int]:
    """Shape, dtype, Fortran order and header length of an NPY stream holding ``available`` bytes.

    The header is parsed by :func:`klcli.npyio.read_header`; the data it announces must be in the file.
    """
    from klcli.npyio import read_header

    shape, fortran, dtype = read_header(stream, name)
    if dtype.hasobject:
        raise InputError(f"{name}: holds Python objects; only numeric arrays are read (pickles are never loaded)")
    if dtype.names is not None or dtype.subdtype is not None:
        raise InputError(f"{name}: a structured array (dtype {dtype}); expected a plain array of numbers")
    _check_dtype(dtype, name)
    header = stream.tell()
    needed = math.prod(shape) * dtype.itemsize
    if header + needed > available:
        raise InputError(
            f"{name}: truncated: the header promises {_size(needed)} of data (shape {shape}, dtype {dtype}) but {_size(max(0, available - header))} follow"
        )
    return tuple(shape), dtype, fortran, header


def _size(size: int) -> str:
    from klcli.reading import human_size

    return human_size(size)


def _open_npy(path: str) -> Tensor:
    from klcli.npyio import NPY_MAGIC
    from klcli.reading import reading

    with reading(path, "an array written by numpy.save"), open(path, "rb") as handle:
        head = handle.read(6)
        if not head.strip():
            raise InputError(f"{path}: empty file")
        if not head.startswith(NPY_MAGIC):
            raise InputError(f"{path}: starts neither like an NPY array nor like an NPZ archive; expected an array written by numpy.save")
        handle.seek(0)
        shape, dtype, fortran, header = _read_npy_header(handle, path, os.fstat(handle.fileno()).st_size)
    if fortran and len(shape) > 1:  # rows are not contiguous: read whole (rare: numpy writes C order)
        return Tensor(path, shape, dtype, array=np.ascontiguousarray(_whole_npy(path)))

    def open_at_data():
        stream = open(path, "rb", buffering=0)
        stream.seek(header)
        return stream

    return Tensor(path, shape, dtype, open=open_at_data)


def _whole_npy(path: str, key: str | None = None) -> np.ndarray:
    from klcli.npyio import load

    return load(path, name=path, key=key)


def _open_npz(path: str, name: str | None) -> Tensor:
    from klcli.npyio import npz_member
    from klcli.reading import reading

    expected = "an .npz archive of arrays written by numpy.savez"
    with reading(path, expected), zipfile.ZipFile(path) as archive:
        info = npz_member(archive, name, name=path, expected=expected, choose=f"{path}:NAME or --key")
        name = info.filename.removesuffix(".npy")
        label = f"{path}:{name}"
        with archive.open(info) as stream:
            shape, dtype, fortran, header = _read_npy_header(stream, label, info.file_size)
    if fortran and len(shape) > 1:
        return Tensor(label, shape, dtype, array=np.ascontiguousarray(_whole_npy(path, name)))

    def open_at_data():
        archive = zipfile.ZipFile(path)
        stream = archive.open(info)
        stream.read(header)
        return _ClosingBoth(stream, archive)

    return Tensor(label, shape, dtype, open=open_at_data)


class _ClosingBoth:
    """A member stream that also closes its archive."""

    def __init__(self, stream, archive) -> None:
        self.stream, self.archive = stream, archive

    def readinto(self, buffer) -> int:
        try:
            return self.stream.readinto(buffer)
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise InputError(f"{self.archive.filename}: the archive is damaged ({error})") from None

    def close(self) -> None:
        self.stream.close()
        self.archive.close()


def _open_safetensors(path: str, name: str | None) -> Tensor:
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            raise InputError(f"{path}: not a valid safetensors file (shorter than its 8-byte header length)")
        (length,) = struct.unpack("<Q", head)
        if length > MAX_HEADER_BYTES or 8 + length > size:
            raise InputError(
                f"{path}: not a valid safetensors file (its header length {length:,} exceeds the file or the {MAX_HEADER_BYTES:,}-byte limit)"
            )
        text = handle.read(length)
    try:
        header = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise InputError(f"{path}: not a valid safetensors file (its header is not JSON: {error})") from None
    if not isinstance(header, dict):
        raise InputError(f"{path}: not a valid safetensors file (its header is not a JSON object)")
    header.pop("__metadata__", None)
    data_size = size - 8 - length
    entries = {key: _safetensors_entry(path, key, value, data_size) for key, value in header.items()}
    spans = sorted((begin, end, key) for key, (_, _, begin, end) in entries.items())
    position = 0
    for begin, end, key in spans:  # tensors tile the data: no gap, no overlap (as the safetensors package checks)
        if begin != position:
            raise InputError(
                f"{path}:{key}: data_offsets start at {begin} where the previous tensor ends at {position}: the header does not describe the file"
            )
        position = end
    if position != data_size:
        raise InputError(f"{path}: the header describes {position:,} bytes of data but the file holds {data_size:,}")
    if name is None:
        if len(entries) != 1:
            raise InputError(f"{path}: holds {len(entries)} tensors ({', '.join(sorted(entries)) or 'none'}): choose one with {path}:NAME")
        name = next(iter(entries))
    elif name not in entries:
        raise InputError(f"{path}: no tensor named {name!r} (it holds {', '.join(sorted(entries)) or 'none'})")
    shape, dtype_name, begin, _ = entries[name]
    start = 8 + length + begin

    def open_at_data():
        stream = open(path, "rb", buffering=0)
        stream.seek(start)
        return stream

    dtype = np.dtype(SAFETENSORS_DTYPES[dtype_name])
    return Tensor(f"{path}:{name}", shape, dtype, open=open_at_data, bfloat16=dtype_name == "BF16")


def _safetensors_entry(path: str, key: str, entry, data_size: int):
    """``(shape, dtype, begin, end)`` of one header entry, checked against the data size."""
    label = f"{path}:{key}"
    if not isinstance(entry, dict):
        raise InputError(f"{label}: the header entry is not an object")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in SAFETENSORS_DTYPES:
        raise InputError(f"{label}: unsupported dtype {dtype!r} (klcli reads {', '.join(SAFETENSORS_DTYPES)})")
    if not (isinstance(shape, list) and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)):
        raise InputError(f"{label}: the shape {shape!r} is not a list of non-negative integers")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(n, int) and not isinstance(n, bool) for n in offsets)):
        raise InputError(f"{label}: data_offsets {offsets!r} is not a pair of integers")
    begin, end = offsets
    needed = math.prod(shape) * np.dtype(SAFETENSORS_DTYPES[dtype]).itemsize
    if not 0 <= begin <= end <= data_size:
        raise InputError(f"{label}: data_offsets [{begin}, {end}] lie outside the {data_size:,} bytes of data in the file")
    if end - begin != needed:
        raise InputError(f"{label}: shape {tuple(shape)} of {dtype} needs {needed:,} bytes but data_offsets span {end - begin:,}")
    return tuple(shape), dtype, begin, end
