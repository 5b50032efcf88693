"""Read (and, for tests, write) TensorFlow V1 checkpoints without TensorFlow.

A V1 checkpoint (what Magenta's `Saver(write_version=V1, sharded=False)` puts inside a `.mag`) is a
LevelDB-style sorted table written by TF's TensorSliceWriter with compression switched off:

    [data block]* [metaindex block] [index block] [footer: 48 bytes]

- footer: two block handles (varint offset, varint size) for the metaindex and index blocks,
  zero padding to 40 bytes, then the magic number 0xdb4775248b80fb57 as little-endian fixed64.
- every block is followed by a 5-byte trailer: compression type (0 = none) and a masked crc32c
  of the block plus that type byte.
- block: prefix-compressed entries (varint shared, varint unshared, varint value size, key tail,
  value), then the restart offsets (uint32 each) and their count (uint32).
- index block: one entry per data block whose value is that block's handle.
- table entries: key "" -> SavedTensorSlices{meta: {tensor: [SavedSliceMeta{name, shape, type,
  slice}]}}; every other key -> SavedTensorSlices{data: SavedSlice{name, slice, data: TensorProto}}
  with the values in the TensorProto's typed repeated field (float_val for float32).
"""
from __future__ import annotations

import struct

import numpy as np

from . import protowire as pw
from .errors import BundleError

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48  # two handles of at most 20 bytes each, padded, plus the 8-byte magic
TRAILER_SIZE = 5

# TF DataType enum -> (numpy dtype, TensorProto field number holding the values, element encoding)
DTYPES = {
    1: (np.float32, 5, "<f4"),    # DT_FLOAT: float_val
    2: (np.float64, 6, "<f8"),    # DT_DOUBLE: double_val
    3: (np.int32, 7, "varint"),   # DT_INT32: int_val
    9: (np.int64, 10, "varint"),  # DT_INT64: int64_val
    10: (np.bool_, 11, "varint"),  # DT_BOOL: bool_val
    19: (np.float16, 13, "varint"),  # DT_HALF: half_val holds the raw 16 bits
}
TENSOR_CONTENT = 4  # TensorProto.tensor_content: raw little-endian bytes, used by some writers


class CheckpointError(BundleError):
    """Bytes that are not a readable V1 TensorFlow checkpoint."""


# --- the sorted-table layer ---

def _handle(buf, pos: int) -> tuple[int, int, int]:
    offset, pos = pw.read_varint(buf, pos)
    size, pos = pw.read_varint(buf, pos)
    return offset, size, pos


def _block(data: memoryview, offset: int, size: int) -> memoryview:
    if offset + size + TRAILER_SIZE > len(data):
        raise CheckpointError("checkpoint is truncated (a block runs past the end of the file)")
    kind = data[offset + size]
    if kind != 0:
        raise CheckpointError(f"checkpoint block uses compression type {kind}; only uncompressed "
                              "tables (what TensorFlow's TensorSliceWriter writes) are supported")
    return data[offset:offset + size]


def block_entries(block: memoryview):
    """Yield (key bytes, value memoryview) from one block, undoing the prefix compression."""
    if len(block) < 4:
        raise CheckpointError("checkpoint block is too short")
    num_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end = len(block) - 4 * (num_restarts + 1)
    if end < 0:
        raise CheckpointError("checkpoint block has a bad restart count")
    pos, key = 0, b""
    while pos < end:
        shared, pos = pw.read_varint(block, pos)
        unshared, pos = pw.read_varint(block, pos)
        size, pos = pw.read_varint(block, pos)
        if shared > len(key) or pos + unshared + size > end:
            raise CheckpointError("checkpoint block entry is corrupt")
        key = key[:shared] + bytes(block[pos:pos + unshared])
        pos += unshared
        yield key, block[pos:pos + size]
        pos += size


def table_entries(data):
    """Yield every (key, value) of a sorted table, in file order."""
    data = memoryview(data)
    if len(data) < FOOTER_SIZE:
        raise CheckpointError(f"checkpoint is {len(data)} bytes, too short to be a TensorFlow table")
    footer = data[len(data) - FOOTER_SIZE:]
    if struct.unpack_from("<Q", footer, 40)[0] != TABLE_MAGIC:
        raise CheckpointError("not a V1 TensorFlow checkpoint (table magic number missing)")
    _, _, pos = _handle(footer, 0)  # the metaindex block: empty in TF checkpoints, so skipped
    index_offset, index_size, _ = _handle(footer, pos)
    for _, handle in block_entries(_block(data, index_offset, index_size)):
        offset, size, _ = _handle(handle, 0)
        yield from block_entries(_block(data, offset, size))


# --- the tensor-slice layer ---

