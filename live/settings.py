"""Every instrument control, defined once: id, default, range, unit, help and check.

CLI flags (live.cli), preset keys (live.presets), knobs and MIDI-learn ids (live.tui.control_map) and command
validation (live.commands.SetControl) are all derived from CONTROLS. `Settings` holds one value per control; the
clock thread owns one instance, shared by the voice, the performer and the scheduler, and changes it only when a
SetControl command arrives. Out-of-range values are errors everywhere, never silent clamps."""
from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass

from engine.controls import check_histogram
from engine.errors import ConfigError

from .programs import GM_NAMES

MODES = ("solo", "duet", "call", "mute")


@dataclass(frozen=True)
class Control:
    id: str  # Settings attribute, preset key, knob and MIDI-learn id
    default: object
    help: str
    low: float | None = None
    high: float | None = None
    step: float | None = None  # knob resolution; None: no knob
    unit: str = ""
    kind: type = float  # float, int, bool or str (then `choices`)
    choices: tuple = ()  # str: the values; int: names of the values low.. (a name means its number)
    flag: str | None = None  # CLI flag when it is not --<id>
    off: str | None = None  # what the lowest value means, when it switches something off

    def check(self, value):
        """The value in its canonical type, or ConfigError naming the control and its range."""
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ConfigError(f"{self.id} must be true or false, not {value!r}")
            return value
        if self.kind is str:
            if value not in self.choices:
                raise ConfigError(f"{self.id} must be one of {', '.join(self.choices)}, not {value!r}")
            return value
        if self.kind is int and self.choices and isinstance(value, str):
            value = self.numbered(value)
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if self.kind is int and number and float(value).is_integer():
            value = int(value)
        if not number or (self.kind is int and not isinstance(value, int)) or not math.isfinite(value) \
                or not self.low <= value <= self.high:
            kind = "an integer" if self.kind is int else "a number"
            raise ConfigError(f"{self.id} must be {kind} in range {self.range_text()}, not {value!r}")
        return self.kind(value)

    def numbered(self, text: str) -> int:
        """Digits, a name from `choices`, or a unique part of one (case, spaces and punctuation ignored)."""
        if text.strip().isdigit():
            return int(text)
        key = _name_key(text)
        exact = [i for i, name in enumerate(self.choices) if _name_key(name) == key]
        found = exact or ([i for i, name in enumerate(self.choices) if key in _name_key(name)] if key else [])
        if len(found) == 1:
            return int(self.low) + found[0]
        hint = f"matches {', '.join(self.choices[i] for i in found[:4])}" if found else "is no known name"
        raise ConfigError(f"{self.id} {text!r} {hint}; give {self.range_text()} or a name such as "
                          f"{self.choices[min(4, len(self.choices) - 1)]!r}")

    def range_text(self) -> str:
        return f"{self.low:g}..{self.high:g}{self.unit and ' ' + self.unit}"


_CONTROLS = (
    Control("mode", "duet", "solo: improvise; duet: play along, hearing every note; call: answer after you "
            "pause; mute: listen only", kind=str, choices=MODES),
    Control("notes_per_second", 0.0, "density in notes/s, steered at sampling time; 0 (off): no steering and "
            "the model keeps its own pace (unconditioned without a scale, else its density input follows the "
            "music's own recent notes/s)", 0.0, 32.0, 0.5, "notes/s", off="off"),
    Control("temperature", 1.0, "softmax temperature: below 1 safer and more repetitive, above 1 wilder",
            0.05, 5.0, 0.05),
    Control("conditioning", True, "send the density and pitch controls to the model at all", kind=bool),
    Control("count_player", True, "your notes count toward the density knob (the texture's total notes/s)",
            kind=bool),
    Control("velocity_scale", 1.0, "output velocity = model velocity * scale + offset", 0.0, 4.0, 0.05, "x"),
    Control("velocity_offset", 0, "see velocity_scale", -127, 127, kind=int),
    Control("lookahead_ms", 100.0, "how far the model plays ahead of the clock; knob changes are heard after "
            "about this long", 10.0, 1000.0, 10.0, "ms"),
    Control("thru", False, "copy the player's messages to the output (MIDI thru)", kind=bool),
    Control("channel", 1, "MIDI channel of the model's notes", 1, 16, kind=int),
    Control("max_note_seconds", 5.0, "model notes still on after this long are ended (a wall-clock cap at "
            "the output)", 0.1, 60.0, unit="s"),
    Control("call_silence_s", 0.8, "call mode: seconds of your silence that end a call", 0.1, 4.0, 0.1, "s",
            flag="call_silence"),
    Control("answer_s", 0.0, "call mode: length of an answer; 0: as long as the call", 0.0, 16.0, 0.5, "s",
            flag="response_seconds", off="as call"),
    Control("refresh_seconds", 0.0, "reset the model's context this often, against babble; 0: never",
            0.0, 600.0, unit="s", off="never"),
    Control("program", 1, "General MIDI program of the model's part, a number or a name such as vibraphone "
            "(1: Acoustic Grand Piano); sent as a program change, also to an external synth", 1, 128,
            kind=int, choices=GM_NAMES),
    Control("player_program", 1, "General MIDI program of your notes through MIDI thru (every channel but "
            "the model's and 10), a number or a name", 1, 128, kind=int, choices=GM_NAMES),
)
CONTROLS: dict[str, Control] = {c.id: c for c in _CONTROLS}
KNOB_IDS = tuple(c.id for c in _CONTROLS if c.step is not None)


def _name_key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def control(control_id: str) -> Control:
    try:
        return CONTROLS[control_id]
    except KeyError:
        raise ConfigError(f"unknown control {control_id!r}; known: {', '.join(CONTROLS)}") from None


def check(control_id: str, value):
    """The one check of a control's value (also pitch_class_histogram: 12 weights C..B, or None)."""
    if control_id == "pitch_class_histogram":
        return None if value is None else tuple(float(v) for v in _histogram(value))
    return control(control_id).check(value)


def _histogram(value):
    check_histogram(list(value) if isinstance(value, (list, tuple)) else value)
    return value


def _settings_fields():
    fields = [(c.id, c.kind, dataclasses.field(default=c.default)) for c in _CONTROLS]
    return fields + [("pitch_class_histogram", "tuple | None", dataclasses.field(default=None))]


def _check_all(self) -> None:
    for name in [c.id for c in _CONTROLS] + ["pitch_class_histogram"]:
        object.__setattr__(self, name, check(name, getattr(self, name)))


Settings = dataclasses.make_dataclass("Settings", _settings_fields(), namespace={"__post_init__": _check_all})
Settings.__module__ = __name__  # pickled into the core process by name
Settings.__doc__ = ("One value per control (CONTROLS), plus the pitch_class_histogram the pitch faders set "
                    "(None: uniform). Built checked; afterwards only the clock thread changes it.")


def is_off(control_id: str, value) -> bool:
    """True when a control with an `off` meaning sits at its lowest value."""
    c = CONTROLS[control_id]
    return c.off is not None and value == c.low
