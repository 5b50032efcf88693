"""Small modal dialogs: pick one name from a list (ports, models), or type a name (save preset)."""
from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList

DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{ width: 60; height: auto; max-height: 80%; border: thick $accent; background: $surface;
                     padding: 0 1; }}
{name} OptionList {{ height: auto; max-height: 16; }}
"""


class PickScreen(ModalScreen[str | None]):
    """Returns the chosen item, or None on escape."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]
    DEFAULT_CSS = DIALOG_CSS.format(name="PickScreen")

    def __init__(self, title: str, items: list[str], current: str | None = None,
                 details: dict[str, str] | None = None) -> None:
        super().__init__()
        self.title_text, self.items, self.current = title, items, current
        self.details = details or {}  # shown after an item's name (e.g. a model's licence)

    def _label(self, item: str) -> str:
        detail = self.details.get(item)
        return f"{'● ' if item == self.current else '  '}{item}" + (f"  [dim]{detail}[/dim]" if detail else "")

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            options = OptionList(*[self._label(i) for i in self.items])
            options.highlighted = self.items.index(self.current) if self.current in self.items else 0
            yield options

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.items[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)


class NameScreen(ModalScreen[str | None]):
    """Asks for a name (empty input takes the suggested one); enter saves, escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]
    DEFAULT_CSS = DIALOG_CSS.format(name="NameScreen")

    def __init__(self, title: str, default: str = "") -> None:
        super().__init__()
        self.title_text, self.default = title, default

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            yield Input(placeholder=self.default, id="name")

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or self.default or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
