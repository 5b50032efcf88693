"""Commands into the scheduler and the one thread-safe queue that carries them (the only way in).

Every command checks its values when it is built, so a bad knob value raises in the caller's thread
(UI, CLI) with a one-line message, never inside the clock thread."""
from __future__ import annotations

import collections
import threading
from dataclasses import dataclass
from typing import Any

import mido
from engine.controls import check_histogram
from engine.errors import ConfigError

from .settings import check


class Command:
    """Base class: a value object sent to the scheduler thread."""


@dataclass(frozen=True)
class PlayerMessage(Command):
    """A MIDI message from the player, stamped with the clock time it arrived."""

    message: mido.Message
    time: float


@dataclass(frozen=True)
class SetControl(Command):
    """A new value for one control of live.settings.CONTROLS (or pitch_class_histogram), checked there."""

    id: str
    value: Any

    def __post_init__(self):
        object.__setattr__(self, "value", check(self.id, self.value))


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
