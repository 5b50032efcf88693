"""The protobuf wire reader and the V1 TensorFlow checkpoint reader, against files TensorFlow wrote."""
from pathlib import Path

import numpy as np
import pytest

from engine import protowire as pw
from engine import tf_checkpoint as tc

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mag"


def fixture_checkpoint(name: str) -> bytes:
    """The checkpoint bytes inside a TF-made fixture bundle (field 2 of the GeneratorBundle)."""
    return pw.all_bytes(pw.parse((FIXTURES / f"{name}.mag").read_bytes()), 2)[0]


# --- protobuf wire format ---

@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**31, 2**63 - 1])
def test_varint_round_trip(value):
    encoded = pw.encode_varint(value)
    assert pw.read_varint(encoded, 0) == (value, len(encoded))


def test_negative_int64_is_ten_bytes_and_reads_back_signed():
    encoded = pw.encode_varint(-1)
    assert len(encoded) == 10
    assert pw.signed64(pw.read_varint(encoded, 0)[0]) == -1


def test_fields_are_grouped_and_last_scalar_wins():
    msg = pw.field_varint(1, 5) + pw.field_bytes(2, "abc") + pw.field_varint(1, 7) + pw.field_bytes(2, b"de")
    fields = pw.parse(msg)
    assert pw.first_int(fields, 1) == 7
    assert pw.all_bytes(fields, 2) == [b"abc", b"de"]
    assert pw.text(fields, 2) == "de"


def test_repeated_floats_packed_and_unpacked_decode_alike():
    values = np.array([1.5, -2.25, 3e-3], np.float32)
    packed = pw.field_packed_floats(5, values)
    unpacked = b"".join(pw.encode_varint(5 << 3 | pw.FIXED32) + v.tobytes() for v in values)
    for msg in (packed, unpacked):
        np.testing.assert_array_equal(pw.repeated_scalars(pw.parse(msg), 5, "<f4"), values)


@pytest.mark.parametrize("bad", [b"\x0a\x05ab", b"\x08\xff\xff", b"\x0b", b"\x00\x01"])
def test_malformed_messages_raise_wire_error(bad):
    with pytest.raises(pw.WireError):
        pw.parse(bad)


# --- checkpoints written by TensorFlow (tools/make_mag_fixtures.py) ---

@pytest.mark.parametrize("name", ["performance", "performance_with_dynamics"])
def test_reads_tensorflow_checkpoint_values(name):
    expected = np.load(FIXTURES / f"{name}.npz")
    tensors = tc.read_checkpoint(fixture_checkpoint(name))
    assert sorted(tensors) == list(expected["var_names"])
    for var, shape, total in zip(expected["var_names"], expected["var_shapes"], expected["var_sums"]):
        assert str(list(tensors[var].shape)) == shape
        assert tensors[var].dtype == np.float32
        assert tensors[var].astype(np.float64).sum() == pytest.approx(total, rel=1e-9, abs=1e-9)
        assert np.count_nonzero(tensors[var]) == tensors[var].size  # random weights: a misread shows as zeros


def test_listing_matches_reading_and_checksums_verify():
    data = fixture_checkpoint("performance_with_dynamics")
    listing = tc.list_tensors(data)
    tensors = tc.read_checkpoint(data)
    assert {name: shape for name, (shape, _) in listing.items()} == {n: t.shape for n, t in tensors.items()}
    assert {dtype for _, dtype in listing.values()} == {1}  # DT_FLOAT
    tc.verify_checksums(data)  # our CRC-32C agrees with TensorFlow's


# --- our writer (used to craft test bundles) and the table layer ---

def test_writer_round_trip_over_many_small_blocks():
    rng = np.random.default_rng(1)
    tensors = {f"scope_{i}/kernel": rng.normal(size=(i + 2, 3)).astype(np.float32) for i in range(12)}
    tensors["weird\x00name\u00e9"] = np.arange(4, dtype=np.float32)
    data = tc.write_checkpoint(tensors, block_size=64, restart_interval=3)
    tc.verify_checksums(data)
    entries = list(tc.table_entries(data))
    assert len(entries) == len(tensors) + 1 and entries[0][0] == b""
    assert [k for k, _ in entries] == sorted(k for k, _ in entries)
    back = tc.read_checkpoint(data)
    assert back.keys() == tensors.keys()
    for name in tensors:
        np.testing.assert_array_equal(back[name], tensors[name])


