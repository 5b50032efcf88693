"""The sustain pedal (CC 64) as Magenta applies it: it only lengthens notes."""
from __future__ import annotations

import numpy as np

from .notes import NoteList

# At equal times Magenta processes pedal-down, pedal-up, note-on, note-off, in that order.
_PEDAL_DOWN, _PEDAL_UP, _ON, _OFF = 0, 1, 2, 3


def apply_sustain(notes: NoteList, pedal_times, pedal_channels, pedal_down) -> NoteList:
    """While the pedal is down a released note sounds on until pedal-up or the next onset of its pitch;
    a new onset of a held pitch ends the older note there (deleting it if that leaves zero length).
    Notes still held at the end last until the last event. Drum notes are untouched."""
    pedal_times = np.asarray(pedal_times, dtype=np.float64)
    if not len(pedal_times) or not len(notes):
        return notes
    n = len(notes)
    index = np.arange(n)
    times = np.concatenate([notes.start, notes.end, pedal_times])
    kinds = np.concatenate([np.full(n, _ON), np.full(n, _OFF), np.where(pedal_down, _PEDAL_DOWN, _PEDAL_UP)])
    refs = np.concatenate([index, index, np.asarray(pedal_channels)])
    order = np.lexsort((kinds, times))
    end = notes.end.copy()
    keep = np.ones(n, bool)
    _sweep(times[order].tolist(), kinds[order].tolist(), refs[order].tolist(), notes, end, keep)
    return NoteList(notes.pitch, notes.velocity, notes.start, end, notes.program, notes.channel,
                    notes.is_drum).select(keep)


def _sweep(times, kinds, refs, notes: NoteList, end: np.ndarray, keep: np.ndarray) -> None:
    channel, pitch, start = notes.channel.tolist(), notes.pitch.tolist(), notes.start.tolist()
    drum = notes.is_drum.tolist()
    down = [False] * 16
    active: list[set] = [set() for _ in range(16)]  # note indices sounding (or held by the pedal) per channel
    time = 0.0
    for time, kind, ref in zip(times, kinds, refs):
        if kind == _PEDAL_DOWN:
            down[ref] = True
        elif kind == _PEDAL_UP:
            down[ref] = False
            for note in [i for i in active[ref] if end[i] < time]:  # held only by the pedal: ends now
                end[note] = time
                active[ref].discard(note)
        elif drum[ref]:
            continue
        elif kind == _ON:
            ch = channel[ref]
            if down[ch]:
                for note in [i for i in active[ch] if pitch[i] == pitch[ref]]:
                    end[note] = time
                    active[ch].discard(note)
                    keep[note] &= start[note] != time
            active[ch].add(ref)
        elif not down[channel[ref]]:
            active[channel[ref]].discard(ref)
    for held in active:
        for note in held:
            end[note] = max(end[note], time)
