"""The real-time core in its own process: commands and calls round-trip, the core ends every note when the UI
process dies (kill -9), and the panel prints the session summary at quit."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mido
import pytest

from engine.errors import ConfigError
from live.commands import SetControl
from live.core_client import CoreClient, CoreError
from live.ports import PortConfig
from live.scheduler import NoteSent
from live.session import SessionConfig
from live.settings import Settings
from tests.live.fakes import sounding_after
from tests.live.jack_listener import ProcessListener
from tests.tui.density_model import density_bundle

pytestmark = pytest.mark.jack
ROOT = Path(__file__).resolve().parents[2]


class ListSink:
    def __init__(self):
        self.events, self.reports = [], []

    def __call__(self, event):
        self.events.append(event)

    def player_message(self, msg):
        pass

    def report(self, text):
        self.reports.append(text)


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def unique(prefix: str) -> str:
    return f"{prefix}-{time.monotonic_ns()}"


def test_commands_and_calls_round_trip_between_ui_and_core(jack_server, tmp_path):
    config = SessionConfig(Settings(mode="solo", notes_per_second=8.0), seed=0, realtime=False,
                           bundle_file=density_bundle(tmp_path / "density.safetensors"),
                           ports=PortConfig(no_input=True, virtual_name=unique("prnn-core")))
    core, sink = CoreClient(config, recordings_dir=tmp_path), ListSink()
    try:
        core.install_sink(sink)
        core.start()
        assert wait_for(lambda: any(isinstance(e, NoteSent) and e.part == "model" for e in sink.events))
        core.send(SetControl("temperature", 0.5))
        assert wait_for(lambda: core.current_settings().temperature == 0.5)
        with pytest.raises(ConfigError):
            SetControl("temperature", 99)  # checked in the UI process, before anything crosses the pipe
        assert core.toggle_recording().startswith("recording to") and wait_for(lambda: core.recording)
        assert core.output_names()[0] == "virtual: Performance RNN"
        with pytest.raises(CoreError, match="no such port"):
            core.use_output("no such port")
        assert wait_for(lambda: core.now() > 1.0)
        saved = core.stop_clock()
    finally:
        core.stop_clock()
    assert len(saved) == 1 and mido.MidiFile(saved[0]).length > 0.5
    assert core.summary().startswith("sent ") and "lateness p50" in core.summary()
    assert core.process.poll() is not None


def test_the_core_ends_every_note_and_exits_when_the_ui_is_killed(jack_server, tmp_path):
    port = unique("prnn-orphan")
    bundle = density_bundle(tmp_path / "density.safetensors")
    ui = subprocess.Popen([sys.executable, "-m", "tests.live.core_ui", bundle, port], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True)
    listener = None
    try:
        core_pid = int(ui.stdout.readline())
        listener = ProcessListener(port, jack_server.env)
        assert wait_for(lambda: sum(m.type == "note_on" for _, m in listener.snapshot()) >= 5)
        os.kill(ui.pid, signal.SIGKILL)
        ui.wait()
        assert wait_for(lambda: not _alive(core_pid), timeout=15), "the core outlived its UI"
        time.sleep(0.2)  # the last messages through JACK
        received = listener.snapshot()
        assert sounding_after(received) == set()
        assert any(m.type == "control_change" and m.control == 123 for _, m in received)  # it panicked
    finally:
        if ui.poll() is None:
            ui.kill()
        if listener is not None:
            listener.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by init) counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_the_panel_prints_the_session_summary_at_quit(jack_server, tmp_path, monkeypatch, capsys):
    from textual.app import App

    from live.cli import main
    from live.tui.app import InstrumentApp

    run = App.run
    monkeypatch.setattr(InstrumentApp, "run", lambda self: run(self, headless=True, size=(130, 40)))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    bundle = density_bundle(tmp_path / "density.safetensors")
    code = main(["--bundle_file", bundle, "--no_input", "--no-synth", "--duration", "2", "--port_name",
                 unique("prnn-summary"), "--notes_per_second", "8"])
    err = capsys.readouterr().err
    assert code == 0, err
    line = next(line for line in err.splitlines() if line.startswith("sent "))
    assert "lateness p50" in line and "late ticks" in line and "model step p99" in line and "rollbacks" in line
