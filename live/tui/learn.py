"""MIDI learn for the panel: arm a control, bind the next CC, and apply mapped CCs to the widgets."""
from __future__ import annotations

from live.cc_map import CCMove, Learned
from live.tui.control_map import CONTROL_IDS, PITCH_CONTROLS, TOGGLES
from live.tui.messages import PlayerControlChange
from live.tui.screens.pickers import PickScreen
from live.tui.widgets.faders import PitchFaders
from live.tui.widgets.knob import Toggle


class MidiLearnMixin:
    """Mixed into the App: needs self.cc_map, self.cc_map_path, self.main and the action_* methods."""

    def focused_control(self) -> str | None:
        widget = self.focused
        if isinstance(widget, PitchFaders):
            return PITCH_CONTROLS[widget.selected]
        if widget is not None and widget.id in CONTROL_IDS:
            return widget.id
        return None

    def action_learn(self) -> None:
        control = self.focused_control()
        if control is None:
            self.action_learn_pick()
            return
        self.start_learn(control)

    def action_learn_pick(self) -> None:
        self.push_screen(PickScreen("MIDI learn: which control?", list(CONTROL_IDS), None),
                         lambda c: c and self.start_learn(c))

    def start_learn(self, control: str) -> None:
        self.learn_target = control
        self.cc_map.learn(control)
        self._mark_learning(control)
        self.notify(f"MIDI learn: move a knob, fader or button on your controller for {control} (esc cancels)",
                    timeout=5)

    def action_cancel_learn(self) -> None:
        if self.learn_target is not None:
            self.cc_map.cancel()
            self.learn_target = None
            self._mark_learning(None)

    def _mark_learning(self, control: str | None) -> None:
        for widget in self.main.query(".-learning"):
            widget.remove_class("-learning")
        widget = self._widget_for(control) if control else None
        if widget is not None:
            widget.add_class("-learning")

    def _widget_for(self, control: str):
        if control in PITCH_CONTROLS:
            return self.main.query_one(PitchFaders)
        matches = self.main.query(f"#{control}") if control and ":" not in control else []
        return matches.first() if matches else None

    def on_player_control_change(self, event: PlayerControlChange) -> None:
        # Named handler, not @on: Textual registers @on only on MessagePump classes, and this is a mixin.
        result = self.cc_map.feed(event.msg)
        if isinstance(result, Learned):
            self.learn_target = None
            self._mark_learning(None)
            self.save_cc_map()
            self.update_labels()
            self.notify(f"learned: CC {result.cc} on channel {result.channel + 1} → {result.control}", timeout=4)
            if not result.control.startswith("action:") and result.control not in TOGGLES:
                # The control jumps to the hardware knob's position at once, as a DAW's MIDI learn does (and a
                # newer CC may have replaced the learning one in the queue: its value must not be lost).
                self.apply_cc(CCMove(result.control, event.msg.value / 127.0, pressed=False))
        elif isinstance(result, CCMove):
            self.apply_cc(result)

    def apply_cc(self, move: CCMove) -> None:
        control = move.control
        if control.startswith("action:"):
            if move.pressed:
                getattr(self, f"action_{control.split(':', 1)[1]}")()
        elif control in PITCH_CONTROLS:
            self.main.query_one(PitchFaders).set_fraction(move.fraction, PITCH_CONTROLS.index(control))
        elif control in TOGGLES:
            if move.pressed:
                self.main.query_one(f"#{control}", Toggle).action_flip()
        else:
            widget = self._widget_for(control)
            if widget is not None:
                widget.set_fraction(move.fraction)

    def save_cc_map(self) -> None:
        if self.cc_map_path is None:
            return
        try:
            self.cc_map.save(self.cc_map_path)
        except OSError as err:
            self.notify(f"cannot save the MIDI map to {self.cc_map_path}: {err}", severity="error")

