"""A tiny protobuf wire-format reader and writer: enough for Magenta bundles and TF checkpoints.

Only the wire format is handled (varints, fixed32/64, length-delimited fields); the caller knows
the schema and picks fields by number. This keeps TensorFlow and the protobuf runtime out of
the engine: a `.mag` file is read with nothing but the standard library and numpy.
"""
from __future__ import annotations

import struct
from collections import defaultdict

import numpy as np

from .errors import BundleError

VARINT, FIXED64, BYTES, FIXED32 = 0, 1, 2, 5


class WireError(BundleError):
    """Bytes that are not a well-formed protobuf message (truncated or another format)."""


def read_varint(buf, pos: int) -> tuple[int, int]:
    """Decode one base-128 varint at `pos`; returns (value, position after it)."""
    value, shift = 0, 0
    while True:
        if pos >= len(buf):
            raise WireError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise WireError("varint longer than 10 bytes")


def iter_fields(buf):
    """Yield (field_number, wire_type, value) for each field of a serialized message.

    Varint and fixed values come back as unsigned ints; length-delimited ones as a memoryview
    into `buf`, so large tensors are never copied while the message is walked.
    """
    view = memoryview(buf)
    pos, end = 0, len(view)
    while pos < end:
        key, pos = read_varint(view, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0")
        if wire == VARINT:
            value, pos = read_varint(view, pos)
        elif wire == BYTES:
            size, pos = read_varint(view, pos)
            if pos + size > end:
                raise WireError(f"field {number} runs past the end of the message")
            value, pos = view[pos:pos + size], pos + size
        elif wire in (FIXED32, FIXED64):
            width = 4 if wire == FIXED32 else 8
            if pos + width > end:
                raise WireError(f"field {number} runs past the end of the message")
            value = int.from_bytes(view[pos:pos + width], "little")
            pos += width
        else:
            raise WireError(f"unsupported wire type {wire} in field {number}")
        yield number, wire, value


def parse(buf) -> dict[int, list]:
    """All fields of a message grouped by number, in order: {number: [(wire_type, value), ...]}."""
    fields = defaultdict(list)
    for number, wire, value in iter_fields(buf):
        fields[number].append((wire, value))
    return fields


def first_bytes(fields: dict, number: int, default: bytes = b"") -> bytes:
    """The last occurrence of a length-delimited field (protobuf's 'last one wins'), as bytes."""
    values = [v for w, v in fields.get(number, []) if w == BYTES]
    return bytes(values[-1]) if values else default


def all_bytes(fields: dict, number: int) -> list[bytes]:
    """Every occurrence of a repeated length-delimited field."""
    return [bytes(v) for w, v in fields.get(number, []) if w == BYTES]


def first_int(fields: dict, number: int, default: int = 0) -> int:
    values = [v for w, v in fields.get(number, []) if w != BYTES]
    return values[-1] if values else default


def text(fields: dict, number: int) -> str:
    try:
        return first_bytes(fields, number).decode("utf-8")
    except UnicodeDecodeError:
        raise WireError(f"field {number} is not UTF-8 text") from None


def signed64(value: int) -> int:
    """int64 fields are stored as two's complement varints."""
    return value - (1 << 64) if value >= 1 << 63 else value


def repeated_scalars(fields: dict, number: int, dtype: str) -> np.ndarray:
    """A repeated numeric field, packed or not, as a numpy array.

    dtype: '<f4', '<f8' (fixed width) or 'varint' (int32/int64/bool, returned as int64).
    """
    parts = []
    for wire, value in fields.get(number, []):
        if wire == BYTES and dtype != "varint":
            if len(value) % np.dtype(dtype).itemsize:
                raise WireError(f"packed field {number} has a partial element")
            parts.append(np.frombuffer(value, dtype=dtype))
        elif wire == BYTES:
            parts.append(np.array(_packed_varints(value), dtype=np.uint64).view(np.int64))
        elif wire == VARINT:
            parts.append(np.array([value], dtype=np.uint64).view(np.int64))
        else:
            raw = value.to_bytes(4 if wire == FIXED32 else 8, "little")
            parts.append(np.frombuffer(raw, dtype=dtype))
    if not parts:
        return np.zeros(0, dtype=np.int64 if dtype == "varint" else dtype)
    return np.concatenate(parts)


def _packed_varints(view) -> list[int]:
    out, pos = [], 0
    while pos < len(view):
        value, pos = read_varint(view, pos)
        out.append(value)
    return out


# --- writer: used by tests and tools to craft bundles; output is what protoc would produce ---

def encode_varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64  # negative int64: ten-byte two's complement, as protobuf does
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field_varint(number: int, value: int) -> bytes:
    return encode_varint(number << 3 | VARINT) + encode_varint(int(value))


def field_bytes(number: int, data) -> bytes:
    data = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    return encode_varint(number << 3 | BYTES) + encode_varint(len(data)) + data


def field_packed_floats(number: int, values) -> bytes:
    return field_bytes(number, np.asarray(values, dtype="<f4").tobytes())


def field_fixed64(number: int, value: int) -> bytes:
    return encode_varint(number << 3 | FIXED64) + struct.pack("<Q", value)
