"""How a model's own playing compares with real performances: histograms of velocity bins, note durations and
inter-onset intervals, polyphony and density, and the total-variation distance between two sets of them.

The reference is held-out data decoded the same way (Magenta's decode, 5 s cap); the noise floor is the
distance between two halves of that reference, so a model's distance reads against how much two samples of
real playing already differ.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.events import KIND_CODE, MAX_NOTE_SECONDS, VELOCITY
from engine.performance import Performance

# log-spaced bin edges: 10 ms (one step) to the 5 s cap; an IOI of 0 (a chord) has a bin of its own
DURATION_EDGES = np.geomspace(0.01, MAX_NOTE_SECONDS + 0.01, 16)
IOI_EDGES = np.concatenate([[0.0, 0.005], np.geomspace(0.01, 5.0, 15), [np.inf]])


@dataclass
class StyleStats:
    """Pooled over a set of performances (class-id arrays)."""

    velocity_bins: np.ndarray  # [num_velocity_bins] VELOCITY events per bin
    durations: np.ndarray  # [len(DURATION_EDGES) - 1] notes per duration bin
    iois: np.ndarray  # [len(IOI_EDGES) - 1] onset intervals per bin
    notes_per_second: list[float]  # per performance
    polyphony: list[int]  # sounding notes at each note onset
    bins_used: list[int]  # distinct velocity bins per performance

    def summary(self) -> dict:
        return {"notes_per_second_median": _median(self.notes_per_second),
                "polyphony_p50": _pct(self.polyphony, 50), "polyphony_p95": _pct(self.polyphony, 95),
                "velocity_bins_used_median": _median(self.bins_used),
                "velocity_bins_used_total": int((self.velocity_bins > 0).sum()),
                "duration_p50_s": _hist_median(self.durations, DURATION_EDGES),
                "velocity_histogram": _normalized(self.velocity_bins).round(4).tolist(),
                "duration_histogram": _normalized(self.durations).round(4).tolist(),
                "ioi_histogram": _normalized(self.iois).round(4).tolist()}


def _median(values) -> float:
    return float(np.median(values)) if len(values) else float("nan")


def _pct(values, q) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def _normalized(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else counts.astype(float)


def _hist_median(counts: np.ndarray, edges: np.ndarray) -> float:
    cumulative = np.cumsum(counts)
    if not cumulative[-1]:
        return float("nan")
    i = int(np.searchsorted(cumulative, cumulative[-1] / 2))
    return float(np.sqrt(edges[i] * edges[i + 1]))  # the bin's geometric centre


def style_stats(outputs, num_velocity_bins: int) -> StyleStats:
    """Stats of performances given as class-id arrays (e.g. generated outputs or eval examples)."""
    velocity_code = KIND_CODE[VELOCITY]
    velocity_bins = np.zeros(max(num_velocity_bins, 1), np.int64)
    durations = np.zeros(len(DURATION_EDGES) - 1, np.int64)
    iois = np.zeros(len(IOI_EDGES) - 1, np.int64)
    densities, polyphony, bins_used = [], [], []
    for ids in outputs:
        perf = Performance(np.asarray(ids, np.int64), num_velocity_bins)
        vocab = perf.vocab
        ids = np.asarray(perf.ids, np.int64)
        values = vocab.values[ids][vocab.kind_codes[ids] == velocity_code] - 1
        if num_velocity_bins:
            counts = np.bincount(values, minlength=num_velocity_bins)
            velocity_bins += counts
            bins_used.append(int((counts > 0).sum()))
        notes = perf.to_notes(max_note_duration=MAX_NOTE_SECONDS)
        seconds = perf.num_steps / 100
        if not len(notes) or seconds <= 0:
            continue
        durations += np.histogram(np.clip(notes.end - notes.start, 0.01, MAX_NOTE_SECONDS), DURATION_EDGES)[0]
        onsets = np.sort(notes.start)
        iois += np.histogram(np.diff(onsets), IOI_EDGES)[0]
        densities.append(len(notes) / seconds)
        polyphony.extend(_sounding_at_onsets(notes.start, notes.end))
    return StyleStats(velocity_bins, durations, iois, densities, polyphony, bins_used)


def _sounding_at_onsets(start: np.ndarray, end: np.ndarray) -> list[int]:
    """Notes sounding at each onset (itself included): started at or before it and not yet ended."""
    starts, ends = np.sort(start), np.sort(end)
    return (np.searchsorted(starts, start, "right") - np.searchsorted(ends, start, "right")).tolist()


def total_variation(a: np.ndarray, b: np.ndarray) -> float:
    """Half the L1 distance between two histograms as distributions: 0 same, 1 disjoint."""
    return float(0.5 * np.abs(_normalized(a) - _normalized(b)).sum())


def distances(model: StyleStats, reference: StyleStats) -> dict[str, float]:
    return {"velocity_tv": total_variation(model.velocity_bins, reference.velocity_bins),
            "duration_tv": total_variation(model.durations, reference.durations),
            "ioi_tv": total_variation(model.iois, reference.iois)}


def noise_floor(reference_outputs: list, num_velocity_bins: int) -> dict[str, float]:
    """Distances between the even and odd halves of the reference: what two samples of real playing differ by."""
    halves = (reference_outputs[0::2], reference_outputs[1::2])
    return distances(*(style_stats(h, num_velocity_bins) for h in halves))
