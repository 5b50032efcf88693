"""Make sure there is a MIDI system before ports are opened: ALSA's sequencer, a running JACK server, or a
private JACK server (dummy driver: no sound card needed) that this process starts and stops."""
from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time

from .processes import stop_process

JACK_BACKEND = "mido.backends.rtmidi/UNIX_JACK"
ALSA_SEQUENCER = "/dev/snd/seq"
JACKD_ARGS = ("-R", "-d", "dummy", "-r", "48000", "-p", "128")


class MidiSystemError(RuntimeError):
    pass


def _jack_answers(env: dict) -> bool:
    if shutil.which("jack_lsp") is None:
        return False
    probe = subprocess.run(["jack_lsp"], env=env, capture_output=True, timeout=5)
    return probe.returncode == 0


class PrivateJack:
    """`jackd -n NAME -d dummy`, stopped (and waited for) by stop() or at interpreter exit."""

    def __init__(self, name: str, ready_timeout: float = 10.0):
        self.name = name
        self.log = tempfile.TemporaryFile()
        env = {**os.environ, "JACK_DEFAULT_SERVER": name, "JACK_NO_AUDIO_RESERVATION": "1"}
        self.proc = subprocess.Popen(["jackd", "-n", name, *JACKD_ARGS], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env, start_new_session=True)
        atexit.register(self.stop)
        deadline = time.monotonic() + ready_timeout
        while not _jack_answers(env):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                self.log.seek(0)
                tail = self.log.read()[-300:].decode(errors="replace").strip().replace("\n", " | ")
                raise MidiSystemError(f"cannot start a private JACK server ({tail}); start one yourself: "
                                      f"jackd -d dummy &")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is None:
            return
        stop_process(self.proc)
        self.proc = None


def _use_jack():
    """Switch mido to JACK, in this process and in the processes it starts (the real-time core); returns a
    function that switches it back."""
    import mido

    previous = mido.backend.name + (f"/{mido.backend.api}" if mido.backend.api else "")
    previous_env = os.environ.get("MIDO_BACKEND")
    mido.set_backend(JACK_BACKEND)
    os.environ["MIDO_BACKEND"] = JACK_BACKEND

    def restore():
        mido.set_backend(previous)
        if previous_env is None:
            os.environ.pop("MIDO_BACKEND", None)
        else:
            os.environ["MIDO_BACKEND"] = previous_env
    return restore


def ensure_midi_system(report, start_server: bool = True):
    """Switch mido to JACK where there is no ALSA sequencer (unless MIDO_BACKEND names an API), starting a
    private JACK server when none answers (and `start_server`). Returns a function that undoes both (call it on exit)."""
    chosen = os.environ.get("MIDO_BACKEND")
    if chosen not in (None, JACK_BACKEND):
        return lambda: None  # the user chose an API: respect it
    if chosen is None and (os.path.exists(ALSA_SEQUENCER) or sys.platform in ("darwin", "win32")):
        return lambda: None  # ALSA / CoreMIDI / WinMM: mido's default works
    if _jack_answers(dict(os.environ)):
        return _use_jack()
    if not start_server:
        return lambda: None
    if shutil.which("jackd") is None:
        raise MidiSystemError("no MIDI system (no ALSA sequencer, no JACK server) and jackd is not installed; "
                              "run make jack (apt-get install jackd2)")
    name = os.environ.get("JACK_DEFAULT_SERVER", "default")
    server = PrivateJack(name)
    restore = _use_jack()
    report(f"no ALSA sequencer or JACK server: started a private JACK server '{name}' (dummy driver); "
           "its ports are visible to any JACK client")

    def undo():
        restore()
        server.stop()
    return undo
