"""The clock's measurements: fixed-size rings allocated (and their pages touched) up front, so that recording
a figure on the clock thread never allocates, and a long session never grows memory."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

STATS_LIMIT = 1 << 19  # samples kept per figure: about 4.5 h of dense play; 4 MB each


class Ring:
    """The last `capacity` floats appended; np.asarray(ring) gives them oldest first."""

    def __init__(self, capacity: int = STATS_LIMIT):
        self._data = np.full(capacity, 0.0)  # full, not zeros: zeros maps pages lazily, faulting on first write
        self._count = 0

    def append(self, value: float) -> None:
        self._data[self._count % len(self._data)] = value
        self._count += 1

    def __len__(self) -> int:
        return min(self._count, len(self._data))

    def __array__(self, dtype=None, copy=None):
        n, cap = self._count, len(self._data)
        out = self._data[:n] if n <= cap else np.roll(self._data, -(n % cap))
        return np.array(out, dtype=dtype)

    def __iter__(self):
        return iter(np.asarray(self).tolist())


@dataclass
class Stats:
    lateness: Ring = field(default_factory=Ring)  # s, each sent message: send time - due time
    sent_at: Ring = field(default_factory=Ring)  # s since the clock started, each sent message
    step_seconds: Ring = field(default_factory=Ring)  # each model step
    input_latency: Ring = field(default_factory=Ring)  # a player's note: arrival -> in the model's state
    wake_lateness: Ring = field(default_factory=Ring)  # each tick: wake-up - deadline
    stall_at: Ring = field(default_factory=lambda: Ring(4096))  # ticks reached after whole ticks were skipped
    stall_ticks: Ring = field(default_factory=lambda: Ring(4096))  # how many were skipped there
    ticks: int = 0
    late_ticks: int = 0
    rollbacks: int = 0
    window_max: float = 0.0

    @staticmethod
    def summary(values) -> dict:
        a = np.asarray(values, float)
        if not len(a):
            return {"n": 0, "p50": float("nan"), "p99": float("nan"), "max": float("nan")}
        return {"n": len(a), "p50": float(np.percentile(a, 50)), "p99": float(np.percentile(a, 99)),
                "max": float(a.max())}
