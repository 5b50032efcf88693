"""Noticing that the MIDI system itself died (the JACK server went away): RtMidi's JACK clients never say so,
they just keep "sending" into nothing. A small client of the JACK-Client package gets the server's shutdown
callback at once; after that a thread polls for the server's return every `interval` s."""
from __future__ import annotations

import os
import sys
import threading

import mido

from .clock import HELPER_PRIORITY, make_realtime


def uses_jack() -> bool:
    backend = mido.backend
    return backend.name == "mido.backends.rtmidi" and (backend.api or "") == "UNIX_JACK"


def quiet_libjack() -> None:
    """libjack prints a dozen lines when its server dies (for every client in the process, RtMidi's too):
    the one line we print says it all."""
    import jack

    jack.set_error_function(lambda message: None)
    jack.set_info_function(lambda message: None)


def _open_client(name: str):
    import jack

    return jack.Client(name, no_start_server=True)


def exit_past_dead_clients(code: int) -> None:
    """End the process without finalisers once its JACK server died under it: RtMidi's and JACK-Client's
    clients of the dead server crash inside libjack when they are closed (a segfault at exit, seen as exit
    -11 under load). Call it when everything that matters (panic, takes, summary) is done."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _abandon(client) -> None:
    """A client whose server died must never be closed: jack_client_close then crashes inside libjack, at once
    or when the collector finalises the client at exit (a segfault after the summary line, exit -11).
    python-jack-client's close() skips a NULL handle, so forget the handle."""
    import jack

    client._ptr = jack._ffi.NULL


class ServerWatch:
    """on_lost(reason) runs once per loss (on a helper thread); with `reconnect`, on_back() runs when the
    server answers again. Does nothing unless mido talks to JACK."""

    def __init__(self, name: str, on_lost, on_back=None, reconnect: bool = False, interval: float = 0.25,
                 enabled: bool = True):
        self.name = f"{name} watch"[:60]
        self.on_lost, self.on_back, self.reconnect, self.interval = on_lost, on_back, reconnect, interval
        self.enabled = enabled  # False: a session without ports of its own (tests) has no server to watch
        self.lost = threading.Event()
        self.reason = ""
        self._stop = threading.Event()
        self._client = None
        self._thread = threading.Thread(target=self._run, name="server-watch", daemon=True)

    def start(self) -> None:
        if not self.enabled or not uses_jack():
            return
        quiet_libjack()
        try:
            self._connect()
        except Exception as err:  # the server died between opening our ports and now
            self._shutdown(None, str(err))
        self._thread.start()

    def _connect(self) -> None:
        client = _open_client(self.name)
        client.set_shutdown_callback(self._shutdown)  # called on JACK's thread: only record it
        client.activate()
        self._client = client

    def _shutdown(self, status, reason) -> None:
        self.reason = reason or "server shut down"
        self.lost.set()

    def _run(self) -> None:
        make_realtime(HELPER_PRIORITY)
        while not self._stop.is_set():
            if not self.lost.wait(self.interval) or self._stop.is_set():
                continue
            if self._client is not None:
                _abandon(self._client)
            self._client = None
            self.on_lost(self.reason)
            if not self.reconnect:
                return
            while not self._stop.wait(self.interval):
                try:
                    self._connect()
                except Exception:  # jack.JackOpenError while the server is away
                    continue
                self.lost.clear()
                self.on_back()
                break

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        if self._client is not None and not self.lost.is_set():
            self._client.deactivate()
            self._client.close()
        self._client = None


def server_name() -> str:
    return os.environ.get("JACK_DEFAULT_SERVER", "default")


def lost_message(reason: str, reconnect: bool) -> str:
    then = "notes off; waiting for it to return" if reconnect else "stopping (--reconnect waits for it instead)"
    return f"error: the JACK server {server_name()!r} is gone ({reason.strip() or 'no reason given'}); {then}"
