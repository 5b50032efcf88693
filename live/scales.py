"""Scales and roots as 12-bin pitch-class weights (C..B), the shape the pitch conditioning takes."""
from __future__ import annotations

from engine.errors import ConfigError

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLATS = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#"}

# Semitones above the root. Order is the order the UI lists them in.
SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "natural_minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
    "major_pentatonic": (0, 2, 4, 7, 9),
    "minor_pentatonic": (0, 3, 5, 7, 10),
    "blues": (0, 3, 5, 6, 7, 10),
    "whole_tone": (0, 2, 4, 6, 8, 10),
    "chromatic": tuple(range(12)),
}
# Symmetric scales have no tonic to lean on, so every member gets the same weight.
_SYMMETRIC = {"whole_tone", "chromatic"}

IN_SCALE = 4  # fader level of a scale tone
TONIC = 8  # the browser demo weights the tonic double ([2,0,1,0,1,1,0,1,0,1,0,1] for C major)
MAX_LEVEL = 8


def root_index(root) -> int:
    """'C', 'F#', 'Bb' or 0..11 -> 0..11."""
    if isinstance(root, int) and not isinstance(root, bool) and 0 <= root < 12:
        return root
    name = _FLATS.get(str(root), str(root)).strip()
    name = name[:1].upper() + name[1:]
    if name in NOTE_NAMES:
        return NOTE_NAMES.index(name)
    raise ConfigError(f"root must be a note name C..B (e.g. 'F#', 'Bb') or 0..11, not {root!r}")


def check_scale(name: str) -> str:
    if name not in SCALES:
        raise ConfigError(f"scale must be one of {', '.join(SCALES)}, not {name!r}")
    return name


def scale_levels(name: str, root=0) -> tuple[int, ...]:
    """Fader levels (0..MAX_LEVEL) for a scale on a root: tonic TONIC, other scale tones IN_SCALE, rest 0."""
    offset = root_index(root)
    levels = [0] * 12
    for step in SCALES[check_scale(name)]:
        levels[(offset + step) % 12] = IN_SCALE
    if name not in _SYMMETRIC:
        levels[offset] = TONIC
    return tuple(levels)


def levels_to_histogram(levels) -> tuple[float, ...] | None:
    """Fader levels -> conditioning weights, or None (uniform) when every fader is down."""
    values = tuple(float(v) for v in levels)
    if len(values) != 12:
        raise ConfigError(f"pitch weights must be 12 numbers C..B, not {len(values)}: {values!r}")
    if sum(values) <= 0:
        return None
    return values


def scale_label(name: str, root) -> str:
    """'F# blues' for the status line."""
    return f"{NOTE_NAMES[root_index(root)]} {name.replace('_', ' ')}"