def _slice_extents(slice_bytes, shape: tuple[int, ...]) -> tuple[slice, ...]:
    """TensorSliceProto -> numpy index; an extent without a length covers the whole dimension."""
    extents = [pw.parse(e) for e in pw.all_bytes(pw.parse(slice_bytes), 1)]
    if not extents:
        return tuple(slice(None) for _ in shape)
    if len(extents) != len(shape):
        raise CheckpointError(f"slice rank {len(extents)} does not match tensor rank {len(shape)}")
    index = []
    for extent, dim in zip(extents, shape):
        if 2 not in extent:
            index.append(slice(0, dim))
            continue
        start, length = pw.signed64(pw.first_int(extent, 1)), pw.signed64(pw.first_int(extent, 2))
        if start < 0 or length < 0 or start + length > dim:
            raise CheckpointError(f"slice [{start}, {start + length}) is outside a dimension of {dim}")
        index.append(slice(start, start + length))
    return tuple(index)


def _tensor_meta(meta_bytes) -> dict[str, tuple[tuple[int, ...], int]]:
    """SavedTensorSliceMeta -> {name: (shape, dtype enum)}."""
    out = {}
    for tensor in pw.all_bytes(pw.parse(meta_bytes), 1):
        fields = pw.parse(tensor)
        shape_fields = pw.parse(pw.first_bytes(fields, 2))
        shape = tuple(pw.signed64(pw.first_int(pw.parse(d), 1)) for d in pw.all_bytes(shape_fields, 2))
        out[pw.text(fields, 1)] = (shape, pw.first_int(fields, 3))
    return out


def _slice_values(tensor_proto, dtype_enum: int, count: int, name: str) -> np.ndarray:
    np_dtype, field, encoding = DTYPES[dtype_enum]
    fields = pw.parse(tensor_proto)
    content = pw.first_bytes(fields, TENSOR_CONTENT)
    if content:
        values = np.frombuffer(content, dtype=np.dtype(np_dtype).newbyteorder("<"))
    elif encoding == "varint":
        raw = pw.repeated_scalars(fields, field, "varint")
        values = raw.astype(np.uint16).view(np.float16) if np_dtype is np.float16 else raw.astype(np_dtype)
    else:
        values = pw.repeated_scalars(fields, field, encoding)
    if values.size != count:
        raise CheckpointError(f"tensor {name!r} slice holds {values.size} values, expected {count}")
    return values.astype(np_dtype, copy=False)


def list_tensors(data) -> dict[str, tuple[tuple[int, ...], int]]:
    """Name -> (shape, TF dtype enum) from the table of contents, without reading the values."""
    for key, value in table_entries(data):
        if key != b"":
            break
        return _tensor_meta(pw.first_bytes(pw.parse(value), 1))
    raise CheckpointError("checkpoint has no table of contents (the entry with the empty key)")


def read_checkpoint(data) -> dict[str, np.ndarray]:
    """Every tensor of a V1 checkpoint as a numpy array, assembled from its saved slices."""
    entries = table_entries(data)
    meta = None
    tensors, filled = {}, {}
    try:
        for key, value in entries:
            record = pw.parse(value)
            if key == b"":
                meta = _tensor_meta(pw.first_bytes(record, 1))
                for name, (shape, dtype_enum) in meta.items():
                    if dtype_enum not in DTYPES:
                        raise CheckpointError(f"tensor {name!r} has unsupported TensorFlow dtype {dtype_enum}")
                    tensors[name] = np.zeros(shape, DTYPES[dtype_enum][0])
                    filled[name] = 0
                continue
            if meta is None:
                raise CheckpointError("checkpoint has no table of contents (the entry with the empty key)")
            _add_slice(pw.parse(pw.first_bytes(record, 2)), meta, tensors, filled)
    except pw.WireError as err:
        raise CheckpointError(f"checkpoint record is corrupt ({err})") from None
    if meta is None:
        raise CheckpointError("checkpoint is empty")
    for name, array in tensors.items():
        if filled[name] != array.size:
            raise CheckpointError(f"tensor {name!r} is only partly saved ({filled[name]} of {array.size} values)")
    return tensors


def _add_slice(saved_slice: dict, meta: dict, tensors: dict, filled: dict) -> None:
    name = pw.text(saved_slice, 1)
    if name not in meta:
        raise CheckpointError(f"slice for tensor {name!r}, which the table of contents does not list")
    shape, dtype_enum = meta[name]
    index = _slice_extents(pw.first_bytes(saved_slice, 2), shape)
    target = tensors[name][index]
    values = _slice_values(pw.first_bytes(saved_slice, 3), dtype_enum, target.size, name)
    tensors[name][index] = values.reshape(target.shape)
    filled[name] += target.size


