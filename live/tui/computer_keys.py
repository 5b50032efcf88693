"""The computer keyboard as a piano: the key map (DAW convention) and the note lengths, with no UI in it.

    a w s e d f t g y h u j k o l p ;   ->  C C# D D# E F F# G G# A A# B C C# D D# E
    z / x: octave down / up        c / v: velocity down / up

Terminals send key presses only (Textual 8 asks the kitty keyboard protocol for no release events, and its
Key event has no release), so a key's note gets a fixed length, ended by a timer. Holding a key makes the
terminal repeat it: a press of a sounding key within REPEAT_SECONDS of the last one keeps the note on
instead of striking it again. Notes held by the mouse (the on-screen strip) end when the button is released."""
from __future__ import annotations

import math
from dataclasses import dataclass

import mido
from textual.binding import Binding

KEY_OFFSETS = {"a": 0, "w": 1, "s": 2, "e": 3, "d": 4, "f": 5, "t": 6, "g": 7, "y": 8, "h": 9, "u": 10,
               "j": 11, "k": 12, "o": 13, "l": 14, "p": 15, "semicolon": 16}
OCTAVE_KEYS = {"z": -1, "x": 1}
VELOCITY_KEYS = {"c": -1, "v": 1}
NOTE_SECONDS = 0.3  # a tap's length: no key-up arrives to end it
REPEAT_SECONDS = 0.1  # auto-repeat comes every 25-50 ms; two taps of one key by hand are further apart
VELOCITY_STEP = 20
LOWEST_OCTAVE, HIGHEST_OCTAVE = -1, 8  # C-1 = MIDI 0; C8 + 16 semitones is still inside 0..127
NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
TOGGLE_KEYS = "grave_accent,f2"
LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass
class Held:
    off_at: float  # math.inf: held until release()
    last_press: float
    key: str | None = None  # the computer key that struck it (None: the mouse)


class ComputerPiano:
    """Turns key presses into note messages. Times are any monotonic seconds (the app uses time.monotonic)."""

    def __init__(self, channel: int = 1, octave: int = 4, velocity: int = 100,
                 note_seconds: float = NOTE_SECONDS):
        self.channel, self.octave, self.velocity, self.note_seconds = channel, octave, velocity, note_seconds
        self.on = False  # the letter rows play (the app's bindings for them are off)
        self.sounding: dict[int, Held] = {}

    @property
    def base(self) -> int:
        """MIDI note of the `a` key: C of the current octave (C4 = 60)."""
        return (self.octave + 1) * 12

    def press(self, key: str, now: float) -> list[mido.Message]:
        """A key press (a Textual key name). Octave and velocity keys change state and return nothing."""
        if key in OCTAVE_KEYS:
            self.octave = min(HIGHEST_OCTAVE, max(LOWEST_OCTAVE, self.octave + OCTAVE_KEYS[key]))
        elif key in VELOCITY_KEYS:
            self.velocity = min(127, max(VELOCITY_STEP, self.velocity + VELOCITY_KEYS[key] * VELOCITY_STEP))
        elif key in KEY_OFFSETS:
            return self.strike(self.base + KEY_OFFSETS[key], now, self.note_seconds, key)
        return []

    def strike(self, note: int, now: float, seconds: float | None = None, key: str | None = None
               ) -> list[mido.Message]:
        """Note on, ending `seconds` later (None: at release(note)). A key's auto-repeat only extends it."""
        held = self.sounding.get(note)
        off_at = math.inf if seconds is None else now + seconds
        if held is not None and key is not None and held.key == key and now - held.last_press < REPEAT_SECONDS:
            held.off_at, held.last_press = max(held.off_at, off_at), now
            return []
        out = self.release(note)  # a sounding note struck again: its note-off first, as a keyboard sends
        self.sounding[note] = Held(off_at, now, key)
        return out + [mido.Message("note_on", channel=self.channel, note=note, velocity=self.velocity)]

    def release(self, note: int) -> list[mido.Message]:
        if self.sounding.pop(note, None) is None:
            return []
        return [mido.Message("note_off", channel=self.channel, note=note, velocity=0)]

    def due(self, now: float) -> list[mido.Message]:
        """Note-offs of the notes whose time is up."""
        return [m for note in [n for n, h in self.sounding.items() if h.off_at <= now] for m in self.release(note)]

    def next_due(self) -> float | None:
        timed = [h.off_at for h in self.sounding.values() if h.off_at < math.inf]
        return min(timed) if timed else None

    def release_all(self) -> list[mido.Message]:
        return [m for note in list(self.sounding) for m in self.release(note)]

    def label(self) -> str:
        return f"C{self.octave}–{NAMES[(self.base + 16) % 12]}{(self.base + 16) // 12 - 1}  vel {self.velocity}"


def piano_bindings() -> list[Binding]:
    """The toggle, and every lowercase letter (and ;) as a priority binding that the app enables only while
    the piano is on: then they play or do nothing, and never reach their usual bindings."""
    keys = [Binding(TOGGLE_KEYS, "toggle_piano", "computer keyboard piano", show=False,
                    tooltip="a w s e d f t g y h u j k o l p ; play C..E, z/x octave, c/v velocity; "
                            "the letters' usual keys are off meanwhile")]
    keys += [Binding(k, f"piano_key('{k}')", "piano key", show=False, priority=True)
             for k in [*LETTERS, "semicolon"]]
    return keys
