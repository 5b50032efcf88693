"""The UI side of the core process: CoreClient drives a Session in a child process (live.core_server) through
the same API as live.session_api.SessionControl, so the panel cannot tell them apart.

Commands go out without waiting; calls that return something (port lists, saving a take) wait for the core's
reply. A reader thread turns the core's news into the sink's calls and keeps the last view (pending notes,
recording, clock origin) for the panel's refresh."""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

from engine.errors import PerformanceRnnError

from .commands import Panic, PlayerMessage, ResetModel
from .pending import PendingEvent
from .processes import stop_process
from .scheduler import EngineError, StateChanged

START_TIMEOUT = 60.0  # s: importing torch and loading a bundle on a cold, busy machine
STOP_TIMEOUT = 10.0


class CoreError(PerformanceRnnError):
    """The core process could not start, or a call into it failed."""


class CoreClient:
    """Start the core with `CoreClient(config)`; it is ready (model loaded, ports open) when this returns."""

    def __init__(self, config, recordings_dir: Path | None = None, log_path: str | None = None):
        self.recordings_dir = Path(recordings_dir or Path.cwd())
        # A fresh interpreter (no UI threads, locks or garbage), joined by two socket pairs: the same pipes
        # multiprocessing uses, without its re-import of __main__ and its resource-tracker process.
        requests, child_requests = socket.socketpair()
        news, child_news = socket.socketpair()
        fds = (child_requests.fileno(), child_news.fileno())
        self.process = subprocess.Popen([sys.executable, "-m", "live.core_server", *map(str, fds)], pass_fds=fds,
                                        stdin=subprocess.DEVNULL)
        child_requests.close()
        child_news.close()
        self._requests, self._news = Connection(requests.detach()), Connection(news.detach())
        self._requests.send((config, str(self.recordings_dir), log_path))
        hello = self._handshake()
        self.settings = hello["settings"]
        self.current_input, self.current_output = hello["input"], hello["output"]
        self.model_name = hello["model"]
        self.running = False
        self.failed = False  # the core reported an error (its clock stopped)
        self.sink = None
        self._summary: str | None = None
        self._view: dict = {"t0": None, "pending": [], "pending_at": 0.0, "recording": False, "realtime": False,
                            "audio": None, "sync": None}
        self._lock = threading.Lock()  # one call at a time: the reply is the next message on the pipe
        # Every write to the pipe, for commands too: two threads writing at once (a knob on the UI thread, a
        # model swap on a worker) could interleave their bytes. Held only for the write, never for a reply.
        self._write_lock = threading.Lock()
        self._closed = False
        self._reader = threading.Thread(target=self._read_news, name="core-news", daemon=True)

    def _handshake(self) -> dict:
        deadline = time.monotonic() + START_TIMEOUT
        try:
            while not self._requests.poll(0.1):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise EOFError
            kind, payload = self._requests.recv()
        except (EOFError, OSError):
            self._kill()
            raise CoreError("the real-time core process did not start (see the core log)") from None
        if kind == "failed":
            self._kill()
            raise CoreError(payload)
        return payload

    # ---- the view -------------------------------------------------------------------------------------------

    @property
    def recording(self) -> bool:
        return self._view["recording"]

    @property
    def realtime(self) -> bool:
        return self._view["realtime"]

    def audio_level(self) -> tuple[float, float] | None:
        return self._view.get("audio")

    def sync_status(self):
        return self._view.get("sync")

    def set_sync_mode(self, mode: str) -> None:
        self._call("set_sync_mode", mode)

    def now(self) -> float:
        """Seconds since the core's clock started: both processes read the same CLOCK_MONOTONIC."""
        t0 = self._view["t0"]
        return 0.0 if t0 is None else max(0.0, time.perf_counter() - t0)

    def pending(self, now: float, limit: int = 6) -> list[PendingEvent]:
        view = self._view
        age_ms = (now - view["pending_at"]) * 1000
        return [PendingEvent(max(0.0, due - age_ms), kind, note, velocity)
                for due, kind, note, velocity in view["pending"]][:limit]

    # ---- life cycle -----------------------------------------------------------------------------------------

    def install_sink(self, sink) -> None:
        self.sink = sink
        if not self._reader.is_alive():
            self._reader.start()

    def start_clock(self) -> None:
        pass  # the clock starts with start(): the core is already loaded and its ports open

    def start(self) -> None:
        self.running = True
        self._call("start")

    def stop(self) -> None:
        if self.running:
            self.running = False
            self._call("stop")

    def stop_clock(self) -> list[str]:
        """Panic, stop, save, and let the core process end. Returns the recordings' paths."""
        if self._closed:
            return []
        self._closed = True
        try:
            saved = self._call("stop_clock")
            self._summary = self._call("summary")  # the whole session's figures, read after the clock stopped
        except CoreError:
            saved = []
        self._requests.close()  # the core sees the end of the pipe and exits
        self._kill()
        return saved

    def summary(self) -> str:
        if self._closed:
            return self._summary or "no session summary: the core process ended before it could send one"
        return self._call("summary")

    def stats(self) -> dict:
        return self._call("stats")

    def current_settings(self):
        return self._call("current_settings")

    # ---- commands and calls ---------------------------------------------------------------------------------

    def send(self, command) -> None:
        try:
            with self._write_lock:
                self._requests.send(("send", command))
        except (OSError, ValueError):
            pass  # the core is gone: the reader has told the panel

    def panic(self) -> None:
        self.send(Panic())

    def reset_model(self) -> None:
        self.send(ResetModel())

    def player_message(self, msg) -> None:
        self.send(PlayerMessage(msg, time.perf_counter()))

    def toggle_recording(self) -> str:
        text = self._call("toggle_recording")
        self._view = {**self._view, "recording": not self._view["recording"]}  # until the next view says
        return text

    def input_names(self) -> list[str]:
        return self._call("input_names")

    def output_names(self) -> list[str]:
        return self._call("output_names")

    def use_input(self, name: str) -> None:
        self._call("use_input", name)
        self.current_input = name

    def use_output(self, name: str) -> None:
        self._call("use_output", name)
        self.current_output = name

    def model_names(self) -> list[str]:
        return self._call("model_names")

    def swap_model(self, name: str) -> None:
        self._call("swap_model", name)

    def _call(self, name: str, *args):
        with self._lock:
            try:
                with self._write_lock:
                    self._requests.send(("call", name, args))
                kind, result = self._requests.recv()
            except (OSError, EOFError, ValueError) as err:
                raise CoreError(f"the real-time core is gone ({name}: {err or type(err).__name__})") from None
        if kind == "error":
            raise CoreError(result)
        return result

    # ---- news -----------------------------------------------------------------------------------------------

    def _read_news(self) -> None:
        while True:
            try:
                kind, payload = self._news.recv()
            except (EOFError, OSError):
                break
            if kind == "view":
                self._view = payload
            elif kind == "event":
                self.failed = self.failed or isinstance(payload, EngineError)
                self.sink(payload)
            elif kind == "player":
                self.sink.player_message(payload)
            elif kind == "report":
                self.sink.report(payload)
            elif kind == "ended":
                self.sink(StateChanged("core", "ended"))
        if not self._closed:
            self.sink(EngineError("the real-time core process stopped unexpectedly (see the core log)"))

    def _kill(self) -> None:
        """Wait for the core to end; SIGTERM (it panics and saves first) if it does not, SIGKILL last."""
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            stop_process(self.process, STOP_TIMEOUT)