# --- writer: crafts checkpoints for tests (TF's own files come from tools/make_mag_fixtures.py) ---

def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        crc = n
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        table.append(crc)
    return table


_CRC_TABLE = _crc32c_table()


def masked_crc32c(data: bytes) -> int:
    """LevelDB's masked CRC-32C; pure Python, so only for small blocks."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    crc ^= 0xFFFFFFFF
    return ((crc >> 15 | crc << 17) + 0xA282EAD8) & 0xFFFFFFFF


def verify_checksums(data) -> None:
    """Check every block's crc (slow in pure Python: meant for tests and small files)."""
    data = memoryview(data)
    footer = data[len(data) - FOOTER_SIZE:]
    meta_off, meta_size, pos = _handle(footer, 0)
    index_off, index_size, _ = _handle(footer, pos)
    handles = [(meta_off, meta_size), (index_off, index_size)]
    handles += [_handle(h, 0)[:2] for _, h in block_entries(_block(data, index_off, index_size))]
    for offset, size in handles:
        stored = struct.unpack_from("<I", data, offset + size + 1)[0]
        if masked_crc32c(bytes(data[offset:offset + size + 1])) != stored:
            raise CheckpointError(f"checkpoint block at byte {offset} fails its checksum")


def _build_block(entries, restart_interval: int) -> bytes:
    out, restarts, last = bytearray(), [], b""
    for i, (key, value) in enumerate(entries):
        shared = 0
        if i % restart_interval == 0:
            restarts.append(len(out))
        else:
            while shared < min(len(key), len(last)) and key[shared] == last[shared]:
                shared += 1
        out += pw.encode_varint(shared) + pw.encode_varint(len(key) - shared) + pw.encode_varint(len(value))
        out += key[shared:] + value
        last = key
    restarts = restarts or [0]
    return bytes(out) + struct.pack(f"<{len(restarts)}I", *restarts) + struct.pack("<I", len(restarts))


def write_table(entries, block_size: int = 262144, restart_interval: int = 16) -> bytes:
    """Sorted (key, value) pairs -> table bytes (uncompressed, with checksums)."""
    out, index, pending = bytearray(), [], []

    def flush(block_entries_):
        block = _build_block(block_entries_, restart_interval)
        handle = pw.encode_varint(len(out)) + pw.encode_varint(len(block))
        out.extend(block + b"\x00" + struct.pack("<I", masked_crc32c(block + b"\x00")))
        return handle

    for key, value in entries:
        pending.append((key, value))
        if sum(len(k) + len(v) for k, v in pending) >= block_size:
            index.append((key, flush(pending)))
            pending = []
    if pending:
        index.append((pending[-1][0], flush(pending)))
    meta_handle = flush([])
    index_handle = flush(index)
    footer = (meta_handle + index_handle).ljust(40, b"\x00") + struct.pack("<Q", TABLE_MAGIC)
    return bytes(out + footer)


def full_slice_key(name: str, rank: int) -> bytes:
    """TF's key for a whole tensor: ordered code of (0, name, rank, then start 0 / length -1 per dim).

    Strings escape 0x00 and 0xff and end in 00 01; unsigned numbers are a length byte plus
    big-endian bytes; small signed numbers are one byte, 0x80 ^ value.
    """
    escape = {0: b"\x00\xff", 0xFF: b"\xff\x00"}
    escaped = b"".join(escape.get(byte, bytes([byte])) for byte in name.encode("utf-8"))
    rank_code = bytes([1, rank]) if rank else b"\x00"
    return b"\x00" + escaped + b"\x00\x01" + rank_code + b"\x80\x7f" * rank


def write_checkpoint(tensors: dict[str, np.ndarray], **table_options) -> bytes:
    """float32 tensors -> a V1 checkpoint with one full slice each, readable by TensorFlow too."""
    metas, records = [], []
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name], dtype="<f4")
        shape = b"".join(pw.field_bytes(2, pw.field_varint(1, d)) for d in array.shape)
        full_slice = b"".join(pw.field_bytes(1, b"") for _ in array.shape)
        metas.append(pw.field_bytes(1, pw.field_bytes(1, name) + pw.field_bytes(2, shape)
                                    + pw.field_varint(3, 1) + pw.field_bytes(4, full_slice)))
        saved = (pw.field_bytes(1, name) + pw.field_bytes(2, full_slice)
                 + pw.field_bytes(3, pw.field_packed_floats(5, array.ravel())))
        records.append((full_slice_key(name, array.ndim), pw.field_bytes(2, saved)))
    toc = pw.field_bytes(1, b"".join(metas))
    return write_table([(b"", toc)] + sorted(records), **table_options)
