"""Ableton Link (--sync=link) through LinkPython-extern: the session's tempo, beat phase and transport, read
as a Timeline on our clock.

LinkPython-extern rather than aalink: both install as wheels and cost about a microsecond a read, but the
scheduler needs beat <-> time at arbitrary future due times from a plain thread, which is Link's own
SessionState API (beatAtTime, timeAtBeat, timeForIsPlaying); aalink wraps it for asyncio and reads "now" only.

Song tick 0 is Link beat 0, a bar line (quantum 4), so our 1/16 grid is the Link session's."""
from __future__ import annotations

import math

from engine.errors import ConfigError

from .tempo import BEATS_PER_BAR, PPQN, Timeline

CLOCK_SAMPLES = 3  # reads of both clocks per mapping; the tightest pair wins (a preemption between reads)


def _link_module():
    try:
        import link
    except ImportError as err:
        raise ConfigError("--sync=link needs the LinkPython-extern package: pip install LinkPython-extern") from err
    return link


class LinkSession:
    """One Link peer. Every method may run on the clock thread; on_transport is called on Link's own thread
    with 'start' or 'stop' when any peer (or we) change the shared transport."""

    def __init__(self, bpm: float, now, quantum: float = BEATS_PER_BAR):
        self.now = now
        self.quantum = quantum
        self.on_transport = None
        self._link = _link_module().Link(float(bpm))
        self._clock = self._link.clock()
        self._link.startStopSyncEnabled = True
        self._link.setStartStopCallback(self._transport_changed)
        self._link.enabled = True

    def _transport_changed(self, playing: bool) -> None:
        if self.on_transport is not None:
            self.on_transport("start" if playing else "stop", self.now())

    def _offset(self) -> float:
        """Link's clock minus ours, in seconds. Link reads CLOCK_MONOTONIC_RAW and we CLOCK_MONOTONIC, which
        the NTP slew moves apart, so the offset is read afresh each time rather than once."""
        best = (math.inf, 0.0)
        for _ in range(CLOCK_SAMPLES):
            before = self.now()
            link_seconds = self._clock.micros() / 1e6
            after = self.now()
            best = min(best, (after - before, link_seconds - (before + after) / 2))
        return best[1]

    def _state(self):
        return self._link.captureAppSessionState()

    # ---- reading the session ----------------------------------------------------------------------------

    def timeline(self) -> Timeline:
        state, offset, now = self._state(), self._offset(), self.now()
        beat = state.beatAtTime(round((now + offset) * 1e6), self.quantum)
        period = 60.0 / (state.tempo() * PPQN)
        return Timeline(now - beat * PPQN * period, period)

    @property
    def bpm(self) -> float:
        return self._state().tempo()

    @property
    def playing(self) -> bool:
        return self._state().isPlaying()

    def start_time(self) -> float:
        """When (our clock) the session's transport last started or stopped."""
        return self._state().timeForIsPlaying() / 1e6 - self._offset()

    @property
    def peers(self) -> int:
        return self._link.numPeers()

    # ---- changing the session (every peer follows) -----------------------------------------------------

    def set_tempo(self, bpm: float) -> None:
        state = self._state()
        state.setTempo(float(bpm), self._clock.micros())
        self._link.commitAppSessionState(state)

    def set_playing(self, playing: bool) -> None:
        """Start (at the next bar line, as Link apps do: beat 0 at the start time, phase kept) or stop."""
        state, micros = self._state(), self._clock.micros()
        if playing:
            state.setIsPlayingAndRequestBeatAtTime(True, micros, 0.0, self.quantum)
        else:
            state.setIsPlaying(False, micros)
        self._link.commitAppSessionState(state)

    def close(self) -> None:
        self._link.setStartStopCallback(lambda playing: None)
        self._link.enabled = False
