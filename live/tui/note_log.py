"""NoteLog: the last seconds of player and model notes as (pitch, part, start, end), fed plain note events.

Lives on the UI thread; the scheduler's NoteSent events reach it through a deque drained by the refresh timer."""
from __future__ import annotations

import collections
from dataclasses import dataclass

PLAYER, MODEL = "player", "model"
# The scheduler's part names: 'input' is a note the player played, 'player' is the same note sent out as thru.
PART_OF = {"input": PLAYER, "model": MODEL}


@dataclass
class RollNote:
    pitch: int
    part: str
    start: float
    end: float | None = None  # None while sounding
    velocity: int = 64


class NoteLog:
    def __init__(self, window_seconds: float = 10.0):
        self.window = window_seconds
        self.notes: collections.deque[RollNote] = collections.deque()
        self.open: dict[tuple[str, int, int], RollNote] = {}
        self.onsets: dict[str, collections.deque] = {PLAYER: collections.deque(), MODEL: collections.deque()}
        self.latest = 0.0

    def add(self, seconds: float, part: str, msg) -> None:
        """One scheduler note event: part 'input' or 'model' ('player' thru copies are skipped)."""
        part = PART_OF.get(part)
        if part is None or msg.type not in ("note_on", "note_off"):
            return
        self.latest = max(self.latest, seconds)
        key = (part, getattr(msg, "channel", 0), msg.note)
        self._close(key, seconds)
        if msg.type == "note_on" and msg.velocity > 0:
            note = RollNote(msg.note, part, seconds, None, msg.velocity)
            self.open[key] = note
            self.notes.append(note)
            self.onsets[part].append(seconds)

    def _close(self, key, seconds: float) -> None:
        note = self.open.pop(key, None)
        if note is not None:
            note.end = max(seconds, note.start)

    def release_all(self, seconds: float) -> None:
        """Panic or stop: everything ends now."""
        for key in list(self.open):
            self._close(key, seconds)

    def prune(self, now: float) -> None:
        oldest = now - self.window
        while self.notes and self.notes[0].end is not None and self.notes[0].end < oldest:
            self.notes.popleft()
        for times in self.onsets.values():
            while times and times[0] < now - self.window:
                times.popleft()

    def visible(self, now: float) -> list[RollNote]:
        oldest = now - self.window
        return [n for n in self.notes if n.end is None or n.end >= oldest]

    def sounding(self) -> dict[int, str]:
        """pitch -> part for every note sounding now (the model wins a tie: it is what the UI watches)."""
        out = {}
        for (part, _, pitch) in sorted(self.open, key=lambda k: k[0] == MODEL):
            out[pitch] = part
        return out

    def share_in_classes(self, part: str, levels, now: float) -> float | None:
        """Share of `part`'s notes started in the window whose pitch class has a fader level above 0; None
        without notes, or when every class is selected (the share would say nothing)."""
        if all(level > 0 for level in levels):
            return None
        pitches = [n.pitch for n in self.notes if n.part == part and n.start >= now - self.window]
        if not pitches:
            return None
        return sum(1 for p in pitches if levels[p % 12] > 0) / len(pitches)

    def notes_per_second(self, part: str, now: float, span: float = 4.0) -> float:
        return sum(1 for t in self.onsets[part] if now - span < t <= now) / span
