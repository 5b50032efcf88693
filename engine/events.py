"""Performance events and the Magenta-compatible class vocabulary (one ordered table of ranges)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

NOTE_ON, NOTE_OFF, TIME_SHIFT, VELOCITY = "note_on", "note_off", "time_shift", "velocity"
KINDS = (NOTE_ON, NOTE_OFF, TIME_SHIFT, VELOCITY)
KIND_CODE = {kind: code for code, kind in enumerate(KINDS)}  # small ints for vectorized work

STEPS_PER_SECOND = 100  # one step is 10 ms
MAX_NOTE_SECONDS = 5.0  # Magenta's max_note_duration: decoders end longer notes here
MAX_SHIFT_STEPS = 100  # one TIME_SHIFT covers at most 1 s
MAX_VELOCITY_BINS = 127
DEFAULT_VELOCITY_BINS = 32

# Each kind's value limits; VELOCITY is further limited by the vocabulary's bin count.
_LIMITS = {NOTE_ON: (0, 127), NOTE_OFF: (0, 127), TIME_SHIFT: (1, MAX_SHIFT_STEPS), VELOCITY: (1, MAX_VELOCITY_BINS)}


@dataclass(frozen=True, slots=True)
class Event:
    """One performance event: `kind` is one of KINDS, `value` a pitch, a step count or a velocity bin."""

    kind: str
    value: int

    def __post_init__(self):
        if self.kind not in _LIMITS:
            raise ValueError(f"event kind must be one of {KINDS}, not {self.kind!r}")
        low, high = _LIMITS[self.kind]
        if not low <= self.value <= high:
            raise ValueError(f"{self.kind} value must be in range {low}..{high}, not {self.value!r}")

    def __repr__(self):
        return f"Event({self.kind}, {self.value})"


def velocity_bin_size(num_bins: int) -> int:
    return math.ceil(MAX_VELOCITY_BINS / num_bins)


def velocity_to_bin(velocity, num_bins: int):
    """MIDI velocity 1..127 to bin 1..num_bins (Magenta: 1-4 -> 1 ... 125-127 -> 32 with 32 bins)."""
    return (np.asarray(velocity) - 1) // velocity_bin_size(num_bins) + 1


def bin_to_velocity(velocity_bin, num_bins: int):
    """The lower edge of the bin, as Magenta decodes it."""
    return 1 + (np.asarray(velocity_bin) - 1) * velocity_bin_size(num_bins)


@dataclass(frozen=True)
class Vocabulary:
    """Class ids: NOTE_ON 0..127, NOTE_OFF 128..255, TIME_SHIFT 256..355, VELOCITY 356.. (if bins > 0)."""

    num_velocity_bins: int = DEFAULT_VELOCITY_BINS

    def __post_init__(self):
        if not 0 <= self.num_velocity_bins <= MAX_VELOCITY_BINS:
            raise ValueError(f"num_velocity_bins must be in range 0..{MAX_VELOCITY_BINS}")

    @cached_property
    def ranges(self) -> tuple[tuple[str, int, int, int], ...]:
        """(kind, low, high, first class id) in class order."""
        spans = [(NOTE_ON, 0, 127), (NOTE_OFF, 0, 127), (TIME_SHIFT, 1, MAX_SHIFT_STEPS)]
        if self.num_velocity_bins:
            spans.append((VELOCITY, 1, self.num_velocity_bins))
        table, offset = [], 0
        for kind, low, high in spans:
            table.append((kind, low, high, offset))
            offset += high - low + 1
        return tuple(table)

    @cached_property
    def num_classes(self) -> int:
        kind, low, high, offset = self.ranges[-1]
        return offset + high - low + 1

    @cached_property
    def offsets(self) -> dict[str, int]:
        return {kind: offset - low for kind, low, _, offset in self.ranges}

    @cached_property
    def kind_codes(self) -> np.ndarray:
        """kind code (KIND_CODE) of every class id."""
        return np.concatenate([np.full(h - lo + 1, KIND_CODE[k], np.int8) for k, lo, h, _ in self.ranges])

    @cached_property
    def values(self) -> np.ndarray:
        """event value of every class id."""
        return np.concatenate([np.arange(lo, h + 1, dtype=np.int16) for _, lo, h, _ in self.ranges])

    @property
    def no_event_id(self) -> int:
        """TIME_SHIFT(100): Magenta's default event, the 'no event' label of the accuracy metrics."""
        return self.offsets[TIME_SHIFT] + MAX_SHIFT_STEPS

    def encode(self, event: Event) -> int:
        for kind, low, high, offset in self.ranges:
            if kind == event.kind and low <= event.value <= high:
                return offset + event.value - low
        raise ValueError(f"{event!r} is outside this vocabulary ({self.num_velocity_bins} velocity bins)")

    def decode(self, class_id: int) -> Event:
        if not 0 <= class_id < self.num_classes:
            raise ValueError(f"class id must be in range 0..{self.num_classes - 1}, not {class_id!r}")
        return Event(KINDS[self.kind_codes[class_id]], int(self.values[class_id]))

    def encode_all(self, events) -> np.ndarray:
        return np.fromiter((self.encode(e) for e in events), dtype=np.int32)

    def decode_all(self, ids) -> list[Event]:
        codes, values = self.kind_codes[ids], self.values[ids]
        return [Event(KINDS[c], int(v)) for c, v in zip(codes.tolist(), values.tolist())]

    def shift_steps(self, ids) -> np.ndarray:
        """Steps each event advances the clock: its value for TIME_SHIFT, else 0."""
        ids = np.asarray(ids)
        return np.where(self.kind_codes[ids] == KIND_CODE[TIME_SHIFT], self.values[ids], 0).astype(np.int64)
