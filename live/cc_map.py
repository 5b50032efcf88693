"""MIDI learn: hardware CC (channel, number) -> UI control id, the learn step, and JSON storage.

The map knows nothing about ranges: it hands out the CC position as a fraction 0..1 and the UI applies it
to the control (a knob spans its range, a toggle or action fires on crossing the middle)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import mido
from engine.errors import ConfigError
from live.user_config import atomic_write_text

FORMAT_VERSION = 1


@dataclass(frozen=True)
class CCMove:
    """A mapped CC moved: set `control` to `fraction` (0..1) of its range."""

    control: str
    fraction: float
    pressed: bool  # crossed from the lower to the upper half: fire a button-like control once


@dataclass(frozen=True)
class Learned:
    """MIDI learn finished: `control` now follows CC `cc` on `channel` (0-based)."""

    control: str
    channel: int
    cc: int


class CCMap:
    """Owned by the UI thread: the MIDI callback thread only forwards messages, never calls this."""

    def __init__(self, bindings: dict[tuple[int, int], str] | None = None):
        self.bindings: dict[tuple[int, int], str] = dict(bindings or {})
        self.learning: str | None = None
        self._last: dict[tuple[int, int], int] = {}

    def learn(self, control: str) -> None:
        """Arm learning: the next CC that arrives is bound to `control`."""
        self.learning = control

    def cancel(self) -> None:
        self.learning = None

    def bind(self, channel: int, cc: int, control: str) -> Learned:
        # One CC drives one control, and relearning a control moves it off its old CC.
        self.bindings = {k: v for k, v in self.bindings.items() if v != control}
        self.bindings[(channel, cc)] = control
        return Learned(control, channel, cc)

    def unbind(self, control: str) -> None:
        self.bindings = {k: v for k, v in self.bindings.items() if v != control}

    def cc_for(self, control: str) -> tuple[int, int] | None:
        return next((k for k, v in self.bindings.items() if v == control), None)

    def feed(self, msg: mido.Message) -> CCMove | Learned | None:
        """A player message in; a Learned, a CCMove, or None (not a CC, or an unmapped one)."""
        if msg.type != "control_change":
            return None
        key = (msg.channel, msg.control)
        before = self._last.get(key, 0)
        self._last[key] = msg.value
        if self.learning is not None:
            control, self.learning = self.learning, None
            return self.bind(msg.channel, msg.control, control)
        control = self.bindings.get(key)
        if control is None:
            return None
        return CCMove(control, msg.value / 127.0, pressed=msg.value >= 64 > before)

    # ---- storage ------------------------------------------------------------------------------------------

    def to_json(self) -> str:
        rows = [{"channel": ch + 1, "cc": cc, "control": control}
                for (ch, cc), control in sorted(self.bindings.items())]
        return json.dumps({"version": FORMAT_VERSION, "mappings": rows}, indent=2) + "\n"

    def save(self, path) -> Path:
        return atomic_write_text(Path(path), self.to_json())

    @classmethod
    def load(cls, path, known_controls=None) -> "CCMap":
        """Read a saved map (a missing file is an empty map). Channels in the file are 1..16 as on hardware."""
        path = Path(path)
        if not path.is_file():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            rows = data["mappings"]
            bindings = {(int(r["channel"]) - 1, int(r["cc"])): str(r["control"]) for r in rows}
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ConfigError(f"midi map {path} is unreadable ({err}); fix it or delete it to start over") from None
        for (ch, cc), control in bindings.items():
            if not (0 <= ch < 16 and 0 <= cc < 128):
                raise ConfigError(f"midi map {path}: channel must be 1..16 and cc 0..127, not {ch + 1}/{cc}")
            if known_controls is not None and control not in known_controls:
                raise ConfigError(f"midi map {path}: unknown control {control!r}; known: "
                                  f"{', '.join(sorted(known_controls))}")
        return cls(bindings)
