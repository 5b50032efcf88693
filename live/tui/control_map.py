"""Control ids (shared by widgets, presets and MIDI learn) and the scheduler command each one sends."""
from __future__ import annotations

from dataclasses import dataclass

from live import commands as live_commands
from live.commands import (Command, SetConditioning, SetLookahead, SetMode, SetNotesPerSecond,
                           SetPitchClassHistogram, SetTemperature, SetVelocity)
from live.presets import KNOB_RANGES
from live.scales import NOTE_NAMES, levels_to_histogram


@dataclass(frozen=True)
class KnobSpec:
    id: str
    label: str
    fmt: str
    unit: str = ""
    off_at_low: bool = False
    low_label: str = "off"

    @property
    def range(self) -> tuple[float, float, float]:
        return KNOB_RANGES[self.id]


KNOBS = (
    KnobSpec("notes_per_second", "notes/s", "{:.1f}", off_at_low=True),
    KnobSpec("temperature", "temperature", "{:.2f}"),
    KnobSpec("velocity_scale", "velocity", "{:.2f}", "x"),
    KnobSpec("lookahead_ms", "lookahead", "{:.0f}", " ms"),
)
CALL_KNOBS = (
    KnobSpec("call_silence_s", "call silence", "{:.1f}", " s"),
    KnobSpec("answer_s", "answer length", "{:.1f}", " s", off_at_low=True, low_label="as call"),
)
PITCH_CONTROLS = tuple(f"pitch_{name}" for name in NOTE_NAMES)
# Actions a hardware button can fire (CC crossing 64 upwards), named after the app's action_* methods.
ACTIONS = ("start_stop", "panic", "record", "reset_model", "next_preset", "previous_preset", "cycle_mode",
           "toggle_conditioning", "toggle_thru")
CONTROL_IDS = (tuple(k.id for k in KNOBS + CALL_KNOBS) + ("conditioning", "thru", "mode") + PITCH_CONTROLS
               + tuple(f"action:{a}" for a in ACTIONS))


def command_for(control: str, value) -> Command | None:
    """The scheduler command for a control's new value; None for UI-only or non-scheduler controls."""
    if control == "notes_per_second":
        return SetNotesPerSecond(None if value <= 0 else float(value))
    if control == "temperature":
        return SetTemperature(float(value))
    if control == "velocity_scale":
        return SetVelocity(scale=float(value))
    if control == "lookahead_ms":
        return SetLookahead(float(value))
    if control == "conditioning":
        return SetConditioning(bool(value))
    if control == "thru":
        command = getattr(live_commands, "SetThru", None)  # newer engines only; without it thru stays as started
        return None if command is None else command(bool(value))
    if control == "mode":
        return SetMode(value)
    if control == "pitch_levels":
        return SetPitchClassHistogram(levels_to_histogram(value))
    return None
