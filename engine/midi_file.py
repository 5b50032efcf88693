"""Read a MIDI file (path, bytes or mido.MidiFile) into a NoteList, tempo map and sustain pedal honoured."""
from __future__ import annotations

import io
import os
from collections import defaultdict, deque

import mido
import numpy as np

from .errors import MidiReadError
from .notes import NoteList
from .smf import CONTROL, NOTE_OFF, NOTE_ON, PROGRAM, SmfError, SmfEvents, scan_smf
from .sustain import apply_sustain as sustain_notes

DRUM_CHANNEL = 9
MAX_SECONDS = 24 * 3600.0  # past this the tempo map is absurd, not music
DEFAULT_TEMPO = 500_000  # 120 qpm


def _source_bytes(source) -> tuple[bytes, str]:
    if isinstance(source, mido.MidiFile):
        buffer = io.BytesIO()
        source.save(file=buffer)
        return buffer.getvalue(), source.filename or "<MidiFile>"
    if isinstance(source, (bytes, bytearray)):
        return bytes(source), "<bytes>"
    name = os.fspath(source)
    try:
        with open(name, "rb") as f:
            return f.read(), name
    except OSError as err:
        raise MidiReadError(f"{name}: cannot open MIDI file: {err.strerror or err}") from err


def _tick_seconds(events: SmfEvents, ticks: np.ndarray, name: str) -> np.ndarray:
    if events.smpte_seconds_per_tick is not None:
        return ticks * events.smpte_seconds_per_tick
    changes = sorted(events.tempos)
    if not changes or changes[0][0] != 0:
        changes.insert(0, (0, DEFAULT_TEMPO))
    change_ticks = np.array([t for t, _ in changes], dtype=np.float64)
    tempos = np.array([tempo for _, tempo in changes], dtype=np.float64)
    if (tempos <= 0).any():
        raise MidiReadError(f"{name}: tempo of 0 microseconds per beat; fix or re-export the file")
    per_tick = tempos / (1e6 * events.ticks_per_beat)
    change_seconds = np.concatenate([[0.0], np.cumsum(np.diff(change_ticks) * per_tick[:-1])])
    segment = np.searchsorted(change_ticks, ticks, side="right") - 1
    return change_seconds[segment] + (ticks - change_ticks[segment]) * per_tick[segment]


def _pair_notes(ev: dict, seconds: np.ndarray, end_time: float):
    """FIFO pairing of note-ons and note-offs per (track, channel, pitch); unterminated notes end at the end."""
    open_notes: dict[tuple, deque] = defaultdict(deque)
    program = [0] * 16
    rows = []
    for i, (kind, track, channel, d1, d2) in enumerate(zip(ev["kind"], ev["track"], ev["channel"],
                                                          ev["data1"], ev["data2"])):
        if kind == NOTE_ON and d2 > 0:
            open_notes[track, channel, d1].append((seconds[i], d2, program[channel]))
        elif kind in (NOTE_ON, NOTE_OFF):
            queue = open_notes.get((track, channel, d1))
            if queue:
                start, velocity, prog = queue.popleft()
                rows.append((d1, velocity, start, seconds[i], prog, channel))
        elif kind == PROGRAM:
            program[channel] = d1
    for (_, channel, pitch), queue in open_notes.items():
        rows.extend((pitch, velocity, start, end_time, prog, channel) for start, velocity, prog in queue)
    return rows


def read_midi(source, include_drums: bool = False, apply_sustain: bool = True) -> NoteList:
    """All notes of all tracks and channels merged, in seconds. Raises MidiReadError naming file and cause."""
    data, name = _source_bytes(source)
    try:
        events = scan_smf(data)
    except SmfError as err:
        raise MidiReadError(f"{name}: corrupt MIDI file: {err}") from err
    order = np.argsort(np.asarray(events.tick, dtype=np.int64), kind="stable")  # merge tracks in time
    ev = {k: np.asarray(getattr(events, k))[order].tolist()
          for k in ("tick", "track", "kind", "channel", "data1", "data2")}
    seconds = _tick_seconds(events, np.asarray(ev["tick"], dtype=np.float64), name)
    end_time = float(seconds[-1]) if len(seconds) else 0.0
    if end_time > MAX_SECONDS:
        raise MidiReadError(f"{name}: absurd tempo map ({end_time / 3600:.0f} hours long); fix the tempo events")
    rows = _pair_notes(ev, seconds, end_time)
    if not rows:
        raise MidiReadError(f"{name}: no notes in the file")
    pitch, velocity, start, end, program, channel = (np.array(c) for c in zip(*rows))
    notes = NoteList(pitch, velocity, start, end, program, channel, channel == DRUM_CHANNEL)
    if not include_drums:
        notes = notes.select(~notes.is_drum)
        if not len(notes):
            raise MidiReadError(f"{name}: only drum notes (channel 10); pass include_drums=True to keep them")
    if apply_sustain:
        is_pedal = (np.asarray(ev["kind"]) == CONTROL)
        pedal_channel = np.asarray(ev["channel"])[is_pedal]
        pedal_down = np.asarray(ev["data2"])[is_pedal] >= 64
        notes = sustain_notes(notes, seconds[is_pedal], pedal_channel, pedal_down)
    return notes.sorted()
