"""live.jack_midi_out through a real JACK server: each message on the frame of its send time one period later,
everything sent before close() delivered in order, and the guard that ends the notes of an instrument that
died without closing its port."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mido
import numpy as np
import pytest

from live.jack_midi_in import JackMidiInput
from live.jack_midi_out import JackMidiOutput
from tests.live.fakes import sounding_after

pytestmark = pytest.mark.jack
PERIOD = 128 / 48000  # the test server's (tests/live/jack_server.py)
ROOT = Path(__file__).resolve().parents[2]


def listen(name: str, source: str) -> tuple[list, JackMidiInput]:
    got = []
    port = JackMidiInput(f"{name}-listener", "in", got.append, [source])
    time.sleep(0.2)  # a new connection takes effect a cycle or two later
    return got, port


def test_messages_sound_one_period_after_they_were_sent_in_order(jack_server):
    out = JackMidiOutput("jmo", "out")
    assert out.name == "jmo:out"
    got, listener = listen("jmo", out.name)
    sent = []
    for n in range(100):  # a clock tick every 5 ms, then a burst that fills several cycles' buffers
        sent.append(time.perf_counter())
        out.send(mido.Message("note_on", note=n, velocity=64))
        time.sleep(0.005)
    burst = [mido.Message("sysex", data=[n % 128] * 300) for n in range(60)]
    for msg in burst:
        out.send(msg)
    out.close()
    time.sleep(0.2)
    listener.close()
    assert [m.copy(time=0) for m in got] == [mido.Message("note_on", note=n, velocity=64) for n in range(100)] + burst
    latency = np.array([m.time for m in got[:100]]) - np.array(sent)
    # Placed by send time, not by arrival: a constant one period (the median: a loaded machine may make one late).
    assert abs(np.median(latency) - PERIOD) < 0.0005, np.median(latency)


def test_an_instrument_killed_without_closing_leaves_nothing_sounding(jack_server):
    code = ("import os, signal, time, mido\n"
            "from live.jack_midi_out import JackMidiOutput\n"
            "out = JackMidiOutput('jmo-killed', 'out')\n"
            "print(out.name, flush=True)\n"
            "input()\n"
            "for n in (60, 64, 67):\n"
            "    out.send(mido.Message('note_on', note=n, velocity=90, channel=2))\n"
            "out.send(mido.Message('note_off', note=64, channel=2))\n"
            "time.sleep(0.1)\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    got, listener = listen("jmo-killed", proc.stdout.readline().strip())
    proc.stdin.write("\n")
    proc.stdin.flush()
    assert proc.wait(10) == -signal.SIGKILL
    time.sleep(0.5)
    listener.close()
    heard = [(0.0, m) for m in got]
    assert [m.note for _, m in heard if m.type == "note_on"] == [60, 64, 67]
    assert sounding_after(heard, panic_ends_notes=False) == set()  # the guard ended 60 and 67 by note-offs
    assert [(m.control, m.channel) for _, m in heard if m.type == "control_change"] == \
        [(cc, c) for cc in (123, 120) for c in range(16)]


def test_a_closed_port_sends_no_guard_panic(jack_server):
    out = JackMidiOutput("jmo-closed", "out")
    got, listener = listen("jmo-closed", out.name)
    out.send(mido.Message("note_on", note=60, velocity=90))
    out.close()  # the instrument's own panic comes before its close: the guard stays out of the way
    time.sleep(0.2)
    listener.close()
    assert [m.type for m in got] == ["note_on"]