def _two_slice_checkpoint(full: np.ndarray, cut: int) -> bytes:
    """A [R, C] tensor saved as two row slices, as a partitioned TF variable would be."""
    shape = b"".join(pw.field_bytes(2, pw.field_varint(1, d)) for d in full.shape)

    def extent(start, length):
        return pw.field_bytes(1, pw.field_varint(1, start) + pw.field_varint(2, length))

    slices = [(0, cut), (cut, full.shape[0] - cut)]
    specs = [extent(s, n) + pw.field_bytes(1, b"") for s, n in slices]
    meta = pw.field_bytes(1, pw.field_bytes(1, "w") + pw.field_bytes(2, shape) + pw.field_varint(3, 1)
                          + b"".join(pw.field_bytes(4, spec) for spec in specs))
    records = [(b"", pw.field_bytes(1, meta))]
    for i, ((start, n), spec) in enumerate(zip(slices, specs)):
        data = pw.field_bytes(3, pw.field_packed_floats(5, full[start:start + n].ravel()))
        records.append((bytes([1, i]), pw.field_bytes(2, pw.field_bytes(1, "w") + pw.field_bytes(2, spec) + data)))
    return tc.write_table(records)


def test_tensor_saved_in_slices_is_assembled():
    full = np.arange(15, dtype=np.float32).reshape(5, 3)
    np.testing.assert_array_equal(tc.read_checkpoint(_two_slice_checkpoint(full, 2))["w"], full)


def test_missing_slice_is_reported():
    data = _two_slice_checkpoint(np.ones((5, 3), np.float32), 2)
    entries = list(tc.table_entries(data))
    with pytest.raises(tc.CheckpointError, match="only partly saved"):
        tc.read_checkpoint(tc.write_table([(bytes(k), bytes(v)) for k, v in entries[:2]]))


@pytest.mark.parametrize("damage, message", [
    (lambda d: d[:-5], "magic number"),
    (lambda d: d[:30], "too short"),
    (lambda d: b"\x00" * 200 + d[-48:], "truncated|corrupt"),
    (lambda d: b"not a checkpoint at all, just some text" * 3, "magic number"),
])
def test_damaged_checkpoints_raise_one_line_errors(damage, message):
    data = tc.write_checkpoint({"a": np.ones((30, 4), np.float32)})
    with pytest.raises(tc.CheckpointError, match=message) as err:
        tc.read_checkpoint(damage(data))
    assert "\n" not in str(err.value)


def _first_data_block(data: bytes) -> tuple[int, int]:
    """(offset, size) of the first data block, from the footer's index handle."""
    footer = memoryview(data)[-tc.FOOTER_SIZE:]
    _, _, pos = tc._handle(footer, 0)
    index_offset, index_size, _ = tc._handle(footer, pos)
    _, handle = next(tc.block_entries(tc._block(memoryview(data), index_offset, index_size)))
    return tc._handle(handle, 0)[:2]


def test_compressed_blocks_are_refused_by_name():
    data = tc.write_checkpoint({"a": np.ones(3, np.float32)})
    offset, size = _first_data_block(data)
    damaged = bytearray(data)
    damaged[offset + size] = 1  # the block trailer's type byte: 1 = snappy
    with pytest.raises(tc.CheckpointError, match="compression type 1"):
        tc.read_checkpoint(bytes(damaged))


def test_checksum_mismatch_is_detected():
    data = bytearray(tc.write_checkpoint({"a": np.ones(3, np.float32)}))
    data[20] ^= 0x01  # inside the first data block (a float of the table of contents or data)
    with pytest.raises(tc.CheckpointError, match="checksum"):
        tc.verify_checksums(bytes(data))
