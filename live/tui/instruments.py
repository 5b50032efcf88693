"""Choosing the General MIDI instruments of the model's part and of the player's thru (keys g and G)."""
from __future__ import annotations

from live.programs import program_label

PARTS = {"model": ("program", "The model's instrument (GM program):"),
         "player": ("player_program", "Your instrument through MIDI thru (GM program):")}


class InstrumentsMixin:
    """Mixed into the App: needs self.state, send(), _pick() and update_labels()."""

    def action_pick_program(self, part: str) -> None:
        control, title = PARTS[part]
        labels = [program_label(n) for n in range(1, 129)]

        def use(label: str) -> None:
            self.set_program(control, int(label.split()[0]))

        self._pick(title, labels, program_label(getattr(self.state, control)), use)

    def set_program(self, control: str, number: int) -> None:
        """The scheduler sends the program change on the output (and so into the built-in synth) at once."""
        self.state = self.state.replace(**{control: number})
        self.send(control, number)

    def programs_label(self) -> str:
        s = self.state
        return (f"[b]model[/] {program_label(s.program)}  [dim]g[/]\n"
                f"[b]you[/]   {program_label(s.player_program)}  [dim]G[/]")
