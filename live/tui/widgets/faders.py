"""PitchFaders: 12 vertical pitch-class faders (C..B) in one focus stop."""
from __future__ import annotations

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from live.scales import MAX_LEVEL, NOTE_NAMES

COLUMN = 4  # characters per fader column
EIGHTHS = " ▁▂▃▄▅▆▇█"


class PitchFaders(Widget, can_focus=True):
    """left/right pick a pitch class, up/down move its fader; click a column to set it by height."""

    DEFAULT_CSS = """
    PitchFaders { height: 6; width: 50; }
    PitchFaders:focus { background: $boost; }
    PitchFaders.-learning { background: $warning 40%; }
    """
    BINDINGS = [
        Binding("left", "select(-1)", "previous pitch class", show=False),
        Binding("right", "select(1)", "next pitch class", show=False),
        Binding("up,plus,equals_sign", "nudge(1)", "raise fader", show=False),
        Binding("down,minus", "nudge(-1)", "lower fader", show=False),
        Binding("pageup", "nudge(8)", "fader to top", show=False),
        Binding("pagedown", "nudge(-8)", "fader to bottom", show=False),
    ]

    levels: reactive[tuple] = reactive((MAX_LEVEL // 2,) * 12)
    selected: reactive[int] = reactive(0)

    class Changed(Message):
        """A fader moved by hand or by MIDI CC (`by_user`), or all twelve were set by a scale preset."""

        def __init__(self, faders: "PitchFaders", levels: tuple, by_user: bool) -> None:
            super().__init__()
            self.faders = faders
            self.levels = levels
            self.by_user = by_user

        @property
        def control(self) -> "PitchFaders":
            return self.faders

    def __init__(self, levels=None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._by_user = False
        if levels is not None:
            self.set_reactive(PitchFaders.levels, self.validate_levels(levels))

    def validate_levels(self, levels) -> tuple:
        return tuple(max(0, min(MAX_LEVEL, int(v))) for v in levels)

    def validate_selected(self, index: int) -> int:
        return index % 12

    def watch_levels(self, levels: tuple) -> None:
        self.post_message(self.Changed(self, levels, self._by_user))
        self._by_user = False

    def set_level(self, index: int, level: int, by_user: bool = True) -> None:
        new = list(self.levels)
        new[index % 12] = level
        self._by_user = by_user
        self.levels = tuple(new)

    def set_fraction(self, fraction: float, index: int | None = None) -> None:
        """MIDI CC: set one fader (the selected one by default) to 0..1 of its travel."""
        self.set_level(self.selected if index is None else index, round(fraction * MAX_LEVEL))

    def action_select(self, delta: int) -> None:
        self.selected = self.selected + delta

    def action_nudge(self, delta: int) -> None:
        self.set_level(self.selected, self.levels[self.selected] + delta)

    def on_click(self, event: events.Click) -> None:
        index = event.x // COLUMN
        rows = self.size.height - 1
        if 0 <= index < 12 and 0 <= event.y < rows:
            self.selected = index
            self.set_level(index, round((rows - event.y) / rows * MAX_LEVEL))

    def render(self) -> Text:
        rows = max(1, self.size.height - 1)
        text = Text()
        for row in range(rows):
            for i, level in enumerate(self.levels):
                eighths = round(level / MAX_LEVEL * rows * 8) - (rows - 1 - row) * 8
                char = EIGHTHS[max(0, min(8, eighths))]
                style = "bold yellow" if i == self.selected and self.has_focus else "cyan"
                text.append(f" {char * 2} ", style=style)
            text.append("\n")
        for i, name in enumerate(NOTE_NAMES):
            style = "reverse" if i == self.selected else ""
            text.append(f"{name:^{COLUMN}}", style=style)
        return text
