"""What a Session needs for sync: the Timing for its scheduler, clock messages taken off the MIDI thread, an
optional separate clock input port, and the tempo handed to the recorder."""
from __future__ import annotations

import time

from engine.errors import ConfigError

from ..ports import PortConfig, open_inputs
from .link import LinkSession
from .timing import SetSyncMode, SyncConfig, Timing, Transport

CLOCK_TYPES = ("clock", "start", "continue", "stop", "songpos")
REPEAT_SECONDS = 2.0  # the same notice again within this long is dropped (a bad clock sends 24 per beat)


class SyncHook:
    def __init__(self, config: SyncConfig, lookahead_seconds: float, commands, clock, on_event=None):
        self.config = config
        self.commands = commands
        self.clock = clock
        self.on_event = on_event
        self._last_notice = ("", 0.0)
        # Always there, even with sync off at launch: the panel can switch it on, and free time costs the
        # clock a few microseconds a pass.
        self.timing = Timing(config, lookahead_seconds, self.notify, clock.now)
        self.ports: list = []
        if self.timing.link is not None:
            self._follow_transport(self.timing.link)

    def _follow_transport(self, link) -> None:
        link.on_transport = lambda kind, t: self.commands.put(Transport(kind, t))

    def status(self):
        """A SyncStatus for a panel."""
        return self.timing.status()

    def switch(self, mode: str) -> None:
        """Follow MIDI clock, Link or nobody from now on; any thread but the clock's, which does the switch.
        A Link peer is built here (sockets, threads); one switched away from is closed at the next switch."""
        if self.config.clock_out and mode != "off":
            raise ConfigError("sync: we send the clock (--clock-out), so we cannot follow another one")
        while self.timing.retired_links:
            self.timing.retired_links.pop().close()
        link = None
        if mode == "link" and self.config.mode != "link":
            link = LinkSession(self.timing.bpm, self.clock.now)  # ConfigError without LinkPython-extern
            self._follow_transport(link)
        self.commands.put(SetSyncMode(mode, link))

    def notify(self, text: str) -> None:
        """Any thread; never blocks (on_event is the session's non-blocking callback)."""
        now = time.monotonic()
        if self._last_notice[0] == text and now - self._last_notice[1] < REPEAT_SECONDS:
            return
        self._last_notice = (text, now)
        if self.on_event is not None:
            from ..scheduler import StateChanged
            self.on_event(StateChanged("notice", text))

    def feed(self, msg, t: float, source: str) -> bool:
        """True if `msg` was clock or transport (taken here, so ticks never wake the scheduler)."""
        if msg.type not in CLOCK_TYPES:
            return False
        tracker = self.timing.tracker
        if tracker is not None:
            kind = tracker.feed(msg, t, source)
            if kind is not None:
                self.commands.put(Transport(kind, t))
        return True

    def open_clock_input(self, ports: PortConfig) -> None:
        name = self.config.clock_input
        if name is None or self.config.mode != "midi":
            return
        only = PortConfig(None, name, False, False, ports.virtual_name)
        self.ports, _ = open_inputs(only, lambda msg: self.feed(msg, self.clock.now(), "clock-input"))

    def close(self, recorder, t0: float) -> None:
        for port in self.ports:
            port.callback = None
            port.close()
        self.ports.clear()
        if recorder is not None and self.timing.status().shown:
            origin = self.timing.open_at - t0 if self.config.mode != "off" else 0.0
            recorder.set_tempo(self.timing.bpm, origin)
        for link in [self.timing.link, *self.timing.retired_links]:
            if link is not None:
                link.close()
        self.timing.retired_links.clear()
