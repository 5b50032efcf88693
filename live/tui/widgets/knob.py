"""Knob: a one-line horizontal control for a number (keys, mouse click on the bar, scroll wheel).

Textual 8 has no Slider. The value is a reactive clamped and snapped in validate_value; watch_value posts
Knob.Changed, which the app turns into a scheduler command."""
from __future__ import annotations

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

LABEL_WIDTH = 14
VALUE_WIDTH = 9


class Knob(Widget, can_focus=True):
    DEFAULT_CSS = """
    Knob { height: 1; width: 1fr; min-width: 30; }
    Knob:focus { background: $boost; text-style: bold; }
    Knob.-learning { background: $warning 40%; }
    """
    BINDINGS = [
        Binding("right,up,plus,equals_sign", "nudge(1)", "increase", show=False),
        Binding("left,down,minus", "nudge(-1)", "decrease", show=False),
        Binding("pageup", "nudge(10)", "increase x10", show=False),
        Binding("pagedown", "nudge(-10)", "decrease x10", show=False),
        Binding("home", "to_end(0)", "minimum", show=False),
        Binding("end", "to_end(1)", "maximum", show=False),
    ]

    value: reactive[float] = reactive(0.0)

    class Changed(Message):
        """The knob moved (by key, mouse, MIDI CC or preset)."""

        def __init__(self, knob: "Knob", value: float) -> None:
            super().__init__()
            self.knob = knob
            self.value = value

        @property
        def control(self) -> "Knob":
            return self.knob

    def __init__(self, label: str, low: float, high: float, step: float, value: float | None = None, *,
                 fmt: str = "{:.2f}", unit: str = "", off_at_low: bool = False, low_label: str = "off",
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.label, self.low, self.high, self.step = label, low, high, step
        self.fmt, self.unit, self.off_at_low, self.low_label = fmt, unit, off_at_low, low_label
        self.set_reactive(Knob.value, self.validate_value(low if value is None else value))

    # ---- value -----------------------------------------------------------------------------------------

    def validate_value(self, value: float) -> float:
        value = min(self.high, max(self.low, float(value)))
        snapped = self.low + round((value - self.low) / self.step) * self.step
        return round(min(self.high, snapped), 6)

    def watch_value(self, value: float) -> None:
        self.post_message(self.Changed(self, value))

    @property
    def fraction(self) -> float:
        return (self.value - self.low) / (self.high - self.low)

    def set_fraction(self, fraction: float) -> None:
        """Place the knob at 0..1 of its range (MIDI CC, mouse)."""
        self.value = self.low + max(0.0, min(1.0, fraction)) * (self.high - self.low)

    def text_value(self) -> str:
        if self.off_at_low and self.value <= self.low:
            return self.low_label
        return self.fmt.format(self.value) + self.unit

    # ---- input -----------------------------------------------------------------------------------------

    def action_nudge(self, steps: int) -> None:
        self.value = self.value + steps * self.step

    def action_to_end(self, end: int) -> None:
        self.value = self.high if end else self.low

    def _bar_width(self) -> int:
        return max(4, self.size.width - LABEL_WIDTH - VALUE_WIDTH - 2)

    def on_click(self, event: events.Click) -> None:
        x = event.x - LABEL_WIDTH - 1
        width = self._bar_width()
        if 0 <= x < width:
            self.set_fraction(x / max(1, width - 1))

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self.action_nudge(1)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self.action_nudge(-1)

    # ---- drawing ---------------------------------------------------------------------------------------

    def render(self) -> Text:
        width = self._bar_width()
        filled = round(self.fraction * width)
        text = Text(f"{self.label:<{LABEL_WIDTH}} ", style="bold" if self.has_focus else "")
        text.append("█" * filled, style="green")
        text.append("░" * (width - filled), style="dim")
        text.append(f" {self.text_value():>{VALUE_WIDTH}}")
        return text


class Toggle(Widget, can_focus=True):
    """An on/off control (enter or click flips it; a MIDI CC button flips it on press)."""

    DEFAULT_CSS = """
    Toggle { height: 1; width: 1fr; }
    Toggle:focus { background: $boost; text-style: bold; }
    Toggle.-learning { background: $warning 40%; }
    """
    BINDINGS = [Binding("enter", "flip", "switch on/off", show=False)]

    value: reactive[bool] = reactive(True)

    class Changed(Message):
        def __init__(self, toggle: "Toggle", value: bool) -> None:
            super().__init__()
            self.toggle = toggle
            self.value = value

        @property
        def control(self) -> "Toggle":
            return self.toggle

    def __init__(self, label: str, value: bool = True, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.label = label
        self.set_reactive(Toggle.value, bool(value))

    def watch_value(self, value: bool) -> None:
        self.post_message(self.Changed(self, value))

    def action_flip(self) -> None:
        self.value = not self.value

    def on_click(self) -> None:
        self.action_flip()

    def render(self) -> Text:
        text = Text(f"{self.label:<{LABEL_WIDTH}} ", style="bold" if self.has_focus else "")
        text.append(" on " if self.value else " off ", style="reverse green" if self.value else "reverse")
        return text
