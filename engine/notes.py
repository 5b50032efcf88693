"""NoteList: timed notes as parallel numpy arrays, the common ground between MIDI, scores and performances."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

_DTYPES = {"pitch": np.int16, "velocity": np.int16, "start": np.float64, "end": np.float64,
           "program": np.int16, "channel": np.int16, "is_drum": bool}


@dataclass(frozen=True)
class NoteList:
    """One row per note; times in seconds. `channel` groups notes for the sustain pedal."""

    pitch: np.ndarray
    velocity: np.ndarray
    start: np.ndarray
    end: np.ndarray
    program: np.ndarray
    channel: np.ndarray
    is_drum: np.ndarray

    def __post_init__(self):
        for f in fields(self):
            object.__setattr__(self, f.name, np.asarray(getattr(self, f.name), dtype=_DTYPES[f.name]))

    @classmethod
    def empty(cls) -> "NoteList":
        return cls(*([[]] * len(_DTYPES)))

    @classmethod
    def from_tuples(cls, notes, program: int = 0, channel: int = 0) -> "NoteList":
        """From (pitch, start, end, velocity) tuples."""
        rows = list(notes)
        if not rows:
            return cls.empty()
        pitch, start, end, velocity = (np.array(c) for c in zip(*rows))
        n = len(rows)
        return cls(pitch, velocity, start, end, np.full(n, program), np.full(n, channel), np.zeros(n, bool))

    def __len__(self) -> int:
        return len(self.pitch)

    def select(self, mask_or_index) -> "NoteList":
        return NoteList(**{f.name: getattr(self, f.name)[mask_or_index] for f in fields(self)})

    def with_times(self, start, end) -> "NoteList":
        return replace(self, start=start, end=end)

    @property
    def total_time(self) -> float:
        return float(self.end.max()) if len(self) else 0.0

    def sorted(self) -> "NoteList":
        """By start time, then pitch (Magenta's order for performance extraction)."""
        return self.select(np.lexsort((self.pitch, self.start)))

    def to_tuples(self) -> list[tuple[int, float, float, int]]:
        return list(zip(self.pitch.tolist(), self.start.tolist(), self.end.tolist(), self.velocity.tolist()))

    @staticmethod
    def concatenate(parts: list["NoteList"]) -> "NoteList":
        if not parts:
            return NoteList.empty()
        return NoteList(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(NoteList)})
