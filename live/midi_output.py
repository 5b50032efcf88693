"""The output side of the instrument: send through a note tracker so nothing is ever left sounding."""
from __future__ import annotations

import time

import mido

NUM_CHANNELS = 16
ALL_NOTES_OFF, ALL_SOUND_OFF = 123, 120
CHANNEL_TYPES = {"note_on", "note_off", "control_change", "pitchwheel", "aftertouch", "polytouch",
                 "program_change"}


def is_note_on(msg) -> bool:
    return msg.type == "note_on" and msg.velocity > 0


def is_note_off(msg) -> bool:
    return msg.type == "note_off" or (msg.type == "note_on" and msg.velocity == 0)


def panic_tail() -> list[mido.Message]:
    """CC 123 (all notes off) then CC 120 (all sound off) on all 16 channels."""
    return ([mido.Message("control_change", channel=c, control=ALL_NOTES_OFF, value=0) for c in range(NUM_CHANNELS)]
            + [mido.Message("control_change", channel=c, control=ALL_SOUND_OFF, value=0) for c in range(NUM_CHANNELS)])


class MidiOutput:
    """Wraps a mido output port (or any object with send()). Tracks sounding (channel, note) pairs:
    a re-struck sounding note gets its note-off first, a note-off for a silent note is dropped, and
    panic() ends everything. `port` may be None while a lost port is away: then nothing is sent."""

    def __init__(self, port, flush_seconds: float = 0.05):
        self.port = port
        self.flush_seconds = flush_seconds  # JACK delivers once per period: let the last messages out
        self.sounding: set[tuple[int, int]] = set()
        self.errors = 0
        self.retired: list = []  # replaced ports, closed later off the clock thread (closing can be slow)
        self.quiet = True  # nothing sent since the last panic: closing need not panic again

    def send(self, msg) -> list:
        """Send one message; returns the messages actually sent (0, 1 or 2 of them)."""
        key = (getattr(msg, "channel", None), getattr(msg, "note", None))
        out = []
        if is_note_on(msg):
            if key in self.sounding:
                out.append(mido.Message("note_off", channel=key[0], note=key[1]))
            self.sounding.add(key)
        elif is_note_off(msg):
            if key not in self.sounding:
                return []
            self.sounding.discard(key)
        out.append(msg)
        for m in out:
            self._write(m)
        self.quiet = False
        return out

    def _write(self, msg) -> None:
        if self.port is None:
            return
        try:
            self.port.send(msg)
        except Exception:  # a vanished port must not kill the clock; the watcher reports and reconnects
            self.errors += 1

    def panic(self) -> list:
        """Note-offs for every sounding note, then CC 123 and CC 120 on all channels. Returns what was sent."""
        out = [mido.Message("note_off", channel=c, note=n) for c, n in sorted(self.sounding)] + panic_tail()
        self.sounding.clear()
        for m in out:
            self._write(m)
        self.quiet = True
        return out

    def replace(self, port) -> None:
        """Swap ports (reconnect): nothing can be released on a port that is gone, so forget it."""
        self.panic()
        if self.port is not None:
            self.retired.append(self.port)
        self.port = port

    def take_retired(self) -> list:
        out, self.retired = self.retired, []
        return out

    def close(self) -> None:
        if not self.quiet:
            self.panic()
        if self.port is not None:
            time.sleep(self.flush_seconds)
            try:
                self.port.close()
            except Exception:
                pass
            self.port = None
