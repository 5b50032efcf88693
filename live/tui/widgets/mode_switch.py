"""ModeSwitch: solo / duet / call and response / mute, in one line."""
from __future__ import annotations

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from live.settings import MODES


class ModeSwitch(Widget, can_focus=True):
    """One of live.settings.MODES; left/right or a click picks it, the app's `m` key cycles it."""

    DEFAULT_CSS = """
    ModeSwitch { height: 1; width: 1fr; }
    ModeSwitch:focus { background: $boost; }
    ModeSwitch.-learning { background: $warning 40%; }
    """
    BINDINGS = [
        Binding("right", "cycle(1)", "next mode", show=False),
        Binding("left", "cycle(-1)", "previous mode", show=False),
    ]
    LABELS = {"solo": "solo", "duet": "duet", "call": "call+response", "mute": "mute"}

    mode: reactive[str] = reactive(MODES[0], init=False)  # no Changed at mount: the app sends its own state

    def __init__(self, mode: str = MODES[0], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.set_reactive(ModeSwitch.mode, mode)

    class Changed(Message):
        def __init__(self, switch: "ModeSwitch", mode: str) -> None:
            super().__init__()
            self.switch = switch
            self.mode = mode

        @property
        def control(self) -> "ModeSwitch":
            return self.switch

    def validate_mode(self, mode: str) -> str:
        return mode if mode in MODES else MODES[0]

    def watch_mode(self, mode: str) -> None:
        self.post_message(self.Changed(self, mode))

    def action_cycle(self, delta: int) -> None:
        self.mode = MODES[(MODES.index(self.mode) + delta) % len(MODES)]

    def set_fraction(self, fraction: float) -> None:
        """MIDI CC: split the travel into one zone per mode."""
        self.mode = MODES[min(len(MODES) - 1, int(fraction * len(MODES)))]

    def on_click(self, event: events.Click) -> None:
        x = event.x - len("mode  ")
        for mode in MODES:
            width = len(self.LABELS[mode]) + 2
            if 0 <= x < width:
                self.mode = mode
                return
            x -= width + 1

    def render(self) -> Text:
        text = Text("mode  ", style="bold" if self.has_focus else "")
        for mode in MODES:
            style = "reverse bold green" if mode == self.mode else "dim"
            text.append(f" {self.LABELS[mode]} ", style=style)
            text.append(" ")
        return text
