"""A test client playing a DAW's part: MIDI clock (24 per beat) on absolute deadlines, with optional jitter,
and Start/Stop at given ticks. Returns when each tick was really sent, so a listener can rebuild the grid."""
from __future__ import annotations

import time

import mido
import numpy as np

PPQN = 24


def play_clock(send, segments, at_ticks=None, jitter: float = 0.0, seed: int = 0) -> list[float]:
    """segments: [(bpm, beats), ...] played in a row; at_ticks: {tick index: [messages sent just before it]}.
    Returns the perf_counter time each clock tick was sent."""
    rng = np.random.default_rng(seed)
    at_ticks = at_ticks or {}
    sent, ideal, index = [], time.perf_counter() + 0.05, 0
    for bpm, beats in segments:
        period = 60.0 / (bpm * PPQN)
        for _ in range(int(beats * PPQN)):
            target = ideal + (rng.uniform(-jitter, jitter) if jitter else 0.0)
            while time.perf_counter() < target:
                time.sleep(max(0.0, min(0.001, target - time.perf_counter() - 0.0005)))
            for msg in at_ticks.get(index, ()):
                send(msg)
            send(mido.Message("clock"))
            sent.append(time.perf_counter())
            ideal += period
            index += 1
    return sent


def grid_distances(times, tick_times, ticks_per_line: int = 6, first_tick: int = 0) -> np.ndarray:
    """Seconds from each time to the nearest grid line, the grid drawn through the DAW's sent ticks from
    `first_tick` (the bar line after Start) on."""
    lines = np.asarray(tick_times[first_tick::ticks_per_line])
    t = np.asarray(times)[:, None]
    return np.abs(t - lines[None, :]).min(axis=1)


def off_grid(ticks: float, every: float) -> float:
    """Ticks from the nearest multiple of `every` (a grid line, or a bar line for Link's phase)."""
    rest = ticks % every
    return min(rest, every - rest)


LINK_WAIT_SECONDS = 15.0  # Link announces itself every few hundred ms; a loaded machine is slower


def wait_for(condition, what: str) -> None:
    """Poll until a Link peer sees `condition` (peers found, a tempo or transport change arriving)."""
    deadline = time.monotonic() + LINK_WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"Link: {what} never happened (no multicast on this machine?)"
        time.sleep(0.02)
