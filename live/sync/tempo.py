"""Tempo and song position from MIDI beat clock (24 ticks per quarter note) and its transport messages.

feed() runs on the MIDI thread, the clock thread reads timeline(); a lock guards the few shared fields. The
tempo is a least-squares line through the last ticks' arrival times, so one late tick moves it little. The
line is fitted when read, not per tick: the MIDI thread is JACK's real-time thread, and work there (holding
the interpreter lock) that outlasts a JACK period gets the client thrown off the server."""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

import numpy as np

PPQN = 24
BEATS_PER_BAR = 4
TRANSPORT = ("start", "continue", "stop")
# Periods between two ticks that mean ticks were lost: from MISSED_GAP (a real tempo drop is gradual) up to
# MAX_LOST_GAP (a longer gap is the sender stalling; it catches up with a burst, which the count handles).
MISSED_GAP, MAX_LOST_GAP = 1.7, 4.5
CATCH_UP = 0.5  # a tick this soon after the last one is a late one (a burst), not a new one


@dataclass
class TrackerConfig:
    window_ticks: int = 48  # two beats in the fit: ±1 ms jitter gives well under 0.5 BPM of error
    min_bpm: float = 20.0
    max_bpm: float = 1000.0
    lost_seconds: float = 1.0


@dataclass(frozen=True)
class Timeline:
    """Tick k of the song is due at origin + period * k (k may be fractional)."""
    origin: float
    period: float  # seconds per clock tick

    @property
    def bpm(self) -> float:
        return 60.0 / (self.period * PPQN)

    def tick_at(self, t: float) -> float:
        return (t - self.origin) / self.period

    def time_of(self, k: float) -> float:
        return self.origin + self.period * k


def free_timeline(t0: float, bpm: float) -> Timeline:
    """Our own tempo (free time, or the clock we send): song tick 0 at t0."""
    return Timeline(t0, 60.0 / (bpm * PPQN))


class ClockTracker:
    def __init__(self, config: TrackerConfig | None = None, notify=None):
        self.config = config or TrackerConfig()
        self.notify = notify or (lambda text: None)
        self._lock = threading.Lock()
        self._ticks: deque = deque(maxlen=self.config.window_ticks)  # (song tick, arrival time)
        self.song_tick = 0  # song position of the next clock tick
        self.running = False
        self.lost = False
        self.source = None
        self.last_time: float | None = None
        self._fit: Timeline | None = None
        self._stale = False  # ticks arrived since the last fit
        self._assumed_lost = 0  # ticks counted as lost in the last gap, not yet seen arriving late

    # ---- the MIDI thread -------------------------------------------------------------------------------

    def feed(self, msg, t: float, source: str = "input") -> str | None:
        """Take one message; returns 'start', 'continue' or 'stop' when the transport changes."""
        kind = msg.type
        if kind not in ("clock", "songpos", *TRANSPORT):
            return None
        with self._lock:
            if not self._accept_source(source, t):
                return None
            if kind == "clock":
                self._tick(t)
                return None
            if kind == "songpos":
                return self._song_position(msg.pos)
            return self._transport(kind)

    def _accept_source(self, source: str, t: float) -> bool:
        if self.source is None or self.source == source or self._silent(t):
            self.source = source
            return True
        self.notify(f"sync: ignoring clock from {source!r}, already following {self.source!r}")
        return False

    def _silent(self, t: float) -> bool:
        return self.last_time is None or t - self.last_time > self.config.lost_seconds

    def _tick(self, t: float) -> None:
        if self._silent(t):
            self._ticks.clear()  # a gap: the line through older ticks says nothing about now
            self._assumed_lost = 0
        else:
            periods = self._periods_since_last(t)
            if periods < CATCH_UP and self._assumed_lost:
                self._assumed_lost -= 1  # one we took for lost, come late (the sender catching up): counted
                self.last_time = t
                return
            # JACK drops a period's MIDI on an xrun (measured: one tick in ~500 at a 32-frame period). Counted
            # by the ticks alone, every later tick, and so the grid, would sit a tick late (20.8 ms at 120 BPM).
            self._assumed_lost = round(periods) - 1 if MISSED_GAP <= periods < MAX_LOST_GAP else 0
            self.song_tick += self._assumed_lost
        self._ticks.append((self.song_tick, t))
        self.last_time = t
        self.lost = False
        self.song_tick += 1
        self._stale = True

    def _periods_since_last(self, t: float) -> float:
        """Clock periods since the last tick, by the window's mean period (no fit here, on JACK's thread); 1.0
        when the window cannot tell (too few ticks, or a burst with no time between them)."""
        if len(self._ticks) < 3 or self._ticks[-1][1] <= self._ticks[0][1]:
            return 1.0
        (k0, t0), (k1, t1) = self._ticks[0], self._ticks[-1]
        return (t - self.last_time) * (k1 - k0) / (t1 - t0)

    def _refit(self) -> None:
        self._stale = False
        if len(self._ticks) < 3:
            return
        k, t = np.asarray(self._ticks, float).T
        k_mean, t_mean = k.mean(), t.mean()
        period = float(((k - k_mean) * (t - t_mean)).sum() / ((k - k_mean) ** 2).sum())
        origin = t_mean - period * k_mean
        fit = Timeline(float(origin), float(period)) if period > 0 else None
        if fit is None or not self.config.min_bpm <= fit.bpm <= self.config.max_bpm:
            shown = f"{fit.bpm:.0f} BPM" if fit is not None else "no tempo"
            self.notify(f"sync: ignoring clock at {shown} (outside {self.config.min_bpm:.0f}.."
                        f"{self.config.max_bpm:.0f} BPM)")
            self._ticks.clear()
            self._fit = None
            return
        self._fit = fit

    def _song_position(self, sixteenths: int) -> str | None:
        if self.running:
            self.notify("sync: ignoring a song position while playing")
            return None
        self._rebase(sixteenths * PPQN // 4)
        return None

    def _rebase(self, song_tick: int) -> None:
        """The next clock tick is song tick `song_tick`: shift the fit's numbering, keep its tempo."""
        shift = song_tick - self.song_tick
        self._ticks = deque(((k + shift, t) for k, t in self._ticks), maxlen=self.config.window_ticks)
        if self._fit is not None:
            self._fit = Timeline(self._fit.origin - shift * self._fit.period, self._fit.period)
        self.song_tick = song_tick

    def _transport(self, kind: str) -> str | None:
        if kind == "stop":
            if not self.running:
                self.notify("sync: ignoring Stop without Start")
                return None
            self.running = False
            return "stop"
        if self.running:
            self.notify(f"sync: ignoring {kind.capitalize()} while playing")
            return None
        if kind == "start":
            self._rebase(0)  # Start: the next clock tick is the first beat of bar 1
        self.running = True
        return kind

    # ---- the clock thread -------------------------------------------------------------------------------

    def timeline(self) -> Timeline | None:
        with self._lock:
            if self._stale:
                self._refit()
            return self._fit

    @property
    def bpm(self) -> float | None:
        fit = self.timeline()
        return fit.bpm if fit is not None else None

    def check_lost(self, now: float) -> bool:
        """True once when a running clock has been silent for lost_seconds (the caller goes to free time)."""
        with self._lock:
            if self.running and not self.lost and self.last_time is not None and self._silent(now):
                self.lost = True
                self.running = False
                return True
        return False
