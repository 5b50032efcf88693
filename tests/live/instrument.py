"""Drive `performance_rnn_live --no-tui` as a subprocess over JACK, as a musician's rig would."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import mido
import pytest
import rtmidi

from live.jack_midi_in import JackMidiInput
from tests.helpers import tiny_bundle

ROOT = Path(__file__).resolve().parents[2]


def live_command() -> list[str]:
    """The console script if installed next to this Python, else the same main() via -m."""
    script = Path(sys.executable).with_name("performance_rnn_live")
    if script.exists():
        return [str(script)]
    found = shutil.which("performance_rnn_live")
    return [found] if found else [sys.executable, "-m", "live.cli"]


class Instrument:
    """One instrument process with its own virtual ports, and a client connected to them that records
    everything the instrument sends (perf_counter time, message)."""

    def __init__(self, jack, name: str, *args, tmp_path: Path):
        self.jack, self.name, self.args = jack, name, [str(a) for a in args]
        self.stderr_path = tmp_path / f"{name}.stderr"
        self.received: list[tuple[float, mido.Message]] = []
        self.proc = None
        self.inport = self.outport = self.raw_out = None
        self.backend = mido.Backend("mido.backends.rtmidi", api="UNIX_JACK")

    def start(self) -> "Instrument":
        env = {**os.environ, **self.jack.env, "PYTHONPATH": str(ROOT)}
        # MIDI routing only: the built-in synth (tests/live/test_synth_jack.py passes --synth) would add an
        # audio client per instrument to the shared server.
        cmd = live_command() + ["--no-tui", "--port_name", self.name, "--no-synth", *self.args]
        self._stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._stderr, stderr=subprocess.STDOUT, cwd=ROOT)
        return self

    def connect(self, timeout: float = 60.0) -> "Instrument":
        """Wait for the instrument's virtual ports, then open them from this side."""
        out_name = in_name = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (out_name is None or in_name is None):
            if self.proc.poll() is not None:
                raise AssertionError(f"instrument exited early ({self.proc.returncode}): {self.stderr()}")
            out_name = next((n for n in self.backend.get_input_names() if n.endswith(f":{self.name}")), None)
            in_name = next((n for n in self.backend.get_output_names() if n.endswith(f":{self.name} in")), None)
            time.sleep(0.05)
        assert out_name and in_name, f"ports of {self.name} never appeared: {self.stderr()}"
        # Not RtMidi's input: it garbles bursts (a panic) under load, see live/jack_midi_in.py.
        self.inport = JackMidiInput(f"{self.name}-listener", "in", self._received, [out_name])
        self.outport = self.backend.open_output(in_name)
        self.raw_out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=f"{self.name}-raw")
        self.raw_out.open_port(self.raw_out.get_ports().index(in_name))
        time.sleep(0.2)  # new connections take effect at a later JACK cycle: messages sent before are lost
        return self

    def _received(self, msg) -> None:
        self.received.append((time.perf_counter(), msg))

    def send(self, msg: mido.Message) -> float:
        t = time.perf_counter()
        self.outport.send(msg)
        return t

    def send_bytes(self, data: list[int]) -> None:
        self.raw_out.send_message(data)

    def terminate(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 30.0) -> int:
        try:
            code = self.proc.wait(timeout)
        finally:
            time.sleep(0.1)  # the last messages are one JACK period behind
            self.close()
        return code

    def close(self) -> None:
        self.close_ports()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close_ports(self) -> None:
        """This side's ports and clients (the instrument keeps running)."""
        for port in (self.inport, self.outport):
            if port is not None:
                port.close()
        if self.raw_out is not None:
            self.raw_out.close_port()
            self.raw_out.delete()
        self.inport = self.outport = self.raw_out = None

    def stderr(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text()

    def notes(self, kinds=("note_on", "note_off")) -> list[mido.Message]:
        return [m for _, m in self.received if m.type in kinds]

# Fixtures for the modules that run instruments (import them by name: realtime_client is autouse there).
@pytest.fixture(autouse=True)
def realtime_client():
    """The client's MIDI callbacks run in JACK's real-time thread and need the GIL: keep this thread from
    being preempted while it holds it (a busy machine otherwise drops messages), as the instrument does."""
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    yield
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return tiny_bundle(tmp_path_factory.mktemp("bundle"))
