"""Statistics of generated performances: note density, polyphony, share of notes in requested pitch classes,
and notes cut by the 5 s cap. All work on class-id arrays (one output) via Magenta's note decode."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.events import MAX_NOTE_SECONDS, STEPS_PER_SECOND
from engine.notes import NoteList
from engine.performance import Performance

PERCENTILES = (5, 25, 50, 75, 95)


@dataclass(frozen=True)
class OutputStats:
    """One generated output, decoded as Magenta plays it (notes cut at 5 s)."""

    seconds: float  # the output's length (what density divides by)
    num_notes: int
    notes_per_second: float
    cut_notes: int  # notes whose decoded length exceeded the 5 s cap
    pitch_classes: np.ndarray  # [12] note counts per pitch class
    polyphony: np.ndarray  # sounding notes at each 10 ms step, [steps]

    def in_classes_share(self, histogram) -> float:
        """Share of notes whose pitch class has weight > 0 in `histogram` (nan without notes)."""
        inside = np.asarray(histogram, float) > 0
        total = self.pitch_classes.sum()
        return float(self.pitch_classes[inside].sum() / total) if total else float("nan")


def _polyphony(notes: NoteList, num_steps: int) -> np.ndarray:
    """Number of notes sounding at each step (start inclusive, end exclusive), via a difference array."""
    delta = np.zeros(num_steps + 1, np.int64)
    start = np.clip(np.round(notes.start * STEPS_PER_SECOND).astype(int), 0, num_steps)
    end = np.clip(np.round(notes.end * STEPS_PER_SECOND).astype(int), 0, num_steps)
    np.add.at(delta, start, 1)
    np.add.at(delta, end, -1)
    return np.cumsum(delta)[:num_steps]


def output_stats(ids, num_velocity_bins: int, seconds: float | None = None) -> OutputStats:
    """Stats of one output of class ids; `seconds` (default: its own length) is the span density divides by."""
    perf = Performance(np.asarray(ids), num_velocity_bins)
    num_steps = perf.num_steps if seconds is None else int(round(seconds * STEPS_PER_SECOND))
    if seconds is not None:
        perf = perf.set_length(num_steps)
    raw = perf.to_notes(max_note_duration=None)
    capped = perf.to_notes(max_note_duration=MAX_NOTE_SECONDS)
    cut = int(((raw.end - raw.start) > MAX_NOTE_SECONDS + 1e-9).sum())
    span = num_steps / STEPS_PER_SECOND
    classes = np.bincount(capped.pitch.astype(int) % 12, minlength=12) if len(capped) else np.zeros(12, int)
    return OutputStats(seconds=span, num_notes=len(capped),
                       notes_per_second=len(capped) / span if span else 0.0, cut_notes=cut,
                       pitch_classes=classes, polyphony=_polyphony(capped, num_steps))


def percentiles(values, points=PERCENTILES) -> dict[str, float]:
    values = np.asarray(values, float)
    if not len(values):
        return {f"p{p}": float("nan") for p in points}
    return {f"p{p}": float(v) for p, v in zip(points, np.percentile(values, points))}


@dataclass(frozen=True)
class BatchSummary:
    """A batch of outputs generated with the same request, summarized for the fidelity table."""

    num_outputs: int
    median_notes_per_second: float
    notes_per_second: dict  # percentiles over outputs
    polyphony: dict  # percentiles over every step of every output
    share_without_cut: float  # outputs with no note cut by the 5 s cap
    cut_notes: int
    in_classes_share: float | None  # pooled over all notes; None when no histogram was requested

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def summarize(stats: list[OutputStats], histogram=None) -> BatchSummary:
    densities = [s.notes_per_second for s in stats]
    share = None
    if histogram is not None:
        classes = np.sum([s.pitch_classes for s in stats], axis=0)
        inside = np.asarray(histogram, float) > 0
        share = float(classes[inside].sum() / classes.sum()) if classes.sum() else float("nan")
    return BatchSummary(
        num_outputs=len(stats), median_notes_per_second=float(np.median(densities)) if stats else float("nan"),
        notes_per_second=percentiles(densities),
        polyphony=percentiles(np.concatenate([s.polyphony for s in stats]) if stats else []),
        share_without_cut=float(np.mean([s.cut_notes == 0 for s in stats])) if stats else float("nan"),
        cut_notes=int(sum(s.cut_notes for s in stats)), in_classes_share=share)


def rates_and_velocities(performances, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """(notes/s per performance, velocity histogram [128] over all of them, normalized): what a change of
    precision or sampler must leave alone."""
    rates, velocities = [], []
    for perf in performances:
        notes = perf.to_notes()
        rates.append(len(notes) / seconds)
        velocities.extend(notes.velocity.tolist())
    hist = np.bincount(np.asarray(velocities, np.int64), minlength=128)
    return np.asarray(rates), hist / max(1, hist.sum())
