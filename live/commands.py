"""Commands into the scheduler and the one thread-safe queue that carries them (the only way in).

Every command checks its values when it is built, so a bad knob value raises in the caller's thread
(UI, CLI) with a one-line message, never inside the clock thread."""
from __future__ import annotations

import collections
import math
import threading
from dataclasses import dataclass
from typing import Any

import mido
from engine.controls import check_histogram, check_notes_per_second
from engine.errors import ConfigError

MODES = ("solo", "duet", "call", "mute")
MAX_LOOKAHEAD_MS = 1000


class Command:
    """Base class: a value object sent to the scheduler thread."""


@dataclass(frozen=True)
class PlayerMessage(Command):
    """A MIDI message from the player, stamped with the clock time it arrived."""

    message: mido.Message
    time: float


@dataclass(frozen=True)
class SetNotesPerSecond(Command):
    value: float | None  # None: conditioning on Magenta's default density

    def __post_init__(self):
        if self.value is not None:
            check_notes_per_second(self.value)


@dataclass(frozen=True)
class SetPitchClassHistogram(Command):
    value: tuple | None  # 12 weights C..B, or None for uniform

    def __post_init__(self):
        if self.value is not None:
            check_histogram(list(self.value))
            object.__setattr__(self, "value", tuple(float(v) for v in self.value))


@dataclass(frozen=True)
class SetConditioning(Command):
    enabled: bool


@dataclass(frozen=True)
class SetTemperature(Command):
    value: float

    def __post_init__(self):
        check_temperature(self.value)


@dataclass(frozen=True)
class SetVelocity(Command):
    """Output velocity = clip(round(velocity * scale + offset), 1, 127)."""

    scale: float = 1.0
    offset: int = 0

    def __post_init__(self):
        if not (isinstance(self.scale, (int, float)) and 0 <= self.scale <= 4):
            raise ConfigError(f"velocity scale must be in range 0..4, not {self.scale!r}")
        if not (isinstance(self.offset, int) and -127 <= self.offset <= 127):
            raise ConfigError(f"velocity offset must be an int in range -127..127, not {self.offset!r}")


@dataclass(frozen=True)
class SetThru(Command):
    """Copy the player's channel messages to the output (MIDI thru) or not."""

    enabled: bool


@dataclass(frozen=True)
class SetMode(Command):
    mode: str

    def __post_init__(self):
        check_mode(self.mode)


@dataclass(frozen=True)
class SetLookahead(Command):
    milliseconds: float

    def __post_init__(self):
        check_lookahead_ms(self.milliseconds)


@dataclass(frozen=True)
class SwapModel(Command):
    """A ready voice (model loaded and primed off the clock thread) to play from the next tick on."""

    voice: Any
    name: str = ""


@dataclass(frozen=True)
class ResetModel(Command):
    """Forget the model's context (a fresh start against babble); sounding model notes are released."""


@dataclass(frozen=True)
class Panic(Command):
    """Note-offs for every sounding note, then CC 123 and CC 120 on all channels."""


@dataclass(frozen=True)
class ReplaceOutput(Command):
    """Swap the output port (reconnect after a loss); None means the port is gone."""

    port: Any
    reason: str = ""


@dataclass(frozen=True)
class Stop(Command):
    """Panic and end the scheduler loop."""


def check_temperature(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.05 <= value <= 5.0:
        raise ConfigError(f"temperature must be in range 0.05..5.0, not {value!r}")
    return float(value)


def check_mode(mode) -> str:
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    return mode


def check_lookahead_ms(value) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not 10 <= value <= MAX_LOOKAHEAD_MS:
        raise ConfigError(f"lookahead must be in range 10..{MAX_LOOKAHEAD_MS} ms, not {value!r}")
    return float(value)


def parse_histogram(text: str) -> tuple:
    """'1,0,1,0,1,1,0,1,0,1,0,1' (C..B) or a bracketed list, as the generate command takes it."""
    try:
        values = [float(v) for v in text.strip().strip("[]").split(",")]
    except ValueError as err:
        raise ConfigError(f"pitch_class_histogram must be 12 comma-separated numbers, not {text!r}") from err
    check_histogram(values)
    return tuple(values)


class CommandQueue:
    """Many producers, one consumer (the scheduler). put() never blocks; `wake` cuts the scheduler's sleep."""

    def __init__(self):
        self._items: collections.deque = collections.deque()
        self.wake = threading.Event()

    def put(self, command: Command) -> None:
        if not isinstance(command, Command):
            raise TypeError(f"put() takes a Command, not {command!r}")
        self._items.append(command)  # deque.append is atomic: safe from any thread
        self.wake.set()

    def drain(self) -> list[Command]:
        # Clear before popping: a command that arrives meanwhile sets the event again.
        self.wake.clear()
        out = []
        while self._items:
            out.append(self._items.popleft())
        return out

    def __len__(self):
        return len(self._items)
