"""The real-time core in its own process: the Session (clock, scheduler, MIDI I/O, model, recorder) served to a
UI process over two pipes. The UI's Python (Textual rendering, its garbage, its GIL) can no longer delay a note.

Requests (UI -> core, the `requests` pipe):
    ("send", command)            a live.commands.Command, no reply
    ("call", name, args)         a SessionControl method; reply ("ok", result) or ("error", one-line message)
News (core -> UI, the `news` pipe), from one outbox thread so that nothing on the clock thread ever waits:
    ("event", event)             a scheduler event (NoteSent, StateChanged, StatsReport, EngineError)
    ("player", msg)              a player's message (MIDI learn)
    ("report", text)             a one-line session report
    ("view", dict)               every VIEW_SECONDS: clock origin, pending notes, recording, real-time status
    ("ended", summary)           the session stopped by itself (duration, error, MIDI system gone)

When the UI process goes away (its pipe ends close: quit, crash, kill -9), the core panics, saves the
recording and exits; so a frozen or dead UI never leaves notes sounding."""
from __future__ import annotations

import collections
import ctypes
import os
import signal
import sys
import threading
from pathlib import Path

from engine.errors import PerformanceRnnError

from .clock import HELPER_PRIORITY, make_realtime
from .commands import Command
from .server_watch import exit_past_dead_clients

VIEW_SECONDS = 0.05
OUTBOX_LIMIT = 20_000  # messages kept while the UI does not read (a frozen UI): the oldest are dropped
CALLS = ("stop_clock", "start", "stop", "summary", "stats", "toggle_recording", "input_names", "output_names",
         "use_input", "use_output", "model_names", "swap_model", "current_settings", "set_sync_mode")
PR_SET_PDEATHSIG = 1


class Outbox:
    """Everything the core tells the UI goes through here: append never blocks, one thread sends."""

    def __init__(self, conn, view):
        self.conn, self.view = conn, view
        self._items: collections.deque = collections.deque(maxlen=OUTBOX_LIMIT)
        self._ready = threading.Event()
        self._done = threading.Event()
        self.broken = threading.Event()  # the UI is gone
        self._thread = threading.Thread(target=self._run, name="core-outbox", daemon=True)
        self._thread.start()

    def put(self, item) -> None:
        self._items.append(item)
        self._ready.set()

    # The sink interface live.session_api.SessionControl.install_sink expects.
    def __call__(self, event) -> None:
        self.put(("event", event))

    def player_message(self, msg) -> None:
        self.put(("player", msg))

    def report(self, text: str) -> None:
        self.put(("report", str(text)))

    def _run(self) -> None:
        make_realtime(HELPER_PRIORITY)  # see clock.HELPER_PRIORITY: a preempted GIL holder stalls the clock
        while not self._done.is_set():
            self._ready.wait(VIEW_SECONDS)
            self._ready.clear()
            try:
                while self._items:
                    self.conn.send(self._items.popleft())
                self.conn.send(("view", self.view()))
            except (OSError, EOFError, ValueError):
                self.broken.set()
                return

    def close(self) -> None:
        self._ready.set()
        self._done.set()
        self._thread.join(timeout=2)


def _die_with_parent() -> None:
    """Linux: SIGTERM to us when the parent dies, even if a pipe end leaks somewhere."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _quiet_stdio(log_path: str | None) -> None:
    """The core shares the UI's terminal: anything it printed would tear the panel. Send it to a log file."""
    target = os.open(log_path or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    for fd in (1, 2):
        os.dup2(target, fd)
    os.close(target)


def main(argv=None) -> None:
    """`python -m live.core_server REQUESTS_FD NEWS_FD`, as live.core_client starts it."""
    from multiprocessing.connection import Connection

    requests_fd, news_fd = map(int, (argv or sys.argv[1:])[:2])
    requests, news = Connection(requests_fd), Connection(news_fd)
    try:
        config, recordings_dir, log_path = requests.recv()
    except (EOFError, OSError):
        return  # the UI went away before it said what to play
    run_core(config, requests, news, Path(recordings_dir), log_path)


def run_core(config, requests, news, recordings_dir, log_path=None) -> None:
    """Build the session, then serve the UI until it quits or goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole terminal group: the UI decides
    _die_with_parent()
    _quiet_stdio(log_path)
    from .session import Session, load_model
    from .session_api import SessionControl

    try:
        session = Session(config, loaded=load_model(config.bundle_file))
    except (PerformanceRnnError, OSError) as err:
        requests.send(("failed", str(err)))
        return
    control = SessionControl(session, recordings_dir)
    outbox = Outbox(news, lambda: _view(control))
    control.install_sink(outbox)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    requests.send(("ready", _hello(control)))
    # This thread serves the UI's calls, holding the interpreter lock meanwhile: preempted by a busy process
    # while holding it, it would stall the clock thread (see live.clock.HELPER_PRIORITY).
    make_realtime(HELPER_PRIORITY)
    try:
        _serve(control, requests, outbox, stop)
    finally:
        control.stop_clock()  # panic, close ports, save the takes (a no-op after the UI's own stop_clock)
        outbox.close()
    if session.lost_server:
        exit_past_dead_clients(0)


def _hello(control) -> dict:
    return {"settings": control.settings, "input": control.current_input, "output": control.current_output,
            "model": control.model_name}


def _view(control) -> dict:
    s = control.session.scheduler
    pending = [(e.due_ms, e.kind, e.note, e.velocity) for e in control.pending(control.now(), limit=8)]
    return {"t0": s.t0 if s.tick >= 0 else None, "pending": pending, "pending_at": control.now(),
            "recording": control.recording, "realtime": control.realtime, "audio": control.audio_level(),
            "sync": control.sync_status()}


def _serve(control, requests, outbox, stop) -> None:
    ended = False
    while not stop.is_set() and not outbox.broken.is_set():
        if not ended and control.session.ended:
            ended = True
            outbox.put(("ended", control.summary()))
        try:
            if not requests.poll(0.1):
                continue
            request = requests.recv()
        except (EOFError, OSError):
            return  # the UI process is gone: the finally above panics and saves
        if request[0] == "send" and isinstance(request[1], Command):
            control.send(request[1])
        elif request[0] == "call":
            requests.send(_call(control, request[1], request[2]))


def _call(control, name: str, args: tuple):
    if name not in CALLS:
        return "error", f"the core has no call {name!r}"
    try:
        return "ok", getattr(control, name)(*args)
    except (PerformanceRnnError, OSError, ValueError) as err:
        return "error", str(err) or type(err).__name__


if __name__ == "__main__":
    main()
