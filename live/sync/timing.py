"""The scheduler's one hook for tempo: gates the model on the DAW's transport, pulls note-ons toward the
grid (moving due times only; nothing waits), and sends our own MIDI clock.

Every method runs on the clock thread except the tracker's feed (the MIDI thread)."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import mido

from engine.errors import ConfigError

from ..commands import Command
from ..midi_output import is_note_off, is_note_on
from .grid import check_quantize, grid_ticks
from .link import LinkSession
from .tempo import BEATS_PER_BAR, PPQN, ClockTracker, Timeline, free_timeline

SYNC_MODES = ("off", "midi", "link")
MIN_AHEAD = 0.001  # a moved note is never placed closer to now than this (it could not go out in time)
MAX_OFFSET_MS = 50


@dataclass
class SyncConfig:
    mode: str = "off"  # off: free time at `bpm`; midi: follow MIDI beat clock and transport; link: Ableton Link
    bpm: float = 120.0  # the tempo knob: the grid in free time and the clock we send
    quantize: float = 0.0  # percent each model note-on moves toward the grid
    grid: str = "1/16"
    clock_out: bool = False
    clock_input: str | None = None  # a separate port for the clock (default: the input port)
    link_start: bool = False  # --sync=link: press play on the Link session at launch
    offset_ms: float = 0.0  # quantized notes go out this much before their grid line (the MIDI path's latency)

    def __post_init__(self):
        if self.mode not in SYNC_MODES:
            raise ConfigError(f"--sync must be one of {', '.join(SYNC_MODES)}, not {self.mode!r}")
        check_bpm(self.bpm)
        check_quantize(self.quantize)
        grid_ticks(self.grid)
        if self.clock_out and self.mode != "off":
            raise ConfigError("--clock-out needs --sync=off: we send the clock only when we are the master")
        if self.link_start and self.mode != "link":
            raise ConfigError("--link-start needs --sync=link")
        if not -MAX_OFFSET_MS <= self.offset_ms <= MAX_OFFSET_MS:
            raise ConfigError(f"--sync-offset-ms must be -{MAX_OFFSET_MS}..{MAX_OFFSET_MS}, not {self.offset_ms}")

    @property
    def active(self) -> bool:
        return self.mode != "off" or self.clock_out or self.quantize > 0


def check_bpm(bpm: float) -> float:
    if not 20 <= bpm <= 300:
        raise ConfigError(f"--bpm must be 20..300, not {bpm}")
    return float(bpm)


@dataclass(frozen=True)
class Transport(Command):
    """From the MIDI thread: the DAW pressed play ('start', 'continue') or stop."""
    kind: str
    time: float


@dataclass(frozen=True)
class SetQuantize(Command):
    amount: float

    def __post_init__(self):
        check_quantize(self.amount)


@dataclass(frozen=True)
class SetBpm(Command):
    bpm: float

    def __post_init__(self):
        check_bpm(self.bpm)


@dataclass(frozen=True)
class SetLinkPlaying(Command):
    """Press play or stop on the Link session (every peer with Start/Stop Sync follows, and so do we)."""
    playing: bool


@dataclass(frozen=True)
class SetSyncMode(Command):
    """Follow a MIDI clock, a Link session, or nobody (free time) from now on. `link` is the LinkSession for
    'link', built off the clock thread (it opens sockets and threads)."""
    mode: str
    link: object = None

    def __post_init__(self):
        if self.mode not in SYNC_MODES:
            raise ConfigError(f"sync mode must be one of {', '.join(SYNC_MODES)}, not {self.mode!r}")


SYNC_COMMANDS = (Transport, SetQuantize, SetBpm, SetLinkPlaying, SetSyncMode)


@dataclass(frozen=True)
class SyncStatus:
    """What a panel shows: read from any thread with Timing.status(); changed with the commands above."""
    mode: str
    bpm: float
    playing: bool  # the model may play (following a DAW or Link: their transport runs)
    quantize: float
    grid: str
    link_peers: int | None  # None unless --sync=link
    clock_out: bool = False

    @property
    def shown(self) -> bool:
        """Worth a line on the panel: following someone, leading with our clock, or quantizing."""
        return self.mode != "off" or self.clock_out or self.quantize > 0


class Timing:
    def __init__(self, config: SyncConfig, lookahead_seconds: float, notify=None, now=time.perf_counter):
        self.config = config
        self.lookahead = lookahead_seconds
        self.notify = notify or (lambda text: None)
        self.tracker = ClockTracker(notify=self.notify) if config.mode == "midi" else None
        self.link = LinkSession(config.bpm, now) if config.mode == "link" else None
        self.grid = grid_ticks(config.grid)
        self.playing = config.mode == "off"  # following a DAW or Link peers: silent until they start
        self.open_at = 0.0  # model notes due before this are dropped (the bar line after Start)
        self._snap_next = False  # the first note after Start lands on a grid line whatever the amount
        self._shifts: dict = {}  # (channel, note) -> seconds its note-on moved; its note-off moves as much
        self._free: Timeline | None = None
        self.retired_links: list = []  # Link sessions switched away from, for the session to close off this thread
        self._clock_tick = 0
        self._pending_out: list = []

    def begin(self, t0: float) -> None:
        self._free = free_timeline(t0, self.config.bpm)
        if self.config.clock_out:
            self._pending_out.append(mido.Message("start"))
        if self.link is not None:
            self._join_link(t0)
            if not self.link.playing and self.config.link_start:
                self.link.set_playing(True)  # the session calls back with 'start' at the next bar line

    def _join_link(self, t: float) -> None:
        """Play along at once if the session plays; else wait for its transport."""
        self.notify(f"sync: Link session at {self.link.bpm:.1f} BPM, {self.link.peers} peers; "
                    "the model plays while the session plays")
        if self.link.playing:
            self._start(t)

    def timeline(self) -> Timeline:
        if self.link is not None:
            return self.link.timeline()
        fit = self.tracker.timeline() if self.tracker is not None else None
        return fit or self._free

    @property
    def bpm(self) -> float:
        timeline = self.timeline()
        return self.config.bpm if timeline is None else timeline.bpm  # None: the clock has not started

    def status(self) -> SyncStatus:
        c = self.config
        peers = self.link.peers if self.link is not None else None
        return SyncStatus(c.mode, self.bpm, self.playing, c.quantize, c.grid, peers, c.clock_out)

    # ---- placing the model's notes ---------------------------------------------------------------------

    def place(self, due: float, msg, now: float) -> float | None:
        """The time `msg` (due at `due`) should go out, or None to drop it."""
        key = (getattr(msg, "channel", None), getattr(msg, "note", None))
        if is_note_off(msg):
            # A note pulled earlier ends as much earlier, but never in the past (it would go out late).
            return max(due + self._shifts.pop(key, 0.0), min(due, now + MIN_AHEAD))
        if not is_note_on(msg):
            return due
        if not self.playing or due < self.open_at:
            return None
        amount = 100.0 if self._snap_next else self.config.quantize
        target = self._toward_grid(due, amount / 100.0, now)
        self._snap_next = False
        self._shifts[key] = target - due
        return target

    def _toward_grid(self, due: float, amount: float, now: float) -> float:
        if amount <= 0:
            return due
        line, lead = self.timeline(), self.config.offset_ms / 1000
        k = round(line.tick_at(due + lead) / self.grid) * self.grid
        send_at = line.time_of(k) - lead  # heard on the line after the path's latency
        while send_at < max(now + MIN_AHEAD, self.open_at - lead):
            k += self.grid
            send_at = line.time_of(k) - lead
        target = due + amount * (send_at - due)
        if target - due > self.lookahead or target < now + MIN_AHEAD:
            return due  # never hold a note longer than the lookahead (nor into the past)
        return target

    # ---- transport, knobs, clock loss --------------------------------------------------------------------

    def apply(self, cmd, now: float) -> str | None:
        """Returns 'panic' (silence now) or 'refresh' (regenerate the lookahead) when the scheduler must act."""
        if isinstance(cmd, SetQuantize):
            self.config.quantize = cmd.amount
            return None
        if isinstance(cmd, SetBpm):
            self._set_bpm(cmd.bpm, now)
            return None
        if isinstance(cmd, SetSyncMode):
            return self._switch(cmd.mode, cmd.link, now)
        if isinstance(cmd, SetLinkPlaying):
            if self.link is None:
                self.notify("sync: play/stop of a Link session needs --sync=link")
            else:
                self.link.set_playing(cmd.playing)
            return None
        if cmd.kind == "stop":
            self.playing = False
            self._shifts.clear()
            return "panic"
        self._start(cmd.time)
        return "refresh"

    def _switch(self, mode: str, link, now: float) -> str | None:
        """Change whom we follow. Free time picks up the grid where the followed clock left it; following
        waits for the DAW's Start (MIDI) or the session's transport (Link), silent meanwhile."""
        if link is not None and mode != "link":
            self.retired_links.append(link)
        if mode == self.config.mode:
            return None
        followed, was_playing = self.timeline(), self.playing
        if self.link is not None:
            self.link.on_transport = None
            self.retired_links.append(self.link)
        self.config.mode, self.link = mode, link
        self.tracker = ClockTracker(notify=self.notify) if mode == "midi" else None
        if mode == "off":
            if followed is not None:
                self._free, self.config.bpm = followed, followed.bpm
            self.playing, self.open_at = True, now
            self.notify(f"sync off: free time at {self.bpm:.1f} BPM")
        elif mode == "midi":
            self.playing = False
            self.notify("sync: following MIDI clock from the input; the model plays after the DAW's Start")
        else:
            self.playing = False
            self._join_link(now)
        return "panic" if was_playing and not self.playing else "refresh"

    def _start(self, t: float) -> None:
        self.open_at = self._opening(t)
        self.playing = True
        self._snap_next = True

    def _opening(self, t: float) -> float:
        """Where the model may begin after Start. MIDI: the next clock tick is the bar line (Continue: the song
        position given). Link: the first bar line from the session's start time (joining a session that
        plays already, that is in the past: the model begins at once, on the grid)."""
        line = self.timeline()
        if self.link is not None:
            bar = BEATS_PER_BAR * PPQN
            return line.time_of(math.ceil(line.tick_at(self.link.start_time()) / bar - 1e-6) * bar)
        return line.time_of(self.tracker.song_tick) if self.tracker is not None else t

    def _set_bpm(self, bpm: float, now: float) -> None:
        """Keep the song position at `now`, change the speed from here on."""
        self.config.bpm = bpm
        if self.link is not None:
            self.link.set_tempo(bpm)  # our tempo knob is the session's: every peer follows
        old = self._free
        k = old.tick_at(now)
        period = 60.0 / (bpm * 24)
        self._free = Timeline(now - k * period, period)

    def poll(self, now: float) -> None:
        if self.tracker is not None:
            self.tracker.timeline()  # fit the new ticks here, on the clock thread (and notice a bad clock)
        if self.tracker is not None and self.tracker.check_lost(now):
            self.playing = True
            self.open_at = now
            self.notify("sync: clock lost for over 1 s; playing in free time")

    # ---- clock out -------------------------------------------------------------------------------------------

    def take_due(self, now: float) -> list:
        """MIDI clock messages due by `now` (24 per beat at the tempo knob)."""
        if not self.config.clock_out:
            return []
        out, self._pending_out = self._pending_out, []
        while self._free.time_of(self._clock_tick) <= now:
            out.append(mido.Message("clock"))
            self._clock_tick += 1
        return out

    def next_time(self) -> float:
        return self._free.time_of(self._clock_tick) if self.config.clock_out else float("inf")

    def finish(self) -> list:
        return [mido.Message("stop")] if self.config.clock_out else []
