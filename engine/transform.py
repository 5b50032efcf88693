"""Magenta's data augmentation and splitting on NoteLists: stretch, transpose, 30 s chunks."""
from __future__ import annotations

import numpy as np

from .notes import NoteList

STRETCH_FACTORS = (0.95, 0.975, 1.0, 1.025, 1.05)
TRANSPOSITIONS = tuple(range(-3, 4))
SPLIT_SECONDS = 30.0


def stretch(notes: NoteList, factor: float) -> NoteList:
    """Scale every time by `factor` (> 1 is slower)."""
    return notes.with_times(notes.start * factor, notes.end * factor)


def transpose(notes: NoteList, semitones: int, strict: bool = False) -> NoteList | None:
    """Shift non-drum pitches. A shift that leaves 0..127 drops the copy (None), or raises if `strict`."""
    pitched = ~notes.is_drum
    shifted = np.where(pitched, notes.pitch + semitones, notes.pitch)
    if len(notes) and (shifted[pitched].min(initial=0) < 0 or shifted[pitched].max(initial=0) > 127):
        if strict:
            low, high = int(notes.pitch[pitched].min()), int(notes.pitch[pitched].max())
            raise ValueError(f"transposing pitches {low}..{high} by {semitones:+d} leaves the MIDI range 0..127")
        return None
    return NoteList(shifted, notes.velocity, notes.start, notes.end, notes.program, notes.channel, notes.is_drum)


def split_notes(notes: NoteList, seconds: float = SPLIT_SECONDS) -> list[NoteList]:
    """Chunks at every `seconds`: a note goes to the chunk of its onset, is cut at the chunk's end and
    shifted to start at 0 (Magenta's split_note_sequence with a fixed hop)."""
    if not len(notes):
        return []
    chunk = np.floor(notes.start / seconds).astype(np.int64)
    pieces = []
    for index in np.unique(chunk):
        part = notes.select(chunk == index)
        offset = index * seconds
        start = part.start - offset
        end = np.minimum(part.end - offset, seconds)
        pieces.append(part.with_times(start, end))
    return pieces
