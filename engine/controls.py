"""Control signals: note density and pitch-class histogram, from performances (training) or from knobs."""
from __future__ import annotations

import math

import numpy as np

from .configs import DENSITY_BIN_RANGES, DENSITY_WINDOW_SECONDS, PITCH_WINDOW_SECONDS, PerformanceConfig
from .errors import ConfigError
from .events import KIND_CODE, NOTE_OFF, NOTE_ON, STEPS_PER_SECOND, TIME_SHIFT, Vocabulary

DEFAULT_NOTES_PER_SECOND = 15.0  # Magenta's default density (bin [8,16))
HISTOGRAM_PRIOR = 0.01
NUM_DENSITY_BINS = len(DENSITY_BIN_RANGES) + 1


def _recompute_points(codes: np.ndarray) -> np.ndarray:
    """Magenta recomputes a control only at the first event and after each TIME_SHIFT."""
    points = np.ones(len(codes), bool)
    points[1:] = codes[:-1] == KIND_CODE[TIME_SHIFT]
    return points


def _forward_fill(values: np.ndarray, points: np.ndarray) -> np.ndarray:
    source = np.maximum.accumulate(np.where(points, np.arange(len(points)), 0))
    return values[source]


def _window_ends(steps_before: np.ndarray, window: int) -> np.ndarray:
    """Index one past the last event a Magenta window scan starting at each event reads."""
    return np.minimum(np.searchsorted(steps_before, steps_before[:-1] + window, side="left"), len(steps_before) - 1)


def note_density(vocab: Vocabulary, ids) -> np.ndarray:
    """Notes/s over the 3 s after each event (a shorter tail window at the end), Magenta's rule."""
    ids = np.asarray(ids, dtype=np.int64)
    if not len(ids):
        return np.zeros(0)
    codes = vocab.kind_codes[ids]
    steps_before = np.concatenate([[0], np.cumsum(vocab.shift_steps(ids))])
    notes_before = np.concatenate([[0], np.cumsum(codes == KIND_CODE[NOTE_ON])])
    window = round(DENSITY_WINDOW_SECONDS * STEPS_PER_SECOND)
    ends = _window_ends(steps_before, window)
    start = np.arange(len(ids))
    span = np.minimum(steps_before[ends] - steps_before[start], window)
    count = notes_before[ends] - notes_before[start]
    density = np.where(span > 0, count * STEPS_PER_SECOND / np.maximum(span, 1), 0.0)
    return _forward_fill(density, _recompute_points(codes))


def _active_class_seconds(vocab: Vocabulary, ids: np.ndarray) -> np.ndarray:
    """Per event: seconds it adds to each pitch class (TIME_SHIFTs only), with a set of active pitches."""
    codes, values = vocab.kind_codes[ids].tolist(), vocab.values[ids].tolist()
    active = [False] * 128
    class_counts = [0] * 12
    out = np.zeros((len(ids), 12))
    on, off, shift = KIND_CODE[NOTE_ON], KIND_CODE[NOTE_OFF], KIND_CODE[TIME_SHIFT]
    for i, (code, value) in enumerate(zip(codes, values)):
        if code == on and not active[value]:
            active[value] = True
            class_counts[value % 12] += 1
        elif code == off and active[value]:
            active[value] = False
            class_counts[value % 12] -= 1
        elif code == shift:
            out[i] = class_counts
            out[i] *= value / STEPS_PER_SECOND
    return out


def pitch_histogram(vocab: Vocabulary, ids) -> np.ndarray:
    """Unnormalized pitch-class seconds over the 5 s after each event (plus a 0.01 prior), Magenta's rule."""
    ids = np.asarray(ids, dtype=np.int64)
    if not len(ids):
        return np.zeros((0, 12))
    codes = vocab.kind_codes[ids]
    steps_before = np.concatenate([[0], np.cumsum(vocab.shift_steps(ids))])
    seconds_before = np.concatenate([np.zeros((1, 12)), np.cumsum(_active_class_seconds(vocab, ids), axis=0)])
    ends = _window_ends(steps_before, round(PITCH_WINDOW_SECONDS * STEPS_PER_SECOND))
    histogram = HISTOGRAM_PRIOR + seconds_before[ends] - seconds_before[np.arange(len(ids))]
    return _forward_fill(histogram, _recompute_points(codes))


