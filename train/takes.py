"""The player's part of recorded takes: what performance_rnn_finetune learns from.

The instrument's recorder writes the player and the model on separate tracks named 'player' and 'model'
(live/recorder.py; the name is repeated here because train never imports live). Only the player's track is
read: a fine-tuned model that learned from its own answers would drift toward itself, not the musician.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np

from engine.errors import PerformanceRnnError
from engine.midi_file import read_midi
from engine.notes import NoteList

PLAYER_TRACK = "player"
MIDI_SUFFIXES = (".mid", ".midi")
# In call mode the player waits while the model answers; that silence is the mode's, not the player's style.
MAX_PAUSE_SECONDS = 3.0


@dataclass
class Take:
    path: Path
    notes: NoteList  # the player's notes from 0 s, pauses shortened to MAX_PAUSE_SECONDS

    @property
    def seconds(self) -> float:
        return self.notes.total_time


def _track_name(track) -> str:
    return next((m.name for m in track if m.type == "track_name"), "")


def _has_notes(track) -> bool:
    return any(m.type in ("note_on", "note_off") for m in track)


def player_notes(path: Path) -> NoteList | None:
    """The notes of the file's 'player' track (tempo and other note-less tracks kept); None if it has none."""
    try:
        midi = mido.MidiFile(path)
    except (OSError, ValueError, EOFError, KeyError, IndexError):
        return None
    tracks = [t for t in midi.tracks if _track_name(t) == PLAYER_TRACK or not _has_notes(t)]
    if not any(_track_name(t) == PLAYER_TRACK for t in tracks):
        return None
    player = mido.MidiFile(type=1, ticks_per_beat=midi.ticks_per_beat)
    player.tracks.extend(tracks)
    try:
        return _shorten_pauses(read_midi(player))
    except PerformanceRnnError:
        return None


def _shorten_pauses(notes: NoteList) -> NoteList:
    """Start at 0 and cut every silence longer than MAX_PAUSE_SECONDS down to it."""
    notes = notes.sorted()
    heard_until = np.maximum.accumulate(notes.end)
    gaps = np.zeros(len(notes))
    gaps[1:] = notes.start[1:] - heard_until[:-1]
    shift = notes.start[0] + np.cumsum(np.clip(gaps - MAX_PAUSE_SECONDS, 0.0, None))
    return notes.with_times(notes.start - shift, notes.end - shift)


def collect_takes(folder) -> list[Take]:
    """Every take (recursively) with player notes, sorted by path. Raises one-line errors for a missing or
    empty folder and for takes without a player part."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise PerformanceRnnError(f"takes folder {folder} does not exist; record takes with r in "
                                  "performance_rnn_live (or --record), or pass --takes DIR")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in MIDI_SUFFIXES)
    if not files:
        raise PerformanceRnnError(f"no takes (.mid files) in {folder}; record some with r in performance_rnn_live")
    takes = [Take(p, notes) for p in files if (notes := player_notes(p)) is not None and len(notes)]
    if not takes:
        raise PerformanceRnnError(f"none of the {len(files)} .mid files in {folder} has player notes (a track "
                                  f"named {PLAYER_TRACK!r}, as performance_rnn_live records); play into the "
                                  "instrument's input while recording")
    return takes
