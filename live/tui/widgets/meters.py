"""Meters (model step time, lateness, requested vs actual notes/s, lookahead, late/dropped) and the
model's next pending events. Both show a plain dataclass the app fills at its refresh rate."""
from __future__ import annotations

from dataclasses import dataclass, field

from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from live.pending import PendingEvent
from live.scales import NOTE_NAMES

LATENESS_WINDOW_S = 30  # one window for both lateness figures: a p99 and a max of different spans contradict


@dataclass
class MeterReading:
    step_ms: float | None = None
    """Model step time estimate (the scheduler's pessimistic budget per step)."""
    lateness_p99_ms: float | None = None
    """p99, over the last LATENESS_WINDOW_S of report windows, of each window's worst send lateness."""
    lateness_max_ms: float | None = None
    """Worst send lateness over the same LATENESS_WINDOW_S (so max >= p99 always)."""
    requested_nps: float | None = None
    """The density knob (None: off)."""
    actual_nps: float = 0.0
    """Model note-ons per second over the last 4 s."""
    player_nps: float = 0.0
    in_scale: float | None = None
    """Share of the model's notes of the last 10 s inside the pitch classes the faders select (None: no notes
    or every class selected)."""
    lookahead_ms: float = 0.0
    late_ticks: int = 0
    catchups: int = 0
    """Silences the scheduler inserted because the model was not ahead of the clock (dropped time)."""
    rollbacks: int = 0
    pending: int = 0
    status: str = "stopped"
    recording: bool = False
    audio: tuple[float, float] | None = None
    """The built-in synth's (rms, peak) dBFS; None without one."""
    extra: dict = field(default_factory=dict)


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} ms"


def _bar(value: float, limit: float, width: int = 10, style: str | None = None) -> Text:
    filled = 0 if limit <= 0 else max(0, min(width, round(value / limit * width)))
    style = style or ("green" if value < limit * 0.5 else ("yellow" if value < limit else "red"))
    return Text("▮" * filled, style=style) + Text("▯" * (width - filled), style="dim")


FLOOR_DB = -60.0  # the level bar's empty end


def _level(audio: tuple[float, float] | None) -> tuple[str, Text | str]:
    """The audio row: RMS in numbers; the bar shows the peak from -60 to 0 dBFS, red from -3."""
    if audio is None:
        return "–", "no built-in synth"
    rms, peak = audio
    style = "red" if peak >= -3 else ("yellow" if peak >= -12 else "green")
    shown = f"{rms:.0f} dB" if rms > -120 else "silent"
    return shown, _bar(max(peak, FLOOR_DB) - FLOOR_DB, -FLOOR_DB, style=style) + Text(
        f" pk {peak:.0f}" if peak > FLOOR_DB else "")


class Meters(Widget):
    DEFAULT_CSS = """
    Meters { height: 11; width: 1fr; border: round $panel-lighten-2; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.reading = MeterReading()
        self.border_title = "meters"

    def show(self, reading: MeterReading) -> None:
        if reading != self.reading:  # most frames change nothing here: skip the repaint
            self.reading = reading
            self.refresh()

    def render(self) -> Table:
        r = self.reading
        table = Table.grid(padding=(0, 1))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_row("model step", _ms(r.step_ms), _bar(r.step_ms or 0.0, 10.0))
        table.add_row(f"late {LATENESS_WINDOW_S:g} s", f"p99 {_ms(r.lateness_p99_ms)}", f"max {_ms(r.lateness_max_ms)}")
        wanted = "off" if r.requested_nps is None else f"{r.requested_nps:g}"
        table.add_row("notes/s", f"{wanted} → {r.actual_nps:.1f}", f"you {r.player_nps:.1f}")
        table.add_row("in scale", "–" if r.in_scale is None else f"{100 * r.in_scale:.0f}%", "model, 10 s")
        table.add_row("lookahead", f"{r.lookahead_ms:.0f} ms", f"{r.pending} queued")
        table.add_row("late ticks", str(r.late_ticks), f"catch-ups {r.catchups}")
        table.add_row("rollbacks", str(r.rollbacks), "")
        table.add_row("audio rms", *_level(r.audio))
        state = f"[green]{r.status}[/]" if r.status.startswith("playing") else r.status
        table.add_row("clock", Text.from_markup(state), Text("● REC", style="bold red") if r.recording else "")
        return table


class PendingEvents(Widget):
    """The next few messages in the scheduler's heap: what the model is about to play."""

    DEFAULT_CSS = """
    PendingEvents { height: 8; width: 1fr; border: round $panel-lighten-2; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.events: tuple[PendingEvent, ...] = ()
        self.border_title = "model next"

    def show(self, events) -> None:
        events = tuple(events)
        if events != self.events:
            self.events = events
            self.refresh()

    def render(self) -> Text:
        if not self.events:
            return Text("nothing pending", style="dim")
        text = Text()
        for i, e in enumerate(self.events[: max(1, self.size.height)]):
            name = f"{NOTE_NAMES[e.note % 12]}{e.note // 12 - 1}"
            mark = "on " if e.kind == "note_on" else "off"
            style = "magenta" if e.kind == "note_on" else "dim magenta"
            text.append(f"+{e.due_ms:5.0f} ms  {mark} {name:<4} v{e.velocity:<3}", style=style)
            if i < len(self.events) - 1:
                text.append("\n")
        return text