def density_bin(notes_per_second: float) -> int:
    """Magenta's bin: the first range edge above the value (8 bins: [0,1) [1,2) ... [64,inf))."""
    return int(np.searchsorted(DENSITY_BIN_RANGES, notes_per_second, side="right"))


def density_encoding(values, smooth: bool = False) -> np.ndarray:
    """One-hot density bins, [n, 8]. smooth=True interpolates between neighbouring bins on a log2
    scale, so a knob between doublings still moves the model (the hard bins only respond to doublings)."""
    values = np.atleast_1d(np.asarray(values, dtype=np.float64))
    out = np.zeros((len(values), NUM_DENSITY_BINS), np.float32)
    if not smooth:
        out[np.arange(len(values)), np.searchsorted(DENSITY_BIN_RANGES, values, side="right")] = 1.0
        return out
    # Bin k >= 1 covers log2 positions [k, k+1) with x = log2(v) + 1; its centre is k + 0.5.
    x = np.log2(np.maximum(values, 1e-9)) + 1.0
    position = np.clip(x - 0.5, 0.0, NUM_DENSITY_BINS - 1.0)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, NUM_DENSITY_BINS - 1)
    frac = (position - low).astype(np.float32)
    out[np.arange(len(values)), low] += 1.0 - frac
    out[np.arange(len(values)), high] += frac
    return out


def normalize_histograms(histograms) -> np.ndarray:
    """Each row divided by its sum; an all-zero row becomes uniform (Magenta's encoder)."""
    h = np.atleast_2d(np.asarray(histograms, dtype=np.float64))
    total = h.sum(axis=1, keepdims=True)
    return np.where(total > 0, h / np.where(total > 0, total, 1), 1.0 / 12).astype(np.float32)


def assemble_controls(config: PerformanceConfig, density_onehot, histograms, disabled) -> np.ndarray:
    """[disable flag?, density one-hot?, histogram?] per row, in Magenta's layout."""
    n = len(disabled)
    parts = []
    if config.optional_conditioning:
        parts.append(np.asarray(disabled, np.float32)[:, None])
    if config.density_conditioning:
        parts.append(np.asarray(density_onehot, np.float32))
    if config.pitch_conditioning:
        parts.append(np.asarray(histograms, np.float32))
    out = np.concatenate(parts, axis=1) if parts else np.zeros((n, 0), np.float32)
    if config.optional_conditioning:
        out[np.asarray(disabled, bool), 1:] = 0.0  # disabled: [1, 0, ..., 0]
    return out


def performance_controls(config: PerformanceConfig, ids, disabled: bool = False) -> np.ndarray:
    """The control vector at each event of a performance, [n, config.control_size] (training)."""
    ids = np.asarray(ids, dtype=np.int64)
    n = len(ids)
    density = density_encoding(note_density(config.vocab, ids)) if config.density_conditioning else None
    histogram = normalize_histograms(pitch_histogram(config.vocab, ids)) if config.pitch_conditioning else None
    return assemble_controls(config, density, histogram, np.full(n, disabled))


def check_notes_per_second(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"notes_per_second must be a number > 0, not {value!r}")
    return float(value)


def check_histogram(value) -> np.ndarray:
    if not isinstance(value, (list, tuple, np.ndarray)) or len(value) != 12:
        raise ConfigError(f"pitch_class_histogram must be 12 numbers (C, C#, ..., B), not {value!r}")
    h = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(h)) or (h < 0).any() or h.sum() <= 0:
        raise ConfigError(f"pitch_class_histogram must be 12 non-negative numbers, not all zero: {list(value)!r}")
    return h / h.sum()


def user_controls(config: PerformanceConfig, notes_per_second=None, pitch_class_histogram=None,
                  disable: bool = False, smooth_density: bool = False) -> np.ndarray:
    """One control vector from knob values; missing values take Magenta's defaults (15 notes/s, uniform)."""
    nps = DEFAULT_NOTES_PER_SECOND if notes_per_second is None else check_notes_per_second(notes_per_second)
    hist = np.full(12, 1 / 12) if pitch_class_histogram is None else check_histogram(pitch_class_histogram)
    return assemble_controls(config, density_encoding([nps], smooth_density), hist[None, :], [disable])[0]
