"""A fast Standard MIDI File scanner: only the events a performance needs (notes, pedal, programs, tempo).

mido parses every message into an object, which takes ~0.8 s for a 22-minute piano recording; this reads the
same bytes in one tight loop. mido stays the library for ports, messages and writing files.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

NOTE_OFF, NOTE_ON, CONTROL, PROGRAM = 0x80, 0x90, 0xB0, 0xC0
_DATA_LENGTH = {0x80: 2, 0x90: 2, 0xA0: 2, 0xB0: 2, 0xC0: 1, 0xD0: 1, 0xE0: 2}
_SYSTEM_LENGTH = {0xF1: 1, 0xF2: 2, 0xF3: 1}


class SmfError(ValueError):
    """The bytes are not a readable Standard MIDI File."""


@dataclass
class SmfEvents:
    """Channel events as parallel lists: absolute tick, track, status nibble, channel, data1, data2."""

    ticks_per_beat: int = 480
    smpte_seconds_per_tick: float | None = None  # SMPTE division: fixed time per tick, tempo ignored
    tick: list = field(default_factory=list)
    track: list = field(default_factory=list)
    kind: list = field(default_factory=list)
    channel: list = field(default_factory=list)
    data1: list = field(default_factory=list)
    data2: list = field(default_factory=list)
    tempos: list = field(default_factory=list)  # (tick, microseconds per beat)


def _varlen(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    for _ in range(4):
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, pos
    raise SmfError("variable-length number longer than 4 bytes")


def _read_header(data: bytes, out: SmfEvents) -> tuple[int, int]:
    if data[:4] != b"MThd" or len(data) < 14:
        raise SmfError("not a MIDI file (no MThd header)")
    length, _, num_tracks, division = struct.unpack(">IHHH", data[4:14])
    if division & 0x8000:
        fps, per_frame = 256 - (division >> 8), division & 0xFF
        if not fps or not per_frame:
            raise SmfError(f"bad SMPTE division {division:#x}")
        out.smpte_seconds_per_tick = 1.0 / (fps * per_frame)
    elif division == 0:
        raise SmfError("ticks per beat is 0")
    else:
        out.ticks_per_beat = division
    return 8 + length, num_tracks


def _scan_track(data: bytes, pos: int, end: int, track: int, out: SmfEvents) -> None:
    tick, status = 0, 0
    while pos < end:
        delta, pos = _varlen(data, pos)
        tick += delta
        byte = data[pos]
        if byte >= 0x80:
            pos += 1
            if byte < 0xF0:
                status = byte
        elif not status:
            raise SmfError(f"running status with no previous status at byte {pos}")
        else:
            byte = status
        if byte == 0xFF:
            meta_type = data[pos]
            length, pos = _varlen(data, pos + 1)
            if meta_type == 0x51 and length == 3:
                out.tempos.append((tick, int.from_bytes(data[pos:pos + 3], "big")))
            elif meta_type == 0x2F:
                return
            pos += length
        elif byte in (0xF0, 0xF7):
            length, pos = _varlen(data, pos)
            pos += length
        elif byte >= 0xF0:
            pos += _SYSTEM_LENGTH.get(byte, 0)
        else:
            kind = byte & 0xF0
            d1 = data[pos]
            d2 = data[pos + 1] if _DATA_LENGTH[kind] == 2 else 0
            pos += _DATA_LENGTH[kind]
            if d1 > 127 or d2 > 127:
                raise SmfError(f"data byte must be in range 0..127 (track {track}, tick {tick})")
            if kind in (NOTE_ON, NOTE_OFF, PROGRAM) or (kind == CONTROL and d1 == 64):
                out.tick.append(tick)
                out.track.append(track)
                out.kind.append(kind)
                out.channel.append(byte & 0x0F)
                out.data1.append(d1)
                out.data2.append(d2)
    if pos > end:
        raise SmfError(f"track {track} ends in the middle of an event")


def scan_smf(data: bytes) -> SmfEvents:
    out = SmfEvents()
    try:
        pos, num_tracks = _read_header(data, out)
        track = 0
        while pos + 8 <= len(data) and track < num_tracks:
            chunk, length = data[pos:pos + 4], struct.unpack(">I", data[pos + 4:pos + 8])[0]
            body = pos + 8
            if body + length > len(data):
                raise SmfError(f"track {track} is truncated ({length} bytes declared, {len(data) - body} present)")
            if chunk == b"MTrk":
                _scan_track(data, body, body + length, track, out)
                track += 1
            pos = body + length
    except IndexError:
        raise SmfError("file ends in the middle of an event") from None
    return out
