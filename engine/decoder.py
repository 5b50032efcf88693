"""Incremental performance -> MIDI decoding for real time: one event in, the messages it implies out."""
from __future__ import annotations

import copy
import heapq
from collections import defaultdict, deque
from dataclasses import dataclass

import mido

from .events import KIND_CODE, NOTE_ON, TIME_SHIFT, VELOCITY, Vocabulary, bin_to_velocity
from .events import STEPS_PER_SECOND
from .performance import NO_VELOCITY_DEFAULT

PENDING, SOUNDING, ENDED = 0, 1, 2
# Notes cut by the duration rule stay open so a later NOTE_OFF still closes them (Magenta's matching), but a
# model that never sends one must not grow the state forever: past this many per pitch the oldest are dropped.
MAX_OPEN_PER_PITCH = 16


@dataclass(slots=True)
class _Note:
    pitch: int
    start: int
    velocity: int
    state: int = PENDING


class MidiDecoder:
    """Magenta's decode rules, as a stream. A NOTE_ON is held back until time moves on, so a note that ends
    at the step it started (zero length) is never sent; a note longer than `max_note_duration_steps` gets
    its note-off at the cut; re-striking a sounding pitch sends note-off then note-on, and the pitch's
    note-off waits for the last note holding it."""

    def __init__(self, num_velocity_bins: int = 32, max_note_duration_steps: int | None = 5 * STEPS_PER_SECOND,
                 channel: int = 0, default_velocity: int = NO_VELOCITY_DEFAULT):
        self.vocab = Vocabulary(num_velocity_bins)
        self.max_steps = max_note_duration_steps
        self.channel = channel
        self.velocity = default_velocity
        self.step = 0
        self._open: dict[int, deque[_Note]] = defaultdict(deque)
        self._pending: list[_Note] = []
        self._sounding = [0] * 128
        self._cuts: list[tuple[int, int, _Note]] = []  # (cut step, tiebreak, note)
        self._serial = 0

    def clone(self) -> "MidiDecoder":
        """A deep copy, so a live duet can roll the decoder back with the model state."""
        return copy.deepcopy(self)

    @property
    def sounding_pitches(self) -> list[int]:
        return [p for p, count in enumerate(self._sounding) if count]

    def feed(self, class_id: int) -> list[tuple[int, mido.Message]]:
        code, value = int(self.vocab.kind_codes[class_id]), int(self.vocab.values[class_id])
        if code == KIND_CODE[TIME_SHIFT]:
            return self.advance(value)
        if code == KIND_CODE[VELOCITY]:
            self.velocity = int(bin_to_velocity(value, self.vocab.num_velocity_bins))
            return []
        if code == KIND_CODE[NOTE_ON]:
            note = _Note(value, self.step, self.velocity)
            self._open[value].append(note)
            self._pending.append(note)
            return []
        return self._note_off(value)

    def advance(self, steps: int) -> list[tuple[int, mido.Message]]:
        """Move time on: send the held-back onsets, then the cuts that fall inside the shift."""
        out = self._flush()
        target = self.step + steps
        while self._cuts and self._cuts[0][0] <= target:
            cut_step, _, note = heapq.heappop(self._cuts)
            if note.state == SOUNDING:
                out += self._release(note, cut_step)
                queue = self._open[note.pitch]
                while len(queue) > MAX_OPEN_PER_PITCH and queue[0].state == ENDED:
                    queue.popleft()
        self.step = target
        return out

    def release_all(self) -> list[tuple[int, mido.Message]]:
        """Note-offs at the current step for everything sounding; held-back onsets are dropped."""
        self._pending.clear()
        out = []
        for queue in self._open.values():
            for note in queue:
                if note.state == SOUNDING:
                    out += self._release(note, self.step)
        self._open.clear()
        self._cuts.clear()
        return out

    def _note_off(self, pitch: int) -> list[tuple[int, mido.Message]]:
        queue = self._open.get(pitch)
        if not queue:
            return []  # NOTE_OFF with no open note: ignored, as Magenta does
        note = queue.popleft()
        if note.state == PENDING:  # zero length: never sent
            self._pending.remove(note)
            note.state = ENDED
            return []
        return self._release(note, self.step) if note.state == SOUNDING else []

    def _flush(self) -> list[tuple[int, mido.Message]]:
        out = []
        for note in self._pending:
            if self._sounding[note.pitch]:
                out.append((self.step, self._message("note_off", note.pitch)))
            out.append((self.step, self._message("note_on", note.pitch, note.velocity)))
            self._sounding[note.pitch] += 1
            note.state = SOUNDING
            if self.max_steps is not None:
                self._serial += 1
                heapq.heappush(self._cuts, (note.start + self.max_steps, self._serial, note))
        self._pending.clear()
        return out

    def _release(self, note: _Note, step: int) -> list[tuple[int, mido.Message]]:
        note.state = ENDED
        self._sounding[note.pitch] -= 1
        if self._sounding[note.pitch]:
            return []
        return [(step, self._message("note_off", note.pitch))]

    def _message(self, kind: str, pitch: int, velocity: int = 0) -> mido.Message:
        return mido.Message(kind, note=pitch, velocity=velocity, channel=self.channel)
