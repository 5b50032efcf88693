"""The help screen: every key binding of the app and of the focused controls, in one table."""
from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

CONTROL_KEYS = [
    ("tab / shift+tab", "move between controls"),
    ("← → ↑ ↓  + -", "turn the focused knob (faders: ←→ pick a pitch class, ↑↓ move it)"),
    ("pgup / pgdn", "turn the focused knob by 10 steps"),
    ("home / end", "focused knob to minimum / maximum"),
    ("mouse", "click a knob's bar or a fader column; scroll wheel turns a knob"),
]


def key_label(key: str) -> str:
    names = {"space": "space", "question_mark": "?", "left_square_bracket": "[",
             "right_square_bracket": "]", "escape": "esc"}
    return " / ".join(names.get(k.strip(), k.strip()) for k in key.split(","))


class HelpScreen(ModalScreen[None]):
    """Lists the app's BINDINGS (passed in, so the table can never drift from the real keys)."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "close help")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 112; height: 90%; border: thick $accent; background: $surface;
    }
    """

    def __init__(self, bindings: list[Binding]) -> None:
        super().__init__()
        self.bindings = bindings

    def compose(self) -> ComposeResult:
        table = Table(title="Performance RNN Live: keys", expand=True, show_edge=False)
        table.add_column("key", style="bold cyan", no_wrap=True)
        table.add_column("does")
        presets = [b for b in self.bindings if b.action.startswith("preset(")]
        for b in self.bindings:
            if b is presets[0] if presets else False:
                table.add_row("1 … 9, 0", f"load preset 1 … {len(presets)} (shipped first, then your saved ones)")
            elif b not in presets and b.action.startswith("piano_key("):
                continue  # the toggle's row says what they do
            elif b not in presets:
                table.add_row(key_label(b.key), f"{b.description}: {b.tooltip}" if b.tooltip else b.description)
        table.add_section()
        for key, what in CONTROL_KEYS:
            table.add_row(key, what)
        with VerticalScroll():
            yield Static(table)
            yield Static("[dim]esc, ? or F1 closes this screen[/]")

    def action_close(self) -> None:
        self.dismiss(None)
