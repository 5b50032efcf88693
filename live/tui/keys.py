"""The panel's key bindings (one table: the footer, the help screen and the tests all read it)."""
from __future__ import annotations

from textual.binding import Binding

from live.tui.computer_keys import piano_bindings
from live.tui.sync_panel import sync_bindings

SCALE_KEYS = {"M": "major", "N": "natural_minor", "H": "harmonic_minor", "P": "major_pentatonic",
              "K": "minor_pentatonic", "B": "blues", "W": "whole_tone", "C": "chromatic"}


def app_bindings() -> list[Binding]:
    keys = [
        Binding("space", "start_stop", "start/stop", priority=True,
                tooltip="the model plays or falls silent; the clock runs on and keeps listening"),
        Binding("p", "panic", "panic", tooltip="note-off for every sounding note, then CC 123 and 120 on all channels"),
        Binding("r", "record", "record", tooltip="start/stop a take (player and model tracks in one .mid)"),
        Binding("question_mark,f1", "help", "help", tooltip="this screen"),
        Binding("q", "quit", "quit", tooltip="panic first, stop, save recordings, leave"),
        Binding("m", "cycle_mode", "mode", tooltip="solo → duet → call and response → mute"),
        Binding("c", "toggle_conditioning", "conditioning",
                tooltip="density and pitch conditioning on/off"),
        Binding("t", "toggle_thru", "MIDI thru (hear your keyboard through the output)", show=False),
        Binding("l", "learn", "MIDI learn", tooltip="then move a hardware knob: it drives the focused control"),
        Binding("L", "learn_pick", "learn any control", show=False),
        Binding("escape", "cancel_learn", "cancel MIDI learn", show=False),
        Binding("s", "save_preset", "save preset", tooltip="the current settings as a new preset (next number key)"),
        Binding("i", "pick_input", "input port", show=False),
        Binding("o", "pick_output", "output port", show=False),
        Binding("b", "pick_model", "model", show=False),
        Binding("f", "learn_takes", "learn from my takes (fine-tune a model on them, then play it)", show=False),
        Binding("g", "pick_program('model')", "the model's instrument (GM program)", show=False),
        Binding("G", "pick_program('player')", "your instrument through MIDI thru (GM program)", show=False),
        Binding("z", "reset_model", "reset the model's context", show=False),
        Binding("left_square_bracket", "root(-1)", "scale root down a semitone", show=False),
        Binding("right_square_bracket", "root(1)", "scale root up a semitone", show=False),
    ]
    keys += [Binding(k, f"scale('{name}')", f"scale: {name.replace('_', ' ')}", show=False)
             for k, name in SCALE_KEYS.items()]
    keys += [Binding(str((i + 1) % 10), f"preset({i})", f"load preset {i + 1}", show=False) for i in range(10)]
    keys += piano_bindings() + sync_bindings()
    return keys


