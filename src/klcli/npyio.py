"""NPY and NPZ arrays, read without surprises.

The header is parsed first and checked against the bytes that follow it and
against the limits of :mod:`klcli.reading` (the size of an array, the
decompressed size of an ``.npz`` member) before anything is allocated, so a
10-byte file that claims a shape of ``(2**40,)`` is refused, not attempted.
Arrays of Python objects are refused: nothing is ever unpickled. Every
failure is an :class:`~klcli.errors.InputError` naming the file (and member).

>>> import io
>>> buffer = io.BytesIO(); np.save(buffer, np.arange(3.0))
>>> load(buffer.getvalue(), name="a.npy").tolist()
[0.0, 1.0, 2.0]
>>> load(b"\\x93NUMPY\\x01\\x00\\x01\\x00{", name="b.npy")
Traceback (most recent call last):
klcli.errors.InputError: b.npy: a malformed NPY header (it ends before the header does); expected an array written by numpy.save
"""

from __future__ import annotations

import io
import math
import os
import warnings
import zipfile
from typing import IO, cast

import numpy as np

from klcli.errors import InputError
from klcli.reading import ARRAY_BYTES, MEMBER_BYTES, human_size, reading

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
_NPY = "an array written by numpy.save"
_NPZ = "an .npz archive of arrays written by numpy.savez"


def load(source: str | bytes, *, name: str, key: str | None = None) -> np.ndarray:
    """The array in an NPY file, or member ``key`` of an NPZ file (path or bytes).

    ``key`` may be left out when the archive holds a single array. The result
    keeps the file's dtype (numbers, booleans or text), never objects.
    """
    head = _head(source, name)
    if head.startswith(NPY_MAGIC):
        if key is not None:
            raise InputError(f"{name}: a key ({key!r}) applies to .npz archives; this is a single .npy array")
        if isinstance(source, bytes):
            return _read_array(io.BytesIO(source), name=name, available=len(source))
        with reading(name, _NPY), open(source, "rb") as handle:
            return _read_array(handle, name=name, available=os.fstat(handle.fileno()).st_size)
    if head.startswith(ZIP_MAGIC):
        return _read_member(source, name=name, key=key)
    raise InputError(f"{name}: starts neither like an NPY array nor like an NPZ archive; expected {_NPY} or {_NPZ}")


def _head(source: str | bytes, name: str) -> bytes:
    if isinstance(source, bytes):
        head = source[:6]
    else:
        with reading(name, _NPY), open(source, "rb") as handle:
            head = handle.read(6)
    if not head.strip():
        raise InputError(f"{name}: empty file")
    return head


def read_header(stream: IO[bytes], name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` from an NPY header; the stream is left at the data.

    >>> header = b"{'descr': ',', 'fortran_order': False, 'shape': (3,), }\\n"
    >>> read_header(io.BytesIO(b"\\x93NUMPY\\x01\\x00" + bytes([len(header), 0]) + header), "c.npy")
    Traceback (most recent call last):
    klcli.errors.InputError: c.npy: a malformed NPY header (it is not the dictionary of descr, fortran_order and shape that numpy writes); expected an array written by numpy.save
    """
    from numpy.lib import format as npy_format

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy's notes on headers written by Python 2 are about its own speed
            version = npy_format.read_magic(stream)
            if version == (1, 0):
                shape, fortran, dtype = npy_format.read_array_header_1_0(stream)
            elif version == (2, 0):
                shape, fortran, dtype = npy_format.read_array_header_2_0(stream)
            else:
                raise InputError(f"{name}: NPY format version {version[0]}.{version[1]}; expected version 1.0 or 2.0 ({_NPY})")
    except InputError:
        raise
    except Exception as error:  # ValueError, SyntaxError, TokenError, TypeError...: numpy parses the header as Python
        raise InputError(f"{name}: a malformed NPY header ({_header_problem(error)}); expected {_NPY}") from error
    return tuple(shape), bool(fortran), dtype


def _header_problem(error: Exception) -> str:
    if "EOF" in str(error) or type(error).__name__ == "TokenError":
        return "it ends before the header does"
    return "it is not the dictionary of descr, fortran_order and shape that numpy writes"


def _read_array(stream: IO[bytes], *, name: str, available: int) -> np.ndarray:
    """Read the array after checking its header against the bytes ``available`` in the stream."""
    shape, fortran, dtype = read_header(stream, name)
    if dtype.hasobject:
        raise InputError(f"{name}: holds Python objects; only arrays of numbers or text are read (pickles are never loaded)")
    if dtype.names is not None or dtype.subdtype is not None:
        raise InputError(f"{name}: a structured array (dtype {dtype}); expected a plain array of numbers")
    count = math.prod(shape)
    needed = count * dtype.itemsize
    left = available - stream.tell()
    if needed > left:
        raise InputError(
            f"{name}: truncated: the header promises {human_size(needed)} of data (shape {shape}, dtype {dtype}) but {human_size(max(left, 0))} follow"
        )
    ARRAY_BYTES.check(count * 8, name, f"an array of shape {shape}")
    array = np.empty(count, dtype=dtype)
    if needed:
        with reading(name, _NPY):
            view = array.data.cast("B")  # the array's own buffer (memoryview(array))
            filled = 0
            while filled < needed:
                # every stream here (BytesIO, a buffered file, a zip member) is a BufferedIOBase; IO[bytes] lacks readinto
                read = cast(io.BufferedIOBase, stream).readinto(view[filled:])
                if not read:
                    raise EOFError
                filled += read
    if fortran:
        return array.reshape(shape[::-1]).transpose()
    return array.reshape(shape)


def npz_member(archive: zipfile.ZipFile, key: str | None, *, name: str, expected: str, choose: str) -> zipfile.ZipInfo:
    """The member ``key`` of an NPZ archive (the only one when ``key`` is None), checked to be a plain ``.npy`` file.

    ``name`` names the archive in errors, ``expected`` says what was expected, ``choose`` how to pick a member.
    """
    members = {info.filename.removesuffix(".npy"): info for info in archive.infolist() if not info.is_dir()}
    if not members:
        raise InputError(f"{name}: an archive with no arrays; expected {expected}")
    if key is None:
        if len(members) != 1:
            raise InputError(f"{name}: holds several arrays ({', '.join(members)}): choose one with {choose}")
        key = next(iter(members))
    elif key not in members:
        raise InputError(f"{name}: no array named {key!r} (it holds {', '.join(members)})")
    info = members[key]
    where = f"{name}, member {key!r}"
    if not info.filename.endswith(".npy"):
        raise InputError(f"{where} is not an NPY array; expected {expected}, whose members are .npy files")
    if info.flag_bits & 0x1:
        raise InputError(f"{where} is encrypted (password-protected); klcli reads only unencrypted archives")
    return info


def _read_member(source: str | bytes, *, name: str, key: str | None) -> np.ndarray:
    with reading(name, _NPZ):
        archive = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
        with archive:
            info = npz_member(archive, key, name=name, expected=_NPZ, choose="--key")
            key = info.filename.removesuffix(".npy")
            where = f"{name}, member {key!r}"
            MEMBER_BYTES.check(info.file_size, where, "its decompressed size")
            with archive.open(info) as stream:
                return _read_array(stream, name=where, available=info.file_size)
