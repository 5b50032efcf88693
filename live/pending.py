"""What the model is about to play: the next note messages in the scheduler's heap, for the panel."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PendingEvent:
    due_ms: float
    """How far in the future the event is due, in ms."""
    kind: str
    note: int
    velocity: int


def pending_events(scheduler, now: float, limit: int = 6) -> list[PendingEvent]:
    """Read from any thread: list(heap) copies atomically under the GIL, and the tuples and messages in it
    are never mutated, so this cannot disturb the clock thread."""
    heap = sorted(list(scheduler.heap), key=lambda item: item[:2])
    step = scheduler.config.step_seconds
    out = []
    for due, _, msg in heap:
        if msg.type in ("note_on", "note_off"):
            kind = "note_on" if msg.type == "note_on" and msg.velocity > 0 else "note_off"
            out.append(PendingEvent(max(0.0, (due * step - now) * 1000), kind, msg.note, msg.velocity))
            if len(out) >= limit:
                break
    return out
