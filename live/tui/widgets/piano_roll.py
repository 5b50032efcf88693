"""PianoRoll (scrolling last ~10 s, two pitches per row with half blocks) and KeyboardStrip (sounding notes).

Both draw from a NoteLog and a `now` in scheduler seconds that the app sets at its refresh rate, so a test
can freeze them for a deterministic snapshot."""
from __future__ import annotations

import functools

import numpy as np

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from live.tui.note_log import MODEL, PLAYER, NoteLog

COLOURS = {PLAYER: "cyan", MODEL: "magenta"}
BOTH = "white"
BLACK_KEYS = {1, 3, 6, 8, 10}


class PianoRoll(Widget):
    """Drawn with the line API (render_line -> Strip of cached Segments): a full frame costs well under a
    millisecond, where a rich Text through Textual's content pipeline took tens at 20 Hz."""

    DEFAULT_CSS = """
    PianoRoll { height: 1fr; min-height: 8; width: 1fr; border: round $panel-lighten-2; }
    """

    def __init__(self, log: NoteLog, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.note_log = log
        self.now = 0.0
        self.border_title = "last 10 s"  # plain: a markup title is re-parsed on every frame (6 ms here)
        self._lines: list[list[Segment]] = []

    def pitch_range(self, rows: int, notes) -> int:
        """Lowest pitch shown: the visible notes centred, two pitches per row."""
        span = rows * 2
        if not notes:
            return 60 - span // 2
        low, high = min(n.pitch for n in notes), max(n.pitch for n in notes)
        centre = (low + high) // 2
        return max(0, min(128 - span, centre - span // 2))

    def grid(self, width: int, rows: int) -> tuple[np.ndarray, int]:
        """codes[pitch offset, column]: 0 silent, 1 player, 2 model, 3 both; and the lowest pitch shown."""
        notes = self.note_log.visible(self.now)
        low = self.pitch_range(rows, notes)
        codes = np.zeros((rows * 2, width), np.uint8)
        per_column = self.note_log.window / width
        start_time = self.now - self.note_log.window
        for n in notes:
            offset = n.pitch - low
            if 0 <= offset < rows * 2:
                first = max(0, int((n.start - start_time) / per_column))
                end = self.now if n.end is None else n.end
                last = min(width - 1, int((end - start_time) / per_column))
                codes[offset, first:max(first, last) + 1] |= PART_BITS[n.part]
        return codes, low

    def update_roll(self, now: float) -> None:
        """Rebuild the frame for `now` (scheduler seconds) and repaint."""
        self.now = now
        width, rows = max(1, self.size.width - 4), max(1, self.size.height)
        codes, low = self.grid(width, rows)
        self._lines = [self._line(codes, low, rows, row) for row in range(rows)]
        self.refresh()

    def _line(self, codes: np.ndarray, low: int, rows: int, row: int) -> list[Segment]:
        upper, lower = rows * 2 - 1 - row * 2, rows * 2 - 2 - row * 2
        c = next((p for p in (low + lower, low + upper) if p % 12 == 0), None)  # label the Cs
        label = "" if c is None else f"C{c // 12 - 1}"
        segments = [Segment(f"{label:>3} ", _style("dim"))]
        pair = codes[upper] * 4 + codes[lower]  # one of 16 cell looks
        starts = np.flatnonzero(np.diff(pair, prepend=255))  # run-length: one Segment per run
        for start, stop in zip(starts, list(starts[1:]) + [len(pair)]):
            char, style = CELLS[pair[start]]
            segments.append(Segment(char * int(stop - start), _style(style)))
        return segments

    def render_line(self, y: int) -> Strip:
        if not self._lines or self._lines_size != self.size:
            self._lines_size = self.size
            self.update_roll(self.now)
        if y >= len(self._lines):
            return Strip.blank(self.size.width)
        return Strip(self._lines[y]).adjust_cell_length(self.size.width)

    _lines_size = None


@functools.lru_cache(maxsize=64)
def _style(spec: str) -> Style:
    return Style.parse(spec) if spec else Style()


def _cell(top: int, bottom: int) -> tuple[str, str]:
    """Two pitches in one character cell: upper half block for the upper pitch, lower for the lower."""
    t, b = CODE_COLOURS[top], CODE_COLOURS[bottom]
    if t and b:
        return ("█", t) if t == b else ("▀", f"{t} on {b}")
    if t:
        return "▀", t
    if b:
        return "▄", b
    return " ", ""


PART_BITS = {PLAYER: 1, MODEL: 2}
CODE_COLOURS = (None, COLOURS[PLAYER], COLOURS[MODEL], BOTH)
CELLS = [_cell(code >> 2, code & 3) for code in range(16)]


class KeyboardStrip(Widget):
    """Five octaves C2..C7 (36..96): a column per key, sounding keys coloured by part, and the colour key.
    Its two lines are rebuilt only when the sounding notes change. Pressing a key with the mouse plays it
    (KeyboardStrip.Played, on at the button's press and off at its release)."""

    class Played(Message):
        def __init__(self, note: int, on: bool) -> None:
            super().__init__()
            self.note, self.on = note, on

    DEFAULT_CSS = """
    KeyboardStrip { height: 2; width: 1fr; }
    """
    LOW, HIGH = 36, 96

    def __init__(self, log: NoteLog, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.note_log = log
        self._shown: dict[int, str] | None = None
        self._lines: list[list[Segment]] = []

    def update_keys(self) -> None:
        """Repaint only when the set of sounding notes changed."""
        sounding = self.note_log.sounding()
        if sounding != self._shown:
            self._shown = sounding
            self._lines = self._build(sounding)
            self.refresh()

    def _build(self, sounding: dict[int, str]) -> list[list[Segment]]:
        keys, labels = [], []
        for pitch in range(self.LOW, self.HIGH + 1):
            part = sounding.get(pitch)
            black = pitch % 12 in BLACK_KEYS
            if part:
                keys.append(Segment("█", _style(COLOURS[part])))
            else:
                keys.append(Segment("▄" if black else "▁", _style("grey50" if black else "white")))
            if pitch % 12 == 0:
                labels.append(Segment(f"C{pitch // 12 - 1}", _style("dim")))
            elif pitch % 12 != 1:  # the C label took this column
                labels.append(Segment(" ", _style("")))
        labels += [Segment("  █", _style(COLOURS[PLAYER])), Segment("you ", _style("")),
                   Segment("█", _style(COLOURS[MODEL])), Segment("model", _style(""))]
        return [keys, labels]

    def on_mouse_down(self, event: events.MouseDown) -> None:
        if self.LOW + event.x <= self.HIGH and self._held is None:
            self._held = self.LOW + event.x
            self.capture_mouse()  # the release arrives here even off the strip
            self.post_message(self.Played(self._held, True))

    def on_mouse_up(self, event: events.MouseUp) -> None:
        note, self._held = self._held, None
        if note is not None:
            self.release_mouse()
            self.post_message(self.Played(note, False))

    _held: int | None = None

    def render_line(self, y: int) -> Strip:
        if self._shown is None:
            self.update_keys()
        if y >= len(self._lines):
            return Strip.blank(self.size.width)
        return Strip(self._lines[y]).adjust_cell_length(self.size.width)
