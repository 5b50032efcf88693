"""Playing without a MIDI keyboard: the computer keyboard as a piano and mouse presses on the keyboard strip.

Their notes go through the session API's player_message, the same way into the scheduler as a MIDI input
callback's, so duet, call and response, MIDI thru and recording all hear them."""
from __future__ import annotations

import time

from live.tui.computer_keys import ComputerPiano
from live.tui.widgets.knob import Toggle
from live.tui.widgets.piano_roll import KeyboardStrip


def player_channel(model_channel: int) -> int:
    """MIDI channel 2, or 1 when the model plays on 2: never the model's, so the player's program applies."""
    return 0 if model_channel == 1 else 1


class KeyboardPlayMixin:
    """Mixed into the App: needs self.bridge, self.main and update_labels()."""

    piano: ComputerPiano
    _piano_timer = None

    def init_piano(self) -> None:
        self.piano = ComputerPiano(channel=player_channel(self.bridge.settings.channel - 1))

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "piano_key" and (not self.piano.on or self.screen is not self.main):
            return False  # the key falls through to its usual binding (or to the dialog on top)
        return super().check_action(action, parameters)

    def action_toggle_piano(self) -> None:
        self.piano.on = not self.piano.on
        if not self.piano.on:
            self.piano_send(self.piano.release_all())
        else:
            thru = self.main.query_one("#thru", Toggle)
            if not thru.value:  # without it the model hears the keys but nobody else does
                thru.action_flip()
                self.notify("MIDI thru on, so you hear your keys (t turns it off)", timeout=4)
        self.update_labels()

    def action_piano_key(self, key: str) -> None:
        octave, velocity = self.piano.octave, self.piano.velocity
        self.piano_send(self.piano.press(key, time.monotonic()))
        if (octave, velocity) != (self.piano.octave, self.piano.velocity):
            self.update_labels()

    def on_keyboard_strip_played(self, event: KeyboardStrip.Played) -> None:
        # Named handler, not @on: Textual registers @on only on MessagePump classes, and this is a mixin.
        if event.on:
            self.piano_send(self.piano.strike(event.note, time.monotonic()))
        else:
            self.piano_send(self.piano.release(event.note))

    def piano_send(self, messages: list) -> None:
        for msg in messages:
            self.bridge.player_message(msg)
        self._arm_piano_timer()

    def _arm_piano_timer(self) -> None:
        """One timer, for the next note to end (timers run on the UI loop: a note may end a frame late)."""
        if self._piano_timer is not None:
            self._piano_timer.stop()
            self._piano_timer = None
        due = self.piano.next_due()
        if due is not None:
            self._piano_timer = self.set_timer(max(0.0, due - time.monotonic()), self._piano_due)

    def _piano_due(self) -> None:
        self._piano_timer = None
        self.piano_send(self.piano.due(time.monotonic()))

    def piano_status(self) -> str:
        if not self.piano.on:
            return ""
        return f"[b reverse] piano [/] {self.piano.label()} [dim]z/x c/v ` off[/]   "
