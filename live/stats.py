"""The clock's measurements: fixed-size rings allocated (and their pages touched) up front, so that recording
a figure on the clock thread never allocates, and a long session never grows memory."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

LATENESS_BINS_MS = [0, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, float("inf")]  # Stats.report's histogram
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

    def ticks_over(self, seconds: float) -> int:
        return int((np.asarray(self.wake_lateness) > seconds).sum())

    def report(self) -> dict:
        """Everything in ms: percentiles, a lateness histogram, the worst sends and where the clock was late or
        stalled. Vectorised: the core's serving thread computes it holding the interpreter lock."""
        ms = {name: {k: v * 1e3 if k != "n" else v for k, v in Stats.summary(values).items()}
              for name, values in (("lateness", self.lateness), ("step", self.step_seconds),
                                   ("input_latency", self.input_latency), ("wake", self.wake_lateness))}
        lateness, sent_at, wake = np.asarray(self.lateness), np.asarray(self.sent_at), np.asarray(self.wake_lateness)
        counts = np.histogram(np.maximum(lateness, 0.0) * 1e3, bins=LATENESS_BINS_MS)[0].tolist()
        late = np.flatnonzero(wake > 0.002)[:40]
        worst = np.argpartition(-lateness, min(4, len(lateness) - 1))[:5] if len(lateness) else []
        worst = sorted(worst, key=lambda i: -lateness[i])  # a full argsort of 500k samples: ~10 ms
        return {**ms, "late_ticks": self.late_ticks, "ticks": self.ticks, "rollbacks": self.rollbacks,
                "late_over_2ms": self.ticks_over(0.002),
                "late_ticks_over_2ms": [(int(i), round(float(wake[i]) * 1e3, 2)) for i in late],  # (tick, ms)
                "stalls": list(zip(np.asarray(self.stall_at, int).tolist(),
                                   np.asarray(self.stall_ticks, int).tolist()))[-20:],  # (tick, ticks skipped)
                "worst_sends": [(round(float(sent_at[i]), 3), round(float(lateness[i]) * 1e3, 2)) for i in worst],
                "histogram": list(zip(LATENESS_BINS_MS[:-1], counts))}

    @staticmethod
    def summary(values) -> dict:
        a = np.asarray(values, float)
        if not len(a):
            return {"n": 0, "p50": float("nan"), "p99": float("nan"), "max": float("nan")}
        return {"n": len(a), "p50": float(np.percentile(a, 50)), "p99": float(np.percentile(a, 99)),
                "max": float(a.max())}
