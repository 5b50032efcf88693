"""Control ids (shared by widgets, presets and MIDI learn) and the scheduler command each one sends."""
from __future__ import annotations

from dataclasses import dataclass

from live.commands import Command, SetControl
from live.scales import NOTE_NAMES, levels_to_histogram
from live.settings import CONTROLS


@dataclass(frozen=True)
class KnobSpec:
    id: str
    label: str
    fmt: str
    unit: str = ""

    @property
    def range(self) -> tuple[float, float, float]:
        c = CONTROLS[self.id]
        return c.low, c.high, c.step

    @property
    def low_label(self) -> str | None:
        """What the lowest position says when it switches the control off (live.settings), else None."""
        return CONTROLS[self.id].off


KNOBS = (
    KnobSpec("notes_per_second", "notes/s", "{:.1f}"),
    KnobSpec("temperature", "temperature", "{:.2f}"),
    KnobSpec("velocity_scale", "velocity", "{:.2f}", "x"),
    KnobSpec("lookahead_ms", "lookahead", "{:.0f}", " ms"),
)
CALL_KNOBS = (
    KnobSpec("call_silence_s", "call silence", "{:.1f}", " s"),
    KnobSpec("answer_s", "answer length", "{:.1f}", " s"),
)
PITCH_CONTROLS = tuple(f"pitch_{name}" for name in NOTE_NAMES)
# Actions a hardware button can fire (CC crossing 64 upwards), named after the app's action_* methods.
ACTIONS = ("start_stop", "panic", "record", "reset_model", "next_preset", "previous_preset", "cycle_mode",
           "toggle_conditioning", "toggle_thru")
TOGGLES = ("conditioning", "count_player", "thru")
CONTROL_IDS = (tuple(k.id for k in KNOBS + CALL_KNOBS) + TOGGLES + ("mode",) + PITCH_CONTROLS
               + tuple(f"action:{a}" for a in ACTIONS))


def command_for(control: str, value) -> Command | None:
    """The scheduler command for a control's new value; None for UI-only controls."""
    if control == "pitch_levels":
        return SetControl("pitch_class_histogram", levels_to_histogram(value))
    return SetControl(control, value) if control in CONTROLS else None
