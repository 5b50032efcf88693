"""Clocks for the scheduler: a monotonic wall clock that sleeps then spins, and a fake clock for tests."""
from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
from dataclasses import dataclass

STEP_SECONDS = 0.010  # one Performance RNN step
CLOCK_PRIORITY = 5  # SCHED_FIFO for the clock thread: below JACK's threads (10+), above every normal process
# Every other Python thread of the instrument should be real-time too (lowest priority): the clock thread
# needs the GIL, and a normal thread that a busy machine preempts while holding it would stall the clock
# for a whole scheduler time slice (priority inversion).
HELPER_PRIORITY = 1


def make_realtime(priority: int = CLOCK_PRIORITY) -> bool:
    """Give the calling thread SCHED_FIFO (threads it starts inherit it). On a busy machine a normal
    thread wakes up to 5+ ms late. Without permission (not root, no rtprio limit) it returns False and
    the clock still runs, just less precisely."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))  # 0: this thread (Linux)
        return True
    except (AttributeError, OSError):
        return False


@dataclass
class ClockConfig:
    spin_seconds: float = 0.0004  # sleep until this close to a deadline, then spin (sleep wake-ups overshoot)


class MonotonicClock:
    """time.perf_counter (CLOCK_MONOTONIC) with an interruptible sleep-then-spin wait."""

    def __init__(self, config: ClockConfig | None = None):
        self.config = config or ClockConfig()

    def now(self) -> float:
        return time.perf_counter()

    def wait_until(self, deadline: float, wake: threading.Event | None = None) -> bool:
        """Return at `deadline`, or earlier (True) when `wake` is set: a command can cut the sleep short."""
        spin = self.config.spin_seconds
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return False
            if remaining > spin:
                if wake is not None:
                    if wake.wait(remaining - spin):
                        return True
                else:
                    time.sleep(remaining - spin)
            else:
                if wake is not None and wake.is_set():
                    return True
                time.sleep(0)  # spin, but let the MIDI callback thread take the GIL


class FakeClock:
    """Time moves only when the scheduler waits, so a whole session runs instantly and deterministically.

    `at(t, fn)` runs fn when time reaches t (e.g. a scripted player note); a wait returns early then, just as
    a real MIDI callback would wake the scheduler."""

    def __init__(self, start: float = 0.0):
        self.t = start
        self._scripted: list = []
        self._order = itertools.count()

    def now(self) -> float:
        return self.t

    def at(self, t: float, fn) -> None:
        heapq.heappush(self._scripted, (t, next(self._order), fn))

    def advance(self, seconds: float) -> None:
        self.t += seconds

    def wait_until(self, deadline: float, wake: threading.Event | None = None) -> bool:
        if self._scripted and self._scripted[0][0] <= deadline:
            t, _, fn = heapq.heappop(self._scripted)
            self.t = max(self.t, t)
            fn()
            return True
        self.t = max(self.t, deadline)
        return False
