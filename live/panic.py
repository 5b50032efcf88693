"""`performance_rnn_live --panic`: silence synths after a crash or SIGKILL left notes sounding.

The instrument that started those notes is gone, so nothing knows which notes they were: every note of every
channel gets its note-off, then sustain off, then CC 123 (all notes off) and CC 120 (all sound off)."""
from __future__ import annotations

import time

import mido

from .midi_output import NUM_CHANNELS, panic_tail
from .ports import PortConfig, PortError, match_port, open_output, output_names

SUSTAIN = 64
# BATCH messages at a time, then a pause of a few JACK periods: a whole panic at once (2,096 messages) would
# overrun the MIDI buffers between the ports and a busy receiver.
BATCH, BATCH_PAUSE = 32, 0.01


def panic_messages() -> list[mido.Message]:
    offs = [mido.Message("note_off", channel=c, note=n) for c in range(NUM_CHANNELS) for n in range(128)]
    sustain = [mido.Message("control_change", channel=c, control=SUSTAIN, value=0) for c in range(NUM_CHANNELS)]
    return offs + sustain + panic_tail()


def send_panic(port, pause: float = BATCH_PAUSE) -> int:
    messages = panic_messages()
    for i, msg in enumerate(messages):
        port.send(msg)
        if i % BATCH == BATCH - 1:
            time.sleep(pause)
    time.sleep(pause * 5)  # let the last batch leave before the port closes
    return len(messages)


def run_panic(output: str | None) -> str:
    """Panic on the named output port, or on every output port there is. Returns what was done."""
    names = output_names()
    targets = [match_port(output, names, "output")] if output is not None else names
    if not targets:
        raise PortError("no MIDI output ports to silence; pass --output NAME (see --list-ports)")
    for name in targets:
        port, _ = open_output(PortConfig(output=name))
        try:
            sent = send_panic(port)
        finally:
            port.close()
    return f"panic: {sent} messages (note-offs, sustain off, CC 123, CC 120) to {', '.join(map(repr, targets))}"
